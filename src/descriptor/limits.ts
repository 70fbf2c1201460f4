/** The bounds of descriptor format version 1. */
import type { FixedFormat } from '../fixed/index.js';

/** Limits of format version 1; firmware-bridge/DESCRIPTOR.md and gle_config.h carry the same numbers. */
export const LIMITS = {
  layers: 16,
  size: 65535,
  delay: 255,
  tableEntries: 4096,
  stepsPerSample: 1 << 20,
  weightWidth: 16,
  activationWidth: 24,
  stateWidth: 32,
  fracAbs: 64,
  alphaFrac: 15,
  rhoFrac: 16,
  tableShift: 24,
  /** identity/clamp rate: pu shifted left by at most this many bits */
  rateLeftShift: 20,
  /** |accumulator| stays below 2^52 so that a double holds it exactly (see SEMANTICS.md) */
  accBits: 51,
} as const;

/** The raw range a code stored in f may have: two's complement over W bits (wider than minRaw for SAT_SYM). */
export function storedRange(f: FixedFormat): [number, number] {
  return f.signed ? [-(2 ** (f.width - 1)), 2 ** (f.width - 1) - 1] : [0, 2 ** f.width - 1];
}
