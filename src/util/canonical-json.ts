/**
 * Canonical JSON: object keys sorted at every level, no whitespace, so that equal content
 * gives equal text however it was built or laid out in a file. Content hashes (model
 * files, checkpoints, hardware profiles) and sweep job identities are taken over it.
 * Numbers and strings are written as JSON.stringify writes them; undefined members are
 * left out, as JSON.stringify leaves them out.
 */
import { createHash } from 'node:crypto';
import stringify from 'safe-stable-stringify';

export function canonicalJson(value: unknown): string {
  return stringify(value) ?? '';
}

/** SHA-256 (hex) of the canonical JSON of a value. */
export function canonicalSha256(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}
