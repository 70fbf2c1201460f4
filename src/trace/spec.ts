/**
 * The conformance SPEC of `glekit trace`: a network, a learning rule and a stimulus,
 * written so that an independent implementation can be run on the same input.
 */
import { ACTIVATIONS, parseActivation } from '../engine/activations.js';
import type { LayerParameters, LearningSetup, NetworkSpec } from '../engine/types.js';
import { DEFAULT_LEARNING } from '../engine/types.js';
import { Field } from '../util/json-reader.js';

export interface TraceSpec {
  network: NetworkSpec;
  learning: LearningSetup | null;
  /** first step (0-based) after which updates are applied */
  startStep: number;
  batch: number;
  /** per step: batch x inputSize, row-major */
  inputs: Float64Array[];
  /** per step: batch x outputSize, or null for a step without a target */
  targets: (Float64Array | null)[];
}

export function parseTraceSpec(doc: unknown, source: string): TraceSpec {
  const root = new Field(source, '', doc).object();
  const dtype = root.child('dtype').oneOf(['float64', 'float32'] as const);
  const dt = root.child('dt').number({ minExclusive: 0 });
  const gamma = root.child('gamma').number();
  const beta = root.child('beta').number();
  const loss = root.child('loss').oneOf(['mse', 'ce'] as const);
  const prospectiveErrors = root.child('prospectiveErrors').boolean();

  const layerFields = root.child('layers').array();
  if (layerFields.length === 0) root.child('layers').fail('must hold at least one layer');
  const layers: LayerParameters[] = [];
  let expectedIn = -1;
  layerFields.forEach((lf, index) => {
    lf.object();
    const phiField = lf.child('phi');
    const phi = parseActivation(phiField.value) ?? phiField.fail(`is not a known activation (known: ${ACTIVATIONS.join(', ')})`);
    const wField = lf.child('weights');
    const rows = wField.array();
    if (rows.length === 0) wField.fail('must have at least one row (one per neuron)');
    const inputSize = rows[0].array().length;
    if (inputSize === 0) rows[0].fail('must have at least one column (one per input)');
    if (index > 0 && inputSize !== expectedIn) {
      wField.fail(`must have ${expectedIn} columns, the size of layer ${index - 1}, but row 0 has ${inputSize}`);
    }
    const outputSize = rows.length;
    const weights = wField.matrix(outputSize, inputSize);
    const biasField = lf.child('bias');
    const bias = biasField.isNull() ? null : biasField.vector(outputSize);
    const tauM = lf.child('tauM').vector(outputSize);
    const tauR = lf.child('tauR').vector(outputSize);
    checkTau(lf.child('tauM'), tauM, dt);
    checkTau(lf.child('tauR'), tauR, dt);
    layers.push({ phi, inputSize, outputSize, weights, bias, tauM, tauR });
    expectedIn = outputSize;
  });

  let learning: LearningSetup | null = null;
  let startStep = 0;
  if (root.has('learning') && !root.child('learning').isNull()) {
    const lf = root.child('learning').object();
    const optimizer = lf.child('optimizer').oneOf(['sgd', 'adam'] as const);
    const flag = (name: string): boolean => (lf.has(name) ? lf.child(name).boolean() : false);
    learning = {
      ...DEFAULT_LEARNING,
      optimizer,
      lr: lf.child('lr').number({ min: 0 }),
      momentum: lf.has('momentum') ? lf.child('momentum').number({ min: 0, max: 1 }) : 0,
      learnWeights: flag('weights'),
      learnBiases: flag('biases'),
      learnTauM: flag('tauM'),
      tauMin: lf.has('tauMin') && !lf.child('tauMin').isNull() ? lf.child('tauMin').number({ min: 0 }) : 0,
    };
    startStep = lf.has('startStep') ? lf.child('startStep').number({ min: 0, integer: true }) : 0;
  }

  const inputSize = layers[0].inputSize;
  const outputSize = layers[layers.length - 1].outputSize;
  const stepFields = root.child('inputs').array();
  if (stepFields.length === 0) root.child('inputs').fail('must hold at least one step');
  const batch = stepFields[0].array().length;
  if (batch === 0) stepFields[0].fail('must hold at least one sample');
  const inputs = stepFields.map((f) => f.matrix(batch, inputSize));

  const targets: (Float64Array | null)[] = new Array(inputs.length).fill(null);
  if (root.has('targets') && !root.child('targets').isNull()) {
    const tf = root.child('targets').array(inputs.length);
    tf.forEach((f, k) => {
      targets[k] = f.isNull() ? null : f.matrix(batch, outputSize);
    });
  }

  return {
    network: { dtype, dt, gamma, beta, loss, prospectiveErrors, layers },
    learning,
    startStep,
    batch,
    inputs,
    targets,
  };
}

function checkTau(field: Field, taus: Float64Array, dt: number): void {
  for (let j = 0; j < taus.length; j++) {
    if (!(taus[j] >= dt)) field.child(j).fail(`must be at least dt = ${dt}`);
  }
}
