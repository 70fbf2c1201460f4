/**
 * Estimating a neuron's parameters from ADC samples of a probe (PROTOCOL.md §6), with the
 * discrete dynamics of docs/dynamics.md that the board steps (forward Euler):
 *
 *   u_k   = u_{k-1} + (u_inf - u_{k-1}) / tau_m             membrane after step k
 *   pu_k  = u_{k-1} + (tau_r / tau_m) (u_inf - u_{k-1})      prospective potential of step k
 *   r_k   = phi(pu_k)                                        rate of step k
 *   u_inf = gain * level + offset                            under a constant drive `level`
 *
 * so u_k = a + b q^k with q = 1 - 1/tau_m (a step response from rest), and
 * pu_k - a = (1 - rho) (u_{k-1} - a) = (1 - rho) b q^(k-1) with rho = tau_r / tau_m.
 * Samples outside the ADC's reliable codes (or where phi cannot be inverted) are left out.
 */
import type { ActivationName } from '../engine/activations.js';

/** phi^-1 on the open range where phi is invertible; NaN outside it. */
export function invertPhi(phi: ActivationName, r: number): number {
  switch (phi) {
    case 'linear':
      return r;
    case 'hardSigmoid':
      return r > 0 && r < 1 ? r : NaN;
    case 'sigmoid':
      return r > 0 && r < 1 ? Math.log(r / (1 - r)) : NaN;
    case 'tanh':
      return r > -1 && r < 1 ? Math.atanh(r) : NaN;
    case 'relu':
      return r > 0 ? r : NaN;
    case 'softplus':
      return r > 0 ? (r > 20 ? r : Math.log(Math.expm1(r))) : NaN;
  }
}

/** Mean of the values, NaN when none. */
export function mean(v: readonly number[] | Float64Array): number {
  if (v.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return s / v.length;
}

export function median(v: readonly number[]): number {
  const f = v.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (f.length === 0) return NaN;
  const m = f.length >> 1;
  return f.length % 2 === 1 ? f[m] : (f[m - 1] + f[m]) / 2;
}

/** Least squares of y ~ a + b * g (g given), over the points with finite y. */
function linearFit(y: Float64Array, g: Float64Array): { a: number; b: number; sse: number; n: number } {
  let n = 0,
    sg = 0,
    sy = 0,
    sgg = 0,
    sgy = 0;
  for (let i = 0; i < y.length; i++) {
    if (!Number.isFinite(y[i])) continue;
    n++;
    sg += g[i];
    sy += y[i];
    sgg += g[i] * g[i];
    sgy += g[i] * y[i];
  }
  if (n < 3) return { a: NaN, b: NaN, sse: Infinity, n };
  const den = n * sgg - sg * sg;
  const b = Math.abs(den) < 1e-300 ? 0 : (n * sgy - sg * sy) / den;
  const a = (sy - b * sg) / n;
  let sse = 0;
  for (let i = 0; i < y.length; i++)
    if (Number.isFinite(y[i])) {
      const e = y[i] - a - b * g[i];
      sse += e * e;
    }
  return { a, b, sse, n };
}

function powers(q: number, n: number, shift = 0): Float64Array {
  const g = new Float64Array(n);
  for (let k = 0; k < n; k++) g[k] = q ** (k + shift);
  return g;
}

export interface StepFit {
  /** tau_m in steps */
  tau: number;
  /** u_inf */
  a: number;
  /** u_k - u_inf at k = 0 divided by q^0 */
  b: number;
  /** residual std */
  rms: number;
}

/**
 * u_k = a + b q^k, q = 1 - 1/tau, over tau in [1, tauMax] (log grid, then golden section).
 * Samples NaN are left out. null when fewer than 4 samples remain.
 */
export function fitStepResponse(u: Float64Array, tauMax = 4096): StepFit | null {
  let finite = 0;
  for (let i = 0; i < u.length; i++) if (Number.isFinite(u[i])) finite++;
  if (finite < 4) return null;
  const sseAt = (lt: number): number => linearFit(u, powers(1 - 1 / Math.exp(lt), u.length)).sse;
  const lo = 0,
    hi = Math.log(tauMax);
  const grid = 64;
  let best = 0,
    bestSse = Infinity;
  for (let i = 0; i <= grid; i++) {
    const lt = lo + ((hi - lo) * i) / grid;
    const s = sseAt(lt);
    if (s < bestSse) {
      bestSse = s;
      best = lt;
    }
  }
  let a = Math.max(lo, best - (hi - lo) / grid),
    b = Math.min(hi, best + (hi - lo) / grid);
  const gr = (Math.sqrt(5) - 1) / 2;
  let c = b - gr * (b - a),
    d = a + gr * (b - a);
  let fc = sseAt(c),
    fd = sseAt(d);
  for (let it = 0; it < 40; it++) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - gr * (b - a);
      fc = sseAt(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + gr * (b - a);
      fd = sseAt(d);
    }
  }
  const lt = (a + b) / 2;
  const tau = Math.exp(lt);
  const f = linearFit(u, powers(1 - 1 / tau, u.length));
  return { tau, a: f.a, b: f.b, rms: Math.sqrt(f.sse / Math.max(1, f.n - 3)) };
}

/**
 * rho = tau_r / tau_m from the prospective potentials pu_k (NaN where unknown) of the same
 * step response as `m`: pu_k = a' + c q^k with c = (1 - rho) b / q.
 */
export function fitRho(pu: Float64Array, m: StepFit): number {
  const q = 1 - 1 / m.tau;
  if (q <= 1e-9 || Math.abs(m.b) < 1e-12) return NaN;
  const f = linearFit(pu, powers(q, pu.length));
  if (!Number.isFinite(f.b)) return NaN;
  return 1 - (f.b * q) / m.b;
}

export interface Ar1Fit {
  /** tau_m in steps (1e6 when the membrane shows no decay) */
  tau: number;
  /** u_inf */
  a: number;
  /** pairs used */
  n: number;
}

/**
 * tau_m and u_inf from one step per pair of consecutive samples: u_k - u_{k-1} =
 * (u_inf - u_{k-1}) / tau_m + noise, a regression of the increments on the previous sample.
 * The membrane's temporal noise is this regression's innovation, so the estimate stays
 * unbiased where a fit of one exponential to the noisy trajectory would weigh correlated
 * noise as signal. null with fewer than 4 pairs.
 */
export function fitAr1(u: Float64Array): Ar1Fit | null {
  let n = 0,
    sx = 0,
    sy = 0,
    sxx = 0,
    sxy = 0;
  for (let k = 1; k < u.length; k++) {
    const x = u[k - 1],
      y = u[k] - u[k - 1];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    n++;
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  if (n < 4) return null;
  const den = n * sxx - sx * sx;
  if (!(den > 1e-300)) return null;
  const c1 = (n * sxy - sx * sy) / den;
  const c0 = (sy - c1 * sx) / n;
  if (!(c1 < -1e-6)) return { tau: 1e6, a: NaN, n };
  return { tau: Math.max(1, -1 / c1), a: -c0 / c1, n };
}

/**
 * tau_r in steps from the same step response: pu_k - u_k = (tau_r - 1) (u_inf - u_{k-1}) / tau_m
 * (the membrane's noise of step k enters both and cancels), a regression through the origin.
 */
export function fitTauR(u: Float64Array, pu: Float64Array, tauM: number, a: number): number {
  let sxx = 0,
    sxy = 0,
    n = 0;
  for (let k = 1; k < u.length; k++) {
    const x = (a - u[k - 1]) / tauM,
      y = pu[k] - u[k];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    sxx += x * x;
    sxy += x * y;
    n++;
  }
  if (n < 3 || !(sxx > 1e-300)) return NaN;
  return 1 + sxy / sxx;
}

/** Mean of the samples from index `from` on (the settled tail), NaN when none is finite. */
export function tailMean(u: Float64Array, from: number): number {
  let s = 0,
    n = 0;
  for (let i = from; i < u.length; i++)
    if (Number.isFinite(u[i])) {
      s += u[i];
      n++;
    }
  return n === 0 ? NaN : s / n;
}

/** Sample std of the finite samples from `from` on. */
export function tailStd(u: Float64Array, from: number): number {
  const m = tailMean(u, from);
  let s = 0,
    n = 0;
  for (let i = from; i < u.length; i++)
    if (Number.isFinite(u[i])) {
      s += (u[i] - m) ** 2;
      n++;
    }
  return n < 2 ? NaN : Math.sqrt(s / (n - 1));
}
