/**
 * NIR exchange (issue 11, docs/nir.md): export and import round trips for the Yin-Yang,
 * MNIST and MNIST-1D presets and the trained Yin-Yang fixture, with bit-identical float
 * evaluation; the exported files read by NIR's reader logic (test/reference/nir_check.py,
 * h5py) with the type check passing; networks written by an independent writer (h5py)
 * imported or refused; recordings of a Yin-Yang trace and emulation read back equal to
 * glekit's own; bad input refused in one line, exit 1, through the real CLI (dist/).
 *
 * The h5py parts run where a Python with h5py is found (PYTHON, python3, /usr/bin/python3;
 * Debian: python3-h5py python3-numpy). With NIR_SRC set to a checkout of the `nir`
 * package's source, the checker also runs the real package's `read` and `read_data`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BoardProcess } from '../src/bridge/index.js';
import { compileModel } from '../src/compile/index.js';
import { loadDescriptorFile } from '../src/descriptor/index.js';
import { loadProfile } from '../src/hw/index.js';
import { layerToModel, loadModel, makeModelFile, modelToSpec, type ModelFile } from '../src/model/model-file.js';
import { exportModel, importNirFile, nirGraphToModel, readNirData, readNirGraph, writeNirGraph, GRAPH_KEYS } from '../src/nir/index.js';
import { writeHdf5 } from '../src/nir/hdf5.js';
import { descriptorSplit, fixedTarget, floatTarget, type Stimulus } from '../src/target/index.js';
import { loadClassificationTask } from '../src/tasks/index.js';
import { MNIST1D_PRESET, MNIST_PRESET, YINYANG_PRESET, initLayers, type ClassifierPreset } from '../src/train/index.js';
import { Rng } from '../src/util/rng.js';
import { ensureFirmware } from './helpers/firmware.js';
import { runCli, type CliRun } from './helpers/cli.js';

const ROOT = join(import.meta.dirname, '..');
const CHECKER = join(ROOT, 'test', 'reference', 'nir_check.py');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'yinyang-seed1.model.json');
const scratch = mkdtempSync(join(tmpdir(), 'glekit-nir-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const at = (name: string): string => join(scratch, name);

/** The first Python that imports h5py and numpy, or null. */
const PYTHON: string | null = (() => {
  for (const p of [process.env.PYTHON, 'python3', '/usr/bin/python3']) {
    if (p === undefined || p === '') continue;
    if (spawnSync(p, ['-c', 'import h5py, numpy'], { encoding: 'utf8' }).status === 0) return p;
  }
  return null;
})();

function python(...args: string[]): any {
  const r = spawnSync(PYTHON!, [CHECKER, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`nir_check.py ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

type Run = CliRun;
function glekit(...args: string[]): Run {
  return runCli(scratch, args, { timeout: 120_000 });
}
/** A refusal: exit 1 and exactly one line on stderr. */
function expectRefusal(r: Run, ...parts: string[]): void {
  expect(r.code, r.stderr).toBe(1);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  for (const p of parts) expect(lines[0]).toContain(p);
}

function presetModel(p: ClassifierPreset, inputSize: number, seed: number): ModelFile {
  const layers = initLayers(inputSize, p.layers, p.init, seed).map(layerToModel);
  return makeModelFile({
    tool: 'test',
    task: p.task,
    network: { dt: p.dt, gamma: p.gamma, beta: p.beta, loss: p.loss, prospectiveErrors: p.prospectiveErrors, layers },
    presentation: p.presentation,
    training: { seed, dataSeed: 0, note: 'random init' },
    metrics: {},
  });
}

function randomStimulus(count: number, inputSize: number, seed: number): Stimulus {
  const rng = new Rng(seed);
  const inputs = new Float32Array(count * inputSize);
  for (let i = 0; i < inputs.length; i++) inputs[i] = rng.uniform();
  return { count, inputSize, inputs };
}

async function floatValues(m: ModelFile, dtype: 'float64' | 'float32', stimulus: Stimulus): Promise<Float64Array> {
  return (await floatTarget(modelToSpec(m, dtype), m.presentation, { evalBatchSize: 100 }).run(stimulus)).values;
}

const yinyang = loadClassificationTask('yinyang', 0);
const CASES: { name: string; model: () => ModelFile; dtype: 'float64' | 'float32'; stimulus: () => Stimulus }[] = [
  { name: 'Yin-Yang, trained fixture', model: () => loadModel(FIXTURE), dtype: 'float64', stimulus: () => yinyang.test },
  { name: 'Yin-Yang preset', model: () => presetModel(YINYANG_PRESET, 4, 3), dtype: 'float64', stimulus: () => yinyang.test },
  { name: 'MNIST preset', model: () => presetModel(MNIST_PRESET, 784, 4), dtype: 'float32', stimulus: () => randomStimulus(50, 784, 5) },
  { name: 'MNIST-1D preset', model: () => presetModel(MNIST1D_PRESET, 1, 6), dtype: 'float32', stimulus: () => randomStimulus(20, 360, 7) },
];

describe('round trip: export then import', () => {
  for (const c of CASES) {
    it(`${c.name}: the same model file (content hash) and bit-identical float evaluation`, async () => {
      const original = c.model();
      const file = at(`${c.name.replace(/\W+/g, '_')}.nir`);
      const summary = await exportModel(original, file);
      expect(summary.layers).toBe(original.network.layers.length);
      const back = await importNirFile(file);
      expect(back.fromGlekit).toBe(true);
      expect(back.sameAsExported).toBe(true);
      expect(back.model.contentHash).toBe(original.contentHash);
      expect(back.model).toEqual(original);
      const stimulus = c.stimulus();
      for (const dtype of new Set([c.dtype, 'float64' as const])) {
        const a = await floatValues(original, dtype, stimulus),
          b = await floatValues(back.model, dtype, stimulus);
        expect(b.length).toBe(stimulus.count * original.network.layers.at(-1)!.outputSize);
        expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer)), `${dtype} read-outs differ`).toBe(true);
      }
    });
  }
});

describe('the NIR graph glekit writes', () => {
  it('has the nodes, fields and metadata of docs/nir.md', async () => {
    const m = loadModel(FIXTURE);
    await exportModel(m, at('layout.nir'));
    const g = await readNirGraph(at('layout.nir'));
    expect([...g.nodes].map(([k, n]) => `${k}:${n.type}`)).toEqual([
      'input:Input',
      'layer0_affine:Affine',
      'layer0_li:LI',
      'layer1_affine:Affine',
      'layer1_li:LI',
      'output:Output',
    ]);
    expect(g.edges).toEqual([
      ['input', 'layer0_affine'],
      ['layer0_affine', 'layer0_li'],
      ['layer0_li', 'layer1_affine'],
      ['layer1_affine', 'layer1_li'],
      ['layer1_li', 'output'],
    ]);
    const li = g.nodes.get('layer0_li')!;
    expect([...li.fields.keys()].sort()).toEqual(['r', 'tau', 'v_leak']);
    expect([...li.metadata.keys()].sort()).toEqual(['glekit.output', 'glekit.phi', 'glekit.tau_r']);
    expect(g.metadata.get(GRAPH_KEYS.dt)).toMatchObject({ kind: 'numeric', data: Float64Array.of(0.1) });
  });
});

describe.skipIf(PYTHON === null)("read by NIR's reader logic (h5py)", () => {
  it("every exported preset passes the reader and its type check, with glekit's metadata readable", async () => {
    for (const c of CASES) {
      const file = at(`checked_${c.name.replace(/\W+/g, '_')}.nir`);
      const m = c.model();
      await exportModel(m, file);
      const r = python('graph', file);
      expect(r.typeCheck).toBe('passed');
      expect(r.version).toBe('1.0.7');
      const layers = m.network.layers;
      expect(r.nodes.input.fields.shape).toEqual({ shape: [1], dtype: 'int64' });
      expect(r.nodes.layer0_affine.fields.weight).toEqual({ shape: [layers[0].outputSize, layers[0].inputSize], dtype: 'float64' });
      expect(r.nodes.layer0_li.metadata['glekit.phi']).toBe(layers[0].phi);
      expect(r.nodes.layer0_li.metadata['glekit.tau_r']).toEqual(layers[0].tauR);
      expect(r.metadata['glekit.model_hash']).toBe(m.contentHash);
      if (r.reference !== undefined) {
        expect(r.reference.types.layer0_li).toBe('LI');
        expect(r.reference.outputType.output).toEqual([layers.at(-1)!.outputSize]);
      }
    }
  });

  it('an LI/Affine network written by h5py imports and evaluates as its equations say', async () => {
    const p = python('write-li', at('h5py-li.nir'));
    const { model, notes, fromGlekit } = await importNirFile(at('h5py-li.nir'));
    expect(fromGlekit).toBe(false);
    expect(notes.join('\n')).toContain('li2: r and v_leak folded into the weights and bias of fc2');
    expect(model.network.layers.map((l) => [l.inputSize, l.outputSize, l.phi])).toEqual([
      [3, 4, 'linear'],
      [4, 2, 'linear'],
    ]);
    expect(model.network.layers[0].weights).toEqual(p.w1);
    expect(model.network.layers[0].tauM).toEqual(p.tau1);
    expect(model.network.layers[0].tauR).toEqual(p.tau1);
    expect(model.network.dt).toBe(Math.min(...p.tau1, ...p.tau2) / 10);
    const stimulus = randomStimulus(25, 3, 11);
    const y = await floatValues(model, 'float64', stimulus);
    for (let s = 0; s < stimulus.count; s++) {
      const x = Array.from(stimulus.inputs.subarray(3 * s, 3 * s + 3));
      const h = p.w1.map((row: number[], o: number) => row.reduce((a: number, w: number, i: number) => a + w * x[i], p.b1[o]));
      for (let o = 0; o < 2; o++) {
        const want = p.r2[o] * p.w2[o].reduce((a: number, w: number, i: number) => a + w * h[i], 0) + p.v_leak2[o];
        expect(Math.abs(y[2 * s + o] - want)).toBeLessThan(1e-12 * Math.max(1, Math.abs(want)));
      }
    }
  });

  it('CubaLI folds in only with tau_syn = 0; a spiking (LIF) network is refused with the node and why', async () => {
    python('write-cubali', at('cuba0.nir'), '0');
    const m = (await importNirFile(at('cuba0.nir'))).model;
    expect(m.network.layers[0].weights).toEqual([
      [2, -2],
      [0.5, 2],
    ]);
    expect(m.network.layers[0].bias).toEqual([0, 0.25]);
    python('write-cubali', at('cuba5.nir'), '0.005');
    await expect(importNirFile(at('cuba5.nir'))).rejects.toThrow(/node "cubali" \(CubaLI\): tau_syn\[0\] = 0\.00499999\d+: a synaptic low-pass/);
    python('write-lif', at('lif.nir'));
    await expect(importNirFile(at('lif.nir'))).rejects.toThrow(/lif\.nir: node "1" \(LIF\): a spiking neuron/);
    expectRefusal(glekit('import', at('lif.nir'), '--from', 'nir', '--out', at('lif.json')), 'lif.nir', 'node "1" (LIF)', 'do not spike');
  });
});

/** NIR's own example files (paper/01_lif in a checkout of NIR named by NIR_EXAMPLES), written by Norse and Rockpool. */
describe.skipIf(!process.env.NIR_EXAMPLES)("NIR's LIF examples", () => {
  it('are refused, naming the LIF node', () => {
    for (const [file, node] of [
      ['lif_norse.nir', '1'],
      ['lif_rockpool.nir', '1_LIFNeuronTorch'],
    ]) {
      const path = join(process.env.NIR_EXAMPLES!, 'paper', '01_lif', file);
      expectRefusal(glekit('import', path, '--from', 'nir', '--out', at('example.json')), file, `node "${node}" (LIF)`, 'do not spike');
    }
  });
});

/** A SPEC for glekit trace: the trained Yin-Yang network, `batch` test samples held for `steps` steps, no learning. */
function yinyangSpec(m: ModelFile, batch: number, steps: number): object {
  const rows = Array.from({ length: batch }, (_, s) => Array.from(yinyang.test.inputs.subarray(4 * s, 4 * s + 4)));
  return {
    dtype: 'float64',
    dt: m.network.dt,
    gamma: m.network.gamma,
    beta: m.network.beta,
    loss: m.network.loss,
    prospectiveErrors: m.network.prospectiveErrors,
    layers: m.network.layers.map((l) => ({ phi: l.phi, weights: l.weights, bias: l.bias, tauM: l.tauM, tauR: l.tauR })),
    learning: null,
    inputs: Array.from({ length: steps }, () => rows),
  };
}

describe('recordings as NIR graph data', () => {
  it('glekit trace --record-nir: a Yin-Yang run, read back (glekit and h5py) equal to the TRACE', async () => {
    writeFileSync(at('yy.spec.json'), JSON.stringify(yinyangSpec(loadModel(FIXTURE), 6, 5)));
    const r = glekit('trace', '--spec', at('yy.spec.json'), '--out', at('yy.trace.json'), '--record-nir', at('yy.trace.nir'));
    expect(r.code, r.stderr).toBe(0);
    const trace = JSON.parse(readFileSync(at('yy.trace.json'), 'utf8')) as { steps: { layers: Record<string, number[][]>[] }[] };
    expect(trace.steps).toHaveLength(5);
    const expected = (l: number, key: string): number[] => {
      const out: number[] = [];
      for (let b = 0; b < 6; b++) for (const s of trace.steps) out.push(...s.layers[l][key][b]);
      return out;
    };
    const mine = await readNirData(at('yy.trace.nir'));
    const fromPython = PYTHON === null ? null : python('data', at('yy.trace.nir'));
    for (const [l, n] of [
      [0, 120],
      [1, 3],
    ]) {
      for (const key of ['u', 'v', 'r', 'prospU', 'prospV']) {
        const o = mine.get(`layer${l}_li`)!.get(key)!;
        expect(o.shape).toEqual([6, 5, n]);
        expect(o.dt).toBe(0.1);
        expect(Array.from(o.data)).toEqual(expected(l, key));
        if (fromPython !== null) {
          const p = fromPython.nodes[`layer${l}_li`][key];
          expect([p.shape, p.dt, p.dtype]).toEqual([[6, 5, n], 0.1, 'float64']);
          expect(p.data).toEqual(expected(l, key));
        }
      }
    }
  });

  /** The emulator's own record of the first 12 Yin-Yang test samples, checked against a recording file. */
  async function expectEmulatorRecord(file: string): Promise<void> {
    const { descriptor: d } = loadDescriptorFile(at('yy.gled'));
    const { split } = descriptorSplit(d, 'yy.gled', 'yinyang', 'test', undefined, 12);
    const states = (await fixedTarget(d).run(split, { record: true })).states!;
    const mine = await readNirData(file);
    const fromPython = PYTHON === null ? null : python('data', file);
    const steps = d.network.presentation.stepsPerSample,
      perStep = 2 * (120 + 3);
    let offset = 0;
    for (const [l, n] of [
      [0, 120],
      [1, 3],
    ]) {
      const layer = d.network.layers[l];
      for (const [key, lsb] of [
        ['u', layer.membraneFormat.lsb],
        ['r', layer.rateFormat.lsb],
      ] as const) {
        const want: number[] = [];
        for (let s = 0; s < 12; s++)
          for (let t = 0; t < steps; t++) for (let j = 0; j < n; j++) want.push(states[(s * steps + t) * perStep + offset + j] * lsb);
        expect(Array.from(mine.get(`layer${l}_li`)!.get(key)!.data)).toEqual(want);
        if (fromPython !== null) expect(fromPython.nodes[`layer${l}_li`][key].data).toEqual(want);
        offset += n;
      }
    }
  }

  it("glekit emulate --record-nir: the integer engine's states, read back (glekit and h5py) equal to its own record", async () => {
    writeFileSync(at('yy.gled'), compileModel({ model: loadModel(FIXTURE), profile: loadProfile('fpga-fixed16') }).bytes);
    const r = glekit('emulate', '--descriptor', at('yy.gled'), '--task', 'yinyang', '--limit', '12', '--record-nir', at('yy.emulate.nir'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('recorded 12 samples');
    await expectEmulatorRecord(at('yy.emulate.nir'));
  });

  it("glekit hil compare --record-nir: the (emulated) board's states, equal to the emulator's record", async () => {
    ensureFirmware();
    // one sample's record (5 steps x 246 states x 4 bytes) exceeds the default MTU: the board is started with a larger one
    const board = await BoardProcess.start({ flash: at('board.flash'), args: ['--mtu', '8192'] });
    try {
      const d = glekit('deploy', '--port', board.port, '--descriptor', at('yy.gled'));
      expect(d.code, d.stderr).toBe(0);
      const h = glekit(
        'hil',
        'compare',
        '--port',
        board.port,
        '--descriptor',
        at('yy.gled'),
        '--task',
        'yinyang',
        '--limit',
        '12',
        '--record-nir',
        at('yy.board.nir'),
      );
      expect(h.code, h.stderr).toBe(0);
      expect(h.stderr).toContain("recorded the board's per-layer states of 12 samples");
    } finally {
      board.child.kill('SIGKILL');
      await board.exited;
    }
    await expectEmulatorRecord(at('yy.board.nir'));
  });
});

describe('bad input: one line naming the file, node, type and reason; exit 1', () => {
  it('not a NIR file, a NIR file of an unknown version, an unsupported node, a recurrent graph', async () => {
    writeFileSync(at('text.nir'), 'not HDF5 at all\n');
    expectRefusal(glekit('import', at('text.nir'), '--from', 'nir', '--out', at('x.json')), 'text.nir', 'not an HDF5 file');
    expectRefusal(glekit('import', FIXTURE, '--from', 'nir', '--out', at('x.json')), 'yinyang-seed1.model.json', 'not an HDF5 file');
    expectRefusal(glekit('import', at('missing.nir'), '--from', 'nir', '--out', at('x.json')), 'missing.nir', 'ENOENT');
    await writeHdf5(at('plain.h5'), { data: { float64: [1, 2, 3], shape: [3] } });
    expectRefusal(glekit('import', at('plain.h5'), '--from', 'nir', '--out', at('x.json')), 'plain.h5', 'not a NIR file', "no 'version'");
    await writeHdf5(at('v9.nir'), { version: '9.0.0', node: { type: 'NIRGraph' } });
    expectRefusal(glekit('import', at('v9.nir'), '--from', 'nir', '--out', at('x.json')), 'v9.nir', 'NIR version "9.0.0"', 'reads 0.x and 1.x');
    const conv = {
      nodes: [
        ['input', { type: 'Input', fields: { shape: { int64: [1, 8, 8], shape: [3] } } }],
        ['conv', { type: 'Conv2d', fields: { weight: { float64: new Float64Array(9), shape: [1, 1, 3, 3] } } }],
        ['output', { type: 'Output', fields: { shape: { int64: [1, 6, 6], shape: [3] } } }],
      ] as [string, { type: string; fields: Record<string, any> }][],
      edges: [
        ['input', 'conv'],
        ['conv', 'output'],
      ] as [string, string][],
      metadata: {},
    };
    await writeNirGraph(at('conv.nir'), conv);
    expectRefusal(glekit('import', at('conv.nir'), '--from', 'nir', '--out', at('x.json')), 'conv.nir', 'node "conv" (Conv2d)', 'convolution');
    const li = { type: 'LI', fields: { tau: { float64: [1], shape: [1] }, r: { float64: [1], shape: [1] }, v_leak: { float64: [0], shape: [1] } } };
    const rec = {
      nodes: [
        ['input', { type: 'Input', fields: { shape: { int64: [1], shape: [1] } } }],
        ['w', { type: 'Linear', fields: { weight: { float64: [1], shape: [1, 1] } } }],
        ['li', li],
        ['back', { type: 'Linear', fields: { weight: { float64: [0.5], shape: [1, 1] } } }],
        ['output', { type: 'Output', fields: { shape: { int64: [1], shape: [1] } } }],
      ] as [string, { type: string; fields: Record<string, any> }][],
      edges: [
        ['input', 'w'],
        ['w', 'li'],
        ['li', 'back'],
        ['back', 'w'],
        ['li', 'output'],
      ] as [string, string][],
      metadata: {},
    };
    await writeNirGraph(at('rec.nir'), rec);
    expectRefusal(
      glekit('import', at('rec.nir'), '--from', 'nir', '--out', at('x.json')),
      'rec.nir',
      'node "back" (Linear)',
      'closes a cycle',
      'no recurrence',
    );
    expectRefusal(glekit('export', '--model', FIXTURE, '--to', 'onnx', '--out', at('x.onnx')), 'option --to', 'nir');
  });

  it('glekit export and import through the CLI: the model file comes back with its content hash', () => {
    const e = glekit('export', '--model', FIXTURE, '--to', 'nir', '--out', at('cli.nir'), '--json');
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout.trim().split('\n').at(-1)!)).toMatchObject({ layers: 2, nodes: 6, nirVersion: '1.0.7' });
    const i = glekit('import', at('cli.nir'), '--from', 'nir', '--out', at('cli.model.json'), '--json');
    expect(i.code, i.stderr).toBe(0);
    expect(JSON.parse(i.stdout.trim().split('\n').at(-1)!)).toMatchObject({ sameAsExported: true, sizes: '4-120-3', task: 'yinyang' });
    expect(loadModel(at('cli.model.json')).contentHash).toBe(loadModel(FIXTURE).contentHash);
  });

  it('nirGraphToModel refuses a chain that does not alternate weights and neurons', async () => {
    const g = await readNirGraph(at('cli.nir'));
    g.nodes.delete('layer0_li');
    g.edges = [
      ['input', 'layer0_affine'],
      ['layer0_affine', 'layer1_affine'],
      ['layer1_affine', 'layer1_li'],
      ['layer1_li', 'output'],
    ];
    expect(() => nirGraphToModel(g, 'g.nir')).toThrow(
      /g\.nir: node "layer1_affine" \(Affine\): follows the weight node layer0_affine; glekit expects a neuron node/,
    );
  });
});
