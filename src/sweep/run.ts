/**
 * `glekit robustness`: a grid of substrate settings x chip seeds, run as parallel jobs,
 * that survives being killed.
 *
 * Durability: each finished job is appended to DIR/records.jsonl as one line and fsync'd
 * before the next is dispatched to that worker; only the main thread writes. A re-run
 * with the same arguments reads the records, skips every job whose id is there and runs
 * the rest, so no job is lost (an unrecorded job runs again) and none is recorded twice.
 * DIR/manifest.json pins the arguments that decide the jobs' results; a re-run with
 * other arguments is refused rather than mixing two sweeps in one file. Records that
 * shards of a cluster run wrote (DIR/records/, src/sweep/cluster.ts) count as done too.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { defaultKernels, kernelsLabel, kernelThreads, setKernelThreads } from '../engine/native.js';
import { loadProfile, profileHash, realiseChip, withOverrides, type HwProfile, type Overrides } from '../hw/index.js';
import { canonicalJson } from '../util/canonical-json.js';
import { loadModel, modelToSpec, type ModelFile } from '../model/model-file.js';
import { Substrate } from '../substrate/index.js';
import { GlekitError, ValidationError } from '../util/errors.js';
import { writeFileAtomic } from '../util/files.js';
import { createProgress } from '../util/progress.js';
import { createJobContext, runJob, type JobContextInit, type JobRecord } from './job.js';
import { readAllRecords, RecordWriter, RECORDS_FILE } from './records.js';

export { RECORDS_FILE };
import { acquireDirectoryLock } from '../util/lock.js';
import { axisLabel, gridPoints, parseVaries, planJobs, type Job, type SweepSettings, type VaryAxis } from './plan.js';
import { formatTable, summarise, writeSummaryFiles, writeSweepPlots, type PointSummary } from './summary.js';
import type { FromWorker, ToWorker } from './worker.js';

export const MANIFEST_FORMAT = 'glekit.sweep-manifest/1';
export const MANIFEST_FILE = 'manifest.json';

/** Learning rate of training in the loop unless given: a tenth of the Yin-Yang preset's initial rate, fixed before any sweep ran. */
export const DEFAULT_CHIP_LR = 1e-3;

export interface SweepOptions {
  model: string;
  hw: string;
  vary: string[];
  seeds: number;
  trainOnChip?: number;
  learnTau?: boolean;
  chipLr?: number;
  /** tau_m's learning rate as a multiple of chipLr (needs learnTau; default 1) */
  tauLrFactor?: number;
  /** training in the loop resets the chip's state before each batch */
  resetState?: boolean;
  split?: 'test' | 'validation';
  out: string;
  /** worker threads; 0 runs the jobs on the calling thread; default: all cores */
  workers?: number;
  /** write SVG/PNG plots at the end (default true) */
  plots?: boolean;
  quiet?: boolean;
  /** the command line, stored in the manifest for the reader */
  command?: string;
}

export interface SweepResult {
  points: PointSummary[];
  axes: VaryAxis[];
  jobs: number;
  /** jobs found done in DIR when this run started */
  resumed: number;
  /** jobs this run executed */
  ran: number;
  workers: number;
  wallSeconds: number;
  /** peak resident set of this process (all threads), MB */
  peakRssMB: number;
  files: string[];
}

export interface ManifestArgs {
  settings: SweepSettings;
  vary: { names: string[]; values: number[] }[];
  seeds: number;
}

interface Manifest {
  format: typeof MANIFEST_FORMAT;
  created: string;
  command: string;
  model: string;
  args: ManifestArgs;
  jobs: number;
}

export function requireInt(flag: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new ValidationError('arguments', flag, v, `must be an integer >= ${min}`);
  return v;
}

function describeDifferences(was: ManifestArgs, now: ManifestArgs): string {
  const diffs: string[] = [];
  const w = was as unknown as Record<string, unknown>;
  const n = now as unknown as Record<string, unknown>;
  for (const key of ['vary', 'seeds'] as const) {
    if (canonicalJson(w[key]) !== canonicalJson(n[key])) diffs.push(`${key}: was ${JSON.stringify(w[key])}, now ${JSON.stringify(n[key])}`);
  }
  const ws = (was.settings ?? {}) as unknown as Record<string, unknown>;
  const ns = now.settings as unknown as Record<string, unknown>;
  for (const key of Object.keys({ ...ws, ...ns })) {
    if (canonicalJson(ws[key] ?? null) !== canonicalJson(ns[key] ?? null)) diffs.push(`${key}: was ${JSON.stringify(ws[key])}, now ${JSON.stringify(ns[key])}`);
  }
  return diffs.join('; ');
}

/** Creates DIR/manifest.json, or checks that the one there was written for the same arguments. */
export function checkManifest(dir: string, args: ManifestArgs, jobs: number, model: string, command: string): void {
  const file = join(dir, MANIFEST_FILE);
  if (existsSync(file)) {
    let old: Manifest;
    try {
      old = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
    } catch (e) {
      throw new GlekitError(`${file}: not a readable sweep manifest (${(e as Error).message}); choose another --out or remove the directory`);
    }
    if (old.format !== MANIFEST_FORMAT)
      throw new ValidationError(file, 'format', old.format, `must be "${MANIFEST_FORMAT}"; this directory does not hold a glekit sweep`);
    if (canonicalJson(old.args) !== canonicalJson(args)) {
      throw new GlekitError(
        `${dir} holds a sweep started with different arguments (${describeDifferences(old.args, args)}). ` +
          'Re-run with the original arguments to continue it, or choose another --out for a new sweep.',
      );
    }
    return;
  }
  if (existsSync(join(dir, RECORDS_FILE))) {
    throw new GlekitError(`${join(dir, RECORDS_FILE)} exists without ${MANIFEST_FILE}; cannot tell which sweep it belongs to. Choose another --out.`);
  }
  const manifest: Manifest = { format: MANIFEST_FORMAT, created: new Date().toISOString(), command, model, args, jobs };
  writeFileAtomic(file, JSON.stringify(manifest, null, 1) + '\n');
}

function workerScript(): URL {
  const url = new URL('./worker.js', import.meta.url);
  if (!existsSync(fileURLToPath(url))) {
    throw new GlekitError(`${fileURLToPath(url)} is missing: worker threads run the compiled glekit (npx tsc -p tsconfig.json), or use workers: 0`);
  }
  return url;
}

/** Runs jobs on `count` worker threads; onRecord is called on this thread for each finished job. */
export function runOnWorkers(init: JobContextInit, jobs: Job[], count: number, onRecord: (r: JobRecord) => void): Promise<void> {
  const script = workerScript();
  return new Promise<void>((resolvePool, rejectPool) => {
    let next = 0;
    let live = 0;
    let failure: Error | null = null;
    const workers: Worker[] = [];
    const finish = (): void => {
      if (live > 0) return;
      if (failure !== null) rejectPool(failure);
      else resolvePool();
    };
    const fail = (err: Error): void => {
      if (failure === null) failure = err;
      for (const w of workers) void w.terminate();
    };
    const dispatch = (w: Worker): void => {
      if (failure !== null) return;
      if (next < jobs.length) w.postMessage({ type: 'job', job: jobs[next++] } satisfies ToWorker);
      else w.postMessage({ type: 'stop' } satisfies ToWorker);
    };
    for (let i = 0; i < Math.min(count, jobs.length); i++) {
      const w = new Worker(script, { workerData: init });
      workers.push(w);
      live++;
      w.on('message', (m: FromWorker) => {
        switch (m.type) {
          case 'ready':
            dispatch(w);
            break;
          case 'done':
            try {
              onRecord(m.record);
            } catch (e) {
              fail(e as Error);
              break;
            }
            dispatch(w);
            break;
          case 'failed': {
            const job = jobs.find((j) => j.id === m.jobId);
            fail(new GlekitError(`job ${m.jobId} (${JSON.stringify(job?.params)}, chip seed ${job?.seed}) failed: ${m.message}`));
            break;
          }
          case 'fatal':
            fail(new GlekitError(`a sweep worker could not start: ${m.message}`));
            break;
        }
      });
      w.on('error', (e) => fail(e));
      w.on('exit', (code) => {
        live--;
        if (code !== 0 && failure === null) fail(new GlekitError(`a sweep worker exited with code ${code}`));
        finish();
      });
    }
    if (workers.length === 0) resolvePool();
  });
}

/** DIR/sweep.lock: held while a sweep works in DIR (pid and host inside; see src/util/lock.ts). */
export const LOCK_FILE = 'sweep.lock';

/** Runs a sweep holding DIR/sweep.lock, so that a second sweep on the same directory is refused while this one runs. */
export async function runSweep(opts: SweepOptions): Promise<SweepResult> {
  const releases: (() => void)[] = [];
  const lock = (dir: string, log: (s: string) => void): void => {
    releases.push(acquireDirectoryLock(dir, LOCK_FILE, 'a sweep', opts.command ?? '', log));
  };
  try {
    return await runSweepLocked(opts, lock);
  } finally {
    for (const release of releases) release();
  }
}

/** A sweep's arguments checked and expanded: everything that decides its jobs, before anything is written. */
export interface PreparedSweep {
  dir: string;
  model: ModelFile;
  profile: HwProfile;
  axes: VaryAxis[];
  points: Overrides[];
  settings: SweepSettings;
  jobs: Job[];
  args: ManifestArgs;
  workerCount: number;
  log: (s: string) => void;
}

/** Checks the options, loads model and profile, checks every point, and plans the jobs. */
export function prepareSweep(opts: SweepOptions): PreparedSweep {
  const seeds = requireInt('--seeds', opts.seeds, 1);
  const trainOnChip = requireInt('--train-on-chip', opts.trainOnChip ?? 0, 0);
  const learnTau = opts.learnTau === true;
  if (learnTau && trainOnChip === 0) throw new GlekitError('--learn-tau learns tau_m while training on the chip: it needs --train-on-chip EPOCHS');
  const resetState = opts.resetState === true;
  if (resetState && trainOnChip === 0) throw new GlekitError('--reset-state changes training on the chip: it needs --train-on-chip EPOCHS');
  const chipLr = opts.chipLr ?? DEFAULT_CHIP_LR;
  if (!(chipLr > 0) || !Number.isFinite(chipLr)) throw new ValidationError('arguments', '--chip-lr', opts.chipLr, 'must be a positive number');
  const tauLrFactor = opts.tauLrFactor ?? 1;
  if (!(tauLrFactor > 0) || !Number.isFinite(tauLrFactor))
    throw new ValidationError('arguments', '--tau-lr-factor', opts.tauLrFactor, 'must be a positive number');
  if (tauLrFactor !== 1 && !learnTau) throw new GlekitError('--tau-lr-factor sets the rate of tau_m learning: it needs --learn-tau');
  const workerCount = opts.workers ?? availableParallelism();
  requireInt('--workers', workerCount, 0);
  const split = opts.split ?? 'test';
  const log = (s: string): void => {
    if (!opts.quiet) process.stderr.write(s + '\n');
  };

  const model = loadModel(opts.model);
  const profile = loadProfile(opts.hw);
  const axes = parseVaries(opts.vary);
  const points = gridPoints(axes);
  const spec = modelToSpec(model);
  const architecture = { inputSize: spec.layers[0].inputSize, layerSizes: spec.layers.map((l) => l.outputSize) };
  // every point must be a valid profile and the network must fit it: fail before any job runs
  for (const params of points) {
    const p = withOverrides(profile, params);
    new Substrate(spec, realiseChip(p, architecture, 1));
  }
  const settings: SweepSettings = {
    task: model.task,
    dataSeed: typeof model.training.dataSeed === 'number' ? model.training.dataSeed : 0,
    split,
    modelHash: model.contentHash,
    profileName: profile.name,
    profileHash: profileHash(profile),
    trainOnChip,
    learnTau,
    chipLr,
    ...(tauLrFactor !== 1 ? { tauLrFactor } : {}),
    resetState,
    kernels: kernelsLabel(defaultKernels()),
  };
  const jobs = planJobs(settings, points, seeds);
  const args: ManifestArgs = { settings, vary: axes.map((a) => ({ names: a.names, values: a.values })), seeds };
  return { dir: resolve(opts.out), model, profile, axes, points, settings, jobs, args, workerCount, log };
}

/** The grid of a manifest's arguments, as parseVaries would give it. */
export function axesOf(args: ManifestArgs): VaryAxis[] {
  return args.vary.map((v) => ({ names: v.names as VaryAxis['names'], values: v.values }));
}

/**
 * summary.json, summary.md and the plots of a sweep from its records: the same bytes
 * whichever machines or processes wrote the records, and in whatever order.
 */
export async function writeSweepOutputs(
  dir: string,
  args: ManifestArgs,
  records: Iterable<JobRecord>,
  plots: boolean,
): Promise<{ summary: PointSummary[]; files: string[] }> {
  const s = args.settings;
  const axes = axesOf(args);
  const points = gridPoints(axes);
  const jobs = points.length * args.seeds;
  const tauLrFactor = s.tauLrFactor ?? 1;
  const summary = summarise(points, records);
  const inLoop =
    `, ${s.trainOnChip} epoch${s.trainOnChip === 1 ? '' : 's'} in the loop at lr ${s.chipLr}` +
    `${s.learnTau ? ` learning tau_m${tauLrFactor !== 1 ? ` (x${tauLrFactor})` : ''}` : ''}${s.resetState ? ', state reset per batch' : ''}`;
  const title = `${s.task} on ${s.profileName}${s.trainOnChip > 0 ? inLoop : ''}`;
  const header = `# ${title}\n\nmodel ${s.modelHash}, ${args.seeds} chips per point (seeds 1..${args.seeds}), ${s.split} split, ${jobs} jobs`;
  const files = writeSummaryFiles(dir, axes, summary, s.trainOnChip > 0, header);
  if (plots) files.push(...(await writeSweepPlots(dir, axes, summary, title)));
  return { summary, files };
}

async function runSweepLocked(opts: SweepOptions, lock: (dir: string, log: (s: string) => void) => void): Promise<SweepResult> {
  const started = performance.now();
  const { dir, profile, axes, settings, jobs, args, workerCount, log } = prepareSweep(opts);
  mkdirSync(dir, { recursive: true });
  lock(dir, log);
  checkManifest(dir, args, jobs.length, opts.model, opts.command ?? '');

  // every records file counts: shards of a cluster run may have done some of the jobs
  const done = readAllRecords(dir, new Map(jobs.map((j) => [j.id, j])), log, true).done;
  const todo = jobs.filter((j) => !done.has(j.id));
  const resumed = done.size;
  if (resumed > 0) log(`${dir}: ${resumed} of ${jobs.length} jobs already done; running the other ${todo.length}`);

  const init: JobContextInit = { modelPath: resolve(opts.model), profile, settings };
  const progress = createProgress(`robustness ${profile.name}`, Math.max(1, todo.length), { quiet: opts.quiet });
  let ran = 0;
  const writer = new RecordWriter(join(dir, RECORDS_FILE));
  const onRecord = (r: JobRecord): void => {
    writer.append(r);
    done.set(r.jobId, r);
    ran++;
    progress.update(ran, `${done.size}/${jobs.length} jobs done`);
  };
  const threads = Math.min(workerCount, todo.length);
  try {
    await runJobs(init, todo, workerCount, onRecord);
  } finally {
    writer.close();
    progress.stop();
  }

  const { summary, files } = await writeSweepOutputs(dir, args, done.values(), opts.plots !== false);
  return {
    points: summary,
    axes,
    jobs: jobs.length,
    resumed,
    ran,
    workers: workerCount === 0 ? 0 : threads,
    wallSeconds: (performance.now() - started) / 1000,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    files,
  };
}

/**
 * Runs jobs on `workers` threads (0: on this thread), calling onRecord on this thread for
 * each. With workers, every job's products run on its worker's thread alone: the workers
 * already fill the cores, and the kernels' own threads would oversubscribe them (the
 * setting is restored afterwards; results are the same bits either way).
 */
export async function runJobs(init: JobContextInit, jobs: Job[], workers: number, onRecord: (r: JobRecord) => void): Promise<void> {
  if (jobs.length === 0) return;
  if (workers === 0) {
    const ctx = createJobContext(init);
    for (const job of jobs) onRecord(await runJob(ctx, job));
    return;
  }
  const kernelThreadsBefore = kernelThreads();
  setKernelThreads(1);
  try {
    await runOnWorkers(init, jobs, workers, onRecord);
  } finally {
    setKernelThreads(kernelThreadsBefore);
  }
}

export { formatTable, axisLabel };
export type { Overrides };
