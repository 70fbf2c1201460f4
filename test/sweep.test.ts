/**
 * Robustness sweeps: the grid, the records, resuming (after a partial write, and after
 * SIGKILL of the real command line with worker threads), the manifest guard, bad
 * arguments, and `glekit hw`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gridPoints, parseVary, parseVaries, runSweep, type JobRecord } from '../src/sweep/index.js';
import { ValidationError } from '../src/util/errors.js';
import { CLI, runCli, type CliRun } from './helpers/cli.js';
import { writeUntrainedYinYang } from './helpers/models.js';

const ROOT = join(import.meta.dirname, '..');
let dir: string;
let modelPath: string;

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npx tsc -p tsconfig.json first`);
  dir = mkdtempSync(join(tmpdir(), 'glekit-sweep-'));
  modelPath = writeUntrainedYinYang(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function glekit(...args: string[]): CliRun {
  return runCli(dir, args);
}

/** Records of a sweep directory without their timing, by job id. */
function records(out: string, completeLinesOnly = false): Map<string, Omit<JobRecord, 'timing'>> {
  const map = new Map<string, Omit<JobRecord, 'timing'>>();
  const lines = readFileSync(join(out, 'records.jsonl'), 'utf8').split('\n');
  // the text after the last newline is a line still being written (or cut short by a kill)
  if (completeLinesOnly) lines.pop();
  for (const line of lines) {
    if (line === '') continue;
    const { timing: _t, ...rest } = JSON.parse(line) as JobRecord;
    expect(map.has(rest.jobId), `job ${rest.jobId} recorded twice`).toBe(false);
    map.set(rest.jobId, rest);
  }
  return map;
}

function sorted(m: Map<string, unknown>): unknown[] {
  return [...m.keys()].sort().map((k) => m.get(k));
}

describe('--vary', () => {
  it('parses lists, inclusive ranges and names that move together', () => {
    expect(parseVary('weightBits=2:16:2')).toEqual({ names: ['weightBits'], values: [2, 4, 6, 8, 10, 12, 14, 16] });
    expect(parseVary('tauMCV+tauRCV=0:0.3:0.1')).toEqual({ names: ['tauMCV', 'tauRCV'], values: [0, 0.1, 0.2, 0.3] });
    expect(parseVary('noiseStd=0, 0.05,1e-1').values).toEqual([0, 0.05, 0.1]);
    expect(gridPoints(parseVaries(['weightBits=4,8', 'delaySteps=0,1']))).toEqual([
      { weightBits: 4, delaySteps: 0 },
      { weightBits: 4, delaySteps: 1 },
      { weightBits: 8, delaySteps: 0 },
      { weightBits: 8, delaySteps: 1 },
    ]);
  });

  it('rejects bad input, naming the argument and the value', () => {
    const bad: Array<[string[], RegExp]> = [
      [['tauCV=0.1'], /unknown parameter.*tauMCV/],
      [['weightBits'], /NAME=LIST/],
      [['weightBits=2:16'], /FROM:TO:STEP/],
      [['weightBits=2:16:0'], /STEP must be positive/],
      [['weightBits=16:2:1'], /TO must not be below FROM/],
      [['noiseStd=0.1,abc'], /must be a number/],
      [['noiseStd=0.1,0.1'], /repeats a value/],
      [['tauMCV=0.1', 'tauMCV+tauRCV=0.2'], /varied twice/],
    ];
    for (const [args, message] of bad) {
      expect(() => parseVaries(args)).toThrow(ValidationError);
      expect(() => parseVaries(args)).toThrow(message);
    }
  });
});

describe('runSweep', () => {
  it('records every job once, resumes after an interrupted write, and refuses other arguments', async () => {
    const out = join(dir, 'inline');
    const opts = { model: modelPath, hw: 'ideal', vary: ['tauMCV+tauRCV=0,0.2', 'weightBits=4,8'], seeds: 2, out, workers: 0, plots: false, quiet: true };
    const first = await runSweep(opts);
    expect(first).toMatchObject({ jobs: 8, ran: 8, resumed: 0 });
    const full = records(out);
    expect(full.size).toBe(8);
    expect(first.points.map((p) => p.n)).toEqual([2, 2, 2, 2]);
    expect(first.points[0].params).toEqual({ tauMCV: 0, tauRCV: 0, weightBits: 4 });
    // no mismatch: both chips give the same accuracy; with mismatch the chips differ
    expect(first.points[0].accuracyStd).toBe(0);
    const r0 = [...full.values()].find((r) => r.params.tauMCV === 0.2)!;
    expect(r0.metrics.tauMFactorCV).toBeGreaterThan(0.1);

    // a run killed in the middle of writing leaves a partial last line
    const text = readFileSync(join(out, 'records.jsonl'), 'utf8');
    const lines = text.split('\n');
    writeFileSync(join(out, 'records.jsonl'), lines.slice(0, 3).join('\n') + '\n' + lines[3].slice(0, 40));
    const again = await runSweep(opts);
    expect(again).toMatchObject({ jobs: 8, resumed: 3, ran: 5 });
    expect(sorted(records(out))).toEqual(sorted(full));
    // complete: nothing left to run, same summary
    const third = await runSweep(opts);
    expect(third).toMatchObject({ resumed: 8, ran: 0 });
    expect(third.points).toEqual(again.points);

    await expect(runSweep({ ...opts, vary: ['tauMCV+tauRCV=0,0.3', 'weightBits=4,8'] })).rejects.toThrow(/different arguments \(vary: was/);
    await expect(runSweep({ ...opts, seeds: 3 })).rejects.toThrow(/seeds: was 2, now 3/);
    await expect(runSweep({ ...opts, trainOnChip: 1 })).rejects.toThrow(/trainOnChip: was 0, now 1/);
  });
});

describe('glekit robustness (worker threads, real process)', () => {
  const args = (out: string, workers: number): string[] => [
    'robustness',
    '--model',
    modelPath,
    '--hw',
    'ideal',
    '--vary',
    'tauMCV+tauRCV=0:0.3:0.1',
    '--seeds',
    '6',
    '--train-on-chip',
    '1',
    '--learn-tau',
    '--out',
    out,
    '--workers',
    String(workers),
    '--json',
    '--no-plots',
  ];

  it('continues a sweep killed with SIGKILL and ends with the records of an uninterrupted one', async () => {
    const whole = join(dir, 'whole');
    const r = glekit(...args(whole, 1));
    expect(r.code, r.stderr).toBe(0);
    const last = JSON.parse(r.stdout.trim().split('\n').pop()!) as { points: { params: object; accuracyMean: number; accuracyStd: number; n: number }[] };
    expect(last.points).toHaveLength(4);
    expect(last.points.every((p) => p.n === 6 && Number.isFinite(p.accuracyMean) && Number.isFinite(p.accuracyStd))).toBe(true);
    expect(r.stderr).toMatch(/robustness ideal: \d+\/24/);
    const expected = records(whole);
    expect(expected.size).toBe(24);

    const killed = join(dir, 'killed');
    const child = spawn(process.execPath, [CLI, ...args(killed, 2)], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const recordsFile = join(killed, 'records.jsonl');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const seen = await new Promise<number>((resolve, reject) => {
      let killedIt = false;
      const timer = setInterval(() => {
        const n = existsSync(recordsFile) ? readFileSync(recordsFile, 'utf8').split('\n').length - 1 : 0;
        if (n >= 4) {
          clearInterval(timer);
          killedIt = true;
          child.kill('SIGKILL');
          resolve(n);
        }
      }, 5);
      child.once('exit', (code, signal) => {
        clearInterval(timer);
        if (!killedIt) reject(new Error(`the sweep ended (code ${code}, signal ${signal}) before it could be killed: ${stderr}`));
      });
    });
    await exited;
    // a line cut short by the kill is not a record; the resumed run drops it
    const partial = records(killed, true);
    expect(partial.size).toBeGreaterThanOrEqual(seen);
    expect(partial.size).toBeLessThan(24);

    const resumed = glekit(...args(killed, 2));
    expect(resumed.code, resumed.stderr + stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`${partial.size} of 24 jobs already done`));
    const summary = JSON.parse(resumed.stdout.trim().split('\n').pop()!) as { resumed: number; ran: number; points: unknown[] };
    expect(summary.resumed + summary.ran).toBe(24);
    expect(sorted(records(killed))).toEqual(sorted(expected));
    expect(summary.points).toEqual(last.points);
  });

  it('explains a re-run with other arguments, and other bad input, with exit code 1', () => {
    const out = join(dir, 'guard');
    expect(
      glekit('robustness', '--model', modelPath, '--hw', 'ideal', '--vary', 'weightBits=4,8', '--seeds', '1', '--out', out, '--no-plots', '--quiet').code,
    ).toBe(0);
    const cases: Array<[string[], RegExp]> = [
      [
        ['--vary', 'weightBits=4,6', '--seeds', '1', '--out', out],
        /holds a sweep started with different arguments \(vary: was .*Re-run with the original arguments/,
      ],
      [['--vary', 'tauCV=0.1', '--seeds', '1', '--out', join(dir, 'x1')], /--vary: field 'tauCV=0.1' names an unknown parameter/],
      [['--vary', 'weightBits=1:4:0', '--seeds', '1', '--out', join(dir, 'x2')], /STEP must be positive/],
      [['--vary', 'weightBits=4', '--seeds', '0', '--out', join(dir, 'x3')], /--seeds: must be an integer >= 1/],
      [['--vary', 'weightBits=4', '--seeds', '1', '--learn-tau', '--out', join(dir, 'x4')], /--learn-tau .* needs --train-on-chip/],
      [['--vary', 'noiseStd=-1', '--seeds', '1', '--out', join(dir, 'x5')], /noiseStd.*must be at least 0/],
      [['--vary', 'weightBits=4', '--seeds', '1', '--reset-state', '--out', join(dir, 'x7')], /--reset-state .* needs --train-on-chip/],
      [['--vary', 'weightBits=4', '--seeds', '1', '--split', 'train', '--out', join(dir, 'x8')], /--split: must be test or validation/],
      [
        ['--vary', 'weightBits=4', '--seeds', '1', '--train-on-chip', '1', '--tau-lr-factor', '100', '--out', join(dir, 'x9')],
        /--tau-lr-factor .* needs --learn-tau/,
      ],
      [['--vary', 'weightBits=4', '--seeds', '1', '--train-on-chip', '1', '--learn-tau', '--tau-lr-factor', '-2', '--out', join(dir, 'x10')], /tau-lr-factor/],
    ];
    for (const [extra, message] of cases) {
      const res = glekit('robustness', '--model', modelPath, '--hw', 'ideal', ...extra);
      expect(res.code, extra.join(' ')).toBe(1);
      expect(res.stderr).toMatch(message);
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
    }
    // a profile whose fan-in the 40 hidden neurons exceed
    const tiny = JSON.parse(readFileSync(join(ROOT, 'hw-models', 'ideal.json'), 'utf8'));
    tiny.name = 'tiny';
    tiny.capacity = { fanIn: { value: 16, source: 'ill', ref: 'test' } };
    writeFileSync(join(dir, 'tiny.json'), JSON.stringify(tiny));
    const fit = glekit('robustness', '--model', modelPath, '--hw', join(dir, 'tiny.json'), '--seeds', '1', '--out', join(dir, 'x6'));
    expect(fit.code).toBe(1);
    expect(fit.stderr).toMatch(/does not fit tiny: layer 1: fan-in 40 exceeds fanIn 16 of tiny/);
  });
});

describe('glekit hw', () => {
  it('lists the profiles and shows one with tagged numbers', () => {
    const list = glekit('hw', 'list');
    expect(list.code).toBe(0);
    expect(
      list.stdout
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => l.split(/\s+/)[0]),
    ).toEqual(['bss2', 'dynapse2', 'fpga-fixed16', 'ideal', 'loihi2', 'mcu-q15', 'xylo']);
    const json = JSON.parse(glekit('hw', 'list', '--json').stdout) as { name: string; kind: string }[];
    expect(json.find((p) => p.name === 'loihi2')?.kind).toBe('digital');
    const show = glekit('hw', 'show', 'bss2', '--sources');
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^bss2 \(analog\)/);
    expect(show.stdout).toMatch(/6-bit \[lit\]/);
    expect(show.stdout).toMatch(/sources:/);
    const bad = glekit('hw', 'show', 'nope');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/'name' is not a known profile .*bss2/);
  });
});
