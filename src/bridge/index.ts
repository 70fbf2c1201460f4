/**
 * The host side of the serial bridge (firmware-bridge/PROTOCOL.md): talk to a board over
 * a serial port, upload a .gled descriptor to a slot with resume, verify, activate and
 * confirm it, and run samples or steps on it.
 *
 *   const t = await openSerial('/dev/ttyACM0', { baudRate: 921600 });
 *   const board = await BoardClient.open(t);
 *   await board.upload(1, bytes, { onProgress });
 *   await board.verify(1);
 *   await board.activate(1, false);
 *   const { y } = await board.runSamples(codes);
 *   await board.confirm();
 *
 *   cobs.ts, frame.ts, protocol.ts  the wire: COBS, CRC-32, headers, msgpack payloads, names
 *   transport.ts                    Transport; SerialTransport (npm serialport, loaded on open); memoryLink
 *   faulty.ts                       FaultyTransport: seeded damage for tests and the soak
 *   client.ts                       BoardClient: requests, timeouts, retries, boot and reboot
 *   upload.ts, run.ts, request.ts   its upload and RUN pipelines, and what they share
 *   board-process.ts                the firmware's host build (gle_board) as a child process
 */
export {
  BoardClient,
  BridgeError,
  adcValue,
  imageFormatVersion,
  type AdcInfo,
  type AnalogInfo,
  type ProbeObserve,
  type ProbeRequest,
  type ProbeResult,
  type ProbeSamples,
  type BoardInfo,
  type BoardState,
  type BoardStats,
  type BridgeFailure,
  type ClientOptions,
  type NetworkShape,
  type RunOptions,
  type RunResult,
  type RunStepsOptions,
  type SlotFill,
  type SlotState,
  type UploadOptions,
  type UploadProgress,
  type UploadResult,
  type VerifyResult,
} from './client.js';
export {
  BaseTransport,
  DisconnectError,
  MemoryTransport,
  SerialTransport,
  memoryLink,
  openSerial,
  serialOpenError,
  type CloseListener,
  type DataListener,
  type SerialOptions,
  type Transport,
} from './transport.js';
export { FaultyTransport, LineCutError, addFaultCounts, emptyFaultCounts, type FaultCounts, type FaultOptions, type FaultRates } from './faulty.js';
export {
  CRC_BYTES,
  FLAG_RESPONSE,
  HEADER_BYTES,
  MIN_FRAME_BYTES,
  MsgType,
  PROTOCOL_VERSION,
  Status,
  statusName,
  typeName,
  type Capability,
  type MsgTypeCode,
  type MsgTypeName,
  type StatusCode,
  type StatusName,
} from './protocol.js';
export { CobsDecoder, cobsDecode, cobsEncode, cobsEncodeInto, cobsMaxEncodedLength, type CobsDropCounts } from './cobs.js';
export {
  FrameEncoder,
  FrameReader,
  crc32,
  crc32Table,
  encodeFrame,
  isResponse,
  packPayload,
  parseFrame,
  unpackPayload,
  wireBytes,
  type Frame,
  type FrameDropCounts,
  type FrameHeader,
  type WireValue,
} from './frame.js';
export { BoardProcess, boardProgramAvailable, boardProgramPath, type BoardProcessOptions } from './board-process.js';
