/**
 * Classification on a chip: evaluation, and training in the loop as the LE robustness
 * study did it (forward pass, errors and local gradients on the chip with all its
 * imperfections; updates applied to the host's copy of the parameters, which the chip
 * then realises again before the next step).
 *
 * The schedule (data order, presentation, learning window, read-out, validation and
 * plateau) is the float trainer's epoch loop (src/train/epochs.ts), so that on a chip that
 * injects nothing both give the same bits. test/substrate.test.ts holds them to it.
 */
import { Network } from '../engine/network.js';
import type { LearningSetup } from '../engine/types.js';
import type { Presentation } from '../presentation/index.js';
import type { ClassificationSplit } from '../tasks/types.js';
import {
  evaluateSplit,
  initialPlateau,
  runEpochs,
  trainingBatchStartsAtRest,
  type EpochRecord,
  type LearnStep,
  type PlateauSchedule,
  type SequenceStart,
} from '../train/index.js';
import type { Substrate } from './target.js';

/**
 * Reduce-on-plateau on validation accuracy: after `patience` epochs without a new best,
 * lr *= factor (not below minLr); the float trainer's schedule with its default monitor.
 */
export type ChipPlateau = Pick<PlateauSchedule, 'factor' | 'patience' | 'minLr'>;

export interface ChipTrainingConfig {
  /** seed of the data order (epoch e uses Rng.derive(seed, 1000 + e), as the float trainer) */
  seed: number;
  epochs: number;
  batchSize: number;
  learning: LearningSetup;
  presentation: Presentation;
  evalBatchSize: number;
  plateau: ChipPlateau | null;
  /**
   * Reset the chip's state before each training batch, as evaluation does. The float
   * trainer carries the state from one batch to the next, which is harmless where
   * tau_r = tau_m (the prospective rate does not depend on the membrane's past) but lets
   * the previous sample leak into the rates of a mismatched chip. Default false: the
   * float trainer's schedule for held samples.
   */
  resetEachBatch?: boolean;
  /**
   * Sequences start from rest in every training batch ('reset', the default) or where
   * the previous batch left the chip ('carry'), as ClassifierConfig.trainingSequenceStart
   * does in the float trainer; resetEachBatch overrides 'carry'.
   */
  trainingSequenceStart?: SequenceStart;
}

export interface ChipEvaluation {
  accuracy: number;
  correct: number;
  /** read-out scores, count x nOut, when asked for */
  outputs: Float64Array | null;
}

/** Accuracy of the host's parameters as the chip runs them (fresh state per batch, no learning). */
export function evaluateOnChip(
  sub: Substrate,
  presentation: Presentation,
  split: ClassificationSplit,
  evalBatchSize: number,
  options: { outputs?: boolean } = {},
): ChipEvaluation {
  if (split.count === 0) return { accuracy: NaN, correct: 0, outputs: null };
  const nOut = sub.spec.layers[sub.spec.layers.length - 1].outputSize;
  const outputs = options.outputs ? new Float64Array(split.count * nOut) : null;
  const { accuracy, correct } = evaluateSplit((batch) => sub.network(batch), presentation, split, evalBatchSize, outputs);
  return { accuracy, correct, outputs };
}

export interface ChipTrainingHooks {
  onBatch?: (done: number, total: number) => void;
  onEpoch?: (record: EpochRecord) => void;
}

function copyGradients(from: Network, to: Network): void {
  from.layers.forEach((f, l) => {
    const t = to.layers[l];
    t.gradWeights.set(f.gradWeights);
    if (t.gradBias !== null && f.gradBias !== null) t.gradBias.set(f.gradBias);
    t.gradTauM.set(f.gradTauM);
  });
}

/**
 * Training in the loop. Starts from the substrate's current host parameters with a
 * fresh optimizer and fresh state; leaves the trained parameters in the host copy. The
 * epoch loop is the float trainer's (src/train/epochs.ts); only the learn step differs.
 */
export function trainOnChip(
  sub: Substrate,
  config: ChipTrainingConfig,
  train: ClassificationSplit,
  validation: ClassificationSplit,
  hooks: ChipTrainingHooks = {},
): { history: EpochRecord[] } {
  const spec = { ...sub.spec, layers: sub.parameters() };
  let chip: Network;
  let learn: LearnStep;
  let host: Network;
  if (sub.transparent) {
    // the chip realises the parameters exactly: the chip network can hold them and its optimizer
    chip = sub.createNetwork(config.batchSize, config.learning);
    host = chip;
    learn = (x, y) => chip.step(x, y, 'learn');
  } else {
    host = new Network(spec, { batch: 1, kernels: sub.kernels, learning: config.learning });
    sub.setHostNetwork(host);
    chip = sub.createNetwork(config.batchSize);
    learn = (x, y) => {
      chip.step(x, y, 'gradients');
      copyGradients(chip, host);
      host.applyGradients();
      sub.hostChanged();
      sub.realiseInto(chip);
    };
  }
  const { history } = runEpochs(
    {
      seed: config.seed,
      epochs: config.epochs,
      batchSize: config.batchSize,
      presentation: config.presentation,
      net: chip,
      learn,
      optimizer: host,
      resetEachBatch: trainingBatchStartsAtRest(config.presentation, config.trainingSequenceStart, config.resetEachBatch === true),
      plateau: config.plateau,
      start: { epoch: 0, plateau: initialPlateau(config.learning.lr), history: [] },
      afterLearning: () => {
        if (sub.transparent) sub.setParameters(chip.layers);
      },
      validate: () => evaluateSplit((batch) => sub.network(batch), config.presentation, validation, config.evalBatchSize),
      onBatch: hooks.onBatch,
      onEpoch: (record) => hooks.onEpoch?.(record),
    },
    train,
  );
  return { history };
}
