/**
 * Quantise one layer: formats and binary points, time constants, the nonlinearity,
 * weights and bias, and its report rows. Everything a layer breaks is added to the
 * violations; a layer that cannot be built at all returns null.
 */
import type { DescriptorLayer, Placement } from '../descriptor/index.js';
import type { FixedFormat } from '../fixed/index.js';
import type { ResolvedSettings } from '../hw/index.js';
import type { ModelLayer } from '../model/model-file.js';
import { pickFormat } from './formats.js';
import type { MapViolation } from './map.js';
import type { LayerPlans } from './plans.js';
import { formatOf } from './precision.js';
import { maxAbs, type LayerRanges } from './ranges.js';
import { layerReport, type TensorReport } from './report.js';
import { nonlinearityShape, realiseNonlinearity, tableIndexing } from './tables.js';
import { layerTimeConstants } from './time-constants.js';
import { quantiseBias, quantiseWeights } from './weights.js';

export interface LayerContext {
  s: ResolvedSettings;
  dt: number;
  alphaFrac: number;
  delay: number;
  placement: Placement;
  notes: string[];
  violations: MapViolation[];
}

/** Drive and membrane share a binary point; it cannot have more fraction bits than the products of weights and inputs. */
function stateFormats(
  lp: LayerPlans,
  r: LayerRanges,
  fw: number,
  fx: number,
  l: number,
  notes: string[],
): { membraneFormat: FixedFormat; driveFormat: FixedFormat; biasFormat: FixedFormat } {
  const stateRange = Math.max(maxAbs(r.drive), maxAbs(r.membrane));
  let fu = pickFormat(lp.membrane, stateRange, 'membrane').fracBits;
  if (lp.drive.frac === null && lp.membrane.frac === null) fu = Math.min(fu, pickFormat(lp.drive, stateRange, 'drive').fracBits);
  if (fu > fw + fx) {
    notes.push(`layer ${l}: membrane binary point lowered from ${fu} to ${fw + fx} fraction bits (weights ${fw} + inputs ${fx}): the sum has no finer bits`);
    fu = fw + fx;
  }
  return { membraneFormat: formatOf(lp.membrane, fu), driveFormat: formatOf(lp.drive, fu), biasFormat: formatOf(lp.bias, fu) };
}

/** The prospective format: no finer than membrane + rho bits, and fine enough to index a table (minPf). */
function prospectiveFormatOf(
  lp: LayerPlans,
  r: LayerRanges,
  fu: number,
  rhoFrac: number,
  minPf: number,
  tableShiftBase: number,
  l: number,
  notes: string[],
  violations: MapViolation[],
): FixedFormat | null {
  const picked = pickFormat(lp.prospective, maxAbs(r.prospective), 'prospective');
  let fp = Math.min(picked.fracBits, fu + rhoFrac);
  if (fp < minPf) {
    if (lp.prospective.frac !== null) {
      violations.push({
        limit: 'nonlinearity.entries',
        layer: l,
        message: `layer ${l}: the table step 2^${tableShiftBase} is finer than the prospective format's LSB (2^-${picked.fracBits})`,
      });
      return null;
    }
    notes.push(`layer ${l}: prospective binary point raised to ${minPf} fraction bits to index the nonlinearity table`);
    fp = minPf;
  }
  return formatOf(lp.prospective, fp);
}

/** One descriptor layer and its report rows; xf is the format of the layer's input. */
export function compileLayer(
  ml: ModelLayer,
  l: number,
  lp: LayerPlans,
  r: LayerRanges,
  xf: FixedFormat,
  ctx: LayerContext,
): { layer: DescriptorLayer; report: TensorReport[] } | null {
  const { notes, violations } = ctx;
  const flatW = Float64Array.from(ml.weights.flat());
  let wMax = 0;
  for (const v of flatW) wMax = Math.max(wMax, Math.abs(v));
  const weightFormat = pickFormat(lp.weights, wMax, 'weights');
  const { membraneFormat, driveFormat, biasFormat } = stateFormats(lp, r, weightFormat.fracBits, xf.fracBits, l, notes);

  // nonlinearity shape first: a table constrains the prospective binary point
  const shape = nonlinearityShape(ml.phi, ctx.s.nonlinearity);
  const indexing = tableIndexing(shape, ml, l, violations);
  if (indexing === null) return null;
  const tc = layerTimeConstants(ml, l, ctx.dt, ctx.alphaFrac, ctx.s, notes, violations);
  if (tc === null) return null;
  const prospectiveFormat = prospectiveFormatOf(lp, r, membraneFormat.fracBits, tc.rhoFrac, indexing.minPf, indexing.tableShiftBase, l, notes, violations);
  if (prospectiveFormat === null) return null;
  const nl = realiseNonlinearity({ shape, ml, l, rate: lp.rate, ranges: r, prospectiveFormat, tableShiftBase: indexing.tableShiftBase }, notes, violations);
  if (nl === null) return null;

  const wq = quantiseWeights(flatW, weightFormat, ml, l, lp.weights.origin, violations);
  const biasValues = ml.bias === null ? new Float64Array(ml.outputSize) : Float64Array.from(ml.bias);
  const bq = quantiseBias(biasValues, biasFormat, l, violations);
  const layer: DescriptorLayer = {
    nIn: ml.inputSize,
    nOut: ml.outputSize,
    phi: ml.phi,
    delay: ctx.delay,
    weightFormat,
    weights: wq.weights,
    biasFormat,
    bias: bq.bias,
    driveFormat,
    membraneFormat,
    prospectiveFormat,
    rateFormat: nl.rateFormat,
    alphaFrac: ctx.alphaFrac,
    alpha: tc.alpha,
    rhoFrac: tc.rhoFrac,
    rho: tc.rho,
    nonlinearity: nl.nonlinearity,
    placement: ctx.placement,
  };
  const report = layerReport({
    l,
    layer,
    plans: lp,
    ranges: r,
    flatW,
    biasValues,
    weightsSaturated: wq.saturated,
    biasSaturated: bq.saturated,
    tableSaturated: nl.tableSaturated,
    nonlinearityOrigin: nl.origin,
  });
  return { layer, report };
}
