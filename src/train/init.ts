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
  /** scale std by 1/sqrt(fan-in) instead of using it as is */
  scaleByFanIn?: boolean;
}

/** Fresh parameters, seeded: the same (architecture, options, seed) gives the same bits. */
export function initLayers(inputSize: number, layers: LayerArchitecture[], init: InitOptions, seed: number): LayerParameters[] {
  const rng = new Rng(seed);
  let nIn = inputSize;
  return layers.map((arch) => {
    const nOut = arch.size;
    const std = init.scaleByFanIn ? init.weightStd / Math.sqrt(nIn) : init.weightStd;
    const weights = new Float64Array(nOut * nIn);
    for (let i = 0; i < weights.length; i++) weights[i] = rng.gaussian(0, std);
    let bias: Float64Array | null = null;
    if (arch.bias !== false) {
      bias = new Float64Array(nOut);
      for (let j = 0; j < nOut; j++) bias[j] = rng.gaussian(0, init.biasStd);
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
