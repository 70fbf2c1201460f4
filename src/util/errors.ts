/**
 * Errors a user can act on. Every validation failure names where the bad value lives
 * (file, field path) and what the value was, so the CLI can print one clear line and
 * exit with code 1 without a stack trace.
 */
export class GlekitError extends Error {
  constructor(message: string) {
    // a message goes to a terminal: bytes from a bad file must not move the cursor or
    // change colours there (a line break the message itself makes is kept)
    super(escapeControl(message, true));
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

/**
 * Control characters (C0 including newline, DEL, C1) and the Unicode line and
 * paragraph separators written as escapes (\n, \t, \x1b, \u2028), so that a message is
 * printable whatever bytes a bad file or argument held. keepNewlines leaves '\n' as is
 * (for messages that break their own lines; values in them are quoted by describeValue).
 */
export function escapeControl(text: string, keepNewlines = false): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(keepNewlines ? /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/g : /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    switch (c) {
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      default: {
        const code = c.charCodeAt(0);
        return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
      }
    }
  });
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
