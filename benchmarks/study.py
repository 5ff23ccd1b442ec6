"""Time per fit of the prior study: the seed's way against ours, on the same data.

(a) seed-style: stan/varying_slope_loop.stan (a loop over the 2,000
    observations), 4 chains x (2000 warm-up + 2000 draws), as the seed ran it;
(b) ours: stan/varying_slope_suff.stan (sufficient statistics, 10 terms per
    evaluation), bhm.study.SAMPLER: 4 chains x (300 + 1000).

Both fit the same data sets of cell A/true/10x200; the posterior means of
gamma_0, gamma_1, sigma_b, sigma_y must agree within Monte Carlo error.
Prints seconds per fit and the ratio. Run: python benchmarks/study.py [--fits 3]
(no assertions on timing).
"""

from __future__ import annotations

import argparse
import time

import arviz as az
import numpy as np

from bhm import stan, study

NAMES = ("gamma_0", "gamma_1", "sigma_b", "sigma_y")


def fit_seed_style(cell, data, seed):
    program_data = {k: data[k] for k in ("N", "J", "group", "x", "y", "u")} | {
        k: v for k, v in study.stan_data(cell, data).items() if k in ("flat_prior", "gamma_loc", "gamma_scale")}
    return stan.sample("varying_slope_loop", program_data, seed=seed, chains=4, warmup=2000, draws=2000, check=False)


def fit_ours(cell, data, seed):
    return stan.sample("varying_slope_suff", study.stan_data(cell, data), seed=seed, check=False, **study.SAMPLER)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fits", type=int, default=3, help="data sets to fit with each method (default 3)")
    args = parser.parse_args()
    cell = study.Cell("A", "true", "10x200")
    warm = study.simulation_data(cell, 0)
    fit_seed_style(cell, warm, 1), fit_ours(cell, warm, 1)  # compile both before timing
    seconds = {"seed-style": [], "ours": []}
    worst = 0.0
    for sim in range(args.fits):
        data = study.simulation_data(cell, sim)
        fits = {}
        for label, fit in (("seed-style", fit_seed_style), ("ours", fit_ours)):
            start = time.perf_counter()
            fits[label] = fit(cell, data, seed=100 + sim)
            seconds[label].append(time.perf_counter() - start)
        for name in NAMES:
            a, b = (az.summary(fits[k], var_names=[name], round_to="none").iloc[0] for k in ("seed-style", "ours"))
            gap = abs(a["mean"] - b["mean"]) / np.hypot(a["mcse_mean"], b["mcse_mean"])
            worst = max(worst, gap)
    a, b = np.mean(seconds["seed-style"]), np.mean(seconds["ours"])
    print(f"{'method':<12}{'s per fit':>12}")
    print(f"{'seed-style':<12}{a:>12.3f}")
    print(f"{'ours':<12}{b:>12.3f}")
    print(f"speed-up: {a / b:.0f}x per fit; largest gap between posterior means: {worst:.1f} MCSE "
          f"({args.fits} data sets x {len(NAMES)} parameters)")


if __name__ == "__main__":
    main()
