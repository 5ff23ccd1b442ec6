"""Exercises that answer back: answer checks, and the student notebooks.

The book's chapters end with exercises (sphinx-exercise). Every exercise that asks
for a number or for code ends with a **check**::

    from bhm.exercises import check
    check("ex1-alpha", alpha_25)

which prints one plain-text line and returns a :class:`CheckResult`:

* ``✓ ex1-alpha: right``;
* ``✗ ex1-alpha: wrong. Hint: ...``, the hint naming what is expected (type,
  shape, range, order of magnitude, the formula to revisit) without the answer;
* ``… ex1-alpha: not answered yet ...`` when the answer is ``...`` (Ellipsis), the
  value every stub of a student notebook assigns.

Numbers may be Python or NumPy scalars or one-element arrays; a distribution may
be a pair ``(mean, sd)`` or a frozen ``scipy.stats`` distribution. A check never
raises on the answer: a string, ``None``, NaN, a wrong shape, a
function that raises, all are wrong answers with a hint. (An unknown check *name*
is a mistake in the book, not in an answer, and raises ``KeyError``.)

The registry
------------
:data:`CHECKS` maps each name to a :class:`Check`: the label of the exercise it
belongs to, the chapter, a ``prompt`` (what to assign; it becomes the ``# TODO``
comment of the stub) and a ``judge``. A judge takes the answer and raises
:class:`Wrong` with a hint if it is wrong. Expected values are **computed** by the
judges, from :mod:`bhm.conjugate`, :mod:`bhm.mcmc`, :mod:`bhm.diagnostics`,
:mod:`bhm.gcse` and the committed study results, with the chapters' data and
seeds; they are computed only when an answer arrives, and cached. Typed in
are only reference values of long Monte Carlo runs or integrations that a
check cannot repeat, each with its provenance beside it: ``ex4-eta`` (four
runs of chapter 4's Stan fit), chapter 6's three posterior probabilities
(``_GCSE_REFERENCE``: they would need a Stan fit of the GCSE model per check)
and ``ex7-narrow`` (a numerical integration). Tolerances fit the question:

* closed forms: an absolute tolerance that admits answers rounded as the
  exercise suggests (alpha to three decimals, points to two);
* Monte Carlo answers (a probability, a mean or an ESS from MCMC draws, the
  mean of a student's own sampler): the exact value (the conjugate posterior
  probability, a mean by quadrature, the exact efficiency curve of a random
  walk on a normal target) with a tolerance of four to five Monte Carlo
  standard errors, so any correct run, with any seed, passes;
* a Monte Carlo standard error: within 25 % of ArviZ's estimate for the
  chapter's run (estimates by ESS or by batch means agree to that; the iid
  formula, off by a factor of two here, does not);
* answers that depend on one run and have no exact value (the R-hat of a stuck
  sampler): the run is repeated with the chapter's seed;
* answers that are a function (``ex3-split``): the function is called on test
  draws and compared with a reference implementation.

Where things are
----------------
The registry and :func:`check` are here; the judges, one module per pair of
chapters (``_ch1_2``, ``_ch3_5``, ``_ch6_7``), register themselves when this
package is imported; ``_answers`` reads answers (a number, a pair, a
probability) and ``_reference`` computes the chapters' data the judges share.
Writing the student notebooks is a build step, not a check, and lives in
:mod:`bhm.notebooks` (its names stay importable from here too).

Adding a check: write its judge in its chapter's module, registered with
``@_register(name, exercise=label, chapter=n, prompt=...)``; call it after
``# check`` in the exercise's solution (:mod:`bhm.notebooks` says why the
answer must be a variable); give ``tests/test_exercises.py`` right answers
(reached other ways than the book's) and typical wrong ones for it. The tests
check that every registered check is used in its exercise's solution and every
check used is registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CHECKS",
    "CHECK_MARKER",
    "Check",
    "CheckResult",
    "Wrong",
    "check",
]

RIGHT, WRONG, NOT_ANSWERED = "right", "wrong", "not answered"
#: The line in a solution cell above the check calls (see :mod:`bhm.notebooks`).
CHECK_MARKER = "# check"


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class CheckResult:
    """What :func:`check` found.

    Attributes
    ----------
    name : str
        The check's name, e.g. ``"ex1-alpha"``.
    status : str
        ``"right"``, ``"wrong"`` or ``"not answered"``.
    message : str
        The plain-text line :func:`check` printed (with the hint when wrong).
    """

    name: str
    status: str
    message: str

    @property
    def right(self) -> bool:
        """True if the answer is right."""
        return self.status == RIGHT

    def __str__(self) -> str:
        return self.message

    def _ipython_display_(self):
        # check() has printed the message already; a check call as the last line
        # of a cell must not show it twice.
        return None


class Wrong(Exception):
    """Raised by a judge: the answer is wrong; the message is the hint."""


@dataclass(frozen=True)
class Check:
    """One registered check.

    Attributes
    ----------
    name : str
        Name used in ``check(name, answer)``.
    exercise : str
        Label of the exercise (sphinx-exercise ``:label:``) whose solution calls it.
    chapter : int
        Chapter number.
    prompt : str
        What to assign, shown as ``# TODO`` in the student notebook's stub.
    judge : callable
        ``judge(answer)`` returns if the answer is right and raises
        :class:`Wrong` with a hint otherwise.
    """

    name: str
    exercise: str
    chapter: int
    prompt: str
    judge: Callable[[Any], None]


CHECKS: dict[str, Check] = {}


def _register(name, *, exercise, chapter, prompt):
    def decorator(judge):
        CHECKS[name] = Check(name=name, exercise=exercise, chapter=chapter, prompt=prompt, judge=judge)
        return judge

    return decorator


def check(name: str, answer: Any) -> CheckResult:
    """Check an answer to an exercise, print the verdict and return it.

    Parameters
    ----------
    name : str
        Name of the check, as given in the exercise (a key of :data:`CHECKS`).
    answer : object
        Your answer; ``...`` (Ellipsis) means not answered yet.

    Returns
    -------
    CheckResult
        With ``status`` ``"right"``, ``"wrong"`` or ``"not answered"``.

    Raises
    ------
    KeyError
        If no check has this name (a mistake in the book, not in the answer).

    Examples
    --------
    >>> check("ex3-rhat-by-hand", ...).status
    … ex3-rhat-by-hand: not answered yet (replace the ... by your answer)
    'not answered'
    """
    if name not in CHECKS:
        raise KeyError(f"no check named {name!r}; the checks are {sorted(CHECKS)}")
    if answer is Ellipsis:
        result = CheckResult(name, NOT_ANSWERED, f"… {name}: not answered yet (replace the ... by your answer)")
    else:
        try:
            CHECKS[name].judge(answer)
        except Wrong as wrong:
            result = CheckResult(name, WRONG, f"✗ {name}: wrong. Hint: {wrong}")
        except Exception as error:  # noqa: BLE001 - an answer never raises a traceback
            result = CheckResult(
                name, WRONG,
                f"✗ {name}: wrong. Hint: your answer could not be used ({type(error).__name__}: {error}); "
                f"expected {CHECKS[name].prompt}",
            )
        else:
            result = CheckResult(name, RIGHT, f"✓ {name}: right")
    print(result.message)
    return result


# The judges register themselves in CHECKS.
from bhm.exercises import _ch1_2, _ch3_5, _ch6_7  # noqa: E402, F401

#: Names of the student-notebook writer, which moved to bhm.notebooks; still importable from here.
_NOTEBOOK_NAMES = ("chapter_files", "check_calls", "default_book_dir", "student_notebook",
                   "write_student_notebooks")


def __getattr__(name: str):
    if name in _NOTEBOOK_NAMES:
        from bhm import notebooks

        return getattr(notebooks, name)
    raise AttributeError(f"module 'bhm.exercises' has no attribute {name!r}")
