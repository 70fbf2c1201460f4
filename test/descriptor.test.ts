/**
 * The descriptor container and both loaders: standard msgpack, deterministic bytes,
 * and refusal of every damaged, truncated or newer file by the TypeScript loader and by
 * the C loader alike, with an error that says why.
 */
import { createHash } from 'node:crypto';
import { unpack } from 'msgpackr';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DESCRIPTOR_VERSION,
  DescriptorError,
  TRAILER_BYTES,
  decodeDescriptor,
  encodeDescriptor,
  sealDescriptor,
  type Descriptor,
} from '../src/descriptor/index.js';
import { checkC, randomDescriptor } from '../src/emulator/index.js';
import { Rng } from '../src/util/rng.js';
import { decodeMsgpack, ensureFirmware } from './helpers/firmware.js';

beforeAll(() => ensureFirmware());

function sample(seed: number, opts = {}): { d: Descriptor; bytes: Uint8Array } {
  const d = randomDescriptor(new Rng(seed), opts);
  return { d, bytes: encodeDescriptor(d) };
}

function refusedByTs(bytes: Uint8Array): string | null {
  try {
    decodeDescriptor(bytes, 'x.gled');
    return null;
  } catch (e) {
    expect(e).toBeInstanceOf(DescriptorError);
    return (e as Error).message;
  }
}

/** The byte offset of the formatVersion value (right after the magic). */
function versionOffset(bytes: Uint8Array): number {
  const key = Buffer.from('formatVersion');
  const at = Buffer.from(bytes).indexOf(key);
  expect(at).toBeGreaterThan(0);
  return at + key.length;
}

describe('descriptor container', () => {
  it('round-trips and is deterministic', () => {
    const { d, bytes } = sample(1);
    const again = decodeDescriptor(bytes, 'x');
    expect(Buffer.from(encodeDescriptor(again)).equals(Buffer.from(bytes))).toBe(true);
    expect(Buffer.from(encodeDescriptor(d)).equals(Buffer.from(bytes))).toBe(true);
    expect(again.network.layers.map((l) => l.nOut)).toEqual(d.network.layers.map((l) => l.nOut));
  });

  it("is standard msgpack: msgpackr's plain unpack and an independent decoder read the same generic map", () => {
    const { d, bytes } = sample(2);
    const generic = unpack(bytes) as Record<string, any>;
    const independent = decodeMsgpack(bytes) as Record<string, any>;
    for (const doc of [generic, independent]) {
      expect(Object.keys(doc)).toEqual(['magic', 'formatVersion', 'header', 'network', 'sha256']);
      expect(doc.magic).toBe('GLED');
      expect(doc.formatVersion).toBe(DESCRIPTOR_VERSION);
      expect(doc.network.layers).toHaveLength(d.network.layers.length);
      const w = doc.network.layers[0].weights as Uint8Array;
      // integer arrays are little-endian binary
      expect(w.length).toBe(2 * d.network.layers[0].weights.length);
      expect(Buffer.from(w).readInt16LE(0)).toBe(d.network.layers[0].weights[0]);
      expect(doc.network.layers[0].weightFormat).toEqual([
        d.network.layers[0].weightFormat.width,
        d.network.layers[0].weightFormat.fracBits,
        1,
        d.network.layers[0].weightFormat.roundingCode,
        d.network.layers[0].weightFormat.overflowCode,
      ]);
    }
    // the trailer holds the SHA-256 of everything before it
    const digest = createHash('sha256')
      .update(bytes.subarray(0, bytes.length - TRAILER_BYTES))
      .digest();
    expect(Buffer.from(independent.sha256).equals(digest)).toBe(true);
  });

  it('both loaders accept valid descriptors', () => {
    const files = [1, 2, 3, 4, 5].map((s) => sample(s).bytes);
    for (const b of files) expect(refusedByTs(b)).toBeNull();
    expect(checkC(files)).toEqual(files.map(() => null));
  });
});

describe('damaged, truncated and newer descriptors are refused by both loaders', () => {
  it('every single flipped byte (all positions, two flip patterns)', () => {
    const { bytes } = sample(11, { maxSize: 5, maxLayers: 2 });
    const damaged: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i++) {
      for (const mask of [0xff, 0x01]) {
        const b = bytes.slice();
        b[i] ^= mask;
        damaged.push(b);
      }
    }
    for (const b of damaged) expect(refusedByTs(b)).not.toBeNull();
    const verdicts = checkC(damaged);
    expect(verdicts.filter((v) => v === null)).toHaveLength(0);
    // a flip inside the content is caught by the hash, and said so
    const middle = damaged[2 * Math.floor(bytes.length / 2)];
    expect(refusedByTs(middle)).toMatch(/hash mismatch|modified or damaged/);
    expect(verdicts[2 * Math.floor(bytes.length / 2)]).toMatch(/hash mismatch/);
  });

  it('every truncation', () => {
    const { bytes } = sample(12, { maxSize: 5, maxLayers: 2 });
    const cut: Uint8Array[] = [];
    for (let n = 0; n < bytes.length; n++) cut.push(bytes.slice(0, n));
    for (const b of cut) expect(refusedByTs(b)).toMatch(/truncated|damaged|not a glekit descriptor|trailer|hash/);
    expect(checkC(cut).filter((v) => v === null)).toHaveLength(0);
    expect(refusedByTs(bytes.slice(0, bytes.length - 1))).toMatch(/truncated or damaged/);
  });

  it('a newer format version, even with a valid hash, before anything else is read', () => {
    const { bytes } = sample(13);
    const newer = bytes.slice();
    newer[versionOffset(newer)] = DESCRIPTOR_VERSION + 1;
    sealDescriptor(newer);
    expect(refusedByTs(newer)).toMatch(/formatVersion: is 2, newer than this glekit reads \(1\)/);
    expect(checkC([newer])[0]).toMatch(/newer than this engine reads/);
    // a future layout this version cannot parse is refused for its version too, not for its content
    const future = new Uint8Array(
      Buffer.concat([
        Buffer.from([0x83, 0xa5]),
        Buffer.from('magic'),
        Buffer.from([0xa4]),
        Buffer.from('GLED'),
        Buffer.from([0xad]),
        Buffer.from('formatVersion'),
        Buffer.from([0x07]),
        Buffer.from([0xa6]),
        Buffer.from('sha256'),
        Buffer.from([0xc4, 0x20]),
        Buffer.alloc(32),
      ]),
    );
    sealDescriptor(future);
    expect(refusedByTs(future)).toMatch(/is 7, newer/);
    expect(checkC([future])[0]).toMatch(/is 7, newer/);
  });

  it('the wrong magic, and content that breaks a bound, with the field named', () => {
    const { d, bytes } = sample(14);
    const foreign = bytes.slice();
    foreign.set(Buffer.from('GLEX'), Buffer.from(foreign).indexOf(Buffer.from('GLED')));
    sealDescriptor(foreign);
    expect(refusedByTs(foreign)).toMatch(/not a glekit descriptor/);
    expect(checkC([foreign])[0]).toMatch(/not a glekit descriptor/);

    const bad = structuredClone(d);
    bad.network.layers[0].weights[0] = 2 ** (bad.network.layers[0].weightFormat.width - 1); // one past the largest code
    const badBytes = encodeDescriptor(bad, { skipValidation: true });
    expect(refusedByTs(badBytes)).toMatch(/network\.layers\[0\]\.weights: code \d+ at \[0\]\[0\] is outside/);
    expect(checkC([badBytes])[0]).toMatch(/network\.layers\[0\]\.weights: code \d+ at \[0\]\[0\] is outside/);

    const slow = structuredClone(d);
    slow.network.layers[0].alpha[0] = 2 ** slow.network.layers[0].alphaFrac + 1;
    const slowBytes = encodeDescriptor(slow, { skipValidation: true });
    expect(refusedByTs(slowBytes)).toMatch(/alpha.*tau_m below dt/);
    expect(checkC([slowBytes])[0]).toMatch(/alpha.*tau_m below dt/);
  });
});

describe('sizes that overflow 32-bit arithmetic', () => {
  it('a weights bin whose expected length passes 2^32 cannot match a short one by wrapping', () => {
    // nIn x nOut x 2 = 4 295 032 830 = 2^32 + 65 534: a 65 534-byte bin would match a 32-bit computation
    const d = randomDescriptor(new Rng(3), { maxLayers: 1 });
    const l = d.network.layers[0];
    l.nIn = 65535;
    l.nOut = 32769;
    d.network.inputSize = 65535;
    d.network.outputSize = 32769;
    l.weights = new Int16Array(32767);
    l.bias = new Int32Array(32769);
    l.alpha = new Uint16Array(32769);
    l.rho = new Uint16Array(32769);
    const bytes = encodeDescriptor(d, { skipValidation: true });
    expect(refusedByTs(bytes)).toMatch(/weights: must hold 2147516415 values/);
    expect(checkC([bytes])[0]).toMatch(/weights: has 65534 bytes, expected 4295032830/);
  });
});

describe('the two loaders agree', () => {
  it('on 6000 re-sealed mutants of valid descriptors: accepted by both or refused by both', () => {
    // Re-sealing gives each mutant a correct SHA-256, so the content checks decide.
    const seeds = [sample(21).bytes, sample(22, { maxLayers: 1 }).bytes, sample(23, { maxSize: 3 }).bytes];
    const rng = new Rng(5);
    const special = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xc0, 0xcb, 0xca, 0xd0, 0xcc];
    const files: Uint8Array[] = [];
    for (let k = 0; k < 6000; k++) {
      const b = seeds[k % seeds.length].slice();
      for (let m = 1 + rng.int(3); m > 0; m--) {
        const at = rng.int(b.length - TRAILER_BYTES);
        const u = rng.uniform();
        b[at] = u < 0.4 ? b[at] ^ (1 << rng.int(8)) : u < 0.7 ? rng.int(256) : special[rng.int(special.length)];
      }
      files.push(sealDescriptor(b));
    }
    const ts = files.map(refusedByTs);
    const c = checkC(files);
    const disagree = files.map((_, k) => k).filter((k) => (ts[k] === null) !== (c[k] === null));
    expect(disagree.map((k) => `${k}: ts ${ts[k]} / c ${c[k]}`)).toEqual([]);
    // both paths are exercised
    expect(ts.filter((v) => v === null).length).toBeGreaterThan(500);
    expect(ts.filter((v) => v !== null).length).toBeGreaterThan(500);
  });
});
