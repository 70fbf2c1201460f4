import type { Command } from 'commander';
import { runClassifierTraining, evaluateModelFile, runLagLineExperiment } from '../train/index.js';
import { GlekitError } from '../util/errors.js';

function parseInteger(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new GlekitError(`option --${name}: must be an integer >= ${min} (got ${JSON.stringify(value)})`);
    return n;
  };
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
    .option('--seed <n>', 'seed for initialisation and data order', parseInteger('seed', 0), 1)
    .option('--data-seed <n>', 'seed of generated data sets (kept fixed so that seeds share one test set)', parseInteger('data-seed', 0), 0)
    .option('--out <file>', 'model file to write (default runs/TASK-seedN.model.json)')
    .option('--run-dir <dir>', 'folder for the checkpoint, learning curves and plots (default runs/TASK-seedN)')
    .option('--epochs <n>', 'override the preset number of epochs', parseInteger('epochs', 1))
    .option('--dtype <dtype>', 'float64 | float32')
    .option('--resume', 'continue from the run folder\'s checkpoint')
    .option('--restart', 'discard an unfinished checkpoint in the run folder and start again')
    .option('--stop-after <n>', 'train at most N epochs in this session, then stop (continue later with --resume)', parseInteger('stop-after', 1))
    .option('--compare', 'lagline: also run with prospective errors off')
    .option('--no-prospective-errors', 'lagline: run with prospective errors off')
    .option('--json', 'print one JSON summary as the last line of stdout')
    .option('--quiet', 'no progress output')
    .action(async (opts: { task: string; seed: number; dataSeed: number; out?: string; runDir?: string; epochs?: number; dtype?: string;
      resume?: boolean; restart?: boolean; stopAfter?: number; compare?: boolean; prospectiveErrors: boolean; json?: boolean; quiet?: boolean }) => {
      if (opts.dtype !== undefined && opts.dtype !== 'float64' && opts.dtype !== 'float32') {
        throw new GlekitError(`option --dtype: must be float64 or float32 (got ${JSON.stringify(opts.dtype)})`);
      }
      if (opts.resume && opts.restart) throw new GlekitError('options --resume and --restart exclude each other');
      if (opts.task === 'lagline') {
        const summary = runLagLineExperiment({ seed: opts.seed, compare: !!opts.compare, prospectiveErrors: opts.prospectiveErrors, quiet: !!opts.quiet });
        printResult(!!opts.json, summary, formatLagLine(summary));
        return;
      }
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
      });
      const human = summary.status === 'stopped'
        ? `${summary.task} seed ${summary.seed}: stopped after epoch ${summary.epochsDone} of ${summary.epochs} ` +
          `(validation ${pct(summary.validationAccuracy)}), ${summary.wallSeconds.toFixed(1)} s; continue with --resume (checkpoint ${summary.checkpointPath})`
        : `${summary.task} seed ${summary.seed}: test accuracy ${pct(summary.testAccuracy)} ` +
          `(validation ${pct(summary.validationAccuracy)}), ${summary.wallSeconds.toFixed(1)} s, model ${summary.modelPath}, curves in ${summary.runDir}`;
      printResult(!!opts.json, summary, human);
    });

  program
    .command('eval')
    .description('Evaluate a model file on its task\'s test set')
    .requiredOption('--model <file>', 'model file')
    .requiredOption('--task <name>', 'task to evaluate on (must match the model)')
    .option('--dtype <dtype>', 'float64 | float32', 'float64')
    .option('--json', 'print one JSON summary as the last line of stdout')
    .action((opts: { model: string; task: string; dtype: string; json?: boolean }) => {
      if (opts.dtype !== 'float64' && opts.dtype !== 'float32') throw new GlekitError(`option --dtype: must be float64 or float32 (got ${JSON.stringify(opts.dtype)})`);
      const summary = evaluateModelFile(opts.model, opts.task, opts.dtype);
      printResult(!!opts.json, summary, `${summary.task}: test accuracy ${(100 * summary.testAccuracy).toFixed(2)} % on ${summary.testCount} samples (${summary.wallSeconds.toFixed(2)} s)`);
    });
}

function formatLagLine(summary: ReturnType<typeof runLagLineExperiment>): string {
  return summary.runs.map((r) =>
    `lagline prospective errors ${r.prospectiveErrors ? 'on ' : 'off'}: weights ${r.learned.weights.map((w) => w.toFixed(4)).join(', ')} ` +
    `(teacher 1, 2), tau_m ${r.learned.tauM.map((t) => t.toFixed(4)).join(', ')} (teacher 1, 2), ` +
    `max relative error ${(100 * r.maxRelativeError).toFixed(2)} %, ${r.wallSeconds.toFixed(1)} s`).join('\n');
}
