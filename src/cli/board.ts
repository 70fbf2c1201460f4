/**
 * The board commands: start the emulated board, ask a board what it is and holds, deploy
 * to it, confirm, revert, reset, and compare it with the emulator (hardware in the loop).
 */
import { readFileSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { BoardProcess, type BoardState, type BoardInfo } from '../bridge/index.js';
import { deployDescriptor, hilCompare, hilTrain, revertBoard, withBoard, type ConnectOptions } from '../device/index.js';
import { GlekitError } from '../util/errors.js';
import { createProgress } from '../util/progress.js';
import { integerOption, positiveOption, printResult } from './options.js';
import { loadModel, saveModel } from '../model/model-file.js';
import { applyBoardCalibration, targetsFromModel } from '../calibrate/index.js';
import { recordBoard } from '../nir/index.js';
import { checkOutputFile } from '../util/files.js';

interface PortOptions {
  port: string;
  baud: number;
  json?: boolean;
}

const connectOptions = (o: PortOptions): ConnectOptions => ({ baudRate: o.baud });

function withPort(cmd: Command): Command {
  return cmd
    .requiredOption('--port <path>', "the board's serial port (glekit board start prints it)")
    .option('--baud <rate>', 'line rate in baud', integerOption('baud', 1), 115200)
    .option('--json', 'print one JSON object as the last line of stdout');
}

const hex = (h: Uint8Array | null): string => (h === null ? '-' : Buffer.from(h).toString('hex').slice(0, 16) + '...');

function formatState(s: BoardState): string {
  const lines = [`boot ${s.bootId.toString(16).padStart(8, '0')}, running slot ${s.active < 0 ? 'none' : s.active}`];
  for (const slot of s.slots) {
    const flags = ['bootable', 'pending', 'confirmed', 'active', 'permanent'].filter((k) => slot[k as keyof typeof slot] === true);
    lines.push(
      `  slot ${slot.slot}: ${slot.state}, ${slot.off}/${slot.len} of ${slot.size} bytes, sha256 ${hex(slot.hash)}${flags.length ? `, ${flags.join(', ')}` : ''}`,
    );
  }
  return lines.join('\n');
}

function formatInfo(i: BoardInfo): string {
  return [
    `board ${i.boardId}, firmware ${i.firmware}, protocol ${i.proto}, boot ${i.bootId.toString(16).padStart(8, '0')}`,
    `  MTU ${i.mtu} bytes, rx buffer ${i.rxBuffer} bytes, ${i.slots} slots of ${i.slotSize} bytes, descriptor formats ${i.formats.join(', ')}`,
    `  engine limits ${Object.entries(i.limits)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    `  capabilities ${i.capabilities.join(', ')}; line ${i.baud || 'unknown'} baud; frames in ${i.stats.rxFrames} (dropped ${i.stats.rxDropped}), out ${i.stats.txFrames}, boots ${i.stats.boots}`,
  ].join('\n');
}

/** STATE for JSON: hashes as hex. */
const stateJson = (s: BoardState): object => ({
  ...s,
  slots: s.slots.map((x) => ({ ...x, hash: x.hash === null ? null : Buffer.from(x.hash).toString('hex') })),
});

interface BoardStartOptions {
  flash: string;
  link?: string;
  pace?: boolean;
  slotSize?: number;
  mtu?: number;
  analog?: boolean;
  seed?: number;
  noiseOff?: boolean;
  truthOut?: string;
  broken?: string;
}

/** gle_board's analog options, checked here so that a mistake is named before the board starts. */
function analogArgs(o: BoardStartOptions): string[] {
  const given = (['seed', 'noiseOff', 'truthOut', 'broken'] as const).filter((k) => o[k] !== undefined);
  if (!o.analog) {
    if (given.length > 0) throw new GlekitError(`option --${given[0].replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: only with --analog`);
    return [];
  }
  if (o.seed === undefined) throw new GlekitError("option --analog: needs --seed S (the chip's mismatch)");
  const args = ['--analog', '--seed', String(o.seed)];
  if (o.noiseOff) args.push('--noise-off');
  if (o.truthOut !== undefined) args.push('--truth-out', resolve(o.truthOut));
  if (o.broken !== undefined) {
    const f = Number(o.broken);
    if (o.broken.trim() === '' || !(f >= 0 && f <= 1)) throw new GlekitError(`option --broken: must be a fraction in 0..1 (got ${JSON.stringify(o.broken)})`);
    args.push('--broken', String(f));
  }
  return args;
}

function registerBoardStart(program: Command): void {
  program
    .command('board')
    .description("the emulated board (firmware-bridge's host build)")
    .command('start')
    .description('start the emulated board on a new pseudo-terminal and print its port; runs until interrupted')
    .option('--flash <file>', "its flash (both slots and their trailers); kept across restarts like a real board's", 'board.flash')
    .option('--link <path>', 'also make the port reachable at this path (a symbolic link)')
    .option('--pace', 'read and write no faster than 8N1 at the baud rate the host sets, as a real UART')
    .option('--slot-size <bytes>', 'bytes per slot', integerOption('slot-size', 4096))
    .option('--mtu <bytes>', 'largest payload per frame', integerOption('mtu', 256))
    .option('--analog', 'an analog board (firmware-bridge/ANALOG.md): trims, probes, ADC read-outs; calibrate it with glekit calibrate')
    .option('--seed <n>', "with --analog: the chip's mismatch seed", integerOption('seed', 0))
    .option('--noise-off', 'with --analog: no temporal or read noise')
    .option('--truth-out <file>', 'with --analog: write the hidden realisation as JSON (for tests and acceptance measurements)')
    .option('--broken <fraction>', 'with --analog: the fraction of neurons with a trim that cannot reach its target')
    .action(async (o: BoardStartOptions) => {
      mkdirSync(dirname(resolve(o.flash)), { recursive: true });
      const args = [
        ...(o.link ? ['--link', o.link] : []),
        ...(o.slotSize ? ['--slot-size', String(o.slotSize)] : []),
        ...(o.mtu ? ['--mtu', String(o.mtu)] : []),
        ...analogArgs(o),
      ];
      const board = await BoardProcess.start({ flash: o.flash, pace: o.pace, args });
      process.stdout.write(`port ${board.port}\n`);
      process.stderr.write(`board running (pid ${board.pid}, flash ${resolve(o.flash)}${o.link ? `, linked at ${o.link}` : ''}); Ctrl-C stops it\n`);
      const stop = (): void => {
        board.child.kill('SIGTERM');
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await board.exited;
      if (board.exitCode !== 0 && board.exitSignal !== 'SIGTERM') {
        throw new GlekitError(`the board stopped (${board.exitSignal ?? `exit code ${board.exitCode}`}): ${board.output.trim().split('\n').pop() ?? ''}`);
      }
    });
}

function registerDevice(program: Command): void {
  const device = program.command('device').description('ask a board what it is and holds; confirm, revert or reset it');
  withPort(device.command('info').description('firmware, board id, boot id, MTU, slots, engine limits, capabilities')).action(async (o: PortOptions) => {
    const info = await withBoard(o.port, connectOptions(o), (c) => c.info());
    printResult(!!o.json, info, o.json ? '' : formatInfo(info));
  });
  withPort(device.command('state').description('each slot: what it holds, whether it is bootable, pending, confirmed, active')).action(
    async (o: PortOptions) => {
      const s = await withBoard(o.port, connectOptions(o), (c) => c.state());
      printResult(!!o.json, stateJson(s), o.json ? '' : formatState(s));
    },
  );
  withPort(device.command('confirm').description('keep the running test image after resets')).action(async (o: PortOptions) => {
    const s = await withBoard(o.port, connectOptions(o), (c) => c.confirm());
    printResult(!!o.json, stateJson(s), o.json ? '' : `confirmed\n${formatState(s)}`);
  });
  withPort(device.command('revert').description('back to the previous image (an unconfirmed test image reverts at a reset)')).action(async (o: PortOptions) => {
    const r = await withBoard(o.port, connectOptions(o), (c) => revertBoard(c));
    printResult(
      !!o.json,
      { how: r.how, state: stateJson(r.state) },
      o.json ? '' : `reverted by ${r.how === 'reset' ? 'a reset' : 'activating the other slot'}\n${formatState(r.state)}`,
    );
  });
  withPort(device.command('reset').description('reboot the board')).action(async (o: PortOptions) => {
    const s = await withBoard(o.port, connectOptions(o), (c) => c.reset());
    printResult(!!o.json, stateJson(s), o.json ? '' : `reset\n${formatState(s)}`);
  });
}

function registerDeploy(program: Command): void {
  withPort(program.command('deploy').description("upload a descriptor to the board's free slot (resuming), verify it and boot it"))
    .requiredOption('--descriptor <file>', 'the .gled file')
    .option('--test', 'boot it as a test: it reverts at the next reset unless confirmed (default)')
    .option('--permanent', 'boot it and keep it')
    .action(async (o: PortOptions & { descriptor: string; test?: boolean; permanent?: boolean }) => {
      if (o.test && o.permanent) throw new GlekitError('options --test and --permanent exclude each other');
      let bytes: Uint8Array;
      try {
        bytes = readFileSync(o.descriptor);
      } catch (e) {
        throw new GlekitError(`${o.descriptor}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
      const progress = createProgress('upload', bytes.length, { quiet: false });
      const t0 = performance.now();
      const r = await withBoard(o.port, connectOptions(o), (c) =>
        deployDescriptor(c, o.descriptor, bytes, o.permanent ? 'permanent' : 'test', (p) => {
          const rate = p.acked / Math.max((performance.now() - t0) / 1000, 1e-3);
          progress.update(p.acked, `${(rate / 1000).toFixed(1)} kB/s`);
        }),
      );
      progress.stop();
      const human = r.alreadyRunning
        ? `${o.descriptor} already runs on ${o.port} (slot ${r.slot}${r.mode === 'permanent' ? ', confirmed' : ''})`
        : `deployed ${o.descriptor} (${r.bytes} bytes, image sha256 ${r.sha256.slice(0, 16)}...) to slot ${r.slot} of ${o.port}` +
          `${r.resumedFrom > 0 ? `, resumed at byte ${r.resumedFrom}` : ''} in ${r.uploadSeconds.toFixed(2)} s (${(r.bytesPerSecond / 1000).toFixed(1)} kB/s); ` +
          `running as ${r.mode === 'test' ? 'a test (glekit device confirm keeps it, a reset reverts it)' : 'the permanent image'}`;
      printResult(!!o.json, { ...r, state: stateJson(r.state) }, o.json ? '' : human);
    });
}

function registerHil(program: Command): void {
  const hil = program.command('hil').description('hardware in the loop');
  registerHilTrain(hil);
  withPort(hil.command('compare').description("run a task's split on the board and on the TypeScript emulator and compare every read-out code"))
    .requiredOption('--descriptor <file>', 'the .gled file the board runs')
    .requiredOption('--task <name>', 'yinyang | mnist | mnist1d')
    .option('--split <split>', 'test | validation | train', 'test')
    .option('--limit <n>', 'only the first N samples', integerOption('limit', 1))
    .option('--record-nir <file>', "also write the board's per-layer states of every step (a second, recording run) as NIR graph data (docs/nir.md)")
    .action(async (o: PortOptions & { descriptor: string; task: string; split: string; limit?: number; recordNir?: string }) => {
      if (!['test', 'validation', 'train'].includes(o.split))
        throw new GlekitError(`option --split: must be test, validation or train (got ${JSON.stringify(o.split)})`);
      if (o.recordNir !== undefined) {
        checkOutputFile('--record-nir', o.recordNir, [{ option: '--descriptor', path: o.descriptor }]);
        const rec = await recordBoard({
          port: o.port,
          connect: connectOptions(o),
          descriptorPath: o.descriptor,
          task: o.task,
          split: o.split as 'test',
          limit: o.limit,
          out: o.recordNir,
        });
        process.stderr.write(
          `recorded the board's per-layer states of ${rec.samples} samples as NIR graph data: ${resolve(o.recordNir)}, ${rec.bytes} bytes\n`,
        );
      }
      const r = await hilCompare({
        port: o.port,
        descriptorPath: o.descriptor,
        task: o.task,
        split: o.split as 'test',
        limit: o.limit,
        connect: connectOptions(o),
      });
      const human =
        `${r.task} ${r.split} (${r.samples} samples) on the board at ${r.port}: accuracy ${(100 * r.accuracy).toFixed(2)} %, ` +
        `outputs sha256 ${r.outputsSha256.slice(0, 16)}...; emulator ${(100 * r.emulatorAccuracy).toFixed(2)} %, ${r.emulatorOutputsSha256.slice(0, 16)}...; ` +
        (r.equal
          ? 'every read-out code equal'
          : `${r.mismatches} codes differ, first at sample ${r.firstMismatch!.sample} output ${r.firstMismatch!.output} (board ${r.firstMismatch!.a}, emulator ${r.firstMismatch!.b})`) +
        `; ${Math.round(r.stepsPerSecond)} steps/s on the board`;
      printResult(!!o.json, r, o.json ? '' : human);
      if (!r.equal) process.exitCode = 2;
    });
}

function registerHilTrain(hil: Command): void {
  withPort(
    hil
      .command('train')
      .description(
        'train with the board in the loop: forward pass and states from the board, LE updates on the host, re-upload per batch, confirm or revert per epoch',
      ),
  )
    .requiredOption('--model <file>', 'the model to start from (LE, tau_r = tau_m)')
    .requiredOption('--task <name>', 'yinyang | mnist | mnist1d')
    .option('--hw <profile>', 'the profile the images are compiled for', 'fpga-fixed16')
    .option('--epochs <n>', 'epochs', integerOption('epochs', 1), 3)
    .option('--lr <lr>', "learning rate (the model's optimizer; default 1e-3, as robustness --chip-lr)", positiveOption('lr'), 1e-3)
    .option('--batch <n>', "batch size (default: the model's)", integerOption('batch', 1))
    .option('--board-calibration <file>', "compile every image with this board calibration's trim codes")
    .option('--train-limit <n>', 'training samples per epoch (default: all)', integerOption('train-limit', 1))
    .option('--seed <n>', 'seed of the data order', integerOption('seed', 0), 1)
    .option('--checkpoint <file>', 'the checkpoint written after every epoch (default: OUT.hil-checkpoint.json, else hil-checkpoint.json)')
    .option('--resume', 'continue from the checkpoint')
    .option('--out <file>', 'write the trained model here')
    .action(
      async (
        o: PortOptions & {
          model: string;
          task: string;
          hw: string;
          epochs: number;
          lr: number;
          batch?: number;
          boardCalibration?: string;
          trainLimit?: number;
          seed: number;
          checkpoint?: string;
          resume?: boolean;
          out?: string;
        },
      ) => {
        const model = loadModel(o.model);
        if (o.out !== undefined) checkOutputFile('--out', o.out, [{ option: '--model', path: o.model }]);
        const batch = o.batch ?? (typeof model.training.batchSize === 'number' ? model.training.batchSize : 32);
        const checkpoint = o.checkpoint ?? (o.out !== undefined ? `${o.out}.hil-checkpoint.json` : 'hil-checkpoint.json');
        const r = await hilTrain({
          port: o.port,
          modelPath: o.model,
          model,
          task: o.task,
          profile: o.hw,
          epochs: o.epochs,
          lr: o.lr,
          batchSize: batch,
          patchImage:
            o.boardCalibration === undefined
              ? undefined
              : (d) => applyBoardCalibration(d, o.boardCalibration!, targetsFromModel(model), `model ${o.model}`).bytes,
          trainLimit: o.trainLimit,
          seed: o.seed,
          checkpoint,
          resume: !!o.resume,
          connect: connectOptions(o),
          note: (line) => process.stderr.write(line + '\n'),
        });
        if (o.out !== undefined) saveModel(o.out, r.model);
        const { model: _m, ...summary } = r;
        const human =
          `hil train on board ${r.board}${r.analog ? ' (analog)' : ''}: test accuracy ${(100 * r.initialTestAccuracy).toFixed(1)} % -> ${(100 * r.testAccuracy).toFixed(1)} % ` +
          `after ${r.epochs} epochs (best validation ${(100 * r.bestValidationAccuracy).toFixed(1)} %); ${r.upload.count} uploads of ${Math.round(r.upload.bytes)} bytes, ` +
          `${(1000 * r.upload.meanSeconds).toFixed(0)} ms each (+ ${(1000 * r.upload.meanCompileSeconds).toFixed(0)} ms compile); ${r.seconds.toFixed(0)} s` +
          (o.out !== undefined ? `; model ${resolve(o.out)}` : '');
        printResult(!!o.json, summary, o.json ? '' : human);
      },
    );
}

export function registerBoardCommands(program: Command): void {
  registerBoardStart(program);
  registerDevice(program);
  registerDeploy(program);
  registerHil(program);
}
