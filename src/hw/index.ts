/**
 * Hardware models: substrate profiles (hw-models/*.json) and their realisation into
 * concrete chips. This module produces data only; the substrate engine applies it.
 */
export type {
  Source,
  Sourced,
  ProfileKind,
  ProfileRounding,
  ProfileOverflow,
  Distribution,
  Sharing,
  HwProfile,
  Timing,
  TimeConstantSpec,
  TauRepresentation,
  TauMismatch,
  GainMismatch,
  Weights,
  IntegerWeights,
  FloatWeights,
  WeightSign,
  WeightScale,
  WeightCoding,
  NumberFormat,
  Readout,
  StateSpec,
  NoiseSpec,
  ProfileNonlinearity,
  Delays,
  DelayDraw,
  Capacity,
  CapacityLimit,
  HostLink,
  CalibrationProcedure,
  Clip,
} from './types.js';
export { PROFILE_FORMAT, CAPACITY_LIMITS } from './types.js';
export {
  loadProfile,
  validateProfile,
  listProfiles,
  profileHash,
  hwModelsDir,
  formatPath,
} from './profile.js';
export { describeProfile, sourcedValues, type DescribeOptions } from './describe.js';
export { withOverrides, parseOverrides, OVERRIDES, OVERRIDE_NAMES, type Overrides, type OverrideName } from './overrides.js';
export {
  architectureOf,
  realiseChip,
  checkCapacity,
  checkCapacitySettings,
  validateArchitecture,
  CHIP_FORMAT,
  type Architecture,
  type Chip,
  type ChipLayer,
  type CapacityViolation,
} from './realise.js';
export {
  resolveSettings,
  resolveLimits,
  weightCodeRange,
  tableSamplePoint,
  type ResolvedSettings,
  type ResolvedTiming,
  type ResolvedTimeConstant,
  type ResolvedTauRepresentation,
  type ResolvedMismatch,
  type ResolvedWeights,
  type ResolvedScale,
  type ResolvedNumberFormat,
  type ResolvedReadout,
  type ResolvedState,
  type ResolvedNoise,
  type ResolvedNonlinearity,
  type ResolvedDelays,
  type ResolvedDelayDraw,
  type ResolvedLimits,
  type ResolvedHostLink,
} from './resolve.js';
export { representTau, roundWith } from './represent.js';
