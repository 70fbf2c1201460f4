/**
 * The LagLine teacher-student task of the GLE paper: a chain of two softplus neurons,
 * no biases, driven by a smoothed square wave. The teacher has weights (1, 2),
 * tau_m (1, 2), tau_r 0.1 and gamma 1; a student must recover the weights and the
 * membrane time constants from the teacher's output alone.
 */
import type { LayerParameters, NetworkSpec } from '../engine/types.js';
import { Rng } from '../util/rng.js';

export const LAGLINE_TEACHER = { weights: [1, 2], tauM: [1, 2], tauR: 0.1, gamma: 1, beta: 0.01, dt: 0.01 } as const;

export function laglineSpec(weights: readonly number[], tauM: readonly number[], prospectiveErrors: boolean): NetworkSpec {
  const layer = (w: number, tm: number): LayerParameters => ({
    phi: 'softplus',
    inputSize: 1,
    outputSize: 1,
    weights: Float64Array.of(w),
    bias: null,
    tauM: Float64Array.of(tm),
    tauR: Float64Array.of(LAGLINE_TEACHER.tauR),
  });
  return {
    dtype: 'float64',
    dt: LAGLINE_TEACHER.dt,
    gamma: LAGLINE_TEACHER.gamma,
    beta: LAGLINE_TEACHER.beta,
    loss: 'mse',
    prospectiveErrors,
    layers: [layer(weights[0], tauM[0]), layer(weights[1], tauM[1])],
  };
}

/**
 * A +-1 square wave of the given period (in time units), smoothed with a Gaussian of
 * sigmaSteps steps (kernel truncated at 4 sigma, edges mirrored). Each batch row gets
 * its own random phase so that the batch-mean gradient sees every part of the cycle.
 * Returns steps x batch, row-major by step.
 */
export function smoothedSquareWave(steps: number, batch: number, dt: number, period: number, sigmaSteps: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const raw = new Float64Array(steps * batch);
  for (let b = 0; b < batch; b++) {
    const phase = rng.uniform() * period;
    for (let k = 0; k < steps; k++) {
      const t = k * dt + phase;
      raw[k * batch + b] = t % period < period / 2 ? 1 : -1;
    }
  }
  const radius = Math.ceil(4 * sigmaSteps);
  const kernel = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    kernel[i + radius] = Math.exp(-(i * i) / (2 * sigmaSteps * sigmaSteps));
    sum += kernel[i + radius];
  }
  for (let i = 0; i < kernel.length; i++) kernel[i] /= sum;
  const out = new Float64Array(steps * batch);
  for (let k = 0; k < steps; k++) {
    for (let b = 0; b < batch; b++) {
      let acc = 0;
      for (let i = -radius; i <= radius; i++) {
        let j = k + i;
        if (j < 0) j = -j - 1;
        else if (j >= steps) j = 2 * steps - j - 1;
        acc += kernel[i + radius] * raw[j * batch + b];
      }
      out[k * batch + b] = acc;
    }
  }
  return out;
}
