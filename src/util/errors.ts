/**
 * Errors a user can act on. Every validation failure names where the bad value lives
 * (file, field path) and what the value was, so the CLI can print one clear line and
 * exit with code 1 without a stack trace.
 */
export class GlekitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GlekitError';
  }
}

/** A bad value in a user-supplied file or argument. */
export class ValidationError extends GlekitError {
  readonly source: string;
  readonly field: string;
  readonly value: unknown;
  readonly problem: string;

  constructor(source: string, field: string, value: unknown, problem: string) {
    super(`${source}: field '${field}' ${problem} (got ${describeValue(value)})`);
    this.name = 'ValidationError';
    this.source = source;
    this.field = field;
    this.value = value;
    this.problem = problem;
  }
}

/** Short, printable form of a value for an error message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? value.slice(0, 57) + '...' : value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a typed array of length ${(value as unknown as { length: number }).length}`;
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}
