"""Data sets of the course book, loaded from the repository's ``data/`` folder.

The GCSE data (``Gcsemv`` of the R package mlmRev; Rasbash et al. 2000) are the
running example of the hierarchical-regression chapters: 1,905 students in 73
schools in England, with a score on a written paper and on coursework.
``data/README.md`` says where ``gcsemv.csv`` comes from and how it was made.

Each loader checks, in this order, that the file exists
(:class:`FileNotFoundError` naming the path), that it has the expected columns
(:class:`ValueError` naming the missing ones: the most useful message when a
column was dropped or renamed), that its SHA-256 is the recorded one
(:class:`ValueError` "checksum mismatch", for any other alteration) and,
last, its shape.  The checksum is taken with Windows line endings (CRLF)
turned into LF, so that a checkout with ``core.autocrlf`` still loads.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd

from bhm._paths import project_dir

__all__ = ["GCSE_COLUMNS", "GCSE_SHA256", "GENDER_LEVELS", "data_dir", "load_gcse", "complete_course",
           "load_committed_results"]

#: Columns of ``gcsemv.csv``, in file order.
GCSE_COLUMNS = ("school", "student", "gender", "written", "course")
#: SHA-256 of ``data/gcsemv.csv`` (LF line endings), as recorded in ``data/README.md``.
GCSE_SHA256 = "095b3dfde0cc1309539cb0d8afa46880eab3a35f862a937c411c34a7e466441b"
_GCSE_ROWS, _GCSE_SCHOOLS = 1905, 73
#: Levels of ``gender``: male is the reference level, so "female" is the contrast.
GENDER_LEVELS = ("M", "F")


def data_dir() -> Path:
    """Folder of the data files.

    Returns
    -------
    pathlib.Path
        ``$BHM_DATA_DIR`` if that environment variable is set and non-empty,
        otherwise the repository's ``data/`` folder (found as
        :func:`bhm._paths.project_dir` says, for an editable or an installed bhm).
    """
    return project_dir("data")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes().replace(b"\r\n", b"\n")).hexdigest()


def _check_header(path: Path, expected: tuple[str, ...]) -> None:
    with open(path, newline="", encoding="utf-8") as fh:
        header = [name.strip() for name in fh.readline().rstrip("\r\n").split(",")]
    missing = [name for name in expected if name not in header]
    if missing:
        raise ValueError(
            f"{path}: missing column(s) {', '.join(repr(m) for m in missing)}; "
            f"expected the columns {', '.join(expected)}; found {', '.join(header) or 'none'}"
        )


def load_gcse(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Load the GCSE scores of 1,905 students in 73 schools (mlmRev's ``Gcsemv``).

    Parameters
    ----------
    path : str or path-like, optional
        The CSV file.  Default: ``gcsemv.csv`` in :func:`data_dir` (the
        repository's ``data/`` folder, or ``$BHM_DATA_DIR``).

    Returns
    -------
    pandas.DataFrame, shape (1905, 5)
        In the file's (and R's) row order, with columns

        - ``school`` (str): school ID, one of 73;
        - ``student`` (str): student ID, unique only within a school;
        - ``gender`` (Categorical, categories ``["M", "F"]``: male is the
          reference level);
        - ``written`` (float): score on the written paper, NaN for the 202
          missing values;
        - ``course`` (float): score on the coursework, NaN for the 180
          missing values.

    Raises
    ------
    FileNotFoundError
        If the file does not exist (the message names the path).
    ValueError
        If a column is missing (the message names it), if the file's SHA-256
        is not the recorded one ("checksum mismatch"), or if its shape is not
        1905 rows in 73 schools.
    """
    path = Path(path) if path is not None else data_dir() / "gcsemv.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"GCSE data file not found: {path} (see data/README.md; set BHM_DATA_DIR or pass path=)"
        )
    _check_header(path, GCSE_COLUMNS)
    digest = _sha256(path)
    if digest != GCSE_SHA256:
        raise ValueError(
            f"{path}: checksum mismatch: expected sha256 {GCSE_SHA256}, got {digest} "
            "(the file was altered; data/extract_gcse.py rebuilds it)"
        )
    df = pd.read_csv(
        path,
        dtype={"school": str, "student": str, "gender": str, "written": float, "course": float},
        keep_default_na=False,
        na_values={"written": [""], "course": [""]},
    )[list(GCSE_COLUMNS)]
    df["gender"] = pd.Categorical(df["gender"], categories=list(GENDER_LEVELS))
    n_schools = df["school"].nunique()
    if len(df) != _GCSE_ROWS or n_schools != _GCSE_SCHOOLS or df["gender"].isna().any():
        raise ValueError(
            f"{path}: expected {_GCSE_ROWS} rows in {_GCSE_SCHOOLS} schools with gender M or F; "
            f"got {len(df)} rows in {n_schools} schools"
        )
    return df


def complete_course(df: pd.DataFrame) -> pd.DataFrame:
    """The students with a coursework score, with a 0/1 ``female`` indicator.

    Parameters
    ----------
    df : pandas.DataFrame, shape (n, k)
        GCSE data as returned by :func:`load_gcse`: needs the columns
        ``course`` and ``gender`` (values ``"M"``/``"F"``).

    Returns
    -------
    pandas.DataFrame, shape (m, k + 1)
        The m rows of `df` whose ``course`` is not missing (m = 1,725 for the
        full data), in their original order and with a fresh index
        ``0 .. m-1``, plus the column ``female`` (float: 1.0 for ``"F"``,
        0.0 for ``"M"``).

    Raises
    ------
    ValueError
        If a needed column is missing, or ``gender`` has a value other than
        ``"M"`` or ``"F"``.
    """
    missing = [c for c in ("course", "gender") if c not in df.columns]
    if missing:
        raise ValueError(f"complete_course: missing column(s) {', '.join(repr(m) for m in missing)}")
    out = df.loc[df["course"].notna()].reset_index(drop=True)
    gender = out["gender"].astype(object)
    bad = ~gender.isin(GENDER_LEVELS)
    if bad.any():
        raise ValueError(f"complete_course: gender must be 'M' or 'F'; got {gender[bad].iloc[0]!r}")
    out["female"] = np.where(gender == "F", 1.0, 0.0)
    return out


def load_committed_results(name: str, command: str) -> tuple[pd.DataFrame, dict]:
    """A committed results table in ``data/`` and its provenance (the .json beside it).

    Parameters
    ----------
    name : str
        File name in :func:`data_dir`, e.g. ``"study_results.csv.gz"``.
    command : str
        The command that makes it (without ``--export``), quoted in the error
        if the file is missing.

    Returns
    -------
    (pandas.DataFrame, dict)
        The table and its provenance (command, version, date, wall time, machine).

    Raises
    ------
    FileNotFoundError
        The table or its provenance is missing (the message gives ``command``).
    """
    import json

    path = data_dir() / name
    provenance_path = path.with_suffix("").with_suffix(".json")
    if not path.is_file() or not provenance_path.is_file():
        raise FileNotFoundError(f"{path} or its provenance {provenance_path.name} is missing: run "
                                f"{command} --export {path}")
    return pd.read_csv(path), json.loads(provenance_path.read_text())
