/**
 * The descriptor's container. One msgpack map whose first two entries are the magic and
 * the format version and whose last entry is "sha256", a 32-byte bin holding the SHA-256
 * of every byte before that key. Loaders check, in this order: the magic, the version (a
 * newer file is refused before anything else is read from it), the trailer, the hash, and
 * only then the content and its bounds (codec.ts, validate.ts).
 */
import { createHash } from 'node:crypto';
import { DESCRIPTOR_MAGIC, DESCRIPTOR_VERSION, DescriptorError } from './types.js';

/** 0x a6 "sha256" c4 20 <32 bytes>: the fixed tail of every descriptor. */
const TRAILER_KEY = Uint8Array.from([0xa6, 0x73, 0x68, 0x61, 0x32, 0x35, 0x36, 0xc4, 0x20]);
export const TRAILER_BYTES = TRAILER_KEY.length + 32;

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

/** Minimal msgpack cursor for the header checks that must run before the hash is trusted. */
class HeadReader {
  pos = 0;
  constructor(
    private readonly b: Uint8Array,
    private readonly source: string,
  ) {}

  private need(n: number, what: string): void {
    if (this.pos + n > this.b.length) throw new DescriptorError(this.source, '', `truncated: ${this.b.length} bytes end inside the ${what}`);
  }

  mapHeader(): number {
    this.need(1, 'top-level map');
    const t = this.b[this.pos++];
    if (t >= 0x80 && t <= 0x8f) return t & 0x0f;
    if (t === 0xde) {
      this.need(2, 'top-level map');
      const n = (this.b[this.pos] << 8) | this.b[this.pos + 1];
      this.pos += 2;
      return n;
    }
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
    if (t >= 0xa0 && t <= 0xbf) {
      len = t & 0x1f;
      this.pos += 1;
    } else if (t === 0xd9) {
      this.need(2, what);
      len = this.b[this.pos + 1];
      this.pos += 2;
    } else return null;
    this.need(len, what);
    const s = Buffer.from(this.b.subarray(this.pos, this.pos + len)).toString('latin1');
    this.pos += len;
    return s;
  }

  /** A non-negative integer of at most 32 bits, or null when the next value is not one. */
  uint(what: string): number | null {
    this.need(1, what);
    const t = this.b[this.pos];
    if (t <= 0x7f) {
      this.pos += 1;
      return t;
    }
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
    throw new DescriptorError(
      source,
      'formatVersion',
      `is ${version}, newer than this glekit reads (${DESCRIPTOR_VERSION}); refusing to load it (upgrade glekit)`,
    );
  }
  const at = bytes.length - TRAILER_BYTES;
  for (let i = 0; i < TRAILER_KEY.length; i++) {
    if (bytes[at + i] !== TRAILER_KEY[i]) throw new DescriptorError(source, 'sha256', 'truncated or damaged: the file does not end with its SHA-256 trailer');
  }
  const digest = createHash('sha256').update(bytes.subarray(0, at)).digest();
  const stored = bytes.subarray(at + TRAILER_KEY.length);
  if (!Buffer.from(stored).equals(digest)) {
    throw new DescriptorError(
      source,
      'sha256',
      `content hash mismatch (stored ${Buffer.from(stored).toString('hex').slice(0, 16)}..., content ${digest.toString('hex').slice(0, 16)}...): the file was modified or damaged`,
    );
  }
  return version;
}
