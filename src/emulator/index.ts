/**
 * The fixed target: the integer engines that run a device descriptor (src/descriptor): this
 * TypeScript emulator, and firmware-bridge's C engine through its host program.
 */
export { FixedEngine, argmax, quantiseInputs, runPresentation, type OverflowCounts } from './engine.js';
export {
  benchC, cEngineAvailable, cHostPath, checkC, infoC, runPresentationC, traceC, traceTs, type CFootprint, type TraceJob,
} from './c-engine.js';
export { randomDescriptor, randomInputs, type RandomDescriptorOptions } from './random.js';

export {
  describeDescriptor, emulateTask, footprintBytes, formatDescriptorText, formatReport, outputsSha256, presentationInputs,
  type EmulateRequest, type EmulateSummary, type EngineName, type ReportRow,
} from './run.js';
