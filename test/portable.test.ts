/**
 * The portable numerics mode (src/engine/kernels-portable.ts, src/engine/native/portable.c):
 * the native and TypeScript portable kernels give the same bits for every kernel on
 * awkward shapes and any thread count, and a short training run gives the committed
 * checksums with every kernel variant this machine can build and run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { typescriptKernels, type FloatArray, type WeightKernels } from '../src/engine/kernels.js';
import { portableTypescriptKernels } from '../src/engine/kernels-portable.js';
import { nativeAddonPath, sharedKernelJobs } from '../src/engine/native.js';
import { loadNativePortable, PORTABLE_CHECKSUMS, portableKernelSweep, runPortableCheck } from '../src/engine/portable-check.js';
import { Rng } from '../src/util/rng.js';
import { CLI } from './helpers/cli.js';

const ROOT = path.join(import.meta.dirname, '..');
const addonBuilt = existsSync(nativeAddonPath());
const native = loadNativePortable();
const addon = native.addon as { setThreads?: (n: number) => number; threads?: () => number } | null;
const hasSetThreads = addon !== null && typeof addon.setThreads === 'function';

describe.skipIf(!addonBuilt)('native portable kernels equal the TypeScript portable kernels to the bit', () => {
  it('the addon has portable kernels', () => {
    expect(native.failure).toBeNull();
  });

  it('every kernel on awkward shapes, float32 and float64', () => {
    const { differences, compared } = portableKernelSweep(native.kernels!);
    expect(compared).toBeGreaterThan(1000);
    expect(differences).toEqual([]);
  });

  // The pool cuts products into pieces by the thread count; each output is computed whole
  // by one piece, so the bits must not move. (Without setThreads the addon is single-threaded.)
  it.skipIf(!hasSetThreads)('the same bits on 2 and 3 threads', () => {
    sharedKernelJobs(); // loads native.ts's view of the addon first: its first load sets the default thread count
    const before = addon!.threads?.() ?? 1;
    try {
      for (const threads of [2, 3]) {
        addon!.setThreads!(threads);
        const jobsBefore = sharedKernelJobs();
        expect(portableKernelSweep(native.kernels!).differences, `${threads} threads`).toEqual([]);
        expect(sharedKernelJobs(), `the pool ran pieces on ${threads} threads`).toBeGreaterThan(jobsBefore);
      }
    } finally {
      addon!.setThreads!(before);
    }
  });

  it('zero-sized dimensions: the same outputs (empty sums are +0)', () => {
    const kernels = native.kernels!;
    for (const [batch, nOut, nIn] of [
      [0, 3, 5],
      [3, 0, 5],
      [3, 4, 0],
      [1, 0, 0],
    ]) {
      for (const ctor of [Float32Array, Float64Array]) {
        const fill = (n: number) => new ctor(n).fill(-0);
        const run = (k: WeightKernels) => {
          const W = fill(nOut * nIn);
          const s = fill(batch * nOut).fill(7);
          const eb = fill(batch * nIn).fill(7);
          const gW = fill(nOut * nIn).fill(7);
          const s2 = fill(batch * nOut).fill(7);
          const eb2 = fill(batch * nIn).fill(7);
          const bias = fill(nOut).fill(0.5);
          k.drive(W, bias, fill(batch * nIn), s, batch, nOut, nIn);
          k.errorDown(W, fill(batch * nOut), eb, batch, nOut, nIn);
          k.weightGrad(fill(batch * nOut), fill(batch * nIn), gW, batch, nOut, nIn);
          k.fusedSgd(W, null, fill(batch * nIn), fill(batch * nOut), s2, eb2, batch, nOut, nIn, 0.1);
          return [s, eb, gW, s2, eb2, W].map((a) => Array.from(a, (v) => (Object.is(v, -0) ? '-0' : String(v))));
        };
        expect(run(kernels), `${ctor.name} batch=${batch} nOut=${nOut} nIn=${nIn}`).toEqual(run(portableTypescriptKernels));
      }
    }
  });

  it('throws the same errors as the fast kernels for bad arguments', () => {
    const fast = native.addon as unknown as WeightKernels;
    const f64 = (n: number) => new Float64Array(n);
    const calls: [string, (k: WeightKernels) => void][] = [
      ['int array', (k) => k.drive(new Int32Array(6) as unknown as FloatArray, null, f64(2), f64(3), 1, 3, 2)],
      ['short W', (k) => k.drive(f64(5), null, f64(2), f64(3), 1, 3, 2)],
      ['mixed types', (k) => k.errorDown(f64(6), new Float32Array(3), f64(2), 1, 3, 2)],
      [
        'overlap',
        (k) => {
          const a = f64(12);
          k.weightGrad(a.subarray(0, 3), a.subarray(3, 5), a.subarray(4, 10), 1, 3, 2);
        },
      ],
      ['bad dim', (k) => k.fusedSgd(f64(6), null, f64(2), f64(3), f64(3), null, 1.5, 3, 2, 0.1)],
      ['bad scale', (k) => k.fusedSgd(f64(6), null, f64(2), f64(3), f64(3), null, 1, 3, 2, 'x' as unknown as number)],
      ['too few args', (k) => (k.weightGrad as unknown as (...a: unknown[]) => void)(f64(3), f64(2))],
    ];
    for (const [label, call] of calls) {
      const thrown = (k: WeightKernels): Error => {
        try {
          call(k);
        } catch (err) {
          return err as Error;
        }
        throw new Error(`${label}: ${k.name} did not throw`);
      };
      const want = thrown(fast);
      const got = thrown(native.kernels!);
      expect(got.constructor, label).toBe(want.constructor);
      expect(got.message, label).toBe(want.message);
    }
  });
});

describe('the portable order computes what the plain kernels compute', () => {
  it('agrees with the TypeScript kernels to rounding', () => {
    const rng = new Rng(7);
    for (const ctor of [Float32Array, Float64Array]) {
      const rtol = ctor === Float32Array ? 1e-4 : 1e-12;
      const [batch, nOut, nIn] = [5, 13, 29];
      const random = (n: number) => ctor.from({ length: n }, () => rng.normal());
      const W = random(nOut * nIn);
      const bias = random(nOut);
      const x = random(batch * nIn);
      const pv = random(batch * nOut);
      const outputs = (k: WeightKernels) => {
        const s = new ctor(batch * nOut);
        const eb = new ctor(batch * nIn);
        const gW = new ctor(nOut * nIn);
        const w = W.slice();
        k.drive(W, bias, x, s, batch, nOut, nIn);
        k.errorDown(W, pv, eb, batch, nOut, nIn);
        k.weightGrad(pv, x, gW, batch, nOut, nIn);
        k.fusedSgd(w, bias, x, pv, new ctor(batch * nOut), null, batch, nOut, nIn, 0.3 / batch);
        return [s, eb, gW, w];
      };
      const got = outputs(portableTypescriptKernels);
      const want = outputs(typescriptKernels);
      for (let a = 0; a < got.length; a++) {
        const scale = Math.max(...Array.from(want[a], Math.abs));
        for (let i = 0; i < got[a].length; i++) expect(Math.abs(got[a][i] - want[a][i]), `${ctor.name} output ${a}[${i}]`).toBeLessThanOrEqual(rtol * scale);
      }
    }
  });

  it('the TypeScript portable kernels give the committed checksums', () => {
    expect(runPortableCheck(portableTypescriptKernels)).toEqual(PORTABLE_CHECKSUMS);
  });
});

// ------------------------------------------------------------------- variants ---- //

/** The builds this machine can run: baseline SSE2 always, AVX2 and AVX-512 when the CPU has them. */
function runnableVariants(): string[] {
  const flags = new Set((existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '').match(/^flags\s*:.*$/m)?.[0].split(/\s+/) ?? []);
  const variants = ['x86-64'];
  if (['avx2', 'fma'].every((f) => flags.has(f))) variants.push('x86-64-v3');
  if (['avx2', 'fma', 'avx512f', 'avx512bw', 'avx512dq', 'avx512vl'].every((f) => flags.has(f))) variants.push('x86-64-v4');
  return variants;
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const compiler = spawnSync(process.env.CC || 'gcc', ['--version']);
const canBuild = process.arch === 'x64' && process.platform === 'linux' && !compiler.error && compiler.status === 0 && existsSync(CLI);

interface CheckJson {
  ok: boolean;
  results: { kernels: string; simd: string | null; threads: number | null; checksums: { float32: string; float64: string } }[];
  sweep: { differences: string[]; compared: number } | null;
}

describe.skipIf(!canBuild)('every kernel variant of this machine gives the committed checksums', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'glekit-portable-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`builds ${runnableVariants().join(', ')} and runs glekit check-portable with each on 1 and 2 threads`, async () => {
    const variants = runnableVariants();
    const builds = await Promise.all(
      variants.map((arch) =>
        run([path.join(ROOT, 'scripts', 'build-native.mjs')], { GLEKIT_NATIVE_ARCH: arch, GLEKIT_NATIVE_OUT: path.join(dir, `${arch}.node`) }),
      ),
    );
    builds.forEach((b, k) => expect(b.code, `build ${variants[k]}: ${b.stderr}`).toBe(0));

    // thread counts need the pool's setThreads; without it every run is single-threaded anyway
    const threadCounts = hasSetThreads ? [1, 2] : [null];
    if (!hasSetThreads) console.warn('portable.test: the addon has no setThreads yet; the variants run on one thread only');
    const runs: { label: string; json: CheckJson }[] = [];
    for (const arch of variants) {
      const results = await Promise.all(
        threadCounts.map((threads) =>
          run([CLI, ...(threads === null ? [] : ['--threads', String(threads)]), 'check-portable', '--json'], {
            GLEKIT_NATIVE_ADDON: path.join(dir, `${arch}.node`),
          }),
        ),
      );
      results.forEach((r, k) => {
        const label = `${arch}, ${threadCounts[k] ?? 1} thread(s)`;
        const json = JSON.parse(r.stdout.trim().split('\n').pop()!) as CheckJson;
        runs.push({ label, json });
        expect(r.code, `${label}: ${r.stderr}`).toBe(0);
      });
    }
    for (const { label, json } of runs) {
      expect(json.sweep?.differences, label).toEqual([]);
      const nativeRow = json.results.find((row) => row.kernels === 'portable');
      expect(nativeRow, `${label}: the native portable kernels ran`).toBeDefined();
      for (const row of json.results) expect(row.checksums, `${label}: ${row.kernels}`).toEqual(PORTABLE_CHECKSUMS);
      expect(json.ok, label).toBe(true);
    }
    expect(runs.map((r) => r.json.results[0].simd)).toEqual(expect.arrayContaining(variants.includes('x86-64-v4') ? ['sse2', 'avx512'] : ['sse2']));
  }, 240_000);
});
