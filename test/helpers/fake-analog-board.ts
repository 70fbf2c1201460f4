/**
 * An in-memory analog board for unit tests of src/calibrate, written from
 * firmware-bridge/PROTOCOL.md §6 (HELLO, INFO with `analog`, STATE, TRIM_SET, TRIM_GET,
 * PROBE, PROBE_READ) with a physics of its own: per neuron, monotonic code -> value maps
 * with seeded mismatch (tau: 1/tau linear in the code, as a leak conductance; gain and
 * offset linear), forward-Euler membrane and prospective rate (docs/dynamics.md), temporal
 * noise on the membrane, and an 8-bit ADC with read noise. The real board is
 * `gle_board --analog` (firmware-bridge/ANALOG.md).
 */
import { Packr } from 'msgpackr';
import { FrameReader, MsgType, Status, encodeFrame, unpackPayload, type MemoryTransport, type WireValue } from '../../src/bridge/index.js';

// the ADC's lo and hi are floats, which the host's packPayload (requests) refuses
const packr = new Packr({ useRecords: false, variableMapSize: true });
import { phiScalar, type ActivationName } from '../../src/engine/activations.js';
import { Rng } from '../../src/util/rng.js';

export interface FakeAnalogOptions {
  layers: { nOut: number; phi: ActivationName; tauM: number; tauR: number }[];
  seed: number;
  noise?: boolean;
  /** per-neuron mismatch (CV) of tau_m and tau_r; default 0.2 */
  tauCv?: number;
  /** global neuron indices whose gain trim cannot reach 1 */
  broken?: number[];
  mtu?: number;
}

const MAX = 1023;
const TAU_MIN = 1,
  TAU_MAX = 100;

export class FakeAnalogBoard {
  readonly neurons: number;
  readonly codes: Uint16Array;
  readonly nominal: Uint16Array;
  /** hidden: per neuron factors */
  readonly fTauM: Float64Array;
  readonly fTauR: Float64Array;
  readonly fGain: Float64Array;
  readonly dOffset: Float64Array;
  readonly offsets: number[] = [];
  probes = 0;
  /** stop answering after this many PROBE requests */
  muteAfterProbes = Infinity;
  readonly adc = { bits: 8, lo: -30 / 180, hi: 225 / 180, reliableLo: 30, reliableHi: 210 };
  private samples = new Uint8Array(0);
  private readonly noise: Rng;
  private readonly mtu: number;
  readonly bootId = 4242;

  constructor(readonly o: FakeAnalogOptions) {
    this.mtu = o.mtu ?? 2048;
    let n = 0;
    for (const l of o.layers) {
      this.offsets.push(n);
      n += l.nOut;
    }
    this.neurons = n;
    const rng = new Rng(o.seed);
    const cv = o.tauCv ?? 0.2;
    const clip = (x: number): number => Math.min(2, Math.max(0.5, x));
    this.fTauM = Float64Array.from({ length: n }, () => clip(1 + cv * rng.normal()));
    this.fTauR = Float64Array.from({ length: n }, () => clip(1 + cv * rng.normal()));
    this.fGain = Float64Array.from({ length: n }, () => clip(1 + 0.1 * rng.normal()));
    this.dOffset = Float64Array.from({ length: n }, () => 0.08 * rng.normal());
    for (const b of o.broken ?? []) this.fGain[b] = 5;
    this.noise = Rng.derive(o.seed, 99);
    this.nominal = new Uint16Array(4 * n);
    o.layers.forEach((l, li) => {
      for (let i = 0; i < l.nOut; i++) {
        const g = this.offsets[li] + i;
        this.nominal[g] = FakeAnalogBoard.tauCode(l.tauM);
        this.nominal[n + g] = FakeAnalogBoard.tauCode(l.tauR);
        this.nominal[2 * n + g] = 512;
        this.nominal[3 * n + g] = 512;
      }
    });
    this.codes = this.nominal.slice();
  }

  static tauCode(tau: number): number {
    return Math.round(((1 / tau - 1 / TAU_MAX) / (1 / TAU_MIN - 1 / TAU_MAX)) * MAX);
  }

  /** the realised values of neuron g at codes c (default: the codes in force) */
  tauM(g: number, c = this.codes[g]): number {
    return Math.max(1, this.fTauM[g] / (1 / TAU_MAX + ((1 / TAU_MIN - 1 / TAU_MAX) * c) / MAX));
  }
  tauR(g: number, c = this.codes[this.neurons + g]): number {
    return Math.max(1, this.fTauR[g] / (1 / TAU_MAX + ((1 / TAU_MIN - 1 / TAU_MAX) * c) / MAX));
  }
  gain(g: number, c = this.codes[2 * this.neurons + g]): number {
    return this.fGain[g] * (0.25 + (1.5 * c) / MAX);
  }
  offset(g: number, c = this.codes[3 * this.neurons + g]): number {
    return this.dOffset[g] + ((c - 512) / MAX) * 0.6;
  }

  attach(t: MemoryTransport): void {
    const reader = new FrameReader(this.mtu);
    t.onData((c) =>
      reader.push(c, (f) => {
        if (f.flags & 1) return;
        if (f.type === MsgType.PROBE && ++this.probes > this.muteAfterProbes) return;
        if (this.probes > this.muteAfterProbes) return;
        let status: number = Status.OK;
        let body: Record<string, WireValue>;
        try {
          [status, body] = this.handle(f.type, unpackPayload(f.payload.slice()) as Record<string, unknown>);
        } catch (e) {
          status = Status.INVAL;
          body = { reason: (e as Error).message };
        }
        body.reason ??= '';
        t.write(encodeFrame({ type: f.type, seq: f.seq, flags: 1, status }, new Uint8Array(packr.pack(body))));
      }),
    );
  }

  private info(): Record<string, WireValue> {
    return {
      proto: 1,
      firmware: 'fake-analog 1',
      boardId: `fake-analog-${this.o.seed}`,
      bootId: this.bootId,
      mtu: this.mtu,
      rxBuffer: 8192,
      formats: [1],
      limits: { layers: 16 },
      slots: 2,
      slotSize: 65536,
      capabilities: ['run-samples', 'run-steps', 'record', 'analog', 'probe'],
      baud: 0,
      stats: { rxFrames: 0, rxDropped: 0, txFrames: 0, boots: 1 },
      analog: {
        neurons: this.neurons,
        params: ['tauM', 'tauR', 'gain', 'offset'],
        trimBits: 10,
        adc: { ...this.adc },
        ranges: this.o.layers.map(() => [0, 1]),
      },
    };
  }

  private adcCode(v: number): number {
    // layers span [0, 1]: codes 30..210 (as the real board's reliable range spans a layer's full scale)
    const read = this.o.noise === false ? 0 : 0.5 * this.noise.normal();
    return Math.max(0, Math.min(255, Math.round(30 + v * 180 + read)));
  }

  private handle(type: number, q: Record<string, unknown>): [number, Record<string, WireValue>] {
    switch (type) {
      case MsgType.HELLO:
      case MsgType.INFO:
        return [Status.OK, this.info()];
      case MsgType.STATE:
        return [Status.OK, { bootId: this.bootId, active: 0, slots: [] }];
      case MsgType.TRIM_GET: {
        const b = new Uint8Array(this.codes.length * 2);
        new DataView(b.buffer).setUint16(0, 0);
        this.codes.forEach((c, i) => new DataView(b.buffer).setUint16(2 * i, c, true));
        return [Status.OK, { codes: b }];
      }
      case MsgType.TRIM_SET: {
        const b = q.codes as Uint8Array;
        if (!(b instanceof Uint8Array) || b.length !== this.codes.length * 2)
          return [Status.INVAL, { reason: `codes: must hold ${this.codes.length * 2} bytes` }];
        const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
        for (let i = 0; i < this.codes.length; i++) {
          const c = dv.getUint16(2 * i, true);
          if (c > MAX) return [Status.INVAL, { reason: `codes: entry ${i} is ${c}` }];
          this.codes[i] = c;
        }
        return [Status.OK, {}];
      }
      case MsgType.PROBE:
        return this.probe(q);
      case MsgType.PROBE_READ: {
        const off = q.off as number,
          len = q.len as number;
        if (off + len > this.samples.length || len > this.mtu - 32) return [Status.INVAL, { reason: 'off/len: beyond the samples or the MTU' }];
        return [Status.OK, { data: this.samples.slice(off, off + len) }];
      }
      default:
        return [Status.NOTSUP, { reason: `type ${type}` }];
    }
  }

  private probe(q: Record<string, unknown>): [number, Record<string, WireValue>] {
    const layer = q.layer as number,
      steps = q.steps as number,
      level = (q.level as number) / 65536;
    const l = this.o.layers[layer];
    if (l === undefined) return [Status.INVAL, { reason: 'layer: out of range' }];
    const idx = q.neurons as Uint8Array;
    const sel: number[] = [];
    if (idx.length === 0) for (let i = 0; i < l.nOut; i++) sel.push(i);
    else for (let k = 0; k < idx.length; k += 2) sel.push(idx[k] | (idx[k + 1] << 8));
    const both = q.observe === 'both',
      rateOnly = q.observe === 'rate';
    const n = sel.length;
    const out = new Uint8Array(n * steps * (both ? 2 : 1));
    const temporal = this.o.noise === false ? 0 : 2 / 180;
    sel.forEach((i, j) => {
      const g = this.offsets[layer] + i;
      const tm = this.tauM(g),
        tr = this.tauR(g),
        uinf = this.gain(g) * level + this.offset(g);
      let u = 0;
      for (let k = 0; k < steps; k++) {
        const udot = (uinf - u) / tm;
        const z = temporal * this.noise.normal();
        const pu = u + tr * udot + z;
        u = u + udot + z;
        const r = phiScalar(l.phi, pu);
        if (rateOnly) out[k * n + j] = this.adcCode(r);
        else {
          out[k * n + j] = this.adcCode(u);
          if (both) out[steps * n + k * n + j] = this.adcCode(r);
        }
      }
    });
    this.samples = out;
    return [Status.OK, { n, steps, bytes: out.length }];
  }
}
