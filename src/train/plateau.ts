/**
 * Reduce-on-plateau and the per-epoch record it reads: shared by the float trainer and
 * the chip trainer through the one epoch loop (epochs.ts).
 */
import { GlekitError } from '../util/errors.js';

export type PlateauMonitor = 'validationAccuracy' | 'validationLoss' | 'trainLoss';

/**
 * Reduce-on-plateau: after `patience` epochs without a new best monitored value,
 * lr *= factor and the count restarts. Accuracy must rise above the best; a loss must
 * fall below best * (1 - threshold) (torch's ReduceLROnPlateau 'rel' mode). Note that
 * torch reduces after patience + 1 bad epochs, so torch's patience p is p + 1 here.
 */
export interface PlateauSchedule {
  factor: number;
  patience: number;
  minLr: number;
  /** default 'validationAccuracy' */
  monitor?: PlateauMonitor;
  /** relative improvement a loss needs (default 1e-4) */
  threshold?: number;
  /** a reduction smaller than this is skipped, so lr stops falling near it (torch's eps; default 0) */
  eps?: number;
}

/** The schedule's memory, kept in checkpoints so that a resumed run continues identically. */
export interface PlateauState {
  lr: number;
  /** best monitored value so far; null before the first epoch */
  best: number | null;
  epochsSinceBest: number;
}

export function initialPlateau(lr: number): PlateauState {
  return { lr, best: null, epochsSinceBest: 0 };
}

export function monitoredValue(schedule: PlateauSchedule, record: EpochRecord): number {
  switch (schedule.monitor ?? 'validationAccuracy') {
    case 'validationAccuracy':
      return record.validationAccuracy;
    case 'validationLoss':
      return record.validationLoss;
    case 'trainLoss':
      return record.trainLoss;
  }
}

export function stepPlateau(schedule: PlateauSchedule, state: PlateauState, value: number): PlateauState {
  const monitor = schedule.monitor ?? 'validationAccuracy';
  if (!Number.isFinite(value)) {
    throw new GlekitError(`reduce-on-plateau monitors ${monitor}, which is ${value} (an empty validation split cannot be monitored)`);
  }
  const minimise = monitor !== 'validationAccuracy';
  const threshold = schedule.threshold ?? 1e-4;
  const improved = state.best === null || (minimise ? value < state.best * (1 - threshold) : value > state.best);
  if (improved) return { lr: state.lr, best: value, epochsSinceBest: 0 };
  const waited = state.epochsSinceBest + 1;
  if (waited < schedule.patience) return { ...state, epochsSinceBest: waited };
  const reduced = Math.max(schedule.minLr, state.lr * schedule.factor);
  return { lr: state.lr - reduced > (schedule.eps ?? 0) ? reduced : state.lr, best: state.best, epochsSinceBest: 0 };
}

export interface EpochRecord {
  epoch: number;
  trainAccuracy: number;
  /** mean loss while learning (CE of the output, or (1/2)||onehot - r||^2 for MSE) over the read-out window */
  trainLoss: number;
  validationAccuracy: number;
  validationLoss: number;
  /** NaN in the epochs where the test split was not evaluated */
  testAccuracy: number;
  /** learning rate used during this epoch */
  lr: number;
  /** wall time of the epoch, evaluations included */
  seconds: number;
}
