/**
 * Quantise: where an open binary point goes. A plan whose fraction bits are not fixed
 * gets the finest point that holds the measured range times a headroom.
 */
import { toReal, type FixedFormat } from '../fixed/index.js';
import { formatOf, fracForRange, type TensorPlan } from './precision.js';

/** Headroom over the measured range when a binary point is placed: saturating formats clip rare excursions, wrapping ones must not meet them. */
export const HEADROOM_SATURATE = 1.25;
export const HEADROOM_WRAP = 2;

function headroomOf(p: TensorPlan): number {
  return p.overflow === 'WRAP' ? HEADROOM_WRAP : HEADROOM_SATURATE;
}

/** The plan's format, its binary point placed for |x| <= range (weights get no headroom: their range is exact). */
export function pickFormat(p: TensorPlan, range: number, what: string): FixedFormat {
  if (p.frac !== null) return formatOf(p, p.frac);
  let f = fracForRange(p.width, p.signed, range, what === 'weights' ? 1 : headroomOf(p));
  if (p.fracMin !== undefined && f < p.fracMin) f = p.fracMin;
  if (p.fracMax !== undefined && f > p.fracMax) f = p.fracMax;
  return formatOf(p, f);
}

/** The real values of a format's smallest and largest code. */
export function realRange(f: FixedFormat): [number, number] {
  return [toReal(f.minRaw, f), toReal(f.maxRaw, f)];
}
