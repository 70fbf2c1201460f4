/**
 * The presentation loop, written once for every way of running a network: how a task
 * feeds one batch of samples to a network and reads the answer out. The float trainer,
 * the chip trainer, the compiler's range and overflow runs and every target step through
 * `present`; the C half of the same loop is firmware-bridge/src/gle_present.c.
 */

/** How a task feeds samples to the network and reads the answer out. */
export interface Presentation {
  /** 'static': hold each sample for stepsPerSample steps; 'sequence': one input column per step */
  mode: 'static' | 'sequence';
  stepsPerSample: number;
  /** steps at the start of each presentation that neither learn nor count towards a summed read-out */
  settleSteps: number;
  /** prediction: the top layer's outputs after the last step, or their sum over the steps from settleSteps */
  readout: 'last' | 'sum';
}

/** What the loop drives: one network (or a batch of them) stepping together. */
export interface Presenter {
  /** writes step t's input; called at t = 0 for held samples and at every t for sequences */
  fill(t: number): void;
  /** step t; `inWindow` is t >= settleSteps (where learning happens) */
  step(t: number, inWindow: boolean): void;
  /** the top layer's outputs after the latest step, batch x outputs */
  output(): ArrayLike<number>;
}

/**
 * One presentation from the network's current state: fill, step, read out. `score`
 * (batch x outputs) receives the read-out; `onReadout` sees the outputs of every step
 * that enters it (each step of the window for 'sum', the last step for 'last'), and
 * `onStep` every step.
 */
export function present(
  p: Presentation,
  presenter: Presenter,
  score: Float64Array,
  onReadout?: (outputs: ArrayLike<number>) => void,
  onStep?: (t: number) => void,
): void {
  score.fill(0);
  for (let t = 0; t < p.stepsPerSample; t++) {
    if (p.mode === 'sequence' || t === 0) presenter.fill(t);
    const inWindow = t >= p.settleSteps;
    presenter.step(t, inWindow);
    if (onStep !== undefined) onStep(t);
    if (inWindow && p.readout === 'sum') {
      const r = presenter.output();
      for (let k = 0; k < score.length; k++) score[k] += r[k];
      if (onReadout !== undefined) onReadout(r);
    }
  }
  if (p.readout === 'last') {
    const r = presenter.output();
    for (let k = 0; k < score.length; k++) score[k] = r[k];
    if (onReadout !== undefined) onReadout(r);
  }
}

/** Size of one step's input: the whole sample when held, one value per step when streamed. */
export function stepInputSize(p: Presentation, sampleSize: number): number {
  return p.mode === 'static' ? sampleSize : 1;
}

/** Why samples of this size cannot be presented to a network of `networkInputSize` inputs, or null. */
export function presentationMismatch(p: Presentation, sampleSize: number, networkInputSize: number): string | null {
  if (p.mode === 'static' && sampleSize !== networkInputSize) return `samples have ${sampleSize} values, the network takes ${networkInputSize}`;
  if (p.mode === 'sequence' && sampleSize < p.stepsPerSample) return `sequences of ${sampleSize} are shorter than the presentation's ${p.stepsPerSample} steps`;
  return null;
}

/** Index of the largest value of row `row` (the first one on ties). */
export function argmax(a: ArrayLike<number>, row: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (a[row * n + j] > a[row * n + best]) best = j;
  return best;
}
