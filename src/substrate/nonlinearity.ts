/**
 * The rate function as a substrate realises it, built once per layer as a replacement
 * activation for the engine (LayerHooks.activation).
 *
 * Choices where the profile is silent:
 * - A linear layer is read from its membrane and uses no nonlinearity circuit, so its
 *   phi stays exact on every substrate (a readout layer of logits is not clamped).
 * - phi' (the error path's slope) is what training in the loop needs from the host: for
 *   a table, the exact phi' inside the table's range and 0 outside where the table holds
 *   its end value; for a piecewise-linear phi, the segment's slope; for a clamp, 1 inside
 *   [min, max] and 0 outside.
 */
import { activationRange, phiPrimeScalar, phiScalar, type ActivationName } from '../engine/activations.js';
import type { FloatArray } from '../engine/kernels.js';
import { tableSamplePoint, type ResolvedNonlinearity } from '../hw/index.js';

export type Activation = (pu: FloatArray, r: FloatArray, rp: FloatArray, n: number) => void;

/** Table entries stored with outputBits: a signed grid whose full scale is the next power of two above max |phi|. */
function quantiseEntries(table: Float64Array, bits: number): void {
  let maxAbs = 0;
  for (const v of table) maxAbs = Math.max(maxAbs, Math.abs(v));
  if (maxAbs === 0) return;
  const fullScale = 2 ** Math.ceil(Math.log2(maxAbs));
  const lsb = fullScale / 2 ** (bits - 1);
  const qMax = 2 ** (bits - 1) - 1;
  const qMin = -(2 ** (bits - 1));
  for (let k = 0; k < table.length; k++) {
    const q = Math.round(table[k] / lsb);
    table[k] = (q > qMax ? qMax : q < qMin ? qMin : q) * lsb;
  }
}

/** The realised phi of a layer, or null when the engine's exact phi applies. */
export function realisedActivation(phi: ActivationName, nl: ResolvedNonlinearity): Activation | null {
  if (nl.kind === 'exact' || phi === 'linear') return null;
  switch (nl.kind) {
    case 'clamp': {
      const lo = nl.min,
        hi = nl.max;
      return (pu, r, rp, n) => {
        for (let i = 0; i < n; i++) {
          const x = pu[i];
          if (x < lo) {
            r[i] = lo;
            rp[i] = 0;
          } else if (x > hi) {
            r[i] = hi;
            rp[i] = 0;
          } else {
            r[i] = x;
            rp[i] = 1;
          }
        }
      };
    }
    case 'lut': {
      const entries = nl.entries,
        lo = nl.min,
        step = nl.step,
        hi = nl.max;
      const table = new Float64Array(entries);
      for (let k = 0; k < entries; k++) table[k] = phiScalar(phi, tableSamplePoint(lo, step, k, nl.interpolation === 'linear'));
      if (nl.outputBits !== null) quantiseEntries(table, nl.outputBits);
      const last = entries - 1;
      if (nl.interpolation === 'none') {
        return (pu, r, rp, n) => {
          for (let i = 0; i < n; i++) {
            const x = pu[i];
            let k = Math.floor((x - lo) / step);
            if (k < 0) k = 0;
            else if (k > last) k = last;
            r[i] = table[k];
            rp[i] = x >= lo && x < hi ? phiPrimeScalar(phi, x) : 0;
          }
        };
      }
      return (pu, r, rp, n) => {
        for (let i = 0; i < n; i++) {
          const x = pu[i];
          const t = (x - lo) / step;
          const k = Math.floor(t);
          if (k < 0) {
            r[i] = table[0];
            rp[i] = 0;
            continue;
          }
          if (k >= last) {
            r[i] = table[last];
            rp[i] = x < hi ? phiPrimeScalar(phi, x) : 0;
            continue;
          }
          const f = t - k;
          r[i] = table[k] + f * (table[k + 1] - table[k]);
          rp[i] = phiPrimeScalar(phi, x);
        }
      };
    }
    case 'piecewise-linear': {
      const segments = nl.segments,
        lo = nl.min,
        hi = nl.max;
      const width = (hi - lo) / segments;
      const knots = new Float64Array(segments + 1);
      for (let j = 0; j <= segments; j++) knots[j] = phiScalar(phi, lo + j * width);
      const slopes = new Float64Array(segments);
      for (let j = 0; j < segments; j++) slopes[j] = (knots[j + 1] - knots[j]) / width;
      return (pu, r, rp, n) => {
        for (let i = 0; i < n; i++) {
          const x = pu[i];
          if (x <= lo) {
            r[i] = knots[0];
            rp[i] = 0;
            continue;
          }
          if (x >= hi) {
            r[i] = knots[segments];
            rp[i] = 0;
            continue;
          }
          let j = Math.floor((x - lo) / width);
          if (j >= segments) j = segments - 1;
          r[i] = knots[j] + (x - (lo + j * width)) * slopes[j];
          rp[i] = slopes[j];
        }
      };
    }
  }
}

/**
 * The range a layer's rate lives in, which an ADC or a noise figure refers to: phi's
 * own bounds where it has them, the clamp's where the substrate clamps, and otherwise
 * the +-8 input range of the shipped lookup tables (the emulator's choice).
 */
export const UNBOUNDED_RATE_RANGE = 8;

export function rateRange(phi: ActivationName, nl: ResolvedNonlinearity): [number, number] {
  if (phi !== 'linear' && nl.kind === 'clamp') return [nl.min, nl.max];
  const [lo, hi] = activationRange(phi);
  return [Math.max(lo, -UNBOUNDED_RATE_RANGE), Math.min(hi, UNBOUNDED_RATE_RANGE)];
}
