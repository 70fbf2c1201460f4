/**
 * Recordings as NIR graph data, in the layout of the Python package's
 * nir/serialization.py (write_data / read_data): the root carries the attribute
 * __type__ = "NIRGraphData" and a group `nodes`; each node a group with __type__ =
 * "NIRNodeData" and a group `observables`; each observable a group with __type__ =
 * "TimeGriddedData", the attribute `dt` and a dataset `data` of shape (samples, time
 * steps, neurons). Node names are those of the exported graph (mapping.ts), so a
 * recording lines up with `glekit export`'s file.
 */
import { GlekitError } from '../util/errors.js';
import { ATTRS, readChild, withHdf5Reader, writeHdf5, type WriteGroup } from './hdf5.js';

export interface GriddedObservable {
  /** samples x steps x neurons, row-major */
  data: Float64Array;
  samples: number;
  steps: number;
  neurons: number;
  dt: number;
  /** extra attributes on the observable's group (NIR's reader ignores them) */
  attrs?: Record<string, string | number>;
}

export interface NirGraphDataOut {
  nodes: [string, [string, GriddedObservable][]][];
  /** extra attributes on the root (NIR's reader ignores them) */
  attrs: Record<string, string | number>;
}

/** Most values a recording may hold: 160 MB of float64 before compression. */
export const MAX_RECORDED_VALUES = 20_000_000;

/** Refuses, before any work, a recording larger than MAX_RECORDED_VALUES. */
export function checkRecordingSize(values: number, what: string, fix: string): void {
  if (values > MAX_RECORDED_VALUES) {
    throw new GlekitError(
      `${what}: the NIR recording would hold ${values} values (${((values * 8) / 1e6).toFixed(0)} MB), more than the limit of ${MAX_RECORDED_VALUES}; ${fix}`,
    );
  }
}

function observableTree(o: GriddedObservable): WriteGroup {
  const expected = o.samples * o.steps * o.neurons;
  if (o.data.length !== expected) throw new GlekitError(`internal: an observable holds ${o.data.length} values, not ${o.samples} x ${o.steps} x ${o.neurons}`);
  return { [ATTRS]: { __type__: 'TimeGriddedData', dt: o.dt, ...o.attrs }, data: { float64: o.data, shape: [o.samples, o.steps, o.neurons] } };
}

/** Writes graph data as a NIR data file; returns its size in bytes. */
export async function writeNirData(path: string, graphData: NirGraphDataOut): Promise<number> {
  const nodes: WriteGroup = {};
  for (const [name, observables] of graphData.nodes) {
    const obs: WriteGroup = {};
    for (const [key, o] of observables) obs[key] = observableTree(o);
    nodes[name] = { [ATTRS]: { __type__: 'NIRNodeData' }, observables: obs };
  }
  return writeHdf5(path, { [ATTRS]: { __type__: 'NIRGraphData', ...graphData.attrs }, nodes });
}

export interface ReadObservable {
  shape: number[];
  data: Float64Array;
  dt: number;
}

/** Reads a NIR data file of time-gridded observables (what glekit writes) back: node -> observable -> values. */
export async function readNirData(path: string): Promise<Map<string, Map<string, ReadObservable>>> {
  const root = await withHdf5Reader(path, 'NIR data file', (f) => ({ type: f.attrs.__type__?.value, nodes: readChild(f, 'nodes') }));
  if (root.type !== 'NIRGraphData') throw new GlekitError(`${path}: not NIR graph data: the root's __type__ is not "NIRGraphData"`);
  if (root.nodes === null || root.nodes.kind !== 'group') throw new GlekitError(`${path}: not NIR graph data: no 'nodes' group`);
  const out = new Map<string, Map<string, ReadObservable>>();
  for (const [name, node] of root.nodes.children) {
    const obs = node.kind === 'group' ? node.children.get('observables') : undefined;
    if (obs === undefined || obs.kind !== 'group') throw new GlekitError(`${path}: node ${name}: no 'observables' group`);
    const m = new Map<string, ReadObservable>();
    for (const [key, g] of obs.children) {
      const data = g.kind === 'group' ? g.children.get('data') : undefined;
      const dt = g.kind === 'group' ? g.attrs.get('dt') : undefined;
      if (data?.kind !== 'numeric' || dt?.kind !== 'numeric')
        throw new GlekitError(`${path}: node ${name}, observable ${key}: not time-gridded data with a dt`);
      m.set(key, { shape: data.shape, data: data.data, dt: dt.data[0] });
    }
    out.set(name, m);
  }
  return out;
}
