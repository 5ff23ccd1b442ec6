"""The study's results, summarised: bias, coverage, failures, paired differences, and the predicted pull of a prior.

Part of :mod:`bhm.study` (every name is importable from there): the functions
chapter 5 calls on :func:`bhm.study.load_results` or
:func:`bhm.study.load_committed`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bhm._validation import positive
from bhm.study import _KEYS, GAMMA_PRIORS, PARAMETERS, PRIORS, SIZES, TRUTH, design_for


def _truth(results: pd.DataFrame, name: str):
    return results["true_eta_1"] if name == "eta_1" else TRUTH[name]


def _check_results(results: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in results.columns]
    if missing:
        raise ValueError(f"results lack column(s) {missing[:3]}: pass the output of load_results or load_committed")


def failed(results: pd.DataFrame) -> pd.Series:
    """Whether each simulation failed diagnostics: any recorded R-hat above 1.01 or any divergence.

    Parameters
    ----------
    results : pandas.DataFrame
        From :func:`load_results` or :func:`load_committed`.

    Returns
    -------
    pandas.Series of bool, shape (simulations,)

    Raises
    ------
    ValueError
        ``results`` lacks the R-hat or divergence columns.
    """
    rhat_cols = [f"{name}_rhat" for name in PARAMETERS]
    _check_results(results, rhat_cols + ["divergences"])
    return (results[rhat_cols] > 1.01).any(axis=1) | (results["divergences"] > 0)


def summarise(results: pd.DataFrame, *, drop_failures: bool = False) -> pd.DataFrame:
    """Per cell and parameter: bias with its Monte Carlo error, spread, width, coverage, failures.

    Parameters
    ----------
    results : DataFrame
        From :func:`load_results` or :func:`load_committed`, one row per simulation.
    drop_failures : bool
        Leave out simulations that failed diagnostics (:func:`failed`). The
        share of failures is reported either way.

    Returns
    -------
    DataFrame indexed by (program, design, prior, size, parameter), columns
        ``sims``, ``failed`` (share), ``mean`` (average posterior mean),
        ``bias`` (average posterior mean minus the truth) and ``bias_se`` (its
        Monte Carlo standard error: the sd of the errors over sqrt(sims)),
        ``median_bias`` (average posterior median minus the truth), ``p5``,
        ``p95`` (5-95% range of the posterior means across simulations),
        ``width90`` (average width of the 90% interval) and ``cover95`` (share
        of 95% intervals that cover the truth).

    Raises
    ------
    ValueError
        ``results`` lacks a needed column.
    """
    results = results.assign(failed=failed(results))
    if drop_failures:
        results = results[~results["failed"]]
    rows = []
    for keys, group in results.groupby(_KEYS, sort=False):
        for name in PARAMETERS:
            truth = _truth(group, name)
            errors = group[f"{name}_mean"] - truth
            cover = (group[f"{name}_q2.5"] <= truth) & (truth <= group[f"{name}_q97.5"])
            rows.append({
                **dict(zip(_KEYS, keys)), "parameter": name,
                "sims": len(group), "failed": float(group["failed"].mean()),
                "mean": group[f"{name}_mean"].mean(), "bias": errors.mean(),
                "bias_se": errors.std(ddof=1) / np.sqrt(len(group)),
                "median_bias": (group[f"{name}_q50"] - truth).mean(),
                "p5": group[f"{name}_mean"].quantile(0.05), "p95": group[f"{name}_mean"].quantile(0.95),
                "width90": (group[f"{name}_q95"] - group[f"{name}_q5"]).mean(),
                "cover95": cover.mean(),
            })
    return pd.DataFrame(rows).set_index([*_KEYS, "parameter"])


def cell_table(table: pd.DataFrame, parameter: str, *, design: str = "A",
               program: str = "marginal") -> pd.DataFrame:
    """One parameter's rows of :func:`summarise` or :func:`paired_differences`, in the grid's order.

    Parameters
    ----------
    table : DataFrame
        From :func:`summarise` (indexed by program, design, prior, size,
        parameter) or :func:`paired_differences` (design, prior, size, parameter).
    parameter : str
        One of :data:`PARAMETERS`.
    design, program : str
        Which rows.

    Returns
    -------
    DataFrame indexed by (size, prior), sizes and priors in the order of
        :data:`SIZES` and :data:`PRIORS`, with the cells the grid has.

    Raises
    ------
    ValueError
        An unknown parameter.
    """
    if parameter not in PARAMETERS:
        raise ValueError(f"parameter must be one of {PARAMETERS}; got {parameter!r}")
    rows = table.xs(parameter, level="parameter")
    if "program" in rows.index.names:
        rows = rows.xs(program, level="program")
    rows = rows.xs(design, level="design").reset_index()
    rows["size"] = pd.Categorical(rows["size"], list(SIZES))
    rows["prior"] = pd.Categorical(rows["prior"], list(PRIORS))
    return rows.sort_values(["size", "prior"]).set_index(["size", "prior"])


def paired_differences(results: pd.DataFrame, *, baseline: str = "true", program: str = "marginal",
                       parameters: tuple[str, ...] = PARAMETERS) -> pd.DataFrame:
    """How each prior moves the posterior means against ``baseline``, on the same data sets.

    The study's common random numbers give every prior of a design and size the
    same data sets, so the difference of posterior means, simulation by
    simulation, isolates the prior's effect; its Monte Carlo standard error is
    the sd of those differences over sqrt(simulations), far smaller than that
    of either cell's bias.

    Parameters
    ----------
    results : pandas.DataFrame
        From :func:`load_results` or :func:`load_committed`.
    baseline : str
        The prior compared with, a key of :data:`PRIORS`.
    program : str
        Which program's fits, a key of :data:`PROGRAMS`.
    parameters : tuple of str
        Among :data:`PARAMETERS`.

    Returns
    -------
    DataFrame indexed by (design, prior, size, parameter), columns ``sims``
        (simulations with both fits), ``diff`` (average difference of
        posterior means, prior minus baseline), ``se`` (its Monte Carlo
        standard error) and ``z`` (diff / se).

    Raises
    ------
    ValueError
        ``results`` lacks a needed column, or has no fit with the baseline prior.
    """
    _check_results(results, [*_KEYS, "sim"] + [f"{name}_mean" for name in parameters])
    rows = results[results["program"] == program]
    base = rows[rows["prior"] == baseline].set_index(["design", "size", "sim"])
    if base.empty:
        raise ValueError(f"no simulations with the {baseline!r} prior and the {program!r} program in results")
    out = []
    for (design, prior, size), group in rows[rows["prior"] != baseline].groupby(["design", "prior", "size"],
                                                                               sort=False):
        paired = group.set_index(["design", "size", "sim"]).merge(base, how="inner", left_index=True,
                                                                  right_index=True, suffixes=("", "_base"))
        if paired.empty:
            continue
        for name in parameters:
            diff = paired[f"{name}_mean"] - paired[f"{name}_mean_base"]
            se = diff.std(ddof=1) / np.sqrt(len(diff))
            out.append({"design": design, "prior": prior, "size": size, "parameter": name, "sims": len(diff),
                        "diff": diff.mean(), "se": se, "z": diff.mean() / se if se > 0 else np.nan})
    return pd.DataFrame(out).set_index(["design", "prior", "size", "parameter"])


def predicted_pull(design: str, size: str, prior: str, *, sigma_b: float | None = None) -> dict:
    """The pull of a prior on (gamma_0, gamma_1) against the true prior, by a normal approximation.

    Given sigma_b and sigma_y, each group's least-squares slope b_j is its
    slope beta_j plus noise of variance sigma_y^2 / Sxx_j, and gamma is the
    coefficient of a weighted regression of the b_j on (1, u_j), each with
    variance tau_j^2 = sigma_b^2 + sigma_y^2 / Sxx_j. With the data's precision
    matrix P = X' diag(1 / tau^2) X and a normal prior N(m0, S0), the posterior
    mean is (P + S0^-1)^-1 (P gamma_hat + S0^-1 m0). Two normal priors with the
    same S0 differ by (P + S0^-1)^-1 S0^-1 (m0 - m0_true): the data's
    gamma_hat cancels, so given sigma_b and sigma_y the pull is the same in
    every data set. A flat prior's posterior mean is gamma_hat itself; its
    difference from the true prior's averages 0 over data sets
    (gamma_hat ~ N(gamma, P^-1)), which is what is returned for it.

    Parameters
    ----------
    design, size : str
        A design and size of the grid.
    prior : str
        One of :data:`GAMMA_PRIORS`.
    sigma_b : float, optional
        The sigma_b to condition on; default its true value. (sigma_y is held
        at its true value: the data pin it down.)

    Returns
    -------
    dict
        ``data_sd_gamma_0``, ``data_sd_gamma_1`` (posterior sds under a flat
        prior), ``shrink`` (the prior's weight per component, the diagonal of
        (P + S0^-1)^-1 S0^-1, under ``prior``) and ``pull_gamma_0``,
        ``pull_gamma_1`` (change of the posterior mean, ``prior`` minus the
        true prior).

    Raises
    ------
    ValueError
        A prior not in :data:`GAMMA_PRIORS`, an unknown design or size, or a
        ``sigma_b`` that is not positive.
    """
    if prior not in GAMMA_PRIORS:
        raise ValueError(f"prior must be one of {GAMMA_PRIORS}; got {prior!r}")
    sigma_b = TRUTH["sigma_b"] if sigma_b is None else sigma_b
    sigma_b = positive(sigma_b, "sigma_b")
    d = design_for(design, size)
    n = SIZES[size][1]
    x = d.x.reshape(d.J, n)
    sxx = (x * x).sum(axis=1)
    tau2 = sigma_b**2 + TRUTH["sigma_y"] ** 2 / sxx
    X = np.column_stack([np.ones(d.J), d.u])
    p_data = X.T @ (X / tau2[:, None])
    gamma = np.array([TRUTH["gamma_0"], TRUTH["gamma_1"]])

    def posterior_mean(name):
        spec = PRIORS[name]["gamma"]
        if spec is None:
            return gamma, np.zeros(2)
        p0 = np.eye(2) / spec[1] ** 2
        post = np.linalg.solve(p_data + p0, p_data @ gamma + p0 @ np.full(2, spec[0]))
        return post, np.diag(np.linalg.solve(p_data + p0, p0))

    mean, shrink = posterior_mean(prior)
    base, _ = posterior_mean("true")
    sd = np.sqrt(np.diag(np.linalg.inv(p_data)))
    return {"data_sd_gamma_0": float(sd[0]), "data_sd_gamma_1": float(sd[1]), "shrink": shrink.tolist(),
            "pull_gamma_0": float(mean[0] - base[0]), "pull_gamma_1": float(mean[1] - base[1])}


def failure_reasons(results: pd.DataFrame) -> pd.DataFrame:
    """Why simulations failed diagnostics, per cell.

    Parameters
    ----------
    results : pandas.DataFrame
        From :func:`load_results` or :func:`load_committed`.

    Returns
    -------
    DataFrame indexed by (program, design, prior, size), columns
        ``rhat_over_1_01`` (share of simulations with any recorded parameter's
        R-hat above 1.01), ``any_divergence`` (share with at least one
        divergence) and ``min_bulk_ess`` (the smallest bulk ESS of any
        parameter in any simulation).

    Raises
    ------
    ValueError
        ``results`` lacks a needed column.
    """
    rhat_columns = [f"{name}_rhat" for name in PARAMETERS]
    ess_columns = [f"{name}_ess_bulk" for name in PARAMETERS]
    _check_results(results, rhat_columns + ess_columns + ["divergences", *_KEYS])
    flags = results.assign(
        rhat_over_1_01=(results[rhat_columns] > 1.01).any(axis=1),
        any_divergence=results["divergences"] > 0,
        min_bulk_ess=results[ess_columns].min(axis=1),
    )
    return flags.groupby(_KEYS)[["rhat_over_1_01", "any_divergence", "min_bulk_ess"]].agg(
        {"rhat_over_1_01": "mean", "any_divergence": "mean", "min_bulk_ess": "min"})


def prior_pull_on_eta(results: pd.DataFrame, *, design: str = "A", size: str = "10x200", prior: str = "wrong",
                      baseline: str = "true") -> dict:
    """How a prior's pull on (gamma_0, gamma_1) is given back by the first group's effect eta_1.

    The data pin down the group slope beta_1 = gamma_0 + gamma_1 u_1 + eta_1, so
    on average what ``prior`` adds to gamma_0 + gamma_1 u_1 (against
    ``baseline``, on the same data sets) eta_1 should give back.

    Parameters
    ----------
    results : pandas.DataFrame
        From :func:`load_results` or :func:`load_committed`.
    design, size : str
        The cell's design and size.
    prior, baseline : str
        The prior whose pull is measured, and the one it is measured against.

    Returns
    -------
    dict
        ``u_1`` (the group's predictor), ``added`` (mean change of
        gamma_0 + gamma_1 u_1) and ``given_back`` (mean change of eta_1's
        posterior mean), both paired by data set.

    Raises
    ------
    ValueError
        No simulation of either cell in ``results``.
    """
    u_1 = float(design_for(design, size).u[0])
    rows = results[(results["program"] == "marginal") & (results["design"] == design) & (results["size"] == size)]
    means = {}
    for name in (prior, baseline):
        cell = rows[rows["prior"] == name].set_index("sim")
        if cell.empty:
            raise ValueError(f"no simulations of cell {design}/{name}/{size} in results")
        means[name] = (cell["gamma_0_mean"] + u_1 * cell["gamma_1_mean"], cell["eta_1_mean"])
    return {"u_1": u_1, "added": float((means[prior][0] - means[baseline][0]).mean()),
            "given_back": float((means[prior][1] - means[baseline][1]).mean())}


def mcnemar(first: pd.Series, second: pd.Series) -> dict:
    """McNemar's exact test of two paired yes/no outcomes, such as "covered" under two priors on the same data sets.

    Only the data sets where the two disagree carry information; under no
    difference each of them goes either way with probability 1/2, so the test
    is a two-sided binomial (sign) test on them. With ``n`` disagreements all
    one way, ``p = 2 / 2^n``: five can give 0.0625 at best.

    Parameters
    ----------
    first, second : pandas.Series of bool
        One outcome per data set, on the same index.

    Returns
    -------
    dict
        ``first_only`` (true for ``first``, false for ``second``),
        ``second_only`` and ``p`` (1.0 when they never disagree).

    Raises
    ------
    ValueError
        The two are not indexed by the same data sets.
    """
    from scipy import stats

    if not first.index.equals(second.index):
        raise ValueError("mcnemar needs the two outcomes on the same data sets (the same index)")
    first, second = first.astype(bool), second.astype(bool)
    first_only, second_only = int((first & ~second).sum()), int((second & ~first).sum())
    n = first_only + second_only
    p = 1.0 if n == 0 else float(stats.binomtest(first_only, n, 0.5).pvalue)
    return {"first_only": first_only, "second_only": second_only, "p": p}


def funnel_depth(results: pd.DataFrame) -> pd.Series:
    """How deep the funnel between gamma and sigma_b is in each fit's posterior.

    Given the group slopes, gamma_0's conditional sd is
    ``1 / sqrt(J / sigma_b^2 + 1 / s0^2)`` (the u_j have mean 0; ``s0`` is the
    prior sd of gamma, and the term is absent under the flat prior). This is
    its value at sigma_b's 97.5% quantile over its value at the 2.5% quantile:
    the range of scales that one step size and one diagonal metric must serve.

    Parameters
    ----------
    results : DataFrame
        Rows of :func:`bhm.study.load_results` (columns ``prior``, ``size``,
        ``sigma_b_q2.5``, ``sigma_b_q97.5``).

    Returns
    -------
    pandas.Series
        One depth (>= 1) per row, on ``results``' index.
    """
    _check_results(results, ["prior", "size", "sigma_b_q2.5", "sigma_b_q97.5"])
    groups = results["size"].map(lambda size: SIZES[size][0]).to_numpy(float)
    s0 = results["prior"].map(lambda prior: np.inf if PRIORS[prior]["gamma"] is None
                              else PRIORS[prior]["gamma"][1]).to_numpy(float)

    def conditional_sd(sigma_b):
        return 1 / np.sqrt(groups / sigma_b**2 + 1 / s0**2)

    return pd.Series(conditional_sd(results["sigma_b_q97.5"].to_numpy(float))
                     / conditional_sd(results["sigma_b_q2.5"].to_numpy(float)), index=results.index)
