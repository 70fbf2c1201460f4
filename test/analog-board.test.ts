/**
 * The emulated analog board (gle_board --analog, firmware-bridge/ANALOG.md) against the
 * float engine on its own realised parameters: a Yin-Yang image (fpga-fixed16) on a
 * board with its noise off, RUN read-outs (ADC codes) equal to docs/dynamics.md's scheme
 * computed from the board's --truth-out file (src/substrate/board-truth.ts) within the
 * ADC's resolution; PROBE step responses whose fitted tau_m and tau_r equal the truth;
 * TRIM_SET / TRIM_GET and the image's trims; a digital board answering the §6 messages
 * NOTSUP. The §6 messages go out as raw frames (src/bridge/frame.ts), so this test holds
 * the board to PROTOCOL.md whatever the host client does.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack, unpack } from 'msgpackr';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BoardClient,
  BoardProcess,
  boardProgramAvailable,
  boardProgramPath,
  encodeFrame,
  FrameReader,
  openSerial,
  packPayload,
  unpackPayload,
  type Transport,
  type WireValue,
} from '../src/bridge/index.js';
import { compileModel } from '../src/compile/index.js';
import { decodeDescriptor, presentationInputs, validateDescriptor } from '../src/descriptor/index.js';
import { loadProfile } from '../src/hw/index.js';
import { loadModel } from '../src/model/model-file.js';
import { adcCode, adcValue, readAnalogTruth, truthNetwork, type AnalogTruth } from '../src/substrate/board-truth.js';
import { loadClassificationTask } from '../src/tasks/index.js';
import { ensureFirmware } from './helpers/firmware.js';

const ROOT = join(import.meta.dirname, '..');

function ensureBoard(): string | null {
  if (!boardProgramAvailable()) spawnSync('make', ['-C', join(ROOT, 'firmware-bridge'), `OUT=${join(ROOT, 'build', 'firmware')}`], { encoding: 'utf8' });
  return boardProgramAvailable() ? null : `${boardProgramPath()} is missing and make -C firmware-bridge did not build it`;
}
const skipReason = ensureBoard();
if (skipReason !== null) console.warn(`analog-board tests skipped: ${skipReason}`);

const scratch = mkdtempSync(join(tmpdir(), 'glekit-analog-'));
const boards: BoardProcess[] = [];
const lines: Transport[] = [];
let yinyang: Uint8Array;

beforeAll(() => {
  ensureFirmware();
  const model = loadModel(join(ROOT, 'test', 'fixtures', 'yinyang-seed1.model.json'));
  yinyang = compileModel({ model, profile: loadProfile('fpga-fixed16') }).bytes;
});

afterEach(async () => {
  for (const t of lines.splice(0)) await t.close().catch(() => undefined);
  for (const b of boards.splice(0)) await b.kill();
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const MSG = { INFO: 0x02, TRIM_SET: 0x40, TRIM_GET: 0x41, PROBE: 0x42, PROBE_READ: 0x43 } as const;

/** One request, one response, on a line of our own (PROTOCOL.md §1 framing). */
class RawLine {
  private seq = 100;
  private readonly reader = new FrameReader(65536);
  private waiting: ((f: { status: number; body: Record<string, unknown> }) => void) | null = null;
  constructor(private readonly t: Transport) {
    t.onData((chunk) =>
      this.reader.push(chunk, (f) => {
        const w = this.waiting;
        this.waiting = null;
        w?.({ status: f.status, body: unpackPayload(f.payload) as Record<string, unknown> });
      }),
    );
  }

  call(type: number, payload: Record<string, WireValue>): Promise<{ status: number; body: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to type 0x${type.toString(16)}`)), 5000);
      this.waiting = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
      this.t.write(encodeFrame({ type, seq: this.seq++ }, packPayload(payload)));
    });
  }
}

async function startBoard(name: string, args: string[]): Promise<BoardProcess> {
  const bp = await BoardProcess.start({ flash: join(scratch, `${name}.flash`), args });
  boards.push(bp);
  return bp;
}

/** Deploys an image (confirmed) through the host client and closes it. */
async function deploy(bp: BoardProcess, image: Uint8Array): Promise<void> {
  const t = await openSerial(bp.port, { baudRate: 921600 });
  const c = await BoardClient.open(t);
  await c.upload(1, image);
  await c.activate(1, true);
  // answered after the reboot, so the boot (and its truth file) is done
  await c.state();
  await c.close();
}

async function raw(bp: BoardProcess): Promise<RawLine> {
  const t = await openSerial(bp.port, { baudRate: 921600 });
  lines.push(t);
  return new RawLine(t);
}

/** The port is one program's at a time: a raw line for the §6 messages, closed again after fn. */
async function withRaw<T>(bp: BoardProcess, fn: (line: RawLine) => Promise<T>): Promise<T> {
  const t = await openSerial(bp.port, { baudRate: 921600 });
  try {
    return await fn(new RawLine(t));
  } finally {
    await t.close();
  }
}

async function runOnBoard(bp: BoardProcess, codes: Int32Array): Promise<Float64Array> {
  const t = await openSerial(bp.port, { baudRate: 921600 });
  const c = await BoardClient.open(t);
  try {
    return (await c.runSamples(codes)).y;
  } finally {
    await c.close();
  }
}

const u16 = (a: ArrayLike<number>): Uint8Array => {
  const b = new Uint8Array(2 * a.length);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < a.length; i++) dv.setUint16(2 * i, a[i], true);
  return b;
};

/** Yin-Yang test inputs as held samples: one row of input codes per sample. */
function heldInputs(count: number): { codes: Int32Array; perSample: number } {
  const d = decodeDescriptor(yinyang, 'yinyang');
  const data = loadClassificationTask('yinyang', 0).test;
  const steps = presentationInputs(d, data.inputs, count, data.inputSize);
  const perSample = d.network.inputSize,
    sps = d.network.presentation.stepsPerSample;
  const codes = new Int32Array(count * perSample);
  for (let k = 0; k < count; k++) codes.set(steps.subarray(k * sps * perSample, k * sps * perSample + perSample), k * perSample);
  return { codes, perSample };
}

/** The float engine on the truth's realised parameters: the top layer's ADC codes after stepsPerSample steps per held sample. */
function reference(truth: AnalogTruth, codes: Int32Array, perSample: number, steps: number): { codes: Int32Array; values: Float64Array } {
  const n = codes.length / perSample;
  const net = truthNetwork(truth, n);
  const x = new Float64Array(codes.length);
  for (let k = 0; k < codes.length; k++) x[k] = codes[k] * truth.inputScale;
  net.resetState();
  for (let t = 0; t < steps; t++) net.step(x, null);
  const top = truth.layers.length - 1;
  const r = net.layers[top].r;
  const out = new Int32Array(r.length);
  for (let k = 0; k < r.length; k++) out[k] = adcCode(truth, top, r[k]);
  return { codes: out, values: Float64Array.from(r) };
}

/** tau from a step response sampled once per step: u_t = u_inf (1 - a^(t+1)), a = 1 - dt / tau; plateau from the last quarter. */
function fitTau(samples: number[], dt: number, lsb: number): number {
  const q = Math.floor(samples.length / 4);
  const tail = samples.slice(samples.length - q);
  const plateau = tail.reduce((a, b) => a + b, 0) / tail.length;
  const xs: number[] = [],
    ys: number[] = [];
  samples.forEach((u, t) => {
    const rest = plateau - u;
    if (rest > 8 * lsb) {
      xs.push(t + 1);
      ys.push(Math.log(rest / plateau));
    }
  });
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length,
    my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let sxy = 0,
    sxx = 0;
  xs.forEach((x, i) => {
    sxy += (x - mx) * (ys[i] - my);
    sxx += (x - mx) ** 2;
  });
  const a = Math.exp(sxy / sxx);
  return dt / (1 - a);
}

describe.skipIf(skipReason !== null)('the emulated analog board', () => {
  it('with its noise off, RUN read-outs equal the float engine on the realised parameters within the ADC resolution', async () => {
    const truthPath = join(scratch, 'run.truth.json');
    const bp = await startBoard('run', ['--analog', '--seed', '7', '--noise-off', '--truth-out', truthPath]);
    await deploy(bp, yinyang);
    const info = await withRaw(bp, (line) => line.call(MSG.INFO, {}));
    expect(info.status).toBe(0);
    expect(info.body.capabilities).toEqual(expect.arrayContaining(['analog', 'probe']));
    const analog = info.body.analog as { neurons: number; params: string[]; trimBits: number; adc: Record<string, number>; ranges: number[][] };
    expect(analog).toMatchObject({ neurons: 123, params: ['tauM', 'tauR', 'gain', 'offset'], trimBits: 10, adc: { bits: 8, reliableLo: 30, reliableHi: 210 } });

    const truth = readAnalogTruth(truthPath);
    expect(truth.neurons).toHaveLength(123);
    expect(analog.ranges).toEqual(truth.layers.map((l) => l.range));
    // INFO's mapping puts the reliable codes on the layer's full scale
    expect(adcValue(truth, 0, 30)).toBeCloseTo(truth.layers[0].range[0], 12);
    expect(adcValue(truth, 0, 210)).toBeCloseTo(truth.layers[0].range[1], 12);
    // uncalibrated: nominal codes, about 20 % spread of tau_m and tau_r around their targets
    const ok = truth.neurons.filter((n) => n.broken === null);
    for (const p of ['tauM', 'tauR'] as const) {
      const rel = ok.map((n) => n.realised[p] / n.target[p]);
      const mean = rel.reduce((a, b) => a + b, 0) / rel.length;
      const cv = Math.sqrt(rel.reduce((a, b) => a + (b - mean) ** 2, 0) / rel.length) / mean;
      expect(cv).toBeGreaterThan(0.12);
      expect(cv).toBeLessThan(0.3);
    }
    expect(truth.neurons.every((n) => n.codes.every((c, i) => c === n.nominal[i]))).toBe(true);

    const count = 300;
    const { codes, perSample } = heldInputs(count);
    const board = { y: await runOnBoard(bp, codes) };
    const steps = decodeDescriptor(yinyang, 'yinyang').network.presentation.stepsPerSample;
    const ref = reference(truth, codes, perSample, steps);
    const top = truth.layers.length - 1;
    let exact = 0,
      maxCode = 0,
      maxValue = 0;
    const lsb = (truth.layers[top].range[1] - truth.layers[top].range[0]) / (truth.adc.reliableHi - truth.adc.reliableLo);
    for (let k = 0; k < ref.codes.length; k++) {
      const d = Math.abs(board.y[k] - ref.codes[k]);
      if (d === 0) exact++;
      maxCode = Math.max(maxCode, d);
      if (board.y[k] > truth.adc.reliableLo && board.y[k] < truth.adc.reliableHi)
        maxValue = Math.max(maxValue, Math.abs(adcValue(truth, top, board.y[k]) - ref.values[k]));
    }
    console.log(
      `analog board vs float engine on the realised parameters: ${exact}/${ref.codes.length} codes equal, largest code difference ${maxCode}, ` +
        `largest value error inside the reliable range ${maxValue.toExponential(3)} (half an LSB is ${(lsb / 2).toExponential(3)})`,
    );
    expect(maxCode).toBeLessThanOrEqual(1);
    expect(exact / ref.codes.length).toBeGreaterThan(0.99);
    expect(maxValue).toBeLessThanOrEqual(lsb / 2 + 1e-9);

    // TRIM_SET moves the physics, and the truth file follows
    const line = await raw(bp);
    const got = await line.call(MSG.TRIM_GET, {});
    expect(got.status).toBe(0);
    const cur = new Uint16Array(Uint8Array.from(got.body.codes as Uint8Array).buffer);
    expect(Array.from(cur.subarray(0, 123))).toEqual(truth.neurons.map((n) => n.codes[0]));
    const next = Uint16Array.from(cur);
    for (let i = 0; i < 123; i++) next[i] = Math.min(1023, cur[i] + 80);
    expect((await line.call(MSG.TRIM_SET, { codes: u16(next) })).status).toBe(0);
    const bad = Uint16Array.from(cur);
    bad[5] = 1024;
    const refused = await line.call(MSG.TRIM_SET, { codes: u16(bad) });
    expect(refused.status).toBe(3);
    expect(String(refused.body.reason)).toMatch(/codes: 1024 at \[5\]/);
    await lines.pop()?.close();
    const truth2 = readAnalogTruth(truthPath);
    expect(truth2.neurons[0].codes[0]).toBe(next[0]);
    expect(truth2.neurons[0].realised.tauM).toBeGreaterThan(truth.neurons[0].realised.tauM);
    const board2 = { y: await runOnBoard(bp, codes) };
    const ref2 = reference(truth2, codes, perSample, steps);
    let worst = 0;
    for (let k = 0; k < ref2.codes.length; k++) worst = Math.max(worst, Math.abs(board2.y[k] - ref2.codes[k]));
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('PROBE: step responses of every neuron of a layer give tau_m and tau_r equal to the truth', async () => {
    const truthPath = join(scratch, 'probe.truth.json');
    const bp = await startBoard('probe', ['--analog', '--seed', '11', '--noise-off', '--truth-out', truthPath]);
    await deploy(bp, yinyang);
    const line = await raw(bp);
    const truth = readAnalogTruth(truthPath);
    const L = truth.layers[0];
    const steps = 400;
    const level = Math.round(0.6 * 65536);
    const p = await line.call(MSG.PROBE, { layer: 0, neurons: new Uint8Array(0), level, steps, observe: 'both' });
    expect(p.status).toBe(0);
    expect(p.body).toMatchObject({ n: L.nOut, steps, bytes: 2 * L.nOut * steps });
    const data = new Uint8Array(p.body.bytes as number);
    for (let off = 0; off < data.length; off += 1900) {
      const r = await line.call(MSG.PROBE_READ, { off, len: Math.min(1900, data.length - off) });
      expect(r.status).toBe(0);
      data.set(r.body.data as Uint8Array, off);
    }
    const per = L.nOut * steps;
    const lsb = (L.range[1] - L.range[0]) / (truth.adc.reliableHi - truth.adc.reliableLo);
    const errM: number[] = [],
      errR: number[] = [];
    for (let i = 0; i < L.nOut; i++) {
      const n = truth.neurons[L.first + i];
      if (n.broken !== null) continue;
      const u = Array.from({ length: steps }, (_, t) => adcValue(truth, 0, data[t * L.nOut + i]));
      const plateau = n.realised.gain * (level / 65536) + n.realised.offset;
      if (plateau < L.range[0] + 0.2 || plateau > L.range[1] || n.realised.tauM > (steps / 8) * truth.dt) continue;
      errM.push(fitTau(u, truth.dt, lsb) / n.realised.tauM - 1);
      // the rate's first step: phi(u + tau_r / tau_m (s - u)) from rest, so tau_r = tau_m r_1 / s (inside the rate's range)
      const r1 = adcValue(truth, 0, data[per + i]);
      if (r1 > L.range[1] - 2 * lsb) continue; // clipped by the rate's range: tau_r / tau_m above 1 / s
      errR.push((n.realised.tauM * r1) / plateau / n.realised.tauR - 1);
    }
    const rms = (a: number[]): number => Math.sqrt(a.reduce((s, x) => s + x * x, 0) / a.length);
    console.log(
      `PROBE fits over ${errM.length} neurons: tau_m relative error rms ${rms(errM).toFixed(4)} max ${Math.max(...errM.map(Math.abs)).toFixed(4)}; ` +
        `tau_r (first rate sample) rms ${rms(errR).toFixed(4)} max ${Math.max(...errR.map(Math.abs)).toFixed(4)}`,
    );
    expect(errM.length).toBeGreaterThan(60);
    expect(rms(errM)).toBeLessThan(0.02);
    expect(Math.max(...errM.map(Math.abs))).toBeLessThan(0.06);
    expect(rms(errR)).toBeLessThan(0.05);

    // bad requests are refused naming the field; PROBE_READ beyond the samples is INVAL
    expect((await line.call(MSG.PROBE, { layer: 5, neurons: new Uint8Array(0), level, steps: 10, observe: 'both' })).status).toBe(3);
    expect((await line.call(MSG.PROBE, { layer: 0, neurons: u16([120]), level, steps: 10, observe: 'both' })).body.reason).toMatch(/neurons: index 120/);
    expect((await line.call(MSG.PROBE, { layer: 0, neurons: u16([1]), level, steps: 0, observe: 'both' })).body.reason).toMatch(/steps/);
    expect((await line.call(MSG.PROBE, { layer: 0, neurons: u16([1]), level, steps: 5, observe: 'voltage' })).body.reason).toMatch(/observe/);
    expect((await line.call(MSG.PROBE_READ, { off: data.length, len: 1 })).status).toBe(3);
  });

  it('a digital board answers the analog messages NOTSUP; the analog board with noise scatters around the noise-free one', async () => {
    const digital = await startBoard('digital', []);
    await deploy(digital, yinyang);
    const d = await raw(digital);
    const info = await d.call(MSG.INFO, {});
    expect(info.body.analog).toBeUndefined();
    expect(info.body.capabilities).not.toContain('analog');
    for (const [type, payload] of [
      [MSG.TRIM_GET, {}],
      [MSG.TRIM_SET, { codes: new Uint8Array(0) }],
      [MSG.PROBE, { layer: 0, neurons: new Uint8Array(0), level: 0, steps: 1, observe: 'rate' }],
      [MSG.PROBE_READ, { off: 0, len: 1 }],
    ] as const) {
      const r = await d.call(type, payload as Record<string, WireValue>);
      expect(r.status).toBe(8);
      expect(String(r.body.reason)).toMatch(/not an analog board/);
    }

    const truthPath = join(scratch, 'noisy.truth.json');
    const bp = await startBoard('noisy', ['--analog', '--seed', '7', '--truth-out', truthPath]);
    await deploy(bp, yinyang);
    const truth = readAnalogTruth(truthPath);
    expect(truth.noise).toBe(true);
    const { codes, perSample } = heldInputs(100);
    const board = { y: await runOnBoard(bp, codes) };
    const ref = reference(truth, codes, perSample, decodeDescriptor(yinyang, 'yinyang').network.presentation.stepsPerSample);
    let differ = 0,
      sum = 0;
    for (let k = 0; k < ref.codes.length; k++) {
      const e = board.y[k] - ref.codes[k];
      if (e !== 0) differ++;
      sum += e * e;
    }
    // noise is there, and small: a few LSB at the output
    expect(differ).toBeGreaterThan(ref.codes.length / 4);
    expect(Math.sqrt(sum / ref.codes.length)).toBeLessThan(8);
  });

  it("reads the image's per-layer trims at boot; the C loader and the TS decoder ignore the key", async () => {
    // the Yin-Yang image with a `trims` bin in every layer map (4 x nOut uint16, parameter-major), its SHA-256 trailer redone
    const doc = unpack(yinyang) as { network: { layers: Record<string, unknown>[] } };
    const want: number[][] = [];
    doc.network.layers.forEach((layer, l) => {
      const nOut = layer.nOut as number;
      const codes = Array.from({ length: 4 * nOut }, (_, k) => [300 + ((k * 7) % 400), 250 + l, 520, 480 + (k % 9)][Math.floor(k / nOut)]);
      want.push(codes);
      layer.trims = u16(codes);
    });
    const bytes = Uint8Array.from(pack(doc));
    bytes.set(
      createHash('sha256')
        .update(bytes.subarray(0, bytes.length - 41))
        .digest(),
      bytes.length - 32,
    );
    const d = decodeDescriptor(bytes, 'yinyang+trims');
    expect(() => validateDescriptor(d)).not.toThrow();

    const truthPath = join(scratch, 'trims.truth.json');
    const bp = await startBoard('trims', ['--analog', '--seed', '3', '--noise-off', '--truth-out', truthPath]);
    await deploy(bp, bytes); // activate verifies with the C loader first
    const truth = readAnalogTruth(truthPath);
    truth.layers.forEach((L, l) => {
      for (let i = 0; i < L.nOut; i++) for (let p = 0; p < 4; p++) expect(truth.neurons[L.first + i].codes[p]).toBe(want[l][p * L.nOut + i]);
    });
    const got = await withRaw(bp, (line) => line.call(MSG.TRIM_GET, {}));
    const cur = new Uint16Array(Uint8Array.from(got.body.codes as Uint8Array).buffer);
    // TRIM_GET: parameter-major over all neurons bottom to top
    const n = truth.neurons.length;
    truth.neurons.forEach((nr, g) => {
      for (let p = 0; p < 4; p++) expect(cur[p * n + g]).toBe(nr.codes[p]);
    });
  });
  it('sets and reads trims in ranges of neurons when they do not fit one frame (MTU 512: 123 neurons need 984 bytes)', async () => {
    const truthPath = join(scratch, 'ranges.truth.json');
    const bp = await startBoard('ranges', ['--analog', '--seed', '4', '--noise-off', '--truth-out', truthPath, '--mtu', '512']);
    await deploy(bp, yinyang);
    const n = readAnalogTruth(truthPath).neurons.length;
    const codes = Uint16Array.from({ length: 4 * n }, (_, k) => (k * 37 + 11) % 1024);
    const t = await openSerial(bp.port, { baudRate: 921600 });
    const c = await BoardClient.open(t);
    try {
      const nominal = await c.trimGet();
      expect(nominal.length).toBe(4 * n);
      await c.trimSet(codes);
      expect(Array.from(await c.trimGet())).toEqual(Array.from(codes));
    } finally {
      await c.close();
    }
    // the board realised every range: its truth holds the codes, parameter-major over all neurons
    const truth = readAnalogTruth(truthPath);
    truth.neurons.forEach((nr, g) => {
      for (let p = 0; p < 4; p++) expect(nr.codes[p]).toBe(codes[p * n + g]);
    });
    // PROTOCOL.md §6: without off every neuron; with off a range that must lie within the image
    const partial = await withRaw(bp, (line) => line.call(MSG.TRIM_SET, { codes: u16([1, 2, 3, 4]) }));
    expect(partial.status).not.toBe(0);
    expect(String(partial.body.reason)).toMatch(/has 8 bytes, 4 x 123 neurons/);
    const beyond = await withRaw(bp, (line) => line.call(MSG.TRIM_SET, { codes: u16([1, 2, 3, 4, 5, 6, 7, 8]), off: n - 1 }));
    expect(String(beyond.body.reason)).toMatch(/off: 2 neurons from 122 go beyond the image's 123/);
    const one = await withRaw(bp, (line) => line.call(MSG.TRIM_SET, { codes: u16([5, 6, 7, 8]), off: n - 1 }));
    expect(one.status).toBe(0);
    const back = await withRaw(bp, (line) => line.call(MSG.TRIM_GET, { off: n - 1, len: 1 }));
    expect(Array.from(new Uint16Array(Uint8Array.from(back.body.codes as Uint8Array).buffer))).toEqual([5, 6, 7, 8]);
  });
});
