/**
 * A glekit model as a NIR graph: Input, then per layer an Affine (Linear when the layer
 * has no bias) and an LI node (tau = tau_m, r = 1, v_leak = 0), then Output. With
 * r = 1 and v_leak = 0, NIR's LI equation tau dv/dt = (v_leak - v) + r I is glekit's
 * membrane equation tau_m du/dt = W r_in + b - u (docs/dynamics.md, gamma = 0). What NIR
 * cannot say travels in metadata under the keys of mapping.ts, so that importing the
 * file gives back the same model file, content hash included.
 */
import type { ModelFile } from '../model/model-file.js';
import type { NirGraphOut, NirNodeOut } from './graph.js';
import { GRAPH_KEYS, INPUT_NODE, MODEL_FORMAT_TAG, NEURON_KEYS, NEURON_OUTPUT_TEXT, OUTPUT_NODE, neuronNodeName, weightNodeName } from './mapping.js';
import type { WriteValue } from './hdf5.js';

function graphMetadata(model: ModelFile): Record<string, WriteValue> {
  const n = model.network;
  const p = model.presentation;
  return {
    [GRAPH_KEYS.format]: MODEL_FORMAT_TAG,
    [GRAPH_KEYS.formatVersion]: model.formatVersion,
    [GRAPH_KEYS.modelHash]: model.contentHash,
    [GRAPH_KEYS.tool]: model.tool,
    [GRAPH_KEYS.task]: model.task,
    [GRAPH_KEYS.dt]: n.dt,
    [GRAPH_KEYS.gamma]: n.gamma,
    [GRAPH_KEYS.beta]: n.beta,
    [GRAPH_KEYS.loss]: n.loss,
    [GRAPH_KEYS.prospectiveErrors]: n.prospectiveErrors ? 1 : 0,
    [GRAPH_KEYS.presentationMode]: p.mode,
    [GRAPH_KEYS.stepsPerSample]: p.stepsPerSample,
    [GRAPH_KEYS.settleSteps]: p.settleSteps,
    [GRAPH_KEYS.readout]: p.readout,
    [GRAPH_KEYS.training]: JSON.stringify(model.training),
    [GRAPH_KEYS.metrics]: JSON.stringify(model.metrics),
  };
}

/** The NIR graph of a model (nodes in chain order). */
export function modelToNirGraph(model: ModelFile): NirGraphOut {
  const layers = model.network.layers;
  const nodes: [string, NirNodeOut][] = [[INPUT_NODE, { type: 'Input', fields: { shape: { int64: [layers[0].inputSize], shape: [1] } } }]];
  layers.forEach((l, i) => {
    const n = l.outputSize;
    const weight = { float64: l.weights.flat(), shape: [n, l.inputSize] };
    nodes.push(
      l.bias === null
        ? [weightNodeName(i, false), { type: 'Linear', fields: { weight } }]
        : [weightNodeName(i, true), { type: 'Affine', fields: { weight, bias: { float64: l.bias, shape: [n] } } }],
    );
    nodes.push([
      neuronNodeName(i),
      {
        type: 'LI',
        fields: {
          tau: { float64: l.tauM, shape: [n] },
          r: { float64: new Float64Array(n).fill(1), shape: [n] },
          v_leak: { float64: new Float64Array(n), shape: [n] },
        },
        metadata: {
          [NEURON_KEYS.tauR]: { float64: l.tauR, shape: [n] },
          [NEURON_KEYS.phi]: l.phi,
          [NEURON_KEYS.output]: NEURON_OUTPUT_TEXT,
        },
      },
    ]);
  });
  const top = layers[layers.length - 1].outputSize;
  nodes.push([OUTPUT_NODE, { type: 'Output', fields: { shape: { int64: [top], shape: [1] } } }]);
  const edges: [string, string][] = [];
  for (let i = 0; i + 1 < nodes.length; i++) edges.push([nodes[i][0], nodes[i + 1][0]]);
  return { nodes, edges, metadata: graphMetadata(model) };
}
