/**
 * Retiming: the same continuous-time network stepped K times finer (dt / K, K times the
 * steps per sample). A chip fixes what one step is (an analog board's time constants
 * span a range of steps, a digital core's decay needs a few steps per tau), so a network
 * whose fastest constant is one step of its training dt is mapped onto such a chip by
 * running it at a finer dt. The time constants, weights and read-out stay; only the
 * forward-Euler resolution changes, so the accuracy is that of the same ODE integrated
 * more finely (measure it: `glekit eval` on the retimed model).
 */
import { ValidationError } from '../util/errors.js';
import { MAX_STEPS_PER_SAMPLE } from './checks.js';
import { makeModelFile, type ModelFile } from './model-file.js';

/** Steps per old step a retiming may ask for. */
export const MAX_RETIME_FACTOR = 64;

export function retimeModel(model: ModelFile, factor: number, source: string): ModelFile {
  if (!(Number.isInteger(factor) && factor >= 2 && factor <= MAX_RETIME_FACTOR)) {
    throw new ValidationError('--factor', 'factor', factor, `must be an integer in 2..${MAX_RETIME_FACTOR} (steps of the new dt per step of the old)`);
  }
  const p = model.presentation;
  if (p.stepsPerSample * factor > MAX_STEPS_PER_SAMPLE) {
    throw new ValidationError(
      source,
      'presentation.stepsPerSample',
      p.stepsPerSample,
      `times ${factor} exceeds ${MAX_STEPS_PER_SAMPLE} steps per sample (the limit a compiled descriptor has)`,
    );
  }
  const { contentHash: _hash, format: _format, formatVersion: _version, ...content } = model;
  return makeModelFile({
    ...content,
    network: { ...model.network, dt: model.network.dt / factor },
    presentation: { ...p, stepsPerSample: p.stepsPerSample * factor, settleSteps: p.settleSteps * factor },
    training: { ...model.training, retimed: { factor, fromModel: model.contentHash, fromDt: model.network.dt, fromMetrics: model.metrics } },
    // measured at the old dt; `glekit eval` measures the retimed model
    metrics: {},
  });
}
