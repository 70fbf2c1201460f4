/**
 * `glekit robustness`: accuracy of a trained model over a grid of substrate settings and
 * chips, resumable (see src/sweep/run.ts); with --plan-only and the subcommands run,
 * slurm, collect and status, the same sweep as shards on a cluster (src/sweep/cluster.ts).
 */
import type { Command } from 'commander';
import { availableParallelism } from 'node:os';
import {
  collectStudy,
  formatProgress,
  parseShard,
  prepareSweep,
  runShard,
  runSweep,
  formatTable,
  shardFromEnvironment,
  studyProgress,
  submitSlurmScript,
  writePlan,
  writeSlurmScript,
  type SlurmOptions,
} from '../sweep/index.js';
import { formatDivergences } from '../sweep/summary.js';
import { checkModelFitsTask, loadModel, trainingInfo } from '../model/index.js';
import { loadClassificationTask } from '../tasks/index.js';
import { GlekitError } from '../util/errors.js';
import { checkOutputDirectory } from '../util/files.js';
import { integerOption, positiveOption, printResult } from './options.js';

export function registerRobustnessCommand(program: Command): void {
  const robustness = program
    .command('robustness')
    .description('Sweep substrate imperfections over chips: accuracy of a model per point, mean and std over chip seeds')
    .option('--model <file>', 'trained model file (required)')
    .option('--hw <profile>', 'hardware profile (glekit hw list) or a profile file (required)')
    .option(
      '--vary <NAME=LIST|FROM:TO:STEP>',
      'parameter to sweep, repeatable; join names with + to move them together (tauMCV+tauRCV=0,0.1)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option('--seeds <n>', 'chips per point (seeds 1..n) (required)', integerOption('seeds', 1))
    .option('--train-on-chip <epochs>', 'train in the loop on each chip for this many epochs before measuring', integerOption('train-on-chip', 0), 0)
    .option('--learn-tau', 'learn tau_m while training on the chip (needs --train-on-chip)')
    .option('--chip-lr <lr>', 'learning rate of training in the loop (default 1e-3)', positiveOption('chip-lr'))
    .option('--tau-lr-factor <x>', 'learning rate of tau_m as a multiple of --chip-lr (needs --learn-tau; default 1)', positiveOption('tau-lr-factor'))
    .option('--reset-state', "training in the loop resets the chip's state before each batch, as evaluation does (default: carry it, as the float trainer)")
    .option('--split <split>', 'test | validation', 'test')
    .option('--workers <n>', 'worker threads (default: all cores; 0: this thread)', integerOption('workers', 0))
    .option('--out <dir>', 'directory for the manifest, records, summary and plots (re-run to resume) (required)')
    .option('--plan-only', "write the plan (manifest, plan.json with every job, the model's copy) and stop: run it with robustness run / slurm")
    .option('--no-plots', 'skip the SVG/PNG plots')
    .option('--json', 'print { points: [ { params, accuracyMean, accuracyStd, n } ] } as the last line of stdout')
    .option('--quiet', 'no progress output')
    .action(runRobustness);
  registerClusterCommands(robustness);
}

type RobustnessOptions = {
  model: string;
  hw: string;
  vary: string[];
  seeds: number;
  trainOnChip: number;
  learnTau?: boolean;
  chipLr?: number;
  tauLrFactor?: number;
  resetState?: boolean;
  split: string;
  workers?: number;
  out: string;
  plots: boolean;
  json?: boolean;
  quiet?: boolean;
  planOnly?: boolean;
};

/** The options a run needs, checked before any job: required flags, the split, the output directory, the model on its task. */
function checkRobustnessOptions(opts: RobustnessOptions, cmd: Command): void {
  // required here rather than by commander, which would demand them of the subcommands too
  for (const [key, flag] of [
    ['model', '--model <file>'],
    ['hw', '--hw <profile>'],
    ['seeds', '--seeds <n>'],
    ['out', '--out <dir>'],
  ] as const) {
    if (opts[key] === undefined) cmd.error(`error: required option '${flag}' not specified`);
  }
  if (opts.split !== 'test' && opts.split !== 'validation')
    throw new GlekitError(`option --split: must be test or validation (got ${JSON.stringify(opts.split)})`);
  if (opts.chipLr !== undefined && opts.trainOnChip === 0)
    throw new GlekitError(
      'option --chip-lr: sets the rate of training in the loop, which runs only with --train-on-chip EPOCHS; leave it out or add --train-on-chip',
    );
  // before any job: the output directory can be made, and the model runs on its task
  checkOutputDirectory('--out', opts.out, [
    { option: '--model', path: opts.model },
    { option: '--hw', path: opts.hw },
  ]);
  const model = loadModel(opts.model);
  checkModelFitsTask(model, loadClassificationTask(model.task, trainingInfo(model).dataSeed, model.presentation), opts.model);
}

async function runRobustness(opts: RobustnessOptions, cmd: Command): Promise<void> {
  checkRobustnessOptions(opts, cmd);
  const split = opts.split as 'test' | 'validation'; // checked above
  const command = ['glekit', ...process.argv.slice(2)].join(' ');
  // what planning and running share
  const sweep = {
    model: opts.model,
    hw: opts.hw,
    vary: opts.vary,
    seeds: opts.seeds,
    trainOnChip: opts.trainOnChip,
    learnTau: opts.learnTau,
    chipLr: opts.chipLr,
    tauLrFactor: opts.tauLrFactor,
    resetState: opts.resetState,
    split,
    out: opts.out,
    workers: opts.workers,
    quiet: opts.quiet,
  };
  if (opts.planOnly) {
    const prep = prepareSweep(sweep);
    const planned = writePlan(prep, opts.model, command);
    printResult(
      opts.json === true,
      { dir: planned.dir, jobs: planned.jobs, files: planned.files },
      `planned ${planned.jobs} jobs in ${planned.dir} (nothing run); run them with glekit robustness run --dir ${opts.out} --shard I/N, or glekit robustness slurm --dir ${opts.out} --tasks N`,
    );
    return;
  }
  const result = await runSweep({ ...sweep, plots: opts.plots, command });
  printSweepResult(opts, result);
}

function printSweepResult(opts: RobustnessOptions, result: Awaited<ReturnType<typeof runSweep>>): void {
  const table = formatTable(result.axes, result.points, opts.trainOnChip > 0);
  const divergences = formatDivergences(result.axes, result.points);
  if (divergences.length > 0) process.stderr.write(divergences.join('\n') + '\n');
  const where = result.ran === 0 ? 'nothing left to run' : result.workers === 0 ? 'on this thread' : `on ${result.workers} worker thread(s)`;
  const tail =
    `${result.jobs} jobs (${result.resumed} done before, ${result.ran} now), ${where}, ${result.wallSeconds.toFixed(1)} s; ` +
    `peak RSS ${result.peakRssMB.toFixed(0)} MB; files in ${opts.out}`;
  if (opts.json) {
    if (!opts.quiet) process.stderr.write(`${table}\n${tail}\n`);
    process.stdout.write(
      JSON.stringify({
        points: result.points.map((p) => ({
          params: p.params,
          accuracyMean: p.accuracyMean,
          accuracyStd: p.accuracyStd,
          n: p.n,
          ...(p.diverged.length > 0 ? { diverged: p.diverged } : {}),
        })),
        jobs: result.jobs,
        resumed: result.resumed,
        ran: result.ran,
        workers: result.workers,
        wallSeconds: result.wallSeconds,
        peakRssMB: result.peakRssMB,
      }) + '\n',
    );
  } else {
    process.stdout.write(`${table}\n${tail}\n`);
  }
}

/** Workers of a shard: Slurm's CPUs per task when it says, else every core this process may use. */
function defaultWorkers(): number {
  const slurm = Number(process.env.SLURM_CPUS_PER_TASK);
  return Number.isInteger(slurm) && slurm > 0 ? slurm : availableParallelism();
}

/**
 * The subcommands read their options merged with robustness's own (optsWithGlobals): the
 * flags they share with it (--workers, --json, --quiet, --no-plots) are parsed by it.
 */
function registerClusterCommands(robustness: Command): void {
  registerRunCommand(robustness);
  registerSlurmCommand(robustness);
  registerCollectCommand(robustness);
  registerStatusCommand(robustness);
}

function registerRunCommand(robustness: Command): void {
  robustness
    .command('run')
    .description('Run one shard of a planned sweep (or study): its jobs without a record; the shard is --shard I/N, or the Slurm array task / Kubernetes index')
    .requiredOption('--dir <dir>', 'the planned sweep (robustness ... --plan-only), or a study: a directory of planned sweeps')
    .option('--shard <I/N>', 'shard I of N (I in 0..N-1); default: from SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (or MIN/MAX), or JOB_COMPLETION_INDEX')
    .option('--shards <n>', 'the number of shards, with the index from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX', integerOption('shards', 1))
    .option('--workers <n>', 'worker threads (default: SLURM_CPUS_PER_TASK, else all cores; 0: this thread)', integerOption('workers', 0))
    .option('--json', 'print { shard, jobs, doneBefore, ran, ... } as the last line of stdout')
    .option('--quiet', 'no progress output')
    .action(async (_o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<{ dir: string; shard?: string; shards?: number; workers?: number; json?: boolean; quiet?: boolean }>();
      if (opts.shard !== undefined && opts.shards !== undefined)
        throw new GlekitError('option --shards: gives N for an index taken from the environment; --shard I/N gives both, so leave out one of them');
      const shard = opts.shard !== undefined ? parseShard(opts.shard) : shardFromEnvironment(process.env, opts.shards);
      const r = await runShard({ dir: opts.dir, shard, workers: opts.workers ?? defaultWorkers(), quiet: opts.quiet });
      printResult(
        opts.json === true,
        {
          shard: `${r.shard.index}/${r.shard.count}`,
          jobs: r.jobs,
          doneBefore: r.doneBefore,
          ran: r.ran,
          workers: r.workers,
          wallSeconds: r.wallSeconds,
          files: r.files,
        },
        `shard ${r.shard.index}/${r.shard.count}: ${r.jobs} jobs (${r.doneBefore} done before, ${r.ran} now), ${r.wallSeconds.toFixed(1)} s`,
      );
    });
}

function registerSlurmCommand(robustness: Command): void {
  robustness
    .command('slurm')
    .description('Write an sbatch script that runs a planned sweep (or study) as a Slurm job array, one shard per task; --submit submits it')
    .requiredOption('--dir <dir>', 'the planned sweep or study, on storage the compute nodes share')
    .requiredOption('--tasks <n>', 'array tasks (shards)', integerOption('tasks', 1, 100_000))
    .option('--partition <p>', 'Slurm partition')
    .option('--time <t>', 'time limit per task (Slurm format: minutes, H:MM:SS, D-HH)')
    .option('--cpus <c>', 'CPUs (worker threads) per task (default 1)', integerOption('cpus', 1))
    .option('--glekit <command>', 'how compute nodes run glekit (default: this node and this glekit, by absolute path)')
    .option('--submit', 'submit the script with sbatch and print the job id')
    .option('--json', 'print { script, jobId, balance } as the last line of stdout')
    .action((_o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<SlurmOptions & { submit?: boolean; json?: boolean }>();
      const w = writeSlurmScript(opts);
      const b = w.balance;
      const lines = [
        `wrote ${w.script}: ${opts.tasks} array tasks over ${w.jobs} jobs; jobs per task ${Math.min(...b.jobsPerShard)}..${Math.max(...b.jobsPerShard)}, ` +
          `expected cost of the largest task over the mean ${b.maxOverMean.toFixed(3)}`,
      ];
      let jobId: string | null = null;
      if (opts.submit) {
        jobId = submitSlurmScript(w.script);
        lines.push(`submitted: Slurm job ${jobId}; follow with glekit robustness status --dir ${opts.dir}, then glekit robustness collect --dir ${opts.dir}`);
      } else {
        lines.push(`submit with: sbatch ${w.script}`);
      }
      printResult(
        opts.json === true,
        { script: w.script, jobId, tasks: opts.tasks, jobs: w.jobs, jobsPerTask: b.jobsPerShard, maxOverMean: b.maxOverMean },
        lines.join('\n'),
      );
      if (opts.json && jobId !== null) process.stderr.write(`${jobId}\n`);
    });
}

function registerCollectCommand(robustness: Command): void {
  robustness
    .command('collect')
    .description(
      'Merge every records file of a sweep (or study), drop duplicates, name missing jobs, and write the summary and plots as a single-machine run does',
    )
    .requiredOption('--dir <dir>', 'the sweep or study')
    .option('--allow-missing', 'write the summaries even if jobs have no record (their points count fewer chips)')
    .option('--tasks <n>', 'the shard count, to name the shards of missing jobs (default: the one the records files name)', integerOption('tasks', 1))
    .option('--no-plots', 'skip the SVG/PNG plots')
    .option('--json', 'print { sweeps: [ { name, jobs, records, duplicates, missing, points } ] } as the last line of stdout')
    .option('--quiet', 'no notes on stderr')
    .action(async (_o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<{ dir: string; allowMissing?: boolean; tasks?: number; plots: boolean; json?: boolean; quiet?: boolean }>();
      const r = await collectStudy(opts);
      const human = r.sweeps
        .map(
          (s) =>
            `${s.name}: ${s.records}/${s.jobs} jobs` +
            `${s.duplicates > 0 ? `, ${s.duplicates} duplicate record(s) dropped` : ''}${s.missing > 0 ? `, ${s.missing} missing` : ''}; summary in ${s.dir}`,
        )
        .join('\n');
      printResult(
        opts.json === true,
        {
          sweeps: r.sweeps.map((s) => ({
            name: s.name,
            dir: s.dir,
            jobs: s.jobs,
            records: s.records,
            duplicates: s.duplicates,
            missing: s.missing,
            points: s.points.map((p) => ({ params: p.params, accuracyMean: p.accuracyMean, accuracyStd: p.accuracyStd, n: p.n })),
          })),
          missing: r.missing,
        },
        human,
      );
    });
}

function registerStatusCommand(robustness: Command): void {
  robustness
    .command('status')
    .description('How far a sweep (or study) is: jobs done per sweep and per shard')
    .requiredOption('--dir <dir>', 'the sweep or study')
    .option('--tasks <n>', 'the shard count (default: the one the records files name)', integerOption('tasks', 1))
    .option('--json', 'print { jobs, done, sweeps: [...] } as the last line of stdout')
    .action((_o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<{ dir: string; tasks?: number; json?: boolean }>();
      const p = studyProgress(opts.dir, opts.tasks);
      const jobs = p.sweeps.reduce((a, s) => a + s.jobs, 0);
      const done = p.sweeps.reduce((a, s) => a + s.done, 0);
      printResult(
        opts.json === true,
        {
          jobs,
          done,
          shards: p.shardCount,
          sweeps: p.sweeps.map((s) => ({
            name: s.name,
            jobs: s.jobs,
            done: s.done,
            missing: s.missing.length,
            duplicates: s.duplicates,
            costDone: s.costDone,
            shards: s.shards,
          })),
        },
        formatProgress(p),
      );
    });
}
