/**
 * The deploy stage: a board behind the serial bridge as the fifth target, deploying
 * descriptors to it, reverting, and comparing it with the emulator (hardware in the loop).
 */
export { checkBoardRuns, deviceTarget, imageSha256, sampleCodes } from './target.js';
export {
  checkFitsBoard,
  connectBoard,
  deployDescriptor,
  hilCompare,
  revertBoard,
  withBoard,
  type ConnectOptions,
  type DeployResult,
  type HilCompareRequest,
  type HilCompareSummary,
} from './deploy.js';
export { formatDemo, runDemo, type DemoRequest, type DemoSummary } from './demo.js';
export {
  checkHostUpdateApplies,
  hilTrain,
  hostGradients,
  phiPrimeFromRate,
  rateTolerance,
  statesToValues,
  withParameters,
  type HilEpoch,
  type HilTrainRequest,
  type HilTrainSummary,
  type HostNetwork,
  type RecordedBatch,
} from './hil-train.js';
