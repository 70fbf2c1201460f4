/**
 * Quantise: the nonlinearity. A layer's phi becomes the identity (linear layers), a clamp,
 * or a table of rate codes indexed by shifting the prospective potential, as the profile
 * realises it (lut, piecewise-linear, clamp; an exact phi becomes a fine table).
 */
import { LIMITS, storedRange, type Nonlinearity } from '../descriptor/index.js';
import { phiScalar, type ActivationName } from '../engine/activations.js';
import { quantise, quantiseArray, type FixedFormat } from '../fixed/index.js';
import { tableSamplePoint, type ResolvedNonlinearity } from '../hw/index.js';
import type { ModelLayer } from '../model/model-file.js';
import { pickFormat } from './formats.js';
import { neuronsText, type MapViolation } from './map.js';
import { formatOf, type TensorPlan } from './precision.js';
import { maxAbs, type LayerRanges } from './ranges.js';

/** The table an exact nonlinearity becomes on an integer datapath (hls4ml's default size, the shipped tables' range). */
export const EXACT_TABLE = { entries: 1024, min: -8, max: 8 } as const;

interface TableShape {
  entries: number;
  min: number;
  step: number;
  interpolate: boolean;
  breakpoints: boolean;
  origin: string;
}

export type NonlinearityShape = { kind: 'identity' } | { kind: 'clamp'; lo: number; hi: number; origin: string } | ({ kind: 'table' } & TableShape);

/** How the layer's phi is realised: a table shape, a clamp, or the identity. */
export function nonlinearityShape(phi: ActivationName, nl: ResolvedNonlinearity): NonlinearityShape {
  if (phi === 'linear') return { kind: 'identity' };
  switch (nl.kind) {
    case 'clamp':
      return { kind: 'clamp', lo: nl.min, hi: nl.max, origin: `profile (clamp to [${nl.min}, ${nl.max}])` };
    case 'lut':
      return {
        kind: 'table',
        entries: nl.entries,
        min: nl.min,
        step: nl.step,
        interpolate: nl.interpolation === 'linear',
        breakpoints: false,
        origin: `profile (${nl.entries}-entry table over [${nl.min}, ${nl.max}), ${nl.interpolation === 'linear' ? 'interpolated' : 'no interpolation'})`,
      };
    case 'piecewise-linear':
      return {
        kind: 'table',
        entries: nl.segments + 1,
        min: nl.min,
        step: (nl.max - nl.min) / nl.segments,
        interpolate: true,
        breakpoints: true,
        origin: `profile (${nl.segments} linear segments over [${nl.min}, ${nl.max}])`,
      };
    case 'exact':
      if (phi === 'hardSigmoid') return { kind: 'clamp', lo: 0, hi: 1, origin: 'exact hard sigmoid: a clamp to [0, 1]' };
      if (phi === 'relu') return { kind: 'clamp', lo: 0, hi: Infinity, origin: 'exact relu: a clamp at 0' };
      return {
        kind: 'table',
        entries: EXACT_TABLE.entries,
        min: EXACT_TABLE.min,
        step: (EXACT_TABLE.max - EXACT_TABLE.min) / EXACT_TABLE.entries,
        interpolate: true,
        breakpoints: false,
        origin: `exact ${phi} approximated by an interpolated ${EXACT_TABLE.entries}-entry table over [${EXACT_TABLE.min}, ${EXACT_TABLE.max})`,
      };
  }
}

function log2Exact(x: number): number | null {
  const e = Math.round(Math.log2(x));
  return 2 ** e === x ? e : null;
}

/**
 * A table's step as a shift, and the fewest fraction bits the prospective potential may
 * have to index it (null: the step is no power of two, a violation).
 */
export function tableIndexing(
  shape: NonlinearityShape,
  ml: ModelLayer,
  l: number,
  violations: MapViolation[],
): { minPf: number; tableShiftBase: number } | null {
  if (shape.kind !== 'table') return { minPf: -LIMITS.fracAbs, tableShiftBase: 0 };
  const e = log2Exact(shape.step);
  if (e === null) {
    violations.push({
      limit: 'nonlinearity.entries',
      layer: l,
      message: `layer ${l} (${neuronsText(ml.outputSize)}): table step ${shape.step} is not a power of two; the descriptor indexes tables by shifting (limit nonlinearity.entries / range)`,
    });
    return null;
  }
  return { minPf: -e, tableShiftBase: e };
}

export interface RealisedNonlinearity {
  nonlinearity: Nonlinearity;
  rateFormat: FixedFormat;
  /** table entries that saturated in the rate format */
  tableSaturated: number;
  origin: string;
}

export interface NonlinearityInputs {
  shape: NonlinearityShape;
  ml: ModelLayer;
  l: number;
  rate: TensorPlan;
  ranges: LayerRanges;
  prospectiveFormat: FixedFormat;
  tableShiftBase: number;
}

/** The layer's nonlinearity and rate format; null when a table cannot be indexed (violations say why). */
export function realiseNonlinearity(x: NonlinearityInputs, notes: string[], violations: MapViolation[]): RealisedNonlinearity | null {
  const { shape, rate, ranges: r, prospectiveFormat } = x;
  const fp = prospectiveFormat.fracBits;
  let out: RealisedNonlinearity | null;
  if (shape.kind === 'identity') {
    out = {
      nonlinearity: { kind: 'identity' },
      rateFormat: pickFormat(rate, maxAbs(r.rate), 'rate'),
      tableSaturated: 0,
      origin: 'identity (a linear layer uses no nonlinearity circuit)',
    };
  } else if (shape.kind === 'clamp') {
    const hiReal = Number.isFinite(shape.hi) ? shape.hi : Math.max(maxAbs(r.rate), 1);
    const rateFormat = pickFormat(rate, Math.max(Math.abs(shape.lo), hiReal), 'rate');
    const [pLo, pHi] = storedRange(prospectiveFormat);
    const code = (v: number): number => Math.min(pHi, Math.max(pLo, quantise(v, prospectiveFormat.with({ overflow: 'SAT' }))));
    out = {
      nonlinearity: { kind: 'clamp', lo: code(shape.lo), hi: Number.isFinite(shape.hi) ? code(shape.hi) : pHi },
      rateFormat,
      tableSaturated: 0,
      origin: shape.origin,
    };
  } else {
    out = realiseTable({ ...x, shape }, notes, violations);
    if (out === null) return null;
  }
  const rShift = fp - out.rateFormat.fracBits;
  if (shape.kind !== 'table' && rShift < -LIMITS.rateLeftShift) {
    out.rateFormat = formatOf(rate, fp + LIMITS.rateLeftShift);
    notes.push(
      `layer ${x.l}: rate binary point lowered to ${out.rateFormat.fracBits} (at most ${LIMITS.rateLeftShift} bits finer than the prospective potential)`,
    );
  }
  return out;
}

function realiseTable(
  x: NonlinearityInputs & { shape: { kind: 'table' } & TableShape },
  notes: string[],
  violations: MapViolation[],
): RealisedNonlinearity | null {
  const { shape, ml, l, prospectiveFormat, tableShiftBase } = x;
  const fp = prospectiveFormat.fracBits;
  const values = new Float64Array(shape.entries);
  let tMax = 0;
  for (let k = 0; k < shape.entries; k++) {
    values[k] = phiScalar(ml.phi, tableSamplePoint(shape.min, shape.step, k, shape.interpolate));
    tMax = Math.max(tMax, Math.abs(values[k]));
  }
  const rateFormat = pickFormat(x.rate, Math.max(tMax, maxAbs(x.ranges.rate)), 'rate');
  const q = quantiseArray(values, rateFormat);
  const shift = tableShiftBase + fp;
  let base = shape.min * 2 ** fp;
  // Entries no prospective code can reach are dropped: the cells before the one
  // holding the format's smallest code, and after the one holding its largest (and
  // its right neighbour, which interpolation blends with). Lookups are unchanged.
  const cell = 2 ** shift;
  const k0 = Math.min(shape.entries - 1, Math.max(0, Math.floor((prospectiveFormat.minRaw - base) / cell)));
  const k1 = Math.min(shape.entries - 1, Math.max(k0, Math.floor((prospectiveFormat.maxRaw - base) / cell) + (shape.interpolate ? 1 : 0)));
  base += k0 * cell;
  if (!Number.isInteger(base) || base < -(2 ** 31) || base > 2 ** 31 - 1) {
    violations.push({
      limit: 'nonlinearity.min',
      layer: l,
      message: `layer ${l}: the table start ${shape.min} has no int32 code in the prospective format ${prospectiveFormat}`,
    });
    return null;
  }
  if (k0 > 0 || k1 < shape.entries - 1)
    notes.push(`layer ${l}: table entries ${k0}..${k1} of ${shape.entries} kept; the others lie outside the prospective format's range`);
  if (tableShiftBase + fp > LIMITS.tableShift) {
    violations.push({
      limit: 'nonlinearity.entries',
      layer: l,
      message: `layer ${l}: a table cell spans 2^${tableShiftBase + fp} prospective LSBs, more than the descriptor's 2^${LIMITS.tableShift}`,
    });
    return null;
  }
  return {
    nonlinearity: { kind: 'table', base, shift, interpolate: shape.interpolate && k1 > k0, table: q.raw.slice(k0, k1 + 1) },
    rateFormat,
    tableSaturated: q.saturated,
    origin: shape.origin,
  };
}
