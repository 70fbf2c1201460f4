/**
 * The fixed target on GLE proper (tau_r != tau_m, so the decay and the prospective
 * factor both matter), tanh through an interpolated table, a summed read-out, and a
 * streamed (sequence) presentation: how far it may differ from the float target, and
 * that both integer engines still agree.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { compileModel } from '../src/compile/index.js';
import { decodeDescriptor, presentationInputs } from '../src/descriptor/index.js';
import { FixedEngine, runPresentation, runPresentationC } from '../src/emulator/index.js';
import { outputsSha256 } from '../src/target/index.js';
import { Network } from '../src/engine/network.js';
import { loadProfile } from '../src/hw/index.js';
import { layerToModel, makeModelFile, modelToSpec, type ModelFile } from '../src/model/model-file.js';
import type { Presentation } from '../src/presentation/index.js';
import { loadClassificationTask } from '../src/tasks/index.js';
import { initLayers } from '../src/train/init.js';
import { ensureFirmware } from './helpers/firmware.js';

beforeAll(() => ensureFirmware());

function gleModel(task: string, inputSize: number, presentation: Presentation): ModelFile {
  const layers = initLayers(
    inputSize,
    [
      {
        size: 12,
        phi: 'tanh',
        tauM: [1.2, 0.6, 1.2, 0.6, 1.2, 0.6, 1.2, 0.6, 1.2, 0.6, 1.2, 0.6],
        tauR: [1.2, 0.2, 1.2, 0.2, 1.2, 0.2, 1.2, 0.2, 1.2, 0.2, 1.2, 0.2],
      },
      { size: 3, phi: 'linear', tauM: 1.2, tauR: 0.2 },
    ],
    { weightStd: 1, biasStd: 0.1, scaleByFanIn: true },
    7,
  );
  return makeModelFile({
    tool: 'test',
    task,
    network: { dt: 0.2, gamma: 0, beta: 1, loss: 'ce', prospectiveErrors: true, layers: layers.map(layerToModel) },
    presentation,
    training: { dataSeed: 0 },
    metrics: {},
  });
}

/** The float target's read-out (sum over the window) for the first `count` samples. */
function floatReadout(model: ModelFile, inputs: Float32Array, sampleSize: number, count: number): Float64Array {
  const p = model.presentation;
  const net = new Network(modelToSpec(model), { batch: count });
  const nIn = net.inputSize;
  const x = net.newArray(count * nIn);
  const out = new Float64Array(count * 3);
  for (let t = 0; t < p.stepsPerSample; t++) {
    for (let s = 0; s < count; s++) {
      if (p.mode === 'static') for (let i = 0; i < nIn; i++) x[s * nIn + i] = inputs[s * sampleSize + i];
      else x[s] = inputs[s * sampleSize + t];
    }
    net.step(x, null, 'none');
    if (t >= p.settleSteps) for (let k = 0; k < out.length; k++) out[k] += net.top.r[k];
  }
  return out;
}

describe('GLE on the fixed target', () => {
  for (const mode of ['static', 'sequence'] as const) {
    it(`${mode} presentation: within 1 % of the float target's range on 16/32-bit formats, and TS = C`, () => {
      const task = mode === 'static' ? 'yinyang' : 'mnist1d';
      const data = loadClassificationTask(task, 0);
      const presentation: Presentation =
        mode === 'static' ? { mode, stepsPerSample: 30, settleSteps: 10, readout: 'sum' } : { mode, stepsPerSample: 60, settleSteps: 0, readout: 'sum' };
      const model = gleModel(task, mode === 'static' ? 4 : 1, presentation);
      // the ideal profile computes exactly; only the formats given here limit the descriptor
      const r = compileModel({ model, profile: loadProfile('ideal'), precision: 'weights=16,bias=32,state=32,rate=16,input=16', rangeSamples: 64 });
      const d = decodeDescriptor(r.bytes, 'gle');
      expect(d.network.layers[0].nonlinearity.kind).toBe('table');
      expect(new Set(d.network.layers[0].rho).size).toBe(2);
      const count = 40;
      const split = data.test;
      const inputs = presentationInputs(d, split.inputs, count, split.inputSize);
      const fixed = runPresentation(new FixedEngine(d), inputs, count);
      expect(outputsSha256(runPresentationC(r.bytes, inputs, 3))).toBe(outputsSha256(fixed));
      const ref = floatReadout(model, split.inputs, split.inputSize, count);
      const lsb = d.network.layers[1].rateFormat.lsb;
      let maxRef = 0,
        maxErr = 0;
      for (let k = 0; k < ref.length; k++) {
        maxRef = Math.max(maxRef, Math.abs(ref[k]));
        maxErr = Math.max(maxErr, Math.abs(fixed[k] * lsb - ref[k]));
      }
      expect(maxRef).toBeGreaterThan(0.1);
      expect(maxErr / maxRef).toBeLessThan(0.01);
    });
  }
});
