/**
 * BoardClient (src/bridge/client.ts) against an in-memory fake board written here from
 * firmware-bridge/PROTOCOL.md: unit tests of the request engine (timeouts, retries with
 * the same seq, names in errors), the upload (chunks from the MTU, pipelining, resume,
 * go-back-N, refusals before a byte is sent), boot and reboot detection, the line dying,
 * and RUN pipelining in both modes, with and without a FaultyTransport. The real board
 * (build/firmware/gle_board over a pty) is test/bridge-board.test.ts.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  BoardClient,
  BridgeError,
  FaultyTransport,
  FrameReader,
  MsgType,
  Status,
  encodeFrame,
  memoryLink,
  packPayload,
  unpackPayload,
  type MemoryTransport,
  type NetworkShape,
  type Transport,
  type WireValue,
} from '../src/bridge/index.js';
import { crc32 } from '../src/bridge/frame.js';
import { Rng } from '../src/util/rng.js';

// ---------------------------------------------------------------------------------------
// the fake board

interface Slot {
  data: Uint8Array;
  len: number;
  sha: Uint8Array | null;
  off: number;
  complete: boolean;
  confirmed: boolean;
  pending: boolean;
  permanent: boolean;
}

const emptySlot = (size: number): Slot => ({
  data: new Uint8Array(size),
  len: 0,
  sha: null,
  off: 0,
  complete: false,
  confirmed: false,
  pending: false,
  permanent: false,
});

class FakeBoard {
  mtu = 512;
  rxBuffer = 4096;
  slotSize = 32768;
  formats = [1];
  slots = [emptySlot(this.slotSize), emptySlot(this.slotSize)];
  active = -1;
  bootId = 1000;
  boots = 0;
  rxFrames = 0;
  /** requests handled, by type */
  handled = new Map<number, number>();
  /** answer nothing at all */
  mute = false;
  /** close the line after this many UPLOAD frames */
  dieAfterUploads = Infinity;
  private uploads = 0;
  private last: { type: number; seq: number; crc: number; wire: Uint8Array } | null = null;
  /** steps mode: the running sum and the step count */
  private acc = 0;
  private count = 0;
  private runReady = false;

  constructor() {
    this.boot();
  }

  /** A line to the board; each has its own frame reader, answers go back on the line a request came from. */
  attach(t: MemoryTransport): void {
    const reader = new FrameReader(this.mtu);
    t.onData((c) => reader.push(c, (f) => this.onFrame(t, f.type, f.seq, f.flags, f.payload)));
  }

  /** what boots (PROTOCOL.md §3.4): a pending test once, else the confirmed image, else nothing */
  boot(): void {
    this.boots++;
    this.bootId = (this.bootId * 7 + 13) >>> 0;
    this.last = null;
    this.count = 0;
    this.runReady = false;
    const pendingSlot = this.slots.findIndex((s) => s.pending && s.complete);
    if (pendingSlot >= 0) {
      this.slots[pendingSlot].pending = false;
      this.active = pendingSlot;
      return;
    }
    const confirmed = this.slots.findIndex((s) => s.confirmed && s.complete);
    this.active = confirmed;
  }

  private onFrame(t: MemoryTransport, type: number, seq: number, flags: number, payload: Uint8Array): void {
    if (flags & 1) return;
    this.rxFrames++;
    if (this.mute) return;
    const crc = crc32(payload);
    if (this.last && this.last.type === type && this.last.seq === seq && this.last.crc === crc) {
      t.write(this.last.wire);
      return;
    }
    this.handled.set(type, (this.handled.get(type) ?? 0) + 1);
    let status: number = Status.OK;
    let body: Record<string, WireValue>;
    let reboot = false;
    const req = unpackPayload(payload) as Record<string, unknown>;
    try {
      [status, body, reboot] = this.handle(type, req);
    } catch (e) {
      status = Status.INVAL;
      body = { reason: (e as Error).message };
    }
    if (body.reason === undefined) body.reason = '';
    if (reboot) {
      this.boot();
      body = { ...this.stateBody(), reason: '' };
    }
    const wire = encodeFrame({ type, seq, flags: 1, status }, packPayload(body));
    this.last = { type, seq, crc, wire };
    if (type === MsgType.UPLOAD && ++this.uploads >= this.dieAfterUploads) {
      t.disconnect();
      return;
    }
    t.write(wire);
  }

  private stateBody(): Record<string, WireValue> {
    return {
      bootId: this.bootId,
      active: this.active,
      slots: this.slots.map((s, i) => ({
        slot: i,
        state: s.complete ? 'complete' : s.off > 0 ? 'partial' : 'empty',
        size: this.slotSize,
        len: s.len,
        off: s.off,
        hash: s.complete ? s.sha : null,
        version: s.complete ? 1 : null,
        bootable: s.complete,
        pending: s.pending,
        confirmed: s.confirmed,
        active: this.active === i,
        permanent: s.permanent,
      })),
    };
  }

  private infoBody(): Record<string, WireValue> {
    return {
      proto: 1,
      firmware: 'fake',
      boardId: 'fake-1',
      bootId: this.bootId,
      mtu: this.mtu,
      rxBuffer: this.rxBuffer,
      formats: this.formats,
      limits: { layers: 16, weights: 1 << 20, neurons: 4096, ring: 4096, table: 4096, outputs: 256 },
      slots: 2,
      slotSize: this.slotSize,
      capabilities: ['run-samples', 'run-steps'],
      baud: 0,
      stats: { rxFrames: this.rxFrames, rxDropped: 0, txFrames: 0, boots: this.boots },
    };
  }

  private handle(type: number, q: Record<string, unknown>): [number, Record<string, WireValue>, boolean] {
    const slotOf = (): Slot => {
      const s = q.slot;
      if (typeof s !== 'number' || s < 0 || s > 1) throw new Error('slot: missing or out of range');
      return this.slots[s];
    };
    switch (type) {
      case MsgType.HELLO:
        this.runReady = false;
        return [Status.OK, this.infoBody(), false];
      case MsgType.INFO:
        return [Status.OK, this.infoBody(), false];
      case MsgType.STATE:
        return [Status.OK, this.stateBody(), false];
      case MsgType.ERASE:
      case MsgType.ABORT: {
        if (q.slot === this.active) return [Status.BADSTATE, { reason: `slot ${q.slot} is active` }, false];
        this.slots[q.slot as number] = emptySlot(this.slotSize);
        return [Status.OK, type === MsgType.ABORT ? { off: 0 } : {}, false];
      }
      case MsgType.UPLOAD: {
        const s = slotOf();
        if (q.slot === this.active) return [Status.BADSTATE, { reason: 'slot is active' }, false];
        const off = q.off as number,
          data = q.data as Uint8Array;
        if (off === 0) {
          const len = q.len as number,
            sha = q.sha as Uint8Array;
          if (len > this.slotSize) return [Status.NOMEM, { reason: `len ${len} is larger than the slot's ${this.slotSize} bytes` }, false];
          if (s.sha !== null && s.len === len && Buffer.from(s.sha).equals(Buffer.from(sha))) {
            // resume; with nothing held yet the chunk is written (as gle_proto.c does)
            if (s.off > 0 || s.complete) return [Status.OK, { off: s.off, len, done: s.complete }, false];
            return this.write(s, 0, data);
          }
          const fresh = emptySlot(this.slotSize);
          fresh.len = len;
          fresh.sha = sha.slice();
          this.slots[q.slot as number] = fresh;
          return this.write(fresh, 0, data);
        }
        if (s.sha === null || off !== s.off) return [Status.OK, { off: s.off, len: s.len, done: s.complete }, false];
        return this.write(s, off, data);
      }
      case MsgType.VERIFY: {
        const s = slotOf();
        if (!s.complete) return [Status.NOENT, { reason: 'slot is not complete' }, false];
        return [Status.OK, { hash: s.sha, version: 1, network: { ...NET, bytes: 100 } as unknown as WireValue }, false];
      }
      case MsgType.ACTIVATE: {
        const s = slotOf();
        if (q.bootId !== this.bootId) return [Status.OK, this.stateBody(), false];
        if (!s.complete) return [Status.NOENT, { reason: 'slot is not complete' }, false];
        if (q.permanent) {
          for (const o of this.slots) {
            o.confirmed = false;
            o.permanent = false;
          }
          s.confirmed = true;
          s.permanent = true;
        } else {
          s.pending = true;
        }
        return [Status.OK, {}, true];
      }
      case MsgType.CONFIRM: {
        if (this.active < 0) return [Status.OK, { ...this.stateBody(), reason: 'nothing to confirm' }, false];
        for (const o of this.slots) o.confirmed = false;
        this.slots[this.active].confirmed = true;
        return [Status.OK, this.stateBody(), false];
      }
      case MsgType.RESET:
        if (q.bootId !== this.bootId) return [Status.OK, this.stateBody(), false];
        return [Status.OK, {}, true];
      case MsgType.RUN: {
        if (this.active < 0) return [Status.NOENT, { reason: 'no image' }, false];
        const x = q.x as Uint8Array,
          n = q.n as number,
          first = q.first as number;
        const xi = new Int32Array(x.slice().buffer);
        if (q.mode === 'samples') {
          // y[s][k] = (k + 1) * sum of the sample's codes
          const y = new BigInt64Array(n * NET.outputSize);
          for (let s = 0; s < n; s++) {
            let sum = 0;
            for (let i = 0; i < NET.inputSize; i++) sum += xi[s * NET.inputSize + i];
            for (let k = 0; k < NET.outputSize; k++) y[s * NET.outputSize + k] = BigInt(sum * (k + 1));
          }
          return [Status.OK, { first, n, y: new Uint8Array(y.buffer) }, false];
        }
        if (q.reset === true) {
          this.acc = 0;
          this.count = 0;
          this.runReady = true;
        }
        if (!this.runReady || first !== this.count) return [Status.BADSTATE, { first: this.count, reason: `first ${first}, expected ${this.count}` }, false];
        // steps: y = running sum of every code so far, per output times (k + 1)
        const y = new Int32Array(n * NET.outputSize);
        for (let t = 0; t < n; t++) {
          for (let i = 0; i < NET.inputSize; i++) this.acc = (this.acc + xi[t * NET.inputSize + i]) | 0;
          for (let k = 0; k < NET.outputSize; k++) y[t * NET.outputSize + k] = Math.imul(this.acc, k + 1);
        }
        this.count += n;
        return [Status.OK, { first, n, y: new Uint8Array(y.buffer) }, false];
      }
      default:
        return [Status.NOTSUP, { reason: `unknown type ${type}` }, false];
    }
  }

  private write(s: Slot, off: number, data: Uint8Array): [number, Record<string, WireValue>, boolean] {
    if (off + data.length > s.len) return [Status.INVAL, { reason: 'data beyond len' }, false];
    s.data.set(data, off);
    s.off = off + data.length;
    if (s.off === s.len) {
      const h = createHash('sha256').update(s.data.subarray(0, s.len)).digest();
      if (!h.equals(Buffer.from(s.sha!))) {
        Object.assign(s, emptySlot(this.slotSize));
        return [Status.CORRUPT, { reason: 'sha256 mismatch' }, false];
      }
      s.complete = true;
    }
    return [Status.OK, { off: s.off, len: s.len, done: s.complete }, false];
  }
}

const NET: NetworkShape = { layers: 1, inputSize: 3, outputSize: 2, stepsPerSample: 4, settleSteps: 0, readout: 'last', mode: 'static', bytes: 100 };

/** Bytes that start like a descriptor of format version `v` (the host reads no further). */
function fakeImage(bytes: number, seed: number, v = 1): Uint8Array {
  const head = Buffer.concat([
    Buffer.from([0x83, 0xa5]),
    Buffer.from('magic'),
    Buffer.from([0xa4]),
    Buffer.from('GLED'),
    Buffer.from([0xad]),
    Buffer.from('formatVersion'),
    Buffer.from([v, 0xa4]),
    Buffer.from('blob'),
  ]);
  const out = new Uint8Array(bytes);
  out.set(head);
  const rng = new Rng(seed);
  for (let i = head.length; i < bytes; i++) out[i] = rng.int(256);
  return out;
}

function connect(board: FakeBoard, wrap?: (t: Transport) => Transport): { host: Transport; boardEnd: MemoryTransport; hostEnd: MemoryTransport } {
  const [hostEnd, boardEnd] = memoryLink('mem0');
  board.attach(boardEnd);
  return { host: wrap ? wrap(hostEnd) : hostEnd, boardEnd, hostEnd };
}

const fast = { marginMs: 40, eraseMs: 0, rebootMs: 0 };

// ---------------------------------------------------------------------------------------

describe('BoardClient against a fake board', () => {
  it('HELLO gives the board info; STATE, VERIFY and the bootId follow', async () => {
    const board = new FakeBoard();
    const c = await BoardClient.open(connect(board).host, fast);
    expect(c.boardInfo).toMatchObject({ proto: 1, mtu: 512, slots: 2, slotSize: 32768, formats: [1] });
    expect(c.bootId).toBe(board.bootId);
    const s = await c.state();
    expect(s.active).toBe(-1);
    expect(s.slots.map((x) => x.state)).toEqual(['empty', 'empty']);
  });

  it('uploads in MTU-sized chunks with several in flight; the board holds the exact bytes', async () => {
    const board = new FakeBoard();
    const c = await BoardClient.open(connect(board).host, fast);
    const img = fakeImage(20000, 1);
    const seen: number[] = [];
    const r = await c.upload(1, img, { onProgress: (p) => seen.push(p.acked) });
    expect(Buffer.from(board.slots[1].data.subarray(0, img.length)).equals(Buffer.from(img))).toBe(true);
    expect(board.slots[1].complete).toBe(true);
    expect(r.chunkSize).toBeGreaterThan(440);
    expect(r.chunkSize).toBeLessThanOrEqual(512);
    expect(r.window).toBeGreaterThan(1);
    expect(r.goBacks).toBe(0);
    expect(r.resentBytes).toBe(0);
    expect(seen.at(-1)).toBe(20000);
    expect(r.sha256).toBe(createHash('sha256').update(img).digest('hex'));
    // every frame's payload fits the MTU: the fake board's reader would have dropped it otherwise
    expect(board.handled.get(MsgType.UPLOAD)).toBe(r.frames);
    expect(r.frames).toBeLessThanOrEqual(Math.ceil(20000 / r.chunkSize) + 2); // the probe at offset 0, a shorter first chunk
  });

  it('refuses before sending a byte: an image larger than the slot, a format the board does not read', async () => {
    const board = new FakeBoard();
    const c = await BoardClient.open(connect(board).host, fast);
    const before = board.rxFrames;
    await expect(c.upload(0, fakeImage(40000, 2))).rejects.toThrow("port mem0: UPLOAD slot 0: the image is 40000 bytes, the board's slots hold 32768 bytes");
    await expect(c.upload(0, fakeImage(4000, 2, 2))).rejects.toThrow(
      "port mem0: UPLOAD slot 0: the descriptor's format version 2 is not one the board reads (1)",
    );
    await expect(c.upload(0, new Uint8Array(100))).rejects.toThrow(/not a glekit descriptor/);
    await expect(c.upload(2, fakeImage(100, 2))).rejects.toThrow(/slots 0\.\.1/);
    expect(board.rxFrames).toBe(before);
  });

  it("resumes: the line dies mid-upload, a new session continues at the board's offset", async () => {
    const board = new FakeBoard();
    board.dieAfterUploads = 12;
    const img = fakeImage(30000, 3);
    const c1 = await BoardClient.open(connect(board).host, fast);
    const err = await c1.upload(0, img).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BridgeError);
    expect((err as BridgeError).failure).toBe('closed');
    expect((err as Error).message).toMatch(/^port mem0: UPLOAD slot 0 off \d+: the line closed: the board disconnected or died$/);
    expect(c1.isOpen).toBe(false);
    const held = board.slots[0].off;
    expect(held).toBeGreaterThan(0);
    board.dieAfterUploads = Infinity;
    const c2 = await BoardClient.open(connect(board).host, fast);
    const r = await c2.upload(0, img);
    expect(r.resumedFrom).toBe(held);
    expect(board.slots[0].complete).toBe(true);
    expect(Buffer.from(board.slots[0].data.subarray(0, img.length)).equals(Buffer.from(img))).toBe(true);
    // the same image again: nothing to send
    const again = await c2.upload(0, img);
    expect(again.resumedFrom).toBe(img.length);
    expect(again.frames).toBe(1);
  });

  it('a request nobody answers fails after 3 attempts with the same seq, naming port, request and wait', async () => {
    const board = new FakeBoard();
    const { host } = connect(board);
    const c = await BoardClient.open(host, { ...fast, marginMs: 30 });
    const seqs: number[] = [];
    host.onData(() => undefined);
    const inner = host as MemoryTransport;
    const write = inner.write.bind(inner);
    inner.write = (b: Uint8Array): boolean => {
      const r = new FrameReader(4096);
      r.push(b, (f) => seqs.push(f.seq));
      return write(b);
    };
    board.mute = true;
    const t0 = performance.now();
    await expect(c.upload(1, fakeImage(3000, 4))).rejects.toThrow(/^port mem0: UPLOAD slot 1 off 0: no response in \d+ ms after 3 attempts$/);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(80);
    expect(seqs).toHaveLength(3);
    expect(new Set(seqs).size).toBe(1);
    expect(c.counters.retries).toBe(2);
  });

  it("names the board's status and reason", async () => {
    const board = new FakeBoard();
    const c = await BoardClient.open(connect(board).host, fast);
    await c.upload(0, fakeImage(2000, 5));
    await c.activate(0, true);
    const e = await c.erase(0).catch((x: unknown) => x as BridgeError);
    expect(e.message).toBe('port mem0: ERASE slot 0: BADSTATE: slot 0 is active');
    expect(e.failure).toBe('BADSTATE');
    expect(e.status).toBe(Status.BADSTATE);
  });

  it('test activation reverts at reset unless confirmed; the host expects these reboots and notices others', async () => {
    const board = new FakeBoard();
    const c = await BoardClient.open(connect(board).host, fast);
    const reboots: number[] = [];
    c.onReboot((_o, n) => reboots.push(n));
    await c.upload(0, fakeImage(3000, 6));
    await c.activate(0, true);
    await c.upload(1, fakeImage(3000, 7));
    const s1 = await c.activate(1, false);
    expect(s1.active).toBe(1);
    expect((await c.reset()).active).toBe(0);
    await c.activate(1, false);
    await c.confirm();
    expect((await c.reset()).active).toBe(1);
    expect(reboots).toEqual([]);
    // a reboot the host did not ask for
    board.boot();
    const before = c.bootId;
    await c.state();
    expect(c.bootId).not.toBe(before);
    expect(reboots).toEqual([board.bootId]);
    expect(c.unexpectedReboots).toBe(1);
  });

  it('the board dying fails the request in flight and every later one at once', async () => {
    const board = new FakeBoard();
    const { host, boardEnd } = connect(board);
    const c = await BoardClient.open(host, fast);
    board.mute = true;
    const p = c.state();
    setTimeout(() => boardEnd.disconnect(), 5);
    await expect(p).rejects.toThrow('port mem0: STATE: the line closed: the board disconnected or died');
    await expect(c.info()).rejects.toThrow('port mem0: INFO: the line closed: the board disconnected or died');
  });

  it('RUN samples: frames sized from the MTU, several in flight, answers in place', async () => {
    const board = new FakeBoard();
    const c = await BoardClient.open(connect(board).host, fast);
    await c.upload(0, fakeImage(1000, 8));
    await c.activate(0, true);
    const n = 500;
    const x = Int32Array.from({ length: n * 3 }, (_, i) => ((i * 7919) % 1000) - 500);
    const r = await c.runSamples(x);
    expect(r.frames).toBeGreaterThan(10);
    for (let s = 0; s < n; s++) {
      const sum = x[3 * s] + x[3 * s + 1] + x[3 * s + 2];
      expect([r.y[2 * s], r.y[2 * s + 1]]).toEqual([sum, 2 * sum]);
    }
    const one = await c.runSamples(x.subarray(0, 30), { batch: 1, window: 1 });
    expect(one.frames).toBe(10);
    expect(Array.from(one.y)).toEqual(Array.from(r.y.subarray(0, 20)));
  });

  it('RUN steps carries the state across calls and needs a reset in a new session', async () => {
    const board = new FakeBoard();
    const c = await BoardClient.open(connect(board).host, fast);
    await c.upload(0, fakeImage(1000, 9));
    await c.activate(0, true);
    await expect(c.runSteps(new Int32Array(3))).rejects.toThrow(/pass reset: true/);
    const x = Int32Array.from({ length: 300 * 3 }, (_, i) => i % 11);
    const whole = await c.runSteps(x, { reset: true, window: 4 });
    const a = await c.runSteps(x.subarray(0, 450), { reset: true });
    const b = await c.runSteps(x.subarray(450));
    expect(c.stepCount).toBe(300);
    expect(Array.from(a.y).concat(Array.from(b.y))).toEqual(Array.from(whole.y));
    let acc = 0;
    for (let t = 0; t < 300; t++) {
      acc += x[3 * t] + x[3 * t + 1] + x[3 * t + 2];
      expect(whole.y[2 * t]).toBe(acc);
    }
  });

  it('through a faulty line (drops, bit flips, duplicates, reordering, stalls, splits) uploads and RUNs come out exact', async () => {
    for (const seed of [1, 2, 3]) {
      const board = new FakeBoard();
      let faulty: FaultyTransport | null = null;
      const rates = { drop: 0.05, corrupt: 0.05, duplicate: 0.05, reorder: 0.05, delay: 0.05, split: 0.1, dropByte: 0.02, garbage: 0.05 };
      const { host } = connect(board, (t) => (faulty = new FaultyTransport(t, { seed, tx: rates, rx: rates, maxDelayMs: 5 })));
      const c = await BoardClient.open(host, { ...fast, marginMs: 25, attempts: 12 });
      const img = fakeImage(25000, 10 + seed);
      const up = await c.upload(1, img);
      expect(Buffer.from(board.slots[1].data.subarray(0, img.length)).equals(Buffer.from(img))).toBe(true);
      expect(up.goBacks).toBeGreaterThan(0);
      await c.activate(1, true);
      const x = Int32Array.from({ length: 200 * 3 }, (_, i) => ((i * 31) % 97) - 40);
      const clean = new BoardClient(connect(board).host, fast);
      await clean.hello();
      const want = await clean.runSteps(x, { reset: true, window: 1 });
      const got = await c.runSteps(x, { reset: true, window: 4, batch: 7 });
      expect(Array.from(got.y)).toEqual(Array.from(want.y));
      const ws = await clean.runSamples(x);
      const gs = await c.runSamples(x, { batch: 5, window: 6 });
      expect(Array.from(gs.y)).toEqual(Array.from(ws.y));
      const f = (faulty as unknown as FaultyTransport).counts;
      expect(f.dropped + f.corrupted + f.duplicated + f.reordered).toBeGreaterThan(10);
    }
  });
});
