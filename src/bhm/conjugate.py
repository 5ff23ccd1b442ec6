"""The normal model with known variance and its conjugate normal prior.

Chapter 1 derives the posterior of the mean :math:`\\mu` of
:math:`y_i \\overset{iid}{\\sim} \\mathcal N(\\mu, \\sigma^2)`, with
:math:`\\sigma` known, under the prior :math:`\\mu \\sim \\mathcal N(\\mu_0, \\sigma_0^2)`.
Chapter 4 adds :func:`regression_draws`: exact posterior draws of the normal
linear regression under the noninformative prior (BDA3 Section 14.2), its
complete-pooling model.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from bhm._validation import finite, positive, whole_number
from bhm._validation import rng as rng_of

__all__ = ["normal_posterior", "posterior_weight", "grid_posterior", "posterior_predictive",
           "posterior_mean_mse", "conditional_group_means", "regression_draws"]


def _observations(y) -> np.ndarray:
    try:
        y = np.asarray(y, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("y must be an array of numbers") from None
    if y.ndim != 1:
        y = y.reshape(-1) if y.ndim == 0 else y
    if y.ndim != 1:
        raise ValueError(f"y must be one-dimensional, shape (n,); got shape {y.shape}")
    if y.size == 0:
        raise ValueError("y is empty: the posterior needs at least one observation")
    bad = ~np.isfinite(y)
    if bad.any():
        raise ValueError(
            f"y contains {bad.sum()} non-finite value(s) (NaN or inf), first at index {np.flatnonzero(bad)[0]}"
        )
    return y


def _normal_model(y, sigma, mu0, sigma0):
    """Checked data and parameters of chapter 1's normal model: (y, sigma, mu0, sigma0)."""
    y, sigma, sigma0 = _observations(y), positive(sigma, "sigma"), positive(sigma0, "sigma0")
    return y, sigma, finite(mu0, "mu0"), sigma0


def posterior_weight(n, *, sigma: float, sigma0: float):
    """Weight :math:`\\alpha` of the sample mean in the posterior mean.

    The posterior mean is :math:`\\bar\\mu = \\alpha \\bar y + (1 - \\alpha)\\mu_0`, where
    :math:`\\alpha` is the share of the total precision that comes from the data.
    In a hierarchical model the same number is the *shrinkage factor* of a group
    with ``n`` members: :math:`\\sigma_\\alpha^2 / (\\sigma_\\alpha^2 + \\sigma_y^2/n)`,
    with ``sigma = sigma_y`` and ``sigma0 = sigma_alpha`` (chapter 4).

    Parameters
    ----------
    n : int or array_like of int, shape (k,)
        Number(s) of observations, each at least 0.
    sigma : float
        Known standard deviation of one observation.
    sigma0 : float
        Standard deviation of the normal prior on the mean.

    Returns
    -------
    float or numpy.ndarray, shape (k,)
        :math:`\\alpha = \\dfrac{n/\\sigma^2}{n/\\sigma^2 + 1/\\sigma_0^2} \\in [0, 1)`.

    Raises
    ------
    ValueError
        ``n`` not a whole number >= 0 (or an array of them), or a scale not positive and finite.

    Examples
    --------
    >>> posterior_weight(10, sigma=2.0, sigma0=1.0)
    0.7142857142857143
    """
    try:
        counts = np.asarray(n, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"n must be a whole number >= 0, or an array of them; got {n!r}") from None
    if (isinstance(n, (bool, np.bool_)) or counts.ndim > 1 or not np.all(np.isfinite(counts))
            or np.any(counts < 0) or np.any(counts != np.round(counts))):
        raise ValueError(f"n must be a whole number >= 0, or an array of them; got {n!r}")
    sigma = positive(sigma, "sigma")
    sigma0 = positive(sigma0, "sigma0")
    data_precision = counts / sigma**2
    alpha = data_precision / (data_precision + 1 / sigma0**2)
    return float(alpha) if counts.ndim == 0 else alpha


def normal_posterior(y, *, sigma: float, mu0: float, sigma0: float):
    """Posterior of the mean of a normal model with known variance.

    Parameters
    ----------
    y : array_like, shape (n,)
        Observations :math:`y_1, \\dots, y_n`, all finite, ``n >= 1``.
    sigma : float
        Known standard deviation :math:`\\sigma` of one observation.
    mu0, sigma0 : float
        Mean and standard deviation of the prior :math:`\\mu \\sim \\mathcal N(\\mu_0, \\sigma_0^2)`.

    Returns
    -------
    scipy.stats.rv_continuous frozen
        ``scipy.stats.norm(loc=mu_bar, scale=sigma_mu)``.

    Raises
    ------
    ValueError
        ``y`` empty, not 1-D or not finite, a scale not positive and finite, or ``mu0`` not finite.

    Notes
    -----
    Precisions add up, and the posterior mean is the precision-weighted average:

    .. math::

        \\sigma_\\mu^2 = \\left(\\frac{n}{\\sigma^2} + \\frac{1}{\\sigma_0^2}\\right)^{-1},
        \\qquad
        \\bar\\mu = \\sigma_\\mu^2\\left(\\frac{n}{\\sigma^2}\\bar y + \\frac{1}{\\sigma_0^2}\\mu_0\\right)
                 = \\alpha\\bar y + (1-\\alpha)\\mu_0 .

    References
    ----------
    Gelman, A. et al. (2013). *Bayesian Data Analysis*, 3rd ed., section 2.5.

    Examples
    --------
    >>> post = normal_posterior([1.0, 2.0, 3.0], sigma=1.0, mu0=0.0, sigma0=1.0)
    >>> round(float(post.mean()), 6), round(float(post.std()), 6)
    (1.5, 0.5)
    """
    y, sigma, mu0, sigma0 = _normal_model(y, sigma, mu0, sigma0)
    n = y.size
    precision = n / sigma**2 + 1 / sigma0**2
    variance = 1 / precision
    mean = variance * (n / sigma**2 * y.mean() + mu0 / sigma0**2)
    return stats.norm(loc=mean, scale=np.sqrt(variance))


def grid_posterior(y, *, sigma: float, mu0: float, sigma0: float, grid):
    """Posterior density of :math:`\\mu` by brute force on a grid.

    Multiplies likelihood and prior at every grid point and normalises by the
    trapezoidal rule, with no algebra: the check on :func:`normal_posterior`.

    Parameters
    ----------
    y : array_like, shape (n,)
    sigma, mu0, sigma0 : float
        As in :func:`normal_posterior`.
    grid : array_like, shape (g,)
        Increasing grid of values of :math:`\\mu`; it must cover the posterior mass.

    Returns
    -------
    numpy.ndarray, shape (g,)
        The normalised posterior density at each grid point.

    Raises
    ------
    ValueError
        ``y`` or the grid not valid (the grid must be finite and increasing), or a bad scale or ``mu0``.
    """
    y, sigma, mu0, sigma0 = _normal_model(y, sigma, mu0, sigma0)
    grid = np.asarray(grid, dtype=float)
    if grid.ndim != 1 or grid.size < 3:
        raise ValueError(f"grid must be one-dimensional with at least 3 points; got shape {grid.shape}")
    if not np.all(np.isfinite(grid)) or np.any(np.diff(grid) <= 0):
        raise ValueError("grid must be finite and strictly increasing")
    log_lik = stats.norm.logpdf(y[:, None], loc=grid[None, :], scale=sigma).sum(axis=0)
    log_prior = stats.norm.logpdf(grid, loc=mu0, scale=sigma0)
    log_post = log_lik + log_prior
    density = np.exp(log_post - log_post.max())
    return density / np.trapezoid(density, grid)


def posterior_predictive(y, *, sigma: float, mu0: float, sigma0: float):
    r"""Posterior predictive distribution of one new observation.

    A new observation is :math:`\tilde y = \mu + \varepsilon` with
    :math:`\varepsilon \sim \mathcal N(0, \sigma^2)` independent of
    :math:`\mu` and of the data. Given the data,
    :math:`\mu \mid y \sim \mathcal N(\bar\mu, \sigma_\mu^2)` (:func:`normal_posterior`),
    so the sum of the two independent normals is

    .. math::

        \tilde y \mid y \sim \mathcal N(\bar\mu,\ \sigma^2 + \sigma_\mu^2).

    Parameters
    ----------
    y : array_like, shape (n,)
        Observations, all finite, ``n >= 1``.
    sigma : float
        Known standard deviation of one observation, > 0.
    mu0, sigma0 : float
        Mean and standard deviation (> 0) of the normal prior on :math:`\mu`.

    Returns
    -------
    scipy.stats.rv_continuous frozen
        ``scipy.stats.norm(loc=mu_bar, scale=sqrt(sigma**2 + sigma_mu**2))``.

    Raises
    ------
    ValueError
        As :func:`normal_posterior`: ``y`` empty, not one-dimensional or not
        finite; ``sigma`` or ``sigma0`` not positive and finite; ``mu0`` not finite.

    References
    ----------
    Gelman, A. et al. (2013). *Bayesian Data Analysis*, 3rd ed., section 2.5.

    Examples
    --------
    >>> pred = posterior_predictive([1.0, 2.0, 3.0], sigma=1.0, mu0=0.0, sigma0=1.0)
    >>> round(float(pred.mean()), 6), round(float(pred.var()), 6)   # 1 + 0.25
    (1.5, 1.25)
    """
    posterior = normal_posterior(y, sigma=sigma, mu0=mu0, sigma0=sigma0)
    sigma = positive(sigma, "sigma")
    return stats.norm(loc=posterior.mean(), scale=np.sqrt(sigma**2 + posterior.var()))


def posterior_mean_mse(mu, *, n, sigma: float, mu0: float, sigma0: float):
    r"""Mean squared error of the posterior mean as an estimator of a fixed true mean.

    Over repeated samples of ``n`` observations from :math:`\mathcal N(\mu, \sigma^2)`
    with :math:`\mu` held fixed, the posterior mean
    :math:`\bar\mu = \alpha\bar y + (1-\alpha)\mu_0` has bias
    :math:`(1-\alpha)(\mu_0 - \mu)` and variance :math:`\alpha^2\sigma^2/n`, so

    .. math::

        \mathbb E\big[(\bar\mu - \mu)^2 \mid \mu\big]
          = (1-\alpha)^2(\mu - \mu_0)^2 + \alpha^2\,\frac{\sigma^2}{n},

    against :math:`\sigma^2/n` for the sample mean :math:`\bar y`. The two are
    equal where :math:`|\mu - \mu_0| = \sqrt{2\sigma_0^2 + \sigma^2/n}`.

    Parameters
    ----------
    mu : float or array_like, shape (k,)
        True mean(s) :math:`\mu`, finite.
    n : int
        Number of observations per sample, >= 1.
    sigma : float
        Known standard deviation of one observation, > 0.
    mu0, sigma0 : float
        Mean and standard deviation (> 0) of the normal prior on :math:`\mu`.

    Returns
    -------
    float or numpy.ndarray, shape (k,)
        The mean squared error at each ``mu`` (a float for a scalar ``mu``).

    Raises
    ------
    ValueError
        If ``mu`` is not finite numbers of at most one dimension, ``n`` is not
        a whole number >= 1, ``sigma`` or ``sigma0`` is not positive and finite,
        or ``mu0`` is not finite.

    Examples
    --------
    >>> # alpha = 1/2: bias^2 (1/2)^2 * 2^2 = 1, variance (1/2)^2 * 4 = 1
    >>> posterior_mean_mse(2.0, n=1, sigma=2.0, mu0=0.0, sigma0=2.0)
    2.0
    """
    try:
        true_mean = np.asarray(mu, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"mu must be a finite number or a 1-D array of them; got {mu!r}") from None
    if true_mean.ndim > 1 or not np.all(np.isfinite(true_mean)):
        raise ValueError(f"mu must be a finite number or a 1-D array of them; got {mu!r}")
    if (isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer, float, np.floating))
            or not np.isfinite(n) or n < 1 or n != round(n)):
        raise ValueError(f"n must be a whole number >= 1; got {n!r}")
    sigma = positive(sigma, "sigma")
    sigma0 = positive(sigma0, "sigma0")
    mu0 = finite(mu0, "mu0")
    alpha = posterior_weight(int(n), sigma=sigma, sigma0=sigma0)
    mse = (1 - alpha) ** 2 * (true_mean - mu0) ** 2 + alpha**2 * sigma**2 / n
    return float(mse) if true_mean.ndim == 0 else mse


def conditional_group_means(ybar, n, *, sigma_y: float, sigma_alpha: float, mu_loc: float, mu_scale: float):
    r"""Posterior means of the group means given the group-level sd, with the overall mean integrated out.

    The varying-intercept model of chapter 4, :math:`y_{ij} \sim \mathcal N(\alpha_j, \sigma_y^2)`,
    :math:`\alpha_j \sim \mathcal N(\mu_\alpha, \sigma_\alpha^2)`,
    :math:`\mu_\alpha \sim \mathcal N(m, s^2)`, with :math:`\sigma_y` and
    :math:`\sigma_\alpha` held fixed. Everything else is normal, so exactly

    .. math::

        \mathbb E[\mu_\alpha \mid \sigma_\alpha, y]
          = \frac{m/s^2 + \sum_j \bar y_j / v_j}{1/s^2 + \sum_j 1/v_j},
        \quad v_j = \sigma_\alpha^2 + \sigma_y^2 / n_j,
        \qquad
        \mathbb E[\alpha_j \mid \sigma_\alpha, y]
          = \lambda_j \bar y_j + (1 - \lambda_j)\,\mathbb E[\mu_\alpha \mid \sigma_\alpha, y],

    with :math:`\lambda_j` the shrinkage factor (:func:`posterior_weight`).
    As :math:`\sigma_\alpha \to 0` every group gets the (prior-weighted)
    overall mean, complete pooling; as :math:`\sigma_\alpha \to \infty`
    each keeps its own mean, no pooling.

    Parameters
    ----------
    ybar, n : array_like, shape (J,)
        Group means and sizes (each size >= 1).
    sigma_y, sigma_alpha : float
        Individual- and group-level sds, > 0.
    mu_loc, mu_scale : float
        Normal prior of the overall mean.

    Returns
    -------
    means : numpy.ndarray, shape (J,)
        :math:`\mathbb E[\alpha_j \mid \sigma_\alpha, y]`.
    overall : float
        :math:`\mathbb E[\mu_\alpha \mid \sigma_\alpha, y]`.

    Raises
    ------
    ValueError
        Group means, sizes or scales that are not valid (named in the message).
    """
    ybar = np.asarray(ybar, dtype=float)
    n = np.asarray(n, dtype=float)
    if ybar.ndim != 1 or ybar.shape != n.shape or ybar.size == 0:
        raise ValueError(f"ybar and n must have one shape (J,), J >= 1; got {ybar.shape} and {n.shape}")
    if not (np.all(np.isfinite(ybar)) and np.all(np.isfinite(n)) and np.all(n >= 1)):
        raise ValueError("ybar must be finite and every n >= 1")
    sigma_y = positive(sigma_y, "sigma_y")
    sigma_alpha = positive(sigma_alpha, "sigma_alpha")
    mu_scale = positive(mu_scale, "mu_scale")
    mu_loc = finite(mu_loc, "mu_loc")
    v = sigma_alpha**2 + sigma_y**2 / n
    overall = (mu_loc / mu_scale**2 + np.sum(ybar / v)) / (1 / mu_scale**2 + np.sum(1 / v))
    lam = posterior_weight(n, sigma=sigma_y, sigma0=sigma_alpha)
    return lam * ybar + (1 - lam) * overall, float(overall)


def regression_draws(X, y, *, n_draws: int, seed):
    """Exact posterior draws of :math:`y \\sim \\mathcal N(X\\beta, \\sigma^2 I)`.

    The prior is :math:`p(\\beta, \\sigma^2) \\propto \\sigma^{-2}`.

    BDA3 Section 14.2: with :math:`\\hat\\beta = (X^\\top X)^{-1} X^\\top y` and
    :math:`s^2 = \\lVert y - X\\hat\\beta\\rVert^2 / (n - k)`,

    .. math::

        \\sigma^2 \\mid y \\sim \\text{Inv-}\\chi^2(n - k, s^2), \\qquad
        \\beta \\mid \\sigma, y \\sim \\mathcal N\\big(\\hat\\beta, \\sigma^2 (X^\\top X)^{-1}\\big).

    Parameters
    ----------
    X : array_like, shape (n, k)
        Design matrix of full column rank, with n > k (e.g. a column of ones and x).
    y : array_like, shape (n,)
    n_draws : int
        Number of independent draws.
    seed : int or numpy.random.Generator

    Returns
    -------
    beta : numpy.ndarray, shape (n_draws, k)
    sigma : numpy.ndarray, shape (n_draws,)

    Raises
    ------
    ValueError
        ``X`` and ``y`` of the wrong shapes, not finite or rank-deficient,
        ``n_draws`` not a whole number >= 1, or a bad seed.
    """
    try:
        X = np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("X must be a numeric matrix of shape (n, k)") from None
    y = _observations(y)
    if X.ndim != 2 or X.shape[0] != y.size:
        raise ValueError(f"X must have shape (n, k) with n = len(y) = {y.size}; got {X.shape}")
    n, k = X.shape
    if n <= k:
        raise ValueError(f"need more observations than coefficients; got n = {n}, k = {k}")
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or inf")
    if np.linalg.matrix_rank(X) < k:
        raise ValueError("X must have full column rank: a column is a combination of the others")
    whole_number(n_draws, "n_draws", 1)
    rng = rng_of(seed)
    V = np.linalg.inv(X.T @ X)
    beta_hat = V @ X.T @ y
    s2 = np.sum((y - X @ beta_hat) ** 2) / (n - k)
    sigma = np.sqrt((n - k) * s2 / rng.chisquare(n - k, size=n_draws))
    beta = beta_hat + sigma[:, None] * (rng.standard_normal((n_draws, k)) @ np.linalg.cholesky(V).T)
    return beta, sigma
