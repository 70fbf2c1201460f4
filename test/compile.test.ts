/**
 * Compiling the Yin-Yang model (test/fixtures/yinyang-seed1.model.json, written by
 * `glekit train --task yinyang --seed 1`) for the shipped profiles: accuracy against the
 * float target, every profile compiling or failing with its limit named, the C engine's
 * memory footprint, and the command line.
 */
import { argmax } from '../src/presentation/index.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompileError, compileModel } from '../src/compile/index.js';
import { decodeDescriptor, presentationInputs } from '../src/descriptor/index.js';
import { FixedEngine, cHostPath, infoC, runPresentation, runPresentationC } from '../src/emulator/index.js';
import { outputsSha256 } from '../src/target/index.js';
import { listProfiles, loadProfile } from '../src/hw/index.js';
import { loadModel, modelToSpec } from '../src/model/model-file.js';
import { loadClassificationTask } from '../src/tasks/index.js';
import { evaluateClassifier } from '../src/train/classifier.js';
import { ensureFirmware } from './helpers/firmware.js';
import { runCli, type CliRun } from './helpers/cli.js';

const ROOT = join(import.meta.dirname, '..');
const MODEL_PATH = join(ROOT, 'test', 'fixtures', 'yinyang-seed1.model.json');
const model = loadModel(MODEL_PATH);
const data = loadClassificationTask('yinyang', 0);
const scratch = mkdtempSync(join(tmpdir(), 'glekit-compile-'));
let floatAccuracy = 0;

beforeAll(() => {
  ensureFirmware();
  floatAccuracy = evaluateClassifier(modelToSpec(model), model.presentation, data.test, 1000).accuracy;
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function accuracyOf(bytes: Uint8Array): { accuracy: number; outputs: Float64Array; inputs: Int32Array } {
  const d = decodeDescriptor(bytes, 'compiled');
  const inputs = presentationInputs(d, data.test.inputs, data.test.count, data.test.inputSize);
  const outputs = runPresentation(new FixedEngine(d), inputs, data.test.count);
  let ok = 0;
  for (let s = 0; s < data.test.count; s++) if (argmax(outputs, s, 3) === data.test.labels[s]) ok++;
  return { accuracy: ok / data.test.count, outputs, inputs };
}

describe('Yin-Yang on fpga-fixed16', () => {
  it('keeps accuracy within 0.5 percentage points of the float target, identically in both engines', () => {
    const r = compileModel({ model, profile: loadProfile('fpga-fixed16') });
    const { accuracy, outputs, inputs } = accuracyOf(r.bytes);
    expect(floatAccuracy).toBeGreaterThan(0.97);
    expect(Math.abs(accuracy - floatAccuracy)).toBeLessThanOrEqual(0.005);
    const c = runPresentationC(r.bytes, inputs, 3);
    expect(outputsSha256(c)).toBe(outputsSha256(outputs));
    // 16-bit formats as the profile says, binary points per layer; nothing saturated on range data
    const d = decodeDescriptor(r.bytes, 'x');
    for (const l of d.network.layers) expect([l.weightFormat.width, l.membraneFormat.width, l.rateFormat.width]).toEqual([16, 16, 16]);
    expect(r.report.filter((row) => row.saturated > 0)).toEqual([]);
    expect(d.network.layers[0].nonlinearity.kind).toBe('table');
  });

  it('narrower weights: 8 and 4 bits compile and lose accuracy (measured in the README)', () => {
    const acc8 = accuracyOf(compileModel({ model, profile: loadProfile('fpga-fixed16'), precision: 'weights=8' }).bytes).accuracy;
    const acc4 = accuracyOf(compileModel({ model, profile: loadProfile('fpga-fixed16'), precision: 'weights=4' }).bytes).accuracy;
    expect(acc8).toBeGreaterThan(0.9);
    expect(acc4).toBeGreaterThan(1 / 3 - 0.05);
    expect(acc4).toBeLessThan(acc8);
  });

  it('the literal profile precision (ap_fixed<16,6> everywhere) wraps the logits, and the report says so', () => {
    const r = compileModel({ model, profile: loadProfile('fpga-fixed16'), precision: 'profile' });
    const drive = r.report.find((row) => row.layer === 1 && row.tensor === 'drive')!;
    expect(drive.format).toBe('fixed<16,6>');
    expect(drive.saturated).toBeGreaterThan(0);
    expect(drive.seenMin!).toBeLessThan(drive.formatMin);
  });
});

describe('every shipped profile', () => {
  it('compiles the Yin-Yang model or fails naming the limit', () => {
    const outcome: Record<string, string> = {};
    for (const name of listProfiles()) {
      try {
        const r = compileModel({ model, profile: loadProfile(name) });
        outcome[name] = `ok ${(100 * accuracyOf(r.bytes).accuracy).toFixed(1)}`;
      } catch (e) {
        expect(e).toBeInstanceOf(CompileError);
        const ce = e as CompileError;
        expect(ce.violations.length).toBeGreaterThan(0);
        for (const v of ce.violations) {
          expect(v.limit).not.toBe('');
          expect(v.message).toMatch(/^(layer \d+|input|network)/);
        }
        outcome[name] = `fails ${ce.violations.map((v) => v.limit).join(' ')}`;
      }
    }
    expect(outcome.xylo).toMatch(/^fails fanOut/);
    expect(outcome.dynapse2).toMatch(/^fails fanIn/);
    expect(outcome.bss2).toMatch(/^fails timing\.mode/);
    expect(outcome.ideal).toMatch(/^fails .*weights\.format/);
    for (const ok of ['fpga-fixed16', 'mcu-q15', 'loihi2']) expect(outcome[ok]).toMatch(/^ok/);
  });

  it('names the layer, the neuron and the limit when a weight does not fit', () => {
    try {
      compileModel({ model, profile: loadProfile('mcu-q15'), precision: 'profile' });
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(
        /layer 0, neuron \d+, input \d+: weight -?[0-9.]+ is outside the range \[-1, 0\.99996\d*\] of fixed<16,1,RND_INF,SAT>/,
      );
      expect((e as CompileError).violations[0].limit).toBe('weights.range');
    }
  });

  it('checks delays against the programmable range', () => {
    expect(() => compileModel({ model, profile: loadProfile('loihi2'), delays: [0, 64] })).toThrow(
      /layer 1 \(all its neurons\): delay 64 steps is outside the programmable range 0\.\.63 of loihi2/,
    );
    expect(() => compileModel({ model, profile: loadProfile('fpga-fixed16'), delays: [1, 0] })).toThrow(/has no programmable delays/);
    const delayed = compileModel({ model, profile: loadProfile('loihi2'), delays: [2, 1] });
    expect(decodeDescriptor(delayed.bytes, 'x').network.layers.map((l) => l.delay)).toEqual([2, 1]);
  });
});

describe('range data', () => {
  it('comes from --range-data when given, and a bad file is named', () => {
    const file = join(scratch, 'cal.json');
    const rows = Array.from({ length: 50 }, (_, i) => Array.from(data.validation.inputs.subarray(4 * i, 4 * i + 4)));
    // the format name range-data files had before 'calibration' was kept for board calibration: still read
    writeFileSync(file, JSON.stringify({ format: 'glekit-calibration-data', inputs: rows }));
    const r = compileModel({ model, profile: loadProfile('loihi2'), rangeFile: file });
    expect(r.rangeSource).toBe(file);
    expect(r.rangeSamples).toBe(50);
    expect(r.report.find((row) => row.tensor === 'input')!.values).toBe(200);
    writeFileSync(
      file,
      JSON.stringify({
        format: 'glekit-range-data',
        inputs: [
          [0.1, 0.2, 0.3, 0.4],
          [0.1, 'x', 0.3, 0.4],
        ],
      }),
    );
    expect(() => compileModel({ model, profile: loadProfile('loihi2'), rangeFile: file })).toThrow(
      /cal\.json: field 'inputs\[1\]\[1\]' must be a finite number/,
    );
    writeFileSync(file, JSON.stringify({ format: 'glekit-range-data', inputs: [[0.1, 0.2]] }));
    expect(() => compileModel({ model, profile: loadProfile('loihi2'), rangeFile: file })).toThrow(/samples have 2 values, the network takes 4/);
  });
});

describe('the C engine on a microcontroller', () => {
  it('reports its static memory for the mcu-q15 Yin-Yang descriptor, far below the 128 KB RAM', () => {
    const r = compileModel({ model, profile: loadProfile('mcu-q15') });
    expect(r.memoryBytes).toBe(131072);
    expect(r.footprint.total).toBeLessThan(r.memoryBytes! / 8);
    const info = infoC(r.bytes);
    expect(info.footprintBytes.total - info.footprintBytes.layerRecords).toBe(r.footprint.total);
    expect(info.weights).toBe(4 * 120 + 120 * 3);
    expect(info.footprintBytes.total).toBeLessThan(131072 / 8);
    // a firmware build sized exactly for this descriptor: the engine object's static data
    const desc = join(scratch, 'mcu.gled');
    writeFileSync(desc, r.bytes);
    const flags = spawnSync(cHostPath(), ['config', desc], { encoding: 'utf8' }).stdout.trim().split(/\s+/);
    const obj = join(scratch, 'engine.o');
    const cc = spawnSync(
      'gcc',
      ['-std=c99', '-Os', '-Wall', '-Wextra', '-Werror', ...flags, '-c', join(ROOT, 'firmware-bridge', 'src', 'gle_engine.c'), '-o', obj],
      { encoding: 'utf8' },
    );
    expect(cc.status, cc.stderr).toBe(0);
    const size = spawnSync('size', [obj], { encoding: 'utf8' });
    if (size.status === 0) {
      const [, data, bss] = size.stdout.trim().split('\n')[1].trim().split(/\s+/).map(Number);
      expect(data + bss).toBeLessThan(131072 / 8);
      expect(data + bss).toBeGreaterThanOrEqual(info.footprintBytes.total - 64);
    }
  });
});

describe('command line', () => {
  function glekit(...args: string[]): CliRun {
    return runCli(scratch, args);
  }
  const last = (s: string): Record<string, unknown> => JSON.parse(s.trim().split('\n').pop()!);

  it('compile, inspect and emulate with both engines', () => {
    const out = join(scratch, 'yy.gled');
    const c = glekit('compile', '--model', MODEL_PATH, '--hw', 'fpga-fixed16', '--out', out, '--json');
    expect(c.code, c.stderr).toBe(0);
    expect(last(c.stdout).descriptorHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    const i = glekit('inspect', out);
    expect(i.code).toBe(0);
    expect(i.stdout).toMatch(/layer 0: 4 -> 120, hardSigmoid/);
    expect(last(glekit('inspect', out, '--json').stdout).profile).toEqual(expect.objectContaining({ name: 'fpga-fixed16' }));
    const ts = last(glekit('emulate', '--descriptor', out, '--task', 'yinyang', '--engine', 'ts', '--json').stdout);
    const cc = last(glekit('emulate', '--descriptor', out, '--task', 'yinyang', '--engine', 'c', '--json').stdout);
    expect(ts.accuracy).toBeGreaterThan(0.97);
    expect(cc.accuracy).toBe(ts.accuracy);
    expect(cc.outputsSha256).toBe(ts.outputsSha256);
    expect(ts.outputsSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('bad input: one clear line, exit 1, no descriptor written', () => {
    const out = join(scratch, 'bad.gled');
    const p = glekit('compile', '--model', MODEL_PATH, '--hw', 'fpga-fixed16', '--out', out, '--precision', 'weights=fixed<8,3,ROUND>');
    expect(p.code).toBe(1);
    expect(p.stderr).toMatch(/option --precision: 'weights=fixed<8,3,ROUND>' has a bad format/);
    const x = glekit('compile', '--model', MODEL_PATH, '--hw', 'xylo', '--out', out);
    expect(x.code).toBe(1);
    expect(x.stderr).toMatch(/does not fit xylo:\n {2}input: fan-out 120 exceeds fanOut 64 of xylo/);
    expect(() => readFileSync(out)).toThrow();
    const damaged = join(scratch, 'damaged.gled');
    const good = readFileSync(join(scratch, 'yy.gled'));
    good[100] ^= 0x10;
    writeFileSync(damaged, good);
    for (const engine of ['ts', 'c']) {
      const e = glekit('emulate', '--descriptor', damaged, '--task', 'yinyang', '--engine', engine);
      expect(e.code).toBe(1);
      expect(e.stderr).toMatch(/hash mismatch/);
    }
    const w = glekit('emulate', '--descriptor', join(scratch, 'yy.gled'), '--task', 'mnist');
    expect(w.stderr).toMatch(/compiled from a model of task "yinyang", not "mnist"/);
  });
});
