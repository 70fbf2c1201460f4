import { afterEach, describe, expect, it } from 'vitest';

import { typescriptKernels, type FloatArray, type WeightKernels } from '../src/engine/kernels.js';
import { defaultKernels, loadNativeKernels, nativeKernelsFailure, type Numerics, setNumerics } from '../src/engine/native.js';
import { Rng } from '../src/util/rng.js';

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;

const DTYPES: { name: string; ctor: Ctor; rtol: number }[] = [
  { name: 'float64', ctor: Float64Array, rtol: 1e-12 },
  { name: 'float32', ctor: Float32Array, rtol: 1e-5 },
];

// [batch, nOut, nIn]. Chosen to hit every code path of the native kernels: rows
// shorter than one vector (scalar path), exactly one vector, overlapped tail vectors,
// batch remainders 1..3 after blocks of 4, nOut remainders, a single output, sizes
// large enough to span several L2 panels (x rows at nIn=784, pv rows at nOut=300,
// gradient row panels at batch=200), and the transposed-W drive for short rows
// (batch >= 16, nOut >= 4 vectors, small nIn).
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 10, 3],
  [1, 7, 13],
  [1, 1, 100],
  [1, 300, 784],
  [1, 9, 16],
  [1, 5, 17],
  [3, 5, 37],
  [3, 33, 8],
  [5, 1, 100],
  [5, 100, 40],
  [5, 6, 24],
  [32, 10, 100],
  [32, 17, 9],
  [32, 64, 64],
  [32, 3, 31],
  [70, 37, 784],
  [200, 300, 50],
  [17, 70, 33],
  [32, 100, 40],
];

/** Bytes past the end of every array, checked to be untouched. */
const SLACK = 5;
const SENTINEL = 12345;

/**
 * A typed array of n random values plus SLACK sentinels, as a view at a non-zero
 * offset into a larger buffer so the addon must honour byteOffset.
 */
function randomArray(ctor: Ctor, n: number, rng: Rng, zeroFraction = 0): FloatArray {
  const offset = 3;
  const whole = new ctor(offset + n + SLACK);
  const view = whole.subarray(offset);
  for (let i = 0; i < n; i++) view[i] = rng.uniform() < zeroFraction ? 0 : rng.normal();
  view.fill(SENTINEL, n);
  return view;
}

function copy(a: FloatArray): FloatArray {
  const whole = new (a.constructor as Ctor)(a.length + 3);
  const view = whole.subarray(3);
  view.set(a);
  return view;
}

/** Largest |got - want| over the first n elements, relative to the largest |want|, and that slack is intact. */
function expectClose(got: FloatArray, want: FloatArray, n: number, rtol: number, label: string): void {
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(want[i]));
  if (scale === 0) scale = 1;
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < n; i++) {
    const err = Math.abs(got[i] - want[i]) / scale;
    if (!(err <= worst)) {
      worst = err;
      worstAt = i;
    }
  }
  if (!(worst <= rtol)) {
    expect.fail(`${label}: element ${worstAt} is ${got[worstAt]}, expected ${want[worstAt]} (relative error ${worst} > ${rtol})`);
  }
  for (let i = n; i < got.length; i++) {
    if (got[i] !== SENTINEL) expect.fail(`${label}: wrote past the end, element ${i} is ${got[i]}`);
  }
}

function defineAgreementTests(native: WeightKernels): void {
  for (const { name: dtype, ctor, rtol } of DTYPES) {
    describe(dtype, () => {
      for (const [batch, nOut, nIn] of SHAPES) {
        const shape = `batch=${batch} nOut=${nOut} nIn=${nIn}`;
        const seed = batch * 1_000_003 + nOut * 1009 + nIn + (ctor === Float32Array ? 7 : 0);

        it(`drive ${shape}`, () => {
          const rng = new Rng(seed);
          const W = randomArray(ctor, nOut * nIn, rng);
          const bias = randomArray(ctor, nOut, rng);
          const x = randomArray(ctor, batch * nIn, rng);
          for (const b of [bias, null]) {
            const sN = randomArray(ctor, batch * nOut, rng);
            const sT = copy(sN);
            native.drive(W, b, x, sN, batch, nOut, nIn);
            typescriptKernels.drive(W, b, x, sT, batch, nOut, nIn);
            expectClose(sN, sT, batch * nOut, rtol, `s (bias ${b ? 'set' : 'null'})`);
          }
        });

        it(`errorDown ${shape}`, () => {
          const rng = new Rng(seed + 1);
          const W = randomArray(ctor, nOut * nIn, rng);
          const pv = randomArray(ctor, batch * nOut, rng, 0.2);
          // prefilled with noise: errorDown must overwrite, not accumulate
          const ebN = randomArray(ctor, batch * nIn, rng);
          const ebT = copy(ebN);
          native.errorDown(W, pv, ebN, batch, nOut, nIn);
          typescriptKernels.errorDown(W, pv, ebT, batch, nOut, nIn);
          expectClose(ebN, ebT, batch * nIn, rtol, 'eb');
        });

        it(`weightGrad ${shape}`, () => {
          const rng = new Rng(seed + 2);
          const pv = randomArray(ctor, batch * nOut, rng, 0.2);
          const x = randomArray(ctor, batch * nIn, rng);
          const gN = randomArray(ctor, nOut * nIn, rng);
          const gT = copy(gN);
          native.weightGrad(pv, x, gN, batch, nOut, nIn);
          typescriptKernels.weightGrad(pv, x, gT, batch, nOut, nIn);
          expectClose(gN, gT, nOut * nIn, rtol, 'gW');
        });

        for (const withBias of [true, false]) {
          for (const withEb of [true, false]) {
            it(`fusedSgd ${shape} bias=${withBias ? 'set' : 'null'} eb=${withEb ? 'set' : 'null'}`, () => {
              const rng = new Rng(seed + 3 + (withBias ? 10 : 0) + (withEb ? 20 : 0));
              const W0 = randomArray(ctor, nOut * nIn, rng);
              const bias = withBias ? randomArray(ctor, nOut, rng) : null;
              const x = randomArray(ctor, batch * nIn, rng);
              const pv = randomArray(ctor, batch * nOut, rng, 0.2);
              // large enough that the update is comparable to W, so errors in it show
              const scale = 0.7 / Math.sqrt(batch);
              const WN = copy(W0);
              const WT = copy(W0);
              const sN = randomArray(ctor, batch * nOut, rng);
              const sT = copy(sN);
              const ebN = withEb ? randomArray(ctor, batch * nIn, rng) : null;
              const ebT = ebN ? copy(ebN) : null;
              native.fusedSgd(WN, bias, x, pv, sN, ebN, batch, nOut, nIn, scale);
              typescriptKernels.fusedSgd(WT, bias, x, pv, sT, ebT, batch, nOut, nIn, scale);
              expectClose(sN, sT, batch * nOut, rtol, 's');
              if (ebN && ebT) expectClose(ebN, ebT, batch * nIn, rtol, 'eb');
              expectClose(WN, WT, nOut * nIn, rtol, 'W');
              // and the step really moved W, so a no-op update cannot pass
              if (pv.subarray(0, batch * nOut).some((p) => p !== 0)) {
                let moved = 0;
                for (let i = 0; i < nOut * nIn; i++) moved = Math.max(moved, Math.abs(WN[i] - W0[i]));
                expect(moved).toBeGreaterThan(0);
              }
            });
          }
        }
      }
    });
  }
}

function defineValidationTests(native: WeightKernels): void {
  const batch = 2;
  const nOut = 3;
  const nIn = 5;
  const f64 = (n: number) => new Float64Array(n);
  const ok = () => ({
    W: f64(nOut * nIn),
    bias: f64(nOut),
    x: f64(batch * nIn),
    pv: f64(batch * nOut),
    s: f64(batch * nOut),
    eb: f64(batch * nIn),
    gW: f64(nOut * nIn),
  });

  it('accepts exactly-long-enough arrays and zero-sized shapes', () => {
    const a = ok();
    native.drive(a.W, a.bias, a.x, a.s, batch, nOut, nIn);
    native.errorDown(a.W, a.pv, a.eb, batch, nOut, nIn);
    native.weightGrad(a.pv, a.x, a.gW, batch, nOut, nIn);
    native.fusedSgd(a.W, a.bias, a.x, a.pv, a.s, a.eb, batch, nOut, nIn, 0.1);
    native.fusedSgd(a.W, null, a.x, a.pv, a.s, null, 0, 0, 0, 0.1);
    native.drive(f64(0), null, f64(0), f64(0), 0, 0, 0);
  });

  it('throws RangeError when an array is too short', () => {
    const a = ok();
    const short = (n: number) => new Float64Array(n - 1);
    expect(() => native.drive(short(nOut * nIn), a.bias, a.x, a.s, batch, nOut, nIn)).toThrow(RangeError);
    expect(() => native.drive(a.W, short(nOut), a.x, a.s, batch, nOut, nIn)).toThrow(RangeError);
    expect(() => native.drive(a.W, a.bias, short(batch * nIn), a.s, batch, nOut, nIn)).toThrow(RangeError);
    expect(() => native.drive(a.W, a.bias, a.x, short(batch * nOut), batch, nOut, nIn)).toThrow(RangeError);
    expect(() => native.errorDown(a.W, a.pv, short(batch * nIn), batch, nOut, nIn)).toThrow(RangeError);
    expect(() => native.errorDown(a.W, short(batch * nOut), a.eb, batch, nOut, nIn)).toThrow(RangeError);
    expect(() => native.weightGrad(a.pv, a.x, short(nOut * nIn), batch, nOut, nIn)).toThrow(RangeError);
    expect(() => native.weightGrad(a.pv, short(batch * nIn), a.gW, batch, nOut, nIn)).toThrow(RangeError);
    expect(() => native.fusedSgd(a.W, a.bias, a.x, a.pv, a.s, short(batch * nIn), batch, nOut, nIn, 0.1)).toThrow(RangeError);
    expect(() => native.fusedSgd(short(nOut * nIn), null, a.x, a.pv, a.s, null, batch, nOut, nIn, 0.1)).toThrow(RangeError);
    expect(() => native.fusedSgd(a.W, null, a.x, short(batch * nOut), a.s, null, batch, nOut, nIn, 0.1)).toThrow(RangeError);
    // a shape larger than the arrays, with the arrays themselves fine for the real shape
    expect(() => native.drive(a.W, a.bias, a.x, a.s, batch + 1, nOut, nIn)).toThrow(RangeError);
    expect(() => native.errorDown(a.W, a.pv, a.eb, batch, nOut, nIn + 1)).toThrow(RangeError);
  });

  it('throws on bad sizes', () => {
    const a = ok();
    expect(() => native.drive(a.W, a.bias, a.x, a.s, -1, nOut, nIn)).toThrow(RangeError);
    expect(() => native.drive(a.W, a.bias, a.x, a.s, 1.5, nOut, nIn)).toThrow(RangeError);
    expect(() => native.drive(a.W, a.bias, a.x, a.s, Number.NaN, nOut, nIn)).toThrow(RangeError);
    expect(() => native.drive(a.W, a.bias, a.x, a.s, 2 ** 60, 2 ** 30, nIn)).toThrow(RangeError);
    expect(() => native.drive(a.W, a.bias, a.x, a.s, '2' as unknown as number, nOut, nIn)).toThrow(TypeError);
    expect(() => native.fusedSgd(a.W, a.bias, a.x, a.pv, a.s, a.eb, batch, nOut, nIn, 'x' as unknown as number)).toThrow(TypeError);
  });

  it('throws TypeError on wrong array types, mixed dtypes and missing arguments', () => {
    const a = ok();
    const asAny = (v: unknown) => v as FloatArray;
    expect(() => native.drive(asAny([0, 0, 0]), a.bias, a.x, a.s, batch, nOut, nIn)).toThrow(TypeError);
    expect(() => native.drive(asAny(new Int32Array(nOut * nIn)), a.bias, a.x, a.s, batch, nOut, nIn)).toThrow(TypeError);
    expect(() => native.drive(asAny(null), a.bias, a.x, a.s, batch, nOut, nIn)).toThrow(TypeError);
    expect(() => native.drive(a.W, a.bias, new Float32Array(batch * nIn), a.s, batch, nOut, nIn)).toThrow(TypeError);
    expect(() => native.fusedSgd(a.W, a.bias, a.x, a.pv, a.s, new Float32Array(batch * nIn), batch, nOut, nIn, 0.1)).toThrow(TypeError);
    expect(() => native.errorDown(asAny(new DataView(new ArrayBuffer(8 * nOut * nIn))), a.pv, a.eb, batch, nOut, nIn)).toThrow(TypeError);
    const partial = native.weightGrad as unknown as (...args: unknown[]) => void;
    expect(() => partial(a.pv, a.x, a.gW, batch, nOut)).toThrow(TypeError);
  });

  it('refuses outputs that overlap another argument', () => {
    const a = ok();
    const buf = new Float64Array(batch * nIn + batch * nOut);
    const x = buf.subarray(0, batch * nIn);
    const sOverlapping = buf.subarray(batch * nIn - 1);
    const sDisjoint = buf.subarray(batch * nIn);
    expect(() => native.drive(a.W, a.bias, x, sOverlapping, batch, nOut, nIn)).toThrow(RangeError);
    native.drive(a.W, a.bias, x, sDisjoint, batch, nOut, nIn);
    expect(() => native.fusedSgd(a.W, a.bias, a.x, a.pv, a.s, a.W, batch, nOut, nIn, 0.1)).toThrow(RangeError);
    expect(() => native.weightGrad(a.pv, a.x, a.x, batch, nOut, nIn)).toThrow(RangeError);
    // inputs may share memory: they are only read
    native.weightGrad(a.x, a.x, a.gW, batch, nOut, nOut);
  });
}

describe('defaultKernels', () => {
  const saved = process.env.GLEKIT_KERNELS;
  afterEach(() => {
    if (saved === undefined) delete process.env.GLEKIT_KERNELS;
    else process.env.GLEKIT_KERNELS = saved;
    setNumerics(null);
  });

  it('honours GLEKIT_KERNELS', () => {
    setNumerics('exact');
    process.env.GLEKIT_KERNELS = 'typescript';
    expect(defaultKernels().drive).toBe(typescriptKernels.drive);
    process.env.GLEKIT_KERNELS = 'auto';
    expect(defaultKernels().drive).toBe((loadNativeKernels() ?? typescriptKernels).drive);
    process.env.GLEKIT_KERNELS = 'native';
    if (loadNativeKernels() === null) expect(() => defaultKernels()).toThrow(/unavailable/);
    else expect(defaultKernels().drive).toBe(loadNativeKernels()!.drive);
    process.env.GLEKIT_KERNELS = 'fast';
    expect(() => defaultKernels()).toThrow(/GLEKIT_KERNELS/);
  });

  it('picks the kernels and dynamics of the numerics mode', () => {
    process.env.GLEKIT_KERNELS = 'auto';
    const native = loadNativeKernels() !== null;
    setNumerics('exact');
    expect(defaultKernels()).toMatchObject({ name: native ? 'native' : 'typescript', numerics: 'exact', dynamics: null });
    setNumerics('portable');
    expect(defaultKernels()).toMatchObject({ name: native ? 'portable' : 'portable-typescript', numerics: 'portable', dynamics: null });
    setNumerics('fast');
    expect(defaultKernels().numerics).toBe('fast');
    if (native) expect(defaultKernels().dynamics?.name).toBe('native');
    process.env.GLEKIT_KERNELS = 'typescript';
    expect(defaultKernels()).toMatchObject({ name: 'typescript', numerics: 'fast', dynamics: null });
    expect(() => setNumerics('quick' as Numerics)).toThrow(/numerics must be one of fast, exact, portable, got "quick"/);
  });
});

const native = loadNativeKernels();
if (native !== null) {
  describe(`native kernels agree with the TypeScript kernels`, () => defineAgreementTests(native));
  describe('native kernels validate their arguments', () => defineValidationTests(native));
} else {
  const reason = `native kernels unavailable: ${nativeKernelsFailure()}`;
  if (process.env.GLEKIT_REQUIRE_NATIVE === '1') {
    describe('native kernels', () => {
      it('are built (GLEKIT_REQUIRE_NATIVE=1)', () => {
        expect.fail(reason);
      });
    });
  } else {
    console.warn(`test/kernels.test.ts: skipping the native kernel tests: ${reason}`);
    describe.skip(`native kernels (skipped: ${reason})`, () => {
      it('agree with the TypeScript kernels', () => {});
    });
  }
}
