/**
 * glekit hil train: the host's LE update from recorded states is the float engine's
 * gradient (ideal states: equal to float rounding; a digital board's recorded states:
 * the same direction), and the per-epoch decision (confirm when validation did not fall,
 * else the board goes back to the best image), checkpoint and resume, on the emulated
 * digital board.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoardProcess } from '../src/bridge/index.js';
import { compileModel } from '../src/compile/index.js';
import { decodeDescriptor } from '../src/descriptor/index.js';
import {
  deployDescriptor,
  hilTrain,
  hostGradients,
  imageSha256,
  sampleCodes,
  statesToValues,
  withBoard,
  type HostNetwork,
  type RecordedBatch,
} from '../src/device/index.js';
import type { ActivationName } from '../src/engine/activations.js';
import { Network } from '../src/engine/network.js';
import { loadProfile } from '../src/hw/index.js';
import { loadModel, modelToSpec } from '../src/model/model-file.js';
import { loadClassificationTask } from '../src/tasks/index.js';
import { ensureFirmware } from './helpers/firmware.js';

const ROOT = join(import.meta.dirname, '..');
const MODEL_PATH = join(ROOT, 'test', 'fixtures', 'yinyang-seed1.model.json');
const MODEL = loadModel(MODEL_PATH);
const NET: HostNetwork = { beta: MODEL.network.beta, loss: MODEL.network.loss as 'ce', phi: MODEL.network.layers.map((l) => l.phi as ActivationName) };
const scratch = mkdtempSync(join(tmpdir(), 'glekit-hil-train-'));
const data = loadClassificationTask('yinyang', 0);
const B = 8;

/** The float engine over one presentation of B training samples in 'gradients' mode: its states per step and its gradients summed over the window. */
function engineRun(x: Float64Array, y: Float64Array): { rec: RecordedBatch; gW: Float64Array[]; gb: Float64Array[] } {
  const net = new Network(modelToSpec(MODEL, 'float64'), { batch: B });
  const p = MODEL.presentation,
    T = p.stepsPerSample;
  const u = net.layers.map((l) => new Float64Array(B * T * l.nOut)),
    r = net.layers.map((l) => new Float64Array(B * T * l.nOut));
  const gW = net.layers.map((l) => new Float64Array(l.nIn * l.nOut)),
    gb = net.layers.map((l) => new Float64Array(l.nOut));
  for (let t = 0; t < T; t++) {
    net.step(x, y, t >= p.settleSteps ? 'gradients' : 'none');
    net.layers.forEach((l, i) => {
      for (let b = 0; b < B; b++) {
        for (let j = 0; j < l.nOut; j++) {
          u[i][(b * T + t) * l.nOut + j] = l.u[b * l.nOut + j];
          r[i][(b * T + t) * l.nOut + j] = l.r[b * l.nOut + j];
        }
      }
      if (t >= p.settleSteps) {
        gW[i].forEach((_, k) => {
          gW[i][k] += l.gradWeights[k];
        });
        gb[i].forEach((_, k) => {
          gb[i][k] += l.gradBias![k];
        });
      }
    });
  }
  return { rec: { batch: B, steps: T, u, r }, gW, gb };
}

function batchOf(start: number): { x: Float64Array; y: Float64Array; inputs: Float32Array } {
  const n = data.train.inputSize;
  const inputs = data.train.inputs.slice(start * n, (start + B) * n);
  const y = new Float64Array(B * 3);
  for (let b = 0; b < B; b++) y[b * 3 + data.train.labels[start + b]] = 1;
  return { x: Float64Array.from(inputs), y, inputs };
}

const cosine = (a: Float64Array, b: Float64Array): number => {
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
};

describe('host LE update', () => {
  it("equals the float engine's gradient for the engine's own states", () => {
    for (const start of [0, 40, 400]) {
      const { x, y } = batchOf(start);
      const e = engineRun(x, y);
      const h = hostGradients(NET, modelToSpec(MODEL).layers, x, y, e.rec, MODEL.presentation.settleSteps);
      for (let l = 0; l < 2; l++) {
        const scale = Math.max(...e.gW[l].map(Math.abs));
        expect(scale).toBeGreaterThan(0);
        h.gW[l].forEach((g, k) => expect(Math.abs(g - e.gW[l][k])).toBeLessThan(1e-12 * scale + 1e-15));
        h.gb[l].forEach((g, k) => expect(Math.abs(g - e.gb[l][k])).toBeLessThan(1e-12 + 1e-12 * Math.abs(e.gb[l][k])));
      }
    }
  });
});

describe('hil train on the emulated digital board', () => {
  let board: BoardProcess;
  beforeAll(async () => {
    ensureFirmware();
    board = await BoardProcess.start({ flash: join(scratch, 'd.flash'), args: ['--mtu', '8192'] });
  });
  afterAll(async () => {
    board.child.kill('SIGKILL');
    await board.exited;
    rmSync(scratch, { recursive: true, force: true });
  });

  it("computes from the board's recorded states (codes x 2^-F) the float engine's update direction", async () => {
    const bytes = compileModel({ model: MODEL, profile: loadProfile('fpga-fixed16') }).bytes;
    const d = decodeDescriptor(bytes, 'yy');
    const { x, y, inputs } = batchOf(0);
    const out = await withBoard(board.port, {}, async (c) => {
      await deployDescriptor(c, 'yy', bytes, 'permanent');
      return c.runSamples(sampleCodes(d, inputs, B, 4), { record: true });
    });
    const rec = statesToValues(d, out.states!, B, null);
    const e = engineRun(x, y);
    // the recorded states are the float engine's within the fixed-point path's error (the layout is right)
    for (let l = 0; l < 2; l++) {
      const big = Math.max(1, ...e.rec.r[l].map(Math.abs));
      const worst = Math.max(...rec.r[l].map((v, k) => Math.abs(v - e.rec.r[l][k])));
      expect(worst).toBeLessThan(0.02 * big);
    }
    const h = hostGradients(NET, modelToSpec(MODEL).layers, x, y, rec, MODEL.presentation.settleSteps);
    for (let l = 0; l < 2; l++) expect(cosine(h.gW[l], e.gW[l])).toBeGreaterThan(0.99);
  });

  it('confirms an epoch whose validation accuracy did not fall, reverts one whose fell, checkpoints and resumes', async () => {
    const checkpoint = join(scratch, 'ck.json');
    const base = {
      port: board.port,
      modelPath: MODEL_PATH,
      model: MODEL,
      task: 'yinyang',
      profile: 'fpga-fixed16',
      batchSize: 32,
      trainLimit: 64,
      validationLimit: 200,
      testLimit: 100,
      seed: 1,
      checkpoint,
      resume: false,
    };
    // a tiny step: the image hardly changes, validation does not fall
    const kept = await hilTrain({ ...base, epochs: 1, lr: 1e-9 });
    expect(kept.history[0].decision).toBe('confirmed');
    expect(kept.history[0].uploads).toBe(2);
    expect(kept.bestValidationAccuracy).toBeGreaterThanOrEqual(kept.initialValidationAccuracy);
    // a huge step destroys the network: the board goes back to the best image, the checkpoint holds its parameters
    const bad = await hilTrain({ ...base, epochs: 1, lr: 5 });
    expect(bad.history[0].decision).toBe('reverted');
    expect(bad.history[0].validationAccuracy).toBeLessThan(bad.initialValidationAccuracy);
    expect(bad.bestValidationAccuracy).toBe(bad.initialValidationAccuracy);
    expect(bad.testAccuracy).toBe(bad.initialTestAccuracy);
    const original = compileModel({ model: MODEL, profile: loadProfile('fpga-fixed16') }).bytes;
    const state = await withBoard(board.port, {}, (c) => c.state());
    const running = state.slots.find((s) => s.slot === state.active)!;
    expect(Buffer.from(running.hash!).toString('hex')).toBe(imageSha256(original));
    expect(running.confirmed).toBe(true);
    const ck = JSON.parse(readFileSync(checkpoint, 'utf8'));
    expect(ck.epoch).toBe(1);
    expect(ck.layers[1].weights).toEqual(MODEL.network.layers[1].weights.flat());
    // resume: continues after the checkpoint's epoch
    const resumed = await hilTrain({ ...base, epochs: 2, lr: 1e-9, resume: true });
    expect(resumed.resumedFrom).toBe(1);
    expect(resumed.history.map((h) => h.epoch)).toEqual([1, 2]);
  }, 60_000);
});
