/**
 * Fixed-point networks of given layer sizes for the benches, whose cost is set by the
 * sizes, not by what the networks compute: random weight codes, LE time constants
 * (tau_m = tau_r = 20 dt), 16-bit formats with per-layer binary points as compiling for
 * fpga-fixed16 gives them.
 */
import { formatFromParts, type Descriptor, type DescriptorLayer } from '../src/descriptor/index.js';
import { Rng } from '../src/util/rng.js';

const fmt = (width: number, frac: number) => formatFromParts(width, frac, true, 5, 1);

export interface SyntheticOptions {
  /** one weight code (12 fraction bits) from the network's random stream */
  weightCode: (rng: Rng) => number;
  /** hidden layers: hard sigmoid through a 1024-entry table, or identity rates like the output */
  hidden: 'hardSigmoid' | 'identity';
  stepsPerSample: number;
  profile: string;
}

/** A static-presentation network of these sizes (input first), weights drawn from `seed`. */
export function syntheticDescriptor(sizes: number[], seed: number, o: SyntheticOptions): Descriptor {
  const rng = new Rng(seed);
  const layers: DescriptorLayer[] = [];
  for (let l = 1; l < sizes.length; l++) {
    const nIn = sizes[l - 1],
      nOut = sizes[l];
    const table = o.hidden === 'hardSigmoid' && l < sizes.length - 1 ? hardSigmoidTable() : null;
    const weights = new Int16Array(nIn * nOut);
    for (let k = 0; k < weights.length; k++) weights[k] = o.weightCode(rng);
    layers.push({
      nIn,
      nOut,
      phi: table === null ? 'linear' : 'hardSigmoid',
      delay: 0,
      weightFormat: fmt(16, 12),
      weights,
      biasFormat: fmt(16, 10),
      bias: new Int32Array(nOut),
      driveFormat: fmt(16, 10),
      membraneFormat: fmt(16, 10),
      prospectiveFormat: fmt(16, 10),
      rateFormat: table === null ? fmt(16, 10) : fmt(16, 13),
      alphaFrac: 10,
      alpha: new Uint16Array(nOut).fill(51),
      rhoFrac: 10,
      rho: new Uint16Array(nOut).fill(1024),
      nonlinearity: table === null ? { kind: 'identity' } : { kind: 'table', base: -8 * 1024, shift: 4, interpolate: false, table },
      placement: null,
    });
  }
  return {
    formatVersion: 1,
    header: { tool: 'bench', profile: { name: o.profile, hash: 'none' }, model: { hash: 'none', task: 'bench' }, precision: 'per-layer', info: {} },
    network: {
      dt: 0.05,
      dtSeconds: null,
      inputSize: sizes[0],
      outputSize: sizes[sizes.length - 1],
      inputFormat: fmt(16, 14),
      presentation: { mode: 'static', stepsPerSample: o.stepsPerSample, settleSteps: 0, readout: 'last' },
      layers,
    },
  };
}

/** hard sigmoid over [-8, 8) at 13 fraction bits */
function hardSigmoidTable(): Int32Array {
  const table = new Int32Array(1024);
  for (let k = 0; k < 1024; k++) table[k] = Math.round(Math.min(1, Math.max(0, -8 + k / 64)) * 8192);
  return table;
}
