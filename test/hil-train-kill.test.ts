/**
 * `glekit hil train` survives the host or the board being killed, with real processes:
 * the CLI as a child process (dist/src/cli/main.js) and the emulated board (gle_board, a
 * pseudo-terminal and a flash file; `--link` keeps the port path across restarts).
 *
 * - host killed (SIGKILL) after the first checkpoint: the same command with --resume
 *   finishes the run, keeps the killed run's epochs, writes the model, and the board runs
 *   that model's image, confirmed;
 * - board killed (SIGKILL, a power cut) during the second epoch, after the epoch's second
 *   reboot: the interrupted run ends with an error naming the port and the lost line (no
 *   hang); the board started again on the same flash boots the last confirmed image (the
 *   checkpoint's parameters), and --resume finishes the run on it.
 *
 * Nothing here asserts a duration: every wait is bounded only so that a hang fails.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoardProcess } from '../src/bridge/index.js';
import { compileModel } from '../src/compile/index.js';
import { type HilEpoch, type HilTrainSummary, imageSha256, withBoard, withParameters } from '../src/device/index.js';
import type { LayerParameters } from '../src/engine/types.js';
import { loadProfile } from '../src/hw/index.js';
import { loadModel, type ModelFile, modelToSpec } from '../src/model/model-file.js';
import { ensureFirmware } from './helpers/firmware.js';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const MODEL_PATH = join(ROOT, 'test', 'fixtures', 'yinyang-seed1.model.json');
const MODEL = loadModel(MODEL_PATH);
const EPOCHS = 3;
/** bounds that only a hang reaches (the machine may be busy: generous) */
const WAIT_MS = 45_000;
const BOARD_ARGS = ['--mtu', '8192'];

const scratch = mkdtempSync(join(tmpdir(), 'glekit-hil-kill-'));
const boards: BoardProcess[] = [];
const children: ChildProcess[] = [];

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `glekit hil train` on the Yin-Yang fixture as a child process; resolves when it has exited. */
function hilTrainCli(port: string, dir: string, extra: string[] = []): { child: ChildProcess; finished: Promise<Finished> } {
  const args = [
    CLI,
    'hil',
    'train',
    '--port',
    port,
    '--model',
    MODEL_PATH,
    '--task',
    'yinyang',
    '--epochs',
    String(EPOCHS),
    '--train-limit',
    '64',
    '--batch',
    '32',
    '--seed',
    '1',
    '--checkpoint',
    join(dir, 'ck.json'),
    '--out',
    join(dir, 'out.model.json'),
    '--json',
    ...extra,
  ];
  const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '',
    stderr = '';
  child.stdout!.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const finished = new Promise<Finished>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, finished };
}

/** `p`, or a rejection naming `what` when it takes longer than `ms` (a hang). */
function within<T>(p: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms (a hang)`)), ms);
  });
  return Promise.race([p, hang]).finally(() => clearTimeout(timer));
}

/** Polls `cond` every few ms until it is true. */
async function until(cond: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 3));
  }
}

interface CheckpointFile {
  epoch: number;
  history: HilEpoch[];
  layers: { weights: number[]; bias: number[] | null }[];
}

/** The checkpoint as written (atomically: a rename), or null before the first one. */
function readCheckpoint(path: string): CheckpointFile | null {
  if (!existsSync(path)) return null;
  return JSON.parse(readFileSync(path, 'utf8')) as CheckpointFile;
}

/**
 * The board's boot counter, kept in its flash file's header (firmware-bridge/README.md;
 * u32 little-endian at byte 16, firmware-bridge/host/gle_board.c). It counts every
 * reboot the board has planned (ACTIVATE, RESET, power-on), so it shows where in an
 * epoch a run is without touching the port the run holds.
 */
function bootCounter(flash: string): number {
  const fd = openSync(flash, 'r');
  try {
    const b = Buffer.alloc(4);
    readSync(fd, b, 0, 4, 16);
    return b.readUInt32LE(0);
  } finally {
    closeSync(fd);
  }
}

/** The image hil train compiles for these parameters (the start model's file with them), as its SHA-256. */
function imageOf(layers: readonly LayerParameters[]): string {
  return imageSha256(compileModel({ model: withParameters(MODEL, layers), profile: loadProfile('fpga-fixed16') }).bytes);
}

function checkpointParameters(ck: CheckpointFile): LayerParameters[] {
  return modelToSpec(MODEL).layers.map((l, i) => ({
    ...l,
    weights: Float64Array.from(ck.layers[i].weights),
    bias: ck.layers[i].bias === null ? null : Float64Array.from(ck.layers[i].bias!),
  }));
}

/** What runs on the board: the active slot's hash and flags (null: the board boots nothing). */
async function running(port: string): Promise<{ hash: string; confirmed: boolean } | null> {
  const s = await within(
    withBoard(port, {}, (c) => c.state()),
    `STATE on ${port}`,
  );
  const slot = s.slots.find((x) => x.slot === s.active);
  if (slot === undefined || slot.hash === null) return null;
  return { hash: Buffer.from(slot.hash).toString('hex'), confirmed: slot.confirmed };
}

/** The resumed run finished the whole run: exit 0, every epoch once, the model written, the board running its image, confirmed. */
async function expectResumedRun(r: Finished, port: string, dir: string, ckBefore: CheckpointFile): Promise<HilTrainSummary> {
  expect(r.code, r.stderr).toBe(0);
  const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as HilTrainSummary;
  expect(r.stderr).toContain(`resuming after epoch ${ckBefore.epoch}`);
  expect(summary.resumedFrom).toBe(ckBefore.epoch);
  expect(summary.resumedFrom).toBeGreaterThanOrEqual(1);
  // every epoch once, in order: the killed run's epochs kept as they were, the rest run now
  expect(summary.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
  expect(summary.history.slice(0, ckBefore.epoch)).toEqual(ckBefore.history);
  expect(readCheckpoint(join(dir, 'ck.json'))!.epoch).toBe(EPOCHS);
  // the model written: the parameters of the best image, the run's numbers in its training section
  const out: ModelFile = loadModel(join(dir, 'out.model.json'));
  expect((out.training.hilTrain as { bestValidationAccuracy: number }).bestValidationAccuracy).toBe(summary.bestValidationAccuracy);
  // the board runs exactly that model's image, confirmed (it stays after a reset)
  const now = await running(port);
  expect(now).not.toBeNull();
  expect(now!.hash).toBe(imageOf(modelToSpec(out).layers));
  expect(now!.confirmed).toBe(true);
  return summary;
}

beforeAll(() => {
  ensureFirmware();
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const b of boards) await b.kill();
  rmSync(scratch, { recursive: true, force: true });
});

describe('hil train killed with real processes', () => {
  it('host killed after the first checkpoint: --resume finishes the run on the board, which runs the result, confirmed', async () => {
    const dir = join(scratch, 'host');
    mkdirSync(dir);
    const port = join(dir, 'port');
    boards.push(await BoardProcess.start({ flash: join(dir, 'board.flash'), args: [...BOARD_ARGS, '--link', port] }));

    const run = hilTrainCli(port, dir);
    let exited = false;
    void run.finished.then(() => {
      exited = true;
    });
    await until(() => exited || (readCheckpoint(join(dir, 'ck.json'))?.epoch ?? 0) >= 1, 'the first checkpoint');
    run.child.kill('SIGKILL');
    const killed = await within(run.finished, 'the killed run to exit');
    // killed, not finished on its own: no result printed
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    expect(killed.stdout).not.toContain('"resumedFrom"');
    const ck = readCheckpoint(join(dir, 'ck.json'))!;
    expect(ck.epoch).toBeGreaterThanOrEqual(1);
    expect(ck.history.map((h) => h.epoch)).toEqual(Array.from({ length: ck.epoch }, (_, i) => i + 1));

    const resumed = await within(hilTrainCli(port, dir, ['--resume']).finished, 'the resumed run');
    await expectResumedRun(resumed, port, dir, ck);
  });

  it('board killed during an epoch: the run fails naming the lost line, the restarted board boots the last confirmed image, --resume finishes', async () => {
    const dir = join(scratch, 'board');
    mkdirSync(dir);
    const port = join(dir, 'port');
    const flash = join(dir, 'board.flash');
    const first = await BoardProcess.start({ flash, args: [...BOARD_ARGS, '--link', port] });
    boards.push(first);

    const run = hilTrainCli(port, dir);
    let exited = false;
    void run.finished.then(() => {
      exited = true;
    });
    await until(() => exited || (readCheckpoint(join(dir, 'ck.json'))?.epoch ?? 0) >= 1, 'the first checkpoint');
    // into the next epoch: two reboots after the checkpoint, the epoch's first test image has run
    // and the second batch's image is on its way (the slots hold no image from before the epoch but the best)
    const boots = bootCounter(flash);
    await until(() => exited || bootCounter(flash) >= boots + 2, 'two reboots into the next epoch');
    expect(exited, 'the run ended before the board was killed').toBe(false);
    await first.kill();
    expect(first.exitSignal).toBe('SIGKILL');
    // power back on: the same flash, the same port path
    const second = await BoardProcess.start({ flash, args: [...BOARD_ARGS, '--link', port] });
    boards.push(second);

    const failed = await within(run.finished, 'the interrupted run to end');
    expect(failed.code, failed.stdout + failed.stderr).toBe(1);
    expect(failed.stdout).not.toContain('"resumedFrom"');
    // one line naming the port, the request that was under way, and why
    const error = /^glekit: error: port (\S+): ([A-Z]+)[^:\n]*: the line closed: the board disconnected or died$/m.exec(failed.stderr);
    expect(error, failed.stderr).not.toBeNull();
    expect(error![1]).toBe(port);

    // the restarted board boots the last confirmed image: what the checkpoint holds (an
    // unconfirmed test image reverts at the power cycle). Only a kill between the board's
    // CONFIRM and the host's checkpoint can leave a newer confirmed image than the checkpoint's.
    const ck = readCheckpoint(join(dir, 'ck.json'))!;
    expect(ck.epoch).toBeGreaterThanOrEqual(1);
    const boot = await running(port);
    expect(boot, 'the restarted board boots no image').not.toBeNull();
    expect(boot!.confirmed).toBe(true);
    if (error![2] !== 'CONFIRM') expect(boot!.hash).toBe(imageOf(checkpointParameters(ck)));

    const resumed = await within(hilTrainCli(port, dir, ['--resume']).finished, 'the resumed run');
    await expectResumedRun(resumed, port, dir, ck);
  });
});
