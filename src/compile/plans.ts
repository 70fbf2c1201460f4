/**
 * Quantise, first half: the format each tensor gets from the profile and the --precision
 * entries, before the value ranges place the binary points that are still open.
 */
import { LIMITS } from '../descriptor/index.js';
import type { Rounding } from '../fixed/index.js';
import type { HwProfile, ResolvedSettings } from '../hw/index.js';
import type { MapViolation } from './map.js';
import { applyEntry, datapathRounding, findEntry, overflowMode, roundingMode, type PrecisionSpec, type TensorName, type TensorPlan } from './precision.js';

export interface LayerPlans {
  weights: TensorPlan;
  bias: TensorPlan;
  drive: TensorPlan;
  membrane: TensorPlan;
  prospective: TensorPlan;
  rate: TensorPlan;
}

export interface NetworkPlans {
  input: TensorPlan;
  layers: LayerPlans[];
}

const NONE = (origin: string): TensorPlan => ({ width: 0, frac: null, signed: true, rounding: 'RND', overflow: 'SAT', origin });

const firstClause = (origin: string): string => origin.split(';')[0];

function weightsPlan(p: HwProfile, s: ResolvedSettings, violations: MapViolation[]): TensorPlan {
  const w = s.weights;
  if (w.format !== 'integer') return NONE(`profile: weights.format is float`);
  if (w.coding !== 'uniform')
    violations.push({
      limit: 'weights.coding',
      layer: 'network',
      message: `network: ${p.name} codes weights as ${w.coding}; descriptor format 1 holds uniform integer weights (limit weights.coding)`,
    });
  const symmetric = w.sign !== 'signed';
  const width = w.sign === 'separate-exc-inh' ? w.bits + 1 : w.bits;
  const base = { width, signed: true, rounding: roundingMode(w.rounding, `${p.name}: weights.rounding`), overflow: overflowMode(w.overflow, symmetric) };
  if (w.scale.kind === 'fixed')
    return { ...base, frac: w.scale.fractionalBits, origin: `profile (${w.bits}-bit ${w.sign}, scale fixed at 2^-${w.scale.fractionalBits})` };
  if (w.scale.kind === 'power-of-two')
    return {
      ...base,
      frac: null,
      fracMin: -w.scale.maxExponent,
      fracMax: -w.scale.minExponent,
      origin: `profile (${w.bits}-bit ${w.sign}, per-matrix scale 2^${w.scale.minExponent}..2^${w.scale.maxExponent} from the range)`,
    };
  return { ...base, frac: null, origin: `profile (${w.bits}-bit ${w.sign}, free scale: a power of two from the range)` };
}

/** The datapath's formats (membrane, drive, rate, input, bias) as the profile states them. */
function statePlans(s: ResolvedSettings, rounding: Rounding): Omit<LayerPlans, 'weights' | 'prospective'> & { input: TensorPlan } {
  const m = s.state.membrane;
  const membrane: TensorPlan =
    m.format === 'fixed'
      ? {
          width: Math.min(m.bits, LIMITS.stateWidth),
          frac: m.fractionalBits,
          signed: true,
          rounding,
          overflow: overflowMode(m.overflow, false),
          origin:
            m.fractionalBits === null
              ? `profile (${m.bits}-bit membrane, binary point from the range)`
              : `profile (${m.bits}-bit membrane, ${m.fractionalBits} fraction bits)`,
        }
      : NONE(`profile: state.membrane.format is ${m.format}`);
  const acc = s.state.accumulator;
  let drive: TensorPlan = { ...membrane, origin: `${membrane.origin}; the sum is exact (int64), written back in the membrane's format` };
  if (acc !== null && acc.format === 'fixed' && acc.bits <= LIMITS.stateWidth) {
    drive = {
      width: acc.bits,
      frac: membrane.frac,
      signed: true,
      rounding,
      overflow: overflowMode(acc.overflow, false),
      origin: `profile (${acc.bits}-bit accumulator, the membrane's binary point)`,
    };
  }
  const r = s.state.rate;
  const nl = s.nonlinearity;
  let rate: TensorPlan;
  if (r !== null && r.format === 'fixed') {
    rate = {
      width: Math.min(r.bits, LIMITS.activationWidth),
      frac: r.fractionalBits,
      signed: true,
      rounding,
      overflow: overflowMode(r.overflow, false),
      origin: `profile (${r.bits}-bit rate)`,
    };
  } else if (nl.kind === 'lut' && nl.outputBits !== null) {
    rate = {
      ...membrane,
      width: Math.min(nl.outputBits, LIMITS.activationWidth),
      origin: `profile (${nl.outputBits}-bit table entries, the membrane's binary point)`,
    };
  } else {
    rate = { ...membrane, width: Math.min(membrane.width, LIMITS.activationWidth), origin: `${firstClause(membrane.origin)} (rates like the membrane)` };
  }
  const input: TensorPlan = {
    ...membrane,
    width: Math.min(membrane.width, LIMITS.activationWidth),
    origin: `${firstClause(membrane.origin)} (inputs like the membrane)`,
  };
  const bias: TensorPlan = { ...drive, origin: `${firstClause(drive.origin)}; the bias takes the drive's format (it starts the sum)` };
  return { membrane, drive, rate, input, bias };
}

/** The profile's formats for each tensor (width 0 where the profile has no integer format), with the --precision entries applied. */
export function profilePlans(p: HwProfile, s: ResolvedSettings, nLayers: number, spec: PrecisionSpec, violations: MapViolation[]): NetworkPlans {
  const rounding = datapathRounding(s);
  const weights = weightsPlan(p, s, violations);
  const { membrane, drive, rate, input, bias } = statePlans(s, rounding);
  const layers: LayerPlans[] = [];
  for (let l = 0; l < nLayers; l++) {
    const one = (t: TensorName, plan: TensorPlan): TensorPlan => {
      const out =
        spec.policy === 'per-layer' && plan.width > 0
          ? { ...plan, frac: null, origin: `${firstClause(plan.origin)}; binary point per layer from the range (policy per-layer)` }
          : plan;
      return applyEntry(out, findEntry(spec, t, l));
    };
    layers.push({
      weights: one('weights', weights),
      bias: one('bias', bias),
      drive: one('drive', drive),
      membrane: one('membrane', membrane),
      prospective: one('prospective', { ...membrane, origin: `${firstClause(membrane.origin)} (prospective like the membrane)` }),
      rate: one('rate', rate),
    });
  }
  const inputPlan =
    spec.policy === 'per-layer' && input.width > 0
      ? { ...input, frac: null, origin: `${input.origin}; binary point from the range (policy per-layer)` }
      : input;
  return { input: applyEntry(inputPlan, findEntry(spec, 'input', null)), layers };
}

/**
 * Tensors the profile gives no integer format for, grouped by the profile field that
 * says so: one violation per field.
 */
export function missingFormats(profileName: string, plans: NetworkPlans): MapViolation[] {
  const missing = new Map<string, string[]>();
  const checkWidth = (name: string, p: TensorPlan): void => {
    if (p.width !== 0) return;
    const why = p.origin
      .replace(/^profile: /, '')
      .split(/[;(]/)[0]
      .trim();
    const list = missing.get(why) ?? [];
    if (!list.includes(name)) list.push(name);
    missing.set(why, list);
  };
  checkWidth('input', plans.input);
  plans.layers.forEach((lp) => (Object.keys(lp) as (keyof LayerPlans)[]).forEach((k) => checkWidth(k, lp[k])));
  return [...missing].map(([why, names]) => ({
    limit: why.split(' ')[0],
    layer: 'network' as const,
    message: `network: ${profileName} has no integer format for ${names.join(', ')} (${why}); a descriptor holds integers: give them with --precision (e.g. weights=16,state=32,rate=16,input=16)`,
  }));
}
