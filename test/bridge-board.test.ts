/**
 * The bridge against the REAL board firmware: build/firmware/gle_board (firmware-bridge's
 * protocol handler over a pseudo-terminal, flash in a file) driven through the real npm
 * `serialport` package. Shows: upload + verify + activate + RUN equal to gle_host and the
 * TypeScript emulator on the same inputs (samples and steps); resume after the board was
 * SIGKILLed mid-upload and restarted on the same flash; a test activation reverting at
 * reset (and at a power cut) unless confirmed; uploads completing through a seeded faulty
 * line with cut lines. Skipped, with the reason, when gle_board cannot be built.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BoardClient,
  BoardProcess,
  BridgeError,
  FaultyTransport,
  addFaultCounts,
  boardProgramAvailable,
  boardProgramPath,
  emptyFaultCounts,
  openSerial,
  type Transport,
} from '../src/bridge/index.js';
import { compileModel } from '../src/compile/index.js';
import { decodeDescriptor, encodeDescriptor, presentationInputs } from '../src/descriptor/index.js';
import { FixedEngine, randomDescriptor, runPresentation, runPresentationC } from '../src/emulator/index.js';
import { loadProfile } from '../src/hw/index.js';
import { loadModel } from '../src/model/model-file.js';
import { loadClassificationTask } from '../src/tasks/index.js';
import { Rng } from '../src/util/rng.js';
import { ensureFirmware } from './helpers/firmware.js';

const ROOT = join(import.meta.dirname, '..');

function ensureBoard(): string | null {
  if (!boardProgramAvailable()) {
    spawnSync('make', ['-C', join(ROOT, 'firmware-bridge'), `OUT=${join(ROOT, 'build', 'firmware')}`], { encoding: 'utf8' });
  }
  return boardProgramAvailable() ? null : `${boardProgramPath()} is missing and make -C firmware-bridge did not build it`;
}
const skipReason = ensureBoard();
if (skipReason !== null) console.warn(`bridge-board tests skipped: ${skipReason}`);

const scratch = mkdtempSync(join(tmpdir(), 'glekit-bridge-'));
const boards: BoardProcess[] = [];
const clients: BoardClient[] = [];
let yinyang: Uint8Array;

async function startBoard(flash: string, args: string[] = [], pace = false): Promise<BoardProcess> {
  const bp = await BoardProcess.start({ flash: join(scratch, flash), args, pace });
  boards.push(bp);
  return bp;
}

async function connect(bp: BoardProcess, baudRate = 921600, wrap?: (t: Transport) => Transport, marginMs = 300): Promise<BoardClient> {
  const serial = await openSerial(bp.port, { baudRate });
  const c = await BoardClient.open(wrap ? wrap(serial) : serial, { marginMs });
  clients.push(c);
  return c;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const hex = (b: Uint8Array | null | undefined): string => (b ? Buffer.from(b).toString('hex') : '');

beforeAll(() => {
  ensureFirmware();
  const model = loadModel(join(ROOT, 'test', 'fixtures', 'yinyang-seed1.model.json'));
  yinyang = compileModel({ model, profile: loadProfile('fpga-fixed16') }).bytes;
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  for (const b of boards.splice(0)) await b.kill();
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe.skipIf(skipReason !== null)('bridge to gle_board over a pty', () => {
  it('upload, verify, activate and RUN give what gle_host and the TS emulator give on the same inputs', async () => {
    const bp = await startBoard('run.flash');
    const c = await connect(bp);
    const info = c.boardInfo!;
    expect(info).toMatchObject({ proto: 1, slots: 2, mtu: 2048 });
    expect(info.formats).toContain(1);
    const up = await c.upload(1, yinyang);
    expect(up.sha256).toBe(sha(yinyang));
    const v = await c.verify(1);
    const d = decodeDescriptor(yinyang, 'yinyang');
    expect(hex(v.hash)).toBe(sha(yinyang));
    expect(v.network).toMatchObject({
      inputSize: d.network.inputSize,
      outputSize: d.network.outputSize,
      stepsPerSample: d.network.presentation.stepsPerSample,
      mode: 'static',
    });
    const s = await c.activate(1, true);
    expect(s.active).toBe(1);
    expect(s.slots[1]).toMatchObject({ state: 'complete', confirmed: true, permanent: true, active: true });

    const data = loadClassificationTask('yinyang', 0).test;
    const count = 300;
    const steps = presentationInputs(d, data.inputs, count, data.inputSize);
    // a held sample: its codes are the first step's row
    const perStep = d.network.inputSize;
    const codes = new Int32Array(count * perStep);
    for (let k = 0; k < count; k++)
      codes.set(
        steps.subarray(k * d.network.presentation.stepsPerSample * perStep, k * d.network.presentation.stepsPerSample * perStep + perStep),
        k * perStep,
      );
    const board = await c.runSamples(codes);
    const host = runPresentationC(yinyang, steps, d.network.outputSize);
    const ts = runPresentation(new FixedEngine(d), steps, count);
    expect(Array.from(board.y)).toEqual(Array.from(host));
    expect(Array.from(board.y)).toEqual(Array.from(ts));
    const one = await c.runSamples(codes.subarray(0, 10 * perStep), { batch: 1, window: 1 });
    expect(Array.from(one.y)).toEqual(Array.from(host.subarray(0, 10 * d.network.outputSize)));

    // steps mode: the top layer's rates after every step, state carried across frames and calls
    const engine = new FixedEngine(d);
    const nSteps = 500;
    const xs = steps.subarray(0, nSteps * perStep);
    const want = new Int32Array(nSteps * d.network.outputSize);
    for (let t = 0; t < nSteps; t++) want.set(engine.step(xs, t * perStep), t * d.network.outputSize);
    const a = await c.runSteps(xs.subarray(0, 200 * perStep), { reset: true, batch: 16, window: 4 });
    const b = await c.runSteps(xs.subarray(200 * perStep), { window: 3 });
    expect(Array.from(a.y).concat(Array.from(b.y))).toEqual(Array.from(want));
    const st = await c.state();
    expect(st.bootId).toBe(c.bootId);
  });

  it('names the port in one line when it cannot be opened: missing, locked by another opener, not a serial port', async () => {
    await expect(openSerial(join(scratch, 'no-such-port'))).rejects.toThrow(`port ${join(scratch, 'no-such-port')}: no such port (ENOENT)`);
    const bp = await startBoard('open.flash');
    const first = await openSerial(bp.port);
    await expect(openSerial(bp.port)).rejects.toThrow(`port ${bp.port}: in use by another program (Cannot lock port)`);
    await first.close();
    await expect(openSerial('/dev/null')).rejects.toThrow('port /dev/null: not a serial port (Inappropriate ioctl for device)');
  });

  it('refuses before sending a byte: too large for the slot, a format version the board does not read', async () => {
    const bp = await startBoard('refuse.flash', ['--slot-size', '8192']);
    const c = await connect(bp);
    const before = (await c.info()).stats.rxFrames;
    await expect(c.upload(0, yinyang)).rejects.toThrow(
      `port ${bp.port}: UPLOAD slot 0: the image is ${yinyang.length} bytes, the board's slots hold 8192 bytes`,
    );
    const small = encodeDescriptor(randomDescriptor(new Rng(3), { maxLayers: 1, maxSize: 3 }));
    const smallV2 = small.slice();
    const at = Buffer.from(small).indexOf(Buffer.from('formatVersion')) + 'formatVersion'.length;
    smallV2[at] = 2;
    await expect(c.upload(0, smallV2)).rejects.toThrow(`port ${bp.port}: UPLOAD slot 0: the descriptor's format version 2 is not one the board reads (1)`);
    const after = (await c.info()).stats.rxFrames;
    expect(after - before).toBe(1); // the INFO itself
  });

  it('resumes an upload after the board was SIGKILLed mid-way and restarted on the same flash', async () => {
    const big = bigDescriptor(120_000);
    let bp = await startBoard('resume.flash', [], true);
    let c = await connect(bp, 115200 * 4);
    let killedAt = 0;
    const err = await c
      .upload(0, big, {
        onProgress: (p) => {
          if (killedAt === 0 && p.acked > big.length / 3) {
            killedAt = p.acked;
            void bp.kill();
          }
        },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BridgeError);
    expect((err as BridgeError).failure).toBe('closed');
    expect((err as Error).message).toMatch(new RegExp(`^port ${bp.port}: UPLOAD slot 0 off \\d+: the line closed: the board disconnected or died$`));
    await bp.exited;
    bp = await startBoard('resume.flash');
    c = await connect(bp);
    const s = await c.state();
    expect(s.slots[0].state).toBe('partial');
    expect(s.slots[0].off).toBeGreaterThanOrEqual(killedAt - 2 * 2048);
    const r = await c.upload(0, big);
    expect(r.resumedFrom).toBe(s.slots[0].off);
    expect(r.resumedFrom).toBeGreaterThan(big.length / 4);
    const v = await c.verify(0);
    expect(hex(v.hash)).toBe(sha(big));
  });

  it('resumes after a power cut in the middle of a flash write (--crash-at-write)', async () => {
    let bp = await startBoard('crash.flash', ['--crash-at-write', '9']);
    let c = await connect(bp);
    await expect(c.upload(1, yinyang)).rejects.toThrow(/the line closed/);
    await bp.exited;
    expect(bp.exitCode).toBe(99);
    bp = await startBoard('crash.flash');
    c = await connect(bp);
    const r = await c.upload(1, yinyang);
    expect(r.resumedFrom).toBeGreaterThan(0);
    expect(hex((await c.verify(1)).hash)).toBe(sha(yinyang));
  });

  it('a test activation reverts at reset and at a power cut unless confirmed', async () => {
    const other = encodeDescriptor(randomDescriptor(new Rng(11), { maxLayers: 2, maxSize: 6 }));
    let bp = await startBoard('boot.flash');
    let c = await connect(bp);
    await c.upload(0, yinyang);
    await c.activate(0, true);
    await c.upload(1, other);
    const boot0 = c.bootId;
    let s = await c.activate(1, false);
    expect(c.bootId).not.toBe(boot0);
    expect(s.active).toBe(1);
    expect(s.slots[1]).toMatchObject({ confirmed: false, active: true });
    s = await c.reset();
    expect(s.active).toBe(0);
    expect(hex(s.slots[0].hash)).toBe(sha(yinyang));
    // a power cut instead of a reset: the same revert
    await c.activate(1, false);
    await bp.kill();
    bp = await startBoard('boot.flash');
    c = await connect(bp);
    expect((await c.state()).active).toBe(0);
    // confirmed, it stays
    await c.activate(1, false);
    s = await c.confirm();
    expect(s.slots[1]).toMatchObject({ confirmed: true, active: true });
    s = await c.reset();
    expect(s.active).toBe(1);
    await bp.kill();
    bp = await startBoard('boot.flash');
    c = await connect(bp);
    expect((await c.state()).active).toBe(1);
    expect(c.unexpectedReboots).toBe(0);
    // and the image that runs is the one uploaded: RUN equals the TS emulator on it
    const d = decodeDescriptor(other, 'other');
    const x = new Int32Array(20 * d.network.inputSize).map((_, i) => ((i * 13) % 7) - 3);
    const y = await c.runSamples(x);
    const stepIn = new Int32Array(20 * d.network.presentation.stepsPerSample * d.network.inputSize);
    for (let k = 0; k < 20; k++)
      for (let t = 0; t < d.network.presentation.stepsPerSample; t++)
        stepIn.set(x.subarray(k * d.network.inputSize, (k + 1) * d.network.inputSize), (k * d.network.presentation.stepsPerSample + t) * d.network.inputSize);
    expect(Array.from(y.y)).toEqual(Array.from(runPresentation(new FixedEngine(d), stepIn, 20)));
  });

  it('a seeded faulty line (flipped bits, lost, duplicated, reordered frames, cut lines) still completes uploads', async () => {
    const bp = await startBoard('faulty.flash');
    const big = bigDescriptor(60_000);
    const images = [yinyang, big];
    let seed = 1;
    let attempts = 0;
    let cutForced = false;
    let resumed = 0;
    const faults = emptyFaultCounts();
    for (let k = 0; k < 4; k++) {
      const img = images[k % 2];
      const slot = k % 2;
      for (;;) {
        attempts++;
        if (attempts > 60) throw new Error('too many reconnects');
        const rates = { drop: 0.03, corrupt: 0.03, duplicate: 0.03, reorder: 0.03, delay: 0.03, split: 0.1, dropByte: 0.01, garbage: 0.03 };
        let faulty: FaultyTransport | null = null;
        const c = await connect(
          bp,
          3_000_000,
          (t) => (faulty = new FaultyTransport(t, { seed: seed++, tx: rates, rx: rates, cut: 0.03, maxDelayMs: 10 })),
          100,
        ).catch((e: unknown) => e as Error);
        const count = (): void => {
          if (faulty !== null) addFaultCounts(faults, (faulty as FaultyTransport).counts);
        };
        if (c instanceof Error) {
          count();
          continue;
        }
        try {
          // one cut for sure: in the middle of the first upload of the big image
          const forced = k === 1 && !cutForced;
          const r = await c.upload(slot, img, {
            onProgress: (p) => {
              if (forced && !cutForced && p.acked > img.length / 2) {
                cutForced = true;
                (faulty as unknown as FaultyTransport).cut();
              }
            },
          });
          if (k === 1) resumed = r.resumedFrom;
          break;
        } catch (e) {
          expect(e).toBeInstanceOf(BridgeError);
        } finally {
          await c.close();
          count();
        }
      }
      // on a clean line: the slot holds exactly the image
      const clean = await connect(bp);
      const s = await clean.state();
      expect(s.slots[slot].state).toBe('complete');
      expect(hex(s.slots[slot].hash)).toBe(sha(img));
      expect(hex((await clean.verify(slot)).hash)).toBe(sha(img));
      await clean.close();
    }
    expect(faults.cuts).toBeGreaterThan(0);
    expect(resumed).toBeGreaterThan(big.length / 2);
    expect(faults.dropped + faults.corrupted + faults.duplicated + faults.reordered + faults.bytesDropped).toBeGreaterThan(5);
    expect(attempts).toBeGreaterThan(4);
  });
});

/** A valid descriptor of about `bytes` bytes (a random network with wide layers). */
function bigDescriptor(bytes: number): Uint8Array {
  for (let seed = 1; ; seed++) {
    const d = randomDescriptor(new Rng(seed), { maxLayers: 2, maxSize: 250, maxSteps: 2 });
    const b = encodeDescriptor(d);
    if (b.length >= bytes * 0.8 && b.length <= bytes * 1.5) return b;
  }
}
