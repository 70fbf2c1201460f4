/**
 * Byte streams a BoardClient talks over: a serial port (the npm `serialport` package,
 * loaded only when a port is opened), or an in-memory pair for tests. FaultyTransport
 * (faulty.ts) wraps either.
 */
import { GlekitError } from '../util/errors.js';

export type DataListener = (chunk: Uint8Array) => void;
/** `error` is set when the line went away by itself (the board died, the cable was pulled). */
export type CloseListener = (error: Error | undefined) => void;

export interface Transport {
  /** what error messages call the line: the port path, e.g. "/dev/pts/7" */
  readonly path: string;
  /** bits per second of the line (8N1: 10 bits per byte); 0 when unknown */
  readonly baudRate: number;
  /** false once closed, by either side: writes are then refused */
  readonly isOpen: boolean;
  /**
   * Queues bytes for the line. Returns false when the line is closed (nothing is sent).
   * The transport may keep `bytes` until sent: the caller must not change them.
   */
  write(bytes: Uint8Array): boolean;
  /** Bytes as they arrive, in arbitrary chunks. Returns a function that removes the listener. */
  onData(listener: DataListener): () => void;
  /** Called once when the line closes (by close() or by itself). */
  onClose(listener: CloseListener): () => void;
  /** Closes the line; resolves when closed. Closing twice is harmless. */
  close(): Promise<void>;
}

/** Listener lists and the close-once logic every transport shares. */
export abstract class BaseTransport implements Transport {
  abstract readonly path: string;
  abstract readonly baudRate: number;
  private readonly dataListeners: DataListener[] = [];
  private readonly closeListeners: CloseListener[] = [];
  protected closed = false;

  get isOpen(): boolean {
    return !this.closed;
  }

  abstract write(bytes: Uint8Array): boolean;
  abstract close(): Promise<void>;

  onData(listener: DataListener): () => void {
    this.dataListeners.push(listener);
    return () => removeFrom(this.dataListeners, listener);
  }

  onClose(listener: CloseListener): () => void {
    this.closeListeners.push(listener);
    return () => removeFrom(this.closeListeners, listener);
  }

  protected emitData(chunk: Uint8Array): void {
    if (this.closed) return;
    const ls = this.dataListeners;
    for (let i = 0; i < ls.length; i++) ls[i](chunk);
  }

  /** Marks the line closed and tells the listeners once. */
  protected markClosed(error: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.closeListeners.slice()) l(error);
  }
}

function removeFrom<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}

// ---------------------------------------------------------------------------------------
// in memory

/** One end of an in-memory line; bytes written at one end arrive at the other asynchronously. */
export class MemoryTransport extends BaseTransport {
  peer: MemoryTransport | null = null;

  constructor(
    readonly path: string,
    readonly baudRate = 0,
  ) {
    super();
  }

  write(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    const peer = this.peer;
    const copy = bytes.slice();
    queueMicrotask(() => {
      if (peer !== null && !this.closed) peer.emitData(copy);
    });
    return true;
  }

  /** Closes this end; the other end sees a disconnect. */
  async close(): Promise<void> {
    this.closeBoth(undefined);
  }

  /** Simulates the far side dying: both ends close, this one with a disconnect error. */
  disconnect(): void {
    this.closeBoth(new DisconnectError(this.path));
  }

  private closeBoth(error: Error | undefined): void {
    if (this.closed) return;
    this.markClosed(error);
    const peer = this.peer;
    if (peer !== null) queueMicrotask(() => peer.markClosed(new DisconnectError(peer.path)));
  }
}

/** Two connected in-memory transports: [host end, board end]. */
export function memoryLink(path = 'memory', baudRate = 0): [MemoryTransport, MemoryTransport] {
  const a = new MemoryTransport(path, baudRate);
  const b = new MemoryTransport(`${path} (board side)`, baudRate);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** The line went away by itself. */
export class DisconnectError extends Error {
  readonly disconnected = true;
  constructor(path: string) {
    super(`port ${path}: disconnected`);
    this.name = 'DisconnectError';
  }
}

// ---------------------------------------------------------------------------------------
// serial port

export interface SerialOptions {
  /** default 115200; a pseudo-terminal accepts any rate and the host board build paces to it */
  baudRate?: number;
  /** exclusive lock (default true): a second opener gets "in use" */
  lock?: boolean;
}

/** The part of `serialport`'s SerialPort this module uses. */
interface PortLike {
  readonly isOpen: boolean;
  write(data: Buffer, cb?: (err: Error | null | undefined) => void): boolean;
  on(event: 'data', l: (b: Buffer) => void): unknown;
  on(event: 'close', l: (err?: Error & { disconnected?: boolean }) => void): unknown;
  on(event: 'error', l: (err: Error) => void): unknown;
  close(cb?: (err: Error | null) => void): void;
}

/** A serial port (or pseudo-terminal) through the npm `serialport` package. Open with openSerial. */
export class SerialTransport extends BaseTransport {
  /** the last asynchronous error the port reported (write failures surface here and as a close) */
  lastError: Error | undefined;

  constructor(
    readonly path: string,
    readonly baudRate: number,
    private readonly port: PortLike,
  ) {
    super();
    port.on('data', (b: Buffer) => this.emitData(b));
    port.on('close', (err) => this.markClosed(err ?? undefined));
    port.on('error', (err) => {
      this.lastError = err;
    });
  }

  override get isOpen(): boolean {
    return !this.closed && this.port.isOpen;
  }

  write(bytes: Uint8Array): boolean {
    // after a disconnect, serialport queues writes for a new open and never calls back
    if (!this.isOpen) return false;
    const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.port.write(b, (err) => {
      if (err) this.lastError = err;
    });
    return true;
  }

  close(): Promise<void> {
    if (!this.port.isOpen) {
      this.markClosed(undefined);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.port.close(() => {
        this.markClosed(undefined);
        resolve();
      });
    });
  }
}

/**
 * Opens a serial port. Errors become one-line GlekitErrors naming the port: no such port,
 * permission denied, in use by another program, or what the system said.
 */
export async function openSerial(path: string, opts: SerialOptions = {}): Promise<SerialTransport> {
  const baudRate = opts.baudRate ?? 115200;
  if (!Number.isInteger(baudRate) || baudRate <= 0) throw new GlekitError(`port ${path}: baud rate must be a positive integer (got ${baudRate})`);
  let mod: typeof import('serialport');
  try {
    mod = await import('serialport');
  } catch (e) {
    throw new GlekitError(`port ${path}: cannot load the serialport package (${(e as Error).message.split('\n')[0]}); run npm install`);
  }
  const port = new mod.SerialPort({ path, baudRate, lock: opts.lock ?? true, autoOpen: false });
  await new Promise<void>((resolve, reject) => {
    port.open((err) => (err ? reject(serialOpenError(path, err)) : resolve()));
  });
  return new SerialTransport(path, baudRate, port as unknown as PortLike);
}

/** A one-line error for a port that would not open. */
export function serialOpenError(path: string, err: Error): GlekitError {
  const m = err.message;
  const code = (err as NodeJS.ErrnoException).code;
  if (/Cannot lock port/i.test(m)) return new GlekitError(`port ${path}: in use by another program (Cannot lock port)`);
  if (code === 'ENOENT' || /ENOENT|No such file/i.test(m)) return new GlekitError(`port ${path}: no such port (ENOENT)`);
  if (code === 'EACCES' || /EACCES|Permission denied/i.test(m)) {
    return new GlekitError(`port ${path}: permission denied (EACCES); on Linux add the user to the port's group, e.g. dialout`);
  }
  if (code === 'EBUSY' || /EBUSY|busy/i.test(m)) return new GlekitError(`port ${path}: busy (EBUSY)`);
  if (code === 'ENOTTY' || /Inappropriate ioctl/i.test(m)) return new GlekitError(`port ${path}: not a serial port (Inappropriate ioctl for device)`);
  return new GlekitError(`port ${path}: cannot open: ${m.split('\n')[0].replace(/^Error:\s*/, '')}`);
}
