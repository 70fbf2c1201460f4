/**
 * NIR exchange: `glekit export --to nir` and `glekit import --from nir` (docs/nir.md).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { exportModelFile, importNirToModelFile } from '../nir/index.js';
import { GlekitError } from '../util/errors.js';
import { checkOutputFile } from '../util/files.js';
import { positiveOption, printResult } from './options.js';

function formatOption(option: string, value: string): void {
  if (value.toLowerCase() !== 'nir') throw new GlekitError(`option ${option}: the only exchange format is nir (got ${JSON.stringify(value)})`);
}

export function registerNirCommands(program: Command): void {
  program
    .command('export')
    .description("Write a model file as a NIR graph (NIR's HDF5 layout; docs/nir.md) for other neuromorphic tools")
    .requiredOption('--model <file>', 'model file')
    .requiredOption('--to <format>', 'nir')
    .requiredOption('--out <file>', 'NIR file to write (NET.nir)')
    .option('--json', 'print one JSON summary as the last line of stdout')
    .action(async (opts: { model: string; to: string; out: string; json?: boolean }) => {
      formatOption('--to', opts.to);
      checkOutputFile('--out', opts.out, [{ option: '--model', path: opts.model }]);
      const s = await exportModelFile(opts.model, opts.out);
      printResult(
        !!opts.json,
        { ...s, out: resolve(s.out) },
        `exported ${opts.model} (${s.layers} layers, ${s.nodes} nodes) as NIR ${s.nirVersion}: ${resolve(s.out)}, ${s.bytes} bytes`,
      );
    });

  program
    .command('import')
    .description('Read a NIR graph (Input, Affine/Linear, LI/CubaLI, Output in a chain) as a glekit model file; anything else is refused naming the node')
    .argument('<file>', 'NIR file (NET.nir)')
    .requiredOption('--from <format>', 'nir')
    .requiredOption('--out <file>', 'model file to write (M.json)')
    .option('--task <name>', 'the task the model is for (default: the one the file records, else "none")')
    .option('--dt <x>', 'model time per step (default: the one the file records, else a tenth of the smallest time constant)', positiveOption('dt'))
    .option('--json', 'print one JSON summary as the last line of stdout')
    .action(async (file: string, opts: { from: string; out: string; task?: string; dt?: number; json?: boolean }) => {
      formatOption('--from', opts.from);
      checkOutputFile('--out', opts.out, [{ option: 'the NIR file', path: file }]);
      const r = await importNirToModelFile(file, opts.out, { task: opts.task, dt: opts.dt });
      const m = r.model;
      const sizes = [m.network.layers[0].inputSize, ...m.network.layers.map((l) => l.outputSize)].join('-');
      const same =
        r.sameAsExported === null
          ? ''
          : r.sameAsExported
            ? ', the same model file glekit exported (content hash equal)'
            : ', differs from the model glekit exported (content hash differs)';
      const human = [
        `imported ${file}: ${sizes}, task ${m.task}, dt ${m.network.dt}${same}: ${resolve(opts.out)} (${m.contentHash})`,
        ...r.notes.map((n) => `note: ${n}`),
      ].join('\n');
      printResult(
        !!opts.json,
        {
          file,
          out: resolve(opts.out),
          modelHash: m.contentHash,
          task: m.task,
          sizes,
          fromGlekit: r.fromGlekit,
          sameAsExported: r.sameAsExported,
          notes: r.notes,
        },
        human,
      );
    });
}
