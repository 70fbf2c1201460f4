/**
 * Fixed-point arithmetic that a C99 device implementation mirrors bit for bit.
 * Formats follow ap_fixed<W, I, Q, O>; values are raw integer codes in JS numbers;
 * every operation is exact up to one final rounding and overflow step in an
 * explicitly given result format. SEMANTICS.md is the normative description.
 */
export {
  FixedFormat,
  FixedFormatError,
  MAX_ABS_INT_BITS,
  MAX_WIDTH,
  MIN_WIDTH,
  OVERFLOW_MODES,
  ROUNDING_MODES,
  fixedFormat,
  formatFormat,
  parseFormat,
  type FormatSpec,
  type Overflow,
  type Rounding,
} from './format.js';
export {
  add,
  isValidRaw,
  maxRaw,
  minRaw,
  mul,
  quantise,
  quantiseArray,
  requantise,
  shiftRightRound,
  sub,
  toReal,
  toRealArray,
  type QuantisedArray,
} from './ops.js';
