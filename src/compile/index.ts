/**
 * Compile: model file + hardware profile -> device descriptor.
 *
 *   map       place neurons on cores; check neuron counts, fan-in/out, memory, delays,
 *             and every weight against its format (map.ts);
 *   quantise  integer formats and per-layer binary points (precision.ts), from the
 *             profile and the value ranges the float target reaches on calibration data
 *             (calibrate.ts); time constants as decay factors dt/tau_m and prospective
 *             factors tau_r/tau_m; the nonlinearity as the profile realises it;
 *   write     the descriptor (src/descriptor, firmware-bridge/DESCRIPTOR.md).
 *
 * The report lists, per layer and tensor, the format, where it came from, its range,
 * the range seen on the calibration data, and how many values saturated: weights at
 * quantisation, and the datapath's values in a bit-accurate run of the calibration data.
 */
import { phiScalar, type ActivationName } from '../engine/activations.js';
import { FixedFormat, quantise, quantiseArray, toReal } from '../fixed/index.js';
import {
  profileHash, representTau, resolveSettings, tableSamplePoint, type HwProfile, type ResolvedNonlinearity, type ResolvedSettings,
  type ResolvedTauRepresentation,
} from '../hw/index.js';
import type { ModelFile } from '../model/model-file.js';
import { GlekitError } from '../util/errors.js';
import { writeFileAtomic } from '../util/files.js';
import { VERSION } from '../version.js';
import {
  DESCRIPTOR_VERSION, LIMITS, encodeDescriptor, descriptorHash, storedRange, type Descriptor, type DescriptorLayer,
  type Nonlinearity, type Placement,
} from '../descriptor/index.js';
import { FixedEngine, runPresentation } from '../emulator/engine.js';
import { footprintBytes, presentationInputs } from '../emulator/run.js';
import { calibrate, loadCalibrationData, maxAbs, type Calibration, type Range } from './calibrate.js';
import { CompileError, capacityViolations, chooseDelays, placeNeurons, type MapViolation } from './map.js';
import {
  applyEntry, datapathRounding, findEntry, formatOf, fracForRange, overflowMode, parsePrecision, roundingMode,
  type PrecisionSpec, type TensorName, type TensorPlan,
} from './precision.js';

export { CompileError, type MapViolation } from './map.js';
export { parsePrecision, type PrecisionSpec } from './precision.js';
export { calibrate, loadCalibrationData, CALIBRATION_DATA_FORMAT, type Calibration } from './calibrate.js';

/** Headroom over the calibrated range when a binary point is placed: saturating formats clip rare excursions, wrapping ones must not meet them. */
export const HEADROOM_SATURATE = 1.25;
export const HEADROOM_WRAP = 2;
/** The table an exact nonlinearity becomes on an integer datapath (hls4ml's default size, the shipped tables' range). */
export const EXACT_TABLE = { entries: 1024, min: -8, max: 8 } as const;

export interface CompileOptions {
  model: ModelFile;
  profile: HwProfile;
  /** the --precision text */
  precision?: string;
  /** calibration data file; default: the model task's training samples */
  calibrationFile?: string;
  calibrationSamples?: number;
  /** per-layer delays in steps; default: the profile's */
  delays?: number[];
}

export interface TensorReport {
  layer: number | 'input';
  tensor: string;
  format: string;
  origin: string;
  /** the real range the format holds */
  formatMin: number;
  formatMax: number;
  /** the range seen (weights: the model's values; datapath: the float target on calibration data) */
  seenMin: number | null;
  seenMax: number | null;
  values: number;
  /** values out of the format's range: quantised weights, or datapath results in the bit-accurate calibration run */
  saturated: number;
}

export interface CompileResult {
  descriptor: Descriptor;
  bytes: Uint8Array;
  hash: string;
  report: TensorReport[];
  notes: string[];
  placement: Placement[];
  calibrationSource: string;
  calibrationSamples: number;
  /** bytes of the C engine's buffers for this network (footprintBytes; layer records not included) */
  footprint: Record<string, number>;
  /** the profile's memory, when it states one */
  memoryBytes: number | null;
}

interface LayerPlans {
  weights: TensorPlan;
  bias: TensorPlan;
  drive: TensorPlan;
  membrane: TensorPlan;
  prospective: TensorPlan;
  rate: TensorPlan;
}

const NONE = (origin: string): TensorPlan => ({ width: 0, frac: null, signed: true, rounding: 'RND', overflow: 'SAT', origin });

/** The profile's formats for each tensor (width 0 where the profile has no integer format). */
function profilePlans(p: HwProfile, s: ResolvedSettings, nLayers: number, spec: PrecisionSpec, violations: MapViolation[]): { input: TensorPlan; layers: LayerPlans[] } {
  const rounding = datapathRounding(s);
  const w = s.weights;
  let weights: TensorPlan;
  if (w.format === 'integer') {
    if (w.coding !== 'uniform') violations.push({ limit: 'weights.coding', layer: 'network', message: `network: ${p.name} codes weights as ${w.coding}; descriptor format 1 holds uniform integer weights (limit weights.coding)` });
    const symmetric = w.sign !== 'signed';
    const width = w.sign === 'separate-exc-inh' ? w.bits + 1 : w.bits;
    const base = { width, signed: true, rounding: roundingMode(w.rounding, `${p.name}: weights.rounding`), overflow: overflowMode(w.overflow, symmetric) };
    if (w.scale.kind === 'fixed') weights = { ...base, frac: w.scale.fractionalBits, origin: `profile (${w.bits}-bit ${w.sign}, scale fixed at 2^-${w.scale.fractionalBits})` };
    else if (w.scale.kind === 'power-of-two') weights = { ...base, frac: null, fracMin: -w.scale.maxExponent, fracMax: -w.scale.minExponent, origin: `profile (${w.bits}-bit ${w.sign}, per-matrix scale 2^${w.scale.minExponent}..2^${w.scale.maxExponent} from the range)` };
    else weights = { ...base, frac: null, origin: `profile (${w.bits}-bit ${w.sign}, free scale: a power of two from the range)` };
  } else {
    weights = NONE(`profile: weights.format is float`);
  }
  const m = s.state.membrane;
  let membrane: TensorPlan;
  if (m.format === 'fixed') {
    membrane = { width: Math.min(m.bits, LIMITS.stateWidth), frac: m.fractionalBits, signed: true, rounding, overflow: overflowMode(m.overflow, false),
      origin: m.fractionalBits === null ? `profile (${m.bits}-bit membrane, binary point from the range)` : `profile (${m.bits}-bit membrane, ${m.fractionalBits} fraction bits)` };
  } else {
    membrane = NONE(`profile: state.membrane.format is ${m.format}`);
  }
  const acc = s.state.accumulator;
  let drive: TensorPlan = { ...membrane, origin: `${membrane.origin}; the sum is exact (int64), written back in the membrane's format` };
  if (acc !== null && acc.format === 'fixed' && acc.bits <= LIMITS.stateWidth) {
    drive = { width: acc.bits, frac: membrane.frac, signed: true, rounding, overflow: overflowMode(acc.overflow, false), origin: `profile (${acc.bits}-bit accumulator, the membrane's binary point)` };
  }
  const r = s.state.rate;
  const nl = s.nonlinearity;
  let rate: TensorPlan;
  if (r !== null && r.format === 'fixed') {
    rate = { width: Math.min(r.bits, LIMITS.activationWidth), frac: r.fractionalBits, signed: true, rounding, overflow: overflowMode(r.overflow, false), origin: `profile (${r.bits}-bit rate)` };
  } else if (nl.kind === 'lut' && nl.outputBits !== null) {
    rate = { ...membrane, width: Math.min(nl.outputBits, LIMITS.activationWidth), origin: `profile (${nl.outputBits}-bit table entries, the membrane's binary point)` };
  } else {
    rate = { ...membrane, width: Math.min(membrane.width, LIMITS.activationWidth), origin: `${membrane.origin.split(';')[0]} (rates like the membrane)` };
  }
  const input: TensorPlan = { ...membrane, width: Math.min(membrane.width, LIMITS.activationWidth), origin: `${membrane.origin.split(';')[0]} (inputs like the membrane)` };
  const bias: TensorPlan = { ...drive, origin: `${drive.origin.split(';')[0]}; the bias takes the drive's format (it starts the sum)` };
  const layers: LayerPlans[] = [];
  for (let l = 0; l < nLayers; l++) {
    const one = (t: TensorName, plan: TensorPlan): TensorPlan => {
      let out = spec.policy === 'per-layer' && plan.width > 0 ? { ...plan, frac: null, origin: `${plan.origin.split(';')[0]}; binary point per layer from the range (policy per-layer)` } : plan;
      out = applyEntry(out, findEntry(spec, t, l));
      return out;
    };
    layers.push({
      weights: one('weights', weights), bias: one('bias', bias), drive: one('drive', drive), membrane: one('membrane', membrane),
      prospective: one('prospective', { ...membrane, origin: `${membrane.origin.split(';')[0]} (prospective like the membrane)` }), rate: one('rate', rate),
    });
  }
  let inputPlan = spec.policy === 'per-layer' && input.width > 0 ? { ...input, frac: null, origin: `${input.origin}; binary point from the range (policy per-layer)` } : input;
  inputPlan = applyEntry(inputPlan, findEntry(spec, 'input', null));
  return { input: inputPlan, layers };
}

function headroomOf(p: TensorPlan): number {
  return p.overflow === 'WRAP' ? HEADROOM_WRAP : HEADROOM_SATURATE;
}

function realRange(f: FixedFormat): [number, number] {
  return [toReal(f.minRaw, f), toReal(f.maxRaw, f)];
}

/** The time constant the representation realises, in model units (step-based ones only see tau / dt). */
function representedTau(rep: ResolvedTauRepresentation, tau: number, dt: number, s: ResolvedSettings): number {
  if (rep.kind === 'decay' || rep.kind === 'bit-shift') return representTau(rep, tau, dt);
  const unit = s.timing.dt !== null ? s.timing.dt / dt : 1;
  return representTau(rep, tau * unit, s.timing.dt) / unit;
}

function decayBits(rep: ResolvedTauRepresentation): { bits: number; origin: string } {
  switch (rep.kind) {
    case 'decay': return { bits: rep.bits, origin: `profile (${rep.bits}-bit decay: dt/tau = d / 2^${rep.bits})` };
    case 'bit-shift': return { bits: rep.shiftMax, origin: `profile (bit-shift decay up to 2^-${rep.shiftMax})` };
    default: return { bits: LIMITS.alphaFrac, origin: `the descriptor's finest (${LIMITS.alphaFrac} fraction bits; the profile's time constants are ${rep.kind})` };
  }
}

interface TableShape { entries: number; min: number; step: number; interpolate: boolean; breakpoints: boolean; origin: string }

/** How the layer's phi is realised: a table shape, a clamp, or the identity. */
function nonlinearityShape(phi: ActivationName, nl: ResolvedNonlinearity): { kind: 'identity' } | { kind: 'clamp'; lo: number; hi: number; origin: string } | ({ kind: 'table' } & TableShape) {
  if (phi === 'linear') return { kind: 'identity' };
  switch (nl.kind) {
    case 'clamp': return { kind: 'clamp', lo: nl.min, hi: nl.max, origin: `profile (clamp to [${nl.min}, ${nl.max}])` };
    case 'lut': return { kind: 'table', entries: nl.entries, min: nl.min, step: nl.step, interpolate: nl.interpolation === 'linear', breakpoints: false, origin: `profile (${nl.entries}-entry table over [${nl.min}, ${nl.max}), ${nl.interpolation === 'linear' ? 'interpolated' : 'no interpolation'})` };
    case 'piecewise-linear': return { kind: 'table', entries: nl.segments + 1, min: nl.min, step: (nl.max - nl.min) / nl.segments, interpolate: true, breakpoints: true, origin: `profile (${nl.segments} linear segments over [${nl.min}, ${nl.max}])` };
    case 'exact':
      if (phi === 'hardSigmoid') return { kind: 'clamp', lo: 0, hi: 1, origin: 'exact hard sigmoid: a clamp to [0, 1]' };
      if (phi === 'relu') return { kind: 'clamp', lo: 0, hi: Infinity, origin: 'exact relu: a clamp at 0' };
      return { kind: 'table', entries: EXACT_TABLE.entries, min: EXACT_TABLE.min, step: (EXACT_TABLE.max - EXACT_TABLE.min) / EXACT_TABLE.entries, interpolate: true, breakpoints: false, origin: `exact ${phi} approximated by an interpolated ${EXACT_TABLE.entries}-entry table over [${EXACT_TABLE.min}, ${EXACT_TABLE.max})` };
  }
}

function log2Exact(x: number): number | null {
  const e = Math.round(Math.log2(x));
  return 2 ** e === x ? e : null;
}

/** Compiles a model for a profile. Throws CompileError listing every limit it breaks. */
export function compileModel(opts: CompileOptions): CompileResult {
  const { model, profile } = opts;
  const s = resolveSettings(profile);
  const spec = parsePrecision(opts.precision);
  const mlayers = model.network.layers;
  const nLayers = mlayers.length;
  const dt = model.network.dt;
  const notes: string[] = [];

  // ---- map: capacity, delays, representation
  const violations: MapViolation[] = capacityViolations(profile, model);
  const { delays, violations: delayViolations } = chooseDelays(profile, s, nLayers, opts.delays);
  violations.push(...delayViolations);
  if (s.timing.mode === 'continuous') {
    violations.push({ limit: 'timing.mode', layer: 'network', message: `network: ${profile.name} runs in continuous time (timing.mode continuous); a descriptor steps a clocked integer datapath` });
  }
  if (model.network.gamma !== 0 && model.network.prospectiveErrors) {
    notes.push('inference only: the descriptor carries no error path (gamma and learning are not compiled)');
  }
  let plans: { input: TensorPlan; layers: LayerPlans[] };
  try {
    plans = profilePlans(profile, s, nLayers, spec, violations);
  } catch (e) {
    if (!(e instanceof GlekitError)) throw e;
    violations.push({ limit: 'representation', layer: 'network', message: `network: ${e.message}` });
    throw new CompileError(profile.name, violations);
  }
  // tensors the profile gives no integer format for, grouped by the profile field that says so
  const missing = new Map<string, string[]>();
  const checkWidth = (name: string, p: TensorPlan): void => {
    if (p.width !== 0) return;
    const why = p.origin.replace(/^profile: /, '').split(/[;(]/)[0].trim();
    const list = missing.get(why) ?? [];
    if (!list.includes(name)) list.push(name);
    missing.set(why, list);
  };
  checkWidth('input', plans.input);
  plans.layers.forEach((lp) => (Object.keys(lp) as (keyof LayerPlans)[]).forEach((k) => checkWidth(k, lp[k])));
  for (const [why, names] of missing) {
    const limit = why.split(' ')[0];
    violations.push({ limit, layer: 'network', message: `network: ${profile.name} has no integer format for ${names.join(', ')} (${why}); a descriptor holds integers: give them with --precision (e.g. weights=16,state=32,rate=16,input=16)` });
  }
  const tauRepM = s.tauM.representation, tauRepR = s.tauR.representation;
  const decayEntry = findEntry(spec, 'decay', null);
  const decay = decayEntry?.width != null ? { bits: decayEntry.width, origin: `--precision ${decayEntry.text}` } : decayBits(tauRepM);
  if (decay.bits > LIMITS.alphaFrac) {
    violations.push({ limit: 'timeConstants.tauM.representation.bits', layer: 'network', message: `network: ${profile.name} holds dt/tau_m with ${decay.bits} fraction bits; the descriptor holds at most ${LIMITS.alphaFrac} (use --precision decay=${LIMITS.alphaFrac})` });
  }
  const placement = placeNeurons(s, model);
  if (violations.length > 0) throw new CompileError(profile.name, violations);

  // ---- calibration on the float target
  const data = loadCalibrationData(model, opts.calibrationFile, opts.calibrationSamples);
  const cal: Calibration = calibrate(model, data);

  // ---- binary points and formats
  const pick = (p: TensorPlan, range: number, what: string): FixedFormat => {
    if (p.frac !== null) return formatOf(p, p.frac);
    let f = fracForRange(p.width, p.signed, range, what === 'weights' ? 1 : headroomOf(p));
    if (p.fracMin !== undefined && f < p.fracMin) f = p.fracMin;
    if (p.fracMax !== undefined && f > p.fracMax) f = p.fracMax;
    return formatOf(p, f);
  };
  const inputFormat = pick(plans.input, maxAbs(cal.input), 'input');
  const layers: DescriptorLayer[] = [];
  const report: TensorReport[] = [];
  const inputQ = quantiseArray(data.inputs, inputFormat);
  const [iMin, iMax] = realRange(inputFormat);
  report.push({ layer: 'input', tensor: 'input', format: inputFormat.toString(), origin: plans.input.origin, formatMin: iMin, formatMax: iMax, seenMin: cal.input.min, seenMax: cal.input.max, values: data.inputs.length, saturated: inputQ.saturated });
  let xf = inputFormat;
  const weightViolations: MapViolation[] = [];
  const alphaFrac = decay.bits;
  mlayers.forEach((ml, l) => {
    const lp = plans.layers[l];
    const r = cal.layers[l];
    const flatW = Float64Array.from(ml.weights.flat());
    let wMax = 0;
    for (const v of flatW) wMax = Math.max(wMax, Math.abs(v));
    const weightFormat = pick(lp.weights, wMax, 'weights');
    const fw = weightFormat.fracBits, fx = xf.fracBits;
    // drive and membrane share a binary point; it cannot have more fraction bits than the products
    const stateRange = Math.max(maxAbs(r.drive), maxAbs(r.membrane));
    let membraneFormat = pick(lp.membrane, stateRange, 'membrane');
    let fu = membraneFormat.fracBits;
    if (lp.drive.frac === null && lp.membrane.frac === null) fu = Math.min(fu, pick(lp.drive, stateRange, 'drive').fracBits);
    if (fu > fw + fx) {
      notes.push(`layer ${l}: membrane binary point lowered from ${fu} to ${fw + fx} fraction bits (weights ${fw} + inputs ${fx}): the sum has no finer bits`);
      fu = fw + fx;
    }
    membraneFormat = formatOf(lp.membrane, fu);
    const driveFormat = formatOf(lp.drive, fu);
    const biasFormat = formatOf(lp.bias, fu);

    // nonlinearity shape first: a table constrains the prospective binary point
    const shape = nonlinearityShape(ml.phi, s.nonlinearity);
    let minPf = -LIMITS.fracAbs;
    let tableShiftBase = 0;
    if (shape.kind === 'table') {
      const e = log2Exact(shape.step);
      if (e === null) {
        weightViolations.push({ limit: 'nonlinearity.entries', layer: l, message: `layer ${l} (${neuronsText(ml.outputSize)}): table step ${shape.step} is not a power of two; the descriptor indexes tables by shifting (limit nonlinearity.entries / range)` });
        return;
      }
      tableShiftBase = e;
      minPf = -e;
    }
    const rhoMaxFrac = LIMITS.rhoFrac;
    // time constants: alpha = dt / tau_m, rho = tau_r / tau_m, both as the profile represents the taus
    const alpha = new Uint16Array(ml.outputSize);
    const rhoReal = new Float64Array(ml.outputSize);
    const one = 2 ** alphaFrac;
    let tauErr = 0;
    for (let i = 0; i < ml.outputSize; i++) {
      const tm = representedTau(tauRepM, ml.tauM[i], dt, s);
      const tr = representedTau(tauRepR, ml.tauR[i], dt, s);
      tauErr = Math.max(tauErr, Math.abs(tm / ml.tauM[i] - 1), Math.abs(tr / ml.tauR[i] - 1));
      const a = Math.round((one * dt) / tm);
      if (a < 1) weightViolations.push({ limit: 'timeConstants.tauM', layer: l, message: `layer ${l}, neuron ${i}: tau_m ${ml.tauM[i]} exceeds the longest time constant ${alphaFrac} fraction bits of dt/tau_m can hold (${one} dt)` });
      alpha[i] = Math.min(one, Math.max(0, a));
      rhoReal[i] = tr / tm;
    }
    if (tauErr > 1e-9) notes.push(`layer ${l}: time constants as represented differ from the model's by up to ${(100 * tauErr).toFixed(2)} %`);
    let rhoFrac = Math.min(rhoMaxFrac, Math.max(alphaFrac, 0));
    const rhoMax = rhoReal.reduce((a, b) => Math.max(a, b), 0);
    while (rhoFrac > 0 && Math.round(rhoMax * 2 ** rhoFrac) > 65535) rhoFrac--;
    if (Math.round(rhoMax * 2 ** rhoFrac) > 65535) {
      weightViolations.push({ limit: 'timeConstants.tauR', layer: l, message: `layer ${l}: tau_r / tau_m reaches ${rhoMax}, beyond the descriptor's 16-bit prospective factor` });
      return;
    }
    const rho = new Uint16Array(ml.outputSize);
    for (let i = 0; i < ml.outputSize; i++) rho[i] = Math.round(rhoReal[i] * 2 ** rhoFrac);

    let prospectiveFormat = pick(lp.prospective, maxAbs(r.prospective), 'prospective');
    let fp = Math.min(prospectiveFormat.fracBits, fu + rhoFrac);
    if (fp < minPf) {
      if (lp.prospective.frac !== null) {
        weightViolations.push({ limit: 'nonlinearity.entries', layer: l, message: `layer ${l}: the table step 2^${tableShiftBase} is finer than the prospective format's LSB (2^-${prospectiveFormat.fracBits})` });
        return;
      }
      notes.push(`layer ${l}: prospective binary point raised to ${minPf} fraction bits to index the nonlinearity table`);
      fp = minPf;
    }
    prospectiveFormat = formatOf(lp.prospective, fp);

    // nonlinearity and rate format
    let nonlinearity: Nonlinearity;
    let rateFormat: FixedFormat;
    let tableSaturated = 0;
    let nlOrigin = 'identity (a linear layer uses no nonlinearity circuit)';
    if (shape.kind === 'identity') {
      rateFormat = pick(lp.rate, maxAbs(r.rate), 'rate');
      nonlinearity = { kind: 'identity' };
    } else if (shape.kind === 'clamp') {
      const hiReal = Number.isFinite(shape.hi) ? shape.hi : Math.max(maxAbs(r.rate), 1);
      rateFormat = pick(lp.rate, Math.max(Math.abs(shape.lo), hiReal), 'rate');
      const [pLo, pHi] = storedRange(prospectiveFormat);
      const code = (x: number): number => Math.min(pHi, Math.max(pLo, quantise(x, prospectiveFormat.with({ overflow: 'SAT' }))));
      nonlinearity = { kind: 'clamp', lo: code(shape.lo), hi: Number.isFinite(shape.hi) ? code(shape.hi) : pHi };
      nlOrigin = shape.origin;
    } else {
      const values = new Float64Array(shape.entries);
      let tMax = 0;
      for (let k = 0; k < shape.entries; k++) { values[k] = phiScalar(ml.phi, tableSamplePoint(shape.min, shape.step, k, shape.interpolate)); tMax = Math.max(tMax, Math.abs(values[k])); }
      rateFormat = pick(lp.rate, Math.max(tMax, maxAbs(r.rate)), 'rate');
      const q = quantiseArray(values, rateFormat);
      tableSaturated = q.saturated;
      const shift = tableShiftBase + fp;
      let base = shape.min * 2 ** fp;
      // Entries no prospective code can reach are dropped: the cells before the one
      // holding the format's smallest code, and after the one holding its largest (and
      // its right neighbour, which interpolation blends with). Lookups are unchanged.
      const cell = 2 ** shift;
      const k0 = Math.min(shape.entries - 1, Math.max(0, Math.floor((prospectiveFormat.minRaw - base) / cell)));
      const k1 = Math.min(shape.entries - 1, Math.max(k0, Math.floor((prospectiveFormat.maxRaw - base) / cell) + (shape.interpolate ? 1 : 0)));
      base += k0 * cell;
      if (!Number.isInteger(base) || base < -(2 ** 31) || base > 2 ** 31 - 1) {
        weightViolations.push({ limit: 'nonlinearity.min', layer: l, message: `layer ${l}: the table start ${shape.min} has no int32 code in the prospective format ${prospectiveFormat}` });
        return;
      }
      if (k0 > 0 || k1 < shape.entries - 1) notes.push(`layer ${l}: table entries ${k0}..${k1} of ${shape.entries} kept; the others lie outside the prospective format's range`);
      nonlinearity = { kind: 'table', base, shift, interpolate: shape.interpolate && k1 > k0, table: q.raw.slice(k0, k1 + 1) };
      nlOrigin = shape.origin;
      if (tableShiftBase + fp > LIMITS.tableShift) {
        weightViolations.push({ limit: 'nonlinearity.entries', layer: l, message: `layer ${l}: a table cell spans 2^${tableShiftBase + fp} prospective LSBs, more than the descriptor's 2^${LIMITS.tableShift}` });
        return;
      }
    }
    const rShift = fp - rateFormat.fracBits;
    if (shape.kind !== 'table' && rShift < -LIMITS.rateLeftShift) {
      rateFormat = formatOf(lp.rate, fp + LIMITS.rateLeftShift);
      notes.push(`layer ${l}: rate binary point lowered to ${rateFormat.fracBits} (at most ${LIMITS.rateLeftShift} bits finer than the prospective potential)`);
    }

    // weights and bias: quantised once, exactly; any saturation is a map failure
    const wq = quantiseArray(flatW, weightFormat);
    const wSat = weightFormat.with({ overflow: 'SAT' });
    if (wq.saturated > 0) {
      const [lo, hi] = realRange(weightFormat);
      let shown = 0;
      for (let k = 0; k < flatW.length && shown < 3; k++) {
        const c = quantise(flatW[k], wSat);
        if (c === wSat.minRaw || c === wSat.maxRaw) {
          const exact = flatW[k] * weightFormat.scale;
          if (exact < wSat.minRaw - 0.5 || exact > wSat.maxRaw + 0.5) {
            weightViolations.push({ limit: 'weights.range', layer: l, message: `layer ${l}, neuron ${Math.floor(k / ml.inputSize)}, input ${k % ml.inputSize}: weight ${flatW[k].toPrecision(4)} is outside the range [${lo}, ${hi}] of ${weightFormat} (${lp.weights.origin})` });
            shown++;
          }
        }
      }
      if (wq.saturated > shown) weightViolations.push({ limit: 'weights.range', layer: l, message: `layer ${l}: ${wq.saturated - shown} more weights outside [${lo}, ${hi}]` });
    }
    const biasValues = ml.bias === null ? new Float64Array(ml.outputSize) : Float64Array.from(ml.bias);
    const bq = quantiseArray(biasValues, biasFormat);
    if (bq.saturated > 0) {
      const [lo, hi] = realRange(biasFormat);
      const k = biasValues.findIndex((b) => b * biasFormat.scale > biasFormat.maxRaw + 0.5 || b * biasFormat.scale < biasFormat.minRaw - 0.5);
      weightViolations.push({ limit: 'bias.range', layer: l, message: `layer ${l}, neuron ${Math.max(0, k)}: bias ${biasValues[Math.max(0, k)].toPrecision(4)} is outside the range [${lo}, ${hi}] of ${biasFormat} (${bq.saturated} biases in all)` });
    }

    layers.push({
      nIn: ml.inputSize, nOut: ml.outputSize, phi: ml.phi, delay: delays[l],
      weightFormat, weights: Int16Array.from(wq.raw), biasFormat, bias: bq.raw, driveFormat, membraneFormat, prospectiveFormat, rateFormat,
      alphaFrac, alpha, rhoFrac, rho, nonlinearity, placement: placement[l],
    });
    const [wLo, wHi] = realRange(weightFormat);
    let wmin = Infinity, wmax = -Infinity;
    for (const v of flatW) { wmin = Math.min(wmin, v); wmax = Math.max(wmax, v); }
    report.push({ layer: l, tensor: 'weights', format: weightFormat.toString(), origin: lp.weights.origin, formatMin: wLo, formatMax: wHi, seenMin: wmin, seenMax: wmax, values: flatW.length, saturated: wq.saturated });
    const [bLo, bHi] = realRange(biasFormat);
    report.push({ layer: l, tensor: 'bias', format: biasFormat.toString(), origin: lp.bias.origin, formatMin: bLo, formatMax: bHi, seenMin: Math.min(...biasValues), seenMax: Math.max(...biasValues), values: biasValues.length, saturated: bq.saturated });
    const row = (tensor: string, f: FixedFormat, origin: string, seen: Range): TensorReport => {
      const [a, b] = realRange(f);
      return { layer: l, tensor, format: f.toString(), origin, formatMin: a, formatMax: b, seenMin: seen.count ? seen.min : null, seenMax: seen.count ? seen.max : null, values: seen.count, saturated: 0 };
    };
    report.push(row('drive', driveFormat, lp.drive.origin, r.drive));
    report.push(row('membrane', membraneFormat, lp.membrane.origin, r.membrane));
    report.push(row('prospective', prospectiveFormat, lp.prospective.origin, r.prospective));
    const rateRow = row('rate', rateFormat, `${lp.rate.origin}; ${nlOrigin}`, r.rate);
    rateRow.saturated = tableSaturated;
    report.push(rateRow);
    xf = rateFormat;
  });
  if (weightViolations.length > 0) throw new CompileError(profile.name, weightViolations);

  const dataSeed = typeof model.training.dataSeed === 'number' ? model.training.dataSeed : 0;
  const descriptor: Descriptor = {
    formatVersion: DESCRIPTOR_VERSION,
    header: {
      tool: `glekit ${VERSION}`,
      profile: { name: profile.name, hash: `sha256:${profileHash(profile)}` },
      model: { hash: model.contentHash, task: model.task },
      precision: spec.text,
      info: {},
    },
    network: {
      dt,
      dtSeconds: s.timing.dt,
      inputSize: mlayers[0].inputSize,
      outputSize: mlayers[nLayers - 1].outputSize,
      inputFormat,
      presentation: { ...model.presentation },
      layers,
    },
  };

  // the firmware engine's buffers for this network must fit the device's memory
  const footprint = footprintBytes(descriptor);
  const memory = s.limits.memoryBytes;
  if (memory !== null && footprint.total > memory) {
    throw new CompileError(profile.name, [{ limit: 'memoryBytes', layer: 'network', message: `network: the C engine needs ${footprint.total} bytes for this network (weights ${footprint.weights}, tables ${footprint.tables}, state and delay lines ${footprint.membrane + footprint.delayLines}), more than memoryBytes ${memory} of ${profile.name}` }]);
  }

  // ---- bit-accurate run of the calibration data: how often each stage left its range
  const engine = new FixedEngine(descriptor);
  const stepInputs = presentationInputs(descriptor, data.inputs, data.count, data.sampleSize);
  runPresentation(engine, stepInputs, data.count);
  engine.overflowCounts().forEach((c, l) => {
    for (const row of report) {
      if (row.layer !== l) continue;
      if (row.tensor === 'drive') row.saturated = c.drive;
      else if (row.tensor === 'membrane') row.saturated = c.membrane;
      else if (row.tensor === 'prospective') row.saturated = c.prospective;
      else if (row.tensor === 'rate') row.saturated += c.rate;
    }
  });

  descriptor.header.info = {
    dataSeed,
    calibration: { source: data.source, samples: data.count },
    notes,
    report: report.map((r) => ({ ...r })),
  };
  const bytes = encodeDescriptor(descriptor);
  return {
    descriptor, bytes, hash: descriptorHash(bytes), report, notes, placement, calibrationSource: data.source, calibrationSamples: data.count,
    footprint, memoryBytes: memory,
  };
}

function neuronsText(n: number): string {
  return n === 1 ? 'neuron 0' : `neurons 0..${n - 1}`;
}

/** Writes a compiled descriptor through a temporary file and a rename. */
export function writeDescriptorFile(path: string, bytes: Uint8Array): void {
  writeFileAtomic(path, bytes);
}
