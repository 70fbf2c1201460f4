/**
 * What a model file records about its training that later stages read: the seeds, the
 * batch sizes and how training sequences started. The `training` object is free-form
 * (checkModelLimits bounds the numeric fields it has); this is the one place that
 * reads it and fills in what an older file leaves out.
 */
import type { ModelFile } from './model-file.js';

/** Evaluation batch size when the model file does not record one. */
export const DEFAULT_EVAL_BATCH_SIZE = 1000;

export interface TrainingInfo {
  /** the training seed, null when the file does not record one */
  seed: number | null;
  /** the task data's seed (0 when not recorded) */
  dataSeed: number;
  /** the training batch size, null when not recorded */
  batchSize: number | null;
  evalBatchSize: number;
  /** how training sequences started: from rest ('reset', also when not recorded) or from the previous batch's state */
  sequenceStart: 'carry' | 'reset';
}

const finite = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function trainingInfo(model: Pick<ModelFile, 'training'>): TrainingInfo {
  const t = model.training;
  return {
    seed: finite(t.seed),
    dataSeed: finite(t.dataSeed) ?? 0,
    batchSize: finite(t.batchSize),
    evalBatchSize: finite(t.evalBatchSize) ?? DEFAULT_EVAL_BATCH_SIZE,
    sequenceStart: t.trainingSequenceStart === 'carry' ? 'carry' : 'reset',
  };
}
