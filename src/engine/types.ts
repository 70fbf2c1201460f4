import type { ActivationName } from './activations.js';

export type Dtype = 'float64' | 'float32';
export type LossName = 'mse' | 'ce';

/** One layer's parameters, always held in float64 outside the engine. */
export interface LayerParameters {
  readonly phi: ActivationName;
  readonly inputSize: number;
  readonly outputSize: number;
  /** outputSize x inputSize, row o = neuron o */
  weights: Float64Array;
  /** null means the layer has no bias term at all */
  bias: Float64Array | null;
  tauM: Float64Array;
  tauR: Float64Array;
}

/** Everything needed to run the dynamics of docs/dynamics.md, independent of any task. */
export interface NetworkSpec {
  readonly dtype: Dtype;
  readonly dt: number;
  readonly gamma: number;
  /** scales the output error: beta * (y - r) for MSE, beta * (y - softmax(r)) for CE */
  readonly beta: number;
  readonly loss: LossName;
  readonly prospectiveErrors: boolean;
  readonly layers: LayerParameters[];
}

export type OptimizerName = 'sgd' | 'adam';

export interface LearningSetup {
  readonly optimizer: OptimizerName;
  readonly lr: number;
  /** SGD momentum (torch semantics: buf = m * buf + g; p -= lr * buf); 0 for plain SGD */
  readonly momentum: number;
  readonly adamBeta1: number;
  readonly adamBeta2: number;
  readonly adamEpsilon: number;
  /** per-layer multipliers of lr; missing entries are 1 */
  readonly lrFactors: readonly number[];
  readonly learnWeights: boolean;
  readonly learnBiases: boolean;
  readonly learnTauM: boolean;
  /**
   * tau_m's learning rate as a multiple of the layer's (default 1). Under plain SGD the
   * tau_m gradients of a trained network are orders of magnitude below what moves a time
   * constant of its size, so compensating mismatch needs its own rate.
   */
  readonly tauLrFactor?: number;
  /** learned time constants are clamped to at least this after each update */
  readonly tauMin: number;
}

export const DEFAULT_LEARNING: LearningSetup = {
  optimizer: 'sgd',
  lr: 0.01,
  momentum: 0,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEpsilon: 1e-8,
  lrFactors: [],
  learnWeights: true,
  learnBiases: true,
  learnTauM: false,
  tauMin: 0,
};

/** What one call of Network.step does with gradients. */
export type StepMode = 'none' | 'gradients' | 'learn';
