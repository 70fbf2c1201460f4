/**
 * Named training setups. Each is what `glekit train --task NAME` runs by default;
 * every value can be overridden from the CLI where a flag exists.
 */
import type { ClassifierConfig } from './classifier.js';

/**
 * Yin-Yang with LE: 4-120-3, hard-sigmoid hidden, linear output, tau_m = tau_r (so the
 * prospective output answers without lag), cross-entropy, Adam.
 * Why 5 steps per sample, learning on the last: with tau_r = tau_m the forward path
 * settles in one step per layer and the (non-prospective) error path in one step per
 * layer back, so after 2 x depth steps every local gradient equals backprop's; the
 * fifth step learns on the settled state.
 */
export const YINYANG_PRESET: Omit<ClassifierConfig, 'seed'> = {
  task: 'yinyang',
  dtype: 'float64',
  dt: 0.1,
  gamma: 0,
  beta: 1,
  loss: 'ce',
  prospectiveErrors: false,
  layers: [
    { size: 120, phi: 'hardSigmoid', tauM: 1, tauR: 1 },
    { size: 3, phi: 'linear', tauM: 1, tauR: 1 },
  ],
  init: { weightStd: 1, biasStd: 0.1, scaleByFanIn: true },
  learning: { optimizer: 'adam', lr: 0.01 },
  batchSize: 32,
  epochs: 100,
  presentation: { mode: 'static', stepsPerSample: 5, settleSteps: 4, readout: 'last' },
  evalBatchSize: 1000,
  plateau: { factor: 0.5, patience: 5, minLr: 1e-4 },
};

export const CLASSIFIER_PRESETS: Record<string, Omit<ClassifierConfig, 'seed'>> = {
  yinyang: YINYANG_PRESET,
};
