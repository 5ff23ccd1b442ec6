"""Maximum-likelihood fit of the GCSE varying-intercept, varying-slope model.

The model, in lme4's notation ``course ~ 1 + female + (1 + female | school)``:

.. math::

    y_{ij} = (\\beta_0 + b_{0j}) + (\\beta_1 + b_{1j})\\,\\mathrm{female}_{ij} + \\varepsilon_{ij},
    \\qquad (b_{0j}, b_{1j})^\\top \\sim \\mathcal N(0, \\Sigma),
    \\qquad \\varepsilon_{ij} \\sim \\mathcal N(0, \\sigma^2),

for student i in school j.  :func:`fit_ml` estimates it by maximum likelihood
(not REML) with statsmodels' ``MixedLM``; it is the non-Bayesian reference
that the book's hierarchical models are compared with.

Two settings make the fit agree with lme4's ``lmer(..., REML = FALSE)``:

- **The optimiser.**  statsmodels' default (BFGS, then L-BFGS and CG as
  fallbacks, gradient tolerance 1e-5) stops about 3e-4 short of the optimum on
  these data: the female effect comes out as 7.12851, which prints as 7.129.
  BFGS with ``gtol=1e-8`` reaches the optimum to about 1e-6 in every
  estimate (checked against an independent, tightly optimised profiled
  likelihood); L-BFGS does not, because statsmodels does not pass its
  tolerances through.  CG is kept as a fallback.
- **The standard errors of the fixed effects.**  statsmodels' ``bse_fe``
  inverts the whole observed information matrix, whose fixed-effect /
  covariance-parameter cross terms are not zero under ML with unbalanced
  groups (1.3535 and 1.1330 here).  lme4 reports the standard errors
  conditional on the covariance parameters, :math:`\\hat\\sigma^2 (X^\\top
  \\hat V^{-1} X)^{-1}`; that is the inverse of the fixed-effect block of
  statsmodels' Hessian, which :func:`fit_ml` uses (1.3523 and 1.1312).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .data import complete_course

__all__ = ["MLFit", "fit_ml", "ML_FIT_OPTIONS", "cell_statistics", "bayes_data", "fit_bayes", "BAYES_PRIORS"]

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
        the school IDs (str, sorted), columns ``["intercept", "slope"]``.
    loglik : float
        The maximised log-likelihood (ML, with all constants).
    n_obs : int
        Number of students used (rows with a coursework score).
    n_groups : int
        Number of schools.
    """

    fixed: pd.Series
    fixed_se: pd.Series
    sd: pd.Series
    corr: float
    blups: pd.DataFrame
    loglik: float
    n_obs: int
    n_groups: int


def _model_data(df: pd.DataFrame, caller: str = "fit_ml") -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{caller}: df must be a pandas DataFrame; got {type(df).__name__}")
    needed = ["school", "course"] + ([] if "female" in df.columns else ["gender"])
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(
            f"{caller}: missing column(s) {', '.join(repr(m) for m in missing)} "
            "(needs school, course, and female or gender)"
        )
    if "female" in df.columns:
        data = df.loc[df["course"].notna(), ["school", "course", "female"]].reset_index(drop=True)
    else:
        data = complete_course(df)[["school", "course", "female"]]
    data["school"] = data["school"].astype(str)
    female = pd.to_numeric(data["female"], errors="coerce")
    if not female.isin([0.0, 1.0]).all():
        raise ValueError(f"{caller}: female must be 0 or 1 in every row with a course score")
    data["female"] = female.astype(float)
    if data["school"].nunique() < 2:
        raise ValueError(f"{caller}: needs at least two schools with a course score")
    return data


def fit_ml(df: pd.DataFrame) -> MLFit:
    """Fit ``course ~ 1 + female + (1 + female | school)`` by maximum likelihood.

    Parameters
    ----------
    df : pandas.DataFrame, shape (n, k)
        Needs the columns ``school``, ``course`` and either ``female`` (0/1)
        or ``gender`` (``"M"``/``"F"``), e.g. the output of
        :func:`bhm.data.load_gcse` or :func:`bhm.data.complete_course`.
        Rows with a missing ``course`` are left out, as lme4 does.

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
    correlation -0.52, log-likelihood -6985.72.
    """
    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    data = _model_data(df)
    model = smf.mixedlm("course ~ female", data, groups="school", re_formula="~female")
    result = model.fit(**ML_FIT_OPTIONS)
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
        columns=["intercept", "slope"],
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
    )


# --------------------------------------------------------------------------- Bayes
#: Default priors of :func:`bayes_data`, in the data's units (coursework score, points out of 100).
BAYES_PRIORS = {
    # mu_alpha ~ N(50, 25): the boys' mean score somewhere on the 0-100 scale;
    # +-2 sd spans the whole scale, so the prior says only "a score".
    # mu_beta ~ N(0, 10): no gender gap expected a priori; a mean gap beyond
    # +-20 points (2 sd) would be a fifth of the scale, implausible but allowed.
    "mu_loc": (50.0, 0.0),
    "mu_scale": (25.0, 10.0),
    # sigma_alpha, sigma_beta ~ half-N(0, 20): schools' mean scores and gaps
    # differ by some points to tens of points; 20 puts 95% below 39 points.
    "tau_scale": (20.0, 20.0),
    # sigma_y ~ half-N(0, 20): a score bounded in [0, 100] has sd at most 50;
    # 20 puts 99% below 52.
    "sigma_scale": 20.0,
    # LKJ(2) on the intercept-slope correlation: mildly favours small
    # correlations, density zero at +-1 (as in varying_intercept_slope.stan).
    "lkj_eta": 2.0,
}


def cell_statistics(df: pd.DataFrame) -> pd.DataFrame:
    """Sufficient statistics of each school-by-gender cell.

    Parameters
    ----------
    df : pandas.DataFrame, shape (n, k)
        Needs the columns ``school``, ``course`` and ``female`` (0/1), e.g.
        the output of :func:`bhm.data.complete_course`; with ``gender``
        (``"M"``/``"F"``) instead of ``female`` it goes through
        :func:`~bhm.data.complete_course` first. Rows with a missing
        ``course`` are left out.

    Returns
    -------
    pandas.DataFrame, shape (C, 6)
        One row per cell that has students, sorted by school ID (as str) and
        then ``x``, with columns ``school_id`` (str), ``school`` (int, 1..J in
        sorted school-ID order), ``x`` (float 0/1, female), ``n`` (int,
        students), ``s`` (sum of ``course``) and ``ss`` (sum of squares of
        ``course``). C = 145 for the GCSE data (73 schools; one has students
        of one gender only).

    Raises
    ------
    ValueError
        If a needed column is missing (the message names it), ``female`` is
        not 0/1, or there are fewer than two schools.
    """
    data = _model_data(df, "cell_statistics")
    schools = sorted(data["school"].unique())
    data["y2"] = data["course"] ** 2
    cells = (
        data.groupby(["school", "female"], sort=True)
        .agg(n=("course", "size"), s=("course", "sum"), ss=("y2", "sum"))
        .reset_index()
        .rename(columns={"school": "school_id", "female": "x"})
    )
    cells.insert(1, "school", cells["school_id"].map({sid: j for j, sid in enumerate(schools, 1)}).astype(int))
    cells["x"] = cells["x"].astype(float)
    cells["n"] = cells["n"].astype(int)
    return cells[["school_id", "school", "x", "n", "s", "ss"]].reset_index(drop=True)


def bayes_data(
    df: pd.DataFrame,
    *,
    mu_loc=BAYES_PRIORS["mu_loc"],
    mu_scale=BAYES_PRIORS["mu_scale"],
    tau_scale=BAYES_PRIORS["tau_scale"],
    sigma_scale=BAYES_PRIORS["sigma_scale"],
    lkj_eta=BAYES_PRIORS["lkj_eta"],
) -> dict:
    """The data dict of ``stan/gcse_cells.stan`` for the GCSE model.

    Parameters
    ----------
    df : pandas.DataFrame
        As for :func:`cell_statistics`.
    mu_loc, mu_scale : pair of float
        Prior means and sds of ``mu_alpha`` (boys' mean score) and ``mu_beta``
        (mean gap girls minus boys), in score points.
    tau_scale : pair of float
        Half-normal scales of the SDs of the schools' intercepts and gaps.
    sigma_scale : float
        Half-normal scale of the residual SD.
    lkj_eta : float
        LKJ shape of the prior on the intercept-gap correlation.

    Defaults are :data:`BAYES_PRIORS` (each justified there).

    Returns
    -------
    dict
        Keys ``C, J, school, x, n, s, ss, mu_loc, mu_scale, tau_scale,
        sigma_scale, lkj_eta``; arrays as numpy arrays.

    Raises
    ------
    ValueError
        Bad data (see :func:`cell_statistics`), or a prior of the wrong shape,
        not finite, or a scale that is not positive.
    """
    cells = cell_statistics(df)
    priors = {}
    for key, value, size in (("mu_loc", mu_loc, 2), ("mu_scale", mu_scale, 2), ("tau_scale", tau_scale, 2),
                             ("sigma_scale", sigma_scale, 0), ("lkj_eta", lkj_eta, 0)):
        try:
            array = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"bayes_data: {key} must be numeric; got {value!r}") from None
        if array.shape != ((size,) if size else ()):
            raise ValueError(f"bayes_data: {key} must be {'a pair of numbers' if size else 'a number'}; got {value!r}")
        if not np.all(np.isfinite(array)) or (key != "mu_loc" and not np.all(array > 0)):
            raise ValueError(f"bayes_data: {key} must be finite{'' if key == 'mu_loc' else ' and > 0'}; got {value!r}")
        priors[key] = array if size else float(array)
    return {
        "C": len(cells),
        "J": int(cells["school"].max()),
        "school": cells["school"].to_numpy(),
        "x": cells["x"].to_numpy(),
        "n": cells["n"].to_numpy(dtype=float),
        "s": cells["s"].to_numpy(),
        "ss": cells["ss"].to_numpy(),
        **priors,
    }


def fit_bayes(df: pd.DataFrame, *, seed: int, **options):
    """Sample the Bayesian GCSE model with ``stan/gcse_cells.stan``.

    Parameters
    ----------
    df : pandas.DataFrame
        As for :func:`cell_statistics`.
    seed : int
        Random seed of the sampler.
    **options
        Priors (``mu_loc``, ``mu_scale``, ``tau_scale``, ``sigma_scale``,
        ``lkj_eta``; see :func:`bayes_data`) and options of
        :func:`bhm.stan.sample` (``chains``, ``draws``, ``warmup``,
        ``adapt_delta``, ...).

    Returns
    -------
    arviz.InferenceData
        Posterior of ``mu_alpha``, ``mu_beta``, ``sigma_alpha``,
        ``sigma_beta``, ``sigma_y``, ``rho``, and the schools' ``alpha`` and
        ``beta`` (dimension ``school``, coordinates the school IDs in sorted
        order).
    """
    from . import stan

    priors = {key: options.pop(key) for key in list(options) if key in BAYES_PRIORS}
    data = bayes_data(df, **priors)
    schools = sorted(_model_data(df, "fit_bayes")["school"].unique())
    options.setdefault("coords", {"school": schools})
    options.setdefault("dims", {"alpha": ["school"], "beta": ["school"]})
    return stan.sample("gcse_cells", data, seed=seed, **options)
