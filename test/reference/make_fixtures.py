#!/usr/bin/env python3
"""Writes the conformance fixtures: random SPECs and their traces from gle_reference.py.
Run from the repository root: python3 test/reference/make_fixtures.py"""
import json
import os

import numpy as np

from gle_reference import run

OUT = os.path.join('test', 'fixtures', 'conformance')
rng = np.random.default_rng(20261128)


def layer(n_in, n_out, phi, tau_m, tau_r, bias=True, scale=0.5):
    return {'phi': phi, 'weights': (rng.normal(0, scale, (n_out, n_in))).tolist(),
            'bias': rng.normal(0, 0.1, n_out).tolist() if bias else None,
            'tauM': list(np.broadcast_to(tau_m, n_out).astype(float)),
            'tauR': list(np.broadcast_to(tau_r, n_out).astype(float))}


def stimulus(steps, batch, n, kind='sine'):
    t = np.arange(steps)[:, None, None]
    phase = rng.uniform(0, 6.28, (1, batch, n))
    if kind == 'sine':
        return (np.sin(0.05 * t + phase) + 0.1 * rng.normal(size=(steps, batch, n))).tolist()
    return rng.uniform(0, 1, (steps, batch, n)).tolist()


def targets(steps, batch, n, every=1, onehot=False):
    out = []
    for k in range(steps):
        if k % every:
            out.append(None)
        elif onehot:
            idx = rng.integers(0, n, batch)
            out.append(np.eye(n)[idx].tolist())
        else:
            out.append(rng.uniform(0, 1, (batch, n)).tolist())
    return out


specs = {
    'le-mse-hardsigmoid': {
        'dtype': 'float64', 'dt': 0.1, 'gamma': 0.0, 'beta': 0.1, 'loss': 'mse', 'prospectiveErrors': False,
        'layers': [layer(4, 6, 'hard_sigmoid', 1.0, 1.0), layer(6, 3, 'linear', 1.0, 1.0)],
        'learning': {'optimizer': 'sgd', 'lr': 0.05, 'startStep': 5, 'weights': True, 'biases': True, 'tauM': False, 'tauMin': 0.1},
        'inputs': stimulus(40, 1, 4, 'uniform'), 'targets': targets(40, 1, 3)},
    'gle-per-neuron-taus-batch': {
        'dtype': 'float64', 'dt': 0.05, 'gamma': 0.5, 'beta': 1.0, 'loss': 'mse', 'prospectiveErrors': True,
        'layers': [layer(3, 5, 'tanh', rng.uniform(0.3, 2.0, 5), rng.uniform(0.05, 1.0, 5)),
                   layer(5, 4, 'sigmoid', rng.uniform(0.3, 2.0, 4), rng.uniform(0.05, 1.0, 4), bias=False),
                   layer(4, 2, 'linear', rng.uniform(0.3, 2.0, 2), rng.uniform(0.05, 1.0, 2))],
        'learning': {'optimizer': 'sgd', 'lr': 0.02, 'startStep': 0, 'weights': True, 'biases': True, 'tauM': True, 'tauMin': 0.05},
        'inputs': stimulus(60, 3, 3), 'targets': targets(60, 3, 2, every=2)},
    'gle-ce-relu-softplus': {
        'dtype': 'float64', 'dt': 0.2, 'gamma': 0.0, 'beta': 1.0, 'loss': 'ce', 'prospectiveErrors': True,
        'layers': [layer(2, 7, 'relu', 1.2, 0.2), layer(7, 5, 'softplus', rng.uniform(0.6, 1.2, 5), 0.2), layer(5, 4, 'linear', 1.2, 1.2)],
        'learning': {'optimizer': 'sgd', 'lr': 0.01, 'startStep': 10, 'weights': True, 'biases': False, 'tauM': False, 'tauMin': 0.0},
        'inputs': stimulus(50, 2, 2), 'targets': targets(50, 2, 4, onehot=True)},
    'lagline-teacher-student': {
        'dtype': 'float64', 'dt': 0.01, 'gamma': 1.0, 'beta': 0.01, 'loss': 'mse', 'prospectiveErrors': True,
        'layers': [{'phi': 'softplus', 'weights': [[0.3]], 'bias': None, 'tauM': [0.5], 'tauR': [0.1]},
                   {'phi': 'softplus', 'weights': [[0.7]], 'bias': None, 'tauM': [0.4], 'tauR': [0.1]}],
        'learning': {'optimizer': 'sgd', 'lr': 5.0, 'startStep': 20, 'weights': True, 'biases': False, 'tauM': True, 'tauMin': 0.1},
        'inputs': stimulus(300, 2, 1), 'targets': targets(300, 2, 1)},
    'no-learning-float32': {
        'dtype': 'float32', 'dt': 0.1, 'gamma': 0.2, 'beta': 0.5, 'loss': 'mse', 'prospectiveErrors': True,
        'layers': [layer(3, 4, 'tanh', 1.0, 0.3), layer(4, 2, 'linear', 0.5, 0.5)],
        'inputs': stimulus(30, 2, 3), 'targets': targets(30, 2, 2, every=3)},
}

os.makedirs(OUT, exist_ok=True)
for name, spec in specs.items():
    with open(os.path.join(OUT, name + '.spec.json'), 'w') as f:
        json.dump(spec, f)
    with open(os.path.join(OUT, name + '.trace.json'), 'w') as f:
        json.dump(run(spec), f)
    print('wrote', name)
