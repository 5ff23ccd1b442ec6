"""Speed of chapter 6's Bayesian GCSE fit against a deliberately naive program, in one run.

(a) naive: stan/gcse_naive.stan (centred school effects, one multi_normal per
    school, a loop over the 1,725 students);
(b) cells: stan/gcse_cells.stan (non-centred through a Cholesky factor, the
    likelihood from the 145 school-by-gender cells): the intermediate step;
(c) ours: stan/gcse_marginal.stan, the book's fit (bhm.gcse.fit_bayes): the
    school effects integrated out, NUTS on the 6 hyperparameters, the school
    effects drawn exactly in generated quantities.

Same data, same priors (bhm.gcse.BAYES_PRIORS), 4 chains x (1000 + 1000) each.
The figure of merit is the minimum bulk ESS over all parameters (the mu's,
sigma's, rho and the 146 school effects) per second of wall time: the time to
reach a given precision for the worst-mixing quantity. All programs are
compiled before timing. Posterior means of the hyperparameters must agree
within Monte Carlo error (the largest gap is printed). Prints the table and
the ratios; asserts nothing about time. Run: python benchmarks/gcse.py [--repeats 2]
"""

from __future__ import annotations

import argparse
import time

import arviz as az
import numpy as np

from bhm import gcse, stan
from bhm.data import complete_course, load_gcse

NAMES = ["mu_alpha", "mu_beta", "sigma_alpha", "sigma_beta", "sigma_y", "rho", "alpha", "beta"]
SAMPLER = {"chains": 4, "warmup": 1000, "draws": 1000}


def naive_data(df) -> dict:
    cells = gcse.bayes_data(df)
    schools = sorted(df["school"].unique())
    return {"N": len(df), "J": cells["J"],
            "school": df["school"].map({sid: j for j, sid in enumerate(schools, 1)}).to_numpy(),
            "x": df["female"].to_numpy(), "y": df["course"].to_numpy()} | {k: cells[k] for k in gcse.BAYES_PRIORS}


def fit_naive(df, seed):
    return stan.sample("gcse_naive", naive_data(df), seed=seed, check=False, **SAMPLER)


def fit_cells(df, seed):
    return gcse.fit_bayes(df, seed=seed, program="gcse_cells", check=False, **SAMPLER)


def fit_ours(df, seed):
    return gcse.fit_bayes(df, seed=seed, check=False, **SAMPLER)


def min_bulk_ess(idata) -> float:
    ess = az.ess(idata, var_names=NAMES, method="bulk")
    return min(float(np.min(ess[name])) for name in NAMES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2, help="fits per program, different seeds (default 2)")
    args = parser.parse_args()
    df = complete_course(load_gcse())
    small = {"chains": 1, "warmup": 20, "draws": 20}
    stan.sample("gcse_naive", naive_data(df), seed=1, check=False, **small)   # compile all three first
    gcse.fit_bayes(df, seed=1, program="gcse_cells", check=False, **small)
    gcse.fit_bayes(df, seed=1, check=False, **small)
    rows = {"naive": [], "cells": [], "ours": []}
    worst = 0.0
    for repeat in range(args.repeats):
        fits = {}
        for label, fit in (("naive", fit_naive), ("cells", fit_cells), ("ours", fit_ours)):
            start = time.perf_counter()
            fits[label] = fit(df, seed=100 + repeat)
            seconds = time.perf_counter() - start
            ess = min_bulk_ess(fits[label])
            divergences = int(fits[label].sample_stats["diverging"].sum())
            rows[label].append((seconds, ess, divergences))
        for name in ("mu_alpha", "mu_beta", "sigma_alpha", "sigma_beta", "sigma_y"):
            a, b, c = (az.summary(fits[k], var_names=[name], round_to="none").iloc[0] for k in rows)
            for other in (b, c):
                worst = max(worst, abs(a["mean"] - other["mean"]) / np.hypot(a["mcse_mean"], other["mcse_mean"]))
    print(f"{'program':<8}{'seconds':>10}{'min bulk ESS':>14}{'ESS/s':>9}{'divergences':>13}")
    rate = {}
    for label, values in rows.items():
        seconds, ess, div = (np.mean([v[k] for v in values]) for k in range(3))
        rate[label] = np.mean([e / s for s, e, _ in values])
        print(f"{label:<8}{seconds:>10.2f}{ess:>14.0f}{rate[label]:>9.1f}{div:>13.1f}")
    print(f"ratio of min bulk ESS per second, cells / naive: {rate['cells'] / rate['naive']:.1f}x")
    print(f"ratio of min bulk ESS per second, ours / naive: {rate['ours'] / rate['naive']:.1f}x (target 10x)")
    print(f"largest gap between the hyperparameters' posterior means: {worst:.1f} combined MCSE")


if __name__ == "__main__":
    main()
