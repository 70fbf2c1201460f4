/**
 * The integer semantics are implemented twice (src/emulator/engine.ts and
 * firmware-bridge/src/gle_engine.c) and must agree bit for bit: random descriptors over
 * the whole range format version 1 allows, random inputs, every membrane and every rate
 * of every layer at every step compared. A hand-worked step pins the semantics
 * themselves.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeDescriptor, encodeDescriptor, formatFromParts, type Descriptor } from '../src/descriptor/index.js';
import { FixedEngine, randomDescriptor, randomInputs, traceC, traceTs, type TraceJob } from '../src/emulator/index.js';
import { Rng } from '../src/util/rng.js';
import { ensureFirmware } from './helpers/firmware.js';

beforeAll(() => ensureFirmware());

describe('TypeScript and C integer engines', () => {
  it('give bit-identical traces on 1200 random descriptors with random inputs', () => {
    const rng = new Rng(20251128);
    const jobs: TraceJob[] = [];
    const expected: Int32Array[] = [];
    const stats = { layers: 0, delays: 0, tables: 0, interpolated: 0, clamps: 0, wrap: 0, steps: 0 };
    for (let k = 0; k < 1200; k++) {
      const d = randomDescriptor(rng);
      const bytes = encodeDescriptor(d);
      const loaded = decodeDescriptor(bytes, `random ${k}`);
      const inputs = randomInputs(rng, loaded, 1 + rng.int(3));
      jobs.push({ bytes, stepInputs: inputs });
      expected.push(traceTs(loaded, inputs));
      stats.steps += inputs.length / loaded.network.inputSize;
      for (const l of loaded.network.layers) {
        stats.layers++;
        if (l.delay > 0) stats.delays++;
        if (l.nonlinearity.kind === 'table') {
          stats.tables++;
          if (l.nonlinearity.interpolate) stats.interpolated++;
        }
        if (l.nonlinearity.kind === 'clamp') stats.clamps++;
        if (l.membraneFormat.overflow === 'WRAP') stats.wrap++;
      }
    }
    // the draw covers what it claims to
    expect(stats.delays).toBeGreaterThan(300);
    expect(stats.interpolated).toBeGreaterThan(200);
    expect(stats.clamps).toBeGreaterThan(300);
    expect(stats.wrap).toBeGreaterThan(300);
    const got: Int32Array[] = [];
    for (let start = 0; start < jobs.length; start += 200) got.push(...traceC(jobs.slice(start, start + 200)));
    let mismatches = 0;
    let first = '';
    let nonzero = 0;
    expected.forEach((e, k) => {
      const c = got[k];
      for (const v of e) if (v !== 0) nonzero++;
      if (c.length !== e.length || !Buffer.from(c.buffer, c.byteOffset, c.byteLength).equals(Buffer.from(e.buffer, e.byteOffset, e.byteLength))) {
        if (mismatches++ === 0) first = `descriptor ${k}`;
      }
    });
    expect(mismatches, first).toBe(0);
    expect(nonzero).toBeGreaterThan(100000);
  });
});

describe('one step by hand', () => {
  // 1 input -> 1 neuron; weight 1.5 (fixed<8,4>: code 24), bias 0.25 (code 4 at 4 fraction bits),
  // input 2 (fixed<8,4>: code 32); membrane fixed<16,8,RND>; alpha = 0.25 (1/4 in 2 bits),
  // rho = 0.5 (1/2 in 1 bit); identity rate into fixed<8,4,RND,SAT>.
  function oneNeuron(): Descriptor {
    const f = (w: number, frac: number, r = 2, o = 1) => formatFromParts(w, frac, true, r, o);
    return {
      formatVersion: 1,
      header: { tool: 't', profile: { name: 'p', hash: 'h' }, model: { hash: 'm', task: 't' }, precision: 'p', info: {} },
      network: {
        dt: 1,
        dtSeconds: null,
        inputSize: 1,
        outputSize: 1,
        inputFormat: f(8, 4),
        presentation: { mode: 'static', stepsPerSample: 2, settleSteps: 0, readout: 'last' },
        layers: [
          {
            nIn: 1,
            nOut: 1,
            phi: 'linear',
            delay: 0,
            weightFormat: f(8, 4),
            weights: Int16Array.of(24),
            biasFormat: f(16, 4),
            bias: Int32Array.of(4),
            driveFormat: f(16, 8),
            membraneFormat: f(16, 8),
            prospectiveFormat: f(16, 8),
            rateFormat: f(8, 4),
            alphaFrac: 2,
            alpha: Uint16Array.of(1),
            rhoFrac: 1,
            rho: Uint16Array.of(1),
            nonlinearity: { kind: 'identity' },
            placement: null,
          },
        ],
      },
    };
  }

  it('follows SEMANTICS.md step for step', () => {
    const d = oneNeuron();
    const e = new FixedEngine(d);
    // s = 1.5 * 2 + 0.25 = 3.25 -> code 832 at 8 fraction bits
    // u1 = 0 + (832 - 0) / 4 = 208 (0.8125); pu = 0 + (832 - 0) / 2 = 416 (1.625); r = 1.625 -> 26 at 4 bits
    e.step([32]);
    expect(Array.from(e.membrane(0))).toEqual([208]);
    expect(Array.from(e.output)).toEqual([26]);
    // u2 = 208 + (832 - 208) / 4 = 364; pu = 208 + 624 / 2 = 520 (2.03125); r = round(520 / 16 = 32.5) = 33 (RND: ties up)
    e.step([32]);
    expect(Array.from(e.membrane(0))).toEqual([364]);
    expect(Array.from(e.output)).toEqual([33]);
    // the C engine agrees
    const bytes = encodeDescriptor(d);
    const [c] = traceC([{ bytes, stepInputs: Int32Array.of(32, 32) }]);
    expect(Array.from(c)).toEqual([208, 26, 364, 33]);
  });

  it('saturates and wraps as the formats say', () => {
    const d = oneNeuron();
    const big = d.network.layers[0];
    big.weights[0] = 127; // 7.9375 * 2 + 0.25 = 16.125, beyond the rate's fixed<8,4> range of [-8, 7.9375]
    const sat = new FixedEngine(d);
    sat.step([32]);
    sat.step([32]);
    expect(sat.output[0]).toBe(127);
    big.rateFormat = formatFromParts(8, 4, true, 2, 0); // WRAP
    const wrap = new FixedEngine(d);
    wrap.step([32]);
    // first step: pu = s / 2 = (4064 + 64) / 2 * 2^-8 = 8.0625 -> code 129 at 4 bits -> wraps to -127
    expect(wrap.output[0]).toBe(-127);
    expect(wrap.overflowCounts()[0].rate).toBe(1);
  });
});
