/**
 * Sharded sweeps without Slurm (issue 12): which shard a process is (--shard, Slurm's and
 * Kubernetes' variables), the cost-balanced split, records files of many writers (partial
 * lines, duplicates), and the real CLI run as separate shard processes with the array
 * variables set, SIGKILLed at seeded random points, rerun, and collected: the summary
 * equals the single-machine one, byte for byte.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balanceOf, parseShard, shardFromEnvironment, splitByCost } from '../src/sweep/index.js';
import { CLI, runCli, type CliRun } from './helpers/cli.js';
import { writeUntrainedYinYang } from './helpers/models.js';

let dir: string;
let modelPath: string;

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npx tsc -p tsconfig.json first`);
  dir = mkdtempSync(join(tmpdir(), 'glekit-shard-'));
  modelPath = writeUntrainedYinYang(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function glekit(args: string[], env: NodeJS.ProcessEnv = {}): CliRun {
  return runCli(dir, args, { env: { ...cleanEnv(), ...env } });
}

/** This process's environment without array variables (the test may itself run inside a Slurm job). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('SLURM_') || k === 'JOB_COMPLETION_INDEX') delete env[k];
  return env;
}

/** mulberry32: the kills' seeded randomness. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shardLines(out: string, shard: number, count: number): number {
  const sub = join(out, 'records');
  if (!existsSync(sub)) return 0;
  return readdirSync(sub)
    .filter((f) => f.startsWith(`shard-${shard}-of-${count}.`))
    .reduce((a, f) => a + readFileSync(join(sub, f), 'utf8').split('\n').length - 1, 0);
}

describe('which shard', () => {
  it('reads --shard I/N, Slurm array variables and Kubernetes indexes', () => {
    expect(parseShard('3/8')).toMatchObject({ index: 3, count: 8 });
    expect(() => parseShard('8/8')).toThrow(/index must be an integer in 0..7/);
    expect(() => parseShard('3')).toThrow(/I\/N/);
    expect(() => parseShard('1/0')).toThrow(/number of shards/);
    expect(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_COUNT: '8', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '7' })).toMatchObject(
      { index: 5, count: 8 },
    );
    // --array=1-8: ids count from MIN
    expect(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '8' })).toMatchObject({ index: 0, count: 8 });
    expect(() =>
      shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '8', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '14' }),
    ).toThrow(/not contiguous/);
    // sbatch --array=3 of a script that says --shards 8: shard 3 alone
    expect(
      shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '1', SLURM_ARRAY_TASK_MIN: '3', SLURM_ARRAY_TASK_MAX: '3' }, 8),
    ).toMatchObject({ index: 3, count: 8 });
    expect(shardFromEnvironment({ JOB_COMPLETION_INDEX: '2' }, 4)).toMatchObject({ index: 2, count: 4 });
    expect(() => shardFromEnvironment({ JOB_COMPLETION_INDEX: '2' })).toThrow(/--shards N/);
    expect(() => shardFromEnvironment({})).toThrow(/--shard I\/N/);
  });

  it('splits by expected cost, deterministically', () => {
    const costs = [50, 1, 1, 1, 1, 50, 1, 1, 14, 14, 1, 50];
    const a = splitByCost(costs, 3);
    expect(splitByCost(costs, 3)).toEqual(a);
    // each of the three costly jobs on its own shard, and no shard above the mean by more than the largest cheap job
    expect(new Set([a[0], a[5], a[11]]).size).toBe(3);
    const b = balanceOf(costs, a, 3);
    expect(b.maxOverMean).toBeLessThan(1.05);
    expect(b.jobsPerShard.reduce((x, y) => x + y, 0)).toBe(costs.length);
  });
});

describe('glekit robustness run / collect / status (shards as processes)', () => {
  const sweep = (): string[] => ['--model', modelPath, '--hw', 'ideal', '--vary', 'noiseStd=0.05,0.1', '--seeds', '6', '--no-plots', '--quiet'];
  const N = 3;

  it('shards killed at seeded random points and rerun collect to the single-machine summary', async () => {
    const single = join(dir, 'single');
    const sharded = join(dir, 'sharded');
    expect(glekit(['robustness', ...sweep(), '--out', single, '--workers', '0']).code).toBe(0);
    const plan = glekit(['robustness', ...sweep(), '--out', sharded, '--plan-only']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(existsSync(join(sharded, 'plan.json'))).toBe(true);
    // nothing run yet; collect names what is missing
    const early = glekit(['robustness', 'collect', '--dir', sharded]);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/12 job\(s\) have no record: sharded: 12 of 12/);

    const random = rng(12);
    const env = (i: number) => ({
      SLURM_ARRAY_TASK_ID: String(i),
      SLURM_ARRAY_TASK_COUNT: String(N),
      SLURM_ARRAY_TASK_MIN: '0',
      SLURM_ARRAY_TASK_MAX: String(N - 1),
    });
    const killedAt: number[] = [];
    await Promise.all(
      Array.from(
        { length: N },
        (_, i) =>
          new Promise<void>((done) => {
            // kill after k records (k in 0..3 of the shard's 4 jobs); k = 0: at a random moment of start-up
            const k = Math.floor(random() * 4);
            const delay = random() * 1500;
            const child = spawn(process.execPath, [CLI, 'robustness', 'run', '--dir', sharded, '--workers', '0', '--quiet'], {
              cwd: dir,
              env: { ...cleanEnv(), ...env(i) },
              stdio: 'ignore',
            });
            const started = Date.now();
            const timer = setInterval(() => {
              if ((k > 0 && shardLines(sharded, i, N) >= k) || (k === 0 && Date.now() - started >= delay)) {
                child.kill('SIGKILL');
                clearInterval(timer);
              }
            }, 10);
            child.on('exit', () => {
              clearInterval(timer);
              killedAt.push(shardLines(sharded, i, N));
              done();
            });
          }),
      ),
    );
    const status = JSON.parse(
      glekit(['robustness', 'status', '--dir', sharded, '--tasks', String(N), '--json'])
        .stdout.trim()
        .split('\n')
        .pop()!,
    ) as { done: number; jobs: number };
    expect(status.jobs).toBe(12);
    expect(status.done).toBeLessThan(12);

    // rerun every shard to completion (a cut-off last line, if any, stays in its file and is ignored)
    for (let i = 0; i < N; i++) {
      const r = glekit(['robustness', 'run', '--dir', sharded, '--workers', '0', '--json'], env(i));
      expect(r.code, r.stderr).toBe(0);
      const last = JSON.parse(r.stdout.trim().split('\n').pop()!) as { shard: string; jobs: number; doneBefore: number; ran: number };
      expect(last.shard).toBe(`${i}/${N}`);
      expect(last.doneBefore + last.ran).toBe(last.jobs);
    }
    const c = glekit(['robustness', 'collect', '--dir', sharded, '--json']);
    expect(c.code, c.stderr).toBe(0);
    const collected = JSON.parse(c.stdout.trim().split('\n').pop()!) as { sweeps: { records: number; duplicates: number; missing: number }[] };
    expect(collected.sweeps[0]).toMatchObject({ records: 12, duplicates: 0, missing: 0 });
    expect(readFileSync(join(sharded, 'summary.json'), 'utf8')).toBe(readFileSync(join(single, 'summary.json'), 'utf8'));
    expect(readFileSync(join(sharded, 'summary.md'), 'utf8')).toBe(readFileSync(join(single, 'summary.md'), 'utf8'));

    // a duplicate writer (a stale attempt that also finished) and a line cut short: dropped and ignored
    const files = readdirSync(join(sharded, 'records')).sort();
    copyFileSync(join(sharded, 'records', files[0]), join(sharded, 'records', files[0].replace(/\.jsonl$/, '.dup.jsonl')));
    appendFileSync(join(sharded, 'records', files[1]), '{"jobId":"cut sho');
    const again = glekit(['robustness', 'collect', '--dir', sharded, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout.trim().split('\n').pop()!).sweeps[0]).toMatchObject({ records: 12, missing: 0 });
    expect(JSON.parse(again.stdout.trim().split('\n').pop()!).sweeps[0].duplicates).toBeGreaterThan(0);
    expect(readFileSync(join(sharded, 'summary.json'), 'utf8')).toBe(readFileSync(join(single, 'summary.json'), 'utf8'));
    expect(readFileSync(join(sharded, 'records', files[1]), 'utf8').endsWith('"cut sho')).toBe(true);

    // the single-machine command continues (here: finds done) the same directory, shard records included
    const resumed = glekit(['robustness', ...sweep(), '--out', sharded, '--workers', '0', '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout.trim().split('\n').pop()!)).toMatchObject({ resumed: 12, ran: 0 });
  }, 120_000);

  it('refuses what it cannot do, in one line', () => {
    expect(glekit(['robustness', 'run', '--dir', join(dir, 'single')]).stderr).toMatch(/which shard\?/);
    expect(glekit(['robustness', 'run', '--dir', join(dir, 'single'), '--shard', '0/2']).stderr).toMatch(/started on one machine, without plan\.json/);
    expect(glekit(['robustness', 'run', '--dir', join(dir, 'nope'), '--shard', '0/2']).stderr).toMatch(/not a directory/);
    expect(glekit(['robustness', 'run', '--dir', dir, '--shard', '0/2', '--shards', '2']).stderr).toMatch(/leave out one/);
    const s = glekit(['robustness', 'slurm', '--dir', join(dir, 'sharded'), '--tasks', '4', '--time', 'soon']);
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(/--time: must be a Slurm time limit/);
    const w = glekit(['robustness', 'slurm', '--dir', join(dir, 'sharded'), '--tasks', '4', '--cpus', '2', '--partition', 'short', '--json']);
    expect(w.code, w.stderr).toBe(0);
    const text = readFileSync(JSON.parse(w.stdout.trim().split('\n').pop()!).script, 'utf8');
    expect(text).toMatch(/#SBATCH --array=0-3\n/);
    expect(text).toMatch(/#SBATCH --requeue\n/);
    expect(text).toMatch(/#SBATCH --cpus-per-task=2\n/);
    expect(text).toMatch(/#SBATCH --partition=short\n/);
    expect(text).toMatch(/robustness run --dir '.*sharded' --shards 4 --workers "\$\{SLURM_CPUS_PER_TASK:-1\}"/);
  });
});
