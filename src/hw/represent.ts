/**
 * The value conversions that a profile's representation fields define. They live here,
 * beside the schema, so that the substrate engine, the compiler and the tests cannot
 * each invent a slightly different reading of "12-bit decay" or "round".
 */
import { GlekitError } from '../util/errors.js';
import type { ResolvedTauRepresentation } from './resolve.js';
import type { ProfileRounding } from './types.js';

/** Rounds x to an integer by the named rule ('nearest' is half away from zero). */
export function roundWith(mode: ProfileRounding, x: number): number {
  let r: number;
  switch (mode) {
    case 'nearest':
      r = x < 0 ? -Math.round(-x) : Math.round(x);
      break;
    case 'nearest-even': {
      const f = Math.floor(x);
      const frac = x - f;
      r = frac > 0.5 ? f + 1 : frac < 0.5 ? f : f % 2 === 0 ? f : f + 1;
      break;
    }
    case 'floor':
      r = Math.floor(x);
      break;
    case 'ceil':
      r = Math.ceil(x);
      break;
    case 'truncate':
      r = Math.trunc(x);
      break;
  }
  return r === 0 ? 0 : r; // no -0 leaking into integer codes
}

const clamp = (x: number, lo: number, hi: number): number => (x < lo ? lo : x > hi ? hi : x);

/**
 * The time constant a substrate realises when asked for `tau` (same unit as dt, which
 * only the step-based representations need). Mismatch is not applied here: it acts on
 * the physical circuit after the setting was chosen, so the realised value is
 * representTau(...) * factor.
 */
export function representTau(rep: ResolvedTauRepresentation, tau: number, dt: number | null = null): number {
  if (!(tau > 0)) throw new GlekitError(`representTau: tau must be positive, got ${tau}`);
  switch (rep.kind) {
    case 'continuous':
      return clamp(tau, rep.min, rep.max);
    case 'analog-cell': {
      const span = rep.codeMax - rep.codeMin;
      // position in [0, 1] of tau along the quantity that is linear in the code
      const toUnit = (t: number): number => {
        switch (rep.mapping) {
          case 'linear':
            return (t - rep.min) / (rep.max - rep.min);
          case 'reciprocal':
            return (1 / t - 1 / rep.max) / (1 / rep.min - 1 / rep.max);
          case 'log':
            return Math.log(t / rep.min) / Math.log(rep.max / rep.min);
        }
      };
      const fromUnit = (u: number): number => {
        switch (rep.mapping) {
          case 'linear':
            return rep.min + u * (rep.max - rep.min);
          case 'reciprocal':
            return 1 / (1 / rep.max + u * (1 / rep.min - 1 / rep.max));
          case 'log':
            return rep.min * Math.exp(u * Math.log(rep.max / rep.min));
        }
      };
      const code = clamp(rep.codeMin + roundWith(rep.rounding, toUnit(tau) * span), rep.codeMin, rep.codeMax);
      return fromUnit((code - rep.codeMin) / span);
    }
    case 'decay': {
      if (dt === null || !(dt > 0)) throw new GlekitError('representTau: a decay representation needs a positive dt');
      const d = clamp(roundWith(rep.rounding, (rep.one * dt) / tau), rep.dMin, rep.dMax);
      return (rep.one / d) * dt;
    }
    case 'bit-shift': {
      if (dt === null || !(dt > 0)) throw new GlekitError('representTau: a bit-shift representation needs a positive dt');
      const s = clamp(roundWith(rep.rounding, Math.log2(tau / dt)), rep.shiftMin, rep.shiftMax);
      return 2 ** s * dt;
    }
  }
}
