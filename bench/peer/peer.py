#!/usr/bin/env python3
"""PyTorch peer for glekit's training-step bench (bench/run.ts).

One step is the discrete-time GLE scheme of docs/dynamics.md: every layer reads the
state of the previous step, computes its error, error filter, drive, membrane, rate,
local gradients and the error it sends down; then all layers take their new state
together and plain SGD applies the gradients. float32, torch.no_grad().

Two variants that differ in one line, the weight gradient:
  outer  the way the published GLE code computes it: one outer product per sample
         (a batch x out x in tensor from torch.bmm), then the mean over the batch;
  gemm   the same mean as one matrix product, pv^T @ bottom / batch.
Everything else is identical, including the structure the published code has
(a fresh tensor per intermediate, a copy of each new state at the swap, copies of
the prospective potential, prospective error and raw error kept per layer for
inspection, torch.optim.SGD for the update).

This file was written from docs/dynamics.md; it contains no code of the published
implementation.

Usage:
  peer.py --threads N [--variants outer,gemm] [--seconds 1.5] [--repeats 7] [--quick]
  peer.py --check      compare both variants with test/reference/gle_reference.py
Prints one JSON object on stdout.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

# The eight shapes and batches of glekit's speed table (bench/run.ts, SPEED_TABLE).
SHAPES = [
    ([2, 30, 30, 3], 1),
    ([2, 30, 30, 3], 64),
    ([40, 100, 100, 10], 1),
    ([40, 100, 100, 10], 32),
    ([40, 100, 100, 10], 256),
    ([784, 300, 100, 10], 1),
    ([784, 300, 100, 10], 32),
    ([784, 300, 100, 10], 512),
]

# bench/run.ts: hard sigmoid hidden, linear output, tau_m = tau_r = 1, dt 0.01,
# gamma 0, beta 0.1, squared error, prospective errors on, SGD lr 1e-4,
# weights and biases N(0, 0.05), inputs and targets uniform in [0, 1).
DT, GAMMA, BETA, LR, STD = 0.01, 0.0, 0.1, 1e-4, 0.05


def hard_sigmoid(p):
    return torch.clamp(p, 0.0, 1.0), ((p >= 0) & (p <= 1)).to(p.dtype)


def linear(p):
    return p, torch.ones_like(p)


class Layer:
    def __init__(self, n_in, n_out, phi, gen, dtype):
        self.W = torch.nn.Parameter(torch.randn(n_out, n_in, generator=gen, dtype=dtype) * STD)
        self.b = torch.nn.Parameter(torch.randn(n_out, generator=gen, dtype=dtype) * STD)
        self.tau_m = torch.ones(n_out, dtype=dtype)
        self.tau_r = torch.ones(n_out, dtype=dtype)
        self.phi = phi
        self.n_in, self.n_out, self.dtype = n_in, n_out, dtype

    def reset(self, batch):
        z = lambda n: torch.zeros(batch, n, dtype=self.dtype)
        self.u, self.v, self.r, self.rp = z(self.n_out), z(self.n_out), z(self.n_out), z(self.n_out)
        self.eb = z(self.n_in)


class Net:
    def __init__(self, sizes, batch, variant, seed=1, dtype=torch.float32, lr=LR, dt=DT, gamma=GAMMA, beta=BETA):
        gen = torch.Generator().manual_seed(seed)
        n = len(sizes) - 1
        self.layers = [
            Layer(sizes[i], sizes[i + 1], linear if i == n - 1 else hard_sigmoid, gen, dtype) for i in range(n)
        ]
        for layer in self.layers:
            layer.reset(batch)
        self.batch, self.dt, self.gamma, self.beta = batch, dt, gamma, beta
        self.gemm = variant == 'gemm'
        params = [p for layer in self.layers for p in (layer.W, layer.b)]
        self.opt = torch.optim.SGD(params, lr=lr)

    def step(self, x, y):
        layers, dt = self.layers, self.dt
        self.opt.zero_grad()
        top_error = self.beta * (y - layers[-1].r)
        staged = []
        for i, L in enumerate(layers):
            bottom = x if i == 0 else layers[i - 1].r
            incoming = top_error if i == len(layers) - 1 else layers[i + 1].eb
            e = incoming * L.rp
            s = F.linear(bottom, L.W, L.b)
            vdot = (e - L.v) / L.tau_r
            v_new = L.v + dt * vdot
            pv = L.v + L.tau_m * vdot
            udot = (s + self.gamma * pv - L.u) / L.tau_m
            u_new = L.u + dt * udot
            pu = L.u + L.tau_r * udot
            if self.gemm:
                L.W.grad = torch.mm(pv.t(), bottom).mul_(-1.0 / self.batch)
            else:
                L.W.grad = -torch.bmm(pv.unsqueeze(2), bottom.unsqueeze(1)).mean(0)
            L.b.grad = -pv.mean(0)
            eb_new = torch.mm(pv, L.W)
            r_new, rp_new = L.phi(pu)
            L.seen = (pu.clone(), pv.clone(), e.clone())  # kept for inspection, as the published code does
            staged.append((u_new, v_new, r_new, rp_new, eb_new))
        for L, (u, v, r, rp, eb) in zip(layers, staged):
            L.u, L.v, L.r, L.rp, L.eb = u.clone(), v.clone(), r.clone(), rp.clone(), eb.clone()
        out = layers[-1].r.clone()
        self.opt.step()
        return out


def measure(net, x, y, seconds, repeats):
    """Same method as bench/run.ts: a chunk of steps that takes about a tenth of the
    budget, then `repeats` timed chunks; the median rate."""
    for _ in range(3):
        net.step(x, y)
    chunk = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(chunk):
            net.step(x, y)
        if time.perf_counter() - t0 > seconds / 10 or chunk > 1 << 20:
            break
        chunk *= 2
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(chunk):
            net.step(x, y)
        rates.append(chunk / (time.perf_counter() - t0))
    return statistics.median(rates), rates, chunk


def gemm_gflops(n=2048, reps=5):
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    torch.mm(a, b)
    best = 0.0
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.mm(a, b)
        best = max(best, 2 * n ** 3 / (time.perf_counter() - t0) / 1e9)
    return best


def blas_libraries():
    """The BLAS/LAPACK/OpenMP shared objects this process actually mapped."""
    libs = set()
    try:
        with open('/proc/self/maps') as f:
            for line in f:
                path = line.split()[-1]
                if any(k in path for k in ('blas', 'lapack', 'gomp', 'libomp', 'mkl')):
                    libs.add(os.path.realpath(path))
    except OSError:
        pass
    return sorted(libs)


def torch_config():
    return {
        'version': torch.__version__,
        'threads': torch.get_num_threads(),
        'interopThreads': torch.get_num_interop_threads(),
        'config': torch.__config__.show(),
        'parallelInfo': torch.__config__.parallel_info(),
        'mappedLibraries': blas_libraries(),
        'env': {k: os.environ.get(k) for k in ('OMP_NUM_THREADS', 'OMP_WAIT_POLICY', 'OPENBLAS_NUM_THREADS')},
    }


def check():
    """Both variants against the repository's NumPy model of the scheme, float64."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'reference'))
    import gle_reference  # noqa: E402

    sizes, batch, steps, lr = [5, 7, 6, 3], 4, 25, 0.05
    gen = torch.Generator().manual_seed(7)
    xs = [torch.rand(batch, sizes[0], generator=gen, dtype=torch.float64) for _ in range(steps)]
    ys = [torch.rand(batch, sizes[-1], generator=gen, dtype=torch.float64) for _ in range(steps)]
    worst = {}
    for variant in ('outer', 'gemm'):
        # dt 0.1 and tau 0.5/1 so that the state moves visibly within 25 steps
        net = Net(sizes, batch, variant, seed=3, dtype=torch.float64, lr=lr, dt=0.1, gamma=0.3, beta=1.0)
        for i, L in enumerate(net.layers):
            L.tau_m = torch.full((L.n_out,), 1.0, dtype=torch.float64)
            L.tau_r = torch.full((L.n_out,), 0.5 if i % 2 == 0 else 1.0, dtype=torch.float64)
        spec = {
            'dtype': 'float64', 'dt': 0.1, 'gamma': 0.3, 'beta': 1.0, 'loss': 'mse', 'prospectiveErrors': True,
            'layers': [{'weights': L.W.tolist(), 'bias': L.b.tolist(), 'tauM': L.tau_m.tolist(),
                        'tauR': L.tau_r.tolist(), 'phi': 'linear' if L.phi is linear else 'hardSigmoid'}
                       for L in net.layers],
            'inputs': [x.tolist() for x in xs], 'targets': [y.tolist() for y in ys],
            'learning': {'lr': lr, 'weights': True, 'biases': True},
        }
        ref = gle_reference.run(spec)
        diff = 0.0
        for k in range(steps):
            net.step(xs[k], ys[k])
            for L, R in zip(net.layers, ref['steps'][k]['layers']):
                for mine, theirs in ((L.u, R['u']), (L.v, R['v']), (L.r, R['r'])):
                    diff = max(diff, (mine - torch.tensor(theirs, dtype=torch.float64)).abs().max().item())
        for L, R in zip(net.layers, ref['final']['layers']):
            diff = max(diff, (L.W - torch.tensor(R['weights'], dtype=torch.float64)).abs().max().item())
            diff = max(diff, (L.b - torch.tensor(R['bias'], dtype=torch.float64)).abs().max().item())
        worst[variant] = diff
    ok = all(d < 1e-9 for d in worst.values())
    return {'check': 'peer vs test/reference/gle_reference.py, float64, 5-7-6-3, batch 4, 25 learning steps',
            'maxAbsDiff': worst, 'ok': ok}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--variants', default='outer,gemm')
    ap.add_argument('--seconds', type=float, default=1.5)
    ap.add_argument('--repeats', type=int, default=7)
    ap.add_argument('--quick', action='store_true', help='0.3 s budget, 3 windows (as bench/run.ts --quick)')
    ap.add_argument('--check', action='store_true')
    args = ap.parse_args()
    if args.check:
        print(json.dumps(check()))
        return
    if args.quick:
        args.seconds, args.repeats = 0.3, 3
    torch.set_num_threads(args.threads)
    variants = args.variants.split(',')
    rows = []
    t_start = time.time()
    for sizes, batch in SHAPES:
        gen = torch.Generator().manual_seed(2)
        x = torch.rand(batch, sizes[0], generator=gen)
        y = torch.rand(batch, sizes[-1], generator=gen)
        for variant in variants:  # interleaved per shape
            with torch.no_grad():
                net = Net(sizes, batch, variant)
                median, rates, chunk = measure(net, x, y, args.seconds, args.repeats)
            rows.append({'sizes': sizes, 'batch': batch, 'variant': variant, 'threads': args.threads,
                         'stepsPerSecond': float(f'{median:.4g}'), 'windows': [float(f'{r:.4g}') for r in rates],
                         'chunk': chunk})
            print(f"{'-'.join(map(str, sizes)):16s} batch {batch:3d} {variant:5s} t{args.threads}: {median:.4g} steps/s",
                  file=sys.stderr)
    out = {'threads': args.threads, 'seconds': args.seconds, 'repeats': args.repeats,
           'gemmGflops2048': round(gemm_gflops(), 1), 'wallSeconds': round(time.time() - t_start, 1),
           'torch': torch_config(), 'rows': rows}
    print(json.dumps(out))


if __name__ == '__main__':
    main()
