/**
 * `node dist/bench/sweep.js [--json] [--model FILE] [--epochs N] [--runs R]`: the robustness sweep's parallel
 * speed-up and memory.
 *
 * 1. Speed-up: the same 24-job sweep (tau mismatch x 6 chips, --epochs N epochs of
 *    training in the loop each, default 10 as in examples/robustness-yinyang; with 2 the
 *    jobs are so short that each worker's start-up and JIT warm-up weigh in) with 1 and
 *    with 2 worker threads, in this process; --runs R runs of each (default 3),
 *    alternating; best and median wall time from the start of runSweep to its summary
 *    (worker start-up included). Target >= 1.7x on 2 cores. Meaningful only on a quiet
 *    machine: the CPU time of each run is reported beside it, and CPU / wall below 2 for
 *    the 2-worker run means other processes held the cores.
 * 2. Memory: a 1000-job evaluation sweep (100 tau CVs x 10 chips) in a fresh process of
 *    the CLI, which reports its peak resident set (all threads); a 50-job sweep beside it
 *    shows whether memory grows with the number of jobs. Target: a few hundred MB.
 *
 * Without --model it uses an untrained network of the Yin-Yang preset's shape (4-120-3,
 * LE): a job's cost does not depend on the weights' values.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineInfo } from '../src/engine/machine.js';
import { layerToModel, makeModelFile, saveModel } from '../src/model/model-file.js';
import { runSweep } from '../src/sweep/index.js';
import { YINYANG_PRESET } from '../src/train/presets.js';
import { initLayers } from '../src/train/init.js';
import { median } from '../src/util/stats.js';

const json = process.argv.includes('--json');
const modelArg = process.argv.indexOf('--model');
const log = (s: string): void => {
  process.stderr.write(s + '\n');
};
const dir = mkdtempSync(join(tmpdir(), 'glekit-bench-sweep-'));
const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

function benchModel(): string {
  if (modelArg >= 0) return process.argv[modelArg + 1];
  const p = YINYANG_PRESET;
  const layers = initLayers(4, p.layers, p.init, 1);
  const file = join(dir, 'model.json');
  saveModel(
    file,
    makeModelFile({
      tool: 'bench/sweep',
      task: 'yinyang',
      network: { dt: p.dt, gamma: p.gamma, beta: p.beta, loss: p.loss, prospectiveErrors: p.prospectiveErrors, layers: layers.map(layerToModel) },
      presentation: p.presentation,
      training: { seed: 1, dataSeed: 0, batchSize: p.batchSize, evalBatchSize: p.evalBatchSize, learning: p.learning },
      metrics: {},
    }),
  );
  return file;
}

interface SpeedRun {
  wallSeconds: number;
  cpuSeconds: number;
  coresUsed: number;
}

/**
 * One 24-job sweep. CPU time covers all threads of this process; CPU / wall says how
 * many cores the sweep actually got, which tells a busy machine from a slow sweep.
 */
const epochsFlag = process.argv.indexOf('--epochs');
const trainEpochs = epochsFlag > 0 ? Number(process.argv[epochsFlag + 1]) : 10;
if (!Number.isInteger(trainEpochs) || trainEpochs < 1) throw new Error(`--epochs: a positive integer, got ${process.argv[epochsFlag + 1]}`);
const runsFlag = process.argv.indexOf('--runs');
const speedRuns = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 3;
if (!Number.isInteger(speedRuns) || speedRuns < 1) throw new Error(`--runs: a positive integer, got ${process.argv[runsFlag + 1]}`);

async function speedRun(model: string, workers: number, run: number): Promise<SpeedRun> {
  const cpu0 = process.cpuUsage();
  const r = await runSweep({
    model,
    hw: 'ideal',
    vary: ['tauMCV+tauRCV=0:0.3:0.1'],
    seeds: 6,
    trainOnChip: trainEpochs,
    learnTau: true,
    out: join(dir, `speed-${workers}-${run}`),
    workers,
    plots: false,
    quiet: true,
  });
  const cpu = process.cpuUsage(cpu0);
  if (r.ran !== 24) throw new Error(`expected 24 jobs, ran ${r.ran}`);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { wallSeconds: r.wallSeconds, cpuSeconds, coresUsed: Number((cpuSeconds / r.wallSeconds).toFixed(2)) };
}

function memoryRun(model: string, vary: string, seeds: number, name: string): { jobs: number; wallSeconds: number; peakRssMB: number } {
  const r = spawnSync(
    process.execPath,
    [
      cli,
      'robustness',
      '--model',
      model,
      '--hw',
      'ideal',
      '--vary',
      vary,
      '--seeds',
      String(seeds),
      '--out',
      join(dir, name),
      '--no-plots',
      '--json',
      '--quiet',
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`robustness failed: ${r.stderr}`);
  const last = JSON.parse(r.stdout.trim().split('\n').pop()!) as { jobs: number; wallSeconds: number; peakRssMB: number };
  return { jobs: last.jobs, wallSeconds: last.wallSeconds, peakRssMB: last.peakRssMB };
}

try {
  const model = benchModel();
  const loadBefore = loadavg();
  const one: SpeedRun[] = [];
  const two: SpeedRun[] = [];
  const show = (r: SpeedRun): string => `${r.wallSeconds.toFixed(2)} s wall, ${r.cpuSeconds.toFixed(2)} s CPU (${r.coresUsed} cores busy)`;
  for (let run = 0; run < speedRuns; run++) {
    one.push(await speedRun(model, 1, run));
    log(`24 jobs on 1 worker: ${show(one[run])}`);
    two.push(await speedRun(model, 2, run));
    log(`24 jobs on 2 workers: ${show(two[run])}`);
  }
  const loadAfterSpeed = loadavg();
  const t1 = Math.min(...one.map((r) => r.wallSeconds));
  const t2 = Math.min(...two.map((r) => r.wallSeconds));
  const m1 = median(one.map((r) => r.wallSeconds));
  const m2 = median(two.map((r) => r.wallSeconds));
  const small = memoryRun(model, 'tauMCV+tauRCV=0:0.49:0.01', 1, 'mem-50');
  log(`50-job sweep: peak RSS ${small.peakRssMB.toFixed(0)} MB (${small.wallSeconds.toFixed(1)} s)`);
  const big = memoryRun(model, 'tauMCV+tauRCV=0:0.99:0.01', 10, 'mem-1000');
  log(`1000-job sweep: peak RSS ${big.peakRssMB.toFixed(0)} MB (${big.wallSeconds.toFixed(1)} s)`);
  const result = {
    cores: availableParallelism(),
    machine: machineInfo(),
    speedup: {
      jobs: 24,
      trainOnChipEpochs: trainEpochs,
      secondsOneWorker: t1,
      secondsTwoWorkers: t2,
      speedup: Number((t1 / t2).toFixed(3)),
      medianSpeedup: Number((m1 / m2).toFixed(3)),
      runsOneWorker: one,
      runsTwoWorkers: two,
    },
    memory: { small, big },
    loadAverage: {
      before: loadBefore.map((x) => Number(x.toFixed(2))),
      afterSpeedRuns: loadAfterSpeed.map((x) => Number(x.toFixed(2))),
      end: loadavg().map((x) => Number(x.toFixed(2))),
    },
  };
  if (!json)
    log(
      `speed-up with 2 workers: ${result.speedup.speedup}x best, ${result.speedup.medianSpeedup}x median (${t1.toFixed(2)} s -> ${t2.toFixed(2)} s); 1000-job peak RSS ${big.peakRssMB.toFixed(0)} MB; load ${loadBefore[0].toFixed(2)}`,
    );
  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
