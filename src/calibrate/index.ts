/**
 * The calibrate stage: calibrating an analog board through the probe messages of
 * firmware-bridge/PROTOCOL.md §6 (targets, measurement, code search, the calibration file
 * and its cache), writing a calibration's trims into a descriptor, and training with the
 * board in the loop.
 *
 *   targets.ts  what to calibrate for (a model's taus, gain 1, offset 0), and its hash
 *   fit.ts      step-response and steady-state estimates from ADC samples
 *   measure.ts  probes of whole layers -> per-neuron estimates; the probe plan (readout)
 *   search.ts   the lockstep code search of all neurons (exponential, binary, noise-robust end)
 *   file.ts     the calibration file, its content hash, the cache
 *   run.ts      calibrateBoard: stages, resume, cache
 */
export {
  PARAMS,
  TARGETS_FORMAT,
  loadTargetsFile,
  neuronCount,
  targetsFromModel,
  targetsHash,
  type CalibrationTargets,
  type LayerTargets,
  type ParamName,
} from './targets.js';
export { fitRho, fitStepResponse, invertPhi } from './fit.js';
export { CodeSearch, majorityDirection } from './search.js';
export { Prober, planProbes, type ProbePlan } from './measure.js';
export {
  CALIBRATION_FORMAT,
  CalibrationFileError,
  cacheDirectory,
  cachePath,
  calibrationContentHash,
  calibrationKey,
  checkCalibrationFits,
  layerTrims,
  readCalibration,
  writeCalibration,
  type BoardCalibration,
  type CalibrationStats,
  type LayerCalibration,
  type ParamCalibration,
  type Spread,
} from './file.js';
export { CalibrationInterrupted, calibrateBoard, type CalibrateOptions, type CalibrateResult } from './run.js';
export { applyBoardCalibration, type AppliedCalibration } from './apply.js';
