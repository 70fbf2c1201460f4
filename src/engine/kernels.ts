/**
 * The weight-touching operations of one GLE step, the only O(in x out x batch) work.
 * Everything else in a step is elementwise and stays in TypeScript.
 *
 * Layout: matrices are row-major, W is out x in (row o = neuron o); batched vectors
 * are batch x n. All arrays passed to one call share one element type.
 *
 * Two implementations satisfy this interface: the portable TypeScript one below, and
 * native SIMD kernels (src/engine/native/) loaded when they were built at install time.
 * Both must agree to rounding (summation order may differ).
 */
import type { NativeDynamics } from './dynamics.js';
import type { Numerics } from './native.js';

export type FloatArray = Float32Array | Float64Array;

export interface WeightKernels {
  readonly name: string;
  /** the numerics mode these kernels were chosen for (native.ts; absent: chosen by hand) */
  readonly numerics?: Numerics;
  /** native per-neuron dynamics that a Network built with these kernels uses (fast mode) */
  readonly dynamics?: NativeDynamics | null;
  /** s[b,o] = bias[o] + sum_i W[o,i] x[b,i]  (bias may be null: no bias term) */
  drive(W: FloatArray, bias: FloatArray | null, x: FloatArray, s: FloatArray, batch: number, nOut: number, nIn: number): void;
  /** eb[b,i] = sum_o pv[b,o] W[o,i] */
  errorDown(W: FloatArray, pv: FloatArray, eb: FloatArray, batch: number, nOut: number, nIn: number): void;
  /** gW[o,i] = -(1/batch) sum_b pv[b,o] x[b,i]  (overwrites gW) */
  weightGrad(pv: FloatArray, x: FloatArray, gW: FloatArray, batch: number, nOut: number, nIn: number): void;
  /**
   * One pass over W for plain SGD: computes drive (and errorDown when eb is not null)
   * with the pre-update weights, then W[o,i] += scale * sum_b pv[b,o] x[b,i].
   * With scale = lr / batch this equals W <- W - lr * gW.
   */
  fusedSgd(
    W: FloatArray,
    bias: FloatArray | null,
    x: FloatArray,
    pv: FloatArray,
    s: FloatArray,
    eb: FloatArray | null,
    batch: number,
    nOut: number,
    nIn: number,
    scale: number,
  ): void;
}

export const typescriptKernels: WeightKernels = {
  name: 'typescript',

  drive(W, bias, x, s, batch, nOut, nIn) {
    for (let b = 0; b < batch; b++) {
      const xOff = b * nIn;
      const sOff = b * nOut;
      for (let o = 0; o < nOut; o++) {
        const wOff = o * nIn;
        let acc = 0;
        for (let i = 0; i < nIn; i++) acc += W[wOff + i] * x[xOff + i];
        s[sOff + o] = bias === null ? acc : acc + bias[o];
      }
    }
  },

  errorDown(W, pv, eb, batch, nOut, nIn) {
    eb.fill(0, 0, batch * nIn);
    for (let b = 0; b < batch; b++) {
      const eOff = b * nIn;
      const pOff = b * nOut;
      for (let o = 0; o < nOut; o++) {
        const p = pv[pOff + o];
        if (p === 0) continue;
        const wOff = o * nIn;
        for (let i = 0; i < nIn; i++) eb[eOff + i] += p * W[wOff + i];
      }
    }
  },

  weightGrad(pv, x, gW, batch, nOut, nIn) {
    const scale = -1 / batch;
    for (let o = 0; o < nOut; o++) {
      const wOff = o * nIn;
      for (let i = 0; i < nIn; i++) gW[wOff + i] = 0;
      for (let b = 0; b < batch; b++) {
        const p = pv[b * nOut + o];
        if (p === 0) continue;
        const xOff = b * nIn;
        for (let i = 0; i < nIn; i++) gW[wOff + i] += p * x[xOff + i];
      }
      for (let i = 0; i < nIn; i++) gW[wOff + i] *= scale;
    }
  },

  fusedSgd(W, bias, x, pv, s, eb, batch, nOut, nIn, scale) {
    this.drive(W, bias, x, s, batch, nOut, nIn);
    if (eb !== null) this.errorDown(W, pv, eb, batch, nOut, nIn);
    for (let o = 0; o < nOut; o++) {
      const wOff = o * nIn;
      for (let b = 0; b < batch; b++) {
        const p = scale * pv[b * nOut + o];
        if (p === 0) continue;
        const xOff = b * nIn;
        for (let i = 0; i < nIn; i++) W[wOff + i] += p * x[xOff + i];
      }
    }
  },
};
