"""Simulated hierarchical data, reproducible from a seed.

The designs follow the source course (Maokomatanda, Mensinger and Schick
2020): individuals i in groups j, an individual-level predictor x_i and a
group-level predictor u_j. Within a design, x and u are drawn once
(:func:`draw_design`) and held fixed; each simulation redraws the group
effects and the noise (:func:`simulate_varying_slope`).

Every function returns Stan-ready data: ``group`` holds 1-based group indices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bhm._validation import finite, positive
from bhm._validation import rng as _rng

__all__ = [
    "Design", "draw_design", "group_sizes",
    "simulate_varying_slope", "simulate_varying_intercept", "simulate_varying_intercept_slope",
    "simulate_varying_intercept_slope_u",
]


@dataclass(frozen=True)
class Design:
    """Fixed predictors of a hierarchical design.

    Attributes
    ----------
    x : ndarray, shape (N,)
        Individual-level predictor.
    u : ndarray, shape (J,)
        Group-level predictor.
    group : ndarray of int, shape (N,)
        Group of each individual, 1-based (Stan's convention).
    """

    x: np.ndarray
    u: np.ndarray
    group: np.ndarray

    @property
    def N(self) -> int:
        return self.x.size

    @property
    def J(self) -> int:
        return self.u.size


def _check_parameters(*, locations: dict | None = None, scales: dict | None = None) -> None:
    """Locations must be finite numbers, scales finite and > 0; the error names the parameter."""
    for name, value in (locations or {}).items():
        finite(value, name)
    for name, value in (scales or {}).items():
        positive(value, name)


def _check_design(design) -> None:
    if not isinstance(design, Design):
        raise ValueError(f"design must be a bhm.simulate.Design (from draw_design); got {type(design).__name__}")


def group_sizes(sizes) -> np.ndarray:
    """Validate group sizes: a 1-D array of whole numbers >= 1.

    Parameters
    ----------
    sizes : array_like of int, shape (J,)
        Individuals per group (a single number is one group).

    Returns
    -------
    numpy.ndarray of int, shape (J,)

    Raises
    ------
    ValueError
        Not a 1-D array of whole numbers >= 1.
    """
    sizes = np.atleast_1d(np.asarray(sizes))
    if sizes.ndim != 1 or sizes.size == 0 or not np.issubdtype(sizes.dtype, np.integer) or np.any(sizes < 1):
        raise ValueError(f"group sizes must be whole numbers >= 1, one per group; got {sizes!r}")
    return sizes.astype(int)


def draw_design(sizes, *, x_loc=0.0, x_scale=3.0, u_loc=0.0, u_scale=3.0, seed) -> Design:
    """Draw the fixed predictors of a design.

    Parameters
    ----------
    sizes : array_like of int, shape (J,)
        Number of individuals in each group.
    x_loc, x_scale : float
        x_i ~ N(x_loc, x_scale) (``x_scale`` is a standard deviation).
    u_loc, u_scale : float
        u_j ~ N(u_loc, u_scale).
    seed : int or numpy.random.Generator

    Returns
    -------
    Design

    Raises
    ------
    ValueError
        Bad group sizes, a location that is not finite, a scale that is not
        positive and finite, or a bad seed (each named).
    """
    sizes = group_sizes(sizes)
    _check_parameters(locations={"x_loc": x_loc, "u_loc": u_loc}, scales={"x_scale": x_scale, "u_scale": u_scale})
    rng = _rng(seed)
    group = np.repeat(np.arange(1, sizes.size + 1), sizes)
    x = rng.normal(x_loc, x_scale, size=group.size)
    u = rng.normal(u_loc, u_scale, size=sizes.size)
    return Design(x=x, u=u, group=group)


def simulate_varying_slope(design: Design, *, alpha=1.0, gamma_0=1.0, gamma_1=1.0, sigma_b=1.0,
                           sigma_y=1.0, seed) -> dict:
    """One data set from the source course's model, for fixed predictors.

    .. math::

        y_i = \\alpha + \\beta_{j[i]} x_i + \\epsilon_i, \\quad \\epsilon_i \\sim N(0, \\sigma_y);
        \\qquad \\beta_j = \\gamma_0 + \\gamma_1 u_j + \\eta_j, \\quad \\eta_j \\sim N(0, \\sigma_b).

    Parameters
    ----------
    design : Design
        Fixed x, u and groups.
    alpha, gamma_0, gamma_1, sigma_b, sigma_y : float
        The true parameters (the study's defaults are all 1).
    seed : int or numpy.random.Generator

    Returns
    -------
    dict
        Stan data for ``varying_slope`` without the prior entries: ``N, J, group,
        x, y, u``, plus the true ``eta`` (shape (J,)) and ``beta`` (shape (J,)).

    Raises
    ------
    ValueError
        ``design`` not a :class:`Design`, a bad parameter or seed (named).
    """
    _check_design(design)
    _check_parameters(locations={"alpha": alpha, "gamma_0": gamma_0, "gamma_1": gamma_1},
                      scales={"sigma_b": sigma_b, "sigma_y": sigma_y})
    rng = _rng(seed)
    eta = rng.normal(0.0, sigma_b, size=design.J)
    beta = gamma_0 + gamma_1 * design.u + eta
    y = alpha + beta[design.group - 1] * design.x + rng.normal(0.0, sigma_y, size=design.N)
    return {"N": design.N, "J": design.J, "group": design.group, "x": design.x, "y": y, "u": design.u,
            "eta": eta, "beta": beta}


def simulate_varying_intercept_slope_u(design: Design, *, gamma_0, gamma, tau, rho, sigma_y, seed) -> dict:
    """One data set from the source course's full model: intercepts and slopes explained by u.

    .. math::

        y_i = \\alpha_{j[i]} + \\beta_{j[i]} x_i + \\epsilon_i, \\quad \\epsilon_i \\sim N(0, \\sigma_y^2);
        \\qquad (\\alpha_j, \\beta_j)' = \\gamma_0 + \\gamma u_j + \\eta_j, \\quad \\eta_j \\sim MVN(0, \\Sigma),

    with :math:`\\Sigma` of sds ``tau`` and correlation ``rho`` (``stan/varying_intercept_slope_u.stan``).

    Parameters
    ----------
    design : Design
        Fixed x, u and groups.
    gamma_0, gamma : pair of float
        (intercept, slope) at u = 0, and their change per unit of u.
    tau : pair of float
        Standard deviations of the intercept and slope effects (> 0).
    rho : float
        Correlation of the two effects, in (-1, 1).
    sigma_y : float
        Standard deviation of the individual-level noise.
    seed : int or numpy.random.Generator

    Returns
    -------
    dict
        Stan data ``N, J, group, x, y, u`` plus the truth: ``eta`` (shape (J, 2)),
        ``alpha`` and ``beta`` (shape (J,)).

    Raises
    ------
    ValueError
        ``design`` not a :class:`Design`, a bad parameter or seed (named).
    """
    _check_design(design)
    pairs = {}
    for name, value in (("gamma_0", gamma_0), ("gamma", gamma), ("tau", tau)):
        try:
            pair = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            pair = np.full(1, np.nan)
        if pair.shape != (2,) or not np.all(np.isfinite(pair)):
            raise ValueError(f"{name} must be a pair of finite numbers (intercept, slope); got {value!r}")
        pairs[name] = pair
    if np.any(pairs["tau"] <= 0):
        raise ValueError(f"tau must be positive; got {tau!r}")
    _check_parameters(locations={"rho": rho}, scales={"sigma_y": sigma_y})
    if not -1 < rho < 1:
        raise ValueError(f"rho must lie in (-1, 1); got {rho!r}")
    rng = _rng(seed)
    t = pairs["tau"]
    cov = np.array([[t[0] ** 2, rho * t[0] * t[1]], [rho * t[0] * t[1], t[1] ** 2]])
    eta = rng.multivariate_normal([0.0, 0.0], cov, size=design.J)
    effects = pairs["gamma_0"] + np.outer(design.u, pairs["gamma"]) + eta     # (J, 2)
    alpha, beta = effects[:, 0], effects[:, 1]
    j = design.group - 1
    y = alpha[j] + beta[j] * design.x + rng.normal(0.0, sigma_y, size=design.N)
    return {"N": design.N, "J": design.J, "group": design.group, "x": design.x, "y": y, "u": design.u,
            "eta": eta, "alpha": alpha, "beta": beta}


def simulate_varying_intercept(sizes, *, mu_alpha, sigma_alpha, sigma_y, seed) -> dict:
    """Groups of the given sizes from y_i ~ N(alpha_j[i], sigma_y), alpha_j ~ N(mu_alpha, sigma_alpha).

    Parameters
    ----------
    sizes : array_like of int, shape (J,)
        Individuals per group.
    mu_alpha : float
        Mean of the group intercepts.
    sigma_alpha, sigma_y : float
        Sds of the intercepts and of the noise, > 0.
    seed : int or numpy.random.Generator
        An int >= 0 or a generator; None is rejected.

    Returns
    -------
    dict
        ``N, J, group`` (1-based), ``y`` (shape (N,)) and the true ``alpha`` (shape (J,)).

    Raises
    ------
    ValueError
        As for :func:`draw_design`.
    """
    sizes = group_sizes(sizes)
    _check_parameters(locations={"mu_alpha": mu_alpha}, scales={"sigma_alpha": sigma_alpha, "sigma_y": sigma_y})
    rng = _rng(seed)
    alpha = rng.normal(mu_alpha, sigma_alpha, size=sizes.size)
    group = np.repeat(np.arange(1, sizes.size + 1), sizes)
    y = rng.normal(alpha[group - 1], sigma_y)
    return {"N": group.size, "J": sizes.size, "group": group, "y": y, "alpha": alpha}


def simulate_varying_intercept_slope(sizes, *, mu_alpha, mu_beta, sigma_alpha, sigma_beta, rho, sigma_y,
                                     x_prob=0.5, seed) -> dict:
    """Groups from the model of ``varying_intercept_slope.stan`` with a binary predictor.

    (alpha_j, beta_j) are bivariate normal with means (mu_alpha, mu_beta), sds
    (sigma_alpha, sigma_beta) and correlation rho; x_i ~ Bernoulli(x_prob), like
    the GCSE data's indicator of a female student.

    Parameters
    ----------
    sizes : array_like of int, shape (J,)
        Individuals per group.
    mu_alpha, mu_beta : float
        Means of the group intercepts and slopes.
    sigma_alpha, sigma_beta : float
        Their sds, > 0.
    rho : float
        Their correlation, in (-1, 1).
    sigma_y : float
        Sd of the noise, > 0.
    x_prob : float
        P(x_i = 1), in [0, 1].
    seed : int or numpy.random.Generator
        An int >= 0 or a generator; None is rejected.

    Returns
    -------
    dict
        ``N, J, group`` (1-based), ``x``, ``y`` (shape (N,)) and the true
        ``alpha``, ``beta`` (shape (J,)).

    Raises
    ------
    ValueError
        As for :func:`draw_design`, or ``rho`` outside (-1, 1) or ``x_prob``
        outside [0, 1].
    """
    sizes = group_sizes(sizes)
    _check_parameters(locations={"rho": rho})
    if not -1 < rho < 1:
        raise ValueError(f"rho must lie in (-1, 1); got {rho!r}")
    _check_parameters(locations={"mu_alpha": mu_alpha, "mu_beta": mu_beta},
                      scales={"sigma_alpha": sigma_alpha, "sigma_beta": sigma_beta, "sigma_y": sigma_y})
    if not 0 <= x_prob <= 1:
        raise ValueError(f"x_prob must lie in [0, 1]; got {x_prob!r}")
    rng = _rng(seed)
    cov = np.array([[sigma_alpha**2, rho * sigma_alpha * sigma_beta],
                    [rho * sigma_alpha * sigma_beta, sigma_beta**2]])
    effects = rng.multivariate_normal([mu_alpha, mu_beta], cov, size=sizes.size)
    group = np.repeat(np.arange(1, sizes.size + 1), sizes)
    x = rng.binomial(1, x_prob, size=group.size).astype(float)
    alpha, beta = effects[:, 0], effects[:, 1]
    y = alpha[group - 1] + beta[group - 1] * x + rng.normal(0.0, sigma_y, size=group.size)
    return {"N": group.size, "J": sizes.size, "group": group, "x": x, "y": y, "alpha": alpha, "beta": beta}
