import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { compileModel, writeDescriptorFile } from '../compile/index.js';
import { describeDescriptor, descriptorHash, formatDescriptorText, formatReport, loadDescriptorFile } from '../descriptor/index.js';
import { applyBoardCalibration, targetsFromModel } from '../calibrate/index.js';
import { emulateTask, type EngineName } from '../target/index.js';
import { loadProfile } from '../hw/index.js';
import { loadModel } from '../model/model-file.js';
import { GlekitError } from '../util/errors.js';
import { integerOption, printResult, renamedOption } from './options.js';
import { recordEmulation } from '../nir/index.js';
import { checkOutputFile } from '../util/files.js';

function parseDelays(value: string): number[] {
  return value.split(',').map((v, i) => {
    const n = Number(v.trim());
    if (v.trim() === '' || !Number.isInteger(n) || n < 0)
      throw new GlekitError(`option --delays: entry ${i} (${JSON.stringify(v)}) must be a non-negative integer`);
    return n;
  });
}

const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(2)} %`);

function registerCompile(program: Command): void {
  program
    .command('compile')
    .description('Compile a model file for a hardware profile into a device descriptor (.gled)')
    .requiredOption('--model <file>', 'model file')
    .requiredOption('--hw <profile>', 'hardware profile name (hw-models/NAME.json) or path')
    .requiredOption('--out <file>', 'descriptor to write (NET.gled)')
    .option(
      '--precision <spec>',
      'per-layer (default) | profile, and KEY=VALUE entries: weights|bias|drive|membrane|prospective|rate|input|state=WIDTH or =fixed<W,I,Q,O>, KEY@LAYER=..., decay=BITS',
    )
    .option(
      '--range-data <file>',
      'samples to measure value ranges on (JSON {"format":"glekit-range-data","inputs":[[...]]}); default: the model task\'s first training samples',
    )
    .option('--range-samples <n>', 'how many task samples to measure ranges on', integerOption('range-samples', 1))
    .addOption(
      new Option('--calibration <file>')
        .hideHelp()
        .argParser(renamedOption('--calibration', '--range-data', 'it gives range data; "calibration" names board calibration files')),
    )
    .addOption(
      new Option('--calibration-samples <n>')
        .hideHelp()
        .argParser(renamedOption('--calibration-samples', '--range-samples', 'the samples measure value ranges')),
    )
    .option('--delays <list>', 'per-layer transmission delays in steps, e.g. 0,2')
    .option(
      '--board-calibration <file>',
      "write each neuron's trim codes from this board calibration (glekit calibrate) into the descriptor, for an analog board",
    )
    .option('--json', 'print one JSON summary as the last line of stdout')
    .action(
      (opts: {
        model: string;
        hw: string;
        out: string;
        precision?: string;
        rangeData?: string;
        rangeSamples?: number;
        delays?: string;
        boardCalibration?: string;
        json?: boolean;
      }) => {
        const model = loadModel(opts.model);
        const profile = loadProfile(opts.hw);
        const result = compileModel({
          model,
          profile,
          precision: opts.precision,
          rangeFile: opts.rangeData,
          rangeSamples: opts.rangeSamples,
          delays: opts.delays === undefined ? undefined : parseDelays(opts.delays),
        });
        const applied =
          opts.boardCalibration === undefined
            ? null
            : applyBoardCalibration(result.descriptor, opts.boardCalibration, targetsFromModel(model), `model ${opts.model}`);
        if (applied !== null) {
          result.bytes = applied.bytes;
          result.descriptor = applied.descriptor;
          result.hash = descriptorHash(applied.bytes);
          result.notes.push(`trim codes of board ${applied.calibration.board.id} (${opts.boardCalibration}) written into every layer`);
          if (applied.flagged.length > 0) {
            result.notes.push(
              `${applied.flagged.length} neurons are not calibrated on that board (their codes are the best found): ${applied.flagged.map((f) => `${f.layer}:${f.neuron}(${f.params.join(',')})`).join(' ')}`,
            );
          }
        }
        writeDescriptorFile(opts.out, result.bytes);
        const human = [
          `compiled ${opts.model} for ${profile.name} (precision ${result.descriptor.header.precision}): ${resolve(opts.out)}, ${result.bytes.length} bytes, ${result.hash}`,
          `range data: ${result.rangeSource}`,
          `C engine memory for this network: ${result.footprint.total} bytes plus layer records${result.memoryBytes === null ? '' : ` (${profile.name} has ${result.memoryBytes})`}`,
          'quantisation report (saturated: weights at quantisation; datapath values in a bit-accurate run of the range data):',
          ...formatReport(result.report),
          ...result.notes.map((n) => `note: ${n}`),
        ].join('\n');
        printResult(
          !!opts.json,
          {
            descriptor: resolve(opts.out),
            descriptorHash: result.hash,
            bytes: result.bytes.length,
            profile: profile.name,
            precision: result.descriptor.header.precision,
            modelHash: model.contentHash,
            rangeData: result.rangeSource,
            placement: result.placement,
            footprintBytes: result.footprint,
            memoryBytes: result.memoryBytes,
            report: result.report,
            notes: result.notes,
            boardCalibration:
              applied === null
                ? null
                : {
                    file: resolve(opts.boardCalibration!),
                    board: applied.calibration.board,
                    contentHash: applied.calibration.contentHash,
                    flagged: applied.flagged,
                  },
          },
          human,
        );
      },
    );
}

function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('Describe a device descriptor (validates it first)')
    .argument('<descriptor>', 'NET.gled')
    .option('--json', 'print one JSON object as the last line of stdout')
    .action((path: string, opts: { json?: boolean }) => {
      const { descriptor, bytes } = loadDescriptorFile(path);
      if (opts.json) process.stdout.write(JSON.stringify(describeDescriptor(descriptor, bytes)) + '\n');
      else process.stdout.write(formatDescriptorText(descriptor, bytes) + '\n');
    });
}

function registerEmulate(program: Command): void {
  program
    .command('emulate')
    .description("Run a descriptor on a task's data with an integer engine (ts: the TypeScript emulator; c: the firmware C engine)")
    .requiredOption('--descriptor <file>', 'NET.gled')
    .requiredOption('--task <name>', 'the task the model was trained on')
    .option('--engine <engine>', 'ts | c', 'ts')
    .option('--split <split>', 'test | validation | train', 'test')
    .option('--data-seed <n>', 'data seed (default: the one recorded at compile time)', integerOption('data-seed', 0))
    .option('--limit <n>', 'only the first N samples', integerOption('limit', 1))
    .option('--model <file>', "also evaluate this float model (the descriptor's source) on the same samples")
    .option('--json', 'print one JSON summary as the last line of stdout')
    .option('--record-nir <file>', "also write every step's per-layer states (a second, recording run) as NIR graph data (docs/nir.md)")
    .action(
      async (opts: {
        descriptor: string;
        task: string;
        engine: string;
        split: string;
        dataSeed?: number;
        limit?: number;
        model?: string;
        json?: boolean;
        recordNir?: string;
      }) => {
        if (opts.engine !== 'ts' && opts.engine !== 'c') throw new GlekitError(`option --engine: must be ts or c (got ${JSON.stringify(opts.engine)})`);
        if (!['test', 'validation', 'train'].includes(opts.split))
          throw new GlekitError(`option --split: must be test, validation or train (got ${JSON.stringify(opts.split)})`);
        if (opts.recordNir !== undefined) {
          checkOutputFile('--record-nir', opts.recordNir, [{ option: '--descriptor', path: opts.descriptor }]);
          const r = await recordEmulation({
            descriptorPath: opts.descriptor,
            task: opts.task,
            engine: opts.engine,
            split: opts.split as 'test',
            dataSeed: opts.dataSeed,
            limit: opts.limit,
            out: opts.recordNir,
          });
          process.stderr.write(`recorded ${r.samples} samples' per-layer states as NIR graph data: ${resolve(opts.recordNir)}, ${r.bytes} bytes\n`);
        }
        const summary = await emulateTask({
          descriptorPath: opts.descriptor,
          task: opts.task,
          engine: opts.engine as EngineName,
          split: opts.split as 'test' | 'validation' | 'train',
          dataSeed: opts.dataSeed,
          limit: opts.limit,
          modelPath: opts.model,
        });
        const human =
          `${summary.task} ${summary.split} (${summary.samples} samples) on ${summary.profile} with the ${summary.engine} engine: ` +
          `accuracy ${pct(summary.accuracy)}${summary.floatAccuracy === null ? '' : ` (float target ${pct(summary.floatAccuracy)})`}, ` +
          `outputs sha256 ${summary.outputsSha256.slice(0, 16)}..., ${Math.round(summary.stepsPerSecond)} steps/s`;
        printResult(!!opts.json, summary, opts.json ? '' : human);
      },
    );
}

export function registerCompileCommands(program: Command): void {
  registerCompile(program);
  registerInspect(program);
  registerEmulate(program);
}
