"""The ``data`` block of a Stan program, and data checked against it before Stan sees them.

The variables, their element type (``int`` or ``real``) and their number of
dimensions come from the compiler: ``stanc --info``, with the stanc binary
that the PyStan wheels ship (httpstan's), or else CmdStan's. So every
declaration Stan accepts is read as Stan reads it.

``stanc --info`` does not give the *sizes* (``array[N] real y`` has one
dimension; which size it declares is not in its output). Those come from a
regular expression over the data block, used only where it agrees with the
compiler about a variable's number of dimensions. Its limits, each tested in
``tests/test_stan.py``: it reads size expressions that are one name or one
number (``[N]``, ``[2]``), not arithmetic (``[N + 1]``: that axis is not
checked); the data block must close with ``}`` at the start of a line (the
book's style; otherwise no size is checked); a type it does not know (tuple,
complex) gives no sizes. Where the regex is silent, Stan itself still checks
the sizes, with a less specific message. Without any stanc binary (neither
engine installed) the regex is all there is.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np

_BLOCK = re.compile(r"\bdata\s*\{(.*?)\n\}", re.S)
_DECL = re.compile(
    r"^\s*(?:array\s*\[(?P<array>[^\]]*)\]\s*)?"
    r"(?P<type>int|real|vector|row_vector|matrix|simplex|ordered|positive_ordered"
    r"|cholesky_factor_corr|cholesky_factor_cov|corr_matrix|cov_matrix)"
    r"\s*(?:<[^;]*?>)?\s*(?:\[(?P<size>[^\]]*)\])?\s+(?P<name>\w+)\s*;",
    re.M,
)



def _regex_declarations(code: str) -> dict[str, tuple[str, list[str]]]:
    match = _BLOCK.search(re.sub(r"//[^\n]*", "", code))
    if not match:
        return {}
    declared = {}
    for decl in _DECL.finditer(match.group(1)):
        sizes = []
        for group in ("array", "size"):
            if decl.group(group):
                sizes += [s.strip() for s in decl.group(group).split(",")]
        declared[decl.group("name")] = ("int" if decl.group("type") == "int" else "real", sizes)
    return declared


def _stanc() -> Path | None:
    """A stanc binary: httpstan's (PyStan's wheels ship one), else CmdStan's, else None."""
    import importlib.util

    spec = importlib.util.find_spec("httpstan")
    if spec is not None and spec.origin:
        binary = Path(spec.origin).parent / "stanc"
        if binary.is_file():
            return binary
    try:
        import cmdstanpy

        binary = Path(cmdstanpy.cmdstan_path()) / "bin" / "stanc"
    except Exception:  # no CmdStanPy or no CmdStan: no binary from there
        return None
    return binary if binary.is_file() else None


@functools.lru_cache(maxsize=64)
def _stanc_inputs(code: str) -> dict | None:
    """``stanc --info``'s ``inputs``: {name: {"type": "int" or "real", "dimensions": n}}, or None without stanc."""
    binary = _stanc()
    if binary is None:
        return None
    with tempfile.TemporaryDirectory(prefix="bhm-stanc-") as folder:
        path = Path(folder) / "program.stan"
        path.write_text(code)
        done = subprocess.run([str(binary), "--info", str(path)], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise ValueError(f"stanc could not read the program: {done.stderr.strip() or done.stdout.strip()}")
    return json.loads(done.stdout)["inputs"]


def declared_data(code: str) -> dict[str, tuple[str, list]]:
    """Variables declared in the ``data`` block of a Stan program.

    Parameters
    ----------
    code : str
        Stan source.

    Returns
    -------
    dict
        ``{name: (type, sizes)}`` in declaration order: ``type`` is the
        element type, ``"int"`` or ``"real"`` (vectors and matrices are
        real), or ``"complex"`` or ``"tuple"``; ``sizes`` has one entry per dimension, outermost first, each
        the size expression as written (``"N"``, ``"2"``) or None where it is
        not known (see the module docstring). A scalar has no sizes.

    Raises
    ------
    ValueError
        stanc rejects the program (its message is quoted).

    Examples
    --------
    >>> declared_data("data {\\n  int<lower=0> N;\\n  array[N] real y;\\n}\\nmodel { }")
    {'N': ('int', []), 'y': ('real', ['N'])}
    >>> declared_data("data { int<lower=0> N; array[N] real y; } model { }")  # one line: the size is not read
    {'N': ('int', []), 'y': ('real', [None])}
    """
    regex = _regex_declarations(code)
    inputs = _stanc_inputs(code)
    if inputs is None:
        return regex
    declared = {}
    for name, info in inputs.items():
        dims = int(info["dimensions"])
        _, sizes = regex.get(name, (None, []))
        kind = info["type"] if isinstance(info["type"], str) else "tuple"
        declared[name] = (kind, sizes if len(sizes) == dims else [None] * dims)
    return declared


def prepare_data(name: str, code: str, data) -> dict:
    """Check ``data`` against the program's data block before Stan sees it."""
    if not isinstance(data, dict):
        raise ValueError(f"data for program {name!r} must be a dict; got {type(data).__name__}")
    try:
        declared = declared_data(code)
    except ValueError as error:
        raise ValueError(f"Stan could not compile program {name!r}: {error}") from None
    missing = [key for key in declared if key not in data]
    if missing:
        raise ValueError(f"data for program {name!r} is missing key(s) {missing}")
    prepared = {}
    for key, value in data.items():
        if key not in declared:
            continue  # Stan ignores extra keys; so do we
        if declared[key][0] not in ("int", "real"):
            prepared[key] = value  # complex or tuple: passed on as given, for Stan to check
            continue
        try:
            array = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"data[{key!r}] for program {name!r} must be numeric") from None
        if not np.all(np.isfinite(array)):
            raise ValueError(f"data[{key!r}] for program {name!r} contains NaN or inf")
        kind, sizes = declared[key]
        if array.ndim != len(sizes):
            raise ValueError(
                f"data[{key!r}] for program {name!r} must have {len(sizes)} dimension(s); got shape {array.shape}"
            )
        for axis, size in enumerate(sizes):
            if size is None:
                continue  # not read (see the module docstring): Stan checks it
            expected = data.get(size) if re.fullmatch(r"\w+", size) else None
            if size.isdigit():
                expected = int(size)
            if expected is not None and array.shape[axis] != int(expected):
                raise ValueError(
                    f"data[{key!r}] for program {name!r} has length {array.shape[axis]} along axis {axis}; "
                    f"the program declares it [{size}] = {int(expected)}"
                )
        if kind == "int":
            if not np.all(array == np.round(array)):
                raise ValueError(f"data[{key!r}] for program {name!r} must hold whole numbers")
            prepared[key] = array.astype(int).tolist() if array.ndim else int(array)
        else:
            prepared[key] = array.tolist() if array.ndim else float(array)
    return prepared
