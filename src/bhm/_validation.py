"""The input checks every module of bhm shares: seeds, whole numbers, finite and positive numbers, finite 1-D arrays.

One policy for seeds, as scikit-learn's ``check_random_state`` but stricter:
every stochastic function of bhm takes ``seed``, an int >= 0 or a
``numpy.random.Generator``, and **None is rejected** (it would draw a new seed
from the operating system at every call: the book promises the same numbers
from the same command). A Generator is used as it is, so a caller can thread
one stream through several calls.

Each check raises ValueError naming the argument and what it got (the book's
rule: a clear error, never a silently wrong number), and returns the value in
the type the caller computes with.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["finite", "finite_1d", "positive", "real", "rng", "stan_seed", "whole_number"]


def rng(seed, name: str = "seed") -> np.random.Generator:
    """The random number generator of ``seed``.

    Parameters
    ----------
    seed : int or numpy.random.Generator
        An int >= 0 seeds a new ``numpy.random.default_rng``; a Generator is
        returned as it is.
    name : str
        The argument's name, for the error message.

    Returns
    -------
    numpy.random.Generator

    Raises
    ------
    ValueError
        None, a bool, a float, a negative int or anything else.

    Examples
    --------
    >>> rng(1).integers(10, size=3).tolist()
    [4, 5, 7]
    >>> rng(None)
    Traceback (most recent call last):
    ...
    ValueError: seed is required: an int >= 0 or a numpy.random.Generator (None: other numbers at every run)
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        raise ValueError(f"{name} is required: an int >= 0 or a numpy.random.Generator "
                         "(None: other numbers at every run)")
    if _is_whole(seed) and seed >= 0:
        return np.random.default_rng(int(seed))
    raise ValueError(f"{name} must be an int >= 0 or a numpy.random.Generator; got {seed!r}")


def stan_seed(seed, name: str = "seed") -> int:
    """A seed for Stan: a whole number in [0, 2**31).

    Parameters
    ----------
    seed : int
    name : str
        The argument's name, for the error message.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        Anything else, None included.
    """
    if not (_is_whole(seed) and 0 <= seed < 2**31):
        raise ValueError(f"{name} must be a whole number in [0, 2**31); got {seed!r}")
    return int(seed)


def whole_number(value, name: str, minimum: int = 0) -> int:
    """``value`` as an int, if it is a whole number (not a bool) >= ``minimum``.

    Parameters
    ----------
    value : int
        A Python or NumPy integer.
    name : str
        The argument's name, for the error message.
    minimum : int
        The smallest value allowed.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        A bool, a float (even 2.0), a string, or a number below ``minimum``.

    Examples
    --------
    >>> whole_number(np.int64(3), "n_reps", 2)
    3
    >>> whole_number(1, "n_reps", 2)
    Traceback (most recent call last):
    ...
    ValueError: n_reps must be a whole number >= 2; got 1
    """
    if not (_is_whole(value) and value >= minimum):
        raise ValueError(f"{name} must be a whole number >= {minimum}; got {value!r}")
    return int(value)


def real(value) -> bool:
    """True for one real number (Python or NumPy scalar or 0-d array), not a bool.

    Parameters
    ----------
    value : object

    Returns
    -------
    bool
    """
    if isinstance(value, (bool, np.bool_)):
        return False
    return isinstance(value, numbers.Real) or (
        isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iuf"
    )


def finite(value, name: str) -> float:
    """``value`` as a float, if it is one finite number.

    Parameters
    ----------
    value : float
        Anything ``float()`` reads as a finite number (not a bool).
    name : str
        The argument's name, for the error message.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Not a number, or NaN or infinite.
    """
    number = _as_float(value)
    if not np.isfinite(number):
        raise ValueError(f"{name} must be a finite number; got {value!r}")
    return number


def positive(value, name: str) -> float:
    """``value`` as a float, if it is a finite number > 0.

    Parameters
    ----------
    value : float
    name : str
        The argument's name, for the error message.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Not a number, not finite, or <= 0.

    Examples
    --------
    >>> positive(-1, "sigma")
    Traceback (most recent call last):
    ...
    ValueError: sigma must be a positive, finite number; got -1
    """
    number = _as_float(value)
    if not (np.isfinite(number) and number > 0):
        raise ValueError(f"{name} must be a positive, finite number; got {value!r}")
    return number


def finite_1d(values, name: str) -> np.ndarray:
    """``values`` as a new 1-D float array, if it is a non-empty sequence of finite numbers.

    Parameters
    ----------
    values : array_like, shape (n,)
        Numbers, ``n >= 1``, none NaN or infinite.
    name : str
        The argument's name, for the error message.

    Returns
    -------
    numpy.ndarray, shape (n,)
        A copy, as float: the caller may change it in place.

    Raises
    ------
    ValueError
        Not numbers, not one-dimensional, empty, or with a NaN or infinite value.

    Examples
    --------
    >>> finite_1d([1, 2], "x0")
    array([1., 2.])
    >>> finite_1d([[1.0]], "x0")
    Traceback (most recent call last):
    ...
    ValueError: x0 must be a 1-D array, not empty; got shape (1, 1)
    >>> finite_1d([0.0, float("nan")], "x0")
    Traceback (most recent call last):
    ...
    ValueError: x0 must be finite; 1 of its 2 values are NaN or infinite (the first at index 1)
    """
    try:
        array = np.array(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a 1-D array of numbers; got {type(values).__name__}") from None
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a 1-D array, not empty; got shape {array.shape}")
    bad = ~np.isfinite(array)
    if bad.any():
        raise ValueError(f"{name} must be finite; {bad.sum()} of its {array.size} values are NaN or infinite "
                         f"(the first at index {np.flatnonzero(bad)[0]})")
    return array


def _as_float(value) -> float:
    """``float(value)``, or NaN for a bool or anything float() cannot read."""
    if isinstance(value, (bool, np.bool_)):
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _is_whole(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
