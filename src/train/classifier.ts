/**
 * Training and evaluating classifiers with the float engine. Two ways to present a
 * sample: hold it for a number of steps ('static', Yin-Yang and MNIST), or feed it one
 * scalar per step ('sequence', MNIST-1D). Learning is local and happens inside the
 * steps (the engine's 'learn' mode); this file only schedules data and reads out.
 */
import { Network } from '../engine/network.js';
import type { FloatArray, WeightKernels } from '../engine/kernels.js';
import type { Dtype, LayerParameters, LearningSetup, LossName, NetworkSpec } from '../engine/types.js';
import { DEFAULT_LEARNING } from '../engine/types.js';
import type { Presentation } from '../model/model-file.js';
import type { ClassificationSplit } from '../tasks/types.js';
import { Rng } from '../util/rng.js';
import { initLayers, type InitOptions, type LayerArchitecture } from './init.js';

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
  /** reduce the learning rate when validation accuracy stops improving (null: constant) */
  plateau: PlateauSchedule | null;
}

/** Reduce-on-plateau: after `patience` epochs without a new best validation accuracy, lr *= factor. */
export interface PlateauSchedule {
  factor: number;
  patience: number;
  minLr: number;
}

/** The schedule's memory, kept in checkpoints so that a resumed run continues identically. */
export interface PlateauState {
  lr: number;
  best: number;
  epochsSinceBest: number;
}

export function stepPlateau(schedule: PlateauSchedule, state: PlateauState, validationAccuracy: number): PlateauState {
  if (validationAccuracy > state.best) return { lr: state.lr, best: validationAccuracy, epochsSinceBest: 0 };
  const waited = state.epochsSinceBest + 1;
  if (waited < schedule.patience) return { ...state, epochsSinceBest: waited };
  return { lr: Math.max(schedule.minLr, state.lr * schedule.factor), best: state.best, epochsSinceBest: 0 };
}

export interface EpochRecord {
  epoch: number;
  trainAccuracy: number;
  validationAccuracy: number;
  /** learning rate used during this epoch */
  lr: number;
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

/** Writes one batch of samples (by index) into the step input, for step t of the presentation. */
function fillInput(x: FloatArray, split: ClassificationSplit, indices: ArrayLike<number>, start: number, batch: number,
  presentation: Presentation, t: number, netInputSize: number): void {
  const rowSize = split.inputSize;
  for (let b = 0; b < batch; b++) {
    const row = indices[start + b] * rowSize;
    if (presentation.mode === 'static') {
      for (let i = 0; i < netInputSize; i++) x[b * netInputSize + i] = split.inputs[row + i];
    } else {
      x[b] = split.inputs[row + t];
    }
  }
}

function fillOneHot(y: FloatArray, labels: Uint8Array, indices: ArrayLike<number>, start: number, batch: number, nClasses: number): void {
  y.fill(0);
  for (let b = 0; b < batch; b++) y[b * nClasses + labels[indices[start + b]]] = 1;
}

function argmaxRow(a: FloatArray, row: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (a[row * n + j] > a[row * n + best]) best = j;
  return best;
}

export interface Batcher { net: Network; x: FloatArray; y: FloatArray; score: FloatArray }

function makeBatcher(net: Network): Batcher {
  return {
    net,
    x: net.newArray(net.batch * net.inputSize),
    y: net.newArray(net.batch * net.outputSize),
    score: new Float64Array(net.batch * net.outputSize) as FloatArray,
  };
}

/**
 * Presents one batch for a whole presentation; returns how many were classified right.
 * With learn = false no target is given (pure inference).
 */
function presentBatch(bt: Batcher, split: ClassificationSplit, indices: ArrayLike<number>, start: number,
  presentation: Presentation, learn: boolean): number {
  const { net, x, y, score } = bt;
  const batch = net.batch;
  const nOut = net.outputSize;
  if (presentation.mode === 'sequence') net.resetState();
  if (learn) fillOneHot(y, split.labels, indices, start, batch, nOut);
  score.fill(0);
  for (let t = 0; t < presentation.stepsPerSample; t++) {
    if (presentation.mode === 'sequence' || t === 0) fillInput(x, split, indices, start, batch, presentation, t, net.inputSize);
    const inWindow = t >= presentation.settleSteps;
    net.step(x, learn ? y : null, learn && inWindow ? 'learn' : 'none');
    if (inWindow && presentation.readout === 'sum') {
      const r = net.top.r;
      for (let k = 0; k < score.length; k++) score[k] += r[k];
    }
  }
  if (presentation.readout === 'last') score.set(net.top.r);
  let correct = 0;
  for (let b = 0; b < batch; b++) if (argmaxRow(score, b, nOut) === split.labels[indices[start + b]]) correct++;
  return correct;
}

/** Accuracy of given parameters on a split (fresh state, no learning). */
export function evaluateClassifier(spec: NetworkSpec, presentation: Presentation, split: ClassificationSplit,
  evalBatchSize: number, kernels?: WeightKernels): { accuracy: number; correct: number } {
  if (split.count === 0) return { accuracy: NaN, correct: 0 };
  const order = Uint32Array.from({ length: split.count }, (_, i) => i);
  let correct = 0;
  let done = 0;
  let bt: Batcher | null = null;
  while (done < split.count) {
    const batch = Math.min(evalBatchSize, split.count - done);
    if (bt === null || bt.net.batch !== batch) bt = makeBatcher(new Network(spec, { batch, kernels }));
    bt.net.resetState();
    correct += presentBatch(bt, split, order, done, presentation, false);
    done += batch;
  }
  return { accuracy: correct / split.count, correct };
}

export interface TrainHooks {
  kernels?: WeightKernels;
  /** called after every batch with (batches done, batches total) */
  onBatch?: (done: number, total: number) => void;
  onEpoch?: (record: EpochRecord, parameters: LayerParameters[], plateau: PlateauState) => void;
  /** start from these parameters instead of a fresh initialisation */
  initialLayers?: LayerParameters[];
  initialPlateau?: PlateauState;
  firstEpoch?: number;
}

export interface TrainOutcome {
  layers: LayerParameters[];
  history: EpochRecord[];
}

export function trainClassifier(config: ClassifierConfig, train: ClassificationSplit, validation: ClassificationSplit,
  hooks: TrainHooks = {}): TrainOutcome {
  const inputSize = config.presentation.mode === 'static' ? train.inputSize : 1;
  const spec = buildSpec(config, inputSize, hooks.initialLayers);
  const net = new Network(spec, { batch: config.batchSize, kernels: hooks.kernels, learning: learningSetup(config) });
  const bt = makeBatcher(net);
  const batchesPerEpoch = Math.floor(train.count / config.batchSize);
  if (batchesPerEpoch === 0) throw new RangeError(`batch size ${config.batchSize} is larger than the training set (${train.count})`);
  const history: EpochRecord[] = [];
  const total = batchesPerEpoch * config.epochs;
  let plateau: PlateauState = hooks.initialPlateau ?? { lr: config.learning.lr, best: -Infinity, epochsSinceBest: 0 };
  for (let epoch = hooks.firstEpoch ?? 0; epoch < config.epochs; epoch++) {
    net.learning = { ...net.learning!, lr: plateau.lr };
    const started = performance.now();
    const order = Rng.derive(config.seed, 1000 + epoch).permutation(train.count);
    let correct = 0;
    for (let k = 0; k < batchesPerEpoch; k++) {
      correct += presentBatch(bt, train, order, k * config.batchSize, config.presentation, true);
      hooks.onBatch?.(epoch * batchesPerEpoch + k + 1, total);
    }
    const params = net.parameters();
    const evalSpec = { ...spec, layers: params };
    const record: EpochRecord = {
      epoch: epoch + 1,
      trainAccuracy: correct / (batchesPerEpoch * config.batchSize),
      validationAccuracy: evaluateClassifier(evalSpec, config.presentation, validation, config.evalBatchSize, hooks.kernels).accuracy,
      lr: plateau.lr,
      seconds: (performance.now() - started) / 1000,
    };
    history.push(record);
    if (config.plateau !== null) plateau = stepPlateau(config.plateau, plateau, record.validationAccuracy);
    hooks.onEpoch?.(record, params, plateau);
  }
  return { layers: net.parameters(), history };
}
