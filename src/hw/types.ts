/**
 * The shape of a hardware profile (hw-models/*.json), mirroring hw-models/schema.json.
 * The schema is the authority; these types only let TypeScript see what validation
 * already guaranteed. Times are seconds of substrate time.
 */

export type Source = 'lit' | 'ill';

/**
 * Every number in a profile carries where it came from, so a reader (and a reviewer of
 * a sweep) can tell a published figure from a guess.
 */
export interface Sourced {
  value: number;
  source: Source;
  ref: string;
}

export type ProfileKind = 'analog' | 'mixed-signal' | 'digital' | 'fpga' | 'mcu' | 'ideal';
/** A profile's rounding rule in words; src/fixed's Rounding is the ap_fixed mode a compiled format uses. */
export type ProfileRounding = 'nearest' | 'nearest-even' | 'floor' | 'ceil' | 'truncate';
/** A profile's overflow rule in words; src/fixed's Overflow is the ap_fixed mode. */
export type ProfileOverflow = 'saturate' | 'wrap';
export type Distribution = 'none' | 'normal' | 'lognormal';
export type Sharing = 'neuron' | 'core';

export interface Noted {
  notes?: string;
}

export interface Timing extends Noted {
  mode: 'continuous' | 'discrete';
  dt?: Sourced;
  acceleration?: Sourced;
  clockHz?: Sourced;
}

export type TauRepresentation =
  | (Noted & { kind: 'continuous'; sharing: Sharing; min?: Sourced; max?: Sourced })
  | (Noted & {
      kind: 'analog-cell';
      sharing: Sharing;
      bits: Sourced;
      codeMin?: Sourced;
      codeMax?: Sourced;
      min: Sourced;
      max: Sourced;
      mapping: 'linear' | 'reciprocal' | 'log';
      rounding: ProfileRounding;
    })
  | (Noted & { kind: 'decay'; sharing: Sharing; bits: Sourced; dMin?: Sourced; dMax?: Sourced; rounding: ProfileRounding })
  | (Noted & { kind: 'bit-shift'; sharing: Sharing; shiftMin: Sourced; shiftMax: Sourced; rounding: ProfileRounding });

export interface Clip extends Noted {
  min: Sourced;
  max: Sourced;
}

export interface TauMismatch extends Noted {
  distribution: Distribution;
  cv: Sourced;
  cvUncalibrated?: Sourced;
  clip?: Clip;
  granularity: 'neuron' | 'core';
  coreSize?: Sourced;
  withinCoreCv?: Sourced;
}

export interface TimeConstantSpec extends Noted {
  nominal?: Sourced;
  representation: TauRepresentation;
  mismatch: TauMismatch;
}

export interface GainMismatch extends Noted {
  distribution: Distribution;
  cv: Sourced;
  clip?: Clip;
  granularity: 'synapse' | 'neuron';
}

export type WeightCoding = (Noted & { kind: 'uniform' }) | (Noted & { kind: 'base-mask'; bases: Sourced });

export type WeightScale =
  | (Noted & { kind: 'free' })
  | (Noted & { kind: 'power-of-two'; minExponent: Sourced; maxExponent: Sourced })
  | (Noted & { kind: 'fixed'; fractionalBits: Sourced });

export type WeightSign = 'signed' | 'sign-magnitude' | 'separate-exc-inh';

export interface FloatWeights extends Noted {
  format: 'float';
  gainMismatch: GainMismatch;
}

export interface IntegerWeights extends Noted {
  format: 'integer';
  bits: Sourced;
  sign: WeightSign;
  synapsesPerSignedWeight?: Sourced;
  coding?: WeightCoding;
  scale: WeightScale;
  rounding: ProfileRounding;
  overflow: ProfileOverflow;
  gainMismatch: GainMismatch;
}

export type Weights = FloatWeights | IntegerWeights;

export type NumberFormat =
  | (Noted & { format: 'float' })
  | (Noted & { format: 'analog'; min?: Sourced; max?: Sourced })
  | (Noted & { format: 'fixed'; bits: Sourced; fractionalBits?: Sourced; overflow: ProfileOverflow });

export interface Readout extends Noted {
  bits: Sourced;
  codeMin?: Sourced;
  codeMax?: Sourced;
  samplePeriod?: Sourced;
  overflow: ProfileOverflow;
}

export interface StateSpec extends Noted {
  membrane: NumberFormat;
  synaptic?: NumberFormat;
  rate?: NumberFormat;
  accumulator?: NumberFormat;
  readout?: Readout;
}

export interface NoiseSpec extends Noted {
  std: Sourced;
  unit: 'full-scale' | 'readout-lsb';
}

/** How a substrate realises phi; the descriptor's Nonlinearity is the integer circuit the compiler derives from it. */
export type ProfileNonlinearity =
  | (Noted & { kind: 'exact' })
  | (Noted & { kind: 'lut'; entries: Sourced; min: Sourced; max: Sourced; interpolation: 'none' | 'linear'; outputBits?: Sourced })
  | (Noted & { kind: 'piecewise-linear'; segments: Sourced; min: Sourced; max: Sourced })
  | (Noted & { kind: 'clamp'; min: Sourced; max: Sourced });

export type DelayDraw =
  | (Noted & { kind: 'constant'; value: Sourced })
  | (Noted & { kind: 'uniform'; min: Sourced; max: Sourced })
  | (Noted & { kind: 'normal'; mean: Sourced; std: Sourced; min: Sourced; max: Sourced });

export interface Delays extends Noted {
  granularity: 'layer' | 'synapse';
  draw: DelayDraw;
  programmable?: Noted & { min: Sourced; max: Sourced };
}

export const CAPACITY_LIMITS = [
  'neuronsTotal',
  'neuronsPerCore',
  'cores',
  'inputs',
  'hiddenNeurons',
  'outputs',
  'fanIn',
  'fanOut',
  'synapsesTotal',
  'memoryBytes',
] as const;
export type CapacityLimit = (typeof CAPACITY_LIMITS)[number];

export type Capacity = Noted & { [K in CapacityLimit]?: Sourced };

export interface HostLink extends Noted {
  kind: 'uart' | 'usb-cdc' | 'usb' | 'ethernet' | 'spi' | 'pcie' | 'other';
  protocol?: string;
  baud?: Sourced;
  maxBaud?: Sourced;
  bitsPerByte?: Sourced;
  bytesPerSecond?: Sourced;
  maxFrameBytes?: Sourced;
}

/** How chips of the family are calibrated (the procedure that produces a board calibration file). */
export interface CalibrationProcedure extends Noted {
  perNeuron: boolean;
  durationSeconds?: Sourced;
  acceptanceSpreadRatio?: Sourced;
  schedule?: string;
}

export const PROFILE_FORMAT = 'glekit.hw-profile/1';

export interface HwProfile extends Noted {
  $schema?: string;
  format: typeof PROFILE_FORMAT;
  name: string;
  kind: ProfileKind;
  description: string;
  timing: Timing;
  timeConstants: Noted & { tauM: TimeConstantSpec; tauR: TimeConstantSpec };
  weights: Weights;
  state: StateSpec;
  noise: Noted & { membrane: NoiseSpec; rate: NoiseSpec };
  nonlinearity: ProfileNonlinearity;
  delays: Delays;
  capacity: Capacity;
  hostLinks: HostLink[];
  calibration?: CalibrationProcedure;
}
