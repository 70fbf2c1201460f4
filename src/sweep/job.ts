/**
 * One sweep job: (point, chip seed) -> record. Runs the same in a worker thread and
 * inline; everything it needs comes from the JobContext, built once per thread.
 */
import { defaultKernels } from '../engine/native.js';
import type { WeightKernels } from '../engine/kernels.js';
import { DEFAULT_LEARNING, type LearningSetup, type NetworkSpec } from '../engine/types.js';
import { realiseChip, withOverrides, type Architecture, type HwProfile, type Overrides } from '../hw/index.js';
import { loadModel, modelToSpec, type ModelFile } from '../model/model-file.js';
import { Substrate, evaluateOnChip, trainOnChip, type ChipTrainingConfig } from '../substrate/index.js';
import { loadClassificationTask } from '../tasks/index.js';
import type { ClassificationDataset } from '../tasks/types.js';
import { GlekitError } from '../util/errors.js';
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
    throw new GlekitError(`${init.modelPath}: the model changed while the sweep ran (content hash ${model.contentHash}, the sweep started with ${init.settings.modelHash})`);
  }
  const spec = modelToSpec(model);
  const kernels = defaultKernels();
  if (kernels.name !== init.settings.kernels) {
    throw new GlekitError(`this thread has the ${kernels.name} kernels, the sweep runs on ${init.settings.kernels}; results would differ in rounding`);
  }
  return {
    init,
    model,
    spec,
    architecture: { inputSize: spec.layers[0].inputSize, layerSizes: spec.layers.map((l) => l.outputSize) },
    data: loadClassificationTask(init.settings.task, init.settings.dataSeed),
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

export interface JobMetrics {
  /** accuracy on the split, on the chip, after training in the loop when there was any */
  accuracy: number;
  /** accuracy of the model as trained, on this chip, before any training in the loop */
  accuracyBeforeTraining: number;
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
    for (let j = 0; j < l.tauM.length; j++) { sum += Math.abs(l.tauM[j] / l.tauR[j] - 1); n++; }
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
    tauMin: s.learnTau ? ctx.spec.dt : trained.tauMin ?? 0,
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

export function runJob(ctx: JobContext, job: Job): JobRecord {
  const started = performance.now();
  const s = ctx.init.settings;
  const profile = withOverrides(ctx.init.profile, job.params);
  const chip = realiseChip(profile, ctx.architecture, job.seed);
  const sub = new Substrate(ctx.spec, chip, { kernels: ctx.kernels });
  const split = s.split === 'test' ? ctx.data.test : ctx.data.validation;
  const evalBatch = chipTrainingConfig(ctx, job.seed).evalBatchSize;
  const before = evaluateOnChip(sub, ctx.model.presentation, split, evalBatch).accuracy;
  const mismatch = tauMismatch(sub);
  let accuracy = before;
  let history: number[] = [];
  let mismatchAfter: number | null = null;
  if (s.trainOnChip > 0) {
    const result = trainOnChip(sub, chipTrainingConfig(ctx, job.seed), ctx.data.train, ctx.data.validation);
    history = result.history.map((h) => h.validationAccuracy);
    accuracy = evaluateOnChip(sub, ctx.model.presentation, split, evalBatch).accuracy;
    mismatchAfter = tauMismatch(sub);
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
    },
    timing: { seconds: (performance.now() - started) / 1000, finishedAt: new Date().toISOString() },
  };
}
