/**
 * The fixed target: the integer engines that run a device descriptor (src/descriptor): this
 * TypeScript emulator, and firmware-bridge's C engine through its host program.
 */
export { FixedEngine, runPresentation, type OverflowCounts } from './engine.js';
export {
  benchC,
  cEngineAvailable,
  cHostPath,
  checkC,
  infoC,
  runPresentationC,
  traceC,
  traceTs,
  type CFootprint,
  type TraceJob,
} from './c-engine.js';
export { randomDescriptor, randomInputs, type RandomDescriptorOptions } from './random.js';
