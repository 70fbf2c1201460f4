#!/usr/bin/env python3
"""Times glekit's bench and the PyTorch peer in one run, alternating, and writes one JSON.

Each round runs `node dist/bench/run.js --json` (all eight shapes) and then peer.py with
torch on 1 and on 2 threads (both variants, interleaved per shape); the thread order
alternates between rounds. Every figure is the median of the timing windows of one
process; the summary gives, per shape, the median over rounds and the range.

Usage: compare.py --out FILE [--rounds 3] [--seconds 1.5] [--repeats 7] [--quick]
(run it through bench/peer/run.sh, which prepares the environment).
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))


def sh(cmd, env=None):
    return subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, text=True)


def loadavg():
    with open('/proc/loadavg') as f:
        return [float(v) for v in f.read().split()[:3]]


def alternatives():
    out = {}
    for name in ('libblas.so.3-x86_64-linux-gnu', 'liblapack.so.3-x86_64-linux-gnu'):
        try:
            q = subprocess.run(['update-alternatives', '--query', name], capture_output=True, text=True).stdout
            out[name] = next((l.split(': ', 1)[1] for l in q.splitlines() if l.startswith('Value:')), None)
        except OSError:
            out[name] = None
    return out


def run_glekit(args):
    cmd = ['node', 'dist/bench/run.js', '--json'] + (['--quick'] if args.quick else [])
    t0 = time.time()
    rows = json.loads(sh(cmd).stdout.strip().splitlines()[-1])
    return {'command': ' '.join(cmd), 'wallSeconds': round(time.time() - t0, 1), 'rows': rows}


def run_peer(args, threads, variant):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               OMP_WAIT_POLICY='PASSIVE')
    cmd = [sys.executable, os.path.join(HERE, 'peer.py'), '--threads', str(threads),
           '--variants', variant,
           '--seconds', str(args.outer_seconds if variant == 'outer' else args.seconds),
           '--repeats', str(args.outer_repeats if variant == 'outer' else args.repeats)]
    t0 = time.time()
    res = json.loads(sh(cmd, env=env).stdout.strip().splitlines()[-1])
    res['processWallSeconds'] = round(time.time() - t0, 1)
    return res


def key(sizes, batch):
    return '-'.join(map(str, sizes)) + ' b' + str(batch)


def summarise(rounds):
    shapes = [(r['sizes'], r['batch']) for r in rounds[0]['glekit']['rows']]
    table = []
    for sizes, batch in shapes:
        k = key(sizes, batch)
        g = [next(r['stepsPerSecond'] for r in rd['glekit']['rows'] if key(r['sizes'], r['batch']) == k)
             for rd in rounds]
        row = {'sizes': sizes, 'batch': batch, 'glekit': {'median': statistics.median(g), 'perRound': g}}
        # glekit's own thread sweep (bench/run.ts times 1 and N threads in each round)
        grows = [next(r for r in rd['glekit']['rows'] if key(r['sizes'], r['batch']) == k) for rd in rounds]
        if 'stepsPerSecond1Thread' in grows[0]:
            row['glekit']['threads'] = grows[0]['threads']
            row['glekit']['median1Thread'] = statistics.median(r['stepsPerSecond1Thread'] for r in grows)
            row['glekit']['threadSpeedup'] = round(row['glekit']['median'] / row['glekit']['median1Thread'], 3)
            row['glekit']['gflops'] = statistics.median(r['gflops'] for r in grows)
            row['glekit']['fmaPeakGflops'] = statistics.median(r['fmaPeakGflops'] for r in grows)
            # the fraction of the 2-thread OpenBLAS GEMM (2048^3, measured in the same rounds)
            gemm2 = statistics.median(rd['peer']['gemm-t2']['gemmGflops2048'] for rd in rounds)
            row['glekit']['gemmPeak2ThreadsGflops'] = gemm2
            row['glekit']['fractionOfGemmPeak'] = round(row['glekit']['gflops'] / gemm2, 3)
        for variant in ('outer', 'gemm'):
            per_threads = {}
            for threads in (1, 2):
                vals = [next(r['stepsPerSecond'] for r in rd['peer'][f'{variant}-t{threads}']['rows']
                             if key(r['sizes'], r['batch']) == k) for rd in rounds]
                per_threads[str(threads)] = {'median': statistics.median(vals), 'perRound': vals}
            best_t = max(per_threads, key=lambda t: per_threads[t]['median'])
            row[variant] = {'threads': per_threads, 'bestThreads': int(best_t),
                            'best': per_threads[best_t]['median']}
            row[f'glekitOver_{variant}'] = round(row['glekit']['median'] / per_threads[best_t]['median'], 3)
            # per round, glekit against the best thread setting of that round
            row[f'glekitOver_{variant}_perRound'] = [
                round(g[i] / max(per_threads[t]['perRound'][i] for t in per_threads), 3) for i in range(len(rounds))]
        table.append(row)
    return table


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--seconds', type=float, default=1.5)
    ap.add_argument('--repeats', type=int, default=7)
    ap.add_argument('--outer-seconds', type=float, default=0.6,
                    help='budget of the published-style variant (its slowest shape takes 1.7 s a step)')
    ap.add_argument('--outer-repeats', type=int, default=3)
    ap.add_argument('--settle', type=float, default=30,
                    help='seconds of idle after the published-style processes (see README)')
    ap.add_argument('--quick', action='store_true')
    args = ap.parse_args()

    started = time.time()
    check = json.loads(sh([sys.executable, os.path.join(HERE, 'peer.py'), '--check']).stdout)
    print(f"correctness check: {check}", file=sys.stderr)
    meta = {
        'date': datetime.datetime.now().isoformat(timespec='seconds'),
        'host': {'nproc': os.cpu_count(), 'platform': platform.platform(), 'python': platform.python_version()},
        'gitHead': sh(['git', 'rev-parse', 'HEAD']).stdout.strip(),
        'gitDirty': bool(sh(['git', 'status', '--porcelain', '--', 'src', 'bench/run.ts']).stdout.strip()),
        'distBenchMtime': datetime.datetime.fromtimestamp(
            os.path.getmtime(os.path.join(ROOT, 'dist', 'bench', 'run.js'))).isoformat(timespec='seconds'),
        'blasAlternatives': alternatives(),
        'settings': {'rounds': args.rounds, 'peerSeconds': args.seconds, 'peerRepeats': args.repeats,
                     'outerSeconds': args.outer_seconds, 'outerRepeats': args.outer_repeats,
                     'settleSeconds': args.settle, 'glekitQuick': args.quick,
                     'order': 'per round: glekit, gemm t1, gemm t2, outer t1, outer t2 (thread order '
                              'alternating between rounds), then an idle settle'},
        'peerCheck': check,
        'loadavgBefore': loadavg(),
    }
    rounds = []
    for i in range(args.rounds):
        order = (1, 2) if i % 2 == 0 else (2, 1)
        rd = {'round': i + 1, 'loadavgStart': loadavg()}
        print(f"round {i + 1}: glekit", file=sys.stderr)
        rd['glekit'] = run_glekit(args)
        rd['peer'] = {}
        for variant in ('gemm', 'outer'):
            for t in order:
                print(f"round {i + 1}: torch {variant}, {t} thread(s)", file=sys.stderr)
                rd['peer'][f'{variant}-t{t}'] = run_peer(args, t, variant)
        rounds.append(rd)
        if args.settle > 0:
            time.sleep(args.settle)
    meta['loadavgAfter'] = loadavg()
    meta['wallSeconds'] = round(time.time() - started, 1)
    torch_cfg = {t: rounds[0]['peer'][f'gemm-t{t}']['torch'] for t in ('1', '2')}
    gemm = {t: [rd['peer'][t]['gemmGflops2048'] for rd in rounds] for t in rounds[0]['peer']}  # per process
    for rd in rounds:
        for t in rd['peer']:
            rd['peer'][t].pop('torch', None)
    result = {'meta': meta, 'torch': torch_cfg, 'gemmGflops2048PerRound': gemm,
              'glekitMachine': rounds[0]['glekit']['rows'][0].get('machine'),
              'summary': summarise(rounds), 'rounds': rounds}
    with open(args.out, 'w') as f:
        json.dump(result, f, indent=1)
        f.write('\n')

    print(f"\n{'shape':24s} {'glekit':>9s} {'gemm best':>14s} {'x':>6s} {'outer best':>14s} {'x':>6s}", file=sys.stderr)
    for r in result['summary']:
        print(f"{key(r['sizes'], r['batch']):24s} {r['glekit']['median']:9.4g} "
              f"{r['gemm']['best']:9.4g} (t{r['gemm']['bestThreads']}) {r['glekitOver_gemm']:6.2f} "
              f"{r['outer']['best']:9.4g} (t{r['outer']['bestThreads']}) {r['glekitOver_outer']:6.2f}"
              + (f"  threads x{r['glekit']['threadSpeedup']:.2f}, {r['glekit']['gflops']:.4g} GFLOP/s = "
                 f"{100 * r['glekit']['fractionOfGemmPeak']:.0f} % of 2-thread GEMM"
                 if 'threadSpeedup' in r['glekit'] else ''),
              file=sys.stderr)
    print(f"wrote {args.out} ({meta['wallSeconds']} s)", file=sys.stderr)


if __name__ == '__main__':
    main()
