/**
 * End-to-end jobs behind `glekit train` and `glekit eval`: data, preset, training,
 * model file, summary. The CLI only parses flags and prints what these return.
 */
import { resolve } from 'node:path';
import type { Dtype } from '../engine/types.js';
import { layerToModel, loadModel, makeModelFile, modelToSpec, saveModel } from '../model/model-file.js';
import { loadClassificationTask } from '../tasks/index.js';
import { GlekitError } from '../util/errors.js';
import { createProgress } from '../util/progress.js';
import { VERSION } from '../version.js';
import { buildSpec, evaluateClassifier, trainClassifier, type ClassifierConfig } from './classifier.js';
import { runLagLine, LAGLINE_DEFAULTS, type LagLineResult } from './lagline.js';
import { CLASSIFIER_PRESETS } from './presets.js';
import { defaultKernels } from '../engine/native.js';

export interface TrainRequest {
  task: string;
  seed: number;
  dataSeed: number;
  out: string;
  epochs?: number;
  dtype?: Dtype;
  quiet: boolean;
}

export interface TrainSummary {
  task: string;
  seed: number;
  dataSeed: number;
  testAccuracy: number;
  validationAccuracy: number;
  trainAccuracy: number;
  epochs: number;
  wallSeconds: number;
  modelPath: string;
  modelHash: string;
  kernels: string;
}

export function presetFor(task: string): Omit<ClassifierConfig, 'seed'> {
  const preset = CLASSIFIER_PRESETS[task];
  if (!preset) throw new GlekitError(`unknown task "${task}" (known: ${[...Object.keys(CLASSIFIER_PRESETS), 'lagline'].join(', ')})`);
  return preset;
}

export function runClassifierTraining(req: TrainRequest): TrainSummary {
  const started = performance.now();
  const preset = presetFor(req.task);
  const config: ClassifierConfig = {
    ...preset,
    seed: req.seed,
    epochs: req.epochs ?? preset.epochs,
    dtype: req.dtype ?? preset.dtype,
  };
  const data = loadClassificationTask(req.task, req.dataSeed);
  const kernels = defaultKernels();
  const totalBatches = Math.floor(data.train.count / config.batchSize) * config.epochs;
  const progress = createProgress(`train ${req.task} seed ${req.seed}`, totalBatches, { quiet: req.quiet });
  let lastValidation = NaN;
  const outcome = trainClassifier(config, data.train, data.validation, {
    kernels,
    onBatch: (done) => {
      if ((done & 31) === 0) progress.update(done, Number.isNaN(lastValidation) ? '' : `validation ${(100 * lastValidation).toFixed(1)} %`);
    },
    onEpoch: (record) => {
      lastValidation = record.validationAccuracy;
      progress.log(`epoch ${record.epoch}/${config.epochs}: train ${(100 * record.trainAccuracy).toFixed(2)} % validation ${(100 * record.validationAccuracy).toFixed(2)} % (${record.seconds.toFixed(2)} s)`);
    },
  });
  progress.stop();
  const inputSize = config.presentation.mode === 'static' ? data.inputSize : 1;
  const spec = buildSpec(config, inputSize, outcome.layers);
  const test = evaluateClassifier(spec, config.presentation, data.test, config.evalBatchSize, kernels);
  const last = outcome.history[outcome.history.length - 1];
  const wallSeconds = (performance.now() - started) / 1000;
  const model = makeModelFile({
    tool: `glekit ${VERSION}`,
    task: req.task,
    network: {
      dt: config.dt,
      gamma: config.gamma,
      beta: config.beta,
      loss: config.loss,
      prospectiveErrors: config.prospectiveErrors,
      layers: outcome.layers.map(layerToModel),
    },
    presentation: config.presentation,
    training: { ...config, dataSeed: req.dataSeed, kernels: kernels.name, history: outcome.history },
    metrics: {
      testAccuracy: test.accuracy,
      validationAccuracy: lastValidation,
      trainAccuracy: last.trainAccuracy,
      epochs: config.epochs,
      wallSeconds,
    },
  });
  saveModel(req.out, model);
  return {
    task: req.task,
    seed: req.seed,
    dataSeed: req.dataSeed,
    testAccuracy: test.accuracy,
    validationAccuracy: lastValidation,
    trainAccuracy: last.trainAccuracy,
    epochs: config.epochs,
    wallSeconds,
    modelPath: resolve(req.out),
    modelHash: model.contentHash,
    kernels: kernels.name,
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
}

export function evaluateModelFile(path: string, task: string, dtype: Dtype): EvalSummary {
  const started = performance.now();
  const model = loadModel(path);
  if (model.task !== task) throw new GlekitError(`${path}: the model was trained on task "${model.task}", not "${task}"`);
  const dataSeed = typeof model.training.dataSeed === 'number' ? model.training.dataSeed : 0;
  const data = loadClassificationTask(task, dataSeed);
  const evalBatch = typeof model.training.evalBatchSize === 'number' ? model.training.evalBatchSize : 1000;
  const test = evaluateClassifier(modelToSpec(model, dtype), model.presentation, data.test, evalBatch, defaultKernels());
  return {
    task,
    seed: typeof model.training.seed === 'number' ? model.training.seed : NaN,
    dataSeed,
    testAccuracy: test.accuracy,
    testCount: data.test.count,
    wallSeconds: (performance.now() - started) / 1000,
    modelPath: resolve(path),
    modelHash: model.contentHash,
    dtype,
  };
}

export interface LagLineRequest { seed: number; compare: boolean; prospectiveErrors: boolean; quiet: boolean }

export function runLagLineExperiment(req: LagLineRequest): { task: 'lagline'; seed: number; wallSeconds: number; runs: LagLineResult[] } {
  const started = performance.now();
  const variants = req.compare ? [true, false] : [req.prospectiveErrors];
  const runs = variants.map((prospectiveErrors) => {
    const config = { ...LAGLINE_DEFAULTS, seed: req.seed, prospectiveErrors };
    const totalSteps = Math.round((config.initTime + config.trainTime) / 0.01);
    const progress = createProgress(`lagline (prospective errors ${prospectiveErrors ? 'on' : 'off'})`, totalSteps, { quiet: req.quiet });
    const result = runLagLine(config, (done) => progress.update(done));
    progress.update(totalSteps);
    progress.stop();
    return result;
  });
  return { task: 'lagline', seed: req.seed, wallSeconds: (performance.now() - started) / 1000, runs };
}
