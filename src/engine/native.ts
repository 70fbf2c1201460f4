/**
 * Chooses the kernels: the numerics mode (fast | exact | portable, see NUMERICS), and
 * within it the native addon built by scripts/build-native.mjs when it is there and
 * loads, otherwise the TypeScript kernels of that mode; and the threads of the native
 * products.
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
import { nativeDynamics } from './dynamics.js';
import { typescriptKernels, type WeightKernels } from './kernels.js';
import { nativePortableKernels, portableTypescriptKernels } from './kernels-portable.js';

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

/** The loaded addon itself (every unit's exports: products, dynamics, portable), or null (see nativeKernelsFailure). */
export function nativeAddon(): NativeAddon | null {
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

/**
 * How a run's numbers are computed; each mode is a trade between speed and where the
 * same bits can be had again.
 * - fast: the native products (-march=native, on all threads) and the native per-neuron
 *   dynamics (vector tanh and friends). Fastest; bits follow the CPU and its vector width.
 * - exact: the native products and the per-neuron dynamics in TypeScript (Math.tanh):
 *   the path that produced the recorded results (results/papers) before the native
 *   dynamics existed, so those runs can be repeated bit for bit on the machine kind that
 *   recorded them.
 * - portable: products in a fixed order without fused multiply-adds (native or
 *   TypeScript, see kernels-portable.ts) and the dynamics in TypeScript: the same bits on
 *   every x86-64 machine, any vector width, any thread count.
 */
export const NUMERICS = ['fast', 'exact', 'portable'] as const;
export type Numerics = (typeof NUMERICS)[number];

let numericsSetting: Numerics | undefined;

/** A numerics mode from user input, or a RangeError naming where it came from. */
export function parseNumerics(value: string, source: string): Numerics {
  if ((NUMERICS as readonly string[]).includes(value)) return value as Numerics;
  throw new RangeError(`${source} must be one of ${NUMERICS.join(', ')}, got ${JSON.stringify(value)}`);
}

/** Sets the mode defaultKernels() uses from now on (the CLI's --numerics); null: back to GLEKIT_NUMERICS or fast. */
export function setNumerics(numerics: Numerics | null): void {
  numericsSetting = numerics === null ? undefined : parseNumerics(numerics, 'numerics');
}

/** The mode in effect: setNumerics(), else GLEKIT_NUMERICS, else fast. */
export function currentNumerics(): Numerics {
  const fromEnv = process.env.GLEKIT_NUMERICS;
  return numericsSetting ?? (fromEnv ? parseNumerics(fromEnv, 'GLEKIT_NUMERICS') : 'fast');
}

/** The product kernels of a mode, honouring GLEKIT_KERNELS (typescript | native | auto). */
function productKernels(mode: string, numerics: Numerics): WeightKernels {
  const addon = nativeAddon();
  const native = numerics === 'portable' ? nativePortableKernels(addon) : loadNativeKernels();
  const fallback = numerics === 'portable' ? portableTypescriptKernels : typescriptKernels;
  switch (mode) {
    case 'typescript':
      return fallback;
    case 'native':
      if (native === null)
        throw new Error(`GLEKIT_KERNELS=native but the native ${numerics} kernels are unavailable: ${nativeKernelsFailure() ?? 'the addon has none'}`);
      return native;
    case 'auto':
    case '':
      return native ?? fallback;
    default:
      throw new Error(`GLEKIT_KERNELS must be 'typescript', 'native' or 'auto', got ${JSON.stringify(mode)}`);
  }
}

/**
 * The kernels to use by default: those of currentNumerics(), native when built
 * (GLEKIT_KERNELS=typescript | native | auto chooses explicitly), carrying the native
 * per-neuron dynamics in fast mode (Network picks them up from the kernels).
 */
export function defaultKernels(): WeightKernels {
  const mode = process.env.GLEKIT_KERNELS ?? 'auto';
  const numerics = currentNumerics();
  const key = `${mode}/${numerics}`;
  const cached = defaultCache.get(key);
  if (cached !== undefined) return cached;
  const products = productKernels(mode, numerics);
  const dynamics = numerics === 'fast' && products.name === 'native' ? nativeDynamics(nativeAddon()) : null;
  const chosen: WeightKernels = { ...products, numerics, dynamics };
  defaultCache.set(key, chosen);
  return chosen;
}

/**
 * What computes a run's numbers, as results and run identities record it: the product
 * kernels' name, plus '+dynamics' when the per-neuron dynamics are native (fast mode).
 * So 'native' is the exact mode's path (and that of every result recorded before the
 * native dynamics existed), 'native+dynamics' the fast mode's, 'portable' the portable
 * mode's.
 */
export function kernelsLabel(kernels: WeightKernels): string {
  return kernels.dynamics ? `${kernels.name}+dynamics` : kernels.name;
}

/** The numerics mode that computes as a kernelsLabel() says ('native' and 'typescript': exact). */
export function numericsOfLabel(label: string): Numerics {
  if (label.endsWith('+dynamics')) return 'fast';
  return label.startsWith('portable') ? 'portable' : 'exact';
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
