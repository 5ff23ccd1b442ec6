"""Time per fit of chapter 5's study against a plain PyStan fit, side by side in one run.

(a) plain PyStan: the centred per-observation program stan/varying_slope.stan
    without its generated quantities (its y_rep would add 2,000 numbers per
    draw that the study does not need), PyStan's defaults (4 chains
    x (1000 warm-up + 1000 draws), chains in parallel), fitted one data set
    after another: ``stan.build`` + ``sample``.
(b) the study: ``bhm.study.run_study`` on ``--sims`` simulations of one cell,
    all cores, start-up of the worker processes included: the marginal program
    (only sigma_b and sigma_y sampled), bhm.study.SAMPLER, each fit's chains one
    after another in process through the program's lean module
    (bhm.stan.build_lean, built before timing, as ``python -m bhm study`` does;
    draws kept in memory), fits in parallel.

Both fit data sets of cell A/true/10x200; the posterior means of gamma_0,
gamma_1, sigma_b and sigma_y of the first --plain data sets must agree within
Monte Carlo error. Prints seconds per fit, the ratio, and where the study's time
goes (Stan's own warm-up and sampling time against the wall time).

(c) the gradient: the marginal program's lean module with the analytic gradient
    of stan/varying_slope_marginal.hpp against the same program's lean module
    without it (Stan's automatic differentiation of the Stan function), on the
    first --gradient data sets of the cell, one core, the two alternating fit
    by fit (first one, then the other) so that the machine's drift hits both.
Run: python benchmarks/study.py [--sims 60] [--plain 3] [--gradient 40]   (no assertions on timing)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings

import numpy as np

from bhm import stan, study

NAMES = ("gamma_0", "gamma_1", "sigma_b", "sigma_y")
CELL = study.Cell("A", "true", "10x200")


def plain_pystan_fits(n: int) -> tuple[float, list[dict]]:
    """Seconds per plain PyStan fit of the per-observation program, and each fit's posterior means."""
    with warnings.catch_warnings():  # PyStan 3.10 imports pkg_resources, whose setuptools announces its end
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        import stan as pystan  # PyStan itself, as a reader would call it
    code = stan.program_code("varying_slope")
    code = code[:code.index("generated quantities")]  # the model alone, as the study needs it
    means, seconds = [], []
    for sim in range(n):
        data = study.simulation_data(CELL, sim)
        prior = study.stan_data(CELL, data)
        program_data = {k: data[k] for k in ("N", "J", "group", "x", "y", "u")} | {
            "flat_prior": 0, "gamma_loc": prior["gamma_loc"], "gamma_scale": prior["gamma_scale"]}
        program_data = {k: np.asarray(v).tolist() for k, v in program_data.items()}
        with stan.quiet():
            if sim == 0:  # compile before timing
                pystan.build(code, data=program_data, random_seed=1)
            start = time.perf_counter()
            model = pystan.build(code, data=program_data, random_seed=100 + sim)
            fit = model.sample(num_chains=4)
            seconds.append(time.perf_counter() - start)
        means.append({name: float(fit[name].mean()) for name in NAMES}
                     | {f"{name}_sd": float(fit[name].std()) for name in NAMES})
    return float(np.mean(seconds)), means


def study_fits(n: int) -> tuple[float, pd.DataFrame]:  # noqa: F821
    """Wall seconds per fit of run_study on n simulations (all cores), and its rows."""
    stan.build_lean([study.PROGRAMS[CELL.program]])  # build before timing, as `python -m bhm study` does
    study.run_simulation(CELL, 0)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        study.run_study(out, cells_to_run=[CELL], n_sims=n, progress=False)
        wall = time.perf_counter() - start
        rows = study.load_results(out)
    return wall / n, rows


def gradient_fits(n: int) -> tuple[float, float]:
    """Seconds per fit of the marginal program's lean module with its C++ header and without, alternating."""
    from bhm.stan import _data, _lean, _pystan

    name = study.PROGRAMS[CELL.program]
    code, header = stan.program_code(name), stan.program_header(name)
    with stan.quiet():
        for which in (header, None):
            _lean.build(code, which)  # without the header: compiled here if make book did not keep the object
    args = _pystan._nuts_arguments(draws=study.SAMPLER["draws"], warmup=study.SAMPLER["warmup"], thin=1,
                                   adapt_delta=None, max_treedepth=None)
    seconds = {"header": 0.0, "autodiff": 0.0}
    for sim in range(n):
        data = _data.prepare_data(name, code, study.stan_data(CELL, study.simulation_data(CELL, sim)))
        order = [("header", header), ("autodiff", None)]
        for label, which in order if sim % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            _lean.sample(code, which, data, study.fit_seed(CELL, sim), study.SAMPLER["chains"], args)
            seconds[label] += time.perf_counter() - start
    return seconds["header"] / n, seconds["autodiff"] / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sims", type=int, default=60, help="simulations the study runs (default 60)")
    parser.add_argument("--plain", type=int, default=3, help="data sets PyStan fits (default 3)")
    parser.add_argument("--gradient", type=int, default=40,
                        help="data sets each lean module fits in (c) (default 40; 0 skips it)")
    args = parser.parse_args()
    plain, plain_means = plain_pystan_fits(args.plain)
    per_fit, rows = study_fits(args.sims)
    worst = 0.0
    for sim, reference in enumerate(plain_means):
        row = rows[rows["sim"] == sim].iloc[0]
        for name in NAMES:  # the study's 2,000 draws dominate the Monte Carlo error
            se = np.hypot(reference[f"{name}_sd"] / np.sqrt(4000), row[f"{name}_sd"] / np.sqrt(row[f"{name}_ess_bulk"]))
            worst = max(worst, abs(row[f"{name}_mean"] - reference[name]) / se)
    cores = os.cpu_count()
    print(f"{'method':<40}{'s per fit':>10}")
    print(f"{'plain PyStan, per-observation, centred':<40}{plain:>10.3f}")
    print(f"{'study (run_study, ' + str(cores) + ' cores, ' + str(args.sims) + ' fits)':<40}{per_fit:>10.3f}")
    print(f"speed-up: {plain / per_fit:.1f}x; largest gap between posterior means: {worst:.1f} standard errors "
          f"({len(plain_means)} data sets x {len(NAMES)} parameters)")
    stan_share = rows["stan_seconds"].sum() / (per_fit * args.sims * cores)
    in_call = rows["seconds"].sum() / (per_fit * args.sims * cores)
    print(f"where the study's time goes ({cores} cores x wall): Stan's own warm-up and sampling "
          f"{100 * stan_share:.0f}%, the rest of bhm.stan.sample_arrays {100 * (in_call - stan_share):.0f}%, "
          f"everything else (simulating data, summaries, processes, files) {100 * (1 - in_call):.0f}%")
    if args.gradient:
        analytic, autodiff = gradient_fits(args.gradient)
        print(f"the marginal program's lean module, one core, {args.gradient} fits each, alternating: "
              f"analytic gradient {1000 * analytic:.1f} ms per fit, Stan's automatic differentiation "
              f"{1000 * autodiff:.1f} ms; ratio {analytic / autodiff:.2f}")


if __name__ == "__main__":
    main()
