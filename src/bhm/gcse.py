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
rest of the module summarises that posterior for chapter 6. Between the two:
:func:`fit_ml` with ``reml=True`` (REML), :func:`fit_ml_profiled` (ML or
REML maximised as lme4 does, reaching boundary estimates such as a
correlation of +-1 in small subsamples drawn by :func:`sample_schools`), and
:func:`empirical_bayes` (the schools' normal conditional distributions at the
estimates, lme4's ``condVar``). :func:`replicate_scores` and
:func:`score_statistics` make a posterior predictive check;
:func:`residual_spread` gives each school's own residual sd, and
:func:`mean_weights` how a school's conditional mean weighs its cell means.

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

from bhm._validation import rng
from bhm.data import complete_course

__all__ = ["MLFit", "fit_ml", "fit_ml_profiled", "empirical_bayes", "compare_schools_eb", "sample_schools",
           "replicate_scores", "score_statistics", "HYPERPARAMETERS", "summarise_fits", "ML_FIT_OPTIONS", "cell_statistics", "bayes_data", "fit_bayes", "BAYES_PRIORS",
           "BAYES_PROGRAMS",
           "conditional_effects", "school_summary", "rank_draws", "compare_schools", "pooling_lines",
           "shrinkage_table",
           "comparison_table", "residual_spread", "mean_weights"]

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
        cov_re=cov_re,
        reml=bool(reml),
        singular=bool(np.linalg.eigvalsh(cov_re)[0] <= 1e-8 * max(np.trace(cov_re), 1e-300)),
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
def _draws(idata, var: str) -> tuple[np.ndarray, list[str]]:
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


def school_summary(idata, var: str = "alpha", *, prob: float = 0.95, ranks=None) -> pd.DataFrame:
    """Posterior mean, central interval and mean rank of each school's intercept (or slope).

    Parameters
    ----------
    idata : arviz.InferenceData
        From :func:`fit_bayes` (posterior variables with a ``school`` dimension).
    var : {"alpha", "beta"}
        The schools' intercepts (boys' mean score) or slopes (girls minus boys).
    prob : float
        Probability of the central intervals.
    ranks : numpy.ndarray, shape (draws, J), optional
        :func:`rank_draws` of the same ``idata`` and ``var``, if already
        computed (they are recomputed otherwise).

    Returns
    -------
    pandas.DataFrame, shape (J, 9)
        Index the school IDs, sorted by posterior mean (lowest first); columns
        ``mean``, ``lower``, ``upper`` (interval bounds), ``rank_mean`` (the
        posterior mean of the school's rank, 1 = highest), ``position``
        (1..J, the school's place in the sorted order), and, comparing the
        school with the population mean ``mu_<var>`` draw by draw:
        ``dev_mean``, ``dev_lower``, ``dev_upper`` (posterior mean and
        central interval of ``var_j - mu_var``) and ``p_above``
        (P(var_j > mu_var)); NaN if the posterior has no ``mu_<var>``.

    Raises
    ------
    ValueError
        A bad ``idata`` or ``var``, ``prob`` outside (0, 1), or ``ranks`` of
        the wrong shape.
    """
    if not 0 < prob < 1:
        raise ValueError(f"prob must be between 0 and 1; got {prob!r}")
    draws, schools = _draws(idata, var)
    if ranks is None:
        ranks = rank_draws(idata, var)
    elif np.shape(ranks) != draws.shape:
        raise ValueError(f"ranks must have shape {draws.shape} (rank_draws of the same posterior); "
                         f"got {np.shape(ranks)}")
    tail = (1 - prob) / 2
    table = pd.DataFrame({
        "mean": draws.mean(axis=0),
        "lower": np.quantile(draws, tail, axis=0),
        "upper": np.quantile(draws, 1 - tail, axis=0),
        "rank_mean": np.asarray(ranks).mean(axis=0),
    }, index=pd.Index(schools, name="school"))
    mu_name = f"mu_{var}"
    if mu_name in idata.posterior:
        dev = draws - idata.posterior[mu_name].stack(sample=("chain", "draw")).values[:, None]
        table["dev_mean"] = dev.mean(axis=0)
        table["dev_lower"] = np.quantile(dev, tail, axis=0)
        table["dev_upper"] = np.quantile(dev, 1 - tail, axis=0)
        table["p_above"] = (dev > 0).mean(axis=0)
    else:
        table[["dev_mean", "dev_lower", "dev_upper", "p_above"]] = np.nan
    table = table.sort_values("mean")
    table.insert(4, "position", np.arange(1, len(table) + 1))
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


# --------------------------------------------------------------------------- ML at the boundary, empirical Bayes
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


def _cells(df: pd.DataFrame, caller: str) -> pd.DataFrame:
    _model_data(df, caller)        # validates, with the caller's name in the message
    return cell_statistics(df)


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
    blups = pd.DataFrame({"intercept": eb["alpha"] - mu[0], "slope": eb["beta"] - mu[1]})
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


def residual_spread(df: pd.DataFrame, sigma_y: float | None = None) -> pd.DataFrame:
    """Each school's own residual sd: the spread of its scores around its cell means.

    The model's sigma_y is a within-cell sd (the scores' spread around the
    school's boys' mean and girls' mean), so a school's own value pools the
    within-cell sums of squares: s_j^2 = sum_c sum_i (y_i - ybar_c)^2 / (n_j - C_j),
    over its C_j cells (one or two) and n_j students. A school's plain sd of
    its scores would also contain its gender gap.

    Parameters
    ----------
    df : pandas.DataFrame
        As for :func:`cell_statistics`.
    sigma_y : float, optional
        A residual sd (points, > 0) to test each school's against.

    Returns
    -------
    pandas.DataFrame, shape (J, 5) or (J, 6)
        Index the school IDs (sorted); columns ``n`` (students), ``cells``,
        ``dof`` (n - cells), ``sd`` (the pooled within-cell sd, points; NaN
        when dof = 0) and ``se`` (its approximate standard error under
        normal scores, sd / sqrt(2 dof)); with ``sigma_y``, also ``p_larger``:
        the chi-square test's P(chi^2_dof >= dof s_j^2 / sigma_y^2), the
        probability of a spread at least this large if the school's true sd
        were sigma_y.

    Raises
    ------
    ValueError
        Bad data (see :func:`cell_statistics`), or ``sigma_y`` not a finite
        number > 0.
    """
    from scipy import stats

    cells = _cells(df, "residual_spread")
    if sigma_y is not None and not (np.isscalar(sigma_y) and np.isfinite(sigma_y) and sigma_y > 0):
        raise ValueError(f"residual_spread: sigma_y must be a finite number > 0; got {sigma_y!r}")
    cells = cells.assign(dev2=cells["ss"] - cells["s"] ** 2 / cells["n"])
    per = cells.groupby("school_id", sort=True).agg(n=("n", "sum"), cells=("n", "size"), dev2=("dev2", "sum"))
    per["dof"] = per["n"] - per["cells"]
    dof = per["dof"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.where(dof > 0, np.sqrt(np.clip(per["dev2"].to_numpy(), 0, None) / np.where(dof > 0, dof, 1)), np.nan)
        table = pd.DataFrame({"n": per["n"].astype(int), "cells": per["cells"].astype(int),
                              "dof": per["dof"].astype(int), "sd": sd,
                              "se": np.where(dof > 0, sd / np.sqrt(2 * np.where(dof > 0, dof, 1)), np.nan)},
                             index=pd.Index(per.index.astype(str), name="school"))
    if sigma_y is not None:
        table["p_larger"] = np.where(dof > 0, stats.chi2.sf(per["dev2"].to_numpy() / float(sigma_y) ** 2,
                                                            np.where(dof > 0, dof, 1)), np.nan)
    return table


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
        raise ValueError(f"mean_weights: unknown school {school!r}; schools are IDs like {cells['school_id'].iloc[0]!r}")
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


def sample_schools(df: pd.DataFrame, k: int, *, seed: int) -> pd.DataFrame:
    """The students of k schools drawn at random without replacement: a smaller data set of the same kind.

    Parameters
    ----------
    df : pandas.DataFrame
        Needs a ``school`` column.
    k : int
        Number of schools, 2 <= k <= the number of schools in ``df``.
    seed : int
        Seed of ``numpy.random.default_rng``, which draws k of the sorted
        school IDs (as str) with ``choice(..., replace=False)``.

    Returns
    -------
    pandas.DataFrame
        The rows of ``df`` whose school is drawn, in their original order.

    Raises
    ------
    ValueError
        No ``school`` column, or k out of range.
    """
    if not isinstance(df, pd.DataFrame) or "school" not in df.columns:
        raise ValueError("sample_schools: df must be a DataFrame with a 'school' column")
    ids = sorted(df["school"].astype(str).unique())
    if not (isinstance(k, (int, np.integer)) and 2 <= k <= len(ids)):
        raise ValueError(f"sample_schools: k must be a whole number from 2 to {len(ids)}; got {k!r}")
    picked = rng(seed).choice(ids, size=int(k), replace=False)
    return df[df["school"].astype(str).isin(set(picked))].copy()


# --------------------------------------------------------------------------- posterior predictive check
def replicate_scores(df: pd.DataFrame, idata, *, seed: int, n_draws: int | None = None) -> np.ndarray:
    """Replicated coursework scores from the posterior predictive distribution.

    For each posterior draw s: y_rep_i = alpha_j[i] + beta_j[i] x_i + sigma_y eps_i,
    eps_i ~ N(0, 1), for every student i of ``df`` (same schools and genders).

    Parameters
    ----------
    df : pandas.DataFrame
        The data the model was fitted to (as for :func:`cell_statistics`).
    idata : arviz.InferenceData
        From :func:`fit_bayes` on ``df``.
    seed : int
        Seed of the normal noise.
    n_draws : int, optional
        Use this many posterior draws, evenly spaced over all of them; by
        default all.

    Returns
    -------
    numpy.ndarray, shape (n_draws, N)
        One replicated data set per row, students in the order of the rows of
        ``df`` that have a score.

    Raises
    ------
    ValueError
        Bad data, a posterior without the needed variables, schools that
        differ from the data's, or a bad ``n_draws``.
    """
    data = _model_data(df, "replicate_scores")
    alpha, schools = _draws(idata, "alpha")
    beta, _ = _draws(idata, "beta")
    if "sigma_y" not in idata.posterior:
        raise ValueError("replicate_scores: the posterior has no sigma_y")
    if sorted(data["school"].unique()) != schools:
        raise ValueError("replicate_scores: idata's schools differ from the data's: fit on the same data")
    sigma = idata.posterior["sigma_y"].stack(sample=("chain", "draw")).values
    total = alpha.shape[0]
    if n_draws is None:
        n_draws = total
    if not (isinstance(n_draws, (int, np.integer)) and 1 <= n_draws <= total):
        raise ValueError(f"replicate_scores: n_draws must be a whole number from 1 to {total}; got {n_draws!r}")
    rows = np.linspace(0, total - 1, int(n_draws)).round().astype(int)
    j = data["school"].map({sid: k for k, sid in enumerate(schools)}).to_numpy()
    x = data["female"].to_numpy()
    noise = rng(seed)
    mean = alpha[rows][:, j] + beta[rows][:, j] * x
    return mean + sigma[rows, None] * noise.standard_normal(mean.shape)


def score_statistics(df: pd.DataFrame, scores=None, *, min_students: int = 5) -> pd.DataFrame:
    """Test statistics of a data set of scores, for a posterior predictive check.

    Parameters
    ----------
    df : pandas.DataFrame
        As for :func:`cell_statistics` (gives the schools).
    scores : array_like, shape (N,) or (S, N), optional
        Scores in the order of ``df``'s rows that have a score, e.g. from
        :func:`replicate_scores`; by default the observed ``course``.
    min_students : int
        Schools with fewer students are left out of the school-level statistic.

    Returns
    -------
    pandas.DataFrame, shape (S, 6)
        One row per data set; columns ``share >= 95``, ``share in [95, 100]``
        (the reachable band just below the ceiling) and ``share > 100``
        (fractions of scores), ``max``, ``skewness`` (the moment coefficient,
        over all students) and ``corr(mean, sd)``: the correlation, across the
        schools with at least ``min_students`` students, between a school's
        mean score and its sd (a ceiling makes high-scoring schools less
        spread out).

    Raises
    ------
    ValueError
        Scores of the wrong length or not finite.
    """
    data = _model_data(df, "score_statistics")
    y = data["course"].to_numpy()[None, :] if scores is None else np.atleast_2d(np.asarray(scores, dtype=float))
    if y.ndim != 2 or y.shape[1] != len(data) or not np.all(np.isfinite(y)):
        raise ValueError(f"score_statistics: scores must be finite, shape (N,) or (S, N) with N = {len(data)}; "
                         f"got shape {np.shape(scores)}")
    centred = y - y.mean(axis=1, keepdims=True)
    skew = (centred**3).mean(axis=1) / (centred**2).mean(axis=1) ** 1.5
    codes, _ = pd.factorize(data["school"], sort=True)
    counts = np.bincount(codes)
    keep = counts >= min_students
    onehot = np.zeros((len(data), counts.size))
    onehot[np.arange(len(data)), codes] = 1.0
    means = (y @ onehot) / counts
    sds = np.sqrt(np.clip(((y**2) @ onehot - counts * means**2) / (counts - 1).clip(min=1), 0, None))
    m, s = means[:, keep], sds[:, keep]
    m, s = m - m.mean(axis=1, keepdims=True), s - s.mean(axis=1, keepdims=True)
    corr = (m * s).sum(axis=1) / np.sqrt((m**2).sum(axis=1) * (s**2).sum(axis=1))
    return pd.DataFrame({"share >= 95": (y >= 95).mean(axis=1),
                         "share in [95, 100]": ((y >= 95) & (y <= 100)).mean(axis=1),
                         "share > 100": (y > 100).mean(axis=1),
                         "max": y.max(axis=1), "skewness": skew, "corr(mean, sd)": corr})


# --------------------------------------------------------------------------- several fits side by side
#: The six hyperparameters of the Bayesian GCSE model (the quantities NUTS samples).
HYPERPARAMETERS = ("mu_alpha", "mu_beta", "sigma_alpha", "sigma_beta", "rho", "sigma_y")


def summarise_fits(fits: dict, var_names=HYPERPARAMETERS) -> pd.DataFrame:
    """Posterior means and sds of several fits, one row each, with their convergence diagnostics.

    Parameters
    ----------
    fits : dict of str to arviz.InferenceData
        Label -> fit (e.g. one per prior).
    var_names : sequence of str
        Scalar posterior variables to summarise.

    Returns
    -------
    pandas.DataFrame, shape (len(fits), 2 * len(var_names) + 3)
        Index the labels; columns ``<var> mean`` and ``<var> sd`` for each
        variable, ``max mcse`` (the largest Monte Carlo standard error of
        those means), ``max R-hat`` (rank-normalised split R-hat, over the
        variables) and ``divergences``.

    Raises
    ------
    ValueError
        An empty ``fits``, or a variable missing from a fit.
    """
    import arviz as az

    if not isinstance(fits, dict) or not fits:
        raise ValueError("summarise_fits: fits must be a non-empty dict of label -> InferenceData")
    rows = {}
    for label, idata in fits.items():
        missing = [v for v in var_names if v not in idata.posterior]
        if missing:
            raise ValueError(f"summarise_fits: fit {label!r} has no {missing}")
        summary = az.summary(idata, var_names=list(var_names), round_to="none")
        row = {}
        for var in var_names:
            row[f"{var} mean"] = float(summary.loc[var, "mean"])
            row[f"{var} sd"] = float(summary.loc[var, "sd"])
        row["max mcse"] = float(summary["mcse_mean"].max())
        row["max R-hat"] = float(summary["r_hat"].max())
        row["divergences"] = int(idata.sample_stats["diverging"].sum())
        rows[label] = row
    return pd.DataFrame.from_dict(rows, orient="index")
