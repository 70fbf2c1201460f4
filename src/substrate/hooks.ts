/**
 * The per-step imperfections of a chip, as engine LayerHooks: transmission delays,
 * temporal noise on membranes and rates, state and readout resolution, and the realised
 * nonlinearity. Built once per chip network; nothing here allocates inside a step.
 */
import type { FloatArray, WeightKernels } from '../engine/kernels.js';
import type { LayerHooks, LayerState, Network } from '../engine/network.js';
import type { Rng } from '../util/rng.js';
import { snapArrayToGrid, type GridQuantiser } from './quantise.js';
import type { Activation } from './nonlinearity.js';

export interface LayerImperfections {
  /** input delay in steps: one number for the layer, or nOut x nIn per synapse */
  delay: number | Int32Array;
  /** grid of the drive (synaptic input / accumulator), null: exact */
  driveGrid: GridQuantiser | null;
  /** per-step noise std added to the membrane (and the potential the rate reads), model units */
  membraneNoise: number;
  membraneGrid: GridQuantiser | null;
  activation: Activation | null;
  rateNoise: number;
  rateGrid: GridQuantiser | null;
  readoutGrid: GridQuantiser | null;
}

export function hasEffect(m: LayerImperfections): boolean {
  return (
    (typeof m.delay === 'number' ? m.delay > 0 : m.delay.some((d) => d > 0)) ||
    m.driveGrid !== null ||
    m.membraneNoise > 0 ||
    m.membraneGrid !== null ||
    m.activation !== null ||
    m.rateNoise > 0 ||
    m.rateGrid !== null ||
    m.readoutGrid !== null
  );
}

/**
 * A ring of the last L inputs of a layer (L = largest delay + 1). Slot `pos` holds the
 * input of the current step, slot (pos - d) mod L the input of d steps ago; before the
 * first steps the ring holds zeros, as a line that carried nothing yet.
 */
class InputHistory {
  slots: FloatArray[] = [];
  pos = 0;
  constructor(
    readonly length: number,
    private readonly width: number,
    private readonly newArray: (n: number) => FloatArray,
  ) {}

  resize(batch: number): void {
    this.slots = Array.from({ length: this.length }, () => this.newArray(batch * this.width));
    this.pos = 0;
  }

  reset(): void {
    for (const s of this.slots) s.fill(0);
    this.pos = 0;
  }

  push(x: FloatArray): void {
    this.pos = this.pos + 1 === this.length ? 0 : this.pos + 1;
    this.slots[this.pos].set(x);
  }

  ago(d: number): FloatArray {
    let k = this.pos - d;
    if (k < 0) k += this.length;
    return this.slots[k];
  }
}

export function buildHooks(net: Network, layer: LayerState, m: LayerImperfections, kernels: WeightKernels, noise: Rng): LayerHooks | null {
  if (!hasEffect(m)) return null;
  const nIn = layer.nIn,
    nOut = layer.nOut;
  const hooks: LayerHooks = {};
  const newArray = (n: number): FloatArray => net.newArray(n);

  const perSynapse = typeof m.delay !== 'number';
  const maxDelay = typeof m.delay === 'number' ? m.delay : m.delay.reduce((a, b) => Math.max(a, b), 0);
  let history: InputHistory | null = null;
  if (maxDelay > 0) {
    const h = new InputHistory(maxDelay + 1, nIn, newArray);
    history = h;
    if (!perSynapse) {
      const d = m.delay as number;
      hooks.input = (bottom) => {
        h.push(bottom);
        return h.ago(d);
      };
    } else {
      // the drive and the gradient read each synapse's own past input from the ring
      hooks.input = (bottom) => {
        h.push(bottom);
        return bottom;
      };
    }
  }

  const delays = perSynapse && history !== null ? (m.delay as Int32Array) : null;
  const driveGrid = m.driveGrid;
  if (delays !== null || driveGrid !== null) {
    const h = history;
    hooks.drive = (W, bias, bottom, s, batch) => {
      if (delays !== null && h !== null) {
        for (let b = 0; b < batch; b++) {
          const xOff = b * nIn,
            sOff = b * nOut;
          for (let o = 0; o < nOut; o++) {
            const wOff = o * nIn;
            let acc = 0;
            for (let i = 0; i < nIn; i++) acc += W[wOff + i] * h.ago(delays[wOff + i])[xOff + i];
            s[sOff + o] = bias === null ? acc : acc + bias[o];
          }
        }
      } else {
        kernels.drive(W, bias, bottom, s, batch, nOut, nIn);
      }
      if (driveGrid !== null) snapArrayToGrid(driveGrid, s, batch * nOut);
    };
    if (delays !== null && h !== null) {
      hooks.weightGrad = (pv, _bottom, gW, batch) => {
        const scale = -1 / batch;
        for (let o = 0; o < nOut; o++) {
          const wOff = o * nIn;
          for (let i = 0; i < nIn; i++) {
            const past = h.ago(delays[wOff + i]);
            let acc = 0;
            for (let b = 0; b < batch; b++) acc += pv[b * nOut + o] * past[b * nIn + i];
            gW[wOff + i] = scale * acc;
          }
        }
      };
    }
  }

  if (history !== null) {
    const h = history;
    hooks.resize = (batch) => h.resize(batch);
    hooks.reset = () => h.reset();
  }

  const mNoise = m.membraneNoise,
    mGrid = m.membraneGrid;
  if (mNoise > 0 || mGrid !== null) {
    hooks.membrane = (L, n) => {
      const u = L.uNext,
        pu = L.prospU;
      if (mNoise > 0) {
        // one fluctuation of the membrane: the stored state carries it and this step's rate sees it
        for (let i = 0; i < n; i++) {
          const z = mNoise * noise.normal();
          u[i] += z;
          pu[i] += z;
        }
      }
      if (mGrid !== null) {
        snapArrayToGrid(mGrid, u, n);
        snapArrayToGrid(mGrid, pu, n);
      }
    };
  }

  if (m.activation !== null) hooks.activation = m.activation;

  const rNoise = m.rateNoise,
    rGrid = m.rateGrid,
    adc = m.readoutGrid;
  if (rNoise > 0 || rGrid !== null || adc !== null) {
    hooks.rate = (L, n) => {
      const r = L.rNext;
      if (rNoise > 0) for (let i = 0; i < n; i++) r[i] += rNoise * noise.normal();
      if (rGrid !== null) snapArrayToGrid(rGrid, r, n);
      if (adc !== null) snapArrayToGrid(adc, r, n);
    };
  }
  return hooks;
}
