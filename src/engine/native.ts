/**
 * Chooses the WeightKernels implementation: the native SIMD addon built by
 * scripts/build-native.mjs when it is there and loads, otherwise the portable
 * TypeScript kernels.
 *
 * GLEKIT_KERNELS selects explicitly: `typescript` always uses the TypeScript kernels
 * (e.g. to compare results), `native` makes a missing or broken addon an error instead
 * of a silent slowdown, and unset / `auto` picks native when available.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';

import { PACKAGE_ROOT } from '../version.js';
import { typescriptKernels, type WeightKernels } from './kernels.js';

/** Must equal GLE_ADDON_ABI in native/kernels.c; a mismatch means a stale build. */
const ADDON_ABI = 2;
const ADDON_FILE = path.join('build', 'native', 'glekit_kernels.node');

interface NativeAddon {
  abi: number;
  simd: string;
  vectorBytes: number;
  drive: WeightKernels['drive'];
  errorDown: WeightKernels['errorDown'];
  weightGrad: WeightKernels['weightGrad'];
  fusedSgd: WeightKernels['fusedSgd'];
  setThreads(threads: number): number;
  threads(): number;
  fmaPeak(iterations: number): number;
  sharedJobs(): number;
}

/** The native kernels plus what they were compiled for. */
export interface NativeKernels extends WeightKernels {
  readonly simd: string;
  readonly vectorBytes: number;
}

let nativeState: { kernels: NativeKernels | null; failure: string | null; addon: NativeAddon | null } | undefined;
const defaultCache = new Map<string, WeightKernels>();

/** Absolute path where the addon is expected: GLEKIT_NATIVE_ADDON when set (another build variant), else the build's. */
export function nativeAddonPath(): string {
  const override = process.env.GLEKIT_NATIVE_ADDON;
  return override ? path.resolve(override) : path.join(PACKAGE_ROOT, ADDON_FILE);
}

function load(): { kernels: NativeKernels | null; failure: string | null; addon: NativeAddon | null } {
  const file = nativeAddonPath();
  if (!existsSync(file)) return { kernels: null, failure: `${file} does not exist (run npm run build)`, addon: null };
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(file) as NativeAddon;
  } catch (err) {
    return { kernels: null, failure: `${file} does not load: ${err instanceof Error ? err.message : String(err)}`, addon: null };
  }
  if (addon.abi !== ADDON_ABI) {
    return { kernels: null, failure: `${file} has ABI ${String(addon.abi)}, expected ${ADDON_ABI} (stale build: run npm run build)`, addon: null };
  }
  // The addon's functions are used directly, not wrapped, so a call costs one Node-API
  // transition and nothing more.
  const kernels: NativeKernels = {
    name: 'native',
    simd: addon.simd,
    vectorBytes: addon.vectorBytes,
    drive: addon.drive,
    errorDown: addon.errorDown,
    weightGrad: addon.weightGrad,
    fusedSgd: addon.fusedSgd,
  };
  // Node worker threads share the library and its pool: only the main thread sets the
  // default, so a sweep that set 1 thread before starting its workers keeps it.
  if (isMainThread) addon.setThreads(defaultThreadCount());
  return { kernels, failure: null, addon };
}

/** GLEKIT_THREADS when set, else every core this process may use. */
function defaultThreadCount(): number {
  const fromEnv = process.env.GLEKIT_THREADS;
  if (fromEnv === undefined || fromEnv === '') return Math.min(64, os.availableParallelism());
  return parseThreads(fromEnv, 'GLEKIT_THREADS');
}

/** A thread count from user input (1..64), or a RangeError naming where it came from. */
export function parseThreads(value: string | number, source: string): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new RangeError(`${source} must be an integer from 1 to 64, got ${JSON.stringify(value)}`);
  return n;
}

/**
 * Threads the native kernels use for one run's batched products (default: all cores, or
 * GLEKIT_THREADS). Results are the same bits for every count. Returns the count in use;
 * 1 when the native kernels are unavailable (the TypeScript kernels are single-threaded).
 */
export function setKernelThreads(threads: number): number {
  const addon = nativeAddon();
  return addon === null ? 1 : addon.setThreads(parseThreads(threads, 'threads'));
}

/** Jobs the native thread pool has handed to its workers so far (0 without the addon). */
export function sharedKernelJobs(): number {
  const addon = nativeAddon();
  return addon === null ? 0 : addon.sharedJobs();
}

/** The thread count the native kernels use now (1 without them). */
export function kernelThreads(): number {
  const addon = nativeAddon();
  return addon === null ? 1 : addon.threads();
}

function nativeAddon(): NativeAddon | null {
  nativeState ??= load();
  return nativeState.addon;
}

/** The native kernels, or null when the addon is not built or does not load (see nativeKernelsFailure). */
export function loadNativeKernels(): NativeKernels | null {
  nativeState ??= load();
  return nativeState.kernels;
}

/** Why loadNativeKernels() returned null, or null when it did not. */
export function nativeKernelsFailure(): string | null {
  nativeState ??= load();
  return nativeState.failure;
}

/** The kernels to use by default, honouring GLEKIT_KERNELS (typescript | native | auto). */
export function defaultKernels(): WeightKernels {
  const mode = process.env.GLEKIT_KERNELS ?? 'auto';
  const cached = defaultCache.get(mode);
  if (cached !== undefined) return cached;
  let chosen: WeightKernels;
  switch (mode) {
    case 'typescript':
      chosen = typescriptKernels;
      break;
    case 'native': {
      const native = loadNativeKernels();
      if (native === null) throw new Error(`GLEKIT_KERNELS=native but the native kernels are unavailable: ${nativeKernelsFailure()}`);
      chosen = native;
      break;
    }
    case 'auto':
    case '':
      chosen = loadNativeKernels() ?? typescriptKernels;
      break;
    default:
      throw new Error(`GLEKIT_KERNELS must be 'typescript', 'native' or 'auto', got ${JSON.stringify(mode)}`);
  }
  defaultCache.set(mode, chosen);
  return chosen;
}

/**
 * GFLOP/s of the cores' multiply-add ceiling on the current thread count: a float32
 * FMA loop in registers on every thread for about `seconds`. 0 without the native addon.
 */
export function fmaPeakGflops(seconds: number): number {
  const addon = nativeAddon();
  if (addon === null) return 0;
  let iterations = 1 << 16;
  for (;;) {
    const t0 = performance.now();
    const flops = addon.fmaPeak(iterations);
    const elapsed = (performance.now() - t0) / 1000;
    if (elapsed > seconds / 4 || iterations > 2 ** 36) {
      // the best of three windows of this length: the machine only ever slows a loop down
      let best = flops / elapsed;
      for (let k = 0; k < 2; k++) {
        const t1 = performance.now();
        best = Math.max(best, addon.fmaPeak(iterations) / ((performance.now() - t1) / 1000));
      }
      return best / 1e9;
    }
    iterations *= 2;
  }
}
