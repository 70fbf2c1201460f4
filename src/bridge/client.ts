/**
 * The host side of firmware-bridge/PROTOCOL.md: a BoardClient sends requests over a
 * Transport and waits for the answers, with a timeout per request computed as §4 says
 * (line time of request and largest response at the port's rate, plus the board's work,
 * plus a margin), retries with the same seq, pipelined uploads with resume and go-back-N,
 * pipelined RUN frames, and detection of a board that rebooted (bootId) or died (the
 * line closed).
 *
 * Every failure is a BridgeError (a GlekitError) whose message is one line naming the
 * port and the request, e.g.
 *   port /dev/pts/7: UPLOAD slot 1 off 4096: no response in 620 ms after 3 attempts
 */
import { randomInt } from 'node:crypto';
import { VERSION } from '../version.js';
import { FrameEncoder, FrameReader, isResponse, packPayload, unpackPayload, wireBytes, type Frame, type WireValue } from './frame.js';
import { MsgType, PROTOCOL_VERSION, Status, statusName } from './protocol.js';
import type { Transport } from './transport.js';
import { BridgeError, type BridgeFailure, type Body, type Fields, type Link, type RequestSpec, type Response } from './request.js';
import { RUN_OVERHEAD, runFrames, type RunOutcome } from './run.js';
import { uploadImage, type UploadOptions, type UploadResult } from './upload.js';

export { BridgeError, type BridgeFailure } from './request.js';
export { imageFormatVersion, type UploadOptions, type UploadProgress, type UploadResult } from './upload.js';

// ---------------------------------------------------------------------------------------
// what the board says

export interface BoardStats {
  rxFrames: number;
  rxDropped: number;
  txFrames: number;
  boots: number;
}

/** INFO (and HELLO) response. */
export interface BoardInfo {
  proto: number;
  firmware: string;
  boardId: string;
  bootId: number;
  /** largest decoded payload, bytes */
  mtu: number;
  /** bytes the board buffers while busy: the most the host keeps in flight */
  rxBuffer: number;
  /** descriptor format versions the firmware reads */
  formats: number[];
  /** the build's GLE_MAX_* (layers, weights, neurons, ring, table, outputs) */
  limits: Record<string, number>;
  slots: number;
  slotSize: number;
  capabilities: string[];
  /** the rate the board sees, 0 if unknown */
  baud: number;
  stats: BoardStats;
  /** an analog board's trims and ADC (PROTOCOL.md §6); null on a digital board */
  analog: AnalogInfo | null;
}

/** The ADC every analog read-out passes: code k stands for lo + k (hi - lo) / (2^bits - 1). */
export interface AdcInfo {
  bits: number;
  lo: number;
  hi: number;
  /** codes inside reliableLo..reliableHi are trustworthy */
  reliableLo: number;
  reliableHi: number;
}

/** INFO's `analog` map (PROTOCOL.md §6). */
export interface AnalogInfo {
  /** the running image's neurons over all layers, bottom to top (0 with no image) */
  neurons: number;
  /** the trimmed parameters, in the order of TRIM_SET's codes: ["tauM", "tauR", "gain", "offset"] */
  params: string[];
  /** trims are codes 0..2^trimBits - 1 */
  trimBits: number;
  adc: AdcInfo;
  /**
   * per layer of the running image, bottom to top: [lo, hi], the network values that ADC
   * values 0 and 1 stand for in that layer (its membranes and rates)
   */
  ranges: [number, number][];
}

export type ProbeObserve = 'membrane' | 'rate' | 'both';

export interface ProbeRequest {
  layer: number;
  /** indices within the layer; empty or absent: all */
  neurons?: readonly number[];
  /** the synaptic input replacing weighted input and bias, in units of 2^-16 */
  level: number;
  /** 1..4096 */
  steps: number;
  observe: ProbeObserve;
}

export interface ProbeResult {
  /** neurons probed */
  n: number;
  steps: number;
  /** ADC samples held (steps x n, twice that for "both") */
  bytes: number;
}

/** A probe's samples, read back: ADC codes, step-major (with "both": all membrane samples, then all rate samples). */
export interface ProbeSamples extends ProbeResult {
  data: Uint8Array;
  /** PROBE_READ frames */
  reads: number;
}

/** ADC code -> value with INFO's mapping: in full-scale units, or in a layer's network units when its range is given. */
export function adcValue(adc: AdcInfo, code: number, range?: readonly [number, number]): number {
  const v = adc.lo + (code * (adc.hi - adc.lo)) / (2 ** adc.bits - 1);
  return range === undefined ? v : range[0] + v * (range[1] - range[0]);
}

export type SlotFill = 'empty' | 'partial' | 'complete';

export interface SlotState {
  slot: number;
  state: SlotFill;
  size: number;
  len: number;
  off: number;
  hash: Uint8Array | null;
  version: number | null;
  bootable: boolean;
  pending: boolean;
  confirmed: boolean;
  active: boolean;
  permanent: boolean;
}

/** STATE (and ACTIVATE, CONFIRM, RESET) response. */
export interface BoardState {
  bootId: number;
  /** the running slot, -1 when nothing runs */
  active: number;
  slots: SlotState[];
}

/** The network a verified slot holds (VERIFY's `network`). */
export interface NetworkShape {
  layers: number;
  inputSize: number;
  outputSize: number;
  stepsPerSample: number;
  settleSteps: number;
  readout: 'last' | 'sum';
  mode: 'static' | 'sequence';
  /** engine memory, bytes */
  bytes: number;
}

export interface VerifyResult {
  hash: Uint8Array;
  version: number;
  network: NetworkShape;
}

export interface RunOptions {
  /** the network's sizes; default: VERIFY of the active slot (cached per boot and image) */
  shape?: NetworkShape;
  /** most RUN frames in flight (default 4, within the board's rxBuffer) */
  window?: number;
  /** most samples (or steps) per frame (default: as many as fit the MTU both ways) */
  batch?: number;
  /** ask for every step's membranes and rates */
  record?: boolean;
  /** int32 words of `states` per step (sum over layers of 2 nOut), to size frames when recording; learnt from the first answer otherwise */
  stateWordsPerStep?: number;
}

export interface RunStepsOptions extends RunOptions {
  /** reset the network before the first step (the step count starts at 0) */
  reset?: boolean;
}

export interface RunResult<T extends Float64Array | Int32Array> {
  /** samples mode: n x outputSize read-outs; steps mode: steps x outputSize rate codes */
  y: T;
  /** with record: per step, per layer bottom to top, nOut membranes then nOut rates */
  states?: Int32Array;
  frames: number;
}

export interface ClientOptions {
  /** fixed part of every timeout, ms (PROTOCOL.md §4: default 500) */
  marginMs?: number;
  /** attempts per request, including the first (default 3) */
  attempts?: number;
  /** the board's time per engine step, ms, before it is measured (default 1) */
  stepMs?: number;
  /** the board's hashing speed for VERIFY and boot checks, bytes per ms (default 1000, 1 MB/s) */
  hashBytesPerMs?: number;
  /** the board's flash write speed, bytes per ms (default 100) */
  flashBytesPerMs?: number;
  /** a slot erase (UPLOAD at offset 0 of a new image), ms (default 500) */
  eraseMs?: number;
  /** a reboot (ACTIVATE, RESET), ms (default 1000) */
  rebootMs?: number;
  /** the line's rate when the transport does not know it (0: no line time) */
  baudRate?: number;
  /** the first sequence number (default random, so a new session never meets the board's cached answer to an old one) */
  firstSeq?: number;
  /** what HELLO says the host is */
  hostName?: string;
}

// ---------------------------------------------------------------------------------------
// reading responses

class FieldReader {
  constructor(
    private readonly b: Body,
    private readonly fail: (msg: string) => never,
  ) {}

  private get(name: string): unknown {
    const v = this.b[name];
    if (v === undefined) this.fail(`the board's answer has no '${name}'`);
    return v;
  }

  int(name: string): number {
    const v = this.get(name);
    if (typeof v === 'bigint') return Number(v);
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(`the board's '${name}' is not an integer`);
    return v as number;
  }

  optInt(name: string, dflt: number): number {
    return this.b[name] === undefined ? dflt : this.int(name);
  }

  /** a number (msgpack float or integer) */
  num(name: string): number {
    const v = this.get(name);
    if (typeof v === 'bigint') return Number(v);
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`the board's '${name}' is not a finite number`);
    return v as number;
  }

  /** an array of [number, number] */
  numberPairs(name: string): [number, number][] {
    return this.array(name).map((v, i) => {
      if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number' && Number.isFinite(x)))
        this.fail(`the board's '${name}[${i}]' is not a pair of numbers`);
      return [v[0], v[1]] as [number, number];
    });
  }

  has(name: string): boolean {
    return this.b[name] !== undefined && this.b[name] !== null;
  }

  str(name: string): string {
    const v = this.get(name);
    if (typeof v !== 'string') this.fail(`the board's '${name}' is not a string`);
    return v as string;
  }

  bool(name: string): boolean {
    const v = this.get(name);
    if (typeof v !== 'boolean') this.fail(`the board's '${name}' is not a boolean`);
    return v as boolean;
  }

  bin(name: string): Uint8Array {
    const v = this.get(name);
    if (!(v instanceof Uint8Array)) this.fail(`the board's '${name}' is not bytes`);
    return v as Uint8Array;
  }

  binOrNull(name: string): Uint8Array | null {
    const v = this.b[name];
    return v === undefined || v === null ? null : this.bin(name);
  }

  intOrNull(name: string): number | null {
    const v = this.b[name];
    return v === undefined || v === null ? null : this.int(name);
  }

  array(name: string): unknown[] {
    const v = this.get(name);
    if (!Array.isArray(v)) this.fail(`the board's '${name}' is not an array`);
    return v as unknown[];
  }

  map(name: string): FieldReader {
    const v = this.get(name);
    if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) this.fail(`the board's '${name}' is not a map`);
    return new FieldReader(v as Body, (m) => this.fail(m.replace(/the board's '/, `the board's '${name}.`)));
  }

  raw(): Body {
    return this.b;
  }
}

function parseInfo(r: FieldReader): BoardInfo {
  const limits: Record<string, number> = {};
  const lm = r.map('limits');
  for (const k of Object.keys(lm.raw())) limits[k] = lm.int(k);
  const st = r.map('stats');
  return {
    proto: r.int('proto'),
    firmware: r.str('firmware'),
    boardId: r.str('boardId'),
    bootId: r.int('bootId') >>> 0,
    mtu: r.int('mtu'),
    rxBuffer: r.int('rxBuffer'),
    formats: r.array('formats').map((v) => Number(v)),
    limits,
    slots: r.int('slots'),
    slotSize: r.int('slotSize'),
    capabilities: r.array('capabilities').map((v) => String(v)),
    baud: r.optInt('baud', 0),
    stats: { rxFrames: st.optInt('rxFrames', 0), rxDropped: st.optInt('rxDropped', 0), txFrames: st.optInt('txFrames', 0), boots: st.optInt('boots', 0) },
    analog: r.has('analog') ? parseAnalog(r.map('analog')) : null,
  };
}

function parseAnalog(r: FieldReader): AnalogInfo {
  const a = r.map('adc');
  return {
    neurons: r.int('neurons'),
    params: r.array('params').map((v) => String(v)),
    trimBits: r.int('trimBits'),
    adc: { bits: a.int('bits'), lo: a.num('lo'), hi: a.num('hi'), reliableLo: a.int('reliableLo'), reliableHi: a.int('reliableHi') },
    ranges: r.has('ranges') ? r.numberPairs('ranges') : [],
  };
}

function parseState(r: FieldReader, fail: (m: string) => never): BoardState {
  const slots = r.array('slots').map((v, i) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(`the board's 'slots[${i}]' is not a map`);
    const s = new FieldReader(v as Body, (m) => fail(m.replace(/the board's '/, `the board's 'slots[${i}].`)));
    const state = s.str('state');
    if (state !== 'empty' && state !== 'partial' && state !== 'complete') fail(`the board's 'slots[${i}].state' is "${state}"`);
    return {
      slot: s.int('slot'),
      state,
      size: s.int('size'),
      len: s.int('len'),
      off: s.int('off'),
      hash: s.binOrNull('hash'),
      version: s.intOrNull('version'),
      bootable: s.bool('bootable'),
      pending: s.bool('pending'),
      confirmed: s.bool('confirmed'),
      active: s.bool('active'),
      permanent: s.bool('permanent'),
    } satisfies SlotState;
  });
  return { bootId: r.int('bootId') >>> 0, active: r.int('active'), slots };
}

function parseNetwork(r: FieldReader): NetworkShape {
  const readout = r.str('readout');
  const mode = r.str('mode');
  return {
    layers: r.int('layers'),
    inputSize: r.int('inputSize'),
    outputSize: r.int('outputSize'),
    stepsPerSample: r.int('stepsPerSample'),
    settleSteps: r.int('settleSteps'),
    readout: readout === 'sum' ? 'sum' : 'last',
    mode: mode === 'sequence' ? 'sequence' : 'static',
    bytes: r.optInt('bytes', 0),
  };
}

// ---------------------------------------------------------------------------------------
// requests in flight

interface Pending {
  seq: number;
  type: number;
  wire: Uint8Array;
  spec: RequestSpec;
  attempts: number;
  maxAttempts: number;
  timeoutMs: number;
  costMs: number;
  sentAt: number;
  /** nothing else was in flight when the first attempt went */
  alone: boolean;
  timer: NodeJS.Timeout | null;
  resolve: (r: Response) => void;
  reject: (e: Error) => void;
}

const DEFAULT_RESPONSE_BYTES = 2048;

/**
 * A board on the other end of a transport. Create with `BoardClient.open(transport)`,
 * which says HELLO; or `new BoardClient(...)` then `hello()`.
 */
/** bytes of a TRIM_SET or TRIM_GET frame besides the codes (header, msgpack keys, off, len, CRC) */
const TRIM_FRAME_OVERHEAD = 64;

export class BoardClient {
  private readonly encoder = new FrameEncoder();
  private reader: FrameReader;
  private readonly pending = new Map<number, Pending>();
  private seq: number;
  private readonly opts: Required<Omit<ClientOptions, 'firstSeq' | 'baudRate'>> & { baudRate: number };
  /** when the line and the board should be done with everything sent (an estimate, for timeouts) */
  private busyUntil = 0;
  /** the estimated cost of every request in flight, ms */
  private pendingCost = 0;
  private closedError: Error | undefined | null = null;
  private readonly rebootListeners: ((oldBoot: number, newBoot: number) => void)[] = [];
  private shapeCache: { key: string; shape: NetworkShape } | null = null;
  private stepMs: number;
  private helloSent = false;
  /** what the upload and RUN pipelines (upload.ts, run.ts) use */
  private readonly link: Link;
  private closedByHost = false;

  /** HELLO's answer; refreshed by info() */
  boardInfo: BoardInfo | null = null;
  /** the boot the host last saw */
  bootId: number | null = null;
  /** reboots seen that the host did not ask for */
  unexpectedReboots = 0;
  /** the board's step count in steps mode since the last reset, when known */
  stepCount: number | null = null;
  /** counters of the link as seen by the host */
  readonly counters = { requests: 0, retries: 0, timeouts: 0, strayFrames: 0, requestFrames: 0 };

  constructor(
    readonly transport: Transport,
    options: ClientOptions = {},
  ) {
    this.opts = {
      marginMs: options.marginMs ?? 500,
      attempts: options.attempts ?? 3,
      stepMs: options.stepMs ?? 1,
      hashBytesPerMs: options.hashBytesPerMs ?? 1000,
      flashBytesPerMs: options.flashBytesPerMs ?? 100,
      eraseMs: options.eraseMs ?? 500,
      rebootMs: options.rebootMs ?? 1000,
      hostName: options.hostName ?? `glekit ${VERSION}`,
      baudRate: options.baudRate ?? 0,
    };
    this.stepMs = this.opts.stepMs;
    this.link = {
      port: transport.path,
      send: (spec) => this.send(spec),
      abandon: (p) => this.abandon(p),
      checkStatus: (r, label) => this.checkStatus(r, label),
      fields: (r, label) => this.reader_(r, label),
      lineMs: (bytes) => this.lineMs(bytes),
    };
    this.seq = (options.firstSeq ?? randomInt(0, 0x10000)) & 0xffff;
    this.reader = new FrameReader(65535);
    transport.onData((chunk) => this.reader.push(chunk, (f) => this.onFrame(f)));
    transport.onClose((err) => this.onClosed(err));
    if (!transport.isOpen) this.closedError = undefined;
  }

  /** Opens a session: HELLO, and the board's INFO. */
  static async open(transport: Transport, options: ClientOptions = {}): Promise<BoardClient> {
    const c = new BoardClient(transport, options);
    await c.hello();
    return c;
  }

  get port(): string {
    return this.transport.path;
  }

  /** false once the line closed (the board died or close() was called) */
  get isOpen(): boolean {
    return this.closedError === null && this.transport.isOpen;
  }

  /** The rate used for line time: the transport's, else the option, else what the board said. */
  get baudRate(): number {
    return this.transport.baudRate || this.opts.baudRate || (this.boardInfo?.baud ?? 0);
  }

  /** Frames the host dropped (bad CRC, bad COBS, too long or short). */
  get receiveDrops(): number {
    return this.reader.dropped;
  }

  /** Called when the bootId changes without the host asking for a reboot. */
  onReboot(listener: (oldBoot: number, newBoot: number) => void): () => void {
    this.rebootListeners.push(listener);
    return () => {
      const i = this.rebootListeners.indexOf(listener);
      if (i >= 0) this.rebootListeners.splice(i, 1);
    };
  }

  async close(): Promise<void> {
    this.closedByHost = true;
    await this.transport.close();
  }

  private info0(): BoardInfo {
    if (this.boardInfo === null) throw new BridgeError(this.port, 'request', 'refused', 'say HELLO first (BoardClient.open does)');
    return this.boardInfo;
  }

  // ----- the request engine -------------------------------------------------------------

  private lineMs(bytes: number): number {
    const baud = this.baudRate;
    return baud > 0 ? (bytes * 10 * 1000) / baud : 0;
  }

  private fail(label: string, failure: BridgeFailure, detail: string, status?: number): never {
    throw new BridgeError(this.port, label, failure, detail, status);
  }

  /** Sends one request; resolves with the board's answer whatever its status. `seq` names it for abandon(). */
  private send(spec: RequestSpec, maxAttempts = this.opts.attempts): Promise<Response> & { seq: number } {
    const seq = this.seq;
    const promise = new Promise<Response>((resolve, reject) => {
      if (!this.isOpen) {
        reject(new BridgeError(this.port, spec.label(), 'closed', this.closedText()));
        return;
      }
      this.seq = (this.seq + 1) & 0xffff;
      const payload = packPayload(spec.payload);
      const wire = this.encoder.encode({ type: spec.type, seq }, payload);
      const costMs = this.lineMs(wire.length + wireBytes(spec.responseBytes)) + spec.workMs;
      const p: Pending = {
        seq,
        type: spec.type,
        wire,
        spec,
        attempts: 0,
        maxAttempts,
        timeoutMs: 0,
        costMs,
        sentAt: 0,
        alone: this.pending.size === 0,
        timer: null,
        resolve,
        reject,
      };
      const old = this.pending.get(seq);
      if (old !== undefined) this.settle(old, new BridgeError(this.port, old.spec.label(), 'protocol', '65536 requests in flight'));
      this.pending.set(seq, p);
      this.pendingCost += costMs;
      this.counters.requests++;
      this.transmit(p);
    });
    return Object.assign(promise, { seq });
  }

  private transmit(p: Pending): void {
    if (!this.isOpen) {
      this.settle(p, new BridgeError(this.port, p.spec.label(), 'closed', this.closedText()));
      return;
    }
    const now = performance.now();
    // queued behind what is already on the line or in the board's buffer
    this.busyUntil = Math.max(now, this.busyUntil) + p.costMs;
    p.timeoutMs = Math.ceil(this.busyUntil - now + this.opts.marginMs);
    p.sentAt = now;
    p.attempts++;
    this.counters.requestFrames++;
    if (!this.transport.write(p.wire)) {
      this.settle(p, new BridgeError(this.port, p.spec.label(), 'closed', this.closedText()));
      return;
    }
    p.timer = setTimeout(() => this.onTimeout(p), p.timeoutMs);
  }

  private onTimeout(p: Pending): void {
    p.timer = null;
    if (this.pending.get(p.seq) !== p) return;
    this.counters.timeouts++;
    if (p.attempts < p.maxAttempts) {
      this.counters.retries++;
      this.transmit(p);
      return;
    }
    const tries = p.attempts === 1 ? '1 attempt' : `${p.attempts} attempts`;
    this.settle(p, new BridgeError(this.port, p.spec.label(), 'TIMEOUT', `no response in ${p.timeoutMs} ms after ${tries}`, Status.TIMEOUT));
  }

  /** Stops retrying a request: its next timeout ends it. */
  private abandon(p: { seq: number }): void {
    const q = this.pending.get(p.seq);
    if (q !== undefined) q.maxAttempts = q.attempts;
  }

  private settle(p: Pending, result: Response | Error): void {
    if (p.timer !== null) clearTimeout(p.timer);
    p.timer = null;
    if (this.pending.get(p.seq) === p) {
      this.pending.delete(p.seq);
      this.pendingCost = this.pending.size === 0 ? 0 : Math.max(0, this.pendingCost - p.costMs);
      // the estimate never runs further ahead than what is still in flight
      this.busyUntil = Math.min(this.busyUntil, performance.now() + this.pendingCost);
    }
    if (result instanceof Error) {
      p.reject(result);
      return;
    }
    if (p.spec.measure !== undefined && p.attempts === 1 && p.alone)
      p.spec.measure(performance.now() - p.sentAt, p.wire.length + wireBytes(result.frame.payload.length));
    p.resolve(result);
  }

  private onFrame(f: Frame): void {
    if (!isResponse(f)) {
      this.counters.strayFrames++;
      return;
    }
    const p = this.pending.get(f.seq);
    if (p === undefined || p.type !== f.type) {
      this.counters.strayFrames++;
      return;
    }
    // the frame is a view into the reader's buffer, and msgpack bins would be views into it
    const payload = f.payload.slice();
    let body: unknown;
    try {
      body = unpackPayload(payload);
    } catch (e) {
      this.settle(p, new BridgeError(this.port, p.spec.label(), 'protocol', `the board's answer is not msgpack (${(e as Error).message})`));
      return;
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body) || body instanceof Uint8Array) {
      this.settle(p, new BridgeError(this.port, p.spec.label(), 'protocol', "the board's answer is not a msgpack map"));
      return;
    }
    this.settle(p, { status: f.status, body: body as Body, frame: { ...f, payload } });
  }

  private onClosed(err: Error | undefined): void {
    if (this.closedError !== null) return;
    this.closedError = err;
    for (const p of [...this.pending.values()]) this.settle(p, new BridgeError(this.port, p.spec.label(), 'closed', this.closedText()));
  }

  private closedText(): string {
    return this.closedByHost ? 'the line is closed (this host closed it)' : 'the line closed: the board disconnected or died';
  }

  /** Sends and checks: a status other than OK is a BridgeError with the board's reason. */
  private async call(spec: RequestSpec, accept: readonly number[] = []): Promise<Response> {
    const r = await this.send(spec);
    this.checkStatus(r, spec.label, accept);
    return r;
  }

  private checkStatus(r: Response, label: () => string, accept: readonly number[] = []): void {
    if (r.status === Status.OK || accept.includes(r.status)) return;
    const reason = typeof r.body.reason === 'string' && r.body.reason !== '' ? r.body.reason : 'no reason given';
    if (r.status === Status.TOO_OLD || r.status === Status.TOO_NEW) {
      this.fail(
        label(),
        statusName(r.status) as BridgeFailure,
        `${statusName(r.status)}: the board speaks protocol version ${r.frame.version}, this host ${PROTOCOL_VERSION} (${reason})`,
        r.status,
      );
    }
    const name = statusName(r.status);
    this.fail(label(), (name in Status ? name : 'protocol') as BridgeFailure, `${name}: ${reason}`, r.status);
  }

  private reader_(r: Response, label: () => string): FieldReader {
    return new FieldReader(r.body, (m) => this.fail(label(), 'protocol', m));
  }

  /** Notes a bootId; `expected` when the host asked for the reboot. */
  private seeBoot(bootId: number, expected: boolean): void {
    const old = this.bootId;
    this.bootId = bootId;
    if (old === null || old === bootId) return;
    this.shapeCache = null;
    this.stepCount = null;
    if (!expected) {
      this.unexpectedReboots++;
      for (const l of this.rebootListeners.slice()) l(old, bootId);
    }
  }

  private simple(type: number, name: string, payload: Record<string, WireValue> = {}, responseBytes = DEFAULT_RESPONSE_BYTES, workMs = 0): RequestSpec {
    return { type, payload, label: () => name, responseBytes, workMs };
  }

  // ----- HELLO, INFO, STATE --------------------------------------------------------------

  /** HELLO: the first request on every open of the port. Checks the protocol version. */
  async hello(): Promise<BoardInfo> {
    if (!this.helloSent && this.transport.isOpen) {
      // a lone delimiter ends whatever partial frame the board holds from an earlier session
      this.transport.write(Uint8Array.of(0));
      this.helloSent = true;
    }
    const spec = this.simple(MsgType.HELLO, 'HELLO', { proto: PROTOCOL_VERSION, host: this.opts.hostName });
    const r = await this.call(spec);
    return this.takeInfo(r, spec.label, true);
  }

  async info(): Promise<BoardInfo> {
    const spec = this.simple(MsgType.INFO, 'INFO');
    const r = await this.call(spec);
    return this.takeInfo(r, spec.label, false);
  }

  private takeInfo(r: Response, label: () => string, hello: boolean): BoardInfo {
    const info = parseInfo(this.reader_(r, label));
    if (info.proto !== PROTOCOL_VERSION) this.fail(label(), 'refused', `the board speaks protocol ${info.proto}, this glekit speaks ${PROTOCOL_VERSION}`);
    if (!(info.mtu >= 64)) this.fail(label(), 'protocol', `the board's mtu ${info.mtu} is too small`);
    this.boardInfo = info;
    this.reader.setMtu(info.mtu);
    this.seeBoot(info.bootId, false);
    if (hello) this.stepCount = null; // HELLO cancels a steps-mode run
    return info;
  }

  async state(): Promise<BoardState> {
    const spec = this.simple(MsgType.STATE, 'STATE');
    const r = await this.call(spec);
    return this.takeState(r, spec.label, false);
  }

  private takeState(r: Response, label: () => string, expectedReboot: boolean): BoardState {
    const s = parseState(this.reader_(r, label), (m) => this.fail(label(), 'protocol', m));
    this.seeBoot(s.bootId, expectedReboot);
    return s;
  }

  // ----- slots ---------------------------------------------------------------------------

  private checkSlot(slot: number, label: string): void {
    const info = this.info0();
    if (!Number.isInteger(slot) || slot < 0 || slot >= info.slots) this.fail(label, 'refused', `the board has slots 0..${info.slots - 1}`);
  }

  async erase(slot: number): Promise<void> {
    const label = `ERASE slot ${slot}`;
    this.checkSlot(slot, label);
    await this.call(this.simple(MsgType.ERASE, label, { slot }, 256, this.opts.eraseMs));
  }

  async abort(slot: number): Promise<void> {
    const label = `ABORT slot ${slot}`;
    this.checkSlot(slot, label);
    await this.call(this.simple(MsgType.ABORT, label, { slot }, 256, this.opts.eraseMs));
  }

  async verify(slot: number): Promise<VerifyResult> {
    const label = `VERIFY slot ${slot}`;
    this.checkSlot(slot, label);
    const spec = this.simple(MsgType.VERIFY, label, { slot }, 1024, this.info0().slotSize / this.opts.hashBytesPerMs);
    const r = await this.call(spec);
    const f = this.reader_(r, spec.label);
    return { hash: f.bin('hash'), version: f.int('version'), network: parseNetwork(f.map('network')) };
  }

  /**
   * ACTIVATE: the board verifies the slot and reboots into it; a test (permanent false)
   * reverts at the next boot unless confirmed. Resolves with the state after the reboot;
   * refuses (BADSTATE) when the board does not run the slot afterwards.
   */
  async activate(slot: number, permanent: boolean): Promise<BoardState> {
    const label = `ACTIVATE slot ${slot}${permanent ? ' permanent' : ' test'}`;
    this.checkSlot(slot, label);
    const bootId = this.bootId ?? (await this.info()).bootId;
    const work = (this.info0().slotSize / this.opts.hashBytesPerMs) * 2 + this.opts.rebootMs;
    const spec = this.simple(MsgType.ACTIVATE, label, { slot, permanent, bootId }, DEFAULT_RESPONSE_BYTES, work);
    const r = await this.call(spec);
    const s = this.takeState(r, spec.label, true);
    if (s.active !== slot) this.fail(label, 'BADSTATE', `the board runs slot ${s.active} after the reboot, not slot ${slot}`, Status.BADSTATE);
    return s;
  }

  /** CONFIRM: the running test image stays after resets (OK when there is nothing to confirm). */
  async confirm(): Promise<BoardState> {
    const spec = this.simple(MsgType.CONFIRM, 'CONFIRM', {}, DEFAULT_RESPONSE_BYTES, 10);
    const r = await this.call(spec);
    return this.takeState(r, spec.label, false);
  }

  /** RESET: reboots the board (an unconfirmed test image is reverted). Resolves with the state after it. */
  async reset(): Promise<BoardState> {
    const bootId = this.bootId ?? (await this.info()).bootId;
    const work = (this.info0().slotSize / this.opts.hashBytesPerMs) * 2 + this.opts.rebootMs;
    const spec = this.simple(MsgType.RESET, 'RESET', { bootId }, DEFAULT_RESPONSE_BYTES, work);
    const r = await this.call(spec);
    return this.takeState(r, spec.label, true);
  }

  // ----- UPLOAD --------------------------------------------------------------------------

  /**
   * UPLOAD an image to a slot: refuses before sending a byte when it is larger than the
   * board's slots or of a descriptor format version the board does not read; resumes
   * what the board already holds of the same image; pipelines chunks within the board's
   * rxBuffer and goes back to the board's offset after a lost chunk. Resolves when the
   * board reports `done` (all bytes in, SHA-256 equal). See upload.ts.
   */
  async upload(slot: number, image: Uint8Array, opts: UploadOptions = {}): Promise<UploadResult> {
    const info = this.info0();
    const o = this.opts;
    return uploadImage(this.link, { ...info, flashBytesPerMs: o.flashBytesPerMs, hashBytesPerMs: o.hashBytesPerMs, eraseMs: o.eraseMs }, slot, image, opts);
  }

  // ----- analog boards: TRIM_SET, TRIM_GET, PROBE, PROBE_READ (PROTOCOL.md §6) ----------

  private analog0(label: string, analog = this.info0().analog): AnalogInfo {
    const a = analog;
    if (a === null) this.fail(label, 'NOTSUP', "NOTSUP: the board is not an analog board (its INFO has no 'analog')", Status.NOTSUP);
    return a;
  }

  /** Neurons whose trims (8 bytes each) fit one frame with room for the envelope. */
  private trimNeuronsPerFrame(): number {
    return Math.max(1, Math.floor((this.info0().mtu - TRIM_FRAME_OVERHEAD) / 8));
  }

  /**
   * TRIM_SET: every neuron's codes (4 x neurons, parameter-major, neurons bottom to top), in
   * RAM until the next boot. One frame when they fit it, else ranges of neurons (`off`).
   */
  async trimSet(codes: Uint16Array): Promise<void> {
    const label = 'TRIM_SET';
    const a = this.analog0(label);
    const nParams = a.params.length;
    if (codes.length % nParams !== 0) this.fail(label, 'refused', `${codes.length} codes are not ${nParams} per neuron`);
    const max = 2 ** a.trimBits - 1;
    for (let i = 0; i < codes.length; i++) {
      if (codes[i] > max) this.fail(label, 'refused', `code ${codes[i]} (entry ${i}) is beyond ${max}, the largest ${a.trimBits}-bit trim`);
    }
    const n = codes.length / nParams;
    const per = this.trimNeuronsPerFrame();
    for (let off = 0; off < n; off += per) {
      const k = Math.min(per, n - off);
      const bytes = new Uint8Array(k * nParams * 2);
      const dv = new DataView(bytes.buffer);
      for (let p = 0; p < nParams; p++) for (let i = 0; i < k; i++) dv.setUint16(2 * (p * k + i), codes[p * n + off + i], true);
      const payload: Record<string, WireValue> = k === n ? { codes: bytes } : { codes: bytes, off };
      await this.call(this.simple(MsgType.TRIM_SET, k === n ? label : `${label} neurons ${off}..${off + k - 1}`, payload, 256, 1));
    }
  }

  /** TRIM_GET: the codes in force (in ranges of neurons when they do not fit one frame). */
  async trimGet(): Promise<Uint16Array> {
    // the neuron count of the image running now (an INFO of an earlier boot may predate it)
    const a = this.analog0('TRIM_GET', (await this.info()).analog);
    const nParams = a.params.length;
    const n = a.neurons;
    const per = this.trimNeuronsPerFrame();
    const out = new Uint16Array(n * nParams);
    // one request at least: a board without an image answers it (NOENT)
    let off = 0;
    do {
      const k = Math.min(per, n - off);
      const spec = this.simple(
        MsgType.TRIM_GET,
        k === n ? 'TRIM_GET' : `TRIM_GET neurons ${off}..${off + k - 1}`,
        k === n ? {} : { off, len: k },
        this.info0().mtu,
        1,
      );
      const r = await this.call(spec);
      const b = this.reader_(r, spec.label).bin('codes');
      if (b.length !== k * nParams * 2) this.fail(spec.label(), 'protocol', `codes hold ${b.length} bytes, not ${nParams} uint16 for each of ${k} neurons`);
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      for (let p = 0; p < nParams; p++) for (let i = 0; i < k; i++) out[p * n + off + i] = dv.getUint16(2 * (p * k + i), true);
      off += per;
    } while (off < n);
    return out;
  }

  /** PROBE: a stimulus that bypasses the weights; the ADC samples stay on the board for PROBE_READ. */
  async probe(q: ProbeRequest): Promise<ProbeResult> {
    const who = q.neurons === undefined || q.neurons.length === 0 ? 'all' : `${q.neurons.length} neurons`;
    const label = `PROBE layer ${q.layer} ${who} level ${q.level} steps ${q.steps} ${q.observe}`;
    this.analog0(label);
    if (!Number.isInteger(q.steps) || q.steps < 1 || q.steps > 4096) this.fail(label, 'refused', 'steps must be in 1..4096');
    if (!Number.isInteger(q.level) || q.level < -0x80000000 || q.level > 0x7fffffff) this.fail(label, 'refused', 'level must be an int32');
    const idx = new Uint8Array(2 * (q.neurons?.length ?? 0));
    const dv = new DataView(idx.buffer);
    q.neurons?.forEach((n, i) => dv.setUint16(2 * i, n, true));
    const n = q.neurons?.length ?? 0;
    const spec = this.simple(
      MsgType.PROBE,
      label,
      { layer: q.layer, neurons: idx, level: q.level, steps: q.steps, observe: q.observe },
      256,
      q.steps * this.stepMs,
    );
    const r = await this.call(spec);
    const f = this.reader_(r, spec.label);
    const out = { n: f.int('n'), steps: f.int('steps'), bytes: f.int('bytes') };
    const want = out.n * out.steps * (q.observe === 'both' ? 2 : 1);
    if (n > 0 && out.n !== n) this.fail(label, 'protocol', `the board probed ${out.n} neurons, ${n} were asked for`);
    if (out.steps !== q.steps || out.bytes !== want)
      this.fail(label, 'protocol', `the board holds ${out.bytes} samples of ${out.steps} steps x ${out.n} neurons, expected ${want}`);
    return out;
  }

  /** PROBE_READ: `len` ADC codes from `off` of the last probe's samples. */
  async probeRead(off: number, len: number): Promise<Uint8Array> {
    const label = `PROBE_READ off ${off} len ${len}`;
    const spec = this.simple(MsgType.PROBE_READ, label, { off, len }, len + 64, 1);
    const r = await this.call(spec);
    const data = this.reader_(r, spec.label).bin('data');
    if (data.length !== len) this.fail(label, 'protocol', `the board sent ${data.length} bytes`);
    return data;
  }

  /** PROBE, then every sample read back in MTU-sized pieces (several in flight). */
  async probeSamples(q: ProbeRequest): Promise<ProbeSamples> {
    const p = await this.probe(q);
    const piece = Math.max(1, this.info0().mtu - 64);
    const data = new Uint8Array(p.bytes);
    const jobs: Promise<void>[] = [];
    let reads = 0;
    for (let off = 0; off < p.bytes; off += piece) {
      const len = Math.min(piece, p.bytes - off);
      reads++;
      jobs.push(this.probeRead(off, len).then((b) => data.set(b, off)));
      // keep the responses in flight within what the host wants to wait for at once
      if (jobs.length >= 4) await Promise.all(jobs.splice(0));
    }
    await Promise.all(jobs);
    return { ...p, data, reads };
  }

  // ----- RUN -----------------------------------------------------------------------------

  /** The active image's network (VERIFY of the active slot), cached per boot and image. */
  async network(): Promise<NetworkShape> {
    const s = await this.state();
    if (s.active < 0) this.fail('RUN', 'NOENT', 'NOENT: the board runs no image', Status.NOENT);
    const slot = s.slots.find((x) => x.slot === s.active);
    const key = `${s.bootId}:${s.active}:${slot?.hash ? Buffer.from(slot.hash).toString('hex') : ''}`;
    if (this.shapeCache?.key === key) return this.shapeCache.shape;
    const v = await this.verify(s.active);
    this.shapeCache = { key, shape: v.network };
    return v.network;
  }

  /**
   * RUN in samples mode: `x` holds n samples of input codes (inputSize codes each for a
   * static presentation, stepsPerSample x inputSize for a sequence). Returns n x
   * outputSize read-outs (int64 on the wire, exact as doubles below 2^53). Frames are
   * sized from the MTU and several are kept in flight.
   */
  async runSamples(x: Int32Array, opts: RunOptions = {}): Promise<RunResult<Float64Array>> {
    const shape = opts.shape ?? (await this.network());
    const perSample = shape.mode === 'sequence' ? shape.stepsPerSample * shape.inputSize : shape.inputSize;
    if (x.length % perSample !== 0) this.fail('RUN samples', 'refused', `${x.length} input codes are not whole samples of ${perSample}`);
    const total = x.length / perSample;
    if (this.sequenceNeedsSteps(shape, perSample, opts)) return this.runSequencesAsSteps(x, total, perSample, shape, opts);
    const y = new Float64Array(total * shape.outputSize);
    const r = await this.runFrames('samples', x, total, perSample, shape.outputSize * 8, shape.stepsPerSample, opts, false, (rf, first, n) => {
      const b = rf.bin('y');
      if (b.length !== n * shape.outputSize * 8)
        this.fail(`RUN samples first ${first} n ${n}`, 'protocol', `y holds ${b.length} bytes, expected ${n * shape.outputSize * 8}`);
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      const at = first * shape.outputSize;
      for (let i = 0; i < n * shape.outputSize; i++) y[at + i] = dv.getInt32(8 * i + 4, true) * 4294967296 + dv.getUint32(8 * i, true);
    });
    return { y, states: r.states, frames: r.frames };
  }

  /** A sequence longer than one frame holds (and no recording): it goes step by step. */
  private sequenceNeedsSteps(shape: NetworkShape, perSample: number, opts: RunOptions): boolean {
    const info = this.info0();
    return (
      shape.mode === 'sequence' &&
      !opts.record &&
      perSample * 4 + RUN_OVERHEAD > info.mtu &&
      shape.inputSize * 4 + RUN_OVERHEAD <= info.mtu &&
      info.capabilities.includes('run-steps')
    );
  }

  /**
   * Samples mode's read-out from steps mode, one sequence at a time from a reset: the
   * board's samples mode (gle_present.c) sums the same per-step outputs over the same
   * window (or keeps the last), so the codes are the same.
   */
  private async runSequencesAsSteps(x: Int32Array, total: number, perSample: number, shape: NetworkShape, opts: RunOptions): Promise<RunResult<Float64Array>> {
    const out = shape.outputSize;
    const y = new Float64Array(total * out);
    let frames = 0;
    for (let s = 0; s < total; s++) {
      const r = await this.runSteps(x.subarray(s * perSample, (s + 1) * perSample), { shape, reset: true, window: opts.window, batch: opts.batch });
      frames += r.frames;
      for (let t = 0; t < shape.stepsPerSample; t++) {
        if (shape.readout === 'sum' ? t < shape.settleSteps : t + 1 !== shape.stepsPerSample) continue;
        for (let k = 0; k < out; k++) y[s * out + k] += r.y[t * out + k];
      }
    }
    return { y, frames };
  }

  /**
   * RUN in steps mode: `x` holds rows of inputSize codes, one per step; the network's state
   * carries from call to call (and frame to frame) unless `reset`. Returns steps x
   * outputSize rate codes. A frame the board did not take in order is sent again; outputs
   * lost with a response that cannot be asked again are recomputed from the reset when
   * the call began with one, else the call fails naming the steps.
   */
  async runSteps(x: Int32Array, opts: RunStepsOptions = {}): Promise<RunResult<Int32Array>> {
    const shape = opts.shape ?? (await this.network());
    if (x.length % shape.inputSize !== 0) this.fail('RUN steps', 'refused', `${x.length} input codes are not whole steps of ${shape.inputSize}`);
    if (!opts.reset && this.stepCount === null) {
      this.fail('RUN steps', 'refused', "the host does not know the board's step count (new session or reboot): pass reset: true");
    }
    const total = x.length / shape.inputSize;
    const y = new Int32Array(total * shape.outputSize);
    const r = await this.runFrames('steps', x, total, shape.inputSize, shape.outputSize * 4, 1, opts, opts.reset === true, (rf, first, n) => {
      const b = rf.bin('y');
      if (b.length !== n * shape.outputSize * 4)
        this.fail(`RUN steps first ${first} n ${n}`, 'protocol', `y holds ${b.length} bytes, expected ${n * shape.outputSize * 4}`);
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      const at = first * shape.outputSize;
      for (let i = 0; i < n * shape.outputSize; i++) y[at + i] = dv.getInt32(4 * i, true);
    });
    return { y, states: r.states, frames: r.frames };
  }

  /** The RUN loop of both modes (run.ts). */
  private async runFrames(
    mode: 'samples' | 'steps',
    x: Int32Array,
    total: number,
    unitCodes: number,
    unitOutBytes: number,
    stepsPerUnit: number,
    opts: RunOptions,
    resetAtStart: boolean,
    take: (f: Fields, first: number, n: number) => void,
  ): Promise<RunOutcome> {
    const info = this.info0();
    const timing = { mtu: info.mtu, rxBuffer: info.rxBuffer, stepMs: this.stepMs };
    try {
      return await runFrames(this.link, timing, {
        mode,
        x,
        total,
        unitCodes,
        unitOutBytes,
        stepsPerUnit,
        base: resetAtStart ? 0 : (this.stepCount ?? 0),
        resetAtStart,
        window: opts.window,
        batch: opts.batch,
        record: opts.record,
        stateWordsPerStep: opts.stateWordsPerStep,
        take,
        onStepCount: (n) => {
          this.stepCount = n;
        },
      });
    } finally {
      this.stepMs = timing.stepMs;
    }
  }
}
