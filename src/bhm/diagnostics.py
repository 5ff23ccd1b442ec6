"""Convergence diagnostics: the Gelman-Rubin R-hat of the slides.

:func:`gelman_rubin` is the classic, non-split R-hat exactly as written
on the slides; :func:`gelman_rubin_parts` exposes its intermediate
quantities for the step-by-step computation in the chapter.
:func:`summarize` puts it next to ArviZ's rank-normalised split R-hat
and effective sample sizes.
"""

from __future__ import annotations

from typing import NamedTuple

import arviz as az
import numpy as np
import pandas as pd

__all__ = ["GelmanRubinParts", "gelman_rubin", "gelman_rubin_parts", "summarize"]


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
    r"""Gelman-Rubin :math:`\hat R` of the slides (non-split, not rank-normalised).

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
    See :func:`gelman_rubin_parts` for the formulas. Modern practice
    (and :func:`arviz.rhat` by default) splits each chain in two and
    rank-normalises the draws before applying them [1]_.

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


def summarize(idata_or_draws, var_names=None) -> pd.DataFrame:
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

        - ``rhat_gr``: :func:`gelman_rubin`, the slides' formula;
        - ``rhat``: ArviZ's rank-normalised split R-hat;
        - ``ess_bulk``, ``ess_tail``: ArviZ's effective sample sizes.

    Raises
    ------
    ValueError
        If the input cannot be read or a name is not a posterior
        variable, or as for :func:`gelman_rubin`.

    Examples
    --------
    >>> import numpy as np
    >>> from bhm.diagnostics import summarize
    >>> draws = np.random.default_rng(1).normal(size=(4, 500, 2))
    >>> summarize(draws).index.tolist()
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
                "rhat_gr": gelman_rubin(theta),
                "rhat": float(az.rhat(theta)),
                "ess_bulk": float(az.ess(theta, method="bulk")),
                "ess_tail": float(az.ess(theta, method="tail")),
            }
    return pd.DataFrame.from_dict(rows, orient="index")


def _check_draws(draws):
    try:
        theta = np.asarray(draws, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("draws must be a numeric array of shape (n_chains, n_draws)") from None
    if theta.ndim != 2:
        raise ValueError(f"draws must have shape (n_chains, n_draws); got shape {theta.shape}")
    n_chains, n_draws = theta.shape
    if n_chains < 2:
        raise ValueError(f"draws needs at least 2 chains for R-hat; got {n_chains}")
    if n_draws < 2:
        raise ValueError(f"draws needs at least 2 draws per chain for R-hat; got {n_draws}")
    if not np.isfinite(theta).all():
        raise ValueError("draws must be finite; found nan or inf")
    if np.all(theta == theta[:, :1]):
        raise ValueError("every chain is constant; R-hat is undefined (W = 0)")
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
