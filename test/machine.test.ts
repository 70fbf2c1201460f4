/**
 * Every result records where it was computed (`machine`: CPU, cores, kernels and their
 * vector width): the train summary and summary.json, the checkpoint, the model file's
 * training section and the eval summary. In the checkpoint it is information only: a
 * checkpoint written without it (before it was recorded) resumes as before.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { typescriptKernels } from '../src/engine/kernels.js';
import { machineInfo, type MachineInfo } from '../src/engine/machine.js';
import { defaultKernels, kernelsLabel, loadNativeKernels } from '../src/engine/native.js';
import { evaluateModelFile } from '../src/target/jobs.js';
import { checkpointToJson, loadCheckpoint } from '../src/train/checkpoint.js';
import { runClassifierTraining } from '../src/train/run.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(os.tmpdir(), 'glekit-machine-'));
});

const quiet = { quiet: true, note: () => {} };

/** The record of this machine and the default kernels, whatever they are here. */
function expectThisMachine(m: MachineInfo | undefined): void {
  expect(m).toEqual(machineInfo(defaultKernels()));
  const kernels = defaultKernels();
  expect(m!.kernels).toBe(kernels.name);
  if (kernels.name === 'typescript') {
    expect(m!.simd).toBeNull();
    expect(m!.vectorBytes).toBeNull();
  } else {
    expect(typeof m!.simd).toBe('string');
    expect(m!.vectorBytes).toBeGreaterThan(0);
  }
}

describe('machineInfo', () => {
  it('describes the CPU and the kernels as plain JSON', () => {
    const m = machineInfo();
    expect(Object.keys(m).sort()).toEqual(['arch', 'cores', 'cpu', 'dynamics', 'kernels', 'node', 'numerics', 'simd', 'threads', 'vectorBytes']);
    expect(m.cpu.length).toBeGreaterThan(0);
    expect(Number.isInteger(m.cores) && m.cores >= 1).toBe(true);
    expect(m.arch).toBe(process.arch);
    expect(m.node).toBe(process.version);
    expect(JSON.parse(JSON.stringify(m))).toEqual(m);
    expectThisMachine(m);
  });

  it('names the kernels passed in: TypeScript without a vector width, native with the addon’s', () => {
    expect(machineInfo(typescriptKernels)).toMatchObject({ kernels: 'typescript', simd: null, vectorBytes: null });
    const native = loadNativeKernels();
    if (native !== null) expect(machineInfo(native)).toMatchObject({ kernels: 'native', simd: native.simd, vectorBytes: native.vectorBytes });
  });
});

describe('results record the machine', () => {
  it('train summary, summary.json, checkpoint, model file and eval; an old checkpoint without it still resumes', async () => {
    const runDir = join(dir, 'run');
    const out = join(dir, 'run.model.json');
    const request = { task: 'yinyang', seed: 3, dataSeed: 0, epochs: 2, runDir, out, ...quiet };
    const part = await runClassifierTraining({ ...request, stopAfter: 1 });
    expect(part.status).toBe('stopped');
    expectThisMachine(part.machine);

    const path = join(runDir, 'checkpoint.json');
    const written = loadCheckpoint(path);
    expectThisMachine(written.machine);
    expect(JSON.parse(readFileSync(path, 'utf8')).machine).toEqual(part.machine);

    // the checkpoint as glekit wrote it before `machine` was recorded: same identity, resumes
    const { machine: _m, ...old } = written;
    writeFileSync(path, checkpointToJson(old));
    expect(JSON.parse(readFileSync(path, 'utf8'))).not.toHaveProperty('machine');
    const reread = loadCheckpoint(path);
    expect(reread.machine).toBeUndefined();
    for (const key of ['tool', 'task', 'seed', 'dataSeed', 'dtype', 'configHash', 'kernels'] as const) expect(reread[key]).toBe(written[key]);

    const done = await runClassifierTraining({ ...request, resume: true });
    expect(done.status).toBe('completed');
    expect(done.resumedFromEpoch).toBe(1);
    expectThisMachine(done.machine);
    expect(JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')).machine).toEqual(done.machine);
    expect(loadCheckpoint(path).machine).toEqual(done.machine);
    const model = JSON.parse(readFileSync(out, 'utf8'));
    expect(model.training.machine).toEqual(done.machine);
    expect(model.training.kernels).toBe(kernelsLabel(defaultKernels()));

    const evaluated = await evaluateModelFile(out, 'yinyang', 'float64');
    expectThisMachine(evaluated.machine);
  });
});
