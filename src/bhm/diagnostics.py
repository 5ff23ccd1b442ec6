"""Convergence diagnostics: R-hat and the effective sample size, by hand.

* :func:`gelman_rubin` is the classic, non-split R-hat of Gelman and Rubin
  (1992): the formulas of BDA3 Section 11.4 applied to whole chains (BDA3
  applies them to the halves of each chain); :func:`gelman_rubin_parts`
  exposes its intermediate quantities for the step-by-step computation in
  the chapter.
* :func:`ess_parts` is the effective sample size from the autocorrelations
  (BDA3 Section 11.5), truncated with Geyer's initial positive and monotone
  sequences exactly as Stan and ArviZ do.
* :func:`rank_normalize` is the rank normalisation of Vehtari et al.
  (2021), the second of the three ingredients (split, rank-normalise,
  fold) of today's R-hat.
* :func:`summarise` puts the classic R-hat next to the split, bulk and
  folded R-hats and the bulk and tail effective sample sizes of ArviZ.
* :func:`convergence` gives ArviZ's R-hat and bulk and tail ESS of one
  quantity, quietly, for the many small fits of chapters 5 and 7;
  :func:`rank_checks` the same R-hat and bulk ESS of several quantities at
  once, in a few vectorised steps (chapter 5's study computes them for five
  quantities in each of 12,600 fits).
* :func:`sampler_efficiency` condenses a NUTS fit into the numbers that
  compare two parameterisations (chapter 4): divergences, tree-depth hits,
  the smallest bulk ESS, ESS per 1,000 gradient evaluations, the largest R-hat.
* :func:`group_slopes` is a test statistic for grouped posterior predictive
  checks: each group's least-squares slope, for observed or replicated data.
"""

from __future__ import annotations

from typing import NamedTuple

import arviz as az
import numpy as np
import pandas as pd
from scipy import special, stats

__all__ = [
    "EssParts",
    "GelmanRubinParts",
    "convergence",
    "ess_parts",
    "gelman_rubin",
    "gelman_rubin_parts",
    "group_slopes",
    "rank_checks",
    "rank_normalize",
    "sampler_efficiency",
    "summarise",
]


class GelmanRubinParts(NamedTuple):
    """Intermediate quantities of the Gelman-Rubin diagnostic.

    Attributes
    ----------
    s2 : ndarray of shape (n_chains,)
        Within-chain variances :math:`s_m^2`.
    W : float
        Mean within-chain variance.
    B_over_N : float
        Between-chain variance of the chain means, :math:`B / N`.
    var_plus : float
        Pooled estimate of the posterior variance,
        :math:`\\widehat{\\operatorname{Var}}^+`.
    rhat : float
        :math:`\\hat R = \\sqrt{\\widehat{\\operatorname{Var}}^+ / W}`.
    """

    s2: np.ndarray
    W: float
    B_over_N: float
    var_plus: float
    rhat: float


def gelman_rubin_parts(draws) -> GelmanRubinParts:
    r"""Compute the Gelman-Rubin R-hat and its intermediate quantities.

    Parameters
    ----------
    draws : array_like of shape (n_chains, n_draws)
        Draws of one scalar quantity: M chains of N draws each, with
        :math:`M \ge 2` and :math:`N \ge 2`, all finite.

    Returns
    -------
    GelmanRubinParts
        Named tuple ``(s2, W, B_over_N, var_plus, rhat)``.

    Raises
    ------
    ValueError
        If ``draws`` is not 2-D, has fewer than 2 chains or 2 draws,
        contains non-finite values, or every chain is constant.

    Notes
    -----
    With :math:`\theta_m^{(n)}` the n-th draw of chain m, chain means
    :math:`\bar\theta_m` and grand mean :math:`\bar\theta`:

    .. math::

        s_m^2 &= \frac{1}{N-1} \sum_{n=1}^N
                 \bigl(\theta_m^{(n)} - \bar\theta_m\bigr)^2, \qquad
        W = \frac{1}{M} \sum_{m=1}^M s_m^2, \\
        \frac{B}{N} &= \frac{1}{M-1} \sum_{m=1}^M
                 \bigl(\bar\theta_m - \bar\theta\bigr)^2, \qquad
        \widehat{\operatorname{Var}}^+ = \frac{N-1}{N} W + \frac{B}{N}, \qquad
        \hat R = \sqrt{\widehat{\operatorname{Var}}^+ / W}.

    The chains are not split, and the draws are not rank-normalised.
    This equals ``arviz.rhat(draws, method="identity")``, which computes
    :math:`\sqrt{(B/W + N - 1)/N}` with :math:`B = N \cdot` (variance
    of the chain means); the two are algebraically identical. ArviZ
    returns nan there for fewer than 4 draws, this function does not.

    References
    ----------
    .. [1] Gelman, A. and Rubin, D. B. (1992). Inference from iterative
       simulation using multiple sequences. Statistical Science 7,
       457-472.
    .. [2] Gelman, A., Carlin, J. B., Stern, H. S., Dunson, D. B.,
       Vehtari, A. and Rubin, D. B. (2013). Bayesian Data Analysis,
       3rd ed., Section 11.4.

    Examples
    --------
    >>> from bhm.diagnostics import gelman_rubin_parts
    >>> parts = gelman_rubin_parts([[1.0, 2.0, 3.0], [2.0, 3.0, 4.0]])
    >>> parts.s2.tolist(), parts.W, parts.B_over_N
    ([1.0, 1.0], 1.0, 0.5)
    >>> round(parts.rhat**2, 12)  # Var+ / W = (2/3 + 1/2) / 1 = 7/6
    1.166666666667
    """
    theta = _check_draws(draws)
    n_chains, n_draws = theta.shape
    chain_means = theta.mean(axis=1)  # theta-bar_m
    grand_mean = chain_means.mean()  # theta-bar
    s2 = np.sum((theta - chain_means[:, None]) ** 2, axis=1) / (n_draws - 1)
    W = float(np.mean(s2))
    B_over_N = float(np.sum((chain_means - grand_mean) ** 2) / (n_chains - 1))
    var_plus = (n_draws - 1) / n_draws * W + B_over_N
    rhat = float(np.sqrt(var_plus / W))
    return GelmanRubinParts(s2=s2, W=W, B_over_N=B_over_N, var_plus=var_plus, rhat=rhat)


def gelman_rubin(draws) -> float:
    r"""Classic Gelman-Rubin :math:`\hat R` (non-split, not rank-normalised).

    Parameters
    ----------
    draws : array_like of shape (n_chains, n_draws)
        Draws of one scalar quantity, at least 2 chains of 2 draws.

    Returns
    -------
    float
        :math:`\hat R = \sqrt{\widehat{\operatorname{Var}}^+ / W}`; close
        to 1 when the chains agree, above 1 when they do not.

    Raises
    ------
    ValueError
        As for :func:`gelman_rubin_parts`.

    Notes
    -----
    See :func:`gelman_rubin_parts` for the formulas (BDA3 Section 11.4,
    which applies them to the halves of each chain; here, as in Gelman and
    Rubin 1992, to whole chains). Modern practice (and :func:`arviz.rhat`
    by default) splits each chain in two, rank-normalises the draws, and
    also applies the formulas to the folded draws
    :math:`|\theta - \operatorname{median}\theta|` [1]_.

    References
    ----------
    .. [1] Vehtari, A., Gelman, A., Simpson, D., Carpenter, B. and
       Bürkner, P.-C. (2021). Rank-normalization, folding, and
       localization: an improved R-hat for assessing convergence of
       MCMC. Bayesian Analysis 16, 667-718.

    Examples
    --------
    >>> import numpy as np
    >>> from bhm.diagnostics import gelman_rubin
    >>> rng = np.random.default_rng(0)
    >>> round(gelman_rubin(rng.normal(size=(4, 1000))), 2)
    1.0
    """
    return gelman_rubin_parts(draws).rhat


class EssParts(NamedTuple):
    """The pieces of the effective sample size.

    Attributes
    ----------
    rho : ndarray of shape (n_draws,)
        Estimated autocorrelations :math:`\\hat\\rho_t` at lags
        :math:`t = 0, 1, \\dots, N - 1` (``n_draws`` of the chains used,
        halved when split), before truncation; ``rho[0] == 1``.
    last_lag : int
        :math:`T`: the sum runs over the lags :math:`1, \\dots, T` (plus
        half a pair, see :func:`ess_parts`).
    tau : float
        :math:`\\hat\\tau = 1 + 2 \\sum_{t=1}^{T} \\hat\\rho_t` (after the
        monotone adjustment): how many iterations one independent draw is
        worth.
    ess : float
        :math:`MN / \\hat\\tau`.
    """

    rho: np.ndarray
    last_lag: int
    tau: float
    ess: float


def ess_parts(draws, *, split: bool = True) -> EssParts:
    r"""Effective sample size from the autocorrelations (BDA3 Section 11.5).

    Parameters
    ----------
    draws : array_like of shape (n_chains, n_draws)
        Draws of one scalar quantity: one chain or several, at least 4 draws
        each, all finite, not all equal.
    split : bool
        Cut each chain into its first and second half first and treat the
        halves as chains (as ArviZ's ``ess(method="mean")`` does); with an
        odd number of draws the middle draw is dropped.

    Returns
    -------
    EssParts
        Named tuple ``(rho, last_lag, tau, ess)``.

    Raises
    ------
    ValueError
        If ``draws`` is not 2-D, has fewer than 4 draws per chain (8 when
        split), contains non-finite values, or every chain is constant.

    Notes
    -----
    With :math:`M` chains of :math:`N` draws, :math:`c_{m,t}` the
    autocovariance of chain m at lag t (divisor N), :math:`W` and
    :math:`\widehat{\operatorname{Var}}^+` as in
    :func:`gelman_rubin_parts`:

    .. math::

        \hat\rho_t = 1 - \frac{W - \frac1M \sum_m c_{m,t}}
                              {\widehat{\operatorname{Var}}^+}, \qquad
        \hat\tau = 1 + 2 \sum_{t=1}^{T} \hat\rho_t, \qquad
        \text{ESS} = \frac{MN}{\hat\tau}.

    For one chain :math:`\hat\rho_t = c_t / c_0 - 1/(N - 1)`: the
    ordinary autocorrelation, less a term of order 1/N. Far out, the
    :math:`\hat\rho_t` are noise and their sum does not converge, so it
    is truncated by Geyer's (1992) *initial positive sequence*: the sums of pairs
    :math:`\hat\rho_{2k} + \hat\rho_{2k+1}` are positive for a reversible
    chain, so the sum stops before the first negative pair; and his
    *initial monotone sequence*: each pair sum is lowered to the previous
    one when larger. Like Stan and ArviZ it then adds the even member of
    the first negative pair, when positive, once (a refinement for
    antithetic chains) and caps the ESS at :math:`MN \log_{10}(MN)`. With
    ``split=True`` the result equals ``arviz.ess(draws, method="mean")``.

    References
    ----------
    .. [1] Geyer, C. J. (1992). Practical Markov chain Monte Carlo.
       Statistical Science 7, 473-483.
    .. [2] Gelman, A. et al. (2013). Bayesian Data Analysis, 3rd ed.,
       Section 11.5.
    .. [3] Vehtari, A. et al. (2021). Rank-normalization, folding, and
       localization: an improved R-hat. Bayesian Analysis 16, 667-718.

    Examples
    --------
    >>> import numpy as np
    >>> from bhm.diagnostics import ess_parts
    >>> parts = ess_parts(np.random.default_rng(0).normal(size=(4, 1000)))
    >>> float(parts.rho[0]), 3000 < parts.ess < 5000
    (1.0, True)
    """
    theta = _check_draws(draws, min_chains=1, min_draws=8 if split else 4, what="the ESS")
    if split:
        half = theta.shape[1] // 2
        theta = np.concatenate([theta[:, :half], theta[:, -half:]], axis=0)
    n_chains, n_draws = theta.shape
    acov = _autocovariance(theta)                            # c_{m,t}, shape (M, N)
    W = acov[:, 0].mean() * n_draws / (n_draws - 1)          # mean of the s_m^2
    var_plus = (n_draws - 1) / n_draws * W
    if n_chains > 1:
        var_plus += theta.mean(axis=1).var(ddof=1)           # + B/N
    rho = 1 - (W - acov.mean(axis=0)) / var_plus
    rho[0] = 1.0
    total = n_chains * n_draws
    tau, last_lag = _truncated_tau(rho, total)
    return EssParts(rho=rho, last_lag=last_lag, tau=tau, ess=float(total / tau))


def _truncated_tau(rho, total: int) -> tuple[float, int]:
    """tau = 1 + 2 sum of the autocorrelations ``rho`` (lag 0, 1, ...), truncated as in :func:`ess_parts`.

    Returns tau (at least 1 / log10(total)) and the last lag kept.
    """
    n_draws = rho.size
    # Geyer's initial positive sequence: add pairs rho_{2k} + rho_{2k+1}
    # while they are positive.
    kept = np.zeros(n_draws)
    kept[:2] = rho[:2]
    t, even, odd = 1, rho[0], rho[1]
    while t < n_draws - 3 and even + odd > 0:
        even, odd = rho[t + 1], rho[t + 2]
        if even + odd >= 0:
            kept[t + 1], kept[t + 2] = even, odd
        t += 2
    last_lag = t - 2
    if even > 0:
        kept[last_lag + 1] = even                             # half a pair more
    # Geyer's initial monotone sequence: the pair sums never increase.
    for t in range(1, last_lag - 1, 2):
        if kept[t + 1] + kept[t + 2] > kept[t - 1] + kept[t]:
            kept[t + 1] = kept[t + 2] = (kept[t - 1] + kept[t]) / 2
    tau = -1 + 2 * kept[: last_lag + 1].sum() + kept[last_lag + 1]
    return float(max(tau, 1 / np.log10(total))), int(last_lag)


def rank_normalize(draws) -> np.ndarray:
    r"""Rank-normalise draws: normal scores of their ranks over all chains.

    Parameters
    ----------
    draws : array_like
        Draws of any shape (typically ``(n_chains, n_draws)``), all finite.

    Returns
    -------
    ndarray of the same shape
        :math:`z = \Phi^{-1}\bigl((r - 3/8) / (S + 1/4)\bigr)`, with
        :math:`r` the rank of each draw among all :math:`S` draws (ties
        share their average rank) and :math:`\Phi` the standard normal CDF.

    Raises
    ------
    ValueError
        If ``draws`` is empty or contains non-finite values.

    Notes
    -----
    The ranks keep only the order of the draws, so the result is the same
    for any increasing transformation of them, and it is close to a
    standard normal sample whatever the distribution of the draws, heavy
    tails included. R-hat of the split chains of ``rank_normalize(draws)``
    is the *bulk* R-hat of Vehtari et al. (2021), and of
    ``rank_normalize(abs(draws - median))`` the *folded* one (with an even
    number of draws per chain exactly ArviZ's
    ``rhat(method="z_scale")`` and ``rhat(method="folded")``).

    Examples
    --------
    >>> from bhm.diagnostics import rank_normalize
    >>> rank_normalize([[3.0, 1000.0], [-2.0, 0.5]]).round(3).tolist()
    [[0.299, 1.049], [-1.049, -0.299]]
    """
    try:
        theta = np.asarray(draws, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("draws must be a numeric array") from None
    if theta.size == 0:
        raise ValueError("draws is empty")
    if not np.isfinite(theta).all():
        raise ValueError("draws must be finite; found nan or inf")
    ranks = stats.rankdata(theta, method="average").reshape(theta.shape)
    return stats.norm.ppf((ranks - 3 / 8) / (theta.size + 1 / 4))


def summarise(idata_or_draws, var_names=None) -> pd.DataFrame:
    """Tabulate convergence diagnostics per scalar parameter.

    Parameters
    ----------
    idata_or_draws : arviz.InferenceData, MHResult or array_like
        Posterior draws: an InferenceData with a ``posterior`` group, an
        object with a ``to_inference_data()`` method such as
        :class:`bhm.mcmc.MHResult`, or an array of shape
        ``(n_chains, n_draws)`` or ``(n_chains, n_draws, n_params)``
        (named ``"theta"``).
    var_names : str or sequence of str, optional
        Variables to include; all posterior variables by default.

    Returns
    -------
    pandas.DataFrame
        One row per scalar parameter (``"theta[1]"`` for element 1 of
        ``theta``; indices, not coordinate values), columns

        - ``rhat_classic``: :func:`gelman_rubin` (not split, not ranked);
        - ``rhat_split``: the same formula on the split chains
          (``arviz.rhat(method="split")``);
        - ``rhat_bulk``: split R-hat of the rank-normalised draws
          (``method="z_scale"``);
        - ``rhat_folded``: split R-hat of the rank-normalised folded draws
          :math:`|\\theta - \\operatorname{median}\\theta|`
          (``method="folded"``);
        - ``rhat``: ArviZ's default, the larger of the bulk and folded;
        - ``ess_bulk``, ``ess_tail``: ArviZ's effective sample sizes.

    Raises
    ------
    ValueError
        If the input cannot be read or a name is not a posterior
        variable, or as for :func:`gelman_rubin`.

    Examples
    --------
    >>> import numpy as np
    >>> from bhm.diagnostics import summarise
    >>> draws = np.random.default_rng(1).normal(size=(4, 500, 2))
    >>> summarise(draws).index.tolist()
    ['theta[0]', 'theta[1]']
    """
    posterior = _posterior(idata_or_draws)
    names = list(posterior.data_vars) if var_names is None else _as_list(var_names)
    missing = [name for name in names if name not in posterior.data_vars]
    if missing:
        raise ValueError(
            f"var_names {missing} are not posterior variables; "
            f"available: {list(posterior.data_vars)}"
        )
    rows = {}
    for name in names:
        values = posterior[name].transpose("chain", "draw", ...).values
        for index in np.ndindex(values.shape[2:]):
            label = name if not index else f"{name}[{','.join(map(str, index))}]"
            theta = values[(slice(None), slice(None), *index)]
            rows[label] = {
                "rhat_classic": gelman_rubin(theta),
                "rhat_split": float(az.rhat(theta, method="split")),
                "rhat_bulk": float(az.rhat(theta, method="z_scale")),
                "rhat_folded": float(az.rhat(theta, method="folded")),
                "rhat": float(az.rhat(theta)),
                "ess_bulk": float(az.ess(theta, method="bulk")),
                "ess_tail": float(az.ess(theta, method="tail")),
            }
    return pd.DataFrame.from_dict(rows, orient="index")


def convergence(draws, *, tail: bool = True) -> dict:
    """ArviZ's R-hat and bulk and tail effective sample sizes of one quantity.

    The numbers the study (chapter 5) records for every fit and the
    calibration (chapter 7) thins by: ``arviz.rhat`` (the larger of the bulk
    and folded split R-hat) and ``arviz.ess`` with ``method="bulk"`` and
    ``"tail"``. Undefined values (a constant quantity) are NaN, without
    ArviZ's RuntimeWarning.

    Parameters
    ----------
    draws : array_like, shape (n_chains, n_draws)
    tail : bool
        Also compute the tail ESS (two more ESS computations; the study, which
        does not record it, leaves it out).

    Returns
    -------
    dict
        ``rhat``, ``ess_bulk`` and (with ``tail``) ``ess_tail``, floats (NaN
        where undefined).

    Examples
    --------
    >>> import numpy as np
    >>> checks = convergence(np.random.default_rng(0).normal(size=(4, 500)))
    >>> sorted(checks), round(checks["rhat"], 2)
    (['ess_bulk', 'ess_tail', 'rhat'], 1.0)
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        checks = {"rhat": float(az.rhat(draws)), "ess_bulk": float(az.ess(draws, method="bulk"))}
        if tail:
            checks["ess_tail"] = float(az.ess(draws, method="tail"))
        return checks


def rank_checks(draws) -> dict:
    """ArviZ's R-hat and bulk ESS of several quantities at once.

    The numbers of :func:`convergence` without the tail ESS: the larger of
    the bulk and folded rank-normalised split R-hat (``arviz.rhat``) and the
    bulk ESS (``arviz.ess(method="bulk")``), equal to ArviZ's up to rounding
    (tests/test_diagnostics.py checks 1e-10). ArviZ computes one quantity per
    call, ranking and transforming the draws three times; here the ranks and
    normal scores of every quantity are computed together, and only the
    truncation of the autocorrelations (as in :func:`ess_parts`) runs per quantity.
    Chapter 5's study calls it for five quantities in each of its 12,600 fits.

    Parameters
    ----------
    draws : array_like, shape (n_chains, n_draws, n_quantities)
        At least 2 chains of at least 8 draws, all finite.

    Returns
    -------
    dict
        ``rhat`` and ``ess_bulk``, each an ndarray of shape (n_quantities,).
        A quantity whose draws are all equal has R-hat NaN and ESS the number
        of draws (as ArviZ and :func:`convergence`).

    Raises
    ------
    ValueError
        ``draws`` not 3-D, fewer than 2 chains or 8 draws per chain, or not
        finite.

    Examples
    --------
    >>> import numpy as np
    >>> checks = rank_checks(np.random.default_rng(0).normal(size=(4, 500, 3)))
    >>> checks["rhat"].round(2).tolist()
    [1.0, 1.0, 1.0]
    """
    try:
        theta = np.asarray(draws, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("draws must be a numeric array of shape (n_chains, n_draws, n_quantities)") from None
    if theta.ndim != 3:
        raise ValueError(f"draws must have shape (n_chains, n_draws, n_quantities); got shape {theta.shape}")
    n_chains, n_draws, n_quantities = theta.shape
    if n_chains < 2 or n_draws < 8:
        raise ValueError(f"draws needs at least 2 chains of 8 draws; got {n_chains} of {n_draws}")
    if not np.isfinite(theta).all():
        raise ValueError("draws must be finite; found nan or inf")
    half = n_draws // 2

    def split(x):  # the first and second half of each chain as chains of their own (ArviZ's order)
        return np.concatenate([x[:, :half], x[:, -half:]], axis=0)

    def normal_scores(x):  # rank_normalize of each quantity's draws, (chains, draws, quantities)
        flat = x.reshape(-1, n_quantities)
        ranks = stats.rankdata(flat, method="average", axis=0)
        return special.ndtri((ranks - 3 / 8) / (flat.shape[0] + 1 / 4)).reshape(x.shape)  # = norm.ppf

    def rhat(z):  # BDA3's split R-hat of each quantity
        n = z.shape[1]
        between = n * z.mean(axis=1).var(axis=0, ddof=1)
        within = z.var(axis=1, ddof=1).mean(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sqrt((between / within + n - 1) / n)

    halves = split(theta)
    bulk = normal_scores(halves)
    folded = normal_scores(np.abs(halves - np.median(halves.reshape(-1, n_quantities), axis=0)))
    constant = np.all(halves == halves[:1, :1], axis=(0, 1))
    r = np.where(constant, np.nan, np.maximum(rhat(bulk), rhat(folded)))
    # ess_parts(bulk[..., i], split=False).ess for every quantity, the autocovariances in one go
    n_split = bulk.shape[1]
    total = bulk.shape[0] * n_split
    acov = _autocovariance(bulk)                                        # (chains, lags, quantities)
    W = acov[:, 0].mean(axis=0) * n_split / (n_split - 1)
    var_plus = (n_split - 1) / n_split * W + bulk.mean(axis=1).var(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = 1 - (W - acov.mean(axis=0)) / var_plus                   # (lags, quantities)
    rho[0] = 1.0
    ess = np.array([total if constant[i] else total / _truncated_tau(rho[:, i], total)[0]
                    for i in range(n_quantities)])
    return {"rhat": r, "ess_bulk": ess}


def sampler_efficiency(idata, var_names, *, max_treedepth: int = 10) -> dict:
    """How well NUTS did on a fit, in numbers that do not depend on the machine.

    Parameters
    ----------
    idata : arviz.InferenceData
        A NUTS fit: a ``posterior`` group and a ``sample_stats`` group with
        ``diverging``, ``tree_depth`` and ``n_steps`` (the leapfrog steps, i.e.
        gradient evaluations, of each iteration), as :func:`bhm.stan.sample`
        returns.
    var_names : sequence of str
        The posterior variables whose slowest one counts (scalars or arrays:
        every element counts).
    max_treedepth : int
        The maximum tree depth the sampler ran with.

    Returns
    -------
    dict
        ``divergences`` and ``treedepth_hits`` (counts over all chains),
        ``min_ess_bulk`` (the smallest bulk ESS of any element),
        ``ess_per_1000_gradients`` (that ESS per 1,000 gradient evaluations of
        the kept draws: the cost of one effective draw) and ``max_rhat``
        (ArviZ's R-hat, the largest of any element).

    Raises
    ------
    ValueError
        If ``idata`` lacks a group, a sampler statistic or a variable.
    """
    for group in ("posterior", "sample_stats"):
        if not isinstance(idata, az.InferenceData) or group not in idata.groups():
            raise ValueError(f"idata must be an InferenceData with a {group} group (a NUTS fit)")
    sampler = idata.sample_stats
    missing = [name for name in ("diverging", "tree_depth", "n_steps") if name not in sampler]
    if missing:
        raise ValueError(f"idata.sample_stats lacks {missing}: sampler_efficiency needs a NUTS fit")
    names = _as_list(var_names)
    unknown = [name for name in names if name not in idata.posterior.data_vars]
    if not names or unknown:
        raise ValueError(f"var_names {unknown or names} must name posterior variables; "
                         f"available: {list(idata.posterior.data_vars)}")
    ess = az.ess(idata, var_names=names, method="bulk")
    rhat = az.rhat(idata, var_names=names)
    min_ess = min(float(ess[name].min()) for name in names)
    return {
        "divergences": int(sampler["diverging"].sum()),
        "treedepth_hits": int((sampler["tree_depth"] >= max_treedepth).sum()),
        "min_ess_bulk": min_ess,
        "ess_per_1000_gradients": 1000 * min_ess / float(sampler["n_steps"].sum()),
        "max_rhat": max(float(rhat[name].max()) for name in names),
    }


def group_slopes(group, x, y) -> np.ndarray:
    """Each group's least-squares slope of y on x: a statistic for grouped predictive checks.

    Parameters
    ----------
    group : array_like of int, shape (N,)
        1-based group of each individual (groups 1..J, each with at least two
        different values of x).
    x : array_like, shape (N,)
    y : array_like, shape (..., N)
        Observed outcomes, or many replicated data sets stacked in front
        (e.g. draws x individuals).

    Returns
    -------
    numpy.ndarray, shape (..., J)
        :math:`\\sum_{i \\in j} (x_i - \\bar x_j)(y_i - \\bar y_j) / \\sum_{i \\in j} (x_i - \\bar x_j)^2`
        for every group j.

    Raises
    ------
    ValueError
        Shapes that differ, group indices that are not whole numbers >= 1, or
        values that are not finite.
    """
    group = np.asarray(group)
    try:
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("x and y must be numeric arrays") from None
    if x.ndim != 1 or group.shape != x.shape or y.shape[-1:] != x.shape:
        raise ValueError(f"group and x must have shape (N,) and y shape (..., N); "
                         f"got {group.shape}, {x.shape} and {y.shape}")
    if not np.issubdtype(group.dtype, np.integer) or group.size == 0 or group.min() < 1:
        raise ValueError("group must hold whole numbers >= 1 (1-based groups)")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("x and y must be finite; found nan or inf")
    J = int(group.max())
    onehot = np.zeros((x.size, J))
    onehot[np.arange(x.size), group - 1] = 1.0
    counts = onehot.sum(axis=0)
    centred_x = x - (x @ onehot / np.where(counts > 0, counts, 1))[group - 1]
    sxx = (centred_x**2) @ onehot
    if np.any(sxx <= 0):
        raise ValueError(f"groups {(np.flatnonzero(sxx <= 0) + 1).tolist()[:5]} have fewer than two different x: "
                         "no slope")
    return (y * centred_x) @ onehot / sxx      # sum (x - xbar_j) y = sum (x - xbar_j)(y - ybar_j)


def _autocovariance(theta):
    """c_{m,t} = (1/N) sum_n (theta_{m,n} - mean_m)(theta_{m,n+t} - mean_m), by FFT; theta (chains, draws[, k])."""
    n_draws = theta.shape[1]
    centred = theta - theta.mean(axis=1, keepdims=True)
    size = 2 ** int(np.ceil(np.log2(2 * n_draws)))  # zero padding: no wrap-around
    spectrum = np.fft.rfft(centred, n=size, axis=1)
    return np.fft.irfft(spectrum * np.conj(spectrum), n=size, axis=1)[:, :n_draws] / n_draws


def _check_draws(draws, *, min_chains=2, min_draws=2, what="R-hat"):
    try:
        theta = np.asarray(draws, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("draws must be a numeric array of shape (n_chains, n_draws)") from None
    if theta.ndim != 2:
        raise ValueError(f"draws must have shape (n_chains, n_draws); got shape {theta.shape}")
    n_chains, n_draws = theta.shape
    if n_chains < min_chains:
        raise ValueError(f"draws needs at least {min_chains} chains for {what}; got {n_chains}")
    if n_draws < min_draws:
        raise ValueError(f"draws needs at least {min_draws} draws per chain for {what}; got {n_draws}")
    if not np.isfinite(theta).all():
        raise ValueError("draws must be finite; found nan or inf")
    if np.all(theta == theta[:, :1]):
        raise ValueError(f"every chain is constant; {what} is undefined (W = 0)")
    return theta


def _posterior(obj):
    if hasattr(obj, "to_inference_data"):
        obj = obj.to_inference_data()
    if isinstance(obj, az.InferenceData):
        if "posterior" not in obj.groups():
            raise ValueError("idata_or_draws has no posterior group")
        return obj.posterior
    try:
        draws = np.asarray(obj, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            "idata_or_draws must be an InferenceData or an array of shape "
            f"(n_chains, n_draws[, n_params]); got {type(obj).__name__}"
        ) from None
    if draws.ndim not in (2, 3):
        raise ValueError(
            "idata_or_draws must have shape (n_chains, n_draws) or "
            f"(n_chains, n_draws, n_params); got shape {draws.shape}"
        )
    return az.from_dict(posterior={"theta": draws}).posterior


def _as_list(var_names):
    return [var_names] if isinstance(var_names, str) else list(var_names)
