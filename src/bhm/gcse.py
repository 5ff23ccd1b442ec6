"""The GCSE varying-intercept, varying-slope model: maximum likelihood, Bayes, and chapter 6's summaries.

The model, in lme4's notation ``course ~ 1 + female + (1 + female | school)``:

.. math::

    y_{ij} = (\\beta_0 + b_{0j}) + (\\beta_1 + b_{1j})\\,\\mathrm{female}_{ij} + \\varepsilon_{ij},
    \\qquad (b_{0j}, b_{1j})^\\top \\sim \\mathcal N(0, \\Sigma),
    \\qquad \\varepsilon_{ij} \\sim \\mathcal N(0, \\sigma^2),

for student i in school j.  :func:`fit_ml` estimates it by maximum likelihood
(not REML) with statsmodels' ``MixedLM``; it is the non-Bayesian reference
that the book's hierarchical models are compared with.  :func:`fit_bayes`
samples its Bayesian version in Stan (``stan/gcse_marginal.stan``), and the
rest of the module summarises that posterior for chapter 6.

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

__all__ = ["MLFit", "fit_ml", "ML_FIT_OPTIONS", "cell_statistics", "bayes_data", "fit_bayes", "BAYES_PRIORS",
           "BAYES_PROGRAMS",
           "conditional_effects", "school_summary", "rank_draws", "compare_schools", "pooling_lines",
           "shrinkage_table",
           "comparison_table"]

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


#: The Stan programs :func:`fit_bayes` can use: the same posterior, two parameterisations.
BAYES_PROGRAMS = ("gcse_marginal", "gcse_cells")


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
    """The data dict of ``stan/gcse_marginal.stan`` (and ``stan/gcse_cells.stan``) for the GCSE model.

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


def fit_bayes(df: pd.DataFrame, *, seed: int, program: str = "gcse_marginal", **options):
    """Sample the Bayesian GCSE model with ``stan/gcse_marginal.stan``.

    NUTS explores the six hyperparameters with the school effects integrated
    out; each draw then gets the schools' ``alpha`` and ``beta`` from their
    exact conditional posterior (the program's header derives both steps).

    Parameters
    ----------
    df : pandas.DataFrame
        As for :func:`cell_statistics`.
    seed : int
        Random seed of the sampler.
    program : {"gcse_marginal", "gcse_cells"}
        The Stan program. ``"gcse_cells"`` samples the same posterior with the
        school effects as parameters (non-centred): slower, kept to check the
        marginal program against and for benchmarks/gcse.py.
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

    Raises
    ------
    ValueError
        An unknown program, or bad data or priors (see :func:`bayes_data`).
    """
    from . import stan

    if program not in BAYES_PROGRAMS:
        raise ValueError(f"fit_bayes: unknown program {program!r}; choose one of {', '.join(BAYES_PROGRAMS)}")
    priors = {key: options.pop(key) for key in list(options) if key in BAYES_PRIORS}
    data = bayes_data(df, **priors)
    schools = sorted(_model_data(df, "fit_bayes")["school"].unique())
    options.setdefault("coords", {"school": schools})
    options.setdefault("dims", {"alpha": ["school"], "beta": ["school"]})
    return stan.sample(program, data, seed=seed, **options)


# --------------------------------------------------------------------------- chapter 6's summaries
def _draws(idata, var: str) -> np.ndarray:
    """Posterior draws of a school-level variable, shape (chains * draws, J), and its school IDs."""
    post = getattr(idata, "posterior", None)
    if post is None or var not in post:
        known = ", ".join(post.data_vars) if post is not None else "none (not an InferenceData with a posterior)"
        raise ValueError(f"no posterior variable {var!r}; known: {known}")
    values = post[var]
    if "school" not in values.dims:
        raise ValueError(f"posterior variable {var!r} has no 'school' dimension (dims {values.dims})")
    stacked = values.stack(sample=("chain", "draw")).transpose("sample", "school")
    return stacked.values, [str(s) for s in values["school"].values]


def school_summary(idata, var: str = "alpha", *, prob: float = 0.95) -> pd.DataFrame:
    """Posterior mean, central interval and mean rank of each school's intercept (or slope).

    Parameters
    ----------
    idata : arviz.InferenceData
        From :func:`fit_bayes` (posterior variables with a ``school`` dimension).
    var : {"alpha", "beta"}
        The schools' intercepts (boys' mean score) or slopes (girls minus boys).
    prob : float
        Probability of the central interval.

    Returns
    -------
    pandas.DataFrame, shape (J, 5)
        Index the school IDs, sorted by posterior mean (lowest first); columns
        ``mean``, ``lower``, ``upper`` (interval bounds), ``rank_mean`` (the
        posterior mean of the school's rank, 1 = highest) and ``position``
        (1..J, the school's place in the sorted order).
    """
    if not 0 < prob < 1:
        raise ValueError(f"prob must be between 0 and 1; got {prob!r}")
    draws, schools = _draws(idata, var)
    tail = (1 - prob) / 2
    table = pd.DataFrame({
        "mean": draws.mean(axis=0),
        "lower": np.quantile(draws, tail, axis=0),
        "upper": np.quantile(draws, 1 - tail, axis=0),
        "rank_mean": rank_draws(idata, var).mean(axis=0),
    }, index=pd.Index(schools, name="school")).sort_values("mean")
    table["position"] = np.arange(1, len(table) + 1)
    return table


def rank_draws(idata, var: str = "alpha") -> np.ndarray:
    """Each school's rank in every posterior draw, 1 = highest value.

    Returns
    -------
    numpy.ndarray of int, shape (chains * draws, J)
        Columns in the posterior's school order (sorted school IDs).
    """
    draws, _ = _draws(idata, var)
    order = np.argsort(-draws, axis=1, kind="stable")
    ranks = np.empty_like(order)
    rows = np.arange(draws.shape[0])[:, None]
    ranks[rows, order] = np.arange(1, draws.shape[1] + 1)
    return ranks


def compare_schools(idata, a: str, b: str, var: str = "alpha", *, prob: float = 0.95) -> dict:
    """Posterior of the difference ``var[a] - var[b]`` between two schools.

    Returns
    -------
    dict
        ``mean``, ``sd``, ``lower``, ``upper`` (central ``prob`` interval),
        ``p_greater`` (posterior probability that a's value exceeds b's) and
        ``mcse_p`` (its Monte Carlo standard error, from the bulk ESS of the
        indicator), all floats.
    """
    import arviz as az

    if not 0 < prob < 1:
        raise ValueError(f"prob must be between 0 and 1; got {prob!r}")
    _, schools = _draws(idata, var)       # validates idata and var
    values = idata.posterior[var]
    for school in (a, b):
        if str(school) not in schools:
            raise ValueError(f"unknown school {school!r}; schools are IDs like {schools[0]!r}")
    diff = (values.sel(school=str(a)) - values.sel(school=str(b))).values  # (chain, draw)
    greater = (diff > 0).astype(float)
    tail = (1 - prob) / 2
    p = float(greater.mean())
    ess = float(az.ess(greater, method="mean")) if 0 < p < 1 else float(greater.size)
    return {"mean": float(diff.mean()), "sd": float(diff.std(ddof=1)),
            "lower": float(np.quantile(diff, tail)), "upper": float(np.quantile(diff, 1 - tail)),
            "p_greater": p, "mcse_p": float(np.sqrt(p * (1 - p) / ess))}


def pooling_lines(df: pd.DataFrame, idata) -> pd.DataFrame:
    """Each school's line ``score = intercept + slope * female`` under three kinds of pooling.

    Parameters
    ----------
    df : pandas.DataFrame
        As for :func:`cell_statistics`.
    idata : arviz.InferenceData
        From :func:`fit_bayes` on the same data.

    Returns
    -------
    pandas.DataFrame, shape (J, 8)
        Index the school IDs (sorted); columns ``n_boys``, ``n_girls``;
        ``complete_intercept``, ``complete_slope`` (one least-squares line
        through all students, the same in every row); ``none_intercept``,
        ``none_slope`` (the school's own boys' mean and girls-minus-boys gap,
        NaN where the school has students of one gender only); and
        ``partial_intercept``, ``partial_slope`` (posterior means of
        ``alpha_j`` and ``beta_j``).
    """
    cells = cell_statistics(df)
    alpha, schools = _draws(idata, "alpha")
    beta, _ = _draws(idata, "beta")
    wide = cells.pivot(index="school_id", columns="x", values=["n", "s"])
    if sorted(wide.index) != schools:
        raise ValueError("idata's schools differ from the data's: fit the model on the same data")
    n_boys = wide[("n", 0.0)].fillna(0).astype(int)
    n_girls = wide[("n", 1.0)].fillna(0).astype(int)
    mean_boys = wide[("s", 0.0)] / wide[("n", 0.0)]
    mean_girls = wide[("s", 1.0)] / wide[("n", 1.0)]
    # complete pooling: least squares of score on female over all students = the two genders' means
    boys, girls = cells[cells["x"] == 0], cells[cells["x"] == 1]
    pooled_boys = boys["s"].sum() / boys["n"].sum()
    pooled_gap = girls["s"].sum() / girls["n"].sum() - pooled_boys
    table = pd.DataFrame({
        "n_boys": n_boys, "n_girls": n_girls,
        "complete_intercept": pooled_boys, "complete_slope": pooled_gap,
        "none_intercept": mean_boys, "none_slope": mean_girls - mean_boys,
        "partial_intercept": alpha.mean(axis=0), "partial_slope": beta.mean(axis=0),
    }, index=pd.Index(schools, name="school"))
    return table


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
    pandas.DataFrame
        Indexed by school ID (sorted), columns ``intercept`` and ``slope`` (points).
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
    return pd.DataFrame.from_dict(rows, orient="index", columns=["intercept", "slope"]).rename_axis("school")


def shrinkage_table(df: pd.DataFrame, ml: MLFit, idata) -> pd.DataFrame:
    """Boys' mean score per school: its own mean, the ML prediction, the posterior mean, and how far each moved.

    Parameters
    ----------
    df : pandas.DataFrame
        As for :func:`cell_statistics`.
    ml : MLFit
        From :func:`fit_ml` on the same data.
    idata : arviz.InferenceData
        From :func:`fit_bayes` on the same data.

    Returns
    -------
    pandas.DataFrame, shape (J, 6)
        Index the school IDs (sorted); columns ``n_boys``, ``own_mean``
        (the school's boys' mean: no pooling), ``ml`` (the ML fixed intercept
        plus the school's BLUP), ``bayes`` (posterior mean of ``alpha_j``),
        ``weight`` (chapter 1's weight on the data,
        ``n / sigma_y^2 / (n / sigma_y^2 + 1 / sigma_alpha^2)``, with the ML
        SDs and ``n`` the school's boys) and ``share`` (how far the posterior
        mean sits from the overall mean toward the school's own mean:
        ``(bayes - mu_alpha) / (own_mean - mu_alpha)``, with the posterior
        mean of ``mu_alpha``).
    """
    from .conjugate import posterior_weight

    lines = pooling_lines(df, idata)
    mu_alpha = float(idata.posterior["mu_alpha"].mean())
    n_boys = lines["n_boys"].to_numpy(dtype=float)
    weight = np.full(n_boys.shape, np.nan)
    has_boys = n_boys > 0
    weight[has_boys] = posterior_weight(n_boys[has_boys], sigma=float(ml.sd["residual"]),
                                        sigma0=float(ml.sd["intercept"]))
    return pd.DataFrame({
        "n_boys": lines["n_boys"],
        "own_mean": lines["none_intercept"],
        "ml": ml.fixed["intercept"] + ml.blups["intercept"].reindex(lines.index),
        "bayes": lines["partial_intercept"],
        "weight": weight,
        "share": (lines["partial_intercept"] - mu_alpha) / (lines["none_intercept"] - mu_alpha),
    }, index=lines.index)


def comparison_table(ml: MLFit, idata) -> pd.DataFrame:
    """ML against Bayes in the form of the source's results table.

    Returns
    -------
    pandas.DataFrame, shape (4, 4)
        Rows: the SDs of the random effects (intercept, female) and the fixed
        effects (intercept, female). Columns ``ml`` and ``ml_se`` (estimate and
        standard error; no standard error for the SDs, as in the source) and
        ``bayes`` and ``bayes_sd`` (posterior mean and sd).
    """
    post = idata.posterior
    names = {"sd intercept": ("intercept", "sigma_alpha"), "sd female": ("female", "sigma_beta"),
             "intercept": ("intercept", "mu_alpha"), "female": ("female", "mu_beta")}
    rows = {}
    for label, (ml_name, stan_name) in names.items():
        fixed = not label.startswith("sd")
        rows[label] = {
            "ml": float(ml.fixed[ml_name] if fixed else ml.sd[ml_name]),
            "ml_se": float(ml.fixed_se[ml_name]) if fixed else np.nan,
            "bayes": float(post[stan_name].mean()), "bayes_sd": float(post[stan_name].std()),
        }
    return pd.DataFrame.from_dict(rows, orient="index")
