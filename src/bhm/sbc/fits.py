"""SBC of the book's Stan programs: simulate from the prior, fit, rank, thin by the ESS; run them resumably.

The varying-slope programs of chapters 4-5 on chapter 5's design
(:func:`stan_replication`) and the GCSE program of chapter 6 on the real
design (:func:`gcse_replication`); one replication per task of
:func:`bhm.runs.run_tasks` (:func:`run_stan_sbc`), read back by
:func:`load_ranks`; the committed results by :func:`load_committed`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bhm.sbc.mh import _check_reps
from bhm.sbc.ranks import LABELS, ess_iterations, evenly_spaced, ranks

#: At most this many fits per replication: the first, and one longer run if its ESS is below L.
MAX_RUNS = 2


#: At most this many draws per chain in a longer run (8 times the varying-slope fits' first run).
MAX_DRAWS = 2000


def _min_ess(quantities: dict) -> float:
    """Smallest bulk or tail ESS over the recorded quantities (each (chains, draws))."""
    from bhm import diagnostics

    checks = [diagnostics.convergence(d) for d in quantities.values()]
    values = [c[key] for c in checks for key in ("ess_bulk", "ess_tail") if np.isfinite(c[key])]
    return max(min(values), 1.0) if values else 1.0


def _max_rhat(quantities: dict) -> float:
    from bhm import diagnostics

    return max(diagnostics.convergence(d)["rhat"] for d in quantities.values())


def _ranked_fit(sample, truth: dict, seeds, *, draws: int) -> dict:
    """Fit, refit longer while the ESS is below L (Talts et al.'s Algorithm 2), and rank the truth.

    ``sample(seed, draws)`` returns ``(quantities, divergences)``: each
    recorded quantity's draws, shape (chains, draws), and the fit's number of
    divergent transitions. The row holds, for the fit whose draws are ranked,
    the ranks, the number of draws per chain, its smallest bulk or tail ESS,
    its largest R-hat and its divergences, and for the first fit its ESS and
    divergences, so that failures are counted, never dropped. A fit that
    Stan cannot finish (a RuntimeError) gives a row with its ``error`` and no ranks.
    """
    import time

    start = time.perf_counter()
    first = None
    for run in range(MAX_RUNS):
        try:
            quantities, divergences = sample(seeds[run], draws)
        except RuntimeError as error:
            return {"runs": run + 1, "draws": draws, "error": str(error)[:500],
                    "seconds": time.perf_counter() - start}
        ess = _min_ess(quantities)
        if first is None:
            first = {"first_min_ess": ess, "first_divergences": divergences}
        longer = ess_iterations(ess, draws, max_iter=MAX_DRAWS)
        if longer == draws or run == MAX_RUNS - 1:
            break
        draws = longer
    row = {"runs": run + 1, "draws": draws, "min_ess": ess, **first, "divergences": divergences,
           "max_rhat": _max_rhat(quantities)}
    for name, d in quantities.items():
        flat = d.reshape(-1)  # chain after chain
        row[name] = int(ranks([truth[name]], flat[evenly_spaced(flat.size)][None, :])[0])
        row[f"true_{name}"] = float(truth[name])
    row["seconds"] = time.perf_counter() - start   # the only column a rerun does not reproduce
    return row


#: Parameters whose ranks the Stan SBC records (eta_1: the first group's effect).
STAN_PARAMETERS = ("alpha", "gamma_0", "gamma_1", "sigma_b", "sigma_y", "eta_1")


#: ... and the data-dependent test quantity, the log-likelihood of the data at each draw.
STAN_QUANTITIES = STAN_PARAMETERS + ("loglik",)


#: The simulator's prior: the program's own priors with its "true" prior N(1, 1) on gamma.
STAN_PRIOR = {"alpha": (0.0, 10.0), "gamma": (1.0, 1.0), "sigma_b_cauchy": 5.0, "sigma_y_cauchy": 5.0}


#: Each fit: its program and what it is told the prior on (gamma_0, gamma_1) is (the simulator's, or
#: chapter 5's wrong one). Both programs put half-Cauchy(0, 5) priors on sigma_b and sigma_y.
STAN_FITS = {"matched": ("varying_slope_suff", (1.0, 1.0)),
             "mismatched": ("varying_slope_suff", (2.0, 1.0)),
             "noncentred": ("varying_slope_nc", (1.0, 1.0))}


#: Sampler of each first fit: 4 x 250 = 1,000 draws, thinned to N_DRAWS (longer runs: more draws).
STAN_SAMPLER = {"chains": 4, "warmup": 300, "draws": 250}


#: Design of every replication: groups and individuals per group (chapter 5's design A, 10 x 20).
STAN_DESIGN = ("A", 10, 20)


_BASE_SEED = 20261126


def stan_prior_draw(rep: int) -> dict:
    """The parameters of replication ``rep``, drawn from :data:`STAN_PRIOR` (seeded by ``rep``).

    Parameters
    ----------
    rep : int
        The replication's number, >= 0: it fixes the draw (common random numbers).

    Returns
    -------
    dict
        ``alpha``, ``gamma_0``, ``gamma_1``, ``sigma_b``, ``sigma_y`` (floats).
    """
    rng = np.random.default_rng([_BASE_SEED, 0, int(rep)])
    loc, scale = STAN_PRIOR["gamma"]
    return {"alpha": float(rng.normal(*STAN_PRIOR["alpha"])),
            "gamma_0": float(rng.normal(loc, scale)), "gamma_1": float(rng.normal(loc, scale)),
            "sigma_b": float(abs(STAN_PRIOR["sigma_b_cauchy"] * rng.standard_cauchy())),
            "sigma_y": float(abs(STAN_PRIOR["sigma_y_cauchy"] * rng.standard_cauchy()))}


def _design():
    from bhm import simulate, study

    name, groups, per_group = STAN_DESIGN
    rng = np.random.default_rng([_BASE_SEED, 1])
    return simulate.draw_design([per_group] * groups, seed=rng, **study.DESIGNS[name])


def stan_simulation(rep: int) -> tuple[dict, dict]:
    """Replication ``rep``'s data set and its truth; the same for every fit (common random numbers).

    Parameters
    ----------
    rep : int
        The replication's number, >= 0: it fixes the draw (common random numbers).

    Returns
    -------
    (dict, dict)
        The data of :func:`bhm.simulate.simulate_varying_slope` (``N, J, group,
        x, y, u``, the true ``eta`` and ``beta``) and the true value of every
        quantity of :data:`STAN_QUANTITIES`.
    """
    from bhm import simulate

    truth = stan_prior_draw(rep)
    data = simulate.simulate_varying_slope(_design(), seed=np.random.default_rng([_BASE_SEED, 2, int(rep)]),
                                           **truth)
    truth["eta_1"] = float(data["eta"][0])
    truth["loglik"] = float(_varying_slope_loglik(data, np.array(truth["alpha"]), data["beta"],
                                                  np.array(truth["sigma_y"])))
    return data, truth


def _varying_slope_loglik(data, alpha, beta, sigma_y):
    """log p(y | alpha, beta, sigma_y) up to a constant, for draws of shape (...,) and beta (..., J)."""
    from bhm import study

    s = study.sufficient_statistics(data["group"], data["x"], data["y"], data["J"])
    a = alpha[..., None]
    rss = (s["syy"] - 2 * a * s["sy"] - 2 * beta * s["sxy"] + s["n"] * a**2 + 2 * a * beta * s["sx"]
           + beta**2 * s["sxx"]).sum(axis=-1)
    return -data["N"] * np.log(sigma_y) - 0.5 * rss / sigma_y**2


def _fit_seed(fit: str, rep: int, run: int) -> int:
    """The sampler's seed of a fit; the first run's is that of the book's earlier fixed-thinning runs."""
    key = [_BASE_SEED, 3, list(STAN_FITS).index(fit), int(rep)] + ([run] if run else [])
    return int(np.random.default_rng(key).integers(2**31))


def stan_replication(fit: str, rep: int) -> dict:
    """Simulate replication ``rep`` from the prior, fit it, and return the ranks (one flat dict).

    The data depend on ``rep`` only, so every fit meets the same data sets.
    Each fit is thinned by its ESS (:func:`ess_iterations`: refit with more
    draws while the smallest bulk or tail ESS of the recorded quantities is
    below L, at most :data:`MAX_RUNS` fits). The row holds the ranks of
    :data:`STAN_QUANTITIES`, the truth, the diagnostics of the ranked fit and
    of the first one, and the seed of the first.

    Parameters
    ----------
    fit : str
        The name of a fit of :data:`STAN_FITS` (a program and its prior), not a fit object.
    rep : int
        The replication's number, >= 0: it fixes the draw (common random numbers).

    Returns
    -------
    dict
        ``fit``, ``rep``, ``seed``; ``runs``, ``draws`` (per chain, of the
        ranked fit), ``min_ess``, ``first_min_ess``, ``divergences``,
        ``first_divergences``, ``max_rhat``; for each recorded quantity its rank
        (0..L) and ``true_<name>``; ``seconds``. A fit Stan could not finish
        gives ``error`` and no ranks.

    Raises
    ------
    ValueError
        An unknown ``fit``.
    """
    from bhm import stan, study

    if fit not in STAN_FITS:
        raise ValueError(f"unknown fit {fit!r}; known: {', '.join(STAN_FITS)}")
    data, truth = stan_simulation(rep)
    program, gamma = STAN_FITS[fit]
    # the study's data with the fit's prior; both programs put half-Cauchy(0, 5) on sigma_b
    program_data = study.stan_data({"gamma": gamma, "sigma_b": "half-Cauchy(0, 5)"}, data)
    if program != "varying_slope_suff":  # the per-observation program: the data themselves
        program_data = ({key: data[key] for key in ("N", "J", "group", "x", "y", "u")}
                        | {key: program_data[key] for key in ("flat_prior", "gamma_loc", "gamma_scale")}
                        | {"prior_only": 0})

    def sample(seed, draws):
        options = dict(STAN_SAMPLER, draws=draws)
        out = stan.sample_arrays(program, program_data, seed=seed, **options)
        quantities = study.parameter_draws(out, STAN_PARAMETERS)
        quantities["loglik"] = _varying_slope_loglik(data, out["alpha"], out["beta"], out["sigma_y"])
        return quantities, int(out["divergent__"].sum())

    seeds = [_fit_seed(fit, rep, run) for run in range(MAX_RUNS)]
    row = {"fit": fit, "rep": int(rep), "seed": seeds[0]}
    row.update(_ranked_fit(sample, truth, seeds, draws=STAN_SAMPLER["draws"]))
    return row


#: Schools whose alpha_j and beta_j are ranked: the largest (29 boys, 65 girls), one of median size
#: (20 students), and the smallest (one girl, no boy).
GCSE_SCHOOLS = ("68137", "60437", "84707")


#: Hyperparameters of stan/gcse_marginal.stan.
GCSE_HYPERPARAMETERS = ("mu_alpha", "mu_beta", "sigma_alpha", "sigma_beta", "rho", "sigma_y")


#: Every quantity whose rank the GCSE SBC records.
GCSE_QUANTITIES = (GCSE_HYPERPARAMETERS + tuple(f"{v}_{s}" for s in GCSE_SCHOOLS for v in ("alpha", "beta"))
                   + ("loglik",))


#: Sampler of each first fit: 4 x 150 = 600 draws, thinned to N_DRAWS (chosen by measurement: a fit
#: takes about 2 s, and the ESS of its 600 draws is almost always above L).
GCSE_SAMPLER = {"chains": 4, "warmup": 200, "draws": 150}


_GCSE_SEED = 20261201


for _school in GCSE_SCHOOLS:
    LABELS[f"alpha_{_school}"] = rf"$\alpha_{{{_school}}}$"
    LABELS[f"beta_{_school}"] = rf"$\beta_{{{_school}}}$"


def _gcse_design() -> pd.DataFrame:
    """The students of the GCSE data with a coursework score: school (str) and female (0/1)."""
    from bhm import data

    students = data.complete_course(data.load_gcse())
    return pd.DataFrame({"school": students["school"].astype(str), "female": students["female"]})


def gcse_prior_draw(rep: int) -> dict:
    """Hyperparameters of replication ``rep`` from the priors of :data:`bhm.gcse.BAYES_PRIORS`.

    Written from the program's model block, independently of it:
    :math:`\\mu_\\alpha, \\mu_\\beta` normal; :math:`\\sigma_\\alpha,
    \\sigma_\\beta, \\sigma_y` half-normal; for two dimensions the LKJ(:math:`\\eta`)
    density of the correlation is proportional to :math:`(1 - \\rho^2)^{\\eta - 1}`,
    so :math:`(\\rho + 1)/2 \\sim \\text{Beta}(\\eta, \\eta)`.

    Parameters
    ----------
    rep : int
        The replication's number, >= 0: it fixes the draw (common random numbers).

    Returns
    -------
    dict
        The six hyperparameters of :data:`GCSE_HYPERPARAMETERS` (floats).
    """
    from bhm import gcse

    prior = gcse.BAYES_PRIORS
    rng = np.random.default_rng([_GCSE_SEED, 0, int(rep)])
    return {"mu_alpha": float(rng.normal(prior["mu_loc"][0], prior["mu_scale"][0])),
            "mu_beta": float(rng.normal(prior["mu_loc"][1], prior["mu_scale"][1])),
            "sigma_alpha": float(abs(rng.normal(0.0, prior["tau_scale"][0]))),
            "sigma_beta": float(abs(rng.normal(0.0, prior["tau_scale"][1]))),
            "rho": float(2 * rng.beta(prior["lkj_eta"], prior["lkj_eta"]) - 1),
            "sigma_y": float(abs(rng.normal(0.0, prior["sigma_scale"])))}


def gcse_simulation(rep: int) -> tuple[pd.DataFrame, dict, np.ndarray]:
    """Replication ``rep``: hyperparameters from the prior, then every school's effects, then the scores.

    The design is the real one: the 1,725 students with a coursework score,
    each keeping their school and gender; only the scores are simulated,
    :math:`y_i = \\alpha_{j[i]} + \\beta_{j[i]} x_i + \\epsilon_i`.

    Parameters
    ----------
    rep : int
        The replication's number, >= 0: it fixes the draw (common random numbers).

    Returns
    -------
    (pandas.DataFrame, dict, numpy.ndarray)
        The students (``school``, ``female``, simulated ``course``), the true
        hyperparameters, and the true effects, shape (73, 2): (alpha_j, beta_j)
        in sorted school-ID order (Stan's school index j - 1).
    """
    truth = gcse_prior_draw(rep)
    students = _gcse_design()
    schools = sorted(students["school"].unique())
    sa, sb, rho = truth["sigma_alpha"], truth["sigma_beta"], truth["rho"]
    rng = np.random.default_rng([_GCSE_SEED, 1, int(rep)])
    # (alpha_j, beta_j) = mu + L z with L the Cholesky factor of Sigma, written out for 2 x 2
    z = rng.normal(size=(len(schools), 2))
    effects = np.column_stack([truth["mu_alpha"] + sa * z[:, 0],
                               truth["mu_beta"] + sb * (rho * z[:, 0] + np.sqrt(1 - rho**2) * z[:, 1])])
    j = students["school"].map({school: k for k, school in enumerate(schools)}).to_numpy()
    x = students["female"].to_numpy()
    course = effects[j, 0] + effects[j, 1] * x + rng.normal(0.0, truth["sigma_y"], size=len(students))
    return students.assign(course=course), truth, effects


def _gcse_loglik(cells: dict, alpha, beta, sigma_y):
    """log p(y | alpha, beta, sigma_y) up to a constant, from the cells' sufficient statistics.

    Per cell c of school j: :math:`-n_c \\log\\sigma_y - (w_c + n_c(\\bar y_c - \\alpha_j - \\beta_j x_c)^2)
    / 2\\sigma_y^2`, with :math:`w_c` the within-cell sum of squares. ``alpha`` and ``beta`` have
    shape (..., J), ``sigma_y`` shape (...).
    """
    n, s, ss, x = (np.asarray(cells[k], dtype=float) for k in ("n", "s", "ss", "x"))
    j = np.asarray(cells["school"]) - 1
    ybar, w = s / n, ss - s**2 / n
    sigma_y = np.asarray(sigma_y, dtype=float)
    dev = ybar - np.take(alpha, j, axis=-1) - np.take(beta, j, axis=-1) * x
    return -n.sum() * np.log(sigma_y) - 0.5 * (w.sum() + (n * dev**2).sum(axis=-1)) / sigma_y**2


def gcse_replication(rep: int) -> dict:
    """SBC of ``stan/gcse_marginal.stan`` for replication ``rep``: simulate, fit, rank.

    The data go through :func:`bhm.gcse.bayes_data`, the function chapter 6
    fits the real data with, so its cell statistics are checked too. Ranks
    of :data:`GCSE_QUANTITIES`: the six hyperparameters, alpha_j and beta_j
    of :data:`GCSE_SCHOOLS` (drawn in the program's generated quantities) and
    the log-likelihood of the data (from every school's alpha_j, beta_j and
    sigma_y). Thinned by the ESS as :func:`stan_replication`.

    Parameters
    ----------
    rep : int
        The replication's number, >= 0: it fixes the draw (common random numbers).

    Returns
    -------
    dict
        The row, as :func:`stan_replication`'s (``fit`` is ``"gcse"``).

    Raises
    ------
    KeyError
        A simulated data set that ``bhm.gcse.bayes_data`` rejects (never seen).
    """
    from bhm import gcse, stan

    students, hyper, effects = gcse_simulation(rep)
    program_data = gcse.bayes_data(students)
    schools = sorted(students["school"].unique())
    index = {school: schools.index(school) for school in GCSE_SCHOOLS}
    truth = dict(hyper)
    for school, k in index.items():
        truth[f"alpha_{school}"], truth[f"beta_{school}"] = float(effects[k, 0]), float(effects[k, 1])
    truth["loglik"] = float(_gcse_loglik(program_data, effects[:, 0], effects[:, 1], hyper["sigma_y"]))

    def sample(seed, draws):
        out = stan.sample_arrays("gcse_marginal", program_data, seed=seed, **dict(GCSE_SAMPLER, draws=draws))
        quantities = {name: out[name] for name in GCSE_HYPERPARAMETERS}
        for school, k in index.items():
            quantities[f"alpha_{school}"] = out["alpha"][..., k]
            quantities[f"beta_{school}"] = out["beta"][..., k]
        quantities["loglik"] = _gcse_loglik(program_data, out["alpha"], out["beta"], out["sigma_y"])
        return quantities, int(out["divergent__"].sum())

    seeds = [int(np.random.default_rng([_GCSE_SEED, 2, int(rep), run]).integers(2**31)) for run in range(MAX_RUNS)]
    row = {"fit": "gcse", "rep": int(rep), "seed": seeds[0]}
    row.update(_ranked_fit(sample, truth, seeds, draws=GCSE_SAMPLER["draws"]))
    return row


#: Every fit the command line can run: the varying-slope fits, and "gcse".
FITS = tuple(STAN_FITS) + ("gcse",)


#: The Stan program of each fit.
FIT_PROGRAMS = {**{fit: program for fit, (program, _) in STAN_FITS.items()}, "gcse": "gcse_marginal"}


def program_digests(fits) -> dict:
    """SHA-256 of the Stan program of each fit, as stored with the results: a changed program makes them stale.

    Parameters
    ----------
    fits : iterable of str
        Names of :data:`FITS`.

    Returns
    -------
    dict of str to str
        Program name -> SHA-256 (hex) of its source.

    Raises
    ------
    KeyError
        An unknown fit.
    """
    import hashlib

    from bhm import stan

    return {FIT_PROGRAMS[fit]: hashlib.sha256(stan.program_code(FIT_PROGRAMS[fit]).encode()).hexdigest()
            for fit in fits}


def replication(fit: str, rep: int) -> dict:
    """One replication of any fit of :data:`FITS` (:func:`stan_replication` or :func:`gcse_replication`).

    Parameters
    ----------
    fit : str
        One of :data:`FITS`.
    rep : int
        The replication's number, >= 0: it fixes the draw (common random numbers).

    Returns
    -------
    dict
        The row, as :func:`stan_replication`'s.

    Raises
    ------
    ValueError
        An unknown fit.
    """
    if fit == "gcse":
        return gcse_replication(rep)
    return stan_replication(fit, rep)


def _stan_path(out: Path, fit: str, rep: int) -> Path:
    return out / fit / f"{rep:04d}.json"


def divergent_reps(results) -> list[int]:
    """The replications whose matched fit (the one ranked) had divergent transitions.

    Parameters
    ----------
    results : pandas.DataFrame or path
        Rows of :func:`stan_replication` (e.g. :func:`load_committed`), or a
        results folder of :func:`run_stan_sbc`.

    Returns
    -------
    list of int
        Sorted replication numbers.

    Raises
    ------
    ValueError
        No matched fits among the results.
    """
    table = results if isinstance(results, pd.DataFrame) else load_ranks(results)
    matched = table[table["fit"] == "matched"]
    if matched.empty:
        raise ValueError("no matched fits among the results: run the matched fit first")
    return sorted(int(rep) for rep in matched.loc[matched["divergences"] > 0, "rep"])


def run_stan_sbc(out, *, fit: str = "matched", n_reps: int = 1000, reps=None, executor=None,
                 max_workers: int | None = None, progress: bool = True) -> dict:
    """Run the missing replications of one fit; resumable (see :func:`bhm.runs.run_tasks`).

    Parameters
    ----------
    out : path
        Results folder, one JSON file per replication in ``out/<fit>/``.
    fit : str
        One of :data:`FITS`.
    n_reps : int
        Replications ``0..n_reps-1``; for ``"noncentred"``, only those among
        them whose matched fit in ``out`` had divergences (:func:`divergent_reps`):
        the non-centred program refits the data sets where the centred one met
        the funnel.
    reps : iterable of int, optional
        These replications instead.
    executor, max_workers, progress
        As for :func:`bhm.runs.run_tasks`.

    Returns
    -------
    dict
        ``done``, ``skipped`` and ``seconds``.

    Raises
    ------
    ValueError
        An unknown fit, ``n_reps`` below 2, or a non-centred run without matched results in ``out``.
    """
    from bhm import runs

    if fit not in FITS:
        raise ValueError(f"unknown fit {fit!r}; known: {', '.join(FITS)}")
    n_reps = _check_reps(n_reps)
    if reps is None:
        reps = [rep for rep in divergent_reps(out) if rep < n_reps] if fit == "noncentred" else range(n_reps)
    return runs.run_tasks(out, [(fit, int(rep)) for rep in reps], replication, _stan_path,
                          executor=executor, max_workers=max_workers, progress=progress, desc=f"SBC {fit}")


def load_ranks(out) -> pd.DataFrame:
    """Every finished Stan replication under ``out``, one row each.

    Parameters
    ----------
    out : path-like
        Results folder of :func:`run_stan_sbc`.

    Returns
    -------
    pandas.DataFrame, shape (replications, columns)
        The rows of :func:`replication`, sorted by fit and replication.

    Raises
    ------
    ValueError
        No results under ``out``.
    """
    from bhm import runs

    return runs.load_rows(out, "*/[0-9]*.json", ["fit", "rep"], what="SBC results")


#: The Stan SBC's results, made by ``python -m bhm sbc ... --export`` and shipped with the book.
COMMITTED = "sbc_results.csv.gz"


#: ... and those of the GCSE program.
COMMITTED_GCSE = "sbc_gcse.csv.gz"


_COMMANDS = {
    COMMITTED: "python -m bhm sbc --reps 1000 --fit matched --fit mismatched --fit noncentred --out results/sbc",
    COMMITTED_GCSE: "python -m bhm sbc --reps 800 --fit gcse --out results/sbc-gcse",
}


def load_committed(name: str = COMMITTED) -> tuple[pd.DataFrame, dict]:
    """Committed SBC results (one row per fit and replication) and their provenance.

    Parameters
    ----------
    name : str
        :data:`COMMITTED` (the varying-slope fits) or :data:`COMMITTED_GCSE`.

    Returns
    -------
    (pandas.DataFrame, dict)
        One row per fit and replication (as :func:`stan_replication`), and the
        provenance (command, version, date, wall time, machine, programs' SHA-256).

    Raises
    ------
    ValueError
        An unknown ``name``.
    FileNotFoundError
        The file or its provenance is missing (the message gives the command).
    """
    from bhm.data import load_committed_results

    if name not in _COMMANDS:
        raise ValueError(f"unknown results {name!r}; known: {', '.join(_COMMANDS)}")
    return load_committed_results(name, _COMMANDS[name])
