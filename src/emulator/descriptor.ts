/**
 * The device descriptor (.gled): what `glekit compile` writes and both integer engines
 * (this TypeScript emulator and firmware-bridge/'s C engine) load. The schema is
 * firmware-bridge/DESCRIPTOR.md; the arithmetic it parameterises is
 * firmware-bridge/SEMANTICS.md. Every rule checked here is checked the same way by
 * firmware-bridge/src/gle_loader.c, so a file one loader accepts the other accepts.
 *
 * Container: one msgpack map whose first two entries are the magic and the format
 * version and whose last entry is "sha256", a 32-byte bin holding the SHA-256 of every
 * byte before that key. Loaders check, in this order: the magic, the version (a newer
 * file is refused before anything else is read from it), the trailer, the hash, and only
 * then the content and its bounds.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Packr, Unpackr } from 'msgpackr';
import { FixedFormat, OVERFLOW_MODES, ROUNDING_MODES } from '../fixed/index.js';
import { GlekitError, ValidationError, describeValue } from '../util/errors.js';
import { Field, isObject } from '../util/json-reader.js';

export const DESCRIPTOR_MAGIC = 'GLED';
export const DESCRIPTOR_VERSION = 1;
export const DESCRIPTOR_EXTENSION = '.gled';

/** Limits of format version 1; firmware-bridge/DESCRIPTOR.md and gle_config.h carry the same numbers. */
export const LIMITS = {
  layers: 16,
  size: 65535,
  delay: 255,
  tableEntries: 4096,
  stepsPerSample: 1 << 20,
  weightWidth: 16,
  activationWidth: 24,
  stateWidth: 32,
  fracAbs: 64,
  alphaFrac: 15,
  rhoFrac: 16,
  tableShift: 24,
  /** identity/clamp rate: pu shifted left by at most this many bits */
  rateLeftShift: 20,
  /** |accumulator| stays below 2^52 so that a double holds it exactly (see SEMANTICS.md) */
  accBits: 51,
} as const;

/** 0x a6 "sha256" c4 20 <32 bytes>: the fixed tail of every descriptor. */
const TRAILER_KEY = Uint8Array.from([0xa6, 0x73, 0x68, 0x61, 0x32, 0x35, 0x36, 0xc4, 0x20]);
export const TRAILER_BYTES = TRAILER_KEY.length + 32;

export type Nonlinearity =
  | { kind: 'identity' }
  /** r = rate(clamp(pu, lo, hi)); lo, hi are codes of the prospective format */
  | { kind: 'clamp'; lo: number; hi: number }
  /**
   * index i = floor((pu - base) / 2^shift), clamped to the table; with interpolate the
   * remainder blends entry i and i+1 (entries are breakpoints). Entries are rate codes.
   */
  | { kind: 'table'; base: number; shift: number; interpolate: boolean; table: Int32Array };

export interface Placement {
  neuronsPerCore: number | null;
  firstCore: number;
  cores: number;
}

export interface DescriptorLayer {
  nIn: number;
  nOut: number;
  /** the model's activation name (informational: the arithmetic is in `nonlinearity`) */
  phi: string;
  /** extra steps the bottom input travels before this layer reads it (0: the previous step's value) */
  delay: number;
  weightFormat: FixedFormat;
  /** nOut x nIn row-major */
  weights: Int16Array;
  biasFormat: FixedFormat;
  bias: Int32Array;
  driveFormat: FixedFormat;
  membraneFormat: FixedFormat;
  prospectiveFormat: FixedFormat;
  rateFormat: FixedFormat;
  /** dt / tau_m = alpha / 2^alphaFrac per neuron */
  alphaFrac: number;
  alpha: Uint16Array;
  /** tau_r / tau_m = rho / 2^rhoFrac per neuron */
  rhoFrac: number;
  rho: Uint16Array;
  nonlinearity: Nonlinearity;
  placement: Placement | null;
}

export interface Presentation {
  mode: 'static' | 'sequence';
  stepsPerSample: number;
  settleSteps: number;
  readout: 'last' | 'sum';
}

export interface DescriptorHeader {
  tool: string;
  profile: { name: string; hash: string };
  model: { hash: string; task: string };
  /** the precision setting the compiler was given, as text */
  precision: string;
  /** free-form facts for `glekit inspect` (the quantisation report); no engine reads them */
  info: Record<string, unknown>;
}

export interface DescriptorNetwork {
  /** model time per step, in the model's units */
  dt: number;
  /** device time per step in seconds, when the profile clocks */
  dtSeconds: number | null;
  inputSize: number;
  outputSize: number;
  /** real input x is fed as the code quantise(x, inputFormat) */
  inputFormat: FixedFormat;
  presentation: Presentation;
  layers: DescriptorLayer[];
}

export interface Descriptor {
  formatVersion: number;
  header: DescriptorHeader;
  network: DescriptorNetwork;
}

/** A descriptor that is damaged, truncated, from a newer glekit, or breaks a bound. */
export class DescriptorError extends GlekitError {
  constructor(readonly source: string, readonly field: string, readonly problem: string) {
    super(`${source}: ${field === '' ? '' : `${field}: `}${problem}`);
    this.name = 'DescriptorError';
  }
}

// ---------------------------------------------------------------------------------------
// formats

export function formatToWire(f: FixedFormat): number[] {
  return [f.width, f.fracBits, f.signed ? 1 : 0, f.roundingCode, f.overflowCode];
}

export function formatFromParts(width: number, frac: number, signed: boolean, rounding: number, overflow: number): FixedFormat {
  return new FixedFormat({ width, intBits: width - frac, signed, rounding: ROUNDING_MODES[rounding], overflow: OVERFLOW_MODES[overflow] });
}

/** The raw range a code stored in f may have: two's complement over W bits (wider than minRaw for SAT_SYM). */
export function storedRange(f: FixedFormat): [number, number] {
  return f.signed ? [-(2 ** (f.width - 1)), 2 ** (f.width - 1) - 1] : [0, 2 ** f.width - 1];
}

// ---------------------------------------------------------------------------------------
// writing

function le16(a: Int16Array | Uint16Array): Uint8Array {
  const out = new Uint8Array(a.length * 2);
  const dv = new DataView(out.buffer);
  if (a instanceof Int16Array) for (let i = 0; i < a.length; i++) dv.setInt16(2 * i, a[i], true);
  else for (let i = 0; i < a.length; i++) dv.setUint16(2 * i, a[i], true);
  return out;
}

function le32(a: Int32Array): Uint8Array {
  const out = new Uint8Array(a.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) dv.setInt32(4 * i, a[i], true);
  return out;
}

function nonlinearityToWire(n: Nonlinearity): Record<string, unknown> {
  switch (n.kind) {
    case 'identity': return { kind: 'identity' };
    case 'clamp': return { kind: 'clamp', lo: n.lo, hi: n.hi };
    case 'table': return { kind: 'table', base: n.base, shift: n.shift, interpolate: n.interpolate, table: le32(n.table) };
  }
}

function layerToWire(l: DescriptorLayer): Record<string, unknown> {
  return {
    nIn: l.nIn,
    nOut: l.nOut,
    phi: l.phi,
    delay: l.delay,
    weightFormat: formatToWire(l.weightFormat),
    weights: le16(l.weights),
    biasFormat: formatToWire(l.biasFormat),
    bias: le32(l.bias),
    driveFormat: formatToWire(l.driveFormat),
    membraneFormat: formatToWire(l.membraneFormat),
    prospectiveFormat: formatToWire(l.prospectiveFormat),
    rateFormat: formatToWire(l.rateFormat),
    alphaFrac: l.alphaFrac,
    alpha: le16(l.alpha),
    rhoFrac: l.rhoFrac,
    rho: le16(l.rho),
    nonlinearity: nonlinearityToWire(l.nonlinearity),
    placement: l.placement === null ? null : { ...l.placement },
  };
}

// Records (msgpackr's extension for repeated shapes) would make the file unreadable to
// other msgpack readers; plain maps keep it standard.
const packr = new Packr({ useRecords: false, encodeUndefinedAsNil: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

/**
 * The bytes of a descriptor. Validates first (a writer must never produce a file its own
 * loader refuses). Deterministic: the same descriptor gives the same bytes.
 */
export function encodeDescriptor(d: Descriptor, opts: { skipValidation?: boolean } = {}): Uint8Array {
  if (!opts.skipValidation) validateDescriptor(d, 'descriptor');
  const n = d.network;
  const doc = {
    magic: DESCRIPTOR_MAGIC,
    formatVersion: d.formatVersion,
    header: { ...d.header },
    network: {
      dt: n.dt,
      dtSeconds: n.dtSeconds,
      inputSize: n.inputSize,
      outputSize: n.outputSize,
      inputFormat: formatToWire(n.inputFormat),
      presentation: { ...n.presentation },
      layers: n.layers.map(layerToWire),
    },
    sha256: new Uint8Array(32),
  };
  const bytes = new Uint8Array(packr.pack(doc));
  return sealDescriptor(bytes);
}

/** Writes the SHA-256 of everything before the trailer into the trailer (bytes end with the trailer). */
export function sealDescriptor(bytes: Uint8Array): Uint8Array {
  const at = bytes.length - TRAILER_BYTES;
  for (let i = 0; i < TRAILER_KEY.length; i++) {
    if (bytes[at + i] !== TRAILER_KEY[i]) throw new Error('sealDescriptor: the encoding does not end with the sha256 trailer');
  }
  const digest = createHash('sha256').update(bytes.subarray(0, at)).digest();
  bytes.set(digest, at + TRAILER_KEY.length);
  return bytes;
}

/** "sha256:<hex>" of the descriptor's content, as stored in its trailer. */
export function descriptorHash(bytes: Uint8Array): string {
  return 'sha256:' + Buffer.from(bytes.subarray(bytes.length - 32)).toString('hex');
}

// ---------------------------------------------------------------------------------------
// reading

/** Minimal msgpack cursor for the header checks that must run before the hash is trusted. */
class HeadReader {
  pos = 0;
  constructor(private readonly b: Uint8Array, private readonly source: string) {}

  private need(n: number, what: string): void {
    if (this.pos + n > this.b.length) throw new DescriptorError(this.source, '', `truncated: ${this.b.length} bytes end inside the ${what}`);
  }

  mapHeader(): number {
    this.need(1, 'top-level map');
    const t = this.b[this.pos++];
    if (t >= 0x80 && t <= 0x8f) return t & 0x0f;
    if (t === 0xde) { this.need(2, 'top-level map'); const n = (this.b[this.pos] << 8) | this.b[this.pos + 1]; this.pos += 2; return n; }
    if (t === 0xdf) {
      this.need(4, 'top-level map');
      const n = ((this.b[this.pos] << 24) >>> 0) + (this.b[this.pos + 1] << 16) + (this.b[this.pos + 2] << 8) + this.b[this.pos + 3];
      this.pos += 4;
      return n;
    }
    throw new DescriptorError(this.source, '', 'not a glekit descriptor (it does not start with a msgpack map)');
  }

  /** A short string (fixstr or str8), or null when the next value is not one. */
  shortString(what: string): string | null {
    this.need(1, what);
    const t = this.b[this.pos];
    let len: number;
    if (t >= 0xa0 && t <= 0xbf) { len = t & 0x1f; this.pos += 1; } else if (t === 0xd9) { this.need(2, what); len = this.b[this.pos + 1]; this.pos += 2; } else return null;
    this.need(len, what);
    const s = Buffer.from(this.b.subarray(this.pos, this.pos + len)).toString('latin1');
    this.pos += len;
    return s;
  }

  /** A non-negative integer of at most 32 bits, or null when the next value is not one. */
  uint(what: string): number | null {
    this.need(1, what);
    const t = this.b[this.pos];
    if (t <= 0x7f) { this.pos += 1; return t; }
    const widths: Record<number, number> = { 0xcc: 1, 0xcd: 2, 0xce: 4 };
    const w = widths[t];
    if (w === undefined) return null;
    this.need(1 + w, what);
    let v = 0;
    for (let i = 1; i <= w; i++) v = v * 256 + this.b[this.pos + i];
    this.pos += 1 + w;
    return v;
  }
}

/** Everything a loader checks before it parses: magic, version, trailer, hash. Returns the format version. */
export function checkEnvelope(bytes: Uint8Array, source: string): number {
  const minimal = 1 + 6 + 5 + 14 + 1 + TRAILER_BYTES;
  if (bytes.length < minimal) throw new DescriptorError(source, '', `truncated: ${bytes.length} bytes is shorter than any descriptor (${minimal})`);
  const r = new HeadReader(bytes, source);
  r.mapHeader();
  if (r.shortString('magic') !== 'magic' || r.shortString('magic') !== DESCRIPTOR_MAGIC) {
    throw new DescriptorError(source, 'magic', `not a glekit descriptor (expected the magic "${DESCRIPTOR_MAGIC}" first)`);
  }
  if (r.shortString('format version') !== 'formatVersion') throw new DescriptorError(source, 'formatVersion', 'missing after the magic');
  const version = r.uint('format version');
  if (version === null || version < 1) throw new DescriptorError(source, 'formatVersion', 'must be a positive integer');
  if (version > DESCRIPTOR_VERSION) {
    throw new DescriptorError(source, 'formatVersion', `is ${version}, newer than this glekit reads (${DESCRIPTOR_VERSION}); refusing to load it (upgrade glekit)`);
  }
  const at = bytes.length - TRAILER_BYTES;
  for (let i = 0; i < TRAILER_KEY.length; i++) {
    if (bytes[at + i] !== TRAILER_KEY[i]) throw new DescriptorError(source, 'sha256', 'truncated or damaged: the file does not end with its SHA-256 trailer');
  }
  const digest = createHash('sha256').update(bytes.subarray(0, at)).digest();
  const stored = bytes.subarray(at + TRAILER_KEY.length);
  if (!Buffer.from(stored).equals(digest)) {
    throw new DescriptorError(source, 'sha256', `content hash mismatch (stored ${Buffer.from(stored).toString('hex').slice(0, 16)}..., content ${digest.toString('hex').slice(0, 16)}...): the file was modified or damaged`);
  }
  return version;
}

function binOf(f: Field, bytesPer: number, count: number): DataView {
  const v = f.value;
  if (!(v instanceof Uint8Array)) f.fail('must be binary (msgpack bin)');
  if (v.length !== bytesPer * count) f.fail(`must hold ${count} values of ${bytesPer} bytes (${bytesPer * count} bytes), has ${v.length} bytes`);
  return new DataView(v.buffer, v.byteOffset, v.byteLength);
}

function readFormat(f: Field): FixedFormat {
  const parts = f.array(5).map((p) => p.number({ integer: true }));
  const [width, frac, signed, rounding, overflow] = parts;
  if (width < 1 || width > 32) f.child(0).fail('width must be in 1..32');
  if (Math.abs(frac) > LIMITS.fracAbs) f.child(1).fail(`fraction bits must be in -${LIMITS.fracAbs}..${LIMITS.fracAbs}`);
  if (signed !== 0 && signed !== 1) f.child(2).fail('signedness must be 0 or 1');
  if (rounding < 0 || rounding >= ROUNDING_MODES.length) f.child(3).fail(`rounding code must be in 0..${ROUNDING_MODES.length - 1}`);
  if (overflow < 0 || overflow >= OVERFLOW_MODES.length) f.child(4).fail(`overflow code must be in 0..${OVERFLOW_MODES.length - 1}`);
  return formatFromParts(width, frac, signed === 1, rounding, overflow);
}

function readNonlinearity(f: Field): Nonlinearity {
  f.object();
  const kind = f.child('kind').oneOf(['identity', 'clamp', 'table'] as const);
  if (kind === 'identity') return { kind };
  if (kind === 'clamp') {
    return { kind, lo: f.child('lo').number({ integer: true }), hi: f.child('hi').number({ integer: true }) };
  }
  const tf = f.child('table');
  const raw = tf.value;
  if (!(raw instanceof Uint8Array) || raw.length % 4 !== 0) tf.fail('must be binary with a whole number of int32 entries');
  const count = (raw as Uint8Array).length / 4;
  const dv = binOf(tf, 4, count);
  const table = new Int32Array(count);
  for (let i = 0; i < count; i++) table[i] = dv.getInt32(4 * i, true);
  return {
    kind,
    base: f.child('base').number({ integer: true }),
    shift: f.child('shift').number({ integer: true }),
    interpolate: f.child('interpolate').boolean(),
    table,
  };
}

function readLayer(f: Field): DescriptorLayer {
  f.object();
  const nIn = f.child('nIn').number({ integer: true, min: 1, max: LIMITS.size });
  const nOut = f.child('nOut').number({ integer: true, min: 1, max: LIMITS.size });
  const wv = binOf(f.child('weights'), 2, nIn * nOut);
  const weights = new Int16Array(nIn * nOut);
  for (let i = 0; i < weights.length; i++) weights[i] = wv.getInt16(2 * i, true);
  const bv = binOf(f.child('bias'), 4, nOut);
  const bias = new Int32Array(nOut);
  for (let i = 0; i < nOut; i++) bias[i] = bv.getInt32(4 * i, true);
  const av = binOf(f.child('alpha'), 2, nOut);
  const rv = binOf(f.child('rho'), 2, nOut);
  const alpha = new Uint16Array(nOut);
  const rho = new Uint16Array(nOut);
  for (let i = 0; i < nOut; i++) { alpha[i] = av.getUint16(2 * i, true); rho[i] = rv.getUint16(2 * i, true); }
  const pf = f.child('placement');
  let placement: Placement | null = null;
  if (!pf.isNull() && pf.value !== undefined) {
    pf.object();
    const npc = pf.child('neuronsPerCore');
    placement = {
      neuronsPerCore: npc.isNull() || npc.value === undefined ? null : npc.number({ integer: true, min: 1 }),
      firstCore: pf.child('firstCore').number({ integer: true, min: 0 }),
      cores: pf.child('cores').number({ integer: true, min: 0 }),
    };
  }
  return {
    nIn,
    nOut,
    phi: f.child('phi').string(),
    delay: f.child('delay').number({ integer: true, min: 0, max: LIMITS.delay }),
    weightFormat: readFormat(f.child('weightFormat')),
    weights,
    biasFormat: readFormat(f.child('biasFormat')),
    bias,
    driveFormat: readFormat(f.child('driveFormat')),
    membraneFormat: readFormat(f.child('membraneFormat')),
    prospectiveFormat: readFormat(f.child('prospectiveFormat')),
    rateFormat: readFormat(f.child('rateFormat')),
    alphaFrac: f.child('alphaFrac').number({ integer: true, min: 0, max: LIMITS.alphaFrac }),
    alpha,
    rhoFrac: f.child('rhoFrac').number({ integer: true, min: 0, max: LIMITS.rhoFrac }),
    rho,
    nonlinearity: readNonlinearity(f.child('nonlinearity')),
    placement,
  };
}

/** Parses and validates a descriptor's bytes. Throws DescriptorError naming the field. */
export function decodeDescriptor(bytes: Uint8Array, source = 'descriptor'): Descriptor {
  const formatVersion = checkEnvelope(bytes, source);
  let doc: unknown;
  try {
    doc = unpackr.unpack(bytes);
  } catch (e) {
    throw new DescriptorError(source, '', `not valid msgpack (${(e as Error).message})`);
  }
  if (!isObject(doc)) throw new DescriptorError(source, '', 'must be a msgpack map');
  try {
    const root = new Field(source, '', doc);
    const hf = root.child('header').object();
    const pf = hf.child('profile').object();
    const mf = hf.child('model').object();
    const infoField = hf.child('info');
    const header: DescriptorHeader = {
      tool: hf.child('tool').string(),
      profile: { name: pf.child('name').string(), hash: pf.child('hash').string() },
      model: { hash: mf.child('hash').string(), task: mf.child('task').string() },
      precision: hf.child('precision').string(),
      info: isObject(infoField.value) ? (infoField.value as Record<string, unknown>) : infoField.fail('must be a map'),
    };
    const nf = root.child('network').object();
    const pr = nf.child('presentation').object();
    const dtsField = nf.child('dtSeconds');
    const network: DescriptorNetwork = {
      dt: nf.child('dt').number({ minExclusive: 0 }),
      dtSeconds: dtsField.isNull() || dtsField.value === undefined ? null : dtsField.number({ minExclusive: 0 }),
      inputSize: nf.child('inputSize').number({ integer: true, min: 1, max: LIMITS.size }),
      outputSize: nf.child('outputSize').number({ integer: true, min: 1, max: LIMITS.size }),
      inputFormat: readFormat(nf.child('inputFormat')),
      presentation: {
        mode: pr.child('mode').oneOf(['static', 'sequence'] as const),
        stepsPerSample: pr.child('stepsPerSample').number({ integer: true, min: 1, max: LIMITS.stepsPerSample }),
        settleSteps: pr.child('settleSteps').number({ integer: true, min: 0 }),
        readout: pr.child('readout').oneOf(['last', 'sum'] as const),
      },
      layers: (() => {
        const lf = nf.child('layers');
        const items = lf.array();
        if (items.length < 1 || items.length > LIMITS.layers) lf.fail(`must hold 1..${LIMITS.layers} layers`);
        return items.map(readLayer);
      })(),
    };
    const d: Descriptor = { formatVersion, header, network };
    validateDescriptor(d, source);
    return d;
  } catch (e) {
    if (e instanceof ValidationError) throw new DescriptorError(source, e.field, `${e.problem} (got ${describeValue(e.value)})`);
    throw e;
  }
}

const bitLength = (n: number): number => (n <= 0 ? 0 : Math.floor(Math.log2(n)) + 1);

/**
 * The bounds of SEMANTICS.md section 7 on a descriptor held in memory. They keep every
 * intermediate of a step below 2^53, so the TypeScript engine's doubles are exact, and
 * every shift in range, so the C engine never meets undefined behaviour.
 */
export function validateDescriptor(d: Descriptor, source: string): void {
  const fail = (field: string, problem: string): never => { throw new DescriptorError(source, field, problem); };
  const n = d.network;
  if (n.layers.length < 1 || n.layers.length > LIMITS.layers) fail('network.layers', `must hold 1..${LIMITS.layers} layers (has ${n.layers.length})`);
  if (!(n.dt > 0)) fail('network.dt', 'must be positive');
  const p = n.presentation;
  if (!Number.isInteger(p.stepsPerSample) || p.stepsPerSample < 1 || p.stepsPerSample > LIMITS.stepsPerSample) fail('network.presentation.stepsPerSample', `must be in 1..${LIMITS.stepsPerSample}`);
  if (!Number.isInteger(p.settleSteps) || p.settleSteps < 0 || p.settleSteps >= p.stepsPerSample) fail('network.presentation.settleSteps', `must be in 0..stepsPerSample-1 (${p.stepsPerSample - 1})`);
  const checkActivation = (f: FixedFormat, field: string): void => {
    if (f.width > LIMITS.activationWidth || (f.signed && f.width < 2)) fail(field, `width must be in ${f.signed ? 2 : 1}..${LIMITS.activationWidth} (is ${f.width})`);
  };
  const checkState = (f: FixedFormat, field: string, min = 2, max: number = LIMITS.stateWidth): void => {
    if (!f.signed) fail(field, 'must be signed');
    if (f.width < min || f.width > max) fail(field, `width must be in ${min}..${max} (is ${f.width})`);
  };
  checkActivation(n.inputFormat, 'network.inputFormat');
  if (n.inputSize !== n.layers[0].nIn) fail('network.inputSize', `must equal layers[0].nIn (${n.layers[0].nIn})`);
  if (n.outputSize !== n.layers[n.layers.length - 1].nOut) fail('network.outputSize', `must equal the last layer's nOut (${n.layers[n.layers.length - 1].nOut})`);
  let xf = n.inputFormat;
  let prevOut = n.inputSize;
  n.layers.forEach((l, i) => {
    const at = `network.layers[${i}]`;
    if (l.nIn !== prevOut) fail(`${at}.nIn`, `must equal the size of the layer's input (${prevOut})`);
    for (const [k, v] of [['nIn', l.nIn], ['nOut', l.nOut]] as const) if (!Number.isInteger(v) || v < 1 || v > LIMITS.size) fail(`${at}.${k}`, `must be in 1..${LIMITS.size}`);
    if (!Number.isInteger(l.delay) || l.delay < 0 || l.delay > LIMITS.delay) fail(`${at}.delay`, `must be in 0..${LIMITS.delay}`);
    checkState(l.weightFormat, `${at}.weightFormat`, 2, LIMITS.weightWidth);
    checkState(l.biasFormat, `${at}.biasFormat`);
    checkState(l.driveFormat, `${at}.driveFormat`);
    checkState(l.membraneFormat, `${at}.membraneFormat`);
    checkState(l.prospectiveFormat, `${at}.prospectiveFormat`);
    checkActivation(l.rateFormat, `${at}.rateFormat`);
    if (l.weights.length !== l.nIn * l.nOut) fail(`${at}.weights`, `must hold nIn x nOut = ${l.nIn * l.nOut} values`);
    for (const [k, a] of [['bias', l.bias], ['alpha', l.alpha], ['rho', l.rho]] as const) if (a.length !== l.nOut) fail(`${at}.${k}`, `must hold nOut = ${l.nOut} values`);

    const fw = l.weightFormat.fracBits, fx = xf.fracBits, fu = l.membraneFormat.fracBits;
    const accShift = fw + fx - l.driveFormat.fracBits;
    if (l.driveFormat.fracBits !== fu) fail(`${at}.driveFormat`, `must have the membrane's fraction bits (${fu}), has ${l.driveFormat.fracBits}`);
    if (accShift < 0 || accShift > 62) fail(`${at}.driveFormat`, `accumulator shift (weight frac ${fw} + input frac ${fx} - drive frac ${l.driveFormat.fracBits} = ${accShift}) must be in 0..62`);
    const biasShift = fw + fx - l.biasFormat.fracBits;
    if (biasShift < 0 || l.biasFormat.width - 1 + biasShift > LIMITS.accBits) fail(`${at}.biasFormat`, `bias shift (${biasShift}) must be >= 0 with width - 1 + shift <= ${LIMITS.accBits}`);
    const xMag = xf.signed ? xf.width - 1 : xf.width;
    if (bitLength(l.nIn) + l.weightFormat.width - 1 + xMag > LIMITS.accBits) {
      fail(`${at}.weightFormat`, `accumulator bound: bits(nIn) ${bitLength(l.nIn)} + weight width - 1 (${l.weightFormat.width - 1}) + input magnitude bits ${xMag} exceeds ${LIMITS.accBits}`);
    }
    if (!Number.isInteger(l.alphaFrac) || l.alphaFrac < 0 || l.alphaFrac > LIMITS.alphaFrac) fail(`${at}.alphaFrac`, `must be in 0..${LIMITS.alphaFrac}`);
    if (!Number.isInteger(l.rhoFrac) || l.rhoFrac < 0 || l.rhoFrac > LIMITS.rhoFrac) fail(`${at}.rhoFrac`, `must be in 0..${LIMITS.rhoFrac}`);
    const pShift = l.rhoFrac + fu - l.prospectiveFormat.fracBits;
    if (pShift < 0 || pShift > 62) fail(`${at}.prospectiveFormat`, `prospective shift (rho frac ${l.rhoFrac} + membrane frac ${fu} - prospective frac ${l.prospectiveFormat.fracBits} = ${pShift}) must be in 0..62`);

    const [wLo, wHi] = storedRange(l.weightFormat);
    for (let k = 0; k < l.weights.length; k++) {
      if (l.weights[k] < wLo || l.weights[k] > wHi) fail(`${at}.weights`, `code ${l.weights[k]} at [${Math.floor(k / l.nIn)}][${k % l.nIn}] is outside the weight format's ${wLo}..${wHi}`);
    }
    const [bLo, bHi] = storedRange(l.biasFormat);
    const one = 2 ** l.alphaFrac;
    for (let j = 0; j < l.nOut; j++) {
      if (l.bias[j] < bLo || l.bias[j] > bHi) fail(`${at}.bias`, `code ${l.bias[j]} of neuron ${j} is outside the bias format's ${bLo}..${bHi}`);
      if (l.alpha[j] > one) fail(`${at}.alpha`, `code ${l.alpha[j]} of neuron ${j} exceeds 2^alphaFrac = ${one} (tau_m below dt)`);
    }

    const nl = l.nonlinearity;
    const rShift = l.prospectiveFormat.fracBits - l.rateFormat.fracBits;
    const [rLo, rHi] = storedRange(l.rateFormat);
    const [pLo, pHi] = storedRange(l.prospectiveFormat);
    if (nl.kind === 'identity' || nl.kind === 'clamp') {
      if (rShift < -LIMITS.rateLeftShift || rShift > 62) fail(`${at}.rateFormat`, `rate shift (prospective frac - rate frac = ${rShift}) must be in -${LIMITS.rateLeftShift}..62`);
      if (nl.kind === 'clamp') {
        if (!Number.isInteger(nl.lo) || !Number.isInteger(nl.hi) || nl.lo > nl.hi || nl.lo < pLo || nl.hi > pHi) {
          fail(`${at}.nonlinearity`, `clamp bounds must be prospective codes with lo <= hi (lo ${nl.lo}, hi ${nl.hi}, codes ${pLo}..${pHi})`);
        }
      }
    } else {
      const entries = nl.table.length;
      if (entries < 1 || entries > LIMITS.tableEntries) fail(`${at}.nonlinearity.table`, `must hold 1..${LIMITS.tableEntries} entries (has ${entries})`);
      if (nl.interpolate && entries < 2) fail(`${at}.nonlinearity.table`, 'an interpolated table needs at least 2 entries');
      if (!Number.isInteger(nl.shift) || nl.shift < 0 || nl.shift > LIMITS.tableShift) fail(`${at}.nonlinearity.shift`, `must be in 0..${LIMITS.tableShift}`);
      if (!Number.isInteger(nl.base) || nl.base < -(2 ** 31) || nl.base > 2 ** 31 - 1) fail(`${at}.nonlinearity.base`, 'must be an int32');
      for (let k = 0; k < entries; k++) {
        if (nl.table[k] < rLo || nl.table[k] > rHi) fail(`${at}.nonlinearity.table`, `entry ${k} (${nl.table[k]}) is outside the rate format's ${rLo}..${rHi}`);
      }
    }
    xf = l.rateFormat;
    prevOut = l.nOut;
  });
}

/** Reads and validates a descriptor file; the bytes are returned too (the C engine takes them as they are). */
export function loadDescriptorFile(path: string): { descriptor: Descriptor; bytes: Uint8Array } {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (err) {
    throw new GlekitError(`${path}: cannot read file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return { descriptor: decodeDescriptor(bytes, path), bytes };
}
