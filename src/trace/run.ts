import { Network } from '../engine/network.js';
import type { FloatArray } from '../engine/kernels.js';
import { GlekitError } from '../util/errors.js';
import type { TraceSpec } from './spec.js';

export interface TraceLayerStep {
  u: number[][];
  v: number[][];
  r: number[][];
  prospU: number[][];
  prospV: number[][];
}
export interface TraceResult {
  steps: { layers: TraceLayerStep[] }[];
  final: { layers: { weights: number[][]; bias: number[] | null; tauM: number[] }[] };
}

/**
 * Most numbers a trace may hold: about 200 MB of JSON (a float64 takes up to 24
 * characters and about 20 on average). A SPEC asking for more is refused before it runs.
 */
export const MAX_TRACE_NUMBERS = 10_000_000;
/** Average characters of one number in a TRACE (digits, sign, exponent, comma). */
export const TRACE_BYTES_PER_NUMBER = 20;

const STATE_KEYS = ['u', 'v', 'r', 'prospU', 'prospV'] as const;

/** Numbers a SPEC's trace holds: five arrays of batch x size per layer per step, plus the final parameters. */
export function traceNumbers(spec: TraceSpec): number {
  const layers = spec.network.layers;
  const perStep = layers.reduce((n, l) => n + STATE_KEYS.length * spec.batch * l.outputSize, 0);
  const final = layers.reduce((n, l) => n + l.outputSize * l.inputSize + (l.bias === null ? 0 : l.outputSize) + l.outputSize, 0);
  return spec.inputs.length * perStep + final;
}

/** Throws a GlekitError naming the source and the estimate when the trace would exceed MAX_TRACE_NUMBERS. */
export function checkTraceSize(spec: TraceSpec, source: string): void {
  const n = traceNumbers(spec);
  if (n > MAX_TRACE_NUMBERS) {
    const mb = (x: number): string => ((x * TRACE_BYTES_PER_NUMBER) / 1e6).toFixed(0);
    throw new GlekitError(
      `${source}: the trace would hold ${n} numbers (${spec.inputs.length} steps x ${spec.network.layers.length} layers x batch ${spec.batch}, ` +
        `about ${mb(n)} MB of JSON), more than the limit of ${MAX_TRACE_NUMBERS} (about ${mb(MAX_TRACE_NUMBERS)} MB); use fewer steps, a smaller batch or smaller layers`,
    );
  }
}

/** A state or parameter became Infinity or NaN: where and when. */
export class TraceDivergenceError extends GlekitError {
  constructor(
    readonly step: number,
    readonly steps: number,
    readonly where: string,
    readonly value: number,
  ) {
    super(
      `the network diverged at step ${step} of ${steps} (0-based): ${where} = ${String(value)}, the first value that is not finite; ` +
        'no trace was written (lower the learning rate or the inputs, or shorten the SPEC to the steps before)',
    );
    this.name = 'TraceDivergenceError';
  }
}

function firstNonFinite(a: FloatArray, nCols: number): { row: number; col: number; value: number } | null {
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) return { row: Math.floor(i / nCols), col: i % nCols, value: a[i] };
  }
  return null;
}

/**
 * Runs a SPEC and records every layer's state after every step. Refuses a SPEC whose
 * trace would exceed MAX_TRACE_NUMBERS, and stops with a TraceDivergenceError at the
 * first state or parameter that is not finite (JSON would write it as null).
 */
export function runTrace(spec: TraceSpec, source = 'SPEC'): TraceResult {
  checkTraceSize(spec, source);
  const net = new Network(spec.network, { batch: spec.batch, learning: spec.learning });
  const x = net.newArray(spec.batch * net.inputSize);
  const y = net.newArray(spec.batch * net.outputSize);
  const steps: TraceResult['steps'] = [];
  const n = spec.inputs.length;
  for (let k = 0; k < n; k++) {
    x.set(spec.inputs[k]);
    const target = spec.targets[k];
    if (target !== null) y.set(target);
    const learn = spec.learning !== null && k >= spec.startStep;
    net.step(x, target === null ? null : y, learn ? 'learn' : 'none');
    net.layers.forEach((layer, l) => {
      for (const key of STATE_KEYS) {
        const bad = firstNonFinite(layer[key], layer.nOut);
        if (bad !== null) throw new TraceDivergenceError(k, n, `layers[${l}].${key}[${bad.row}][${bad.col}]`, bad.value);
      }
      if (learn) {
        const w = firstNonFinite(layer.weights, layer.nIn);
        if (w !== null) throw new TraceDivergenceError(k, n, `layers[${l}].weights[${w.row}][${w.col}]`, w.value);
        const b = layer.bias === null ? null : firstNonFinite(layer.bias, layer.nOut);
        if (b !== null) throw new TraceDivergenceError(k, n, `layers[${l}].bias[${b.col}]`, b.value);
        const t = firstNonFinite(layer.tauM, layer.nOut);
        if (t !== null) throw new TraceDivergenceError(k, n, `layers[${l}].tauM[${t.col}]`, t.value);
      }
    });
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
