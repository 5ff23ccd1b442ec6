"""SBC of exact posterior draws and of chapter 2's Metropolis-Hastings sampler on conjugate models.

All R replications run at once, one chain each, as the chains of one
vectorised :func:`bhm.mcmc.metropolis_hastings` call: 1,000 replications take
about a second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bhm._validation import rng as _rng
from bhm._validation import whole_number
from bhm.sbc.ranks import BINS, N_DRAWS, ess_iterations, evenly_spaced, ranks, uniformity


def _check_reps(n_reps):
    return whole_number(n_reps, "n_reps", 2)


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
    thin = whole_number(thin, "thin (or 'ess')", 1)
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

    Parameters
    ----------
    n_reps : int
        R, replications, >= 2.
    seed : int or numpy.random.Generator
        An int >= 0 or a generator; None is rejected.
    mu0, sigma0 : float
        The prior N(mu0, sigma0^2) of the mean.
    sigma : float
        The known sd of the data.
    n : int
        Observations per data set.
    sd_factor, shift : float
        The distortion of the draws' distribution (1 and 0: exact).
    n_draws : int
        L, draws per replication.

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
    rng = _rng(seed)
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

    Raises
    ------
    ValueError
        ``n_seeds`` or ``seed`` not a whole number, or as for :func:`exact_normal_mean`.
    """
    n_seeds = whole_number(n_seeds, "n_seeds", 1)
    rejected = 0
    for k in range(n_seeds):
        run_seed = np.random.default_rng([whole_number(seed, "seed"), k])
        table = exact_normal_mean(n_reps, seed=run_seed, sd_factor=sd_factor, shift=shift)
        rejected += bool(uniformity(table[["mu"]], bins=bins)["p_value"].iloc[0] < level)
    return rejected / n_seeds


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
    rng = _rng(seed)
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

    Parameters
    ----------
    n_reps, seed
        As for :func:`exact_normal_mean`.
    a, b : float
        The Gamma(a, rate b) prior of the precision.
    n : int
        Observations per data set.
    step : float
        Sd of the log-normal walk's log step.
    hastings : bool
        Keep the Hastings term (False: chapter 2's mistake).
    warmup, thin, n_draws
        As for :func:`mh_normal_mean`.

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
    rng = _rng(seed)
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
