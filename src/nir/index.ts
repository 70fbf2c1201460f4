/**
 * NIR, the Neuromorphic Intermediate Representation: glekit's networks as NIR graphs
 * (export), NIR graphs from other tools as glekit models (import), and glekit's
 * recordings as NIR graph data, all in NIR's own HDF5 layout (docs/nir.md).
 */
import { loadModel, saveModel, type ModelFile } from '../model/model-file.js';
import { modelToNirGraph } from './export.js';
import { readNirGraph, writeNirGraph, NIR_VERSION } from './graph.js';
import { nirGraphToModel, type ImportOptions, type ImportResult } from './import.js';

export { modelToNirGraph } from './export.js';
export { nirGraphToModel, type ImportOptions, type ImportResult } from './import.js';
export { readNirGraph, writeNirGraph, NIR_VERSION, NIR_READABLE_MAJORS, type NirGraph, type NirNode, type NirGraphOut, type NirNodeOut } from './graph.js';
export { readNirData, writeNirData, MAX_RECORDED_VALUES, type GriddedObservable, type NirGraphDataOut, type ReadObservable } from './data.js';
export { traceToNirData, statesToNirData, writeTraceRecording, recordEmulation, recordBoard, type RecordRequest } from './record.js';
export { GRAPH_KEYS, NEURON_KEYS, INPUT_NODE, OUTPUT_NODE, neuronNodeName, weightNodeName } from './mapping.js';

export interface ExportSummary {
  model: string;
  modelHash: string;
  out: string;
  nirVersion: string;
  nodes: number;
  layers: number;
  bytes: number;
}

/** Writes a model as a NIR file. */
export async function exportModel(model: ModelFile, out: string, modelPath = '(model)'): Promise<ExportSummary> {
  const graph = modelToNirGraph(model);
  const bytes = await writeNirGraph(out, graph);
  return {
    model: modelPath,
    modelHash: model.contentHash,
    out,
    nirVersion: NIR_VERSION,
    nodes: graph.nodes.length,
    layers: model.network.layers.length,
    bytes,
  };
}

/** `glekit export --to nir`: the model file at `modelPath` as a NIR file at `out`. */
export function exportModelFile(modelPath: string, out: string): Promise<ExportSummary> {
  return exportModel(loadModel(modelPath), out, modelPath);
}

/** Reads a NIR file as a glekit model (refusing what glekit cannot represent). */
export async function importNirFile(path: string, options: ImportOptions = {}): Promise<ImportResult> {
  return nirGraphToModel(await readNirGraph(path), path, options);
}

/** `glekit import --from nir`: a NIR file as a model file at `out`. */
export async function importNirToModelFile(path: string, out: string, options: ImportOptions = {}): Promise<ImportResult> {
  const result = await importNirFile(path, options);
  saveModel(out, result.model);
  return result;
}
