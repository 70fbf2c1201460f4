/**
 * A robustness sweep on a real Slurm (issue 12): the committed Yin-Yang example's
 * tau-cv-train sweep (40 jobs, 10 epochs of training in the loop each) planned, submitted
 * as an array of 8 tasks, one task cancelled half-way (scancel) and requeued, collected:
 * summary.json equals the one of the same sweep run on one machine, byte for byte, and no
 * job is missing or counted twice.
 *
 * Needs sbatch and a controller that answers (sh scripts/slurm-local.sh start sets one up
 * on this machine); without them the test is skipped and says why. GLEKIT_SLURM_LOG=FILE
 * writes every command and its output to FILE (docs/cluster.md quotes such a log).
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const MODEL = join(ROOT, 'examples', 'robustness-yinyang', 'model.json');
const LOG = process.env.GLEKIT_SLURM_LOG;

function slurmMissing(): string | null {
  const which = spawnSync('sh', ['-c', 'command -v sbatch && command -v scontrol && command -v squeue'], { encoding: 'utf8' });
  if (which.status !== 0) return 'sbatch/scontrol/squeue not found (Debian: apt-get install slurm-wlm munge; then sh scripts/slurm-local.sh start)';
  const ping = spawnSync('scontrol', ['ping'], { encoding: 'utf8' });
  if (ping.status !== 0 || !/UP/.test(ping.stdout))
    return `no Slurm controller answers (scontrol ping: ${(ping.stdout + ping.stderr).trim()}); sh scripts/slurm-local.sh start`;
  if (!existsSync(CLI)) return `${CLI} is missing: npm run build`;
  return null;
}
const missing = slurmMissing();
if (missing !== null) console.warn(`test/slurm.test.ts skipped: ${missing}`);

function log(text: string): void {
  if (LOG !== undefined) appendFileSync(LOG, text.endsWith('\n') ? text : text + '\n');
}

/** Runs a command, logging it and its output; throws on a non-zero exit. */
function sh(cmd: string, args: string[], opts: { cwd?: string; ok?: boolean } = {}): string {
  const shown = [cmd === process.execPath ? 'glekit' : cmd, ...(cmd === process.execPath ? args.slice(1) : args)].join(' ');
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd });
  log(`$ ${shown}\n${r.stdout}${r.stderr}`);
  if (r.status !== 0 && opts.ok !== false) throw new Error(`${shown}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}
const glekit = (...args: string[]): string => sh(process.execPath, [CLI, ...args]);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function taskState(jobId: string, task: number): string {
  const out = spawnSync('squeue', ['-h', '-t', 'all', '-j', `${jobId}_${task}`, '-o', '%T'], { encoding: 'utf8' }).stdout.trim();
  return out.split('\n')[0] ?? '';
}

/** Complete record lines in the shard-I-of-N files of `dir`. */
function shardLines(dir: string, shard: number, count: number): number {
  const sub = join(dir, 'records');
  if (!existsSync(sub)) return 0;
  return readdirSync(sub)
    .filter((f) => f.startsWith(`shard-${shard}-of-${count}.`))
    .reduce((a, f) => a + readFileSync(join(sub, f), 'utf8').split('\n').length - 1, 0);
}

describe.skipIf(missing !== null)('robustness on a real Slurm (sbatch array)', () => {
  const work = mkdtempSync(join(tmpdir(), 'glekit-slurm-'));
  afterAll(() => {
    if (process.env.GLEKIT_KEEP === undefined) rmSync(work, { recursive: true, force: true });
  });

  it('an array of 8 tasks, one cancelled half-way and requeued, collects to the one-machine summary.json', async () => {
    if (LOG !== undefined) writeFileSync(LOG, `# ${new Date().toISOString()} ${spawnSync('sinfo', ['--version'], { encoding: 'utf8' }).stdout}`);
    const sweep = ['--model', MODEL, '--hw', 'ideal', '--vary', 'tauMCV+tauRCV=0,0.1,0.2,0.3', '--seeds', '10', '--train-on-chip', '10', '--no-plots'];
    const single = join(work, 'single');
    const array = join(work, 'array');
    let t = performance.now();
    glekit('robustness', ...sweep, '--out', single, '--quiet');
    log(`# one machine: ${((performance.now() - t) / 1000).toFixed(1)} s`);
    glekit('robustness', ...sweep, '--out', array, '--plan-only');
    t = performance.now();
    const submitted = JSON.parse(glekit('robustness', 'slurm', '--dir', array, '--tasks', '8', '--submit', '--json').trim().split('\n').pop()!) as {
      jobId: string;
    };
    const jobId = submitted.jobId;
    expect(jobId).toMatch(/^\d+$/);

    // cancel task 3 once it has recorded a job but not all of its five
    const victim = 3;
    for (let i = 0; ; i++) {
      const n = shardLines(array, victim, 8);
      if (n >= 1 && n < 5 && taskState(jobId, victim) === 'RUNNING') break;
      if (n >= 5 || i > 1200) throw new Error(`task ${victim} was not caught half-way (${n} records, state ${taskState(jobId, victim)})`);
      await sleep(100);
    }
    sh('scancel', [`${jobId}_${victim}`]);
    for (let i = 0; taskState(jobId, victim) !== 'CANCELLED'; i++) {
      if (i > 300) throw new Error(`task ${victim} did not end as CANCELLED (${taskState(jobId, victim)})`);
      await sleep(100);
    }
    const atCancel = shardLines(array, victim, 8);
    log(`# task ${victim} cancelled with ${atCancel} of its 5 jobs recorded`);
    expect(atCancel).toBeLessThan(5);
    sh('squeue', ['-t', 'all', '-j', jobId, '-o', '%.12i %.10T %.8M %R']);
    glekit('robustness', 'status', '--dir', array, '--tasks', '8');
    sh('scontrol', ['requeue', `${jobId}_${victim}`]);

    for (let i = 0; spawnSync('squeue', ['-h', '-j', jobId], { encoding: 'utf8' }).stdout.trim() !== ''; i++) {
      if (i > 3000) throw new Error('the array did not finish in 300 s');
      await sleep(100);
    }
    log(`# array done ${((performance.now() - t) / 1000).toFixed(1)} s after sbatch`);
    sh('squeue', ['-t', 'all', '-j', jobId, '-o', '%.12i %.10T %.8M %R']);
    sh('scontrol', ['show', 'job', `${jobId}_${victim}`]);
    const status = JSON.parse(glekit('robustness', 'status', '--dir', array, '--json').trim().split('\n').pop()!) as {
      done: number;
      jobs: number;
      sweeps: { duplicates: number; shards: { attempts: number }[] }[];
    };
    expect(status).toMatchObject({ jobs: 40, done: 40 });
    expect(status.sweeps[0].shards[victim].attempts).toBe(2);
    const collected = JSON.parse(glekit('robustness', 'collect', '--dir', array, '--no-plots', '--json').trim().split('\n').pop()!) as {
      sweeps: { records: number; duplicates: number; missing: number }[];
    };
    expect(collected.sweeps[0]).toMatchObject({ records: 40, duplicates: 0, missing: 0 });
    // every shard's output file, one per task, the victim's with both attempts
    const out = readFileSync(join(array, 'slurm', `${jobId}_${victim}.out`), 'utf8');
    log(
      `$ cat ${join('DIR', 'slurm', `${jobId}_${victim}.out`)} | grep -v ' done in '\n${out
        .split('\n')
        .filter((l) => !l.includes(' done in '))
        .join('\n')}`,
    );
    expect(out.match(/^glekit shard 3\/8: .* attempt \d/gm)).toHaveLength(2);
    const a = readFileSync(join(single, 'summary.json'), 'utf8');
    const b = readFileSync(join(array, 'summary.json'), 'utf8');
    log(`# summary.json: one machine sha ${sha(a)}, array sha ${sha(b)}, identical: ${a === b}`);
    sh('cmp', [join(single, 'summary.json'), join(array, 'summary.json')]);
    expect(b).toBe(a);
    expect(readFileSync(join(array, 'summary.md'), 'utf8')).toBe(readFileSync(join(single, 'summary.md'), 'utf8'));
  }, 600_000);
});

function sha(text: string): string {
  return spawnSync('sha256sum', { input: text, encoding: 'utf8' }).stdout.slice(0, 16);
}
