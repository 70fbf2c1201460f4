/**
 * The substrate target: each imperfection measured on a realised chip, and the ideal
 * chip equal to the float target bit for bit (evaluation and training in the loop).
 */
import { describe, expect, it } from 'vitest';
import { Network } from '../src/engine/network.js';
import { typescriptKernels } from '../src/engine/kernels.js';
import { DEFAULT_LEARNING, type ActivationName, type LayerParameters, type LearningSetup, type NetworkSpec } from '../src/engine/index.js';
import { loadProfile, realiseChip, resolveSettings, validateProfile, withOverrides, type HwProfile, type Overrides } from '../src/hw/index.js';
import type { Presentation } from '../src/presentation/index.js';
import { CapacityError, FIXED_STATE_RANGE, Substrate, evaluateOnChip, substrateFor, trainOnChip, type ChipTrainingConfig } from '../src/substrate/index.js';
import { generateYinYang } from '../src/tasks/yinyang.js';
import { generateMnist1d } from '../src/tasks/mnist1d.js';
import { MNIST1D_PRESET } from '../src/train/presets.js';
import { buildSpec, evaluateClassifier, trainClassifier, type ClassifierConfig } from '../src/train/classifier.js';
import { initLayers } from '../src/train/init.js';

const PRESENTATION: Presentation = { mode: 'static', stepsPerSample: 5, settleSteps: 4, readout: 'last' };
const DATA = generateYinYang({ seed: 0, trainCount: 320, validationCount: 200, testCount: 300 });

function leSpec(hidden: number, seed: number, dtype: 'float64' | 'float32' = 'float64'): NetworkSpec {
  return {
    dtype,
    dt: 0.1,
    gamma: 0,
    beta: 1,
    loss: 'ce',
    prospectiveErrors: false,
    layers: initLayers(
      4,
      [
        { size: hidden, phi: 'hardSigmoid', tauM: 1, tauR: 1 },
        { size: 3, phi: 'linear', tauM: 1, tauR: 1 },
      ],
      { weightStd: 1, biasStd: 0.1, scaleByFanIn: true },
      seed,
    ),
  };
}

function ideal(overrides: Overrides = {}): HwProfile {
  return withOverrides(loadProfile('ideal'), overrides);
}

function bits(a: Float64Array | Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function sampleStats(xs: ArrayLike<number>): { mean: number; std: number; cv: number } {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  const mean = s / xs.length;
  let ss = 0;
  for (let i = 0; i < xs.length; i++) ss += (xs[i] - mean) ** 2;
  const std = Math.sqrt(ss / (xs.length - 1));
  return { mean, std, cv: std / mean };
}

/** One layer, no bias, given phi and weights; tau_m = tau_r = 1, dt 0.1. */
function oneLayer(nIn: number, nOut: number, phi: ActivationName, weights: Float64Array, bias: Float64Array | null = null): NetworkSpec {
  const layer: LayerParameters = {
    phi,
    inputSize: nIn,
    outputSize: nOut,
    weights,
    bias,
    tauM: new Float64Array(nOut).fill(1),
    tauR: new Float64Array(nOut).fill(1),
  };
  return { dtype: 'float64', dt: 0.1, gamma: 0, beta: 1, loss: 'mse', prospectiveErrors: false, layers: [layer] };
}

describe('evaluation on a chip', () => {
  it('starts every batch from rest: a mismatched chip gives the same read-out whatever was evaluated before', () => {
    const spec = leSpec(40, 3, 'float64');
    const profile = withOverrides(loadProfile('ideal'), { tauMCV: 0.3, tauRCV: 0.3 });
    const sub = substrateFor(spec, profile, 3, { kernels: typescriptKernels });
    // 300 samples in batches of 128: the second and third batch, and the second evaluation,
    // run on the substrate's cached network after another batch (Substrate.network resets it)
    const first = evaluateOnChip(sub, PRESENTATION, DATA.test, 128, { outputs: true });
    const again = evaluateOnChip(sub, PRESENTATION, DATA.test, 128, { outputs: true });
    const oneBatch = evaluateOnChip(sub, PRESENTATION, DATA.test, DATA.test.count, { outputs: true });
    expect(bits(again.outputs!)).toEqual(bits(first.outputs!));
    expect(bits(oneBatch.outputs!)).toEqual(bits(first.outputs!));
  });
});

describe('ideal is the float target, bit for bit', () => {
  it('evaluates to the same read-out and accuracy for any chip seed, float64 and float32', () => {
    for (const dtype of ['float64', 'float32'] as const) {
      const spec = leSpec(40, 3, dtype);
      const float = evaluateClassifier(spec, PRESENTATION, DATA.test, 128, typescriptKernels);
      for (const seed of [0, 1, 7, 4_000_000_000]) {
        const sub = substrateFor(spec, loadProfile('ideal'), seed, { kernels: typescriptKernels });
        expect(sub.transparent).toBe(true);
        const chip = evaluateOnChip(sub, PRESENTATION, DATA.test, 128, { outputs: true });
        expect(chip.correct).toBe(float.correct);
        // the same read-out, bit for bit, as a float network stepped by hand
        const net = new Network(spec, { batch: DATA.test.count, kernels: typescriptKernels });
        const x = net.newArray(DATA.test.count * 4);
        x.set(DATA.test.inputs);
        for (let t = 0; t < 5; t++) net.step(x, null);
        expect(bits(Float64Array.from(net.top.r))).toEqual(bits(chip.outputs!));
      }
    }
  });

  function config(learning: Partial<LearningSetup> & Pick<LearningSetup, 'optimizer' | 'lr'>): ClassifierConfig {
    return {
      task: 'yinyang',
      seed: 5,
      dtype: 'float64',
      dt: 0.1,
      gamma: 0,
      beta: 1,
      loss: 'ce',
      prospectiveErrors: false,
      layers: [
        { size: 30, phi: 'hardSigmoid', tauM: 1, tauR: 1 },
        { size: 3, phi: 'linear', tauM: 1, tauR: 1 },
      ],
      init: { weightStd: 1, biasStd: 0.1, scaleByFanIn: true },
      learning,
      batchSize: 32,
      epochs: 2,
      presentation: PRESENTATION,
      evalBatchSize: 100,
      plateau: null,
    };
  }

  function chipConfig(c: ClassifierConfig): ChipTrainingConfig {
    return {
      seed: c.seed,
      epochs: c.epochs,
      batchSize: c.batchSize,
      learning: { ...DEFAULT_LEARNING, ...c.learning },
      presentation: c.presentation,
      evalBatchSize: c.evalBatchSize,
      plateau: null,
    };
  }

  const learnings = [
    { optimizer: 'adam' as const, lr: 0.01 },
    { optimizer: 'sgd' as const, lr: 0.05 },
    { optimizer: 'adam' as const, lr: 0.01, learnTauM: true, tauMin: 0.1 },
  ];
  for (const learning of learnings) {
    for (const forceHostCopy of [false, true]) {
      // plain SGD fuses the update into the pass over W in the float target; a separate host copy cannot fuse
      if (forceHostCopy && learning.optimizer === 'sgd') continue;
      it(`trains in the loop exactly as the float trainer (${JSON.stringify(learning)}${forceHostCopy ? ', separate host copy' : ''})`, () => {
        const c = config(learning);
        const float = trainClassifier(c, DATA.train, DATA.validation, { kernels: typescriptKernels });
        // the float trainer's own initialisation
        const spec = buildSpec(c, 4);
        const sub = substrateFor(spec, loadProfile('ideal'), 99, { kernels: typescriptKernels, forceHostCopy });
        expect(sub.transparent).toBe(!forceHostCopy);
        const chip = trainOnChip(sub, chipConfig(c), DATA.train, DATA.validation);
        expect(chip.history.map((h) => h.validationAccuracy)).toEqual(float.history.map((h) => h.validationAccuracy));
        const after = sub.parameters();
        float.layers.forEach((l, i) => {
          expect(bits(after[i].weights)).toEqual(bits(l.weights));
          expect(bits(after[i].bias!)).toEqual(bits(l.bias!));
          expect(bits(after[i].tauM)).toEqual(bits(l.tauM));
        });
      });
    }
  }
});

describe('training sequences in the loop', () => {
  it('follows the float trainer bit for bit, with the state carried or reset between batches', () => {
    const data = generateMnist1d({ seed: 5, length: 24, trainCount: 120, testCount: 10, validationFraction: 1 / 6 });
    const taus = { tauM: [0.6, 0.6, 1.2, 1.2, 1.2, 1.2], tauR: [0.2, 0.2, 0.2, 0.2, 1.2, 1.2] };
    const weightsAfter: Record<string, Buffer> = {};
    for (const start of ['carry', 'reset'] as const) {
      const c: ClassifierConfig = {
        ...MNIST1D_PRESET,
        seed: 6,
        epochs: 2,
        batchSize: 25,
        evalBatchSize: 20,
        plateau: null,
        trainingSequenceStart: start,
        layers: [
          { size: 6, phi: 'linear', ...taus },
          { size: 6, phi: 'tanh', ...taus },
          { size: 10, phi: 'linear', tauM: 1.2, tauR: 1.2 },
        ],
        presentation: { mode: 'sequence', stepsPerSample: 24, settleSteps: 0, readout: 'sum' },
      };
      const float = trainClassifier(c, data.train, data.validation, { kernels: typescriptKernels });
      const sub = substrateFor(buildSpec(c, 1), loadProfile('ideal'), 99, { kernels: typescriptKernels });
      const chip = trainOnChip(
        sub,
        {
          seed: c.seed,
          epochs: c.epochs,
          batchSize: c.batchSize,
          learning: { ...DEFAULT_LEARNING, ...c.learning },
          presentation: c.presentation,
          evalBatchSize: c.evalBatchSize,
          plateau: null,
          trainingSequenceStart: start,
        },
        data.train,
        data.validation,
      );
      expect(chip.history.map((h) => h.validationAccuracy)).toEqual(float.history.map((h) => h.validationAccuracy));
      const after = sub.parameters();
      float.layers.forEach((l, i) => expect(bits(after[i].weights)).toEqual(bits(l.weights)));
      weightsAfter[start] = bits(after[1].weights);
    }
    // the two schedules are different training runs
    expect(weightsAfter.carry.equals(weightsAfter.reset)).toBe(false);
  });
});

describe('time constants', () => {
  const wide: NetworkSpec = { ...leSpec(8, 1), layers: [{ ...oneLayer(2, 6000, 'tanh', new Float64Array(12000)).layers[0] }] };

  it('realises the requested tau_m and tau_r CV, independently, within sampling error', () => {
    const sub = substrateFor(wide, ideal({ tauMCV: 0.2, tauRCV: 0.1 }), 3);
    const [l] = sub.realised();
    const m = sampleStats(l.tauM),
      r = sampleStats(l.tauR);
    const n = l.tauM.length;
    // standard error of a sample CV is about cv / sqrt(2n); allow 4 of them
    expect(Math.abs(m.cv - 0.2)).toBeLessThan((4 * 0.2) / Math.sqrt(2 * n));
    expect(Math.abs(r.cv - 0.1)).toBeLessThan((4 * 0.1) / Math.sqrt(2 * n));
    expect(Math.abs(m.mean - 1)).toBeLessThan((4 * 0.2) / Math.sqrt(n));
    let cov = 0;
    for (let j = 0; j < n; j++) cov += (l.tauM[j] - m.mean) * (l.tauR[j] - r.mean);
    const corr = cov / (n - 1) / (m.std * r.std);
    expect(Math.abs(corr)).toBeLessThan(4 / Math.sqrt(n));
    // the network the engine steps uses exactly these
    const net = sub.createNetwork(1);
    expect(bits(Float64Array.from(net.layers[0].tauM))).toEqual(bits(l.tauM));
  });

  it('is the same chip for the same seed and another for another seed', () => {
    const a = substrateFor(wide, ideal({ tauMCV: 0.2 }), 3).realised()[0].tauM;
    const b = substrateFor(wide, ideal({ tauMCV: 0.2 }), 3).realised()[0].tauM;
    const c = substrateFor(wide, ideal({ tauMCV: 0.2 }), 4).realised()[0].tauM;
    expect(bits(a)).toEqual(bits(b));
    expect(bits(a)).not.toEqual(bits(c));
  });

  it('rounds to the representation: a 12-bit decay on Loihi, a 10-bit reciprocal cell on BSS2', () => {
    const spec = leSpec(10, 1);
    // Loihi steps once per model step: dt 1 ms per 0.1 model units, tau 1 = 10 steps, d = round(4096 / 10) = 410
    const [l] = substrateFor(spec, loadProfile('loihi2'), 1).realised();
    for (const t of l.tauM) expect(t).toBeCloseTo((4096 / 410) * 0.1, 12);
    // BSS2 maps the model's tau 1 onto its nominal 10 us; the cell stores 1/tau on 1022 codes over 1..100 us
    const bss = substrateFor(spec, withOverrides(loadProfile('bss2'), { tauMCV: 0, tauRCV: 0 }), 1);
    const code = Math.round(((1 / 10e-6 - 1 / 100e-6) / (1 / 1e-6 - 1 / 100e-6)) * 1022);
    const tau = 1 / (1 / 100e-6 + (code / 1022) * (1 / 1e-6 - 1 / 100e-6));
    for (const t of bss.realised()[0].tauM) expect(t).toBeCloseTo(tau / 10e-6, 12);
    expect(bss.timeScale).toBeCloseTo(10e-6, 18);
  });

  it('sets one tau per core where the profile shares parameters per core', () => {
    const spec = leSpec(10, 1);
    spec.layers[0].tauM = Float64Array.from({ length: 10 }, (_, j) => 1 + j / 10);
    const p = JSON.parse(JSON.stringify(ideal())) as HwProfile;
    p.timeConstants.tauM.representation = { kind: 'continuous', sharing: 'core' };
    p.capacity.neuronsPerCore = { value: 4, source: 'ill', ref: 'test' };
    const [l] = substrateFor(spec, validateProfile(p, 'test'), 1).realised();
    const mean = (a: number, b: number): number => {
      let s = 0;
      for (let j = a; j < b; j++) s += 1 + j / 10;
      return s / (b - a);
    };
    expect(Array.from(l.tauM)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2].map((c) => mean(4 * c, Math.min(10, 4 * c + 4))));
  });
});

describe('weights', () => {
  const spec = leSpec(50, 2);

  it('takes only the allowed levels: signed integer codes times one scale per matrix', () => {
    for (const b of [2, 4, 8]) {
      const sub = substrateFor(spec, ideal({ weightBits: b }), 1);
      sub.realised().forEach((l) => {
        const codes = new Set<number>();
        for (const w of l.weights) {
          const c = Math.round(w / l.weightScale!);
          expect(Math.abs(w / l.weightScale! - c)).toBeLessThan(1e-9);
          codes.add(c);
        }
        for (const c of codes) {
          expect(c).toBeGreaterThanOrEqual(-(2 ** (b - 1)));
          expect(c).toBeLessThanOrEqual(2 ** (b - 1) - 1);
        }
        expect(codes.size).toBeLessThanOrEqual(2 ** b);
        // a free scale maps the largest magnitude onto the largest positive code
        expect(Math.max(...Array.from(codes, Math.abs))).toBe(2 ** (b - 1) - 1);
      });
    }
  });

  it('keeps the sign handling, scale kind and per-synapse gain of each profile', () => {
    // BSS2: 6-bit magnitude, sign per synapse row, free scale, gain mismatch per synapse
    const bss = substrateFor(spec, loadProfile('bss2'), 4);
    const gains = bss.chip.layers[0].weightGain;
    const l = bss.realised()[0];
    for (let k = 0; k < l.weights.length; k++) {
      const c = l.weights[k] / (l.weightScale! * gains[k]);
      expect(Math.abs(c - Math.round(c))).toBeLessThan(1e-9);
      expect(Math.abs(Math.round(c))).toBeLessThanOrEqual(63);
    }
    expect(sampleStats(gains).cv).toBeGreaterThan(0.08);
    // Loihi: sign-magnitude 8 bits (codes -127..127) with a power-of-two scale
    const loihi = substrateFor(spec, loadProfile('loihi2'), 1).realised();
    for (const layer of loihi) {
      expect(Number.isInteger(Math.log2(layer.weightScale!))).toBe(true);
      // a power-of-two scale divides exactly
      for (const w of layer.weights) {
        const c = w / layer.weightScale!;
        expect(Number.isInteger(c) && Math.abs(c) <= 127).toBe(true);
      }
    }
    // the FPGA's ap_fixed<16,6>: multiples of 2^-10, rounding down
    const fpga = substrateFor(spec, loadProfile('fpga-fixed16'), 1).realised()[0];
    for (const w of fpga.weights) expect(Number.isInteger(w * 1024)).toBe(true);
    expect(fpga.weights[0]).toBe(Math.floor(spec.layers[0].weights[0] * 1024) / 1024);
  });
});

describe('delays', () => {
  /** rates of the top layer after each of `steps` steps, for an input pulse on channel `channel` at step 0 */
  function pulseResponse(spec: NetworkSpec, profile: HwProfile, steps: number, channel = 0): Float64Array[] {
    const sub = substrateFor(spec, profile, 1);
    const net = sub.createNetwork(1);
    const x = net.newArray(spec.layers[0].inputSize);
    const out: Float64Array[] = [];
    for (let k = 0; k < steps; k++) {
      x.fill(0);
      if (k === 0) x[channel] = 1;
      net.step(x, null);
      out.push(Float64Array.from(net.top.r));
    }
    return out;
  }

  it('a delay of d steps per layer shifts the response by exactly d steps per layer', () => {
    // no biases, phi(0) = 0: a network at rest stays at rest, so a delayed input only shifts the response
    const spec: NetworkSpec = {
      dtype: 'float64',
      dt: 0.1,
      gamma: 0,
      beta: 1,
      loss: 'mse',
      prospectiveErrors: false,
      layers: initLayers(
        3,
        [
          { size: 5, phi: 'tanh', tauM: 1, tauR: 0.5, bias: false },
          { size: 2, phi: 'linear', tauM: 2, tauR: 1, bias: false },
        ],
        { weightStd: 1, biasStd: 0 },
        4,
      ),
    };
    const base = pulseResponse(spec, ideal(), 40);
    expect(base.some((r) => r.some((v) => v !== 0))).toBe(true);
    for (const d of [1, 3, 7]) {
      const delayed = pulseResponse(spec, ideal({ delaySteps: d }), 40);
      const shift = 2 * d;
      for (let k = 0; k < 40; k++) {
        const expected = k < shift ? new Float64Array(2) : base[k - shift];
        expect(bits(delayed[k])).toEqual(bits(expected));
      }
    }
  });

  it('per-synapse delays deliver each input to each neuron exactly d_oi steps later', () => {
    const p = JSON.parse(JSON.stringify(ideal())) as HwProfile;
    p.delays = {
      granularity: 'synapse',
      draw: { kind: 'uniform', min: { value: 0, source: 'ill', ref: 'test' }, max: { value: 5, source: 'ill', ref: 'test' } },
    };
    const profile = validateProfile(p, 'test');
    const W = Float64Array.from({ length: 4 * 3 }, (_, k) => k + 1);
    const spec = oneLayer(3, 4, 'linear', W);
    const delays = substrateFor(spec, profile, 1).chip.layers[0].delaySteps as Int32Array;
    expect(new Set(delays).size).toBeGreaterThan(2);
    for (let i = 0; i < 3; i++) {
      const resp = pulseResponse(spec, profile, 10, i);
      for (let o = 0; o < 4; o++) {
        // linear with tau_m = tau_r answers in the step the drive arrives
        for (let k = 0; k < 10; k++) expect(resp[k][o]).toBe(k === delays[o * 3 + i] ? W[o * 3 + i] : 0);
      }
    }
  });
});

describe('noise', () => {
  /** r - s over many neurons and steps, for a layer with a constant drive s */
  function deviations(overrides: Overrides, seed: number): Float64Array {
    const nOut = 2000,
      steps = 20;
    const spec = oneLayer(1, nOut, 'linear', new Float64Array(nOut).fill(0.5));
    const sub = substrateFor(spec, ideal(overrides), seed);
    const net = sub.createNetwork(1);
    const x = Float64Array.of(1);
    const out = new Float64Array(nOut * steps);
    for (let k = 0; k < steps; k++) {
      net.step(x, null);
      for (let j = 0; j < nOut; j++) out[k * nOut + j] = net.top.r[j] - 0.5;
    }
    return out;
  }

  for (const [name, expected] of [
    ['rateNoiseStd', 0.05],
    ['membraneNoiseStd', 0.2],
    ['noiseStd', 0.1 * Math.SQRT2],
  ] as const) {
    it(`${name} has the requested std, zero mean, fresh every step`, () => {
      const sigma = name === 'noiseStd' ? 0.1 : expected;
      const d = deviations({ [name]: sigma }, 5);
      const s = sampleStats(d);
      const n = d.length;
      // noiseStd puts sigma on the membrane and sigma on the rate: the rate sees both
      expect(Math.abs(s.std - expected)).toBeLessThan((4 * expected) / Math.sqrt(2 * n));
      expect(Math.abs(s.mean)).toBeLessThan((4 * expected) / Math.sqrt(n));
      let lag = 0;
      const nOut = 2000;
      for (let k = nOut; k < n; k++) lag += d[k] * d[k - nOut];
      expect(Math.abs(lag / (n - nOut) / (s.std * s.std))).toBeLessThan(4 / Math.sqrt(n - nOut));
    });
  }

  it('is seeded by the chip', () => {
    expect(bits(deviations({ noiseStd: 0.1 }, 5))).toEqual(bits(deviations({ noiseStd: 0.1 }, 5)));
    expect(bits(deviations({ noiseStd: 0.1 }, 5))).not.toEqual(bits(deviations({ noiseStd: 0.1 }, 6)));
  });
});

describe('state, readout and nonlinearity as realised', () => {
  it('reads BSS2 rates through its 8-bit ADC: 180 levels over [0, 1], saturating', () => {
    const spec = leSpec(30, 1);
    const sub = substrateFor(spec, withOverrides(loadProfile('bss2'), { noiseStd: 0 }), 1);
    const net = sub.createNetwork(50);
    const x = net.newArray(200);
    x.set(DATA.test.inputs.subarray(0, 200));
    for (let t = 0; t < 5; t++) net.step(x, null);
    const levels = new Set<number>();
    for (const r of net.layers[0].r) {
      const code = r * 180;
      expect(Math.abs(code - Math.round(code))).toBeLessThan(1e-9);
      expect(r).toBeGreaterThanOrEqual(0);
      expect(r).toBeLessThanOrEqual(1);
      levels.add(Math.round(code));
    }
    expect(levels.has(0) || levels.has(180)).toBe(true);
  });

  it('stores MCU weights and membranes in q15, saturating at the ends, and computes sigmoid from a 256-entry table', () => {
    const W = Float64Array.of(3, -0.9, 0.1001);
    const spec = oneLayer(1, 3, 'sigmoid', W);
    const sub = substrateFor(spec, loadProfile('mcu-q15'), 1);
    expect(Array.from(sub.realised()[0].weights)).toEqual([1 - 2 ** -15, Math.round(-0.9 * 2 ** 15) / 2 ** 15, Math.round(0.1001 * 2 ** 15) / 2 ** 15]);
    const net = sub.createNetwork(1);
    for (let k = 0; k < 60; k++) net.step(Float64Array.of(4), null);
    const u = net.layers[0].u;
    expect(u[0]).toBe(1 - 2 ** -15);
    expect(u[1]).toBe(-1);
    expect(Number.isInteger(u[2] * 2 ** 15)).toBe(true);
    // the rate is table entry k, phi at the centre of its cell, -8 + (k + 1/2) / 16, stored in 16 bits
    const r = net.layers[0].r[2];
    const k = Math.floor((net.layers[0].prospU[2] + 8) * 16);
    expect(r).toBe(Math.round((1 / (1 + Math.exp(-(-8 + (k + 0.5) / 16)))) * 2 ** 15) / 2 ** 15);
  });

  it('places the binary point of a fixed state without fractional bits at +-FIXED_STATE_RANGE', () => {
    const s = resolveSettings(loadProfile('xylo'));
    expect(s.state.membrane).toMatchObject({ format: 'fixed', bits: 16 });
    const spec = oneLayer(1, 1, 'hardSigmoid', Float64Array.of(0.123456));
    const p = JSON.parse(JSON.stringify(loadProfile('xylo'))) as HwProfile;
    p.capacity = {};
    const net = substrateFor(spec, validateProfile(p, 'test'), 1).createNetwork(1);
    for (let k = 0; k < 5; k++) net.step(Float64Array.of(1), null);
    const lsb = FIXED_STATE_RANGE / 2 ** 15;
    expect(Number.isInteger(net.layers[0].u[0] / lsb)).toBe(true);
  });

  it('realises a piecewise-linear phi that is exact at its knots and linear between', () => {
    const spec = oneLayer(1, 1, 'tanh', Float64Array.of(1));
    const sub = substrateFor(spec, loadProfile('loihi2'), 1);
    const net = sub.createNetwork(1);
    const act = net.layers[0].hooks!.activation!;
    const pu = Float64Array.of(-5, -0.5, -0.25, 0.1, 4.5);
    const r = new Float64Array(5),
      rp = new Float64Array(5);
    act(pu, r, rp, 5);
    expect(r[0]).toBe(Math.tanh(-4));
    expect(r[1]).toBeCloseTo(Math.tanh(-0.5), 15);
    expect(r[2]).toBeCloseTo((Math.tanh(-0.5) + Math.tanh(0)) / 2, 15);
    expect(r[4]).toBe(Math.tanh(4));
    expect([rp[0], rp[4]]).toEqual([0, 0]);
  });
});

describe('capacity', () => {
  it('refuses a network over the limits, naming each limit', () => {
    const cases: Array<[string, NetworkSpec, RegExp]> = [
      ['xylo', leSpec(120, 1), /fanOut 64 of xylo/],
      ['dynapse2', leSpec(120, 1), /fanIn 64 of dynapse2/],
      ['bss2', leSpec(600, 1), /neuronsTotal 512 of bss2/],
      [
        'mcu-q15',
        {
          ...leSpec(10, 1),
          layers: initLayers(
            784,
            [
              { size: 300, phi: 'hardSigmoid', tauM: 1, tauR: 1 },
              { size: 10, phi: 'linear', tauM: 1, tauR: 1 },
            ],
            { weightStd: 1, biasStd: 0 },
            1,
          ),
        },
        /memoryBytes 131072 of mcu-q15/,
      ],
    ];
    for (const [name, spec, message] of cases) {
      let err: unknown = null;
      try {
        substrateFor(spec, loadProfile(name), 1);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CapacityError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).toMatch(new RegExp(`does not fit ${name}`));
    }
    // and a delay beyond what Loihi can program
    expect(() => substrateFor(leSpec(10, 1), withOverrides(loadProfile('loihi2'), { delaySteps: 64 }), 1)).toThrow(/delays\.programmable\.max 63 of loihi2/);
  });

  it('refuses a chip realised for another architecture', () => {
    const chip = realiseChip(loadProfile('ideal'), { inputSize: 4, layerSizes: [10, 3] }, 1);
    expect(() => new Substrate(leSpec(11, 1), chip)).toThrow(/realised for 4-10-3, the network is 4-11-3/);
  });
});

describe('training in the loop', () => {
  it('trains on a mismatched chip and, with tau learning, moves tau_m toward tau_r', () => {
    const spec = leSpec(30, 2);
    const sub = substrateFor(spec, ideal({ tauMCV: 0.3, tauRCV: 0.3 }), 2, { kernels: typescriptKernels });
    expect(sub.transparent).toBe(false);
    const before = sub.realised();
    const mismatch = (ls: typeof before): number => {
      let s = 0,
        n = 0;
      for (const l of ls)
        for (let j = 0; j < l.tauM.length; j++) {
          s += Math.abs(l.tauM[j] / l.tauR[j] - 1);
          n++;
        }
      return s / n;
    };
    const hostTauR = sub.parameters()[0].tauR.slice();
    const config: ChipTrainingConfig = {
      seed: 1,
      epochs: 3,
      batchSize: 32,
      presentation: PRESENTATION,
      evalBatchSize: 100,
      plateau: null,
      learning: { ...DEFAULT_LEARNING, optimizer: 'adam', lr: 0.01, learnTauM: true, tauMin: 0.1 },
    };
    const accBefore = evaluateOnChip(sub, PRESENTATION, DATA.test, 100).accuracy;
    trainOnChip(sub, config, DATA.train, DATA.validation);
    expect(evaluateOnChip(sub, PRESENTATION, DATA.test, 100).accuracy).toBeGreaterThan(accBefore);
    expect(mismatch(sub.realised())).toBeLessThan(mismatch(before));
    // the host's tau_r is a setting the chip cannot learn; only tau_m moved
    expect(Array.from(sub.parameters()[0].tauR)).toEqual(Array.from(hostTauR));
  });
});
