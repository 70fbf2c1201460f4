/**
 * Targets: every way of running a network behind one interface, and what is written
 * once over it: evaluation on a split, comparison of two targets, the emulate job.
 */
export type { TargetRunOptions, Stimulus, Target, TargetKind, TargetOutputs } from './types.js';
export { cEngineTarget, codesTarget, codesToValues, fixedTarget, floatTarget, substrateTarget, type CodesRun } from './local.js';
export { compare, compareOnSplit, evaluate, requireFinite, firstSamples, outputsSha256, type Comparison, type Evaluation, type Mismatch } from './evaluate.js';
export {
  descriptorSplit,
  emulateTask,
  evaluateModelFile,
  type EmulateRequest,
  type EmulateSummary,
  type EngineName,
  type EvalSummary,
  type SplitName,
} from './jobs.js';
