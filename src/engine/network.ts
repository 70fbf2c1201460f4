/**
 * The GLE/LE engine: the discrete-time scheme of docs/dynamics.md, exactly.
 *
 * All layers step simultaneously: every layer reads only the state the previous step
 * left (double-buffered u, v, r, rp, eb), so a signal needs one step per layer to rise
 * and an error one step per layer to sink, as on a clocked device. All buffers are
 * allocated when the batch size is set; a step allocates nothing.
 */
import { applyActivation, type ActivationName } from './activations.js';
import { activationCode, type NativeDynamics } from './dynamics.js';
import { typescriptKernels, type FloatArray, type WeightKernels } from './kernels.js';
import type { Dtype, LayerParameters, LearningSetup, LossName, NetworkSpec, StepMode } from './types.js';

type FloatArrayCtor = Float32ArrayConstructor | Float64ArrayConstructor;

/**
 * Fewest values (neurons x batch, or parameters) for which a step's per-neuron work goes
 * to the native dynamics. Measured (2026-11-30): a 2-30-30-3 network at batch 1 ran at
 * 200 000 steps/s with every layer native and 380 000-420 000 with this threshold (all of
 * its layers in TypeScript); 40-100-100-10 at batch 1 ran at 158 000 all native, 168 000
 * all TypeScript and 185 000 with this threshold. Part of what fast mode computes, so
 * fixed: a different threshold would change bits.
 */
const NATIVE_DYNAMICS_MIN = 64;

/**
 * Optional per-layer extension points, for targets that run this engine with something
 * injected (the substrate target's quantisation, noise, delays and realised
 * nonlinearities). The engine never needs them: a layer without hooks (the default)
 * computes exactly what it would without this interface. Each hook runs inside the
 * step, on this layer's arrays only, and must not allocate.
 */
export interface LayerHooks {
  /** the batch size changed: per-batch buffers must be re-allocated (state starts at 0) */
  resize?(batch: number): void;
  /** the network's state was reset to 0 */
  reset?(): void;
  /**
   * The input this layer sees in this step instead of `bottom` (for example a delay
   * line). Called once per step, before anything reads the input; the returned array
   * must keep its contents until the step ends.
   */
  input?(bottom: FloatArray): FloatArray;
  /** replaces s = W x + b (for example per-synapse delays); disables the fused SGD pass for this layer */
  drive?(weights: FloatArray, bias: FloatArray | null, bottom: FloatArray, s: FloatArray, batch: number): void;
  /** replaces gW = -(1/batch) sum_b pv x^T, to pair with a replaced drive */
  weightGrad?(pv: FloatArray, bottom: FloatArray, gW: FloatArray, batch: number): void;
  /** after uNext and prospU are computed, before the rate: may change both (noise, resolution) */
  membrane?(layer: LayerState, n: number): void;
  /** replaces phi: r[i] = phi(pu[i]), rp[i] = phi'(pu[i]) for i < n */
  activation?(pu: FloatArray, r: FloatArray, rp: FloatArray, n: number): void;
  /** after rNext and rpNext are computed: may change them (noise, readout resolution) */
  rate?(layer: LayerState, n: number): void;
}

function arrayCtor(dtype: Dtype): FloatArrayCtor {
  return dtype === 'float32' ? Float32Array : Float64Array;
}

/** One layer's parameters, state and scratch, all in the network's dtype. */
export class LayerState {
  readonly phi: ActivationName;
  readonly nIn: number;
  readonly nOut: number;
  readonly weights: FloatArray;
  readonly bias: FloatArray | null;
  readonly tauM: FloatArray;
  readonly tauR: FloatArray;
  /** phi as the native dynamics take it (activationCode) */
  readonly phiCode: number;

  // state left by the previous step, and the state this step writes
  u!: FloatArray;
  v!: FloatArray;
  r!: FloatArray;
  rp!: FloatArray;
  eb!: FloatArray;
  uNext!: FloatArray;
  vNext!: FloatArray;
  rNext!: FloatArray;
  rpNext!: FloatArray;
  ebNext!: FloatArray;
  // values computed in the last step (kept for traces and probes)
  drive!: FloatArray;
  prospU!: FloatArray;
  prospV!: FloatArray;
  uDot!: FloatArray;
  error!: FloatArray;
  // gradients of the last step in 'gradients' mode (descent direction is minus these)
  gradWeights: FloatArray;
  gradBias: FloatArray | null;
  gradTauM: FloatArray;
  // optimizer memory (allocated on first use)
  optWeights: FloatArray[] = [];
  optBias: FloatArray[] = [];
  optTauM: FloatArray[] = [];
  /** extension points; null (the default) runs the plain scheme */
  hooks: LayerHooks | null = null;

  constructor(params: LayerParameters, ctor: FloatArrayCtor) {
    this.phi = params.phi;
    this.phiCode = activationCode(params.phi);
    this.nIn = params.inputSize;
    this.nOut = params.outputSize;
    this.weights = ctor.from(params.weights);
    this.bias = params.bias === null ? null : ctor.from(params.bias);
    this.tauM = ctor.from(params.tauM);
    this.tauR = ctor.from(params.tauR);
    this.gradWeights = new ctor(this.nIn * this.nOut);
    this.gradBias = params.bias === null ? null : new ctor(this.nOut);
    this.gradTauM = new ctor(this.nOut);
  }

  allocate(batch: number, ctor: FloatArrayCtor): void {
    const n = batch * this.nOut;
    const m = batch * this.nIn;
    this.u = new ctor(n);
    this.v = new ctor(n);
    this.r = new ctor(n);
    this.rp = new ctor(n);
    this.eb = new ctor(m);
    this.uNext = new ctor(n);
    this.vNext = new ctor(n);
    this.rNext = new ctor(n);
    this.rpNext = new ctor(n);
    this.ebNext = new ctor(m);
    this.drive = new ctor(n);
    this.prospU = new ctor(n);
    this.prospV = new ctor(n);
    this.uDot = new ctor(n);
    this.error = new ctor(n);
    this.hooks?.resize?.(batch);
  }

  resetState(): void {
    for (const a of [
      this.u,
      this.v,
      this.r,
      this.rp,
      this.eb,
      this.uNext,
      this.vNext,
      this.rNext,
      this.rpNext,
      this.ebNext,
      this.drive,
      this.prospU,
      this.prospV,
      this.uDot,
      this.error,
    ])
      a.fill(0);
    this.hooks?.reset?.();
  }

  swap(): void {
    let t = this.u;
    this.u = this.uNext;
    this.uNext = t;
    t = this.v;
    this.v = this.vNext;
    this.vNext = t;
    t = this.r;
    this.r = this.rNext;
    this.rNext = t;
    t = this.rp;
    this.rp = this.rpNext;
    this.rpNext = t;
    t = this.eb;
    this.eb = this.ebNext;
    this.ebNext = t;
  }

  /** Parameters back in float64, for saving. */
  toParameters(): LayerParameters {
    return {
      phi: this.phi,
      inputSize: this.nIn,
      outputSize: this.nOut,
      weights: Float64Array.from(this.weights),
      bias: this.bias === null ? null : Float64Array.from(this.bias),
      tauM: Float64Array.from(this.tauM),
      tauR: Float64Array.from(this.tauR),
    };
  }
}

export interface NetworkOptions {
  batch?: number;
  kernels?: WeightKernels;
  learning?: LearningSetup | null;
  /**
   * Native per-neuron dynamics (see dynamics.ts), or null for the TypeScript loops;
   * when absent, those the kernels carry (kernels.dynamics, set by native.ts in its fast
   * numerics), else null. When set, the error filter, membrane and rate of layers
   * without hooks, the bias and tau_m gradients and the optimizer run natively; results
   * then agree with the TypeScript path to rounding, not bit for bit.
   */
  dynamics?: NativeDynamics | null;
}

export class Network {
  readonly dtype: Dtype;
  readonly dt: number;
  readonly gamma: number;
  beta: number;
  readonly loss: LossName;
  readonly prospectiveErrors: boolean;
  readonly layers: LayerState[];
  readonly kernels: WeightKernels;
  readonly dynamics: NativeDynamics | null;
  learning: LearningSetup | null;
  /** number of optimizer updates applied so far (Adam's t) */
  updateCount = 0;
  private batchSize = 0;
  private readonly ctor: FloatArrayCtor;
  private topError!: FloatArray;

  constructor(spec: NetworkSpec, options: NetworkOptions = {}) {
    this.dtype = spec.dtype;
    this.dt = spec.dt;
    this.gamma = spec.gamma;
    this.beta = spec.beta;
    this.loss = spec.loss;
    this.prospectiveErrors = spec.prospectiveErrors;
    this.ctor = arrayCtor(spec.dtype);
    this.layers = spec.layers.map((p) => new LayerState(p, this.ctor));
    this.kernels = options.kernels ?? typescriptKernels;
    this.dynamics = options.dynamics !== undefined ? options.dynamics : (this.kernels.dynamics ?? null);
    this.learning = options.learning ?? null;
    this.setBatch(options.batch ?? 1);
  }

  get batch(): number {
    return this.batchSize;
  }
  get inputSize(): number {
    return this.layers[0].nIn;
  }
  get outputSize(): number {
    return this.layers[this.layers.length - 1].nOut;
  }
  get top(): LayerState {
    return this.layers[this.layers.length - 1];
  }

  /** Allocates state for a batch size; all state starts at exactly 0. */
  setBatch(batch: number): void {
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch must be a positive integer, got ${batch}`);
    if (batch === this.batchSize) return;
    this.batchSize = batch;
    for (const layer of this.layers) layer.allocate(batch, this.ctor);
    this.topError = new this.ctor(batch * this.outputSize);
  }

  /** All dynamic state back to 0 (parameters untouched). */
  resetState(): void {
    for (const layer of this.layers) layer.resetState();
  }

  /** A typed array of this network's dtype. */
  newArray(length: number): FloatArray {
    return new this.ctor(length);
  }

  /**
   * One time step. x is batch x inputSize; target is batch x outputSize or null.
   * mode 'gradients' leaves the step's gradients in each layer's grad* arrays;
   * mode 'learn' also applies the optimizer (plain SGD fuses the update into the
   * pass over W and leaves gradWeights untouched).
   */
  step(x: FloatArray, target: FloatArray | null, mode: StepMode = 'none'): void {
    const batch = this.batchSize;
    const layers = this.layers;
    const nLayers = layers.length;
    const learning = this.learning;
    if (mode === 'learn' && learning === null) throw new Error('Network.step: mode "learn" needs a learning setup');
    const fused = mode === 'learn' && learning !== null && learning.optimizer === 'sgd' && learning.momentum === 0 && learning.learnWeights;
    if (mode === 'learn') this.updateCount++;

    this.computeTopError(target);

    for (let l = 0; l < nLayers; l++) {
      const layer = layers[l];
      const hooks = layer.hooks;
      const nOut = layer.nOut;
      const below = l === 0 ? x : layers[l - 1].r;
      const bottom = hooks !== null && hooks.input !== undefined ? hooks.input(below) : below;
      const incoming = l === nLayers - 1 ? this.topError : layers[l + 1].eb;

      // error arriving at this layer, scaled by phi' of the previous step, then filtered:
      // low-pass with tau_r, look ahead with tau_m (the swap of the forward path)
      const native = hooks === null ? this.dynamicsFor(batch * nOut) : null;
      if (native !== null) this.nativeFilter(native, layer, incoming, batch);
      else this.filterError(layer, incoming, batch);

      // drive with this step's (pre-update) weights; errors sent down with the same weights
      const ebOut = l > 0 ? layer.ebNext : null;
      const ownDrive = hooks !== null && hooks.drive !== undefined;
      const fusedHere = fused && !ownDrive;
      if (fusedHere) {
        const lr = learning.lr * (learning.lrFactors[l] ?? 1);
        this.kernels.fusedSgd(layer.weights, layer.bias, bottom, layer.prospV, layer.drive, ebOut, batch, nOut, layer.nIn, lr / batch);
      } else {
        if (ownDrive) hooks.drive!(layer.weights, layer.bias, bottom, layer.drive, batch);
        else this.kernels.drive(layer.weights, layer.bias, bottom, layer.drive, batch, nOut, layer.nIn);
        if (ebOut !== null) this.kernels.errorDown(layer.weights, layer.prospV, ebOut, batch, nOut, layer.nIn);
      }

      // membrane: low-pass with tau_m, look ahead with tau_r; then the rate
      if (native !== null) this.nativeMembrane(native, layer, batch);
      else this.membraneAndRate(layer, hooks, batch);

      if (mode !== 'none') {
        this.computeLocalGradients(layer, bottom, !fusedHere);
        if (mode === 'learn') this.applyUpdates(layer, l, fusedHere);
      }
    }

    for (let l = 0; l < nLayers; l++) layers[l].swap();
  }

  /**
   * The native dynamics for work on n values, or null for the TypeScript loops: under
   * NATIVE_DYNAMICS_MIN values a Node-API call costs more than the loop it replaces.
   */
  private dynamicsFor(n: number): NativeDynamics | null {
    return n >= NATIVE_DYNAMICS_MIN ? this.dynamics : null;
  }

  /** e = incoming * rp, then the error filter: vNext and prospV (docs/dynamics.md, steps 2 and 3). */
  private filterError(layer: LayerState, incoming: FloatArray, batch: number): void {
    const nOut = layer.nOut;
    const n = batch * nOut;
    const e = layer.error;
    const rp = layer.rp;
    for (let k = 0; k < n; k++) e[k] = incoming[k] * rp[k];

    const v = layer.v,
      vNext = layer.vNext,
      pv = layer.prospV;
    const tauM = layer.tauM,
      tauR = layer.tauR;
    if (this.prospectiveErrors) {
      const dt = this.dt;
      for (let b = 0, k = 0; b < batch; b++) {
        for (let j = 0; j < nOut; j++, k++) {
          const vDot = (e[k] - v[k]) / tauR[j];
          vNext[k] = v[k] + dt * vDot;
          pv[k] = v[k] + tauM[j] * vDot;
        }
      }
    } else {
      for (let k = 0; k < n; k++) {
        vNext[k] = e[k];
        pv[k] = e[k];
      }
    }
  }

  /** The membrane and the rate (docs/dynamics.md, steps 5 and 6), in TypeScript, with the layer's hooks. */
  private membraneAndRate(layer: LayerState, hooks: LayerHooks | null, batch: number): void {
    const nOut = layer.nOut;
    const n = batch * nOut;
    const s = layer.drive,
      pv = layer.prospV,
      u = layer.u,
      uNext = layer.uNext,
      pu = layer.prospU,
      uDot = layer.uDot;
    const tauM = layer.tauM,
      tauR = layer.tauR;
    const gamma = this.gamma,
      dt = this.dt;
    for (let b = 0, k = 0; b < batch; b++) {
      for (let j = 0; j < nOut; j++, k++) {
        const du = (s[k] + gamma * pv[k] - u[k]) / tauM[j];
        uDot[k] = du;
        uNext[k] = u[k] + dt * du;
        pu[k] = u[k] + tauR[j] * du;
      }
    }

    if (hooks === null) {
      applyActivation(layer.phi, pu, layer.rNext, layer.rpNext, n);
    } else {
      hooks.membrane?.(layer, n);
      if (hooks.activation !== undefined) hooks.activation(pu, layer.rNext, layer.rpNext, n);
      else applyActivation(layer.phi, pu, layer.rNext, layer.rpNext, n);
      hooks.rate?.(layer, n);
    }
  }

  /** Steps 2 and 3 natively, for a layer without hooks. */
  private nativeFilter(native: NativeDynamics, layer: LayerState, incoming: FloatArray, batch: number): void {
    const L = layer;
    native.errorFilter(incoming, L.rp, L.v, L.tauM, L.tauR, L.error, L.vNext, L.prospV, batch, L.nOut, this.dt, this.prospectiveErrors);
  }

  /** Steps 5 and 6 natively, for a layer without hooks. */
  private nativeMembrane(native: NativeDynamics, layer: LayerState, batch: number): void {
    const L = layer;
    native.membrane(L.drive, L.prospV, L.u, L.tauM, L.tauR, L.uDot, L.uNext, L.prospU, L.rNext, L.rpNext, batch, L.nOut, this.dt, this.gamma, L.phiCode);
  }

  /**
   * Applies the optimizer to the gradients that the grad* arrays hold now, as a 'learn'
   * step would have after its 'gradients' pass (one more optimizer update). For
   * training in the loop: another network (a chip) computes the gradients, they are
   * copied here, and this network keeps the parameters and the optimizer's memory.
   */
  applyGradients(): void {
    if (this.learning === null) throw new Error('Network.applyGradients needs a learning setup');
    this.updateCount++;
    for (let l = 0; l < this.layers.length; l++) this.applyUpdates(this.layers[l], l, false);
  }

  /** beta * (y - r_top) for MSE, beta * (y - softmax(r_top)) for CE, from the previous step's r. */
  private computeTopError(target: FloatArray | null): void {
    const out = this.topError;
    if (target === null) {
      out.fill(0);
      return;
    }
    const r = this.top.r;
    const nOut = this.outputSize;
    const beta = this.beta;
    if (this.loss === 'mse') {
      for (let k = 0; k < out.length; k++) out[k] = beta * (target[k] - r[k]);
      return;
    }
    for (let b = 0; b < this.batchSize; b++) {
      const off = b * nOut;
      let max = -Infinity;
      for (let j = 0; j < nOut; j++) if (r[off + j] > max) max = r[off + j];
      let sum = 0;
      for (let j = 0; j < nOut; j++) sum += Math.exp(r[off + j] - max);
      for (let j = 0; j < nOut; j++) out[off + j] = beta * (target[off + j] - Math.exp(r[off + j] - max) / sum);
    }
  }

  private computeLocalGradients(layer: LayerState, bottom: FloatArray, withWeights: boolean): void {
    const batch = this.batchSize;
    const nOut = layer.nOut;
    const pv = layer.prospV;
    if (withWeights) {
      const hooks = layer.hooks;
      if (hooks !== null && hooks.weightGrad !== undefined) hooks.weightGrad(pv, bottom, layer.gradWeights, batch);
      else this.kernels.weightGrad(pv, bottom, layer.gradWeights, batch, nOut, layer.nIn);
    }
    const gb = layer.gradBias;
    const gTau = layer.gradTauM;
    const uDot = layer.uDot;
    const native = this.dynamicsFor(batch * nOut);
    if (native !== null) {
      native.localGradients(pv, uDot, gb, gTau, batch, nOut);
      return;
    }
    for (let j = 0; j < nOut; j++) {
      let sumPv = 0;
      let sumTau = 0;
      for (let b = 0; b < batch; b++) {
        const k = b * nOut + j;
        sumPv += pv[k];
        sumTau += pv[k] * uDot[k];
      }
      if (gb !== null) gb[j] = -(sumPv / batch);
      gTau[j] = sumTau / batch;
    }
  }

  private applyUpdates(layer: LayerState, index: number, weightsDone: boolean): void {
    const learning = this.learning!;
    const lr = learning.lr * (learning.lrFactors[index] ?? 1);
    if (learning.learnWeights && !weightsDone) {
      this.optimize(layer.weights, layer.gradWeights, layer.optWeights, lr);
    }
    if (learning.learnBiases && layer.bias !== null && layer.gradBias !== null) {
      this.optimize(layer.bias, layer.gradBias, layer.optBias, lr);
    }
    if (learning.learnTauM) {
      this.optimize(layer.tauM, layer.gradTauM, layer.optTauM, lr * (learning.tauLrFactor ?? 1));
    }
    if (learning.tauMin > 0) {
      // as the reference setup does: both time constants are kept above the floor after every update
      const dyn = this.dynamicsFor(layer.tauM.length);
      if (dyn !== null) {
        dyn.clampBelow(layer.tauM, layer.tauM.length, learning.tauMin);
        dyn.clampBelow(layer.tauR, layer.tauR.length, learning.tauMin);
      } else {
        clampBelow(layer.tauM, learning.tauMin);
        clampBelow(layer.tauR, learning.tauMin);
      }
    }
  }

  /** p <- p - lr * step(g), with torch's SGD(momentum) and Adam semantics. */
  private optimize(param: FloatArray, grad: FloatArray, memory: FloatArray[], lr: number): void {
    const learning = this.learning!;
    const n = param.length;
    const dyn = this.dynamicsFor(n);
    if (learning.optimizer === 'sgd') {
      if (learning.momentum === 0) {
        if (dyn !== null) dyn.sgd(param, grad, n, lr);
        else for (let i = 0; i < n; i++) param[i] -= lr * grad[i];
        return;
      }
      const first = memory.length === 0;
      if (first) memory.push(new this.ctor(n));
      const buf = memory[0];
      const mu = learning.momentum;
      if (dyn !== null) {
        dyn.sgdMomentum(param, grad, buf, n, lr, mu, first);
        return;
      }
      for (let i = 0; i < n; i++) {
        buf[i] = first ? grad[i] : mu * buf[i] + grad[i];
        param[i] -= lr * buf[i];
      }
      return;
    }
    if (memory.length === 0) memory.push(new this.ctor(n), new this.ctor(n));
    const m = memory[0],
      v = memory[1];
    const b1 = learning.adamBeta1,
      b2 = learning.adamBeta2,
      eps = learning.adamEpsilon;
    const t = this.updateCount;
    const bias1 = 1 - Math.pow(b1, t);
    const bias2Sqrt = Math.sqrt(1 - Math.pow(b2, t));
    const stepSize = lr / bias1;
    if (dyn !== null) {
      dyn.adam(param, grad, m, v, n, b1, b2, eps, stepSize, bias2Sqrt);
      return;
    }
    for (let i = 0; i < n; i++) {
      const g = grad[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      param[i] -= stepSize * (m[i] / (Math.sqrt(v[i]) / bias2Sqrt + eps));
    }
  }

  /** Parameters in float64, for saving a model. */
  parameters(): LayerParameters[] {
    return this.layers.map((l) => l.toParameters());
  }
}

function clampBelow(a: FloatArray, min: number): void {
  for (let i = 0; i < a.length; i++) if (a[i] < min) a[i] = min;
}
