/**
 * A transport that damages the line on purpose, for the tests and the fault soak:
 * seeded (src/util/rng.ts), per-frame probabilities in each direction, counters of what
 * it did. Frames are found by their 0x00 delimiter, so faults hit whole frames or bytes
 * inside one: drop, flip bits, duplicate, reorder (swap with the next frame), delay (a
 * stall of the line), split (two pieces with a pause), lose a byte, insert garbage; and
 * cut the line (close it, possibly in the middle of a frame).
 */
import { Rng } from '../util/rng.js';
import { BaseTransport, type Transport } from './transport.js';

export interface FaultRates {
  /** lose the whole frame */
  drop?: number;
  /** flip 1 to 3 random bits */
  corrupt?: number;
  /** deliver the frame twice */
  duplicate?: number;
  /** hold the frame back and deliver it after the next one (or after maxDelayMs) */
  reorder?: number;
  /** stall the line before this frame for up to maxDelayMs */
  delay?: number;
  /** deliver in two pieces with a short pause */
  split?: number;
  /** lose one byte of the frame */
  dropByte?: number;
  /** put 1 to 8 random bytes (no 0x00) before the frame */
  garbage?: number;
}

export interface FaultOptions {
  seed: number;
  /** faults on frames the host writes (host -> board) */
  tx?: FaultRates;
  /** faults on frames the host receives (board -> host) */
  rx?: FaultRates;
  /** per frame the host writes: probability of cutting the line there (the frame is sent whole, in part, or not at all) */
  cut?: number;
  /** the longest stall or reorder hold, ms (default 20) */
  maxDelayMs?: number;
}

export interface FaultCounts {
  txFrames: number;
  rxFrames: number;
  dropped: number;
  corrupted: number;
  duplicated: number;
  reordered: number;
  delayed: number;
  split: number;
  bytesDropped: number;
  garbage: number;
  cuts: number;
}

export function emptyFaultCounts(): FaultCounts {
  return { txFrames: 0, rxFrames: 0, dropped: 0, corrupted: 0, duplicated: 0, reordered: 0, delayed: 0, split: 0, bytesDropped: 0, garbage: 0, cuts: 0 };
}

/** Adds b's counts into a. */
export function addFaultCounts(a: FaultCounts, b: FaultCounts): FaultCounts {
  for (const k of Object.keys(a) as (keyof FaultCounts)[]) a[k] += b[k];
  return a;
}

/** The error a cut line reports to onClose listeners. */
export class LineCutError extends Error {
  readonly disconnected = true;
  constructor(path: string) {
    super(`port ${path}: line cut (fault injection)`);
    this.name = 'LineCutError';
  }
}

/** One direction: split the byte stream into frames, damage them, deliver in order with stalls. */
class FaultyDirection {
  private pendingChunks: Uint8Array[] = [];
  private held: Uint8Array | null = null;
  private heldTimer: NodeJS.Timeout | null = null;
  private readonly queue: { at: number; bytes: Uint8Array }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private lineFreeAt = 0;

  constructor(
    private readonly owner: FaultyTransport,
    private readonly rates: FaultRates,
    private readonly deliver: (b: Uint8Array) => void,
    private readonly isTx: boolean,
  ) {}

  push(chunk: Uint8Array): void {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] !== 0) continue;
      let frame: Uint8Array;
      if (this.pendingChunks.length === 0) {
        frame = chunk.slice(start, i + 1);
      } else {
        this.pendingChunks.push(chunk.subarray(start, i + 1));
        frame = concat(this.pendingChunks);
        this.pendingChunks = [];
      }
      start = i + 1;
      this.frame(frame);
      if (!this.owner.isOpen) return;
    }
    if (start < chunk.length) this.pendingChunks.push(chunk.slice(start));
  }

  private frame(f: Uint8Array): void {
    const o = this.owner;
    const c = o.counts;
    if (this.isTx) c.txFrames++;
    else c.rxFrames++;
    if (!o.enabled) {
      this.send(f, 0);
      return;
    }
    const rng = o.rng;
    const r = this.rates;
    const hit = (p: number | undefined): boolean => p !== undefined && p > 0 && rng.uniform() < p;
    if (this.isTx && hit(o.options.cut)) {
      c.cuts++;
      const keep = rng.int(f.length + 1);
      if (keep > 0) this.send(f.subarray(0, keep), 0);
      o.cut();
      return;
    }
    if (hit(r.drop)) {
      c.dropped++;
      return;
    }
    let bytes = f;
    if (hit(r.corrupt)) {
      c.corrupted++;
      bytes = bytes.slice();
      const flips = 1 + rng.int(3);
      for (let k = 0; k < flips; k++) bytes[rng.int(bytes.length)] ^= 1 << rng.int(8);
    }
    if (hit(r.dropByte) && bytes.length > 1) {
      c.bytesDropped++;
      const at = rng.int(bytes.length);
      const b = new Uint8Array(bytes.length - 1);
      b.set(bytes.subarray(0, at), 0);
      b.set(bytes.subarray(at + 1), at);
      bytes = b;
    }
    if (hit(r.garbage)) {
      c.garbage++;
      const g = new Uint8Array(1 + rng.int(8));
      for (let k = 0; k < g.length; k++) g[k] = 1 + rng.int(255);
      this.send(g, 0);
    }
    let stall = 0;
    if (hit(r.delay)) {
      c.delayed++;
      stall = 1 + rng.int(o.maxDelayMs);
    }
    const copies = hit(r.duplicate) ? 2 : 1;
    if (copies === 2) c.duplicated++;
    for (let k = 0; k < copies; k++) {
      if (k === 0 && this.held === null && hit(r.reorder)) {
        c.reordered++;
        this.held = bytes;
        this.heldTimer = setTimeout(() => this.releaseHeld(), 1 + rng.int(o.maxDelayMs));
        continue;
      }
      if (hit(r.split) && bytes.length > 1) {
        c.split++;
        const at = 1 + rng.int(bytes.length - 1);
        this.send(bytes.subarray(0, at), stall);
        this.send(bytes.subarray(at), 1 + rng.int(3));
      } else {
        this.send(bytes, stall);
      }
      stall = 0;
      this.releaseHeld();
    }
  }

  private releaseHeld(): void {
    if (this.heldTimer !== null) {
      clearTimeout(this.heldTimer);
      this.heldTimer = null;
    }
    const h = this.held;
    if (h === null) return;
    this.held = null;
    this.send(h, 0);
  }

  /** Delivers in order; a stall delays this and everything after it. */
  private send(bytes: Uint8Array, stallMs: number): void {
    const now = Date.now();
    if (stallMs === 0 && this.queue.length === 0 && this.lineFreeAt <= now) {
      this.deliver(bytes);
      return;
    }
    const at = Math.max(now, this.lineFreeAt) + stallMs;
    this.lineFreeAt = at;
    this.queue.push({ at, bytes });
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== null || this.queue.length === 0) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        const now = Date.now();
        while (this.queue.length > 0 && this.queue[0].at <= now) {
          const q = this.queue.shift()!;
          if (this.owner.isOpen) this.deliver(q.bytes);
        }
        this.schedule();
      },
      Math.max(0, this.queue[0].at - Date.now()),
    );
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.heldTimer !== null) clearTimeout(this.heldTimer);
    this.timer = null;
    this.heldTimer = null;
    this.queue.length = 0;
    this.held = null;
    this.pendingChunks = [];
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Wraps a transport and damages what crosses it, as `options` says. `enabled = false`
 * passes everything through untouched (to check the board's state on a clean line).
 */
export class FaultyTransport extends BaseTransport {
  readonly rng: Rng;
  readonly counts: FaultCounts = emptyFaultCounts();
  readonly maxDelayMs: number;
  enabled = true;
  private readonly txDir: FaultyDirection;
  private readonly rxDir: FaultyDirection;

  constructor(
    readonly inner: Transport,
    readonly options: FaultOptions,
  ) {
    super();
    this.rng = new Rng(options.seed);
    this.maxDelayMs = Math.max(1, options.maxDelayMs ?? 20);
    this.txDir = new FaultyDirection(
      this,
      options.tx ?? {},
      (b) => {
        inner.write(b);
      },
      true,
    );
    this.rxDir = new FaultyDirection(this, options.rx ?? {}, (b) => this.emitData(b), false);
    inner.onData((chunk) => this.rxDir.push(chunk));
    inner.onClose((err) => this.shutdown(err));
  }

  get path(): string {
    return this.inner.path;
  }

  get baudRate(): number {
    return this.inner.baudRate;
  }

  override get isOpen(): boolean {
    return !this.closed && this.inner.isOpen;
  }

  write(bytes: Uint8Array): boolean {
    if (!this.isOpen) return false;
    this.txDir.push(bytes);
    return true;
  }

  /** Cuts the line now: the inner transport is closed and listeners see a LineCutError. */
  cut(): void {
    this.shutdown(new LineCutError(this.path));
    void this.inner.close();
  }

  async close(): Promise<void> {
    this.shutdown(undefined);
    await this.inner.close();
  }

  private shutdown(err: Error | undefined): void {
    this.txDir.stop();
    this.rxDir.stop();
    this.markClosed(err);
  }
}
