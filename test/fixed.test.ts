/**
 * The fixed-point module against an oracle written from the definitions alone:
 * values are exact rationals n/d in BigInt, rounding picks between floor and
 * floor + 1 by comparing distances, overflow reduces modulo 2^W or clamps. The
 * oracle shares no code with src/fixed.
 *
 * Small widths are checked exhaustively over every W in 1..6, I in -2..8, both
 * signednesses and all 7 x 4 modes: quantise and requantise over all of them; add
 * and mul over every raw pair of every operand-format pair with Wa + Wb <= 7 (sub:
 * <= 5), the result shape cycling through all 132 shapes with all 28 modes each.
 * Far-apart binary points (alignment beyond 53 bits) are exhaustive over raw pairs
 * at widths 1, 2, 3; widths 16, 24, 32 are checked on seeded random samples.
 */
import { describe, expect, it } from 'vitest';
import {
  FixedFormat,
  FixedFormatError,
  OVERFLOW_MODES,
  ROUNDING_MODES,
  add,
  fixedFormat,
  formatFormat,
  isValidRaw,
  maxRaw,
  minRaw,
  mul,
  parseFormat,
  quantise,
  quantiseArray,
  requantise,
  shiftRightRound,
  sub,
  toReal,
  toRealArray,
  type Overflow,
  type Rounding,
} from '../src/fixed/index.js';
import { scaledSumFit } from '../src/fixed/core.js';
import { Rng } from '../src/util/rng.js';

// ---------------------------------------------------------------------------
// Oracle
// ---------------------------------------------------------------------------

/** n / d with d > 0 */
interface Rat {
  readonly n: bigint;
  readonly d: bigint;
}

const two = (e: number): bigint => 1n << BigInt(e);

/** raw * 2^-frac */
function rawRat(raw: number, frac: number): Rat {
  return frac >= 0 ? { n: BigInt(raw), d: two(frac) } : { n: BigInt(raw) * two(-frac), d: 1n };
}

/** The exact value of a finite double, read from its bits. */
function doubleRat(x: number): Rat {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e: number;
  if (biased === 0) {
    e = -1074;
  } else {
    m |= 1n << 52n;
    e = biased - 1075;
  }
  if (hi >>> 31) m = -m;
  return e >= 0 ? { n: m << BigInt(e), d: 1n } : { n: m, d: two(-e) };
}

function addRat(a: Rat, b: Rat): Rat {
  return { n: a.n * b.d + b.n * a.d, d: a.d * b.d };
}

function mulRat(a: Rat, b: Rat): Rat {
  return { n: a.n * b.n, d: a.d * b.d };
}

/** a * 2^e */
function scaleRat(a: Rat, e: number): Rat {
  return e >= 0 ? { n: a.n * two(e), d: a.d } : { n: a.n, d: a.d * two(-e) };
}

/** Where v lies between its neighbouring integers down <= v < down + 1. */
interface Between {
  readonly down: bigint;
  readonly exact: boolean;
  readonly positive: boolean;
  /** sign of (distance to down) - (distance to down + 1): 0 on an exact tie */
  readonly nearer: number;
}

function between(v: Rat): Between {
  let down = v.n / v.d; // truncates toward zero
  if (down * v.d > v.n) down -= 1n;
  const distDown = v.n - down * v.d;
  const distUp = (down + 1n) * v.d - v.n;
  return { down, exact: distDown === 0n, positive: v.n > 0n, nearer: distDown < distUp ? -1 : distDown > distUp ? 1 : 0 };
}

/** Whether the rounding mode picks down + 1 rather than down. */
function picksUp(b: Between, mode: Rounding): boolean {
  if (b.exact) return false;
  switch (mode) {
    case 'TRN':
      return false;
    case 'TRN_ZERO':
      return !b.positive;
  }
  if (b.nearer !== 0) return b.nearer > 0;
  switch (mode) {
    case 'RND':
      return true;
    case 'RND_MIN_INF':
      return false;
    case 'RND_ZERO':
      return !b.positive;
    case 'RND_INF':
      return b.positive;
    case 'RND_CONV':
      return b.down % 2n !== 0n;
  }
  throw new Error(`oracle: unknown rounding ${mode}`);
}

/** The integer the rounding mode picks for v. */
function roundRat(v: Rat, mode: Rounding): bigint {
  const b = between(v);
  return picksUp(b, mode) ? b.down + 1n : b.down;
}

/** roundRat for every mode in ROUNDING_MODES order, as numbers (small values only). */
function roundAllSmall(v: Rat): number[] {
  const b = between(v);
  const down = Number(b.down);
  return ROUNDING_MODES.map((m) => (picksUp(b, m) ? down + 1 : down));
}

/** Overflow handling of an integer, from the definitions. */
function fitBig(q: bigint, width: number, signed: boolean, mode: Overflow): bigint {
  const size = two(width);
  const lo = signed ? -(size / 2n) : 0n;
  const hi = lo + size - 1n;
  const symLo = signed && mode === 'SAT_SYM' && width > 1 ? -hi : lo;
  if (q >= symLo && q <= hi) return q;
  switch (mode) {
    case 'WRAP':
      return lo + ((((q - lo) % size) + size) % size);
    case 'SAT':
    case 'SAT_SYM':
      return q > hi ? hi : symLo;
    case 'SAT_ZERO':
      return 0n;
  }
}

/** fitBig for integers small enough to be exact in a double (exhaustive loops). */
function fitSmall(q: number, width: number, signed: boolean, mode: Overflow): number {
  const size = 2 ** width;
  const lo = signed ? -size / 2 : 0;
  const hi = lo + size - 1;
  const symLo = signed && mode === 'SAT_SYM' && width > 1 ? 1 - size / 2 : lo;
  if (q >= symLo && q <= hi) return q;
  switch (mode) {
    case 'WRAP':
      return lo + ((((q - lo) % size) + size) % size);
    case 'SAT':
    case 'SAT_SYM':
      return q > hi ? hi : symLo;
    case 'SAT_ZERO':
      return 0;
  }
}

const SAFE = 2n ** 53n;

/** fitBig as a number, by way of fitSmall when q is small enough for doubles. */
function fitAny(q: bigint, width: number, signed: boolean, mode: Overflow): number {
  return q > -SAFE && q < SAFE ? fitSmall(Number(q), width, signed, mode) : Number(fitBig(q, width, signed, mode));
}

/** Expected raw code of the exact value v in a format. */
function expectRaw(v: Rat, f: FixedFormat): number {
  return Number(fitBig(roundRat(scaleRat(v, f.fracBits), f.rounding), f.width, f.signed, f.overflow));
}

// ---------------------------------------------------------------------------
// Formats under test
// ---------------------------------------------------------------------------

interface Shape {
  readonly width: number;
  readonly intBits: number;
  readonly signed: boolean;
}

interface Mode {
  readonly rounding: Rounding;
  readonly roundingIndex: number;
  readonly overflow: Overflow;
}

const MODES: Mode[] = [];
ROUNDING_MODES.forEach((rounding, roundingIndex) => {
  for (const overflow of OVERFLOW_MODES) MODES.push({ rounding, roundingIndex, overflow });
});

const SMALL_SHAPES: Shape[] = [];
for (let width = 1; width <= 6; width++) {
  for (let intBits = -2; intBits <= 8; intBits++) {
    for (const signed of [true, false]) SMALL_SHAPES.push({ width, intBits, signed });
  }
}

const fracOf = (s: Shape): number => s.width - s.intBits;
const codeLo = (s: Shape): number => (s.signed ? -(2 ** (s.width - 1)) : 0);
const codeHi = (s: Shape): number => (s.signed ? 2 ** (s.width - 1) - 1 : 2 ** s.width - 1);

/** A format from drawn parameters; a signed one-bit SAT_SYM draw (refused, SEMANTICS.md section 9) becomes SAT, keeping the draws in step. */
function oneBitSafe(spec: { width: number; intBits: number; signed: boolean; rounding: Rounding; overflow: Overflow }): FixedFormat {
  return new FixedFormat({ ...spec, overflow: spec.signed && spec.width === 1 && spec.overflow === 'SAT_SYM' ? 'SAT' : spec.overflow });
}

/** One FixedFormat per entry of MODES, in that order. */
function formatsOf(s: Shape): FixedFormat[] {
  // a signed one-bit SAT_SYM slot holds SAT, which fitSmall/fitBig model for it
  return MODES.map((m) => oneBitSafe({ ...s, rounding: m.rounding, overflow: m.overflow }));
}

const SMALL_FORMATS = SMALL_SHAPES.map(formatsOf);

/** Collects mismatches without paying for an expect() per check. */
class Tally {
  checks = 0;
  readonly failures: string[] = [];
  fail(message: string): void {
    if (this.failures.length < 20) this.failures.push(message);
    else if (this.failures.length === 20) this.failures.push('...');
  }
  expectClean(minChecks: number): void {
    expect(this.failures).toEqual([]);
    expect(this.checks).toBeGreaterThanOrEqual(minChecks);
  }
}

const name = (f: FixedFormat): string => `${f.signed ? '' : 'u'}fixed<${f.width},${f.intBits},${f.rounding},${f.overflow}>`;

// ---------------------------------------------------------------------------
// Formats: parse and format
// ---------------------------------------------------------------------------

describe('format strings', () => {
  it('parses defaults like ap_fixed and derives the ranges', () => {
    const f = parseFormat('fixed<16,6>');
    expect(f.signed).toBe(true);
    expect([f.width, f.intBits, f.fracBits]).toEqual([16, 6, 10]);
    expect([f.rounding, f.overflow]).toEqual(['TRN', 'WRAP']);
    expect([minRaw(f), maxRaw(f)]).toEqual([-32768, 32767]);
    expect(f.lsb).toBe(2 ** -10);

    const u = parseFormat('ufixed<8,0,TRN,WRAP>');
    expect(u.signed).toBe(false);
    expect([minRaw(u), maxRaw(u), u.fracBits]).toEqual([0, 255, 8]);
    expect(formatFormat(u)).toBe('ufixed<8,0>');

    const s = parseFormat('fixed<16,6,RND,SAT>');
    expect([s.rounding, s.overflow]).toEqual(['RND', 'SAT']);
    expect(s.toString()).toBe('fixed<16,6,RND,SAT>');

    expect(minRaw(parseFormat('fixed<8,3,TRN,SAT_SYM>'))).toBe(-127);
    expect([minRaw(parseFormat('ufixed<32,40>')), maxRaw(parseFormat('ufixed<32,40>'))]).toEqual([0, 2 ** 32 - 1]);
    expect(parseFormat('fixed<4,-3>').fracBits).toBe(7);
    expect(parseFormat('fixed<4,12>').fracBits).toBe(-8);
  });

  it('accepts hls4ml spellings and whitespace', () => {
    expect(parseFormat('ap_fixed<16,6,AP_RND_CONV,AP_SAT>').toString()).toBe('fixed<16,6,RND_CONV,SAT>');
    expect(parseFormat('ap_ufixed<8,2>').toString()).toBe('ufixed<8,2>');
    expect(parseFormat('  fixed < 12 , -2 , RND_INF , SAT_SYM >  ').toString()).toBe('fixed<12,-2,RND_INF,SAT_SYM>');
    expect(parseFormat('fixed<+5,+1>').toString()).toBe('fixed<5,1>');
    expect(fixedFormat('fixed<10,2,RND>').equals(fixedFormat({ width: 10, intBits: 2, rounding: 'RND' }))).toBe(true);
  });

  it('round-trips every shape and mode', () => {
    let n = 0;
    for (const formats of SMALL_FORMATS) {
      for (const f of formats) {
        const text = formatFormat(f);
        const back = parseFormat(text);
        expect(back.equals(f)).toBe(true);
        expect(formatFormat(back)).toBe(text);
        // the long spelling parses to the same format
        expect(parseFormat(`${f.signed ? 'fixed' : 'ufixed'}<${f.width},${f.intBits},${f.rounding},${f.overflow}>`).equals(f)).toBe(true);
        n++;
      }
    }
    expect(n).toBe(132 * 28);
    for (const text of ['fixed<32,-256,RND_ZERO>', 'ufixed<1,256,TRN,SAT_ZERO>', 'fixed<24,8,RND_MIN_INF,SAT>']) {
      expect(formatFormat(parseFormat(text))).toBe(text);
    }
  });

  it('names the bad part in errors', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /input is empty/],
      ['fixed', /parameter list is missing/],
      ['float<16,6>', /type name 'float' is not one of/],
      ['fixed<16,6', /has no closing '>'/],
      ['fixed<16,6>x', /text 'x' is not allowed after/],
      ['fixed<16>', /needs at least width and integer bits/],
      ['fixed<16,6,RND,SAT,3>', /fifth parameter '3' is not supported/],
      ['fixed<16,6,RND,SAT,3,4>', /at most 4/],
      ['fixed<16,,RND>', /parameter 2 \(integer bits\) is empty/],
      ['fixed<x,6>', /width 'x' is not an integer/],
      ['fixed<16,6.5>', /integer bits '6.5' is not an integer/],
      ['fixed<0,0>', /width must be an integer in 1\.\.32 \(got 0\)/],
      ['fixed<33,1>', /width must be an integer in 1\.\.32 \(got 33\)/],
      ['fixed<8,300>', /integer bits must be an integer in -256\.\.256 \(got 300\)/],
      ['fixed<16,6,ROUND>', /rounding mode 'ROUND' is not one of TRN, TRN_ZERO/],
      ['fixed<16,6,SAT>', /rounding mode 'SAT'.*that is an overflow mode/],
      ['fixed<16,6,RND,CLIP>', /overflow mode 'CLIP' is not one of WRAP, SAT/],
      ['fixed<16,6,SAT,RND>', /rounding mode 'SAT'/],
      ['fixed<16,6,RND,RND>', /overflow mode 'RND'.*that is a rounding mode/],
      ['fixed<16,6,rnd>', /rounding mode 'rnd'/],
    ];
    for (const [text, pattern] of cases) {
      let error: unknown;
      try {
        parseFormat(text);
      } catch (e) {
        error = e;
      }
      expect(error, text).toBeInstanceOf(FixedFormatError);
      expect((error as Error).message, text).toMatch(pattern);
      expect((error as Error).message, text).toContain(JSON.stringify(text));
    }
    expect(() => fixedFormat({ width: 8, intBits: 2, overflow: 'CLAMP' as Overflow })).toThrow(/overflow mode must be one of/);
    expect(() => fixedFormat({ width: 2.5, intBits: 2 })).toThrow(FixedFormatError);
  });
});

// ---------------------------------------------------------------------------
// Hand-checked examples
// ---------------------------------------------------------------------------

describe('worked examples', () => {
  it('matches the Vitis HLS overflow-mode examples', () => {
    // ap_fixed<4,4,AP_RND,mode> assigned +-19.0 (Vitis HLS user guide, overflow modes)
    const q = (text: string, x: number): number => toReal(quantise(x, parseFormat(text)), parseFormat(text));
    expect(q('fixed<4,4,RND,SAT>', 19)).toBe(7);
    expect(q('fixed<4,4,RND,SAT>', -19)).toBe(-8);
    expect(q('ufixed<4,4,RND,SAT>', 19)).toBe(15);
    expect(q('ufixed<4,4,RND,SAT>', -19)).toBe(0);
    expect(q('fixed<4,4,RND,SAT_ZERO>', 19)).toBe(0);
    expect(q('fixed<4,4,RND,SAT_ZERO>', -19)).toBe(0);
    expect(q('fixed<4,4,RND,SAT_SYM>', 19)).toBe(7);
    expect(q('fixed<4,4,RND,SAT_SYM>', -19)).toBe(-7);
    expect(q('fixed<4,4,RND,WRAP>', 19)).toBe(3);
    expect(q('fixed<4,4,RND,WRAP>', -19)).toBe(-3);
    expect(q('fixed<2,0>', -0.5)).toBe(-0.5);
    expect(q('ufixed<1,-1>', 0.25)).toBe(0.25);
  });

  it('rounds ties as each mode says', () => {
    const at = (mode: Rounding, x: number): number => quantise(x, new FixedFormat({ width: 8, intBits: 8, rounding: mode }));
    const ties = [2.5, 3.5, -2.5, -3.5];
    expect(ties.map((x) => at('TRN', x))).toEqual([2, 3, -3, -4]);
    expect(ties.map((x) => at('TRN_ZERO', x))).toEqual([2, 3, -2, -3]);
    expect(ties.map((x) => at('RND', x))).toEqual([3, 4, -2, -3]);
    expect(ties.map((x) => at('RND_ZERO', x))).toEqual([2, 3, -2, -3]);
    expect(ties.map((x) => at('RND_MIN_INF', x))).toEqual([2, 3, -3, -4]);
    expect(ties.map((x) => at('RND_INF', x))).toEqual([3, 4, -3, -4]);
    expect(ties.map((x) => at('RND_CONV', x))).toEqual([2, 4, -2, -4]);
    expect(at('TRN_ZERO', -2.75)).toBe(-2);
    expect(at('RND_CONV', -2.75)).toBe(-3);
    expect(shiftRightRound(-5, 1, 'RND')).toBe(-2);
    expect(shiftRightRound(-5, 1, 'RND_CONV')).toBe(-2);
    expect(shiftRightRound(-7, 1, 'RND_CONV')).toBe(-4);
    expect(shiftRightRound(-7, 2, 'TRN')).toBe(-2);
    expect(shiftRightRound(-7, 2, 'TRN_ZERO')).toBe(-1);
  });

  it('treats non-finite inputs as documented', () => {
    const sat = parseFormat('fixed<8,4,RND,SAT>');
    const wrap = parseFormat('fixed<8,4,RND>');
    expect(() => quantise(NaN, sat)).toThrow(/NaN/);
    expect(() => quantise(Infinity, wrap)).toThrow(/infinite/);
    expect(quantise(Infinity, sat)).toBe(127);
    expect(quantise(-Infinity, sat)).toBe(-128);
    expect(quantise(-Infinity, parseFormat('fixed<8,4,RND,SAT_ZERO>'))).toBe(0);
    expect(Object.is(quantise(-0, sat), 0)).toBe(true);
    expect(Object.is(quantise(-1e-300, sat), 0)).toBe(true);
    expect(quantise(1e300, wrap)).toBe(0);
    expect(() => shiftRightRound(2 ** 53, 1, 'RND')).toThrow(/safe integer/);
    expect(() => shiftRightRound(5, -1, 'RND')).toThrow(/k >= 0/);
    expect(() => shiftRightRound(5, 1, 'NEAREST' as Rounding)).toThrow(/unknown rounding/);
  });

  it('validates raw codes on request', () => {
    const f = parseFormat('fixed<4,2>');
    expect([-8, 0, 7].map((r) => isValidRaw(r, f))).toEqual([true, true, true]);
    expect([-9, 8, 0.5, NaN].map((r) => isValidRaw(r, f))).toEqual([false, false, false, false]);
    const u = parseFormat('ufixed<32,0>');
    expect([0, 2 ** 32 - 1, -1, 2 ** 32].map((r) => isValidRaw(r, u))).toEqual([true, true, false, false]);
  });
});

// ---------------------------------------------------------------------------
// Exhaustive at small widths
// ---------------------------------------------------------------------------

describe('exhaustive at widths 1..6, integer bits -2..8, all modes', () => {
  it('quantise: every quarter-LSB point around the range, ties included, plus extremes', () => {
    const tally = new Tally();
    const rng = new Rng(11);
    SMALL_SHAPES.forEach((shape, si) => {
      const F = fracOf(shape);
      const lsb = 2 ** -F;
      const xs: number[] = [];
      for (let t = (codeLo(shape) - 3) * 4; t <= (codeHi(shape) + 3) * 4; t++) xs.push((t / 4) * lsb);
      for (let i = 0; i < 24; i++) xs.push(rng.uniformRange(codeLo(shape) - 3, codeHi(shape) + 3) * lsb);
      const big = [2 ** 52 - 0.5, 2 ** 52 - 1.5, 2 ** 51 + 0.5, 2 ** 52, 2 ** 52 + 2, 2 ** 53 + 2, 2 ** 60 + 2 ** 9, 2 ** 40 + 0.5, 3 * 2 ** 30 + 0.5];
      for (const b of big) xs.push(b * lsb, -b * lsb);
      xs.push(0, -0, 5e-324, -5e-324, 2 ** -1000, -(2 ** -1000), 1e300, -1e300, Number.MAX_VALUE, -Number.MAX_VALUE);
      for (const x of xs) {
        const exact = scaleRat(doubleRat(x), F);
        const rounded = ROUNDING_MODES.map((m) => roundRat(exact, m));
        SMALL_FORMATS[si].forEach((f, mi) => {
          const m = MODES[mi];
          const want = Number(fitBig(rounded[m.roundingIndex], shape.width, shape.signed, m.overflow));
          const got = quantise(x, f);
          tally.checks++;
          if (!Object.is(got, want)) tally.fail(`quantise(${x}, ${name(f)}) = ${got}, want ${want}`);
        });
      }
    });
    tally.expectClean(500_000);
  });

  it('requantise: every raw code of every format into every format', () => {
    const tally = new Tally();
    SMALL_SHAPES.forEach((src, srcIndex) => {
      const srcF = fracOf(src);
      const from = SMALL_FORMATS[srcIndex][srcIndex % MODES.length];
      for (let raw = codeLo(src); raw <= codeHi(src); raw++) {
        const value = rawRat(raw, srcF);
        const roundedByFrac = new Map<number, number[]>();
        SMALL_SHAPES.forEach((dst, dstIndex) => {
          const F = fracOf(dst);
          let rounded = roundedByFrac.get(F);
          if (rounded === undefined) {
            const scaled = scaleRat(value, F);
            rounded = roundAllSmall(scaled);
            roundedByFrac.set(F, rounded);
          }
          const formats = SMALL_FORMATS[dstIndex];
          for (let mi = 0; mi < MODES.length; mi++) {
            const m = MODES[mi];
            const want = fitSmall(rounded[m.roundingIndex], dst.width, dst.signed, m.overflow);
            const got = requantise(raw, from, formats[mi]);
            tally.checks++;
            if (!Object.is(got, want)) tally.fail(`requantise(${raw}, ${name(from)} -> ${name(formats[mi])}) = ${got}, want ${want}`);
          }
        });
      }
    });
    tally.expectClean(10_000_000);
  });

  /**
   * Every raw pair of every operand-format pair with Wa + Wb <= maxWidthSum; the
   * result format cycles through all 132 shapes, each with all 28 modes.
   */
  function binaryExhaustive(
    op: (a: number, fa: FixedFormat, b: number, fb: FixedFormat, fr: FixedFormat) => number,
    exact: (a: Rat, b: Rat) => Rat,
    maxWidthSum: number,
  ): Tally {
    const tally = new Tally();
    let pairIndex = 0;
    SMALL_SHAPES.forEach((sa, ia) => {
      SMALL_SHAPES.forEach((sb, ib) => {
        if (sa.width + sb.width > maxWidthSum) return;
        pairIndex++;
        const fa = SMALL_FORMATS[ia][pairIndex % MODES.length];
        const fb = SMALL_FORMATS[ib][(pairIndex * 7) % MODES.length];
        const ir = pairIndex % SMALL_SHAPES.length;
        const sr = SMALL_SHAPES[ir];
        const formats = SMALL_FORMATS[ir];
        for (let a = codeLo(sa); a <= codeHi(sa); a++) {
          const va = rawRat(a, fracOf(sa));
          for (let b = codeLo(sb); b <= codeHi(sb); b++) {
            const rounded = roundAllSmall(scaleRat(exact(va, rawRat(b, fracOf(sb))), fracOf(sr)));
            for (let mi = 0; mi < MODES.length; mi++) {
              const m = MODES[mi];
              const want = fitSmall(rounded[m.roundingIndex], sr.width, sr.signed, m.overflow);
              const got = op(a, fa, b, fb, formats[mi]);
              tally.checks++;
              if (!Object.is(got, want)) tally.fail(`op(${a}: ${name(fa)}, ${b}: ${name(fb)}) -> ${name(formats[mi])} = ${got}, want ${want}`);
            }
          }
        }
      });
    });
    return tally;
  }

  it('add: all raw pairs', () => {
    binaryExhaustive(add, addRat, 7).expectClean(10_000_000);
  });

  it('sub: all raw pairs (Wa + Wb <= 5)', () => {
    binaryExhaustive(sub, (a, b) => addRat(a, { n: -b.n, d: b.d }), 5).expectClean(2_500_000);
  });

  it('mul: all raw pairs', () => {
    binaryExhaustive(mul, mulRat, 7).expectClean(10_000_000);
  });

  it('shiftRightRound: every small value and shift', () => {
    const tally = new Tally();
    for (let v = -70; v <= 70; v++) {
      for (let k = 0; k <= 8; k++) {
        for (const m of ROUNDING_MODES) {
          const want = Number(roundRat({ n: BigInt(v), d: two(k) }, m));
          const got = shiftRightRound(v, k, m);
          tally.checks++;
          if (!Object.is(got, want)) tally.fail(`shiftRightRound(${v}, ${k}, ${m}) = ${got}, want ${want}`);
        }
      }
    }
    tally.expectClean(141 * 9 * 7);
  });
});

// ---------------------------------------------------------------------------
// Binary points far apart: the alignment no longer fits 53 bits
// ---------------------------------------------------------------------------

describe('operands with far-apart binary points', () => {
  const FAR_SHAPES: Shape[] = [];
  for (const width of [1, 2, 3]) {
    for (const intBits of [-40, -2, 3, 35]) {
      for (const signed of [true, false]) FAR_SHAPES.push({ width, intBits, signed });
    }
  }
  const FAR_FORMATS = FAR_SHAPES.map(formatsOf);

  function farExhaustive(
    op: (a: number, fa: FixedFormat, b: number, fb: FixedFormat, fr: FixedFormat) => number,
    exact: (a: Rat, b: Rat) => Rat,
    resultFracs: (fracA: number, fracB: number) => number[],
  ): Tally {
    const tally = new Tally();
    let pairIndex = 0;
    FAR_SHAPES.forEach((sa, ia) => {
      FAR_SHAPES.forEach((sb, ib) => {
        pairIndex++;
        const fa = FAR_FORMATS[ia][0];
        const fb = FAR_FORMATS[ib][0];
        const candidates = resultFracs(fracOf(sa), fracOf(sb));
        const results = [0, 1, 2].map((i) => {
          const F = candidates[(pairIndex + i) % candidates.length];
          const width = [2, 5, 32][(pairIndex + i) % 3];
          return formatsOf({ width, intBits: width - F, signed: (pairIndex + i) % 2 === 0 });
        });
        for (let a = codeLo(sa); a <= codeHi(sa); a++) {
          for (let b = codeLo(sb); b <= codeHi(sb); b++) {
            const v = exact(rawRat(a, fracOf(sa)), rawRat(b, fracOf(sb)));
            for (const formats of results) {
              const scaled = scaleRat(v, formats[0].fracBits);
              const rounded = ROUNDING_MODES.map((m) => roundRat(scaled, m));
              for (let mi = 0; mi < MODES.length; mi++) {
                const f = formats[mi];
                const want = fitAny(rounded[MODES[mi].roundingIndex], f.width, f.signed, f.overflow);
                const got = op(a, fa, b, fb, f);
                tally.checks++;
                if (!Object.is(got, want)) tally.fail(`op(${a}: ${name(fa)}, ${b}: ${name(fb)}) -> ${name(f)} = ${got}, want ${want}`);
              }
            }
          }
        }
      });
    });
    return tally;
  }

  const around = (fa: number, fb: number): number[] => {
    const lo = Math.min(fa, fb);
    const hi = Math.max(fa, fb);
    return [lo - 3, lo + 1, (lo + hi) >> 1, hi - 1, hi + 4];
  };

  it('add: all raw pairs, results around both binary points', () => {
    farExhaustive(add, addRat, around).expectClean(1_000_000);
  });

  it('sub: all raw pairs, results around both binary points', () => {
    farExhaustive(sub, (a, b) => addRat(a, { n: -b.n, d: b.d }), around).expectClean(1_000_000);
  });

  it('mul: all raw pairs, results around the product binary point', () => {
    farExhaustive(mul, mulRat, (fa, fb) => [fa + fb - 60, fa + fb - 3, fa + fb, fa + fb + 2, fa + fb + 58]).expectClean(1_000_000);
  });
});

// ---------------------------------------------------------------------------
// Random samples at widths 16, 24, 32
// ---------------------------------------------------------------------------

describe('random formats at widths 16, 24 and 32', () => {
  const rng = new Rng(20240611);
  const pick = <T>(items: readonly T[]): T => items[rng.int(items.length)];

  function randomFormat(widths: readonly number[] = [16, 24, 32]): FixedFormat {
    const width = pick(widths);
    const u = rng.uniform();
    const intBits = u < 0.75 ? rng.int(51) - 10 : u < 0.9 ? rng.int(2 * width + 1) - width : rng.int(513) - 256;
    return oneBitSafe({ width, intBits, signed: rng.uniform() < 0.6, rounding: pick(ROUNDING_MODES), overflow: pick(OVERFLOW_MODES) });
  }

  function randomRaw(f: FixedFormat): number {
    const lo = f.signed ? -(2 ** (f.width - 1)) : 0;
    const hi = f.maxRaw;
    const u = rng.uniform();
    if (u < 0.15) return pick([lo, lo + 1, hi, hi - 1, 0, Math.min(1, hi), Math.max(-1, lo)]);
    if (u < 0.3) {
      // few significant bits, so exact ties and clean cancellations happen
      const r = pick([1, 3, 5, -1, -3]) * 2 ** rng.int(f.width);
      return Math.min(hi, Math.max(lo, r));
    }
    return lo + Math.floor(rng.uniform() * (hi - lo + 1));
  }

  /** fr with F fraction bits, F clamped to what the format bounds allow */
  function withFrac(fr: FixedFormat, F: number): FixedFormat {
    return fr.with({ intBits: Math.max(-256, Math.min(256, fr.width - F)) });
  }

  function check(tally: Tally, got: number, want: number, what: () => string): void {
    tally.checks++;
    if (!Object.is(got, want)) tally.fail(`${what()} = ${got}, want ${want}`);
  }

  it('quantise of random reals and exact ties', () => {
    const tally = new Tally();
    for (let i = 0; i < 60_000; i++) {
      const f = randomFormat();
      const u = rng.uniform();
      let x: number;
      if (u < 0.3)
        x = (randomRaw(f) + 0.5) * f.lsb; // tie (exact: |raw| + 1 < 2^33)
      else if (u < 0.5) x = (randomRaw(f) + rng.uniformRange(-1, 1)) * f.lsb;
      else if (u < 0.7) x = rng.uniformRange(-2, 2) * 2 ** (f.intBits + rng.int(8) - 4);
      else if (u < 0.9) x = rng.normal() * 2 ** (rng.int(200) - 100);
      else x = (2 ** (rng.int(30) + 30) + rng.int(4) * 0.25) * f.lsb * (rng.uniform() < 0.5 ? -1 : 1);
      check(tally, quantise(x, f), expectRaw(doubleRat(x), f), () => `quantise(${x}, ${name(f)})`);
    }
    tally.expectClean(60_000);
  });

  it('requantise, add, sub, mul of random codes', () => {
    const tally = new Tally();
    for (let i = 0; i < 40_000; i++) {
      const fa = randomFormat();
      const fb = randomFormat();
      const fr = randomFormat(rng.uniform() < 0.8 ? [16, 24, 32] : [1, 2, 3, 5, 8]);
      // results near the operands' binary points are the interesting ones
      const near = rng.uniform() < 0.6 ? withFrac(fr, pick([fa, fb]).fracBits + rng.int(9) - 4) : fr;
      const a = randomRaw(fa);
      const b = randomRaw(fb);
      const ra = rawRat(a, fa.fracBits);
      const rb = rawRat(b, fb.fracBits);
      check(tally, requantise(a, fa, near), expectRaw(ra, near), () => `requantise(${a}, ${name(fa)} -> ${name(near)})`);
      check(tally, add(a, fa, b, fb, near), expectRaw(addRat(ra, rb), near), () => `add(${a}: ${name(fa)}, ${b}: ${name(fb)}) -> ${name(near)}`);
      check(
        tally,
        sub(a, fa, b, fb, near),
        expectRaw(addRat(ra, { n: -rb.n, d: rb.d }), near),
        () => `sub(${a}: ${name(fa)}, ${b}: ${name(fb)}) -> ${name(near)}`,
      );
      const pr = rng.uniform() < 0.6 ? withFrac(fr, fa.fracBits + fb.fracBits + rng.int(41) - 20) : fr;
      check(tally, mul(a, fa, b, fb, pr), expectRaw(mulRat(ra, rb), pr), () => `mul(${a}: ${name(fa)}, ${b}: ${name(fb)}) -> ${name(pr)}`);
    }
    tally.expectClean(160_000);
  });

  it('mul: 32 x 32-bit extremes in every mode', () => {
    const tally = new Tally();
    const s32 = [-(2 ** 31), -(2 ** 31) + 1, -(2 ** 16) - 1, -3, -1, 0, 1, 2 ** 16 + 1, 2 ** 31 - 1, 0x5a5a5a5b];
    const u32 = [0, 1, 3, 2 ** 16 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32 - 2, 0xdeadbeef];
    for (const [sa, sb] of [
      [true, true],
      [true, false],
      [false, false],
    ]) {
      const fa = new FixedFormat({ width: 32, intBits: 1, signed: sa });
      const fb = new FixedFormat({ width: 32, intBits: 7, signed: sb });
      for (const a of sa ? s32 : u32) {
        for (const b of sb ? s32 : u32) {
          for (const F of [fa.fracBits + fb.fracBits, fa.fracBits + fb.fracBits - 1, 31, 32, 40, 10, -4, 70]) {
            for (const m of MODES) {
              for (const signed of [true, false]) {
                const fr = new FixedFormat({ width: 32, intBits: 32 - F, signed, rounding: m.rounding, overflow: m.overflow });
                const want = expectRaw(mulRat(rawRat(a, fa.fracBits), rawRat(b, fb.fracBits)), fr);
                check(tally, mul(a, fa, b, fb, fr), want, () => `mul(${a}: ${name(fa)}, ${b}: ${name(fb)}) -> ${name(fr)}`);
              }
            }
          }
        }
      }
    }
    tally.expectClean(30_000);
  });

  it('shiftRightRound of random safe integers', () => {
    const tally = new Tally();
    for (let i = 0; i < 50_000; i++) {
      const magnitude = rng.int(54);
      let v = Math.floor(rng.uniform() * 2 ** magnitude);
      if (rng.uniform() < 0.3) v = Math.min(2 ** 53 - 1, (Math.floor(v / 2 ** 6) * 2 + 1) * 2 ** 5); // ties
      if (rng.uniform() < 0.5) v = -v;
      const k = rng.uniform() < 0.9 ? rng.int(56) : rng.int(2000);
      const m = pick(ROUNDING_MODES);
      check(tally, shiftRightRound(v, k, m), Number(roundRat({ n: BigInt(v), d: two(k) }, m)), () => `shiftRightRound(${v}, ${k}, ${m})`);
    }
    // where a remainder or a half stops fitting 53 bits
    for (const magnitude of [2 ** 53 - 1, 2 ** 53 - 2, 2 ** 52 + 1, 2 ** 52, 2 ** 52 - 1, 2 ** 51 + 1, 2 ** 51]) {
      for (const v of [magnitude, -magnitude]) {
        for (let k = 49; k <= 58; k++) {
          for (const m of ROUNDING_MODES) {
            check(tally, shiftRightRound(v, k, m), Number(roundRat({ n: BigInt(v), d: two(k) }, m)), () => `shiftRightRound(${v}, ${k}, ${m})`);
          }
        }
      }
    }
    tally.expectClean(50_000 + 7 * 2 * 10 * 7);
  });

  it('the wide-sum core on its own: x * 2^s + y shifted by k', () => {
    const tally = new Tally();
    const draw = (): number => {
      const u = rng.uniform();
      if (u < 0.3) return rng.int(19) - 9;
      if (u < 0.5) return (rng.uniform() < 0.5 ? -1 : 1) * 2 ** rng.int(49);
      return Math.floor(rng.uniformRange(-1, 1) * 2 ** rng.int(50));
    };
    for (let i = 0; i < 100_000; i++) {
      const x = draw();
      const y = draw();
      const s = rng.uniform() < 0.7 ? rng.int(70) : rng.int(600);
      const k = rng.uniform() < 0.7 ? rng.int(90) - 10 : rng.int(800) - 100;
      const width = pick([1, 2, 3, 5, 16, 31, 32]);
      const f = oneBitSafe({
        width,
        intBits: width - rng.int(50),
        signed: rng.uniform() < 0.5,
        rounding: pick(ROUNDING_MODES),
        overflow: pick(OVERFLOW_MODES),
      });
      const exactNum = BigInt(x) * two(s) + BigInt(y);
      const want = Number(fitBig(roundRat(scaleRat({ n: exactNum, d: 1n }, -k), f.rounding), f.width, f.signed, f.overflow));
      check(tally, scaledSumFit(x, s, y, k, f), want, () => `scaledSumFit(${x}, ${s}, ${y}, ${k}, ${name(f)})`);
    }
    tally.expectClean(100_000);
  });
});

// ---------------------------------------------------------------------------
// Array helpers
// ---------------------------------------------------------------------------

describe('array helpers', () => {
  it('quantiseArray matches quantise and counts out-of-range values', () => {
    const rng = new Rng(5);
    const src = new Float64Array(5000);
    for (let i = 0; i < src.length; i++) src[i] = rng.normal() * 4;
    for (const text of ['fixed<8,3,RND,SAT>', 'fixed<8,3,RND_CONV>', 'ufixed<6,2,TRN,SAT_ZERO>', 'fixed<8,3,RND,SAT_SYM>', 'fixed<32,8,RND,SAT>']) {
      const f = parseFormat(text);
      const { raw, saturated } = quantiseArray(src, f);
      let expected = 0;
      const scalar = new Int32Array(src.length);
      for (let i = 0; i < src.length; i++) {
        scalar[i] = quantise(src[i], f);
        const q = roundRat(scaleRat(doubleRat(src[i]), f.fracBits), f.rounding);
        if (q > BigInt(maxRaw(f)) || q < BigInt(minRaw(f))) expected++;
      }
      expect(raw).toEqual(scalar);
      expect(saturated, text).toBe(expected);
      expect(saturated > 0, text).toBe(!text.startsWith('fixed<32'));
    }
  });

  it('stores ufixed<32> codes as bit patterns and reads them back', () => {
    const f = parseFormat('ufixed<32,2,RND,SAT>');
    const src = new Float64Array([0, 1, 3.999999999, 4, -1, 2.5]);
    const out = new Int32Array(6);
    const { raw, saturated } = quantiseArray(src, f, out);
    expect(raw).toBe(out);
    expect(saturated).toBe(2);
    expect(Array.from(raw, (r) => r >>> 0)).toEqual([0, 2 ** 30, 4294967296 - 1, 2 ** 32 - 1, 0, 2.5 * 2 ** 30]);
    expect(Array.from(toRealArray(raw, f))).toEqual([0, 1, maxRaw(f) * f.lsb, maxRaw(f) * f.lsb, 0, 2.5]);
    const s = parseFormat('fixed<32,1>');
    expect(Array.from(toRealArray(new Int32Array([-(2 ** 31), 2 ** 31 - 1]), s))).toEqual([-1, 1 - 2 ** -31]);
  });

  it('reports the element index of a bad value', () => {
    expect(() => quantiseArray([1, 2, NaN], parseFormat('fixed<8,3>'))).toThrow(/element 2: cannot quantise NaN/);
    expect(() => quantiseArray([1, 2], parseFormat('fixed<8,3>'), new Int32Array(1))).toThrow(/output has 1 elements/);
  });
});
