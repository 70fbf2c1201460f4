/**
 * The quantisation report: per layer and tensor, the format, where it came from, its
 * range, the range seen, and how many values saturated (weights at quantisation; the
 * datapath's values in the bit-accurate overflow run, overflow.ts).
 */
import type { DescriptorLayer, ReportRow } from '../descriptor/index.js';
import type { FixedFormat } from '../fixed/index.js';
import { realRange } from './formats.js';
import type { LayerPlans } from './plans.js';
import type { LayerRanges, Range } from './ranges.js';

/**
 * One row: the real range the format holds (formatMin, formatMax), the range seen
 * (weights: the model's values; datapath: the float target on range data), and the
 * values out of the format's range (saturated: quantised weights, or datapath results in
 * the bit-accurate overflow run). The type is the descriptor's (header.info.report).
 */
export type TensorReport = ReportRow;

function formatRow(
  layer: number | 'input',
  tensor: string,
  f: FixedFormat,
  origin: string,
): Omit<TensorReport, 'seenMin' | 'seenMax' | 'values' | 'saturated'> {
  const [formatMin, formatMax] = realRange(f);
  return { layer, tensor, format: f.toString(), origin, formatMin, formatMax };
}

export function inputReport(inputFormat: FixedFormat, origin: string, seen: Range, values: number, saturated: number): TensorReport {
  return { ...formatRow('input', 'input', inputFormat, origin), seenMin: seen.min, seenMax: seen.max, values, saturated };
}

export interface LayerReportInputs {
  l: number;
  layer: DescriptorLayer;
  plans: LayerPlans;
  ranges: LayerRanges;
  flatW: Float64Array;
  biasValues: Float64Array;
  weightsSaturated: number;
  biasSaturated: number;
  tableSaturated: number;
  nonlinearityOrigin: string;
}

/** The six rows of a layer: weights, bias, drive, membrane, prospective, rate. */
export function layerReport(x: LayerReportInputs): TensorReport[] {
  const { l, layer: d, plans: lp, ranges: r } = x;
  let wmin = Infinity,
    wmax = -Infinity;
  for (const v of x.flatW) {
    wmin = Math.min(wmin, v);
    wmax = Math.max(wmax, v);
  }
  const row = (tensor: string, f: FixedFormat, origin: string, seen: Range): TensorReport => ({
    ...formatRow(l, tensor, f, origin),
    seenMin: seen.count ? seen.min : null,
    seenMax: seen.count ? seen.max : null,
    values: seen.count,
    saturated: 0,
  });
  const rateRow = row('rate', d.rateFormat, `${lp.rate.origin}; ${x.nonlinearityOrigin}`, r.rate);
  rateRow.saturated = x.tableSaturated;
  return [
    { ...formatRow(l, 'weights', d.weightFormat, lp.weights.origin), seenMin: wmin, seenMax: wmax, values: x.flatW.length, saturated: x.weightsSaturated },
    {
      ...formatRow(l, 'bias', d.biasFormat, lp.bias.origin),
      seenMin: Math.min(...x.biasValues),
      seenMax: Math.max(...x.biasValues),
      values: x.biasValues.length,
      saturated: x.biasSaturated,
    },
    row('drive', d.driveFormat, lp.drive.origin, r.drive),
    row('membrane', d.membraneFormat, lp.membrane.origin, r.membrane),
    row('prospective', d.prospectiveFormat, lp.prospective.origin, r.prospective),
    rateRow,
  ];
}
