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
import { VERSION } from '../version.js';
import { integerOption } from './options.js';
import { setKernelThreads } from '../engine/native.js';

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
  .hook('preAction', () => {
    const { threads } = program.opts<{ threads?: number }>();
    if (threads !== undefined) setKernelThreads(threads);
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

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof GlekitError) {
    process.stderr.write(`glekit: error: ${err.message}\n`);
  } else {
    process.stderr.write(`glekit: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  process.exit(1);
});
