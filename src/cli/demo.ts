/** `glekit demo`: the whole product on embedded defaults, the README's quick start. */
import type { Command } from 'commander';
import { formatDemo, runDemo } from '../device/index.js';
import { integerOption, printResult } from './options.js';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('train Yin-Yang, compile it, start an emulated board, deploy to it and compare the board with the emulator')
    .option('--dir <folder>', 'where the model, run folder, descriptor and board flash go', 'glekit-demo')
    .option('--seed <n>', 'training seed', integerOption('seed', 0, 2 ** 32 - 1), 1)
    .option('--hw <profile>', 'the profile to compile for', 'fpga-fixed16')
    .option('--baud <rate>', "the emulated line's rate (the board paces to it)", integerOption('baud', 1), 921600)
    .option('--json', 'print one JSON summary as the last line of stdout')
    .action(async (o: { dir: string; seed: number; hw: string; baud: number; json?: boolean }) => {
      const summary = await runDemo({
        dir: o.dir,
        seed: o.seed,
        profile: o.hw,
        baud: o.baud,
        quiet: !!o.json,
        note: (line) => process.stderr.write(line + '\n'),
      });
      printResult(!!o.json, summary, o.json ? '' : formatDemo(summary));
      if (!summary.equal) process.exitCode = 2;
    });
}
