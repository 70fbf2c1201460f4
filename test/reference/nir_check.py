#!/usr/bin/env python3
"""NIR files checked and written independently of glekit, with h5py (Debian: python3-h5py).

    nir_check.py graph FILE        read a NIR graph as NIR's reader does and type-check it
    nir_check.py data FILE         read NIR graph data (recordings) as NIR's reader does
    nir_check.py write-li OUT      write an Input/Affine/LI/Linear/LI/Output network
    nir_check.py write-lif OUT     write a spiking Input/Affine/LIF/Output network
    nir_check.py write-cubali OUT TAU_SYN   write Input/Affine/CubaLI/Output with that tau_syn

Each prints one JSON object on stdout; a failed check prints the reason on stderr and
exits with 1.

The readers follow the layout and the checks of the Python `nir` package
(nir/serialization.py `read` and `read_data`, nir/ir/*.py): the `node` group read into
a dict (strings decoded), one node object per entry built from exactly the fields its
class takes (an unexpected dataset makes the package's constructor fail, so it fails
here too), each node's input and output type derived as the classes derive them, and
every edge's output type equal to its destination's input type (NIRGraph.check_types).

When the environment variable NIR_SRC names a checkout of the `nir` package's source
(the directory holding nir/), the real package is imported from there and its `read`
(type_check=True) or `read_data` runs on the same file as well; its result is reported
under "reference".
"""
import json
import os
import sys

import h5py
import numpy as np

# fields each node class takes (nir/ir/*.py), required and optional
FIELDS = {
    'Input': ({'shape'}, set()),
    'Output': ({'shape'}, set()),
    'Affine': ({'weight', 'bias'}, set()),
    'Linear': ({'weight'}, set()),
    'Scale': ({'scale'}, set()),
    'LI': ({'tau', 'r', 'v_leak'}, set()),
    'LIF': ({'tau', 'r', 'v_leak', 'v_threshold'}, {'v_reset'}),
    'IF': ({'r', 'v_threshold'}, {'v_reset'}),
    'I': ({'r'}, set()),
    'CubaLI': ({'tau_syn', 'tau_mem', 'r', 'v_leak'}, {'w_in'}),
    'CubaLIF': ({'tau_syn', 'tau_mem', 'r', 'v_leak', 'v_threshold'}, {'v_reset', 'w_in'}),
}


def fail(msg):
    sys.stderr.write(msg + '\n')
    sys.exit(1)


def to_dict(group):
    """The group as nested dicts, byte strings decoded (as serialization.hdf2dict)."""
    out = {}
    for key, item in group.items():
        if isinstance(item, h5py.Group):
            out[key] = to_dict(item)
        else:
            v = item[()]
            out[key] = v.decode('utf8') if isinstance(v, bytes) else v
    return out


def shape_of(a):
    return [int(x) for x in np.asarray(a).shape]


def types_of(name, node):
    """(input type, output type) of a node, derived as its class's __post_init__ does."""
    t = node['type']
    if t in ('Input', 'Output'):
        s = [int(x) for x in np.asarray(node['shape'])]
        return s, s
    if t in ('Affine', 'Linear'):
        w = np.asarray(node['weight'])
        if w.ndim < 2:
            fail(f'node {name}: weight must be at least 2-D')
        if t == 'Affine' and shape_of(node['bias']) != [w.shape[-2]]:
            fail(f'node {name}: bias shape {shape_of(node["bias"])} does not match weight rows {w.shape[-2]}')
        return list(w.shape[:-2]) + [w.shape[-1]], list(w.shape[:-2]) + [w.shape[-2]]
    params = sorted(FIELDS[t][0] | (FIELDS[t][1] & set(node)))
    shapes = {k: shape_of(node[k]) for k in params if k != 'w_in'}
    if len({tuple(s) for s in shapes.values()}) != 1:
        fail(f'node {name}: parameters of different shapes {shapes}')
    s = next(iter(shapes.values()))
    return s, s


def check_graph(path):
    with h5py.File(path, 'r') as f:
        if 'version' not in f or 'node' not in f:
            fail(f'{path}: no version or node')
        version = f['version'][()].decode('utf8')
        top = to_dict(f['node'])
    if top.get('type') != 'NIRGraph':
        fail(f'{path}: top node is not a NIRGraph')
    extra = set(top) - {'type', 'nodes', 'edges', 'metadata'}
    if extra:
        fail(f'{path}: graph has unexpected entries {sorted(extra)}')
    nodes, io = {}, {}
    for name, node in top['nodes'].items():
        t = node.get('type')
        if t not in FIELDS:
            fail(f'node {name}: type {t} is not one this checker knows')
        required, optional = FIELDS[t]
        keys = set(node) - {'type', 'metadata'}
        if not required <= keys:
            fail(f'node {name} ({t}): missing {sorted(required - keys)}')
        if keys - required - optional:
            fail(f'node {name} ({t}): unexpected fields {sorted(keys - required - optional)} (the constructor would fail)')
        io[name] = types_of(name, node)
        nodes[name] = {
            'type': t,
            'fields': {k: {'shape': shape_of(node[k]), 'dtype': str(np.asarray(node[k]).dtype)} for k in sorted(keys)},
            'metadata': {k: (v if isinstance(v, str) else np.asarray(v).tolist()) for k, v in node.get('metadata', {}).items()},
        }
    edges = [(a.decode('utf8') if isinstance(a, bytes) else a, b.decode('utf8') if isinstance(b, bytes) else b) for a, b in top['edges']]
    for a, b in edges:
        if a not in io or b not in io:
            fail(f'edge {a} -> {b} names a missing node')
        if io[a][1] != io[b][0]:
            fail(f'type mismatch: {a}.output {io[a][1]} -> {b}.input {io[b][0]}')
    graph_meta = {k: (v if isinstance(v, str) else np.asarray(v).tolist()) for k, v in top.get('metadata', {}).items()}
    result = {'version': version, 'nodes': nodes, 'edges': edges, 'metadata': graph_meta, 'typeCheck': 'passed'}
    if os.environ.get('NIR_SRC'):
        result['reference'] = reference_read(path)
    return result


def reference_read(path):
    sys.path.insert(0, os.environ['NIR_SRC'])
    import nir  # noqa: E402  (the real package, from its source)
    g = nir.read(path, type_check=True)
    return {
        'package': os.path.dirname(nir.__file__),
        'types': {k: type(n).__name__ for k, n in g.nodes.items()},
        'edges': [list(e) for e in g.edges],
        'inputType': {k: np.asarray(v).tolist() for k, v in (g.input_type or {}).items()},
        'outputType': {k: np.asarray(v).tolist() for k, v in (g.output_type or {}).items()},
    }


def attr_str(v):
    return v.decode('utf8') if isinstance(v, bytes) else v


def read_data(path):
    out = {}
    with h5py.File(path, 'r') as f:
        if f.attrs.get('__type__') != 'NIRGraphData':
            fail(f'{path}: root __type__ is {f.attrs.get("__type__")!r}, not the string NIRGraphData')
        for name, g in f['nodes'].items():
            if g.attrs['__type__'] != 'NIRNodeData':
                fail(f'node {name}: __type__ {g.attrs["__type__"]!r}')
            obs = {}
            for key, o in g['observables'].items():
                if o.attrs['__type__'] != 'TimeGriddedData':
                    fail(f'{name}/{key}: __type__ {o.attrs["__type__"]!r}')
                data = o['data'][()]
                if not isinstance(data, np.ndarray) or data.ndim != 3:
                    fail(f'{name}/{key}: data must be (samples, steps, neurons)')
                obs[key] = {'dt': float(o.attrs['dt']), 'shape': list(data.shape), 'dtype': str(data.dtype), 'data': data.ravel().tolist()}
            out[name] = obs
    result = {'nodes': out}
    if os.environ.get('NIR_SRC'):
        sys.path.insert(0, os.environ['NIR_SRC'])
        import nir  # noqa: E402
        gd = nir.read_data(path)
        for name, nd in gd.nodes.items():
            for key, o in nd.observables.items():
                mine = np.asarray(out[name][key]['data']).reshape(out[name][key]['shape'])
                if not (np.array_equal(o.data, mine) and o.dt == out[name][key]['dt']):
                    fail(f'{name}/{key}: the nir package reads other values')
        result['reference'] = {'package': os.path.dirname(nir.__file__), 'nodes': {k: sorted(v.observables) for k, v in gd.nodes.items()}}
    return result


# ---- the independent writer: NIR's layout with h5py, float32 arrays as torch-based tools write them

def write_graph(path, version, nodes, edges):
    def put(group, d):
        for k, v in d.items():
            if isinstance(v, dict):
                put(group.create_group(k), v)
            elif isinstance(v, str):
                group.create_dataset(k, data=v, dtype=h5py.string_dtype())
            else:
                group.create_dataset(k, data=v)
    with h5py.File(path, 'w') as f:
        f.create_dataset('version', data=version, dtype=h5py.string_dtype())
        top = f.create_group('node')
        top.create_dataset('type', data='NIRGraph', dtype=h5py.string_dtype())
        put(top.create_group('nodes'), nodes)
        top.create_dataset('edges', data=np.array(edges, dtype=object), dtype=h5py.string_dtype())


def f32(x):
    return np.asarray(x, dtype=np.float32)


def write_li(path):
    rng = np.random.default_rng(7)
    w1, b1 = f32(rng.normal(0, 0.5, (4, 3))), f32(rng.normal(0, 0.1, 4))
    w2 = f32(rng.normal(0, 0.5, (2, 4)))
    tau1, tau2 = f32([0.02, 0.03, 0.05, 0.04]), f32([0.01, 0.02])
    r2, v_leak2 = f32([2.0, 0.5]), f32([0.25, -0.5])
    nodes = {
        'in': {'type': 'Input', 'shape': np.array([3], dtype=np.int64)},
        'fc1': {'type': 'Affine', 'weight': w1, 'bias': b1},
        'li1': {'type': 'LI', 'tau': tau1, 'r': f32(np.ones(4)), 'v_leak': f32(np.zeros(4))},
        'fc2': {'type': 'Linear', 'weight': w2},
        'li2': {'type': 'LI', 'tau': tau2, 'r': r2, 'v_leak': v_leak2},
        'out': {'type': 'Output', 'shape': np.array([2], dtype=np.int64)},
    }
    write_graph(path, '1.0.7', nodes, [('in', 'fc1'), ('fc1', 'li1'), ('li1', 'fc2'), ('fc2', 'li2'), ('li2', 'out')])
    as64 = lambda a: np.asarray(a, dtype=np.float64).tolist()  # noqa: E731 (exact: float32 -> float64)
    return {'w1': as64(w1), 'b1': as64(b1), 'w2': as64(w2), 'tau1': as64(tau1), 'tau2': as64(tau2), 'r2': as64(r2), 'v_leak2': as64(v_leak2)}


def write_lif(path):
    # the shape of NIR's LIF example (paper/01_lif): one input, one Affine, one LIF
    nodes = {
        '0': {'type': 'Affine', 'weight': f32([[1.0]]), 'bias': f32([0.0])},
        '1': {'type': 'LIF', 'tau': f32([0.0025]), 'r': f32([1.0]), 'v_leak': f32([0.0]), 'v_threshold': f32([0.1])},
        'input': {'type': 'Input', 'shape': np.array([1], dtype=np.int64)},
        'output': {'type': 'Output', 'shape': np.array([1], dtype=np.int64)},
    }
    write_graph(path, '0.1.1', nodes, [('input', '0'), ('0', '1'), ('1', 'output')])
    return {'written': path}


def write_cubali(path, tau_syn):
    nodes = {
        'input': {'type': 'Input', 'shape': np.array([2], dtype=np.int64)},
        'affine': {'type': 'Affine', 'weight': f32([[1.0, -1.0], [0.5, 2.0]]), 'bias': f32([0.0, 0.25])},
        'cubali': {'type': 'CubaLI', 'tau_syn': f32([tau_syn, tau_syn]), 'tau_mem': f32([0.02, 0.02]), 'r': f32([1.0, 1.0]),
                   'v_leak': f32([0.0, 0.0]), 'w_in': f32([2.0, 1.0])},
        'output': {'type': 'Output', 'shape': np.array([2], dtype=np.int64)},
    }
    write_graph(path, '1.0.7', nodes, [('input', 'affine'), ('affine', 'cubali'), ('cubali', 'output')])
    return {'written': path}


def main(argv):
    if len(argv) < 3:
        fail(__doc__)
    cmd, path = argv[1], argv[2]
    if cmd == 'graph':
        result = check_graph(path)
    elif cmd == 'data':
        result = read_data(path)
    elif cmd == 'write-li':
        result = write_li(path)
    elif cmd == 'write-lif':
        result = write_lif(path)
    elif cmd == 'write-cubali':
        result = write_cubali(path, float(argv[3]))
    else:
        fail(f'unknown command {cmd}')
    sys.stdout.write(json.dumps(result) + '\n')


if __name__ == '__main__':
    main(sys.argv)
