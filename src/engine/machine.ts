/**
 * Where a number was computed. The native kernels are built with -march=native, so their
 * summation order, and with it the bits of a result, follow the CPU and the vector width
 * the addon was compiled for; every result, checkpoint and bench row records this object
 * beside its numbers so that a difference between two machines can be told from a bug.
 */
import os from 'node:os';

import type { WeightKernels } from './kernels.js';
import { defaultKernels, kernelThreads } from './native.js';

export interface MachineInfo {
  /** the CPU model as the OS reports it ('unknown' when it does not) */
  cpu: string;
  /** cores this process may use */
  cores: number;
  arch: string;
  /** the Node.js version */
  node: string;
  /** the kernels' name: 'native' or 'typescript' */
  kernels: string;
  /** the native kernels' instruction set (e.g. 'avx2+fma'), null for the TypeScript kernels */
  simd: string | null;
  /** the native kernels' vector width in bytes, null for the TypeScript kernels */
  vectorBytes: number | null;
  /** threads of the batched products (information only: every count gives the same bits) */
  threads: number;
  /** the numerics mode (fast | exact | portable, see native.ts), null for kernels picked by hand */
  numerics: string | null;
  /** who computes the per-neuron dynamics: 'native' (vector code) or 'typescript' */
  dynamics: string;
}

/** A plain JSON description of this machine and of `kernels` (default: the kernels defaultKernels() picks). */
export function machineInfo(kernels: WeightKernels = defaultKernels()): MachineInfo {
  const native = kernels as Partial<{ simd: unknown; vectorBytes: unknown }>;
  return {
    cpu: os.cpus()[0]?.model.trim() || 'unknown',
    cores: os.availableParallelism(),
    arch: process.arch,
    node: process.version,
    kernels: kernels.name,
    simd: typeof native.simd === 'string' ? native.simd : null,
    vectorBytes: typeof native.vectorBytes === 'number' ? native.vectorBytes : null,
    threads: kernels.name === 'typescript' || kernels.name === 'portable-typescript' ? 1 : kernelThreads(),
    numerics: kernels.numerics ?? null,
    dynamics: kernels.dynamics?.name ?? 'typescript',
  };
}
