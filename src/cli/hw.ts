/**
 * `glekit hw list` and `glekit hw show NAME`: the shipped substrate profiles, and one
 * profile in full with every number tagged [lit] (published) or [ill] (illustrative).
 */
import type { Command } from 'commander';
import { describeProfile, listProfiles, loadProfile, profileHash } from '../hw/index.js';

export function registerHwCommands(program: Command): void {
  const hw = program.command('hw').description('Hardware profiles: the substrates a network can be studied on');

  hw.command('list')
    .description('List the shipped profiles')
    .option('--json', 'print one JSON array as the last line of stdout')
    .action((opts: { json?: boolean }) => {
      const rows = listProfiles().map((name) => {
        const p = loadProfile(name);
        return { name, kind: p.kind, description: p.description, hash: profileHash(p) };
      });
      if (opts.json) {
        process.stdout.write(JSON.stringify(rows) + '\n');
        return;
      }
      const w = Math.max(...rows.map((r) => r.name.length));
      const k = Math.max(...rows.map((r) => r.kind.length));
      for (const r of rows) {
        // the start of the description, cut at a word so the list stays one line per profile
        const d = r.description;
        const short = d.length <= 88 ? d : d.slice(0, d.lastIndexOf(' ', 85)) + ' ...';
        process.stdout.write(`${r.name.padEnd(w)}  ${r.kind.padEnd(k)}  ${short}\n`);
      }
    });

  hw.command('show')
    .description('Show one profile (a name from `glekit hw list`, or a path to a profile file)')
    .argument('<name>', 'profile name or path')
    .option('--sources', 'also list every number with its source')
    .option('--json', 'print the validated profile as JSON')
    .action((name: string, opts: { sources?: boolean; json?: boolean }) => {
      const p = loadProfile(name);
      if (opts.json) process.stdout.write(JSON.stringify(p) + '\n');
      else process.stdout.write(describeProfile(p, { sources: opts.sources === true }) + '\n');
    });
}
