/**
 * What a device descriptor holds, in memory. The schema is firmware-bridge/DESCRIPTOR.md;
 * the arithmetic it parameterises is firmware-bridge/SEMANTICS.md.
 */
import type { Presentation } from '../presentation/index.js';
import type { FixedFormat } from '../fixed/index.js';
import { GlekitError } from '../util/errors.js';

export const DESCRIPTOR_MAGIC = 'GLED';
export const DESCRIPTOR_VERSION = 1;
export const DESCRIPTOR_EXTENSION = '.gled';

export type Nonlinearity =
  | { kind: 'identity' }
  /** r = rate(clamp(pu, lo, hi)); lo, hi are codes of the prospective format */
  | { kind: 'clamp'; lo: number; hi: number }
  /**
   * index i = floor((pu - base) / 2^shift), clamped to the table; with interpolate the
   * remainder blends entry i and i+1 (entries are breakpoints). Entries are rate codes.
   */
  | { kind: 'table'; base: number; shift: number; interpolate: boolean; table: Int32Array };

export interface Placement {
  neuronsPerCore: number | null;
  firstCore: number;
  cores: number;
}

export interface DescriptorLayer {
  nIn: number;
  nOut: number;
  /** the model's activation name (informational: the arithmetic is in `nonlinearity`) */
  phi: string;
  /** extra steps the bottom input travels before this layer reads it (0: the previous step's value) */
  delay: number;
  weightFormat: FixedFormat;
  /** nOut x nIn row-major */
  weights: Int16Array;
  biasFormat: FixedFormat;
  bias: Int32Array;
  driveFormat: FixedFormat;
  membraneFormat: FixedFormat;
  prospectiveFormat: FixedFormat;
  rateFormat: FixedFormat;
  /** dt / tau_m = alpha / 2^alphaFrac per neuron */
  alphaFrac: number;
  alpha: Uint16Array;
  /** tau_r / tau_m = rho / 2^rhoFrac per neuron */
  rhoFrac: number;
  rho: Uint16Array;
  nonlinearity: Nonlinearity;
  placement: Placement | null;
  /**
   * an analog board's trim codes (PROTOCOL.md §6): 4 x nOut, parameter-major (tauM, tauR,
   * gain, offset); absent unless compiled with a board calibration (the key is then not
   * written, so descriptors without trims keep their bytes and hashes)
   */
  trims?: Uint16Array;
}

export interface DescriptorHeader {
  tool: string;
  profile: { name: string; hash: string };
  model: { hash: string; task: string };
  /** the precision setting the compiler was given, as text */
  precision: string;
  /** free-form facts for `glekit inspect` (the quantisation report); no engine reads them */
  info: Record<string, unknown>;
}

export interface DescriptorNetwork {
  /** model time per step, in the model's units */
  dt: number;
  /** device time per step in seconds, when the profile clocks */
  dtSeconds: number | null;
  inputSize: number;
  outputSize: number;
  /** real input x is fed as the code quantise(x, inputFormat) */
  inputFormat: FixedFormat;
  presentation: Presentation;
  layers: DescriptorLayer[];
}

export interface Descriptor {
  formatVersion: number;
  header: DescriptorHeader;
  network: DescriptorNetwork;
}

/** A descriptor that is damaged, truncated, from a newer glekit, or breaks a bound. */
export class DescriptorError extends GlekitError {
  constructor(
    readonly source: string,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${source}: ${field === '' ? '' : `${field}: `}${problem}`);
    this.name = 'DescriptorError';
  }
}
