import { Network } from '../engine/network.js';
import type { FloatArray } from '../engine/kernels.js';
import type { TraceSpec } from './spec.js';

export interface TraceLayerStep { u: number[][]; v: number[][]; r: number[][]; prospU: number[][]; prospV: number[][] }
export interface TraceResult {
  steps: { layers: TraceLayerStep[] }[];
  final: { layers: { weights: number[][]; bias: number[] | null; tauM: number[] }[] };
}

/** Runs a SPEC and records every layer's state after every step. */
export function runTrace(spec: TraceSpec): TraceResult {
  const net = new Network(spec.network, { batch: spec.batch, learning: spec.learning });
  const x = net.newArray(spec.batch * net.inputSize);
  const y = net.newArray(spec.batch * net.outputSize);
  const steps: TraceResult['steps'] = [];
  for (let k = 0; k < spec.inputs.length; k++) {
    x.set(spec.inputs[k]);
    const target = spec.targets[k];
    if (target !== null) y.set(target);
    const learn = spec.learning !== null && k >= spec.startStep;
    net.step(x, target === null ? null : y, learn ? 'learn' : 'none');
    steps.push({
      layers: net.layers.map((layer) => ({
        u: rows(layer.u, spec.batch, layer.nOut),
        v: rows(layer.v, spec.batch, layer.nOut),
        r: rows(layer.r, spec.batch, layer.nOut),
        prospU: rows(layer.prospU, spec.batch, layer.nOut),
        prospV: rows(layer.prospV, spec.batch, layer.nOut),
      })),
    });
  }
  return {
    steps,
    final: {
      layers: net.layers.map((layer) => ({
        weights: rows(layer.weights, layer.nOut, layer.nIn),
        bias: layer.bias === null ? null : Array.from(layer.bias),
        tauM: Array.from(layer.tauM),
      })),
    },
  };
}

function rows(a: FloatArray, nRows: number, nCols: number): number[][] {
  const out: number[][] = new Array(nRows);
  for (let i = 0; i < nRows; i++) out[i] = Array.from(a.subarray(i * nCols, (i + 1) * nCols));
  return out;
}
