/**
 * HDF5 through h5wasm (the HDF5 C library compiled to WebAssembly; no native build),
 * loaded on first use so that commands which never touch NIR do not pay for it. What
 * NIR files hold is a tree of groups, datasets and attributes; this file reads and
 * writes such a tree and nothing NIR-specific.
 *
 * HDF5 reports its own errors by printing a stack to the process's stderr. h5wasm's
 * throwing error handler turns them into exceptions instead, which this file turns
 * into one-line GlekitErrors naming the file.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Dataset as H5Dataset, Group as H5Group } from 'h5wasm/node';
import { GlekitError } from '../util/errors.js';
import { writeFileAtomic } from '../util/files.js';

type H5Module = typeof import('h5wasm/node').default;

let loading: Promise<H5Module> | null = null;

/** h5wasm, ready, with HDF5's error stack turned into exceptions (never printed). */
export function h5(): Promise<H5Module> {
  loading ??= (async () => {
    const mod = (await import('h5wasm/node')).default;
    const wasm = await mod.ready;
    (wasm as unknown as { activate_throwing_error_handler(): void }).activate_throwing_error_handler();
    return mod;
  })();
  return loading;
}

/** A numeric dataset as float64 values (integers and float32 convert exactly), row-major. */
export interface NumericValue {
  kind: 'numeric';
  shape: number[];
  data: Float64Array;
  dtype: string;
}
export interface StringValue {
  kind: 'string';
  shape: number[];
  values: string[];
}
/** A dataset of a type this reader does not interpret (compound, reference, ...). */
export interface OtherValue {
  kind: 'other';
  shape: number[] | null;
  dtype: string;
}
export type LeafValue = NumericValue | StringValue | OtherValue;
export interface TreeGroup {
  kind: 'group';
  children: Map<string, TreeNode>;
  attrs: Map<string, LeafValue>;
}
export type TreeNode = TreeGroup | LeafValue;

/** What a writer gives: strings, numbers, float64 or int64 arrays with a shape, groups. */
export type WriteValue =
  | string
  | number
  | { strings: string[]; shape: number[] }
  | { float64: Float64Array | readonly number[]; shape: number[] }
  | { int64: readonly number[]; shape: number[] }
  | { int32: Int32Array; shape: number[] };
export interface WriteGroup {
  [name: string]: WriteValue | WriteGroup | undefined;
}
/** Attributes to put on the group that holds them: `{ '@attrs': {...} }` inside a WriteGroup. */
export const ATTRS = '@attrs';

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** HDF5 puts its signature at 0, 512, 1024, 2048, ... (after a user block). */
function hasHdf5Signature(path: string, size: number): boolean {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(8);
    for (let at = 0; at + 8 <= size; at = at === 0 ? 512 : at * 2) {
      if (readSync(fd, b, 0, 8, at) === 8 && b.equals(HDF5_SIGNATURE)) return true;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

/** The last line of HDF5's error stack that says what went wrong ("minor: ..."), else the first line. */
function hdf5Reason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const minors = [...text.matchAll(/minor: (.*)/g)].map((m) => m[1].trim());
  return minors.length > 0 ? minors[minors.length - 1] : text.split('\n')[0].trim();
}

/**
 * Opens `path` for reading and hands its root group to `work`, closing it afterwards. A
 * missing or unreadable file, or one that is not HDF5, is refused in one line before
 * HDF5 is asked to open it; what HDF5 itself refuses is reported likewise.
 */
export async function withHdf5Reader<T>(path: string, what: string, work: (root: H5Group) => T): Promise<T> {
  let size: number;
  try {
    const s = statSync(path);
    if (!s.isFile()) throw new GlekitError(`${path}: not a ${what}: not a regular file`);
    size = s.size;
  } catch (err) {
    if (err instanceof GlekitError) throw err;
    throw new GlekitError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (!hasHdf5Signature(path, size)) throw new GlekitError(`${path}: not a ${what}: not an HDF5 file (no HDF5 signature)`);
  const mod = await h5();
  let file: InstanceType<H5Module['File']>;
  try {
    file = new mod.File(resolve(path), 'r');
  } catch (err) {
    throw new GlekitError(`${path}: not a readable ${what}: HDF5 cannot open it (${hdf5Reason(err)})`);
  }
  try {
    return work(file);
  } catch (err) {
    if (err instanceof GlekitError) throw err;
    throw new GlekitError(`${path}: damaged ${what}: HDF5 cannot read it (${hdf5Reason(err)})`);
  } finally {
    file.close();
  }
}

/** A group's children, names checked with keys() first (asking HDF5 for a missing name is an error). */
export function childOf(group: H5Group, name: string): H5Group | H5Dataset | null {
  if (!group.keys().includes(name)) return null;
  const e = group.get(name);
  if (e !== null && 'type' in e && (e.type === 'Group' || e.type === 'Dataset')) return e as H5Group | H5Dataset;
  return null;
}

function toFloat64(v: unknown): Float64Array | null {
  if (v instanceof Float64Array) return v;
  if (v instanceof BigInt64Array || v instanceof BigUint64Array) return Float64Array.from(v, (x) => Number(x));
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Float64Array.from(v as unknown as ArrayLike<number>);
  if (typeof v === 'number') return Float64Array.of(v);
  if (typeof v === 'bigint') return Float64Array.of(Number(v));
  if (typeof v === 'boolean') return Float64Array.of(v ? 1 : 0);
  return null;
}

function flatStrings(v: unknown): string[] | null {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) {
    const out: string[] = [];
    for (const x of v.flat(Infinity)) {
      if (typeof x !== 'string') return null;
      out.push(x);
    }
    return out;
  }
  return null;
}

/** A dataset or attribute value as a leaf: numbers (class 0 integer, 1 float, 8 enum e.g. h5py's bool), strings (class 3), or other. */
function leafOf(meta: { type: number; shape: number[] | null }, dtype: unknown, read: () => unknown): LeafValue {
  const shape = meta.shape ?? [];
  const dt = typeof dtype === 'string' ? dtype : JSON.stringify(dtype);
  if (meta.type === 0 || meta.type === 1 || meta.type === 8) {
    const data = toFloat64(read());
    if (data !== null) return { kind: 'numeric', shape, data, dtype: dt };
  } else if (meta.type === 3) {
    const values = flatStrings(read());
    if (values !== null) return { kind: 'string', shape, values };
  }
  return { kind: 'other', shape: meta.shape, dtype: dt };
}

function readAttrs(obj: H5Group | H5Dataset): Map<string, LeafValue> {
  const out = new Map<string, LeafValue>();
  for (const [name, a] of Object.entries(obj.attrs))
    out.set(
      name,
      leafOf({ type: a.metadata.type, shape: a.shape }, a.dtype, () => a.value),
    );
  return out;
}

/** One child of a group, read whole (a group with everything below it, or a dataset), or null if absent. */
export function readChild(group: H5Group, name: string): TreeNode | null {
  const e = childOf(group, name);
  if (e === null) return null;
  if (e.type === 'Group') return readTree(e as H5Group);
  const d = e as H5Dataset;
  return leafOf({ type: d.metadata.type, shape: d.shape }, d.dtype, () => d.value);
}

/** The whole tree below a group (datasets read in full). */
export function readTree(group: H5Group): TreeGroup {
  const children = new Map<string, TreeNode>();
  for (const name of group.keys()) {
    const c = readChild(group, name);
    if (c !== null) children.set(name, c);
  }
  return { kind: 'group', children, attrs: readAttrs(group) };
}

/** Arrays of at least this many values are stored gzip-compressed (as NIR's own writer does). */
const COMPRESS_FROM = 1024;
/** Largest chunk, in values, of a compressed dataset. */
const CHUNK_VALUES = 1 << 18;

/** Chunks of at most CHUNK_VALUES values: whole trailing dimensions, the first ones split. */
function chunksFor(shape: number[]): number[] {
  const chunks = shape.map((n) => Math.max(n, 1));
  for (let d = 0; d < chunks.length && chunks.reduce((a, b) => a * b, 1) > CHUNK_VALUES; d++) {
    const rest = chunks.slice(d + 1).reduce((a, b) => a * b, 1);
    chunks[d] = Math.max(1, Math.floor(CHUNK_VALUES / rest));
  }
  return chunks;
}

function compression(count: number, shape: number[]): { compression?: 'gzip'; compression_opts?: number; chunks?: number[] } {
  return count >= COMPRESS_FROM && shape.length > 0 ? { compression: 'gzip', compression_opts: 4, chunks: chunksFor(shape) } : {};
}

function writeDataset(group: H5Group, name: string, v: WriteValue): void {
  if (typeof v === 'string') group.create_dataset({ name, data: v });
  else if (typeof v === 'number') group.create_dataset({ name, data: v, shape: [], dtype: '<d' });
  else if ('strings' in v) group.create_dataset({ name, data: v.strings, shape: v.shape });
  else if ('float64' in v) {
    const data = v.float64 instanceof Float64Array ? v.float64 : Float64Array.from(v.float64);
    group.create_dataset({ name, data, shape: v.shape, dtype: '<d', ...compression(data.length, v.shape) });
  } else if ('int64' in v) group.create_dataset({ name, data: BigInt64Array.from(v.int64, (x) => BigInt(x)), shape: v.shape, dtype: '<q' });
  else group.create_dataset({ name, data: v.int32, shape: v.shape, dtype: '<i', ...compression(v.int32.length, v.shape) });
}

function writeAttrs(group: H5Group, attrs: WriteGroup): void {
  for (const [name, v] of Object.entries(attrs)) {
    if (typeof v === 'string') group.create_attribute(name, v);
    else if (typeof v === 'number') group.create_attribute(name, v, [], '<d');
    else throw new GlekitError(`internal: attribute ${name} must be a string or a number`);
  }
}

function isWriteGroup(v: WriteValue | WriteGroup): v is WriteGroup {
  return typeof v === 'object' && !('strings' in v) && !('float64' in v) && !('int64' in v) && !('int32' in v);
}

function writeTree(group: H5Group, tree: WriteGroup): void {
  for (const [name, v] of Object.entries(tree)) {
    if (v === undefined) continue;
    if (name === ATTRS) writeAttrs(group, v as WriteGroup);
    else if (isWriteGroup(v)) writeTree(group.create_group(name), v);
    else writeDataset(group, name, v);
  }
}

/**
 * Writes a tree as an HDF5 file at `path`, atomically: HDF5 writes a scratch file, whose
 * bytes then replace `path` in one rename (the file is whole or absent).
 */
export async function writeHdf5(path: string, tree: WriteGroup): Promise<number> {
  const mod = await h5();
  const dir = mkdtempSync(join(tmpdir(), 'glekit-h5-'));
  try {
    const scratch = join(dir, 'out.h5');
    const file = new mod.File(scratch, 'w');
    try {
      writeTree(file, tree);
    } finally {
      file.close();
    }
    const bytes = readFileSync(scratch);
    writeFileAtomic(path, bytes);
    return bytes.length;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
