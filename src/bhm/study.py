"""The Monte Carlo study of chapter 5: how priors shape hierarchical posteriors.

A *cell* is one combination of a data-generating design, a prior on
(gamma_0, gamma_1) and a size (groups x individuals per group). Each simulation
of a cell draws a data set from the source course's model with the true parameters,
fits ``stan/varying_slope_suff.stan`` and records, per parameter, the posterior
mean and quantiles with R-hat, bulk ESS and divergences.

Design choices, each measured in chapter 5:

* **Common random numbers.** The data of simulation ``k`` depend on (design,
  size, k) but not on the prior, so every prior meets the same data sets and
  differences between priors are not noise from different data. The sampler's
  seed depends on the whole cell as well.
* **Sufficient statistics.** The likelihood is computed from six numbers per
  group (:func:`sufficient_statistics`), not from every observation.
* **Few draws.** 4 chains of 300 warm-up and 250 kept iterations (1,000 draws):
  enough for Monte Carlo errors far below the spread between simulations.
* **Resumable.** Each finished simulation is written at once, atomically, to its
  own file in the results folder; a rerun skips what is there.
* **Any executor.** Simulations run through a ``concurrent.futures`` Executor:
  a local process pool by default, or e.g. ``distributed.Client().get_executor()``
  (with ``dask.config.set({"distributed.worker.daemon": False})``: each fit runs
  its chains in child processes, which daemonic Dask workers may not start).
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing as mp
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bhm import simulate

__all__ = [
    "TRUTH", "PRIORS", "SIZES", "DESIGNS", "PARAMETERS", "SAMPLER", "Cell",
    "cells", "parse_cells", "design_for", "simulation_data", "sufficient_statistics", "stan_data",
    "run_simulation", "run_tasks", "run_study", "load_results", "summarise", "COMMITTED", "load_committed",
    "failure_reasons", "prior_pull_on_eta",
]

#: The true parameters of every simulation.
TRUTH = {"alpha": 1.0, "gamma_0": 1.0, "gamma_1": 1.0, "sigma_b": 1.0, "sigma_y": 1.0}

#: Priors on gamma_0 and gamma_1: (mean, sd) of a normal, or None for the flat prior.
PRIORS = {
    "true": (1.0, 1.0),
    "wrong": (2.0, 1.0),
    "weak-wrong": (2.0, 3.0),
    "slightly-wrong-weak": (1.2, 3.0),
    "flat": None,
}

#: Sizes: (groups J, individuals per group).
SIZES = {"10x200": (10, 200), "10x100": (10, 100), "5x200": (5, 200), "50x10": (50, 10)}

#: Data-generating designs: x_i ~ N(x_loc, x_scale), u_j ~ N(u_loc, u_scale).
DESIGNS = {
    "A": {"x_loc": 0.0, "x_scale": 3.0, "u_loc": 0.0, "u_scale": 3.0},   # centred predictors
    "B": {"x_loc": 5.0, "x_scale": 0.3, "u_loc": 5.0, "u_scale": 0.3},   # uncentred, little spread
}

#: Parameters recorded per simulation (eta_1: the first group's effect).
PARAMETERS = ("gamma_0", "gamma_1", "sigma_b", "sigma_y", "eta_1")

#: The sampler's settings for every fit (chapter 5 justifies them).
SAMPLER = {"chains": 4, "warmup": 300, "draws": 1000}

QUANTILES = (0.025, 0.05, 0.5, 0.95, 0.975)
_BASE_SEED = 20261125


@dataclass(frozen=True, order=True)
class Cell:
    """One cell of the study: a design, a prior and a size."""

    design: str
    prior: str
    size: str

    def __post_init__(self):
        for value, known, what in ((self.design, DESIGNS, "design"), (self.prior, PRIORS, "prior"),
                                   (self.size, SIZES, "size")):
            if value not in known:
                raise ValueError(f"unknown {what} {value!r}; known: {', '.join(known)}")

    @property
    def name(self) -> str:
        return f"{self.design}/{self.prior}/{self.size}"


def cells() -> list[Cell]:
    """The full grid: design A with every prior and size; design B with the true
    and wrong priors at 10 x 200."""
    grid = [Cell("A", prior, size) for prior in PRIORS for size in SIZES]
    grid += [Cell("B", prior, "10x200") for prior in ("true", "wrong")]
    return grid


def parse_cells(patterns: list[str] | None) -> list[Cell]:
    """Cells of the grid that match any of ``patterns`` ("A/true/10x200", "A/*/10x200", "B")."""
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


def design_for(design: str, size: str) -> simulate.Design:
    """The fixed predictors of a design and size (drawn once, from a fixed seed)."""
    groups, per_group = SIZES[size]
    rng = np.random.default_rng(_seed(0, _index(DESIGNS, design), _index(SIZES, size)))
    return simulate.draw_design([per_group] * groups, seed=rng, **DESIGNS[design])


def simulation_data(cell: Cell, sim: int) -> dict:
    """Data set ``sim`` of a cell: same for every prior (common random numbers)."""
    if isinstance(sim, bool) or not isinstance(sim, (int, np.integer)) or sim < 0:
        raise ValueError(f"sim must be a whole number >= 0; got {sim!r}")
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


def stan_data(cell: Cell, data: dict) -> dict:
    """Data for ``varying_slope_suff.stan``: sufficient statistics plus the cell's prior."""
    prior = PRIORS[cell.prior]
    stats = sufficient_statistics(data["group"], data["x"], data["y"], data["J"])
    return {"J": data["J"], **stats, "u": data["u"], "flat_prior": int(prior is None),
            "gamma_loc": [0.0, 0.0] if prior is None else [prior[0]] * 2,
            "gamma_scale": [1.0, 1.0] if prior is None else [prior[1]] * 2}


def run_simulation(cell: Cell, sim: int) -> dict:
    """Simulate data set ``sim`` of ``cell``, fit it and return one flat row of results."""
    import arviz as az

    from bhm import stan

    _ensure_chain_pool()
    data = simulation_data(cell, sim)
    seed = int(_seed(2, _index(DESIGNS, cell.design), _index(PRIORS, cell.prior), _index(SIZES, cell.size),
                     int(sim)).generate_state(1)[0] % 2**31)
    idata = stan.sample("varying_slope_suff", stan_data(cell, data), seed=seed, check=False, **SAMPLER)
    post = idata.posterior
    values = {name: post[name].values for name in ("gamma_0", "gamma_1", "sigma_b", "sigma_y")}
    values["eta_1"] = post["eta"].values[..., 0]
    row = {"design": cell.design, "prior": cell.prior, "size": cell.size, "sim": int(sim), "seed": seed,
           "divergences": int(idata.sample_stats["diverging"].sum()),
           "true_eta_1": float(data["eta"][0])}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for name, draws in values.items():
            row[f"{name}_mean"] = float(draws.mean())
            for q, value in zip(QUANTILES, np.quantile(draws, QUANTILES)):
                row[f"{name}_q{q * 100:g}"] = float(value)
            row[f"{name}_rhat"] = float(az.rhat(draws))
            row[f"{name}_ess_bulk"] = float(az.ess(draws, method="bulk"))
    return row


# ------------------------------------------------------------------ the store
def _path(out: Path, cell: Cell, sim: int) -> Path:
    return out / cell.design / cell.prior / cell.size / f"{sim:04d}.json"


def _write_atomically(path: Path, row: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w") as handle:
        json.dump(row, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)  # atomic: the file is either absent or whole


_CHAIN_POOL_READY = False


def _ensure_chain_pool() -> None:
    """Give this process a spawn-based pool for Stan's chains, once.

    httpstan runs chains in a module-level process pool that forks. Forked from
    a process that already has threads (a pool or Dask worker), a chain process
    can inherit a held lock and hang; and the pool, never shut down, keeps its
    parent from exiting (a process joins its children before the atexit hooks
    that would stop them). So every process that runs simulations gets a
    spawn-based chain pool, shut down first at exit. (Threads would avoid
    processes altogether, but Stan's autodiff tape is not set up in threads Stan
    did not start: chains segfault there.)
    """
    global _CHAIN_POOL_READY
    if _CHAIN_POOL_READY:
        return
    import httpstan.services_stub as stub
    from multiprocessing.util import Finalize

    stub.executor = cf.ProcessPoolExecutor(max_workers=SAMPLER["chains"], mp_context=mp.get_context("spawn"),
                                           initializer=stub.init_worker)
    # before the pool's own queues close at exit (their finalisers have priority 10)
    Finalize(None, stub.executor.shutdown, kwargs={"cancel_futures": True}, exitpriority=100)
    _CHAIN_POOL_READY = True


def _default_executor(max_workers: int | None):
    # spawn, not fork: a parent that already ran Stan (a notebook) holds an event
    # loop and threads, which a forked child must not inherit
    return cf.ProcessPoolExecutor(max_workers=max_workers or os.cpu_count(), mp_context=mp.get_context("spawn"))


def run_tasks(out, tasks: list[tuple], fn, path, *, executor=None, max_workers: int | None = None,
              progress: bool = True, desc: str = "study") -> dict:
    """Run ``fn(*task)`` for every task whose result file is missing; store each result as it finishes.

    The engine of :func:`run_study` and of :mod:`bhm.sbc`: resumable (a task whose
    file exists is skipped; a file is written atomically, so a kill leaves it whole
    or absent), parallel through any ``concurrent.futures`` Executor, with a tqdm
    progress bar.

    Parameters
    ----------
    out : path
        Results folder.
    tasks : list of tuple
        Arguments of ``fn``, one tuple per task.
    fn : callable
        A module-level function (it is pickled to the workers) returning a
        JSON-serialisable dict.
    path : callable
        ``path(out, *task)``: the result file of a task, inside ``out``.
    executor, max_workers, progress
        As for :func:`run_study`.
    desc : str
        Label of the progress bar.

    Returns
    -------
    dict
        ``done`` (run now), ``skipped`` (found in ``out``), ``seconds``.
    """
    import time

    from tqdm.auto import tqdm

    out = Path(out)
    for stale in out.rglob(".tmp-*"):  # a write cut short by a kill: never a result
        stale.unlink()
    todo = [task for task in tasks if not path(out, *task).exists()]
    skipped = len(tasks) - len(todo)
    start = time.perf_counter()
    own = executor is None
    pool = _default_executor(max_workers) if own else executor
    bar = tqdm(total=len(todo), disable=not progress or not todo, unit="fit", desc=desc)
    futures = {}
    try:
        futures = {pool.submit(fn, *task): task for task in todo}
        for future in cf.as_completed(futures):
            _write_atomically(path(out, *futures[future]), future.result())
            bar.update()
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    finally:
        bar.close()
        if own:
            pool.shutdown(wait=True, cancel_futures=True)
    return {"done": len(todo), "skipped": skipped, "seconds": time.perf_counter() - start}


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
        (default: the number of cores). A caller's executor is not shut down.
    progress : bool
        Show a tqdm progress bar with an ETA.

    Returns
    -------
    dict
        ``done`` (run now), ``skipped`` (found in ``out``), ``seconds``.
    """
    if isinstance(n_sims, bool) or not isinstance(n_sims, (int, np.integer)) or n_sims < 1:
        raise ValueError(f"n_sims must be a whole number >= 1; got {n_sims!r}")
    tasks = [(cell, sim) for cell in cells_to_run or cells() for sim in range(n_sims)]
    return run_tasks(out, tasks, run_simulation, _path, executor=executor, max_workers=max_workers,
                     progress=progress, desc="study")


def load_results(out) -> pd.DataFrame:
    """All finished simulations under ``out`` as one DataFrame, one row per simulation."""
    files = sorted(Path(out).glob("*/*/*/[0-9]*.json"))
    if not files:
        raise ValueError(f"no results under {out}")
    rows = [json.loads(path.read_text()) for path in files]
    return pd.DataFrame(rows).sort_values(["design", "prior", "size", "sim"], ignore_index=True)


#: The full study's results, made by ``python -m bhm study --export`` and shipped with the book.
COMMITTED = "study_results.csv.gz"


def load_committed() -> tuple[pd.DataFrame, dict]:
    """The committed results of the full study and their provenance (command, version, date, wall time)."""
    from bhm.data import load_committed_results

    return load_committed_results(COMMITTED, "python -m bhm study --sims 300 --out results/study")


def _truth(results: pd.DataFrame, name: str):
    return results["true_eta_1"] if name == "eta_1" else TRUTH[name]


def summarise(results: pd.DataFrame, *, drop_failures: bool = False) -> pd.DataFrame:
    """Per cell and parameter: bias, spread, interval width, coverage, failure share.

    Parameters
    ----------
    results : DataFrame
        From :func:`load_results`.
    drop_failures : bool
        Leave out simulations that failed diagnostics (any R-hat > 1.01 or any
        divergence). The share of failures is reported either way.

    Returns
    -------
    DataFrame indexed by (design, prior, size, parameter), columns
        ``sims``, ``failed`` (share), ``mean`` (average posterior mean),
        ``bias``, ``p5``, ``p95`` (5-95% range of the posterior means across
        simulations), ``width90`` (average width of the 90% interval) and
        ``cover95`` (share of 95% intervals that cover the truth).
    """
    rhat_cols = [f"{name}_rhat" for name in PARAMETERS]
    failed = (results[rhat_cols] > 1.01).any(axis=1) | (results["divergences"] > 0)
    results = results.assign(failed=failed)
    if drop_failures:
        results = results[~results["failed"]]
    rows = []
    for (design, prior, size), group in results.groupby(["design", "prior", "size"], sort=False):
        for name in PARAMETERS:
            truth = _truth(group, name)
            means = group[f"{name}_mean"]
            cover = (group[f"{name}_q2.5"] <= truth) & (truth <= group[f"{name}_q97.5"])
            rows.append({
                "design": design, "prior": prior, "size": size, "parameter": name,
                "sims": len(group), "failed": float(group["failed"].mean()),
                "mean": means.mean(), "bias": (means - truth).mean(),
                "p5": means.quantile(0.05), "p95": means.quantile(0.95),
                "width90": (group[f"{name}_q95"] - group[f"{name}_q5"]).mean(),
                "cover95": cover.mean(),
            })
    return pd.DataFrame(rows).set_index(["design", "prior", "size", "parameter"])



def failure_reasons(results: pd.DataFrame) -> pd.DataFrame:
    """Why simulations failed diagnostics, per cell.

    Returns
    -------
    DataFrame indexed by (design, prior, size), columns ``rhat_over_1_01`` (share
        of simulations with any recorded parameter's R-hat above 1.01),
        ``any_divergence`` (share with at least one divergence) and
        ``min_bulk_ess`` (the smallest bulk ESS of any parameter in any simulation).
    """
    rhat_columns = [f"{name}_rhat" for name in PARAMETERS]
    ess_columns = [f"{name}_ess_bulk" for name in PARAMETERS]
    missing = [c for c in rhat_columns + ess_columns + ["divergences"] if c not in results.columns]
    if missing:
        raise ValueError(f"results lack column(s) {missing[:3]}: pass the output of load_results or load_committed")
    flags = results.assign(
        rhat_over_1_01=(results[rhat_columns] > 1.01).any(axis=1),
        any_divergence=results["divergences"] > 0,
        min_bulk_ess=results[ess_columns].min(axis=1),
    )
    return flags.groupby(["design", "prior", "size"])[["rhat_over_1_01", "any_divergence", "min_bulk_ess"]].agg(
        {"rhat_over_1_01": "mean", "any_divergence": "mean", "min_bulk_ess": "min"})


def prior_pull_on_eta(results: pd.DataFrame, *, design: str = "A", size: str = "10x200", prior: str = "wrong",
                      baseline: str = "true") -> dict:
    """How a prior's pull on (gamma_0, gamma_1) is given back by the first group's effect eta_1.

    The data pin down the group slope beta_1 = gamma_0 + gamma_1 u_1 + eta_1, so
    on average what ``prior`` adds to gamma_0 + gamma_1 u_1 (against
    ``baseline``, on the same data sets) eta_1 should give back.

    Returns
    -------
    dict
        ``u_1`` (the group's predictor), ``added`` (mean change of
        gamma_0 + gamma_1 u_1) and ``given_back`` (mean change of eta_1's error).
    """
    u_1 = float(design_for(design, size).u[0])
    means = {}
    for name in (prior, baseline):
        rows = results[(results["design"] == design) & (results["prior"] == name) & (results["size"] == size)]
        if rows.empty:
            raise ValueError(f"no simulations of cell {design}/{name}/{size} in results")
        means[name] = (rows["gamma_0_mean"].mean() + u_1 * rows["gamma_1_mean"].mean(),
                       (rows["eta_1_mean"] - rows["true_eta_1"]).mean())
    return {"u_1": u_1, "added": float(means[prior][0] - means[baseline][0]),
            "given_back": float(means[prior][1] - means[baseline][1])}
