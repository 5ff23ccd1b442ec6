"""The chapters' data and runs that several judges share, computed once when first needed."""

from __future__ import annotations

import functools

import numpy as np


@functools.cache
def _scores() -> np.ndarray:
    """Chapters 1 and 2: the ten simulated course-work scores (seed 20261125)."""
    return np.random.default_rng(20261125).normal(72.0, 15.0, size=10)


SIGMA, MU0, SIGMA0 = 15.0, 60.0, 10.0  # chapters 1 and 2: known sd, prior mean and sd (points)


@functools.cache
def _exact_posterior():
    from bhm import conjugate

    return conjugate.normal_posterior(_scores(), sigma=SIGMA, mu0=MU0, sigma0=SIGMA0)


def _log_posterior(mu):
    """Chapter 2's log target: log p(y | mu) + log p(mu), mu of shape (n_chains, 1)."""
    from scipy import stats

    mu = mu[:, 0]
    return stats.norm.logpdf(mu, MU0, SIGMA0) + stats.norm.logpdf(_scores()[:, None], mu, SIGMA).sum(axis=0)


@functools.cache
def _good_run_indicator() -> np.ndarray:
    """Chapter 2's run ``result`` (4 chains x 5,000, step 10, seed 3): 1{mu > 70}."""
    from bhm import mcmc

    run = mcmc.metropolis_hastings(_log_posterior, np.full((4, 1), 60.0), 5000, step=10.0, seed=3)
    return (run.draws[..., 0] > 70).astype(float)


@functools.cache
def _good_run_mcse() -> float:
    import arviz as az

    return float(az.mcse(az.from_dict(posterior={"h": _good_run_indicator()}))["h"])


def _log_bimodal(x):
    """Chapter 3's target: an equal mixture of N(-5, 1) and N(5, 1), up to a constant."""
    x = x[:, 0]
    return np.logaddexp(-0.5 * (x + 5) ** 2, -0.5 * (x - 5) ** 2)


@functools.cache
def _bimodal_rhat(n_draws: int) -> float:
    """Chapter 3: classic R-hat of 4 chains from (-10, -3, 3, 10), step 1, seed 4."""
    from bhm import diagnostics, mcmc

    x0 = np.array([[-10.0], [-3.0], [3.0], [10.0]])
    run = mcmc.metropolis_hastings(_log_bimodal, x0, n_draws, step=1.0, seed=4)
    return diagnostics.gelman_rubin(run.draws[..., 0])
