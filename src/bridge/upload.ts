/**
 * UPLOAD (PROTOCOL.md §3.2) from the host: refusals before a byte is sent, a first
 * request at offset 0 without data (the board answers how much of this image it holds:
 * resume), then chunks sized from the MTU pipelined within the board's rxBuffer, and
 * go-back-N to the board's offset after a lost or out-of-order chunk.
 */
import { createHash } from 'node:crypto';
import { packPayload, wireBytes, type WireValue } from './frame.js';
import { MsgType, Status } from './protocol.js';
import { BridgeError, type Link, type Response } from './request.js';

export interface UploadProgress {
  /** bytes the board holds */
  acked: number;
  total: number;
}

export interface UploadOptions {
  onProgress?: (p: UploadProgress) => void;
  /** most UPLOAD frames in flight (default: as many as fit the board's rxBuffer, at most 16) */
  window?: number;
  /** chunk bytes (default and maximum: what fits the board's MTU) */
  chunkSize?: number;
}

export interface UploadResult {
  slot: number;
  bytes: number;
  /** hex SHA-256 of the image */
  sha256: string;
  /** the bytes the board held of this image at the start (> 0: the upload resumed) */
  resumedFrom: number;
  /** UPLOAD frames answered */
  frames: number;
  /** go-back-N restarts after a lost or out-of-order chunk */
  goBacks: number;
  /** image bytes sent more than once */
  resentBytes: number;
  chunkSize: number;
  window: number;
  ms: number;
}

/** What the upload needs to know of the board and of its speed. */
export interface UploadBoard {
  mtu: number;
  rxBuffer: number;
  slots: number;
  slotSize: number;
  formats: number[];
  flashBytesPerMs: number;
  hashBytesPerMs: number;
  eraseMs: number;
}

const UPLOAD_RESPONSE_BYTES = 64;

/** msgpack bin header size for n bytes. */
const binHeader = (n: number): number => (n < 256 ? 2 : n < 65536 ? 3 : 5);

/**
 * The descriptor format version of a .gled image (its second map entry), without
 * checking anything else: the board's loader is the judge of the rest. null when the
 * bytes do not start like a descriptor.
 */
export function imageFormatVersion(b: Uint8Array): number | null {
  let p = 0;
  const t = b[p++];
  if (t === undefined) return null;
  if (t === 0xde) p += 2;
  else if (t === 0xdf) p += 4;
  else if (t < 0x80 || t > 0x8f) return null;
  const str = (): string | null => {
    const c = b[p];
    if (c === undefined || c < 0xa0 || c > 0xbf) return null;
    const n = c & 0x1f;
    const s = Buffer.from(b.subarray(p + 1, p + 1 + n)).toString('latin1');
    p += 1 + n;
    return s;
  };
  if (str() !== 'magic' || str() !== 'GLED' || str() !== 'formatVersion') return null;
  const c = b[p];
  if (c === undefined) return null;
  if (c <= 0x7f) return c;
  const width = c === 0xcc ? 1 : c === 0xcd ? 2 : c === 0xce ? 4 : 0;
  if (width === 0 || p + 1 + width > b.length) return null;
  let v = 0;
  for (let i = 1; i <= width; i++) v = v * 256 + b[p + i];
  return v;
}

/** The largest chunk that fits the MTU at any offset (with `first`: at offset 0, beside len and sha). */
function chunkLimit(mtu: number, slot: number, first: boolean): number {
  const probe: Record<string, WireValue> = first
    ? { slot, off: 0, len: 0xffffffff, sha: new Uint8Array(32), data: new Uint8Array(0) }
    : { slot, off: 0xffffffff, data: new Uint8Array(0) };
  const overhead = packPayload(probe).length - 2; // the empty bin's header is counted below
  let n = mtu - overhead - 2;
  while (n > 0 && overhead + binHeader(n) + n > mtu) n--;
  return n;
}

/** Refuses, before a byte is sent, what the board cannot take. */
function preflight(link: Link, board: UploadBoard, slot: number, image: Uint8Array): void {
  const label = `UPLOAD slot ${slot}`;
  const fail = (failure: 'NOMEM' | 'NOTSUP' | 'refused', detail: string): never => {
    throw new BridgeError(link.port, label, failure, detail, failure === 'refused' ? undefined : Status[failure]);
  };
  if (!Number.isInteger(slot) || slot < 0 || slot >= board.slots) fail('refused', `the board has slots 0..${board.slots - 1}`);
  if (image.length > board.slotSize) fail('NOMEM', `the image is ${image.length} bytes, the board's slots hold ${board.slotSize} bytes`);
  if (image.length === 0) fail('refused', 'the image is empty');
  const version = imageFormatVersion(image);
  if (version === null) fail('refused', 'the image is not a glekit descriptor (no GLED magic and format version at its start)');
  else if (!board.formats.includes(version)) {
    fail('NOTSUP', `the descriptor's format version ${version} is not one the board reads (${board.formats.join(', ') || 'none'})`);
  }
}

export async function uploadImage(link: Link, board: UploadBoard, slot: number, image: Uint8Array, opts: UploadOptions = {}): Promise<UploadResult> {
  preflight(link, board, slot, image);
  return new UploadPipe(link, board, slot, image, opts).run();
}

/** One upload in progress. */
class UploadPipe {
  private readonly t0 = performance.now();
  private readonly sha: Buffer;
  private readonly len: number;
  private readonly chunk: number;
  private readonly firstChunk: number;
  private readonly frameWire: number;
  private readonly window: number;
  private frames = 0;
  private resent = 0;
  private goBacks = 0;
  private acked = 0;
  private resumedFrom = 0;
  // the pipeline
  private sendOff = 0;
  private maxSent = 0;
  private epoch = 0;
  private inflight = 0;
  private inflightBytes = 0;
  private finished = false;
  private lastGoBack = -1;
  private stalls = 0;
  private inEpoch: { seq: number }[] = [];
  private resolve: () => void = () => undefined;
  private reject: (e: Error) => void = () => undefined;

  constructor(
    private readonly link: Link,
    private readonly board: UploadBoard,
    private readonly slot: number,
    private readonly image: Uint8Array,
    private readonly opts: UploadOptions,
  ) {
    this.sha = createHash('sha256').update(image).digest();
    this.len = image.length;
    this.chunk = Math.max(1, Math.min(opts.chunkSize ?? Infinity, chunkLimit(board.mtu, slot, false)));
    this.firstChunk = Math.max(1, Math.min(this.chunk, chunkLimit(board.mtu, slot, true)));
    this.frameWire = wireBytes(this.chunk + 32);
    const fitRx = Math.max(1, Math.floor(board.rxBuffer / this.frameWire));
    this.window = Math.max(1, Math.min(opts.window ?? Math.min(16, fitRx), fitRx));
  }

  async run(): Promise<UploadResult> {
    // offset 0 without data first: the board answers how much of this image it already
    // holds (a new image: it erases the slot and answers 0), so the erase is a step of its own
    const first = this.answer(await this.request(0, 0), 0);
    this.frames++;
    this.resumedFrom = first.off;
    this.acked = first.off;
    this.progress();
    if (!first.done) {
      this.sendOff = this.maxSent = first.off;
      await new Promise<void>((resolve, reject) => {
        this.resolve = resolve;
        this.reject = reject;
        this.pump();
      });
    }
    return {
      slot: this.slot,
      bytes: this.len,
      sha256: this.sha.toString('hex'),
      resumedFrom: this.resumedFrom,
      frames: this.frames,
      goBacks: this.goBacks,
      resentBytes: this.resent,
      chunkSize: this.chunk,
      window: this.window,
      ms: performance.now() - this.t0,
    };
  }

  private progress(): void {
    this.opts.onProgress?.({ acked: this.acked, total: this.len });
  }

  private request(off: number, n: number): Promise<Response> & { seq: number } {
    const { slot, len, board } = this;
    const data = this.image.subarray(off, off + n);
    const payload: Record<string, WireValue> = off === 0 ? { slot, off, len, sha: this.sha, data } : { slot, off, data };
    const last = off + n === len;
    return this.link.send({
      type: MsgType.UPLOAD,
      payload,
      label: () => `UPLOAD slot ${slot} off ${off}`,
      responseBytes: UPLOAD_RESPONSE_BYTES,
      workMs: n / board.flashBytesPerMs + n / board.hashBytesPerMs + (off === 0 ? board.eraseMs : 0) + (last ? len / board.hashBytesPerMs : 0),
    });
  }

  /** The board's offset and `done` from an answer; CORRUPT and every other refusal by name. */
  private answer(r: Response, off: number): { off: number; done: boolean } {
    const label = (): string => `UPLOAD slot ${this.slot} off ${off}`;
    if (r.status === Status.CORRUPT) {
      throw new BridgeError(
        this.link.port,
        label(),
        'CORRUPT',
        `CORRUPT: the ${this.len} bytes the board holds do not match their SHA-256; the board erased slot ${this.slot} (${String(r.body.reason ?? '')})`,
        r.status,
      );
    }
    this.link.checkStatus(r, label);
    const f = this.link.fields(r, label);
    const E = f.int('off');
    const done = f.bool('done');
    if (E < 0 || E > this.len) throw new BridgeError(this.link.port, label(), 'protocol', `the board expects offset ${E} of a ${this.len}-byte image`);
    return { off: E, done };
  }

  private finish(err?: Error): void {
    if (this.finished) return;
    this.finished = true;
    for (const q of this.inEpoch) this.link.abandon(q);
    if (err) this.reject(err);
    else this.resolve();
  }

  private pump(): void {
    while (
      !this.finished &&
      this.sendOff < this.len &&
      this.inflight < this.window &&
      (this.inflight === 0 || this.inflightBytes + this.frameWire <= this.board.rxBuffer)
    ) {
      const off = this.sendOff;
      const n = Math.min(off === 0 ? this.firstChunk : this.chunk, this.len - off);
      this.sendOff += n;
      if (off < this.maxSent) this.resent += Math.min(n, this.maxSent - off);
      this.maxSent = Math.max(this.maxSent, off + n);
      const epoch = this.epoch;
      this.inflight++;
      this.inflightBytes += this.frameWire;
      const q = this.request(off, n);
      this.inEpoch.push(q);
      q.then(
        (r) => this.onAnswer(r, off, n, epoch),
        (e: Error) => this.onError(e, epoch),
      );
    }
    if (!this.finished && this.inflight === 0 && this.sendOff >= this.len) {
      // every chunk sent and answered, yet not done: ask again from the board's offset
      this.sendOff = this.acked;
      this.epoch++;
      if (this.sendOff < this.len) this.pump();
      else this.finish(new BridgeError(this.link.port, `UPLOAD slot ${this.slot}`, 'protocol', `all ${this.len} bytes sent, the board does not report done`));
    }
  }

  private onAnswer(r: Response, off: number, n: number, epoch: number): void {
    this.inflight--;
    this.inflightBytes -= this.frameWire;
    this.frames++;
    if (this.finished) return;
    let a: { off: number; done: boolean };
    try {
      a = this.answer(r, off);
    } catch (e) {
      this.finish(e as Error);
      return;
    }
    if (a.done) {
      this.acked = this.len;
      this.progress();
      this.finish();
      return;
    }
    if (a.off === this.len) {
      this.finish(
        new BridgeError(this.link.port, `UPLOAD slot ${this.slot} off ${off}`, 'protocol', `the board holds all ${this.len} bytes but does not report done`),
      );
      return;
    }
    if ((a.off > this.acked || epoch === this.epoch) && a.off !== this.acked) {
      this.acked = a.off;
      this.progress();
    }
    if (epoch === this.epoch && a.off !== off + n && !this.goBack(a.off, off)) return;
    this.pump();
  }

  /** A chunk was lost (or this one came twice): everything in flight is stale; resend from the board's offset. */
  private goBack(to: number, off: number): boolean {
    if (to <= this.lastGoBack && ++this.stalls > 16) {
      this.finish(
        new BridgeError(
          this.link.port,
          `UPLOAD slot ${this.slot} off ${off}`,
          'protocol',
          `the board keeps answering offset ${to}: no progress after ${this.stalls} tries`,
        ),
      );
      return false;
    }
    if (to > this.lastGoBack) this.stalls = 0;
    this.lastGoBack = to;
    this.goBacks++;
    this.epoch++;
    for (const s of this.inEpoch) this.link.abandon(s);
    this.inEpoch = [];
    this.sendOff = to;
    return true;
  }

  private onError(e: Error, epoch: number): void {
    this.inflight--;
    this.inflightBytes -= this.frameWire;
    if (this.finished) return;
    // an abandoned request's timeout is expected; a closed line ends the upload whatever the epoch
    if (epoch !== this.epoch && !(e instanceof BridgeError && e.failure === 'closed')) {
      this.pump();
      return;
    }
    this.finish(e);
  }
}
