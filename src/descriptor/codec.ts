/**
 * Descriptor bytes <-> Descriptor: the msgpack encoding of firmware-bridge/DESCRIPTOR.md.
 * Every rule checked here is checked the same way by firmware-bridge/src/gle_loader.c, so
 * a file one loader accepts the other accepts.
 */
import { readFileSync } from 'node:fs';
import { Packr, Unpackr } from 'msgpackr';
import { FixedFormat, OVERFLOW_MODES, ROUNDING_MODES } from '../fixed/index.js';
import { GlekitError, ValidationError, describeValue } from '../util/errors.js';
import { Field, isObject } from '../util/json-reader.js';
import { checkEnvelope, sealDescriptor } from './envelope.js';
import { LIMITS } from './limits.js';
import {
  DESCRIPTOR_MAGIC,
  DescriptorError,
  type Descriptor,
  type DescriptorHeader,
  type DescriptorLayer,
  type DescriptorNetwork,
  type Nonlinearity,
  type Placement,
} from './types.js';
import { validateDescriptor } from './validate.js';

// ---------------------------------------------------------------------------------------
// formats

export function formatToWire(f: FixedFormat): number[] {
  return [f.width, f.fracBits, f.signed ? 1 : 0, f.roundingCode, f.overflowCode];
}

export function formatFromParts(width: number, frac: number, signed: boolean, rounding: number, overflow: number): FixedFormat {
  return new FixedFormat({ width, intBits: width - frac, signed, rounding: ROUNDING_MODES[rounding], overflow: OVERFLOW_MODES[overflow] });
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
    case 'identity':
      return { kind: 'identity' };
    case 'clamp':
      return { kind: 'clamp', lo: n.lo, hi: n.hi };
    case 'table':
      return { kind: 'table', base: n.base, shift: n.shift, interpolate: n.interpolate, table: le32(n.table) };
  }
}

function layerToWire(l: DescriptorLayer): Record<string, unknown> {
  const wire: Record<string, unknown> = {
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
  if (l.trims !== undefined) wire.trims = le16(l.trims);
  return wire;
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

// ---------------------------------------------------------------------------------------
// reading

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
  for (let i = 0; i < nOut; i++) {
    alpha[i] = av.getUint16(2 * i, true);
    rho[i] = rv.getUint16(2 * i, true);
  }
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
  const tf = f.child('trims');
  let trims: Uint16Array | undefined;
  if (tf.value !== undefined && tf.value !== null) {
    const tv = binOf(tf, 2, 4 * nOut);
    trims = new Uint16Array(4 * nOut);
    for (let i = 0; i < trims.length; i++) trims[i] = tv.getUint16(2 * i, true);
  }
  return {
    ...(trims === undefined ? {} : { trims }),
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
