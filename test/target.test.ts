/**
 * One Target interface for every way of running a network: the four local targets run
 * one Yin-Yang model compiled for fpga-fixed16 through the same `evaluate` and `compare`.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileModel } from '../src/compile/index.js';
import { decodeDescriptor } from '../src/descriptor/index.js';
import { loadProfile } from '../src/hw/index.js';
import { loadModel, modelToSpec } from '../src/model/model-file.js';
import { substrateFor } from '../src/substrate/index.js';
import { loadClassificationTask } from '../src/tasks/index.js';
import { cEngineTarget, compare, evaluate, fixedTarget, floatTarget, substrateTarget, type Target } from '../src/target/index.js';
import { evaluateClassifier } from '../src/train/classifier.js';
import { ensureFirmware } from './helpers/firmware.js';

const MODEL_PATH = join(import.meta.dirname, 'fixtures', 'yinyang-seed1.model.json');
const model = loadModel(MODEL_PATH);
const data = loadClassificationTask('yinyang', 0);
const spec = modelToSpec(model, 'float64');
let targets: Record<'float' | 'substrate' | 'ts' | 'c', Target>;

beforeAll(() => {
  ensureFirmware();
  const { bytes } = compileModel({ model, profile: loadProfile('fpga-fixed16') });
  const d = decodeDescriptor(bytes, 'compiled');
  targets = {
    float: floatTarget(spec, model.presentation),
    substrate: substrateTarget(substrateFor(spec, loadProfile('ideal'), 1), model.presentation),
    ts: fixedTarget(d),
    c: cEngineTarget(d, bytes),
  };
});

describe('targets', () => {
  it('the float target evaluates as the float classifier does, bit for bit', async () => {
    const outputs = new Float64Array(data.test.count * 3);
    const direct = evaluateClassifier(spec, model.presentation, data.test, 1000, undefined, outputs);
    const viaTarget = await evaluate(targets.float, data.test);
    expect(viaTarget.accuracy).toBe(direct.accuracy);
    expect(Array.from(viaTarget.outputs.values)).toEqual(Array.from(outputs));
  });

  it('compare: TS and C engines equal in every code; float vs fixed within the documented 0.5 pp; ideal chip = float', async () => {
    const tsVsC = await compare(targets.ts, targets.c, data.test);
    expect(tsVsC.compared).toBe('codes');
    expect(tsVsC.equal).toBe(true);
    expect(tsVsC.firstMismatch).toBeNull();
    expect(tsVsC.outputsSha256.a).toBe(tsVsC.outputsSha256.b);

    const floatVsSubstrate = await compare(targets.float, targets.substrate, data.test);
    expect(floatVsSubstrate.compared).toBe('values');
    expect(floatVsSubstrate.equal).toBe(true);

    const floatVsFixed = await compare(targets.float, targets.ts, data.test);
    expect(floatVsFixed.compared).toBe('values');
    expect(floatVsFixed.argmaxAgreement).toBeGreaterThan(0.98);
    const [f, t] = [await evaluate(targets.float, data.test), await evaluate(targets.ts, data.test)];
    expect(Math.abs(f.accuracy - t.accuracy)).toBeLessThanOrEqual(0.005);
  });

  it('a mismatch is reported with its place', async () => {
    const shifted: Target = {
      ...targets.ts,
      label: 'shifted',
      run: async (s) => {
        const out = await targets.ts.run(s);
        out.codes![7] += 1;
        return out;
      },
    };
    const c = await compare(targets.ts, shifted, data.test);
    expect(c.equal).toBe(false);
    expect(c.mismatches).toBe(1);
    expect(c.firstMismatch).toEqual(expect.objectContaining({ sample: 2, output: 1 }));
  });

  it('the integer targets record per-layer states alike', async () => {
    const few = { ...data.test, count: 4, inputs: data.test.inputs.subarray(0, 4 * data.test.inputSize) };
    const a = await targets.ts.run(few, { record: true });
    const b = await targets.c.run(few, { record: true });
    expect(a.states!.length).toBe(4 * model.presentation.stepsPerSample * 2 * (120 + 3));
    expect(Array.from(a.states!)).toEqual(Array.from(b.states!));
    await expect(targets.float.run(few, { record: true })).rejects.toThrow(/cannot record/);
  });
});
