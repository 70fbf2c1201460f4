/**
 * Training and evaluating classifiers with the float engine. Two ways to present a
 * sample: hold it for a number of steps ('static', Yin-Yang and MNIST), or feed it one
 * scalar per step ('sequence', MNIST-1D). Learning is local and happens inside the
 * steps (the engine's 'learn' mode); this file only schedules data and reads out.
 *
 * A run is a pure function of (config, data, seed): the data order of epoch k comes from
 * its own derived stream, so the state after an epoch (parameters, optimizer memory,
 * the training network's dynamic state, the schedule) is all a resumed run needs to
 * continue bit for bit (see checkpoint.ts).
 */
import { Network } from '../engine/network.js';
import type { WeightKernels } from '../engine/kernels.js';
import type { Dtype, LayerParameters, LearningSetup, LossName, NetworkSpec } from '../engine/types.js';
import { DEFAULT_LEARNING } from '../engine/types.js';
import { stepInputSize, type Presentation } from '../presentation/index.js';
import type { ClassificationSplit } from '../tasks/types.js';
import { GlekitError } from '../util/errors.js';
import { captureTrainingState, restoreTrainingState, type TrainingState } from './checkpoint.js';
import { initLayers, type InitOptions, type LayerArchitecture } from './init.js';
import { runEpochs } from './epochs.js';
import { initialPlateau, type EpochRecord, type PlateauSchedule } from './plateau.js';
import { evaluateSplit, trainingBatchStartsAtRest, type SequenceStart, type SplitEvaluation } from './presentation.js';

export interface ClassifierConfig {
  task: string;
  seed: number;
  dtype: Dtype;
  dt: number;
  gamma: number;
  beta: number;
  loss: LossName;
  prospectiveErrors: boolean;
  /** hidden layers then the output layer (its size must equal the number of classes) */
  layers: LayerArchitecture[];
  init: InitOptions;
  learning: Partial<LearningSetup> & Pick<LearningSetup, 'optimizer' | 'lr'>;
  batchSize: number;
  epochs: number;
  presentation: Presentation;
  evalBatchSize: number;
  /** reduce the learning rate when the monitored metric stops improving (null: constant) */
  plateau: PlateauSchedule | null;
  /**
   * The learning curves also record test accuracy every this many epochs (0: never).
   * Monitoring only: nothing in training reads it.
   */
  testEvery?: number;
  /**
   * Sequence presentation while training: 'reset' starts every batch of sequences from
   * rest (all state 0); 'carry' starts it where the previous batch left the network, as
   * the published GLE script does. Evaluation always starts each sequence from rest, so a
   * prediction never depends on the sequence before it. Default 'reset'.
   */
  trainingSequenceStart?: SequenceStart;
}

export function buildSpec(config: ClassifierConfig, inputSize: number, layers?: LayerParameters[]): NetworkSpec {
  return {
    dtype: config.dtype,
    dt: config.dt,
    gamma: config.gamma,
    beta: config.beta,
    loss: config.loss,
    prospectiveErrors: config.prospectiveErrors,
    layers: layers ?? initLayers(inputSize, config.layers, config.init, config.seed),
  };
}

export function learningSetup(config: ClassifierConfig): LearningSetup {
  return { ...DEFAULT_LEARNING, ...config.learning };
}

function checkPresentation(presentation: Presentation, split: ClassificationSplit, what: string): void {
  if (presentation.mode === 'sequence' && presentation.stepsPerSample > split.inputSize) {
    throw new GlekitError(`presentation.stepsPerSample (${presentation.stepsPerSample}) exceeds the length of the ${what} sequences (${split.inputSize})`);
  }
}

/** Accuracy and mean loss of given parameters on a split (fresh state, no learning); `outputs` receives the read-out scores. */
export function evaluateClassifier(
  spec: NetworkSpec,
  presentation: Presentation,
  split: ClassificationSplit,
  evalBatchSize: number,
  kernels?: WeightKernels,
  outputs: Float64Array | null = null,
): SplitEvaluation {
  if (split.count === 0) return { accuracy: NaN, loss: NaN, correct: 0 };
  checkPresentation(presentation, split, 'evaluated');
  let net: Network | null = null;
  const networkFor = (batch: number): Network => {
    if (net === null || net.batch !== batch) net = new Network(spec, { batch, kernels });
    return net;
  };
  return evaluateSplit(networkFor, presentation, split, evalBatchSize, outputs);
}

/**
 * The networks that evaluate a training run between epochs: one per batch size for the
 * whole run, given the trained network's current parameters whenever asked (the same
 * values a network built from them would hold). A new one per epoch left megabytes of
 * typed arrays per epoch for the collector, and peak memory grew with the epoch rate.
 */
function evaluationNetworks(spec: NetworkSpec, kernels: WeightKernels | undefined, trained: Network): (batch: number) => Network {
  const byBatch = new Map<number, Network>();
  return (batch) => {
    let evalNet = byBatch.get(batch);
    if (evalNet === undefined) {
      evalNet = new Network(spec, { batch, kernels });
      byBatch.set(batch, evalNet);
    }
    evalNet.layers.forEach((layer, l) => {
      const from = trained.layers[l];
      layer.weights.set(from.weights);
      if (layer.bias !== null && from.bias !== null) layer.bias.set(from.bias);
      layer.tauM.set(from.tauM);
      layer.tauR.set(from.tauR);
    });
    return evalNet;
  };
}

export interface TrainHooks {
  kernels?: WeightKernels;
  /** called after every batch with (batches done, batches total), counted over all epochs */
  onBatch?: (done: number, total: number) => void;
  /**
   * Called after every epoch, once the schedule has stepped; `state()` captures what a
   * checkpoint needs. Throwing here stops the run (the tests use this to simulate a crash).
   */
  onEpoch?: (record: EpochRecord, state: () => TrainingState) => void;
  /** continue from a checkpoint instead of a fresh initialisation */
  resume?: TrainingState;
  /** the test split, for the learning curves (see ClassifierConfig.testEvery) */
  test?: ClassificationSplit;
}

export interface TrainOutcome {
  layers: LayerParameters[];
  history: EpochRecord[];
  /** wall time spent training over all sessions of this run (resumed ones included) */
  trainingSeconds: number;
}

export function trainClassifier(config: ClassifierConfig, train: ClassificationSplit, validation: ClassificationSplit, hooks: TrainHooks = {}): TrainOutcome {
  checkPresentation(config.presentation, train, 'training');
  const resume = hooks.resume;
  const inputSize = stepInputSize(config.presentation, train.inputSize);
  const spec = buildSpec(config, inputSize, resume?.layers);
  const net = new Network(spec, { batch: config.batchSize, kernels: hooks.kernels, learning: learningSetup(config) });
  if (resume) restoreTrainingState(net, resume);
  let trainingSeconds = resume?.trainingSeconds ?? 0;
  const testEvery = config.testEvery ?? 0;
  const evaluationNetwork = evaluationNetworks(spec, hooks.kernels, net);
  const evaluateNow = (split: ClassificationSplit): SplitEvaluation => {
    checkPresentation(config.presentation, split, 'evaluated');
    return evaluateSplit(evaluationNetwork, config.presentation, split, config.evalBatchSize);
  };
  const { history } = runEpochs(
    {
      seed: config.seed,
      epochs: config.epochs,
      batchSize: config.batchSize,
      presentation: config.presentation,
      net,
      learn: (x, y) => net.step(x, y, 'learn'),
      optimizer: net,
      // Starting every batch of sequences from 0 sends all its sequences through the same
      // start-up transient at once, with errors of one sign across the batch; on MNIST-1D that
      // cost about 8 points of test accuracy in a seed (84 % against 92 % when carrying the
      // state, as the published script does).
      resetEachBatch: trainingBatchStartsAtRest(config.presentation, config.trainingSequenceStart),
      plateau: config.plateau,
      start: { epoch: resume?.epochsDone ?? 0, plateau: resume?.plateau ?? initialPlateau(config.learning.lr), history: resume?.history ?? [] },
      validate: () => evaluateNow(validation),
      test: (epoch) => {
        const withTest = hooks.test !== undefined && testEvery > 0 && ((epoch + 1) % testEvery === 0 || epoch + 1 === config.epochs);
        return withTest ? evaluateNow(hooks.test!).accuracy : NaN;
      },
      onBatch: hooks.onBatch,
      onEpoch: (record, plateau, history) => {
        trainingSeconds += record.seconds;
        hooks.onEpoch?.(record, () => captureTrainingState(net, { epochsDone: record.epoch, plateau, history, trainingSeconds }));
      },
    },
    train,
  );
  return { layers: net.parameters(), history, trainingSeconds };
}
