/**
 * The native products on several threads give the same bits as on one (issue 13: a
 * fixed cut of the work, whose tasks keep every element's summation order).
 */
import { afterAll, describe, expect, it } from 'vitest';

import type { FloatArray, WeightKernels } from '../src/engine/kernels.js';
import { kernelThreads, loadNativeKernels, nativeKernelsFailure, setKernelThreads, sharedKernelJobs } from '../src/engine/native.js';
import { Network } from '../src/engine/network.js';
import { DEFAULT_LEARNING, type NetworkSpec } from '../src/engine/types.js';
import { initLayers } from '../src/train/init.js';
import { Rng } from '../src/util/rng.js';

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;

const native = loadNativeKernels();
const before = kernelThreads();
afterAll(() => {
  setKernelThreads(before);
});

/** The bytes of all arrays, for comparing bits (NaN-safe, -0 distinct from +0). */
function bytes(arrays: FloatArray[]): string {
  return Buffer.concat(arrays.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength))).toString('base64');
}

function randomArray(ctor: Ctor, n: number, rng: Rng): FloatArray {
  const a = new ctor(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

/** All four products on one shape, from the same random inputs; the bytes of every output. */
function products(kernels: WeightKernels, ctor: Ctor, batch: number, nOut: number, nIn: number): string {
  const rng = new Rng(batch * 7919 + nOut * 31 + nIn);
  const W = randomArray(ctor, nOut * nIn, rng);
  const bias = randomArray(ctor, nOut, rng);
  const x = randomArray(ctor, batch * nIn, rng);
  const pv = randomArray(ctor, batch * nOut, rng);
  const s = new ctor(batch * nOut);
  const eb = new ctor(batch * nIn);
  const gW = new ctor(nOut * nIn);
  kernels.drive(W, bias, x, s, batch, nOut, nIn);
  kernels.errorDown(W, pv, eb, batch, nOut, nIn);
  kernels.weightGrad(pv, x, gW, batch, nOut, nIn);
  const s2 = new ctor(batch * nOut);
  const eb2 = new ctor(batch * nIn);
  kernels.fusedSgd(W, bias, x, pv, s2, eb2, batch, nOut, nIn, 0.01);
  return bytes([s, eb, gW, s2, eb2, W]);
}

/** A short SGD-then-Adam training of a 40-100-100-10 network at batch 512; the bytes of its parameters and outputs. */
function training(kernels: WeightKernels, dtype: 'float32' | 'float64'): string {
  const layers = initLayers(
    40,
    [
      { size: 100, phi: 'tanh', tauM: 1, tauR: 0.5 },
      { size: 100, phi: 'hardSigmoid', tauM: 1, tauR: 1 },
      { size: 10, phi: 'linear', tauM: 1, tauR: 1 },
    ],
    { weightStd: 0.1, biasStd: 0.05 },
    3,
  );
  const spec: NetworkSpec = { dtype, dt: 0.1, gamma: 0, beta: 0.5, loss: 'ce', prospectiveErrors: true, layers };
  // large enough that the 100 x 100 layer's products go to the pool (GLE_PARALLEL_MIN_WORK)
  const batch = 512;
  const net = new Network(spec, { batch, kernels, learning: { ...DEFAULT_LEARNING, lr: 0.05 } });
  const rng = new Rng(11);
  const x = net.newArray(batch * 40).map(() => rng.normal());
  const y = net.newArray(batch * 10).map((_, k) => (k % 10 === k % 7 ? 1 : 0));
  for (let t = 0; t < 30; t++) net.step(x, y, 'learn');
  net.learning = { ...DEFAULT_LEARNING, optimizer: 'adam', lr: 1e-3 };
  for (let t = 0; t < 30; t++) net.step(x, y, 'learn');
  return bytes([...net.layers.flatMap((l) => [l.weights, l.r]), ...net.layers.map((l) => l.bias ?? new Float64Array(0))]);
}

describe.skipIf(native === null)('native products on 1 and 2 threads', () => {
  // the large shapes are cut along batch panels and output ranges; the small ones stay one task
  const shapes: [number, number, number][] = [
    [512, 300, 784],
    [256, 100, 100],
    [100, 53, 53],
    [100, 10, 53],
    [33, 10, 100],
    [17, 300, 784],
    [70, 37, 784],
    [7, 37, 19],
    [1, 300, 784],
  ];
  for (const ctor of [Float32Array, Float64Array]) {
    it(`gives the same bits for every product (${ctor.name})`, () => {
      for (const [batch, nOut, nIn] of shapes) {
        setKernelThreads(1);
        const one = products(native!, ctor, batch, nOut, nIn);
        expect(setKernelThreads(2)).toBe(2);
        const jobsBefore = sharedKernelJobs();
        const two = products(native!, ctor, batch, nOut, nIn);
        if (batch * nOut * nIn >= 1 << 23) expect(sharedKernelJobs(), `${batch}x${nOut}x${nIn} ran on both threads`).toBeGreaterThan(jobsBefore);
        expect(two, `${ctor.name} ${batch}x${nOut}x${nIn}`).toBe(one);
      }
    });
  }

  for (const dtype of ['float32', 'float64'] as const) {
    it(`trains to the same bits (${dtype})`, () => {
      setKernelThreads(1);
      const one = training(native!, dtype);
      setKernelThreads(2);
      const jobsBefore = sharedKernelJobs();
      const two = training(native!, dtype);
      expect(sharedKernelJobs()).toBeGreaterThan(jobsBefore);
      expect(two).toBe(one);
    });
  }

  it('refuses a thread count outside 1..64', () => {
    expect(() => setKernelThreads(0)).toThrow(/threads must be an integer from 1 to 64, got 0/);
    expect(() => setKernelThreads(1.5)).toThrow(RangeError);
    expect(() => setKernelThreads(65)).toThrow(RangeError);
  });
});

it('has native kernels to test, or says why not', () => {
  if (native === null) expect(nativeKernelsFailure()).toMatch(/./);
  else expect(native.name).toBe('native');
});
