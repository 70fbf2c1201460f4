/**
 * A NIR graph as a glekit model. glekit reads a feed-forward chain Input -> (Affine |
 * Linear) -> (LI | CubaLI) -> ... -> Output; each weight node and the neuron node after
 * it become one glekit layer. Everything else is refused with one line naming the node,
 * its type and why (docs/nir.md lists the reasons). What NIR cannot say comes from
 * glekit's metadata keys (mapping.ts) when the file has them, and from the defaults of
 * docs/nir.md when it does not.
 */
import { basename } from 'node:path';
import { ACTIVATIONS, parseActivation, type ActivationName } from '../engine/activations.js';
import type { LossName } from '../engine/types.js';
import { makeModelFile, parseModel, type ModelFile, type ModelLayer } from '../model/model-file.js';
import type { Presentation } from '../presentation/index.js';
import { GlekitError } from '../util/errors.js';
import { VERSION } from '../version.js';
import { numericOf, stringOf, type NirGraph, type NirNode, type NirValue } from './graph.js';
import { GRAPH_KEYS, MODEL_FORMAT_TAG, NEURON_KEYS } from './mapping.js';

export interface ImportOptions {
  /** the task the model is for (default: the file's glekit.task, else "none") */
  task?: string;
  /** model time per step (default: the file's glekit.dt, else a tenth of the smallest time constant) */
  dt?: number;
}

export interface ImportResult {
  model: ModelFile;
  /** the file carries glekit's metadata (it was exported by glekit) */
  fromGlekit: boolean;
  /** the model file's content hash equals the one recorded at export (null: none recorded) */
  sameAsExported: boolean | null;
  /** what was assumed or folded, for people */
  notes: string[];
}

/** Why glekit refuses each NIR node type it knows of but cannot represent. */
const REFUSED: Record<string, string> = {
  LIF: 'a spiking neuron (it fires when v crosses v_threshold, then resets): glekit neurons emit a continuous rate and do not spike',
  IF: 'a spiking neuron (it fires when v crosses v_threshold, then resets): glekit neurons emit a continuous rate and do not spike',
  CubaLIF: 'a spiking neuron (it fires when v crosses v_threshold, then resets): glekit neurons emit a continuous rate and do not spike',
  Threshold: 'a spike threshold: glekit neurons do not spike',
  I: 'an integrator without leak: a glekit neuron leaks with a finite tau_m',
  Conv1d: 'a convolution: glekit layers are dense (one weight per input and neuron)',
  Conv2d: 'a convolution: glekit layers are dense (one weight per input and neuron)',
  SumPool2d: 'pooling: glekit layers are dense and take one flat vector',
  AvgPool2d: 'pooling: glekit layers are dense and take one flat vector',
  Flatten: 'a reshape of a multi-dimensional signal: glekit networks take one flat vector',
  Delay: 'a transmission delay: a glekit model has none (glekit compile --delays adds delays on a device)',
  Scale: 'an element-wise scale outside a weight node: not mapped (fold it into the Affine before export)',
  NIRGraph: 'a nested graph: glekit reads one flat chain of nodes',
};
const WEIGHT_TYPES = ['Affine', 'Linear'];
const NEURON_TYPES = ['LI', 'CubaLI'];
const KNOWN = ['Input', 'Output', ...WEIGHT_TYPES, ...NEURON_TYPES];

class NodeRefusal extends GlekitError {}

function refuse(source: string, name: string, node: NirNode, why: string): never {
  throw new NodeRefusal(`${source}: node ${JSON.stringify(name)} (${node.type}): ${why}`);
}

function refuseUnsupportedTypes(source: string, graph: NirGraph): void {
  for (const [name, node] of graph.nodes) {
    if (KNOWN.includes(node.type)) continue;
    refuse(source, name, node, REFUSED[node.type] ?? `a node type glekit does not know (it maps ${KNOWN.join(', ')})`);
  }
}

/** Refuses the first edge (in a depth-first walk over the nodes in file order) that closes a cycle: recurrence. */
function refuseCycles(source: string, graph: NirGraph, next: Map<string, string[]>): void {
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (name: string): void => {
    path.push(name);
    for (const to of next.get(name) ?? []) {
      const k = path.indexOf(to);
      if (k >= 0)
        refuse(
          source,
          name,
          graph.nodes.get(name)!,
          `its edge to ${to} closes a cycle (${[...path.slice(k), to].join(' -> ')}): glekit reads a feed-forward chain (no recurrence)`,
        );
      if (!done.has(to)) visit(to);
    }
    path.pop();
    done.add(name);
  };
  // from the Input first, so that the edge named is the one that leads back
  const order = [...graph.nodes].sort(([, a], [, b]) => Number(b.type === 'Input') - Number(a.type === 'Input')).map(([k]) => k);
  for (const name of order) if (!done.has(name)) visit(name);
}

/** The nodes from Input to Output, checked to be one chain (no branch, merge, cycle or stray node). */
function chainOf(source: string, graph: NirGraph): string[] {
  const ofType = (t: string): string[] => [...graph.nodes].filter(([, n]) => n.type === t).map(([k]) => k);
  const inputs = ofType('Input'),
    outputs = ofType('Output');
  if (inputs.length !== 1 || outputs.length !== 1) {
    throw new GlekitError(`${source}: the graph has ${inputs.length} Input and ${outputs.length} Output nodes; glekit reads a chain with one of each`);
  }
  const next = new Map<string, string[]>(),
    prev = new Map<string, string[]>();
  for (const [a, b] of graph.edges) {
    next.set(a, [...(next.get(a) ?? []), b]);
    prev.set(b, [...(prev.get(b) ?? []), a]);
  }
  refuseCycles(source, graph, next);
  for (const [name, node] of graph.nodes) {
    const ins = prev.get(name) ?? [],
      outs = next.get(name) ?? [];
    if (ins.length > 1)
      refuse(source, name, node, `has ${ins.length} incoming edges (from ${ins.join(', ')}): glekit reads a feed-forward chain (no recurrence, no merges)`);
    if (outs.length > 1)
      refuse(source, name, node, `has ${outs.length} outgoing edges (to ${outs.join(', ')}): glekit reads a feed-forward chain (no branches)`);
  }
  const chain = [inputs[0]];
  for (let at = inputs[0]; at !== outputs[0]; ) {
    const to = next.get(at)?.[0];
    if (to === undefined) refuse(source, at, graph.nodes.get(at)!, `has no outgoing edge: the chain from ${inputs[0]} ends before ${outputs[0]}`);
    if (chain.includes(to)) refuse(source, to, graph.nodes.get(to)!, 'closes a cycle: glekit reads a feed-forward chain (no recurrence)');
    chain.push(to);
    at = to;
  }
  for (const [name, node] of graph.nodes) if (!chain.includes(name)) refuse(source, name, node, `is not on the chain from ${inputs[0]} to ${outputs[0]}`);
  return chain;
}

/** A 1-D or 2-D numeric field of the expected shape; refuses otherwise. */
function arrayField(source: string, name: string, node: NirNode, field: string, shape: number[] | null, fallback?: number): Float64Array {
  const v = node.fields.get(field);
  if (v === undefined && fallback !== undefined && shape !== null) return new Float64Array(shape.reduce((a, b) => a * b, 1)).fill(fallback);
  const a = numericOf(v);
  if (a === null) refuse(source, name, node, `field '${field}' is ${v === undefined ? 'missing' : 'not numeric'}`);
  if (shape !== null && (a.shape.length !== shape.length || a.shape.some((d, i) => d !== shape[i]))) {
    refuse(source, name, node, `field '${field}' has shape [${a.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  const bad = a.data.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) refuse(source, name, node, `field '${field}' holds ${a.data[bad]} at index ${bad}; every value must be finite`);
  return a.data;
}

function sizeOf(source: string, name: string, node: NirNode): number {
  const s = arrayField(source, name, node, 'shape', null);
  if (s.length !== 1 || !Number.isInteger(s[0]) || s[0] < 1)
    refuse(source, name, node, `shape [${Array.from(s).join(', ')}] is not one positive size: glekit networks take and give one flat vector`);
  return s[0];
}

interface Weights {
  weights: Float64Array;
  bias: Float64Array | null;
  nIn: number;
  nOut: number;
}

function readWeights(source: string, name: string, node: NirNode, nIn: number): Weights {
  const w = numericOf(node.fields.get('weight'));
  if (w === null) refuse(source, name, node, `field 'weight' is ${node.fields.has('weight') ? 'not numeric' : 'missing'}`);
  if (w.shape.length !== 2) refuse(source, name, node, `weight has shape [${w.shape.join(', ')}]; glekit layers take a 2-D (outputs x inputs) matrix`);
  const [nOut, cols] = w.shape;
  if (cols !== nIn) refuse(source, name, node, `weight has ${cols} columns but its input has ${nIn} values`);
  const weights = arrayField(source, name, node, 'weight', [nOut, nIn]);
  const bias = node.type === 'Affine' ? arrayField(source, name, node, 'bias', [nOut]) : null;
  return { weights, bias, nIn, nOut };
}

interface Neurons {
  tauM: Float64Array;
  tauR: Float64Array | null;
  phi: ActivationName | null;
  gain: Float64Array;
  offset: Float64Array;
}

function readNeurons(source: string, name: string, node: NirNode, n: number): Neurons {
  const li = node.type === 'LI';
  const tauM = arrayField(source, name, node, li ? 'tau' : 'tau_mem', [n]);
  const r = arrayField(source, name, node, 'r', [n]);
  const offset = arrayField(source, name, node, 'v_leak', [n]);
  const bad = tauM.findIndex((t) => !(t > 0));
  if (bad >= 0) refuse(source, name, node, `${li ? 'tau' : 'tau_mem'}[${bad}] = ${tauM[bad]}; a leaky neuron needs a time constant above 0`);
  const gain = Float64Array.from(r);
  if (!li) {
    const tauSyn = arrayField(source, name, node, 'tau_syn', [n]);
    const j = tauSyn.findIndex((t) => t !== 0);
    if (j >= 0) {
      refuse(
        source,
        name,
        node,
        `tau_syn[${j}] = ${tauSyn[j]}: a synaptic low-pass before the membrane is a second state that a GLE neuron (one membrane, ` +
          'prospective output) does not have, so it folds in exactly only when tau_syn = 0',
      );
    }
    const wIn = arrayField(source, name, node, 'w_in', [n], 1);
    for (let i = 0; i < n; i++) gain[i] *= wIn[i];
  }
  const tauRValue = node.metadata.get(NEURON_KEYS.tauR);
  let tauR: Float64Array | null = null;
  if (tauRValue !== undefined) {
    const t = numericOf(tauRValue);
    if (t === null || t.data.length !== n) refuse(source, name, node, `metadata ${NEURON_KEYS.tauR} must hold ${n} numbers, one per neuron`);
    tauR = t.data;
  }
  const phiValue = node.metadata.get(NEURON_KEYS.phi);
  let phi: ActivationName | null = null;
  if (phiValue !== undefined) {
    phi = parseActivation(stringOf(phiValue));
    if (phi === null)
      refuse(
        source,
        name,
        node,
        `metadata ${NEURON_KEYS.phi} = ${JSON.stringify(stringOf(phiValue))} is not a glekit rate function (${ACTIVATIONS.join(', ')})`,
      );
  }
  return { tauM, tauR, phi, gain, offset };
}

/** The drive r * w_in * (W x + b) + v_leak as one affine map; unchanged (bit for bit) when r * w_in = 1 and v_leak = 0. */
function fold(w: Weights, nr: Neurons): { weights: Float64Array; bias: Float64Array | null; folded: boolean } {
  const unit = nr.gain.every((g) => g === 1) && nr.offset.every((o) => o === 0);
  if (unit) return { weights: w.weights, bias: w.bias, folded: false };
  const weights = new Float64Array(w.weights.length);
  const bias = new Float64Array(w.nOut);
  for (let o = 0; o < w.nOut; o++) {
    for (let i = 0; i < w.nIn; i++) weights[o * w.nIn + i] = nr.gain[o] * w.weights[o * w.nIn + i];
    bias[o] = (w.bias === null ? 0 : nr.gain[o] * w.bias[o]) + nr.offset[o];
  }
  return { weights, bias, folded: true };
}

interface RawLayer {
  weightNode: string;
  neuronNode: string;
  w: Weights;
  nr: Neurons;
}

function readLayers(source: string, graph: NirGraph, chain: string[], notes: string[]): { layers: RawLayer[]; nIn: number } {
  const node = (k: string): NirNode => graph.nodes.get(k)!;
  const nIn = sizeOf(source, chain[0], node(chain[0]));
  const layers: RawLayer[] = [];
  let width = nIn;
  let i = 1;
  for (; i < chain.length - 1; i += 2) {
    const [wName, nName] = [chain[i], chain[i + 1]];
    if (!WEIGHT_TYPES.includes(node(wName).type))
      refuse(
        source,
        wName,
        node(wName),
        `follows ${chain[i - 1]} (${node(chain[i - 1]).type}); glekit expects a weight node (Affine or Linear) before each neuron node`,
      );
    if (!NEURON_TYPES.includes(node(nName).type)) {
      refuse(
        source,
        nName,
        node(nName),
        `follows the weight node ${wName}; glekit expects a neuron node (LI or CubaLI) after each weight node, a layer ends in neurons`,
      );
    }
    const w = readWeights(source, wName, node(wName), width);
    const nr = readNeurons(source, nName, node(nName), w.nOut);
    if (!(nr.gain.every((g) => g === 1) && nr.offset.every((o) => o === 0)))
      notes.push(`${nName}: r${node(nName).type === 'CubaLI' ? ' * w_in' : ''} and v_leak folded into the weights and bias of ${wName}`);
    layers.push({ weightNode: wName, neuronNode: nName, w, nr });
    width = w.nOut;
  }
  if (layers.length === 0) throw new GlekitError(`${source}: the chain ${chain.join(' -> ')} has no layer (weight node then neuron node)`);
  const out = chain[chain.length - 1];
  const nOut = sizeOf(source, out, node(out));
  if (nOut !== width) refuse(source, out, node(out), `shape [${nOut}] differs from the ${width} neurons of ${chain[chain.length - 2]}`);
  return { layers, nIn };
}

function metaNumber(source: string, graph: NirGraph, key: string): number | undefined {
  const v = graph.metadata.get(key);
  if (v === undefined) return undefined;
  const a = numericOf(v);
  if (a === null || a.data.length !== 1) throw new GlekitError(`${source}: graph metadata ${key} must be one number`);
  return a.data[0];
}

function metaString(source: string, graph: NirGraph, key: string): string | undefined {
  const v: NirValue | undefined = graph.metadata.get(key);
  if (v === undefined) return undefined;
  const s = stringOf(v);
  if (s === null) throw new GlekitError(`${source}: graph metadata ${key} must be one string`);
  return s;
}

function metaJson(source: string, graph: NirGraph, key: string): Record<string, unknown> | undefined {
  const s = metaString(source, graph, key);
  if (s === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch {
    throw new GlekitError(`${source}: graph metadata ${key} is not JSON text`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new GlekitError(`${source}: graph metadata ${key} must hold a JSON object`);
  return v as Record<string, unknown>;
}

function choose<T>(source: string, key: string, value: unknown, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw new GlekitError(`${source}: graph metadata ${key} = ${JSON.stringify(value)} must be one of ${allowed.join(', ')}`);
  return value as T;
}

function presentationOf(source: string, graph: NirGraph, depth: number, notes: string[]): Presentation {
  const mode = choose(source, GRAPH_KEYS.presentationMode, metaString(source, graph, GRAPH_KEYS.presentationMode), ['static', 'sequence'] as const);
  if (mode === undefined) {
    notes.push(`no glekit presentation in the file: static, ${2 * depth + 1} steps per sample (2 x depth + 1, as the presets), read out after the last`);
    return { mode: 'static', stepsPerSample: 2 * depth + 1, settleSteps: 2 * depth, readout: 'last' };
  }
  return {
    mode,
    stepsPerSample: metaNumber(source, graph, GRAPH_KEYS.stepsPerSample) ?? 2 * depth + 1,
    settleSteps: metaNumber(source, graph, GRAPH_KEYS.settleSteps) ?? 2 * depth,
    readout: choose(source, GRAPH_KEYS.readout, metaString(source, graph, GRAPH_KEYS.readout), ['last', 'sum'] as const) ?? 'last',
  };
}

function chooseDt(source: string, graph: NirGraph, raw: RawLayer[], options: ImportOptions, notes: string[]): number {
  if (options.dt !== undefined) return options.dt;
  const dt = metaNumber(source, graph, GRAPH_KEYS.dt);
  if (dt !== undefined) {
    if (!(dt > 0)) throw new GlekitError(`${source}: graph metadata ${GRAPH_KEYS.dt} = ${dt} must be above 0`);
    return dt;
  }
  let smallest = Infinity;
  for (const l of raw) for (const t of [...l.nr.tauM, ...(l.nr.tauR ?? [])]) smallest = Math.min(smallest, t);
  notes.push(`no glekit dt in the file: dt = ${smallest / 10} (a tenth of the smallest time constant); give --dt to choose`);
  return smallest / 10;
}

function buildLayers(source: string, graph: NirGraph, raw: RawLayer[], dt: number, notes: string[]): ModelLayer[] {
  let defaultedPhi = false,
    defaultedTauR = false;
  const layers = raw.map((l): ModelLayer => {
    const { weights, bias } = fold(l.w, l.nr);
    defaultedPhi ||= l.nr.phi === null;
    defaultedTauR ||= l.nr.tauR === null;
    const tauR = l.nr.tauR ?? l.nr.tauM;
    for (const [what, taus] of [
      ['tau', l.nr.tauM],
      [NEURON_KEYS.tauR, tauR],
    ] as const) {
      const j = taus.findIndex((t) => !(t >= dt));
      if (j >= 0) refuse(source, l.neuronNode, graph.nodes.get(l.neuronNode)!, `${what}[${j}] = ${taus[j]} is below dt = ${dt}; give a smaller --dt`);
    }
    const rows: number[][] = [];
    for (let o = 0; o < l.w.nOut; o++) rows.push(Array.from(weights.subarray(o * l.w.nIn, (o + 1) * l.w.nIn)));
    return {
      phi: l.nr.phi ?? 'linear',
      inputSize: l.w.nIn,
      outputSize: l.w.nOut,
      weights: rows,
      bias: bias === null ? null : Array.from(bias),
      tauM: Array.from(l.nr.tauM),
      tauR: Array.from(tauR),
    };
  });
  if (defaultedPhi) notes.push(`no ${NEURON_KEYS.phi} on some neuron nodes: phi = linear there (NIR's LI emits its state unchanged)`);
  if (defaultedTauR)
    notes.push(
      `no ${NEURON_KEYS.tauR} on some neuron nodes: tau_r = tau_m there (the LE neuron: its output reaches the LI's fixed point without the LI's lag)`,
    );
  return layers;
}

/** The model a NIR graph describes, or a one-line refusal naming the node, its type and why. */
export function nirGraphToModel(graph: NirGraph, source: string, options: ImportOptions = {}): ImportResult {
  refuseUnsupportedTypes(source, graph);
  const chain = chainOf(source, graph);
  const notes: string[] = [];
  const { layers: raw } = readLayers(source, graph, chain, notes);
  const fromGlekit = metaString(source, graph, GRAPH_KEYS.format) === MODEL_FORMAT_TAG;
  const dt = chooseDt(source, graph, raw, options, notes);
  const layers = buildLayers(source, graph, raw, dt, notes);
  const metaTask = metaString(source, graph, GRAPH_KEYS.task);
  const content = {
    tool: metaString(source, graph, GRAPH_KEYS.tool) ?? `glekit ${VERSION} (import from NIR)`,
    task: options.task ?? metaTask ?? 'none',
    network: {
      dt,
      gamma: metaNumber(source, graph, GRAPH_KEYS.gamma) ?? 0,
      beta: metaNumber(source, graph, GRAPH_KEYS.beta) ?? 1,
      loss: choose<LossName>(source, GRAPH_KEYS.loss, metaString(source, graph, GRAPH_KEYS.loss), ['mse', 'ce']) ?? 'mse',
      prospectiveErrors: (metaNumber(source, graph, GRAPH_KEYS.prospectiveErrors) ?? 0) !== 0,
      layers,
    },
    presentation: presentationOf(source, graph, layers.length, notes),
    training: metaJson(source, graph, GRAPH_KEYS.training) ?? { importedFrom: 'nir', file: basename(source), nirVersion: graph.version },
    metrics: (metaJson(source, graph, GRAPH_KEYS.metrics) ?? {}) as Record<string, number>,
  };
  if (options.task === undefined && metaTask === undefined) notes.push('no task in the file: task "none"; give --task to name the task the model is for');
  const model = makeModelFile(content);
  // the model file's own validation (time constants, presentation limits, training fields) as a last guard
  parseModel(JSON.parse(JSON.stringify(model)), source);
  const recorded = metaString(source, graph, GRAPH_KEYS.modelHash);
  return { model, fromGlekit, sameAsExported: recorded === undefined ? null : recorded === model.contentHash, notes };
}
