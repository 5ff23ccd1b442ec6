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
the rank is uniform on :math:`\\{0, \\dots, L\\}`, for any data set size. The
same holds for any test quantity :math:`f(\\theta, \\tilde y)`, for instance
the log-likelihood of the data: its value at the truth ranks uniformly among
its values at the draws. A sampler that draws from the wrong distribution, or
a program whose model is not the simulator's, shows up as a non-uniform rank
histogram: a U shape (posterior too narrow), a hump (too wide), or a slope
(biased). Uniform ranks of the parameters are necessary, not sufficient: a
"sampler" that returns prior draws passes them (Modrák et al. 2023), and only
a data-dependent quantity such as the log-likelihood catches it.

The L draws must be about independent. Each fit is therefore thinned by its
effective sample size (Talts et al. 2018, Algorithm 2): when the ESS of the S
draws is below L the sampler runs again, longer (:func:`ess_iterations`), and
L evenly spaced draws of the final run are kept (:func:`evenly_spaced`).

Three parts:

* the hand-written Metropolis-Hastings sampler of chapter 2 on two conjugate
  normal models (:func:`mh_normal_mean`, :func:`mh_normal_precision`). All R
  replications run at once, one chain each, as the chains of one vectorised
  :func:`bhm.mcmc.metropolis_hastings` call, so 1,000 replications take
  about a second;
* the Stan programs of chapters 4-5, ``varying_slope_suff`` (centred) and
  ``varying_slope_nc`` (non-centred), on chapter 5's design
  (:func:`stan_replication`);
* the GCSE program of chapter 6, ``gcse_marginal``, on data simulated on the
  real design, every student's school and gender kept
  (:func:`gcse_replication`).

Stan fits run one per replication through :func:`bhm.study.run_tasks`: in
parallel on any Executor, resumable, with a progress bar
(:func:`run_stan_sbc`). :func:`uniformity` tests the ranks with a chi-square
test on binned counts, :func:`edge_bins` counts the two outer bins,
:func:`ecdf_band` gives the simultaneous band of the ECDF plots.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "N_DRAWS", "BINS", "LABELS", "ranks", "uniformity", "edge_bins", "ecdf_band", "detection_rate", "chi2_power",
    "ess_iterations", "evenly_spaced",
    "exact_normal_mean", "mh_normal_mean", "mh_normal_precision",
    "STAN_PARAMETERS", "STAN_QUANTITIES", "STAN_PRIOR", "STAN_SAMPLER", "STAN_FITS", "MAX_RUNS", "MAX_DRAWS",
    "stan_prior_draw", "stan_simulation", "stan_replication",
    "GCSE_SCHOOLS", "GCSE_HYPERPARAMETERS", "GCSE_QUANTITIES", "GCSE_SAMPLER", "gcse_prior_draw",
    "gcse_simulation", "gcse_replication",
    "FITS", "FIT_PROGRAMS", "program_digests", "replication", "divergent_reps", "run_stan_sbc", "load_ranks",
    "COMMITTED", "COMMITTED_GCSE", "load_committed",
]

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


# --------------------------------------------------------------------------- ranks and their tests

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

    n_reps, n_draws = _check_whole(n_reps, "n_reps", 1), _check_whole(n_draws, "n_draws", 1)
    if not 0 < prob < 1:
        raise ValueError(f"prob must lie in (0, 1); got {prob!r}")
    values = n_draws + 1
    z = np.arange(1, values) / values
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n_reps, np.full(values, 1 / values), size=n_sims).cumsum(axis=1)[:, :-1]
    tail = np.minimum(stats.binom.cdf(counts, n_reps, z), stats.binom.sf(counts - 1, n_reps, z))
    gamma = float(np.quantile(2 * tail.min(axis=1), 1 - prob))
    lower = stats.binom.ppf(gamma / 2, n_reps, z) / n_reps - z
    upper = stats.binom.ppf(1 - gamma / 2, n_reps, z) / n_reps - z
    band = pd.DataFrame({"fraction": z, "lower": lower, "upper": upper})
    band.attrs.update(n_reps=n_reps, n_draws=n_draws, prob=prob)
    return band


def detection_rate(n_reps: int, *, sd_factor: float = 1.0, shift: float = 0.0, n_seeds: int = 200,
                   level: float = 0.01, bins: int = BINS, seed: int = 0) -> float:
    """How often the chi-square test catches a given distortion of the posterior with R replications.

    Runs :func:`exact_normal_mean` with ``sd_factor`` and ``shift`` at
    ``n_seeds`` seeds and returns the share of runs whose test
    (:func:`uniformity`) has a p-value below ``level``: the test's power
    against that distortion (its size, when nothing is distorted). Its Monte
    Carlo sd is :math:`\\sqrt{p(1 - p)/\\text{n\\_seeds}}`.

    Parameters
    ----------
    n_reps : int
        R, replications per SBC run.
    sd_factor, shift : float
        As for :func:`exact_normal_mean`.
    n_seeds : int
        SBC runs.
    level : float
        Significance level of each test.
    bins : int
        Bins of the test.
    seed : int
        Base seed; run k uses ``[seed, k]``.

    Returns
    -------
    float
        The share of runs that reject, in [0, 1].
    """
    n_seeds = _check_whole(n_seeds, "n_seeds", 1)
    rejected = 0
    for k in range(n_seeds):
        table = exact_normal_mean(n_reps, seed=[seed, k], sd_factor=sd_factor, shift=shift)
        rejected += bool(uniformity(table[["mu"]], bins=bins)["p_value"].iloc[0] < level)
    return rejected / n_seeds


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

    n_reps = _check_whole(n_reps, "n_reps", 1)
    if not (np.isfinite(sd_factor) and sd_factor > 0 and np.isfinite(shift)):
        raise ValueError(f"sd_factor must be finite and > 0 and shift finite; got {sd_factor!r}, {shift!r}")
    if (n_draws + 1) % bins:
        raise ValueError(f"bins ({bins}) must divide the number of rank values, n_draws + 1 = {n_draws + 1}")
    z = np.linspace(-8, 8, 801)
    weight = stats.norm.pdf(z) * (z[1] - z[0])
    u = stats.norm.cdf((z - shift) / sd_factor)
    pmf = stats.binom.pmf(np.arange(n_draws + 1)[None, :], n_draws, u[:, None])    # (grid, L + 1)
    p_bin = (weight @ pmf).reshape(bins, -1).sum(axis=1)
    counts = np.random.default_rng(seed).multinomial(n_reps, p_bin / p_bin.sum(), size=n_sims)
    expected = n_reps / bins
    statistic = ((counts - expected) ** 2 / expected).sum(axis=1)
    return float((statistic > stats.chi2.ppf(1 - level, bins - 1)).mean())


# --------------------------------------------------------------------------- thinning by the ESS

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
    n_iter = _check_whole(n_iter, "n_iter", 1)
    if not (np.isfinite(ess) and ess > 0):
        raise ValueError(f"ess must be positive and finite; got {ess!r}")
    if not margin >= 1:
        raise ValueError(f"margin must be >= 1; got {margin!r}")
    if ess >= n_draws:
        return n_iter
    needed = math.ceil(margin * n_iter * n_draws / ess)
    if max_iter is not None:
        needed = min(needed, _check_whole(max_iter, "max_iter", n_iter))
    return needed


def evenly_spaced(n_total: int, n_draws: int = N_DRAWS) -> np.ndarray:
    """Indices of ``n_draws`` evenly spaced draws out of ``n_total``, the first and the last included.

    Raises
    ------
    ValueError
        ``n_total`` smaller than ``n_draws``.
    """
    n_total, n_draws = _check_whole(n_total, "n_total", 1), _check_whole(n_draws, "n_draws", 1)
    if n_total < n_draws:
        raise ValueError(f"cannot keep {n_draws} draws out of {n_total}")
    return np.linspace(0, n_total - 1, n_draws).round().astype(int)


def _check_whole(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}; got {value!r}")
    return int(value)


# --------------------------------------------------------------------------- MH on conjugate models

def _check_reps(n_reps):
    if isinstance(n_reps, bool) or not isinstance(n_reps, (int, np.integer)) or n_reps < 2:
        raise ValueError(f"n_reps must be a whole number >= 2; got {n_reps!r}")
    return int(n_reps)


def _chain_ess(chains: np.ndarray) -> np.ndarray:
    """Chapter 3's ESS of each row of ``chains`` (R, S), every chain split in halves.

    :func:`bhm.diagnostics.ess_parts` (``split=True``) for one chain at a
    time, vectorised over the rows: the same autocovariances by FFT, the same
    Geyer truncation and monotone sequence, the same cap (tests check equality).
    A chain that never moved gets an ESS of 1.
    """
    x = np.asarray(chains, dtype=float)
    half = x.shape[1] // 2
    theta = np.stack([x[:, :half], x[:, -half:]], axis=1)                 # (R, 2 halves, n)
    n = half
    centred = theta - theta.mean(axis=2, keepdims=True)
    size = 2 ** int(np.ceil(np.log2(2 * n)))
    spectrum = np.fft.rfft(centred, n=size, axis=2)
    acov = np.fft.irfft(spectrum * np.conj(spectrum), n=size, axis=2)[..., :n] / n
    w = acov[:, :, 0].mean(axis=1) * n / (n - 1)
    var_plus = (n - 1) / n * w + theta.mean(axis=2).var(axis=1, ddof=1)
    moved = var_plus > 0
    var_plus = np.where(moved, var_plus, 1.0)
    rho = 1 - (w[:, None] - acov.mean(axis=1)) / var_plus[:, None]
    rho[:, 0] = 1.0
    last = int(np.ceil((n - 2) / 2)) - 1                # the last pair Geyer's loop may read
    if last < 1:                                        # very short chains: one at a time
        from bhm import diagnostics

        return np.array([diagnostics.ess_parts(row[None, :]).ess if np.ptp(row) > 0 else 1.0 for row in x])
    pairs = rho[:, 0:2 * last + 1:2] + rho[:, 1:2 * last + 2:2]              # pair sums k = 0..last
    stop = pairs[:, 1:] <= 0
    m = np.where(stop.any(axis=1), stop.argmax(axis=1) + 1, last)           # the pair that ends the sum
    even = rho[np.arange(len(m)), 2 * m]
    half_pair = np.where((even > 0) | (pairs[np.arange(len(m)), m] >= 0), even, 0.0)
    monotone = np.minimum.accumulate(pairs, axis=1)
    summed = np.where(np.arange(last + 1)[None, :] < m[:, None], monotone, 0.0).sum(axis=1)
    total = 2 * n
    tau = np.maximum(-1 + 2 * summed + half_pair, 1 / np.log10(total))
    return np.where(moved, total / tau, 1.0)


def _mh_kept(log_posterior, x0, rng, *, warmup, thin, n_draws, **sampler):
    """Run one MH chain per replication; return the kept draws (R, L), each chain's ESS and its length.

    ``log_posterior(x, rows)`` evaluates the targets of the replications
    ``rows`` (all by default) at their chains' states ``x``.
    ``thin="ess"``: a first run of 10 L iterations after warm-up; a chain
    whose ESS is below L continues to the length :func:`ess_iterations` asks
    for (at most 10 times as long); L evenly spaced draws of each chain are kept.
    An integer ``thin`` keeps every ``thin``-th draw, a fixed step.
    """
    from bhm import mcmc

    if thin == "ess":
        base = 10 * n_draws
        result = mcmc.metropolis_hastings(log_posterior, x0, warmup + base, seed=rng, **sampler)
        chains = result.draws[:, warmup:, 0]
        ess = _chain_ess(chains)
        length = np.array([ess_iterations(e, base, n_draws=n_draws, max_iter=10 * base) for e in ess])
        kept = np.stack([chain[evenly_spaced(base, n_draws)] for chain in chains])
        rows = np.flatnonzero(length > base)
        if rows.size:  # those chains continue from where they stopped
            more = mcmc.metropolis_hastings(lambda x: log_posterior(x, rows), result.draws[rows, -1, :],
                                            int(length[rows].max()) - base, seed=rng, **sampler)
            for k, r in enumerate(rows):
                chain = np.concatenate([chains[r], more.draws[k, :, 0]])
                kept[r] = chain[evenly_spaced(int(length[r]), n_draws)]
        return kept, ess, length
    thin = _check_whole(thin, "thin (or 'ess')", 1)
    result = mcmc.metropolis_hastings(log_posterior, x0, warmup + thin * n_draws, seed=rng, **sampler)
    kept = result.draws[:, warmup::thin, 0][:, :n_draws]
    return kept, np.full(kept.shape[0], np.nan), np.full(kept.shape[0], thin * n_draws)


def exact_normal_mean(n_reps: int = 1000, *, seed, mu0: float = 0.0, sigma0: float = 1.0, sigma: float = 1.0,
                      n: int = 10, sd_factor: float = 1.0, shift: float = 0.0,
                      n_draws: int = N_DRAWS) -> pd.DataFrame:
    r"""SBC of exact posterior draws on chapter 1's normal model, optionally distorted on purpose.

    The same model and replications as :func:`mh_normal_mean`, but the L draws
    come straight from the closed-form posterior :math:`\mathcal N(\bar\mu,
    \bar\sigma^2)` of chapter 1, with :math:`\bar\sigma = (1/\sigma_0^2 +
    n/\sigma^2)^{-1/2}`, or from a wrong one: ``sd_factor`` multiplies
    its sd (below 1: too narrow, above 1: too wide) and ``shift`` moves its
    mean by that many posterior sds. This is what the rank histograms of a
    sampler that is too confident, too vague or biased look like.

    Returns
    -------
    pandas.DataFrame, shape (n_reps, 3)
        Columns ``mu`` (rank, 0..n_draws), ``loglik`` (rank of the
        log-likelihood of the data at the truth among its values at the draws)
        and ``truth``.

    Raises
    ------
    ValueError
        ``n_reps`` below 2, or ``sd_factor`` or ``shift`` not valid.
    """
    from bhm.conjugate import posterior_weight

    n_reps = _check_reps(n_reps)
    if not (np.isfinite(sd_factor) and sd_factor > 0 and np.isfinite(shift)):
        raise ValueError(f"sd_factor must be finite and > 0 and shift finite; got {sd_factor!r}, {shift!r}")
    rng = np.random.default_rng(seed)
    mu = rng.normal(mu0, sigma0, size=n_reps)
    ybar = rng.normal(mu[:, None], sigma, size=(n_reps, n)).mean(axis=1)
    post_sd = (1 / sigma0**2 + n / sigma**2) ** -0.5          # chapter 1, the same for every replication
    weight = posterior_weight(n, sigma=sigma, sigma0=sigma0)
    post_mean = weight * ybar + (1 - weight) * mu0
    draws = rng.normal(post_mean[:, None] + shift * post_sd, sd_factor * post_sd, size=(n_reps, n_draws))
    return pd.DataFrame({"mu": ranks(mu, draws), "loglik": _loglik_ranks(mu, draws, ybar), "truth": mu})


def _loglik_ranks(mu, draws, ybar):
    """Rank of log p(y | mu) at the truth among its values at the draws.

    For normal data with known sd the log-likelihood is, up to a constant,
    :math:`-n(\\bar y - \\mu)^2 / 2\\sigma^2`: a draw has a smaller one than the
    truth when it lies farther from :math:`\\bar y`.
    """
    return ranks(-np.abs(mu - ybar), -np.abs(draws - ybar[:, None]))


def mh_normal_mean(n_reps: int = 1000, *, seed, mu0: float = 0.0, sigma0: float = 1.0, sigma: float = 1.0,
                   n: int = 10, step: float = 0.7, warmup: int = 200, thin="ess", use_data: bool = True,
                   n_draws: int = N_DRAWS) -> pd.DataFrame:
    """SBC of the MH sampler on chapter 1's normal model with known sd.

    Model: :math:`\\mu \\sim \\mathcal N(\\mu_0, \\sigma_0^2)`,
    :math:`y_i \\mid \\mu \\sim \\mathcal N(\\mu, \\sigma^2)`, i = 1..n. Each
    replication draws :math:`\\mu`, then n observations, and runs one chain
    of a Gaussian random walk with the given ``step`` (the default is about
    2.4 posterior sds, chapter 2's rule) from a prior draw; the first
    ``warmup`` iterations are dropped.

    Parameters
    ----------
    thin : "ess" or int
        ``"ess"``: each chain is thinned by its own effective sample size
        (:func:`ess_iterations`; chains with an ESS below L in 10 L
        iterations run longer). An integer: a fixed step (1 keeps L
        consecutive iterations).
    use_data : bool
        False leaves the likelihood out of the sampler's target, a bug (a
        ``prior_only`` flag left on): the chain then samples the prior.
    Other parameters
        The model (``mu0, sigma0, sigma, n``), the proposal's ``step``, the
        number of replications and ``n_draws`` (L).

    Returns
    -------
    pandas.DataFrame, shape (n_reps, 5)
        Columns ``mu`` (rank, 0..n_draws), ``loglik`` (rank of the
        log-likelihood of the data), ``truth``, ``ess`` (each chain's ESS in
        its first 10 L iterations; NaN with a fixed ``thin``) and
        ``iterations`` (the iterations after warm-up the L draws were spread over).

    Raises
    ------
    ValueError
        ``n_reps`` below 2 or a ``thin`` that is neither "ess" nor a whole number >= 1.
    """
    n_reps = _check_reps(n_reps)
    rng = np.random.default_rng(seed)
    mu = rng.normal(mu0, sigma0, size=n_reps)
    ybar = rng.normal(mu[:, None], sigma, size=(n_reps, n)).mean(axis=1)  # the likelihood needs only ybar
    weight = float(bool(use_data))

    def log_posterior(x, rows=slice(None)):  # x: one chain per replication (of rows), one parameter
        m = x[:, 0]
        return -0.5 * ((m - mu0) / sigma0) ** 2 - weight * 0.5 * n * ((ybar[rows] - m) / sigma) ** 2

    x0 = rng.normal(mu0, sigma0, size=(n_reps, 1))  # start at a prior draw
    kept, ess, length = _mh_kept(log_posterior, x0, rng, warmup=warmup, thin=thin, n_draws=n_draws, step=step)
    return pd.DataFrame({"mu": ranks(mu, kept), "loglik": _loglik_ranks(mu, kept, ybar), "truth": mu,
                         "ess": ess, "iterations": length})


def mh_normal_precision(n_reps: int = 1000, *, seed, a: float = 3.0, b: float = 2.0, n: int = 5,
                        step: float = 0.8, hastings: bool = True, warmup: int = 200, thin="ess",
                        n_draws: int = N_DRAWS) -> pd.DataFrame:
    """SBC of the MH sampler with chapter 2's asymmetric log-normal walk.

    Model: a precision :math:`\\tau \\sim \\text{Gamma}(a, \\text{rate } b)`,
    :math:`y_i \\mid \\tau \\sim \\mathcal N(0, 1/\\tau)`, i = 1..n (conjugate:
    the posterior is Gamma(a + n/2, b + sum y^2 / 2)). The proposal
    multiplies the state by :math:`e^{\\text{step}\\,z}`; it is not symmetric,
    so the Hastings term is needed. ``hastings=False`` drops it, the mistake of
    chapter 2: the chain then samples a density proportional to
    :math:`\\pi(\\tau)/\\tau`, and SBC must say so. ``thin`` as for
    :func:`mh_normal_mean`.

    Returns
    -------
    pandas.DataFrame, shape (n_reps, 4)
        Columns ``tau`` (rank, 0..n_draws), ``truth``, ``ess`` and ``iterations``.

    Raises
    ------
    ValueError
        As for :func:`mh_normal_mean`.
    """
    from bhm import mcmc

    n_reps = _check_reps(n_reps)
    rng = np.random.default_rng(seed)
    tau = rng.gamma(a, 1 / b, size=n_reps)
    ss = (rng.normal(0.0, 1 / np.sqrt(tau)[:, None], size=(n_reps, n)) ** 2).sum(axis=1)

    def log_posterior(x, rows=slice(None)):
        t = x[:, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            value = (a + n / 2 - 1) * np.log(t) - (b + ss[rows] / 2) * t
        return np.where(t > 0, value, -np.inf)

    x0 = rng.gamma(a, 1 / b, size=(n_reps, 1))
    kept, ess, length = _mh_kept(log_posterior, x0, rng, warmup=warmup, thin=thin, n_draws=n_draws,
                                 proposal=mcmc.LogNormalWalk(step), hastings=hastings)
    return pd.DataFrame({"tau": ranks(tau, kept), "truth": tau, "ess": ess, "iterations": length})


# --------------------------------------------------------------------------- Stan: thinning by the ESS

#: At most this many fits per replication: the first, and one longer run if its ESS is below L.
MAX_RUNS = 2
#: At most this many draws per chain in a longer run (8 times the varying-slope fits' first run).
MAX_DRAWS = 2000


def _min_ess(quantities: dict) -> float:
    """Smallest bulk or tail ESS over the recorded quantities (each (chains, draws))."""
    import warnings

    import arviz as az

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        values = [float(az.ess(d, method=method)) for d in quantities.values() for method in ("bulk", "tail")]
    values = [v for v in values if np.isfinite(v)]
    return max(min(values), 1.0) if values else 1.0


def _max_rhat(quantities: dict) -> float:
    import warnings

    import arviz as az

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return max(float(az.rhat(d)) for d in quantities.values())


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


# --------------------------------------------------------------------------- Stan: varying_slope

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


def stan_simulation(rep: int) -> tuple[dict, dict]:
    """Replication ``rep``'s data set and its truth; the same for every fit (common random numbers).

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

    Raises
    ------
    ValueError
        An unknown ``fit``.
    """
    from bhm import stan, study

    if fit not in STAN_FITS:
        raise ValueError(f"unknown fit {fit!r}; known: {', '.join(STAN_FITS)}")
    data, truth = stan_simulation(rep)
    program, (loc, scale) = STAN_FITS[fit]
    priors = {"flat_prior": 0, "gamma_loc": [loc, loc], "gamma_scale": [scale, scale]}
    if program == "varying_slope_suff":
        program_data = {"J": data["J"], **study.sufficient_statistics(data["group"], data["x"], data["y"], data["J"]),
                        "u": data["u"], **priors, "sigma_b_prior": 1}  # half-Cauchy(0, 5)
    else:
        program_data = {key: data[key] for key in ("N", "J", "group", "x", "y", "u")} | priors | {"prior_only": 0}

    def sample(seed, draws):
        options = dict(STAN_SAMPLER, draws=draws)
        out = stan.sample_arrays(program, program_data, seed=seed, **options)
        quantities = {name: out[name] for name in STAN_PARAMETERS if name != "eta_1"}
        quantities["eta_1"] = out["eta"][..., 0]
        quantities["loglik"] = _varying_slope_loglik(data, out["alpha"], out["beta"], out["sigma_y"])
        return quantities, int(out["divergent__"].sum())

    seeds = [_fit_seed(fit, rep, run) for run in range(MAX_RUNS)]
    row = {"fit": fit, "rep": int(rep), "seed": seeds[0]}
    row.update(_ranked_fit(sample, truth, seeds, draws=STAN_SAMPLER["draws"]))
    return row


# --------------------------------------------------------------------------- Stan: the GCSE program

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


# --------------------------------------------------------------------------- running and loading

#: Every fit the command line can run: the varying-slope fits, and "gcse".
FITS = tuple(STAN_FITS) + ("gcse",)
#: The Stan program of each fit.
FIT_PROGRAMS = {**{fit: program for fit, (program, _) in STAN_FITS.items()}, "gcse": "gcse_marginal"}


def program_digests(fits) -> dict:
    """SHA-256 of the Stan program of each fit, as stored with the results: a changed program makes them stale."""
    import hashlib

    from bhm import stan

    return {FIT_PROGRAMS[fit]: hashlib.sha256(stan.program_code(FIT_PROGRAMS[fit]).encode()).hexdigest()
            for fit in fits}


def replication(fit: str, rep: int) -> dict:
    """One replication of any fit of :data:`FITS` (:func:`stan_replication` or :func:`gcse_replication`)."""
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
    """Run the missing replications of one fit; resumable (see :func:`bhm.study.run_tasks`).

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
        As for :func:`bhm.study.run_tasks`.

    Returns
    -------
    dict
        ``done``, ``skipped`` and ``seconds``.

    Raises
    ------
    ValueError
        An unknown fit, ``n_reps`` below 2, or a non-centred run without matched results in ``out``.
    """
    from bhm import study

    if fit not in FITS:
        raise ValueError(f"unknown fit {fit!r}; known: {', '.join(FITS)}")
    n_reps = _check_reps(n_reps)
    if reps is None:
        reps = [rep for rep in divergent_reps(out) if rep < n_reps] if fit == "noncentred" else range(n_reps)
    return study.run_tasks(out, [(fit, int(rep)) for rep in reps], replication, _stan_path,
                           executor=executor, max_workers=max_workers, progress=progress, desc=f"SBC {fit}")


def load_ranks(out) -> pd.DataFrame:
    """Every finished Stan replication under ``out``, one row each, sorted by fit and replication."""
    files = sorted(Path(out).glob("*/[0-9]*.json"))
    if not files:
        raise ValueError(f"no SBC results under {out}")
    rows = [json.loads(path.read_text()) for path in files]
    return pd.DataFrame(rows).sort_values(["fit", "rep"], ignore_index=True)


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
    """
    from bhm.data import load_committed_results

    if name not in _COMMANDS:
        raise ValueError(f"unknown results {name!r}; known: {', '.join(_COMMANDS)}")
    return load_committed_results(name, _COMMANDS[name])
