/**
 * Putting samples of a classification split onto a float network's input, one batch at a
 * time, and reading the class back: one `presentBatch` for the float trainer, the chip
 * trainer and the float and substrate targets, so that all present data step for step
 * alike (the loop itself is src/presentation's `present`).
 */
import type { FloatArray } from '../engine/kernels.js';
import type { Network } from '../engine/network.js';
import type { LossName } from '../engine/types.js';
import { present, type Presentation } from '../presentation/index.js';
import type { ClassificationSplit } from '../tasks/types.js';

/** How a training batch of sequences starts: from rest, or where the previous batch left the network. */
export type SequenceStart = 'reset' | 'carry';

/**
 * Whether a training batch starts from rest. A held sample settles from any state, so
 * held presentations carry the state unless told to reset; sequences reset unless their
 * start is 'carry'. Evaluation always starts from rest and does not ask.
 */
export function trainingBatchStartsAtRest(presentation: Presentation, sequenceStart: SequenceStart | undefined, alwaysReset = false): boolean {
  return alwaysReset || (presentation.mode === 'sequence' && sequenceStart !== 'carry');
}

/** The per-batch buffers of one network: step input, one-hot target and read-out score. */
export interface BatchBuffers {
  x: FloatArray;
  y: FloatArray;
  score: Float64Array;
}

export function batchBuffers(net: Network): BatchBuffers {
  return { x: net.newArray(net.batch * net.inputSize), y: net.newArray(net.batch * net.outputSize), score: new Float64Array(net.batch * net.outputSize) };
}

/** Writes one batch of samples (by index) into the step input, for step t of the presentation. */
export function fillInput(
  x: FloatArray,
  split: ClassificationSplit,
  indices: ArrayLike<number>,
  start: number,
  batch: number,
  presentation: Presentation,
  t: number,
  netInputSize: number,
): void {
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

export function fillOneHot(y: FloatArray, labels: Uint8Array, indices: ArrayLike<number>, start: number, batch: number, nClasses: number): void {
  y.fill(0);
  for (let b = 0; b < batch; b++) y[b * nClasses + labels[indices[start + b]]] = 1;
}

/** How many rows of the batch's score have their largest entry at the sample's label. */
export function countCorrect(score: ArrayLike<number>, labels: Uint8Array, indices: ArrayLike<number>, start: number, batch: number, nOut: number): number {
  let correct = 0;
  for (let b = 0; b < batch; b++) {
    let best = 0;
    for (let j = 1; j < nOut; j++) if (score[b * nOut + j] > score[b * nOut + best]) best = j;
    if (best === labels[indices[start + b]]) correct++;
  }
  return correct;
}

/** Sum over the batch of the loss of the output rates r against the labels. */
function batchLoss(loss: LossName, r: ArrayLike<number>, labels: Uint8Array, indices: ArrayLike<number>, start: number, batch: number, nOut: number): number {
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

/** One step in the learning window with target y; null: no learning (pure inference). */
export type LearnStep = (x: FloatArray, y: FloatArray) => void;

export interface BatchResult {
  correct: number;
  lossSum: number;
}

/**
 * Presents one batch (samples indices[start ..]) for a whole presentation. With `learn`,
 * the target is given at every step and the steps of the learning window are `learn`'s;
 * otherwise the network only infers. Counts the right answers and sums the loss over the
 * batch (averaged over the read-out window's steps); `outputs`, when given, receives the
 * read-out scores at row `start`.
 */
export function presentBatch(
  net: Network,
  bt: BatchBuffers,
  split: ClassificationSplit,
  indices: ArrayLike<number>,
  start: number,
  presentation: Presentation,
  learn: LearnStep | null,
  reset: boolean,
  out: BatchResult,
  outputs: Float64Array | null = null,
): void {
  const { x, y, score } = bt;
  const batch = net.batch;
  const nOut = net.outputSize;
  const loss = net.loss;
  if (reset) net.resetState();
  if (learn !== null) fillOneHot(y, split.labels, indices, start, batch, nOut);
  let lossSum = 0;
  present(
    presentation,
    {
      fill: (t) => fillInput(x, split, indices, start, batch, presentation, t, net.inputSize),
      step: (_t, inWindow) => {
        if (learn !== null && inWindow) learn(x, y);
        else net.step(x, learn !== null ? y : null, 'none');
      },
      output: () => net.top.r,
    },
    score,
    (r) => {
      lossSum += batchLoss(loss, r, split.labels, indices, start, batch, nOut);
    },
  );
  if (presentation.readout === 'sum') lossSum /= Math.max(1, presentation.stepsPerSample - presentation.settleSteps);
  if (outputs !== null) outputs.set(score, start * nOut);
  out.correct = countCorrect(score, split.labels, indices, start, batch, nOut);
  out.lossSum = lossSum;
}

export interface SplitEvaluation {
  accuracy: number;
  /** mean loss per sample */
  loss: number;
  correct: number;
}

/**
 * Inference over a whole split in batches of at most `evalBatchSize`, every batch from
 * rest; `networkFor(batch)` gives the network of a batch size (the float engine, or a
 * chip network), asked once per batch. `outputs`, when given, receives every sample's read-out scores.
 */
export function evaluateSplit(
  networkFor: (batch: number) => Network,
  presentation: Presentation,
  split: ClassificationSplit,
  evalBatchSize: number,
  outputs: Float64Array | null = null,
): SplitEvaluation {
  if (split.count === 0) return { accuracy: NaN, loss: NaN, correct: 0 };
  const order = Uint32Array.from({ length: split.count }, (_, i) => i);
  const result: BatchResult = { correct: 0, lossSum: 0 };
  let correct = 0;
  let lossSum = 0;
  let done = 0;
  let bt: BatchBuffers | null = null;
  while (done < split.count) {
    const batch = Math.min(evalBatchSize, split.count - done);
    // asked for every batch: a chip network brings itself up to date with its host here
    const net = networkFor(batch);
    if (bt === null || bt.score.length !== batch * net.outputSize) bt = batchBuffers(net);
    // every evaluated sample starts from rest, whatever was evaluated before it
    presentBatch(net, bt, split, order, done, presentation, null, true, result, outputs);
    correct += result.correct;
    lossSum += result.lossSum;
    done += batch;
  }
  return { accuracy: correct / split.count, loss: lossSum / split.count, correct };
}
