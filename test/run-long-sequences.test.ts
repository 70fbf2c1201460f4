/**
 * A sequence longer than one RUN frame holds (MNIST-1D retimed 2x: 720 steps, 2880 bytes of
 * input codes against the default MTU of 2048): the client runs it in steps mode from a
 * reset and reads out as samples mode does, so the board still equals the emulator code for
 * code. With a recording asked for, the old refusal (naming the sizes) stands.
 */
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoardProcess } from '../src/bridge/index.js';
import { compileModel } from '../src/compile/index.js';
import { hilCompare, withBoard, deployDescriptor } from '../src/device/index.js';
import { decodeDescriptor } from '../src/descriptor/index.js';
import { loadProfile } from '../src/hw/index.js';
import { loadModel, retimeModel } from '../src/model/index.js';
import { ensureFirmware } from './helpers/firmware.js';

const ROOT = join(import.meta.dirname, '..');
const scratch = mkdtempSync(join(tmpdir(), 'glekit-longseq-'));
let board: BoardProcess;
let gled: string;
let bytes: Uint8Array;

beforeAll(async () => {
  ensureFirmware();
  const model = retimeModel(loadModel(join(ROOT, 'examples', 'robustness-mnist1d', 'model.json')), 2, 'mnist1d');
  bytes = compileModel({ model, profile: loadProfile('fpga-fixed16'), rangeSamples: 8 }).bytes;
  gled = join(scratch, 'mnist1d-x2.gled');
  writeFileSync(gled, bytes);
  board = await BoardProcess.start({ flash: join(scratch, 'b.flash'), args: ['--slot-size', '131072'] });
  await withBoard(board.port, {}, (c) => deployDescriptor(c, gled, bytes, 'permanent'));
}, 120_000);

afterAll(async () => {
  await board?.kill();
  rmSync(scratch, { recursive: true, force: true });
});

describe('a sequence longer than a RUN frame', () => {
  it('runs step by step at the default MTU and equals the emulator in every read-out code', async () => {
    const r = await hilCompare({ port: board.port, descriptorPath: gled, task: 'mnist1d', limit: 3 });
    expect(r.samples).toBe(3);
    expect(r.equal).toBe(true);
    expect(r.outputsSha256).toBe(r.emulatorOutputsSha256);
  }, 120_000);

  it('still refuses a recording of it, naming the sizes and the MTU', async () => {
    const d = decodeDescriptor(bytes, 'x2');
    const x = new Int32Array(d.network.presentation.stepsPerSample);
    const err = await withBoard(board.port, {}, (c) => c.runSamples(x, { record: true })).catch((e: unknown) => e);
    expect(String(err)).toMatch(/one sample needs 2880 bytes in .* more than the board's MTU of 2048 bytes/);
  }, 60_000);
});
