/**
 * Running firmware-bridge's C engine from Node through its host program
 * (build/firmware/gle_host, built by `npm run build`). Data crosses as files of
 * little-endian integers, the same bytes a board would receive.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../version.js';
import { GlekitError } from '../util/errors.js';
import { FixedEngine, runPresentation } from './engine.js';
import type { Descriptor } from '../descriptor/index.js';

export function cHostPath(): string {
  return process.env.GLEKIT_GLE_HOST ?? join(PACKAGE_ROOT, 'build', 'firmware', 'gle_host');
}

export function cEngineAvailable(): boolean {
  return existsSync(cHostPath());
}

function requireHost(): string {
  const host = cHostPath();
  if (!existsSync(host)) {
    throw new GlekitError(`the C engine is not built (${host} is missing): run \`npm run build\` (needs make and gcc), or use --engine ts`);
  }
  return host;
}

function le32(a: Int32Array): Buffer {
  const b = Buffer.alloc(a.length * 4);
  for (let i = 0; i < a.length; i++) b.writeInt32LE(a[i], 4 * i);
  return b;
}

function runHost(args: string[], what: string): string {
  const r = spawnSync(requireHost(), args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new GlekitError(`C engine (${what}): ${r.error.message}`);
  if (r.status !== 0) throw new GlekitError(`C engine (${what}): ${(r.stderr || r.stdout).trim().replace(/^gle_host: /, '')}`);
  return r.stdout;
}

function withScratch<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'glekit-c-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The C engine's read-out codes per sample (count x outputSize), as runPresentation returns them. */
export function runPresentationC(descriptorBytes: Uint8Array, stepInputs: Int32Array, outputSize: number): Float64Array {
  return withScratch((dir) => {
    const d = join(dir, 'net.gled'),
      i = join(dir, 'in.bin'),
      o = join(dir, 'out.bin');
    writeFileSync(d, descriptorBytes);
    writeFileSync(i, le32(stepInputs));
    runHost(['run', d, i, o], 'run');
    const b = readFileSync(o);
    const n = b.length / 8;
    if (n % outputSize !== 0) throw new GlekitError(`C engine (run): ${b.length} output bytes are not whole samples of ${outputSize}`);
    const out = new Float64Array(n);
    for (let k = 0; k < n; k++) out[k] = Number(b.readBigInt64LE(8 * k));
    return out;
  });
}

export interface TraceJob {
  bytes: Uint8Array;
  stepInputs: Int32Array;
}

/** Every step's membranes and rates of every layer, from the C engine, for several descriptors in one run. */
export function traceC(jobs: readonly TraceJob[]): Int32Array[] {
  return withScratch((dir) => {
    const args = ['trace'];
    jobs.forEach((job, k) => {
      const d = join(dir, `${k}.gled`),
        i = join(dir, `${k}.in`),
        o = join(dir, `${k}.out`);
      writeFileSync(d, job.bytes);
      writeFileSync(i, le32(job.stepInputs));
      args.push(d, i, o);
    });
    runHost(args, 'trace');
    return jobs.map((_, k) => {
      const b = readFileSync(join(dir, `${k}.out`));
      return new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
    });
  });
}

/** The same trace from the TypeScript engine: per step, for each layer its membranes then its rates. */
export function traceTs(d: Descriptor, stepInputs: Int32Array): Int32Array {
  const n = d.network;
  const perSample = n.presentation.stepsPerSample * n.inputSize;
  const perStep = n.layers.reduce((a, l) => a + 2 * l.nOut, 0);
  const count = stepInputs.length / perSample;
  const out = new Int32Array(count * n.presentation.stepsPerSample * perStep);
  let at = 0;
  runPresentation(new FixedEngine(d), stepInputs, count, (_sample, _step, engine) => {
    for (let l = 0; l < n.layers.length; l++) {
      out.set(engine.membrane(l), at);
      at += n.layers[l].nOut;
      out.set(engine.rates(l), at);
      at += n.layers[l].nOut;
    }
  });
  return out;
}

export interface CFootprint {
  sha256: string;
  layers: number;
  weights: number;
  neurons: number;
  delayLineEntries: number;
  tableEntries: number;
  footprintBytes: Record<string, number> & { total: number };
  buildStaticBytes: number;
}

/** What the C engine reports about a descriptor: sizes and the static memory it needs. */
export function infoC(descriptorBytes: Uint8Array): CFootprint {
  return withScratch((dir) => {
    const d = join(dir, 'net.gled');
    writeFileSync(d, descriptorBytes);
    return JSON.parse(runHost(['info', d], 'info').trim()) as CFootprint;
  });
}

/** The C loader's verdict on each of several files: null when it accepts the bytes, else its message. */
export function checkC(files: readonly Uint8Array[]): (string | null)[] {
  return withScratch((dir) => {
    const paths = files.map((bytes, k) => {
      const p = join(dir, `${k}.gled`);
      writeFileSync(p, bytes);
      return p;
    });
    const verdicts: (string | null)[] = [];
    for (let start = 0; start < paths.length; start += 500) {
      const chunk = paths.slice(start, start + 500);
      const r = spawnSync(requireHost(), ['check', ...chunk], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      if (r.error) throw new GlekitError(`C engine (check): ${r.error.message}`);
      const lines = r.stdout.split('\n').filter((l) => l !== '');
      if (lines.length !== chunk.length) throw new GlekitError(`C engine (check): ${lines.length} verdicts for ${chunk.length} files: ${r.stderr}`);
      lines.forEach((line, k) => {
        const rest = line.slice(chunk[k].length + 2);
        verdicts.push(rest.startsWith('ok ') ? null : rest);
      });
    }
    return verdicts;
  });
}

/** Wall time of `steps` steps of the C engine (one process, descriptor loaded once). */
export function benchC(descriptorBytes: Uint8Array, steps: number): { steps: number; nanoseconds: number } {
  return withScratch((dir) => {
    const d = join(dir, 'net.gled');
    writeFileSync(d, descriptorBytes);
    return JSON.parse(runHost(['bench', d, String(steps)], 'bench').trim()) as { steps: number; nanoseconds: number };
  });
}
