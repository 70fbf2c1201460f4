#!/usr/bin/env node
/**
 * The glekit command line: a thin layer over the library. Each command parses its
 * flags, calls one library function and prints; errors a user can fix are printed
 * as one line and exit with code 1.
 */
import { Command } from 'commander';
import { GlekitError, escapeControl } from '../util/errors.js';
import { registerTraceCommand } from './trace.js';
import { registerTrainCommands } from './train.js';
import { registerCompileCommands } from './compile.js';
import { registerHwCommands } from './hw.js';
import { registerRobustnessCommand } from './robustness.js';
import { registerBoardCommands } from './board.js';
import { registerDemoCommand } from './demo.js';
import { registerCalibrateCommands } from './calibrate.js';
import { registerNirCommands } from './nir.js';
import { registerCheckPortableCommand } from './check-portable.js';
import { VERSION } from '../version.js';
import { integerOption } from './options.js';
import { NUMERICS, setKernelThreads, setNumerics, type Numerics } from '../engine/native.js';

const program = new Command();
program
  .name('glekit')
  .description('Train GLE/LE networks, study them on imperfect substrates, compile and deploy them to neuromorphic hardware.')
  .version(VERSION)
  // a usage error is one line, like every other error (commands created below inherit this)
  .configureOutput({ outputError: (text, write) => write(`glekit: ${escapeControl(text.trim())} (see --help)\n`) })
  .option(
    '--threads <n>',
    "threads for one run's batched products (1..64; default GLEKIT_THREADS, else all cores; the same bits for any count; sweeps use 1 per worker)",
    integerOption('threads', 1, 64),
  )
  .option(
    '--numerics <mode>',
    `${NUMERICS.join(' | ')}: fast (default, GLEKIT_NUMERICS): native products and dynamics, bits follow the CPU; exact: the path of the recorded results (dynamics in TypeScript); portable: the same bits on every x86-64 machine`,
    (value: string): Numerics => {
      if ((NUMERICS as readonly string[]).includes(value)) return value as Numerics;
      throw new GlekitError(`option --numerics: must be one of ${NUMERICS.join(', ')} (got ${JSON.stringify(value)})`);
    },
  )
  .hook('preAction', () => {
    const { threads, numerics } = program.opts<{ threads?: number; numerics?: Numerics }>();
    if (threads !== undefined) setKernelThreads(threads);
    if (numerics !== undefined) setNumerics(numerics);
  });

registerTraceCommand(program);
registerTrainCommands(program);
registerCompileCommands(program);
registerHwCommands(program);
registerRobustnessCommand(program);
registerBoardCommands(program);
registerDemoCommand(program);
registerCalibrateCommands(program);
registerNirCommands(program);
registerCheckPortableCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof GlekitError) {
    process.stderr.write(`glekit: error: ${err.message}\n`);
  } else {
    process.stderr.write(`glekit: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  process.exit(1);
});
