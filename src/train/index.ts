/**
 * The float target's training stage: presets of the papers' networks, the classifier
 * trainer (with its reduce-on-plateau schedule and checkpoints), LagLine, and the run
 * drivers the CLI calls.
 */
export { CLASSIFIER_PRESETS, MNIST1D_PRESET, MNIST_PRESET, YINYANG_PRESET, mnist1dHiddenTaus, type ClassifierPreset } from './presets.js';
export { buildSpec, evaluateClassifier, trainClassifier, type ClassifierConfig, type TrainOutcome } from './classifier.js';
export {
  initialPlateau,
  monitoredValue,
  stepPlateau,
  type EpochRecord,
  type PlateauMonitor,
  type PlateauSchedule,
  type PlateauState,
} from './plateau.js';
export { runEpochs, type EpochLoop } from './epochs.js';
export { initLayers, type InitOptions, type LayerArchitecture } from './init.js';
export { runLagLine, LAGLINE_DEFAULTS, type LagLineConfig, type LagLineResult } from './lagline.js';
export {
  presetFor,
  runClassifierTraining,
  runLagLineExperiment,
  type LagLineRequest,
  type TrainRequest,
  type TrainSummary,
} from './run.js';
export {
  batchBuffers,
  evaluateSplit,
  presentBatch,
  trainingBatchStartsAtRest,
  type BatchBuffers,
  type BatchResult,
  type LearnStep,
  type SequenceStart,
  type SplitEvaluation,
} from './presentation.js';
