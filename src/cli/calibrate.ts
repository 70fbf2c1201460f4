/**
 * The analog board commands: `glekit calibrate` (trim codes for every neuron, cached per
 * board, firmware and targets) and `glekit hil train` (training with the board in the loop).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { calibrateBoard, loadTargetsFile, targetsFromModel, type BoardCalibration, type CalibrationTargets } from '../calibrate/index.js';
import { withBoard } from '../device/index.js';
import { loadModel } from '../model/model-file.js';
import { GlekitError } from '../util/errors.js';
import { checkOutputFile } from '../util/files.js';
import { integerOption, printResult } from './options.js';

const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(1)} %`);

/** The targets of --targets FILE or --model M (exactly one). */
export function targetsOption(o: { targets?: string; model?: string }): { targets: CalibrationTargets; what: string } {
  if ((o.targets === undefined) === (o.model === undefined)) throw new GlekitError('give exactly one of --targets FILE and --model M');
  if (o.targets !== undefined) return { targets: loadTargetsFile(o.targets), what: `targets ${o.targets}` };
  return { targets: targetsFromModel(loadModel(o.model!)), what: `model ${o.model}` };
}

function formatCalibration(c: BoardCalibration, path: string, reused: boolean, resumed: string[]): string {
  const s = c.stats;
  const failed = c.layers.flatMap((l, li) =>
    l.ok.flatMap((ok, i) => (ok ? [] : [`${li}:${i}(${(['tauM', 'tauR', 'gain', 'offset'] as const).filter((p) => !l.params[p].ok[i]).join(',')})`])),
  );
  const lines = [
    `${reused ? 'reused the cached calibration' : 'calibrated'} board ${c.board.id} (firmware ${c.board.firmware}) for targets ${c.targetsHash.slice(0, 16)}: ${resolve(path)}`,
    `${s.okNeurons} of ${s.neurons} neurons calibrated; ${s.rounds} measurement rounds, ${s.probes} probes, ${(s.bytesRead / 1024).toFixed(0)} KiB of ADC samples, ${s.seconds.toFixed(1)} s${resumed.length ? ` (resumed after ${resumed.join(', ')})` : ''}`,
    "spread of the host's estimates against the targets (CV; offset: std in network units), before -> after:",
    ...(['tauM', 'tauR', 'gain'] as const).map((p) => `  ${p.padEnd(6)} ${pct(s.spread[p].before.cv)} -> ${pct(s.spread[p].after.cv)}`),
    `  offset ${s.spread.offset.before.std?.toFixed(4) ?? '-'} -> ${s.spread.offset.after.std?.toFixed(4) ?? '-'}`,
  ];
  if (failed.length > 0) lines.push(`flagged (not calibrated; layer:neuron(parameters)): ${failed.join(' ')}`);
  return lines.join('\n');
}

function registerCalibrate(program: Command): void {
  program
    .command('calibrate')
    .description(
      "Calibrate an analog board running the network's image: trim codes for every neuron's tau_m, tau_r, gain and offset (cached per board, firmware and targets)",
    )
    .requiredOption('--port <path>', "the board's serial port")
    .option('--baud <rate>', 'line rate in baud', integerOption('baud', 1), 115200)
    .option('--targets <file>', 'targets file (glekit.calibration-targets/1; calibration/README.md)')
    .option('--model <file>', 'take the targets from this model file (its tau_m and tau_r, gain 1, offset 0)')
    .option('--out <file>', 'also write the calibration here (the cache keeps its own copy)')
    .option('--force', 'measure again even if the cache holds a calibration of this board and targets')
    .option('--cache-dir <dir>', 'the calibration cache (default $GLEKIT_CACHE/calibration or ~/.cache/glekit/calibration)')
    .option('--repeats <n>', 'measurements per round of the code search (more: less spread, more time)', integerOption('repeats', 1, 16), 1)
    .option('--json', 'print one JSON summary as the last line of stdout')
    .action(
      async (o: {
        port: string;
        baud: number;
        targets?: string;
        model?: string;
        out?: string;
        force?: boolean;
        cacheDir?: string;
        repeats: number;
        json?: boolean;
      }) => {
        const { targets } = targetsOption(o);
        if (o.out !== undefined)
          checkOutputFile('--out', o.out, [
            ...(o.targets ? [{ option: '--targets', path: o.targets }] : []),
            ...(o.model ? [{ option: '--model', path: o.model }] : []),
          ]);
        const r = await withBoard(o.port, { baudRate: o.baud }, (client) =>
          calibrateBoard(client, targets, {
            out: o.out,
            force: o.force,
            cacheDir: o.cacheDir,
            repeats: o.repeats,
            onProgress: (stage, round) => {
              if (!o.json && process.stderr.isTTY) process.stderr.write(`\rcalibrate: ${stage} round ${round}   `);
            },
          }),
        );
        if (!o.json && process.stderr.isTTY) process.stderr.write('\n');
        const c = r.calibration;
        printResult(
          !!o.json,
          {
            calibration: resolve(r.path),
            out: o.out === undefined ? null : resolve(o.out),
            reused: r.reused,
            resumedStages: r.resumedStages,
            board: c.board,
            targetsHash: c.targetsHash,
            contentHash: c.contentHash,
            stats: c.stats,
            flagged: c.layers.flatMap((l, layer) => l.ok.flatMap((ok, neuron) => (ok ? [] : [{ layer, neuron }]))),
          },
          formatCalibration(c, r.path, r.reused, r.resumedStages),
        );
      },
    );
}

export function registerCalibrateCommands(program: Command): void {
  registerCalibrate(program);
}
