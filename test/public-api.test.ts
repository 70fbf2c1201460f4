/**
 * The library entry (src/index.ts, package.json "main"): the usage example of the README
 * runs as written, through the package root's exports only.
 */
import { describe, expect, it } from 'vitest';
import * as glekit from '../src/index.js';

describe('the public API', () => {
  it('runs the README usage example', () => {
    const {
      compileModel,
      decodeDescriptor,
      evaluateClassifier,
      evaluateOnChip,
      loadClassificationTask,
      loadModel,
      loadProfile,
      modelToSpec,
      substrateFor,
      trainingInfo,
    } = glekit;
    // a model written by `glekit train --task yinyang --seed 1`
    const model = loadModel('test/fixtures/yinyang-seed1.model.json');
    const data = loadClassificationTask(model.task, trainingInfo(model).dataSeed);
    const spec = modelToSpec(model);
    const float = evaluateClassifier(spec, model.presentation, data.test, 1000);
    // the same network on a realised chip: seed 3 of the BrainScaleS-2 profile's family
    const chip = evaluateOnChip(substrateFor(spec, loadProfile('bss2'), 3), model.presentation, data.test, 1000);
    // compiled for a 16-bit FPGA datapath: a device descriptor and its quantisation report
    const compiled = compileModel({ model, profile: loadProfile('fpga-fixed16') });
    const descriptor = decodeDescriptor(compiled.bytes);
    expect(float.accuracy).toBeGreaterThan(0.95);
    expect(chip.accuracy).toBeGreaterThan(0.3);
    expect(descriptor.network.layers.map((l) => l.nOut)).toEqual([120, 3]);
    expect(compiled.report.length).toBe(1 + 6 * 2);
    expect(glekit.VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });
});
