/**
 * Reading untrusted JSON with errors that name the file, the field path and the value.
 * Structure-only checks would be a JSON Schema's job; the files read here are mostly
 * numeric tensors whose shapes depend on each other, so the checks are written where
 * the shapes are known.
 */
import { readFileSync } from 'node:fs';
import JSON5 from 'json5';
import { GlekitError, ValidationError } from './errors.js';

/** Parses a JSON file. NaN/Infinity literals are accepted here so that validation can point at them. */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new GlekitError(`${path}: cannot read file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return parseJsonText(text, path);
}

export function parseJsonText(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (strictError) {
    try {
      // JSON5 accepts NaN and Infinity, which strict JSON rejects; the reader then reports them by field
      return JSON5.parse(text);
    } catch {
      throw new GlekitError(`${source}: not valid JSON (${(strictError as Error).message})`);
    }
  }
}

/** A cursor into a parsed document that knows where it is. */
export class Field {
  constructor(
    readonly source: string,
    readonly path: string,
    readonly value: unknown,
  ) {}

  fail(problem: string): never {
    throw new ValidationError(this.source, this.path || '(root)', this.value, problem);
  }

  child(key: string | number): Field {
    const path = typeof key === 'number' ? `${this.path}[${key}]` : this.path ? `${this.path}.${key}` : key;
    let v: unknown;
    if (typeof key === 'number') v = Array.isArray(this.value) ? this.value[key] : undefined;
    else v = isObject(this.value) ? this.value[key] : undefined;
    return new Field(this.source, path, v);
  }

  has(key: string): boolean {
    return isObject(this.value) && key in this.value && this.value[key] !== undefined;
  }

  isNull(): boolean {
    return this.value === null;
  }

  object(): Field {
    if (!isObject(this.value)) this.fail('must be an object');
    return this;
  }

  array(length?: number): Field[] {
    if (!Array.isArray(this.value)) this.fail(length === undefined ? 'must be an array' : `must be an array of length ${length}`);
    if (length !== undefined && this.value.length !== length) this.fail(`must have length ${length}`);
    return this.value.map((_, i) => this.child(i));
  }

  number(opts: { min?: number; minExclusive?: number; max?: number; integer?: boolean } = {}): number {
    const v = this.value;
    if (typeof v !== 'number') this.fail('must be a number');
    if (!Number.isFinite(v)) this.fail('must be a finite number');
    if (opts.integer && !Number.isInteger(v)) this.fail('must be an integer');
    if (opts.min !== undefined && v < opts.min) this.fail(`must be at least ${opts.min}`);
    if (opts.minExclusive !== undefined && v <= opts.minExclusive) this.fail(`must be greater than ${opts.minExclusive}`);
    if (opts.max !== undefined && v > opts.max) this.fail(`must be at most ${opts.max}`);
    return v;
  }

  boolean(): boolean {
    if (typeof this.value !== 'boolean') this.fail('must be true or false');
    return this.value;
  }

  string(): string {
    if (typeof this.value !== 'string') this.fail('must be a string');
    return this.value;
  }

  oneOf<T extends string>(choices: readonly T[]): T {
    if (typeof this.value !== 'string' || !(choices as readonly string[]).includes(this.value)) {
      this.fail(`must be one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`);
    }
    return this.value as T;
  }

  /** A flat numeric vector of the given length, every entry finite. */
  vector(length: number, opts: { min?: number } = {}): Float64Array {
    const items = this.array(length);
    const out = new Float64Array(length);
    for (let i = 0; i < length; i++) out[i] = items[i].number(opts);
    return out;
  }

  /** A rows x cols matrix given as an array of rows, flattened row-major. */
  matrix(rows: number, cols: number): Float64Array {
    const rowFields = this.array(rows);
    const out = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      const row = rowFields[r].array(cols);
      for (let c = 0; c < cols; c++) out[r * cols + c] = row[c].number();
    }
    return out;
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
