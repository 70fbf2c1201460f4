/**
 * Frames of firmware-bridge/PROTOCOL.md §1: `COBS(header ‖ payload ‖ crc) 0x00`, the
 * payload one msgpack map, the CRC-32 (zlib's) little-endian over header and payload.
 */
import * as zlib from 'node:zlib';
import { Packr, Unpackr } from 'msgpackr';
import { CobsDecoder, cobsEncodeInto, cobsMaxEncodedLength } from './cobs.js';
import { CRC_BYTES, FLAG_RESPONSE, HEADER_BYTES, MIN_FRAME_BYTES, PROTOCOL_VERSION } from './protocol.js';

// ---------------------------------------------------------------------------------------
// CRC-32 (IEEE 802.3, reflected 0xEDB88320, init and final xor 0xFFFFFFFF)

type Crc32 = (data: Uint8Array) => number;

let crcTable: Uint32Array | null = null;

/** The table implementation, for a Node without zlib.crc32 (before 20.15); also tested against it. */
export function crc32Table(data: Uint8Array): number {
  if (crcTable === null) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  const t = crcTable;
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const zlibCrc = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 as zlib computes it; "123456789" gives 0xCBF43926. */
export const crc32: Crc32 = typeof zlibCrc === 'function' ? (data) => zlibCrc(data) >>> 0 : crc32Table;

// ---------------------------------------------------------------------------------------
// msgpack payloads: plain maps, fixmap when small, bins for byte arrays, ints for integers

const packr = new Packr({ useRecords: false, variableMapSize: true, moreTypes: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

/** A payload map's values: what this host sends. */
export type WireValue = number | boolean | string | null | Uint8Array | WireValue[] | { [key: string]: WireValue };

/**
 * Packs a map as msgpack. Integers in [-2^31, 2^32) go as msgpack ints (the board reads any
 * int width); Uint8Array and Buffer go as bin. Non-integers are refused: nothing in
 * protocol version 1 is a float.
 */
export function packPayload(map: Record<string, WireValue>): Uint8Array {
  for (const k in map) checkValue(map[k], k);
  return packr.pack(map);
}

function checkValue(v: WireValue, path: string): void {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) throw new RangeError(`bridge payload: ${path} = ${v} is not an integer of at most 32 bits`);
  } else if (Array.isArray(v)) {
    v.forEach((e, i) => checkValue(e, `${path}[${i}]`));
  } else if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) {
    for (const k in v) checkValue(v[k], `${path}.${k}`);
  }
}

/** Unpacks a payload; an empty payload is an empty map. Throws on bytes that are not msgpack. */
export function unpackPayload(bytes: Uint8Array): unknown {
  if (bytes.length === 0) return {};
  return unpackr.unpack(bytes);
}

// ---------------------------------------------------------------------------------------
// frames

export interface FrameHeader {
  version: number;
  type: number;
  flags: number;
  seq: number;
  status: number;
}

export interface Frame extends FrameHeader {
  /** the msgpack bytes (may be empty); a view, copied only when the frame is kept */
  payload: Uint8Array;
}

/** Bytes on the wire for a frame with `payloadBytes` of payload: COBS of header, payload, CRC, and the 0x00. */
export function wireBytes(payloadBytes: number): number {
  return cobsMaxEncodedLength(HEADER_BYTES + payloadBytes + CRC_BYTES) + 1;
}

/**
 * Encodes one frame for the wire: COBS(header ‖ payload ‖ crc) followed by 0x00.
 * `scratch` (optional) is reused for the raw frame when large enough.
 */
export class FrameEncoder {
  private raw = new Uint8Array(256);

  encode(h: { type: number; seq: number; flags?: number; status?: number; version?: number }, payload: Uint8Array): Uint8Array {
    const n = HEADER_BYTES + payload.length + CRC_BYTES;
    if (this.raw.length < n) this.raw = new Uint8Array(Math.max(n, 2 * this.raw.length));
    const raw = this.raw;
    raw[0] = h.version ?? PROTOCOL_VERSION;
    raw[1] = h.type;
    raw[2] = h.flags ?? 0;
    raw[3] = h.seq & 0xff;
    raw[4] = (h.seq >>> 8) & 0xff;
    raw[5] = h.status ?? 0;
    raw.set(payload, HEADER_BYTES);
    const c = crc32(raw.subarray(0, HEADER_BYTES + payload.length));
    const at = HEADER_BYTES + payload.length;
    raw[at] = c & 0xff;
    raw[at + 1] = (c >>> 8) & 0xff;
    raw[at + 2] = (c >>> 16) & 0xff;
    raw[at + 3] = (c >>> 24) & 0xff;
    const out = new Uint8Array(cobsMaxEncodedLength(n) + 1);
    const end = cobsEncodeInto(raw, 0, n, out, 0);
    out[end] = 0;
    return end + 1 === out.length ? out : out.subarray(0, end + 1);
  }
}

const sharedEncoder = new FrameEncoder();

/** One frame's wire bytes (allocates the result only). */
export function encodeFrame(h: { type: number; seq: number; flags?: number; status?: number; version?: number }, payload: Uint8Array): Uint8Array {
  return sharedEncoder.encode(h, payload);
}

/** Parses a decoded frame (after COBS); null when it is too short or its CRC does not match. */
export function parseFrame(raw: Uint8Array): Frame | null {
  if (raw.length < MIN_FRAME_BYTES) return null;
  const end = raw.length - CRC_BYTES;
  const stored = (raw[end] | (raw[end + 1] << 8) | (raw[end + 2] << 16) | (raw[end + 3] << 24)) >>> 0;
  if (crc32(raw.subarray(0, end)) !== stored) return null;
  return {
    version: raw[0],
    type: raw[1],
    flags: raw[2],
    seq: raw[3] | (raw[4] << 8),
    status: raw[5],
    payload: raw.subarray(HEADER_BYTES, end),
  };
}

export function isResponse(f: FrameHeader): boolean {
  return (f.flags & FLAG_RESPONSE) !== 0;
}

/** Frames a FrameReader dropped, by reason (PROTOCOL.md §1: dropped silently, counted). */
export interface FrameDropCounts {
  tooLong: number;
  badCobs: number;
  tooShort: number;
  badCrc: number;
}

/**
 * Bytes in, checked frames out: a bounded COBS decoder (at most mtu + 10 decoded bytes
 * per frame) followed by the length and CRC checks. Dropped frames are counted.
 */
export class FrameReader {
  private readonly cobs: CobsDecoder;
  private readonly dropCounts = { tooShort: 0, badCrc: 0 };
  /** frames that passed every check */
  accepted = 0;

  constructor(mtu: number) {
    this.cobs = new CobsDecoder(mtu + MIN_FRAME_BYTES);
  }

  get maxFrame(): number {
    return this.cobs.maxFrame;
  }

  get drops(): FrameDropCounts {
    return { tooLong: this.cobs.drops.tooLong, badCobs: this.cobs.drops.invalid, ...this.dropCounts };
  }

  get dropped(): number {
    return this.cobs.dropped + this.dropCounts.tooShort + this.dropCounts.badCrc;
  }

  reset(): void {
    this.cobs.reset();
  }

  /** Bounds frames to mtu + 10 decoded bytes (PROTOCOL.md §1). */
  setMtu(mtu: number): void {
    this.cobs.setMaxFrame(mtu + MIN_FRAME_BYTES);
  }

  /** Feeds received bytes; `onFrame` sees each good frame (its payload is valid only during the call). */
  push(chunk: Uint8Array, onFrame: (f: Frame) => void): void {
    this.cobs.pushEach(chunk, (raw) => {
      if (raw.length < MIN_FRAME_BYTES) {
        this.dropCounts.tooShort++;
        return;
      }
      const f = parseFrame(raw);
      if (f === null) {
        this.dropCounts.badCrc++;
        return;
      }
      this.accepted++;
      onFrame(f);
    });
  }
}
