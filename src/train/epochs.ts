/**
 * The epoch loop, written once for the float trainer and the chip trainer: data order,
 * batches, validation, test curve, reduce-on-plateau and the per-epoch hook. The two
 * differ only in the learn step they pass (and in what they evaluate on), so "the chip
 * trainer on a chip that injects nothing equals the float trainer" holds by construction.
 */
import type { Network } from '../engine/network.js';
import type { Presentation } from '../presentation/index.js';
import type { ClassificationSplit } from '../tasks/types.js';
import { Rng } from '../util/rng.js';
import { monitoredValue, stepPlateau, type EpochRecord, type PlateauSchedule, type PlateauState } from './plateau.js';
import { batchBuffers, presentBatch, type BatchResult, type LearnStep, type SplitEvaluation } from './presentation.js';

export interface EpochLoop {
  /** seed of the data order: epoch e uses Rng.derive(seed, 1000 + e) */
  seed: number;
  epochs: number;
  batchSize: number;
  presentation: Presentation;
  /** the network that is presented the training batches */
  net: Network;
  learn: LearnStep;
  /** the network whose optimizer takes the schedule's learning rate */
  optimizer: Network;
  resetEachBatch: boolean;
  plateau: PlateauSchedule | null;
  /** where a resumed run continues */
  start: { epoch: number; plateau: PlateauState; history: EpochRecord[] };
  /** called after an epoch's learning, before its evaluations */
  afterLearning?: () => void;
  validate: () => SplitEvaluation;
  /** test accuracy for the learning curves of this epoch (0-based), or NaN when not measured */
  test?: (epoch: number) => number;
  onBatch?: (done: number, total: number) => void;
  /** after the schedule has stepped; the plateau state given is the one the next epoch uses */
  onEpoch?: (record: EpochRecord, plateau: PlateauState, history: EpochRecord[]) => void;
}

export function runEpochs(loop: EpochLoop, train: ClassificationSplit): { history: EpochRecord[]; plateau: PlateauState } {
  const batchesPerEpoch = Math.floor(train.count / loop.batchSize);
  if (batchesPerEpoch === 0) throw new RangeError(`batch size ${loop.batchSize} is larger than the training set (${train.count})`);
  const bt = batchBuffers(loop.net);
  const result: BatchResult = { correct: 0, lossSum: 0 };
  const history = loop.start.history.slice();
  const total = batchesPerEpoch * loop.epochs;
  let plateau = loop.start.plateau;
  for (let epoch = loop.start.epoch; epoch < loop.epochs; epoch++) {
    loop.optimizer.learning = { ...loop.optimizer.learning!, lr: plateau.lr };
    const started = performance.now();
    const order = Rng.derive(loop.seed, 1000 + epoch).permutation(train.count);
    let correct = 0;
    let lossSum = 0;
    for (let k = 0; k < batchesPerEpoch; k++) {
      presentBatch(loop.net, bt, train, order, k * loop.batchSize, loop.presentation, loop.learn, loop.resetEachBatch, result);
      correct += result.correct;
      lossSum += result.lossSum;
      loop.onBatch?.(epoch * batchesPerEpoch + k + 1, total);
    }
    loop.afterLearning?.();
    const val = loop.validate();
    const testAccuracy = loop.test?.(epoch) ?? NaN;
    const seen = batchesPerEpoch * loop.batchSize;
    const record: EpochRecord = {
      epoch: epoch + 1,
      trainAccuracy: correct / seen,
      trainLoss: lossSum / seen,
      validationAccuracy: val.accuracy,
      validationLoss: val.loss,
      testAccuracy,
      lr: plateau.lr,
      seconds: (performance.now() - started) / 1000,
    };
    history.push(record);
    if (loop.plateau !== null) plateau = stepPlateau(loop.plateau, plateau, monitoredValue(loop.plateau, record));
    loop.onEpoch?.(record, plateau, history);
  }
  return { history, plateau };
}
