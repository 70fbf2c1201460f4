/**
 * `node dist/bench/handover.js`: the round trip of handing an empty job to a second thread
 * and waiting for it, three ways: the native kernels' pool (src/engine/native/pool.c,
 * through the addon's fmaPeak with no iterations, which runs one empty task per thread),
 * a Node worker thread spinning on shared memory, and a worker blocking in Atomics.wait.
 * It measured the choice between native threads and worker threads (issue 13).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

import { nativeAddonPath } from '../src/engine/native.js';

const ROUNDS = 20_000;
const WARMUP = 1_000;

/** The worker's loop: wait for flag[0] to change (spinning or blocking), answer in flag[1]. */
const WORKER_SOURCE = `
  const { workerData } = require('node:worker_threads');
  const flag = new Int32Array(workerData.sab);
  let seen = 0;
  for (;;) {
    if (workerData.spin) { while (Atomics.load(flag, 0) === seen) {} } else Atomics.wait(flag, 0, seen);
    seen = Atomics.load(flag, 0);
    if (seen < 0) break;
    Atomics.store(flag, 1, seen);
  }`;

async function workerRoundTrip(spin: boolean): Promise<number> {
  const sab = new SharedArrayBuffer(8);
  const flag = new Int32Array(sab);
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { sab, spin } });
  await new Promise((resolve) => worker.once('online', resolve));
  let t0 = 0;
  for (let i = 1; i <= ROUNDS + WARMUP; i++) {
    if (i === WARMUP + 1) t0 = performance.now();
    Atomics.store(flag, 0, i);
    Atomics.notify(flag, 0);
    while (Atomics.load(flag, 1) !== i) {
      // the answer comes within microseconds
    }
  }
  const micros = ((performance.now() - t0) / ROUNDS) * 1000;
  Atomics.store(flag, 0, -1);
  Atomics.notify(flag, 0);
  await worker.terminate();
  return micros;
}

function nativeRoundTrip(): number {
  const addon = createRequire(import.meta.url)(nativeAddonPath()) as {
    setThreads(n: number): number;
    threads(): number;
    fmaPeak(iterations: number): number;
  };
  const before = addon.threads();
  addon.setThreads(2);
  for (let i = 0; i < WARMUP; i++) addon.fmaPeak(0);
  const t0 = performance.now();
  for (let i = 0; i < ROUNDS; i++) addon.fmaPeak(0);
  const micros = ((performance.now() - t0) / ROUNDS) * 1000;
  addon.setThreads(before);
  return micros;
}

const result = {
  nativePoolMicros: Number(nativeRoundTrip().toFixed(3)),
  workerSpinningMicros: Number((await workerRoundTrip(true)).toFixed(3)),
  workerAtomicsWaitMicros: Number((await workerRoundTrip(false)).toFixed(3)),
};
process.stdout.write(JSON.stringify(result) + '\n');
