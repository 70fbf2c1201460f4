/**
 * One interface for every way of running a network: the float engine, a realised chip
 * (substrate), the TypeScript integer emulator, the C engine, and a board over the serial
 * bridge. Hardware-in-the-loop testing is "run the same stimulus on two targets and
 * compare" (src/target/evaluate.ts).
 */
import type { Presentation } from '../presentation/index.js';

export type TargetKind = 'float' | 'substrate' | 'fixed-ts' | 'fixed-c' | 'device';

/** Samples to present: count rows of sampleSize real values (a held sample, or a whole sequence). */
export interface Stimulus {
  readonly count: number;
  readonly inputSize: number;
  /** count x inputSize, row-major */
  readonly inputs: Float32Array;
}

export interface TargetRunOptions {
  /** record every step's per-layer state (targets whose `canRecord` is true) */
  record?: boolean;
}

export interface TargetOutputs {
  /** real-valued read-outs, count x outputSize */
  values: Float64Array;
  /** the integer read-out codes (exact integers), where the target computes in codes; else null */
  codes: Float64Array | null;
  /**
   * With `record`: per sample, per step, for each layer bottom to top its membranes then
   * its rates (real values on float targets, codes on integer ones); else null.
   */
  states: Float64Array | null;
}

export interface Target {
  readonly kind: TargetKind;
  /** one line for people: what runs, e.g. "fixed-ts: yinyang.gled (fpga-fixed16)" */
  readonly label: string;
  readonly presentation: Presentation;
  /** values per sample: the network's input size when held, the sequence length otherwise */
  readonly outputSize: number;
  readonly canRecord: boolean;
  /**
   * Presents every sample from rest (each sample's read-out depends on that sample only)
   * and returns the read-outs.
   */
  run(stimulus: Stimulus, options?: TargetRunOptions): Promise<TargetOutputs>;
  /** releases what the target holds (a process, a port); a no-op where it holds nothing */
  close(): Promise<void>;
}
