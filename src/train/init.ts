import type { ActivationName } from '../engine/activations.js';
import type { LayerParameters } from '../engine/types.js';
import { Rng } from '../util/rng.js';

export interface LayerArchitecture {
  size: number;
  phi: ActivationName;
  /** one value for the whole layer, or one per neuron */
  tauM: number | number[];
  tauR: number | number[];
  bias?: boolean;
}

export interface InitOptions {
  /** weights and biases are drawn from N(0, std) */
  weightStd: number;
  biasStd: number;
  /** scale the weights' std by 1/sqrt(fan-in) instead of using it as is */
  scaleByFanIn?: boolean;
  /** scale the biases' std by 1/sqrt(fan-in) too (torch.nn.Linear's default does) */
  scaleBiasByFanIn?: boolean;
  /**
   * 'normal' (default) or 'uniform'. Uniform draws from U(-a, a) with a = sqrt(3) * std,
   * so the std means the same for both; torch.nn.Linear's default init is uniform with
   * std 1/sqrt(3 fan-in), i.e. a = 1/sqrt(fan-in), for weights and biases.
   */
  distribution?: 'normal' | 'uniform';
}

/** Fresh parameters, seeded: the same (architecture, options, seed) gives the same bits. */
export function initLayers(inputSize: number, layers: LayerArchitecture[], init: InitOptions, seed: number): LayerParameters[] {
  const rng = new Rng(seed);
  const uniform = init.distribution === 'uniform';
  // both laws consume the stream in the same order: all weights of a layer, then its biases
  const draw = uniform ? (std: number) => std * Math.sqrt(3) * (2 * rng.uniform() - 1) : (std: number) => rng.gaussian(0, std);
  let nIn = inputSize;
  return layers.map((arch) => {
    const nOut = arch.size;
    const fanIn = Math.sqrt(nIn);
    const std = init.scaleByFanIn ? init.weightStd / fanIn : init.weightStd;
    const weights = new Float64Array(nOut * nIn);
    for (let i = 0; i < weights.length; i++) weights[i] = draw(std);
    let bias: Float64Array | null = null;
    if (arch.bias !== false) {
      const biasStd = init.scaleBiasByFanIn ? init.biasStd / fanIn : init.biasStd;
      bias = new Float64Array(nOut);
      for (let j = 0; j < nOut; j++) bias[j] = draw(biasStd);
    }
    const layer: LayerParameters = {
      phi: arch.phi,
      inputSize: nIn,
      outputSize: nOut,
      weights,
      bias,
      tauM: expand(arch.tauM, nOut),
      tauR: expand(arch.tauR, nOut),
    };
    nIn = nOut;
    return layer;
  });
}

function expand(v: number | number[], n: number): Float64Array {
  if (typeof v === 'number') return new Float64Array(n).fill(v);
  if (v.length !== n) throw new RangeError(`expected ${n} time constants, got ${v.length}`);
  return Float64Array.from(v);
}
