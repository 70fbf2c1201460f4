import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../src/util/errors.js';
import {
  checkCapacity,
  describeProfile,
  hwModelsDir,
  listProfiles,
  loadProfile,
  parseOverrides,
  profileHash,
  realiseChip,
  representTau,
  resolveSettings,
  roundWith,
  sourcedValues,
  validateProfile,
  withOverrides,
  type Architecture,
  type Chip,
  type HwProfile,
} from '../src/hw/index.js';

const SHIPPED = ['bss2', 'dynapse2', 'fpga-fixed16', 'ideal', 'loihi2', 'mcu-q15', 'xylo'];

const scratch = mkdtempSync(join(tmpdir(), 'glekit-hw-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function raw(name: string): Record<string, any> {
  return JSON.parse(readFileSync(join(hwModelsDir(), `${name}.json`), 'utf8'));
}

/** Runs fn, expects a ValidationError, returns it. */
function validationError(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return e as ValidationError;
  }
  throw new Error('expected a ValidationError, nothing was thrown');
}

function bits(a: Float64Array | Int32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function sameChipDraws(a: Chip, b: Chip, which: 'tauMFactor' | 'tauRFactor' | 'weightGain'): boolean {
  return a.layers.every((l, i) => bits(l[which]).equals(bits(b.layers[i][which])));
}

function stats(x: Float64Array): { mean: number; cv: number } {
  let s = 0;
  for (const v of x) s += v;
  const mean = s / x.length;
  let ss = 0;
  for (const v of x) ss += (v - mean) ** 2;
  return { mean, cv: Math.sqrt(ss / (x.length - 1)) / mean };
}

const MLP: Architecture = { inputSize: 20, layerSizes: [30, 10] };

describe('profiles', () => {
  it('ships the seven profiles and every one validates under its own name', () => {
    expect(listProfiles()).toEqual(SHIPPED);
    for (const name of SHIPPED) {
      const p = loadProfile(name);
      expect(p.name).toBe(name);
      expect(p.format).toBe('glekit.hw-profile/1');
    }
  });

  it('records a source for every number, and published values cite hardware.md', () => {
    for (const name of SHIPPED) {
      const bare: string[] = [];
      const walk = (x: unknown, path: string): void => {
        if (typeof x === 'number') bare.push(path);
        if (x === null || typeof x !== 'object') return;
        const o = x as Record<string, unknown>;
        if (typeof o.value === 'number') {
          expect(['lit', 'ill'], `${name}:${path}.source`).toContain(o.source);
          expect(typeof o.ref === 'string' && o.ref.length >= 3, `${name}:${path}.ref`).toBe(true);
          if (o.source === 'lit') expect(o.ref, `${name}:${path}.ref`).toMatch(/^hardware\.md § /);
          for (const [k, v] of Object.entries(o)) if (k !== 'value') walk(v, `${path}.${k}`);
          return;
        }
        for (const [k, v] of Object.entries(o)) walk(v, path === '' ? k : `${path}.${k}`);
      };
      walk(raw(name), '');
      expect(bare, `${name}: numbers without a source`).toEqual([]);
      expect(sourcedValues(loadProfile(name)).length).toBeGreaterThan(0);
    }
  });

  it('covers the published headline numbers', () => {
    const bss2 = loadProfile('bss2');
    expect(bss2.capacity.neuronsTotal?.value).toBe(512);
    expect(bss2.capacity.fanIn?.value).toBe(256);
    expect(bss2.weights.format === 'integer' && bss2.weights.bits.value).toBe(6);
    expect(bss2.timing.acceleration?.value).toBe(1000);
    const loihi = resolveSettings(loadProfile('loihi2'));
    expect(loihi.tauM.representation).toMatchObject({ kind: 'decay', one: 4096, dMin: 1, dMax: 4095 });
    expect(loihi.delays).toMatchObject({ programmableMin: 0, programmableMax: 63 });
    expect(loihi.state.synaptic).toMatchObject({ format: 'fixed', bits: 24, overflow: 'wrap' });
    expect(loihi.state.membrane).toMatchObject({ format: 'fixed', bits: 24, overflow: 'saturate' });
    const xylo = resolveSettings(loadProfile('xylo'));
    expect(xylo.weights).toMatchObject({ format: 'integer', qMin: -128, qMax: 127 });
    expect(xylo.limits).toMatchObject({ inputs: 16, hiddenNeurons: 1000, outputs: 8, fanOut: 64 });
    const fpga = resolveSettings(loadProfile('fpga-fixed16'));
    expect(fpga.weights).toMatchObject({ bits: 16, scale: { kind: 'fixed', fractionalBits: 10 } });
    expect(fpga.nonlinearity).toMatchObject({ kind: 'lut', entries: 1024 });
    expect(fpga.hostLinks.map((h) => h.maxBaud)).toEqual([3_000_000, 12_000_000]);
    const mcu = resolveSettings(loadProfile('mcu-q15'));
    expect(mcu.limits.memoryBytes).toBe(128 * 1024);
    expect(mcu.nonlinearity).toMatchObject({ kind: 'lut', entries: 256, min: -8, max: 8 });
    const dyn = resolveSettings(loadProfile('dynapse2'));
    expect(dyn.tauM).toMatchObject({ sharing: 'core', sharingCoreSize: 256, mismatch: { granularity: 'core', coreSize: 256 } });
    expect(dyn.weights).toMatchObject({ bits: 4, qMax: 15, coding: 'base-mask', bases: 4 });
  });

  it('turns BSS2 readout LSB noise into a fraction of the reliable span', () => {
    const s = resolveSettings(loadProfile('bss2'));
    expect(s.state.readout).toMatchObject({ codeMin: 30, codeMax: 210, span: 180 });
    expect(s.noise.membraneStd).toBeCloseTo(2 / 180, 12);
  });
});

describe('validation errors', () => {
  function writeProfile(name: string, data: unknown): string {
    const file = join(scratch, `${name}.json`);
    writeFileSync(file, JSON.stringify(data, null, 2));
    return file;
  }

  it('rejects a number without its source, naming the file and the field', () => {
    const p = raw('bss2');
    delete p.weights.bits.source;
    const file = writeProfile('no-source', p);
    const e = validationError(() => loadProfile(file));
    expect(e.source).toBe(file);
    expect(e.field).toBe('weights.bits.source');
    expect(e.message).toContain(file);
    expect(e.message).toContain('weights.bits.source');
  });

  it('rejects a bare number where a sourced value belongs', () => {
    const p = raw('xylo');
    p.capacity.fanOut = 64;
    const e = validationError(() => validateProfile(p, 'xylo-edited.json'));
    expect(e.field).toBe('capacity.fanOut');
    expect(e.value).toBe(64);
    expect(e.message).toMatch(/records its source/);
  });

  it('rejects an empty ref', () => {
    const p = raw('loihi2');
    p.timeConstants.tauM.representation.bits.ref = '';
    const e = validationError(() => validateProfile(p, 'loihi2-edited.json'));
    expect(e.field).toBe('timeConstants.tauM.representation.bits.ref');
  });

  it('names file, field and value for a bad value', () => {
    const p = raw('bss2');
    p.capacity.fanIn.value = -3;
    const file = writeProfile('bad-fanin', p);
    const e = validationError(() => loadProfile(file));
    expect(e.field).toBe('capacity.fanIn.value');
    expect(e.value).toBe(-3);
    expect(e.message).toContain(file);
    expect(e.message).toContain("'capacity.fanIn.value'");
    expect(e.message).toContain('-3');
  });

  it('names the field for a non-integer bit width, an unknown kind, an unknown field and a wrong enum', () => {
    let p = raw('loihi2');
    p.weights.bits.value = 6.5;
    let e = validationError(() => validateProfile(p, 'x.json'));
    expect([e.field, e.value]).toEqual(['weights.bits.value', 6.5]);

    p = raw('bss2');
    p.timeConstants.tauR.representation.kind = 'magic';
    e = validationError(() => validateProfile(p, 'x.json'));
    expect([e.field, e.value]).toEqual(['timeConstants.tauR.representation.kind', 'magic']);
    expect(e.message).toContain('analog-cell');

    p = raw('ideal');
    p.weights.gainMismatch.cvv = 3;
    e = validationError(() => validateProfile(p, 'x.json'));
    expect(e.field).toBe('weights.gainMismatch.cvv');

    p = raw('ideal');
    p.hostLinks = [{ kind: 'carrier-pigeon' }];
    e = validationError(() => validateProfile(p, 'x.json'));
    expect([e.field, e.value]).toEqual(['hostLinks[0].kind', 'carrier-pigeon']);
  });

  it('requires a core size for per-core mismatch', () => {
    const p = raw('dynapse2');
    delete p.timeConstants.tauM.mismatch.coreSize;
    const e = validationError(() => validateProfile(p, 'x.json'));
    expect(e.field).toBe('timeConstants.tauM.mismatch.coreSize');
  });

  it('checks relations between fields', () => {
    let p = raw('bss2');
    p.timeConstants.tauM.mismatch.clip.max.value = 0.9;
    let e = validationError(() => validateProfile(p, 'x.json'));
    expect(e.field).toBe('timeConstants.tauM.mismatch.clip');

    p = raw('bss2');
    p.timeConstants.tauM.representation.codeMax.value = 2000;
    e = validationError(() => validateProfile(p, 'x.json'));
    expect([e.field, e.value]).toEqual(['timeConstants.tauM.representation.codeMax.value', 2000]);

    p = raw('loihi2');
    p.timeConstants.tauM.mismatch.cv.value = 0.1;
    e = validationError(() => validateProfile(p, 'x.json'));
    expect(e.field).toBe('timeConstants.tauM.mismatch.cv.value');

    p = raw('xylo');
    p.noise.membrane.unit = 'readout-lsb';
    e = validationError(() => validateProfile(p, 'x.json'));
    expect(e.field).toBe('noise.membrane.unit');
  });

  it('names an unknown profile and invalid JSON', () => {
    let e = validationError(() => loadProfile('brainscales-99'));
    expect([e.field, e.value]).toEqual(['name', 'brainscales-99']);
    expect(e.message).toContain('bss2');
    const file = join(scratch, 'broken.json');
    writeFileSync(file, '{ "name": ');
    e = validationError(() => loadProfile(file));
    expect(e.source).toBe(file);
  });

  it('finds hw-models from the package, not the working directory', () => {
    const cwd = process.cwd();
    try {
      process.chdir(scratch);
      expect(loadProfile('xylo').name).toBe('xylo');
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('content hash', () => {
  it('ignores layout and key order but not content', () => {
    const p = raw('bss2');
    const reordered = Object.fromEntries(Object.entries(p).reverse());
    const file = join(scratch, 'bss2-reordered.json');
    writeFileSync(file, JSON.stringify(reordered));
    const h = profileHash(loadProfile('bss2'));
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(profileHash(loadProfile(file))).toBe(h);
    expect(profileHash(withOverrides(loadProfile('bss2'), { tauMCV: 0.031 }))).not.toBe(h);
    const hashes = new Set(SHIPPED.map((n) => profileHash(loadProfile(n))));
    expect(hashes.size).toBe(SHIPPED.length);
  });
});

describe('realiseChip', () => {
  it('gives the same bits for the same (profile, architecture, seed) and other bits for another seed', () => {
    for (const name of ['bss2', 'dynapse2']) {
      const p = loadProfile(name);
      const a = realiseChip(p, MLP, 42);
      const b = realiseChip(loadProfile(name), MLP, 42);
      const c = realiseChip(p, MLP, 43);
      for (const w of ['tauMFactor', 'tauRFactor', 'weightGain'] as const) {
        expect(sameChipDraws(a, b, w)).toBe(true);
        expect(sameChipDraws(a, c, w)).toBe(false);
      }
      expect(a.profileHash).toBe(profileHash(p));
      expect(a.seed).toBe(42);
      expect(a.layers.map((l) => [l.nIn, l.nOut, l.tauMFactor.length, l.weightGain.length])).toEqual([
        [20, 30, 30, 600],
        [30, 10, 10, 300],
      ]);
    }
  });

  it('realises the requested tau CV on a large layer', () => {
    const n = 40_000;
    const arch = { inputSize: 1, layerSizes: [n] };
    // lognormal (ideal with mismatch switched on) and normal (bss2, calibrated)
    const cases: Array<[HwProfile, 'tauMFactor' | 'tauRFactor', number]> = [
      [withOverrides(loadProfile('ideal'), { tauMCV: 0.2 }), 'tauMFactor', 0.2],
      [withOverrides(loadProfile('ideal'), { tauRCV: 0.05 }), 'tauRFactor', 0.05],
      [loadProfile('bss2'), 'tauMFactor', 0.03],
      [withOverrides(loadProfile('bss2'), { tauRCV: 0.1 }), 'tauRFactor', 0.1],
    ];
    for (const [p, which, cv] of cases) {
      const f = realiseChip(p, arch, 7).layers[0][which];
      const s = stats(f);
      // standard error of a sample CV is about cv * sqrt((1 + 2 cv^2) / (2 n)); allow 5 of them
      const se = cv * Math.sqrt((1 + 2 * cv * cv) / (2 * n));
      expect(Math.abs(s.cv - cv), `${p.name} ${which}`).toBeLessThan(5 * se);
      expect(Math.abs(s.mean - 1)).toBeLessThan((5 * cv) / Math.sqrt(n));
    }
  });

  it('shares one draw per core when the profile shares parameters per core', () => {
    const p = withOverrides(loadProfile('dynapse2'), { tauMWithinCoreCV: 0, tauRWithinCoreCV: 0 });
    const chip = realiseChip(p, { inputSize: 8, layerSizes: [600, 40] }, 3);
    const l0 = chip.layers[0];
    for (const f of [l0.tauMFactor, l0.tauRFactor]) {
      const coreValues: number[] = [];
      for (const [lo, hi] of [
        [0, 256],
        [256, 512],
        [512, 600],
      ]) {
        for (let i = lo; i < hi; i++) expect(f[i]).toBe(f[lo]);
        coreValues.push(f[lo]);
      }
      expect(new Set(coreValues).size).toBe(3);
    }
    expect(Array.from(l0.core as Int32Array).filter((c, i) => c !== Math.floor(i / 256))).toEqual([]);
    // the next layer starts on a fresh core
    expect(new Set(chip.layers[1].core)).toEqual(new Set([3]));
    expect(new Set(chip.layers[1].tauMFactor).size).toBe(1);

    // the shipped profile adds per-neuron spread on top of the same core draws
    const full = realiseChip(loadProfile('dynapse2'), { inputSize: 8, layerSizes: [600, 40] }, 3).layers[0].tauMFactor;
    const ratio = full.map((x, i) => x / l0.tauMFactor[i]);
    expect(stats(ratio.slice(0, 256)).cv).toBeGreaterThan(0.05);
    expect(stats(ratio.slice(0, 256)).cv).toBeLessThan(0.15);
    expect(Math.abs(stats(ratio).mean - 1)).toBeLessThan(0.02);
  });

  it('changing one imperfection leaves the draws of the others unchanged', () => {
    const base = loadProfile('bss2');
    // random per-synapse delays so that the delay stream is exercised too
    const withDelays = validateProfile(
      {
        ...structuredClone(base),
        delays: {
          granularity: 'synapse',
          draw: { kind: 'uniform', min: { value: 0, source: 'ill', ref: 'test' }, max: { value: 3, source: 'ill', ref: 'test' } },
        },
      },
      'test',
    );
    const a = realiseChip(withDelays, MLP, 11);
    const b = realiseChip(withOverrides(withDelays, { tauMCV: 0.2 }), MLP, 11);
    expect(sameChipDraws(a, b, 'tauMFactor')).toBe(false);
    expect(sameChipDraws(a, b, 'tauRFactor')).toBe(true);
    expect(sameChipDraws(a, b, 'weightGain')).toBe(true);
    a.layers.forEach((l, i) => expect(bits(l.delaySteps as Int32Array).equals(bits(b.layers[i].delaySteps as Int32Array))).toBe(true));
    expect(new Set(a.layers[0].delaySteps as Int32Array)).toEqual(new Set([0, 1, 2, 3]));
    // the same underlying normals, rescaled: (f - 1) / cv is unchanged where nothing was clipped
    const za = a.layers[0].tauMFactor.map((f) => (f - 1) / 0.03);
    const zb = b.layers[0].tauMFactor.map((f) => (f - 1) / 0.2);
    za.forEach((z, i) => {
      if (b.layers[0].tauMFactor[i] > 0.5 && b.layers[0].tauMFactor[i] < 2) expect(zb[i]).toBeCloseTo(z, 9);
    });

    const c = realiseChip(withOverrides(withDelays, { weightGainCV: 0.3, weightBits: 4, noiseStd: 0.1 }), MLP, 11);
    expect(sameChipDraws(a, c, 'tauMFactor')).toBe(true);
    expect(sameChipDraws(a, c, 'tauRFactor')).toBe(true);
    expect(sameChipDraws(a, c, 'weightGain')).toBe(false);

    // a different architecture of layer 1 does not move layer 0's chip
    const d = realiseChip(withDelays, { inputSize: 20, layerSizes: [30, 25] }, 11);
    expect(bits(d.layers[0].tauMFactor).equals(bits(a.layers[0].tauMFactor))).toBe(true);
    expect(bits(d.layers[0].weightGain).equals(bits(a.layers[0].weightGain))).toBe(true);
  });

  it('ideal gives all factors exactly 1, zero delays and no noise', () => {
    const chip = realiseChip(loadProfile('ideal'), { inputSize: 13, layerSizes: [17, 9, 4] }, 123);
    for (const l of chip.layers) {
      expect(l.tauMFactor.every((x) => x === 1)).toBe(true);
      expect(l.tauRFactor.every((x) => x === 1)).toBe(true);
      expect(l.weightGain.every((x) => x === 1)).toBe(true);
      expect(l.delaySteps).toBe(0);
      expect(l.core).toBeNull();
    }
    expect(chip.noise).toEqual({ membraneStd: 0, rateStd: 0 });
    expect(chip.weights.format).toBe('float');
    expect(chip.nonlinearity).toEqual({ kind: 'exact' });
    // a zero CV on a profile with a distribution still gives exact ones
    const zero = realiseChip(withOverrides(loadProfile('bss2'), { tauMCV: 0, weightGainCV: 0 }), MLP, 5);
    expect(zero.layers.every((l) => l.tauMFactor.every((x) => x === 1) && l.weightGain.every((x) => x === 1))).toBe(true);
  });

  it('rejects a bad architecture or seed with the field named', () => {
    const p = loadProfile('ideal');
    let e = validationError(() => realiseChip(p, { inputSize: 3, layerSizes: [4, 0] }, 1));
    expect([e.field, e.value]).toEqual(['layerSizes[1]', 0]);
    e = validationError(() => realiseChip(p, { inputSize: 2.5, layerSizes: [4] }, 1));
    expect(e.field).toBe('inputSize');
    e = validationError(() => realiseChip(p, MLP, -1));
    expect(e.field).toBe('seed');
  });
});

describe('checkCapacity', () => {
  const mnist: Architecture = { inputSize: 784, layerSizes: [300, 10] };

  it('names the layer, the count and the limit', () => {
    const v = checkCapacity(loadProfile('bss2'), mnist);
    const fan0 = v.find((x) => x.limit === 'fanIn' && x.layer === 0);
    // the sign lives on the input row, so a signed weight costs two rows
    expect(fan0).toMatchObject({ count: 1568, max: 256 });
    expect(fan0?.message).toContain('layer 0');
    expect(fan0?.message).toContain('1568');
    expect(fan0?.message).toContain('fanIn 256');
    expect(v.find((x) => x.limit === 'synapsesTotal')).toMatchObject({ layer: 'network', max: 131072 });
    expect(checkCapacity(loadProfile('bss2'), { inputSize: 100, layerSizes: [120, 10] })).toEqual([]);
  });

  it('checks inputs, outputs, hidden neurons and fan-out on Xylo', () => {
    const v = checkCapacity(loadProfile('xylo'), { inputSize: 40, layerSizes: [1200, 100, 12] });
    const by = (limit: string) => v.filter((x) => x.limit === limit);
    expect(by('inputs')).toMatchObject([{ layer: 'input', count: 40, max: 16 }]);
    expect(by('outputs')).toMatchObject([{ layer: 2, count: 12, max: 8 }]);
    expect(by('hiddenNeurons')).toMatchObject([{ layer: 'network', count: 1300, max: 1000 }]);
    expect(by('fanOut').map((x) => [x.layer, x.count])).toEqual([
      ['input', 1200],
      [0, 100],
    ]);
    expect(checkCapacity(loadProfile('xylo'), { inputSize: 16, layerSizes: [64, 8] })).toEqual([]);
  });

  it('counts cores, neurons and memory', () => {
    const v = checkCapacity(loadProfile('dynapse2'), { inputSize: 16, layerSizes: [300, 300, 300, 300] });
    expect(v.find((x) => x.limit === 'cores')).toMatchObject({ count: 8, max: 4 });
    expect(v.find((x) => x.limit === 'neuronsTotal')).toMatchObject({ count: 1200, max: 1024 });
    const m = checkCapacity(loadProfile('mcu-q15'), mnist);
    expect(m).toHaveLength(1);
    expect(m[0]).toMatchObject({ limit: 'memoryBytes', count: (784 * 300 + 300 + 300 * 10 + 10) * 2, max: 131072 });
    expect(checkCapacity(loadProfile('ideal'), { inputSize: 10_000, layerSizes: [10_000] })).toEqual([]);
  });
});

describe('overrides', () => {
  it('applies each sweep parameter and marks it illustrative', () => {
    const p = withOverrides(loadProfile('ideal'), { tauMCV: 0.2, tauRCV: 0.1, weightBits: 4, delaySteps: 2, noiseStd: 0.05 });
    expect(p.timeConstants.tauM.mismatch).toMatchObject({ distribution: 'lognormal', cv: { value: 0.2, source: 'ill' } });
    expect(p.timeConstants.tauM.mismatch.cv.ref).toContain('tauMCV');
    const s = resolveSettings(p);
    expect(s.tauR.mismatch.cv).toBe(0.1);
    expect(s.weights).toMatchObject({ format: 'integer', bits: 4, qMin: -8, qMax: 7 });
    expect(s.delays.draw).toEqual({ kind: 'constant', value: 2 });
    expect(s.noise).toEqual({ membraneStd: 0.05, rateStd: 0.05 });
    const chip = realiseChip(p, MLP, 1);
    expect(chip.layers.map((l) => l.delaySteps)).toEqual([2, 2]);
    // the original is untouched
    expect(loadProfile('ideal').weights.format).toBe('float');
  });

  it('keeps the sign handling of the profile when changing weight bits', () => {
    const bss2 = resolveSettings(withOverrides(loadProfile('bss2'), { weightBits: 3 }));
    expect(bss2.weights).toMatchObject({ sign: 'separate-exc-inh', qMin: -7, qMax: 7, synapsesPerWeight: 2 });
    const dyn = resolveSettings(withOverrides(loadProfile('dynapse2'), { weightBits: 2 }));
    expect(dyn.weights).toMatchObject({ bits: 2, bases: 2 });
    const loihi = resolveSettings(withOverrides(loadProfile('loihi2'), { weightBits: 5 }));
    expect(loihi.weights).toMatchObject({ sign: 'sign-magnitude', qMin: -15, qMax: 15 });
  });

  it('rejects unknown names and bad values, naming the override', () => {
    let e = validationError(() => withOverrides(loadProfile('bss2'), { tauCV: 0.1 } as never));
    expect([e.source, e.field]).toEqual(['overrides', 'tauCV']);
    e = validationError(() => withOverrides(loadProfile('bss2'), { tauMCV: -0.1 }));
    expect([e.field, e.value]).toEqual(['tauMCV', -0.1]);
    e = validationError(() => withOverrides(loadProfile('bss2'), { weightBits: 2.5 }));
    expect(e.field).toBe('weightBits');
    e = validationError(() => withOverrides(loadProfile('loihi2'), { weightBits: 1 }));
    expect(e.field).toBe('weightBits');
    e = validationError(() => withOverrides(loadProfile('bss2'), { delaySteps: -1 }));
    expect(e.field).toBe('delaySteps');
    e = validationError(() => withOverrides(loadProfile('bss2'), { tauMWithinCoreCV: 0.1 }));
    expect(e.field).toBe('tauMWithinCoreCV');
    e = validationError(() => withOverrides(loadProfile('mcu-q15'), { weightBits: 8 }));
    expect(e.field).toBe('weightBits');
  });

  it('parses NAME=NUMBER lists', () => {
    expect(parseOverrides('tauMCV=0.2, weightBits=4')).toEqual({ tauMCV: 0.2, weightBits: 4 });
    expect(parseOverrides(['delaySteps=3', 'noiseStd=1e-2'])).toEqual({ delaySteps: 3, noiseStd: 0.01 });
    expect(validationError(() => parseOverrides('tauMCV=abc')).field).toBe('tauMCV');
    expect(validationError(() => parseOverrides('bogus=1')).field).toBe('bogus');
    expect(validationError(() => parseOverrides('tauMCV')).field).toBe('tauMCV');
  });
});

describe('representations', () => {
  it('rounds by the named rule', () => {
    expect([2.5, -2.5, 0.5, -0.4].map((x) => roundWith('nearest', x))).toEqual([3, -3, 1, 0]);
    expect([2.5, 3.5, -2.5, 2.4].map((x) => roundWith('nearest-even', x))).toEqual([2, 4, -2, 2]);
    expect([2.7, -2.7].map((x) => roundWith('floor', x))).toEqual([2, -3]);
    expect([2.7, -2.7].map((x) => roundWith('truncate', x))).toEqual([2, -2]);
  });

  it('realises time constants as the hardware would', () => {
    const loihi = resolveSettings(loadProfile('loihi2')).tauM.representation;
    // d = round(4096 / 10) = 410, tau = 4096 / 410 steps
    expect(representTau(loihi, 10e-3, 1e-3)).toBeCloseTo((4096 / 410) * 1e-3, 15);
    expect(representTau(loihi, 1e-4, 1e-3)).toBeCloseTo((4096 / 4095) * 1e-3, 15);
    const xylo = resolveSettings(loadProfile('xylo')).tauM.representation;
    expect(representTau(xylo, 10e-3, 1e-3)).toBeCloseTo(8e-3, 15);
    expect(representTau(xylo, 12e-3, 1e-3)).toBeCloseTo(16e-3, 15);
    const bss2 = resolveSettings(loadProfile('bss2')).tauM.representation;
    for (const tau of [1.3e-6, 1e-5, 7.7e-5]) {
      const r = representTau(bss2, tau);
      // one code step of 1/tau over 1022 codes
      const step = (1 / 1e-6 - 1 / 1e-4) / 1022;
      expect(Math.abs(1 / r - 1 / tau)).toBeLessThanOrEqual(step / 2 + 1e-6);
    }
    expect(representTau(bss2, 1)).toBeCloseTo(1e-4, 12);
    const dyn = resolveSettings(loadProfile('dynapse2')).tauM.representation;
    expect(representTau(dyn, 0.02)).toBe(0.02);
    expect(representTau(dyn, 5)).toBe(1);
  });
});

describe('describeProfile', () => {
  it('summarises every profile with tagged numbers and can list the sources', () => {
    for (const name of SHIPPED) {
      const p = loadProfile(name);
      const text = describeProfile(p);
      expect(text.split('\n')[0]).toBe(`${name} (${p.kind})`);
      expect(text).toContain(profileHash(p));
      for (const key of ['timing', 'tau_m', 'tau_r', 'weights', 'noise', 'phi', 'delays', 'limits', 'host'])
        expect(text).toMatch(new RegExp(`^${key}\\s`, 'm'));
    }
    const bss2 = describeProfile(loadProfile('bss2'), { sources: true });
    expect(bss2).toContain('512 [lit]');
    expect(bss2).toContain('capacity.fanIn = 256 [lit] hardware.md § BrainScaleS-2');
  });
});
