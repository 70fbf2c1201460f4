/**
 * `npm run bench -- --json [--threads N] [--quick]`: steps per second of a full training
 * step (forward, local errors and gradients, SGD update) in float32, for the shapes of
 * SPEED_TABLE, on one thread and on N threads (default: every core), next to the
 * published PyTorch implementation of the papers cited in docs/dynamics.md, measured on
 * the same machine kind. The same run measures, on 1 and N threads, a large GEMM done by
 * the same kernels and the machine's multiply-add ceiling (a register-only FMA loop in
 * the native addon), so each shape's GFLOP/s can be read as a fraction of both.
 */
import { Network } from '../src/engine/network.js';
import { machineInfo } from '../src/engine/machine.js';
import { defaultKernels, fmaPeakGflops, kernelThreads, parseThreads, setKernelThreads } from '../src/engine/native.js';
import { DEFAULT_LEARNING, type NetworkSpec } from '../src/engine/types.js';
import { initLayers } from '../src/train/init.js';
import { Rng } from '../src/util/rng.js';

interface Row {
  sizes: number[];
  batch: number;
  pytorch: number;
}

/**
 * The published PyTorch implementation's median steps/s (float32, one training step, best
 * thread setting), measured on a 2-core machine of the kind this project runs on.
 */
const SPEED_TABLE: Row[] = [
  { sizes: [2, 30, 30, 3], batch: 1, pytorch: 3450 },
  { sizes: [2, 30, 30, 3], batch: 64, pytorch: 2380 },
  { sizes: [40, 100, 100, 10], batch: 1, pytorch: 3220 },
  { sizes: [40, 100, 100, 10], batch: 32, pytorch: 1790 },
  { sizes: [40, 100, 100, 10], batch: 256, pytorch: 330 },
  { sizes: [784, 300, 100, 10], batch: 1, pytorch: 1960 },
  { sizes: [784, 300, 100, 10], batch: 32, pytorch: 180 },
  { sizes: [784, 300, 100, 10], batch: 512, pytorch: 3.6 },
];

/**
 * Floating-point operations of the three batched products of one training step: the
 * forward drive W r and the weight gradient e r^T in every layer, the errors W^T e in
 * every layer but the bottom one (nothing below it takes an error); 2 per multiply-add.
 * Per-neuron work (activations, membranes, the update) is left out, so GFLOP/s from this
 * count is comparable with a GEMM's.
 */
function productFlopsPerStep(row: Row): number {
  let flops = 0;
  for (let l = 1; l < row.sizes.length; l++) {
    const weights = row.sizes[l - 1] * row.sizes[l];
    flops += 2 * weights * row.batch * (l === 1 ? 2 : 3);
  }
  return flops;
}

function measure(row: Row, seconds: number, repeats: number): number {
  const [inputSize, ...rest] = row.sizes;
  const layers = initLayers(
    inputSize,
    rest.map((size, i) => ({ size, phi: i === rest.length - 1 ? 'linear' : 'hardSigmoid', tauM: 1, tauR: 1 })),
    { weightStd: 0.05, biasStd: 0.05 },
    1,
  );
  const spec: NetworkSpec = { dtype: 'float32', dt: 0.01, gamma: 0, beta: 0.1, loss: 'mse', prospectiveErrors: true, layers };
  const net = new Network(spec, { batch: row.batch, kernels: defaultKernels(), learning: { ...DEFAULT_LEARNING, lr: 1e-4 } });
  const rng = new Rng(2);
  const x = net.newArray(row.batch * inputSize).map(() => rng.uniform());
  const y = net.newArray(row.batch * net.outputSize).map(() => rng.uniform());
  // calibrate a chunk that takes about a tenth of the budget
  let chunk = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < chunk; i++) net.step(x, y, 'learn');
    if (performance.now() - t0 > (seconds * 1000) / 10 || chunk > 1 << 20) break;
    chunk *= 2;
  }
  const rates: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    for (let i = 0; i < chunk; i++) net.step(x, y, 'learn');
    rates.push(chunk / ((performance.now() - t0) / 1000));
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)];
}

/**
 * GFLOP/s of one large float32 GEMM, s = x W^T with x 1024 x 1024 and W 1024 x 1024, done
 * by the kernels' drive on the current threads: the best the products reach when shape and
 * batch are no constraint. Best of three windows of about `seconds` / 3.
 */
function gemmGflops(seconds: number): number {
  const n = 1024;
  const rng = new Rng(5);
  const W = new Float32Array(n * n).map(() => rng.normal());
  const x = new Float32Array(n * n).map(() => rng.normal());
  const s = new Float32Array(n * n);
  const kernels = defaultKernels();
  let best = 0;
  for (let w = 0; w < 3; w++) {
    let calls = 0;
    const t0 = performance.now();
    do {
      kernels.drive(W, null, x, s, n, n, n);
      calls++;
    } while (performance.now() - t0 < (seconds * 1000) / 3);
    best = Math.max(best, (2 * n * n * n * calls) / ((performance.now() - t0) / 1000));
  }
  return best / 1e9;
}

function argValue(flag: string): string | undefined {
  const at = process.argv.indexOf(flag);
  return at < 0 ? undefined : process.argv[at + 1];
}

const round = (x: number, digits: number): number => Number(x.toPrecision(digits));

const json = process.argv.includes('--json');
const quick = process.argv.includes('--quick');
const threadsArg = argValue('--threads');
const threads = threadsArg === undefined ? kernelThreads() : parseThreads(threadsArg, '--threads');
const machine = machineInfo(defaultKernels());
const seconds = quick ? 0.3 : 1.5;
const repeats = quick ? 3 : 7;
// The ceiling first, on the threads each measurement will use.
setKernelThreads(1);
const peak1 = fmaPeakGflops(seconds);
const gemm1 = gemmGflops(seconds);
setKernelThreads(threads);
const peakN = fmaPeakGflops(seconds);
const gemmN = gemmGflops(seconds);
const results = SPEED_TABLE.map((row) => {
  setKernelThreads(1);
  const oneThread = measure(row, seconds, repeats);
  setKernelThreads(threads);
  const stepsPerSecond = threads === 1 ? oneThread : measure(row, seconds, repeats);
  const flops = productFlopsPerStep(row);
  const result = {
    sizes: row.sizes,
    batch: row.batch,
    dtype: 'float32' as const,
    threads,
    stepsPerSecond: round(stepsPerSecond, 4),
    stepsPerSecond1Thread: round(oneThread, 4),
    threadSpeedup: Number((stepsPerSecond / oneThread).toFixed(2)),
    pytorchStepsPerSecond: row.pytorch,
    speedup: Number((stepsPerSecond / row.pytorch).toFixed(2)),
    productFlopsPerStep: flops,
    gflops: round((flops * stepsPerSecond) / 1e9, 3),
    gflops1Thread: round((flops * oneThread) / 1e9, 3),
    fmaPeakGflops: round(peakN, 4),
    fmaPeakGflops1Thread: round(peak1, 4),
    gemmGflops: round(gemmN, 4),
    gemmGflops1Thread: round(gemm1, 4),
    kernels: defaultKernels().name,
    machine: { ...machine, threads },
  };
  if (!json)
    process.stderr.write(
      `${row.sizes.join('-').padEnd(16)} batch ${String(row.batch).padStart(3)}: ${result.stepsPerSecond} steps/s on ${threads} threads (x${result.threadSpeedup} over 1), PyTorch ${row.pytorch} (x${result.speedup}), ${result.gflops} GFLOP/s in the products (GEMM ${result.gemmGflops}, FMA ceiling ${result.fmaPeakGflops})\n`,
    );
  return result;
});
process.stdout.write(JSON.stringify(results) + '\n');
