/**
 * The portable numerics mode: WeightKernels whose results are defined to the bit, so
 * that a training run gives the same bits on every machine, with the native portable
 * kernels (src/engine/native/portable.c, any instruction set, any thread count) and with
 * the TypeScript ones below.
 *
 * The order (round() = rounding to the arrays' element type; every multiply and every
 * add rounded on its own, no fused multiply-add, no reassociation; a sum starts from +0
 * and adds its terms one at a time in index order):
 *
 *   drive:      s[b,o]  = S + bias[o]  (just S when bias is null),
 *               S = (((+0 + round(W[o,0]*x[b,0])) + round(W[o,1]*x[b,1])) + ...) + round(W[o,nIn-1]*x[b,nIn-1])
 *   errorDown:  eb[b,i] = sum over o = 0..nOut-1 in order, from +0, of round(pv[b,o]*W[o,i])
 *   weightGrad: gW[o,i] = round(c * S), S = sum over b = 0..batch-1 in order, from +0, of
 *               round(pv[b,o]*x[b,i]), c = round(-1/batch)
 *   fusedSgd:   drive, and errorDown when eb is not null, both with the old W; then
 *               W[o,i] = round(W[o,i] + round(c' * S)), S as for weightGrad, c' = round(scale)
 *
 * No term is skipped (the fast kernels skip pv == 0): a sum from +0 is never -0, so a
 * zero term could only matter through 0 * inf = NaN, but keeping every term leaves
 * nothing to argue about. NaN payloads are not part of the contract.
 *
 * Float64 is plain JavaScript arithmetic (each operation rounded to double). Float32 is
 * computed in doubles rounded with Math.fround after every operation: a product or sum
 * of two float32 values rounded to double and then to float32 equals the float32
 * operation (53 >= 2 * 24 + 2 bits), so Math.fround(acc + Math.fround(a * b)) is
 * exactly a float32 multiply then a float32 add.
 */
import { typescriptKernels, type FloatArray, type WeightKernels } from './kernels.js';

const fround = Math.fround;

/** One row of sums for fusedSgd; grown when needed, never shrunk (no allocation per call). */
let rowScratch = new Float64Array(64);
function row(n: number): Float64Array {
  if (rowScratch.length < n) rowScratch = new Float64Array(Math.max(n, 2 * rowScratch.length));
  return rowScratch;
}

function drive32(W: FloatArray, bias: FloatArray | null, x: FloatArray, s: FloatArray, batch: number, nOut: number, nIn: number): void {
  for (let b = 0; b < batch; b++) {
    const xOff = b * nIn;
    const sOff = b * nOut;
    for (let o = 0; o < nOut; o++) {
      const wOff = o * nIn;
      let acc = 0;
      for (let i = 0; i < nIn; i++) acc = fround(acc + fround(W[wOff + i] * x[xOff + i]));
      s[sOff + o] = bias === null ? acc : fround(acc + bias[o]);
    }
  }
}

/**
 * In float64 the TypeScript kernels' drive already is the portable order (a sum from +0
 * in index order, each operation rounded to double, then the bias), so it serves here.
 */
const drive64 = typescriptKernels.drive;

/** eb rows accumulate in place, o in order: eb itself holds each partial sum, already rounded to the dtype. */
function errorDown32(W: FloatArray, pv: FloatArray, eb: FloatArray, batch: number, nOut: number, nIn: number): void {
  eb.fill(0, 0, batch * nIn);
  for (let b = 0; b < batch; b++) {
    const eOff = b * nIn;
    const pOff = b * nOut;
    for (let o = 0; o < nOut; o++) {
      const p = pv[pOff + o];
      const wOff = o * nIn;
      for (let i = 0; i < nIn; i++) eb[eOff + i] = fround(eb[eOff + i] + fround(p * W[wOff + i]));
    }
  }
}

function errorDown64(W: FloatArray, pv: FloatArray, eb: FloatArray, batch: number, nOut: number, nIn: number): void {
  eb.fill(0, 0, batch * nIn);
  for (let b = 0; b < batch; b++) {
    const eOff = b * nIn;
    const pOff = b * nOut;
    for (let o = 0; o < nOut; o++) {
      const p = pv[pOff + o];
      const wOff = o * nIn;
      for (let i = 0; i < nIn; i++) eb[eOff + i] = eb[eOff + i] + p * W[wOff + i];
    }
  }
}

/** S[i] = sum_b pv[b,o] x[b,i] for one output o, b in order, into sum[0..nIn). */
function outerRow32(pv: FloatArray, x: FloatArray, sum: FloatArray | Float64Array, sOff: number, o: number, batch: number, nOut: number, nIn: number): void {
  sum.fill(0, sOff, sOff + nIn);
  for (let b = 0; b < batch; b++) {
    const p = pv[b * nOut + o];
    const xOff = b * nIn;
    for (let i = 0; i < nIn; i++) sum[sOff + i] = fround(sum[sOff + i] + fround(p * x[xOff + i]));
  }
}

function outerRow64(pv: FloatArray, x: FloatArray, sum: FloatArray | Float64Array, sOff: number, o: number, batch: number, nOut: number, nIn: number): void {
  sum.fill(0, sOff, sOff + nIn);
  for (let b = 0; b < batch; b++) {
    const p = pv[b * nOut + o];
    const xOff = b * nIn;
    for (let i = 0; i < nIn; i++) sum[sOff + i] = sum[sOff + i] + p * x[xOff + i];
  }
}

export const portableTypescriptKernels: WeightKernels = {
  name: 'portable-typescript',

  drive(W, bias, x, s, batch, nOut, nIn) {
    if (W instanceof Float32Array) drive32(W, bias, x, s, batch, nOut, nIn);
    else drive64(W, bias, x, s, batch, nOut, nIn);
  },

  errorDown(W, pv, eb, batch, nOut, nIn) {
    if (W instanceof Float32Array) errorDown32(W, pv, eb, batch, nOut, nIn);
    else errorDown64(W, pv, eb, batch, nOut, nIn);
  },

  weightGrad(pv, x, gW, batch, nOut, nIn) {
    const f32 = pv instanceof Float32Array;
    const c = f32 ? fround(-1 / batch) : -1 / batch;
    for (let o = 0; o < nOut; o++) {
      const wOff = o * nIn;
      // gW's row holds the running sums (rounded to the dtype by the store itself)
      if (f32) outerRow32(pv, x, gW, wOff, o, batch, nOut, nIn);
      else outerRow64(pv, x, gW, wOff, o, batch, nOut, nIn);
      for (let i = 0; i < nIn; i++) gW[wOff + i] = c * gW[wOff + i];
    }
  },

  fusedSgd(W, bias, x, pv, s, eb, batch, nOut, nIn, scale) {
    const f32 = W instanceof Float32Array;
    if (f32) drive32(W, bias, x, s, batch, nOut, nIn);
    else drive64(W, bias, x, s, batch, nOut, nIn);
    if (eb !== null) {
      if (f32) errorDown32(W, pv, eb, batch, nOut, nIn);
      else errorDown64(W, pv, eb, batch, nOut, nIn);
    }
    const sum = row(nIn);
    if (f32) {
      const c = fround(scale);
      for (let o = 0; o < nOut; o++) {
        outerRow32(pv, x, sum, 0, o, batch, nOut, nIn);
        const wOff = o * nIn;
        for (let i = 0; i < nIn; i++) W[wOff + i] = fround(W[wOff + i] + fround(c * sum[i]));
      }
    } else {
      for (let o = 0; o < nOut; o++) {
        outerRow64(pv, x, sum, 0, o, batch, nOut, nIn);
        const wOff = o * nIn;
        for (let i = 0; i < nIn; i++) W[wOff + i] = W[wOff + i] + scale * sum[i];
      }
    }
  },
};

interface PortableAddon {
  drive: WeightKernels['drive'];
  errorDown: WeightKernels['errorDown'];
  weightGrad: WeightKernels['weightGrad'];
  fusedSgd: WeightKernels['fusedSgd'];
}

function isPortableAddon(value: unknown): value is PortableAddon {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.drive === 'function' && typeof v.errorDown === 'function' && typeof v.weightGrad === 'function' && typeof v.fusedSgd === 'function';
}

/** The native portable kernels of a loaded addon (its `portable` object), or null when it has none. */
export function nativePortableKernels(addon: unknown): WeightKernels | null {
  if (typeof addon !== 'object' || addon === null) return null;
  const portable = (addon as { portable?: unknown }).portable;
  if (!isPortableAddon(portable)) return null;
  // used directly, not wrapped: one Node-API transition per call
  return {
    name: 'portable',
    drive: portable.drive,
    errorDown: portable.errorDown,
    weightGrad: portable.weightGrad,
    fusedSgd: portable.fusedSgd,
  };
}
