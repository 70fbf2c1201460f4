/** The built command line (dist/src/cli/main.js) run as a child process, for tests that go through it. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `glekit ARGS` in `cwd`; `env` replaces the environment when given. */
export function runCli(cwd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeout?: number } = {}): CliRun {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: opts.env, timeout: opts.timeout });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
