/**
 * `glekit check-portable`: runs the portable numerics check (src/engine/portable-check.ts)
 * with the native portable kernels, when the addon has them, and with the TypeScript
 * portable kernels, and compares every checksum with the committed one; and compares the
 * native portable kernels with the TypeScript ones output by output on awkward shapes
 * (portableKernelSweep). Exit code 0 when all match, 1 (naming what differs) when not. The native run uses the thread
 * count every run uses (glekit --threads N, GLEKIT_THREADS, else all cores), and the
 * addon at GLEKIT_NATIVE_ADDON when set (another build variant).
 */
import type { Command } from 'commander';

import { portableTypescriptKernels } from '../engine/kernels-portable.js';
import { kernelThreads } from '../engine/native.js';
import {
  loadNativePortable,
  PORTABLE_CHECK,
  PORTABLE_CHECKSUMS,
  portableKernelSweep,
  runPortableCheck,
  sweepShapes,
  type PortableChecksums,
} from '../engine/portable-check.js';
import { printResult } from './options.js';

interface CheckRow {
  kernels: string;
  simd: string | null;
  threads: number | null;
  checksums: PortableChecksums;
  match: { float32: boolean; float64: boolean };
}

export function registerCheckPortableCommand(program: Command): void {
  program
    .command('check-portable')
    .description(
      'Check that the portable numerics mode gives the committed bits here: a short training run in float32 and float64 with the native and TypeScript portable kernels',
    )
    .option('--json', 'print one JSON object as the last line of stdout')
    .action((opts: { json?: boolean }) => {
      // loads the addon as every run does (its default thread count, or glekit --threads N)
      const threads = kernelThreads();
      const native = loadNativePortable();
      const runs: { name: string; simd: string | null; threads: number | null; kernels: typeof portableTypescriptKernels }[] = [];
      if (native.kernels !== null && native.addon !== null) {
        runs.push({ name: 'portable', simd: typeof native.addon.simd === 'string' ? native.addon.simd : null, threads, kernels: native.kernels });
      }
      runs.push({ name: portableTypescriptKernels.name, simd: null, threads: null, kernels: portableTypescriptKernels });

      const rows: CheckRow[] = runs.map((run) => {
        const checksums = runPortableCheck(run.kernels);
        return {
          kernels: run.name,
          simd: run.simd,
          threads: run.threads,
          checksums,
          match: { float32: checksums.float32 === PORTABLE_CHECKSUMS.float32, float64: checksums.float64 === PORTABLE_CHECKSUMS.float64 },
        };
      });

      // each kernel on awkward shapes, native against TypeScript: no committed numbers needed
      const sweep = native.kernels === null ? null : portableKernelSweep(native.kernels);

      const differs: string[] = [];
      if (sweep !== null && sweep.differences.length > 0) {
        differs.push(
          `the native portable kernels differ from the TypeScript ones in ${sweep.differences.length} of ${sweep.compared} outputs (first: ${sweep.differences[0]})`,
        );
      }
      for (const row of rows) {
        for (const dtype of ['float32', 'float64'] as const) {
          if (!row.match[dtype])
            differs.push(`${dtype} with the ${describe(row)} kernels gives ${row.checksums[dtype]}, expected ${PORTABLE_CHECKSUMS[dtype]}`);
        }
      }
      const ok = differs.length === 0;
      const lines = [
        `portable numerics check: sizes ${PORTABLE_CHECK.sizes.join('-')}, batch ${PORTABLE_CHECK.batch}, ` +
          `${PORTABLE_CHECK.sgdSteps + PORTABLE_CHECK.momentumSteps + PORTABLE_CHECK.gradientSteps} steps`,
      ];
      if (native.kernels === null) lines.push(`native portable kernels not checked: ${native.failure}`);
      if (sweep !== null) {
        lines.push(
          `kernel sweep: ${sweep.compared} outputs of drive, errorDown, weightGrad, fusedSgd on ${sweepShapes().length} shapes x 2 dtypes, native vs TypeScript: ` +
            (sweep.differences.length === 0 ? 'identical' : `${sweep.differences.length} DIFFER`),
        );
        for (const d of sweep.differences.slice(0, 5)) lines.push(`  ${d}`);
      }
      const width = Math.max(...rows.map((r) => describe(r).length), 'expected'.length);
      for (const dtype of ['float32', 'float64'] as const) {
        lines.push(`${dtype}:`);
        lines.push(`  ${'expected'.padEnd(width)}  ${PORTABLE_CHECKSUMS[dtype]}`);
        for (const row of rows) lines.push(`  ${describe(row).padEnd(width)}  ${row.checksums[dtype]}  ${row.match[dtype] ? 'ok' : 'DIFFERS'}`);
      }
      lines.push(ok ? 'all match' : `MISMATCH: ${differs.length} difference${differs.length === 1 ? '' : 's'} (listed on stderr)`);
      printResult(opts.json === true, { ok, expected: PORTABLE_CHECKSUMS, results: rows, sweep, nativeFailure: native.failure }, lines.join('\n'));
      if (!ok) {
        process.stderr.write(`glekit: check-portable: ${differs.join('; ')}\n`);
        process.exitCode = 1;
      }
    });
}

function describe(row: CheckRow): string {
  if (row.simd === null) return row.kernels;
  return `${row.kernels} (native ${row.simd}${row.threads === null ? '' : `, ${row.threads} thread${row.threads === 1 ? '' : 's'}`})`;
}
