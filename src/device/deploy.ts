/**
 * Putting a descriptor on a board and taking it off again: connect, deploy (upload to the
 * slot that is not running, verify, activate as a test or permanently), revert, and the
 * hardware-in-the-loop comparison of the board with the TypeScript emulator.
 */
import { BoardClient, imageFormatVersion, openSerial, type BoardInfo, type BoardState, type UploadProgress } from '../bridge/index.js';
import { decodeDescriptor, descriptorHash, loadDescriptorFile } from '../descriptor/index.js';
import { compareOnSplit, descriptorSplit, fixedTarget, type Mismatch, type SplitName } from '../target/index.js';
import { GlekitError } from '../util/errors.js';
import { checkBoardRuns, deviceTarget, imageSha256 } from './target.js';

export interface ConnectOptions {
  /** line rate (default 115200); the emulated board paces to it when started with --pace */
  baudRate?: number;
  /** fixed part of every request's timeout, ms (default 500) */
  marginMs?: number;
}

/** Opens the port and says HELLO; the port is closed again when the board does not answer. */
export async function connectBoard(port: string, options: ConnectOptions = {}): Promise<BoardClient> {
  const transport = await openSerial(port, { baudRate: options.baudRate ?? 115200 });
  try {
    return await BoardClient.open(transport, { baudRate: options.baudRate ?? 115200, marginMs: options.marginMs, hostName: 'glekit' });
  } catch (err) {
    await transport.close().catch(() => {});
    throw err;
  }
}

/** Runs `work` with a connected board and always closes the port afterwards. */
export async function withBoard<T>(port: string, options: ConnectOptions, work: (client: BoardClient) => Promise<T>): Promise<T> {
  const client = await connectBoard(port, options);
  try {
    return await work(client);
  } finally {
    await client.close().catch(() => {});
  }
}

export interface DeployResult {
  port: string;
  descriptor: string;
  /** SHA-256 of the image file, as the board reports it per slot */
  sha256: string;
  bytes: number;
  slot: number;
  mode: 'test' | 'permanent';
  /** bytes the board already held of this image (resumed upload) */
  resumedFrom: number;
  uploadSeconds: number;
  /** image bytes per second over the upload */
  bytesPerSecond: number;
  /** nothing was uploaded: the board already ran this image */
  alreadyRunning: boolean;
  state: BoardState;
}

/**
 * Refusals that need no byte on the line, checked before the descriptor is parsed: a
 * format version the firmware does not read, an image larger than the board's slots.
 */
export function checkFitsBoard(info: BoardInfo, bytes: Uint8Array, path: string, port: string): void {
  const version = imageFormatVersion(bytes);
  if (version !== null && !info.formats.includes(version)) {
    throw new GlekitError(
      `port ${port}: deploy ${path}: descriptor format version ${version} is not one the board's firmware (${info.firmware}) reads (${info.formats.join(', ')})`,
    );
  }
  if (bytes.length > info.slotSize) {
    throw new GlekitError(`port ${port}: deploy ${path}: the descriptor has ${bytes.length} bytes, the board's slots hold ${info.slotSize}`);
  }
}

/**
 * A descriptor compiled with a board calibration (--board-calibration) carries that board's
 * trims: refused on any other board, naming both.
 */
export function checkCalibratedFor(info: BoardInfo, headerInfo: Record<string, unknown>, path: string, port: string): void {
  const bc = headerInfo.boardCalibration as { board?: unknown } | undefined;
  if (bc === undefined || bc === null || typeof bc.board !== 'string') return;
  if (bc.board !== info.boardId) {
    throw new GlekitError(
      `port ${port}: deploy ${path}: the descriptor carries the trim codes of board ${bc.board}, this board is ${info.boardId}: compile it with this board's calibration (glekit calibrate --port ${port} ...)`,
    );
  }
}

export async function deployDescriptor(
  client: BoardClient,
  path: string,
  bytes: Uint8Array,
  mode: 'test' | 'permanent',
  onProgress?: (p: UploadProgress) => void,
): Promise<DeployResult> {
  const info = await client.info();
  checkFitsBoard(info, bytes, path, client.port);
  const d = decodeDescriptor(bytes, path);
  checkCalibratedFor(info, d.header.info, path, client.port);
  const sha256 = imageSha256(bytes);
  const before = await client.state();
  const running = before.slots.find((s) => s.slot === before.active);
  const base = { port: client.port, descriptor: path, sha256, bytes: bytes.length, mode };
  if (running !== undefined && running.hash !== null && Buffer.from(running.hash).toString('hex') === sha256) {
    const state = mode === 'permanent' && !running.confirmed ? await client.confirm() : before;
    return { ...base, slot: running.slot, resumedFrom: bytes.length, uploadSeconds: 0, bytesPerSecond: 0, alreadyRunning: true, state };
  }
  // MCUboot's rule: never write over the image that runs
  const slot = before.slots.find((s) => s.slot !== before.active)?.slot;
  if (slot === undefined) throw new GlekitError(`port ${client.port}: deploy ${path}: the board has no slot besides the running one`);
  const upload = await client.upload(slot, bytes, { onProgress });
  const verified = await client.verify(slot);
  if (Buffer.from(verified.hash).toString('hex') !== sha256) {
    throw new GlekitError(`port ${client.port}: deploy ${path}: slot ${slot} verifies as another image than the one uploaded`);
  }
  const state = await client.activate(slot, mode === 'permanent');
  const seconds = upload.ms / 1000;
  return {
    ...base,
    slot,
    resumedFrom: upload.resumedFrom,
    uploadSeconds: seconds,
    bytesPerSecond: (bytes.length - upload.resumedFrom) / Math.max(seconds, 1e-9),
    alreadyRunning: false,
    state,
  };
}

/**
 * Back to the previous image: an unconfirmed test image is reverted by a reset (MCUboot's
 * rule); a confirmed one by activating the other slot's image permanently, if it has one.
 */
export async function revertBoard(client: BoardClient): Promise<{ how: 'reset' | 'activate'; state: BoardState }> {
  const state = await client.state();
  const running = state.slots.find((s) => s.slot === state.active);
  if (running !== undefined && !running.confirmed) return { how: 'reset', state: await client.reset() };
  const other = state.slots.find((s) => s.slot !== state.active && s.state === 'complete' && s.bootable);
  if (other === undefined) throw new GlekitError(`port ${client.port}: revert: there is no other bootable image to go back to`);
  return { how: 'activate', state: await client.activate(other.slot, true) };
}

export interface HilCompareRequest {
  port: string;
  descriptorPath: string;
  task: string;
  split?: SplitName;
  dataSeed?: number;
  limit?: number;
  connect?: ConnectOptions;
}

export interface HilCompareSummary {
  port: string;
  descriptor: string;
  descriptorHash: string;
  task: string;
  split: string;
  samples: number;
  /** the board's accuracy */
  accuracy: number;
  /** SHA-256 over the board's read-out codes (int64 LE), as `glekit emulate` prints it */
  outputsSha256: string;
  emulatorAccuracy: number;
  emulatorOutputsSha256: string;
  /** every read-out code of every sample equal */
  equal: boolean;
  firstMismatch: Mismatch | null;
  mismatches: number;
  /** the board's steps per second over the run, the line included */
  stepsPerSecond: number;
  boardSeconds: number;
}

/** The task's split on the board and on the TypeScript emulator, compared code by code. */
export async function hilCompare(req: HilCompareRequest): Promise<HilCompareSummary> {
  const { descriptor: d, bytes } = loadDescriptorFile(req.descriptorPath);
  const { split } = descriptorSplit(d, req.descriptorPath, req.task, req.split, req.dataSeed, req.limit);
  return withBoard(req.port, req.connect ?? {}, async (client) => {
    await checkBoardRuns(client, bytes, req.descriptorPath);
    const { a: board, b: emulator, comparison } = await compareOnSplit(deviceTarget(client, d), fixedTarget(d), split);
    return {
      port: req.port,
      descriptor: req.descriptorPath,
      descriptorHash: descriptorHash(bytes),
      task: req.task,
      split: req.split ?? 'test',
      samples: split.count,
      accuracy: board.accuracy,
      outputsSha256: board.outputsSha256!,
      emulatorAccuracy: emulator.accuracy,
      emulatorOutputsSha256: emulator.outputsSha256!,
      equal: comparison.equal,
      firstMismatch: comparison.firstMismatch,
      mismatches: comparison.mismatches,
      stepsPerSecond: (split.count * d.network.presentation.stepsPerSample) / Math.max(board.wallSeconds, 1e-9),
      boardSeconds: board.wallSeconds,
    };
  });
}
