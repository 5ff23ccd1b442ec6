"""Where the book's folders are: ``stan/``, ``data/`` and ``book/``, and where compiled programs go.

The Stan programs, the data and the chapters live in the repository beside
``src/``, not inside the package. :func:`project_dir` finds them, in this
order:

1. the environment variable ``BHM_STAN_DIR``, ``BHM_DATA_DIR`` or
   ``BHM_BOOK_DIR``, if set and not empty;
2. the folder beside ``src/`` when bhm is imported from a checkout (the
   editable install of ``make book``, or ``PYTHONPATH=src``);
3. for an installed copy (``pip install .``), the nearest folder, from the
   working directory upwards, that holds the ``pyproject.toml`` of the
   project ``bhm`` (:func:`project_root`): a clone in which you run Python;
4. otherwise ``./<name>``, which then may not exist (the caller's error names it).

CmdStanPy writes each executable beside the ``.stan`` file it compiles;
:func:`build_dir` is where bhm puts those copies instead, outside the
source tree (``$BHM_BUILD_DIR``, else ``~/.cache/bhm``).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["build_dir", "project_dir", "project_root"]

_FOLDERS = ("stan", "data", "book")
_CHECKOUT = Path(__file__).resolve().parents[2]  # src/bhm/_paths.py -> the repository, in a checkout


def _is_project(folder: Path) -> bool:
    pyproject = folder / "pyproject.toml"
    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError:
        return False
    return 'name = "bhm"' in text


def project_root() -> Path:
    """The repository bhm belongs to: its checkout, else the nearest one from the working directory up.

    Returns
    -------
    pathlib.Path
        The folder with bhm's ``pyproject.toml``; the working directory if none is found.
    """
    if _is_project(_CHECKOUT):
        return _CHECKOUT
    here = Path.cwd().resolve()
    return next((folder for folder in (here, *here.parents) if _is_project(folder)), here)


def project_dir(name: str) -> Path:
    """The repository's folder ``name``: ``"stan"``, ``"data"`` or ``"book"``.

    Parameters
    ----------
    name : {"stan", "data", "book"}

    Returns
    -------
    pathlib.Path
        ``<project_root()>/<name>`` unless the environment says otherwise; it
        may not exist.

    Raises
    ------
    ValueError
        Another ``name``.
    """
    if name not in _FOLDERS:
        raise ValueError(f"name must be one of {_FOLDERS}; got {name!r}")
    override = os.environ.get(f"BHM_{name.upper()}_DIR")
    if override:
        return Path(override)
    return project_root() / name


def build_dir() -> Path:
    """Where bhm keeps what it builds outside the source tree (CmdStanPy's executables).

    Returns
    -------
    pathlib.Path
        ``$BHM_BUILD_DIR`` if set and not empty, else ``bhm`` in the user's
        cache folder (``$XDG_CACHE_HOME`` or ``~/.cache``); not created here.
    """
    override = os.environ.get("BHM_BUILD_DIR")
    if override:
        return Path(override)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bhm"
