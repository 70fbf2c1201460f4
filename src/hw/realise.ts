/**
 * Realising a profile: (profile, architecture, seed) -> one concrete chip.
 *
 * Each imperfection draws from its own stream, Rng.derive(seed, kind * 65536 + layer),
 * so changing one imperfection's CV (or a layer's size) leaves every other draw
 * untouched, and a sweep over one parameter compares the same chip. Draws are standard
 * normals scaled afterwards, so a CV sweep moves each factor smoothly instead of
 * reshuffling the chip.
 */
import { Rng } from '../util/rng.js';
import { ValidationError } from '../util/errors.js';
import { profileHash } from './profile.js';
import { resolveSettings, type ResolvedMismatch, type ResolvedSettings } from './resolve.js';
import type { CapacityLimit, HwProfile } from './types.js';

export interface Architecture {
  inputSize: number;
  /** neurons per layer, input side first; the last entry is the output layer */
  layerSizes: readonly number[];
}

/** The architecture of a stack of layers (a network spec's or a model file's), as a chip is realised for it. */
export function architectureOf(layers: readonly { inputSize: number; outputSize: number }[]): { inputSize: number; layerSizes: number[] } {
  return { inputSize: layers[0].inputSize, layerSizes: layers.map((l) => l.outputSize) };
}

export interface ChipLayer {
  index: number;
  nIn: number;
  nOut: number;
  /** per neuron: realised tau_m = represented tau_m * factor */
  tauMFactor: Float64Array;
  tauRFactor: Float64Array;
  /** nOut x nIn row-major like W: realised weight = quantised weight * gain */
  weightGain: Float64Array;
  /** transmission delay into this layer in steps: one number for the layer, or nOut x nIn per synapse */
  delaySteps: number | Int32Array;
  /** global core index per neuron (each layer starts on a fresh core); null when the profile has no cores */
  core: Int32Array | null;
}

export const CHIP_FORMAT = 'glekit.chip/1';

export interface Chip extends ResolvedSettings {
  format: typeof CHIP_FORMAT;
  profileName: string;
  profileHash: string;
  seed: number;
  architecture: { inputSize: number; layerSizes: number[] };
  layers: ChipLayer[];
}

/** Stream labels; never renumber them, or every stored chip changes. */
const STREAM = {
  tauM: 1,
  tauMWithinCore: 2,
  tauR: 3,
  tauRWithinCore: 4,
  weightGain: 5,
  delays: 6,
} as const;

const LAYER_STREAMS = 65536;

function stream(seed: number, kind: number, layer: number): Rng {
  return Rng.derive(seed, kind * LAYER_STREAMS + layer);
}

export function validateArchitecture(arch: Architecture): void {
  const src = 'architecture';
  if (arch === null || typeof arch !== 'object') throw new ValidationError(src, '', arch, 'must be an object {inputSize, layerSizes}');
  if (!Number.isInteger(arch.inputSize) || arch.inputSize < 1) throw new ValidationError(src, 'inputSize', arch.inputSize, 'must be a positive integer');
  if (!Array.isArray(arch.layerSizes) || arch.layerSizes.length === 0)
    throw new ValidationError(src, 'layerSizes', arch.layerSizes, 'must be a non-empty array');
  if (arch.layerSizes.length >= LAYER_STREAMS) throw new ValidationError(src, 'layerSizes', arch.layerSizes, `must have fewer than ${LAYER_STREAMS} layers`);
  arch.layerSizes.forEach((n, i) => {
    if (!Number.isInteger(n) || n < 1) throw new ValidationError(src, `layerSizes[${i}]`, n, 'must be a positive integer');
  });
}

function validateSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new ValidationError('seed', 'seed', seed, 'must be an integer in 0..4294967295');
}

function factorOf(m: ResolvedMismatch, cv: number, z: number): number {
  if (m.distribution === 'normal') return 1 + cv * z;
  const s2 = Math.log1p(cv * cv);
  return Math.exp(Math.sqrt(s2) * z - s2 / 2);
}

const clampTo = (x: number, lo: number, hi: number): number => (x < lo ? lo : x > hi ? hi : x);

function drawTauFactors(m: ResolvedMismatch, n: number, seed: number, layer: number, kind: number, withinKind: number): Float64Array {
  const out = new Float64Array(n);
  if (m.distribution === 'none') return out.fill(1);
  const rng = stream(seed, kind, layer);
  if (m.granularity !== 'core') {
    for (let i = 0; i < n; i++) out[i] = clampTo(factorOf(m, m.cv, rng.normal()), m.clipMin, m.clipMax);
    return out;
  }
  const cores = Math.ceil(n / m.coreSize);
  const coreFactor = new Float64Array(cores);
  for (let c = 0; c < cores; c++) coreFactor[c] = factorOf(m, m.cv, rng.normal());
  const within = m.withinCoreCv > 0 ? stream(seed, withinKind, layer) : null;
  for (let i = 0; i < n; i++) {
    const f = coreFactor[Math.floor(i / m.coreSize)] * (within === null ? 1 : factorOf(m, m.withinCoreCv, within.normal()));
    out[i] = clampTo(f, m.clipMin, m.clipMax);
  }
  return out;
}

function drawGains(m: ResolvedMismatch, nOut: number, nIn: number, seed: number, layer: number): Float64Array {
  const out = new Float64Array(nOut * nIn);
  if (m.distribution === 'none') return out.fill(1);
  const rng = stream(seed, STREAM.weightGain, layer);
  if (m.granularity === 'neuron') {
    for (let o = 0; o < nOut; o++) out.fill(clampTo(factorOf(m, m.cv, rng.normal()), m.clipMin, m.clipMax), o * nIn, (o + 1) * nIn);
    return out;
  }
  for (let k = 0; k < out.length; k++) out[k] = clampTo(factorOf(m, m.cv, rng.normal()), m.clipMin, m.clipMax);
  return out;
}

function drawDelays(s: ResolvedSettings, nOut: number, nIn: number, seed: number, layer: number): number | Int32Array {
  const d = s.delays.draw;
  let one: () => number;
  if (d.kind === 'constant') {
    one = () => d.value;
  } else {
    const rng = stream(seed, STREAM.delays, layer);
    one = d.kind === 'uniform' ? () => d.min + rng.int(d.max - d.min + 1) : () => clampTo(Math.round(d.mean + d.std * rng.normal()), d.min, d.max);
  }
  if (s.delays.granularity === 'layer') return one();
  const out = new Int32Array(nOut * nIn);
  for (let k = 0; k < out.length; k++) out[k] = one();
  return out;
}

/** The hardware core size used for `ChipLayer.core`: the profile's neuronsPerCore, else a per-core mismatch's. */
function chipCoreSize(s: ResolvedSettings): number | null {
  if (s.limits.neuronsPerCore !== null) return s.limits.neuronsPerCore;
  if (s.tauM.mismatch.granularity === 'core') return s.tauM.mismatch.coreSize;
  if (s.tauR.mismatch.granularity === 'core') return s.tauR.mismatch.coreSize;
  return null;
}

/**
 * One concrete chip of the profile's family for this architecture. The same
 * (profile content, architecture, seed) always gives the same bits.
 */
export function realiseChip(profile: HwProfile, architecture: Architecture, seed: number): Chip {
  validateArchitecture(architecture);
  validateSeed(seed);
  const s = resolveSettings(profile);
  const coreSize = chipCoreSize(s);
  const layers: ChipLayer[] = [];
  let nextCore = 0;
  let nIn = architecture.inputSize;
  architecture.layerSizes.forEach((nOut, l) => {
    let core: Int32Array | null = null;
    if (coreSize !== null) {
      core = new Int32Array(nOut);
      for (let i = 0; i < nOut; i++) core[i] = nextCore + Math.floor(i / coreSize);
      nextCore += Math.ceil(nOut / coreSize);
    }
    layers.push({
      index: l,
      nIn,
      nOut,
      tauMFactor: drawTauFactors(s.tauM.mismatch, nOut, seed, l, STREAM.tauM, STREAM.tauMWithinCore),
      tauRFactor: drawTauFactors(s.tauR.mismatch, nOut, seed, l, STREAM.tauR, STREAM.tauRWithinCore),
      weightGain: drawGains(s.weights.gain, nOut, nIn, seed, l),
      delaySteps: drawDelays(s, nOut, nIn, seed, l),
      core,
    });
    nIn = nOut;
  });
  return {
    format: CHIP_FORMAT,
    profileName: profile.name,
    profileHash: profileHash(profile),
    seed,
    architecture: { inputSize: architecture.inputSize, layerSizes: [...architecture.layerSizes] },
    ...s,
    layers,
  };
}

export interface CapacityViolation {
  limit: CapacityLimit;
  /** a layer index, the input channels, or the network as a whole */
  layer: number | 'input' | 'network';
  /** what the architecture needs */
  count: number;
  /** what the profile allows */
  max: number;
  message: string;
}

/**
 * Every capacity limit the architecture breaks, empty when it fits. Counts are lower
 * bounds of what a mapping needs (each layer on fresh cores, parameters only in
 * memory), so every reported violation is certain.
 */
export function checkCapacity(profile: HwProfile, architecture: Architecture): CapacityViolation[] {
  return checkCapacitySettings(resolveSettings(profile), profile.name, architecture);
}

/** checkCapacity for settings already resolved, e.g. a realised chip: checkCapacitySettings(chip, chip.profileName, arch). */
export function checkCapacitySettings(s: ResolvedSettings, profileName: string, architecture: Architecture): CapacityViolation[] {
  validateArchitecture(architecture);
  const lim = s.limits;
  const sizes = architecture.layerSizes;
  const out: CapacityViolation[] = [];
  const add = (limit: CapacityLimit, layer: CapacityViolation['layer'], count: number, what: string, detail = ''): void => {
    const max = lim[limit];
    if (max === null || count <= max) return;
    const where = layer === 'network' ? 'network' : layer === 'input' ? 'input' : `layer ${layer}`;
    const how = detail === '' ? '' : ` (${detail})`;
    out.push({ limit, layer, count, max, message: `${where}: ${what} ${count}${how} exceeds ${limit} ${max} of ${profileName}` });
  };
  const perWeight = s.weights.format === 'integer' ? s.weights.synapsesPerWeight : 1;
  const rows = perWeight > 1 ? `${perWeight} synapses per signed weight` : '';

  const neurons = sizes.reduce((a, b) => a + b, 0);
  add('neuronsTotal', 'network', neurons, 'neurons');
  if (lim.neuronsPerCore !== null) {
    const perCore = lim.neuronsPerCore;
    const cores = sizes.reduce((a, n) => a + Math.ceil(n / perCore), 0);
    add('cores', 'network', cores, 'cores needed', `${perCore} neurons per core, each layer on its own cores`);
  }
  add('inputs', 'input', architecture.inputSize, 'input channels');
  add('hiddenNeurons', 'network', neurons - sizes[sizes.length - 1], 'hidden neurons');
  add('outputs', sizes.length - 1, sizes[sizes.length - 1], 'output neurons');

  let nIn = architecture.inputSize;
  let synapses = 0;
  let words = 0;
  sizes.forEach((nOut, l) => {
    add('fanIn', l, nIn * perWeight, 'fan-in', perWeight > 1 ? `${nIn} inputs x ${rows}` : '');
    add('fanOut', l === 0 ? 'input' : l - 1, nOut, 'fan-out');
    synapses += nOut * nIn * perWeight;
    words += nOut * nIn + nOut;
    nIn = nOut;
  });
  add('synapsesTotal', 'network', synapses, 'synapses', rows);
  const bytesPerWord = s.weights.format === 'integer' ? Math.ceil(s.weights.bits / 8) : 4;
  add('memoryBytes', 'network', words * bytesPerWord, 'bytes', `weights and biases alone, ${bytesPerWord} per value`);
  return out;
}
