/**
 * The substrate target: the float engine running on a realised chip.
 *
 * A Substrate holds the host's copy of the parameters (what a user trained and would
 * write to the chip) and builds chip networks from it: engine Networks whose parameters
 * are the chip's realisation of the host's (time constants represented and mismatched,
 * weights quantised and gain-mismatched) and whose layers carry the chip's per-step
 * imperfections as engine hooks (delays, noise, state and readout resolution, the
 * realised nonlinearity). Nothing is injected where the chip has no imperfection, so
 * on the `ideal` profile a chip network computes bit for bit what the float target does.
 *
 * Model time and substrate time: the model's time constants are in units of its own dt.
 * A substrate that steps (timing.dt given) runs one of its steps per model step, so a
 * model time unit is timing.dt / model dt seconds; a continuous substrate with a nominal
 * tau_m maps the model's median tau_m onto it; otherwise the units are the same. The
 * representation (10-bit cell, 12-bit decay, bit shift...) is applied in substrate
 * seconds and the result mapped back.
 */
import type { FloatArray, WeightKernels } from '../engine/kernels.js';
import { typescriptKernels } from '../engine/kernels.js';
import { Network, type LayerState } from '../engine/network.js';
import type { LayerParameters, LearningSetup, NetworkSpec } from '../engine/types.js';
import { architectureOf, checkCapacitySettings, representTau, type Chip, type ResolvedTauRepresentation, type ResolvedTimeConstant } from '../hw/index.js';
import { GlekitError } from '../util/errors.js';
import { median } from '../util/stats.js';
import { Rng } from '../util/rng.js';
import { buildHooks, type LayerImperfections } from './hooks.js';
import { realisedActivation, rateRange } from './nonlinearity.js';
import { quantiseMatrix, readoutGrid, stateGrid } from './quantise.js';

/** Stream label of the temporal noise, apart from the chip's fixed-pattern streams (kinds 1..6 x 65536). */
const NOISE_STREAM = 100 * 65536;

/** A network that does not fit the profile; the message names every limit it breaks. */
export class CapacityError extends GlekitError {
  constructor(
    readonly profileName: string,
    readonly violations: { limit: string; message: string }[],
  ) {
    super(`the network does not fit ${profileName}: ${violations.map((v) => v.message).join('; ')}`);
    this.name = 'CapacityError';
  }
}

export interface SubstrateOptions {
  kernels?: WeightKernels;
  /** seed of the temporal noise; default: the chip's seed (so a chip is one seed, noise included) */
  noiseSeed?: number;
  /**
   * Keep the host copy apart from the chip even where the chip passes parameters through
   * unchanged (tests use it to check that training in the loop reduces to plain training).
   */
  forceHostCopy?: boolean;
}

/** What the chip made of the host's parameters, for records and tests. */
export interface RealisedLayer {
  tauM: Float64Array;
  tauR: Float64Array;
  weights: Float64Array;
  bias: Float64Array | null;
  /** per-matrix weight scale (value of one integer code), null for float weights */
  weightScale: number | null;
  biasScale: number | null;
}

function isIdentity(rep: ResolvedTauRepresentation): boolean {
  return rep.kind === 'continuous' && rep.min === 0 && rep.max === Infinity;
}

function allOnes(a: Float64Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== 1) return false;
  return true;
}

export class Substrate {
  readonly spec: NetworkSpec;
  readonly chip: Chip;
  readonly kernels: WeightKernels;
  /** substrate seconds per model time unit */
  readonly timeScale: number;
  /** the chip realises every parameter exactly as the host holds it */
  readonly transparent: boolean;
  /** time constants of the latest realisation that came out below dt and were raised to dt so that forward Euler stays stable */
  tauRaisedToDt = 0;
  private host: Network;
  private hostVersion = 0;
  private readonly noise: Rng;
  private readonly imperfections: LayerImperfections[];
  private readonly substrateDt: number;
  private readonly cached = new Map<number, { net: Network; version: number }>();
  private readonly scales: { weights: number | null; bias: number | null }[];

  constructor(spec: NetworkSpec, chip: Chip, options: SubstrateOptions = {}) {
    this.spec = spec;
    this.chip = chip;
    this.kernels = options.kernels ?? typescriptKernels;
    this.checkFits();
    this.noise = Rng.derive(options.noiseSeed ?? chip.seed, NOISE_STREAM);
    this.host = new Network(spec, { batch: 1, kernels: this.kernels });
    this.timeScale =
      chip.timing.dt !== null
        ? chip.timing.dt / spec.dt
        : chip.tauM.nominal !== null
          ? chip.tauM.nominal / median(spec.layers.flatMap((l) => Array.from(l.tauM)))
          : 1;
    this.substrateDt = chip.timing.dt ?? spec.dt * this.timeScale;
    this.scales = spec.layers.map(() => ({ weights: null, bias: null }));
    this.transparent =
      !options.forceHostCopy &&
      chip.weights.format === 'float' &&
      [chip.tauM, chip.tauR].every((t) => isIdentity(t.representation) && t.sharing === 'neuron') &&
      chip.layers.every((l) => allOnes(l.tauMFactor) && allOnes(l.tauRFactor) && allOnes(l.weightGain));
    this.imperfections = spec.layers.map((l, i) => this.layerImperfections(l, i));
  }

  private checkFits(): void {
    const arch = architectureOf(this.spec.layers);
    const chipArch = this.chip.architecture;
    if (chipArch.inputSize !== arch.inputSize || chipArch.layerSizes.join(',') !== arch.layerSizes.join(',')) {
      throw new GlekitError(
        `chip ${this.chip.profileName} seed ${this.chip.seed} was realised for ${[chipArch.inputSize, ...chipArch.layerSizes].join('-')}, ` +
          `the network is ${[arch.inputSize, ...arch.layerSizes].join('-')}`,
      );
    }
    const violations: { limit: string; message: string }[] = checkCapacitySettings(this.chip, this.chip.profileName, arch);
    const d = this.chip.delays;
    if (d.programmableMax !== null) {
      this.chip.layers.forEach((l) => {
        const max = typeof l.delaySteps === 'number' ? l.delaySteps : l.delaySteps.reduce((a, b) => Math.max(a, b), 0);
        if (max > (d.programmableMax as number)) {
          violations.push({
            limit: 'delays.programmable.max',
            message: `layer ${l.index}: delay ${max} steps exceeds delays.programmable.max ${d.programmableMax} of ${this.chip.profileName}`,
          });
        }
      });
    }
    if (violations.length > 0) throw new CapacityError(this.chip.profileName, violations);
  }

  private layerImperfections(p: LayerParameters, index: number): LayerImperfections {
    const c = this.chip;
    const [lo, hi] = rateRange(p.phi, c.nonlinearity);
    return {
      delay: c.layers[index].delaySteps,
      driveGrid: stateGrid(c.state.accumulator ?? c.state.synaptic),
      // noise is a fraction of full scale; the full scale of the [0, 1] rates (and of the
      // membranes that drive them) is one model unit
      membraneNoise: c.noise.membraneStd,
      membraneGrid: stateGrid(c.state.membrane),
      activation: realisedActivation(p.phi, c.nonlinearity),
      rateNoise: c.noise.rateStd,
      rateGrid: stateGrid(c.state.rate),
      readoutGrid: c.state.readout === null ? null : readoutGrid(c.state.readout, lo, hi),
    };
  }

  /** A chip network for this batch size: fresh state, realised parameters, the chip's hooks. */
  createNetwork(batch: number, learning: LearningSetup | null = null): Network {
    const net = new Network(this.spec, { batch, kernels: this.kernels, learning });
    net.layers.forEach((layer, l) => {
      layer.hooks = buildHooks(net, layer, this.imperfections[l], this.kernels, this.noise);
      layer.hooks?.resize?.(batch);
    });
    this.realiseInto(net);
    return net;
  }

  /** The cached chip network of a batch size, brought up to date with the host's parameters, state reset. */
  network(batch: number): Network {
    let entry = this.cached.get(batch);
    if (entry === undefined) {
      entry = { net: this.createNetwork(batch), version: this.hostVersion };
      this.cached.set(batch, entry);
    } else if (entry.version !== this.hostVersion) {
      this.realiseInto(entry.net);
      entry.version = this.hostVersion;
    }
    entry.net.resetState();
    return entry.net;
  }

  /** The host's parameters (float64 copies). */
  parameters(): LayerParameters[] {
    return this.host.parameters();
  }

  /** The host's live parameter arrays (for training in the loop). */
  get hostNetwork(): Network {
    return this.host;
  }

  /** Replaces the host network (e.g. one that carries an optimizer); marks chip networks stale. */
  setHostNetwork(net: Network): void {
    this.host = net;
    this.hostChanged();
  }

  /** Copies parameters into the host copy (in place) and marks chip networks stale. */
  setParameters(from: readonly Pick<LayerState, 'weights' | 'bias' | 'tauM' | 'tauR'>[]): void {
    this.host.layers.forEach((h, l) => {
      const s = from[l];
      h.weights.set(s.weights);
      if (h.bias !== null && s.bias !== null) h.bias.set(s.bias);
      h.tauM.set(s.tauM);
      h.tauR.set(s.tauR);
    });
    this.hostChanged();
  }

  /** Call after changing the host parameters in place. */
  hostChanged(): void {
    this.hostVersion++;
  }

  /** Writes the chip's realisation of the host parameters into a chip network. */
  realiseInto(net: Network): void {
    const host = this.host.layers;
    this.tauRaisedToDt = 0;
    net.layers.forEach((layer, l) => {
      const h = host[l];
      if (this.transparent) {
        if (layer.weights !== h.weights) {
          layer.weights.set(h.weights);
          if (layer.bias !== null && h.bias !== null) layer.bias.set(h.bias);
          layer.tauM.set(h.tauM);
          layer.tauR.set(h.tauR);
        }
        return;
      }
      this.realiseLayer(l, h, layer);
    });
  }

  private realiseLayer(l: number, h: LayerState, out: LayerState): void {
    const c = this.chip.layers[l];
    const w = this.chip.weights;
    if (w.format === 'float') {
      const g = c.weightGain;
      for (let k = 0; k < out.weights.length; k++) out.weights[k] = h.weights[k] * g[k];
      if (out.bias !== null && h.bias !== null) out.bias.set(h.bias);
    } else {
      // biases are stored like weights (same format, their own scale) without gain mismatch
      this.scales[l].weights = quantiseMatrix(w, h.weights, out.weights, c.weightGain);
      if (out.bias !== null && h.bias !== null) this.scales[l].bias = quantiseMatrix(w, h.bias, out.bias, null);
    }
    this.realiseTaus(this.chip.tauM, h.tauM, c.tauMFactor, out.tauM);
    this.realiseTaus(this.chip.tauR, h.tauR, c.tauRFactor, out.tauR);
  }

  private realiseTaus(tc: ResolvedTimeConstant, host: FloatArray, factor: Float64Array, out: FloatArray): void {
    const n = host.length;
    const rep = tc.representation;
    const identity = isIdentity(rep);
    const scale = this.timeScale;
    const dt = this.spec.dt;
    const coreSize = tc.sharingCoreSize;
    for (let j = 0; j < n; j++) {
      let setting = host[j];
      if (tc.sharing === 'core' && coreSize !== null) {
        // one setting per core (each layer starts on a fresh core): the mean of what its neurons ask for
        const first = j - (j % coreSize);
        const last = Math.min(n, first + coreSize);
        let sum = 0;
        for (let i = first; i < last; i++) sum += host[i];
        setting = sum / (last - first);
      }
      const represented = identity ? setting : representTau(rep, setting * scale, this.substrateDt) / scale;
      let realised = represented * factor[j];
      if (realised < dt && realised !== host[j]) {
        realised = dt;
        this.tauRaisedToDt++;
      }
      out[j] = realised;
    }
  }

  /** The chip's realisation of the current host parameters, as float64 copies. */
  realised(): RealisedLayer[] {
    const net = this.createNetwork(1);
    return net.layers.map((l, i) => ({
      tauM: Float64Array.from(l.tauM),
      tauR: Float64Array.from(l.tauR),
      weights: Float64Array.from(l.weights),
      bias: l.bias === null ? null : Float64Array.from(l.bias),
      weightScale: this.scales[i].weights,
      biasScale: this.scales[i].bias,
    }));
  }
}
