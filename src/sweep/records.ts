/**
 * The records of a sweep directory: DIR/records.jsonl, which a single-machine run appends
 * to under DIR/sweep.lock, and DIR/records/*.jsonl, one file per process of a sharded run
 * (an array task and each of its attempts). Every file is append-only, one JSON line per
 * finished job, fsync'd per line, and written by exactly one process: no two writers ever
 * share a file, so no lock is needed, and nothing depends on a network file system
 * honouring one. Readers take the union; a job recorded twice (a requeued task redid it,
 * or two processes ran the same shard) counts once.
 */
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { GlekitError, ValidationError } from '../util/errors.js';
import { fsyncDirectory } from '../util/files.js';
import { canonicalJson } from '../util/canonical-json.js';
import { checkRecordMatchesJob, parseJobRecord, type JobRecord } from './job.js';
import type { Job } from './plan.js';

export const RECORDS_FILE = 'records.jsonl';
export const SHARD_RECORDS_DIR = 'records';

/** A shard's records file name: shard-I-of-N.WRITER.jsonl (see shardRecordsFile). */
const SHARD_FILE = /^shard-(\d+)-of-(\d+)\.([A-Za-z0-9._-]+)\.jsonl$/;

export interface RecordsFileInfo {
  file: string;
  /** the shard it was written for; null for DIR/records.jsonl */
  shard: { index: number; count: number } | null;
}

/** DIR/records.jsonl first, then DIR/records/*.jsonl in name order: a fixed order, so that which duplicate counts is fixed too. */
export function recordsFiles(dir: string): RecordsFileInfo[] {
  const files: RecordsFileInfo[] = [];
  if (existsSync(join(dir, RECORDS_FILE))) files.push({ file: join(dir, RECORDS_FILE), shard: null });
  const sub = join(dir, SHARD_RECORDS_DIR);
  if (existsSync(sub)) {
    for (const name of readdirSync(sub).sort()) {
      const m = SHARD_FILE.exec(name);
      if (m !== null) files.push({ file: join(sub, name), shard: { index: Number(m[1]), count: Number(m[2]) } });
    }
  }
  return files;
}

/**
 * A new records file of shard I/N for this process: DIR/records/shard-I-of-N.HOST.PID.TIME.jsonl.
 * Host, pid and start time make it this process's own: a requeued task, a second attempt
 * on another node, or a rerun by hand each get another file.
 */
export function shardRecordsFile(dir: string, index: number, count: number): string {
  const host = hostname().replace(/[^A-Za-z0-9-]/g, '-') || 'host';
  return join(dir, SHARD_RECORDS_DIR, `shard-${index}-of-${count}.${host}.${process.pid}.${Date.now().toString(36)}.jsonl`);
}

export interface ReadRecordsResult {
  /** the first record of every job, in file order */
  done: Map<string, JobRecord>;
  /** records of a job already recorded (ignored) */
  duplicates: number;
  /** duplicates whose metrics differ from the first record's (the runs were not deterministic) */
  conflicting: string[];
  /** records per file, in recordsFiles order */
  perFile: { info: RecordsFileInfo; records: JobRecord[]; partialLine: boolean }[];
}

/**
 * Reads every records file of DIR. A last line without its newline is what a kill in the
 * middle of a write leaves (or a write still under way in another process): it does not
 * count, and its job runs again. `truncateOwn` cuts it off DIR/records.jsonl, which only
 * the single-machine run (holding DIR/sweep.lock) writes; shard files are only read.
 */
export function readAllRecords(dir: string, jobs: ReadonlyMap<string, Job>, log: (s: string) => void, truncateOwn = false): ReadRecordsResult {
  const result: ReadRecordsResult = { done: new Map(), duplicates: 0, conflicting: [], perFile: [] };
  for (const info of recordsFiles(dir)) {
    let text = readFileSync(info.file, 'utf8');
    let partialLine = false;
    if (text.length > 0 && !text.endsWith('\n')) {
      partialLine = true;
      const keep = text.lastIndexOf('\n') + 1;
      if (truncateOwn && info.shard === null) {
        const fd = openSync(info.file, 'r+');
        try {
          ftruncateSync(fd, Buffer.byteLength(text.slice(0, keep)));
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        log(`${info.file}: dropped an incomplete last line (the previous run stopped while writing it); that job runs again`);
      }
      text = text.slice(0, keep);
    }
    const records: JobRecord[] = [];
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      const where = `${info.file} line ${i + 1}`;
      let doc: unknown;
      try {
        doc = JSON.parse(line);
      } catch (e) {
        throw new GlekitError(`${info.file}: line ${i + 1} is not valid JSON (${(e as Error).message})`);
      }
      const rec = parseJobRecord(doc, where);
      const job = jobs.get(rec.jobId);
      if (job === undefined) throw new ValidationError(where, 'jobId', rec.jobId, 'is not a job of this sweep (was the file copied from another sweep?)');
      checkRecordMatchesJob(rec, job, where);
      records.push(rec);
      const first = result.done.get(rec.jobId);
      if (first === undefined) {
        result.done.set(rec.jobId, rec);
        return;
      }
      result.duplicates++;
      if (canonicalJson(first.metrics) !== canonicalJson(rec.metrics)) result.conflicting.push(`${rec.jobId} (${where})`);
    });
    result.perFile.push({ info, records, partialLine });
  }
  return result;
}

/** Appends one line per record and forces it to disk before returning; the file is created at the first record. */
export class RecordWriter {
  private fd: number | null = null;
  /**
   * `exclusive`: the file must not exist yet (a shard's own file); otherwise records are
   * appended to what is there (DIR/records.jsonl under DIR/sweep.lock).
   */
  constructor(
    readonly file: string,
    private readonly exclusive = false,
  ) {}
  append(record: JobRecord): void {
    if (this.fd === null) {
      const dir = join(this.file, '..');
      const fresh = !existsSync(dir);
      mkdirSync(dir, { recursive: true });
      this.fd = openSync(this.file, this.exclusive ? 'ax' : 'a');
      // the new name must survive a crash as well as the line
      fsyncDirectory(dir);
      if (fresh) fsyncDirectory(join(dir, '..'));
    }
    // one write call per line: a kill can cut a line short but never interleave two
    writeSync(this.fd, JSON.stringify(record) + '\n');
    fsyncSync(this.fd);
  }
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
