/**
 * Loading, validating and hashing hardware profiles (hw-models/*.json).
 *
 * Validation has two layers: the JSON Schema (shape, types, ranges, every number
 * sourced) and checks that relate fields to each other (min below max, a code range
 * that fits its bit width...), which JSON Schema cannot express readably. Both report
 * through ValidationError naming the file, the field path and the offending value.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { canonicalSha256 } from '../util/canonical-json.js';
import { ValidationError } from '../util/errors.js';
import { PACKAGE_ROOT } from '../version.js';
import { PROFILE_FORMAT, type Clip, type HwProfile, type NumberFormat, type Sourced, type TauRepresentation } from './types.js';

const SCHEMA_FILE = 'schema.json';

export function hwModelsDir(): string {
  return join(PACKAGE_ROOT, 'hw-models');
}

/** Names of the profiles shipped in hw-models/, sorted. */
export function listProfiles(): string[] {
  return readdirSync(hwModelsDir())
    .filter((f) => f.endsWith('.json') && f !== SCHEMA_FILE)
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

let cachedValidator: ValidateFunction | null = null;

function validator(): ValidateFunction {
  if (cachedValidator !== null) return cachedValidator;
  const schemaPath = join(hwModelsDir(), SCHEMA_FILE);
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as object;
  // verbose: the discriminator error needs the parent schema to list the allowed kinds
  const ajv = new Ajv({ allErrors: false, discriminator: true, verbose: true, strict: true, strictRequired: false });
  cachedValidator = ajv.compile(schema);
  return cachedValidator;
}

/** Reads a profile by name (hw-models/NAME.json) or by path (anything with a slash or ending in .json). */
export function loadProfile(nameOrPath: string): HwProfile {
  const isPath = nameOrPath.includes('/') || nameOrPath.includes('\\') || nameOrPath.endsWith('.json');
  let file: string;
  let label: string;
  if (isPath) {
    file = resolve(nameOrPath);
    label = nameOrPath;
    if (!existsSync(file)) throw new ValidationError(label, '', nameOrPath, 'does not exist');
  } else {
    file = join(hwModelsDir(), `${nameOrPath}.json`);
    label = `hw-models/${nameOrPath}.json`;
    if (nameOrPath === 'schema' || !existsSync(file)) {
      throw new ValidationError('hardware profile', 'name', nameOrPath, `is not a known profile (known: ${listProfiles().join(', ')})`);
    }
  }
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ValidationError(label, '', undefined, `is not valid JSON: ${(e as Error).message}`);
  }
  const profile = validateProfile(data, label);
  if (!isPath && profile.name !== nameOrPath) {
    throw new ValidationError(label, 'name', profile.name, `must equal the file name '${nameOrPath}'`);
  }
  return profile;
}

/** Validates parsed JSON as a profile; `source` names it in errors (usually the file). */
export function validateProfile(data: unknown, source: string): HwProfile {
  const validate = validator();
  if (!validate(data)) {
    const err = (validate.errors ?? [])[0];
    if (err === undefined) throw new ValidationError(source, '', data, 'is not a valid hardware profile');
    throw toValidationError(err, data, source);
  }
  const profile = data as HwProfile;
  checkConsistency(profile, source);
  return profile;
}

function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** 'a/b/0/c' -> 'a.b[0].c', the form users see in errors. */
export function formatPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number' || /^\d+$/.test(s)) out += `[${s}]`;
    else out += out === '' ? s : `.${s}`;
  }
  return out;
}

function valueAt(data: unknown, segments: readonly string[]): unknown {
  let cur: unknown = data;
  for (const s of segments) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[s];
  }
  return cur;
}

function toValidationError(err: ErrorObject, data: unknown, source: string): ValidationError {
  const segs = pointerSegments(err.instancePath);
  const params = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'required': {
      const missing = String(params.missingProperty);
      const owner = valueAt(data, segs);
      if (isSourcedLike(owner)) {
        return new ValidationError(source, formatPath([...segs, missing]), undefined, 'is required: every number records its source (lit or ill) and a ref');
      }
      return new ValidationError(source, formatPath([...segs, missing]), undefined, 'is required');
    }
    case 'additionalProperties': {
      const extra = String(params.additionalProperty);
      return new ValidationError(source, formatPath([...segs, extra]), valueAt(data, [...segs, extra]), 'is not a field of a hardware profile here');
    }
    case 'discriminator': {
      const tag = String(params.tag);
      const allowed = discriminatorValues(err.parentSchema, tag);
      const suffix = allowed.length > 0 ? ` (one of ${allowed.join(', ')})` : '';
      return new ValidationError(source, formatPath([...segs, tag]), valueAt(data, [...segs, tag]), `is not a known ${tag}${suffix}`);
    }
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map((v) => String(v)).join(', ');
      return new ValidationError(source, formatPath(segs), valueAt(data, segs), `must be one of ${allowed}`);
    }
    case 'const':
      return new ValidationError(source, formatPath(segs), valueAt(data, segs), `must be ${JSON.stringify(params.allowedValue)}`);
    case 'type': {
      const value = valueAt(data, segs);
      if (err.schemaPath.startsWith('#/definitions/number/') && typeof value === 'number') {
        return new ValidationError(
          source,
          formatPath(segs),
          value,
          'must be {"value": ..., "source": "lit"|"ill", "ref": "..."}: every number records its source',
        );
      }
      return new ValidationError(source, formatPath(segs), value, err.message ?? 'has the wrong type');
    }
    default:
      return new ValidationError(source, formatPath(segs), valueAt(data, segs), err.message ?? 'is invalid');
  }
}

function isSourcedLike(x: unknown): boolean {
  return x !== null && typeof x === 'object' && !Array.isArray(x) && 'value' in (x as object) && typeof (x as { value: unknown }).value === 'number';
}

function discriminatorValues(parentSchema: unknown, tag: string): string[] {
  const oneOf = (parentSchema as { oneOf?: unknown[] } | undefined)?.oneOf;
  if (!Array.isArray(oneOf)) return [];
  const out: string[] = [];
  for (const branch of oneOf) {
    const c = (branch as { properties?: Record<string, { const?: unknown }> }).properties?.[tag]?.const;
    if (typeof c === 'string') out.push(c);
  }
  return out;
}

/** Relations between fields that the schema does not express. */
function checkConsistency(p: HwProfile, source: string): void {
  const fail = (path: (string | number)[], value: unknown, problem: string): never => {
    throw new ValidationError(source, formatPath(path), value, problem);
  };
  const ordered = (path: (string | number)[], lo: Sourced | undefined, hi: Sourced | undefined, strict: boolean): void => {
    if (lo === undefined || hi === undefined) return;
    if (strict ? !(lo.value < hi.value) : !(lo.value <= hi.value)) {
      fail([...path, 'max', 'value'], hi.value, `must be ${strict ? 'greater than' : 'at least'} min (${lo.value})`);
    }
  };
  const clip = (path: (string | number)[], c: Clip | undefined, positive: boolean): void => {
    if (c === undefined) return;
    if (positive && !(c.min.value > 0)) fail([...path, 'min', 'value'], c.min.value, 'must be above 0: a time constant cannot vanish');
    if (!(c.min.value <= 1 && c.max.value >= 1)) fail([...path], `${c.min.value}..${c.max.value}`, 'must contain 1, the factor of a perfect part');
    ordered(path, c.min, c.max, false);
  };

  if (p.format !== PROFILE_FORMAT) fail(['format'], p.format, `must be ${PROFILE_FORMAT}`);

  for (const which of ['tauM', 'tauR'] as const) {
    const base: (string | number)[] = ['timeConstants', which];
    const tc = p.timeConstants[which];
    const m = tc.mismatch;
    const mp = [...base, 'mismatch'];
    if (m.distribution === 'none' && m.cv.value !== 0) fail([...mp, 'cv', 'value'], m.cv.value, "must be 0 when distribution is 'none'");
    if (m.withinCoreCv !== undefined && m.granularity !== 'core')
      fail([...mp, 'withinCoreCv'], m.withinCoreCv.value, "only applies when granularity is 'core'");
    if (m.distribution === 'none' && (m.withinCoreCv?.value ?? 0) !== 0)
      fail([...mp, 'withinCoreCv', 'value'], m.withinCoreCv?.value, "must be 0 when distribution is 'none'");
    clip([...mp, 'clip'], m.clip, true);
    checkRepresentation([...base, 'representation'], tc.representation, fail, ordered);
    if (tc.representation.sharing === 'core' && p.capacity.neuronsPerCore === undefined && m.coreSize === undefined) {
      fail([...base, 'representation', 'sharing'], 'core', 'needs a core size: capacity.neuronsPerCore or mismatch.coreSize');
    }
  }

  const w = p.weights;
  clip(['weights', 'gainMismatch', 'clip'], w.gainMismatch.clip, false);
  if (w.gainMismatch.distribution === 'none' && w.gainMismatch.cv.value !== 0) {
    fail(['weights', 'gainMismatch', 'cv', 'value'], w.gainMismatch.cv.value, "must be 0 when distribution is 'none'");
  }
  if (w.format === 'integer') {
    const bits = w.bits.value;
    if (w.sign !== 'separate-exc-inh' && bits < 2) fail(['weights', 'bits', 'value'], bits, `must be at least 2 with sign '${w.sign}' (one bit is the sign)`);
    if (bits > 32) fail(['weights', 'bits', 'value'], bits, 'must be at most 32');
    if (w.sign !== 'separate-exc-inh' && w.synapsesPerSignedWeight !== undefined) {
      fail(['weights', 'synapsesPerSignedWeight'], w.synapsesPerSignedWeight.value, "only applies with sign 'separate-exc-inh'");
    }
    if (w.coding?.kind === 'base-mask') {
      const magnitude = w.sign === 'separate-exc-inh' ? bits : bits - 1;
      if (w.coding.bases.value !== magnitude)
        fail(['weights', 'coding', 'bases', 'value'], w.coding.bases.value, `must equal the magnitude bits (${magnitude}): the code is one mask bit per base`);
    }
    if (w.scale.kind === 'power-of-two' && w.scale.minExponent.value > w.scale.maxExponent.value) {
      fail(['weights', 'scale', 'maxExponent', 'value'], w.scale.maxExponent.value, `must be at least minExponent (${w.scale.minExponent.value})`);
    }
    if (w.scale.kind === 'fixed' && w.scale.fractionalBits.value > bits) {
      fail(['weights', 'scale', 'fractionalBits', 'value'], w.scale.fractionalBits.value, `must not exceed the weight bits (${bits})`);
    }
  }

  for (const key of ['membrane', 'synaptic', 'rate', 'accumulator'] as const) {
    const f: NumberFormat | undefined = p.state[key];
    if (f === undefined) continue;
    if (f.format === 'fixed' && f.fractionalBits !== undefined && f.fractionalBits.value > f.bits.value) {
      fail(['state', key, 'fractionalBits', 'value'], f.fractionalBits.value, `must not exceed bits (${f.bits.value})`);
    }
    if (f.format === 'analog') ordered(['state', key], f.min, f.max, true);
  }
  const r = p.state.readout;
  if (r !== undefined) {
    const top = 2 ** r.bits.value - 1;
    if (r.codeMax !== undefined && r.codeMax.value > top)
      fail(['state', 'readout', 'codeMax', 'value'], r.codeMax.value, `must fit in ${r.bits.value} bits (at most ${top})`);
    const lo = r.codeMin?.value ?? 0;
    const hi = r.codeMax?.value ?? top;
    if (!(lo < hi)) fail(['state', 'readout', 'codeMax', 'value'], hi, `must be greater than codeMin (${lo})`);
  }
  for (const key of ['membrane', 'rate'] as const) {
    if (p.noise[key].unit === 'readout-lsb' && r === undefined) fail(['noise', key, 'unit'], 'readout-lsb', 'needs state.readout to define the LSB');
  }

  const nl = p.nonlinearity;
  if (nl.kind !== 'exact') ordered(['nonlinearity'], nl.min, nl.max, true);
  if (nl.kind === 'lut' && nl.entries.value < 2) fail(['nonlinearity', 'entries', 'value'], nl.entries.value, 'must be at least 2');

  const d = p.delays.draw;
  if (d.kind === 'uniform' || d.kind === 'normal') ordered(['delays', 'draw'], d.min, d.max, false);
  if (d.kind === 'normal' && (d.mean.value < d.min.value || d.mean.value > d.max.value)) {
    fail(['delays', 'draw', 'mean', 'value'], d.mean.value, `must lie in min..max (${d.min.value}..${d.max.value})`);
  }
  if (p.delays.programmable !== undefined) ordered(['delays', 'programmable'], p.delays.programmable.min, p.delays.programmable.max, false);

  p.hostLinks.forEach((link, i) => {
    if (link.baud !== undefined && link.maxBaud !== undefined && link.maxBaud.value < link.baud.value) {
      fail(['hostLinks', i, 'maxBaud', 'value'], link.maxBaud.value, `must be at least baud (${link.baud.value})`);
    }
  });
}

function checkRepresentation(
  path: (string | number)[],
  rep: TauRepresentation,
  fail: (path: (string | number)[], value: unknown, problem: string) => never,
  ordered: (path: (string | number)[], lo: Sourced | undefined, hi: Sourced | undefined, strict: boolean) => void,
): void {
  switch (rep.kind) {
    case 'continuous':
      ordered(path, rep.min, rep.max, false);
      return;
    case 'analog-cell': {
      ordered(path, rep.min, rep.max, true);
      const top = 2 ** rep.bits.value - 1;
      const lo = rep.codeMin?.value ?? 0;
      const hi = rep.codeMax?.value ?? top;
      if (hi > top) fail([...path, 'codeMax', 'value'], hi, `must fit in ${rep.bits.value} bits (at most ${top})`);
      if (!(lo < hi)) fail([...path, 'codeMax', 'value'], hi, `must be greater than codeMin (${lo})`);
      return;
    }
    case 'decay': {
      const top = 2 ** rep.bits.value - 1;
      const lo = rep.dMin?.value ?? 1;
      const hi = rep.dMax?.value ?? top;
      if (hi > top) fail([...path, 'dMax', 'value'], hi, `must fit in ${rep.bits.value} bits (at most ${top})`);
      if (!(lo <= hi)) fail([...path, 'dMax', 'value'], hi, `must be at least dMin (${lo})`);
      return;
    }
    case 'bit-shift':
      if (rep.shiftMin.value > rep.shiftMax.value)
        fail([...path, 'shiftMax', 'value'], rep.shiftMax.value, `must be at least shiftMin (${rep.shiftMin.value})`);
      return;
  }
}

/** SHA-256 (hex) of the canonical JSON of the profile; the editor hint "$schema" is not content. */
export function profileHash(profile: HwProfile): string {
  const { $schema: _ignored, ...content } = profile;
  return canonicalSha256(content);
}
