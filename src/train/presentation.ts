/**
 * Putting samples of a classification split onto a network's input, one batch at a
 * time, and reading the class back: shared by the float trainer and the chip trainer,
 * so that both present data step for step alike.
 */
import type { FloatArray } from '../engine/kernels.js';
import type { Network } from '../engine/network.js';
import type { Presentation } from '../model/model-file.js';
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
export interface BatchBuffers { x: FloatArray; y: FloatArray; score: Float64Array }

export function batchBuffers(net: Network): BatchBuffers {
  return { x: net.newArray(net.batch * net.inputSize), y: net.newArray(net.batch * net.outputSize), score: new Float64Array(net.batch * net.outputSize) };
}

/** Writes one batch of samples (by index) into the step input, for step t of the presentation. */
export function fillInput(x: FloatArray, split: ClassificationSplit, indices: ArrayLike<number>, start: number, batch: number,
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
