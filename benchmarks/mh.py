"""Benchmark bhm.mcmc.metropolis_hastings against one-chain Python loops.

Target: a standard bivariate Gaussian with correlation rho = 0.8. A
"draw" is one state of one chain (a 2-vector), so a run of C chains and
T iterations makes C * T draws. Each configuration is timed with
time.perf_counter, best of --repeat runs, with n_draws chosen from a
short pilot run so that one run takes about --seconds.

Two reference samplers run the same algorithm for one chain in a plain
Python loop: one with floats and the ``random`` module (the faster of
the two, used for the ratio column), and one with numpy scalars and
length-2 arrays, as a first attempt in numpy often looks.

Run ``python benchmarks/mh.py`` (no assertions on timing).
"""

from __future__ import annotations

import argparse
import math
import random
import time

import numpy as np

from bhm.mcmc import metropolis_hastings

RHO = 0.8
# Precision matrix of [[1, rho], [rho, 1]]: (1 / (1 - rho^2)) [[1, -rho], [-rho, 1]]
_C = 1.0 / (1.0 - RHO**2)
P11, P12, P22 = _C, -RHO * _C, _C
STEP = 1.0


def log_target(x):
    """Vectorised log density, x of shape (n_chains, 2)."""
    x1 = x[:, 0]
    x2 = x[:, 1]
    return -0.5 * (P11 * x1 * x1 + 2.0 * P12 * x1 * x2 + P22 * x2 * x2)


def loop_python(n_draws, seed=0):
    """One chain, plain floats, ``random`` and ``math``."""
    rng = random.Random(seed)
    x1, x2 = 0.0, 0.0
    lp = 0.0
    out = [None] * n_draws
    for t in range(n_draws):
        y1 = x1 + STEP * rng.gauss(0.0, 1.0)
        y2 = x2 + STEP * rng.gauss(0.0, 1.0)
        lp_y = -0.5 * (P11 * y1 * y1 + 2.0 * P12 * y1 * y2 + P22 * y2 * y2)
        if math.log(1.0 - rng.random()) < lp_y - lp:
            x1, x2, lp = y1, y2, lp_y
        out[t] = (x1, x2)
    return out


def loop_numpy(n_draws, seed=0):
    """One chain, numpy scalars and length-2 arrays."""
    rng = np.random.default_rng(seed)
    prec = np.array([[P11, P12], [P12, P22]])
    x = np.zeros(2)
    lp = 0.0
    out = np.empty((n_draws, 2))
    for t in range(n_draws):
        y = x + STEP * rng.standard_normal(2)
        lp_y = -0.5 * y @ prec @ y
        if np.log(rng.uniform()) < lp_y - lp:
            x, lp = y, lp_y
        out[t] = x
    return out


def vectorised(n_chains):
    def run(n_draws, seed=0):
        x0 = np.zeros((n_chains, 2))
        return metropolis_hastings(log_target, x0, n_draws, step=STEP, seed=seed)

    return run


def time_run(run, n_draws, repeat):
    best = math.inf
    for r in range(repeat):
        start = time.perf_counter()
        run(n_draws, seed=r)
        best = min(best, time.perf_counter() - start)
    return best


def calibrate(run, seconds, pilot):
    """Number of iterations so that one run takes about ``seconds``."""
    elapsed = time_run(run, pilot, 1)
    return max(pilot, int(pilot * seconds / max(elapsed, 1e-9)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=1.0, help="target time per run (default 1.0)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per configuration, best taken (default 3)"
    )
    parser.add_argument(
        "--chains", type=int, nargs="+", default=[4, 64, 1024],
        help="chain counts of bhm.mcmc (default 4 64 1024)",
    )
    args = parser.parse_args(argv)

    configs = [("python loop (floats)", 1, loop_python), ("python loop (numpy)", 1, loop_numpy)]
    configs += [("bhm.mcmc", c, vectorised(c)) for c in args.chains]

    rows = []
    for name, n_chains, run in configs:
        n_draws = calibrate(run, args.seconds, pilot=max(200, 20000 // n_chains))
        best = time_run(run, n_draws, args.repeat)
        rows.append((name, n_chains, n_draws, n_chains * n_draws / best))

    base_py = rows[0][3]
    base_np = rows[1][3]
    print(
        f"2-D Gaussian, rho = {RHO}, step = {STEP}; "
        f"best of {args.repeat}, ~{args.seconds:g} s per run"
    )
    print("x floats / x numpy: ratio to the one-chain loop with floats / with numpy scalars")
    header = (
        f"{'sampler':<22}{'chains':>7}{'n_draws':>10}{'draws/s':>14}"
        f"{'x floats':>10}{'x numpy':>10}"
    )
    print(header)
    print("-" * len(header))
    for name, n_chains, n_draws, rate in rows:
        print(
            f"{name:<22}{n_chains:>7}{n_draws:>10}{rate:>14,.0f}"
            f"{rate / base_py:>10.1f}{rate / base_np:>10.1f}"
        )


if __name__ == "__main__":
    main()
