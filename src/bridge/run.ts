/**
 * RUN (PROTOCOL.md §3.5) from the host, both modes: frames of up to `batch` units
 * (samples or steps), sized from the MTU both ways, kept in flight within the window and
 * the board's rxBuffer. Samples are independent, so a retried frame is always harmless.
 * Steps are ordered: a BADSTATE stops sending; once the window has drained, sending
 * resumes at the first frame without an answer if the board is there, else (an answer
 * lost for good, the board having moved on) from the reset, one frame at a time, or not
 * at all.
 */
import { wireBytes, type WireValue } from './frame.js';
import { MsgType, Status } from './protocol.js';
import { BridgeError, type Fields, type Link, type Response } from './request.js';

/** Request and response bytes besides x, y and states. */
export const RUN_OVERHEAD = 64;
/** replays from the reset before a steps run gives up */
const MAX_RESTARTS = 3;
const MAX_ROUNDS = 100;

export interface RunJob {
  mode: 'samples' | 'steps';
  x: Int32Array;
  /** units: samples or steps */
  total: number;
  /** int32 codes of x per unit */
  unitCodes: number;
  /** bytes of y per unit */
  unitOutBytes: number;
  /** engine steps per unit */
  stepsPerUnit: number;
  /** steps: the board's step count at the first frame (0 with a reset) */
  base: number;
  /** steps: the first frame resets the network */
  resetAtStart: boolean;
  window?: number;
  batch?: number;
  record?: boolean;
  stateWordsPerStep?: number;
  /** stores an answer's y for units [first, first + n) */
  take(f: Fields, first: number, n: number): void;
  /** steps: the board's count after an answer */
  onStepCount?(count: number): void;
}

export interface RunBoard {
  mtu: number;
  rxBuffer: number;
  /** the board's time per step, ms: read for timeouts, raised by clean round trips */
  stepMs: number;
}

export interface RunOutcome {
  frames: number;
  states?: Int32Array;
}

/** Little-endian int32 codes as bytes (a view when the host is little-endian). */
function int32Bytes(a: Int32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) dv.setInt32(4 * i, a[i], true);
  return out;
}
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

export function runFrames(link: Link, board: RunBoard, job: RunJob): Promise<RunOutcome> {
  return new RunPipe(link, board, job).run();
}

class RunPipe {
  /** int32 words of `states` per step; -1: not known yet (one unit per frame until it is) */
  private stateWords: number;
  private window: number;
  // the frames: [starts[i], starts[i] + counts[i])
  private starts: number[] = [];
  private counts: number[] = [];
  private next = 0;
  private readonly have: Uint8Array;
  private framesAnswered = 0;
  private replan = false;
  private statesBuf: Int32Array | null = null;
  private restarts = 0;
  private rounds = 0;
  private inflight = 0;
  private inflightBytes = 0;
  private trouble = false;
  /** steps: where the board is, from the latest answer */
  private boardAt = -1;
  private finished = false;
  private resolve: () => void = () => undefined;
  private reject: (e: Error) => void = () => undefined;

  constructor(
    private readonly link: Link,
    private readonly board: RunBoard,
    private readonly job: RunJob,
  ) {
    this.stateWords = job.stateWordsPerStep ?? (job.record ? -1 : 0);
    this.window = Math.max(1, job.window ?? 4);
    this.have = new Uint8Array(job.total);
  }

  async run(): Promise<RunOutcome> {
    this.planFrom(0);
    if (this.starts.length > 0) {
      await new Promise<void>((resolve, reject) => {
        this.resolve = resolve;
        this.reject = reject;
        this.pump();
      });
    }
    return { frames: this.framesAnswered, states: this.statesBuf ?? undefined };
  }

  private fail(label: string, failure: 'MSGSIZE' | 'BADSTATE' | 'protocol', detail: string, status?: number): BridgeError {
    return new BridgeError(this.link.port, label, failure, detail, status);
  }

  private unitStateBytes(): number {
    return Math.max(0, this.stateWords) * 4 * this.job.stepsPerUnit;
  }

  private maxUnits(): number {
    const { mtu } = this.board;
    const j = this.job;
    const byIn = Math.floor((mtu - RUN_OVERHEAD) / (j.unitCodes * 4));
    const byOut = Math.floor((mtu - RUN_OVERHEAD) / (j.unitOutBytes + this.unitStateBytes()));
    const cap = Math.min(byIn, byOut, j.batch ?? Infinity, this.stateWords < 0 ? 1 : Infinity);
    if (cap < 1) {
      throw this.fail(
        `RUN ${j.mode}`,
        'MSGSIZE',
        `one ${j.mode === 'samples' ? 'sample' : 'step'} needs ${j.unitCodes * 4} bytes in and ${j.unitOutBytes + this.unitStateBytes()} out, more than the board's MTU of ${mtu} bytes`,
        Status.MSGSIZE,
      );
    }
    return cap;
  }

  private planFrom(from: number): void {
    this.starts = [];
    this.counts = [];
    for (let f = from; f < this.job.total; ) {
      const n = Math.min(this.maxUnits(), this.job.total - f);
      this.starts.push(f);
      this.counts.push(n);
      f += n;
    }
    this.next = 0;
  }

  private labelOf(first: number, n: number): string {
    return `RUN ${this.job.mode} first ${this.job.mode === 'steps' ? this.job.base + first : first} n ${n}`;
  }

  private firstMissing(): number {
    return this.have.indexOf(0);
  }

  private sendFrame(first: number, n: number): Promise<Response> {
    const j = this.job;
    const { mtu } = this.board;
    const codes = j.x.subarray(first * j.unitCodes, (first + n) * j.unitCodes);
    const payload: Record<string, WireValue> = { mode: j.mode, first: j.mode === 'steps' ? j.base + first : first, n, x: int32Bytes(codes) };
    if (j.record) payload.record = true;
    if (j.mode === 'steps' && j.resetAtStart && first === 0) payload.reset = true;
    const outBytes = n * (j.unitOutBytes + (this.stateWords < 0 ? mtu : this.unitStateBytes())) + RUN_OVERHEAD;
    const steps = n * j.stepsPerUnit;
    return this.link.send({
      type: MsgType.RUN,
      payload,
      label: () => this.labelOf(first, n),
      responseBytes: Math.min(mtu, outBytes),
      workMs: steps * this.board.stepMs,
      // the board's measured rate: a clean round trip raises the per-step estimate (never below the option)
      measure: (ms, bytes) => {
        const perStep = (ms - this.link.lineMs(bytes)) / steps;
        if (perStep > this.board.stepMs) this.board.stepMs = Math.min(perStep, 10 * this.board.stepMs);
      },
    });
  }

  private finish(err?: Error): void {
    if (this.finished) return;
    this.finished = true;
    if (err) this.reject(err);
    else this.resolve();
  }

  private pump(): void {
    while (!this.finished && !this.trouble && this.next < this.starts.length && this.inflight < this.window) {
      const first = this.starts[this.next],
        n = this.counts[this.next];
      const w = wireBytes(n * this.job.unitCodes * 4 + RUN_OVERHEAD);
      if (this.inflight > 0 && this.inflightBytes + w > this.board.rxBuffer) break;
      this.next++;
      this.inflight++;
      this.inflightBytes += w;
      this.sendFrame(first, n).then(
        (r) => {
          this.inflight--;
          this.inflightBytes -= w;
          this.onAnswer(r, first, n);
        },
        (e: Error) => {
          this.inflight--;
          this.inflightBytes -= w;
          this.finish(e);
        },
      );
    }
  }

  private onAnswer(r: Response, first: number, n: number): void {
    if (this.finished) return;
    const j = this.job;
    try {
      if (j.mode === 'steps' && r.status === Status.BADSTATE && typeof r.body.first === 'number') {
        this.boardAt = r.body.first;
        this.trouble = true;
      } else {
        this.takeAnswer(r, first, n);
      }
    } catch (e) {
      this.finish(e as Error);
      return;
    }
    if (this.inflight > 0) {
      if (!this.trouble) this.pump();
      return;
    }
    if (this.trouble) {
      this.resync();
      return;
    }
    if (this.replan) {
      this.replan = false;
      const m = this.firstMissing();
      if (m >= 0) this.planFrom(m);
    }
    if (this.next >= this.starts.length) {
      if (this.firstMissing() < 0) this.finish();
      else if (j.mode === 'steps') this.resync();
      else this.finish(this.fail(`RUN ${j.mode}`, 'protocol', 'frames answered without covering every sample'));
      return;
    }
    this.pump();
  }

  /** An OK answer: its y (and states) into place, the board's step count. */
  private takeAnswer(r: Response, first: number, n: number): void {
    const j = this.job;
    const label = (): string => this.labelOf(first, n);
    this.link.checkStatus(r, label);
    const f = this.link.fields(r, label);
    const gotFirst = f.int('first'),
      gotN = f.int('n');
    const wantFirst = j.mode === 'steps' ? j.base + first : first;
    if (gotFirst !== wantFirst || gotN !== n) throw this.fail(label(), 'protocol', `the board answered first ${gotFirst} n ${gotN}`);
    this.framesAnswered++;
    if (!this.have[first]) {
      j.take(f, first, n);
      if (j.record) this.takeStates(f, first, n, label);
      this.have.fill(1, first, first + n);
    }
    if (j.mode === 'steps') {
      this.boardAt = j.base + first + n;
      j.onStepCount?.(this.boardAt);
    }
  }

  private takeStates(f: Fields, first: number, n: number, label: () => string): void {
    const steps = n * this.job.stepsPerUnit;
    const sb = f.bin('states');
    const words = sb.length / 4;
    const perStep = words / steps;
    if (!Number.isInteger(perStep)) throw this.fail(label(), 'protocol', `states hold ${sb.length} bytes for ${steps} steps`);
    if (this.stateWords < 0) {
      // the rest can go in bigger frames now that the size is known
      this.stateWords = perStep;
      this.replan = true;
    }
    if (this.statesBuf === null) this.statesBuf = new Int32Array(this.job.total * this.job.stepsPerUnit * perStep);
    const dv = new DataView(sb.buffer, sb.byteOffset, sb.byteLength);
    const at = first * this.job.stepsPerUnit * perStep;
    for (let i = 0; i < words; i++) this.statesBuf[at + i] = dv.getInt32(4 * i, true);
  }

  /** Steps only: the window drained after a frame the board did not take. */
  private resync(): void {
    this.trouble = false;
    const j = this.job;
    if (++this.rounds > MAX_ROUNDS) {
      this.finish(this.fail(`RUN ${j.mode}`, 'protocol', `the board and host could not agree on the step count after ${MAX_ROUNDS} rounds`));
      return;
    }
    const m = this.firstMissing();
    if (m < 0) {
      this.finish();
      return;
    }
    if (this.boardAt === j.base + m) {
      this.planFrom(m);
    } else if (j.resetAtStart && this.restarts < MAX_RESTARTS) {
      // replay from the reset, one frame at a time: with one frame in flight every answer can be asked again
      this.restarts++;
      this.window = 1;
      this.have.fill(0);
      this.planFrom(0);
    } else {
      this.finish(
        this.fail(
          this.labelOf(m, 1),
          'BADSTATE',
          `BADSTATE: the outputs of steps ${j.base + m}..${this.boardAt - 1} were lost with their answers (the board is at step ${this.boardAt}); run again with reset`,
          Status.BADSTATE,
        ),
      );
      return;
    }
    this.pump();
  }
}
