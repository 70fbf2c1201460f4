/**
 * The native per-neuron dynamics (src/engine/native/dynamics.c, src/engine/dynamics.ts):
 * accuracy of the vector tanh / sigmoid / softplus against Math.*, agreement of every
 * function with the TypeScript formulas of network.ts on awkward shapes, argument checks,
 * and a Network trained with and without them.
 *
 * Uses the addon at nativeAddonPath() (GLEKIT_NATIVE_ADDON to test another build); skips
 * when it is not built, unless GLEKIT_REQUIRE_NATIVE=1.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

import { ACTIVATIONS, applyActivation, type ActivationName } from '../src/engine/activations.js';
import { activationCode, nativeDynamics, type NativeDynamics } from '../src/engine/dynamics.js';
import type { FloatArray } from '../src/engine/kernels.js';
import { loadNativeKernels, nativeAddonPath } from '../src/engine/native.js';
import { Network } from '../src/engine/network.js';
import { DEFAULT_LEARNING, type Dtype, type LayerParameters, type LearningSetup, type NetworkSpec } from '../src/engine/types.js';
import { Rng } from '../src/util/rng.js';

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;

function loadDynamics(): { dyn: NativeDynamics | null; reason: string } {
  const file = nativeAddonPath();
  if (!existsSync(file)) return { dyn: null, reason: `${file} does not exist (run npm run build)` };
  let addon: unknown;
  try {
    addon = createRequire(import.meta.url)(file);
  } catch (err) {
    return { dyn: null, reason: `${file} does not load: ${String(err)}` };
  }
  const dyn = nativeDynamics(addon);
  return { dyn, reason: dyn === null ? `${file} has no dynamics of this ABI (stale build?)` : '' };
}

// ------------------------------------------------------------------ ulps ----

const f64 = new Float64Array(1);
const i64 = new BigInt64Array(f64.buffer);
const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);

/** Position of x on the line of representable values (monotone; +0 and -0 both 0). */
function ordinal(x: number, single: boolean): bigint {
  if (single) {
    f32[0] = x;
    const v = i32[0];
    return BigInt(v < 0 ? -(v & 0x7fffffff) : v);
  }
  f64[0] = x;
  const v = i64[0];
  return v < 0n ? -(v & 0x7fffffffffffffffn) : v;
}

/** Distance in ulps between got and want in the given precision; NaN agrees only with NaN. */
function ulps(got: number, want: number, single: boolean): number {
  if (Number.isNaN(want) || Number.isNaN(got)) return Number.isNaN(want) && Number.isNaN(got) ? 0 : Infinity;
  const d = ordinal(got, single) - ordinal(want, single);
  return Number(d < 0n ? -d : d);
}

// ------------------------------------------------------------ accuracy ----

/**
 * Reference values in double: tanh from Math.tanh; the sigmoid as e / (1 + e) with
 * e = exp(-|x|), which does not overflow (TypeScript's 1 / (1 + exp(-x)) flushes to 0 below
 * x = -709.8 where the true value is still a subnormal); softplus with TypeScript's own
 * formula (torch's threshold 20). Derivatives: 1 / cosh^2 for tanh (1 - tanh^2 loses all
 * digits as tanh -> 1; 0 beyond |x| = 20, the native convention), sigmoid(x) sigmoid(-x),
 * and the sigmoid for softplus.
 */
function sigmoidRef(x: number): number {
  const e = Math.exp(-Math.abs(x));
  return x >= 0 ? 1 / (1 + e) : e / (1 + e);
}
const REFERENCE: Partial<Record<ActivationName, [(x: number) => number, (x: number) => number]>> = {
  // beyond |x| = 20 the derivative is 0, as 1 - tanh^2 is in TypeScript once tanh rounds to 1 (|x| > 19.1)
  tanh: [Math.tanh, (x) => (Math.abs(x) > 20 ? 0 : 1 / Math.cosh(x) ** 2)],
  sigmoid: [sigmoidRef, (x) => sigmoidRef(x) * sigmoidRef(-x)],
  softplus: [(x) => (x > 20 ? x : Math.log1p(Math.exp(x))), sigmoidRef],
};

/** A dense sweep: every 1e-4 over [-30, 30], 2^e for e in [-40, 12] by 1/512 (both signs), random values, special values. */
function sweep(): number[] {
  const xs: number[] = [];
  for (let k = -300000; k <= 300000; k++) xs.push(k * 1e-4);
  for (let e = -40 * 512; e <= 12 * 512; e++) {
    const v = 2 ** (e / 512);
    xs.push(v, -v);
  }
  const rng = new Rng(7);
  for (let k = 0; k < 100000; k++) xs.push(rng.normal() * 8);
  for (let e = -1074; e <= 1023; e += 7) xs.push(2 ** e, -(2 ** e));
  xs.push(0, -0, Infinity, -Infinity, NaN, 19.06, 19.07, -19.07, 9.01, 20, 20.000001, 19.999999, -20.000001, 88.7, 89, -87.3, -103.5, -104);
  xs.push(709.7, 709.8, -709.7, -709.8, -745, -745.2, -746, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, -Number.MIN_VALUE);
  return xs;
}

/**
 * The bound, measured before it was set (AVX-512, AVX2+FMA and SSE2 builds alike, within
 * 1 ulp), as the largest ulp distance of value / derivative from the references below over
 * this sweep: float64 tanh 3 / 6, sigmoid 3 / 4, softplus 4 / 3; float32 tanh 3 / 3,
 * sigmoid 3 / 4, softplus 3 / 3. Part of that is the references' own error: against
 * 40-digit values (mpmath, on a third of the sweep) the native functions were within
 * 3 ulp everywhere except the sigmoid's derivative (5 ulp in float64, 4 in float32),
 * while 1 / cosh^2 in double was off by up to 4 ulp. Bound: the largest measured, 6, plus
 * a margin of 2 ulp for other compilers and instruction sets.
 */
const MAX_ULPS = 8;

function measureAccuracy(dyn: NativeDynamics, ctor: Ctor, phi: ActivationName): { r: number; rp: number; at: number[] } {
  const single = ctor === Float32Array;
  const x = ctor.from(sweep());
  const n = x.length;
  const r = new ctor(n),
    rp = new ctor(n);
  dyn.activation(activationCode(phi), x, r, rp, n);
  const [f, df] = REFERENCE[phi]!;
  let worstR = 0,
    worstRp = 0;
  const at = [NaN, NaN];
  for (let i = 0; i < n; i++) {
    const uR = ulps(r[i], f(x[i]), single);
    const uRp = ulps(rp[i], df(x[i]), single);
    if (uR > worstR) [worstR, at[0]] = [uR, x[i]];
    if (uRp > worstRp) [worstRp, at[1]] = [uRp, x[i]];
  }
  return { r: worstR, rp: worstRp, at };
}

function sameValue(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

function defineAccuracyTests(dyn: NativeDynamics): void {
  for (const ctor of [Float64Array, Float32Array]) {
    for (const phi of ['tanh', 'sigmoid', 'softplus'] as const) {
      it(`${phi} ${ctor.name}: within ${MAX_ULPS} ulp of Math.* over the whole range`, () => {
        const m = measureAccuracy(dyn, ctor, phi);
        console.log(`dynamics accuracy ${ctor.name} ${phi}: r ${m.r} ulp (at ${m.at[0]}), rp ${m.rp} ulp (at ${m.at[1]})`);
        expect(m.r).toBeLessThanOrEqual(MAX_ULPS);
        expect(m.rp).toBeLessThanOrEqual(MAX_ULPS);
      });
    }

    it(`special values ${ctor.name}`, () => {
      const x = ctor.of(0, -0, Infinity, -Infinity, NaN, 1e-30, -1e-30);
      const r = new ctor(x.length),
        rp = new ctor(x.length);
      const run = (phi: ActivationName): [number[], number[]] => {
        dyn.activation(activationCode(phi), x, r, rp, x.length);
        return [Array.from(r), Array.from(rp)];
      };
      const tiny = ctor === Float32Array ? Math.fround(1e-30) : 1e-30;
      const [t, dt] = run('tanh');
      expect(t.map((v) => (Object.is(v, -0) ? '-0' : v))).toEqual([0, '-0', 1, -1, NaN, tiny, -tiny]);
      expect(dt).toEqual([1, 1, 0, 0, NaN, 1, 1]);
      const [s, ds] = run('sigmoid');
      expect(s).toEqual([0.5, 0.5, 1, 0, NaN, 0.5, 0.5]);
      expect(ds).toEqual([0.25, 0.25, 0, 0, NaN, 0.25, 0.25]);
      const [sp, dsp] = run('softplus');
      const ln2 = ctor === Float32Array ? Math.fround(Math.LN2) : Math.LN2;
      expect(sp).toEqual([ln2, ln2, Infinity, 0, NaN, ln2, ln2]);
      expect(dsp).toEqual([0.5, 0.5, 1, 0, NaN, 0.5, 0.5]);
    });

    it(`piecewise activations equal applyActivation exactly, edges included (${ctor.name})`, () => {
      const x = ctor.of(0, -0, 1, -1, 0.5, 1 + 2 ** -20, -(2 ** -30), 2 ** -30, 3, -3, Infinity, -Infinity, NaN, 1e-40, 20, 21, -50);
      const n = x.length;
      for (const phi of ['linear', 'hardSigmoid', 'relu'] as const) {
        const [r, rp, rT, rpT] = [new ctor(n), new ctor(n), new ctor(n), new ctor(n)];
        dyn.activation(activationCode(phi), x, r, rp, n);
        applyActivation(phi, x, rT, rpT, n);
        for (let i = 0; i < n; i++) {
          if (!sameValue(r[i], rT[i]) || !sameValue(rp[i], rpT[i]))
            expect.fail(`${phi}(${x[i]}): native (${r[i]}, ${rp[i]}), TypeScript (${rT[i]}, ${rpT[i]})`);
        }
      }
    });
  }
}

// ------------------------------------------------- agreement with the TS ----

const SLACK = 5;
const SENTINEL = 12345;

/** n values from gen plus SLACK sentinels, as a view at an offset into a larger buffer. */
function arrayOf(ctor: Ctor, n: number, gen: () => number): FloatArray {
  const whole = new ctor(3 + n + SLACK);
  const view = whole.subarray(3);
  for (let i = 0; i < n; i++) view[i] = gen();
  view.fill(SENTINEL, n);
  return view;
}

function clone(a: FloatArray): FloatArray {
  const whole = new (a.constructor as Ctor)(a.length + 3);
  const view = whole.subarray(3);
  view.set(a);
  return view;
}

/** |got - want| <= rtol (1 + |want|) for the first n elements (NaN only with NaN), and the slack untouched. */
function expectAgree(got: FloatArray, want: FloatArray, n: number, rtol: number, label: string): void {
  for (let i = 0; i < n; i++) {
    const ok = Number.isNaN(want[i]) ? Number.isNaN(got[i]) : Math.abs(got[i] - want[i]) <= rtol * (1 + Math.abs(want[i]));
    if (!ok) expect.fail(`${label}: element ${i} is ${got[i]}, expected ${want[i]}`);
  }
  for (let i = n; i < got.length; i++) if (got[i] !== SENTINEL) expect.fail(`${label}: wrote past the end, element ${i} is ${got[i]}`);
}

const DTYPES: { ctor: Ctor; rtol: number }[] = [
  { ctor: Float64Array, rtol: 1e-12 },
  { ctor: Float32Array, rtol: 1e-5 },
];
/** every row length 1..70 (partial vectors of every size, one to several whole vectors) and batch 1..9 */
const N_OUTS = Array.from({ length: 70 }, (_, k) => k + 1);
const BATCHES = Array.from({ length: 9 }, (_, k) => k + 1);

/** The TypeScript formulas, as Network.step and Network.optimize compute them. */
const ts = {
  errorFilter(a: Record<string, FloatArray>, batch: number, nOut: number, dt: number, prospective: boolean): void {
    for (let b = 0, k = 0; b < batch; b++) {
      for (let j = 0; j < nOut; j++, k++) {
        a.e[k] = a.incoming[k] * a.rp[k];
        if (!prospective) {
          a.vNext[k] = a.e[k];
          a.pv[k] = a.e[k];
          continue;
        }
        const vDot = (a.e[k] - a.v[k]) / a.tauR[j];
        a.vNext[k] = a.v[k] + dt * vDot;
        a.pv[k] = a.v[k] + a.tauM[j] * vDot;
      }
    }
  },
  membrane(a: Record<string, FloatArray>, batch: number, nOut: number, dt: number, gamma: number, phi: ActivationName): void {
    for (let b = 0, k = 0; b < batch; b++) {
      for (let j = 0; j < nOut; j++, k++) {
        const du = (a.s[k] + gamma * a.pv[k] - a.u[k]) / a.tauM[j];
        a.uDot[k] = du;
        a.uNext[k] = a.u[k] + dt * du;
        a.pu[k] = a.u[k] + a.tauR[j] * du;
      }
    }
    applyActivation(phi, a.pu, a.r, a.rp, batch * nOut);
  },
};

function defineAgreementTests(dyn: NativeDynamics): void {
  for (const { ctor, rtol } of DTYPES) {
    const rng = new Rng(11);
    const normal = (): number => rng.normal();
    const tau = (): number => rng.uniformRange(0.2, 3);

    it(`errorFilter ${ctor.name}, nOut 1..70 x batch 1..9`, () => {
      for (const nOut of N_OUTS) {
        for (const batch of BATCHES) {
          for (const prospective of [true, false]) {
            const n = batch * nOut;
            const inputs = {
              incoming: arrayOf(ctor, n, normal),
              rp: arrayOf(ctor, n, normal),
              v: arrayOf(ctor, n, normal),
              tauM: arrayOf(ctor, nOut, tau),
              tauR: arrayOf(ctor, nOut, tau),
            };
            const nat = { ...inputs, e: arrayOf(ctor, n, normal), vNext: arrayOf(ctor, n, normal), pv: arrayOf(ctor, n, normal) };
            const ref = { ...inputs, e: clone(nat.e), vNext: clone(nat.vNext), pv: clone(nat.pv) };
            dyn.errorFilter(nat.incoming, nat.rp, nat.v, nat.tauM, nat.tauR, nat.e, nat.vNext, nat.pv, batch, nOut, 0.2, prospective);
            ts.errorFilter(ref, batch, nOut, 0.2, prospective);
            for (const key of ['e', 'vNext', 'pv'] as const) expectAgree(nat[key], ref[key], n, rtol, `${key} ${batch}x${nOut} ${prospective}`);
          }
        }
      }
    });

    for (const phi of ACTIVATIONS) {
      it(`membrane + ${phi} ${ctor.name}, every shape`, () => {
        for (const nOut of N_OUTS) {
          for (const batch of BATCHES) {
            const n = batch * nOut;
            const big = (): number => rng.normal() * 4;
            const inputs = {
              s: arrayOf(ctor, n, big),
              pv: arrayOf(ctor, n, normal),
              u: arrayOf(ctor, n, normal),
              tauM: arrayOf(ctor, nOut, tau),
              tauR: arrayOf(ctor, nOut, tau),
            };
            const outs = ['uDot', 'uNext', 'pu', 'r', 'rp'] as const;
            const nat: Record<string, FloatArray> = { ...inputs };
            const ref: Record<string, FloatArray> = { ...inputs };
            for (const key of outs) {
              nat[key] = arrayOf(ctor, n, normal);
              ref[key] = clone(nat[key]);
            }
            dyn.membrane(nat.s, nat.pv, nat.u, nat.tauM, nat.tauR, nat.uDot, nat.uNext, nat.pu, nat.r, nat.rp, batch, nOut, 0.2, 0.3, activationCode(phi));
            ts.membrane(ref, batch, nOut, 0.2, 0.3, phi);
            for (const key of outs) expectAgree(nat[key], ref[key], n, rtol, `${key} ${batch}x${nOut}`);
          }
        }
      });
    }

    it(`activation ${ctor.name}, every activation and length 0..70`, () => {
      for (const phi of ACTIVATIONS) {
        for (let n = 0; n <= 70; n++) {
          const x = arrayOf(ctor, n, () => rng.normal() * 5);
          const [r, rp] = [arrayOf(ctor, n, normal), arrayOf(ctor, n, normal)];
          const [rT, rpT] = [clone(r), clone(rp)];
          dyn.activation(activationCode(phi), x, r, rp, n);
          applyActivation(phi, x, rT, rpT, n);
          expectAgree(r, rT, n, rtol, `${phi} r n=${n}`);
          expectAgree(rp, rpT, n, rtol, `${phi} rp n=${n}`);
        }
      }
    });

    it(`localGradients ${ctor.name}, with and without a bias gradient`, () => {
      for (const nOut of N_OUTS) {
        for (const batch of BATCHES) {
          const n = batch * nOut;
          const pv = arrayOf(ctor, n, normal),
            uDot = arrayOf(ctor, n, normal);
          const gb = arrayOf(ctor, nOut, normal),
            gt = arrayOf(ctor, nOut, normal);
          const [gbT, gtT] = [clone(gb), clone(gt)];
          for (let j = 0; j < nOut; j++) {
            let sumPv = 0,
              sumTau = 0;
            for (let b = 0; b < batch; b++) {
              sumPv += pv[b * nOut + j];
              sumTau += pv[b * nOut + j] * uDot[b * nOut + j];
            }
            gbT[j] = -(sumPv / batch);
            gtT[j] = sumTau / batch;
          }
          dyn.localGradients(pv, uDot, gb, gt, batch, nOut);
          expectAgree(gb, gbT, nOut, rtol, `gradBias ${batch}x${nOut}`);
          expectAgree(gt, gtT, nOut, rtol, `gradTauM ${batch}x${nOut}`);
          const gt2 = arrayOf(ctor, nOut, normal);
          dyn.localGradients(pv, uDot, null, gt2, batch, nOut);
          expectAgree(gt2, gtT, nOut, rtol, `gradTauM without bias ${batch}x${nOut}`);
        }
      }
    });

    it(`optimizers and clampBelow ${ctor.name}, lengths 0..70`, () => {
      for (let n = 0; n <= 70; n++) {
        const param = arrayOf(ctor, n, normal),
          grad = arrayOf(ctor, n, normal);
        // plain SGD
        const p1 = clone(param);
        dyn.sgd(p1, grad, n, 0.05);
        const p1T = clone(param);
        for (let i = 0; i < n; i++) p1T[i] -= 0.05 * grad[i];
        expectAgree(p1, p1T, n, rtol, `sgd n=${n}`);
        // momentum, first and later steps
        for (const first of [true, false]) {
          const buf = arrayOf(ctor, n, normal);
          const [p2, b2, p2T, b2T] = [clone(param), clone(buf), clone(param), clone(buf)];
          dyn.sgdMomentum(p2, grad, b2, n, 0.05, 0.9, first);
          for (let i = 0; i < n; i++) {
            b2T[i] = first ? grad[i] : 0.9 * b2T[i] + grad[i];
            p2T[i] -= 0.05 * b2T[i];
          }
          expectAgree(p2, p2T, n, rtol, `momentum n=${n} first=${first}`);
          expectAgree(b2, b2T, n, rtol, `momentum buffer n=${n} first=${first}`);
        }
        // Adam at t = 3
        const m = arrayOf(ctor, n, () => rng.normal() * 0.1),
          v = arrayOf(ctor, n, () => rng.uniform() * 0.01);
        const [p3, m3, v3, p3T, m3T, v3T] = [clone(param), clone(m), clone(v), clone(param), clone(m), clone(v)];
        const [b1, b2, eps, lr, t] = [0.9, 0.999, 1e-8, 1e-3, 3];
        const stepSize = lr / (1 - Math.pow(b1, t));
        const bias2Sqrt = Math.sqrt(1 - Math.pow(b2, t));
        dyn.adam(p3, grad, m3, v3, n, b1, b2, eps, stepSize, bias2Sqrt);
        for (let i = 0; i < n; i++) {
          const g = grad[i];
          m3T[i] = b1 * m3T[i] + (1 - b1) * g;
          v3T[i] = b2 * v3T[i] + (1 - b2) * g * g;
          p3T[i] -= stepSize * (m3T[i] / (Math.sqrt(v3T[i]) / bias2Sqrt + eps));
        }
        expectAgree(m3, m3T, n, rtol, `adam m n=${n}`);
        expectAgree(v3, v3T, n, rtol, `adam v n=${n}`);
        expectAgree(p3, p3T, n, rtol, `adam param n=${n}`);
        // clamp, NaN kept
        const c = clone(param);
        if (n > 0) c[n - 1] = NaN;
        const cT = clone(c);
        dyn.clampBelow(c, n, 0.25);
        for (let i = 0; i < n; i++) if (cT[i] < 0.25) cT[i] = 0.25;
        expectAgree(c, cT, n, 0, `clampBelow n=${n}`);
      }
    });
  }
}

// ---------------------------------------------------------- validation ----

function defineValidationTests(dyn: NativeDynamics): void {
  const [batch, nOut] = [3, 5];
  const n = batch * nOut;
  const a = (): FloatArray => new Float64Array(n);
  const t = (): FloatArray => new Float64Array(nOut);
  const any = (v: unknown): FloatArray => v as FloatArray;
  const filter = (over: Partial<Record<number, unknown>>): void => {
    const args: unknown[] = [a(), a(), a(), t(), t(), a(), a(), a(), batch, nOut, 0.1, true];
    for (const [k, v] of Object.entries(over)) args[Number(k)] = v;
    (dyn.errorFilter as unknown as (...x: unknown[]) => void)(...args);
  };
  const membrane = (over: Partial<Record<number, unknown>>): void => {
    const args: unknown[] = [a(), a(), a(), t(), t(), a(), a(), a(), a(), a(), batch, nOut, 0.1, 0, 1];
    for (const [k, v] of Object.entries(over)) args[Number(k)] = v;
    (dyn.membrane as unknown as (...x: unknown[]) => void)(...args);
  };

  it('accepts exactly-long-enough arrays, zero sizes and a null gradBias', () => {
    filter({});
    membrane({});
    filter({ 8: 0, 9: 0 });
    dyn.localGradients(a(), a(), null, t(), batch, nOut);
    dyn.activation(1, new Float32Array(0), new Float32Array(0), new Float32Array(0), 0);
  });

  it('throws TypeError on wrong types, mixed dtypes, non-numbers and missing arguments', () => {
    expect(() => filter({ 0: [1, 2, 3] })).toThrow(/incoming must be a Float32Array or Float64Array/);
    expect(() => filter({ 3: new Int32Array(nOut) })).toThrow(TypeError);
    expect(() => filter({ 5: new Float32Array(n) })).toThrow(/one element type/);
    expect(() => filter({ 10: '0.1' })).toThrow(/dt must be a number/);
    expect(() => filter({ 11: 1 })).toThrow(/prospective must be a boolean/);
    expect(() => membrane({ 8: null })).toThrow(/r must be a Float32Array/);
    expect(() => membrane({ 13: undefined })).toThrow(/gamma must be a number/);
    expect(() => dyn.localGradients(a(), a(), any(new Uint8Array(nOut)), t(), batch, nOut)).toThrow(TypeError);
    expect(() => dyn.adam(t(), t(), t(), t(), nOut, 0.9, 0.999, any('x') as unknown as number, 1, 1)).toThrow(/eps must be a number/);
    expect(() => dyn.sgdMomentum(t(), t(), t(), nOut, 0.1, 0.9, any(0) as unknown as boolean)).toThrow(/first must be a boolean/);
    expect(() => (dyn.sgd as unknown as (...x: unknown[]) => void)(t(), t(), nOut)).toThrow(/expected 4 arguments/);
  });

  it('throws RangeError on short arrays, bad sizes and unknown activations', () => {
    expect(() => filter({ 3: new Float64Array(nOut - 1) })).toThrow(/tauM has 4 elements/);
    expect(() => filter({ 7: new Float64Array(n - 1) })).toThrow(RangeError);
    expect(() => filter({ 8: batch + 1 })).toThrow(RangeError);
    expect(() => filter({ 9: -1 })).toThrow(/nOut must be a non-negative integer/);
    expect(() => membrane({ 14: 6 })).toThrow(/phi must be an activation code/);
    expect(() => membrane({ 14: 1.5 })).toThrow(RangeError);
    expect(() => membrane({ 9: new Float64Array(n - 1) })).toThrow(/rp has/);
    expect(() => dyn.activation(0, a(), a(), a(), n + 1)).toThrow(RangeError);
    expect(() => dyn.clampBelow(t(), nOut + 1, 0)).toThrow(RangeError);
    expect(() => dyn.localGradients(a(), a(), t(), t(), 2 ** 40, 2 ** 40)).toThrow(RangeError);
  });

  it('refuses outputs that overlap another argument', () => {
    const shared = a();
    expect(() => filter({ 5: shared, 6: shared })).toThrow(/output e shares memory with vNext/);
    const whole = new Float64Array(2 * n);
    expect(() => membrane({ 0: whole.subarray(0, n), 7: whole.subarray(n - 1) })).toThrow(RangeError);
    membrane({ 0: whole.subarray(0, n), 7: whole.subarray(n) });
    const p = t();
    expect(() => dyn.adam(p, t(), p, t(), nOut, 0.9, 0.999, 1e-8, 1, 1)).toThrow(RangeError);
    // inputs may share memory: they are only read
    const x = a();
    filter({ 0: x, 1: x, 2: x });
  });
}

// ------------------------------------------------------------- network ----

function randomLayers(rng: Rng, sizes: number[], phis: ActivationName[], tauM: number, tauR: number): LayerParameters[] {
  return phis.map((phi, l) => {
    const [nIn, nOut] = [sizes[l], sizes[l + 1]];
    const scale = 1 / Math.sqrt(nIn);
    return {
      phi,
      inputSize: nIn,
      outputSize: nOut,
      weights: Float64Array.from({ length: nIn * nOut }, () => rng.uniformRange(-scale, scale)),
      bias: Float64Array.from({ length: nOut }, () => rng.uniformRange(-scale, scale)),
      tauM: Float64Array.from({ length: nOut }, (_, j) => tauM * (j % 3 === 0 ? 0.5 : 1)),
      tauR: Float64Array.from({ length: nOut }, (_, j) => (j % 2 === 0 ? tauR : tauM)),
    };
  });
}

interface NetworkCase {
  name: string;
  dtype: Dtype;
  phis: ActivationName[];
  sizes: number[];
  prospectiveErrors: boolean;
  loss: 'mse' | 'ce';
  gamma: number;
  learning: LearningSetup;
  steps: number;
  /** tolerance on outputs and parameters after all steps, relative to (1 + |value|) */
  tol: number;
  /** give the second layer (empty) hooks: it must then take the TypeScript path */
  hooked?: boolean;
}

const NETWORK_CASES: NetworkCase[] = [
  {
    name: 'GLE MNIST-1D-like, float32, Adam, tanh, prospective errors, CE',
    dtype: 'float32',
    phis: ['linear', 'tanh', 'tanh', 'tanh', 'linear'],
    sizes: [1, 53, 53, 53, 53, 10],
    prospectiveErrors: true,
    loss: 'ce',
    gamma: 0,
    learning: { ...DEFAULT_LEARNING, optimizer: 'adam', lr: 1e-3 },
    steps: 300,
    tol: 2e-4,
  },
  {
    name: 'float64, SGD with momentum, every activation, tau_m learning and a floor, gamma > 0, MSE',
    dtype: 'float64',
    phis: ['sigmoid', 'softplus', 'hardSigmoid', 'relu', 'tanh', 'linear'],
    sizes: [3, 17, 9, 33, 8, 16, 4],
    prospectiveErrors: true,
    loss: 'mse',
    gamma: 0.2,
    learning: { ...DEFAULT_LEARNING, optimizer: 'sgd', momentum: 0.9, lr: 0.01, learnTauM: true, tauMin: 0.3 },
    steps: 300,
    tol: 1e-9,
    hooked: true,
  },
  {
    name: 'float32 LE, plain (fused) SGD, no prospective errors',
    dtype: 'float32',
    phis: ['hardSigmoid', 'linear'],
    sizes: [4, 40, 3],
    prospectiveErrors: false,
    loss: 'ce',
    gamma: 0,
    learning: { ...DEFAULT_LEARNING, optimizer: 'sgd', lr: 0.05 },
    steps: 300,
    tol: 1e-4,
  },
];

function runNetwork(c: NetworkCase, dynamics: NativeDynamics | null): Network {
  const rng = new Rng(5);
  const spec: NetworkSpec = {
    dtype: c.dtype,
    dt: 0.2,
    gamma: c.gamma,
    beta: 1,
    loss: c.loss,
    prospectiveErrors: c.prospectiveErrors,
    layers: randomLayers(rng, c.sizes, c.phis, 1.2, 0.2),
  };
  const batch = 7;
  const net = new Network(spec, { batch, learning: c.learning, dynamics, kernels: loadNativeKernels() ?? undefined });
  if (c.hooked) net.layers[1].hooks = {};
  const nIn = c.sizes[0],
    nOut = c.sizes[c.sizes.length - 1];
  const x = net.newArray(batch * nIn),
    y = net.newArray(batch * nOut);
  for (let step = 0; step < c.steps; step++) {
    for (let i = 0; i < x.length; i++) x[i] = Math.sin(0.05 * step * (1 + (i % 5))) + 0.1 * rng.normal();
    y.fill(0);
    for (let b = 0; b < batch; b++) y[b * nOut + ((b + Math.floor(step / 50)) % nOut)] = 1;
    net.step(x, y, 'learn');
  }
  return net;
}

function defineNetworkTests(dyn: NativeDynamics): void {
  for (const c of NETWORK_CASES) {
    it(`${c.name}: ${c.steps} learning steps agree with the TypeScript dynamics`, () => {
      const plain = runNetwork(c, null);
      const native = runNetwork(c, dyn);
      const check = (got: FloatArray, want: FloatArray, what: string): void => {
        let worst = 0;
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
        if (!(worst <= c.tol)) expect.fail(`${what}: worst difference ${worst} > ${c.tol}`);
      };
      check(native.top.r, plain.top.r, 'output rates');
      native.layers.forEach((L, l) => {
        const P = plain.layers[l];
        check(L.weights, P.weights, `layer ${l} weights`);
        check(L.bias!, P.bias!, `layer ${l} bias`);
        check(L.tauM, P.tauM, `layer ${l} tauM`);
        check(L.u, P.u, `layer ${l} u`);
        check(L.v, P.v, `layer ${l} v`);
      });
      // the training moved the parameters well beyond the tolerance, so the check has teeth
      const start = runNetwork({ ...c, steps: 0 }, null);
      let moved = 0;
      for (let i = 0; i < start.layers[1].weights.length; i++) moved = Math.max(moved, Math.abs(start.layers[1].weights[i] - plain.layers[1].weights[i]));
      expect(moved).toBeGreaterThan(20 * c.tol);
    });
  }
}

// ---------------------------------------------------------------- main ----

describe('nativeDynamics', () => {
  it('returns null for anything without dynamics of this ABI', () => {
    expect(nativeDynamics(null)).toBeNull();
    expect(nativeDynamics({})).toBeNull();
    expect(nativeDynamics({ dynamics: { abi: 0 } })).toBeNull();
    expect(nativeDynamics({ dynamics: { abi: 1, errorFilter: () => {} } })).toBeNull();
  });

  it('numbers the activations as ACTIVATIONS orders them', () => {
    expect(ACTIVATIONS.map(activationCode)).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

const { dyn, reason } = loadDynamics();
if (dyn !== null) {
  describe('native dynamics: accuracy of the vector functions', () => defineAccuracyTests(dyn));
  describe('native dynamics agree with the TypeScript formulas', () => defineAgreementTests(dyn));
  describe('native dynamics validate their arguments', () => defineValidationTests(dyn));
  describe('a Network with native dynamics', () => defineNetworkTests(dyn));
} else if (process.env.GLEKIT_REQUIRE_NATIVE === '1') {
  describe('native dynamics', () => {
    it('are built (GLEKIT_REQUIRE_NATIVE=1)', () => {
      expect.fail(reason);
    });
  });
} else {
  console.warn(`test/dynamics.test.ts: skipping the native dynamics tests: ${reason}`);
  describe.skip(`native dynamics (skipped: ${reason})`, () => {
    it('agree with the TypeScript formulas', () => {});
  });
}
