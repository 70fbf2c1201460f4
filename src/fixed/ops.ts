/**
 * Fixed-point operations on raw codes held in JS numbers. Every operation computes
 * the exact mathematical result, then rounds once and handles overflow once in the
 * result format; nothing is rounded twice.
 *
 * Raw operands must be valid codes of their formats (integers in the format's W-bit
 * range). That is not checked on these paths, which are meant for inner loops; use
 * isValidRaw where codes come from outside.
 */
import { type FixedFormat, ROUNDING_MODES, type Rounding } from './format.js';
import { O_WRAP, TWO52, TWO53, fit, pow2, roundIncrement, roundShift, scaledSumFit, shiftFit } from './core.js';

/** Smallest raw code results in f can take (mode-aware: -maxRaw for signed SAT_SYM). */
export function minRaw(f: FixedFormat): number {
  return f.minRaw;
}

/** Largest raw code of f. */
export function maxRaw(f: FixedFormat): number {
  return f.maxRaw;
}

/** True when raw is an integer that fits W bits of f (two's complement when signed). */
export function isValidRaw(raw: number, f: FixedFormat): boolean {
  const lo = f.signed ? -pow2(f.width - 1) : 0;
  return Number.isInteger(raw) && raw >= lo && raw <= f.maxRaw;
}

/** The real value of a raw code (exact). */
export function toReal(raw: number, f: FixedFormat): number {
  return raw * f.lsb;
}

/**
 * round(x * 2^F) before overflow handling, for a double x. The result may be huge
 * or +-Infinity (then it is an exact integer far out of range, or x was infinite
 * under a saturating mode); NaN, and infinities under WRAP, throw.
 */
export function roundReal(x: number, f: FixedFormat): number {
  // exact: scaling by a power of two only loses bits when it underflows, see below
  let v = x * f.scale;
  if (!(v > -TWO52 && v < TWO52)) return bigReal(x, v, f);
  if (v === 0) {
    if (x === 0) return 0;
    // x * 2^F underflowed to zero; any value strictly inside (-1/2, 1/2) with x's
    // sign rounds the same way as the true one
    v = x > 0 ? 0.25 : -0.25;
  }
  const q = Math.floor(v);
  if (q === v) return q;
  // exact: |q| < 2^52
  const mid = q + 0.5;
  return q + roundIncrement(q, v > mid ? 1 : v === mid ? 0 : -1, true, f.roundingCode);
}

function bigReal(x: number, v: number, f: FixedFormat): number {
  if (Number.isNaN(x)) throw new RangeError(`cannot quantise NaN to ${f.toString()}`);
  if (!Number.isFinite(x) && f.overflowCode === O_WRAP) {
    throw new RangeError(`cannot quantise ${x} to ${f.toString()}: an infinite value has no residue to wrap`);
  }
  // |v| >= 2^52 is already an integer. If the scaling overflowed to +-Infinity for
  // a finite x, the exact value is a multiple of 2^971, so WRAP gives 0, which is
  // also what the 32-bit operators in fit() make of Infinity.
  return v;
}

/** The raw code of the real x in f: one rounding, then overflow handling. */
export function quantise(x: number, f: FixedFormat): number {
  return fit(roundReal(x, f), f);
}

/** The raw code in `to` of the value raw has in `from`. */
export function requantise(raw: number, from: FixedFormat, to: FixedFormat): number {
  return shiftFit(raw, from.fracBits - to.fracBits, to);
}

/** a (in fa) + b (in fb), exactly, then rounded and overflow-handled in fr. */
export function add(a: number, fa: FixedFormat, b: number, fb: FixedFormat, fr: FixedFormat): number {
  return addAligned(a, fa.fracBits, b, fb.fracBits, fr);
}

/** a (in fa) - b (in fb), exactly, then rounded and overflow-handled in fr. */
export function sub(a: number, fa: FixedFormat, b: number, fb: FixedFormat, fr: FixedFormat): number {
  // 0 - b rather than -b: a -0 would survive into some results
  return addAligned(a, fa.fracBits, 0 - b, fb.fracBits, fr);
}

function addAligned(a: number, fracA: number, b: number, fracB: number, fr: FixedFormat): number {
  // Align the coarser operand x onto the finer one's grid: sum = x * 2^d + y.
  let x: number, y: number, d: number, k: number;
  if (fracA <= fracB) {
    x = a;
    y = b;
    d = fracB - fracA;
    k = fracB - fr.fracBits;
  } else {
    x = b;
    y = a;
    d = fracA - fracB;
    k = fracA - fr.fracBits;
  }
  const hi = x * pow2(d);
  // |y| <= 2^32, so the sum stays below 2^53 and exact
  if (hi <= TWO52 && hi >= -TWO52) return shiftFit(hi + y, k, fr);
  return scaledSumFit(x, d, y, k, fr);
}

/** a (in fa) * b (in fb), exactly, then rounded and overflow-handled in fr. */
export function mul(a: number, fa: FixedFormat, b: number, fb: FixedFormat, fr: FixedFormat): number {
  const k = fa.fracBits + fb.fracBits - fr.fracBits;
  const p = a * b;
  // a computed |p| < 2^53 means the exact product is below 2^53 too, hence p is exact
  if (p < TWO53 && p > -TWO53) return shiftFit(p, k, fr);
  // b = bh * 2^16 + bl with 0 <= bl < 2^16; both partial products stay below 2^48
  const bh = Math.floor(b / 65536);
  const bl = b - bh * 65536;
  return scaledSumFit(a * bh, 16, a * bl, k, fr);
}

const ROUNDING_CODE: ReadonlyMap<string, number> = new Map(ROUNDING_MODES.map((m, i) => [m, i]));

/**
 * round(v / 2^k) for a safe integer v and k >= 0 in the given rounding mode,
 * without any overflow handling: the arithmetic shift right of the device.
 */
export function shiftRightRound(v: number, k: number, rounding: Rounding): number {
  const rc = ROUNDING_CODE.get(rounding);
  if (rc === undefined) throw new RangeError(`unknown rounding mode ${String(rounding)}; expected one of ${ROUNDING_MODES.join(', ')}`);
  if (!Number.isSafeInteger(v)) throw new RangeError(`shiftRightRound needs a safe integer value, got ${v}`);
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`shiftRightRound needs an integer shift k >= 0, got ${k}`);
  return (k === 0 ? v : roundShift(v, k, rc)) + 0;
}

export interface QuantisedArray {
  /** raw codes; for ufixed<32,...> codes >= 2^31 are stored as their bit pattern (read with >>> 0) */
  readonly raw: Int32Array;
  /**
   * How many values rounded to something outside [minRaw, maxRaw]: clipped under the
   * SAT modes (zeroed under SAT_ZERO), wrapped under WRAP.
   */
  readonly saturated: number;
}

/** Quantises every element of src into f (out, when given, receives the codes). */
export function quantiseArray(src: ArrayLike<number>, f: FixedFormat, out?: Int32Array): QuantisedArray {
  const n = src.length;
  const raw = out ?? new Int32Array(n);
  if (raw.length < n) throw new RangeError(`quantiseArray: output has ${raw.length} elements, input has ${n}`);
  const lo = f.minRaw;
  const hi = f.maxRaw;
  let saturated = 0;
  for (let i = 0; i < n; i++) {
    const x = src[i];
    let q: number;
    try {
      q = roundReal(x, f);
    } catch (e) {
      throw new RangeError(`quantiseArray: element ${i}: ${(e as Error).message}`);
    }
    if (q < lo || q > hi) saturated++;
    raw[i] = fit(q, f);
  }
  return { raw, saturated };
}

/** The real values of raw codes (Int32Array bit patterns of ufixed<32,...> are read unsigned). */
export function toRealArray(raw: ArrayLike<number>, f: FixedFormat, out?: Float64Array): Float64Array {
  const n = raw.length;
  const dst = out ?? new Float64Array(n);
  if (dst.length < n) throw new RangeError(`toRealArray: output has ${dst.length} elements, input has ${n}`);
  const lsb = f.lsb;
  if (f.signed) {
    for (let i = 0; i < n; i++) dst[i] = (raw[i] | 0) * lsb;
  } else {
    for (let i = 0; i < n; i++) dst[i] = (raw[i] >>> 0) * lsb;
  }
  return dst;
}
