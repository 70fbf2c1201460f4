/**
 * Consistent Overhead Byte Stuffing (Cheshire and Baker, IEEE/ACM ToN 1999), as
 * firmware-bridge/PROTOCOL.md §1 frames every message: the encoded bytes contain no 0x00,
 * so a 0x00 on the line only ever ends a frame. Encoding costs 1 byte plus 1 per 254.
 *
 * The encoder is the minimal one (a run of 254 non-zero bytes at the end of the data is
 * not followed by an empty block); any standard decoder reads both forms.
 */

/** The most bytes `n` data bytes can take once encoded (no delimiter). */
export function cobsMaxEncodedLength(n: number): number {
  return n + Math.floor(n / 254) + 1;
}

/**
 * Encodes src[from, to) into dst at `at`; returns the end index in dst. dst needs
 * cobsMaxEncodedLength(to - from) bytes from `at`. No allocation.
 */
export function cobsEncodeInto(src: Uint8Array, from: number, to: number, dst: Uint8Array, at: number): number {
  let codeAt = at;
  let out = at + 1;
  let code = 1;
  for (let i = from; i < to; i++) {
    const b = src[i];
    if (b === 0) {
      dst[codeAt] = code;
      codeAt = out++;
      code = 1;
    } else {
      dst[out++] = b;
      code++;
      if (code === 0xff) {
        dst[codeAt] = code;
        code = 1;
        if (i + 1 < to) codeAt = out++;
        else return out;
      }
    }
  }
  dst[codeAt] = code;
  return out;
}

/** COBS encoding of `data`, without the trailing 0x00 delimiter. */
export function cobsEncode(data: Uint8Array): Uint8Array {
  const dst = new Uint8Array(cobsMaxEncodedLength(data.length));
  const end = cobsEncodeInto(data, 0, data.length, dst, 0);
  return dst.subarray(0, end);
}

/** Decodes one COBS block sequence (no delimiter inside); null when it is not valid COBS. */
export function cobsDecode(enc: Uint8Array): Uint8Array | null {
  const d = new CobsDecoder(enc.length);
  const frames = d.push(enc);
  if (frames.length !== 0) return null; // a 0x00 inside
  const last = d.push(ZERO);
  return last.length === 1 ? last[0] : null;
}
const ZERO = Uint8Array.of(0);

function checkLimit(n: number): number {
  if (!(n >= 1) || !Number.isInteger(n)) throw new RangeError(`CobsDecoder: maxFrame must be a positive integer, got ${n}`);
  return n;
}

/** Why frames were dropped, counted by CobsDecoder. */
export interface CobsDropCounts {
  /** decoded frame longer than the bound */
  tooLong: number;
  /** a block ran past the delimiter (the last code byte promised more data than came) */
  invalid: number;
}

/**
 * Streaming COBS decoder with a bound: bytes go in as they arrive (any chunking), whole
 * decoded frames come out. A frame whose decoding would exceed `maxFrame` bytes, or
 * whose encoding is invalid, is dropped and counted, and decoding starts again after the
 * next 0x00. Empty frames (consecutive 0x00) are skipped without counting: a sender may
 * put a 0x00 before a frame to end any garbage the receiver holds.
 */
export class CobsDecoder {
  private buf: Uint8Array;
  private limit: number;
  private len = 0;
  /** data bytes left in the current block */
  private remaining = 0;
  /** the current block ended without 0xFF code: a 0x00 follows if more blocks come */
  private pendingZero = false;
  /** bytes seen in this frame (0: at a frame start) */
  private seen = 0;
  private discarding = false;
  readonly drops: CobsDropCounts = { tooLong: 0, invalid: 0 };
  /** frames delivered */
  frames = 0;

  constructor(maxFrame: number) {
    this.limit = checkLimit(maxFrame);
    this.buf = new Uint8Array(maxFrame);
  }

  /** The most decoded bytes a frame may have. */
  get maxFrame(): number {
    return this.limit;
  }

  /** Changes the bound (the peer told its MTU); a partial frame is kept. */
  setMaxFrame(maxFrame: number): void {
    this.limit = checkLimit(maxFrame);
    if (maxFrame > this.buf.length) {
      const b = new Uint8Array(maxFrame);
      b.set(this.buf.subarray(0, this.len));
      this.buf = b;
    }
  }

  /** Frames dropped so far, for any reason. */
  get dropped(): number {
    return this.drops.tooLong + this.drops.invalid;
  }

  /** Forgets a partial frame (the line was reopened). */
  reset(): void {
    this.len = 0;
    this.remaining = 0;
    this.pendingZero = false;
    this.seen = 0;
    this.discarding = false;
  }

  /**
   * Feeds bytes; calls `onFrame` with each complete frame (a view into the decoder's
   * buffer, valid only during the call: copy it to keep it). Returns the frames delivered.
   */
  pushEach(chunk: Uint8Array, onFrame: (frame: Uint8Array) => void): number {
    let delivered = 0;
    let buf = this.buf;
    let max = this.limit;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === 0) {
        if (this.seen !== 0 && !this.discarding) {
          if (this.remaining !== 0) {
            this.drops.invalid++;
          } else {
            this.frames++;
            delivered++;
            onFrame(buf.subarray(0, this.len));
            buf = this.buf; // the callback may have changed the bound
            max = this.limit;
          }
        }
        this.reset();
        continue;
      }
      this.seen++;
      if (this.discarding) continue;
      if (this.remaining === 0) {
        // a code byte
        if (this.pendingZero) {
          if (this.len >= max) {
            this.overflow();
            continue;
          }
          buf[this.len++] = 0;
        }
        this.remaining = b - 1;
        this.pendingZero = b !== 0xff;
      } else {
        if (this.len >= max) {
          this.overflow();
          continue;
        }
        buf[this.len++] = b;
        this.remaining--;
      }
    }
    return delivered;
  }

  /** Feeds bytes; returns copies of the complete frames. */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.pushEach(chunk, (f) => out.push(f.slice()));
    return out;
  }

  private overflow(): void {
    this.drops.tooLong++;
    this.discarding = true;
  }
}
