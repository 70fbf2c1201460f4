/**
 * Quantise: weights and biases, once and exactly. A value outside its format's range is
 * a map failure, named down to the neuron and input, never a silent saturation.
 */
import { quantise, quantiseArray, type FixedFormat } from '../fixed/index.js';
import type { ModelLayer } from '../model/model-file.js';
import { realRange } from './formats.js';
import type { MapViolation } from './map.js';

export interface QuantisedWeights {
  weights: Int16Array;
  /** how many weights lay outside the format */
  saturated: number;
}

export function quantiseWeights(
  flatW: Float64Array,
  weightFormat: FixedFormat,
  ml: ModelLayer,
  l: number,
  origin: string,
  violations: MapViolation[],
): QuantisedWeights {
  const wq = quantiseArray(flatW, weightFormat);
  const wSat = weightFormat.with({ overflow: 'SAT' });
  if (wq.saturated > 0) {
    const [lo, hi] = realRange(weightFormat);
    let shown = 0;
    for (let k = 0; k < flatW.length && shown < 3; k++) {
      const c = quantise(flatW[k], wSat);
      if (c === wSat.minRaw || c === wSat.maxRaw) {
        const exact = flatW[k] * weightFormat.scale;
        if (exact < wSat.minRaw - 0.5 || exact > wSat.maxRaw + 0.5) {
          violations.push({
            limit: 'weights.range',
            layer: l,
            message: `layer ${l}, neuron ${Math.floor(k / ml.inputSize)}, input ${k % ml.inputSize}: weight ${flatW[k].toPrecision(4)} is outside the range [${lo}, ${hi}] of ${weightFormat} (${origin})`,
          });
          shown++;
        }
      }
    }
    if (wq.saturated > shown)
      violations.push({ limit: 'weights.range', layer: l, message: `layer ${l}: ${wq.saturated - shown} more weights outside [${lo}, ${hi}]` });
  }
  return { weights: Int16Array.from(wq.raw), saturated: wq.saturated };
}

export function quantiseBias(
  biasValues: Float64Array,
  biasFormat: FixedFormat,
  l: number,
  violations: MapViolation[],
): { bias: Int32Array; saturated: number } {
  const bq = quantiseArray(biasValues, biasFormat);
  if (bq.saturated > 0) {
    const [lo, hi] = realRange(biasFormat);
    const k = biasValues.findIndex((b) => b * biasFormat.scale > biasFormat.maxRaw + 0.5 || b * biasFormat.scale < biasFormat.minRaw - 0.5);
    violations.push({
      limit: 'bias.range',
      layer: l,
      message: `layer ${l}, neuron ${Math.max(0, k)}: bias ${biasValues[Math.max(0, k)].toPrecision(4)} is outside the range [${lo}, ${hi}] of ${biasFormat} (${bq.saturated} biases in all)`,
    });
  }
  return { bias: bq.raw, saturated: bq.saturated };
}
