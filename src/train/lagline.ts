/**
 * The LagLine experiment: the student learns weights and tau_m online from the
 * teacher's output with GLE's local rules (Adam, as in the published setup).
 */
import { Network } from '../engine/network.js';
import { DEFAULT_LEARNING } from '../engine/types.js';
import { LAGLINE_TEACHER, laglineSpec, smoothedSquareWave } from '../tasks/lagline.js';
import { Rng } from '../util/rng.js';

export interface LagLineConfig {
  seed: number;
  prospectiveErrors: boolean;
  batch: number;
  /** time units without learning, then with learning */
  initTime: number;
  trainTime: number;
  /** Adam learning rate (the published setup uses 1e-6 / beta) */
  lr: number;
  period: number;
  sigmaSteps: number;
}

export const LAGLINE_DEFAULTS: Omit<LagLineConfig, 'seed' | 'prospectiveErrors'> = {
  batch: 100,
  initTime: 50,
  trainTime: 4000,
  lr: 1e-6 / LAGLINE_TEACHER.beta,
  period: 4,
  sigmaSteps: 5,
};

export interface LagLineResult {
  prospectiveErrors: boolean;
  initial: { weights: number[]; tauM: number[] };
  learned: { weights: number[]; tauM: number[] };
  teacher: { weights: number[]; tauM: number[] };
  /** largest relative error over the four learned quantities */
  maxRelativeError: number;
  /** mean squared output error over the last 10 % of training */
  finalLoss: number;
  steps: number;
  wallSeconds: number;
}

export function runLagLine(config: LagLineConfig, onProgress?: (done: number, total: number) => void): LagLineResult {
  const started = performance.now();
  const dt = LAGLINE_TEACHER.dt;
  const rng = new Rng(config.seed);
  // the published setup draws the student's weights and tau_m from U(0, 1); tau is then kept >= 10 dt
  const initial = { weights: [rng.uniform(), rng.uniform()], tauM: [rng.uniform(), rng.uniform()].map((t) => Math.max(t, 10 * dt)) };
  const teacher = new Network(laglineSpec(LAGLINE_TEACHER.weights, LAGLINE_TEACHER.tauM, false), { batch: config.batch });
  const student = new Network(laglineSpec(initial.weights, initial.tauM, config.prospectiveErrors), {
    batch: config.batch,
    learning: { ...DEFAULT_LEARNING, optimizer: 'adam', lr: config.lr, learnWeights: true, learnBiases: false, learnTauM: true, tauMin: 10 * dt },
  });
  const initSteps = Math.round(config.initTime / dt);
  const totalSteps = initSteps + Math.round(config.trainTime / dt);
  const wave = smoothedSquareWave(totalSteps, config.batch, dt, config.period, config.sigmaSteps, Rng.derive(config.seed, 1).nextUint32());
  const x = new Float64Array(config.batch);
  const y = new Float64Array(config.batch);
  const lossWindowStart = totalSteps - Math.round(0.1 * (totalSteps - initSteps));
  let lossSum = 0;
  let lossCount = 0;
  for (let k = 0; k < totalSteps; k++) {
    x.set(wave.subarray(k * config.batch, (k + 1) * config.batch));
    // the target at step k is the teacher's output as it stands before step k, matching the
    // student's own error, which compares against its output before step k
    y.set(teacher.top.r);
    teacher.step(x, null, 'none');
    if (k >= lossWindowStart) {
      const r = student.top.r;
      for (let b = 0; b < config.batch; b++) {
        const d = y[b] - r[b];
        lossSum += d * d;
      }
      lossCount += config.batch;
    }
    student.step(x, y, k > initSteps ? 'learn' : 'none');
    if (onProgress && (k & 4095) === 0) onProgress(k, totalSteps);
  }
  const learned = {
    weights: student.layers.map((l) => l.weights[0]),
    tauM: student.layers.map((l) => l.tauM[0]),
  };
  const teacherValues = { weights: [...LAGLINE_TEACHER.weights], tauM: [...LAGLINE_TEACHER.tauM] };
  const rel = [0, 1].flatMap((i) => [
    Math.abs(learned.weights[i] - teacherValues.weights[i]) / teacherValues.weights[i],
    Math.abs(learned.tauM[i] - teacherValues.tauM[i]) / teacherValues.tauM[i],
  ]);
  return {
    prospectiveErrors: config.prospectiveErrors,
    initial,
    learned,
    teacher: teacherValues,
    maxRelativeError: Math.max(...rel),
    finalLoss: lossSum / Math.max(1, lossCount),
    steps: totalSteps,
    wallSeconds: (performance.now() - started) / 1000,
  };
}
