/**
 * Number representations of a substrate applied to float values: stored weights
 * (integer codes times a per-matrix scale) and state / readout resolution (fixed point,
 * analog ranges, ADC codes), each with saturation or wrap-around as the profile says.
 *
 * The rules here are the reading of src/hw/resolve.ts's field semantics that the
 * substrate target applies; where the profile leaves a choice open (the range of a fixed
 * format without fractional bits, the range an ADC spans), the choice is a named
 * constant below so that a reader of a sweep can find it.
 */
import type { FloatArray } from '../engine/kernels.js';
import { roundWith, type ResolvedNumberFormat, type ResolvedReadout, type ResolvedWeights } from '../hw/index.js';
import type { ProfileRounding } from '../hw/index.js';

/**
 * A fixed-point state format without fractional bits leaves the binary point to the
 * compiler; the emulator places it so that the format spans +-FIXED_STATE_RANGE model
 * units (7 integer bits above the sign). That holds the logits of a trained Yin-Yang
 * model (|logit| < 50) with room to spare, and resolution grows with the bit width.
 */
export const FIXED_STATE_RANGE = 128;

export type IntegerWeightFormat = Extract<ResolvedWeights, { format: 'integer' }>;

/** The integer codes a weight may take: [lo, hi], after sign handling and base-mask coding. */
export function weightCodeLimits(w: IntegerWeightFormat): { lo: number; hi: number } {
  // a mask over `bases` binary-weighted currents reaches at most 2^bases - 1
  const hi = w.coding === 'base-mask' && w.bases !== null ? Math.min(w.qMax, 2 ** w.bases - 1) : w.qMax;
  const lo = w.coding === 'base-mask' ? Math.max(w.qMin, -hi) : w.qMin;
  return { lo, hi };
}

/**
 * The scale of one matrix: 'free' maps the largest |w| onto the largest positive code
 * (a compiler's usual choice), 'power-of-two' takes the smallest 2^e that does so within
 * the exponent range, 'fixed' is the profile's step for every matrix.
 */
export function weightScale(w: IntegerWeightFormat, maxAbs: number): number {
  const { hi } = weightCodeLimits(w);
  switch (w.scale.kind) {
    case 'fixed':
      return w.scale.step;
    case 'free':
      return maxAbs > 0 ? maxAbs / hi : 1;
    case 'power-of-two': {
      const e = maxAbs > 0 ? Math.ceil(Math.log2(maxAbs / hi)) : w.scale.minExponent;
      return 2 ** Math.min(w.scale.maxExponent, Math.max(w.scale.minExponent, e));
    }
  }
}

/** Integer code of value / scale by the profile's rounding, then saturated or wrapped into [lo, hi]. */
export function weightCode(w: IntegerWeightFormat, lo: number, hi: number, x: number): number {
  const q = roundWith(w.rounding, x);
  if (q >= lo && q <= hi) return q;
  if (w.overflow === 'saturate') return q < lo ? lo : hi;
  if (w.sign === 'signed') {
    // two's complement over the stored bits
    const m = hi - lo + 1;
    return ((((q - lo) % m) + m) % m) + lo;
  }
  // sign kept apart from the magnitude: the magnitude bits wrap, the sign does not
  const mag = Math.abs(q) % (hi + 1);
  return q < 0 ? -mag : mag;
}

/**
 * Writes the stored values of one matrix: out[k] = code(src[k] / scale) * scale
 * (* gain[k] when given). Returns the scale used.
 */
export function quantiseMatrix(w: IntegerWeightFormat, src: ArrayLike<number>, out: FloatArray, gain: Float64Array | null): number {
  const n = src.length;
  let maxAbs = 0;
  for (let k = 0; k < n; k++) {
    const a = Math.abs(src[k]);
    if (a > maxAbs) maxAbs = a;
  }
  const scale = weightScale(w, maxAbs);
  const { lo, hi } = weightCodeLimits(w);
  for (let k = 0; k < n; k++) {
    const v = weightCode(w, lo, hi, src[k] / scale) * scale;
    out[k] = gain === null ? v : v * gain[k];
  }
  return scale;
}

/**
 * A uniform grid with an optional range: v -> lo + round((v - lo) / step) * step, limited
 * to [lo, hi] by saturation or wrap-around. step 0 means no rounding (an analog value
 * that only saturates).
 */
export interface GridQuantiser {
  lo: number;
  hi: number;
  step: number;
  rounding: ProfileRounding;
  overflow: 'saturate' | 'wrap';
}

/** The grid of a state format, or null when it is exact (float, or analog without a range). */
export function stateGrid(f: ResolvedNumberFormat | null): GridQuantiser | null {
  if (f === null) return null;
  switch (f.format) {
    case 'float':
      return null;
    case 'analog':
      if (f.min === null && f.max === null) return null;
      return { lo: f.min ?? -Infinity, hi: f.max ?? Infinity, step: 0, rounding: 'nearest', overflow: 'saturate' };
    case 'fixed': {
      const step = f.fractionalBits !== null ? 2 ** -f.fractionalBits : FIXED_STATE_RANGE / 2 ** (f.bits - 1);
      return { lo: f.qMin * step, hi: f.qMax * step, step, rounding: 'nearest', overflow: f.overflow };
    }
  }
}

/** An ADC reading a signal whose full scale is [lo, hi]: codeMin..codeMax span that range. */
export function readoutGrid(r: ResolvedReadout, lo: number, hi: number): GridQuantiser {
  const step = (hi - lo) / r.span;
  return { lo, hi: lo + r.span * step, step, rounding: 'nearest', overflow: r.overflow };
}

export function snapToGrid(g: GridQuantiser, v: number): number {
  let x = v;
  if (g.step > 0) x = g.lo + roundWith(g.rounding, (v - g.lo) / g.step) * g.step;
  if (x >= g.lo && x <= g.hi) return x;
  if (g.overflow === 'saturate' || g.step === 0) return x < g.lo ? g.lo : g.hi;
  const levels = Math.round((g.hi - g.lo) / g.step) + 1;
  const k = Math.round((x - g.lo) / g.step);
  return g.lo + (((k % levels) + levels) % levels) * g.step;
}

/** snapToGrid in place over a[0..n). */
export function snapArrayToGrid(g: GridQuantiser, a: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) a[i] = snapToGrid(g, a[i]);
}
