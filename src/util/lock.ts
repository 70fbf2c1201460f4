/**
 * A lock file that keeps two processes from working in one directory at once (two
 * sweeps appending to one records file would each run the jobs the other runs).
 *
 * The lock is DIR/NAME holding {pid, host, started, command}, created atomically: the
 * content is written to a private temporary file which is then hard-linked to the lock
 * name, which fails if the lock exists. A lock whose process is gone (same host, pid
 * not alive) is stale: it is removed with a note and taken over. A lock from another
 * host cannot be checked and is reported with the command to remove it.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { linkSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { GlekitError } from './errors.js';

export interface LockInfo {
  pid: number;
  host: string;
  started: string;
  command: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(file: string): LockInfo | null {
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockInfo>;
    if (typeof doc.pid === 'number' && typeof doc.host === 'string') {
      return { pid: doc.pid, host: doc.host, started: String(doc.started ?? '?'), command: String(doc.command ?? '') };
    }
    return null;
  } catch {
    return null;
  }
}

/**
 * Takes the lock DIR/NAME or throws a GlekitError saying who holds it. Returns the
 * function that releases it (idempotent). `what` names the work for the message, e.g.
 * 'a sweep'.
 */
export function acquireDirectoryLock(dir: string, name: string, what: string, command: string, note: (s: string) => void = () => {}): () => void {
  const file = join(dir, name);
  const info: LockInfo = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command };
  const tmp = `${file}.${process.pid}-${Date.now()}`;
  writeFileSync(tmp, JSON.stringify(info) + '\n');
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, file);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 2) {
          throw new GlekitError(`${file}: cannot create the lock file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
        }
      }
      const holder = readLock(file);
      if (holder === null) {
        throw new GlekitError(
          `${file}: a lock file that cannot be read is in the way (another process may be creating it); ` +
            `if no ${what} runs in ${dir}, remove ${file} and run again`,
        );
      }
      if (holder.host === info.host && holder.pid === process.pid) {
        throw new GlekitError(`${dir}: this process already runs ${what} there`);
      }
      if (holder.host === info.host && !alive(holder.pid)) {
        note(`${file}: removing a stale lock of process ${holder.pid} (started ${holder.started}), which no longer runs`);
        rmSync(file, { force: true });
        continue;
      }
      const where = holder.host === info.host ? `process ${holder.pid} on this machine` : `process ${holder.pid} on host ${holder.host}`;
      throw new GlekitError(
        `${dir}: ${what} is already running there (${where}, started ${holder.started}${holder.command ? `: ${holder.command}` : ''}); ` +
          `wait for it to finish${holder.host === info.host ? '' : `, or if it no longer runs on ${holder.host}, remove ${file}`}`,
      );
    }
  } finally {
    rmSync(tmp, { force: true });
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const holder = readLock(file);
    if (holder !== null && holder.pid === info.pid && holder.host === info.host) {
      try {
        unlinkSync(file);
      } catch {
        /* already gone */
      }
    }
  };
}
