/**
 * The hidden realisation of an emulated analog board (`gle_board --analog --truth-out
 * FILE`, firmware-bridge/ANALOG.md) read back for tests and acceptance measurements: its
 * JSON shape, the code -> value maps, the ADC transfer, and the float engine (the
 * substrate target's Network) built on the realised parameters, so that a board with
 * its noise off can be compared with docs/dynamics.md's scheme on the same chip.
 */
import { readFileSync } from 'node:fs';
import type { FloatArray } from '../engine/kernels.js';
import { Network, type LayerHooks } from '../engine/network.js';
import type { NetworkSpec } from '../engine/types.js';
import { GlekitError } from '../util/errors.js';

export const ANALOG_TRUTH_FORMAT = 'glekit.analog-truth/1';

export type TrimParam = 'tauM' | 'tauR' | 'gain' | 'offset';
export const TRIM_PARAMS: readonly TrimParam[] = ['tauM', 'tauR', 'gain', 'offset'];

/** tau (model time units) = lo (hi / lo)^(code / (2^trimBits - 1)) */
export interface ExpMap {
  kind: 'exp';
  lo: number;
  hi: number;
}
/** value = at0 + (at1023 - at0) code / (2^trimBits - 1); offsets in the layer's network units */
export interface LinearMap {
  kind: 'linear';
  at0: number;
  at1023: number;
}

export type TruthNonlinearity =
  | { kind: 'identity' }
  | { kind: 'clamp'; lo: number; hi: number }
  | { kind: 'table'; base: number; cell: number; interpolate: boolean; values: number[] };

export interface TruthLayer {
  nIn: number;
  nOut: number;
  /** global index of the layer's first neuron */
  first: number;
  delay: number;
  /** network values of ADC codes reliableLo and reliableHi (INFO analog.ranges[l]) */
  range: [number, number];
  /** per-step membrane noise std, network units (0 with --noise-off) */
  membraneNoise: number;
  /** realised weight = weightCodes[o * nIn + i] * weightScale (6-bit magnitudes with signs) */
  weightScale: number;
  weightCodes: number[];
  biasScale: number;
  biasCodes: number[];
  nonlinearity: TruthNonlinearity;
}

export interface TruthNeuron {
  layer: number;
  index: number;
  /** the parameter whose trim cannot reach a target, or null */
  broken: TrimParam | null;
  maps: { tauM: ExpMap; tauR: ExpMap; gain: LinearMap; offset: LinearMap };
  target: Record<TrimParam, number>;
  /** the board's nominal codes for the image's targets, in the order of TRIM_PARAMS */
  nominal: [number, number, number, number];
  /** the codes in force (the image's trims, the nominal ones, or the last TRIM_SET) */
  codes: [number, number, number, number];
  /** the values at `codes`: tauM, tauR in model time units (tauM at least dt), gain, offset in network units */
  realised: Record<TrimParam, number>;
}

export interface AnalogTruth {
  format: typeof ANALOG_TRUTH_FORMAT;
  seed: number;
  noise: boolean;
  brokenFraction: number;
  /** model time per step */
  dt: number;
  trimBits: number;
  params: TrimParam[];
  adc: { bits: number; lo: number; hi: number; reliableLo: number; reliableHi: number; compression: number; readNoiseLsb: number };
  membraneNoiseLsb: number;
  /** value of one input code */
  inputScale: number;
  layers: TruthLayer[];
  neurons: TruthNeuron[];
}

export function readAnalogTruth(path: string): AnalogTruth {
  const t = JSON.parse(readFileSync(path, 'utf8')) as AnalogTruth;
  if (t.format !== ANALOG_TRUTH_FORMAT)
    throw new GlekitError(`${path}: not an analog board's truth file (format ${String(t.format)}, expected ${ANALOG_TRUTH_FORMAT})`);
  return t;
}

/** A parameter's value at a code, by the neuron's map (tau_m not yet raised to dt). */
export function mapValue(truth: AnalogTruth, n: TruthNeuron, p: TrimParam, code: number): number {
  const x = code / (2 ** truth.trimBits - 1);
  const m = n.maps[p];
  return m.kind === 'exp' ? m.lo * (m.hi / m.lo) ** x : m.at0 + (m.at1023 - m.at0) * x;
}

/** The ADC's code for a layer's value, without read noise (ANALOG.md "ADC"). */
export function adcCode(truth: AnalogTruth, layer: number, v: number): number {
  const a = truth.adc;
  const [lo, hi] = truth.layers[layer].range;
  let k = a.reliableLo + ((v - lo) / (hi - lo)) * (a.reliableHi - a.reliableLo);
  if (k > a.reliableHi) k = a.reliableHi + (k - a.reliableHi) * a.compression;
  else if (k < a.reliableLo) k = a.reliableLo + (k - a.reliableLo) * a.compression;
  k = Math.floor(k + 0.5);
  const max = 2 ** a.bits - 1;
  return k < 0 ? 0 : k > max ? max : k;
}

/** A layer's value of an ADC code, by INFO's mapping (adc.lo/hi, then the layer's range). */
export function adcValue(truth: AnalogTruth, layer: number, code: number): number {
  const a = truth.adc;
  const v = a.lo + (code * (a.hi - a.lo)) / (2 ** a.bits - 1);
  const [lo, hi] = truth.layers[layer].range;
  return lo + v * (hi - lo);
}

function tablePhi(nl: Extract<TruthNonlinearity, { kind: 'table' }>): (pu: number) => number {
  const t = nl.values,
    last = t.length - 1;
  return (pu) => {
    const d = pu - nl.base;
    if (d < 0) return t[0];
    const x = d / nl.cell;
    const k = Math.floor(x);
    if (k >= last) return t[last];
    if (!nl.interpolate) return t[k];
    return t[k] + (t[k + 1] - t[k]) * (x - k);
  };
}

/**
 * The float engine (src/engine/network.ts, the substrate target's) on the board's
 * realised parameters: W = gain_o * code * weightScale, b = gain_o * code * biasScale +
 * offset_o, tau_m and tau_r as realised, the image's nonlinearity in reals as the
 * activation hook. No noise: compare it with a board started with --noise-off.
 */
export function truthNetwork(truth: AnalogTruth, batch = 1): Network {
  const layers = truth.layers.map((L, l) => {
    if (L.delay !== 0) throw new GlekitError(`truthNetwork: layer ${l} has a delay of ${L.delay} steps, which this reference does not model`);
    const weights = new Float64Array(L.nOut * L.nIn);
    const bias = new Float64Array(L.nOut);
    const tauM = new Float64Array(L.nOut);
    const tauR = new Float64Array(L.nOut);
    for (let o = 0; o < L.nOut; o++) {
      const r = truth.neurons[L.first + o].realised;
      for (let i = 0; i < L.nIn; i++) weights[o * L.nIn + i] = r.gain * L.weightCodes[o * L.nIn + i] * L.weightScale;
      bias[o] = r.gain * L.biasCodes[o] * L.biasScale + r.offset;
      tauM[o] = r.tauM;
      tauR[o] = r.tauR;
    }
    return { phi: 'linear' as const, inputSize: L.nIn, outputSize: L.nOut, weights, bias, tauM, tauR };
  });
  const spec: NetworkSpec = { dtype: 'float64', dt: truth.dt, gamma: 0, beta: 1, loss: 'mse', prospectiveErrors: false, layers };
  const net = new Network(spec, { batch });
  net.layers.forEach((layer, l) => {
    const nl = truth.layers[l].nonlinearity;
    if (nl.kind === 'identity') return;
    const f = nl.kind === 'clamp' ? (x: number) => (x < nl.lo ? nl.lo : x > nl.hi ? nl.hi : x) : tablePhi(nl);
    const hooks: LayerHooks = {
      activation: (pu: FloatArray, r: FloatArray, rp: FloatArray, n: number) => {
        for (let i = 0; i < n; i++) {
          r[i] = f(pu[i]);
          rp[i] = 0;
        }
      },
    };
    layer.hooks = hooks;
  });
  return net;
}
