/**
 * The serial bridge's wire codec (src/bridge: cobs.ts, frame.ts): COBS against the
 * published vectors (Cheshire and Baker; the 254/255-byte runs), CRC-32's check value,
 * frames round trip, the streaming decoder's resynchronisation after garbage and its
 * bound, msgpack payload types.
 */
import { describe, expect, it } from 'vitest';
import {
  CobsDecoder,
  FrameReader,
  MsgType,
  Status,
  cobsDecode,
  cobsEncode,
  cobsMaxEncodedLength,
  crc32,
  crc32Table,
  encodeFrame,
  packPayload,
  parseFrame,
  statusName,
  typeName,
  unpackPayload,
  wireBytes,
  type Frame,
} from '../src/bridge/index.js';
import { Rng } from '../src/util/rng.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const range = (from: number, to: number): Uint8Array => Uint8Array.from({ length: to - from + 1 }, (_, i) => (from + i) & 0xff);
const cat = (...parts: (Uint8Array | number[])[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));

describe('COBS', () => {
  // Wikipedia's table of examples (from the paper's algorithm)
  const vectors: [string, Uint8Array, Uint8Array][] = [
    ['one zero', hex('00'), hex('0101')],
    ['two zeros', hex('0000'), hex('010101')],
    ['zero, byte, zero', hex('001100'), hex('01021101')],
    ['bytes around a zero', hex('11220033'), hex('0311220233')],
    ['no zero', hex('11223344'), hex('0511223344')],
    ['trailing zeros', hex('11000000'), hex('0211010101')],
    ['empty', new Uint8Array(0), hex('01')],
    ['254 non-zero bytes', range(1, 254), cat([0xff], range(1, 254))],
    ['255 bytes starting with zero', range(0, 254), cat([0x01, 0xff], range(1, 254))],
    ['255 non-zero bytes', range(1, 255), cat([0xff], range(1, 254), [0x02, 0xff])],
    ['255 bytes ending with zero', cat(range(2, 255), [0]), cat([0xff], range(2, 255), [0x01, 0x01])],
    ['255 bytes with a zero before the end', cat(range(3, 255), [0, 1]), cat([0xfe], range(3, 255), [0x02, 0x01])],
  ];
  for (const [name, raw, enc] of vectors) {
    it(`encodes and decodes: ${name}`, () => {
      expect(Buffer.from(cobsEncode(raw)).toString('hex')).toBe(Buffer.from(enc).toString('hex'));
      expect(cobsEncode(raw).length).toBeLessThanOrEqual(cobsMaxEncodedLength(raw.length));
      expect(cobsDecode(enc)).toEqual(raw);
    });
  }

  it('decodes the non-minimal form of a 254-byte run (an empty block after 0xFF) to the same bytes', () => {
    expect(cobsDecode(cat([0xff], range(1, 254), [0x01]))).toEqual(range(1, 254));
  });

  it('round-trips random data of every length to 1100 bytes, never emitting 0x00', () => {
    const rng = new Rng(7);
    for (let n = 0; n <= 1100; n += 1 + (n > 300 ? 13 : 0)) {
      const raw = new Uint8Array(n);
      const zeros = rng.uniform();
      for (let i = 0; i < n; i++) raw[i] = rng.uniform() < zeros * 0.3 ? 0 : 1 + rng.int(255);
      const enc = cobsEncode(raw);
      expect(enc.includes(0)).toBe(false);
      expect(enc.length).toBeLessThanOrEqual(n + Math.floor(n / 254) + 1);
      expect(cobsDecode(enc)).toEqual(raw);
    }
  });

  it('streams: frames split at every byte, garbage between frames, resync at the next 0x00', () => {
    const frames = [hex('11223344'), range(0, 600), hex('00'), range(1, 254)];
    const wire = cat(...frames.flatMap((f) => [cobsEncode(f), [0]]));
    const d = new CobsDecoder(1000);
    const out: Uint8Array[] = [];
    for (const b of wire) out.push(...d.push(Uint8Array.of(b)));
    expect(out).toEqual(frames);
    // invalid: a code promising 5 bytes, then a delimiter after 2; the next frame still decodes
    const d2 = new CobsDecoder(100);
    const got = d2.push(cat([0x05, 0x11, 0x22, 0x00], cobsEncode(hex('aabb')), [0], [0, 0]));
    expect(got).toEqual([hex('aabb')]);
    expect(d2.drops.invalid).toBe(1);
    expect(d2.dropped).toBe(1);
  });

  it('bounds a frame: one longer than maxFrame is dropped and counted, the next is decoded', () => {
    const d = new CobsDecoder(300);
    const ok = range(1, 300);
    const long = range(1, 301);
    const got = d.push(cat(cobsEncode(long), [0], cobsEncode(ok), [0], cobsEncode(range(0, 5000)), [0], cobsEncode(hex('01')), [0]));
    expect(got).toEqual([ok, hex('01')]);
    expect(d.drops.tooLong).toBe(2);
  });
});

describe('CRC-32', () => {
  it('gives the check value 0xCBF43926 for "123456789", zlib and table alike', () => {
    const b = new TextEncoder().encode('123456789');
    expect(crc32(b)).toBe(0xcbf43926);
    expect(crc32Table(b)).toBe(0xcbf43926);
    const rng = new Rng(3);
    const r = Uint8Array.from({ length: 4099 }, () => rng.int(256));
    expect(crc32(r)).toBe(crc32Table(r));
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});

describe('frames', () => {
  it('round-trip header, payload and CRC; the wire holds one 0x00, at the end', () => {
    const payload = packPayload({ slot: 1, off: 4096, data: new Uint8Array([0, 1, 2, 0]) });
    const wire = encodeFrame({ type: MsgType.UPLOAD, seq: 0xbeef }, payload);
    expect(wire.indexOf(0)).toBe(wire.length - 1);
    expect(wire.length).toBeLessThanOrEqual(wireBytes(payload.length));
    const r = new FrameReader(2048);
    const got: Frame[] = [];
    r.push(wire, (f) => got.push({ ...f, payload: f.payload.slice() }));
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ version: 1, type: 0x10, flags: 0, seq: 0xbeef, status: 0 });
    expect(unpackPayload(got[0].payload)).toEqual({ slot: 1, off: 4096, data: new Uint8Array([0, 1, 2, 0]) });
    // the decoded frame: version 1, type, flags, seq LE, status; CRC LE over the rest
    const raw = cobsDecode(wire.subarray(0, wire.length - 1))!;
    expect([...raw.subarray(0, 6)]).toEqual([1, 0x10, 0, 0xef, 0xbe, 0]);
    const c = crc32(raw.subarray(0, raw.length - 4));
    expect([...raw.subarray(raw.length - 4)]).toEqual([c & 0xff, (c >>> 8) & 0xff, (c >>> 16) & 0xff, c >>> 24]);
    expect(parseFrame(raw)).not.toBeNull();
  });

  it('drops a frame with a flipped bit, a short frame and an over-long one, and reads the next', () => {
    const good = encodeFrame({ type: MsgType.STATE, seq: 7, flags: 1, status: Status.BADSTATE }, packPayload({ reason: 'x' }));
    const bad = good.slice();
    bad[3] ^= 0x10;
    const short = cat(cobsEncode(hex('0102030405')), [0]);
    const long = encodeFrame({ type: MsgType.RUN, seq: 1 }, new Uint8Array(600).fill(0x7f));
    const r = new FrameReader(512);
    const got: Frame[] = [];
    r.push(cat(hex('1234ff'), [0], bad, short, long, good), (f) => got.push({ ...f }));
    expect(got.map((f) => [f.type, f.seq, f.flags, f.status])).toEqual([[MsgType.STATE, 7, 1, Status.BADSTATE]]);
    expect(r.drops).toEqual({ tooLong: 1, badCobs: 1, tooShort: 1, badCrc: 1 });
  });

  it('packs byte arrays as bin, integers as ints of any width, maps as fixmaps; refuses floats', () => {
    const b = packPayload({ a: Buffer.from([1, 2]), b: new Uint8Array([3]), n: 0xffffffff, m: -5, s: 'é', t: true });
    expect(Buffer.from(b).toString('hex')).toBe('86a161c4020102a162c40103a16eceffffffffa16dfba173a2c3a9a174c3');
    expect(Buffer.from(packPayload({})).toString('hex')).toBe('80');
    expect(() => packPayload({ x: 1.5 })).toThrow(/not an integer/);
    expect(() => packPayload({ x: 2 ** 40 })).toThrow(/32 bits/);
    expect(unpackPayload(new Uint8Array(0))).toEqual({});
  });

  it('names types and statuses', () => {
    expect(typeName(0x10)).toBe('UPLOAD');
    expect(typeName(0x77)).toBe('type 0x77');
    expect(statusName(9)).toBe('CORRUPT');
    expect(statusName(13)).toBe('TOO_NEW');
  });
});
