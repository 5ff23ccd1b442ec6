"""Maximum likelihood and empirical Bayes for the GCSE model (lme4's ``lmer(..., REML = FALSE)``).

:func:`fit_ml` (statsmodels' MixedLM, tuned to reach lme4's optimum: see
:mod:`bhm.gcse`), :func:`fit_ml_profiled` (the profiled likelihood as lme4
maximises it, reaching boundary estimates), :func:`empirical_bayes` and
:func:`compare_schools_eb` (the schools' conditional distributions at the
estimates), and the conditional means given hyperparameters,
:func:`conditional_effects` and :func:`mean_weights`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bhm.gcse.cells import _cells, _model_data, cell_statistics

#: Options passed to ``statsmodels`` ``MixedLM.fit`` (see the module docstring).
ML_FIT_OPTIONS = {"reml": False, "method": ["bfgs", "cg"], "gtol": 1e-8, "maxiter": 1000}


@dataclass(frozen=True)
class MLFit:
    """Maximum-likelihood estimates of ``course ~ 1 + female + (1 + female | school)``.

    Attributes
    ----------
    fixed : pandas.Series, shape (2,)
        Fixed effects, index ``["intercept", "female"]``: the mean coursework
        score of boys, and the mean difference girls minus boys.
    fixed_se : pandas.Series, shape (2,)
        Their standard errors (lme4's, conditional on the covariance
        parameters), same index.
    sd : pandas.Series, shape (3,)
        Standard deviations, index ``["intercept", "female", "residual"]``:
        of the schools' intercepts, of their female effects, and of the
        students' residuals.
    corr : float
        Correlation of a school's intercept and female effect.
    blups : pandas.DataFrame, shape (n_groups, 2)
        Predicted random effects (deviations from the fixed effects), index
        the school IDs (str, sorted), columns ``["intercept", "female"]``
        (the names of ``fixed``, as lme4 names them).
    loglik : float
        The maximised log-likelihood (ML, with all constants).
    n_obs : int
        Number of students used (rows with a coursework score).
    n_groups : int
        Number of schools.
    cov_re : numpy.ndarray, shape (2, 2), optional
        The estimated covariance matrix of (intercept, female) across schools.
        Unlike ``sd`` and ``corr`` it stays defined when the fit is singular
        (an SD at zero).
    reml : bool
        True if the variance parameters were estimated by REML, not ML.
    singular : bool
        True if ``cov_re`` is singular (an SD at zero, or the correlation at
        +-1): the estimate sits on the boundary of the parameter space,
        lme4's "boundary (singular) fit".
    """

    fixed: pd.Series
    fixed_se: pd.Series
    sd: pd.Series
    corr: float
    blups: pd.DataFrame
    loglik: float
    n_obs: int
    n_groups: int
    cov_re: np.ndarray | None = None
    reml: bool = False
    singular: bool = False


def fit_ml(df: pd.DataFrame, *, reml: bool = False) -> MLFit:
    """Fit ``course ~ 1 + female + (1 + female | school)`` by maximum likelihood (or REML).

    Parameters
    ----------
    df : pandas.DataFrame, shape (n, k)
        Needs the columns ``school``, ``course`` and either ``female`` (0/1)
        or ``gender`` (``"M"``/``"F"``), e.g. the output of
        :func:`bhm.data.load_gcse` or :func:`bhm.data.complete_course`.
        Rows with a missing ``course`` are left out, as lme4 does.
    reml : bool
        Estimate the variance parameters by restricted maximum likelihood
        (lme4's default, ``REML = TRUE``) instead of ML. The fixed effects are
        then the GLS estimates at the REML variances, their standard errors
        conditional on those, and ``loglik`` is statsmodels' REML criterion.

    Returns
    -------
    MLFit
        Estimates, standard errors, random-effect SDs and correlation, the
        73 schools' predicted random effects (shape (73, 2) for the full
        data) and the log-likelihood.

    Raises
    ------
    ValueError
        If a needed column is missing (the message names it), or ``female``
        is not 0/1, or there are fewer than two schools.

    Warns
    -----
    statsmodels.tools.sm_exceptions.ConvergenceWarning
        If statsmodels reports that the optimiser did not converge.

    Notes
    -----
    statsmodels ``MixedLM`` with :data:`ML_FIT_OPTIONS`; see the module
    docstring for why BFGS with ``gtol=1e-8``, and for the standard errors.
    On the GCSE data it reproduces lme4: intercept 69.425 (SE 1.352), female
    7.128 (SE 1.131), SDs 10.146 and 6.924, residual SD 13.030,
    correlation -0.52, log-likelihood -6985.72. With ``reml=True``: SDs
    10.242 and 7.023. Near the boundary (an SD near zero, a correlation
    near +-1, as in small subsamples of schools) statsmodels' optimiser may
    stop short and warn; :func:`fit_ml_profiled` handles that case.
    """
    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    data = _model_data(df)
    model = smf.mixedlm("course ~ female", data, groups="school", re_formula="~female")
    result = model.fit(**(ML_FIT_OPTIONS | {"reml": bool(reml)}))
    if not result.converged:
        warnings.warn("fit_ml: statsmodels MixedLM did not converge", ConvergenceWarning, stacklevel=2)

    names = ["intercept", "female"]
    hessian, _ = model.hessian(result.params_object)
    k = len(names)
    fixed_cov = np.linalg.inv(-hessian[:k, :k])  # = sigma^2 (X' V^-1 X)^-1, lme4's vcov
    cov_re = np.asarray(result.cov_re, dtype=float)
    sd_re = np.sqrt(np.diag(cov_re))
    blups = pd.DataFrame.from_dict(
        {str(g): np.asarray(v, dtype=float) for g, v in result.random_effects.items()},
        orient="index",
        columns=["intercept", "female"],
    ).sort_index()
    blups.index.name = "school"
    return MLFit(
        fixed=pd.Series(np.asarray(result.fe_params, dtype=float), index=names),
        fixed_se=pd.Series(np.sqrt(np.diag(fixed_cov)), index=names),
        sd=pd.Series([sd_re[0], sd_re[1], float(np.sqrt(result.scale))], index=names + ["residual"]),
        corr=float(cov_re[0, 1] / (sd_re[0] * sd_re[1])),
        blups=blups,
        loglik=float(result.llf),
        n_obs=int(result.nobs),
        n_groups=len(blups),
        cov_re=cov_re,
        reml=bool(reml),
        singular=bool(np.linalg.eigvalsh(cov_re)[0] <= 1e-8 * max(np.trace(cov_re), 1e-300)),
    )


def conditional_effects(df: pd.DataFrame, *, mu, tau, rho: float, sigma_y: float) -> pd.DataFrame:
    """Each school's posterior mean of (alpha_j, beta_j) given the hyperparameters.

    Chapter 1's conjugate normal update in two dimensions, the one
    ``stan/gcse_marginal.stan`` draws from: over the school's cells c, with
    z_c = (1, x_c), the precision is Q = Sigma^-1 + sum_c (n_c / sigma_y^2) z_c z_c'
    and the mean Q^-1 (Sigma^-1 mu + sum_c (s_c / sigma_y^2) z_c). At the ML
    estimates these are the BLUPs (plus the fixed effects).

    Parameters
    ----------
    df : pandas.DataFrame
        As for :func:`cell_statistics`.
    mu : pair of float
        (mu_alpha, mu_beta), points.
    tau : pair of float
        (sigma_alpha, sigma_beta), points, both > 0.
    rho : float
        Their correlation, in (-1, 1).
    sigma_y : float
        Residual sd, points, > 0.

    Returns
    -------
    pandas.DataFrame, shape (J, 2)
        Indexed by school ID (sorted), columns ``intercept`` and ``female``
        (points; the names of :attr:`MLFit.fixed`).

    Raises
    ------
    ValueError
        Bad data (see :func:`~bhm.gcse.cells.cell_statistics`), ``mu`` or
        ``tau`` not a finite pair (``tau`` > 0), ``rho`` outside (-1, 1) or
        ``sigma_y`` not > 0.
    """
    mu, tau = np.asarray(mu, dtype=float), np.asarray(tau, dtype=float)
    if mu.shape != (2,) or tau.shape != (2,) or not (np.all(np.isfinite(mu)) and np.all(tau > 0)):
        raise ValueError(f"conditional_effects: mu must be a finite pair and tau a pair > 0; got {mu!r}, {tau!r}")
    if not (-1 < rho < 1) or not (np.isfinite(sigma_y) and sigma_y > 0):
        raise ValueError(f"conditional_effects: rho must be in (-1, 1) and sigma_y > 0; got {rho!r}, {sigma_y!r}")
    cells = cell_statistics(df)
    sigma = np.array([[tau[0] ** 2, rho * tau[0] * tau[1]], [rho * tau[0] * tau[1], tau[1] ** 2]])
    prior_precision = np.linalg.inv(sigma)
    rows = {}
    for school, mine in cells.groupby("school_id", sort=True):
        z = np.column_stack([np.ones(len(mine)), mine["x"].to_numpy()])
        precision = prior_precision + (z.T * mine["n"].to_numpy()) @ z / sigma_y**2
        weighted = prior_precision @ mu + z.T @ mine["s"].to_numpy() / sigma_y**2
        rows[school] = np.linalg.solve(precision, weighted)
    return pd.DataFrame.from_dict(rows, orient="index", columns=["intercept", "female"]).rename_axis("school")


def _school_moments(df: pd.DataFrame, caller: str):
    """Per school, M_j = sum_c n_c z_c z_c' (J, 2, 2) and b_j = sum_c s_c z_c (J, 2); and sum y^2, N."""
    cells = _cells(df, caller)
    schools = sorted(cells["school_id"].unique())
    index = cells["school"].to_numpy() - 1
    z = np.column_stack([np.ones(len(cells)), cells["x"].to_numpy()])
    n = cells["n"].to_numpy(dtype=float)
    s = cells["s"].to_numpy(dtype=float)
    M = np.zeros((len(schools), 2, 2))
    np.add.at(M, index, n[:, None, None] * z[:, :, None] * z[:, None, :])
    b = np.zeros((len(schools), 2))
    np.add.at(b, index, s[:, None] * z)
    return schools, M, b, float(cells["ss"].sum()), int(n.sum())


def _gls(G: np.ndarray, M: np.ndarray, b: np.ndarray):
    """The pieces of the marginal likelihood at relative covariance G = Sigma / sigma_y^2.

    With A_j = Z_j G Z_j' + diag(1 / n_c) (the covariance of school j's cell
    means over sigma_y^2), D_j = diag(n_c) and K_j = (I + G M_j)^{-1}, the
    push-through identity A_j^{-1} = D_j - D_j Z_j K_j G Z_j' D_j gives, without
    inverting G (which may be singular):
      Z_j' A_j^{-1} Z_j = M_j - M_j K_j G M_j,   Z_j' A_j^{-1} ybar_j = b_j - M_j K_j G b_j,
      ybar_j' A_j^{-1} ybar_j = sum_c s_c^2 / n_c - b_j' K_j G b_j,
      log det A_j + sum_c log n_c = log det(I + G M_j).
    Returns (ZAZ (J,2,2), ZAy (J,2), bKGb (J,), logdet (J,)).
    """
    G = np.broadcast_to(G, M.shape)                          # one G, or one per school
    KG = np.linalg.solve(np.eye(2) + G @ M, G)                # K_j G, (J, 2, 2)
    MKG = M @ KG
    ZAZ = M - MKG @ M
    ZAy = b - np.einsum("jkl,jl->jk", MKG, b)
    bKGb = np.einsum("jk,jkl,jl->j", b, KG, b)
    logdet = np.linalg.slogdet(np.eye(2) + G @ M)[1]
    return ZAZ, ZAy, bKGb, logdet


def _profiled(theta, M, b, yy, N, reml):
    """-2 x the profiled log-likelihood (or REML criterion) at lme4's theta = (l11, l21, l22)."""
    L = np.array([[theta[0], 0.0], [theta[1], theta[2]]])
    ZAZ, ZAy, bKGb, logdet = _gls(L @ L.T, M, b)
    XtAX, XtAy = ZAZ.sum(axis=0), ZAy.sum(axis=0)
    mu = np.linalg.solve(XtAX, XtAy)
    S = yy - bKGb.sum() - XtAy @ mu                       # sum of squares at the GLS estimate
    dof = N - 2 if reml else N
    dev = dof * (np.log(2 * np.pi * S / dof) + 1) + logdet.sum()
    if reml:
        dev += np.linalg.slogdet(XtAX)[1]
    return dev, mu, S / dof, XtAX


def fit_ml_profiled(df: pd.DataFrame, *, reml: bool = False) -> MLFit:
    """Fit the GCSE model by ML (or REML) as lme4 does, reaching boundary estimates.

    The same likelihood as :func:`fit_ml`, maximised the way lme4 maximises
    it: the fixed effects (by GLS) and sigma_y are profiled out in closed
    form, and the remaining three parameters are those of the lower-triangular
    factor Lambda of the relative covariance, Sigma = sigma_y^2 Lambda
    Lambda', with its diagonal bounded below by zero (L-BFGS-B). An SD at
    zero or a correlation of +-1 is then an ordinary point of the search, so
    the optimiser converges to it where statsmodels' MixedLM (which
    optimises a Cholesky factor without bounds) stops short with a
    convergence warning. The likelihood is evaluated from the cells'
    sufficient statistics (:func:`cell_statistics`), without inverting Sigma.

    Parameters
    ----------
    df : pandas.DataFrame
        As for :func:`cell_statistics`; at least two schools.
    reml : bool
        Restricted maximum likelihood instead of ML.

    Returns
    -------
    MLFit
        As :func:`fit_ml`; ``corr`` is NaN when an SD is zero, ``cov_re`` is
        always set, ``singular`` is True when a diagonal entry of Lambda is
        below 1e-4 (lme4's ``isSingular`` tolerance), and ``loglik`` is the
        maximised log-likelihood (ML) or REML criterion, with all constants.
        The BLUPs are the empirical-Bayes means of :func:`empirical_bayes`
        minus the fixed effects.

    Raises
    ------
    ValueError
        Bad data (see :func:`cell_statistics`).
    """
    from scipy import optimize

    schools, M, b, yy, N = _school_moments(df, "fit_ml_profiled")
    best = None
    for start in ((1.0, 0.0, 1.0), (0.5, -0.3, 0.3)):      # lme4's start, and one more
        result = optimize.minimize(lambda t: _profiled(t, M, b, yy, N, reml)[0], np.array(start),
                                   method="L-BFGS-B", bounds=[(0, None), (None, None), (0, None)],
                                   options={"ftol": 1e-14, "gtol": 1e-9, "maxiter": 2000})
        if best is None or result.fun < best.fun:
            best = result
    theta = best.x
    dev, mu, sigma2, XtAX = _profiled(theta, M, b, yy, N, reml)
    L = np.array([[theta[0], 0.0], [theta[1], theta[2]]])
    cov_re = sigma2 * (L @ L.T)
    sd = np.sqrt(np.diag(cov_re))
    corr = float(cov_re[0, 1] / (sd[0] * sd[1])) if np.all(sd > 0) else float("nan")
    names = ["intercept", "female"]
    fit = MLFit(
        fixed=pd.Series(mu, index=names),
        fixed_se=pd.Series(np.sqrt(np.diag(sigma2 * np.linalg.inv(XtAX))), index=names),
        sd=pd.Series([sd[0], sd[1], np.sqrt(sigma2)], index=names + ["residual"]),
        corr=corr, blups=pd.DataFrame(), loglik=float(-dev / 2), n_obs=N, n_groups=len(schools),
        cov_re=cov_re, reml=bool(reml), singular=bool(min(theta[0], theta[2]) < 1e-4),
    )
    eb = empirical_bayes(df, fit)
    blups = pd.DataFrame({"intercept": eb["alpha"] - mu[0], "female": eb["beta"] - mu[1]})
    return MLFit(**(fit.__dict__ | {"blups": blups}))


def _cov_re(fit: MLFit) -> np.ndarray:
    if fit.cov_re is not None:
        return np.asarray(fit.cov_re, dtype=float)
    sa, sb = float(fit.sd["intercept"]), float(fit.sd["female"])
    return np.array([[sa**2, fit.corr * sa * sb], [fit.corr * sa * sb, sb**2]])


def empirical_bayes(df: pd.DataFrame, fit: MLFit, *, residual_sd=None) -> pd.DataFrame:
    """Each school's conditional distribution of (alpha_j, beta_j) given the estimates: empirical Bayes.

    Plug the estimates (mu, Sigma, sigma_y) of ``fit`` in as if they were
    known; then each school's (alpha_j, beta_j) given its data is normal
    (chapter 1's update in two dimensions), and the schools are independent.
    Its mean is the BLUP plus the fixed effects; its covariance is what
    lme4's ``ranef(fit, condVar = TRUE)`` reports. Computed as
    mu + Sigma Z' V^{-1} (ybar - Z mu) and Sigma - Sigma Z' V^{-1} Z Sigma,
    V the covariance of the school's cell means, so a singular Sigma (a
    boundary fit) is allowed.

    Parameters
    ----------
    df : pandas.DataFrame
        As for :func:`cell_statistics`: the data the fit was made on.
    fit : MLFit
        From :func:`fit_ml` or :func:`fit_ml_profiled`.
    residual_sd : pandas.Series, optional
        School ID -> a residual sd (points, > 0) to use for that school's
        cell means instead of the fitted sigma_y: a check of what a school's
        own spread would change. Schools not in it keep sigma_y.

    Returns
    -------
    pandas.DataFrame, shape (J, 5)
        Index the school IDs (sorted); columns ``alpha``, ``beta`` (means,
        points), ``alpha_sd``, ``beta_sd`` (conditional sds) and ``cov``
        (their conditional covariance).

    Raises
    ------
    ValueError
        Bad data, or a fit that is not an :class:`MLFit`.
    """
    if not isinstance(fit, MLFit):
        raise ValueError(f"empirical_bayes: fit must be an MLFit; got {type(fit).__name__}")
    schools, M, b, _, _ = _school_moments(df, "empirical_bayes")
    sigma2 = np.full(len(schools), float(fit.sd["residual"]) ** 2)
    if residual_sd is not None:
        own = pd.Series(residual_sd, dtype=float)
        own.index = own.index.astype(str)
        unknown = sorted(set(own.index) - set(schools))
        if unknown or not np.all(np.isfinite(own.to_numpy())) or not np.all(own.to_numpy() > 0):
            raise ValueError("empirical_bayes: residual_sd must map the data's school IDs to sds > 0"
                             + (f"; unknown: {unknown[:3]}" if unknown else ""))
        position = {school: k for k, school in enumerate(schools)}
        for school, value in own.items():
            sigma2[position[school]] = value**2
    G = _cov_re(fit)[None, :, :] / sigma2[:, None, None]          # (J, 2, 2)
    mu = fit.fixed[["intercept", "female"]].to_numpy(dtype=float)
    ZAZ, ZAy, _, _ = _gls(G, M, b)
    mean = mu + np.einsum("jkl,jl->jk", G, ZAy - ZAZ @ mu)          # mu + G Z'A^{-1}(ybar - Z mu)
    cov = sigma2[:, None, None] * (G - G @ ZAZ @ G)                 # (J, 2, 2)
    return pd.DataFrame({"alpha": mean[:, 0], "beta": mean[:, 1],
                         "alpha_sd": np.sqrt(np.clip(cov[:, 0, 0], 0, None)),
                         "beta_sd": np.sqrt(np.clip(cov[:, 1, 1], 0, None)), "cov": cov[:, 0, 1]},
                        index=pd.Index(schools, name="school"))


def compare_schools_eb(df: pd.DataFrame, fit: MLFit, a: str, b: str, var: str = "alpha", *,
                       prob: float = 0.95, residual_sd=None) -> dict:
    """Empirical Bayes's answer to :func:`compare_schools`: the difference ``var[a] - var[b]``.

    Given the estimates the two schools are independent normals
    (:func:`empirical_bayes`), so the difference is normal with the
    difference of the means and the sum of the variances.

    ``residual_sd`` is passed to :func:`empirical_bayes`.

    Parameters
    ----------
    df : pandas.DataFrame
        As for :func:`empirical_bayes`: the data the fit was made on.
    fit : MLFit
        From :func:`fit_ml` or :func:`fit_ml_profiled`.
    a, b : str
        School IDs.
    var : {"alpha", "beta"}
        The schools' intercepts or gaps.
    prob : float
        Probability of the central interval, in (0, 1).
    residual_sd : pandas.Series, optional
        Passed to :func:`empirical_bayes`.

    Returns
    -------
    dict
        ``mean``, ``sd``, ``lower``, ``upper`` (central ``prob`` interval) and
        ``p_greater`` (the probability that a's value exceeds b's), floats.

    Raises
    ------
    ValueError
        An unknown school, ``var`` not ``"alpha"`` or ``"beta"``, or ``prob``
        outside (0, 1).
    """
    from scipy import stats

    if var not in ("alpha", "beta"):
        raise ValueError(f"compare_schools_eb: var must be 'alpha' or 'beta'; got {var!r}")
    if not 0 < prob < 1:
        raise ValueError(f"prob must be between 0 and 1; got {prob!r}")
    eb = empirical_bayes(df, fit, residual_sd=residual_sd)
    for school in (a, b):
        if str(school) not in eb.index:
            raise ValueError(f"unknown school {school!r}; schools are IDs like {eb.index[0]!r}")
    mean = float(eb.loc[str(a), var] - eb.loc[str(b), var])
    sd = float(np.hypot(eb.loc[str(a), f"{var}_sd"], eb.loc[str(b), f"{var}_sd"]))
    z = stats.norm.ppf(1 - (1 - prob) / 2)
    return {"mean": mean, "sd": sd, "lower": float(mean - z * sd), "upper": float(mean + z * sd),
            "p_greater": float(stats.norm.sf(0, loc=mean, scale=sd)) if sd > 0 else float(mean > 0)}


def mean_weights(df: pd.DataFrame, school: str, *, mu, tau, rho: float, sigma_y: float) -> pd.DataFrame:
    """How a school's conditional mean of (alpha_j, beta_j) weighs its cell means.

    Given the hyperparameters, E[(alpha_j, beta_j) | y] = mu + W (ybar - Z mu)
    with W = Sigma Z' V^{-1}, V = Z Sigma Z' + sigma_y^2 diag(1 / n_c) the
    covariance of the school's cell means ybar, and Z the rows z_c = (1, x_c).
    Row k of W holds the weights of the cells' deviations ybar_c - z_c' mu
    in the k-th effect; weight times deviation is that cell's pull. This is
    the regression of the school's effects on its cell means, which depends
    on all of Sigma and the cell sizes, not on a correlation alone.

    Parameters
    ----------
    df : pandas.DataFrame
        As for :func:`cell_statistics`.
    school : str
        The school ID.
    mu, tau, rho, sigma_y
        As for :func:`conditional_effects`; ``rho`` may be -1 or 1 here, as
        no inverse of Sigma is needed.

    Returns
    -------
    pandas.DataFrame, shape (C_j, 7)
        One row per cell of the school, index ``"boys"`` and/or ``"girls"``;
        columns ``n``, ``mean`` (the cell mean, points), ``deviation`` (from
        its expectation mu_alpha, or mu_alpha + mu_beta for girls),
        ``weight_alpha``, ``pull_alpha``, ``weight_beta``, ``pull_beta``.
        ``mu[0] + pull_alpha.sum()`` is the conditional mean of alpha_j.

    Raises
    ------
    ValueError
        Bad data or parameters, or an unknown school.
    """
    mu, tau = np.asarray(mu, dtype=float), np.asarray(tau, dtype=float)
    if mu.shape != (2,) or tau.shape != (2,) or not (np.all(np.isfinite(mu)) and np.all(tau >= 0)):
        raise ValueError(f"mean_weights: mu must be a finite pair and tau a pair >= 0; got {mu!r}, {tau!r}")
    if not (-1 <= rho <= 1) or not (np.isfinite(sigma_y) and sigma_y > 0):
        raise ValueError(f"mean_weights: rho must be in [-1, 1] and sigma_y > 0; got {rho!r}, {sigma_y!r}")
    cells = _cells(df, "mean_weights")
    mine = cells[cells["school_id"] == str(school)]
    if mine.empty:
        raise ValueError(f"mean_weights: unknown school {school!r}; "
                         f"schools are IDs like {cells['school_id'].iloc[0]!r}")
    sigma = np.array([[tau[0] ** 2, rho * tau[0] * tau[1]], [rho * tau[0] * tau[1], tau[1] ** 2]])
    z = np.column_stack([np.ones(len(mine)), mine["x"].to_numpy()])
    n = mine["n"].to_numpy(dtype=float)
    ybar = mine["s"].to_numpy(dtype=float) / n
    V = z @ sigma @ z.T + sigma_y**2 * np.diag(1 / n)
    W = np.linalg.solve(V, z @ sigma).T                               # Sigma Z' V^-1, (2, C_j)
    deviation = ybar - z @ mu
    return pd.DataFrame({"n": n.astype(int), "mean": ybar, "deviation": deviation,
                         "weight_alpha": W[0], "pull_alpha": W[0] * deviation,
                         "weight_beta": W[1], "pull_beta": W[1] * deviation},
                        index=pd.Index(np.where(mine["x"].to_numpy() == 1, "girls", "boys"), name="cell"))
