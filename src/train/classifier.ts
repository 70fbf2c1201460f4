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
import type { FloatArray, WeightKernels } from '../engine/kernels.js';
import type { Dtype, LayerParameters, LearningSetup, LossName, NetworkSpec } from '../engine/types.js';
import { DEFAULT_LEARNING } from '../engine/types.js';
import type { Presentation } from '../model/model-file.js';
import type { ClassificationSplit } from '../tasks/types.js';
import { GlekitError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { captureTrainingState, restoreTrainingState, type TrainingState } from './checkpoint.js';
import { initLayers, type InitOptions, type LayerArchitecture } from './init.js';
import { batchBuffers, countCorrect, fillInput, fillOneHot, trainingBatchStartsAtRest, type BatchBuffers, type SequenceStart } from './presentation.js';

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

export type PlateauMonitor = 'validationAccuracy' | 'validationLoss' | 'trainLoss';

/**
 * Reduce-on-plateau: after `patience` epochs without a new best monitored value,
 * lr *= factor and the count restarts. Accuracy must rise above the best; a loss must
 * fall below best * (1 - threshold) (torch's ReduceLROnPlateau 'rel' mode). Note that
 * torch reduces after patience + 1 bad epochs, so torch's patience p is p + 1 here.
 */
export interface PlateauSchedule {
  factor: number;
  patience: number;
  minLr: number;
  /** default 'validationAccuracy' */
  monitor?: PlateauMonitor;
  /** relative improvement a loss needs (default 1e-4) */
  threshold?: number;
  /** a reduction smaller than this is skipped, so lr stops falling near it (torch's eps; default 0) */
  eps?: number;
}

/** The schedule's memory, kept in checkpoints so that a resumed run continues identically. */
export interface PlateauState {
  lr: number;
  /** best monitored value so far; null before the first epoch */
  best: number | null;
  epochsSinceBest: number;
}

export function initialPlateau(lr: number): PlateauState {
  return { lr, best: null, epochsSinceBest: 0 };
}

export function monitoredValue(schedule: PlateauSchedule, record: EpochRecord): number {
  switch (schedule.monitor ?? 'validationAccuracy') {
    case 'validationAccuracy': return record.validationAccuracy;
    case 'validationLoss': return record.validationLoss;
    case 'trainLoss': return record.trainLoss;
  }
}

export function stepPlateau(schedule: PlateauSchedule, state: PlateauState, value: number): PlateauState {
  const monitor = schedule.monitor ?? 'validationAccuracy';
  if (!Number.isFinite(value)) {
    throw new GlekitError(`reduce-on-plateau monitors ${monitor}, which is ${value} (an empty validation split cannot be monitored)`);
  }
  const minimise = monitor !== 'validationAccuracy';
  const threshold = schedule.threshold ?? 1e-4;
  const improved = state.best === null || (minimise ? value < state.best * (1 - threshold) : value > state.best);
  if (improved) return { lr: state.lr, best: value, epochsSinceBest: 0 };
  const waited = state.epochsSinceBest + 1;
  if (waited < schedule.patience) return { ...state, epochsSinceBest: waited };
  const reduced = Math.max(schedule.minLr, state.lr * schedule.factor);
  return { lr: state.lr - reduced > (schedule.eps ?? 0) ? reduced : state.lr, best: state.best, epochsSinceBest: 0 };
}

export interface EpochRecord {
  epoch: number;
  trainAccuracy: number;
  /** mean loss while learning (CE of the output, or (1/2)||onehot - r||^2 for MSE) over the read-out window */
  trainLoss: number;
  validationAccuracy: number;
  validationLoss: number;
  /** NaN in the epochs where the test split was not evaluated */
  testAccuracy: number;
  /** learning rate used during this epoch */
  lr: number;
  /** wall time of the epoch, evaluations included */
  seconds: number;
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

/** Size of one step's input: the whole sample when held, one scalar when streamed. */
export function networkInputSize(presentation: Presentation, sampleSize: number): number {
  return presentation.mode === 'static' ? sampleSize : 1;
}

function checkPresentation(presentation: Presentation, split: ClassificationSplit, what: string): void {
  if (presentation.mode === 'sequence' && presentation.stepsPerSample > split.inputSize) {
    throw new GlekitError(`presentation.stepsPerSample (${presentation.stepsPerSample}) exceeds the length of the ${what} sequences (${split.inputSize})`);
  }
}

/** Sum over the batch of the loss of the output rates r against the labels. */
function batchLoss(loss: LossName, r: FloatArray, labels: Uint8Array, indices: ArrayLike<number>, start: number, batch: number, nOut: number): number {
  let total = 0;
  for (let b = 0; b < batch; b++) {
    const off = b * nOut;
    const label = labels[indices[start + b]];
    if (loss === 'ce') {
      let max = -Infinity;
      for (let j = 0; j < nOut; j++) if (r[off + j] > max) max = r[off + j];
      let sum = 0;
      for (let j = 0; j < nOut; j++) sum += Math.exp(r[off + j] - max);
      total += max + Math.log(sum) - r[off + label];
    } else {
      let sq = 0;
      for (let j = 0; j < nOut; j++) {
        const d = (j === label ? 1 : 0) - r[off + j];
        sq += d * d;
      }
      total += 0.5 * sq;
    }
  }
  return total;
}

export interface Batcher extends BatchBuffers { net: Network }

function makeBatcher(net: Network): Batcher {
  return { net, ...batchBuffers(net) };
}

interface BatchResult { correct: number; lossSum: number }

/**
 * Presents one batch for a whole presentation and counts how many were classified right.
 * The loss is summed over the batch and averaged over the read-out window's steps.
 * With learn = false no target is given (pure inference).
 */
function presentBatch(bt: Batcher, split: ClassificationSplit, indices: ArrayLike<number>, start: number,
  presentation: Presentation, learn: boolean, reset: boolean, out: BatchResult): void {
  const { net, x, y, score } = bt;
  const batch = net.batch;
  const nOut = net.outputSize;
  const loss = net.loss;
  if (reset) net.resetState();
  if (learn) fillOneHot(y, split.labels, indices, start, batch, nOut);
  score.fill(0);
  let lossSum = 0;
  for (let t = 0; t < presentation.stepsPerSample; t++) {
    if (presentation.mode === 'sequence' || t === 0) fillInput(x, split, indices, start, batch, presentation, t, net.inputSize);
    const inWindow = t >= presentation.settleSteps;
    net.step(x, learn ? y : null, learn && inWindow ? 'learn' : 'none');
    if (inWindow && presentation.readout === 'sum') {
      const r = net.top.r;
      for (let k = 0; k < score.length; k++) score[k] += r[k];
      lossSum += batchLoss(loss, r, split.labels, indices, start, batch, nOut);
    }
  }
  if (presentation.readout === 'last') {
    score.set(net.top.r);
    lossSum = batchLoss(loss, net.top.r, split.labels, indices, start, batch, nOut);
  } else {
    lossSum /= Math.max(1, presentation.stepsPerSample - presentation.settleSteps);
  }
  out.correct = countCorrect(score, split.labels, indices, start, batch, nOut);
  out.lossSum = lossSum;
}

/** Accuracy and mean loss of given parameters on a split (fresh state, no learning). */
export function evaluateClassifier(spec: NetworkSpec, presentation: Presentation, split: ClassificationSplit,
  evalBatchSize: number, kernels?: WeightKernels): { accuracy: number; loss: number; correct: number } {
  if (split.count === 0) return { accuracy: NaN, loss: NaN, correct: 0 };
  checkPresentation(presentation, split, 'evaluated');
  const order = Uint32Array.from({ length: split.count }, (_, i) => i);
  const result: BatchResult = { correct: 0, lossSum: 0 };
  let correct = 0;
  let lossSum = 0;
  let done = 0;
  let bt: Batcher | null = null;
  while (done < split.count) {
    const batch = Math.min(evalBatchSize, split.count - done);
    if (bt === null || bt.net.batch !== batch) bt = makeBatcher(new Network(spec, { batch, kernels }));
    // every evaluated sample starts from rest, whatever was evaluated before it
    presentBatch(bt, split, order, done, presentation, false, true, result);
    correct += result.correct;
    lossSum += result.lossSum;
    done += batch;
  }
  return { accuracy: correct / split.count, loss: lossSum / split.count, correct };
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

export function trainClassifier(config: ClassifierConfig, train: ClassificationSplit, validation: ClassificationSplit,
  hooks: TrainHooks = {}): TrainOutcome {
  checkPresentation(config.presentation, train, 'training');
  const resume = hooks.resume;
  const inputSize = networkInputSize(config.presentation, train.inputSize);
  const spec = buildSpec(config, inputSize, resume?.layers);
  const net = new Network(spec, { batch: config.batchSize, kernels: hooks.kernels, learning: learningSetup(config) });
  if (resume) restoreTrainingState(net, resume);
  const bt = makeBatcher(net);
  const batchesPerEpoch = Math.floor(train.count / config.batchSize);
  if (batchesPerEpoch === 0) throw new RangeError(`batch size ${config.batchSize} is larger than the training set (${train.count})`);
  const history: EpochRecord[] = resume ? resume.history.slice() : [];
  const total = batchesPerEpoch * config.epochs;
  let plateau: PlateauState = resume?.plateau ?? initialPlateau(config.learning.lr);
  let trainingSeconds = resume?.trainingSeconds ?? 0;
  const result: BatchResult = { correct: 0, lossSum: 0 };
  const testEvery = config.testEvery ?? 0;
  // Starting every batch of sequences from 0 sends all its sequences through the same
  // start-up transient at once, with errors of one sign across the batch; on MNIST-1D that
  // cost about 8 points of test accuracy in a seed (84 % against 92 % when carrying the
  // state, as the published script does).
  const resetEachBatch = trainingBatchStartsAtRest(config.presentation, config.trainingSequenceStart);
  for (let epoch = resume?.epochsDone ?? 0; epoch < config.epochs; epoch++) {
    net.learning = { ...net.learning!, lr: plateau.lr };
    const started = performance.now();
    const order = Rng.derive(config.seed, 1000 + epoch).permutation(train.count);
    let correct = 0;
    let lossSum = 0;
    for (let k = 0; k < batchesPerEpoch; k++) {
      presentBatch(bt, train, order, k * config.batchSize, config.presentation, true, resetEachBatch, result);
      correct += result.correct;
      lossSum += result.lossSum;
      hooks.onBatch?.(epoch * batchesPerEpoch + k + 1, total);
    }
    const evalSpec = { ...spec, layers: net.parameters() };
    const val = evaluateClassifier(evalSpec, config.presentation, validation, config.evalBatchSize, hooks.kernels);
    const withTest = hooks.test !== undefined && testEvery > 0 && ((epoch + 1) % testEvery === 0 || epoch + 1 === config.epochs);
    const testAccuracy = withTest ? evaluateClassifier(evalSpec, config.presentation, hooks.test!, config.evalBatchSize, hooks.kernels).accuracy : NaN;
    const seconds = (performance.now() - started) / 1000;
    trainingSeconds += seconds;
    const seen = batchesPerEpoch * config.batchSize;
    const record: EpochRecord = {
      epoch: epoch + 1,
      trainAccuracy: correct / seen,
      trainLoss: lossSum / seen,
      validationAccuracy: val.accuracy,
      validationLoss: val.loss,
      testAccuracy,
      lr: plateau.lr,
      seconds,
    };
    history.push(record);
    if (config.plateau !== null) plateau = stepPlateau(config.plateau, plateau, monitoredValue(config.plateau, record));
    const done = epoch + 1;
    const snapshotPlateau = plateau;
    hooks.onEpoch?.(record, () => captureTrainingState(net, { epochsDone: done, plateau: snapshotPlateau, history, trainingSeconds }));
  }
  return { layers: net.parameters(), history, trainingSeconds };
}
