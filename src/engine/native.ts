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
import path from 'node:path';

import { PACKAGE_ROOT } from '../version.js';
import { typescriptKernels, type WeightKernels } from './kernels.js';

/** Must equal GLE_ADDON_ABI in native/kernels.c; a mismatch means a stale build. */
const ADDON_ABI = 1;
const ADDON_FILE = path.join('build', 'native', 'glekit_kernels.node');

interface NativeAddon {
  abi: number;
  simd: string;
  vectorBytes: number;
  drive: WeightKernels['drive'];
  errorDown: WeightKernels['errorDown'];
  weightGrad: WeightKernels['weightGrad'];
  fusedSgd: WeightKernels['fusedSgd'];
}

/** The native kernels plus what they were compiled for. */
export interface NativeKernels extends WeightKernels {
  readonly simd: string;
  readonly vectorBytes: number;
}

let nativeState: { kernels: NativeKernels | null; failure: string | null } | undefined;
const defaultCache = new Map<string, WeightKernels>();

/** Absolute path where the addon is expected. */
export function nativeAddonPath(): string {
  return path.join(PACKAGE_ROOT, ADDON_FILE);
}

function load(): { kernels: NativeKernels | null; failure: string | null } {
  const file = nativeAddonPath();
  if (!existsSync(file)) return { kernels: null, failure: `${file} does not exist (run npm run build)` };
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(file) as NativeAddon;
  } catch (err) {
    return { kernels: null, failure: `${file} does not load: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (addon.abi !== ADDON_ABI) {
    return { kernels: null, failure: `${file} has ABI ${String(addon.abi)}, expected ${ADDON_ABI} (stale build: run npm run build)` };
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
  return { kernels, failure: null };
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
