/**
 * The device descriptor (.gled): what `glekit compile` writes and both integer engines
 * (the TypeScript emulator in src/emulator and firmware-bridge/'s C engine) load. The
 * schema is firmware-bridge/DESCRIPTOR.md; the arithmetic it parameterises is
 * firmware-bridge/SEMANTICS.md.
 *
 *   types.ts     what a descriptor holds
 *   limits.ts    the bounds of format version 1
 *   envelope.ts  magic, version and the SHA-256 trailer, checked before anything is parsed
 *   codec.ts     bytes <-> Descriptor, and reading a .gled file
 *   validate.ts  the bounds that keep both engines exact
 */
export {
  DESCRIPTOR_EXTENSION,
  DESCRIPTOR_MAGIC,
  DESCRIPTOR_VERSION,
  DescriptorError,
  type Descriptor,
  type DescriptorHeader,
  type DescriptorLayer,
  type DescriptorNetwork,
  type Nonlinearity,
  type Placement,
} from './types.js';
export { LIMITS, storedRange } from './limits.js';
export { TRAILER_BYTES, checkEnvelope, descriptorHash, sealDescriptor } from './envelope.js';
export { decodeDescriptor, encodeDescriptor, formatFromParts, formatToWire, loadDescriptorFile } from './codec.js';
export { validateDescriptor } from './validate.js';
export { describeDescriptor, footprintBytes, formatDescriptorText, formatReport, type ReportRow } from './describe.js';
export { presentationInputs, quantiseInputs } from './inputs.js';
