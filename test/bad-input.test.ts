/**
 * Bad input through the real command line: a clear one-line error naming the file,
 * the field and the value, exit code 1, and nothing the user had is overwritten.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeModelFile, parseModel, layerToModel } from '../src/model/model-file.js';
import { initLayers } from '../src/train/init.js';
import { CLI, runCli, type CliRun } from './helpers/cli.js';

let dir: string;

function glekit(...args: string[]): CliRun {
  return runCli(dir, args);
}

function validSpec(): Record<string, unknown> {
  return {
    dtype: 'float64',
    dt: 0.1,
    gamma: 0,
    beta: 1,
    loss: 'mse',
    prospectiveErrors: true,
    layers: [
      {
        phi: 'tanh',
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
  };
}

function runSpec(spec: unknown, raw?: string) {
  const specPath = join(dir, 'spec.json');
  writeFileSync(specPath, raw ?? JSON.stringify(spec));
  const outPath = join(dir, 'trace.json');
  writeFileSync(outPath, 'PREVIOUS');
  const r = glekit('trace', '--spec', specPath, '--out', outPath);
  return { ...r, previousKept: readFileSync(outPath, 'utf8') === 'PREVIOUS' };
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  dir = mkdtempSync(join(tmpdir(), 'glekit-bad-input-'));
});

describe('glekit trace with a bad SPEC', () => {
  it('accepts the valid SPEC (control)', () => {
    const r = runSpec(validSpec());
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'trace.json'), 'utf8')).steps).toHaveLength(2);
  });

  const cases: [string, (s: any) => void, RegExp][] = [
    [
      'unknown activation',
      (s) => {
        s.layers[0].phi = 'swish';
      },
      /layers\[0\]\.phi.*not a known activation.*"swish"/,
    ],
    [
      'tau below dt',
      (s) => {
        s.layers[1].tauR = [0.01];
      },
      /layers\[1\]\.tauR\[0\].*at least dt = 0\.1.*0\.01/,
    ],
    [
      'mismatched shapes',
      (s) => {
        s.layers[1].weights = [[1, 1]];
      },
      /layers\[1\]\.weights.*3 columns.*row 0 has 2/,
    ],
    [
      'ragged input',
      (s) => {
        s.inputs[1] = [[0, 1, 2]];
      },
      /inputs\[1\]\[0\].*length 2/,
    ],
    [
      'bias of the wrong length',
      (s) => {
        s.layers[0].bias = [0, 0];
      },
      /layers\[0\]\.bias.*length 3/,
    ],
    [
      'unknown loss',
      (s) => {
        s.loss = 'hinge';
      },
      /'loss'.*"mse", "ce".*"hinge"/,
    ],
    [
      'missing dt',
      (s) => {
        delete s.dt;
      },
      /'dt'.*must be a number.*nothing/,
    ],
    [
      'targets of the wrong count',
      (s) => {
        s.targets = [null];
      },
      /'targets'.*length 2/,
    ],
  ];
  for (const [name, mutate, message] of cases) {
    it(name, () => {
      const spec = validSpec();
      mutate(spec);
      const r = runSpec(spec);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/spec\.json/);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
      expect(r.previousKept).toBe(true);
    });
  }

  it('NaN in the inputs', () => {
    const text = JSON.stringify(validSpec()).replace('[[[1,0]]', '[[[NaN,0]]');
    const r = runSpec(null, text);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/inputs\[0\]\[0\]\[0\].*finite.*NaN/);
    expect(r.previousKept).toBe(true);
  });

  it('malformed JSON', () => {
    const r = runSpec(null, '{"dtype": "float64", ');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/spec\.json: not valid JSON/);
  });

  it('a missing file', () => {
    const r = glekit('trace', '--spec', join(dir, 'nope.json'), '--out', join(dir, 'x.json'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/nope\.json: cannot read file \(ENOENT\)/);
  });
});

describe('model files', () => {
  function model() {
    const layers = initLayers(
      4,
      [
        { size: 3, phi: 'tanh', tauM: 1, tauR: 1 },
        { size: 2, phi: 'linear', tauM: 1, tauR: 1 },
      ],
      { weightStd: 1, biasStd: 0.1 },
      1,
    );
    return makeModelFile({
      tool: 'test',
      task: 'yinyang',
      network: { dt: 0.1, gamma: 0, beta: 1, loss: 'ce', prospectiveErrors: false, layers: layers.map(layerToModel) },
      presentation: { mode: 'static', stepsPerSample: 5, settleSteps: 4, readout: 'last' },
      training: { seed: 1 },
      metrics: { testAccuracy: 0.5 },
    });
  }

  it('round-trips and validates', () => {
    const m = model();
    const parsed = parseModel(JSON.parse(JSON.stringify(m)), 'm.json');
    expect(parsed.contentHash).toBe(m.contentHash);
    expect(parsed.network.layers[0].weights).toEqual(m.network.layers[0].weights);
  });

  it('refuses a modified file, naming the hash field', () => {
    const m = JSON.parse(JSON.stringify(model()));
    m.network.layers[0].weights[0][0] += 1e-12;
    expect(() => parseModel(m, 'm.json')).toThrow(/m\.json: field 'contentHash'.*does not match/);
  });

  it('refuses a newer format version', () => {
    const m = JSON.parse(JSON.stringify(model()));
    m.formatVersion = 99;
    expect(() => parseModel(m, 'm.json')).toThrow(/formatVersion.*newer.*99/);
  });

  it('names a bad field through the CLI (hash recomputed so only the field is wrong)', () => {
    const m = model() as any;
    const { contentHash: _h, format: _f, formatVersion: _v, ...content } = m;
    content.network.layers[1].phi = 'softmax';
    const bad = makeModelFile(content);
    const path = join(dir, 'bad.model.json');
    writeFileSync(path, JSON.stringify(bad));
    const r = glekit('eval', '--model', path, '--task', 'yinyang');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.model\.json: field 'network\.layers\[1\]\.phi'.*"softmax"/);
  });

  it('rejects an unknown task and a bad option value', () => {
    expect(glekit('train', '--task', 'imagenet').stderr).toMatch(/unknown task "imagenet"/);
    const r = glekit('train', '--task', 'yinyang', '--seed', 'x');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--seed.*"x"/);
  });
});
