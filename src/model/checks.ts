/**
 * Checks of a model beyond its own consistency (which parseModel does): the bounds on
 * the work it asks for, the free-form training settings that evaluation reads, and
 * whether it fits the task it is run on. Each failure names the file, the field and
 * the value.
 */
import { LIMITS } from '../descriptor/limits.js';
import { ValidationError } from '../util/errors.js';
import { MAX_SEED } from '../util/rng.js';

/** Steps one sample may be presented for: the descriptor's bound, so that every model can be compiled. */
export const MAX_STEPS_PER_SAMPLE = LIMITS.stepsPerSample;

/** What checkModelFitsTask needs of a model (a ModelFile has it). */
export interface ModelShape {
  task: string;
  network: { layers: readonly { inputSize: number; outputSize: number }[] };
  presentation: { mode: 'static' | 'sequence'; stepsPerSample: number; settleSteps: number };
  training: Record<string, unknown>;
}

/** What checkModelFitsTask needs of a task (a ClassificationDataset has it). */
export interface TaskShape {
  name: string;
  /** values per sample (a sequence's length for sequence tasks) */
  inputSize: number;
  numClasses: number;
}

/**
 * The presentation's length and the training settings evaluation and training in the
 * loop read (batch sizes, seeds): bounded, integers, positive. parseModel calls it.
 */
export function checkModelLimits(model: ModelShape, source: string): void {
  const p = model.presentation;
  if (!(p.stepsPerSample <= MAX_STEPS_PER_SAMPLE)) {
    throw new ValidationError(
      source,
      'presentation.stepsPerSample',
      p.stepsPerSample,
      `must be at most ${MAX_STEPS_PER_SAMPLE} (the limit a compiled descriptor has)`,
    );
  }
  if (!(p.settleSteps < p.stepsPerSample)) {
    throw new ValidationError(
      source,
      'presentation.settleSteps',
      p.settleSteps,
      `must be below stepsPerSample (${p.stepsPerSample}), or no step would learn or be read`,
    );
  }
  const t = model.training;
  for (const key of ['batchSize', 'evalBatchSize'] as const) {
    const v = t[key];
    if (v !== undefined && !(typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 1_000_000)) {
      throw new ValidationError(source, `training.${key}`, v, 'must be an integer in 1..1000000');
    }
  }
  for (const key of ['seed', 'dataSeed'] as const) {
    const v = t[key];
    if (v !== undefined && !(typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_SEED)) {
      throw new ValidationError(source, `training.${key}`, v, `must be an integer in 0..${MAX_SEED}`);
    }
  }
}

/**
 * That the model can run on the task: the task it was trained on, an input layer as
 * wide as one step's input, one output per class, and (for sequences) a presentation
 * no longer than the sequence. Call before evaluating, sweeping or compiling a model
 * on a task.
 */
export function checkModelFitsTask(model: ModelShape, task: TaskShape, source: string): void {
  if (model.task !== task.name) {
    throw new ValidationError(source, 'task', model.task, `does not match the task it is run on ("${task.name}")`);
  }
  const layers = model.network.layers;
  const stepInput = model.presentation.mode === 'static' ? task.inputSize : 1;
  if (layers[0].inputSize !== stepInput) {
    const what = model.presentation.mode === 'static' ? `one ${task.name} sample` : 'one value of a sequence per step';
    throw new ValidationError(source, 'network.layers[0].inputSize', layers[0].inputSize, `must be ${stepInput}, the size of ${what}`);
  }
  const top = layers.length - 1;
  if (layers[top].outputSize !== task.numClasses) {
    throw new ValidationError(
      source,
      `network.layers[${top}].outputSize`,
      layers[top].outputSize,
      `must be ${task.numClasses}, the number of ${task.name} classes`,
    );
  }
  if (model.presentation.mode === 'sequence' && model.presentation.stepsPerSample > task.inputSize) {
    throw new ValidationError(
      source,
      'presentation.stepsPerSample',
      model.presentation.stepsPerSample,
      `exceeds the length of a ${task.name} sequence (${task.inputSize})`,
    );
  }
}
