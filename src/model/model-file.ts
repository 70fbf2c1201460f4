/**
 * The model file: the one portable artefact a trained network becomes. JSON, so that
 * people can read it and other tools can write it; every number is stored at full
 * float64 precision. It carries a format version and a SHA-256 over its canonical
 * content, and is validated on load with errors that name the field.
 */
import type { Presentation } from '../presentation/index.js';
import { createHash } from 'node:crypto';
import { ACTIVATIONS, parseActivation, type ActivationName } from '../engine/activations.js';
import type { Dtype, LayerParameters, LossName, NetworkSpec } from '../engine/types.js';
import { canonicalJson } from '../util/canonical-json.js';
import { ValidationError } from '../util/errors.js';
import { writeFileAtomic } from '../util/files.js';
import { Field, isObject, readJsonFile } from '../util/json-reader.js';
import { checkModelLimits } from './checks.js';

export const MODEL_FORMAT = 'glekit-model';
export const MODEL_FORMAT_VERSION = 1;

export interface ModelLayer {
  phi: ActivationName;
  inputSize: number;
  outputSize: number;
  weights: number[][];
  bias: number[] | null;
  tauM: number[];
  tauR: number[];
}

export interface ModelNetwork {
  dt: number;
  gamma: number;
  beta: number;
  loss: LossName;
  prospectiveErrors: boolean;
  layers: ModelLayer[];
}

export interface ModelFile {
  format: typeof MODEL_FORMAT;
  formatVersion: number;
  contentHash: string;
  tool: string;
  task: string;
  network: ModelNetwork;
  presentation: Presentation;
  /** the settings that produced this model (free-form but JSON) */
  training: Record<string, unknown>;
  metrics: Record<string, number>;
}

export type ModelContent = Omit<ModelFile, 'contentHash' | 'format' | 'formatVersion'>;

export function hashContent(content: unknown): string {
  return 'sha256:' + createHash('sha256').update(canonicalJson(content)).digest('hex');
}

export function layerToModel(p: LayerParameters): ModelLayer {
  const weights: number[][] = [];
  for (let o = 0; o < p.outputSize; o++) weights.push(Array.from(p.weights.subarray(o * p.inputSize, (o + 1) * p.inputSize)));
  return {
    phi: p.phi,
    inputSize: p.inputSize,
    outputSize: p.outputSize,
    weights,
    bias: p.bias === null ? null : Array.from(p.bias),
    tauM: Array.from(p.tauM),
    tauR: Array.from(p.tauR),
  };
}

export function makeModelFile(content: ModelContent): ModelFile {
  const body = { format: MODEL_FORMAT, formatVersion: MODEL_FORMAT_VERSION, ...content } as const;
  return { ...body, contentHash: hashContent(body) };
}

export function saveModel(path: string, model: ModelFile): void {
  writeFileAtomic(path, JSON.stringify(model));
}

export function loadModel(path: string): ModelFile {
  return parseModel(readJsonFile(path), path);
}

export function parseModel(doc: unknown, source: string): ModelFile {
  const root = new Field(source, '', doc).object();
  const format = root.child('format');
  if (format.value !== MODEL_FORMAT) format.fail(`must be "${MODEL_FORMAT}" (is this a glekit model file?)`);
  const version = root.child('formatVersion').number({ integer: true, min: 1 });
  if (version > MODEL_FORMAT_VERSION) {
    root.child('formatVersion').fail(`is newer than this glekit understands (${MODEL_FORMAT_VERSION}); upgrade glekit`);
  }
  const hashField = root.child('contentHash');
  const storedHash = hashField.string();
  const { contentHash: _omit, ...body } = doc as Record<string, unknown>;
  const actualHash = hashContent(body);
  if (storedHash !== actualHash) {
    throw new ValidationError(
      source,
      'contentHash',
      storedHash,
      `does not match the content (content hashes to ${actualHash}); the file was modified or damaged`,
    );
  }

  const net = root.child('network').object();
  const dt = net.child('dt').number({ minExclusive: 0 });
  const layerFields = net.child('layers').array();
  if (layerFields.length === 0) net.child('layers').fail('must hold at least one layer');
  let previousOut = -1;
  const layers: ModelLayer[] = layerFields.map((lf, index) => {
    lf.object();
    if ((parseActivation(lf.child('phi').value) ?? null) === null) lf.child('phi').fail(`is not a known activation (known: ${ACTIVATIONS.join(', ')})`);
    const inputSize = lf.child('inputSize').number({ integer: true, min: 1 });
    const outputSize = lf.child('outputSize').number({ integer: true, min: 1 });
    if (index > 0 && inputSize !== previousOut) lf.child('inputSize').fail(`must equal the output size of layer ${index - 1} (${previousOut})`);
    previousOut = outputSize;
    lf.child('weights').matrix(outputSize, inputSize);
    if (!lf.child('bias').isNull()) lf.child('bias').vector(outputSize);
    for (const key of ['tauM', 'tauR']) {
      const taus = lf.child(key).vector(outputSize);
      taus.forEach((t, j) => {
        if (!(t >= dt)) lf.child(key).child(j).fail(`must be at least dt = ${dt}`);
      });
    }
    return (doc as { network: { layers: ModelLayer[] } }).network.layers[index];
  });
  const network: ModelNetwork = {
    dt,
    gamma: net.child('gamma').number(),
    beta: net.child('beta').number(),
    loss: net.child('loss').oneOf(['mse', 'ce'] as const),
    prospectiveErrors: net.child('prospectiveErrors').boolean(),
    layers: layers.map((l) => ({ ...l, phi: parseActivation(l.phi)! })),
  };
  const pf = root.child('presentation').object();
  const presentation: Presentation = {
    mode: pf.child('mode').oneOf(['static', 'sequence'] as const),
    stepsPerSample: pf.child('stepsPerSample').number({ integer: true, min: 1 }),
    settleSteps: pf.child('settleSteps').number({ integer: true, min: 0 }),
    readout: pf.child('readout').oneOf(['last', 'sum'] as const),
  };
  const metrics: Record<string, number> = {};
  const mf = root.child('metrics').object();
  for (const key of Object.keys(mf.value as object)) metrics[key] = mf.child(key).number();
  const training = root.child('training').object().value as Record<string, unknown>;
  if (!isObject(training)) root.child('training').fail('must be an object');
  const model: ModelFile = {
    format: MODEL_FORMAT,
    formatVersion: version,
    contentHash: storedHash,
    tool: root.child('tool').string(),
    task: root.child('task').string(),
    network,
    presentation,
    training,
    metrics,
  };
  checkModelLimits(model, source);
  return model;
}

/** The engine's view of a model file. */
export function modelToSpec(model: ModelFile, dtype: Dtype = 'float64'): NetworkSpec {
  const n = model.network;
  return {
    dtype,
    dt: n.dt,
    gamma: n.gamma,
    beta: n.beta,
    loss: n.loss,
    prospectiveErrors: n.prospectiveErrors,
    layers: n.layers.map((l) => ({
      phi: l.phi,
      inputSize: l.inputSize,
      outputSize: l.outputSize,
      weights: Float64Array.from(l.weights.flat()),
      bias: l.bias === null ? null : Float64Array.from(l.bias),
      tauM: Float64Array.from(l.tauM),
      tauR: Float64Array.from(l.tauR),
    })),
  };
}
