/**
 * The names and numbers of firmware-bridge/PROTOCOL.md (version 1): message types (§3),
 * status codes (§2, mcumgr/SMP's), header layout and flags (§1).
 */

/** The header `version` this host speaks. */
export const PROTOCOL_VERSION = 1;
/** version, type, flags, seq (u16 LE), status */
export const HEADER_BYTES = 6;
export const CRC_BYTES = 4;
/** The smallest valid decoded frame: a header and a CRC. */
export const MIN_FRAME_BYTES = HEADER_BYTES + CRC_BYTES;
/** `flags` bit 0: the frame is a response. */
export const FLAG_RESPONSE = 0x01;

export const MsgType = {
  HELLO: 0x01,
  INFO: 0x02,
  STATE: 0x03,
  UPLOAD: 0x10,
  ERASE: 0x11,
  ABORT: 0x12,
  VERIFY: 0x13,
  ACTIVATE: 0x20,
  CONFIRM: 0x21,
  RESET: 0x22,
  RUN: 0x30,
  TRIM_SET: 0x40,
  TRIM_GET: 0x41,
  PROBE: 0x42,
  PROBE_READ: 0x43,
} as const;
export type MsgTypeName = keyof typeof MsgType;
export type MsgTypeCode = (typeof MsgType)[MsgTypeName];

export const Status = {
  OK: 0,
  UNKNOWN: 1,
  NOMEM: 2,
  INVAL: 3,
  TIMEOUT: 4,
  NOENT: 5,
  BADSTATE: 6,
  MSGSIZE: 7,
  NOTSUP: 8,
  CORRUPT: 9,
  BUSY: 10,
  ACCESSDENIED: 11,
  TOO_OLD: 12,
  TOO_NEW: 13,
} as const;
export type StatusName = keyof typeof Status;
export type StatusCode = (typeof Status)[StatusName];

const TYPE_NAMES = new Map<number, MsgTypeName>(Object.entries(MsgType).map(([k, v]) => [v, k as MsgTypeName]));
const STATUS_NAMES = new Map<number, StatusName>(Object.entries(Status).map(([k, v]) => [v, k as StatusName]));

/** "UPLOAD", or "type 0x42" for a code this host does not know. */
export function typeName(code: number): string {
  return TYPE_NAMES.get(code) ?? `type 0x${code.toString(16).padStart(2, '0')}`;
}

/** "NOMEM", or "status 77" for a code this host does not know. */
export function statusName(code: number): string {
  return STATUS_NAMES.get(code) ?? `status ${code}`;
}

/** Capabilities a board may list in INFO. */
export type Capability = 'run-samples' | 'run-steps' | 'record' | 'pace' | 'analog' | 'probe';
