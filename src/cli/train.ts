import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { runClassifierTraining, runLagLineExperiment } from '../train/index.js';
import { evaluateModelFile } from '../target/index.js';
import { GlekitError } from '../util/errors.js';
import { checkOutputDirectory, checkOutputFile } from '../util/files.js';
import { integerOption } from './options.js';
import { MAX_SEED } from '../util/rng.js';
import { MAX_RETIME_FACTOR, loadModel, retimeModel, saveModel } from '../model/index.js';

/** Options of `train` that only classifier tasks use, and those that only lagline uses (by commander key). */
const CLASSIFIER_ONLY: Record<string, string> = {
  dataSeed: '--data-seed',
  out: '--out',
  runDir: '--run-dir',
  epochs: '--epochs',
  dtype: '--dtype',
  resume: '--resume',
  restart: '--restart',
  stopAfter: '--stop-after',
};
const LAGLINE_ONLY: Record<string, string> = { compare: '--compare', prospectiveErrors: '--no-prospective-errors' };

/** Refuses an option given on the command line that the task does not use, rather than ignoring it. */
function refuseUnused(cmd: Command, task: string, options: Record<string, string>): void {
  for (const [key, flag] of Object.entries(options)) {
    const source = cmd.getOptionValueSource(key);
    if (source === 'cli' || source === 'env') {
      throw new GlekitError(
        `option ${flag}: task "${task}" does not use it (${task === 'lagline' ? 'lagline has no data set, epochs, checkpoint or model file' : 'only lagline does'}); leave it out`,
      );
    }
  }
}

/** --json: everything human goes to stderr, and stdout's last line is one JSON object. */
function printResult(json: boolean, summary: object, human: string): void {
  if (json) process.stdout.write(JSON.stringify(summary) + '\n');
  else process.stdout.write(human + '\n');
}

const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(2)} %`);

export function registerTrainCommands(program: Command): void {
  program
    .command('train')
    .description('Train a network on a task (yinyang, mnist, mnist1d, lagline) and write the model file')
    .requiredOption('--task <name>', 'yinyang | mnist | mnist1d | lagline')
    .option('--seed <n>', 'seed for initialisation and data order (0..2^32-1)', integerOption('seed', 0, MAX_SEED), 1)
    .option('--data-seed <n>', 'seed of generated data sets (kept fixed so that seeds share one test set)', integerOption('data-seed', 0, MAX_SEED), 0)
    .option('--out <file>', 'model file to write (default runs/TASK-seedN.model.json)')
    .option('--run-dir <dir>', 'folder for the checkpoint, learning curves and plots (default runs/TASK-seedN)')
    .option('--epochs <n>', 'override the preset number of epochs', integerOption('epochs', 1))
    .option('--dtype <dtype>', 'float64 | float32')
    .option('--resume', "continue from the run folder's checkpoint")
    .option('--restart', 'discard an unfinished checkpoint in the run folder and start again')
    .option('--stop-after <n>', 'train at most N epochs in this session, then stop (continue later with --resume)', integerOption('stop-after', 1))
    .option('--compare', 'lagline: also run with prospective errors off')
    .option('--no-prospective-errors', 'lagline: run with prospective errors off')
    .option('--json', 'print one JSON summary as the last line of stdout')
    .option('--quiet', 'no progress output')
    .action(
      async (
        opts: {
          task: string;
          seed: number;
          dataSeed: number;
          out?: string;
          runDir?: string;
          epochs?: number;
          dtype?: string;
          resume?: boolean;
          restart?: boolean;
          stopAfter?: number;
          compare?: boolean;
          prospectiveErrors: boolean;
          json?: boolean;
          quiet?: boolean;
        },
        cmd: Command,
      ) => {
        refuseUnused(cmd, opts.task, opts.task === 'lagline' ? CLASSIFIER_ONLY : LAGLINE_ONLY);
        if (opts.dtype !== undefined && opts.dtype !== 'float64' && opts.dtype !== 'float32') {
          throw new GlekitError(`option --dtype: must be float64 or float32 (got ${JSON.stringify(opts.dtype)})`);
        }
        if (opts.resume && opts.restart) throw new GlekitError('options --resume and --restart exclude each other');
        if (opts.task === 'lagline') {
          const summary = runLagLineExperiment({ seed: opts.seed, compare: !!opts.compare, prospectiveErrors: opts.prospectiveErrors, quiet: !!opts.quiet });
          printResult(!!opts.json, summary, formatLagLine(summary));
          return;
        }
        // the paths are checked before training, not after it: a run must not end in a write error
        const runDir = opts.runDir ?? join('runs', `${opts.task}-seed${opts.seed}`);
        const modelPath = opts.out ?? join('runs', `${opts.task}-seed${opts.seed}.model.json`);
        checkOutputDirectory('--run-dir', runDir);
        const runFiles = ['checkpoint.json', 'curves.csv', 'curves.json', 'summary.json', 'accuracy.svg', 'accuracy.png', 'loss.svg', 'loss.png'].map((f) => ({
          option: `run folder's ${f}`,
          path: join(runDir, f),
        }));
        if (resolve(modelPath) === resolve(runDir))
          throw new GlekitError(`option --out: ${JSON.stringify(modelPath)} is the run folder (--run-dir); give the model file another name`);
        checkOutputFile('--out', modelPath, runFiles);
        const summary = await runClassifierTraining({
          task: opts.task,
          seed: opts.seed,
          dataSeed: opts.dataSeed,
          out: opts.out,
          runDir: opts.runDir,
          epochs: opts.epochs,
          dtype: opts.dtype as 'float64' | 'float32' | undefined,
          quiet: !!opts.quiet,
          resume: !!opts.resume,
          restart: !!opts.restart,
          stopAfter: opts.stopAfter,
        }).catch((err: unknown) => {
          // the model is written after the last epoch; the checkpoint then holds the finished run
          if (err instanceof GlekitError && err.message.startsWith(`${modelPath}:`)) {
            throw new GlekitError(
              `${err.message}; the trained run is in ${join(runDir, 'checkpoint.json')}: fix the path and run the same command with --resume to write the model without training again`,
            );
          }
          throw err;
        });
        const human =
          summary.status === 'stopped'
            ? `${summary.task} seed ${summary.seed}: stopped after epoch ${summary.epochsDone} of ${summary.epochs} ` +
              `(validation ${pct(summary.validationAccuracy)}), ${summary.wallSeconds.toFixed(1)} s; continue with --resume (checkpoint ${summary.checkpointPath})`
            : `${summary.task} seed ${summary.seed}: test accuracy ${pct(summary.testAccuracy)} ` +
              `(validation ${pct(summary.validationAccuracy)}), ${summary.wallSeconds.toFixed(1)} s, model ${summary.modelPath}, curves in ${summary.runDir}`;
        printResult(!!opts.json, summary, human);
      },
    );

  program
    .command('eval')
    .description("Evaluate a model file on its task's test set")
    .requiredOption('--model <file>', 'model file')
    .requiredOption('--task <name>', 'task to evaluate on (must match the model)')
    .option('--dtype <dtype>', 'float64 | float32', 'float64')
    .option('--json', 'print one JSON summary as the last line of stdout')
    .action(async (opts: { model: string; task: string; dtype: string; json?: boolean }) => {
      if (opts.dtype !== 'float64' && opts.dtype !== 'float32')
        throw new GlekitError(`option --dtype: must be float64 or float32 (got ${JSON.stringify(opts.dtype)})`);
      const summary = await evaluateModelFile(opts.model, opts.task, opts.dtype);
      printResult(
        !!opts.json,
        summary,
        `${summary.task}: test accuracy ${(100 * summary.testAccuracy).toFixed(2)} % on ${summary.testCount} samples (${summary.wallSeconds.toFixed(2)} s)`,
      );
    });
  registerRetime(program);
}

function registerRetime(program: Command): void {
  program
    .command('retime')
    .description('Write the same network stepped K times finer (dt / K, K times the steps per sample), to map its fastest time constant onto a chip')
    .requiredOption('--model <file>', 'model file')
    .requiredOption('--factor <k>', 'steps of the new dt per step of the old (2..64)', integerOption('factor', 2, MAX_RETIME_FACTOR))
    .requiredOption('--out <file>', 'the retimed model file')
    .option('--json', 'print one JSON summary as the last line of stdout')
    .action((opts: { model: string; factor: number; out: string; json?: boolean }) => {
      checkOutputFile('--out', opts.out, [{ option: '--model', path: opts.model }]);
      const model = loadModel(opts.model);
      const retimed = retimeModel(model, opts.factor, opts.model);
      saveModel(opts.out, retimed);
      const p = retimed.presentation;
      const summary = {
        model: resolve(opts.out),
        modelHash: retimed.contentHash,
        fromModel: model.contentHash,
        factor: opts.factor,
        dt: retimed.network.dt,
        stepsPerSample: p.stepsPerSample,
      };
      printResult(
        !!opts.json,
        summary,
        `${opts.out}: dt ${model.network.dt} -> ${retimed.network.dt}, ${model.presentation.stepsPerSample} -> ${p.stepsPerSample} steps per sample; ` +
          `its accuracy is measured again (glekit eval --model ${opts.out} --task ${retimed.task})`,
      );
    });
}

function formatLagLine(summary: ReturnType<typeof runLagLineExperiment>): string {
  return summary.runs
    .map(
      (r) =>
        `lagline prospective errors ${r.prospectiveErrors ? 'on ' : 'off'}: weights ${r.learned.weights.map((w) => w.toFixed(4)).join(', ')} ` +
        `(teacher 1, 2), tau_m ${r.learned.tauM.map((t) => t.toFixed(4)).join(', ')} (teacher 1, 2), ` +
        `max relative error ${(100 * r.maxRelativeError).toFixed(2)} %, ${r.wallSeconds.toFixed(1)} s`,
    )
    .join('\n');
}
