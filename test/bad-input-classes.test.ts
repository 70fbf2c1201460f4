/**
 * The classes of issue 10, each through the real command line: a one-line error that
 * names the file or option, the field and the value, exit code 1, and nothing the user
 * had destroyed; or a documented limit checked before the work starts.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeModelFile } from '../src/model/model-file.js';
import { FixedFormat, FixedFormatError, parseFormat, quantise } from '../src/fixed/index.js';
import { Rng } from '../src/util/rng.js';
import { escapeControl, GlekitError } from '../src/util/errors.js';
import { writeFileAtomic } from '../src/util/files.js';
import { acquireDirectoryLock } from '../src/util/lock.js';
import { CLI, runCli, type CliRun } from './helpers/cli.js';

const ROOT = join(import.meta.dirname, '..');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'yinyang-seed1.model.json');
let dir: string;

function glekit(...args: string[]): CliRun {
  return runCli(dir, args);
}

/** Exit 1, one line on stderr, no stack trace, and the line matches. */
function expectOneLineError(r: { code: number | null; stderr: string }, message: RegExp): void {
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(message);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/internal error|at .*\.js:\d+/);
}

/** The fixture model with some content changed and the hash recomputed, so only the changed field is wrong. */
function modelWith(name: string, change: (content: any) => void): string {
  const { contentHash: _h, format: _f, formatVersion: _v, ...content } = JSON.parse(readFileSync(FIXTURE, 'utf8'));
  change(content);
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(makeModelFile(content)));
  return path;
}

function spec(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    dtype: 'float64',
    dt: 0.1,
    gamma: 0,
    beta: 1,
    loss: 'mse',
    prospectiveErrors: true,
    layers: [
      {
        phi: 'linear',
        weights: [
          [0.1, 0.2],
          [0.3, -0.1],
          [0.2, 0.2],
        ],
        bias: [0, 0, 0],
        tauM: [1, 1, 1],
        tauR: [0.5, 0.5, 0.5],
      },
      { phi: 'linear', weights: [[1, 1, 1]], bias: null, tauM: [1], tauR: [1] },
    ],
    learning: { optimizer: 'sgd', lr: 0.1, startStep: 0, weights: true, biases: true, tauM: false, tauMin: 0.1 },
    inputs: [[[1, 0]], [[0, 1]]],
    targets: [null, [[0.5]]],
    ...over,
  };
}

function writeJson(name: string, doc: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(doc));
  return path;
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  dir = mkdtempSync(join(tmpdir(), 'glekit-bad-classes-'));
});

describe('1. named errors instead of stack traces', () => {
  it('trace --out naming a directory', () => {
    mkdirSync(join(dir, 'adir'), { recursive: true });
    expectOneLineError(glekit('trace', '--spec', writeJson('s1.json', spec()), '--out', 'adir'), /option --out: "adir" is a directory/);
  });

  it('train --out naming a directory is refused before training, not after it', () => {
    mkdirSync(join(dir, 'mdir'), { recursive: true });
    const started = Date.now();
    const r = glekit('train', '--task', 'yinyang', '--out', 'mdir', '--run-dir', 'run1', '--quiet');
    expectOneLineError(r, /option --out: "mdir" is a directory/);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(existsSync(join(dir, 'run1', 'checkpoint.json'))).toBe(false);
  });

  it('train --run-dir and --out under an existing file', () => {
    writeFileSync(join(dir, 'plain'), 'x');
    expectOneLineError(
      glekit('train', '--task', 'yinyang', '--run-dir', 'plain/run'),
      /option --run-dir: cannot create the directory "plain\/run": .*plain is a file/,
    );
    expectOneLineError(
      glekit('train', '--task', 'yinyang', '--run-dir', 'run2', '--out', 'plain/m.json'),
      /option --out: cannot create "plain\/m\.json": .*plain is a file/,
    );
  });

  it('robustness --out naming an existing file', () => {
    writeFileSync(join(dir, 'notadir'), 'keep');
    expectOneLineError(
      glekit('robustness', '--model', FIXTURE, '--hw', 'ideal', '--seeds', '1', '--out', 'notadir'),
      /option --out: "notadir" is an existing file, not a directory/,
    );
    expect(readFileSync(join(dir, 'notadir'), 'utf8')).toBe('keep');
  });

  for (const [value, shown] of [
    [0, '0'],
    [-3, '-3'],
    [2.5, '2.5'],
  ] as const) {
    it(`a model whose evaluation batch size is ${value}`, () => {
      const path = modelWith(`eb${shown}.json`, (c) => {
        c.training.evalBatchSize = value;
      });
      expectOneLineError(
        glekit('eval', '--model', path, '--task', 'yinyang'),
        new RegExp(`eb${shown}\\.json: field 'training\\.evalBatchSize' must be an integer in 1\\.\\.1000000 \\(got ${shown}\\)`),
      );
    });
  }
});

describe('2. a model that does not fit its task', () => {
  const wide = (c: any): void => {
    const l = c.network.layers[0];
    l.inputSize = 5;
    l.weights = l.weights.map((r: number[]) => [...r, 0]);
  };
  const more = (c: any): void => {
    const l = c.network.layers[c.network.layers.length - 1];
    l.outputSize = 4;
    l.weights.push(l.weights[0]);
    if (l.bias) l.bias.push(0);
    l.tauM.push(l.tauM[0]);
    l.tauR.push(l.tauR[0]);
  };

  it('wrong input size: eval and robustness refuse it', () => {
    const path = modelWith('wide.json', wide);
    const message = /wide\.json: field 'network\.layers\[0\]\.inputSize' must be 4, the size of one yinyang sample \(got 5\)/;
    expectOneLineError(glekit('eval', '--model', path, '--task', 'yinyang'), message);
    expectOneLineError(glekit('robustness', '--model', path, '--hw', 'ideal', '--seeds', '1', '--out', 'sw-wide', '--no-plots'), message);
    expect(existsSync(join(dir, 'sw-wide', 'manifest.json'))).toBe(false);
  });

  it('wrong output count', () => {
    const path = modelWith('more.json', more);
    expectOneLineError(
      glekit('eval', '--model', path, '--task', 'yinyang'),
      /more\.json: field 'network\.layers\[1\]\.outputSize' must be 3, the number of yinyang classes \(got 4\)/,
    );
  });
});

describe('3. an output path equal to an input path', () => {
  it('trace --out naming the SPEC keeps the SPEC', () => {
    const path = writeJson('same.json', spec());
    const before = readFileSync(path, 'utf8');
    expectOneLineError(glekit('trace', '--spec', path, '--out', path), /option --out: ".*same\.json" is also the --spec file being read/);
    expect(readFileSync(path, 'utf8')).toBe(before);
  });

  it('trace --out naming the SPEC through another spelling', () => {
    const path = writeJson('same2.json', spec());
    expectOneLineError(glekit('trace', '--spec', path, '--out', './same2.json'), /is also the --spec file/);
  });

  it("train --out naming the run folder's checkpoint", () => {
    mkdirSync(join(dir, 'run3'), { recursive: true });
    writeFileSync(join(dir, 'run3', 'checkpoint.json'), 'CHECKPOINT');
    expectOneLineError(
      glekit('train', '--task', 'yinyang', '--run-dir', 'run3', '--out', 'run3/checkpoint.json'),
      /option --out: .* is also the run folder's checkpoint\.json/,
    );
    expect(readFileSync(join(dir, 'run3', 'checkpoint.json'), 'utf8')).toBe('CHECKPOINT');
  });

  it('robustness --out naming the model', () => {
    const before = readFileSync(FIXTURE, 'utf8');
    expectOneLineError(glekit('robustness', '--model', FIXTURE, '--hw', 'ideal', '--seeds', '1', '--out', FIXTURE), /is the --model file, not a directory/);
    expect(readFileSync(FIXTURE, 'utf8')).toBe(before);
  });
});

describe('4. bounds on work and output, checked before the work', () => {
  it('a SPEC whose trace would exceed the limit, with the estimate', () => {
    const big = spec({
      layers: [
        { phi: 'tanh', weights: Array.from({ length: 1000 }, () => [0.1, 0.1]), bias: null, tauM: Array(1000).fill(1), tauR: Array(1000).fill(1) },
        { phi: 'linear', weights: [Array(1000).fill(0.001)], bias: null, tauM: [1], tauR: [1] },
      ],
      inputs: Array.from({ length: 3000 }, () => [[1, 0]]),
      targets: null,
    });
    const started = Date.now();
    const r = glekit('trace', '--spec', writeJson('big.json', big), '--out', 'big-trace.json');
    expectOneLineError(
      r,
      /big\.json: the trace would hold 15019001 numbers \(3000 steps x 2 layers x batch 1, about 300 MB of JSON\), more than the limit of 10000000/,
    );
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(existsSync(join(dir, 'big-trace.json'))).toBe(false);
  });

  it('a model whose presentation is longer than the descriptor limit', () => {
    const path = modelWith('long.json', (c) => {
      c.presentation.stepsPerSample = 1e9;
    });
    expectOneLineError(
      glekit('eval', '--model', path, '--task', 'yinyang'),
      /long\.json: field 'presentation\.stepsPerSample' must be at most 1048576.*\(got 1000000000\)/,
    );
  });
});

describe('5. options ignored or aliased', () => {
  it('options a task does not use', () => {
    expectOneLineError(glekit('train', '--task', 'lagline', '--epochs', '3'), /option --epochs: task "lagline" does not use it/);
    expectOneLineError(glekit('train', '--task', 'lagline', '--dtype', 'float32'), /option --dtype: task "lagline" does not use it/);
    expectOneLineError(glekit('train', '--task', 'lagline', '--out', 'x.json'), /option --out: task "lagline" does not use it/);
    expectOneLineError(glekit('train', '--task', 'yinyang', '--compare'), /option --compare: task "yinyang" does not use it/);
    expectOneLineError(glekit('train', '--task', 'yinyang', '--no-prospective-errors'), /option --no-prospective-errors: task "yinyang" does not use it/);
    expectOneLineError(
      glekit('robustness', '--model', FIXTURE, '--hw', 'ideal', '--seeds', '1', '--out', 'sw-lr', '--chip-lr', '0.1'),
      /option --chip-lr: .*--train-on-chip/,
    );
  });

  it('seeds above 2^32 - 1', () => {
    expectOneLineError(glekit('train', '--task', 'yinyang', '--seed', '4294967296'), /option --seed: must be an integer in 0\.\.4294967295.*"4294967296"/);
    expectOneLineError(glekit('train', '--task', 'yinyang', '--data-seed', '1e20'), /option --data-seed: .*"1e20"/);
    expect(() => new Rng(2 ** 32 + 1)).toThrow(/seed: must be an integer in 0\.\.4294967295/);
    expect(() => Rng.derive(2 ** 40, 1)).toThrow(GlekitError);
    expect(new Rng(2 ** 32 - 1).nextUint32()).not.toBe(new Rng(0).nextUint32());
  });
});

describe('6. divergence reported as divergence', () => {
  it('trace: where and when, no trace written', () => {
    const s = spec({ inputs: Array.from({ length: 20 }, () => [[1e10, 1e10]]) });
    (s.learning as any).lr = 1e300;
    s.targets = (s.inputs as unknown[]).map(() => [[0.5]]);
    writeFileSync(join(dir, 'div-trace.json'), 'PREVIOUS');
    const r = glekit('trace', '--spec', writeJson('div.json', s), '--out', 'div-trace.json');
    expectOneLineError(r, /the network diverged at step 1 of 20 \(0-based\): layers\[1\]\.weights\[0\]\[0\] = Infinity/);
    expect(readFileSync(join(dir, 'div-trace.json'), 'utf8')).toBe('PREVIOUS');
  });

  it('robustness: a diverged job is listed, not averaged', () => {
    const r = glekit(
      'robustness',
      '--model',
      FIXTURE,
      '--hw',
      'ideal',
      '--seeds',
      '1',
      '--workers',
      '1',
      '--train-on-chip',
      '1',
      '--chip-lr',
      '1e308',
      '--out',
      'sw-div',
      '--no-plots',
      '--quiet',
      '--json',
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/diverged: chip seed 1: layers\[\d+\]\.\w+\[[\d\][]+ = (NaN|-?Infinity) \(training in the loop, epoch 1\); left out of the mean/);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out.points[0].n).toBe(0);
    expect(out.points[0].diverged[0].divergence.stage).toBe('training in the loop');
    const record = JSON.parse(readFileSync(join(dir, 'sw-div', 'records.jsonl'), 'utf8').split('\n')[0]);
    expect(record.metrics.accuracy).toBeNull();
    expect(record.metrics.diverged.epoch).toBe(1);
    expect(readFileSync(join(dir, 'sw-div', 'summary.md'), 'utf8')).toMatch(/\| diverged \|[\s\S]*diverged: chip seed 1/);
  });
});

describe('7. records and the sweep lock', () => {
  const sweep = (out: string) =>
    glekit('robustness', '--model', FIXTURE, '--hw', 'ideal', '--seeds', '1', '--workers', '1', '--out', out, '--no-plots', '--quiet');

  it('a metric of the wrong type in records.jsonl', () => {
    expect(sweep('sw-rec').code).toBe(0);
    const file = join(dir, 'sw-rec', 'records.jsonl');
    const record = JSON.parse(readFileSync(file, 'utf8').split('\n')[0]);
    record.metrics.accuracy = '0.98';
    writeFileSync(file, JSON.stringify(record) + '\n');
    expectOneLineError(sweep('sw-rec'), /records\.jsonl line 1: field 'metrics\.accuracy' must be a number \(got "0\.98"\)/);
    record.metrics.accuracy = 1.5;
    writeFileSync(file, JSON.stringify(record) + '\n');
    expectOneLineError(sweep('sw-rec'), /records\.jsonl line 1: field 'metrics\.accuracy' must be at most 1 \(got 1\.5\)/);
    record.metrics.accuracy = 0.9;
    record.seed = 2;
    writeFileSync(file, JSON.stringify(record) + '\n');
    expectOneLineError(sweep('sw-rec'), /records\.jsonl line 1: field 'seed' must be 1, the chip seed of job/);
  });

  it('a second sweep on a directory a live sweep holds is refused; a stale lock is taken over', async () => {
    mkdirSync(join(dir, 'sw-lock'), { recursive: true });
    const live = spawn('sleep', ['30']);
    try {
      writeFileSync(join(dir, 'sw-lock', 'sweep.lock'), JSON.stringify({ pid: live.pid, host: hostname(), started: 'then', command: 'glekit robustness ...' }));
      expectOneLineError(sweep('sw-lock'), new RegExp(`sw-lock: a sweep is already running there \\(process ${live.pid} on this machine`));
    } finally {
      live.kill();
    }
    await new Promise((resolve) => live.once('exit', resolve));
    const r = glekit('robustness', '--model', FIXTURE, '--hw', 'ideal', '--seeds', '1', '--workers', '1', '--out', 'sw-lock', '--no-plots');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`removing a stale lock of process ${live.pid}`));
    expect(existsSync(join(dir, 'sw-lock', 'sweep.lock'))).toBe(false);

    writeFileSync(join(dir, 'sw-lock', 'sweep.lock'), JSON.stringify({ pid: 1, host: 'elsewhere', started: 'then', command: '' }));
    expectOneLineError(sweep('sw-lock'), /process 1 on host elsewhere.*remove .*sweep\.lock/);
  });

  it('the lock in the library: one holder at a time, released', () => {
    const d = join(dir, 'lockdir');
    mkdirSync(d);
    const release = acquireDirectoryLock(d, 'x.lock', 'a test', 'test');
    expect(() => acquireDirectoryLock(d, 'x.lock', 'a test', 'test')).toThrow(/this process already runs a test there/);
    release();
    acquireDirectoryLock(d, 'x.lock', 'a test', 'test')();
    expect(existsSync(join(d, 'x.lock'))).toBe(false);
  });
});

describe('8. the signed one-bit SAT_SYM format is refused, everything else accepted', () => {
  it('library: parse and construct', () => {
    for (const text of ['fixed<1,1,TRN,SAT_SYM>', 'ap_fixed<1,0,RND,AP_SAT_SYM>', 'fixed<1,-3,RND_CONV,SAT_SYM>']) {
      expect(() => parseFormat(text)).toThrow(FixedFormatError);
      expect(() => parseFormat(text)).toThrow(/overflow mode SAT_SYM is not supported on a signed one-bit format/);
    }
    expect(() => new FixedFormat({ width: 1, intBits: 1, overflow: 'SAT_SYM' })).toThrow(/use SAT/);
    // what remains: ap_fixed's codes for the one-bit saturating formats
    expect(quantise(-1, parseFormat('fixed<1,1,TRN,SAT>'))).toBe(-1);
    expect(quantise(5, parseFormat('fixed<1,1,TRN,SAT>'))).toBe(0);
    expect(quantise(-1, parseFormat('ufixed<1,1,TRN,SAT_SYM>'))).toBe(0);
    expect(quantise(-5, parseFormat('fixed<2,2,TRN,SAT_SYM>'))).toBe(-1);
  });

  it('CLI: a precision naming it', () => {
    const r = glekit('compile', '--model', FIXTURE, '--hw', 'fpga-fixed16', '--out', 'c.gled', '--precision', 'weights=fixed<1,1,TRN,SAT_SYM>');
    expectOneLineError(r, /fixed<1,1,TRN,SAT_SYM>.*SAT_SYM is not supported on a signed one-bit format/);
    expect(existsSync(join(dir, 'c.gled'))).toBe(false);
  });
});

describe('9. smaller', () => {
  it('a missing required option is one line', () => {
    expectOneLineError(glekit('train'), /^glekit: error: required option '--task <name>' not specified \(see --help\)$/m);
    expectOneLineError(glekit('trace', '--spec', 'x.json'), /required option '--out <file>' not specified/);
    expectOneLineError(glekit('robustness', '--model', FIXTURE), /required option/);
  });

  it('control characters from a bad file or argument are escaped', () => {
    const path = join(dir, 'esc.json');
    writeFileSync(path, '{"dtype": \u001b[2J "x"}');
    const r = glekit('trace', '--spec', path, '--out', 'o.json');
    expectOneLineError(r, /esc\.json: not valid JSON .*\\x1b\[2J/);
    expect(r.stderr).not.toMatch(/\u001b/);
    const bad = glekit('trace', '--spec', 'a\u001b]0;title\u0007b\rc', '--out', 'o.json');
    expectOneLineError(bad, /a\\x1b\]0;title\\x07b\\rc: cannot read file/);
    expect(bad.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
    expect(escapeControl('a\u009bb\u2028c\td\ne')).toBe('a\\x9bb\\u2028c\\td\\ne');
    expect(new GlekitError('x\u001b[2Jy\nz').message).toBe('x\\x1b[2Jy\nz');
  });

  it('atomic writes: a failed write names the path and keeps the old file', () => {
    writeFileSync(join(dir, 'keep.txt'), 'OLD');
    writeFileAtomic(join(dir, 'keep.txt'), 'NEW');
    expect(readFileSync(join(dir, 'keep.txt'), 'utf8')).toBe('NEW');
    expect(() => writeFileAtomic(join(dir, 'keep.txt', 'inner.txt'), 'x')).toThrow(/keep\.txt\/inner\.txt: cannot create its directory .*\(EEXIST|ENOTDIR\)/);
    mkdirSync(join(dir, 'isdir'));
    expect(() => writeFileAtomic(join(dir, 'isdir'), 'x')).toThrow(/isdir: cannot write the file, a directory of that name exists/);
  });
});
