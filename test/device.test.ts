/**
 * The board as the fifth target, through the real CLI: the emulated board (the C firmware's
 * host build on a real pseudo-terminal) reached with the real serialport package.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoardProcess } from '../src/bridge/index.js';
import { compileModel } from '../src/compile/index.js';
import { loadProfile } from '../src/hw/index.js';
import { layerToModel, loadModel, makeModelFile, saveModel } from '../src/model/model-file.js';
import { MNIST1D_PRESET, initLayers } from '../src/train/index.js';
import { ensureFirmware } from './helpers/firmware.js';
import { CLI, runCli, type CliRun } from './helpers/cli.js';

const ROOT = join(import.meta.dirname, '..');
const MODEL = loadModel(join(ROOT, 'test', 'fixtures', 'yinyang-seed1.model.json'));
const scratch = mkdtempSync(join(tmpdir(), 'glekit-device-'));
const boards: BoardProcess[] = [];
const others: ChildProcess[] = [];

type Run = CliRun;
function glekit(...args: string[]): Run {
  return runCli(scratch, args, { timeout: 120_000 });
}
function glekitAsync(...args: string[]): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: scratch });
  let stdout = '',
    stderr = '';
  child.stdout!.on('data', (b) => {
    stdout += b;
  });
  child.stderr!.on('data', (b) => {
    stderr += b;
  });
  return { child, done: new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr }))) };
}
const last = (s: string): Record<string, unknown> => JSON.parse(s.trim().split('\n').pop()!);

function compileTo(name: string, profile: string, model = MODEL): string {
  const path = join(scratch, name);
  writeFileSync(path, compileModel({ model, profile: loadProfile(profile) }).bytes);
  return path;
}
async function startBoard(name: string, args: string[] = [], pace = false): Promise<BoardProcess> {
  const b = await BoardProcess.start({ flash: join(scratch, name), args, pace });
  boards.push(b);
  return b;
}

let yyFpga = '',
  yyMcu = '',
  mnist1d = '';
beforeAll(() => {
  ensureFirmware();
  yyFpga = compileTo('yy-fpga.gled', 'fpga-fixed16');
  yyMcu = compileTo('yy-mcu.gled', 'mcu-q15');
  // an MNIST-1D network of the paper's shape, untrained: what the board must match is the emulator, code for code
  const p = MNIST1D_PRESET;
  const layers = initLayers(1, p.layers, p.init, 1).map(layerToModel);
  const m1d = makeModelFile({
    tool: 'test',
    task: 'mnist1d',
    network: { dt: p.dt, gamma: p.gamma, beta: p.beta, loss: p.loss, prospectiveErrors: p.prospectiveErrors, layers },
    presentation: p.presentation,
    training: { dataSeed: 0 },
    metrics: {},
  });
  saveModel(join(scratch, 'm1d.model.json'), m1d);
  mnist1d = compileTo('m1d.gled', 'fpga-fixed16', m1d);
});
afterAll(async () => {
  for (const c of others) c.kill('SIGKILL');
  for (const b of boards) {
    b.child.kill('SIGKILL');
    await b.exited;
  }
  rmSync(scratch, { recursive: true, force: true });
});

describe('deploy and hardware in the loop', () => {
  it("hil compare gives the emulator's outputsSha256 on the whole Yin-Yang test split (fpga-fixed16, mcu-q15) and on MNIST-1D", async () => {
    const board = await startBoard('a.flash');
    for (const [descriptor, task, limit] of [
      [yyFpga, 'yinyang'],
      [yyMcu, 'yinyang'],
      [mnist1d, 'mnist1d', '300'],
    ] as const) {
      const d = glekit('deploy', '--port', board.port, '--descriptor', descriptor, '--json');
      expect(d.code, d.stderr).toBe(0);
      const h = glekit('hil', 'compare', '--port', board.port, '--descriptor', descriptor, '--task', task, ...(limit ? ['--limit', limit] : []), '--json');
      expect(h.code, h.stderr).toBe(0);
      const e = glekit('emulate', '--descriptor', descriptor, '--task', task, '--engine', 'ts', ...(limit ? ['--limit', limit] : []), '--json');
      const [hil, emu] = [last(h.stdout), last(e.stdout)];
      expect(hil.equal).toBe(true);
      expect(hil.firstMismatch).toBeNull();
      expect(hil.outputsSha256).toBe(emu.outputsSha256);
      expect(hil.accuracy).toBe(emu.accuracy);
      expect(hil.samples).toBe(limit ? 300 : 1000);
    }
  }, 120_000);

  it('a test image reverts at a reset, a confirmed one stays; revert goes back to the previous image', async () => {
    const board = await startBoard('b.flash');
    const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');
    const running = (): string => {
      const s = last(glekit('device', 'state', '--port', board.port, '--json').stdout) as {
        active: number;
        slots: { slot: number; hash: string | null; confirmed: boolean }[];
      };
      return s.slots.find((x) => x.slot === s.active)?.hash ?? 'none';
    };
    expect(glekit('deploy', '--port', board.port, '--descriptor', yyFpga, '--permanent').code).toBe(0);
    expect(running()).toBe(sha(yyFpga));
    expect(glekit('deploy', '--port', board.port, '--descriptor', yyMcu, '--test').code).toBe(0);
    expect(running()).toBe(sha(yyMcu));
    expect(glekit('device', 'reset', '--port', board.port).code).toBe(0);
    expect(running()).toBe(sha(yyFpga));
    // deploy again: the board still holds the image, so nothing is sent twice; confirm keeps it
    const again = last(glekit('deploy', '--port', board.port, '--descriptor', yyMcu, '--json').stdout);
    expect(again.resumedFrom).toBe(readFileSync(yyMcu).length);
    expect(glekit('device', 'confirm', '--port', board.port).code).toBe(0);
    expect(glekit('device', 'reset', '--port', board.port).code).toBe(0);
    expect(running()).toBe(sha(yyMcu));
    const r = glekit('device', 'revert', '--port', board.port, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(last(r.stdout).how).toBe('activate');
    expect(running()).toBe(sha(yyFpga));
    // a power cycle keeps what was confirmed
    board.child.kill('SIGKILL');
    await board.exited;
    const again2 = await BoardProcess.start({ flash: join(scratch, 'b.flash') });
    boards.push(again2);
    const s = last(glekit('device', 'state', '--port', again2.port, '--json').stdout) as { active: number; slots: { slot: number; hash: string }[] };
    expect(s.slots.find((x) => x.slot === s.active)?.hash).toBe(sha(yyFpga));
  }, 120_000);
});

describe('bad input: one line naming the port and the request, exit 1, never a hang', () => {
  const oneLine = (r: Run, pattern: RegExp): void => {
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(pattern);
  };

  it('a port that does not exist', () => {
    oneLine(glekit('device', 'info', '--port', join(scratch, 'no-such-port')), /port .*no-such-port: no such port/);
  });

  it('a port locked by another process', async () => {
    const board = await startBoard('c.flash');
    const holder = spawn(process.execPath, [
      '-e',
      `const {SerialPort}=require(${JSON.stringify(join(ROOT, 'node_modules', 'serialport'))});
      const p=new SerialPort({path:${JSON.stringify(board.port)},baudRate:115200},()=>console.log('open'));setTimeout(()=>{},60000)`,
    ]);
    others.push(holder);
    await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
    oneLine(glekit('device', 'info', '--port', board.port), /in use by another program/);
    holder.kill('SIGKILL');
  });

  it('a board that does not answer (a pseudo-terminal with nothing behind it)', async () => {
    const silent = spawn('python3', ['-c', 'import os,pty,tty,time\nm,s=pty.openpty()\ntty.setraw(s)\nprint(os.ttyname(s),flush=True)\ntime.sleep(60)']);
    others.push(silent);
    const path = await new Promise<string>((resolve) => silent.stdout.once('data', (b) => resolve(String(b).trim())));
    const t0 = Date.now();
    oneLine(glekit('device', 'info', '--port', path), /HELLO: no response in \d+ ms after 3 attempts/);
    expect(Date.now() - t0).toBeLessThan(15_000);
  });

  it('a board killed during a run', async () => {
    const board = await startBoard('d.flash', [], true);
    expect(glekit('deploy', '--port', board.port, '--descriptor', yyFpga, '--baud', '921600').code).toBe(0);
    // paced at 19200 baud the whole split takes about 20 s: kill the board a few seconds after the port is open
    const run = glekitAsync('hil', 'compare', '--port', board.port, '--descriptor', yyFpga, '--task', 'yinyang', '--baud', '19200');
    const holdsPort = (): boolean => {
      try {
        return readdirSync(`/proc/${run.child.pid}/fd`).some((fd) => {
          try {
            return readlinkSync(`/proc/${run.child.pid}/fd/${fd}`) === board.port;
          } catch {
            return false;
          }
        });
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 200 && !holdsPort(); i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 3000));
    board.child.kill('SIGKILL');
    const r = await run.done;
    oneLine(r, /port .*: RUN samples .*: the line closed: the board disconnected or died/);
  }, 60_000);

  it("a descriptor larger than the board's slot, refused before the upload with both sizes", async () => {
    const board = await startBoard('e.flash', ['--slot-size', '8192']);
    const size = readFileSync(yyFpga).length;
    oneLine(glekit('deploy', '--port', board.port, '--descriptor', yyFpga), new RegExp(`has ${size} bytes, the board's slots hold 8192`));
    const s = last(glekit('device', 'state', '--port', board.port, '--json').stdout) as { slots: { state: string }[] };
    expect(s.slots.every((x) => x.state === 'empty')).toBe(true);
  });

  it('a descriptor format version the board does not read', async () => {
    const board = await startBoard('f.flash');
    const b = Buffer.from(readFileSync(yyMcu));
    b[b.indexOf('formatVersion') + 'formatVersion'.length] = 2;
    b.set(
      createHash('sha256')
        .update(b.subarray(0, b.length - 41))
        .digest(),
      b.length - 32,
    );
    const v2 = join(scratch, 'v2.gled');
    writeFileSync(v2, b);
    oneLine(glekit('deploy', '--port', board.port, '--descriptor', v2), /descriptor format version 2 is not one the board's firmware .* reads \(1\)/);
  });
});
