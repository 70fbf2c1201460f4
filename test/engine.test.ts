import { describe, expect, it } from 'vitest';
import { Network } from '../src/engine/network.js';
import { phiScalar } from '../src/engine/activations.js';
import { DEFAULT_LEARNING, type ActivationName, type LayerParameters, type NetworkSpec } from '../src/engine/index.js';
import { Rng } from '../src/util/rng.js';

function oneNeuron(prospectiveErrors: boolean, gamma: number): NetworkSpec {
  return {
    dtype: 'float64',
    dt: 0.1,
    gamma,
    beta: 1,
    loss: 'mse',
    prospectiveErrors,
    layers: [
      {
        phi: 'linear',
        inputSize: 1,
        outputSize: 1,
        weights: Float64Array.of(0.5),
        bias: Float64Array.of(0.1),
        tauM: Float64Array.of(2),
        tauR: Float64Array.of(0.5),
      },
    ],
  };
}

describe('one neuron, derived by hand', () => {
  it('relaxes with tau_m and looks ahead with tau_r (no error)', () => {
    const net = new Network(oneNeuron(true, 0));
    const x = Float64Array.of(1);
    const s = 0.6,
      tm = 2,
      tr = 0.5,
      dt = 0.1;
    let uPrev = 0;
    for (let k = 1; k <= 50; k++) {
      net.step(x, null);
      const u = s * (1 - Math.pow(1 - dt / tm, k));
      expect(net.layers[0].u[0]).toBeCloseTo(u, 13);
      expect(net.layers[0].prospU[0]).toBeCloseTo(uPrev + (tr * (s - uPrev)) / tm, 13);
      uPrev = u;
    }
  });

  it('takes the first three steps with a target exactly as computed on paper', () => {
    const net = new Network(oneNeuron(true, 1), { learning: { ...DEFAULT_LEARNING, learnTauM: true } });
    const x = Float64Array.of(1),
      y = Float64Array.of(1);
    const L = net.layers[0];
    net.step(x, y, 'gradients');
    // rp starts at 0, so no error reaches the neuron in the first step
    expect([L.u[0], L.v[0], L.prospV[0], L.prospU[0], L.r[0]]).toEqual([0.03, 0, 0, 0.15, 0.15].map((v) => expect.closeTo(v, 14)));
    net.step(x, y, 'gradients');
    expect(L.v[0]).toBeCloseTo(0.17, 14);
    expect(L.prospV[0]).toBeCloseTo(3.4, 13);
    expect(L.u[0]).toBeCloseTo(0.2285, 14);
    expect(L.prospU[0]).toBeCloseTo(1.0225, 14);
    expect(L.gradWeights[0]).toBeCloseTo(-3.4, 13);
    expect(L.gradBias![0]).toBeCloseTo(-3.4, 13);
    expect(L.gradTauM[0]).toBeCloseTo(3.4 * 1.985, 12);
    net.step(x, y, 'gradients');
    expect(L.v[0]).toBeCloseTo(0.1315, 14);
    expect(L.prospV[0]).toBeCloseTo(-0.6, 13);
    expect(L.u[0]).toBeCloseTo(0.217075, 14);
    expect(L.prospU[0]).toBeCloseTo(0.171375, 14);
  });

  it('moves tau_m by tauLrFactor x lr x its gradient under SGD, and the weights by lr alone', () => {
    const updates = (tauLrFactor: number | undefined): { dTau: number; dW: number; gTau: number; gW: number } => {
      const net = new Network(oneNeuron(true, 1), { learning: { ...DEFAULT_LEARNING, lr: 0.01, learnTauM: true, tauLrFactor } });
      const x = Float64Array.of(1),
        y = Float64Array.of(1);
      const L = net.layers[0];
      net.step(x, y, 'learn');
      const tau0 = L.tauM[0],
        w0 = L.weights[0];
      net.step(x, y, 'learn');
      return { dTau: L.tauM[0] - tau0, dW: L.weights[0] - w0, gTau: L.gradTauM[0], gW: L.gradWeights[0] };
    };
    const plain = updates(undefined);
    const fast = updates(250);
    expect(plain.gTau).not.toBe(0);
    expect(plain.dTau).toBeCloseTo(-0.01 * plain.gTau, 14);
    expect(fast.gTau).toBe(plain.gTau); // the first learning step saw the same state
    expect(fast.dTau).toBeCloseTo(-0.01 * 250 * plain.gTau, 12);
    expect(fast.dW).toBe(plain.dW);
  });

  it('without prospective errors passes the instantaneous error through', () => {
    const net = new Network(oneNeuron(false, 1));
    const x = Float64Array.of(1),
      y = Float64Array.of(1);
    net.step(x, y);
    net.step(x, y);
    expect(net.layers[0].prospV[0]).toBeCloseTo(0.85, 14);
    expect(net.layers[0].v[0]).toBeCloseTo(0.85, 14);
  });
});

/** Static forward pass r = phi(W r + b), layer by layer: what an LE network settles to. */
function staticForward(layers: LayerParameters[], x: Float64Array): Float64Array {
  let r = x;
  for (const l of layers) {
    const out = new Float64Array(l.outputSize);
    for (let o = 0; o < l.outputSize; o++) {
      let s = l.bias ? l.bias[o] : 0;
      for (let i = 0; i < l.inputSize; i++) s += l.weights[o * l.inputSize + i] * r[i];
      out[o] = phiScalar(l.phi, s);
    }
    r = out;
  }
  return r;
}

describe('LE limit: settled local gradients equal the gradients of (beta/2)||y - r||^2', () => {
  for (const prospectiveErrors of [false, true]) {
    it(`prospective errors ${prospectiveErrors ? 'on' : 'off'}`, () => {
      const rng = new Rng(7);
      const sizes = [3, 6, 5, 2];
      const phis: ActivationName[] = ['tanh', 'softplus', 'sigmoid'];
      const layers: LayerParameters[] = sizes.slice(1).map((nOut, l) => {
        const nIn = sizes[l];
        const tau = Float64Array.from({ length: nOut }, () => rng.uniformRange(0.5, 2));
        return {
          phi: phis[l],
          inputSize: nIn,
          outputSize: nOut,
          weights: Float64Array.from({ length: nIn * nOut }, () => rng.gaussian(0, 0.8)),
          bias: Float64Array.from({ length: nOut }, () => rng.gaussian(0, 0.3)),
          tauM: tau,
          tauR: Float64Array.from(tau),
        };
      });
      const beta = 0.7;
      const spec: NetworkSpec = { dtype: 'float64', dt: 0.1, gamma: 0, beta, loss: 'mse', prospectiveErrors, layers };
      const net = new Network(spec);
      const x = Float64Array.of(0.3, -0.8, 0.5);
      const y = Float64Array.of(0.2, 0.9);
      for (let k = 0; k < 600; k++) net.step(x, y);
      net.step(x, y, 'gradients');

      const loss = (ls: LayerParameters[]): number => {
        const r = staticForward(ls, x);
        let sum = 0;
        for (let j = 0; j < r.length; j++) sum += (y[j] - r[j]) ** 2;
        return (beta / 2) * sum;
      };
      const eps = 1e-6;
      let worst = 0;
      let checked = 0;
      layers.forEach((layer, l) => {
        const probe = (arr: Float64Array, i: number): number => {
          const keep = arr[i];
          arr[i] = keep + eps;
          const plus = loss(layers);
          arr[i] = keep - eps;
          const minus = loss(layers);
          arr[i] = keep;
          return (plus - minus) / (2 * eps);
        };
        for (let i = 0; i < layer.weights.length; i++) {
          worst = Math.max(worst, Math.abs(probe(layer.weights, i) - net.layers[l].gradWeights[i]));
          checked++;
        }
        for (let j = 0; j < layer.outputSize; j++) {
          worst = Math.max(worst, Math.abs(probe(layer.bias!, j) - net.layers[l].gradBias![j]));
          checked++;
        }
      });
      expect(checked).toBe(3 * 6 + 6 + 6 * 5 + 5 + 5 * 2 + 2);
      expect(worst).toBeLessThan(1e-6);
    });
  }
});

describe('engine mechanics', () => {
  it('a signal needs one step per layer to reach the top', () => {
    const layers: LayerParameters[] = [0, 1, 2].map(() => ({
      phi: 'linear',
      inputSize: 1,
      outputSize: 1,
      weights: Float64Array.of(1),
      bias: null,
      tauM: Float64Array.of(1),
      tauR: Float64Array.of(1),
    }));
    const net = new Network({ dtype: 'float64', dt: 0.1, gamma: 0, beta: 0, loss: 'mse', prospectiveErrors: false, layers });
    const x = Float64Array.of(1);
    net.step(x, null);
    expect([net.layers[0].r[0], net.layers[1].r[0], net.layers[2].r[0]]).toEqual([1, 0, 0]);
    net.step(x, null);
    expect([net.layers[1].r[0], net.layers[2].r[0]]).toEqual([1, 0]);
    net.step(x, null);
    expect(net.layers[2].r[0]).toBe(1);
  });

  it('the fused SGD pass equals gradients followed by p -= lr g', () => {
    const rng = new Rng(3);
    const mk = (): NetworkSpec => {
      const r = new Rng(11);
      const layers: LayerParameters[] = [
        [4, 7],
        [7, 3],
      ].map(([nIn, nOut], l) => ({
        phi: l === 0 ? 'tanh' : 'linear',
        inputSize: nIn,
        outputSize: nOut,
        weights: Float64Array.from({ length: nIn * nOut }, () => r.gaussian(0, 0.5)),
        bias: Float64Array.from({ length: nOut }, () => r.gaussian(0, 0.1)),
        tauM: Float64Array.from({ length: nOut }, () => r.uniformRange(0.2, 1)),
        tauR: Float64Array.from({ length: nOut }, () => r.uniformRange(0.1, 1)),
      }));
      return { dtype: 'float64', dt: 0.05, gamma: 0.3, beta: 1, loss: 'ce', prospectiveErrors: true, layers };
    };
    const learning = { ...DEFAULT_LEARNING, lr: 0.1, lrFactors: [1, 0.5] };
    const fused = new Network(mk(), { batch: 3, learning });
    const reference = new Network(mk(), { batch: 3, learning });
    const x = new Float64Array(12),
      y = new Float64Array(9);
    for (let k = 0; k < 30; k++) {
      for (let i = 0; i < 12; i++) x[i] = rng.normal();
      y.fill(0);
      for (let b = 0; b < 3; b++) y[b * 3 + rng.int(3)] = 1;
      fused.step(x, y, 'learn');
      reference.step(x, y, 'gradients');
      reference.layers.forEach((L, l) => {
        const lr = 0.1 * [1, 0.5][l];
        for (let i = 0; i < L.weights.length; i++) L.weights[i] -= lr * L.gradWeights[i];
        for (let j = 0; j < L.nOut; j++) L.bias![j] -= lr * L.gradBias![j];
      });
    }
    fused.layers.forEach((L, l) => {
      for (let i = 0; i < L.weights.length; i++) expect(L.weights[i]).toBeCloseTo(reference.layers[l].weights[i], 12);
    });
  });

  it('float32 tracks float64 closely', () => {
    const spec = (dtype: 'float32' | 'float64'): NetworkSpec => ({ ...oneNeuron(true, 0.5), dtype });
    const a = new Network(spec('float32')),
      b = new Network(spec('float64'));
    for (let k = 0; k < 100; k++) {
      a.step(Float32Array.of(1), Float32Array.of(0.5));
      b.step(Float64Array.of(1), Float64Array.of(0.5));
    }
    expect(a.layers[0].u[0]).toBeCloseTo(b.layers[0].u[0], 5);
  });

  it('same seed and same input give the same bits', async () => {
    const { initLayers } = await import('../src/train/init.js');
    const a = initLayers(4, [{ size: 5, phi: 'tanh', tauM: 1, tauR: 1 }], { weightStd: 1, biasStd: 0.1 }, 42);
    const b = initLayers(4, [{ size: 5, phi: 'tanh', tauM: 1, tauR: 1 }], { weightStd: 1, biasStd: 0.1 }, 42);
    expect(Buffer.from(a[0].weights.buffer).equals(Buffer.from(b[0].weights.buffer))).toBe(true);
  });
});
