/**
 * The whole product on embedded defaults (`glekit demo`, the README's quick start): train
 * the Yin-Yang LE network, compile it for a profile, start an emulated board on a
 * pseudo-terminal, deploy to it over the serial bridge, compare the board with the
 * emulator on the whole test split, confirm the image, and say where everything is.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BoardProcess } from '../bridge/index.js';
import { compileModel, writeDescriptorFile } from '../compile/index.js';
import { loadProfile } from '../hw/index.js';
import { loadModel } from '../model/model-file.js';
import { runClassifierTraining } from '../train/index.js';
import { GlekitError } from '../util/errors.js';
import { deployDescriptor, hilCompare, withBoard, type DeployResult, type HilCompareSummary } from './deploy.js';

export interface DemoRequest {
  /** where every artefact goes */
  dir: string;
  seed: number;
  profile: string;
  /** the line rate the board is paced at */
  baud: number;
  quiet: boolean;
  note: (line: string) => void;
}

export interface DemoSummary {
  task: 'yinyang';
  seed: number;
  profile: string;
  floatTestAccuracy: number | null;
  boardAccuracy: number;
  emulatorAccuracy: number;
  outputsSha256: string;
  equal: boolean;
  baud: number;
  artefacts: { model: string; runDir: string; descriptor: string; boardFlash: string };
  deploy: Pick<DeployResult, 'slot' | 'bytes' | 'sha256' | 'uploadSeconds' | 'bytesPerSecond'>;
  hil: Pick<HilCompareSummary, 'samples' | 'mismatches' | 'firstMismatch' | 'stepsPerSecond'>;
  seconds: { train: number; compile: number; deploy: number; compare: number; total: number };
}

const since = (t: number): number => (performance.now() - t) / 1000;

export async function runDemo(req: DemoRequest): Promise<DemoSummary> {
  const t0 = performance.now();
  const dir = resolve(req.dir);
  mkdirSync(dir, { recursive: true });
  const model = join(dir, `yinyang-seed${req.seed}.model.json`);
  const descriptor = join(dir, `yinyang-seed${req.seed}.${req.profile}.gled`);
  const flash = join(dir, 'board.flash');

  req.note(`1/4 training LE on Yin-Yang (seed ${req.seed}) -> ${model}`);
  const trained = await runClassifierTraining({
    task: 'yinyang',
    seed: req.seed,
    dataSeed: 0,
    out: model,
    runDir: join(dir, `yinyang-seed${req.seed}`),
    quiet: req.quiet,
    resume: true,
    note: req.note,
  });
  const tTrain = since(t0);

  req.note(`2/4 compiling for ${req.profile} -> ${descriptor}`);
  const t1 = performance.now();
  writeDescriptorFile(descriptor, compileModel({ model: loadModel(model), profile: loadProfile(req.profile) }).bytes);
  const tCompile = since(t1);

  req.note(`3/4 starting an emulated board (flash ${flash}, line paced at ${req.baud} baud) and deploying`);
  const board = await BoardProcess.start({ flash, pace: true });
  try {
    const t2 = performance.now();
    const connect = { baudRate: req.baud };
    const bytes = readFileSync(descriptor);
    const deployed = await withBoard(board.port, connect, (c) => deployDescriptor(c, descriptor, bytes, 'test'));
    const tDeploy = since(t2);

    req.note(`4/4 comparing the board with the TypeScript emulator on the 1000 test samples (port ${board.port})`);
    const t3 = performance.now();
    const hil = await hilCompare({ port: board.port, descriptorPath: descriptor, task: 'yinyang', connect });
    if (hil.equal) await withBoard(board.port, connect, (c) => c.confirm());
    const tCompare = since(t3);
    return {
      task: 'yinyang',
      seed: req.seed,
      profile: req.profile,
      floatTestAccuracy: trained.testAccuracy,
      boardAccuracy: hil.accuracy,
      emulatorAccuracy: hil.emulatorAccuracy,
      outputsSha256: hil.outputsSha256,
      equal: hil.equal,
      baud: req.baud,
      artefacts: { model, runDir: trained.runDir, descriptor, boardFlash: flash },
      deploy: {
        slot: deployed.slot,
        bytes: deployed.bytes,
        sha256: deployed.sha256,
        uploadSeconds: deployed.uploadSeconds,
        bytesPerSecond: deployed.bytesPerSecond,
      },
      hil: { samples: hil.samples, mismatches: hil.mismatches, firstMismatch: hil.firstMismatch, stepsPerSecond: hil.stepsPerSecond },
      seconds: { train: tTrain, compile: tCompile, deploy: tDeploy, compare: tCompare, total: since(t0) },
    };
  } finally {
    board.child.kill('SIGTERM');
    await board.exited;
    if (board.exitCode !== 0 && board.exitSignal !== 'SIGTERM' && board.exitCode !== null) {
      req.note(`the board exited with code ${board.exitCode}: ${board.output.trim()}`);
    }
  }
}

export function formatDemo(s: DemoSummary): string {
  const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(1)} %`);
  if (!s.equal && s.hil.firstMismatch === null) throw new GlekitError('inconsistent comparison');
  return [
    `Yin-Yang LE, seed ${s.seed}: float ${pct(s.floatTestAccuracy)}, ${s.profile} on the board ${pct(s.boardAccuracy)}, emulator ${pct(s.emulatorAccuracy)}`,
    s.equal
      ? `board = emulator in every read-out code of ${s.hil.samples} samples (outputs sha256 ${s.outputsSha256.slice(0, 16)}...); image confirmed`
      : `board and emulator DIFFER in ${s.hil.mismatches} codes, first at sample ${s.hil.firstMismatch!.sample}; image left unconfirmed (a reset reverts it)`,
    `uploaded ${s.deploy.bytes} bytes at ${(s.deploy.bytesPerSecond / 1000).toFixed(1)} kB/s over a ${s.baud}-baud line; ${Math.round(s.hil.stepsPerSecond)} steps/s on the board`,
    `time: train ${s.seconds.train.toFixed(1)} s, compile ${s.seconds.compile.toFixed(1)} s, deploy ${s.seconds.deploy.toFixed(1)} s, compare ${s.seconds.compare.toFixed(1)} s; total ${s.seconds.total.toFixed(1)} s`,
    'artefacts:',
    `  model        ${s.artefacts.model}`,
    `  run folder   ${s.artefacts.runDir} (checkpoint, learning curves, plots)`,
    `  descriptor   ${s.artefacts.descriptor} (glekit inspect shows it)`,
    `  board flash  ${s.artefacts.boardFlash} (glekit board start --flash ... boots it again)`,
  ].join('\n');
}
