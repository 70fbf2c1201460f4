/**
 * Measurements through the probe messages (PROTOCOL.md §6): set every neuron's trims,
 * drive a layer with a constant level (weights bypassed), read the ADC samples back, and
 * turn them into per-neuron estimates of gain and offset (two constant drives, settled
 * tails) or tau_m and tau_r (a step response from rest, membrane and rate; fit.ts).
 */
import { adcValue, type AnalogInfo, type BoardClient } from '../bridge/index.js';
import { activationRange as phiRange } from '../engine/activations.js';
import { fitAr1, fitStepResponse, fitTauR, invertPhi, median, tailMean, tailStd } from './fit.js';
import type { CalibrationTargets, ParamName } from './targets.js';

export interface ProbePlan {
  /** per layer: the two constant levels (units of 2^-16) of the gain/offset measurement */
  staticLevels: number[][];
  /** per layer: the level of the step response */
  stepLevel: number[];
  staticSteps: number;
  stepSteps: number;
}

export interface MeasureCounters {
  rounds: number;
  probes: number;
  bytesRead: number;
}

/** Per neuron over all layers (bottom to top): the estimates of a round. */
export type Estimates = Partial<Record<ParamName, Float64Array>>;

const LEVEL_ONE = 65536;

export class Prober {
  readonly neurons: number;
  /** first global neuron index of each layer */
  readonly offsets: number[];
  readonly counters: MeasureCounters = { rounds: 0, probes: 0, bytesRead: 0 };
  /** per layer: one ADC step in network units */
  readonly lsb: number[];

  constructor(
    readonly client: BoardClient,
    readonly analog: AnalogInfo,
    readonly targets: CalibrationTargets,
    readonly plan: ProbePlan,
  ) {
    const a = analog.adc;
    this.lsb = targets.layers.map((_, l) => ((a.hi - a.lo) / (2 ** a.bits - 1)) * (layerRange(analog, l)[1] - layerRange(analog, l)[0]));
    this.offsets = [];
    let n = 0;
    for (const l of targets.layers) {
      this.offsets.push(n);
      n += l.nOut;
    }
    this.neurons = n;
  }

  /** ADC code of layer l -> network value, NaN outside the reliable codes. */
  private value(l: number, code: number): number {
    const a = this.analog.adc;
    return code < a.reliableLo || code > a.reliableHi ? NaN : adcValue(a, code, layerRange(this.analog, l));
  }

  /** One PROBE of a whole layer; per neuron its membrane (and rate) series as values. */
  private async probeLayer(layer: number, level: number, steps: number, rates: boolean): Promise<{ u: Float64Array[]; r: Float64Array[] | null }> {
    const s = await this.client.probeSamples({ layer, level, steps, observe: rates ? 'both' : 'membrane' });
    this.counters.probes++;
    this.counters.bytesRead += s.bytes;
    const n = s.n;
    const u = Array.from({ length: n }, () => new Float64Array(steps));
    const r = rates ? Array.from({ length: n }, () => new Float64Array(steps)) : null;
    for (let k = 0; k < steps; k++) {
      for (let i = 0; i < n; i++) {
        u[i][k] = this.value(layer, s.data[k * n + i]);
        if (r !== null) r[i][k] = this.value(layer, s.data[steps * n + k * n + i]);
      }
    }
    return { u, r };
  }

  async setCodes(codes: Uint16Array): Promise<void> {
    this.counters.rounds++;
    await this.client.trimSet(codes);
  }

  /** gain and offset of every neuron: the settled membrane under two constant levels. */
  async measureStatic(codes: Uint16Array, repeats: number): Promise<Estimates> {
    const gains: Float64Array[] = [],
      offsets: Float64Array[] = [];
    for (let rep = 0; rep < repeats; rep++) {
      await this.setCodes(codes);
      const g = new Float64Array(this.neurons),
        o = new Float64Array(this.neurons);
      for (let l = 0; l < this.targets.layers.length; l++) {
        const [l1, l2] = this.plan.staticLevels[l];
        const from = Math.floor(this.plan.staticSteps * 0.6);
        const p1 = await this.probeLayer(l, l1, this.plan.staticSteps, false);
        const p2 = await this.probeLayer(l, l2, this.plan.staticSteps, false);
        for (let i = 0; i < p1.u.length; i++) {
          const m1 = tailMean(p1.u[i], from),
            m2 = tailMean(p2.u[i], from);
          const gain = (m2 - m1) / ((l2 - l1) / LEVEL_ONE);
          g[this.offsets[l] + i] = gain;
          o[this.offsets[l] + i] = m1 - (gain * l1) / LEVEL_ONE;
        }
      }
      gains.push(g);
      offsets.push(o);
    }
    return { gain: medianOver(gains), offset: medianOver(offsets) };
  }

  /** tau_m and tau_r of every neuron (in steps) from a step response from rest. */
  async measureStep(codes: Uint16Array, repeats: number): Promise<Estimates> {
    const tm: Float64Array[] = [],
      tr: Float64Array[] = [];
    for (let rep = 0; rep < repeats; rep++) {
      await this.setCodes(codes);
      const m = new Float64Array(this.neurons).fill(NaN),
        r = new Float64Array(this.neurons).fill(NaN);
      for (let l = 0; l < this.targets.layers.length; l++) {
        const phi = this.targets.layers[l].phi;
        const [plo, phi_] = phiRange(phi);
        const margin = 3 * this.lsb[l];
        const p = await this.probeLayer(l, this.plan.stepLevel[l], this.plan.stepSteps, true);
        for (let i = 0; i < p.u.length; i++) {
          const fit = fitAr1(p.u[i]);
          if (fit === null) continue;
          // u_inf: the regression's, or where a slow membrane gives none, a fitted exponential's
          const a = Number.isFinite(fit.a) ? fit.a : (fitStepResponse(p.u[i])?.a ?? NaN);
          const rates = p.r![i];
          const pu = new Float64Array(rates.length);
          for (let k = 0; k < rates.length; k++) {
            const v = rates[k];
            pu[k] = v > plo + margin && v < phi_ - margin ? invertPhi(phi, v) : NaN;
          }
          m[this.offsets[l] + i] = fit.tau;
          r[this.offsets[l] + i] = fitTauR(p.u[i], pu, fit.tau, a);
        }
      }
      tm.push(m);
      tr.push(r);
    }
    return { tauM: medianOver(tm), tauR: medianOver(tr) };
  }

  /** The per-sample noise of the settled membrane (median over neurons) at these codes. */
  async readNoise(codes: Uint16Array): Promise<number> {
    await this.setCodes(codes);
    const stds: number[] = [];
    for (let l = 0; l < this.targets.layers.length; l++) {
      const p = await this.probeLayer(l, this.plan.staticLevels[l][1], this.plan.staticSteps, false);
      const from = Math.floor(this.plan.staticSteps * 0.6);
      for (const u of p.u) stds.push(tailStd(u, from));
    }
    return median(stds);
  }
}

function medianOver(runs: Float64Array[]): Float64Array {
  if (runs.length === 1) return runs[0];
  const out = new Float64Array(runs[0].length);
  for (let i = 0; i < out.length; i++) out[i] = median(runs.map((r) => r[i]));
  return out;
}

/**
 * The probe settings for these targets and this ADC (the readout step): static levels that
 * put the targeted membrane at 30 % and 70 % of the ADC's reliable span, a step level that
 * puts it at 85 % of the span where the rate can also be inverted, and windows of 30 (static)
 * and 6 (step) of the largest targeted tau_m.
 * Each layer's ADC codes stand for values in its own range (INFO analog.ranges).
 */
export function planProbes(targets: CalibrationTargets, analog: AnalogInfo): ProbePlan {
  const a = analog.adc;
  const tauMax = Math.max(...targets.layers.flatMap((l) => [...l.tauM, ...l.tauR]));
  const level = (v: number, gain: number, offset: number): number => Math.round(((v - offset) / gain) * LEVEL_ONE);
  const staticLevels: number[][] = [],
    stepLevel: number[] = [];
  for (const [li, l] of targets.layers.entries()) {
    const lo = adcValue(a, a.reliableLo, layerRange(analog, li)),
      hi = adcValue(a, a.reliableHi, layerRange(analog, li));
    const g = median(l.gain),
      o = median(l.offset);
    staticLevels.push([level(lo + 0.3 * (hi - lo), g, o), level(lo + 0.7 * (hi - lo), g, o)]);
    const [plo, phi] = phiRange(l.phi);
    const ilo = Math.max(lo, plo, o),
      ihi = Math.min(hi, phi);
    stepLevel.push(level(ilo + 0.85 * (ihi - ilo), g, o));
  }
  const steps = (k: number): number => Math.max(16, Math.min(4096, Math.ceil(k * tauMax)));
  return { staticLevels, stepLevel, staticSteps: steps(30), stepSteps: steps(6) };
}

/** Layer l's range (INFO analog.ranges); [0, 1] when the board gives none (ADC values are then network values). */
export function layerRange(analog: AnalogInfo, l: number): [number, number] {
  return analog.ranges[l] ?? [0, 1];
}
