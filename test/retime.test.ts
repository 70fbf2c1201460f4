/**
 * Retiming a model (`glekit retime`): the same network at dt / K over K times the steps,
 * and MNIST-1D sampled at the retimed length (the same sequences, sampled finer).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel, parseModel, retimeModel } from '../src/model/index.js';
import { loadClassificationTask } from '../src/tasks/index.js';
import { runCli, type CliRun } from './helpers/cli.js';

const ROOT = join(import.meta.dirname, '..');
const MODEL_PATH = join(ROOT, 'test', 'fixtures', 'yinyang-seed1.model.json');
const dir = mkdtempSync(join(tmpdir(), 'glekit-retime-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function glekit(...args: string[]): CliRun {
  return runCli(dir, args);
}

describe('retimeModel', () => {
  const model = loadModel(MODEL_PATH);

  it('divides dt, multiplies the steps and the settling window, keeps every parameter, and records where it came from', () => {
    const r = retimeModel(model, 3, MODEL_PATH);
    expect(r.network.dt).toBe(model.network.dt / 3);
    expect(r.presentation).toEqual({
      ...model.presentation,
      stepsPerSample: 3 * model.presentation.stepsPerSample,
      settleSteps: 3 * model.presentation.settleSteps,
    });
    expect(r.network.layers).toEqual(model.network.layers);
    expect(r.training.retimed).toEqual({ factor: 3, fromModel: model.contentHash, fromDt: model.network.dt, fromMetrics: model.metrics });
    expect(r.metrics).toEqual({});
    expect(r.contentHash).not.toBe(model.contentHash);
    // a valid model file: its hash checks out on load
    expect(parseModel(JSON.parse(JSON.stringify(r)), 'retimed').contentHash).toBe(r.contentHash);
  });

  it('refuses a factor below 2 or one that makes a sample longer than a descriptor allows', () => {
    expect(() => retimeModel(model, 1, MODEL_PATH)).toThrow(/factor.*must be an integer in 2\.\.64/);
    const long = { ...model, presentation: { ...model.presentation, stepsPerSample: 1 << 19 } };
    expect(() => retimeModel(long, 4, 'long.json')).toThrow(/long\.json.*presentation\.stepsPerSample.*exceeds/);
  });
});

describe('MNIST-1D at a retimed length', () => {
  it('gives the same sequences sampled at more points: same labels, same shapes', () => {
    const base = loadClassificationTask('mnist1d', 0);
    const fine = loadClassificationTask('mnist1d', 0, { mode: 'sequence', stepsPerSample: 720 });
    expect(base.test.inputSize).toBe(360);
    expect(fine.test.inputSize).toBe(720);
    expect(Array.from(fine.test.labels)).toEqual(Array.from(base.test.labels));
    // each fine sequence, read at the coarse points, follows the coarse one
    for (let s = 0; s < 20; s++) {
      const a = base.test.inputs.subarray(s * 360, (s + 1) * 360);
      const b = Float64Array.from({ length: 360 }, (_, i) => fine.test.inputs[s * 720 + Math.round((i * 719) / 359)]);
      const mean = (v: ArrayLike<number>) => Array.from(v).reduce((x, y) => x + y, 0) / v.length;
      const ma = mean(a),
        mb = mean(b);
      let sab = 0,
        saa = 0,
        sbb = 0;
      for (let i = 0; i < 360; i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) ** 2;
        sbb += (b[i] - mb) ** 2;
      }
      expect(sab / Math.sqrt(saa * sbb)).toBeGreaterThan(0.99);
    }
  });
});

describe('glekit retime', () => {
  it('writes the retimed model, and refuses a bad factor or an output over its input with a one-line error', () => {
    const out = join(dir, 'x2.json');
    const ok = glekit('retime', '--model', MODEL_PATH, '--factor', '2', '--out', out, '--json');
    expect(ok.code).toBe(0);
    const summary = JSON.parse(ok.stdout.trim().split('\n').pop()!);
    expect(summary.stepsPerSample).toBe(10);
    expect(JSON.parse(readFileSync(out, 'utf8')).network.dt).toBe(loadModel(MODEL_PATH).network.dt / 2);
    const bad = glekit('retime', '--model', MODEL_PATH, '--factor', '1', '--out', join(dir, 'x1.json'));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--factor.*"1"/);
    const over = glekit('retime', '--model', out, '--factor', '2', '--out', out);
    expect(over.code).not.toBe(0);
    expect(over.stderr).toMatch(/--out/);
    expect(JSON.parse(readFileSync(out, 'utf8')).contentHash).toBe(summary.modelHash);
  });
});
