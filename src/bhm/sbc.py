"""Simulation-based calibration: is the sampler drawing from the right posterior?

SBC (Talts et al. 2018; Modrák et al. 2023) checks a sampler and a model
together. Repeat, for r = 1, ..., R:

1. draw parameters from the prior, :math:`\\tilde\\theta \\sim p(\\theta)`;
2. simulate data from them, :math:`\\tilde y \\sim p(y \\mid \\tilde\\theta)`;
3. draw L posterior draws :math:`\\theta_1, \\dots, \\theta_L` given
   :math:`\\tilde y`, with the sampler under test;
4. record the **rank** of the truth among them, the number of draws below it,
   :math:`\\#\\{l : \\theta_l < \\tilde\\theta\\} \\in \\{0, \\dots, L\\}`.

If the sampler draws from the exact posterior, :math:`\\tilde\\theta` and the
:math:`\\theta_l` are exchangeable draws from the same joint distribution, so
the rank is uniform on :math:`\\{0, \\dots, L\\}`, for any data set size. A
sampler that draws from the wrong distribution, or a model whose prior is not
the simulator's, shows up as a non-uniform rank histogram: a U shape
(posterior too narrow), a hump (too wide), or a slope (biased). The L draws
should be roughly independent, so chains are thinned.

Two parts:

* the hand-written Metropolis-Hastings sampler of chapter 2 on two conjugate
  normal models (:func:`mh_normal_mean`, :func:`mh_normal_precision`). All R
  replications run at once, one chain each, as the chains of one vectorised
  :func:`bhm.mcmc.metropolis_hastings` call, so 1,000 replications take
  about a second;
* the Stan program ``varying_slope_suff`` of chapters 4-5
  (:func:`run_stan_sbc`), one fit per replication through
  :func:`bhm.study.run_tasks`: in parallel on any Executor, resumable, with a
  progress bar.

:func:`uniformity` tests the ranks with a chi-square test on binned counts.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "N_DRAWS", "BINS", "ranks", "uniformity", "exact_normal_mean", "mh_normal_mean", "mh_normal_precision",
    "STAN_PARAMETERS", "STAN_PRIOR", "STAN_SAMPLER", "STAN_FITS", "stan_prior_draw", "stan_replication",
    "run_stan_sbc", "load_ranks", "COMMITTED", "load_committed",
]

#: L, the posterior draws each rank is computed from: ranks take the L + 1 = 100 values 0..99.
N_DRAWS = 99
#: Bins of the rank histograms and of the uniformity test (5 rank values per bin).
BINS = 20


def ranks(truth, draws) -> np.ndarray:
    """Rank of each true value among its posterior draws.

    Parameters
    ----------
    truth : array_like, shape (R,)
        The parameter value each replication's data were simulated from.
    draws : array_like, shape (R, L)
        Posterior draws of that parameter, one row per replication.

    Returns
    -------
    numpy.ndarray of int, shape (R,)
        :math:`\\#\\{l : \\theta_{rl} < \\tilde\\theta_r\\}`, in 0..L.
    """
    truth = np.asarray(truth, dtype=float)
    draws = np.asarray(draws, dtype=float)
    if truth.ndim != 1 or draws.ndim != 2 or draws.shape[0] != truth.shape[0]:
        raise ValueError(f"truth must have shape (R,) and draws (R, L); got {truth.shape} and {draws.shape}")
    if not (np.all(np.isfinite(truth)) and np.all(np.isfinite(draws))):
        raise ValueError("truth and draws must be finite")
    return (draws < truth[:, None]).sum(axis=1)


def uniformity(rank_table: pd.DataFrame, *, n_draws: int = N_DRAWS, bins: int = BINS) -> pd.DataFrame:
    """Chi-square test of uniform ranks, per parameter.

    Parameters
    ----------
    rank_table : pandas.DataFrame, shape (R, p)
        One column of ranks (0..n_draws) per parameter.
    n_draws : int
        L: the ranks take the values 0..L.
    bins : int
        Number of equal bins; must divide L + 1.

    Returns
    -------
    pandas.DataFrame, shape (p, 4)
        Index the parameters; columns ``replications``, ``chi2`` (Pearson's
        statistic), ``df`` (bins - 1) and ``p_value``. Under uniformity the
        p-values are uniform; a tiny one says the sampler or the model is off.
    """
    from scipy import stats

    if (n_draws + 1) % bins:
        raise ValueError(f"bins ({bins}) must divide the number of rank values, n_draws + 1 = {n_draws + 1}")
    rows = {}
    for name in rank_table.columns:
        values = rank_table[name].to_numpy()
        if values.size == 0 or values.min() < 0 or values.max() > n_draws:
            raise ValueError(f"ranks of {name!r} must lie in 0..{n_draws} (and there must be some)")
        counts = np.bincount(values.astype(int) * bins // (n_draws + 1), minlength=bins)
        test = stats.chisquare(counts)
        rows[name] = {"replications": values.size, "chi2": float(test.statistic), "df": bins - 1,
                      "p_value": float(test.pvalue)}
    return pd.DataFrame.from_dict(rows, orient="index")


# --------------------------------------------------------------------------- MH on conjugate models

def _check_reps(n_reps):
    if isinstance(n_reps, bool) or not isinstance(n_reps, (int, np.integer)) or n_reps < 2:
        raise ValueError(f"n_reps must be a whole number >= 2; got {n_reps!r}")
    return int(n_reps)


def _thinned(result, warmup: int, thin: int, n_draws: int) -> np.ndarray:
    kept = result.draws[:, warmup::thin, 0]
    return kept[:, :n_draws]


def exact_normal_mean(n_reps: int = 1000, *, seed, mu0: float = 0.0, sigma0: float = 1.0, sigma: float = 1.0,
                      n: int = 10, sd_factor: float = 1.0, shift: float = 0.0,
                      n_draws: int = N_DRAWS) -> pd.DataFrame:
    r"""SBC of exact posterior draws on chapter 1's normal model, optionally distorted on purpose.

    The same model and replications as :func:`mh_normal_mean`, but the L draws
    come straight from the closed-form posterior :math:`\mathcal N(\bar\mu,
    \bar\sigma^2)` of chapter 1, or from a wrong one: ``sd_factor`` multiplies
    its sd (below 1: too narrow, above 1: too wide) and ``shift`` moves its
    mean by that many posterior sds. This is what the rank histograms of a
    sampler that is too confident, too vague or biased look like.

    Returns
    -------
    pandas.DataFrame, shape (n_reps, 2)
        Columns ``mu`` (rank, 0..n_draws) and ``truth``.
    """
    from bhm.conjugate import normal_posterior, posterior_weight

    n_reps = _check_reps(n_reps)
    if not (np.isfinite(sd_factor) and sd_factor > 0 and np.isfinite(shift)):
        raise ValueError(f"sd_factor must be finite and > 0 and shift finite; got {sd_factor!r}, {shift!r}")
    rng = np.random.default_rng(seed)
    mu = rng.normal(mu0, sigma0, size=n_reps)
    y = rng.normal(mu[:, None], sigma, size=(n_reps, n))
    # chapter 1's posterior, vectorised over replications: its sd is the same for all (n, sigma, sigma0 fixed)
    post_sd = normal_posterior(y[0], sigma=sigma, mu0=mu0, sigma0=sigma0).std()
    weight = posterior_weight(n, sigma=sigma, sigma0=sigma0)
    post_mean = weight * y.mean(axis=1) + (1 - weight) * mu0
    draws = rng.normal(post_mean[:, None] + shift * post_sd, sd_factor * post_sd, size=(n_reps, n_draws))
    return pd.DataFrame({"mu": ranks(mu, draws), "truth": mu})


def mh_normal_mean(n_reps: int = 1000, *, seed, mu0: float = 0.0, sigma0: float = 1.0, sigma: float = 1.0,
                   n: int = 10, step: float = 0.7, warmup: int = 200, thin: int = 10,
                   n_draws: int = N_DRAWS) -> pd.DataFrame:
    """SBC of the MH sampler on chapter 1's normal model with known sd.

    Model: :math:`\\mu \\sim \\mathcal N(\\mu_0, \\sigma_0^2)`,
    :math:`y_i \\mid \\mu \\sim \\mathcal N(\\mu, \\sigma^2)`, i = 1..n. Each
    replication draws :math:`\\mu`, then n observations, and runs one chain
    of a Gaussian random walk with the given ``step`` (the default is about
    2.4 posterior sds, chapter 2's rule); the first ``warmup`` iterations are
    dropped and every ``thin``-th of the rest kept.

    Returns
    -------
    pandas.DataFrame, shape (n_reps, 2)
        Columns ``mu`` (rank, 0..n_draws) and ``truth``.
    """
    from bhm import mcmc

    n_reps = _check_reps(n_reps)
    rng = np.random.default_rng(seed)
    mu = rng.normal(mu0, sigma0, size=n_reps)
    ybar = rng.normal(mu[:, None], sigma, size=(n_reps, n)).mean(axis=1)  # the likelihood needs only ybar

    def log_posterior(x):  # x: (n_reps, 1), one chain per replication
        m = x[:, 0]
        return -0.5 * ((m - mu0) / sigma0) ** 2 - 0.5 * n * ((ybar - m) / sigma) ** 2

    x0 = rng.normal(mu0, sigma0, size=(n_reps, 1))  # start at a prior draw
    result = mcmc.metropolis_hastings(log_posterior, x0, warmup + thin * n_draws, step=step, seed=rng)
    return pd.DataFrame({"mu": ranks(mu, _thinned(result, warmup, thin, n_draws)), "truth": mu})


def mh_normal_precision(n_reps: int = 1000, *, seed, a: float = 3.0, b: float = 2.0, n: int = 5,
                        step: float = 0.8, hastings: bool = True, warmup: int = 200, thin: int = 10,
                        n_draws: int = N_DRAWS) -> pd.DataFrame:
    """SBC of the MH sampler with chapter 2's asymmetric log-normal walk.

    Model: a precision :math:`\\tau \\sim \\text{Gamma}(a, \\text{rate } b)`,
    :math:`y_i \\mid \\tau \\sim \\mathcal N(0, 1/\\tau)`, i = 1..n (conjugate:
    the posterior is Gamma(a + n/2, b + sum y^2 / 2)). The proposal
    multiplies the state by :math:`e^{\\text{step}\\,z}`; it is not symmetric,
    so the Hastings term is needed. ``hastings=False`` drops it, the mistake of
    chapter 2: the chain then samples a density proportional to
    :math:`\\pi(\\tau)/\\tau`, and SBC must say so.

    Returns
    -------
    pandas.DataFrame, shape (n_reps, 2)
        Columns ``tau`` (rank, 0..n_draws) and ``truth``.
    """
    from bhm import mcmc

    n_reps = _check_reps(n_reps)
    rng = np.random.default_rng(seed)
    tau = rng.gamma(a, 1 / b, size=n_reps)
    ss = (rng.normal(0.0, 1 / np.sqrt(tau)[:, None], size=(n_reps, n)) ** 2).sum(axis=1)

    def log_posterior(x):
        t = x[:, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            value = (a + n / 2 - 1) * np.log(t) - (b + ss / 2) * t
        return np.where(t > 0, value, -np.inf)

    x0 = rng.gamma(a, 1 / b, size=(n_reps, 1))
    result = mcmc.metropolis_hastings(log_posterior, x0, warmup + thin * n_draws,
                                      proposal=mcmc.LogNormalWalk(step), hastings=hastings, seed=rng)
    return pd.DataFrame({"tau": ranks(tau, _thinned(result, warmup, thin, n_draws)), "truth": tau})


# --------------------------------------------------------------------------- Stan: varying_slope

#: Parameters whose ranks the Stan SBC records (eta_1: the first group's effect).
STAN_PARAMETERS = ("alpha", "gamma_0", "gamma_1", "sigma_b", "sigma_y", "eta_1")

#: The simulator's prior: the program's own priors with its "true" prior N(1, 1) on gamma.
STAN_PRIOR = {"alpha": (0.0, 10.0), "gamma": (1.0, 1.0), "sigma_b_cauchy": 5.0, "sigma_y_cauchy": 5.0}

#: What the program is told the prior on (gamma_0, gamma_1) is: the simulator's, or chapter 5's wrong one.
STAN_FITS = {"matched": (1.0, 1.0), "mismatched": (2.0, 1.0)}

#: Sampler of each fit: 1,000 draws, thinned to N_DRAWS.
STAN_SAMPLER = {"chains": 4, "warmup": 300, "draws": 250}

#: Design of every replication: groups and individuals per group (chapter 5's design A, 10 x 20).
STAN_DESIGN = ("A", 10, 20)
_BASE_SEED = 20261126


def stan_prior_draw(rep: int) -> dict:
    """The parameters of replication ``rep``, drawn from :data:`STAN_PRIOR` (seeded by ``rep``)."""
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


def stan_replication(fit: str, rep: int) -> dict:
    """Simulate replication ``rep`` from the prior, fit it, and return the ranks (one flat dict).

    The data depend on ``rep`` only, so the matched and mismatched fits meet the
    same data sets. Besides the ranks the row holds the truth, the number of
    divergences, and the largest R-hat and smallest bulk ESS over the recorded
    parameters, so that failures can be counted, never dropped silently.
    """
    import warnings

    import arviz as az

    from bhm import simulate, stan, study

    if fit not in STAN_FITS:
        raise ValueError(f"unknown fit {fit!r}; known: {', '.join(STAN_FITS)}")
    truth = stan_prior_draw(rep)
    data = simulate.simulate_varying_slope(_design(), seed=np.random.default_rng([_BASE_SEED, 2, int(rep)]),
                                           **truth)
    loc, scale = STAN_FITS[fit]
    program_data = {"J": data["J"], **study.sufficient_statistics(data["group"], data["x"], data["y"], data["J"]),
                    "u": data["u"], "flat_prior": 0, "gamma_loc": [loc, loc], "gamma_scale": [scale, scale],
                    "sigma_b_prior": 1}  # half-Cauchy(0, 5)
    seed = int(np.random.default_rng([_BASE_SEED, 3, list(STAN_FITS).index(fit), int(rep)]).integers(2**31))
    fit_draws = stan.sample_arrays("varying_slope_suff", program_data, seed=seed, **STAN_SAMPLER)
    draws = {name: fit_draws[name] for name in STAN_PARAMETERS if name != "eta_1"}
    draws["eta_1"] = fit_draws["eta"][..., 0]
    truth["eta_1"] = float(data["eta"][0])
    row = {"fit": fit, "rep": int(rep), "seed": seed, "divergences": int(fit_draws["divergent__"].sum())}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        row["max_rhat"] = max(float(az.rhat(d)) for d in draws.values())
        row["min_ess_bulk"] = min(float(az.ess(d, method="bulk")) for d in draws.values())
    for name, d in draws.items():
        flat = d.reshape(-1)  # chain after chain
        kept = flat[np.linspace(0, flat.size - 1, N_DRAWS).round().astype(int)]
        row[name] = int(ranks([truth[name]], kept[None, :])[0])
        row[f"true_{name}"] = truth[name]
    return row


def _stan_path(out: Path, fit: str, rep: int) -> Path:
    return out / fit / f"{rep:04d}.json"


def run_stan_sbc(out, *, fit: str = "matched", n_reps: int = 1000, executor=None, max_workers: int | None = None,
                 progress: bool = True) -> dict:
    """Run the missing replications ``0..n_reps-1`` of one fit; resumable (see :func:`bhm.study.run_tasks`).

    Returns ``done``, ``skipped`` and ``seconds``.
    """
    from bhm import study

    if fit not in STAN_FITS:
        raise ValueError(f"unknown fit {fit!r}; known: {', '.join(STAN_FITS)}")
    n_reps = _check_reps(n_reps)
    return study.run_tasks(out, [(fit, rep) for rep in range(n_reps)], stan_replication, _stan_path,
                           executor=executor, max_workers=max_workers, progress=progress, desc=f"SBC {fit}")


def load_ranks(out) -> pd.DataFrame:
    """Every finished Stan replication under ``out``, one row each, sorted by fit and replication."""
    files = sorted(Path(out).glob("*/[0-9]*.json"))
    if not files:
        raise ValueError(f"no SBC results under {out}")
    rows = [json.loads(path.read_text()) for path in files]
    return pd.DataFrame(rows).sort_values(["fit", "rep"], ignore_index=True)


#: The full Stan SBC's results, made by ``python -m bhm sbc ... --export`` and shipped with the book.
COMMITTED = "sbc_results.csv.gz"


def load_committed() -> tuple[pd.DataFrame, dict]:
    """The committed Stan SBC results (one row per fit and replication) and their provenance."""
    from bhm.data import load_committed_results

    return load_committed_results(COMMITTED, "python -m bhm sbc --reps 1000 --fit matched --fit mismatched "
                                             "--out results/sbc")
