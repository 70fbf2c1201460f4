/**
 * Sweep parameters: named knobs that rewrite a profile's values. A sweep over
 * `tauMCV` on bss2 is "bss2, but with this tau_m spread"; the result is a full profile,
 * validated like a file, with its own content hash, and the overridden values are
 * marked illustrative with the override named as their ref.
 */
import { ValidationError, describeValue } from '../util/errors.js';
import { validateProfile } from './profile.js';
import type { Clip, Distribution, HwProfile, Sourced } from './types.js';

export const OVERRIDES = {
  tauMCV: 'CV of the tau_m mismatch (per core when the profile shares per core)',
  tauRCV: 'CV of the tau_r mismatch (per core when the profile shares per core)',
  tauMWithinCoreCV: 'per-neuron CV added to a per-core tau_m mismatch',
  tauRWithinCoreCV: 'per-neuron CV added to a per-core tau_r mismatch',
  weightBits: 'stored weight bits (float weights become signed integers with a free scale)',
  weightGainCV: 'CV of the per-synapse weight gain mismatch',
  delaySteps: 'constant transmission delay in steps',
  noiseStd: 'temporal noise std on membrane and rate, fraction of full scale',
  membraneNoiseStd: 'temporal noise std on the membrane, fraction of full scale',
  rateNoiseStd: 'temporal noise std on the rate, fraction of full scale',
} as const;

export type OverrideName = keyof typeof OVERRIDES;
export type Overrides = Partial<Record<OverrideName, number>>;
export const OVERRIDE_NAMES = Object.keys(OVERRIDES) as OverrideName[];

/**
 * When a sweep turns mismatch on for a profile that has none, a lognormal keeps
 * factors positive and the clip is wide enough not to bias the requested CV.
 */
const DEFAULT_TAU_CLIP = { min: 0.01, max: 100 };
const DEFAULT_GAIN_CLIP = { min: 0, max: 100 };

const SRC = 'overrides';

function sourced(name: OverrideName, value: number): Sourced {
  return { value, source: 'ill', ref: `sweep override ${name}=${value}` };
}

function clipOf(name: OverrideName, c: { min: number; max: number }): Clip {
  return {
    min: { value: c.min, source: 'ill', ref: `default clip of sweep override ${name}` },
    max: { value: c.max, source: 'ill', ref: `default clip of sweep override ${name}` },
  };
}

function requireNumber(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ValidationError(SRC, name, v, 'must be a finite number');
  return v;
}

function requireNonNegative(name: string, v: unknown): number {
  const x = requireNumber(name, v);
  if (x < 0) throw new ValidationError(SRC, name, v, 'must be at least 0');
  return x;
}

function requireInteger(name: string, v: unknown, lo: number, hi: number): number {
  const x = requireNumber(name, v);
  if (!Number.isInteger(x) || x < lo || x > hi) throw new ValidationError(SRC, name, v, `must be an integer in ${lo}..${hi}`);
  return x;
}

interface MismatchLike {
  distribution: Distribution;
  cv: Sourced;
  clip?: Clip;
}

function setCv(m: MismatchLike, name: OverrideName, cv: number, defaultClip: { min: number; max: number }): void {
  m.cv = sourced(name, cv);
  if (m.distribution === 'none' && cv > 0) {
    m.distribution = 'lognormal';
    m.clip = clipOf(name, defaultClip);
  }
}

/** A deep copy of the profile with the named values replaced, validated as a profile. */
export function withOverrides(profile: HwProfile, overrides: Overrides): HwProfile {
  if (overrides === null || typeof overrides !== 'object') throw new ValidationError(SRC, '', overrides, 'must be an object of name: number');
  for (const key of Object.keys(overrides)) {
    if (!(key in OVERRIDES))
      throw new ValidationError(SRC, key, (overrides as Record<string, unknown>)[key], `is not a known override (known: ${OVERRIDE_NAMES.join(', ')})`);
  }
  const p = structuredClone(profile);
  const o = overrides;

  if (o.tauMCV !== undefined) setCv(p.timeConstants.tauM.mismatch, 'tauMCV', requireNonNegative('tauMCV', o.tauMCV), DEFAULT_TAU_CLIP);
  if (o.tauRCV !== undefined) setCv(p.timeConstants.tauR.mismatch, 'tauRCV', requireNonNegative('tauRCV', o.tauRCV), DEFAULT_TAU_CLIP);
  for (const [name, which] of [
    ['tauMWithinCoreCV', 'tauM'],
    ['tauRWithinCoreCV', 'tauR'],
  ] as const) {
    const v = o[name];
    if (v === undefined) continue;
    const x = requireNonNegative(name, v);
    const m = p.timeConstants[which].mismatch;
    if (m.granularity !== 'core')
      throw new ValidationError(SRC, name, v, `needs a profile whose ${which} mismatch is per core (${profile.name}'s is per ${m.granularity})`);
    if (m.distribution === 'none' && x > 0)
      throw new ValidationError(SRC, name, v, `needs a ${which} mismatch distribution; set ${which === 'tauM' ? 'tauMCV' : 'tauRCV'} first`);
    m.withinCoreCv = sourced(name, x);
  }

  if (o.weightBits !== undefined) {
    const bits = requireInteger('weightBits', o.weightBits, 1, 32);
    const w = p.weights;
    if (w.format === 'float') {
      if (bits < 2) throw new ValidationError(SRC, 'weightBits', o.weightBits, 'must be at least 2 for signed weights');
      p.weights = {
        format: 'integer',
        bits: sourced('weightBits', bits),
        sign: 'signed',
        coding: { kind: 'uniform' },
        scale: { kind: 'free' },
        rounding: 'nearest',
        overflow: 'saturate',
        gainMismatch: w.gainMismatch,
      };
    } else {
      if (w.sign !== 'separate-exc-inh' && bits < 2)
        throw new ValidationError(SRC, 'weightBits', o.weightBits, `must be at least 2 with sign '${w.sign}' (one bit is the sign)`);
      w.bits = sourced('weightBits', bits);
      if (w.coding?.kind === 'base-mask') w.coding.bases = sourced('weightBits', w.sign === 'separate-exc-inh' ? bits : bits - 1);
      if (w.scale.kind === 'fixed' && w.scale.fractionalBits.value > bits) {
        throw new ValidationError(SRC, 'weightBits', o.weightBits, `must be at least the profile's ${w.scale.fractionalBits.value} fractional weight bits`);
      }
    }
  }
  if (o.weightGainCV !== undefined) setCv(p.weights.gainMismatch, 'weightGainCV', requireNonNegative('weightGainCV', o.weightGainCV), DEFAULT_GAIN_CLIP);

  if (o.delaySteps !== undefined) {
    const d = requireInteger('delaySteps', o.delaySteps, 0, 1_000_000);
    p.delays.draw = { kind: 'constant', value: sourced('delaySteps', d) };
  }

  const membrane = o.membraneNoiseStd ?? o.noiseStd;
  const rate = o.rateNoiseStd ?? o.noiseStd;
  if (o.noiseStd !== undefined) requireNonNegative('noiseStd', o.noiseStd);
  if (membrane !== undefined) {
    const name: OverrideName = o.membraneNoiseStd !== undefined ? 'membraneNoiseStd' : 'noiseStd';
    p.noise.membrane = { std: sourced(name, requireNonNegative(name, membrane)), unit: 'full-scale' };
  }
  if (rate !== undefined) {
    const name: OverrideName = o.rateNoiseStd !== undefined ? 'rateNoiseStd' : 'noiseStd';
    p.noise.rate = { std: sourced(name, requireNonNegative(name, rate)), unit: 'full-scale' };
  }

  const summary = Object.entries(overrides)
    .map(([k, v]) => `${k}=${describeValue(v)}`)
    .join(', ');
  return validateProfile(p, `${profile.name} with overrides ${summary}`);
}

/** Parses "tauMCV=0.2,weightBits=4" (or several such strings) into overrides. */
export function parseOverrides(spec: string | readonly string[]): Overrides {
  const parts = (typeof spec === 'string' ? [spec] : spec)
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const out: Overrides = {};
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new ValidationError(SRC, part, part, 'must be NAME=NUMBER');
    const key = part.slice(0, eq).trim();
    const raw = part.slice(eq + 1).trim();
    if (!(key in OVERRIDES)) throw new ValidationError(SRC, key, raw, `is not a known override (known: ${OVERRIDE_NAMES.join(', ')})`);
    const value = raw === '' ? NaN : Number(raw);
    if (!Number.isFinite(value)) throw new ValidationError(SRC, key, raw, 'must be a number');
    out[key as OverrideName] = value;
  }
  return out;
}
