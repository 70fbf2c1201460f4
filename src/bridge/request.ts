/**
 * What the BoardClient's parts share: a request as the client sends it, the board's
 * answer, the error every failure becomes, and the link the upload and RUN pipelines
 * (upload.ts, run.ts) drive the client through.
 */
import { GlekitError } from '../util/errors.js';
import type { Frame, WireValue } from './frame.js';
import type { Status } from './protocol.js';

/** Why a request failed: a status from the board, or the host's own reasons. */
export type BridgeFailure = keyof typeof Status | 'closed' | 'protocol' | 'refused';

/** A request that failed; the message is one line naming the port and the request. */
export class BridgeError extends GlekitError {
  constructor(
    readonly port: string,
    readonly request: string,
    readonly failure: BridgeFailure,
    readonly detail: string,
    readonly status?: number,
  ) {
    super(`port ${port}: ${request}: ${detail}`);
    this.name = 'BridgeError';
  }
}

export type Body = Record<string, unknown>;

/** The board's answer to a request, whatever its status. */
export interface Response {
  status: number;
  body: Body;
  frame: Frame;
}

export interface RequestSpec {
  type: number;
  payload: Record<string, WireValue>;
  /** "UPLOAD slot 1 off 4096": built only when needed */
  label: () => string;
  /** the largest response, payload bytes */
  responseBytes: number;
  /** the board's work, ms */
  workMs: number;
  /** told the round-trip time of an answer to the first attempt sent with nothing else in flight */
  measure?: (elapsedMs: number, wireBytes: number) => void;
}

/** Typed reads of an answer's fields; a missing or mistyped field fails the request by name. */
export interface Fields {
  int(name: string): number;
  bool(name: string): boolean;
  bin(name: string): Uint8Array;
}

/** The part of a BoardClient the pipelines use. */
export interface Link {
  readonly port: string;
  /** Sends one request (retried with the same seq on timeouts); `seq` names it for abandon(). */
  send(spec: RequestSpec): Promise<Response> & { seq: number };
  /** Stops retrying a request: its next timeout ends it. */
  abandon(p: { seq: number }): void;
  /** Fails with the board's status and reason unless OK. */
  checkStatus(r: Response, label: () => string): void;
  fields(r: Response, label: () => string): Fields;
  /** line time of `bytes` at the port's rate, ms */
  lineMs(bytes: number): number;
}
