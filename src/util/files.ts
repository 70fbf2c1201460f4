/**
 * Writing files without destroying what the user had, and checking output paths before
 * the work that would fill them starts.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { GlekitError } from './errors.js';

function code(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** Flushes a directory's entries (a rename into it) to disk; a no-op where directories cannot be opened (Windows). */
export function fsyncDirectory(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // some file systems refuse fsync on a directory (EINVAL); the rename still happened
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes through a temporary file and a rename, so an interrupted or failed write
 * never destroys the file the user already had at that path. The data is forced to
 * disk before the rename and the directory entry after it, so that after a crash the
 * path holds the old file or the complete new one. Failures are GlekitErrors that name
 * the path and the system's error code.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const dir = dirname(path);
  const existing = statOrNull(path);
  if (existing?.isDirectory()) throw new GlekitError(`${path}: cannot write the file, a directory of that name exists`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new GlekitError(`${path}: cannot create its directory ${dir} (${code(err)})`);
  }
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new GlekitError(`${path}: cannot write the file (${code(err)})`);
  }
  fsyncDirectory(dir);
}

/** True when the two paths name the same existing file (through links and relative paths alike). */
export function sameFile(a: string, b: string): boolean {
  const sa = statOrNull(a);
  const sb = statOrNull(b);
  if (sa !== null && sb !== null) return sa.dev === sb.dev && sa.ino === sb.ino;
  return resolve(a) === resolve(b);
}

/** The nearest existing ancestor of a path (the path itself when it exists). */
function nearestExisting(path: string): { path: string; stats: Stats } {
  let p = resolve(path);
  for (;;) {
    const s = statOrNull(p);
    if (s !== null) return { path: p, stats: s };
    const up = dirname(p);
    if (up === p) throw new GlekitError(`${path}: no part of the path exists`);
    p = up;
  }
}

export interface InputPath {
  /** e.g. '--spec' */
  option: string;
  path: string;
}

/**
 * Checks, before any work, that `path` can become a file: it is not a directory, no
 * part of its folder is an existing file, and it is none of the inputs being read.
 * `option` names the flag (e.g. '--out') for the message.
 */
export function checkOutputFile(option: string, path: string, inputs: readonly InputPath[] = []): void {
  const s = statOrNull(path);
  if (s?.isDirectory()) throw new GlekitError(`option ${option}: ${JSON.stringify(path)} is a directory; give a file name`);
  if (s === null) {
    const anc = nearestExisting(dirname(resolve(path)));
    if (!anc.stats.isDirectory()) throw new GlekitError(`option ${option}: cannot create ${JSON.stringify(path)}: ${anc.path} is a file, not a directory`);
  }
  for (const input of inputs) {
    if (sameFile(path, input.path)) {
      throw new GlekitError(
        `option ${option}: ${JSON.stringify(path)} is also the ${input.option} file being read; writing it would destroy the input. Choose another ${option}`,
      );
    }
  }
}

/** As checkOutputFile, for an output directory: it may exist as a directory, but not as a file, nor inside a file. */
export function checkOutputDirectory(option: string, path: string, inputs: readonly InputPath[] = []): void {
  const s = statOrNull(path);
  if (s !== null && !s.isDirectory()) {
    const input = inputs.find((i) => sameFile(path, i.path));
    throw new GlekitError(
      `option ${option}: ${JSON.stringify(path)} is ${input ? `the ${input.option} file` : 'an existing file'}, not a directory; give a directory name`,
    );
  }
  if (s === null) {
    const anc = nearestExisting(path);
    if (!anc.stats.isDirectory())
      throw new GlekitError(`option ${option}: cannot create the directory ${JSON.stringify(path)}: ${anc.path} is a file, not a directory`);
  }
}
