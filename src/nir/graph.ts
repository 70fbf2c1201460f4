/**
 * A NIR graph in NIR's own HDF5 layout (the Python package's nir/serialization.py): a
 * `version` string dataset at the root and a `node` group for the graph, whose `type`
 * is "NIRGraph", with a `nodes` group (one group per node: a `type` string dataset, one
 * dataset per field, an optional `metadata` group) and `edges`, an n x 2 dataset of
 * variable-length UTF-8 strings (source, destination). Strings are variable-length
 * UTF-8, as h5py writes them; arrays keep their shapes. docs/nir.md describes the
 * layout and glekit's mapping onto it.
 */
import { GlekitError } from '../util/errors.js';
import {
  readChild,
  withHdf5Reader,
  writeHdf5,
  type LeafValue,
  type NumericValue,
  type TreeGroup,
  type TreeNode,
  type WriteGroup,
  type WriteValue,
} from './hdf5.js';

/** The NIR release whose layout glekit writes (the version string NIR's own writer would put). */
export const NIR_VERSION = '1.0.7';
/** Major versions of NIR whose files glekit reads (0.x files use the same layout for the nodes glekit maps). */
export const NIR_READABLE_MAJORS = [0, 1] as const;

/** A node's field or metadata value as read: numbers as float64 with their shape, strings, or a nested group. */
export type NirValue = LeafValue | TreeGroup;

export interface NirNode {
  type: string;
  /** every dataset and group of the node but `type` and `metadata` */
  fields: Map<string, NirValue>;
  metadata: Map<string, NirValue>;
}

export interface NirGraph {
  version: string;
  nodes: Map<string, NirNode>;
  edges: [string, string][];
  metadata: Map<string, NirValue>;
}

/** What a writer gives for a node: its type, its fields and its metadata. */
export interface NirNodeOut {
  type: string;
  fields: Record<string, WriteValue>;
  metadata?: Record<string, WriteValue>;
}

export interface NirGraphOut {
  nodes: [string, NirNodeOut][];
  edges: [string, string][];
  metadata: Record<string, WriteValue>;
}

function nodeTree(n: NirNodeOut): WriteGroup {
  const g: WriteGroup = { type: n.type, ...n.fields };
  // NIR's writer leaves an empty metadata group out
  if (n.metadata !== undefined && Object.keys(n.metadata).length > 0) g.metadata = { ...n.metadata };
  return g;
}

/** Writes a graph as a NIR file; returns its size in bytes. */
export async function writeNirGraph(path: string, graph: NirGraphOut): Promise<number> {
  const nodes: WriteGroup = {};
  for (const [name, n] of graph.nodes) nodes[name] = nodeTree(n);
  const root = nodeTree({ type: 'NIRGraph', fields: {}, metadata: graph.metadata });
  root.nodes = nodes;
  root.edges = { strings: graph.edges.flat(), shape: [graph.edges.length, 2] };
  return writeHdf5(path, { version: NIR_VERSION, node: root });
}

/** A scalar string dataset's value, or null when the leaf is not one string. */
export function stringOf(v: NirValue | TreeNode | undefined): string | null {
  return v !== undefined && v.kind === 'string' && v.values.length === 1 && v.shape.length === 0 ? v.values[0] : null;
}

/** The numeric leaf, or null. */
export function numericOf(v: NirValue | undefined): NumericValue | null {
  return v !== undefined && v.kind === 'numeric' ? v : null;
}

function checkVersion(path: string, root: TreeGroup): string {
  const v = root.children.get('version');
  if (v === undefined) throw new GlekitError(`${path}: not a NIR file: no 'version' dataset (NIR's writer puts one at the root)`);
  const version = stringOf(v);
  if (version === null) throw new GlekitError(`${path}: not a NIR file: 'version' is not a string`);
  const m = /^(\d+)\.(\d+)(\.\d+)?([.+-].*)?$/.exec(version);
  if (m === null || !(NIR_READABLE_MAJORS as readonly number[]).includes(Number(m[1]))) {
    throw new GlekitError(
      `${path}: NIR version ${JSON.stringify(version)} is not one glekit reads (it reads ${NIR_READABLE_MAJORS.map((x) => `${x}.x`).join(' and ')}; it writes ${NIR_VERSION})`,
    );
  }
  return version;
}

function readNode(path: string, name: string, g: TreeNode | undefined): NirNode {
  if (g === undefined || g.kind !== 'group') throw new GlekitError(`${path}: node ${JSON.stringify(name)}: not a group`);
  const type = stringOf(g.children.get('type'));
  if (type === null) throw new GlekitError(`${path}: node ${JSON.stringify(name)}: no 'type' string`);
  const fields = new Map<string, NirValue>();
  const metadata = new Map<string, NirValue>();
  for (const [k, v] of g.children) {
    if (k === 'type') continue;
    if (k === 'metadata' && v.kind === 'group') for (const [mk, mv] of v.children) metadata.set(mk, mv);
    else fields.set(k, v);
  }
  return { type, fields, metadata };
}

function readEdges(path: string, g: TreeGroup, nodes: Map<string, NirNode>): [string, string][] {
  const e = g.children.get('edges');
  if (e === undefined) throw new GlekitError(`${path}: not a NIR graph: no 'edges' dataset`);
  if (e.kind === 'numeric' && e.data.length === 0) return [];
  if (e.kind !== 'string' || e.shape.length !== 2 || e.shape[1] !== 2) {
    throw new GlekitError(`${path}: not a NIR graph: 'edges' must be an n x 2 array of node names`);
  }
  const edges: [string, string][] = [];
  for (let i = 0; i < e.shape[0]; i++) {
    const pair: [string, string] = [e.values[2 * i], e.values[2 * i + 1]];
    for (const n of pair)
      if (!nodes.has(n)) throw new GlekitError(`${path}: edge ${i} (${pair.join(' -> ')}) names node ${JSON.stringify(n)}, which the graph does not have`);
    edges.push(pair);
  }
  return edges;
}

/**
 * Reads a NIR file into a graph of typed nodes, without judging what the nodes are (the
 * importer does that). Refuses, in one line naming the file: a file that is not HDF5,
 * one without NIR's `version` and `node`, a version of a NIR major glekit does not read,
 * a top node that is not a NIRGraph.
 */
export async function readNirGraph(path: string): Promise<NirGraph> {
  const tree = await withHdf5Reader(path, 'NIR file', (root) => {
    // read only the two entries NIR defines; anything else at the root is not ours to read
    const t: TreeGroup = { kind: 'group', children: new Map(), attrs: new Map() };
    for (const k of ['version', 'node']) {
      const c = readChild(root, k);
      if (c !== null) t.children.set(k, c);
    }
    return t;
  });
  const version = checkVersion(path, tree);
  const node = tree.children.get('node');
  if (node === undefined || node.kind !== 'group') throw new GlekitError(`${path}: not a NIR file: no 'node' group (NIR's writer puts the graph there)`);
  const top = readNode(path, 'node', node);
  if (top.type !== 'NIRGraph') throw new GlekitError(`${path}: the top node is a ${top.type}, not a NIRGraph`);
  const nodesGroup = node.children.get('nodes');
  if (nodesGroup === undefined || nodesGroup.kind !== 'group') throw new GlekitError(`${path}: not a NIR graph: no 'nodes' group`);
  const nodes = new Map<string, NirNode>();
  for (const [name, g] of nodesGroup.children) nodes.set(name, readNode(path, name, g));
  return { version, nodes, edges: readEdges(path, node, nodes), metadata: top.metadata };
}
