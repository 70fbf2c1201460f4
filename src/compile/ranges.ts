/**
 * The value ranges a network reaches on range data, measured on the float target (the
 * truth): per layer the drive s, the membrane u, the prospective potential and the rate,
 * over every step of the model's presentation. The compiler places binary points from
 * them and reports them next to each format's range. ("Calibration" in glekit means the
 * board calibration file only; these are ranges.)
 */
import { present, presentationMismatch, type Presenter } from '../presentation/index.js';
import { Network } from '../engine/network.js';
import { modelToSpec, type ModelFile } from '../model/model-file.js';
import { trainingInfo } from '../model/training-info.js';
import { loadClassificationTask } from '../tasks/index.js';
import { GlekitError } from '../util/errors.js';
import { readJsonFile } from '../util/json-reader.js';

export interface Range {
  min: number;
  max: number;
  /** how many values were seen */
  count: number;
}

export interface LayerRanges {
  drive: Range;
  membrane: Range;
  prospective: Range;
  rate: Range;
}

export interface RangeData {
  /** count x sampleSize, row-major */
  inputs: Float32Array;
  count: number;
  sampleSize: number;
  /** where the samples came from, for the report */
  source: string;
}

export interface ValueRanges {
  data: RangeData;
  input: Range;
  layers: LayerRanges[];
}

export const DEFAULT_RANGE_SAMPLES = 256;
export const RANGE_DATA_FORMAT = 'glekit-range-data';
/** The format name range-data files had before ranges were told apart from calibration; still read. */
export const LEGACY_RANGE_DATA_FORMAT = 'glekit-calibration-data';

const emptyRange = (): Range => ({ min: Infinity, max: -Infinity, count: 0 });

function widen(r: Range, a: ArrayLike<number>): void {
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (v < r.min) r.min = v;
    if (v > r.max) r.max = v;
  }
  r.count += a.length;
}

export function maxAbs(r: Range): number {
  return r.count === 0 ? 0 : Math.max(Math.abs(r.min), Math.abs(r.max));
}

/**
 * Range-data samples: a JSON file (`{"format": "glekit-range-data", "inputs": [[...],
 * ...]}` or a bare array of rows), or else the first samples of the model's own task's
 * training split (never the test split, which judges the result).
 */
export function loadRangeData(model: ModelFile, file: string | undefined, samples = DEFAULT_RANGE_SAMPLES): RangeData {
  if (file !== undefined) {
    const doc = readJsonFile(file);
    const rows = Array.isArray(doc) ? doc : (doc as { format?: unknown; inputs?: unknown })?.inputs;
    const format = (doc as { format?: unknown })?.format;
    if (!Array.isArray(doc) && format !== RANGE_DATA_FORMAT && format !== LEGACY_RANGE_DATA_FORMAT) {
      throw new GlekitError(`${file}: field 'format' must be "${RANGE_DATA_FORMAT}" (or the file a bare array of input rows)`);
    }
    if (!Array.isArray(rows) || rows.length === 0) throw new GlekitError(`${file}: field 'inputs' must be a non-empty array of input rows`);
    const size = Array.isArray(rows[0]) ? rows[0].length : -1;
    if (size < 1) throw new GlekitError(`${file}: field 'inputs[0]' must be a non-empty array of numbers`);
    const inputs = new Float32Array(rows.length * size);
    rows.forEach((row: unknown, i: number) => {
      if (!Array.isArray(row) || row.length !== size) throw new GlekitError(`${file}: field 'inputs[${i}]' must be an array of ${size} numbers`);
      row.forEach((v: unknown, j: number) => {
        if (typeof v !== 'number' || !Number.isFinite(v))
          throw new GlekitError(`${file}: field 'inputs[${i}][${j}]' must be a finite number (got ${String(v)})`);
        inputs[i * size + j] = v;
      });
    });
    return { inputs, count: rows.length, sampleSize: size, source: file };
  }
  const dataSeed = trainingInfo(model).dataSeed;
  const data = loadClassificationTask(model.task, dataSeed, model.presentation);
  const count = Math.min(samples, data.train.count);
  return {
    inputs: data.train.inputs.subarray(0, count * data.train.inputSize),
    count,
    sampleSize: data.train.inputSize,
    source: `the first ${count} training samples of ${model.task} (data seed ${dataSeed})`,
  };
}

/** Runs the float engine over the range-data samples as the model's presentation says, recording ranges. */
export function measureRanges(model: ModelFile, data: RangeData): ValueRanges {
  const spec = modelToSpec(model, 'float64');
  const p = model.presentation;
  const netIn = spec.layers[0].inputSize;
  const why = presentationMismatch(p, data.sampleSize, netIn);
  if (why !== null) throw new GlekitError(`range data from ${data.source}: ${why}`);
  const layers: LayerRanges[] = spec.layers.map(() => ({ drive: emptyRange(), membrane: emptyRange(), prospective: emptyRange(), rate: emptyRange() }));
  const input = emptyRange();
  const batch = Math.min(64, data.count);
  const net = new Network(spec, { batch });
  const x = net.newArray(batch * netIn);
  const score = new Float64Array(batch * net.outputSize);
  let start = 0;
  let b = 0;
  const presenter: Presenter = {
    fill: (t) => {
      for (let s = 0; s < b; s++) {
        const row = (start + s) * data.sampleSize;
        if (p.mode === 'static') for (let i = 0; i < netIn; i++) x[s * netIn + i] = data.inputs[row + i];
        else x[s] = data.inputs[row + t];
      }
    },
    step: () => {
      widen(input, x.subarray(0, b * netIn));
      net.step(x, null, 'none');
      net.layers.forEach((layer, l) => {
        const n = b * layer.nOut;
        widen(layers[l].drive, layer.drive.subarray(0, n));
        widen(layers[l].membrane, layer.u.subarray(0, n));
        widen(layers[l].prospective, layer.prospU.subarray(0, n));
        widen(layers[l].rate, layer.r.subarray(0, n));
      });
    },
    output: () => net.top.r,
  };
  for (start = 0; start < data.count; start += batch) {
    b = Math.min(batch, data.count - start);
    net.resetState();
    x.fill(0);
    present(p, presenter, score);
  }
  return { data, input, layers };
}
