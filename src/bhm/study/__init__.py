"""The Monte Carlo study of chapter 5: how priors shape hierarchical posteriors.

A *cell* is one combination of a data-generating design, a prior on
(gamma_0, gamma_1) and a size (groups x individuals per group). Each simulation
of a cell draws a data set from the source course's model with the true parameters,
fits it with one of :data:`PROGRAMS` (``stan/varying_slope_marginal.stan``, or
the centred ``stan/varying_slope_suff.stan`` in the cells that compare the two)
and records, per parameter, the posterior mean, sd and quantiles with R-hat,
bulk ESS and divergences.

Design choices, each measured in chapter 5:

* **Common random numbers.** The data of simulation ``k`` depend on (design,
  size, k) but not on the prior, so every prior meets the same data sets and
  differences between priors are not noise from different data. The sampler's
  seed depends on the whole cell as well.
* **Sufficient statistics.** The likelihood is computed from six numbers per
  group (:func:`sufficient_statistics`), not from every observation.
* **Lean fits.** The Stan program integrates the group slopes and
  (alpha, gamma) out and samples only (sigma_b, sigma_y); every other parameter
  is drawn exactly afterwards. 4 chains of 200 warm-up and 500 kept iterations
  (2,000 draws; with 250 kept per chain, R-hat fails a quarter of the fits on
  noise alone), run one after another in the worker
  process by :func:`bhm.stan.sample_arrays`, through the program's lean module
  where it is built (``python -m bhm study`` builds it: the same draws, kept
  in memory); simulations run in parallel instead, one program at a time.
* **Resumable.** Each finished simulation is written at once, atomically, to its
  own file in the results folder; a rerun skips what is there.
* **Any executor.** Simulations run through a ``concurrent.futures`` Executor:
  a local process pool by default, or e.g. ``distributed.Client().get_executor()``.

The grid, the data, the fits and the store are here; the summaries of the
results (:func:`summarise`, :func:`paired_differences`, ...) are in
:mod:`bhm.study.analysis`, and importable from here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bhm import runs, simulate
from bhm._validation import whole_number

__all__ = [
    "TRUTH", "PRIORS", "SIZES", "DESIGNS", "PARAMETERS", "SAMPLER", "TIMINGS", "Cell",
    "cells", "parse_cells", "design_for", "simulation_data", "sufficient_statistics", "stan_data",
    "run_simulation", "run_tasks", "run_study", "parameter_draws", "load_results", "summarise", "COMMITTED",
    "load_committed",
    "failure_reasons", "prior_pull_on_eta", "SIGMA_B_PRIORS", "GAMMA_PRIORS", "SIGMA_B_ARM", "PROGRAMS",
    "fit_seed", "failed", "paired_differences", "predicted_pull", "cell_table", "mcnemar", "funnel_depth",
]

#: The true parameters of every simulation.
TRUTH = {"alpha": 1.0, "gamma_0": 1.0, "gamma_1": 1.0, "sigma_b": 1.0, "sigma_y": 1.0}

#: Priors on sigma_b, with the code the Stan programs' ``sigma_b_prior`` switch takes.
SIGMA_B_PRIORS = {"half-Cauchy(0, 5)": 1, "half-normal(0, 1)": 2, "uniform(0, 100)": 3}

#: Priors of the study: on gamma_0 and gamma_1 a normal (mean, sd) for each, or
#: None for the flat prior; on sigma_b one of :data:`SIGMA_B_PRIORS`. The first
#: five vary the prior on gamma (the source course's question); the last two vary
#: the prior on sigma_b with the true prior on gamma.
PRIORS = {
    "true": {"gamma": (1.0, 1.0), "sigma_b": "half-Cauchy(0, 5)"},
    "wrong": {"gamma": (2.0, 1.0), "sigma_b": "half-Cauchy(0, 5)"},
    "weak-wrong": {"gamma": (2.0, 3.0), "sigma_b": "half-Cauchy(0, 5)"},
    "slightly-wrong-weak": {"gamma": (1.2, 3.0), "sigma_b": "half-Cauchy(0, 5)"},
    "flat": {"gamma": None, "sigma_b": "half-Cauchy(0, 5)"},
    "sigma-half-normal": {"gamma": (1.0, 1.0), "sigma_b": "half-normal(0, 1)"},
    "sigma-uniform": {"gamma": (1.0, 1.0), "sigma_b": "uniform(0, 100)"},
}
GAMMA_PRIORS = ("true", "wrong", "weak-wrong", "slightly-wrong-weak", "flat")
SIGMA_B_ARM = ("true", "sigma-half-normal", "sigma-uniform")

#: Sizes: (groups J, individuals per group). The source course's cells are
#: 10 x 200, 5 x 50 and 50 x 500 (its manuscript counts N per group); 10 x 100
#: and 5 x 200 are the manuscript's; 50 x 10 is many small groups.
SIZES = {"10x200": (10, 200), "10x100": (10, 100), "5x200": (5, 200), "5x50": (5, 50),
         "50x500": (50, 500), "50x10": (50, 10)}

#: Data-generating designs: x_i ~ N(x_loc, x_scale); u_j = u_loc + u_scale z_j with
#: z_j = Phi^-1((j - 1/2) / J) standardised to mean 0 and sd 1 (the same u for
#: every size with the same J).
DESIGNS = {
    "A": {"x_loc": 0.0, "x_scale": 3.0, "u_loc": 0.0, "u_scale": 3.0},   # centred predictors
    "B": {"x_loc": 5.0, "x_scale": 0.3, "u_loc": 5.0, "u_scale": 0.3},   # uncentred, little spread
}

#: Stan programs of the study: the group slopes integrated out (every cell), and
#: the centred program (the cells with five groups, where divergences occur).
PROGRAMS = {"marginal": "varying_slope_marginal", "centred": "varying_slope_suff"}

#: Columns of a result row that a rerun does not reproduce: the fit's wall time
#: and Stan's own sampling time (every other column is reproduced exactly).
TIMINGS = ("seconds", "stan_seconds")

#: Parameters recorded per simulation (eta_1: the first group's effect).
PARAMETERS = ("gamma_0", "gamma_1", "sigma_b", "sigma_y", "eta_1")

#: The sampler's settings for every fit (chapter 5 justifies them).
SAMPLER = {"chains": 4, "warmup": 200, "draws": 500}

QUANTILES = (0.025, 0.05, 0.5, 0.95, 0.975)
_BASE_SEED = 20261125

#: The resumable runner of :mod:`bhm.runs`, kept here under its old name.
run_tasks = runs.run_tasks


@dataclass(frozen=True, order=True)
class Cell:
    """One cell of the study: a design, a prior, a size and the Stan program that fits it."""

    design: str
    prior: str
    size: str
    program: str = "marginal"

    def __post_init__(self):
        for value, known, what in ((self.design, DESIGNS, "design"), (self.prior, PRIORS, "prior"),
                                   (self.size, SIZES, "size"), (self.program, PROGRAMS, "program")):
            if value not in known:
                raise ValueError(f"unknown {what} {value!r}; known: {', '.join(known)}")

    @property
    def name(self) -> str:
        return f"{self.design}/{self.prior}/{self.size}" + ("" if self.program == "marginal" else f"/{self.program}")


def cells() -> list[Cell]:
    """The full grid.

    Design A with every prior on gamma and every size; the sigma_b priors at
    5 x 50 and 10 x 200; design B with the true and wrong priors at 10 x 200;
    and, with the centred program, the cells of five groups under the true and
    the flat prior on gamma, and at 5 x 50 under the three sigma_b priors.

    Returns
    -------
    list of Cell
        In the order above.
    """
    grid = [Cell("A", prior, size) for prior in GAMMA_PRIORS for size in SIZES]
    grid += [Cell("A", prior, size) for prior in SIGMA_B_ARM[1:] for size in ("5x50", "10x200")]
    grid += [Cell("B", prior, "10x200") for prior in ("true", "wrong")]
    grid += [Cell("A", prior, "5x50", "centred") for prior in ("true", "flat", *SIGMA_B_ARM[1:])]
    grid += [Cell("A", prior, "5x200", "centred") for prior in ("true", "flat")]
    return grid


def parse_cells(patterns: list[str] | None) -> list[Cell]:
    """Cells of the grid that match any of ``patterns`` ("A/true/10x200", "A/*/10x200", "B", "*/centred").

    Parameters
    ----------
    patterns : list of str or None
        Shell-style patterns of cell names (``design/prior/size[/program]``); a
        pattern also matches the cells below it. None or empty: every cell.

    Returns
    -------
    list of Cell
        In the grid's order.

    Raises
    ------
    ValueError
        No cell matches.
    """
    from fnmatch import fnmatch

    grid = cells()
    if not patterns:
        return grid
    chosen = [cell for cell in grid if any(fnmatch(cell.name, p) or fnmatch(cell.name, p + "/*") for p in patterns)]
    if not chosen:
        raise ValueError(f"no cell matches {patterns}; cells are named like {grid[0].name!r}")
    return chosen


def _seed(*parts: int) -> np.random.SeedSequence:
    return np.random.SeedSequence([_BASE_SEED, *parts])


def _index(mapping: dict, key: str) -> int:
    return list(mapping).index(key)


def _largest_group(groups: int) -> int:
    return max(per_group for j, per_group in SIZES.values() if j == groups)


@functools.cache
def design_for(design: str, size: str) -> simulate.Design:
    """The fixed predictors of a design and size.

    ``u`` depends on the number of groups only, and is exactly centred and
    scaled: u_j = u_loc + u_scale z_j, with z_j = Phi^-1((j - 1/2) / J)
    standardised to mean 0 and sd 1. ``x`` is drawn once per design and number
    of groups, for the largest group size of the grid, and a cell with fewer
    individuals per group takes each group's first ones: 10 x 100 is 10 x 200
    with the second half of every group left out, so two sizes with the same J
    differ only in n per group.

    Parameters
    ----------
    design : str
        A key of :data:`DESIGNS`.
    size : str
        A key of :data:`SIZES`.

    Returns
    -------
    bhm.simulate.Design
        ``x`` (N,), ``u`` (J,) and ``group`` (N,), 1-based; made once per
        design and size and shared by every call, so the arrays are read-only.

    Raises
    ------
    ValueError
        An unknown design or size.
    """
    from scipy import stats

    if design not in DESIGNS:
        raise ValueError(f"unknown design {design!r}; known: {', '.join(DESIGNS)}")
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; known: {', '.join(SIZES)}")
    groups, per_group = SIZES[size]
    spec = DESIGNS[design]
    z = stats.norm.ppf((np.arange(1, groups + 1) - 0.5) / groups)
    u = spec["u_loc"] + spec["u_scale"] * (z - z.mean()) / z.std()
    largest = _largest_group(groups)
    rng = np.random.default_rng(_seed(0, _index(DESIGNS, design), groups))
    x = rng.normal(spec["x_loc"], spec["x_scale"], size=(groups, largest))[:, :per_group].ravel()
    group = np.repeat(np.arange(1, groups + 1), per_group)
    for array in (x, u, group):  # cached (one per design and size): nobody may change it
        array.setflags(write=False)
    return simulate.Design(x=x, u=u, group=group)


def simulation_data(cell: Cell, sim: int) -> dict:
    """Data set ``sim`` of a cell: the same for every prior and program (common random numbers).

    Parameters
    ----------
    cell : Cell
    sim : int
        The simulation's number, >= 0.

    Returns
    -------
    dict
        As :func:`bhm.simulate.simulate_varying_slope`: ``N, J``; ``group, x, y``
        (N,); ``u`` (J,) and the true ``eta`` and ``beta`` (J,).

    Raises
    ------
    ValueError
        ``sim`` not a whole number >= 0.
    """
    whole_number(sim, "sim", 0)
    design = design_for(cell.design, cell.size)
    rng = np.random.default_rng(_seed(1, _index(DESIGNS, cell.design), _index(SIZES, cell.size), int(sim)))
    return simulate.simulate_varying_slope(design, seed=rng, **TRUTH)


def sufficient_statistics(group, x, y, n_groups: int) -> dict:
    """Per-group sums that determine the normal likelihood of the varying-slope model.

    Parameters
    ----------
    group : array_like of int, shape (N,)
        1-based group of each individual.
    x, y : array_like, shape (N,)
    n_groups : int

    Returns
    -------
    dict
        ``n, sx, sy, sxy, sxx, syy``, each of shape (n_groups,).

    Raises
    ------
    ValueError
        Shapes that differ, or group indices outside 1..n_groups.
    """
    group = np.asarray(group)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if not (group.shape == x.shape == y.shape) or group.ndim != 1:
        raise ValueError(f"group, x and y must have one shape (N,); got {group.shape}, {x.shape}, {y.shape}")
    if group.size and (group.min() < 1 or group.max() > n_groups):
        raise ValueError(f"group must hold 1-based indices in 1..{n_groups}")
    idx = group - 1

    def total(weights):
        return np.bincount(idx, weights=weights, minlength=n_groups)

    return {"n": total(None).astype(float), "sx": total(x), "sy": total(y), "sxy": total(x * y),
            "sxx": total(x * x), "syy": total(y * y)}


def _prior_spec(prior) -> dict:
    if isinstance(prior, Cell):
        return PRIORS[prior.prior]
    if isinstance(prior, str):
        if prior not in PRIORS:
            raise ValueError(f"unknown prior {prior!r}; known: {', '.join(PRIORS)}")
        return PRIORS[prior]
    if not isinstance(prior, dict) or set(prior) != {"gamma", "sigma_b"} or prior["sigma_b"] not in SIGMA_B_PRIORS:
        raise ValueError("prior must be a Cell, a name of PRIORS or a dict {'gamma': (loc, scale) or None, "
                         f"'sigma_b': one of {list(SIGMA_B_PRIORS)}}}; got {prior!r}")
    return prior


def stan_data(prior, data: dict) -> dict:
    """Data of the study's programs (both take the same): sufficient statistics plus a prior.

    Parameters
    ----------
    prior : Cell, str or dict
        A cell (its prior is used), a name of :data:`PRIORS`, or a prior in
        their form: ``{"gamma": (loc, scale) or None, "sigma_b": name}``, a
        normal prior on each of gamma_0 and gamma_1 (None: flat) and one of
        :data:`SIGMA_B_PRIORS` (chapter 7's calibration passes its own).
    data : dict
        A data set of :func:`simulation_data` (or
        :func:`bhm.simulate.simulate_varying_slope`): ``J``, ``group``, ``x``,
        ``y`` (each (N,)) and ``u`` (J,).

    Returns
    -------
    dict
        ``J``; ``n, sx, sy, sxy, sxx, syy`` (:func:`sufficient_statistics`,
        each (J,)); ``u`` (J,); ``flat_prior`` (0 or 1); ``gamma_loc`` and
        ``gamma_scale`` (2,); ``sigma_b_prior`` (the program's code of the
        prior on sigma_b).

    Raises
    ------
    ValueError
        An unknown prior, or data that :func:`sufficient_statistics` rejects.
    """
    spec = _prior_spec(prior)
    gamma = spec["gamma"]
    stats = sufficient_statistics(data["group"], data["x"], data["y"], data["J"])
    return {"J": data["J"], **stats, "u": data["u"], "flat_prior": int(gamma is None),
            "gamma_loc": [0.0, 0.0] if gamma is None else [gamma[0]] * 2,
            "gamma_scale": [1.0, 1.0] if gamma is None else [gamma[1]] * 2,
            "sigma_b_prior": SIGMA_B_PRIORS[spec["sigma_b"]]}


def parameter_draws(draws: dict, names=PARAMETERS) -> dict:
    """The draws of each named parameter from a fit of the study's programs.

    Parameters
    ----------
    draws : dict of str to numpy.ndarray
        From :func:`bhm.stan.sample_arrays`: each variable with shape
        (chains, draws, ...).
    names : sequence of str
        Scalar parameters of the program, and ``"eta_1"``: the first group's
        effect, a variable of its own or the first entry of ``eta``.

    Returns
    -------
    dict of str to numpy.ndarray
        ``names`` in their order, each of shape (chains, draws).
    """
    return {name: draws[name] if name in draws or name != "eta_1" else draws["eta"][..., 0] for name in names}


def fit_seed(cell: Cell, sim: int) -> int:
    """The sampler's seed for simulation ``sim`` of ``cell``.

    It depends on the data set (design, size, sim) and the program, not on the
    prior: the fits of one data set under different priors start from the same
    random numbers, so their Monte Carlo errors are correlated and the paired
    differences between priors are less noisy.

    Parameters
    ----------
    cell : Cell
    sim : int
        The simulation's number, >= 0.

    Returns
    -------
    int
        In [0, 2**31), as Stan takes it.
    """
    return int(_seed(2, _index(DESIGNS, cell.design), _index(SIZES, cell.size), _index(PROGRAMS, cell.program),
                     int(sim)).generate_state(1)[0] % 2**31)


_LEAN_READY: set[str] = set()  # programs whose lean module this process has made sure of


def run_simulation(cell: Cell, sim: int) -> dict:
    """Simulate data set ``sim`` of ``cell``, fit it and return one flat row of results.

    The fit runs in this process through :func:`bhm.stan.sample_arrays` (chains
    one after another, :data:`SAMPLER`); run simulations in parallel
    processes, as :func:`run_study` does. With PyStan it runs through the
    program's lean module, built here if this machine lacks it (a few minutes,
    once; :func:`bhm.stan.build_lean`): the committed rows came from it, and the
    marginal program's lean module has the analytic gradient of
    ``stan/varying_slope_marginal.hpp``, whose draws differ from those of
    httpstan's module.

    Parameters
    ----------
    cell : Cell
        The cell: design, prior, size and program.
    sim : int
        The simulation's number, >= 0: it fixes the data set and the seed.

    Returns
    -------
    dict
        The cell's keys, ``sim``, ``seed``, ``divergences``, ``leapfrogs``,
        ``seconds`` and ``stan_seconds`` (timings, see :data:`TIMINGS`),
        ``true_eta_1``, and for each of :data:`PARAMETERS` its posterior
        ``_mean``, ``_sd``, quantiles ``_q2.5`` ... ``_q97.5``, ``_rhat`` and
        ``_ess_bulk``.

    Raises
    ------
    ValueError
        ``sim`` not a whole number >= 0.
    """
    import time

    from bhm import diagnostics, stan

    if cell.program not in _LEAN_READY:
        stan.build_lean([PROGRAMS[cell.program]])
        _LEAN_READY.add(cell.program)
    data = simulation_data(cell, sim)
    seed = fit_seed(cell, sim)
    start, timing = time.perf_counter(), {}
    draws = stan.sample_arrays(PROGRAMS[cell.program], stan_data(cell, data), seed=seed, timing=timing, **SAMPLER)
    seconds = time.perf_counter() - start
    values = parameter_draws(draws)
    row = {"design": cell.design, "prior": cell.prior, "size": cell.size, "program": cell.program,
           "sim": int(sim), "seed": seed, "divergences": int(draws["divergent__"].sum()),
           "leapfrogs": int(draws["n_leapfrog__"].sum()), "seconds": round(seconds, 4),
           "stan_seconds": round(timing.get("stan_seconds", float("nan")), 4),
           "true_eta_1": float(data["eta"][0])}
    stacked = np.stack(list(values.values()), axis=-1)        # (chains, draws, parameters)
    flat = stacked.reshape(-1, stacked.shape[-1])
    means, sds, quantiles = flat.mean(axis=0), flat.std(axis=0), np.quantile(flat, QUANTILES, axis=0)
    checks = diagnostics.rank_checks(stacked)
    for i, name in enumerate(values):
        row[f"{name}_mean"] = float(means[i])
        row[f"{name}_sd"] = float(sds[i])
        for q, value in zip(QUANTILES, quantiles[:, i]):
            row[f"{name}_q{q * 100:g}"] = float(value)
        row[f"{name}_rhat"] = float(checks["rhat"][i])
        row[f"{name}_ess_bulk"] = float(checks["ess_bulk"][i])
    return row


# ------------------------------------------------------------------ the store
def _path(out: Path, cell: Cell, sim: int) -> Path:
    return out / cell.program / cell.design / cell.prior / cell.size / f"{sim:04d}.json"


def run_study(out, *, cells_to_run: list[Cell] | None = None, n_sims: int = 300, executor=None,
              max_workers: int | None = None, progress: bool = True) -> dict:
    """Run every missing simulation of ``cells_to_run`` and store it under ``out``.

    Parameters
    ----------
    out : path
        Results folder; one JSON file per finished simulation. Existing files
        are kept and their simulations skipped, so an interrupted run resumes.
    cells_to_run : list of Cell, optional
        Default: the full grid (:func:`cells`).
    n_sims : int
        Simulations per cell.
    executor : concurrent.futures.Executor, optional
        Where fits run. Default: a process pool with ``max_workers`` processes
        (default: the number of cores), one pool per program of
        :data:`PROGRAMS`, the marginal program's cells first. A caller's
        executor is not shut down; its workers should each fit one program
        (a second program's fits each start a process of their own).
    progress : bool
        Show a tqdm progress bar with an ETA.

    Returns
    -------
    dict
        ``done`` (run now), ``skipped`` (found in ``out``), ``seconds``.

    Raises
    ------
    ValueError
        ``n_sims`` not a whole number >= 1; and whatever a fit raised (the
        simulations stored before it stay).
    """
    whole_number(n_sims, "n_sims", 1)
    chosen = cells_to_run or cells()
    report = {"done": 0, "skipped": 0, "seconds": 0.0}
    # One program after the other, each in a pool of its own: a worker process
    # samples one program's compiled module in process, and would have to start
    # a fresh process for every fit of a second program (see bhm.stan.sample_arrays).
    for program in PROGRAMS:
        tasks = [(cell, sim) for cell in chosen if cell.program == program for sim in range(n_sims)]
        if tasks:
            part = runs.run_tasks(out, tasks, run_simulation, _path, executor=executor, max_workers=max_workers,
                                  progress=progress, desc=f"study ({program})")
            report = {key: report[key] + part[key] for key in report}
    return report


_KEYS = ["program", "design", "prior", "size"]


def load_results(out) -> pd.DataFrame:
    """All finished simulations under ``out``, one row per simulation.

    Parameters
    ----------
    out : path-like
        Results folder of :func:`run_study`.

    Returns
    -------
    pandas.DataFrame, shape (simulations, columns)
        The rows of :func:`run_simulation`, sorted by program, design, prior,
        size and simulation.

    Raises
    ------
    ValueError
        No results under ``out``.
    """
    return runs.load_rows(out, "*/*/*/*/[0-9]*.json", [*_KEYS, "sim"])


#: The full study's results, made by ``python -m bhm study --export`` and shipped with the book.
COMMITTED = "study_results.csv.gz"


def load_committed() -> tuple[pd.DataFrame, dict]:
    """The committed results of the full study and their provenance (command, version, date, wall time).

    Returns
    -------
    (pandas.DataFrame, dict)
        The rows of :func:`run_simulation`, one per simulation of the full grid,
        and the provenance of the run (command, version, date, wall time, machine).

    Raises
    ------
    FileNotFoundError
        The file or its provenance is missing (the message gives the command that makes them).
    """
    from bhm.data import load_committed_results

    return load_committed_results(COMMITTED, "python -m bhm study --sims 300 --out results/study")


# The summaries of the results live in bhm.study.analysis; importable from here.
from bhm.study.analysis import (  # noqa: E402
    cell_table,
    failed,
    failure_reasons,
    funnel_depth,
    mcnemar,
    paired_differences,
    predicted_pull,
    prior_pull_on_eta,
    summarise,
)
