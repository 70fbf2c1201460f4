/**
 * One sweep job: (point, chip seed) -> record. Runs the same in a worker thread and
 * inline; everything it needs comes from the JobContext, built once per thread.
 */
import { defaultKernels, kernelsLabel, numericsOfLabel, setNumerics } from '../engine/native.js';
import type { WeightKernels } from '../engine/kernels.js';
import { DEFAULT_LEARNING, type LearningSetup, type NetworkSpec } from '../engine/types.js';
import { realiseChip, withOverrides, type Architecture, type HwProfile, type Overrides } from '../hw/index.js';
import { canonicalJson } from '../util/canonical-json.js';
import { loadModel, modelToSpec, type ModelFile } from '../model/model-file.js';
import { Substrate, trainOnChip, type ChipTrainingConfig } from '../substrate/index.js';
import { evaluate, substrateTarget } from '../target/index.js';
import { loadClassificationTask } from '../tasks/index.js';
import type { ClassificationDataset } from '../tasks/types.js';
import { checkModelFitsTask } from '../model/checks.js';
import { GlekitError, ValidationError } from '../util/errors.js';
import { Field } from '../util/json-reader.js';
import type { Job, SweepSettings } from './plan.js';

/** What a thread is given to build its JobContext: plain data, so it can cross into a worker. */
export interface JobContextInit {
  modelPath: string;
  profile: HwProfile;
  settings: SweepSettings;
}

export interface JobContext {
  init: JobContextInit;
  model: ModelFile;
  spec: NetworkSpec;
  architecture: Architecture;
  data: ClassificationDataset;
  kernels: WeightKernels;
}

export function createJobContext(init: JobContextInit): JobContext {
  const model = loadModel(init.modelPath);
  if (model.contentHash !== init.settings.modelHash) {
    throw new GlekitError(
      `${init.modelPath}: the model changed while the sweep ran (content hash ${model.contentHash}, the sweep started with ${init.settings.modelHash})`,
    );
  }
  const data = loadClassificationTask(init.settings.task, init.settings.dataSeed, model.presentation);
  checkModelFitsTask(model, data, init.modelPath);
  const spec = modelToSpec(model);
  // the mode the sweep was planned with (a worker thread or a cluster task does not share the planner's setting)
  setNumerics(numericsOfLabel(init.settings.kernels));
  const kernels = defaultKernels();
  if (kernelsLabel(kernels) !== init.settings.kernels) {
    throw new GlekitError(
      `this thread has the ${kernelsLabel(kernels)} kernels, the sweep runs on ${init.settings.kernels}; results would differ in rounding (--numerics chooses)`,
    );
  }
  return {
    init,
    model,
    spec,
    architecture: { inputSize: spec.layers[0].inputSize, layerSizes: spec.layers.map((l) => l.outputSize) },
    data,
    kernels,
  };
}

/** Everything measured in one job. Only `timing` may differ between two runs of the same job. */
export interface JobRecord {
  jobId: string;
  params: Overrides;
  seed: number;
  profile: string;
  profileHash: string;
  modelHash: string;
  task: string;
  split: string;
  trainOnChip: number;
  learnTau: boolean;
  chipLr: number | null;
  /** present only when tau_m learned at its own rate */
  tauLrFactor?: number;
  resetState: boolean;
  metrics: JobMetrics;
  timing: { seconds: number; finishedAt: string };
}

/** Where and when a job's network stopped being finite. */
export interface Divergence {
  stage: 'evaluation before training' | 'training in the loop' | 'evaluation after training';
  /** epoch of training in the loop (1-based) after which it was found; null before training */
  epoch: number | null;
  /** the first value that is not finite, e.g. "layers[1].weights[0][3]" or "output of sample 12, class 2" */
  where: string;
  /** "NaN", "Infinity" or "-Infinity" */
  value: string;
}

export interface JobMetrics {
  /** accuracy on the split, on the chip, after training in the loop when there was any; null when the job diverged */
  accuracy: number | null;
  /** accuracy of the model as trained, on this chip, before any training in the loop; null when that evaluation diverged */
  accuracyBeforeTraining: number | null;
  /** validation accuracy after each epoch of training in the loop */
  trainingValidation: number[];
  /** sample CV of the chip's fixed-pattern tau factors over all neurons */
  tauMFactorCV: number;
  tauRFactorCV: number;
  /** mean over neurons of |tau_m / tau_r - 1| as realised, before and after training in the loop */
  tauMismatch: number;
  tauMismatchAfterTraining: number | null;
  /** time constants the chip realised below dt and the emulator raised to dt */
  tauRaisedToDt: number;
  /** null, or where and when the network stopped being finite (absent in records of older sweeps: null) */
  diverged?: Divergence | null;
}

function sampleCv(values: number[]): number {
  const n = values.length;
  if (n < 2) return 0;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return Math.sqrt(ss / (n - 1)) / mean;
}

function tauMismatch(sub: Substrate): number {
  let sum = 0;
  let n = 0;
  for (const l of sub.realised()) {
    for (let j = 0; j < l.tauM.length; j++) {
      sum += Math.abs(l.tauM[j] / l.tauR[j] - 1);
      n++;
    }
  }
  return sum / n;
}

export function chipTrainingConfig(ctx: JobContext, seed: number): ChipTrainingConfig {
  const s = ctx.init.settings;
  const t = ctx.model.training;
  const num = (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
  const trained = (typeof t.learning === 'object' && t.learning !== null ? t.learning : {}) as Partial<LearningSetup>;
  const learning: LearningSetup = {
    ...DEFAULT_LEARNING,
    ...trained,
    lr: s.chipLr,
    learnTauM: s.learnTau,
    tauLrFactor: s.tauLrFactor ?? 1,
    // as the float engine requires of every time constant: not below dt
    tauMin: s.learnTau ? ctx.spec.dt : (trained.tauMin ?? 0),
  };
  return {
    seed,
    epochs: s.trainOnChip,
    batchSize: num(t.batchSize, 32),
    learning,
    presentation: ctx.model.presentation,
    evalBatchSize: num(t.evalBatchSize, 1000),
    plateau: null,
    resetEachBatch: s.resetState,
    // as the model was trained: the float trainer's record of how sequences started
    trainingSequenceStart: t.trainingSequenceStart === 'carry' ? 'carry' : 'reset',
  };
}

/** The first read-out that is not finite, as a Divergence, or null. */
export function outputDivergence(values: ArrayLike<number>, nOut: number, stage: Divergence['stage'], epoch: number | null): Divergence | null {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) return { stage, epoch, where: `output of sample ${Math.floor(i / nOut)}, class ${i % nOut}`, value: String(values[i]) };
  }
  return null;
}

/** The first host parameter that is not finite after an epoch of training in the loop, as a Divergence, or null. */
export function parameterDivergence(sub: Substrate, epoch: number): Divergence | null {
  for (const [l, p] of sub.parameters().entries()) {
    const arrays: [string, ArrayLike<number> | null, number][] = [
      ['weights', p.weights, p.inputSize],
      ['bias', p.bias, 0],
      ['tauM', p.tauM, 0],
    ];
    for (const [name, a, cols] of arrays) {
      for (let i = 0; a !== null && i < a.length; i++) {
        if (Number.isFinite(a[i])) continue;
        const index = cols > 0 ? `[${Math.floor(i / cols)}][${i % cols}]` : `[${i}]`;
        return { stage: 'training in the loop', epoch, where: `layers[${l}].${name}${index}`, value: String(a[i]) };
      }
    }
  }
  return null;
}

/** Stops training in the loop at the first epoch that left a parameter non-finite. */
class Diverged extends Error {
  constructor(readonly divergence: Divergence) {
    super(`diverged at ${divergence.where}`);
  }
}

export async function runJob(ctx: JobContext, job: Job): Promise<JobRecord> {
  const started = performance.now();
  const s = ctx.init.settings;
  const profile = withOverrides(ctx.init.profile, job.params);
  const chip = realiseChip(profile, ctx.architecture, job.seed);
  const sub = new Substrate(ctx.spec, chip, { kernels: ctx.kernels });
  const split = s.split === 'test' ? ctx.data.test : ctx.data.validation;
  const evalBatch = chipTrainingConfig(ctx, job.seed).evalBatchSize;
  const chipTarget = substrateTarget(sub, ctx.model.presentation, { evalBatchSize: evalBatch });
  const first = await evaluate(chipTarget, split);
  let diverged = outputDivergence(first.outputs.values, chipTarget.outputSize, 'evaluation before training', null);
  const before = diverged === null ? first.accuracy : null;
  const mismatch = tauMismatch(sub);
  let accuracy = before;
  let history: number[] = [];
  let mismatchAfter: number | null = null;
  if (s.trainOnChip > 0 && diverged === null) {
    try {
      const result = trainOnChip(sub, chipTrainingConfig(ctx, job.seed), ctx.data.train, ctx.data.validation, {
        onEpoch: (record) => {
          history.push(record.validationAccuracy);
          const d = parameterDivergence(sub, record.epoch);
          if (d !== null) throw new Diverged(d);
        },
      });
      history = result.history.map((h) => h.validationAccuracy);
      const after = await evaluate(chipTarget, split);
      diverged = outputDivergence(after.outputs.values, chipTarget.outputSize, 'evaluation after training', s.trainOnChip);
      accuracy = diverged === null ? after.accuracy : null;
      mismatchAfter = tauMismatch(sub);
    } catch (err) {
      if (!(err instanceof Diverged)) throw err;
      diverged = err.divergence;
      accuracy = null;
    }
  }
  const factors = (k: 'tauMFactor' | 'tauRFactor'): number[] => chip.layers.flatMap((l) => Array.from(l[k]));
  return {
    jobId: job.id,
    params: job.params,
    seed: job.seed,
    profile: s.profileName,
    profileHash: s.profileHash,
    modelHash: s.modelHash,
    task: s.task,
    split: s.split,
    trainOnChip: s.trainOnChip,
    learnTau: s.learnTau,
    chipLr: s.trainOnChip > 0 ? s.chipLr : null,
    ...(s.tauLrFactor !== undefined ? { tauLrFactor: s.tauLrFactor } : {}),
    resetState: s.resetState,
    metrics: {
      accuracy,
      accuracyBeforeTraining: before,
      trainingValidation: history,
      tauMFactorCV: sampleCv(factors('tauMFactor')),
      tauRFactorCV: sampleCv(factors('tauRFactor')),
      tauMismatch: mismatch,
      tauMismatchAfterTraining: mismatchAfter,
      tauRaisedToDt: sub.tauRaisedToDt,
      diverged,
    },
    timing: { seconds: (performance.now() - started) / 1000, finishedAt: new Date().toISOString() },
  };
}

/**
 * A line of records.jsonl read back: every field a summary or a resume reads is checked,
 * with errors naming the line, the field and the value. Accuracies are fractions in
 * [0, 1], or null only where the record says the job diverged.
 */
export function parseJobRecord(doc: unknown, source: string): JobRecord {
  const root = new Field(source, '', doc).object();
  const params: Overrides = {};
  const pf = root.child('params').object();
  for (const key of Object.keys(pf.value as object)) params[key as keyof Overrides] = pf.child(key).number();
  const optionalNumber = (f: Field): number | null => (f.isNull() ? null : f.number());
  const m = root.child('metrics').object();
  let diverged: Divergence | null = null;
  if (m.has('diverged') && !m.child('diverged').isNull()) {
    const d = m.child('diverged').object();
    diverged = {
      stage: d.child('stage').oneOf(['evaluation before training', 'training in the loop', 'evaluation after training'] as const),
      epoch: d.child('epoch').isNull() ? null : d.child('epoch').number({ integer: true, min: 1 }),
      where: d.child('where').string(),
      value: d.child('value').string(),
    };
  }
  const accuracy = (key: 'accuracy' | 'accuracyBeforeTraining'): number | null => {
    const f = m.child(key);
    if (f.isNull()) {
      if (diverged === null) f.fail('must be a fraction in [0, 1] (null only in the record of a job that diverged)');
      return null;
    }
    return f.number({ min: 0, max: 1 });
  };
  const trainOnChip = root.child('trainOnChip').number({ integer: true, min: 0 });
  const record: JobRecord = {
    jobId: root.child('jobId').string(),
    params,
    seed: root.child('seed').number({ integer: true, min: 1 }),
    profile: root.child('profile').string(),
    profileHash: root.child('profileHash').string(),
    modelHash: root.child('modelHash').string(),
    task: root.child('task').string(),
    split: root.child('split').oneOf(['test', 'validation'] as const),
    trainOnChip,
    learnTau: root.child('learnTau').boolean(),
    chipLr: optionalNumber(root.child('chipLr')),
    ...(root.has('tauLrFactor') ? { tauLrFactor: root.child('tauLrFactor').number({ minExclusive: 0 }) } : {}),
    resetState: root.child('resetState').boolean(),
    metrics: {
      accuracy: accuracy('accuracy'),
      accuracyBeforeTraining: accuracy('accuracyBeforeTraining'),
      trainingValidation: m
        .child('trainingValidation')
        .array()
        .map((f) => (f.isNull() ? NaN : f.number({ min: 0, max: 1 }))),
      tauMFactorCV: optionalNumber(m.child('tauMFactorCV')) ?? NaN,
      tauRFactorCV: optionalNumber(m.child('tauRFactorCV')) ?? NaN,
      tauMismatch: optionalNumber(m.child('tauMismatch')) ?? NaN,
      tauMismatchAfterTraining: optionalNumber(m.child('tauMismatchAfterTraining')),
      tauRaisedToDt: m.child('tauRaisedToDt').number({ integer: true, min: 0 }),
      diverged,
    },
    timing: (() => {
      const t = root.child('timing').object();
      return { seconds: t.child('seconds').number({ min: 0 }), finishedAt: t.child('finishedAt').string() };
    })(),
  };
  return record;
}

/** A record's point and seed are those of the job its id names (else the summary would file it under another point). */
export function checkRecordMatchesJob(record: JobRecord, job: Job, source: string): void {
  if (record.seed !== job.seed) throw new ValidationError(source, 'seed', record.seed, `must be ${job.seed}, the chip seed of job ${job.id}`);
  if (canonicalJson(record.params) !== canonicalJson(job.params)) {
    throw new ValidationError(source, 'params', JSON.stringify(record.params), `must be ${JSON.stringify(job.params)}, the point of job ${job.id}`);
  }
}
