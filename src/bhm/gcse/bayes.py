"""The Bayesian GCSE model in Stan, and chapter 6's summaries of its posterior.

:func:`bayes_data` and :func:`fit_bayes` (``stan/gcse_marginal.stan``),
the schools' summaries and ranks (:func:`school_summary`, :func:`rank_draws`,
:func:`compare_schools`), the three kinds of pooling (:func:`pooling_lines`,
:func:`shrinkage_table`, :func:`comparison_table`, against the ML fit), a
posterior predictive check (:func:`replicate_scores`,
:func:`score_statistics`) and several fits side by side (:func:`summarise_fits`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bhm._validation import rng
from bhm.gcse.cells import _model_data, cell_statistics
from bhm.gcse.ml import MLFit

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
    from bhm import stan

    if program not in BAYES_PROGRAMS:
        raise ValueError(f"fit_bayes: unknown program {program!r}; choose one of {', '.join(BAYES_PROGRAMS)}")
    priors = {key: options.pop(key) for key in list(options) if key in BAYES_PRIORS}
    data = bayes_data(df, **priors)
    schools = sorted(_model_data(df, "fit_bayes")["school"].unique())
    options.setdefault("coords", {"school": schools})
    options.setdefault("dims", {"alpha": ["school"], "beta": ["school"]})
    return stan.sample(program, data, seed=seed, **options)


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

    Parameters
    ----------
    idata : arviz.InferenceData
        From :func:`fit_bayes` (posterior variables with a ``school`` dimension).
    var : {"alpha", "beta"}
        The schools' intercepts or gaps.

    Returns
    -------
    numpy.ndarray of int, shape (chains * draws, J)
        Columns in the posterior's school order (sorted school IDs).

    Raises
    ------
    ValueError
        A posterior without ``var`` or without its ``school`` dimension.
    """
    draws, _ = _draws(idata, var)
    order = np.argsort(-draws, axis=1, kind="stable")
    ranks = np.empty_like(order)
    rows = np.arange(draws.shape[0])[:, None]
    ranks[rows, order] = np.arange(1, draws.shape[1] + 1)
    return ranks


def compare_schools(idata, a: str, b: str, var: str = "alpha", *, prob: float = 0.95) -> dict:
    """Posterior of the difference ``var[a] - var[b]`` between two schools.

    Parameters
    ----------
    idata : arviz.InferenceData
        From :func:`fit_bayes`.
    a, b : str
        School IDs, e.g. ``"50631"``.
    var : {"alpha", "beta"}
        The schools' intercepts or gaps.
    prob : float
        Probability of the central interval, in (0, 1).

    Returns
    -------
    dict
        ``mean``, ``sd``, ``lower``, ``upper`` (central ``prob`` interval),
        ``p_greater`` (posterior probability that a's value exceeds b's) and
        ``mcse_p`` (its Monte Carlo standard error, from the bulk ESS of the
        indicator), all floats.

    Raises
    ------
    ValueError
        ``prob`` outside (0, 1), an unknown school, or a bad ``idata`` or ``var``.
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

    Raises
    ------
    ValueError
        Bad data (see :func:`~bhm.gcse.cells.cell_statistics`), or ``idata``'s
        schools differ from the data's.
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

    Raises
    ------
    ValueError
        As for :func:`pooling_lines`.
    """
    from bhm.conjugate import posterior_weight

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

    Parameters
    ----------
    ml : MLFit
        From :func:`~bhm.gcse.ml.fit_ml`.
    idata : arviz.InferenceData
        From :func:`fit_bayes` on the same data (``mu_alpha``, ``mu_beta``,
        ``sigma_alpha``, ``sigma_beta``).

    Returns
    -------
    pandas.DataFrame, shape (4, 4)
        Rows: the SDs of the random effects (intercept, female) and the fixed
        effects (intercept, female). Columns ``ml`` and ``ml_se`` (estimate and
        standard error; no standard error for the SDs, as in the source) and
        ``bayes`` and ``bayes_sd`` (posterior mean and sd).

    Raises
    ------
    KeyError
        A posterior without those four variables.
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
