/**
 * A check of the portable numerics mode that travels: a short seeded training run, in
 * float32 and float64, whose final state must hash to the checksums committed below on
 * every machine, with the native portable kernels (any instruction set the addon was
 * built for, any thread count) and with the TypeScript portable kernels.
 *
 * The run: sizes 5-37-19-3 (odd, so every vector width ends rows in a partial vector),
 * tanh hidden layers, a linear top, MSE, prospective errors, batch 7. 300 steps of plain
 * SGD (the fused kernel), 100 steps of SGD with momentum and learned tau_m (drive,
 * errorDown and weightGrad separately), then 20 steps in mode 'gradients'. The per-neuron
 * dynamics are the engine's TypeScript (V8's Math.tanh is the same everywhere); the
 * hash covers every layer's weights, biases, tau_m and last weight gradients, and the
 * last outputs.
 *
 * If the order of the portable kernels ever changes on purpose, the checksums change
 * with it: record new ones with `glekit check-portable --json` and say why in the commit.
 */
import { createHash } from 'node:crypto';

import { Rng } from '../util/rng.js';
import type { FloatArray, WeightKernels } from './kernels.js';
import { nativePortableKernels, portableTypescriptKernels } from './kernels-portable.js';
import { nativeAddon, nativeAddonPath, nativeKernelsFailure } from './native.js';
import { Network } from './network.js';
import { DEFAULT_LEARNING, type Dtype, type LayerParameters, type LearningSetup, type NetworkSpec } from './types.js';

export interface PortableChecksums {
  float32: string;
  float64: string;
}

/**
 * sha256 of the check's final state. Recorded 2026-11-30 on a 2-core AMD EPYC (Zen 4) with
 * Node 20.20.2: the addon built for x86-64 (SSE2), x86-64-v3 (AVX2) and x86-64-v4 (AVX-512),
 * on 1 and 2 threads, and the TypeScript portable kernels all gave these. (The dynamics use
 * V8's Math.tanh, so another V8 could in principle change them; the kernel sweep of
 * `glekit check-portable` does not depend on it.)
 */
export const PORTABLE_CHECKSUMS: Readonly<PortableChecksums> = {
  float32: '7f8f0e2b43d6f63d5516f7474e117022eb444da4dd823dd769112fc6c1cd6026',
  float64: 'ff90570b80c95d451be9cc6ed326bb046480f0b45681e9318717d80a824bd423',
};

export const PORTABLE_CHECK = {
  sizes: [5, 37, 19, 3],
  batch: 7,
  seed: 20261130,
  sgdSteps: 300,
  momentumSteps: 100,
  gradientSteps: 20,
  /** steps each input pattern is held */
  hold: 10,
} as const;

function bytes(a: FloatArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * The check's network: weights N(0, 1/fan-in), biases N(0, 0.2^2), per-neuron tau_m (so
 * that tau_m's gradients differ from neuron to neuron), tanh hidden layers, a linear top.
 * (Drawn here rather than by train/init.ts: the engine does not depend on training.)
 */
function checkLayers(seed: number): LayerParameters[] {
  const rng = new Rng(seed);
  const { sizes } = PORTABLE_CHECK;
  const depth = sizes.length - 1;
  return sizes.slice(1).map((nOut, l) => {
    const nIn = sizes[l];
    const weights = Float64Array.from({ length: nOut * nIn }, () => rng.gaussian(0, 1 / Math.sqrt(nIn)));
    const bias = Float64Array.from({ length: nOut }, () => rng.gaussian(0, 0.2));
    return {
      phi: l === depth - 1 ? 'linear' : 'tanh',
      inputSize: nIn,
      outputSize: nOut,
      weights,
      bias,
      tauM: Float64Array.from({ length: nOut }, (_, j) => 0.6 + 0.05 * ((j * 7 + l) % 9)),
      tauR: new Float64Array(nOut).fill(0.4),
    };
  });
}

/** The run of one dtype; returns the sha256 hex of its final state. */
export function runPortableCheckDtype(kernels: WeightKernels, dtype: Dtype): string {
  const { sizes, batch, seed, hold } = PORTABLE_CHECK;
  const depth = sizes.length - 1;
  const layers = checkLayers(seed);
  const spec: NetworkSpec = { dtype, dt: 0.1, gamma: 1, beta: 0.2, loss: 'mse', prospectiveErrors: true, layers };
  const sgd: LearningSetup = { ...DEFAULT_LEARNING, lr: 0.05 };
  const momentum: LearningSetup = { ...sgd, lr: 0.02, momentum: 0.9, learnTauM: true, tauLrFactor: 0.1, tauMin: 0.05 };
  const net = new Network(spec, { kernels, batch, learning: sgd });

  const rng = Rng.derive(seed, 1);
  const nIn = sizes[0];
  const nOut = sizes[depth];
  // the target is a fixed smooth function of the pattern, so learning has something to find
  const teacher = Array.from({ length: nOut * nIn }, () => rng.uniform() - 0.5);
  const x = net.newArray(batch * nIn);
  const target = net.newArray(batch * nOut);
  const steps = PORTABLE_CHECK.sgdSteps + PORTABLE_CHECK.momentumSteps + PORTABLE_CHECK.gradientSteps;
  for (let t = 0; t < steps; t++) {
    if (t % hold === 0) {
      // a new pattern per batch row
      for (let k = 0; k < x.length; k++) x[k] = 2 * rng.uniform() - 1;
      for (let b = 0; b < batch; b++) {
        for (let j = 0; j < nOut; j++) {
          let v = 0;
          for (let i = 0; i < nIn; i++) v += x[b * nIn + i] * teacher[j * nIn + i];
          target[b * nOut + j] = Math.tanh(v);
        }
      }
    }
    if (t === PORTABLE_CHECK.sgdSteps) net.learning = momentum;
    net.step(x, target, t < PORTABLE_CHECK.sgdSteps + PORTABLE_CHECK.momentumSteps ? 'learn' : 'gradients');
  }

  const hash = createHash('sha256');
  for (const layer of net.layers) {
    hash.update(bytes(layer.weights));
    if (layer.bias !== null) hash.update(bytes(layer.bias));
    hash.update(bytes(layer.tauM));
    hash.update(bytes(layer.gradWeights));
  }
  hash.update(bytes(net.top.r));
  return hash.digest('hex');
}

/** The check in both dtypes. */
export function runPortableCheck(kernels: WeightKernels): PortableChecksums {
  return { float32: runPortableCheckDtype(kernels, 'float32'), float64: runPortableCheckDtype(kernels, 'float64') };
}

/**
 * [batch, nOut, nIn] of the kernel sweep: awkward fixed shapes, one large enough for the
 * native kernels to cut it across threads (above GLE_PARALLEL_MIN_WORK, 4 M multiply-adds),
 * then seeded random ones in 1..70.
 */
export function sweepShapes(): [number, number, number][] {
  const shapes: [number, number, number][] = [
    [160, 201, 131],
    [1, 1, 1],
    [1, 2, 17],
    [1, 3, 70],
    [1, 70, 1],
    [1, 37, 15],
    [2, 1, 33],
    [3, 2, 16],
    [4, 3, 31],
    [5, 16, 16],
    [7, 19, 37],
    [8, 65, 7],
    [13, 64, 64],
    [31, 5, 47],
    [70, 70, 70],
    [17, 33, 69],
    [64, 1, 1],
    // one or two batch rows (drive reads W in place): every count of whole vectors before a partial one
    [1, 63, 20],
    [1, 61, 9],
    [1, 127, 5],
    [1, 125, 3],
    [2, 63, 12],
    // big enough to be cut into pieces for several threads
    [1, 300, 200],
    [2, 129, 257],
    [3, 100, 40],
    [64, 130, 99],
    [200, 10, 100],
    [5, 300, 784],
  ];
  const rng = new Rng(20261130);
  for (let k = 0; k < 24; k++) shapes.push([1 + rng.int(70), 1 + rng.int(70), 1 + rng.int(70)]);
  return shapes;
}

/**
 * n values with a wide spread of magnitudes and signs, some exact zeros and negative
 * zeros, some tiny (subnormal products in float32), so that any difference in rounding
 * order shows in the low bits.
 */
function sweepArray(ctor: Float32ArrayConstructor | Float64ArrayConstructor, n: number, rng: Rng): FloatArray {
  const a = new ctor(n);
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    if (u < 0.05) a[i] = 0;
    else if (u < 0.08) a[i] = -0;
    else if (u < 0.1) a[i] = rng.normal() * 1e-19;
    else a[i] = rng.normal() * Math.pow(2, rng.int(21) - 10);
  }
  return a;
}

/** Index of the first element whose bits differ, or -1. */
function firstDifference(a: FloatArray, b: FloatArray): number {
  const x = bytes(a);
  const y = bytes(b);
  if (Buffer.compare(x, y) === 0) return -1;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return 0;
}

/**
 * Every kernel (drive with and without bias, errorDown, weightGrad, fusedSgd with and
 * without bias and eb) on every shape of sweepShapes() in both dtypes, with `kernels`
 * and with `reference` (the TypeScript portable kernels) on the same random data and the
 * same noise in the outputs. Returns one line per output whose bits differ (empty: all
 * identical) and the number of outputs compared.
 */
export function portableKernelSweep(kernels: WeightKernels, reference: WeightKernels = portableTypescriptKernels): { differences: string[]; compared: number } {
  const differences: string[] = [];
  let compared = 0;
  const compare = (label: string, got: FloatArray, want: FloatArray) => {
    compared++;
    const at = firstDifference(got, want);
    if (at >= 0) differences.push(`${label}: element ${at} is ${got[at]} with ${kernels.name}, ${want[at]} with ${reference.name}`);
  };
  for (const ctor of [Float32Array, Float64Array]) {
    const dtype = ctor === Float32Array ? 'float32' : 'float64';
    for (const [batch, nOut, nIn] of sweepShapes()) {
      const shape = `${dtype} batch=${batch} nOut=${nOut} nIn=${nIn}`;
      const rng = new Rng(batch * 1_000_003 + nOut * 1009 + nIn + (ctor === Float32Array ? 7 : 0));
      const W = sweepArray(ctor, nOut * nIn, rng);
      const bias = sweepArray(ctor, nOut, rng);
      const x = sweepArray(ctor, batch * nIn, rng);
      const pv = sweepArray(ctor, batch * nOut, rng);
      // outputs start as noise: every kernel must overwrite them
      const s = sweepArray(ctor, batch * nOut, rng);
      const eb = sweepArray(ctor, batch * nIn, rng);
      const gW = sweepArray(ctor, nOut * nIn, rng);
      const scale = -0.3 / batch;
      for (const b of [bias, null]) {
        const [s1, s2] = [s.slice(), s.slice()];
        kernels.drive(W, b, x, s1, batch, nOut, nIn);
        reference.drive(W, b, x, s2, batch, nOut, nIn);
        compare(`drive ${shape} bias=${b ? 'set' : 'null'}`, s1, s2);
      }
      const [e1, e2] = [eb.slice(), eb.slice()];
      kernels.errorDown(W, pv, e1, batch, nOut, nIn);
      reference.errorDown(W, pv, e2, batch, nOut, nIn);
      compare(`errorDown ${shape}`, e1, e2);
      const [g1, g2] = [gW.slice(), gW.slice()];
      kernels.weightGrad(pv, x, g1, batch, nOut, nIn);
      reference.weightGrad(pv, x, g2, batch, nOut, nIn);
      compare(`weightGrad ${shape}`, g1, g2);
      for (const b of [bias, null]) {
        for (const withEb of [true, false]) {
          const label = `fusedSgd ${shape} bias=${b ? 'set' : 'null'} eb=${withEb ? 'set' : 'null'}`;
          const [w1, w2, s1, s2] = [W.slice(), W.slice(), s.slice(), s.slice()];
          const [eb1, eb2] = withEb ? [eb.slice(), eb.slice()] : [null, null];
          kernels.fusedSgd(w1, b, x, pv, s1, eb1, batch, nOut, nIn, scale);
          reference.fusedSgd(w2, b, x, pv, s2, eb2, batch, nOut, nIn, scale);
          compare(`${label}: W`, w1, w2);
          compare(`${label}: s`, s1, s2);
          if (eb1 !== null && eb2 !== null) compare(`${label}: eb`, eb1, eb2);
        }
      }
    }
  }
  return { differences, compared };
}

/**
 * The addon at nativeAddonPath() (GLEKIT_NATIVE_ADDON or the build's) with its portable
 * kernels, or why there are none. (The same module instance as native.ts loads: Node
 * caches an addon by its path.)
 */
export function loadNativePortable(): { addon: Record<string, unknown> | null; kernels: WeightKernels | null; failure: string | null } {
  const addon = nativeAddon() as Record<string, unknown> | null;
  if (addon === null) return { addon: null, kernels: null, failure: nativeKernelsFailure() };
  const kernels = nativePortableKernels(addon);
  return { addon, kernels, failure: kernels === null ? `${nativeAddonPath()} has no portable kernels (rebuild with npm run build)` : null };
}
