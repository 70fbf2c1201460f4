/**
 * A profile's settings resolved into plain numbers: defaults filled in, sources dropped,
 * derived quantities (integer ranges, LSB sizes) computed once. This is what an engine
 * or a compiler reads; the semantics of each field are stated here so that both read
 * them the same way.
 */
import type {
  CapacityLimit,
  Distribution,
  GainMismatch,
  HostLink,
  HwProfile,
  NumberFormat,
  ProfileOverflow,
  ProfileRounding,
  Sharing,
  TauMismatch,
  TauRepresentation,
  TimeConstantSpec,
  WeightSign,
} from './types.js';
import { CAPACITY_LIMITS } from './types.js';

export interface ResolvedTiming {
  mode: 'continuous' | 'discrete';
  /** seconds of substrate time per step; null when the substrate leaves it to the emulator */
  dt: number | null;
  /** biological time / substrate time; 1 when not given */
  acceleration: number;
  clockHz: number | null;
}

/**
 * How a requested time constant becomes a representable one (see representTau):
 * - continuous: clamped to [min, max] (0 and Infinity when unbounded);
 * - analog-cell: codes codeMin..codeMax spread over [min, max] seconds, linear in tau,
 *   in 1/tau ('reciprocal') or in log tau ('log');
 * - decay: tau = one / d steps with d = round(one * dt / tau) in dMin..dMax, one = 2^bits;
 * - bit-shift: tau = 2^s steps with s = round(log2(tau / dt)) in shiftMin..shiftMax.
 */
export type ResolvedTauRepresentation =
  | { kind: 'continuous'; min: number; max: number }
  | {
      kind: 'analog-cell';
      bits: number;
      codeMin: number;
      codeMax: number;
      min: number;
      max: number;
      mapping: 'linear' | 'reciprocal' | 'log';
      rounding: ProfileRounding;
    }
  | { kind: 'decay'; bits: number; one: number; dMin: number; dMax: number; rounding: ProfileRounding }
  | { kind: 'bit-shift'; shiftMin: number; shiftMax: number; rounding: ProfileRounding };

/**
 * Fixed-pattern multiplicative variation. normal: 1 + cv*z; lognormal: exp(s*z - s^2/2)
 * with s^2 = ln(1 + cv^2), so mean 1 and CV exactly cv; then clamped to [clipMin, clipMax].
 * With granularity 'core' one draw is shared by coreSize consecutive neurons (each layer
 * starts on a fresh core) and multiplied by an independent per-neuron draw of withinCoreCv.
 */
export interface ResolvedMismatch {
  distribution: Distribution;
  cv: number;
  withinCoreCv: number;
  clipMin: number;
  clipMax: number;
  granularity: 'neuron' | 'core' | 'synapse';
  /** neurons per shared draw; 1 unless granularity is 'core' */
  coreSize: number;
}

export interface ResolvedTimeConstant {
  /** default or calibration target in seconds, null when the profile gives none */
  nominal: number | null;
  /** 'core': the nominal value can only be set once per core of sharingCoreSize neurons */
  sharing: Sharing;
  sharingCoreSize: number | null;
  representation: ResolvedTauRepresentation;
  mismatch: ResolvedMismatch;
  /** CV before calibration, null when the profile does not distinguish */
  cvUncalibrated: number | null;
}

/**
 * 'free': any real scale per matrix; 'power-of-two': scale 2^e per matrix with e in
 * minExponent..maxExponent; 'fixed': scale 2^-fractionalBits for every matrix.
 */
export type ResolvedScale =
  | { kind: 'free' }
  | { kind: 'power-of-two'; minExponent: number; maxExponent: number }
  | { kind: 'fixed'; fractionalBits: number; step: number };

/**
 * A real weight w is stored as the integer code q = round(w / scale) limited to
 * qMin..qMax (saturating or wrapping per overflow). Magnitudes: 'signed' is two's
 * complement over bits; 'sign-magnitude' keeps bits-1 magnitude bits; 'separate-exc-inh'
 * keeps all bits for the magnitude and costs synapsesPerWeight synapses per weight.
 */
export type ResolvedWeights =
  | { format: 'float'; gain: ResolvedMismatch }
  | {
      format: 'integer';
      bits: number;
      sign: WeightSign;
      qMin: number;
      qMax: number;
      synapsesPerWeight: number;
      coding: 'uniform' | 'base-mask';
      bases: number | null;
      scale: ResolvedScale;
      rounding: ProfileRounding;
      overflow: ProfileOverflow;
      gain: ResolvedMismatch;
    };

/** 'fixed': two's complement qMin..qMax; value = q * 2^-fractionalBits when fractionalBits is not null. */
export type ResolvedNumberFormat =
  | { format: 'float' }
  | { format: 'analog'; min: number | null; max: number | null }
  | { format: 'fixed'; bits: number; fractionalBits: number | null; qMin: number; qMax: number; overflow: ProfileOverflow };

export interface ResolvedReadout {
  bits: number;
  codeMin: number;
  codeMax: number;
  /** codeMax - codeMin: the codes a full-scale signal spans */
  span: number;
  samplePeriod: number | null;
  overflow: ProfileOverflow;
}

export interface ResolvedState {
  membrane: ResolvedNumberFormat;
  synaptic: ResolvedNumberFormat | null;
  rate: ResolvedNumberFormat | null;
  accumulator: ResolvedNumberFormat | null;
  readout: ResolvedReadout | null;
}

/** Temporal noise: Gaussian, fresh per neuron and step, std as a fraction of the variable's full scale. */
export interface ResolvedNoise {
  membraneStd: number;
  rateStd: number;
}

/**
 * Where entry k of a table samples phi. A cell without interpolation answers for its
 * whole width, so it holds phi at the cell's centre (sampling its left edge would bias
 * every rate downwards); with interpolation the entries are breakpoints.
 */
export function tableSamplePoint(min: number, step: number, k: number, interpolated: boolean): number {
  return min + (k + (interpolated ? 0 : 0.5)) * step;
}

/**
 * exact: the model's phi; lut: entry k holds phi at tableSamplePoint (k < entries, step =
 * (max-min)/entries), inputs clamped to the table; piecewise-linear: phi interpolated
 * between segments+1 breakpoints over [min, max], constant outside; clamp: r = clip(u, min, max).
 */
export type ResolvedNonlinearity =
  | { kind: 'exact' }
  | { kind: 'lut'; entries: number; min: number; max: number; step: number; interpolation: 'none' | 'linear'; outputBits: number | null }
  | { kind: 'piecewise-linear'; segments: number; min: number; max: number }
  | { kind: 'clamp'; min: number; max: number };

export type ResolvedDelayDraw =
  | { kind: 'constant'; value: number }
  | { kind: 'uniform'; min: number; max: number }
  | { kind: 'normal'; mean: number; std: number; min: number; max: number };

export interface ResolvedDelays {
  granularity: 'layer' | 'synapse';
  draw: ResolvedDelayDraw;
  programmableMin: number | null;
  programmableMax: number | null;
}

/** null: no limit known */
export type ResolvedLimits = Record<CapacityLimit, number | null>;

export interface ResolvedHostLink {
  kind: HostLink['kind'];
  protocol: string | null;
  baud: number | null;
  maxBaud: number | null;
  bitsPerByte: number | null;
  bytesPerSecond: number | null;
  maxFrameBytes: number | null;
}

export interface ResolvedSettings {
  timing: ResolvedTiming;
  tauM: ResolvedTimeConstant;
  tauR: ResolvedTimeConstant;
  weights: ResolvedWeights;
  state: ResolvedState;
  noise: ResolvedNoise;
  nonlinearity: ResolvedNonlinearity;
  delays: ResolvedDelays;
  limits: ResolvedLimits;
  hostLinks: ResolvedHostLink[];
}

const opt = (x: { value: number } | undefined): number | null => (x === undefined ? null : x.value);

function resolveTauRepresentation(rep: TauRepresentation): ResolvedTauRepresentation {
  switch (rep.kind) {
    case 'continuous':
      return { kind: 'continuous', min: rep.min?.value ?? 0, max: rep.max?.value ?? Infinity };
    case 'analog-cell':
      return {
        kind: 'analog-cell',
        bits: rep.bits.value,
        codeMin: rep.codeMin?.value ?? 0,
        codeMax: rep.codeMax?.value ?? 2 ** rep.bits.value - 1,
        min: rep.min.value,
        max: rep.max.value,
        mapping: rep.mapping,
        rounding: rep.rounding,
      };
    case 'decay': {
      const one = 2 ** rep.bits.value;
      return { kind: 'decay', bits: rep.bits.value, one, dMin: rep.dMin?.value ?? 1, dMax: rep.dMax?.value ?? one - 1, rounding: rep.rounding };
    }
    case 'bit-shift':
      return { kind: 'bit-shift', shiftMin: rep.shiftMin.value, shiftMax: rep.shiftMax.value, rounding: rep.rounding };
  }
}

function resolveTauMismatch(m: TauMismatch): ResolvedMismatch {
  return {
    distribution: m.distribution,
    cv: m.distribution === 'none' ? 0 : m.cv.value,
    withinCoreCv: m.distribution === 'none' || m.granularity !== 'core' ? 0 : (m.withinCoreCv?.value ?? 0),
    clipMin: m.clip?.min.value ?? 0,
    clipMax: m.clip?.max.value ?? Infinity,
    granularity: m.granularity,
    coreSize: m.granularity === 'core' ? (m.coreSize?.value ?? 1) : 1,
  };
}

function resolveGain(m: GainMismatch): ResolvedMismatch {
  return {
    distribution: m.distribution,
    cv: m.distribution === 'none' ? 0 : m.cv.value,
    withinCoreCv: 0,
    clipMin: m.clip?.min.value ?? 0,
    clipMax: m.clip?.max.value ?? Infinity,
    granularity: m.granularity === 'neuron' ? 'neuron' : 'synapse',
    coreSize: 1,
  };
}

function resolveTimeConstant(tc: TimeConstantSpec, neuronsPerCore: number | null): ResolvedTimeConstant {
  const sharing = tc.representation.sharing;
  return {
    nominal: opt(tc.nominal),
    sharing,
    sharingCoreSize: sharing === 'core' ? (neuronsPerCore ?? tc.mismatch.coreSize?.value ?? null) : null,
    representation: resolveTauRepresentation(tc.representation),
    mismatch: resolveTauMismatch(tc.mismatch),
    cvUncalibrated: opt(tc.mismatch.cvUncalibrated),
  };
}

/** Integer code range of a stored weight (see ResolvedWeights). */
export function weightCodeRange(bits: number, sign: WeightSign): { qMin: number; qMax: number } {
  switch (sign) {
    case 'signed':
      return { qMin: -(2 ** (bits - 1)), qMax: 2 ** (bits - 1) - 1 };
    case 'sign-magnitude':
      return { qMin: -(2 ** (bits - 1) - 1), qMax: 2 ** (bits - 1) - 1 };
    case 'separate-exc-inh':
      return { qMin: -(2 ** bits - 1), qMax: 2 ** bits - 1 };
  }
}

function resolveWeights(p: HwProfile): ResolvedWeights {
  const w = p.weights;
  if (w.format === 'float') return { format: 'float', gain: resolveGain(w.gainMismatch) };
  const { qMin, qMax } = weightCodeRange(w.bits.value, w.sign);
  let scale: ResolvedScale;
  switch (w.scale.kind) {
    case 'free':
      scale = { kind: 'free' };
      break;
    case 'power-of-two':
      scale = { kind: 'power-of-two', minExponent: w.scale.minExponent.value, maxExponent: w.scale.maxExponent.value };
      break;
    case 'fixed':
      scale = { kind: 'fixed', fractionalBits: w.scale.fractionalBits.value, step: 2 ** -w.scale.fractionalBits.value };
      break;
  }
  return {
    format: 'integer',
    bits: w.bits.value,
    sign: w.sign,
    qMin,
    qMax,
    synapsesPerWeight: w.sign === 'separate-exc-inh' ? (w.synapsesPerSignedWeight?.value ?? 1) : 1,
    coding: w.coding?.kind ?? 'uniform',
    bases: w.coding?.kind === 'base-mask' ? w.coding.bases.value : null,
    scale,
    rounding: w.rounding,
    overflow: w.overflow,
    gain: resolveGain(w.gainMismatch),
  };
}

function resolveNumberFormat(f: NumberFormat): ResolvedNumberFormat {
  switch (f.format) {
    case 'float':
      return { format: 'float' };
    case 'analog':
      return { format: 'analog', min: opt(f.min), max: opt(f.max) };
    case 'fixed':
      return {
        format: 'fixed',
        bits: f.bits.value,
        fractionalBits: opt(f.fractionalBits),
        qMin: -(2 ** (f.bits.value - 1)),
        qMax: 2 ** (f.bits.value - 1) - 1,
        overflow: f.overflow,
      };
  }
}

function resolveState(p: HwProfile): ResolvedState {
  const s = p.state;
  let readout: ResolvedReadout | null = null;
  if (s.readout !== undefined) {
    const codeMin = s.readout.codeMin?.value ?? 0;
    const codeMax = s.readout.codeMax?.value ?? 2 ** s.readout.bits.value - 1;
    readout = {
      bits: s.readout.bits.value,
      codeMin,
      codeMax,
      span: codeMax - codeMin,
      samplePeriod: opt(s.readout.samplePeriod),
      overflow: s.readout.overflow,
    };
  }
  return {
    membrane: resolveNumberFormat(s.membrane),
    synaptic: s.synaptic === undefined ? null : resolveNumberFormat(s.synaptic),
    rate: s.rate === undefined ? null : resolveNumberFormat(s.rate),
    accumulator: s.accumulator === undefined ? null : resolveNumberFormat(s.accumulator),
    readout,
  };
}

function resolveNoise(p: HwProfile, readout: ResolvedReadout | null): ResolvedNoise {
  const toFullScale = (key: 'membrane' | 'rate'): number => {
    const n = p.noise[key];
    // validation guarantees a readout whenever the unit is readout-lsb
    return n.unit === 'readout-lsb' ? n.std.value / (readout as ResolvedReadout).span : n.std.value;
  };
  return { membraneStd: toFullScale('membrane'), rateStd: toFullScale('rate') };
}

function resolveNonlinearity(p: HwProfile): ResolvedNonlinearity {
  const n = p.nonlinearity;
  switch (n.kind) {
    case 'exact':
      return { kind: 'exact' };
    case 'lut':
      return {
        kind: 'lut',
        entries: n.entries.value,
        min: n.min.value,
        max: n.max.value,
        step: (n.max.value - n.min.value) / n.entries.value,
        interpolation: n.interpolation,
        outputBits: opt(n.outputBits),
      };
    case 'piecewise-linear':
      return { kind: 'piecewise-linear', segments: n.segments.value, min: n.min.value, max: n.max.value };
    case 'clamp':
      return { kind: 'clamp', min: n.min.value, max: n.max.value };
  }
}

function resolveDelays(p: HwProfile): ResolvedDelays {
  const d = p.delays.draw;
  let draw: ResolvedDelayDraw;
  switch (d.kind) {
    case 'constant':
      draw = { kind: 'constant', value: d.value.value };
      break;
    case 'uniform':
      draw = { kind: 'uniform', min: d.min.value, max: d.max.value };
      break;
    case 'normal':
      draw = { kind: 'normal', mean: d.mean.value, std: d.std.value, min: d.min.value, max: d.max.value };
      break;
  }
  return {
    granularity: p.delays.granularity,
    draw,
    programmableMin: opt(p.delays.programmable?.min),
    programmableMax: opt(p.delays.programmable?.max),
  };
}

export function resolveLimits(p: HwProfile): ResolvedLimits {
  const out = {} as ResolvedLimits;
  for (const k of CAPACITY_LIMITS) out[k] = opt(p.capacity[k]);
  return out;
}

/** Everything in a profile except the random draws, as plain numbers. */
export function resolveSettings(p: HwProfile): ResolvedSettings {
  const limits = resolveLimits(p);
  const state = resolveState(p);
  return {
    timing: { mode: p.timing.mode, dt: opt(p.timing.dt), acceleration: p.timing.acceleration?.value ?? 1, clockHz: opt(p.timing.clockHz) },
    tauM: resolveTimeConstant(p.timeConstants.tauM, limits.neuronsPerCore),
    tauR: resolveTimeConstant(p.timeConstants.tauR, limits.neuronsPerCore),
    weights: resolveWeights(p),
    state,
    noise: resolveNoise(p, state.readout),
    nonlinearity: resolveNonlinearity(p),
    delays: resolveDelays(p),
    limits,
    hostLinks: p.hostLinks.map((l) => ({
      kind: l.kind,
      protocol: l.protocol ?? null,
      baud: opt(l.baud),
      maxBaud: opt(l.maxBaud),
      bitsPerByte: opt(l.bitsPerByte),
      bytesPerSecond: opt(l.bytesPerSecond),
      maxFrameBytes: opt(l.maxFrameBytes),
    })),
  };
}
