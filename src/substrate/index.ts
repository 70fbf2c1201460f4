/**
 * The substrate target: the float engine running on a realised chip (see target.ts for
 * what is injected where, and README "Robustness studies" for the choices made where a
 * profile is silent).
 */
export { Substrate, CapacityError, type SubstrateOptions, type RealisedLayer } from './target.js';
export { evaluateOnChip, trainOnChip, type ChipTrainingConfig, type ChipTrainingHooks, type ChipEvaluation, type ChipPlateau } from './classify.js';
export {
  FIXED_STATE_RANGE,
  weightCodeLimits,
  weightScale,
  weightCode,
  quantiseMatrix,
  stateGrid,
  readoutGrid,
  snapToGrid,
  type GridQuantiser,
  type IntegerWeightFormat,
} from './quantise.js';
export { realisedActivation, rateRange, UNBOUNDED_RATE_RANGE, type Activation } from './nonlinearity.js';
export { buildHooks, type LayerImperfections } from './hooks.js';

import type { WeightKernels } from '../engine/kernels.js';
import type { NetworkSpec } from '../engine/types.js';
import { architectureOf, realiseChip, type HwProfile } from '../hw/index.js';
import { Substrate, type SubstrateOptions } from './target.js';

/** Realises chip `seed` of the profile for the network's architecture and puts the network on it. */
export function substrateFor(spec: NetworkSpec, profile: HwProfile, seed: number, options: SubstrateOptions & { kernels?: WeightKernels } = {}): Substrate {
  return new Substrate(spec, realiseChip(profile, architectureOf(spec.layers), seed), options);
}
