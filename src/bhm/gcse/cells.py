"""The GCSE data by school and gender: checked model data, cell statistics, residual spread, subsamples."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bhm._validation import rng
from bhm.data import complete_course


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


def _cells(df: pd.DataFrame, caller: str) -> pd.DataFrame:
    _model_data(df, caller)        # validates, with the caller's name in the message
    return cell_statistics(df)


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
