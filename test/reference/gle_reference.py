#!/usr/bin/env python3
"""Independent numpy model of the GLE discrete-time scheme, used only to produce
golden traces for glekit's conformance tests (test/fixtures/trace-*.json).

It is written in the structure of the published PyTorch code (one object per layer
holding u, v, r, r_prime, e_bottom and their next_* copies; a network forward that
calls the layers bottom to top, each reading the old state of its neighbours, then
commits all next_* together), not in the structure of glekit's engine, so that an
indexing or ordering mistake in either shows up as a disagreement.

Usage: gle_reference.py SPEC.json TRACE.json
"""
import json
import sys

import numpy as np


def phi_and_prime(name):
    key = name.lower().replace('_', '').replace('-', '')
    sig = lambda x: 1.0 / (1.0 + np.exp(-x))
    table = {
        'linear': (lambda x: x.copy(), lambda x: np.ones_like(x)),
        'tanh': (np.tanh, lambda x: 1.0 - np.tanh(x) ** 2),
        'sigmoid': (sig, lambda x: sig(x) * (1.0 - sig(x))),
        'hardsigmoid': (lambda x: np.clip(x, 0.0, 1.0), lambda x: ((x >= 0) & (x <= 1)).astype(x.dtype)),
        'relu': (lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(x.dtype)),
        'softplus': (lambda x: np.where(x > 20, x, np.log1p(np.exp(np.minimum(x, 20)))), sig),
    }
    return table[key]


class Layer:
    def __init__(self, spec, dt, gamma, prospective, dtype):
        self.W = np.array(spec['weights'], dtype=dtype)
        self.b = None if spec['bias'] is None else np.array(spec['bias'], dtype=dtype)
        self.tau_m = np.array(spec['tauM'], dtype=dtype)
        self.tau_r = np.array(spec['tauR'], dtype=dtype)
        self.phi, self.phi_prime = phi_and_prime(spec['phi'])
        self.dt, self.gamma, self.prospective, self.dtype = dt, gamma, prospective, dtype
        self.u = None

    def init(self, batch):
        n_out, n_in = self.W.shape
        z = lambda n: np.zeros((batch, n), dtype=self.dtype)
        self.u, self.v, self.r, self.r_prime, self.e_bottom = z(n_out), z(n_out), z(n_out), z(n_out), z(n_in)

    def __call__(self, r_bottom, inst_e):
        inst_e = inst_e * self.r_prime
        inst_s = r_bottom @ self.W.T
        if self.b is not None:
            inst_s = inst_s + self.b
        if self.prospective:
            v_dot = (inst_e - self.v) / self.tau_r
            v = self.v + self.dt * v_dot
            prosp_v = self.v + self.tau_m * v_dot
        else:
            v = inst_e.copy()
            prosp_v = inst_e.copy()
        u_dot = (inst_s + self.gamma * prosp_v - self.u) / self.tau_m
        u = self.u + self.dt * u_dot
        prosp_u = self.u + self.tau_r * u_dot
        batch = r_bottom.shape[0]
        self.grad_W = -(prosp_v[:, :, None] * r_bottom[:, None, :]).sum(0) / batch
        self.grad_b = None if self.b is None else -prosp_v.sum(0) / batch
        self.grad_tau_m = (prosp_v * u_dot).sum(0) / batch
        e_bottom = prosp_v @ self.W
        self.prosp_u, self.prosp_v = prosp_u, prosp_v
        self.next = (u, v, self.phi(prosp_u), self.phi_prime(prosp_u), e_bottom)

    def commit(self):
        self.u, self.v, self.r, self.r_prime, self.e_bottom = self.next


def run(spec):
    dtype = np.float64 if spec['dtype'] == 'float64' else np.float32
    layers = [Layer(ls, spec['dt'], spec['gamma'], spec['prospectiveErrors'], dtype) for ls in spec['layers']]
    learning = spec.get('learning')
    targets = spec.get('targets') or [None] * len(spec['inputs'])
    batch = len(spec['inputs'][0])
    for layer in layers:
        layer.init(batch)
    steps = []
    for k, (xk, yk) in enumerate(zip(spec['inputs'], targets)):
        x = np.array(xk, dtype=dtype)
        top = layers[-1]
        if yk is None:
            top_error = np.zeros_like(top.r)
        elif spec['loss'] == 'mse':
            top_error = spec['beta'] * (np.array(yk, dtype=dtype) - top.r)
        else:
            z = top.r - top.r.max(axis=1, keepdims=True)
            p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
            top_error = spec['beta'] * (np.array(yk, dtype=dtype) - p)
        for i, layer in enumerate(layers):
            bottom = x if i == 0 else layers[i - 1].r
            err = top_error if i == len(layers) - 1 else layers[i + 1].e_bottom
            layer(bottom, err)
        for layer in layers:
            layer.commit()
        if learning is not None and k >= learning.get('startStep', 0):
            lr = learning['lr']
            for layer in layers:
                if learning.get('weights'):
                    layer.W = layer.W - lr * layer.grad_W
                if learning.get('biases') and layer.b is not None:
                    layer.b = layer.b - lr * layer.grad_b
                if learning.get('tauM'):
                    layer.tau_m = layer.tau_m - lr * layer.grad_tau_m
                tau_min = learning.get('tauMin') or 0.0
                layer.tau_m = np.maximum(layer.tau_m, tau_min)
                layer.tau_r = np.maximum(layer.tau_r, tau_min)
        steps.append({'layers': [
            {'u': l.u.tolist(), 'v': l.v.tolist(), 'r': l.r.tolist(),
             'prospU': l.prosp_u.tolist(), 'prospV': l.prosp_v.tolist()} for l in layers]})
    final = {'layers': [{'weights': l.W.tolist(), 'bias': None if l.b is None else l.b.tolist(),
                         'tauM': l.tau_m.tolist()} for l in layers]}
    return {'steps': steps, 'final': final}


if __name__ == '__main__':
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    with open(sys.argv[2], 'w') as f:
        json.dump(run(spec), f)
