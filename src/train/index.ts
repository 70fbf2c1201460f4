/**
 * The float target's training stage: presets of the papers' networks, the classifier
 * trainer (with its reduce-on-plateau schedule and checkpoints), LagLine, and the run
 * drivers the CLI calls.
 */
export { CLASSIFIER_PRESETS, MNIST1D_PRESET, MNIST_PRESET, YINYANG_PRESET, mnist1dHiddenTaus, type ClassifierPreset } from './presets.js';
export {
  buildSpec, evaluateClassifier, initialPlateau, stepPlateau, trainClassifier,
  type ClassifierConfig, type EpochRecord, type PlateauMonitor, type PlateauSchedule, type PlateauState, type TrainOutcome,
} from './classifier.js';
export { initLayers, type InitOptions, type LayerArchitecture } from './init.js';
export { runLagLine, LAGLINE_DEFAULTS, type LagLineConfig, type LagLineResult } from './lagline.js';
export {
  evaluateModelFile, presetFor, runClassifierTraining, runLagLineExperiment,
  type EvalSummary, type LagLineRequest, type TrainRequest, type TrainSummary,
} from './run.js';
export {
  batchBuffers, countCorrect, fillInput, fillOneHot, trainingBatchStartsAtRest, type BatchBuffers, type SequenceStart,
} from './presentation.js';
