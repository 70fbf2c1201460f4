/**
 * Classification on a chip: evaluation, and training in the loop as the LE robustness
 * study did it (forward pass, errors and local gradients on the chip with all its
 * imperfections; updates applied to the host's copy of the parameters, which the chip
 * then realises again before the next step).
 *
 * The schedule (data order, presentation, learning window, read-out, validation and
 * plateau) is that of src/train/classifier.ts, step for step, so that on a chip that
 * injects nothing both give the same bits. test/substrate.test.ts holds them to it.
 */
import type { FloatArray } from '../engine/kernels.js';
import { Network } from '../engine/network.js';
import type { LearningSetup } from '../engine/types.js';
import type { Presentation } from '../model/model-file.js';
import type { ClassificationSplit } from '../tasks/types.js';
import {
  batchBuffers, countCorrect, fillInput, fillOneHot, initialPlateau, stepPlateau, trainingBatchStartsAtRest,
  type BatchBuffers, type PlateauSchedule, type PlateauState, type SequenceStart,
} from '../train/index.js';
import { Rng } from '../util/rng.js';
import type { Substrate } from './target.js';

/**
 * Reduce-on-plateau on validation accuracy: after `patience` epochs without a new best,
 * lr *= factor (not below minLr); the float trainer's schedule with its default monitor.
 */
export type ChipPlateau = Pick<PlateauSchedule, 'factor' | 'patience' | 'minLr'>;

export interface ChipEpochRecord {
  epoch: number;
  trainAccuracy: number;
  validationAccuracy: number;
  /** learning rate used during this epoch */
  lr: number;
  seconds: number;
}

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

/**
 * One batch for a whole presentation; returns how many were classified right. `learn`
 * is the learning step (null: inference, no target); outputs, when given, receives the
 * read-out scores of each sample (batch x nOut at row offset `start`).
 */
function presentBatch(net: Network, bt: BatchBuffers, split: ClassificationSplit, indices: ArrayLike<number>, start: number,
  presentation: Presentation, learn: ((x: FloatArray, y: FloatArray) => void) | null, outputs: Float64Array | null, reset = false): number {
  const { x, y, score } = bt;
  const batch = net.batch;
  const nOut = net.outputSize;
  if (reset) net.resetState();
  if (learn !== null) fillOneHot(y, split.labels, indices, start, batch, nOut);
  score.fill(0);
  for (let t = 0; t < presentation.stepsPerSample; t++) {
    if (presentation.mode === 'sequence' || t === 0) fillInput(x, split, indices, start, batch, presentation, t, net.inputSize);
    const inWindow = t >= presentation.settleSteps;
    if (learn !== null && inWindow) learn(x, y);
    else net.step(x, learn !== null ? y : null, 'none');
    if (inWindow && presentation.readout === 'sum') {
      const r = net.top.r;
      for (let k = 0; k < score.length; k++) score[k] += r[k];
    }
  }
  if (presentation.readout === 'last') score.set(net.top.r);
  if (outputs !== null) outputs.set(score, start * nOut);
  return countCorrect(score, split.labels, indices, start, batch, nOut);
}

export interface ChipEvaluation {
  accuracy: number;
  correct: number;
  /** read-out scores, count x nOut, when asked for */
  outputs: Float64Array | null;
}

/** Accuracy of the host's parameters as the chip runs them (fresh state per batch, no learning). */
export function evaluateOnChip(sub: Substrate, presentation: Presentation, split: ClassificationSplit, evalBatchSize: number,
  options: { outputs?: boolean } = {}): ChipEvaluation {
  if (split.count === 0) return { accuracy: NaN, correct: 0, outputs: null };
  const nOut = sub.spec.layers[sub.spec.layers.length - 1].outputSize;
  const outputs = options.outputs ? new Float64Array(split.count * nOut) : null;
  const order = Uint32Array.from({ length: split.count }, (_, i) => i);
  let correct = 0;
  let done = 0;
  while (done < split.count) {
    const batch = Math.min(evalBatchSize, split.count - done);
    const net = sub.network(batch);
    correct += presentBatch(net, batchBuffers(net), split, order, done, presentation, null, outputs);
    done += batch;
  }
  return { accuracy: correct / split.count, correct, outputs };
}

export interface ChipTrainingHooks {
  onBatch?: (done: number, total: number) => void;
  onEpoch?: (record: ChipEpochRecord) => void;
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
 * fresh optimizer and fresh state; leaves the trained parameters in the host copy.
 */
export function trainOnChip(sub: Substrate, config: ChipTrainingConfig, train: ClassificationSplit, validation: ClassificationSplit,
  hooks: ChipTrainingHooks = {}): { history: ChipEpochRecord[] } {
  const batchesPerEpoch = Math.floor(train.count / config.batchSize);
  if (batchesPerEpoch === 0) throw new RangeError(`batch size ${config.batchSize} is larger than the training set (${train.count})`);
  const spec = { ...sub.spec, layers: sub.parameters() };
  let chip: Network;
  let learnStep: (x: FloatArray, y: FloatArray) => void;
  let host: Network;
  if (sub.transparent) {
    // the chip realises the parameters exactly: the chip network can hold them and its optimizer
    chip = sub.createNetwork(config.batchSize, config.learning);
    host = chip;
    learnStep = (x, y) => chip.step(x, y, 'learn');
  } else {
    host = new Network(spec, { batch: 1, kernels: sub.kernels, learning: config.learning });
    sub.setHostNetwork(host);
    chip = sub.createNetwork(config.batchSize);
    learnStep = (x, y) => {
      chip.step(x, y, 'gradients');
      copyGradients(chip, host);
      host.applyGradients();
      sub.hostChanged();
      sub.realiseInto(chip);
    };
  }
  const bt = batchBuffers(chip);
  const resetEachBatch = trainingBatchStartsAtRest(config.presentation, config.trainingSequenceStart, config.resetEachBatch === true);
  const history: ChipEpochRecord[] = [];
  const total = batchesPerEpoch * config.epochs;
  let plateau: PlateauState = initialPlateau(config.learning.lr);
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    host.learning = { ...host.learning!, lr: plateau.lr };
    const started = performance.now();
    const order = Rng.derive(config.seed, 1000 + epoch).permutation(train.count);
    let correct = 0;
    for (let k = 0; k < batchesPerEpoch; k++) {
      correct += presentBatch(chip, bt, train, order, k * config.batchSize, config.presentation, learnStep, null, resetEachBatch);
      hooks.onBatch?.(epoch * batchesPerEpoch + k + 1, total);
    }
    if (sub.transparent) sub.setParameters(chip.layers);
    const record: ChipEpochRecord = {
      epoch: epoch + 1,
      trainAccuracy: correct / (batchesPerEpoch * config.batchSize),
      validationAccuracy: evaluateOnChip(sub, config.presentation, validation, config.evalBatchSize).accuracy,
      lr: plateau.lr,
      seconds: (performance.now() - started) / 1000,
    };
    history.push(record);
    if (config.plateau !== null) plateau = stepPlateau(config.plateau, plateau, record.validationAccuracy);
    hooks.onEpoch?.(record);
  }
  return { history };
}
