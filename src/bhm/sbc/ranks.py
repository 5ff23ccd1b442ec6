"""Ranks and their tests: the statistics of simulation-based calibration, and thinning by the ESS.

:func:`ranks` of the truths among the draws; :func:`uniformity` (chi-square
test on binned ranks), :func:`edge_bins` (the two outer bins),
:func:`ecdf_band` (the simultaneous band of the ECDF plots) and
:func:`chi2_power` (the test's power against a distorted posterior); and
Talts et al.'s thinning by the effective sample size,
:func:`ess_iterations` and :func:`evenly_spaced`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bhm._validation import rng as _rng
from bhm._validation import whole_number

#: L, the posterior draws each rank is computed from: ranks take the L + 1 = 100 values 0..99.
N_DRAWS = 99


#: Bins of the rank histograms and of the uniformity test (5 rank values per bin).
BINS = 20


#: How the book typesets each recorded quantity (titles, legends).
LABELS = {
    "mu": r"$\mu$", "tau": r"$\tau$", "loglik": "log-likelihood",
    "alpha": r"$\alpha$", "gamma_0": r"$\gamma_0$", "gamma_1": r"$\gamma_1$", "sigma_b": r"$\sigma_b$",
    "sigma_y": r"$\sigma_y$", "eta_1": r"$\eta_1$",
    "mu_alpha": r"$\mu_\alpha$", "mu_beta": r"$\mu_\beta$", "sigma_alpha": r"$\sigma_\alpha$",
    "sigma_beta": r"$\sigma_\beta$", "rho": r"$\rho$",
}


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

    Raises
    ------
    ValueError
        Shapes that do not match, or values that are not finite.
    """
    truth = np.asarray(truth, dtype=float)
    draws = np.asarray(draws, dtype=float)
    if truth.ndim != 1 or draws.ndim != 2 or draws.shape[0] != truth.shape[0]:
        raise ValueError(f"truth must have shape (R,) and draws (R, L); got {truth.shape} and {draws.shape}")
    if not (np.all(np.isfinite(truth)) and np.all(np.isfinite(draws))):
        raise ValueError("truth and draws must be finite")
    return (draws < truth[:, None]).sum(axis=1)


def _bin_counts(values, name, n_draws, bins) -> np.ndarray:
    values = np.asarray(values)
    if (n_draws + 1) % bins:
        raise ValueError(f"bins ({bins}) must divide the number of rank values, n_draws + 1 = {n_draws + 1}")
    if values.size == 0 or values.min() < 0 or values.max() > n_draws:
        raise ValueError(f"ranks of {name!r} must lie in 0..{n_draws} (and there must be some)")
    return np.bincount(values.astype(int) * bins // (n_draws + 1), minlength=bins)


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

    Raises
    ------
    ValueError
        ``bins`` does not divide L + 1, or a column is empty or has ranks outside 0..L.
    """
    from scipy import stats

    rows = {}
    for name in rank_table.columns:
        counts = _bin_counts(rank_table[name].to_numpy(), name, n_draws, bins)
        test = stats.chisquare(counts)
        rows[name] = {"replications": int(counts.sum()), "chi2": float(test.statistic), "df": bins - 1,
                      "p_value": float(test.pvalue)}
    return pd.DataFrame.from_dict(rows, orient="index")


def edge_bins(rank_table: pd.DataFrame, *, n_draws: int = N_DRAWS, bins: int = BINS) -> pd.DataFrame:
    """Counts in the lowest and the highest bin, with one-sided binomial p-values.

    A posterior that misses in one direction for a subset of data sets piles
    ranks into one outer bin; the 20-bin chi-square test spreads that signal
    over 19 degrees of freedom, a count of one bin does not.

    Parameters
    ----------
    rank_table : pandas.DataFrame, shape (R, p)
        One column of ranks (0..n_draws) per parameter.
    n_draws, bins : int
        As for :func:`uniformity`.

    Returns
    -------
    pandas.DataFrame, shape (p, 6)
        Index the parameters; columns ``replications``, ``expected`` (R / bins),
        ``lowest`` and ``highest`` (the counts of the outer bins) and
        ``p_lowest``, ``p_highest``: :math:`P(X \\ge \\text{count})` for
        :math:`X \\sim \\text{Binomial}(R, 1/\\text{bins})`, the chance of
        a count at least that large if the ranks were uniform. Looking at
        both ends doubles the chance of a small p-value somewhere.

    Raises
    ------
    ValueError
        As for :func:`uniformity`.
    """
    from scipy import stats

    rows = {}
    for name in rank_table.columns:
        counts = _bin_counts(rank_table[name].to_numpy(), name, n_draws, bins)
        total = int(counts.sum())
        rows[name] = {"replications": total, "expected": total / bins,
                      "lowest": int(counts[0]), "p_lowest": float(stats.binom.sf(counts[0] - 1, total, 1 / bins)),
                      "highest": int(counts[-1]),
                      "p_highest": float(stats.binom.sf(counts[-1] - 1, total, 1 / bins))}
    return pd.DataFrame.from_dict(rows, orient="index")


def ecdf_band(n_reps: int, *, n_draws: int = N_DRAWS, prob: float = 0.99, n_sims: int = 5000,
              seed: int = 0) -> pd.DataFrame:
    """Simultaneous band of the ECDF of R uniform ranks, minus the uniform CDF.

    Säilynoja, Bürkner and Vehtari (2022): the ECDF of the fractional ranks
    :math:`(r + 1)/(L + 1)` is evaluated at :math:`z_i = i/(L + 1)`,
    i = 1..L, where under uniformity its count is Binomial(R, z_i). A
    pointwise band at level :math:`1 - \\gamma` is the binomial quantiles
    :math:`\\gamma/2` and :math:`1 - \\gamma/2`; :math:`\\gamma` is chosen by
    simulating ``n_sims`` uniform rank samples so that the whole ECDF stays
    inside with probability ``prob``.

    Parameters
    ----------
    n_reps : int
        R, the number of ranks.
    n_draws : int
        L: ranks lie in 0..L.
    prob : float
        Simultaneous coverage, in (0, 1).
    n_sims : int
        Simulated rank samples.
    seed : int
        Seed of the simulation.

    Returns
    -------
    pandas.DataFrame, shape (L, 3)
        Columns ``fraction`` (:math:`z_i`), ``lower`` and ``upper`` (the band of
        ECDF minus :math:`z_i`); ``attrs`` holds ``n_reps``, ``n_draws`` and ``prob``.

    Raises
    ------
    ValueError
        ``n_reps`` or ``n_draws`` below 1, or ``prob`` outside (0, 1).
    """
    from scipy import stats

    n_reps, n_draws = whole_number(n_reps, "n_reps", 1), whole_number(n_draws, "n_draws", 1)
    if not 0 < prob < 1:
        raise ValueError(f"prob must lie in (0, 1); got {prob!r}")
    values = n_draws + 1
    z = np.arange(1, values) / values
    counts = _rng(seed).multinomial(n_reps, np.full(values, 1 / values), size=n_sims).cumsum(axis=1)[:, :-1]
    tail = np.minimum(stats.binom.cdf(counts, n_reps, z), stats.binom.sf(counts - 1, n_reps, z))
    gamma = float(np.quantile(2 * tail.min(axis=1), 1 - prob))
    lower = stats.binom.ppf(gamma / 2, n_reps, z) / n_reps - z
    upper = stats.binom.ppf(1 - gamma / 2, n_reps, z) / n_reps - z
    band = pd.DataFrame({"fraction": z, "lower": lower, "upper": upper})
    band.attrs.update(n_reps=n_reps, n_draws=n_draws, prob=prob)
    return band


def chi2_power(n_reps: int, *, sd_factor: float = 1.0, shift: float = 0.0, n_draws: int = N_DRAWS,
               bins: int = BINS, level: float = 0.01, n_sims: int = 20000, seed: int = 0) -> float:
    r"""Power of the chi-square test of :func:`uniformity` against a distorted posterior.

    The distortion is that of :func:`exact_normal_mean`: the draws'
    distribution has ``sd_factor`` times the posterior sd and its mean is
    ``shift`` posterior sds too high. With the truth at :math:`\bar\mu +
    \bar\sigma Z`, a draw falls below it with probability
    :math:`u = \Phi((Z - \text{shift}) / \text{sd\_factor})`, so the rank is
    Binomial(L, u); integrating over Z (numerically) gives each bin's
    probability. The R ranks of an SBC run are independent, so its bin counts
    are multinomial with those probabilities: ``n_sims`` such count vectors
    give the share of runs whose test rejects at ``level``, with a Monte Carlo
    sd of at most :math:`0.5/\sqrt{\text{n\_sims}}`. The same as
    :func:`detection_rate`, without simulating the draws.

    Parameters
    ----------
    n_reps : int
        R, replications.
    sd_factor, shift : float
        The distortion (1 and 0: none; the result is then about ``level``).
    n_draws, bins : int
        L and the number of bins.
    level : float
        Significance level of the test.
    n_sims : int
        Simulated SBC runs.
    seed : int
        Seed of the simulation.

    Returns
    -------
    float
        The probability that the test rejects, in [0, 1].

    Raises
    ------
    ValueError
        ``sd_factor`` not positive, or ``bins`` not dividing L + 1.
    """
    from scipy import stats

    n_reps = whole_number(n_reps, "n_reps", 1)
    if not (np.isfinite(sd_factor) and sd_factor > 0 and np.isfinite(shift)):
        raise ValueError(f"sd_factor must be finite and > 0 and shift finite; got {sd_factor!r}, {shift!r}")
    if (n_draws + 1) % bins:
        raise ValueError(f"bins ({bins}) must divide the number of rank values, n_draws + 1 = {n_draws + 1}")
    z = np.linspace(-8, 8, 801)
    weight = stats.norm.pdf(z) * (z[1] - z[0])
    u = stats.norm.cdf((z - shift) / sd_factor)
    pmf = stats.binom.pmf(np.arange(n_draws + 1)[None, :], n_draws, u[:, None])    # (grid, L + 1)
    p_bin = (weight @ pmf).reshape(bins, -1).sum(axis=1)
    counts = _rng(seed).multinomial(n_reps, p_bin / p_bin.sum(), size=n_sims)
    expected = n_reps / bins
    statistic = ((counts - expected) ** 2 / expected).sum(axis=1)
    return float((statistic > stats.chi2.ppf(1 - level, bins - 1)).mean())


def ess_iterations(ess: float, n_iter: int, *, n_draws: int = N_DRAWS, margin: float = 1.2,
                   max_iter: int | None = None) -> int:
    """Iterations a fit needs so that L evenly spaced draws are about independent (Talts et al. 2018).

    Talts et al.'s Algorithm 2: if ``n_iter`` iterations gave an effective
    sample size of at least L, keep them (thinned to L draws, the step
    ``n_iter / L`` is at least the autocorrelation time ``n_iter / ess``);
    otherwise run the sampler again with about ``n_iter * L / ess``
    iterations, here times a safety ``margin`` (the ESS itself is an estimate).

    Parameters
    ----------
    ess : float
        Effective sample size of the ``n_iter`` iterations (the smallest over
        the quantities whose ranks are recorded).
    n_iter : int
        Iterations (per chain) that gave it.
    n_draws : int
        L.
    margin : float
        Factor >= 1 on the extrapolated length.
    max_iter : int, optional
        Cap on the returned length.

    Returns
    -------
    int
        ``n_iter`` when ``ess >= n_draws``, else the longer run's length.

    Raises
    ------
    ValueError
        ``ess`` not positive and finite, or a bad ``n_iter``, ``margin`` or ``max_iter``.
    """
    n_iter = whole_number(n_iter, "n_iter", 1)
    if not (np.isfinite(ess) and ess > 0):
        raise ValueError(f"ess must be positive and finite; got {ess!r}")
    if not margin >= 1:
        raise ValueError(f"margin must be >= 1; got {margin!r}")
    if ess >= n_draws:
        return n_iter
    needed = math.ceil(margin * n_iter * n_draws / ess)
    if max_iter is not None:
        needed = min(needed, whole_number(max_iter, "max_iter", n_iter))
    return needed


def evenly_spaced(n_total: int, n_draws: int = N_DRAWS) -> np.ndarray:
    """Indices of ``n_draws`` evenly spaced draws out of ``n_total``, the first and the last included.

    Parameters
    ----------
    n_total : int
        Draws available, >= ``n_draws``.
    n_draws : int
        Draws to keep, L.

    Returns
    -------
    numpy.ndarray of int, shape (n_draws,)
        Increasing indices into 0..n_total-1.

    Raises
    ------
    ValueError
        ``n_total`` smaller than ``n_draws``.
    """
    n_total, n_draws = whole_number(n_total, "n_total", 1), whole_number(n_draws, "n_draws", 1)
    if n_total < n_draws:
        raise ValueError(f"cannot keep {n_draws} draws out of {n_total}")
    return np.linspace(0, n_total - 1, n_draws).round().astype(int)
