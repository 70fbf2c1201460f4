import type { Command } from 'commander';
import { parseTraceSpec, runTrace } from '../trace/index.js';
import { readJsonFile } from '../util/json-reader.js';
import { checkOutputFile, writeFileAtomic } from '../util/files.js';
import { writeTraceRecording } from '../nir/index.js';

export function registerTraceCommand(program: Command): void {
  program
    .command('trace')
    .description('Run a conformance SPEC through the float engine and write every state of every step (formats: docs/spec-trace.md)')
    .requiredOption('--spec <file>', 'SPEC.json: network, learning rule, inputs and targets')
    .requiredOption('--out <file>', 'TRACE.json to write')
    .option('--record-nir <file>', 'also write the trace as NIR graph data (docs/nir.md)')
    .action(async (opts: { spec: string; out: string; recordNir?: string }) => {
      checkOutputFile('--out', opts.out, [{ option: '--spec', path: opts.spec }]);
      if (opts.recordNir !== undefined)
        checkOutputFile('--record-nir', opts.recordNir, [
          { option: '--spec', path: opts.spec },
          { option: '--out', path: opts.out },
        ]);
      const spec = parseTraceSpec(readJsonFile(opts.spec), opts.spec);
      const trace = runTrace(spec, opts.spec);
      writeFileAtomic(opts.out, JSON.stringify(trace));
      if (opts.recordNir !== undefined) await writeTraceRecording(opts.recordNir, spec, trace);
      process.stderr.write(`trace: ${spec.inputs.length} steps, ${spec.network.layers.length} layers, batch ${spec.batch} -> ${opts.out}\n`);
    });
}
