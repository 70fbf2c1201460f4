/**
 * A sweep beyond one machine: the directory on shared storage is the whole state, and a
 * cluster's own scheduler (a Slurm job array, a Kubernetes indexed job) starts the
 * processes, retries them and accounts for them.
 *
 * - plan (`robustness ... --plan-only`): DIR/manifest.json (as a single-machine run writes
 *   it, so either can continue the other), DIR/plan.json (the jobs with their ids, points,
 *   seeds and expected costs; the resolved profile) and DIR/model.json (a copy of the model).
 * - run (`robustness run --dir DIR --shard I/N`): the jobs of shard I without a record in
 *   any records file, appended to a records file of this process alone (src/sweep/records.ts).
 * - collect: the union of the records, duplicates dropped, the missing jobs named, and the
 *   summary and plots a single-machine run writes, byte for byte.
 * - status: how far the study is, per sweep and per shard.
 *
 * DIR may also be a study: a directory whose subdirectories are planned sweeps. Its shards
 * split the union of the sweeps' jobs, so that one array runs the whole study.
 *
 * Locks: none in a sharded run. A records file has one writer by construction (its name
 * holds host, pid and start time), so there is nothing to serialise, and a lock could not
 * be trusted anyway: a network file system may not honour it, and a lock left by a task
 * whose node died cannot be told from a live one on another host, so it would stop the
 * requeued task. Two processes on the same shard (a rerun while a stale attempt still
 * runs) only duplicate work, which collect drops. DIR/sweep.lock still keeps two
 * single-machine runs apart, since those share DIR/records.jsonl.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { profileHash, withOverrides, type HwProfile } from '../hw/index.js';
import { loadModel, modelToSpec } from '../model/model-file.js';
import { loadClassificationTask } from '../tasks/index.js';
import { GlekitError } from '../util/errors.js';
import { sameFile, writeFileAtomic } from '../util/files.js';
import type { JobRecord } from './job.js';
import { gridPoints, planJobs, type Job } from './plan.js';
import { readAllRecords, RecordWriter, shardRecordsFile, type ReadRecordsResult } from './records.js';
import { axesOf, checkManifest, MANIFEST_FILE, runJobs, writeSweepOutputs, type ManifestArgs, type PreparedSweep } from './run.js';
import { balanceOf, expectedCost, splitByCost, type Balance, type CostModel, type Shard } from './shard.js';
import type { PointSummary } from './summary.js';

export const PLAN_FORMAT = 'glekit.sweep-plan/1';
export const PLAN_FILE = 'plan.json';
export const PLAN_MODEL_FILE = 'model.json';

export interface PlannedJob {
  id: string;
  point: number;
  seed: number;
  params: Job['params'];
  /** expected cost (src/sweep/shard.ts: one evaluation time step of one sample through one synapse) */
  cost: number;
}

export interface PlanFile {
  format: typeof PLAN_FORMAT;
  created: string;
  command: string;
  args: ManifestArgs;
  /** the profile as resolved when planned: compute nodes need not resolve --hw again */
  profile: HwProfile;
  /** the model's copy, relative to the sweep directory */
  model: string;
  cost: CostModel;
  jobs: PlannedJob[];
}

/** The cost model of a prepared sweep: network size, presentation length and split sizes. */
function costModelOf(prep: PreparedSweep): CostModel {
  const spec = modelToSpec(prep.model);
  const data = loadClassificationTask(prep.settings.task, prep.settings.dataSeed, prep.model.presentation);
  const synapses = spec.layers.reduce((a, l) => a + l.inputSize * l.outputSize, 0);
  const neurons = spec.layers.reduce((a, l) => a + l.outputSize, 0);
  const split = prep.settings.split === 'test' ? data.test : data.validation;
  return {
    steps: prep.model.presentation.stepsPerSample,
    synapses,
    neurons,
    evalSamples: split.count,
    trainSamples: data.train.count,
    validationSamples: data.validation.count,
    trainOnChip: prep.settings.trainOnChip,
    learnTau: prep.settings.learnTau,
  };
}

/**
 * Writes the plan of a sweep (manifest, plan.json, the model's copy) without running a job.
 * Planning the same arguments again changes nothing; other arguments are refused as a
 * single-machine run refuses them.
 */
export function writePlan(prep: PreparedSweep, modelPath: string, command: string): { dir: string; jobs: number; files: string[] } {
  const dir = prep.dir;
  mkdirSync(dir, { recursive: true });
  checkManifest(dir, prep.args, prep.jobs.length, modelPath, command);
  const copy = join(dir, PLAN_MODEL_FILE);
  if (!sameFile(modelPath, copy)) {
    if (existsSync(copy)) {
      const there = loadModel(copy);
      if (there.contentHash !== prep.model.contentHash) {
        throw new GlekitError(`${copy} is another model (content hash ${there.contentHash}, --model has ${prep.model.contentHash}); choose another --out`);
      }
    } else {
      writeFileAtomic(copy, readFileSync(modelPath));
    }
  }
  const cost = costModelOf(prep);
  const noisy = (params: Job['params']): boolean => {
    const n = withOverrides(prep.profile, params).noise;
    return n.membrane.std.value > 0 || n.rate.std.value > 0;
  };
  const plan: PlanFile = {
    format: PLAN_FORMAT,
    created: new Date().toISOString(),
    command,
    args: prep.args,
    profile: prep.profile,
    model: PLAN_MODEL_FILE,
    cost,
    jobs: prep.jobs.map((j) => ({ id: j.id, point: j.point, seed: j.seed, params: j.params, cost: expectedCost(cost, noisy(j.params)) })),
  };
  const file = join(dir, PLAN_FILE);
  // the same arguments give the same plan (checkManifest refused others): keep the one shards may be reading
  if (!existsSync(file)) writeFileAtomic(file, JSON.stringify(plan) + '\n');
  return { dir, jobs: prep.jobs.length, files: [join(dir, MANIFEST_FILE), file, copy] };
}

/** One sweep of a study, as read from its directory. */
export interface StudySweep {
  dir: string;
  name: string;
  args: ManifestArgs;
  /** null for a sweep started on one machine (manifest only): it can be collected, not sharded */
  plan: PlanFile | null;
  jobs: Job[];
  costs: number[];
}

function readJson(file: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new GlekitError(`${file}: not a readable ${what} (${(e as Error).message})`);
  }
}

function loadSweep(dir: string): StudySweep {
  const planFile = join(dir, PLAN_FILE);
  let plan: PlanFile | null = null;
  let args: ManifestArgs;
  if (existsSync(planFile)) {
    plan = readJson(planFile, 'sweep plan') as PlanFile;
    if (plan.format !== PLAN_FORMAT) throw new GlekitError(`${planFile}: format must be "${PLAN_FORMAT}" (got ${JSON.stringify(plan.format)})`);
    args = plan.args;
  } else {
    const m = readJson(join(dir, MANIFEST_FILE), 'sweep manifest') as { args?: ManifestArgs };
    if (m.args === undefined) throw new GlekitError(`${join(dir, MANIFEST_FILE)}: has no arguments; this directory does not hold a glekit sweep`);
    args = m.args;
  }
  const jobs = planJobs(args.settings, gridPoints(axesOf(args)), args.seeds);
  if (plan !== null) {
    const ids = plan.jobs.map((j) => j.id);
    if (ids.length !== jobs.length || ids.some((id, i) => id !== jobs[i].id)) {
      throw new GlekitError(
        `${planFile}: its job ids are not the ones this glekit derives from its arguments (planned by another version?); plan the sweep again in a new directory`,
      );
    }
  }
  return { dir, name: basename(dir), args, plan, jobs, costs: plan?.jobs.map((j) => j.cost) ?? jobs.map(() => 1) };
}

const isSweepDir = (d: string): boolean => existsSync(join(d, PLAN_FILE)) || existsSync(join(d, MANIFEST_FILE));

/** DIR as a sweep (it holds plan.json or manifest.json) or a study (its subdirectories do), sweeps in name order. */
export function loadStudy(dirArg: string, needPlan: boolean): StudySweep[] {
  const dir = resolve(dirArg);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new GlekitError(`--dir ${dirArg}: not a directory`);
  const sweeps = isSweepDir(dir)
    ? [loadSweep(dir)]
    : readdirSync(dir)
        .sort()
        .map((n) => join(dir, n))
        .filter((d) => statSync(d).isDirectory() && isSweepDir(d))
        .map(loadSweep);
  if (sweeps.length === 0) {
    throw new GlekitError(
      `--dir ${dirArg}: holds no sweep (no ${PLAN_FILE} or ${MANIFEST_FILE} in it or in a subdirectory); plan one with glekit robustness ... --out DIR --plan-only`,
    );
  }
  if (needPlan) {
    const unplanned = sweeps.filter((s) => s.plan === null).map((s) => s.dir);
    if (unplanned.length > 0) {
      throw new GlekitError(
        `${unplanned.join(', ')}: started on one machine, without ${PLAN_FILE}; plan it with the same arguments and --plan-only to run it as shards`,
      );
    }
  }
  return sweeps;
}

/** The shard of every job of the study, sweep after sweep in name order. */
export function studyAssignment(sweeps: readonly StudySweep[], count: number): { shardOf: number[][]; balance: Balance } {
  const costs = sweeps.flatMap((s) => s.costs);
  const flat = splitByCost(costs, count);
  const shardOf: number[][] = [];
  let k = 0;
  for (const s of sweeps) {
    shardOf.push(flat.slice(k, k + s.jobs.length));
    k += s.jobs.length;
  }
  return { shardOf, balance: balanceOf(costs, flat, count) };
}

const jobMap = (s: StudySweep): Map<string, Job> => new Map(s.jobs.map((j) => [j.id, j]));

export interface ShardRunResult {
  shard: Shard;
  /** jobs of this shard, over all sweeps */
  jobs: number;
  doneBefore: number;
  ran: number;
  workers: number;
  wallSeconds: number;
  files: string[];
}

/** Runs the jobs of one shard that no records file holds yet. */
export async function runShard(opts: { dir: string; shard: Shard; workers: number; quiet?: boolean }): Promise<ShardRunResult> {
  const started = performance.now();
  const log = (s: string): void => {
    if (!opts.quiet) process.stderr.write(s + '\n');
  };
  const { index, count } = opts.shard;
  const sweeps = loadStudy(opts.dir, true);
  const { shardOf } = studyAssignment(sweeps, count);
  const mine = sweeps.map((s, k) => s.jobs.filter((_, i) => shardOf[k][i] === index));
  const total = mine.reduce((a, j) => a + j.length, 0);
  const todo = sweeps.map((s, k) => {
    const done = readAllRecords(s.dir, jobMap(s), log).done;
    return mine[k].filter((j) => !done.has(j.id));
  });
  const remaining = todo.reduce((a, j) => a + j.length, 0);
  log(
    `shard ${index}/${count} (${opts.shard.source}): ${total} jobs in ${mine.filter((j) => j.length > 0).length} sweep(s), ` +
      `${total - remaining} done before, running ${remaining} on ${opts.workers === 0 ? 'this thread' : `${opts.workers} worker thread(s)`}`,
  );
  let ran = 0;
  const files: string[] = [];
  for (const [k, s] of sweeps.entries()) {
    if (todo[k].length === 0) continue;
    const plan = s.plan!;
    if (profileHash(plan.profile) !== s.args.settings.profileHash)
      throw new GlekitError(`${join(s.dir, PLAN_FILE)}: its profile does not have the hash its settings name; plan the sweep again`);
    const writer = new RecordWriter(shardRecordsFile(s.dir, index, count), true);
    const init = { modelPath: join(s.dir, plan.model), profile: plan.profile, settings: s.args.settings };
    try {
      await runJobs(init, todo[k], opts.workers, (r: JobRecord) => {
        writer.append(r);
        ran++;
        log(
          `shard ${index}/${count}: ${s.name} job ${r.jobId} (${JSON.stringify(r.params)}, chip seed ${r.seed}) done in ${r.timing.seconds.toFixed(2)} s; ${total - remaining + ran}/${total}`,
        );
      });
    } finally {
      writer.close();
    }
    files.push(writer.file);
  }
  return {
    shard: opts.shard,
    jobs: total,
    doneBefore: total - remaining,
    ran,
    workers: opts.workers,
    wallSeconds: (performance.now() - started) / 1000,
    files,
  };
}

/** The one shard count the study's records files were written for, or null (none, or several). */
function recordedShardCount(reads: readonly ReadRecordsResult[]): number | null {
  const counts = new Set(reads.flatMap((r) => r.perFile.flatMap((f) => (f.info.shard === null ? [] : [f.info.shard.count]))));
  return counts.size === 1 ? [...counts][0] : null;
}

export interface SweepProgress {
  name: string;
  dir: string;
  jobs: number;
  done: number;
  missing: Job[];
  duplicates: number;
  conflicting: string[];
  recordsFiles: number;
  /** expected cost done over the sweep's whole expected cost */
  costDone: number;
  /** jobs and jobs done per shard (when the shard count is known) */
  shards: { jobs: number; done: number; attempts: number }[] | null;
}

/** How far every sweep of the study is; per shard for `tasks` shards, or for the one count the records files name. */
export function studyProgress(
  dirArg: string,
  tasks?: number,
): { sweeps: SweepProgress[]; shardCount: number | null; reads: ReadRecordsResult[]; study: StudySweep[] } {
  const study = loadStudy(dirArg, false);
  const reads = study.map((s) => readAllRecords(s.dir, jobMap(s), () => {}));
  const shardCount = tasks ?? recordedShardCount(reads);
  const assignment = shardCount !== null && study.every((s) => s.plan !== null) ? studyAssignment(study, shardCount).shardOf : null;
  const sweeps = study.map((s, k): SweepProgress => {
    const done = reads[k].done;
    const missing = s.jobs.filter((j) => !done.has(j.id));
    const totalCost = s.costs.reduce((a, b) => a + b, 0);
    const costDone = s.jobs.reduce((a, j, i) => a + (done.has(j.id) ? s.costs[i] : 0), 0);
    let shards: SweepProgress['shards'] = null;
    if (assignment !== null && shardCount !== null) {
      shards = Array.from({ length: shardCount }, () => ({ jobs: 0, done: 0, attempts: 0 }));
      s.jobs.forEach((j, i) => {
        const sh = shards![assignment[k][i]];
        sh.jobs++;
        if (done.has(j.id)) sh.done++;
      });
      for (const f of reads[k].perFile) if (f.info.shard !== null && f.info.shard.count === shardCount) shards[f.info.shard.index].attempts++;
    }
    return {
      name: s.name,
      dir: s.dir,
      jobs: s.jobs.length,
      done: done.size,
      missing,
      duplicates: reads[k].duplicates,
      conflicting: reads[k].conflicting,
      recordsFiles: reads[k].perFile.length,
      costDone: totalCost > 0 ? costDone / totalCost : 1,
      shards,
    };
  });
  return { sweeps, shardCount, reads, study };
}

export interface CollectResult {
  sweeps: { name: string; dir: string; jobs: number; records: number; duplicates: number; missing: number; files: string[]; points: PointSummary[] }[];
  /** missing jobs over the study */
  missing: number;
}

/** Names the missing jobs: per sweep, with their shards when the shard count is known. */
function describeMissing(p: ReturnType<typeof studyProgress>): string {
  const parts: string[] = [];
  for (const s of p.sweeps) {
    if (s.missing.length === 0) continue;
    const shards = s.shards?.map((sh, i) => (sh.done < sh.jobs ? `${i}` : '')).filter((x) => x !== '') ?? [];
    const first = s.missing
      .slice(0, 3)
      .map((j) => `${JSON.stringify(j.params)} seed ${j.seed}`)
      .join(', ');
    parts.push(
      `${s.name}: ${s.missing.length} of ${s.jobs} (${first}${s.missing.length > 3 ? ', ...' : ''})` +
        (shards.length > 0 ? ` in shard${shards.length > 1 ? 's' : ''} ${shards.join(', ')} of ${p.shardCount}` : ''),
    );
  }
  return parts.join('; ');
}

/**
 * Merges every records file of every sweep of the study and writes each sweep's summary
 * and plots as a single-machine run does. Missing jobs are an error that names them,
 * unless `allowMissing` (then the summaries count what is there).
 */
export async function collectStudy(opts: { dir: string; plots?: boolean; allowMissing?: boolean; tasks?: number; quiet?: boolean }): Promise<CollectResult> {
  const log = (s: string): void => {
    if (!opts.quiet) process.stderr.write(s + '\n');
  };
  const p = studyProgress(opts.dir, opts.tasks);
  const missing = p.sweeps.reduce((a, s) => a + s.missing.length, 0);
  if (missing > 0 && opts.allowMissing !== true) {
    const shardHint = p.shardCount !== null ? ` (glekit robustness run --dir ${opts.dir} --shard I/${p.shardCount}, or requeue those array tasks)` : '';
    throw new GlekitError(`${missing} job(s) have no record: ${describeMissing(p)}. Run their shards again${shardHint}, or collect with --allow-missing`);
  }
  const result: CollectResult = { sweeps: [], missing };
  for (const [k, s] of p.study.entries()) {
    const pr = p.sweeps[k];
    if (pr.conflicting.length > 0) {
      log(
        `${s.name}: ${pr.conflicting.length} job(s) recorded twice with different results (the first record counts): ${pr.conflicting.slice(0, 3).join(', ')}`,
      );
    }
    const { summary, files } = await writeSweepOutputs(s.dir, s.args, p.reads[k].done.values(), opts.plots !== false);
    result.sweeps.push({
      name: s.name,
      dir: s.dir,
      jobs: s.jobs.length,
      records: pr.done,
      duplicates: pr.duplicates,
      missing: pr.missing.length,
      files,
      points: summary,
    });
  }
  return result;
}

/** One human line per sweep and, when the shard count is known, per shard. */
export function formatProgress(p: ReturnType<typeof studyProgress>): string {
  const lines: string[] = [];
  const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
  const jobs = p.sweeps.reduce((a, s) => a + s.jobs, 0);
  const done = p.sweeps.reduce((a, s) => a + s.done, 0);
  lines.push(
    `${done}/${jobs} jobs done (${pct(jobs > 0 ? done / jobs : 1)}) in ${p.sweeps.length} sweep(s)${p.shardCount !== null ? `, ${p.shardCount} shards` : ''}`,
  );
  for (const s of p.sweeps) {
    lines.push(
      `  ${s.name}: ${s.done}/${s.jobs} jobs, ${pct(s.costDone)} of the expected cost, ${s.recordsFiles} records file(s)` +
        `${s.duplicates > 0 ? `, ${s.duplicates} duplicate record(s) dropped` : ''}`,
    );
  }
  if (p.shardCount !== null && p.sweeps.every((s) => s.shards !== null)) {
    const per = Array.from({ length: p.shardCount }, (_, i) =>
      p.sweeps.reduce(
        (a, s) => ({
          jobs: a.jobs + s.shards![i].jobs,
          done: a.done + s.shards![i].done,
          attempts: a.attempts + s.shards![i].attempts,
        }),
        { jobs: 0, done: 0, attempts: 0 },
      ),
    );
    per.forEach((sh, i) => {
      const state = sh.done === sh.jobs ? 'complete' : sh.attempts === 0 ? 'not started' : 'incomplete';
      lines.push(`  shard ${i}/${p.shardCount}: ${sh.done}/${sh.jobs} jobs, ${sh.attempts} records file(s), ${state}`);
    });
  }
  return lines.join('\n');
}

export interface SlurmOptions {
  dir: string;
  tasks: number;
  partition?: string;
  time?: string;
  cpus?: number;
  /** the command that runs glekit on the compute nodes (default: this node and this glekit, by absolute path) */
  glekit?: string;
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** This glekit, as a command a compute node can run: node and the CLI's entry point by absolute path. */
function thisGlekit(): string {
  const main = process.argv[1] !== undefined ? realpathSync(process.argv[1]) : '';
  return `${shellQuote(process.execPath)} ${shellQuote(main)}`;
}

/**
 * Writes DIR/slurm/robustness.sbatch: an array of `tasks` tasks, task I running shard
 * I/tasks, requeued by Slurm on node failure, one output file per task (appended to by
 * every attempt).
 */
export function writeSlurmScript(opts: SlurmOptions): { script: string; balance: Balance; text: string; jobs: number } {
  const sweeps = loadStudy(opts.dir, true);
  const dir = resolve(opts.dir);
  if (/[\s"'\\%]/.test(dir))
    throw new GlekitError(`--dir ${opts.dir}: Slurm's #SBATCH lines cannot hold a path with blanks, quotes, backslashes or %; use another directory`);
  if (opts.partition !== undefined && !/^[A-Za-z0-9_.,-]+$/.test(opts.partition))
    throw new GlekitError(`option --partition: not a partition name (got ${JSON.stringify(opts.partition)})`);
  if (opts.time !== undefined && !/^[0-9]+([-:][0-9]+){0,3}$/.test(opts.time)) {
    throw new GlekitError(`option --time: must be a Slurm time limit such as 30, 2:00:00 or 1-12 (got ${JSON.stringify(opts.time)})`);
  }
  const { balance } = studyAssignment(sweeps, opts.tasks);
  const jobs = sweeps.reduce((a, s) => a + s.jobs.length, 0);
  const cpus = opts.cpus ?? 1;
  const out = join(dir, 'slurm');
  mkdirSync(out, { recursive: true });
  const lines = [
    '#!/bin/sh',
    `# glekit robustness as a Slurm job array: ${opts.tasks} tasks, task I runs shard I/${opts.tasks} of ${jobs} jobs in ${sweeps.length} sweep(s).`,
    `# Written by glekit robustness slurm; submit with sbatch (or --submit). Rerun one shard: sbatch --array=I ${join(out, 'robustness.sbatch')}`,
    `#   expected cost per task: largest over mean ${balance.maxOverMean.toFixed(3)}`,
    '#SBATCH --job-name=glekit-robustness',
    `#SBATCH --array=0-${opts.tasks - 1}`,
    '#SBATCH --ntasks=1',
    `#SBATCH --cpus-per-task=${cpus}`,
    '#SBATCH --requeue',
    '#SBATCH --open-mode=append',
    `#SBATCH --output=${join(out, '%A_%a.out')}`,
    ...(opts.time !== undefined ? [`#SBATCH --time=${opts.time}`] : []),
    ...(opts.partition !== undefined ? [`#SBATCH --partition=${opts.partition}`] : []),
    `echo "glekit shard \${SLURM_ARRAY_TASK_ID}/${opts.tasks}: job \${SLURM_ARRAY_JOB_ID}_\${SLURM_ARRAY_TASK_ID}, attempt $((\${SLURM_RESTART_COUNT:-0} + 1)) on $(hostname) at $(date -u +%Y-%m-%dT%H:%M:%SZ)"`,
    `exec ${opts.glekit ?? thisGlekit()} robustness run --dir ${shellQuote(dir)} --shards ${opts.tasks} --workers "\${SLURM_CPUS_PER_TASK:-1}"`,
    '',
  ];
  const script = join(out, 'robustness.sbatch');
  const text = lines.join('\n');
  writeFileAtomic(script, text);
  return { script, balance, text, jobs };
}

/** sbatch --parsable SCRIPT: the job id. */
export function submitSlurmScript(script: string): string {
  const r = spawnSync('sbatch', ['--parsable', script], { encoding: 'utf8' });
  if (r.error !== undefined) {
    throw new GlekitError(
      `cannot run sbatch (${(r.error as NodeJS.ErrnoException).code ?? r.error.message}): submit ${script} on a machine with Slurm, or leave out --submit`,
    );
  }
  if (r.status !== 0) throw new GlekitError(`sbatch ${script} failed (exit code ${r.status}): ${r.stderr.trim()}`);
  return r.stdout.trim().split(';')[0];
}
