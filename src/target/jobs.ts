/**
 * The jobs that evaluate a target on a task's data through the one `evaluate`: eval (a
 * model file on the float target) and emulate (a compiled descriptor on either integer
 * engine, optionally beside the float target of the model it was compiled from).
 */
import { resolve } from 'node:path';
import { defaultKernels } from '../engine/native.js';
import { machineInfo, type MachineInfo } from '../engine/machine.js';
import type { Dtype } from '../engine/types.js';
import { loadDescriptorFile, descriptorHash } from '../descriptor/index.js';
import { loadModel, modelToSpec } from '../model/model-file.js';
import { checkModelFitsTask, trainingInfo } from '../model/index.js';
import { loadClassificationTask } from '../tasks/index.js';
import type { ClassificationDataset } from '../tasks/types.js';
import { GlekitError } from '../util/errors.js';
import { evaluate, firstSamples, requireFinite } from './evaluate.js';
import { cEngineTarget, fixedTarget, floatTarget } from './local.js';
import type { Descriptor } from '../descriptor/index.js';
import type { ClassificationSplit } from '../tasks/types.js';

export type EngineName = 'ts' | 'c';
export type SplitName = 'test' | 'validation' | 'train';

export interface EmulateRequest {
  descriptorPath: string;
  task: string;
  engine: EngineName;
  split?: SplitName;
  /** default: the data seed the model was trained with (recorded in the descriptor) */
  dataSeed?: number;
  /** only the first N samples */
  limit?: number;
  /** also evaluate the float target (this model file) on the same samples */
  modelPath?: string;
}

export interface EmulateSummary {
  descriptor: string;
  descriptorHash: string;
  profile: string;
  task: string;
  split: string;
  dataSeed: number;
  engine: EngineName;
  samples: number;
  accuracy: number;
  /** SHA-256 over every read-out code of every sample, in order, as int64 little-endian */
  outputsSha256: string;
  floatAccuracy: number | null;
  steps: number;
  wallSeconds: number;
  stepsPerSecond: number;
}

/** The split a descriptor was compiled for: its task's data with the recorded data seed (or the one given). */
export function descriptorSplit(
  d: Descriptor,
  path: string,
  task: string,
  split: SplitName = 'test',
  dataSeed?: number,
  limit?: number,
): { data: ClassificationDataset; split: ClassificationSplit; dataSeed: number } {
  if (d.header.model.task !== task) {
    throw new GlekitError(`${path}: the descriptor was compiled from a model of task "${d.header.model.task}", not "${task}"`);
  }
  const recorded = d.header.info.dataSeed;
  const seed = dataSeed ?? (typeof recorded === 'number' ? recorded : 0);
  const data = loadClassificationTask(task, seed, d.network.presentation);
  return { data, split: firstSamples(data[split], limit), dataSeed: seed };
}

export async function emulateTask(req: EmulateRequest): Promise<EmulateSummary> {
  const { descriptor: d, bytes } = loadDescriptorFile(req.descriptorPath);
  const { split, dataSeed } = descriptorSplit(d, req.descriptorPath, req.task, req.split, req.dataSeed, req.limit);
  const target = req.engine === 'ts' ? fixedTarget(d) : cEngineTarget(d, bytes);
  const result = requireFinite(await evaluate(target, split), target.outputSize);
  let floatAccuracy: number | null = null;
  if (req.modelPath !== undefined) {
    const model = loadModel(req.modelPath);
    if (model.contentHash !== d.header.model.hash) {
      throw new GlekitError(
        `${req.modelPath}: not the model this descriptor was compiled from (hash ${model.contentHash}, descriptor says ${d.header.model.hash})`,
      );
    }
    const float = floatTarget(modelToSpec(model, 'float64'), model.presentation, { evalBatchSize: Math.min(1000, split.count) });
    floatAccuracy = requireFinite(await evaluate(float, split), float.outputSize).accuracy;
  }
  const steps = split.count * d.network.presentation.stepsPerSample;
  return {
    descriptor: req.descriptorPath,
    descriptorHash: descriptorHash(bytes),
    profile: d.header.profile.name,
    task: req.task,
    split: req.split ?? 'test',
    dataSeed,
    engine: req.engine,
    samples: split.count,
    accuracy: result.accuracy,
    outputsSha256: result.outputsSha256!,
    floatAccuracy,
    steps,
    wallSeconds: result.wallSeconds,
    stepsPerSecond: steps / Math.max(result.wallSeconds, 1e-9),
  };
}

export interface EvalSummary {
  task: string;
  seed: number;
  dataSeed: number;
  testAccuracy: number;
  testCount: number;
  wallSeconds: number;
  modelPath: string;
  modelHash: string;
  dtype: Dtype;
  /** where the evaluation was computed: CPU, kernels and their vector width */
  machine: MachineInfo;
}

/** The eval job (`glekit eval`): a model file's test accuracy on the float target. */
export async function evaluateModelFile(path: string, task: string, dtype: Dtype): Promise<EvalSummary> {
  const started = performance.now();
  const model = loadModel(path);
  if (model.task !== task) throw new GlekitError(`${path}: the model was trained on task "${model.task}", not "${task}"`);
  const info = trainingInfo(model);
  const dataSeed = info.dataSeed;
  const data = loadClassificationTask(task, dataSeed, model.presentation);
  checkModelFitsTask(model, data, path);
  const evalBatch = info.evalBatchSize;
  const kernels = defaultKernels();
  const target = floatTarget(modelToSpec(model, dtype), model.presentation, { evalBatchSize: evalBatch, kernels });
  const test = requireFinite(await evaluate(target, data.test), target.outputSize);
  return {
    task,
    seed: info.seed ?? NaN,
    dataSeed,
    testAccuracy: test.accuracy,
    testCount: data.test.count,
    wallSeconds: (performance.now() - started) / 1000,
    modelPath: resolve(path),
    modelHash: model.contentHash,
    dtype,
    machine: machineInfo(kernels),
  };
}
