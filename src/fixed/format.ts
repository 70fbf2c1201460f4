/**
 * Fixed-point formats in the ap_fixed<W, I, Q, O> convention of Vitis HLS and hls4ml.
 *
 * A format is a width W (1..32 bits), a count I of integer bits (the sign bit counts
 * as an integer bit for signed formats; I may be negative or exceed W), signedness,
 * a rounding mode and an overflow mode. A raw code r stands for the real r * 2^-F
 * with F = W - I fraction bits. See SEMANTICS.md for the exact meaning of the modes.
 */
import { GlekitError } from '../util/errors.js';
import { pow2 } from './core.js';

/** Rounding ("quantisation") modes, named as in ap_fixed without the AP_ prefix. */
export const ROUNDING_MODES = ['TRN', 'TRN_ZERO', 'RND', 'RND_ZERO', 'RND_MIN_INF', 'RND_INF', 'RND_CONV'] as const;
export type Rounding = (typeof ROUNDING_MODES)[number];

/** Overflow modes, named as in ap_fixed without the AP_ prefix (AP_WRAP_SM is not supported; SAT_SYM needs a signed width >= 2 or an unsigned format). */
export const OVERFLOW_MODES = ['WRAP', 'SAT', 'SAT_ZERO', 'SAT_SYM'] as const;
export type Overflow = (typeof OVERFLOW_MODES)[number];

export const MIN_WIDTH = 1;
/** 32 keeps every raw code an int32/uint32 on the device and exact in a JS number. */
export const MAX_WIDTH = 32;
/**
 * |I| is bounded only so that every scale factor 2^(+-F) and every shift the
 * operations can meet stays a normal double; no real design comes near it.
 */
export const MAX_ABS_INT_BITS = 256;

export interface FormatSpec {
  /** default true */
  readonly signed?: boolean;
  readonly width: number;
  readonly intBits: number;
  /** default 'TRN', as in ap_fixed */
  readonly rounding?: Rounding;
  /** default 'WRAP', as in ap_fixed */
  readonly overflow?: Overflow;
}

/** A format string or spec that does not describe a valid format. */
export class FixedFormatError extends GlekitError {
  /** the string being parsed, or undefined when a spec object was given */
  readonly text: string | undefined;
  /** which part was wrong, e.g. "width", "rounding mode" */
  readonly part: string;
  readonly problem: string;

  constructor(text: string | undefined, part: string, problem: string) {
    super(`fixed-point format${text === undefined ? '' : ` ${JSON.stringify(text)}`}: ${part} ${problem}`);
    this.name = 'FixedFormatError';
    this.text = text;
    this.part = part;
    this.problem = problem;
  }
}

export class FixedFormat {
  readonly signed: boolean;
  /** W */
  readonly width: number;
  /** I */
  readonly intBits: number;
  /** F = W - I; a raw code r means r * 2^-F */
  readonly fracBits: number;
  readonly rounding: Rounding;
  readonly overflow: Overflow;
  /** index into ROUNDING_MODES: the enum value a C mirror uses */
  readonly roundingCode: number;
  /** index into OVERFLOW_MODES: the enum value a C mirror uses */
  readonly overflowCode: number;
  /**
   * Smallest raw code an operation can produce. For SAT_SYM on a signed format this is
   * -maxRaw, one above the two's-complement minimum, which stays a readable code.
   */
  readonly minRaw: number;
  readonly maxRaw: number;
  /** 2^-F, the real value of one raw unit */
  readonly lsb: number;
  /** 2^F */
  readonly scale: number;
  /** 32 - W: wrapping is a left then right shift by this with the 32-bit JS operators */
  readonly wrapShift: number;

  constructor(spec: FormatSpec, text?: string) {
    const signed = spec.signed ?? true;
    const { width, intBits } = spec;
    const rounding = spec.rounding ?? 'TRN';
    const overflow = spec.overflow ?? 'WRAP';
    if (typeof signed !== 'boolean') throw new FixedFormatError(text, 'signedness', `must be true or false (got ${String(signed)})`);
    if (!Number.isInteger(width) || width < MIN_WIDTH || width > MAX_WIDTH) {
      throw new FixedFormatError(text, 'width', `must be an integer in ${MIN_WIDTH}..${MAX_WIDTH} (got ${String(width)})`);
    }
    if (!Number.isInteger(intBits) || Math.abs(intBits) > MAX_ABS_INT_BITS) {
      throw new FixedFormatError(text, 'integer bits', `must be an integer in ${-MAX_ABS_INT_BITS}..${MAX_ABS_INT_BITS} (got ${String(intBits)})`);
    }
    const roundingCode = (ROUNDING_MODES as readonly string[]).indexOf(rounding);
    if (roundingCode < 0) throw new FixedFormatError(text, 'rounding mode', `must be one of ${ROUNDING_MODES.join(', ')} (got ${String(rounding)})`);
    const overflowCode = (OVERFLOW_MODES as readonly string[]).indexOf(overflow);
    if (overflowCode < 0) throw new FixedFormatError(text, 'overflow mode', `must be one of ${OVERFLOW_MODES.join(', ')} (got ${String(overflow)})`);
    if (signed && width === 1 && overflow === 'SAT_SYM') {
      // its codes are -1 and 0: there is no symmetric range, and ap_fixed's result follows its
      // bit-level overflow test (-1.0 in fixed<1,1,TRN,SAT_SYM> gives -1), which no range
      // rule reproduces; refused rather than silently different (SEMANTICS.md section 9)
      throw new FixedFormatError(
        text,
        'overflow mode',
        'SAT_SYM is not supported on a signed one-bit format (its codes are -1 and 0, so it has no ' +
          'symmetric range, and ap_fixed gives it results glekit does not reproduce); use SAT (codes -1 and 0, as ap_fixed) or a width of 2 or more',
      );
    }

    this.signed = signed;
    this.width = width;
    this.intBits = intBits;
    this.fracBits = width - intBits;
    this.rounding = rounding;
    this.overflow = overflow;
    this.roundingCode = roundingCode;
    this.overflowCode = overflowCode;
    const max = signed ? pow2(width - 1) - 1 : pow2(width) - 1;
    this.maxRaw = max;
    this.minRaw = !signed ? 0 : overflow === 'SAT_SYM' ? 0 - max : -pow2(width - 1);
    this.lsb = pow2(-this.fracBits);
    this.scale = pow2(this.fracBits);
    this.wrapShift = 32 - width;
    Object.freeze(this);
  }

  /** A copy with some fields replaced. */
  with(changes: Partial<FormatSpec>): FixedFormat {
    return new FixedFormat({
      signed: changes.signed ?? this.signed,
      width: changes.width ?? this.width,
      intBits: changes.intBits ?? this.intBits,
      rounding: changes.rounding ?? this.rounding,
      overflow: changes.overflow ?? this.overflow,
    });
  }

  equals(other: FixedFormat): boolean {
    return (
      this.signed === other.signed &&
      this.width === other.width &&
      this.intBits === other.intBits &&
      this.rounding === other.rounding &&
      this.overflow === other.overflow
    );
  }

  toString(): string {
    return formatFormat(this);
  }
}

/** A format from a spec object or a string such as "fixed<16,6,RND,SAT>". */
export function fixedFormat(spec: FormatSpec | string): FixedFormat {
  return typeof spec === 'string' ? parseFormat(spec) : new FixedFormat(spec);
}

const KINDS: ReadonlyMap<string, boolean> = new Map([
  ['fixed', true],
  ['ufixed', false],
  ['ap_fixed', true],
  ['ap_ufixed', false],
]);
const INTEGER = /^[+-]?[0-9]+$/;

/**
 * Parses "fixed<W,I>", "fixed<W,I,Q>", "fixed<W,I,Q,O>" and the same with "ufixed".
 * The hls4ml/Vitis spellings "ap_fixed<...>" and "AP_RND" are accepted too, so
 * precision strings can be copied from an hls4ml config. Whitespace around tokens
 * is ignored; mode names are case-sensitive like the C++ enumerators they mirror.
 */
export function parseFormat(text: string): FixedFormat {
  if (typeof text !== 'string') throw new FixedFormatError(undefined, 'input', `must be a string (got ${typeof text})`);
  const s = text.trim();
  if (s === '') throw new FixedFormatError(text, 'input', 'is empty');
  const lt = s.indexOf('<');
  if (lt < 0) throw new FixedFormatError(text, 'parameter list', "is missing: expected e.g. 'fixed<16,6>'");
  const kind = s.slice(0, lt).trim();
  const signed = KINDS.get(kind);
  if (signed === undefined) {
    throw new FixedFormatError(text, `type name '${kind}'`, "is not one of 'fixed', 'ufixed', 'ap_fixed', 'ap_ufixed'");
  }
  const gt = s.indexOf('>', lt);
  if (gt < 0) throw new FixedFormatError(text, 'parameter list', "has no closing '>'");
  if (gt !== s.length - 1) throw new FixedFormatError(text, `text '${s.slice(gt + 1)}'`, "is not allowed after the closing '>'");
  const params = s
    .slice(lt + 1, gt)
    .split(',')
    .map((p) => p.trim());
  if (params.length < 2) {
    throw new FixedFormatError(text, 'parameter list', `needs at least width and integer bits, e.g. '${kind}<16,6>' (got ${params.length} parameter)`);
  }
  if (params.length === 5) {
    throw new FixedFormatError(text, `fifth parameter '${params[4]}'`, 'is not supported (ap_fixed saturation bit count)');
  }
  if (params.length > 5) throw new FixedFormatError(text, 'parameter list', `has ${params.length} parameters; at most 4 are allowed`);

  const names = ['width', 'integer bits', 'rounding mode', 'overflow mode'];
  params.forEach((p, i) => {
    if (p === '') throw new FixedFormatError(text, `parameter ${i + 1} (${names[i]})`, 'is empty');
  });
  const width = parseIntParam(text, 'width', params[0]);
  const intBits = parseIntParam(text, 'integer bits', params[1]);
  const rounding = params.length > 2 ? parseMode(text, 'rounding mode', params[2], ROUNDING_MODES, OVERFLOW_MODES) : undefined;
  const overflow = params.length > 3 ? parseMode(text, 'overflow mode', params[3], OVERFLOW_MODES, ROUNDING_MODES) : undefined;
  return new FixedFormat({ signed, width, intBits, rounding, overflow }, text);
}

function parseIntParam(text: string, part: string, p: string): number {
  if (!INTEGER.test(p)) throw new FixedFormatError(text, `${part} '${p}'`, 'is not an integer');
  return Number(p);
}

function parseMode<T extends string>(text: string, part: string, p: string, valid: readonly T[], other: readonly string[]): T {
  const name = p.startsWith('AP_') ? p.slice(3) : p;
  if ((valid as readonly string[]).includes(name)) return name as T;
  const hint = other.includes(name)
    ? ` (that is ${part === 'rounding mode' ? 'an overflow' : 'a rounding'} mode; the order is <W, I, rounding, overflow>)`
    : '';
  throw new FixedFormatError(text, `${part} '${p}'`, `is not one of ${valid.join(', ')}${hint}`);
}

/**
 * The shortest string that parses back to the same format: modes that equal the
 * ap_fixed defaults (TRN, WRAP) are left off from the right.
 */
export function formatFormat(f: FixedFormat): string {
  const head = `${f.signed ? 'fixed' : 'ufixed'}<${f.width},${f.intBits}`;
  if (f.overflow !== 'WRAP') return `${head},${f.rounding},${f.overflow}>`;
  if (f.rounding !== 'TRN') return `${head},${f.rounding}>`;
  return `${head}>`;
}
