/**
 * Microbenchmark of fusedSgd, the kernel a plain-SGD training step spends its time in:
 * native vs TypeScript over the layer shapes of the bundled tasks.
 *
 *   node dist/bench/kernels.js [--min-ms 400] [--dtype float32|float64] [--kernels native|typescript]
 *
 * Prints one JSON row per measurement: {op, sizes, batch, dtype, kernels, callsPerSecond, machine}.
 * `sizes` is nIn x nOut. The TypeScript kernels' JIT code specialises on the array
 * type it sees first, so for the fairest TypeScript numbers run one --dtype per process.
 */
import { typescriptKernels, type FloatArray, type WeightKernels } from '../src/engine/kernels.js';
import { machineInfo } from '../src/engine/machine.js';
import { loadNativeKernels, nativeKernelsFailure } from '../src/engine/native.js';
import { Rng } from '../src/util/rng.js';

const SHAPES: [nIn: number, nOut: number][] = [
  [784, 300],
  [300, 100],
  [100, 10],
  [40, 100],
];
const BATCHES = [1, 32, 512];
const DTYPES = { float64: Float64Array, float32: Float32Array } as const;
type Dtype = keyof typeof DTYPES;

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

const minMs = Number(option('min-ms') ?? 400);
if (!(minMs > 0)) throw new RangeError(`--min-ms must be a positive number of milliseconds, got ${option('min-ms')}`);
const dtypes = (option('dtype') ? [option('dtype')] : Object.keys(DTYPES)) as Dtype[];
for (const d of dtypes) if (!(d in DTYPES)) throw new RangeError(`--dtype must be float32 or float64, got ${d}`);

const kernelSets: WeightKernels[] = [];
const native = loadNativeKernels();
if (native !== null) kernelSets.push(native);
else console.error(`bench/kernels: native kernels unavailable (${nativeKernelsFailure()}); measuring TypeScript only`);
kernelSets.push(typescriptKernels);
const only = option('kernels');
const selected = only ? kernelSets.filter((k) => k.name === only) : kernelSets;
if (selected.length === 0) throw new RangeError(`--kernels ${only} is not available`);

function randomArray(dtype: Dtype, n: number, rng: Rng, std: number): FloatArray {
  const a = new DTYPES[dtype](n);
  for (let i = 0; i < n; i++) a[i] = std * rng.normal();
  return a;
}

/** CPU time of this process in milliseconds. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * Calls per second of fusedSgd: the best of several timing windows after a warm-up,
 * timed in process CPU time. Both choices are for shared machines: CPU time does not
 * count the time the scheduler hands to other processes, and the best window is the
 * one least disturbed by their cache traffic. On an idle machine this equals wall
 * time (the benchmark is single-threaded).
 */
function measure(kernels: WeightKernels, dtype: Dtype, nIn: number, nOut: number, batch: number): number {
  const rng = new Rng(nIn * 7919 + nOut * 31 + batch);
  const W = randomArray(dtype, nOut * nIn, rng, 1 / Math.sqrt(nIn));
  const bias = randomArray(dtype, nOut, rng, 0.1);
  const x = randomArray(dtype, batch * nIn, rng, 1);
  const pv = randomArray(dtype, batch * nOut, rng, 0.1);
  const s = new DTYPES[dtype](batch * nOut);
  const eb = new DTYPES[dtype](batch * nIn);
  // tiny steps so thousands of repeated updates leave W at the same magnitude
  const scale = 1e-6 / batch;
  const step = () => kernels.fusedSgd(W, bias, x, pv, s, eb, batch, nOut, nIn, scale);

  const warmUntil = performance.now() + Math.min(100, minMs / 4);
  do step();
  while (performance.now() < warmUntil);

  // calls per window: enough that one window lasts about minMs / WINDOWS
  const WINDOWS = 7;
  let perWindow = 1;
  for (;;) {
    const t0 = cpuMs();
    for (let k = 0; k < perWindow; k++) step();
    const ms = cpuMs() - t0;
    if (ms >= minMs / WINDOWS / 4) {
      perWindow = Math.max(1, Math.round((perWindow * minMs) / WINDOWS / Math.max(ms, 1e-3)));
      break;
    }
    perWindow *= 2;
  }
  let best = 0;
  for (let w = 0; w < WINDOWS; w++) {
    const t0 = cpuMs();
    for (let k = 0; k < perWindow; k++) step();
    best = Math.max(best, (perWindow * 1000) / Math.max(cpuMs() - t0, 1e-3));
  }
  return best;
}

for (const dtype of dtypes) {
  for (const [nIn, nOut] of SHAPES) {
    for (const batch of BATCHES) {
      for (const kernels of selected) {
        const callsPerSecond = measure(kernels, dtype, nIn, nOut, batch);
        console.log(
          JSON.stringify({
            op: 'fusedSgd',
            sizes: `${nIn}x${nOut}`,
            batch,
            dtype,
            kernels: kernels.name,
            callsPerSecond: Number(callsPerSecond.toPrecision(4)),
            machine: machineInfo(kernels),
          }),
        );
      }
    }
  }
}
