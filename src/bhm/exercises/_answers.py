"""Reading an answer: a number, a pair, a whole number, a probability, or Wrong with a hint about what was given."""

from __future__ import annotations

import math

import numpy as np

from bhm.exercises import Wrong


def _describe(answer) -> str:
    if answer is None:
        return "None"
    if isinstance(answer, str):
        return f"the string {answer!r}"
    shape = getattr(answer, "shape", None)
    if shape is not None and shape != ():
        return f"an array of shape {tuple(shape)}"
    if isinstance(answer, (list, tuple)):
        return f"a {type(answer).__name__} of length {len(answer)}"
    return f"a {type(answer).__name__}"


def _number(answer, what: str) -> float:
    """One finite number, or Wrong with a hint about type and shape."""
    if answer is None or isinstance(answer, (str, bytes, bool, np.bool_)) or callable(answer):
        raise Wrong(f"expected one number ({what}); you gave {_describe(answer)}")
    try:
        array = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        raise Wrong(f"expected one number ({what}); you gave {_describe(answer)}") from None
    if array.size != 1:
        raise Wrong(f"expected one number ({what}); you gave {_describe(answer)}")
    value = float(array.reshape(()))
    if not math.isfinite(value):
        raise Wrong(f"your answer is {value}; expected a finite number ({what})")
    return value


def _mean_and_sd(answer, what: str) -> tuple[float, float]:
    """A pair (mean, sd), or a frozen scipy.stats distribution."""
    if hasattr(answer, "dist") and callable(getattr(answer, "mean", None)) and callable(getattr(answer, "std", None)):
        mean, sd = float(answer.mean()), float(answer.std())
    else:
        if answer is None or isinstance(answer, (str, bytes)) or callable(answer):
            raise Wrong(f"expected {what} as a pair (mean, sd) or a frozen scipy.stats distribution; "
                        f"you gave {_describe(answer)}")
        try:
            array = np.asarray(answer, dtype=float)
        except (TypeError, ValueError):
            raise Wrong(f"expected {what} as a pair (mean, sd) of numbers; you gave {_describe(answer)}") from None
        if array.shape != (2,):
            raise Wrong(f"expected {what} as a pair (mean, sd); you gave {_describe(answer)}")
        mean, sd = (float(v) for v in array)
    if not (math.isfinite(mean) and math.isfinite(sd)):
        raise Wrong(f"your mean or sd is not finite ({mean}, {sd}); expected {what}")
    if sd <= 0:
        raise Wrong(f"a standard deviation is positive; yours is {sd:g}")
    return mean, sd


def _whole_number(answer, what: str) -> int:
    value = _number(answer, what)
    if value != round(value):
        raise Wrong(f"{what} is a whole number; you gave {value:g}")
    return int(round(value))


def _probability(answer, what: str) -> float:
    value = _number(answer, what)
    if 1 < value <= 100:
        raise Wrong(f"give {what} as a fraction between 0 and 1, not a percentage")
    if not 0 <= value <= 1:
        raise Wrong(f"{what} lies between 0 and 1; you gave {value:g}")
    return value
