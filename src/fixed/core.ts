/**
 * The exact core shared by every operation: given an integer V and a shift k, produce
 * overflow(round(V / 2^k)) in a result format. SEMANTICS.md states the rules; this
 * file is their JS rendering, kept step for step close to what a C99 int64 version
 * does so the two can be compared line by line.
 *
 * Every value here is an integer held in a double. Integers below 2^53 are exact, and
 * so are products and quotients by powers of two, which is all the arithmetic used
 * on values that may be larger. Nothing allocates.
 */
import type { FixedFormat } from './format.js';

// Positions in ROUNDING_MODES / OVERFLOW_MODES.
export const R_TRN = 0;
export const R_TRN_ZERO = 1;
export const R_RND = 2;
export const R_RND_ZERO = 3;
export const R_RND_MIN_INF = 4;
export const R_RND_INF = 5;
export const R_RND_CONV = 6;
export const O_WRAP = 0;
export const O_SAT = 1;
export const O_SAT_ZERO = 2;
export const O_SAT_SYM = 3;

export const TWO52 = 2 ** 52;
export const TWO53 = 2 ** 53;

// Math.pow is not specified to be exact, so powers of two come from a table built by
// exact doubling and halving. The range covers every shift the bounded formats allow.
const POW2_MIN = -1074;
const POW2_MAX = 1023;
const POW2 = new Float64Array(POW2_MAX - POW2_MIN + 1);
POW2[-POW2_MIN] = 1;
for (let e = 1; e <= POW2_MAX; e++) POW2[e - POW2_MIN] = POW2[e - 1 - POW2_MIN] * 2;
for (let e = -1; e >= POW2_MIN; e--) POW2[e - POW2_MIN] = POW2[e + 1 - POW2_MIN] / 2;

/** 2^e, exact, for POW2_MIN <= e <= POW2_MAX. */
export function pow2(e: number): number {
  return POW2[e - POW2_MIN];
}

/**
 * 1 when the floor q of an inexact quotient must step up to q + 1, else 0.
 * cmp is the sign of (remainder - half an output unit); q < 0 exactly when the
 * quotient is negative, and q's parity is the parity ties-to-even looks at.
 */
export function roundIncrement(q: number, cmp: number, inexact: boolean, rc: number): number {
  switch (rc) {
    case R_TRN:
      return 0;
    case R_TRN_ZERO:
      return inexact && q < 0 ? 1 : 0;
    case R_RND:
      return cmp >= 0 ? 1 : 0;
    case R_RND_ZERO:
      return cmp > 0 || (cmp === 0 && q < 0) ? 1 : 0;
    case R_RND_MIN_INF:
      return cmp > 0 ? 1 : 0;
    case R_RND_INF:
      return cmp > 0 || (cmp === 0 && q >= 0) ? 1 : 0;
    default: // R_RND_CONV
      return cmp > 0 || (cmp === 0 && q % 2 !== 0) ? 1 : 0;
  }
}

/** round(v / 2^k) for an integer |v| < 2^53 and k >= 1, without overflow handling. */
export function roundShift(v: number, k: number, rc: number): number {
  if (k > 53) {
    // |v| < 2^53 <= 2^(k-1): the quotient lies strictly inside (-1/2, 1/2), so it is
    // never a tie, and only TRN keeps the floor -1 of a negative one.
    return v < 0 && rc === R_TRN ? -1 : 0;
  }
  const p = POW2[k - POW2_MIN];
  const q = Math.floor(v * POW2[-k - POW2_MIN]);
  // exact: r is an integer in [0, p) and p <= 2^53
  const r = v - q * p;
  const half = p * 0.5;
  return q + roundIncrement(q, r > half ? 1 : r === half ? 0 : -1, r !== 0, rc);
}

/** Overflow handling of an integer q (any magnitude, or +-Infinity for SAT modes). */
export function fit(q: number, f: FixedFormat): number {
  switch (f.overflowCode) {
    case O_WRAP: {
      // The 32-bit operators reduce their operand modulo 2^32 exactly for every
      // finite double (ECMAScript ToInt32), so this is the two's-complement wrap.
      const sh = f.wrapShift;
      return f.signed ? (q << sh) >> sh : (q << sh) >>> sh;
    }
    case O_SAT_ZERO:
      return q > f.maxRaw || q < f.minRaw ? 0 : q + 0; // + 0 turns -0 into 0
    default: // SAT, SAT_SYM (minRaw already symmetric)
      return q > f.maxRaw ? f.maxRaw : q < f.minRaw ? f.minRaw : q + 0;
  }
}

/** overflow(round(v / 2^k)) for an integer |v| < 2^53 and any integer k. */
export function shiftFit(v: number, k: number, f: FixedFormat): number {
  if (k > 0) return fit(roundShift(v, k, f.roundingCode), f);
  // a left shift of a double is exact (no rounding, no overflow in the bounded range)
  return fit(k === 0 ? v : v * POW2[-k - POW2_MIN], f);
}

/**
 * overflow(round((x * 2^s + y) / 2^k)) for integers |x|, |y| < 2^50, s >= 0, any k.
 *
 * The exact sum may be far beyond 2^53 (an addition whose operands' binary points are
 * far apart, or a 32x32-bit product split in two halves). It is brought into range in
 * two exact steps:
 *  1. bottom: when k > 2, shift right by j = k - 2 keeping a sticky bit (the lowest
 *     kept bit is ORed with "anything nonzero was shifted out"). With two result
 *     bits still to shift, the round bit, the sticky information, the floor, its
 *     parity and the sign are all unchanged, so every rounding mode gives the same.
 *  2. top: if x * 2^s still exceeds 2^52, y is negligible next to it, the sign is
 *     sign(x) and the magnitude after the remaining shift (k <= 2) is at least 2^49,
 *     far outside any 32-bit range. Saturating modes then only need the sign;
 *     WRAP only needs the value modulo 2^(W+k) and the sign, which is rebuilt as a
 *     small representative with the same residue and sign.
 */
export function scaledSumFit(x: number, s: number, y: number, k: number, f: FixedFormat): number {
  if (k > 2) {
    const j = k - 2;
    if (j > s) {
      // x lies entirely in the kept part: fold y's upper part into it first
      const ps = POW2[s - POW2_MIN];
      const ys = Math.floor(y / ps);
      const z = x + ys;
      const pz = POW2[j - s - POW2_MIN];
      let v = Math.floor(z / pz);
      if ((ys * ps !== y || v * pz !== z) && v % 2 === 0) v += 1;
      return shiftFit(v, 2, f);
    }
    const pj = POW2[j - POW2_MIN];
    let yq = Math.floor(y / pj);
    const sticky = yq * pj !== y;
    s -= j;
    k = 2;
    if (s === 0) {
      // the sticky bit belongs on the sum, whose low bit depends on x too
      let v = x + yq;
      if (sticky && v % 2 === 0) v += 1;
      return shiftFit(v, 2, f);
    }
    // x * 2^s is even, so the sum's low bit is yq's
    if (sticky && yq % 2 === 0) yq += 1;
    y = yq;
  }
  const hi = x * POW2[s - POW2_MIN];
  if (hi <= TWO52 && hi >= -TWO52) return shiftFit(hi + y, k, f);

  if (f.overflowCode !== O_WRAP) return fit(x > 0 ? Infinity : -Infinity, f);
  const m = f.width + (k > 0 ? k : 0);
  const M = POW2[m - POW2_MIN];
  let xm = 0;
  if (s < m) {
    const pm = POW2[m - s - POW2_MIN];
    xm = x % pm; // exact; sign of x
    if (xm < 0) xm += pm;
    xm *= POW2[s - POW2_MIN];
  }
  let ym = y % M;
  if (ym < 0) ym += M;
  let rep = xm + ym;
  if (rep >= M) rep -= M;
  if (x < 0) rep -= M;
  return shiftFit(rep, k, f);
}
