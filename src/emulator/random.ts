/**
 * Random descriptors and inputs for the differential tests, the fuzz corpus and the
 * benchmark: every field drawn over the whole range format version 1 allows (all
 * rounding and overflow modes, negative and large fraction bits, widths up to the
 * limits, delays, every nonlinearity), so that the TypeScript and C engines are compared
 * on the corners a compiler would rarely produce, not only on its usual output.
 */
import type { Rng } from '../util/rng.js';
import type { FixedFormat } from '../fixed/index.js';
import {
  DESCRIPTOR_VERSION,
  DescriptorError,
  LIMITS,
  formatFromParts,
  validateDescriptor,
  storedRange,
  type Descriptor,
  type DescriptorLayer,
  type Nonlinearity,
} from '../descriptor/index.js';

export interface RandomDescriptorOptions {
  maxLayers?: number;
  maxSize?: number;
  maxDelay?: number;
  maxSteps?: number;
}

const between = (rng: Rng, lo: number, hi: number): number => lo + rng.int(hi - lo + 1);

function randomFormat(rng: Rng, width: number, frac: number, signed: boolean): FixedFormat {
  return formatFromParts(width, frac, signed, rng.int(7), rng.int(4));
}

/** A code of f: mostly small magnitudes (the usual case), sometimes anywhere in the stored range. */
function randomCode(rng: Rng, f: FixedFormat, smallBits = 6): number {
  const [lo, hi] = storedRange(f);
  if (rng.uniform() < 0.3) return lo + Math.floor(rng.uniform() * (hi - lo + 1));
  const span = Math.min(2 ** smallBits, hi - lo + 1);
  const mid = f.signed ? 0 : 0;
  const v = mid + Math.floor(rng.uniform() * span) - (f.signed ? Math.floor(span / 2) : 0);
  return Math.min(hi, Math.max(lo, v));
}

function activationFormat(rng: Rng): FixedFormat {
  const signed = rng.uniform() < 0.7;
  const wide = rng.uniform() < 0.15;
  const width = signed ? between(rng, 2, wide ? LIMITS.activationWidth : 16) : between(rng, 1, wide ? LIMITS.activationWidth : 16);
  return randomFormat(rng, width, between(rng, -4, 20), signed);
}

function randomLayer(rng: Rng, nIn: number, nOut: number, xf: FixedFormat, maxDelay: number): DescriptorLayer {
  const weightFormat = randomFormat(rng, between(rng, 2, LIMITS.weightWidth), between(rng, -4, 16), true);
  const fw = weightFormat.fracBits,
    fx = xf.fracBits;
  const fu = fw + fx - between(rng, 0, 24);
  const membraneFormat = randomFormat(rng, between(rng, 2, 32), fu, true);
  const driveFormat = randomFormat(rng, between(rng, 2, 32), fu, true);
  const biasWidth = between(rng, 2, 32);
  const biasShift = between(rng, 0, Math.min(30, LIMITS.accBits - (biasWidth - 1)));
  const biasFormat = randomFormat(rng, biasWidth, fw + fx - biasShift, true);
  const alphaFrac = between(rng, 0, LIMITS.alphaFrac);
  const rhoFrac = between(rng, 0, LIMITS.rhoFrac);
  const prospectiveFormat = randomFormat(rng, between(rng, 2, 32), fu + rhoFrac - between(rng, 0, 24), true);
  const kind = rng.int(3);
  let rateFormat: FixedFormat;
  let nonlinearity: Nonlinearity;
  if (kind < 2) {
    // rate shift = prospective frac - rate frac must be in -20..62
    const af = activationFormat(rng);
    const pf = prospectiveFormat.fracBits;
    const rf = Math.max(pf - 62, Math.min(pf + LIMITS.rateLeftShift, af.fracBits));
    rateFormat = formatFromParts(af.width, rf, af.signed, af.roundingCode, af.overflowCode);
    if (kind === 0) {
      nonlinearity = { kind: 'identity' };
    } else {
      const [pLo, pHi] = storedRange(prospectiveFormat);
      let a = randomCode(rng, prospectiveFormat, 12),
        b = randomCode(rng, prospectiveFormat, 12);
      if (a > b) [a, b] = [b, a];
      nonlinearity = { kind: 'clamp', lo: Math.max(pLo, a), hi: Math.min(pHi, b) };
    }
  } else {
    rateFormat = activationFormat(rng);
    const interpolate = rng.uniform() < 0.5;
    const entries = rng.uniform() < 0.1 ? between(rng, 2, 600) : between(rng, interpolate ? 2 : 1, 40);
    const table = new Int32Array(entries);
    for (let k = 0; k < entries; k++) table[k] = randomCode(rng, rateFormat, 10);
    const [pLo, pHi] = storedRange(prospectiveFormat);
    const base = Math.max(
      -(2 ** 31),
      Math.min(2 ** 31 - 1, rng.uniform() < 0.5 ? randomCode(rng, prospectiveFormat, 10) : pLo + Math.floor(rng.uniform() * (pHi - pLo + 1))),
    );
    nonlinearity = { kind: 'table', base, shift: between(rng, 0, rng.uniform() < 0.8 ? 8 : LIMITS.tableShift), interpolate, table };
  }
  const weights = new Int16Array(nIn * nOut);
  for (let k = 0; k < weights.length; k++) weights[k] = randomCode(rng, weightFormat);
  const bias = new Int32Array(nOut);
  const alpha = new Uint16Array(nOut);
  const rho = new Uint16Array(nOut);
  const one = 2 ** alphaFrac;
  for (let i = 0; i < nOut; i++) {
    bias[i] = randomCode(rng, biasFormat, 12);
    alpha[i] = rng.uniform() < 0.2 ? one : rng.int(one + 1);
    rho[i] = rng.uniform() < 0.3 ? Math.min(65535, 2 ** rhoFrac) : rng.int(65536);
  }
  return {
    nIn,
    nOut,
    phi: 'random',
    delay: rng.uniform() < 0.5 ? 0 : between(rng, 0, maxDelay),
    weightFormat,
    weights,
    biasFormat,
    bias,
    driveFormat,
    membraneFormat,
    prospectiveFormat,
    rateFormat,
    alphaFrac,
    alpha,
    rhoFrac,
    rho,
    nonlinearity,
    placement: null,
  };
}

/** A valid random descriptor (it passes validateDescriptor; draws that break a bound are drawn again). */
export function randomDescriptor(rng: Rng, opts: RandomDescriptorOptions = {}): Descriptor {
  for (;;) {
    const d = drawDescriptor(rng, opts);
    try {
      validateDescriptor(d, 'random descriptor');
      return d;
    } catch (e) {
      if (!(e instanceof DescriptorError)) throw e;
    }
  }
}

function drawDescriptor(rng: Rng, opts: RandomDescriptorOptions): Descriptor {
  const maxLayers = opts.maxLayers ?? 4;
  const maxSize = opts.maxSize ?? 12;
  const nLayers = between(rng, 1, maxLayers);
  const inputSize = between(rng, 1, maxSize);
  const inputFormat = activationFormat(rng);
  const layers: DescriptorLayer[] = [];
  let nIn = inputSize;
  let xf = inputFormat;
  for (let l = 0; l < nLayers; l++) {
    const nOut = between(rng, 1, maxSize);
    const layer = randomLayer(rng, nIn, nOut, xf, opts.maxDelay ?? 3);
    layers.push(layer);
    nIn = nOut;
    xf = layer.rateFormat;
  }
  const steps = between(rng, 1, opts.maxSteps ?? 8);
  return {
    formatVersion: DESCRIPTOR_VERSION,
    header: {
      tool: 'glekit random descriptor',
      profile: { name: 'random', hash: 'none' },
      model: { hash: 'none', task: 'random' },
      precision: 'random',
      info: {},
    },
    network: {
      dt: 0.1,
      dtSeconds: null,
      inputSize,
      outputSize: nIn,
      inputFormat,
      presentation: { mode: 'static', stepsPerSample: steps, settleSteps: rng.int(steps), readout: rng.uniform() < 0.5 ? 'last' : 'sum' },
      layers,
    },
  };
}

/**
 * Input codes for `samples` presentations (stepsPerSample rows each): mostly codes of
 * the input format, and a few outside it, which both engines must bring into the format.
 */
export function randomInputs(rng: Rng, d: Descriptor, samples: number): Int32Array {
  const n = d.network;
  const out = new Int32Array(samples * n.presentation.stepsPerSample * n.inputSize);
  const [lo, hi] = storedRange(n.inputFormat);
  for (let k = 0; k < out.length; k++) {
    const u = rng.uniform();
    if (u < 0.03) out[k] = rng.nextUint32() | 0;
    else if (u < 0.5) out[k] = lo + Math.floor(rng.uniform() * (hi - lo + 1));
    else out[k] = Math.max(lo, Math.min(hi, rng.int(64) - (n.inputFormat.signed ? 32 : 0)));
  }
  return out;
}
