/**
 * Training that survives a long run, and the papers' presets: a run stopped or killed
 * after epoch k and resumed from its checkpoint ends with the very bits of an
 * uninterrupted run; the presets build the published networks; the sequence
 * presentation predicts from the output summed over the sequence.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Network } from '../src/engine/network.js';
import type { FloatArray } from '../src/engine/kernels.js';
import type { NetworkSpec } from '../src/engine/types.js';
import { loadClassificationTask } from '../src/tasks/index.js';
import { generateMnist1d } from '../src/tasks/mnist1d.js';
import type { ClassificationSplit } from '../src/tasks/types.js';
import { checkpointToJson, loadCheckpoint, parseCheckpoint, type TrainingState } from '../src/train/checkpoint.js';
import { buildSpec, evaluateClassifier, trainClassifier, type ClassifierConfig, type TrainOutcome } from '../src/train/classifier.js';
import { initialPlateau, stepPlateau, type PlateauSchedule } from '../src/train/plateau.js';
import { curvesCsv } from '../src/train/curves.js';
import { CLASSIFIER_PRESETS, MNIST1D_PRESET, MNIST_PRESET } from '../src/train/presets.js';
import { runClassifierTraining } from '../src/train/run.js';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'glekit-training-'));
});

const bits = (a: ArrayLike<number>): string => Buffer.from(Float64Array.from(a).buffer).toString('hex');

function sameParameters(a: TrainOutcome['layers'], b: TrainOutcome['layers']): void {
  expect(a.length).toBe(b.length);
  a.forEach((layer, i) => {
    expect(bits(layer.weights)).toBe(bits(b[i].weights));
    expect(bits(layer.bias ?? [])).toBe(bits(b[i].bias ?? []));
    expect(bits(layer.tauM)).toBe(bits(b[i].tauM));
  });
}

/** History without wall times, which of course differ between runs. */
const withoutTimes = (h: TrainOutcome['history']) => h.map(({ seconds: _s, ...rest }) => rest);

class Crash extends Error {}

/**
 * Trains `config` uninterrupted, and again with a crash right after epoch k's checkpoint
 * was written (serialised to text and parsed back, as a real restart would), resumed to
 * the end; both must agree bit for bit.
 */
function checkResume(config: ClassifierConfig, train: ClassificationSplit, validation: ClassificationSplit, k: number): void {
  const whole = trainClassifier(config, train, validation);
  let saved = '';
  expect(() =>
    trainClassifier(config, train, validation, {
      onEpoch: (record, state) => {
        saved = checkpointToJson({
          tool: 'test',
          task: config.task,
          seed: config.seed,
          dataSeed: 0,
          dtype: config.dtype,
          configHash: 'x',
          kernels: 'typescript',
          epochsPlanned: config.epochs,
          state: state(),
        });
        if (record.epoch === k) throw new Crash();
      },
    }),
  ).toThrow(Crash);
  const state: TrainingState = parseCheckpoint(JSON.parse(saved), 'checkpoint.json').state;
  expect(state.epochsDone).toBe(k);
  const resumed = trainClassifier(config, train, validation, { resume: state });
  sameParameters(resumed.layers, whole.layers);
  expect(withoutTimes(resumed.history)).toEqual(withoutTimes(whole.history));
}

describe('resuming a stopped run', () => {
  const yinyang = loadClassificationTask('yinyang', 0);
  const small = (s: ClassificationSplit, n: number): ClassificationSplit => ({
    count: n,
    inputSize: s.inputSize,
    inputs: s.inputs.slice(0, n * s.inputSize),
    labels: s.labels.slice(0, n),
  });

  it('float64, Adam, reduce-on-plateau, held presentation (state carried across epochs)', () => {
    const config: ClassifierConfig = {
      ...CLASSIFIER_PRESETS.yinyang,
      seed: 3,
      epochs: 6,
      plateau: { factor: 0.5, patience: 1, minLr: 1e-4 },
    };
    checkResume(config, small(yinyang.train, 640), small(yinyang.validation, 200), 2);
  });

  it('float32, SGD with momentum and per-layer lr factors', () => {
    const config: ClassifierConfig = {
      ...MNIST_PRESET,
      task: 'yinyang',
      seed: 4,
      epochs: 5,
      batchSize: 16,
      layers: [
        { size: 20, phi: 'hardSigmoid', tauM: 1, tauR: 1 },
        { size: 10, phi: 'hardSigmoid', tauM: 1, tauR: 1 },
        { size: 3, phi: 'linear', tauM: 1, tauR: 1 },
      ],
      learning: { optimizer: 'sgd', lr: 1, momentum: 0.9, lrFactors: [1, 0.2, 0.1] },
      plateau: { factor: 0.5, patience: 1, minLr: 1e-3, monitor: 'validationLoss' },
    };
    checkResume(config, small(yinyang.train, 320), small(yinyang.validation, 100), 3);
  });

  it('GLE sequence presentation with mixed time constants and Adam, state carried between batches', () => {
    const data = generateMnist1d({ seed: 5, length: 24, trainCount: 120, testCount: 10, validationFraction: 1 / 6 });
    const taus = { tauM: [0.6, 0.6, 1.2, 1.2, 1.2, 1.2], tauR: [0.2, 0.2, 0.2, 0.2, 1.2, 1.2] };
    const config: ClassifierConfig = {
      ...MNIST1D_PRESET,
      seed: 6,
      epochs: 4,
      batchSize: 25,
      layers: [
        { size: 6, phi: 'linear', ...taus },
        { size: 6, phi: 'tanh', ...taus },
        { size: 10, phi: 'linear', tauM: 1.2, tauR: 1.2 },
      ],
      presentation: { mode: 'sequence', stepsPerSample: 24, settleSteps: 0, readout: 'sum' },
      plateau: { factor: 0.5, patience: 1, minLr: 0, monitor: 'trainLoss' },
    };
    expect(config.trainingSequenceStart).toBe('carry');
    checkResume(config, data.train, data.validation, 2);
    checkResume({ ...config, trainingSequenceStart: 'reset' }, data.train, data.validation, 3);
  });
});

describe('runs through the job layer', () => {
  const quiet = { quiet: true, note: () => {} };

  it('--stop-after then --resume equals an uninterrupted run, with curves and plots written', async () => {
    const whole = await runClassifierTraining({
      task: 'yinyang',
      seed: 2,
      dataSeed: 0,
      epochs: 5,
      runDir: join(dir, 'whole'),
      out: join(dir, 'whole.model.json'),
      ...quiet,
    });
    const part = await runClassifierTraining({
      task: 'yinyang',
      seed: 2,
      dataSeed: 0,
      epochs: 5,
      stopAfter: 2,
      runDir: join(dir, 'part'),
      out: join(dir, 'part.model.json'),
      ...quiet,
    });
    expect(part.status).toBe('stopped');
    expect(part.epochsDone).toBe(2);
    expect(existsSync(join(dir, 'part.model.json'))).toBe(false);
    // without --resume an unfinished run is protected
    await expect(
      runClassifierTraining({ task: 'yinyang', seed: 2, dataSeed: 0, epochs: 5, runDir: join(dir, 'part'), out: join(dir, 'part.model.json'), ...quiet }),
    ).rejects.toThrow(/unfinished run \(epoch 2 of 5\).*--resume.*--restart/);
    const rest = await runClassifierTraining({
      task: 'yinyang',
      seed: 2,
      dataSeed: 0,
      epochs: 5,
      resume: true,
      runDir: join(dir, 'part'),
      out: join(dir, 'part.model.json'),
      ...quiet,
    });
    expect(rest.status).toBe('completed');
    expect(rest.resumedFromEpoch).toBe(2);
    expect(rest.testAccuracy).toBe(whole.testAccuracy);
    const network = (p: string) => JSON.parse(readFileSync(p, 'utf8')).network;
    expect(network(join(dir, 'part.model.json'))).toEqual(network(join(dir, 'whole.model.json')));
    for (const f of ['checkpoint.json', 'curves.csv', 'curves.json', 'accuracy.svg', 'accuracy.png', 'loss.svg', 'loss.png', 'summary.json']) {
      expect(existsSync(join(dir, 'part', f)), f).toBe(true);
    }
    expect(
      readFileSync(join(dir, 'part', 'curves.csv'), 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(6);
    expect(
      readFileSync(join(dir, 'part', 'accuracy.png'))
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
  });

  it('refuses a checkpoint of another configuration and a damaged one, naming the field', async () => {
    const runDir = join(dir, 'other');
    await runClassifierTraining({ task: 'yinyang', seed: 1, dataSeed: 0, epochs: 2, stopAfter: 1, runDir, out: join(dir, 'other.model.json'), ...quiet });
    await expect(
      runClassifierTraining({ task: 'yinyang', seed: 1, dataSeed: 7, epochs: 2, resume: true, runDir, out: join(dir, 'other.model.json'), ...quiet }),
    ).rejects.toThrow(/checkpoint\.json: field 'dataSeed'.*does not match.*\(got 0\)/);
    const path = join(runDir, 'checkpoint.json');
    const doc = JSON.parse(readFileSync(path, 'utf8'));
    doc.plateau.lr *= 2;
    writeFileSync(path, JSON.stringify(doc));
    expect(() => loadCheckpoint(path)).toThrow(/checkpoint\.json: field 'contentHash'.*does not match/);
  });
});

describe('a run killed with SIGKILL', () => {
  it('resumes from its last checkpoint to the parameters of an uninterrupted run', async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
    const args = (name: string) => [
      'train',
      '--task',
      'yinyang',
      '--seed',
      '5',
      '--epochs',
      '25',
      '--quiet',
      '--json',
      '--run-dir',
      join(dir, name),
      '--out',
      join(dir, `${name}.model.json`),
    ];
    const whole = spawnSync(process.execPath, [CLI, ...args('uninterrupted')], { encoding: 'utf8' });
    expect(whole.status).toBe(0);

    const checkpoint = join(dir, 'killed', 'checkpoint.json');
    const child = spawn(process.execPath, [CLI, ...args('killed')], { stdio: 'ignore' });
    const exited = new Promise<void>((done) => child.on('exit', () => done()));
    let killedAfter = -1;
    for (let i = 0; i < 2000 && killedAfter < 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      if (!existsSync(checkpoint)) continue;
      const epochs = JSON.parse(readFileSync(checkpoint, 'utf8')).epochsDone as number;
      if (epochs >= 3) {
        child.kill('SIGKILL');
        killedAfter = epochs;
      }
    }
    await exited;
    expect(killedAfter).toBeGreaterThanOrEqual(3);
    expect(existsSync(join(dir, 'killed.model.json'))).toBe(false); // it really died mid-run
    const stopped = JSON.parse(readFileSync(checkpoint, 'utf8')).epochsDone as number;
    expect(stopped).toBeLessThan(25);

    const resumed = spawnSync(process.execPath, [CLI, ...args('killed'), '--resume'], { encoding: 'utf8' });
    expect(resumed.status).toBe(0);
    const summary = JSON.parse(resumed.stdout.trim().split('\n').pop()!);
    expect(summary.resumedFromEpoch).toBe(stopped);
    const network = (name: string) => JSON.parse(readFileSync(join(dir, `${name}.model.json`), 'utf8')).network;
    expect(network('killed')).toEqual(network('uninterrupted'));
    expect(summary.testAccuracy).toBe(JSON.parse(whole.stdout.trim().split('\n').pop()!).testAccuracy);
  });
});

describe("the papers' presets", () => {
  const count = (spec: NetworkSpec) => spec.layers.reduce((n, l) => n + l.weights.length + (l.bias?.length ?? 0), 0);
  const std = (a: Float64Array) => Math.sqrt(a.reduce((s, x) => s + x * x, 0) / a.length);

  it('MNIST: the LE reference network 784-300-100-10', () => {
    const spec = buildSpec({ ...MNIST_PRESET, seed: 1 }, 784);
    expect(spec.layers.map((l) => [l.inputSize, l.outputSize, l.phi])).toEqual([
      [784, 300, 'hardSigmoid'],
      [300, 100, 'hardSigmoid'],
      [100, 10, 'linear'],
    ]);
    expect(count(spec)).toBe(266_610);
    for (const l of spec.layers) expect(bits(l.tauM)).toBe(bits(l.tauR)); // LE: tau_m = tau_r
    expect(std(spec.layers[0].weights)).toBeCloseTo(0.05, 3);
    expect(MNIST_PRESET).toMatchObject({ loss: 'mse', beta: 0.1, prospectiveErrors: false, gamma: 0, dtype: 'float32' });
    expect(MNIST_PRESET.learning).toMatchObject({ optimizer: 'sgd', lrFactors: [1, 0.2, 0.1] });
    // 2 x depth steps to settle forward and back, learning on one more
    expect(MNIST_PRESET.presentation).toEqual({ mode: 'static', stepsPerSample: 7, settleSteps: 6, readout: 'last' });
    new Network(spec, { batch: MNIST_PRESET.batchSize });
  });

  it('MNIST-1D: the GLE end-to-end network, 6 x 53 units with mixed time constants', () => {
    const spec = buildSpec({ ...MNIST1D_PRESET, seed: 1 }, 1);
    expect(spec.layers.map((l) => [l.inputSize, l.outputSize, l.phi])).toEqual([
      [1, 53, 'linear'],
      [53, 53, 'tanh'],
      [53, 53, 'tanh'],
      [53, 53, 'tanh'],
      [53, 53, 'tanh'],
      [53, 53, 'tanh'],
      [53, 10, 'linear'],
    ]);
    expect(count(spec)).toBe(14_956);
    for (const l of spec.layers.slice(0, 6)) {
      const tm = Array.from(l.tauM),
        tr = Array.from(l.tauR);
      expect(tm.slice(0, 18).every((t) => t === 0.6) && tm.slice(18).every((t) => t === 1.2)).toBe(true);
      expect(tr.slice(0, 36).every((t) => t === 0.2) && tr.slice(36).every((t) => t === 1.2)).toBe(true);
    }
    expect(Array.from(spec.layers[6].tauM)).toEqual(new Array(10).fill(1.2));
    expect(Array.from(spec.layers[6].tauR)).toEqual(new Array(10).fill(1.2));
    // torch.nn.Linear's init: U(-1/sqrt(fan-in), 1/sqrt(fan-in)) for weights and biases
    for (const l of spec.layers) {
      const bound = 1 / Math.sqrt(l.inputSize);
      for (const w of [...l.weights, ...l.bias!]) expect(Math.abs(w)).toBeLessThanOrEqual(bound * (1 + 1e-12));
    }
    expect(std(spec.layers[1].weights)).toBeCloseTo(1 / Math.sqrt(3 * 53), 2);
    expect(MNIST1D_PRESET).toMatchObject({ dt: 0.2, gamma: 0, beta: 1, loss: 'ce', prospectiveErrors: true, batchSize: 100, epochs: 150 });
    expect(MNIST1D_PRESET.learning).toEqual({ optimizer: 'adam', lr: 1e-3 });
    expect(MNIST1D_PRESET.presentation).toEqual({ mode: 'sequence', stepsPerSample: 360, settleSteps: 0, readout: 'sum' });
    expect(MNIST1D_PRESET.trainingSequenceStart).toBe('carry'); // as the published script
  });

  it('MNIST-1D data: 4000 train, 500 validation, 1000 test sequences of 360 points', () => {
    const data = loadClassificationTask('mnist1d', 0);
    expect([data.train.count, data.validation.count, data.test.count]).toEqual([4000, 500, 1000]);
    expect(data.inputSize).toBe(360);
    expect(bits(loadClassificationTask('mnist1d', 0).test.inputs.subarray(0, 360))).toBe(bits(data.test.inputs.subarray(0, 360)));
    expect(bits(loadClassificationTask('mnist1d', 1).test.inputs.subarray(0, 360))).not.toBe(bits(data.test.inputs.subarray(0, 360)));
  });
});

describe('the sequence presentation', () => {
  it('predicts from the output summed over the sequence, not from the last step', () => {
    // tau_m = tau_r: the output of step k is W x_k + b, so class 0 scores x, class 1 scores -x
    const spec: NetworkSpec = {
      dtype: 'float64',
      dt: 0.1,
      gamma: 0,
      beta: 1,
      loss: 'ce',
      prospectiveErrors: true,
      layers: [
        {
          phi: 'linear',
          inputSize: 1,
          outputSize: 2,
          weights: Float64Array.of(1, -1),
          bias: Float64Array.of(0, 0),
          tauM: Float64Array.of(1, 1),
          tauR: Float64Array.of(1, 1),
        },
      ],
    };
    const split: ClassificationSplit = { count: 1, inputSize: 3, inputs: Float32Array.of(3, -1, -1), labels: Uint8Array.of(0) };
    expect(evaluateClassifier(spec, { mode: 'sequence', stepsPerSample: 3, settleSteps: 0, readout: 'sum' }, split, 1).accuracy).toBe(1);
    expect(evaluateClassifier(spec, { mode: 'sequence', stepsPerSample: 3, settleSteps: 0, readout: 'last' }, split, 1).accuracy).toBe(0);
  });

  it('with the MNIST-1D preset: predictions are the argmax of the logits summed over all 360 steps', () => {
    const data = generateMnist1d({ seed: 3, length: 360, trainCount: 0, testCount: 12 }).test;
    const spec = buildSpec({ ...MNIST1D_PRESET, seed: 9 }, 1);
    // a fresh network answers with its output biases; larger weights make it depend on the input
    for (const l of spec.layers)
      l.weights.forEach((w, i) => {
        l.weights[i] = 4 * w;
      });
    spec.layers[6].bias!.fill(0);
    const net = new Network(spec, { batch: data.count });
    const x = net.newArray(data.count);
    const sum = new Float64Array(data.count * 10);
    let last: FloatArray = net.top.r;
    for (let t = 0; t < 360; t++) {
      for (let b = 0; b < data.count; b++) x[b] = data.inputs[b * 360 + t];
      net.step(x, null, 'none');
      last = net.top.r;
      for (let k = 0; k < sum.length; k++) sum[k] += last[k];
    }
    const argmax = (a: ArrayLike<number>, b: number) => {
      let m = 0;
      for (let j = 1; j < 10; j++) if (a[b * 10 + j] > a[b * 10 + m]) m = j;
      return m;
    };
    const bySum = Uint8Array.from({ length: data.count }, (_, b) => argmax(sum, b));
    const byLast = Uint8Array.from({ length: data.count }, (_, b) => argmax(last, b));
    expect(Array.from(bySum)).not.toEqual(Array.from(byLast)); // otherwise the test would not tell them apart
    const accuracy = (labels: Uint8Array) => evaluateClassifier(spec, MNIST1D_PRESET.presentation, { ...data, labels }, 5).accuracy;
    expect(accuracy(bySum)).toBe(1);
    expect(accuracy(byLast)).toBeLessThan(1);
  });
});

describe('reduce-on-plateau', () => {
  it('on a loss: torch semantics (rel threshold; torch patience 2 is patience 3 here)', () => {
    const schedule: PlateauSchedule = { factor: 0.5, patience: 3, minLr: 0, monitor: 'validationLoss' };
    let s = initialPlateau(1e-3);
    const lrs: number[] = [];
    // improves, then 0.99999 * best is not a relative improvement of 1e-4, then three bad epochs
    for (const loss of [1, 0.9, 0.89999, 0.95, 0.92, 0.91, 0.8]) {
      s = stepPlateau(schedule, s, loss);
      lrs.push(s.lr);
    }
    expect(lrs).toEqual([1e-3, 1e-3, 1e-3, 1e-3, 5e-4, 5e-4, 5e-4]);
    expect(s.best).toBe(0.8);
  });

  it('skips reductions smaller than eps, as torch does', () => {
    const schedule: PlateauSchedule = { factor: 0.5, patience: 1, minLr: 0, eps: 1e-8, monitor: 'trainLoss' };
    let s = initialPlateau(1e-7);
    for (let i = 0; i < 10; i++) s = stepPlateau(schedule, s, 1);
    expect(s.lr).toBe(1e-7 / 8); // halving 1.25e-8 would lower it by less than 1e-8
  });

  it('refuses to monitor an empty validation split', () => {
    expect(() => stepPlateau({ factor: 0.5, patience: 2, minLr: 0 }, initialPlateau(1), NaN)).toThrow(/validationAccuracy.*NaN/);
  });
});

describe('learning curves', () => {
  it('as CSV, with unmeasured values left empty', () => {
    const csv = curvesCsv([
      { epoch: 1, trainAccuracy: 0.5, trainLoss: 1.5, validationAccuracy: 0.4, validationLoss: 1.6, testAccuracy: NaN, lr: 0.01, seconds: 2 },
    ]);
    expect(csv).toBe('epoch,trainAccuracy,trainLoss,validationAccuracy,validationLoss,testAccuracy,lr,seconds\n1,0.5,1.5,0.4,1.6,,0.01,2\n');
  });
});
