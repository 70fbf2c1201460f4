/**
 * A descriptor's input side: real inputs as the codes its network is fed
 * (`quantise(x, inputFormat)`), laid out step by step as the presentation feeds them.
 */
import { quantise, type FixedFormat } from '../fixed/index.js';
import { presentationMismatch } from '../presentation/index.js';
import { GlekitError } from '../util/errors.js';
import type { Descriptor } from './types.js';

/** Input codes of real inputs: quantise(x, inputFormat) element-wise. */
export function quantiseInputs(values: ArrayLike<number>, format: FixedFormat, out?: Int32Array): Int32Array {
  const codes = out ?? new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) codes[i] = quantise(values[i], format);
  return codes;
}

/**
 * Step inputs for runPresentation / the C host: per sample stepsPerSample rows of input
 * codes; a held sample repeats its row, a sequence feeds one element per step.
 */
export function presentationInputs(d: Descriptor, samples: ArrayLike<number>, count: number, sampleSize: number): Int32Array {
  const n = d.network;
  const p = n.presentation;
  const why = presentationMismatch(p, sampleSize, n.inputSize);
  if (why !== null) throw new GlekitError(why);
  const out = new Int32Array(count * p.stepsPerSample * n.inputSize);
  const row = new Int32Array(sampleSize);
  const values = new Float64Array(sampleSize);
  for (let s = 0; s < count; s++) {
    for (let i = 0; i < sampleSize; i++) values[i] = samples[s * sampleSize + i];
    quantiseInputs(values, n.inputFormat, row);
    for (let t = 0; t < p.stepsPerSample; t++) {
      const at = (s * p.stepsPerSample + t) * n.inputSize;
      if (p.mode === 'static') out.set(row, at);
      else out[at] = row[t];
    }
  }
  return out;
}
