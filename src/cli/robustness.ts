/**
 * `glekit robustness`: accuracy of a trained model over a grid of substrate settings and
 * chips, resumable (see src/sweep/run.ts).
 */
import type { Command } from 'commander';
import { runSweep, formatTable } from '../sweep/index.js';
import { formatDivergences } from '../sweep/summary.js';
import { checkModelFitsTask, loadModel, trainingInfo } from '../model/index.js';
import { loadClassificationTask } from '../tasks/index.js';
import { GlekitError } from '../util/errors.js';
import { checkOutputDirectory } from '../util/files.js';
import { integerOption, positiveOption } from './options.js';

export function registerRobustnessCommand(program: Command): void {
  program
    .command('robustness')
    .description('Sweep substrate imperfections over chips: accuracy of a model per point, mean and std over chip seeds')
    .requiredOption('--model <file>', 'trained model file')
    .requiredOption('--hw <profile>', 'hardware profile (glekit hw list) or a profile file')
    .option('--vary <NAME=LIST|FROM:TO:STEP>', 'parameter to sweep, repeatable; join names with + to move them together (tauMCV+tauRCV=0,0.1)',
      (v: string, prev: string[]) => [...prev, v], [] as string[])
    .requiredOption('--seeds <n>', 'chips per point (seeds 1..n)', integerOption('seeds', 1))
    .option('--train-on-chip <epochs>', 'train in the loop on each chip for this many epochs before measuring', integerOption('train-on-chip', 0), 0)
    .option('--learn-tau', 'learn tau_m while training on the chip (needs --train-on-chip)')
    .option('--chip-lr <lr>', 'learning rate of training in the loop (default 1e-3)', positiveOption('chip-lr'))
    .option('--tau-lr-factor <x>', 'learning rate of tau_m as a multiple of --chip-lr (needs --learn-tau; default 1)', positiveOption('tau-lr-factor'))
    .option('--reset-state', 'training in the loop resets the chip\'s state before each batch, as evaluation does (default: carry it, as the float trainer)')
    .option('--split <split>', 'test | validation', 'test')
    .option('--workers <n>', 'worker threads (default: all cores)', integerOption('workers', 1))
    .requiredOption('--out <dir>', 'directory for the manifest, records, summary and plots (re-run to resume)')
    .option('--no-plots', 'skip the SVG/PNG plots')
    .option('--json', 'print { points: [ { params, accuracyMean, accuracyStd, n } ] } as the last line of stdout')
    .option('--quiet', 'no progress output')
    .action(async (opts: { model: string; hw: string; vary: string[]; seeds: number; trainOnChip: number; learnTau?: boolean; chipLr?: number; tauLrFactor?: number; resetState?: boolean;
      split: string; workers?: number; out: string; plots: boolean; json?: boolean; quiet?: boolean }) => {
      if (opts.split !== 'test' && opts.split !== 'validation') throw new GlekitError(`option --split: must be test or validation (got ${JSON.stringify(opts.split)})`);
      if (opts.chipLr !== undefined && opts.trainOnChip === 0) throw new GlekitError('option --chip-lr: sets the rate of training in the loop, which runs only with --train-on-chip EPOCHS; leave it out or add --train-on-chip');
      // before any job: the output directory can be made, and the model runs on its task
      checkOutputDirectory('--out', opts.out, [{ option: '--model', path: opts.model }, { option: '--hw', path: opts.hw }]);
      const model = loadModel(opts.model);
      checkModelFitsTask(model, loadClassificationTask(model.task, trainingInfo(model).dataSeed), opts.model);
      const result = await runSweep({
        model: opts.model, hw: opts.hw, vary: opts.vary, seeds: opts.seeds, trainOnChip: opts.trainOnChip, learnTau: opts.learnTau,
        chipLr: opts.chipLr, tauLrFactor: opts.tauLrFactor, resetState: opts.resetState, split: opts.split, out: opts.out, workers: opts.workers, plots: opts.plots, quiet: opts.quiet,
        command: ['glekit', ...process.argv.slice(2)].join(' '),
      });
      const table = formatTable(result.axes, result.points, opts.trainOnChip > 0);
      const divergences = formatDivergences(result.axes, result.points);
      if (divergences.length > 0) process.stderr.write(divergences.join('\n') + '\n');
      const where = result.ran === 0 ? 'nothing left to run' : result.workers === 0 ? 'on this thread' : `on ${result.workers} worker thread(s)`;
      const tail = `${result.jobs} jobs (${result.resumed} done before, ${result.ran} now), ${where}, ${result.wallSeconds.toFixed(1)} s; ` +
        `peak RSS ${result.peakRssMB.toFixed(0)} MB; files in ${opts.out}`;
      if (opts.json) {
        if (!opts.quiet) process.stderr.write(`${table}\n${tail}\n`);
        process.stdout.write(JSON.stringify({
          points: result.points.map((p) => ({ params: p.params, accuracyMean: p.accuracyMean, accuracyStd: p.accuracyStd, n: p.n,
            ...(p.diverged.length > 0 ? { diverged: p.diverged } : {}) })),
          jobs: result.jobs, resumed: result.resumed, ran: result.ran, workers: result.workers,
          wallSeconds: result.wallSeconds, peakRssMB: result.peakRssMB,
        }) + '\n');
      } else {
        process.stdout.write(`${table}\n${tail}\n`);
      }
    });
}
