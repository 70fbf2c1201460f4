/**
 * The per-neuron work of a step in native code: the error filter, the membrane fused with
 * the rate function, the local bias and tau_m gradients and the optimizer updates (what
 * Network.step and Network.optimize otherwise do in TypeScript loops). Implemented by
 * src/engine/native/dynamics.c, exported on the addon as `dynamics`.
 *
 * Contract: every function works on whole layers, in the arrays' own precision (float32
 * arithmetic for Float32Array, where the TypeScript loops compute in double and round on
 * store), and agrees with the TypeScript formulas to rounding: tanh, sigmoid and softplus
 * to a few ulp (test/dynamics.test.ts measures the bound), the rest to the rounding of the
 * arithmetic (fused multiply-adds allowed). The bits follow the CPU, as the native weight
 * kernels' do. Arguments are checked: wrong types throw TypeError, short arrays,
 * overlapping outputs and bad sizes RangeError, each naming the argument.
 *
 * Layout as in kernels.ts: batched arrays are batch x nOut, row-major; tauM and tauR hold
 * one value per neuron (nOut).
 */
import { ACTIVATIONS, type ActivationName } from './activations.js';
import type { FloatArray } from './kernels.js';

/** Must equal GLE_DYNAMICS_ABI in native/dynamics.c; a mismatch means a stale build. */
export const DYNAMICS_ABI = 1;

/** The code of an activation as the native functions take it: its index in ACTIVATIONS. */
export function activationCode(phi: ActivationName): number {
  return ACTIVATIONS.indexOf(phi);
}

export interface NativeDynamics {
  readonly name: string;
  /**
   * e = incoming * rp; with prospective errors vDot = (e - v) / tauR, vNext = v + dt vDot,
   * pv = v + tauM vDot, else vNext = pv = e.
   */
  errorFilter(
    incoming: FloatArray,
    rp: FloatArray,
    v: FloatArray,
    tauM: FloatArray,
    tauR: FloatArray,
    e: FloatArray,
    vNext: FloatArray,
    pv: FloatArray,
    batch: number,
    nOut: number,
    dt: number,
    prospective: boolean,
  ): void;
  /**
   * du = (s + gamma pv - u) / tauM, uDot = du, uNext = u + dt du, pu = u + tauR du, then
   * r = phi(pu), rp = phi'(pu); phi is activationCode(name).
   */
  membrane(
    s: FloatArray,
    pv: FloatArray,
    u: FloatArray,
    tauM: FloatArray,
    tauR: FloatArray,
    uDot: FloatArray,
    uNext: FloatArray,
    pu: FloatArray,
    r: FloatArray,
    rp: FloatArray,
    batch: number,
    nOut: number,
    dt: number,
    gamma: number,
    phi: number,
  ): void;
  /** r[i] = phi(x[i]), rp[i] = phi'(x[i]) for i < n (applyActivation's conventions) */
  activation(phi: number, x: FloatArray, r: FloatArray, rp: FloatArray, n: number): void;
  /**
   * gradBias[j] = -(sum_b pv[b, j]) / batch (skipped when null), gradTauM[j] =
   * (sum_b pv[b, j] uDot[b, j]) / batch, each sum over b in order.
   */
  localGradients(pv: FloatArray, uDot: FloatArray, gradBias: FloatArray | null, gradTauM: FloatArray, batch: number, nOut: number): void;
  /** param -= lr grad over n elements */
  sgd(param: FloatArray, grad: FloatArray, n: number, lr: number): void;
  /** buf = first ? grad : momentum buf + grad; param -= lr buf (torch's SGD with momentum) */
  sgdMomentum(param: FloatArray, grad: FloatArray, buf: FloatArray, n: number, lr: number, momentum: number, first: boolean): void;
  /**
   * m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; param -= stepSize (m / (sqrt(v) / bias2Sqrt + eps)),
   * with stepSize = lr / (1 - b1^t) and bias2Sqrt = sqrt(1 - b2^t) computed by the caller.
   */
  adam(
    param: FloatArray,
    grad: FloatArray,
    m: FloatArray,
    v: FloatArray,
    n: number,
    beta1: number,
    beta2: number,
    eps: number,
    stepSize: number,
    bias2Sqrt: number,
  ): void;
  /** a[i] = min where a[i] < min (NaN stays) */
  clampBelow(a: FloatArray, n: number, min: number): void;
}

const FUNCTIONS = ['errorFilter', 'membrane', 'activation', 'localGradients', 'sgd', 'sgdMomentum', 'adam', 'clampBelow'] as const;

/**
 * The native dynamics of a loaded addon (the object that require() of glekit_kernels.node
 * returns), or null when it has none or they are of another ABI (a stale build). The
 * functions are the addon's own, not wrapped, so that a call costs one Node-API transition.
 */
export function nativeDynamics(addon: unknown): NativeDynamics | null {
  if (typeof addon !== 'object' || addon === null) return null;
  const dyn = (addon as { dynamics?: unknown }).dynamics;
  if (typeof dyn !== 'object' || dyn === null) return null;
  const table = dyn as Record<string, unknown>;
  if (table.abi !== DYNAMICS_ABI) return null;
  if (!FUNCTIONS.every((name) => typeof table[name] === 'function')) return null;
  const fns = table as unknown as Omit<NativeDynamics, 'name'>;
  return {
    name: 'native',
    errorFilter: fns.errorFilter,
    membrane: fns.membrane,
    activation: fns.activation,
    localGradients: fns.localGradients,
    sgd: fns.sgd,
    sgdMomentum: fns.sgdMomentum,
    adam: fns.adam,
    clampBelow: fns.clampBelow,
  };
}
