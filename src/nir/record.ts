/**
 * What glekit records, written as NIR graph data (data.ts): the float engine's trace
 * (`glekit trace --record-nir`), and the per-layer states of an integer target, the
 * emulators (`glekit emulate --record-nir`) or a board (`glekit hil compare
 * --record-nir`). Each layer's neurons are the node `layer{l}_li` of the exported graph.
 */
import type { Descriptor } from '../descriptor/index.js';
import { loadDescriptorFile } from '../descriptor/index.js';
import { checkBoardRuns, deviceTarget, withBoard, type ConnectOptions } from '../device/index.js';
import { cEngineTarget, descriptorSplit, fixedTarget, type EngineName, type SplitName, type Target } from '../target/index.js';
import type { TraceResult, TraceSpec } from '../trace/index.js';
import type { ClassificationSplit } from '../tasks/types.js';
import { VERSION } from '../version.js';
import { checkRecordingSize, writeNirData, type GriddedObservable, type NirGraphDataOut } from './data.js';
import { INPUT_NODE, neuronNodeName } from './mapping.js';

const TRACE_KEYS = ['u', 'v', 'r', 'prospU', 'prospV'] as const;

/** A trace's states as graph data: per layer u, v, r, prospU, prospV (the TRACE names), batch x steps x neurons; the inputs as `input`/`x`. */
export function traceToNirData(spec: TraceSpec, trace: TraceResult): NirGraphDataOut {
  const steps = trace.steps.length,
    batch = spec.batch,
    dt = spec.network.dt;
  const nIn = spec.network.layers[0].inputSize;
  const x = new Float64Array(batch * steps * nIn);
  spec.inputs.forEach((step, k) => {
    for (let b = 0; b < batch; b++) x.set(step.subarray(b * nIn, (b + 1) * nIn), (b * steps + k) * nIn);
  });
  const nodes: NirGraphDataOut['nodes'] = [[INPUT_NODE, [['x', { data: x, samples: batch, steps, neurons: nIn, dt }]]]];
  spec.network.layers.forEach((layer, l) => {
    const n = layer.outputSize;
    const observables = TRACE_KEYS.map((key): [string, GriddedObservable] => {
      const data = new Float64Array(batch * steps * n);
      trace.steps.forEach((s, k) => {
        const rows = s.layers[l][key];
        for (let b = 0; b < batch; b++) data.set(rows[b], (b * steps + k) * n);
      });
      return [key, { data, samples: batch, steps, neurons: n, dt }];
    });
    nodes.push([neuronNodeName(l), observables]);
  });
  return { nodes, attrs: { glekit_tool: `glekit ${VERSION}`, glekit_source: 'trace (float engine)' } };
}

/** Writes a trace as NIR graph data; returns the file's size in bytes. */
export function writeTraceRecording(path: string, spec: TraceSpec, trace: TraceResult): Promise<number> {
  return writeNirData(path, traceToNirData(spec, trace));
}

/** Values an integer target records for `count` samples: per step, each layer's membranes and rates. */
export function recordedValues(d: Descriptor, count: number): number {
  return count * d.network.presentation.stepsPerSample * d.network.layers.reduce((a, l) => a + 2 * l.nOut, 0);
}

/**
 * An integer target's recorded states (per sample, per step, each layer's membrane codes
 * then rate codes) as graph data: per layer `u` (membrane) and `r` (rate) as real values,
 * code x 2^-F of the layer's format, exact in float64; the attribute glekit_lsb (2^-F)
 * gives the codes back.
 */
export function statesToNirData(d: Descriptor, states: ArrayLike<number>, count: number, source: string): NirGraphDataOut {
  const n = d.network,
    steps = n.presentation.stepsPerSample;
  const perStep = n.layers.reduce((a, l) => a + 2 * l.nOut, 0);
  const nodes: NirGraphDataOut['nodes'] = [];
  let offset = 0;
  n.layers.forEach((layer, l) => {
    const observables: [string, GriddedObservable][] = [];
    for (const [key, format] of [
      ['u', layer.membraneFormat],
      ['r', layer.rateFormat],
    ] as const) {
      const data = new Float64Array(count * steps * layer.nOut);
      for (let s = 0; s < count; s++) {
        for (let t = 0; t < steps; t++) {
          const from = (s * steps + t) * perStep + offset,
            to = (s * steps + t) * layer.nOut;
          for (let j = 0; j < layer.nOut; j++) data[to + j] = states[from + j] * format.lsb;
        }
      }
      observables.push([
        key,
        { data, samples: count, steps, neurons: layer.nOut, dt: n.dt, attrs: { glekit_lsb: format.lsb, glekit_format: format.toString() } },
      ]);
      offset += layer.nOut;
    }
    nodes.push([neuronNodeName(l), observables]);
  });
  const attrs: Record<string, string | number> = {
    glekit_tool: `glekit ${VERSION}`,
    glekit_source: source,
    glekit_profile: d.header.profile.name,
    glekit_model_hash: d.header.model.hash,
  };
  if (n.dtSeconds !== null) attrs.glekit_dt_seconds = n.dtSeconds;
  return { nodes, attrs };
}

async function recordTarget(path: string, d: Descriptor, target: Target, split: ClassificationSplit): Promise<{ samples: number; bytes: number }> {
  const out = await target.run(split, { record: true });
  if (out.states === null) throw new Error(`internal: ${target.label} returned no states`);
  const bytes = await writeNirData(path, statesToNirData(d, out.states, split.count, target.label));
  return { samples: split.count, bytes };
}

export interface RecordRequest {
  descriptorPath: string;
  task: string;
  split?: SplitName;
  dataSeed?: number;
  limit?: number;
  out: string;
}

const LIMIT_HINT = 'record fewer samples with --limit';

/** `glekit emulate --record-nir`: the integer engine's per-layer states on the same samples, as NIR graph data. */
export async function recordEmulation(req: RecordRequest & { engine: EngineName }): Promise<{ samples: number; bytes: number }> {
  const { descriptor: d, bytes } = loadDescriptorFile(req.descriptorPath);
  const { split } = descriptorSplit(d, req.descriptorPath, req.task, req.split, req.dataSeed, req.limit);
  checkRecordingSize(recordedValues(d, split.count), req.descriptorPath, LIMIT_HINT);
  return recordTarget(req.out, d, req.engine === 'ts' ? fixedTarget(d) : cEngineTarget(d, bytes), split);
}

/** `glekit hil compare --record-nir`: the board's per-layer states on the same samples, as NIR graph data. */
export async function recordBoard(req: RecordRequest & { port: string; connect?: ConnectOptions }): Promise<{ samples: number; bytes: number }> {
  const { descriptor: d, bytes } = loadDescriptorFile(req.descriptorPath);
  const { split } = descriptorSplit(d, req.descriptorPath, req.task, req.split, req.dataSeed, req.limit);
  checkRecordingSize(recordedValues(d, split.count), req.descriptorPath, LIMIT_HINT);
  return withBoard(req.port, req.connect ?? {}, async (client) => {
    await checkBoardRuns(client, bytes, req.descriptorPath);
    return recordTarget(req.out, d, deviceTarget(client, d), split);
  });
}
