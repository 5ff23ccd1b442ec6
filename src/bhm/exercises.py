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
judges, from :mod:`bhm.conjugate`, :mod:`bhm.mcmc` and :mod:`bhm.diagnostics`
with the chapters' data and seeds; they are computed only when an answer
arrives, and cached. The one exception is chapter 6: its three posterior
probabilities would need a Stan fit of the GCSE model per check, so they are
typed in from the book's fit (``_GCSE_REFERENCE``) with a tolerance of about
four Monte Carlo standard errors. Tolerances fit the question:

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

The solution cells and the student notebooks
--------------------------------------------
In a chapter, an exercise's solution is the text between ``{solution-start}`` and
``{solution-end}``; its code cells end with a marker line ``# check`` followed by
the check calls, so the book shows "✓ ... right" inside the dropdown::

    alpha_25 = conjugate.posterior_weight(25, sigma=15.0, sigma0=5.0)
    print(round(alpha_25, 4))
    # check
    check("ex1-alpha", alpha_25)

:func:`student_notebook` (``python -m bhm exercises --out DIR``) reads a chapter
with jupytext and writes it with nbformat, keeping the prose, the worked examples
and the hidden assert cells (they check the worked examples), and turning
sphinx-exercise and MyST markup into plain Markdown. In each solution it

* drops the solution prose, leaving a short "write your solution" note;
* replaces the code above ``# check`` by a **stub**: for each check
  ``check(name, variable)`` below the marker, the line
  ``variable = ...  # TODO: <prompt>``, valid Python that assigns Ellipsis;
* keeps the lines after ``# check`` unchanged.

So the second argument of a check call in a solution cell must be a plain
variable name. A student notebook run unchanged reports "not answered yet" at
every check, and no cell fails. A solution code cell without the marker (a
chapter without checks) becomes a ``# TODO`` comment.

Adding a check: write its judge below, registered with ``@_register(name,
exercise=label, chapter=n, prompt=...)``; call it after ``# check`` in the
exercise's solution; give ``tests/test_exercises.py`` right answers (reached
other ways than the book's) and typical wrong ones for it. The tests check that
every registered check is used in its exercise's solution and every check used
is registered.
"""

from __future__ import annotations

import ast
import functools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

__all__ = [
    "CHECKS",
    "Check",
    "CheckResult",
    "Wrong",
    "chapter_files",
    "check",
    "check_calls",
    "student_notebook",
    "write_student_notebooks",
]

RIGHT, WRONG, NOT_ANSWERED = "right", "wrong", "not answered"
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


# --------------------------------------------------------------------------- reading answers


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


# --------------------------------------------------------------------------- the chapters' data


@functools.lru_cache(maxsize=None)
def _scores() -> np.ndarray:
    """Chapters 1 and 2: the ten simulated course-work scores (seed 20261125)."""
    return np.random.default_rng(20261125).normal(72.0, 15.0, size=10)


SIGMA, MU0, SIGMA0 = 15.0, 60.0, 10.0  # chapters 1 and 2: known sd, prior mean and sd (points)


@functools.lru_cache(maxsize=None)
def _exact_posterior():
    from bhm import conjugate

    return conjugate.normal_posterior(_scores(), sigma=SIGMA, mu0=MU0, sigma0=SIGMA0)


def _log_posterior(mu):
    """Chapter 2's log target: log p(y | mu) + log p(mu), mu of shape (n_chains, 1)."""
    from scipy import stats

    mu = mu[:, 0]
    return stats.norm.logpdf(mu, MU0, SIGMA0) + stats.norm.logpdf(_scores()[:, None], mu, SIGMA).sum(axis=0)


@functools.lru_cache(maxsize=None)
def _good_run_indicator() -> np.ndarray:
    """Chapter 2's run ``result`` (4 chains x 5,000, step 10, seed 3): 1{mu > 70}."""
    from bhm import mcmc

    run = mcmc.metropolis_hastings(_log_posterior, np.full((4, 1), 60.0), 5000, step=10.0, seed=3)
    return (run.draws[..., 0] > 70).astype(float)


@functools.lru_cache(maxsize=None)
def _good_run_mcse() -> float:
    import arviz as az

    return float(az.mcse(az.from_dict(posterior={"h": _good_run_indicator()}))["h"])


def _log_bimodal(x):
    """Chapter 3's target: an equal mixture of N(-5, 1) and N(5, 1), up to a constant."""
    x = x[:, 0]
    return np.logaddexp(-0.5 * (x + 5) ** 2, -0.5 * (x - 5) ** 2)


@functools.lru_cache(maxsize=None)
def _bimodal_rhat(n_draws: int) -> float:
    """Chapter 3: classic R-hat of 4 chains from (-10, -3, 3, 10), step 1, seed 4."""
    from bhm import diagnostics, mcmc

    x0 = np.array([[-10.0], [-3.0], [3.0], [10.0]])
    run = mcmc.metropolis_hastings(_log_bimodal, x0, n_draws, step=1.0, seed=4)
    return diagnostics.gelman_rubin(run.draws[..., 0])


# --------------------------------------------------------------------------- chapter 1


@_register("ex1-alpha", exercise="ex1-alpha", chapter=1,
           prompt="the weight alpha of the data for n = 25, sigma = 15, sigma0 = 5 (a number)")
def _ex1_alpha(answer):
    from bhm import conjugate

    value = _number(answer, "the weight alpha")
    if not 0 <= value <= 1:
        raise Wrong(f"alpha is the data's share of the total precision, so it lies between 0 and 1; "
                    f"you gave {value:g}")
    if abs(value - conjugate.posterior_weight(25, sigma=15.0, sigma0=5.0)) > 5e-4:
        raise Wrong("revisit alpha = (n/sigma^2) / (n/sigma^2 + 1/sigma0^2), the data's share of the "
                    "precision, with n = 25, sigma = 15 and sigma0 = 5 (precisions use variances)")


@_register("ex1-alpha-mean", exercise="ex1-alpha", chapter=1,
           prompt="the posterior mean in points when ybar = 70 (a number)")
def _ex1_alpha_mean(answer):
    from bhm import conjugate

    value = _number(answer, "the posterior mean in points")
    if not 60 <= value <= 70:
        raise Wrong("the posterior mean lies between the prior mean (60 points) and the sample mean "
                    f"(70 points); you gave {value:g}")
    alpha = conjugate.posterior_weight(25, sigma=15.0, sigma0=5.0)
    if abs(value - (alpha * 70 + (1 - alpha) * 60)) > 0.01:
        raise Wrong("the posterior mean is alpha * ybar + (1 - alpha) * mu0, with alpha from the first part "
                    "(give it to two decimals or better)")


@_register("ex1-flat", exercise="ex1-flat", chapter=1,
           prompt="the smallest prior sd sigma0 (points) at which the posterior sd is within 1% of "
                  "sigma/sqrt(n), for the ten scores y (a number)")
def _ex1_flat(answer):
    n = _scores().size
    value = _number(answer, "a prior sd sigma0 in points")
    if value <= 0:
        raise Wrong(f"a standard deviation is positive; you gave {value:g}")
    flat_sd = SIGMA / np.sqrt(n)

    def sigma0_for(sd_ratio, scale):  # sigma_mu / scale = sd_ratio  <=>  sigma0 = scale * r / sqrt(1 - r^2)
        return scale * sd_ratio / np.sqrt(1 - sd_ratio**2)

    if abs(value - sigma0_for(0.99, flat_sd)) <= 0.1:  # "to 0.1 or better"; the mistakes are >= 13 away
        return
    if abs(value - sigma0_for(np.sqrt(0.99), flat_sd)) <= 0.1:
        raise Wrong("that puts the posterior *variance* within 1% of sigma^2/n; the question asks for the "
                    "sd (sd, not variance): sigma_mu >= 0.99 * sigma/sqrt(n)")
    if min(abs(value - sigma0_for(r, SIGMA)) for r in (0.99, np.sqrt(0.99))) <= 0.2:
        raise Wrong("the flat prior's sd is that of a mean of n = 10 scores, sigma/sqrt(n), not sigma")
    raise Wrong("write sigma_mu^2 = (n/sigma^2 + 1/sigma0^2)^(-1), set sigma_mu = 0.99 * sigma/sqrt(n) "
                "and solve for sigma0 (n = 10, sigma = 15); give it to 0.1 point or better")


@_register("ex1-sequential", exercise="ex1-sequential", chapter=1,
           prompt="the posterior after the second step, as (mean, sd) or a frozen scipy.stats distribution")
def _ex1_sequential(answer):
    exact = _exact_posterior()
    mean, sd = _mean_and_sd(answer, "the posterior after both halves")
    if abs(mean - exact.mean()) <= 5e-3 and abs(sd - exact.std()) <= 5e-3:
        return
    raise Wrong("step 1: the posterior from y[:5] under the prior N(60, 10^2); step 2: that posterior "
                "as the prior of y[5:], i.e. mu0 = its mean and sigma0 = its sd (not its variance), "
                "with the same sigma = 15")


@functools.lru_cache(maxsize=None)
def _conflict_posterior():
    """Chapter 1's prior-data conflict: the ten scores under the prior N(40, 5^2)."""
    from bhm import conjugate

    return conjugate.normal_posterior(_scores(), sigma=SIGMA, mu0=40.0, sigma0=5.0)


@_register("ex1-conflict", exercise="ex1-conflict", chapter=1,
           prompt="the posterior of mu under the prior N(40, 5^2), as (mean, sd) or a frozen scipy.stats "
                  "distribution")
def _ex1_conflict(answer):
    from bhm import conjugate

    exact = _conflict_posterior()
    mean, sd = _mean_and_sd(answer, "the posterior of mu under the prior N(40, 5^2)")
    if abs(mean - exact.mean()) <= 0.01 and abs(sd - exact.std()) <= 0.01:
        return
    y = _scores()
    variance_as_sd = conjugate.normal_posterior(y, sigma=SIGMA, mu0=40.0, sigma0=np.sqrt(5.0))
    if abs(mean - variance_as_sd.mean()) <= 0.05:
        raise Wrong("the prior N(40, 5^2) has sd 5 and variance 25: its precision is 1/25, not 1/5 "
                    "(variance vs sd)")
    if abs(mean - (40 + (y.mean() - 40) * (1 / 225) / (1 / 225 + 1 / 25))) <= 0.05:
        raise Wrong("the data's precision is n/sigma^2 = 10/225: the mean of ten scores, not one")
    if abs(mean - exact.mean()) <= 0.01 and abs(sd - exact.var()) <= 0.05:
        raise Wrong("your mean is right, but that sd is the posterior variance; take its square root")
    if abs(mean - exact.mean()) <= 0.01:
        raise Wrong("your mean is right; the posterior sd is (n/sigma^2 + 1/sigma0^2)^(-1/2), "
                    "smaller than both the prior's 5 and the data's sigma/sqrt(n)")
    if not 40 < mean < y.mean():
        raise Wrong(f"the posterior mean lies between the prior mean (40) and the sample mean "
                    f"({y.mean():.2f}); you gave {mean:g}")
    raise Wrong("use the conjugate posterior with mu0 = 40 and sigma0 = 5 for the ten scores y "
                "(sigma = 15): alpha * ybar + (1 - alpha) * mu0, and precisions add")


@_register("ex1-conflict-p", exercise="ex1-conflict", chapter=1,
           prompt="P(mu > 60 | y) under the prior N(40, 5^2) (a probability)")
def _ex1_conflict_p(answer):
    from scipy import stats

    value = _probability(answer, "P(mu > 60 | y)")
    exact = _conflict_posterior()
    if abs(value - exact.sf(60)) <= 2e-3:
        return
    y = _scores()
    if abs(value - exact.cdf(60)) <= 2e-3:
        raise Wrong("that is P(mu < 60 | y); the question asks for the upper tail, mu > 60")
    if abs(value - stats.norm(y.mean(), SIGMA / np.sqrt(y.size)).sf(60)) <= 2e-3:
        raise Wrong("that is the probability under the likelihood alone (a flat prior); use the posterior "
                    "under the prior N(40, 5^2)")
    if value < 1e-3:
        raise Wrong("far too small: check the prior's precision (sd 5, variance 25) and that the data "
                    "enter as n/sigma^2; the posterior mean lies between 40 and the sample mean")
    raise Wrong("P(mu > 60 | y) = 1 - Phi((60 - mu_bar) / sigma_mu) with the posterior of the first "
                "part; scipy: its .sf(60)")


def _interval(answer, what: str) -> tuple[float, float]:
    """A pair (lower, upper) of finite numbers with lower < upper, or Wrong with a hint."""
    if answer is None or isinstance(answer, (str, bytes)) or callable(answer):
        raise Wrong(f"expected {what} as a pair (lower, upper); you gave {_describe(answer)}")
    try:
        array = np.asarray(answer, dtype=float).ravel()
    except (TypeError, ValueError):
        raise Wrong(f"expected {what} as a pair (lower, upper) of numbers; you gave {_describe(answer)}") from None
    if array.size != 2 or not np.all(np.isfinite(array)):
        raise Wrong(f"expected {what} as a pair (lower, upper) of finite numbers; you gave {_describe(answer)}")
    lower, upper = (float(v) for v in array)
    if lower >= upper:
        raise Wrong(f"an interval's lower end comes first and is smaller; you gave ({lower:g}, {upper:g})")
    return lower, upper


@_register("ex1-predict-interval", exercise="ex1-predict", chapter=1,
           prompt="the 90% central credible interval of mu, as a pair (lower, upper) in points")
def _ex1_predict_interval(answer):
    from scipy import stats

    lower, upper = _interval(answer, "the 90% central credible interval of mu")
    exact = _exact_posterior()

    def near(pair, tol=0.03):  # admits z = 1.64 for 1.645 (ends off by 0.021)
        return abs(lower - pair[0]) <= tol and abs(upper - pair[1]) <= tol

    if near(exact.interval(0.90)):
        return
    y = _scores()
    if near(stats.norm(y.mean(), SIGMA / np.sqrt(y.size)).interval(0.90), 0.05):
        raise Wrong("that interval is centred on the sample mean: it is the 90% confidence interval "
                    "(the flat prior's), not the credible interval of this posterior")
    if near(exact.interval(0.95), 0.05):
        raise Wrong("that is the 95% interval; the question asks for 90% (quantiles 0.05 and 0.95)")
    if near(stats.norm(exact.mean(), np.sqrt(SIGMA**2 + exact.var())).interval(0.90), 0.05):
        raise Wrong("that is the predictive interval of one new student's score; the credible interval "
                    "is for mu, with sd sigma_mu")
    if near(stats.norm(exact.mean(), exact.var()).interval(0.90), 0.05):
        raise Wrong("the interval's half-width uses the posterior sd sigma_mu, not the variance")
    raise Wrong("the central 90% interval runs from the posterior's 5% quantile to its 95% quantile: "
                "mu_bar -/+ 1.645 * sigma_mu (scipy: .ppf([0.05, 0.95]) or .interval(0.9))")


@_register("ex1-predict-five", exercise="ex1-predict", chapter=1,
           prompt="P(mean of five new students' scores > 70 | y) (a probability)")
def _ex1_predict_five(answer):
    from scipy import stats

    value = _probability(answer, "the probability that the five new students average above 70")
    exact = _exact_posterior()

    def tail(variance):
        return stats.norm(exact.mean(), np.sqrt(variance)).sf(70)

    # 0.006: about four Monte Carlo sds of a simulation with 10^5 draws (sd 0.0015);
    # the nearest mistake below (sigma_mu^2 left out) is 0.020 away
    if abs(value - tail(SIGMA**2 / 5 + exact.var())) <= 6e-3:
        return
    if abs(value - tail(SIGMA**2 / 5)) <= 2e-3:
        raise Wrong("you left out the uncertainty about mu: the five students' mean is mu plus the mean "
                    "of five errors, so its variance is sigma^2/5 + sigma_mu^2")
    if abs(value - tail(exact.var())) <= 2e-3:
        raise Wrong("that is P(mu > 70 | y): the mean of five students adds their own variation, "
                    "sigma^2/5, to the posterior variance")
    if abs(value - tail(SIGMA**2 + exact.var())) <= 2e-3:
        raise Wrong("that is for one new student; the mean of five errors has variance sigma^2/5, not sigma^2")
    if abs(value - (1 - tail(SIGMA**2 / 5 + exact.var()))) <= 2e-3:
        raise Wrong("that is the lower tail; the question asks for a mean above 70")
    raise Wrong("the mean of five new scores is mu + (mean of five errors): given y it is normal with mean "
                "mu_bar and variance sigma^2/5 + sigma_mu^2 (variances add, not sds)")


# --------------------------------------------------------------------------- chapter 2

# ex2-step-sweep: the step of the random walk against the ESS per iteration.
# One ESS estimate from 4 chains x 5,000 draws has a relative Monte Carlo sd of about 0.065
# (measured over 200 seeds: 0.063, 0.053 and 0.055 at steps of 1, 2.4 and 5 posterior sds).
_SWEEP_DIFF_REL_SD = 0.06  # sd of ESS(step) - ESS(best) over e*, all steps run with the same seed
# (measured over 150 sweeps: 0.055 to 0.060 for the steps 2 to 30 against the step 10)
_SWEEP_ESS_TOL = 0.20  # relative tolerance of the best ESS per iteration: the maximum over the
# steps of a sweep has a relative sd of 0.043 around e* (150 sweeps: -8% to +16%)


@functools.lru_cache(maxsize=None)
def _rwm_efficiency(ell: float) -> float:
    """ESS per iteration of the mean, Gaussian random walk with step ``ell`` on N(0, 1).

    Exact for the random walk discretised on a grid of spacing 0.04 on [-8, 8] (a
    finer grid changes it by less than 1e-4): with P the transition matrix, the
    asymptotic variance of the sample mean of x is 2 <x, g> - <x, x> (inner products
    under pi) with g solving the Poisson equation (I - P) g = x, and the ESS per
    iteration is Var(x) over it. Simulations agree: 0.2264 ± 0.0009 at ell = 2.4
    (800 chains x 5,000), against 0.2275 here.
    """
    from scipy import stats

    h = 0.04
    x = np.arange(-8.0, 8.0 + h / 2, h)
    log_pi = -0.5 * x**2
    pi = np.exp(log_pi) / np.exp(log_pi).sum()
    accept = np.exp(np.minimum(log_pi[None, :] - log_pi[:, None], 0.0))
    P = stats.norm.pdf(x[None, :] - x[:, None], scale=ell) * h * accept
    np.fill_diagonal(P, 0.0)
    np.fill_diagonal(P, 1.0 - P.sum(axis=1))  # rejections, and candidates off the grid
    f = x - pi @ x
    g = np.linalg.solve(np.eye(x.size) - P + np.outer(np.ones(x.size), pi), f)
    variance = pi @ f**2
    return float(variance / (2 * pi @ (f * g) - variance))


@functools.lru_cache(maxsize=None)
def _sweep_band() -> tuple[float, float, float]:
    """(lowest, highest step in points that a correct sweep can find best, best ESS per iteration).

    The efficiency curve is flat near its maximum e*: a step whose true ESS per iteration
    is e can beat the best one in a sweep when the difference of the two estimates makes
    up for e* - e. The sweep runs every step with the same seed (common random numbers),
    so the two estimates are correlated and the sd of their difference is about 0.06 e*
    (measured), less than the sqrt(2) * 0.065 e* of independent runs. The band holds the
    steps with e >= e* (1 - 4 * 0.06), four sds of that difference: about 6.0 to 19.6
    points, which excludes 22, the step whose acceptance rate is nearest 0.234.
    """
    from scipy import optimize

    sd = _exact_posterior().std()
    best = optimize.minimize_scalar(lambda ell: -_rwm_efficiency(ell), bounds=(1.0, 5.0),
                                    method="bounded", options={"xatol": 1e-3})
    ell_best, e_best = float(best.x), -float(best.fun)
    threshold = e_best * (1 - 4 * _SWEEP_DIFF_REL_SD)
    low = optimize.brentq(lambda ell: _rwm_efficiency(ell) - threshold, 0.2, ell_best, xtol=1e-3)
    high = optimize.brentq(lambda ell: _rwm_efficiency(ell) - threshold, ell_best, 20.0, xtol=1e-3)
    return low * sd, high * sd, e_best


@_register("ex2-best-step", exercise="ex2-step-sweep", chapter=2,
           prompt="the step (in points) with the highest ESS per iteration in your sweep (a number)")
def _ex2_best_step(answer):
    value = _number(answer, "a step in points")
    if value <= 0:
        raise Wrong(f"a step is the sd of the random walk's increment, so it is positive; you gave {value:g}")
    low, high, _ = _sweep_band()
    if low <= value <= high:
        return
    if value < 3:
        raise Wrong("give the step in points, the unit of mu, not in posterior sds; if you did, the step "
                    "is too small: is it the one with the highest ESS per iteration, not the highest "
                    "acceptance rate?")
    if value < low:
        raise Wrong("too small: with a small step nearly every candidate is accepted but the chain crawls, so "
                    "the ESS per iteration is low; pick the step whose ESS / (4 x 5,000) is highest, not the "
                    "one with the highest acceptance rate")
    raise Wrong("too large: most candidates are rejected at that step; pick the step whose ESS / (4 x 5,000) "
                "is highest (an acceptance rate near 0.23 is the optimum only in many dimensions)")


@_register("ex2-best-ess", exercise="ex2-step-sweep", chapter=2,
           prompt="the highest ESS per iteration of the sweep (a number between 0 and 1)")
def _ex2_best_ess(answer):
    value = _number(answer, "an ESS per iteration")
    if value > 100:
        raise Wrong("that looks like the ESS itself; the ESS per iteration divides it by the number of draws, "
                    "4 chains x 5,000 iterations")
    if not 0 < value <= 1:
        raise Wrong(f"the ESS per iteration of a random walk lies between 0 and 1; you gave {value:g}")
    _, _, e_best = _sweep_band()
    if abs(value - e_best) <= _SWEEP_ESS_TOL * e_best:
        return
    if abs(value / 4 - e_best) <= _SWEEP_ESS_TOL * e_best:
        raise Wrong("divide the ESS of all 4 chains by all their draws, 4 x 5,000 = 20,000, not by the "
                    "5,000 iterations of one chain")
    raise Wrong("the ESS per iteration is az.ess of the 4 chains' draws of mu divided by 20,000; take its "
                "largest value over the steps of the sweep (is yours the acceptance rate?)")


@_register("ex2-mcse-estimate", exercise="ex2-mcse", chapter=2,
           prompt="the estimate of P(mu > 70 | y) from the draws of result (a number between 0 and 1)")
def _ex2_mcse_estimate(answer):
    value = _probability(answer, "a probability")
    if abs(value - _exact_posterior().sf(70)) > 4 * _good_run_mcse():
        raise Wrong("estimate the probability by the share of draws above 70 points, over all 4 chains "
                    "of result (result.draws[..., 0]); your value is further from the exact "
                    "probability than four Monte Carlo standard errors")


@_register("ex2-mcse", exercise="ex2-mcse", chapter=2,
           prompt="the Monte Carlo standard error of that estimate (a positive number)")
def _ex2_mcse(answer):
    value = _number(answer, "a Monte Carlo standard error")
    if value <= 0:
        raise Wrong(f"a standard error is positive; you gave {value:g}")
    if value > 0.1:
        raise Wrong("far too large: the MCSE of a probability estimated from 20,000 draws is of order "
                    "0.001 to 0.01 (is your answer a variance, or the posterior sd?)")
    reference = _good_run_mcse()
    if value < reference / 1.25:
        raise Wrong("too small: successive draws of a chain are correlated, so the MCSE is "
                    "sd(h) / sqrt(ESS) with the effective sample size of h = 1{mu > 70}, not the number "
                    "of draws")
    if value > reference * 1.25:
        raise Wrong("too large: the MCSE is sd(h) / sqrt(ESS), with h = 1{mu > 70} and the effective "
                    "sample size of h over all 4 chains of result (arviz.mcse computes it)")


@functools.lru_cache(maxsize=None)
def _mean_without_hastings() -> float:
    """Mean of the density proportional to pi(x)/x, pi = Gamma(3, rate 2), by quadrature."""
    from scipy import integrate, stats

    target = stats.gamma(a=3.0, scale=1 / 2.0)
    mass = integrate.quad(lambda x: target.pdf(x) / x, 0, np.inf)[0]
    first_moment = integrate.quad(target.pdf, 0, np.inf)[0]  # x * pi(x) / x
    return first_moment / mass


@_register("ex2-wrong-target", exercise="ex2-wrong-target", chapter=2,
           prompt="the mean of the distribution the chain samples without the Hastings term (a number)")
def _ex2_wrong_target(answer):
    value = _number(answer, "a mean")
    # Monte Carlo tolerance: the run `without` (4 chains x 20,000) estimates it with an
    # MCSE of about 0.005.
    if abs(value - _mean_without_hastings()) <= 0.03:
        return
    if abs(value - 1.5) <= 0.03:
        raise Wrong("that is the mean of the target pi = Gamma(3, 2); without the Hastings term "
                    "the chain samples another density, proportional to pi(x)/x")
    raise Wrong("the mean of the density proportional to pi(x)/x, for pi = Gamma(3, rate 2): "
                "normalise it (integrate, or recognise the family), or estimate it from the run `without`")


# ex2-mh: the student's own sampler, mh(log_target, x0, n_draws, draw, log_q, rng), run on two
# targets with known answers. Few draws, so that a plain Python loop takes well under a second.
_MH_N_DRAWS = {"normal": 3000, "gamma": 5000}


def _mh_case(name):
    """(log_target, x0, draw, log_q, seed) of the test case ``name``; scalar functions."""
    if name == "normal":  # chapter 2's posterior of mu, a symmetric random walk with step 10
        exact = _exact_posterior()
        m, s = float(exact.mean()), float(exact.std())

        def log_target(x):
            return -0.5 * ((x - m) / s) ** 2

        def draw(x, rng):
            return x + 10.0 * rng.standard_normal()

        def log_q(x_new, x_old):
            return -0.5 * ((x_new - x_old) / 10.0) ** 2

        return log_target, 60.0, draw, log_q, 20261202

    def log_target(x):  # Gamma(3, rate 2) up to a constant; a log-normal walk with step 1
        return 2.0 * math.log(x) - 2.0 * x if x > 0 else -math.inf

    def draw(x, rng):
        return x * math.exp(rng.standard_normal())

    def log_q(x_new, x_old):
        return -math.log(x_new) - 0.5 * (math.log(x_new) - math.log(x_old)) ** 2

    return log_target, 1.0, draw, log_q, 20261203


@functools.lru_cache(maxsize=None)
def _mh_reference(name) -> tuple[float, float, float, float]:
    """(exact mean, exact sd, MCSE of the mean, MCSE of the sd) of one chain of the case.

    The MCSEs are those of one correct chain of _MH_N_DRAWS[name] draws: ArviZ's MCSE of
    16 such chains of the package's sampler, times sqrt(16).
    """
    import arviz as az
    from bhm import mcmc

    n = _MH_N_DRAWS[name]
    if name == "normal":
        exact = _exact_posterior()
        mean, sd = float(exact.mean()), float(exact.std())
        run = mcmc.metropolis_hastings(lambda x: -0.5 * ((x[:, 0] - mean) / sd) ** 2,
                                       np.full((16, 1), 60.0), n, step=10.0, seed=1)
    else:
        mean, sd = 1.5, math.sqrt(0.75)

        def log_gamma(x):
            return 2.0 * np.log(x[:, 0]) - 2.0 * x[:, 0]

        run = mcmc.metropolis_hastings(log_gamma, np.ones((16, 1)), n, proposal=mcmc.LogNormalWalk(1.0),
                                       seed=1)
    draws = run.draws[..., 0]
    return mean, sd, 4 * float(az.mcse(draws, method="mean")), 4 * float(az.mcse(draws, method="sd"))


def _mh_run(answer, name) -> np.ndarray:
    """Call the student's sampler on case ``name``; its draws, or Wrong with a hint."""
    log_target, x0, draw, log_q, seed = _mh_case(name)
    n = _MH_N_DRAWS[name]
    call = f"mh(log_target, x0={x0}, n_draws={n}, draw, log_q, rng) on the {name} target"
    try:
        with np.errstate(all="ignore"):
            returned = answer(log_target, x0, n, draw, log_q, np.random.default_rng(seed))
    except Exception as error:  # noqa: BLE001 - the student's code: a wrong answer, not a crash
        raise Wrong(f"your function raised {type(error).__name__} ({error}) when called as {call}") from None
    if returned is None:
        raise Wrong(f"your function returned None for {call}: return the array of the states "
                    "x_1, ..., x_T")
    try:
        draws = np.asarray(returned, dtype=float)
    except (TypeError, ValueError):
        raise Wrong(f"your function returned {_describe(returned)} for {call}; expected an array "
                    "of numbers of shape (n_draws,)") from None
    if draws.ndim != 1:
        raise Wrong(f"your function returned an array of shape {draws.shape} for {call}; return a 1-D "
                    f"array of shape (n_draws,) = ({n},)")
    if draws.size == n + 1 and draws[0] == x0:
        raise Wrong(f"your function returned {n + 1} states, the start x_0 among them; return the "
                    f"n_draws states x_1, ..., x_T")
    if draws.size < n:
        raise Wrong(f"your function returned {draws.size} states for n_draws = {n}: every iteration "
                    "adds one state, and after a rejection it is the current state again "
                    "(x_{t+1} = x_t), repeated in the output")
    if draws.size != n:
        raise Wrong(f"your function returned {draws.size} states for n_draws = {n}; expected n_draws "
                    "states x_1, ..., x_T")
    if not np.all(np.isfinite(draws)):
        raise Wrong(f"your draws for {call} include nan or inf; a candidate with log_target = -inf "
                    "must be rejected")
    moved = np.mean(np.diff(np.concatenate([[x0], draws])) != 0)
    if moved == 0:
        raise Wrong(f"your chain never moves from x0 ({call}): every candidate is rejected. Accept when "
                    "log u < log A, or u < A; comparing u with log A (which is <= 0) never accepts")
    if name == "normal" and moved > 0.9:
        raise Wrong(f"your draws change in {moved:.0%} of the iterations on the normal target, where a "
                    "correct chain accepts about half of its candidates: either your acceptance test is "
                    "wrong (compare log u with log A or u with A: log u < A is nearly always true; and put "
                    "pi(x*)/pi(x_t) into A), or you store the candidate x* in every iteration: store the "
                    "state, which after a rejection is x_t again")
    return draws


@_register("ex2-mh", exercise="ex2-mh", chapter=2,
           prompt="def mh(log_target, x0, n_draws, draw, log_q, rng): your sampler, returning "
                  "an array of shape (n_draws,)")
def _ex2_mh(answer):
    if not callable(answer):
        raise Wrong(f"expected a function, mh(log_target, x0, n_draws, draw, log_q, rng); you gave "
                    f"{_describe(answer)}")
    draws = _mh_run(answer, "normal")
    mean, sd, mcse_mean, mcse_sd = _mh_reference("normal")
    if abs(draws.mean() - mean) > 5 * mcse_mean or abs(draws.std() - sd) > 5 * mcse_sd:
        raise Wrong("on the normal target (a symmetric random walk) your draws' mean or sd is further from "
                    "the exact posterior's than Monte Carlo error explains: check steps 4 and 5 (accept "
                    "x* with probability A = min{pi(x*)/pi(x_t), 1} with pi of the current state, else "
                    "keep x_t)")
    draws = _mh_run(answer, "gamma")
    mean, sd, mcse_mean, mcse_sd = _mh_reference("gamma")
    if abs(draws.mean() - mean) <= 5 * mcse_mean:
        if abs(draws.std() - sd) <= 5 * mcse_sd:
            return
        raise Wrong("right on the symmetric random walk, and the mean is right on the log-normal walk, "
                    "but your draws' spread is wrong on the log-normal walk: draw a fresh u in every "
                    "iteration (one u for the whole chain accepts by a fixed threshold)")
    if abs(draws.mean() - 1.0) <= 5 * mcse_mean:
        raise Wrong("right on the symmetric random walk, wrong on the log-normal walk (which is not "
                    "symmetric): the mean of your draws is that of pi(x)/x, so the Hastings term "
                    "q(x_t | x*) / q(x* | x_t) is missing from A; use log_q")
    if abs(draws.mean() - 0.5) <= 5 * mcse_mean:
        raise Wrong("right on the symmetric random walk, wrong on the log-normal walk: your Hastings "
                    "term is upside down; it is q(x_t | x*) / q(x* | x_t), i.e. "
                    "log_q(x_t, x*) - log_q(x*, x_t) in logs")
    raise Wrong("right on the symmetric random walk, wrong on the log-normal walk (Gamma(3, 2) target): "
                "the mean of your draws is further from the target's than Monte Carlo error explains; "
                "check the Hastings term q(x_t | x*) / q(x* | x_t), i.e. log_q(x_t, x*) - log_q(x*, x_t)")


# --------------------------------------------------------------------------- chapter 3

_TWO_CHAINS = np.array([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]])


@_register("ex3-rhat-by-hand", exercise="ex3-rhat-by-hand", chapter=3,
           prompt="R-hat of the two chains (1, 2, 3) and (3, 4, 5) (a number)")
def _ex3_rhat_by_hand(answer):
    from bhm import diagnostics

    if hasattr(answer, "rhat") and not isinstance(answer, np.ndarray):  # a GelmanRubinParts
        answer = answer.rhat
    value = _number(answer, "R-hat")
    if value < 1:
        raise Wrong(f"for chains whose means differ, Var+ > W and so R-hat > 1; you gave {value:g}")
    if abs(value - diagnostics.gelman_rubin(_TWO_CHAINS)) > 5e-3:   # to 2 decimals: 1.63 is right
        raise Wrong("revisit R-hat = sqrt(Var+ / W), Var+ = (N-1)/N * W + B/N, where s_m^2 divides by "
                    "N - 1 and B/N by M - 1 (here M = 2 chains of N = 3 draws)")


@_register("ex3-long-enough", exercise="ex3-long-enough", chapter=3,
           prompt="the classic R-hat of the 100,000-iteration run (a number)")
def _ex3_long_enough(answer):
    value = _number(answer, "R-hat")
    if value < 1 - 1e-9:
        raise Wrong(f"the classic R-hat is at least about 1; you gave {value:g}")
    if abs(value / _bimodal_rhat(100_000) - 1) <= 1e-3:
        return
    if abs(value / _bimodal_rhat(4000) - 1) <= 1e-3:
        raise Wrong("that is the R-hat of the 4,000-iteration run; the question asks for the "
                    "100,000-iteration one")
    raise Wrong("the classic R-hat (diagnostics.gelman_rubin, not split, not rank-normalised) of the "
                "draws of log_bimodal with x0 = (-10, -3, 3, 10), step 1, 100,000 iterations, seed 4")


def _split_rhat(draws) -> float:
    from bhm import diagnostics

    half = draws.shape[1] // 2
    return diagnostics.gelman_rubin(np.concatenate([draws[:, :half], draws[:, -half:]], axis=0))


def _split_test_draws() -> list[np.ndarray]:
    rng = np.random.default_rng(20261203)
    t = np.linspace(0, 1, 1000)
    return [
        rng.normal(size=(4, 1000)) + 3 * t,                          # drifting chains
        rng.normal(size=(4, 600)) + np.array([[0.0], [0.0], [0.0], [0.4]]),  # one chain shifted
        rng.normal(size=(3, 10)),                                    # short chains
    ]


@_register("ex3-split", exercise="ex3-split", chapter=3,
           prompt="def split_gelman_rubin(draws): a function of an (M, N) array returning the split R-hat")
def _ex3_split(answer):
    from bhm import diagnostics

    if not callable(answer):
        raise Wrong(f"expected a function, split_gelman_rubin(draws), returning one number; "
                    f"you gave {_describe(answer)}")
    for draws in _split_test_draws():
        try:
            returned = answer(draws.copy())
        except Exception as error:  # noqa: BLE001
            raise Wrong(f"your function raised {type(error).__name__} ({error}) on draws of shape "
                        f"{draws.shape}") from None
        try:
            value = _number(returned, "R-hat")
        except Wrong:
            raise Wrong(f"your function should return one number, the split R-hat; on draws of shape "
                        f"{draws.shape} it returned {_describe(returned)}") from None
        if abs(value / _split_rhat(draws) - 1) > 1e-8:
            if abs(value / diagnostics.gelman_rubin(draws) - 1) <= 1e-8:
                raise Wrong(f"on draws of shape {draws.shape} your function returns the classic R-hat "
                            "of the unsplit chains; split each chain into its first and second half first")
            raise Wrong(f"on draws of shape {draws.shape} your function returns {value:.4f}: split each "
                        "of the M chains into two halves of N/2 draws, then apply the classic formula "
                        "(not rank-normalised) to the 2M half-chains")


@functools.lru_cache(maxsize=None)
def _ex3_mcse_kept() -> np.ndarray:
    """Chapter 3, ex3-mcse: 4 chains x 4,000 of step 2 from (50, 60, 70, 80), seed 9; second halves."""
    from bhm import mcmc

    starts = np.array([[50.0], [60.0], [70.0], [80.0]])
    run = mcmc.metropolis_hastings(_log_posterior, starts, 4000, step=2.0, seed=9)
    return run.draws[:, 2000:, 0]


@functools.lru_cache(maxsize=None)
def _ex3_mcse() -> float:
    import arviz as az

    return float(az.mcse(_ex3_mcse_kept()))


@_register("ex3-mcse", exercise="ex3-mcse", chapter=3,
           prompt="the MCSE of the posterior mean from the kept draws, in points (a number)")
def _ex3_mcse_judge(answer):
    import arviz as az

    value = _number(answer, "a Monte Carlo standard error")
    if value <= 0:
        raise Wrong(f"a Monte Carlo standard error is positive; you gave {value:g}")
    kept = _ex3_mcse_kept()
    if abs(value / _ex3_mcse() - 1) <= 0.25:
        return
    if abs(value / (kept.std() / np.sqrt(kept.size)) - 1) <= 0.1:
        raise Wrong("that is sd / sqrt(number of draws), the formula for independent draws; these draws "
                    "are autocorrelated: divide by the square root of the effective sample size (az.mcse)")
    if abs(value / kept.std() - 1) <= 0.1:
        raise Wrong("that is the posterior standard deviation; the MCSE of the mean is the sd divided by "
                    "the square root of the effective sample size")
    with np.errstate(all="ignore"):
        everything = float(az.mcse(_ex3_mcse_all_draws()))
    if abs(value / everything - 1) <= 0.1:
        raise Wrong("that uses all 4,000 iterations of each chain; keep the second half, "
                    "run.draws[:, 2000:, 0], as the exercise says")
    raise Wrong("az.mcse of the kept draws (4 chains x 2,000, the second half of each chain) of the run "
                "with step 2, starts (50, 60, 70, 80) and seed 9")


def _ex3_mcse_all_draws() -> np.ndarray:
    from bhm import mcmc

    starts = np.array([[50.0], [60.0], [70.0], [80.0]])
    return mcmc.metropolis_hastings(_log_posterior, starts, 4000, step=2.0, seed=9).draws[..., 0]


@_register("ex3-mcse-draws", exercise="ex3-mcse", chapter=3,
           prompt="the number of draws per chain, after warm-up, for an MCSE of 0.1 points (a number)")
def _ex3_mcse_draws(answer):
    value = _number(answer, "a number of draws per chain")
    if value <= 0:
        raise Wrong(f"a number of draws is positive; you gave {value:g}")
    kept = _ex3_mcse_kept()
    ratio = _ex3_mcse() / 0.1                      # how far the MCSE is from the target
    expected = kept.shape[1] * ratio**2
    if abs(value / expected - 1) <= 0.3:
        return
    if abs(value / (4 * expected) - 1) <= 0.3:
        raise Wrong("that is the total over the 4 chains; the question asks for draws per chain")
    if abs(value / (kept.shape[1] * ratio) - 1) <= 0.15:
        raise Wrong("the MCSE falls like 1/sqrt(N), not like 1/N: to divide it by k, multiply the number "
                    "of draws by k squared")
    if value <= kept.shape[1]:
        raise Wrong("the kept 2,000 draws per chain give an MCSE above 0.1, so more are needed; if you "
                    "used sd / sqrt(number of draws), that ignores the autocorrelation: use the ESS")
    raise Wrong("the MCSE is proportional to 1/sqrt(N): N_needed = N * (MCSE / 0.1)^2, with N = 2,000 "
                "kept draws per chain and the MCSE of the first part")


# --------------------------------------------------------------------------- chapter 4

@_register("ex4-shrinkage", exercise="ex4-shrinkage", chapter=4,
           prompt="the shrinkage factor of a group of 4 (a number between 0 and 1)")
def _ex4_shrinkage(answer):
    value = _probability(answer, "a shrinkage factor")
    expected = 64 / (64 + 225 / 4)
    if abs(value - expected) <= 0.002:
        return
    if abs(value - (1 - expected)) <= 0.002:
        raise Wrong("that is the weight on the overall mean, 1 - lambda; lambda is the weight on the "
                    "group's own mean")
    raise Wrong("lambda = sigma_alpha^2 / (sigma_alpha^2 + sigma_y^2 / n): variances, not sds")


@_register("ex4-half", exercise="ex4-shrinkage", chapter=4,
           prompt="the group size at which lambda = 1/2 (a number; it need not be whole)")
def _ex4_half(answer):
    value = _number(answer, "a group size")
    if abs(value - 225 / 64) <= 0.01:
        return
    if abs(value - 15 / 8) <= 0.01:
        raise Wrong("square the sds: lambda = 1/2 where sigma_alpha^2 = sigma_y^2 / n")
    raise Wrong("solve sigma_alpha^2 = sigma_y^2 / n for n")


@functools.lru_cache(maxsize=None)
def _pooling_scores():
    """Chapter 4's 40 groups of scores (the chapter's seeds) and their own means."""
    from bhm import simulate

    sizes = np.random.default_rng(10).choice([2, 3, 5, 8, 13, 20, 35, 60, 100], size=40)
    scores = simulate.simulate_varying_intercept(sizes, seed=11, mu_alpha=60.0, sigma_alpha=8.0, sigma_y=15.0)
    ybar = np.bincount(scores["group"] - 1, weights=scores["y"]) / np.bincount(scores["group"] - 1)
    return scores, ybar


@_register("ex4-pooling-best", exercise="ex4-pooling-error", chapter=4,
           prompt='"no pooling", "complete pooling" or "partial pooling" (a string)')
def _ex4_pooling_best(answer):
    options = ("no pooling", "complete pooling", "partial pooling")
    text = answer.strip().lower() if isinstance(answer, str) else None
    if text not in options and (text or "") + " pooling" not in options:
        raise Wrong(f"answer with one of {', '.join(map(repr, options))}; you gave {_describe(answer)}")
    if not text.startswith("partial"):
        raise Wrong("compare the three root mean squared errors against the true group means")


@_register("ex4-rmse-none", exercise="ex4-pooling-error", chapter=4,
           prompt="the root mean squared error of the no-pooling estimates, in points (a number)")
def _ex4_rmse_none(answer):
    value = _number(answer, "a root mean squared error")
    scores, ybar = _pooling_scores()
    errors = ybar - scores["alpha"]
    if abs(value - np.sqrt(np.mean(errors**2))) <= 0.005:
        return
    if abs(value - np.mean(errors**2)) <= 0.05:
        raise Wrong("that is the mean squared error; take its square root (points, not points squared)")
    raise Wrong("the no-pooling estimate of a group is its own mean score; compare the 40 of them with "
                "scores['alpha'] and take the root of the mean squared difference")


@_register("ex4-eta", exercise="ex4-eta", chapter=4,
           prompt="the root mean squared error of the posterior means of eta against the truth (a number)")
def _ex4_eta(answer):
    value = _number(answer, "a root mean squared error")
    # Reference: four runs of the chapter's fit (seeds 4-7, 1,000 and 10,000 draws per
    # chain) gave 0.134-0.138; the posterior means move with the seed by about 0.003.
    if abs(value - 0.136) <= 0.01:
        return
    if abs(value - 0.136**2) <= 0.003:
        raise Wrong("that is the mean squared error; take its square root")
    raise Wrong("take the posterior mean of each eta_j over all chains and draws, subtract the true "
                "school_data['eta'], and take the root of the mean of the squares")


@functools.lru_cache(maxsize=None)
def _ppc_means_p() -> float:
    """Chapter 4: complete pooling's p-value for T = sd of the 20 schools' mean outcomes.

    The chapter's school data (seeds 1, 2, 3), replicated from the exact posterior of
    the complete-pooling regression with 20,000 draws (Monte Carlo sd of p below 0.002).
    """
    from bhm import conjugate, simulate

    sizes = np.random.default_rng(1).integers(5, 61, size=20)
    data = simulate.simulate_varying_slope(simulate.draw_design(sizes, seed=2), seed=3, alpha=1.0, gamma_0=1.0,
                                           gamma_1=1.0, sigma_b=1.0, sigma_y=1.0)
    X = np.column_stack([np.ones(data["N"]), data["x"]])
    onehot = np.eye(data["J"])[data["group"] - 1]

    def statistic(y):
        return (y @ onehot / onehot.sum(axis=0)).std(axis=-1)

    observed, rng, hits = statistic(data["y"]), np.random.default_rng(20261130), 0
    for _ in range(5):
        coef, sigma = conjugate.regression_draws(X, data["y"], n_draws=4000, seed=rng)
        y_rep = coef @ X.T + sigma[:, None] * rng.normal(size=(4000, data["N"]))
        hits += int(np.sum(statistic(y_rep) >= observed))
    return hits / 20_000


@_register("ex4-ppc-means", exercise="ex4-ppc-means", chapter=4,
           prompt="complete pooling's posterior predictive p-value for the sd of the school means (0 to 1)")
def _ex4_ppc_means(answer):
    value = _probability(answer, "a posterior predictive p-value")
    expected = _ppc_means_p()
    # 4,000 replications: Monte Carlo sd of p about 0.003; allow five of them
    if abs(value - expected) <= 0.015:
        return
    if abs(value - (1 - expected)) <= 0.015:
        raise Wrong("that is P(T(y_rep) <= T(y)); the p-value counts the replications at least as large as "
                    "the observed statistic")
    if value <= 0.005:
        raise Wrong("a p-value of 0 is the verdict on the sd of the school *slopes*; this statistic is the "
                    "sd of the school *means*: average y by school, in each data set")
    raise Wrong("compute T = sd over the 20 schools of their mean outcome, for school_data['y'] and for each "
                "row of y_rep_complete, and take the share of rows with T at least the observed one")


# --------------------------------------------------------------------------- chapter 5

@functools.lru_cache(maxsize=None)
def _study_results():
    from bhm import study

    return study.load_committed()[0]


def _study_cell(prior: str, size: str):
    results = _study_results()
    return results[(results["program"] == "marginal") & (results["design"] == "A") & (results["prior"] == prior)
                   & (results["size"] == size)]


@_register("ex5-coverage", exercise="ex5-coverage", chapter=5,
           prompt="the coverage of the 95% interval of sigma_b in cell A/true/5x200 (between 0 and 1)")
def _ex5_coverage(answer):
    value = _probability(answer, "a coverage")
    cell = _study_cell("true", "5x200")
    expected = float(((cell["sigma_b_q2.5"] <= 1.0) & (1.0 <= cell["sigma_b_q97.5"])).mean())
    if abs(value - expected) <= 1e-6:
        return
    ninety = float(((cell["sigma_b_q5"] <= 1.0) & (1.0 <= cell["sigma_b_q95"])).mean())
    if abs(value - ninety) <= 1e-6:
        raise Wrong("that is the coverage of the 90% interval (q5 to q95); the 95% interval runs from "
                    "q2.5 to q97.5")
    raise Wrong("the share of the 300 simulations of A/true/5x200 whose 95% interval of sigma_b "
                "(sigma_b_q2.5 to sigma_b_q97.5) contains the true value 1")


@_register("ex5-predict", exercise="ex5-predict", chapter=5,
           prompt="the predicted change of gamma_1's posterior mean, wrong minus true prior, at 5x50 (a number)")
def _ex5_predict(answer):
    from bhm import study

    value = _number(answer, "a predicted pull")
    expected = study.predicted_pull("A", "5x50", "wrong")["pull_gamma_1"]
    if abs(value - expected) <= 0.015 * expected:  # S_xx ~ 50 * 9 by hand, or the design's own: both right
        return
    groups = 5
    if abs(value - 1.0 / (1.0 + groups)) <= 0.02 * (1.0 / (1.0 + groups)):
        raise Wrong("that is the pull on gamma_0, whose data precision is J / tau^2; gamma_1's is "
                    "sum u_j^2 / tau^2, with sum u_j^2 = 9 J (sd 3, dividing by J)")
    if abs(value - (1.0 - expected)) <= 0.015:
        raise Wrong("that is the data's weight; the pull is the prior's weight 1 / (1 + P)")
    measured = _study_cell("wrong", "5x50")["gamma_1_mean"].to_numpy() - _study_cell(
        "true", "5x50")["gamma_1_mean"].to_numpy()
    if abs(value - measured.mean()) <= 0.01:
        raise Wrong("that is what the study measured; the exercise asks for the prediction with sigma_b = 1 "
                    "first, to compare with it")
    raise Wrong("the data's precision about gamma_1 is P = sum_j u_j^2 / tau^2 with sum u_j^2 = 9 J and "
                "tau^2 = sigma_b^2 + sigma_y^2 / S_xx; the prior's precision is 1; the pull is 1 / (1 + P)")


@_register("ex5-rerun", exercise="ex5-rerun", chapter=5,
           prompt="the posterior mean of gamma_1 of simulation 17 of A/flat/10x100, rerun (a number)")
def _ex5_rerun(answer):
    value = _number(answer, "a posterior mean")
    stored = _study_cell("flat", "10x100").set_index("sim").loc[17, "gamma_1_mean"]
    if abs(value - stored) <= 1e-9 * max(1.0, abs(stored)):
        return
    if abs(value - stored) < 0.05:
        raise Wrong("close, but a rerun with the same seed gives the stored number to the last digit: "
                    "call study.run_simulation(study.Cell('A', 'flat', '10x100'), 17) unchanged")
    raise Wrong("rerun study.run_simulation(study.Cell('A', 'flat', '10x100'), 17) and take its "
                "'gamma_1_mean'")


# --------------------------------------------------------------------------- chapter 6

# Reference posterior probabilities for the GCSE model (bhm.gcse.fit_bayes with its
# default priors), each from three long runs (4 chains x 10,000 draws, seeds 1-3),
# whose Monte Carlo errors are about 0.003; the runs agreed to within 0.004. An
# answer from 4 chains x 1,000 draws has a Monte Carlo error of about 0.008-0.01,
# so the tolerance, 0.04, is about four of those: any seed and any correct
# computation pass, a wrong pair of schools or a wrong direction does not.
_GCSE_REFERENCE = {"ex6-compare": 0.669, "ex6-top5": 0.677, "ex6-gap": 0.859}
_GCSE_TOLERANCE = 0.04


def _gcse_probability(name, answer, hint):
    value = _probability(answer, "a posterior probability")
    reference = _GCSE_REFERENCE[name]
    if abs(value - reference) <= _GCSE_TOLERANCE:
        return
    if abs((1 - value) - reference) <= _GCSE_TOLERANCE:
        raise Wrong("that is the probability of the opposite event: check the direction of the comparison")
    raise Wrong(hint)


@_register("ex6-weight", exercise="ex6-weight", chapter=6,
           prompt="chapter 1's weight on the 20 boys' mean of school 22520 (a number between 0 and 1)")
def _ex6_weight(answer):
    value = _probability(answer, "a weight")
    n, sigma, sigma0 = 20, 13.030, 10.146   # the ML estimates of chapter 6 (points)
    expected = (n / sigma**2) / (n / sigma**2 + 1 / sigma0**2)
    if abs(value - expected) <= 0.002:
        return
    if abs(value - (1 - expected)) <= 0.002:
        raise Wrong("that is the weight on the average, 1 - w: the weight on the data is the data's "
                    "share of the total precision, (n / sigma_y^2) / (n / sigma_y^2 + 1 / sigma_alpha^2)")
    raise Wrong("use precisions (1 / variance), not sds: w = (n / sigma_y^2) / (n / sigma_y^2 + "
                "1 / sigma_alpha^2) with n = 20, sigma_y = 13.03 and sigma_alpha = 10.146 points")


@_register("ex6-compare", exercise="ex6-compare", chapter=6,
           prompt="P(alpha of school 50631 > alpha of school 68805) from the posterior draws (between 0 and 1)")
def _ex6_compare(answer):
    _gcse_probability("ex6-compare", answer,
                      "compare the two schools' alpha draw by draw (same chain and draw) and take the share of "
                      "draws where 50631's is larger than 68805's; school IDs are strings, e.g. sel(school=\"50631\")")


@_register("ex6-top5", exercise="ex6-top5", chapter=6,
           prompt="P(school 60437 ranks 1 to 5 by alpha) from the posterior draws (between 0 and 1)")
def _ex6_top5(answer):
    _gcse_probability("ex6-top5", answer,
                      "rank the 73 schools' alpha within each draw (1 = highest), then take the share of "
                      "draws in which 60437's rank is 5 or better")


@_register("ex6-gap", exercise="ex6-gap", chapter=6,
           prompt="P(beta_j < 0) for the school with the smallest posterior mean gap (between 0 and 1)")
def _ex6_gap(answer):
    _gcse_probability("ex6-gap", answer,
                      "find the school with the smallest posterior mean of beta (school_summary(idata, "
                      "\"beta\") sorts them), then the share of its beta draws below 0")


@functools.lru_cache(maxsize=None)
def _gcse_ml():
    from bhm import gcse
    from bhm.data import complete_course, load_gcse

    df = complete_course(load_gcse())
    return df, gcse.fit_ml(df)


@_register("ex6-blup", exercise="ex6-blup", chapter=6,
           prompt="the conditional posterior mean of alpha for school 22908, in points (a number)")
def _ex6_blup(answer):
    from bhm import gcse

    value = _number(answer, "a mean score in points")
    df, ml = _gcse_ml()
    # The BLUP, from statsmodels: the target, and exactly what the 2-D update gives.
    expected = ml.fixed["intercept"] + ml.blups.loc["22908", "intercept"]
    if abs(value - expected) <= 0.01:
        return
    own = df.loc[(df["school"] == "22908") & (df["female"] == 0), "course"].mean()
    w = (1 / ml.sd["residual"] ** 2) / (1 / ml.sd["residual"] ** 2 + 1 / ml.sd["intercept"] ** 2)
    no_rho = gcse.conditional_effects(df, mu=ml.fixed[["intercept", "female"]], tau=ml.sd[["intercept", "female"]], rho=0.0,
                                      sigma_y=ml.sd["residual"]).loc["22908", "intercept"]
    if abs(value - no_rho) <= 0.01:
        raise Wrong("close: you left out the correlation; Sigma's off-diagonal entries are "
                    "rho * sigma_alpha * sigma_beta with rho = ml.corr")
    if abs(value - own) <= 0.01:
        raise Wrong("that is the school's own boys' mean (no pooling); the update pulls it towards mu")
    if abs(value - ml.fixed["intercept"]) <= 0.01:
        raise Wrong("that is mu_alpha (complete pooling); add the school's cells' precisions and data")
    if abs(value - (w * own + (1 - w) * ml.fixed["intercept"])) <= 0.01:
        raise Wrong("that is chapter 1's one-dimensional rule with the one boy only; the two-dimensional "
                    "update also uses the school's girls (through the girls' cell and Sigma)")
    raise Wrong("precision Q = inv(Sigma) + sum over the school's cells of (n_c / sigma_y^2) z_c z_c', with "
                "z_c = (1, x_c); mean = solve(Q, inv(Sigma) mu + sum (n_c / sigma_y^2) ybar_c z_c); alpha is "
                "its first entry. Use ml.fixed, ml.sd and ml.corr")


@_register("ex6-standardise", exercise="ex6-standardise", chapter=6,
           prompt="the posterior mean of mu_alpha, transformed back to points (a number)")
def _ex6_standardise(answer):
    value = _number(answer, "a posterior mean in points")
    # Weak priors on the standardised scale: the posterior mean is the ML estimate
    # 69.425 within a tenth of its posterior sd (1.4 points); its Monte Carlo error
    # with 4,000 draws is about 0.03. 0.5 points admits any seed, not a dragged mean.
    if abs(value - 69.425) <= 0.5:
        return
    if abs(value) < 5:
        raise Wrong("that looks like a value on the standardised scale: transform back with "
                    "mean + sd * mu_alpha, using the mean and sd of the coursework scores")
    raise Wrong("standardise with the mean and sd of the 1,725 coursework scores, fit with "
                "mu_loc=(0, 0), mu_scale=(1, 1), tau_scale=(1, 1), sigma_scale=1, and transform the "
                "posterior mean of mu_alpha back: mean + sd * mu_alpha")


# --------------------------------------------------------------------------- chapter 7

@_register("ex7-rank", exercise="ex7-rank", chapter=7,
           prompt="the rank of the truth 0.3 among the nine draws (a whole number)")
def _ex7_rank(answer):
    value = _whole_number(answer, "a rank")
    draws = np.array([0.12, 0.51, -0.40, 0.33, 0.28, 0.95, 0.05, 0.29, 0.71])
    if value == int((draws < 0.3).sum()):
        return
    if value == int((draws > 0.3).sum()):
        raise Wrong("that counts the draws above the truth; the rank counts the draws below it")
    raise Wrong("count the draws that are smaller than the true value 0.3; the rank lies in 0..9")


@_register("ex7-band", exercise="ex7-band", chapter=7,
           prompt="(lower, upper): the 99% band of one bin's count, R = 1000, 20 bins (two numbers)")
def _ex7_band(answer):
    from scipy import stats

    values = np.asarray(answer, dtype=float)
    if values.shape != (2,):
        raise Wrong(f"give two numbers, (lower, upper); you gave {_describe(answer)}")
    if not np.all(np.isfinite(values)):
        raise Wrong("both ends must be finite numbers")
    expected = stats.binom.ppf([0.005, 0.995], 1000, 1 / 20)       # 33 and 69
    # a normal approximation (50 -+ 2.576 * 6.89) or other quantile conventions land within 1.5
    if np.all(np.abs(np.sort(values) - expected) <= 1.5):
        return
    if np.all(np.abs(values - (0.05 + np.array([-1, 1]) * 2.576 * np.sqrt(0.05 * 0.95 / 1000))) < 0.01):
        raise Wrong("those are proportions; the band is for the count of replications in a bin")
    raise Wrong("a bin's count is Binomial(1000, 1/20) under uniformity: mean 50, sd about 6.9; "
                "take its 0.5% and 99.5% quantiles")


@_register("ex7-narrow", exercise="ex7-narrow", chapter=7,
           prompt="the share of ranks in the two outer bins for a posterior sd halved (between 0 and 1)")
def _ex7_narrow(answer):
    value = _probability(answer, "a share of replications")
    # exact for L = 99 (numerical integration): 0.403; the large-L limit 2 Phi(Phi^-1(0.05) / 2) = 0.411.
    # 1,000 replications estimate it with a Monte Carlo sd of 0.016; 0.04 is about 2.5 of those.
    if abs(value - 0.403) <= 0.04:
        return
    if abs(value - 0.1) <= 0.03:
        raise Wrong("that is the uniform share; with sd_factor=0.5 the truth falls outside the draws "
                    "far more often")
    raise Wrong("count the replications whose rank is below 5 or at least 95, over all replications "
                "of sbc.exact_normal_mean(..., sd_factor=0.5)")


@functools.lru_cache(maxsize=None)
def _prior_sampler_top_share() -> float:
    """Share of log-likelihood ranks in the top bin when the draws ignore the data (exact, 200,000 replications).

    The truth mu ~ N(0, 1), ybar | mu ~ N(mu, 1/10), 99 independent prior draws;
    a draw has a smaller log-likelihood than the truth when it lies farther from
    ybar. Monte Carlo sd about 0.001.
    """
    rng = np.random.default_rng(0)
    n_reps = 200_000
    mu = rng.normal(0.0, 1.0, n_reps)
    ybar = rng.normal(mu, 1 / np.sqrt(10))
    draws = rng.normal(0.0, 1.0, (n_reps, 99))
    rank = (np.abs(draws - ybar[:, None]) > np.abs(mu - ybar)[:, None]).sum(axis=1)
    return float((rank >= 95).mean())


@_register("ex7-loglik", exercise="ex7-loglik", chapter=7,
           prompt="the share of log-likelihood ranks in the top bin, ranks 95-99 (between 0 and 1)")
def _ex7_loglik(answer):
    value = _probability(answer, "a share of replications")
    # about 0.28; the chapter's 1,000 replications estimate it with a Monte Carlo sd of 0.014; 0.045 is
    # about 3 of those
    if abs(value - _prior_sampler_top_share()) <= 0.045:
        return
    if abs(value - 0.05) <= 0.02:
        raise Wrong("that is the share uniform ranks would put into one bin, or the share of the parameter's "
                    "ranks; count the ranks of the log-likelihood, the column loglik")
    if value <= 0.01:
        raise Wrong("that looks like the bottom bin; the top bin holds the ranks 95 to 99")
    raise Wrong("count the replications whose loglik rank is at least 95 and divide by all of them")


# --------------------------------------------------------------------------- student notebooks


def default_book_dir() -> Path:
    """The book's folder: ``$BHM_BOOK_DIR``, else the repository's ``book/`` (:func:`bhm._paths.project_dir`).

    Returns
    -------
    pathlib.Path
    """
    from bhm._paths import project_dir

    return project_dir("book")


def chapter_files(book_dir=None) -> list[Path]:
    """The chapters: ``NN_*.md`` files of ``book_dir`` that are notebooks (have a kernelspec)."""
    book_dir = Path(book_dir) if book_dir is not None else default_book_dir()
    files = []
    for path in sorted(book_dir.glob("[0-9][0-9]_*.md")):
        head = path.read_text(encoding="utf-8")[:2000]
        if head.startswith("---") and "kernelspec:" in head.split("\n---", 1)[0]:
            files.append(path)
    return files


def check_calls(source: str) -> list[tuple[str, str | None]]:
    """The check calls of a code cell: ``(name, variable)`` pairs, in order.

    ``variable`` is the name passed as the answer, or None if the answer is an
    expression. Calls are ``check("name", x)`` or ``<module>.check("name", x)``.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    calls = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if called != "check" or not node.args or not isinstance(node.args[0], ast.Constant):
            continue
        if not isinstance(node.args[0].value, str):
            continue
        variable = node.args[1].id if len(node.args) > 1 and isinstance(node.args[1], ast.Name) else None
        calls.append(((node.lineno, node.col_offset), node.args[0].value, variable))
    return [(name, variable) for _, name, variable in sorted(calls)]


def _stub(source: str, label: str) -> str:
    """The student's version of a solution code cell."""
    lines = source.splitlines()
    marker = next((i for i, line in enumerate(lines) if line.strip() == CHECK_MARKER), None)
    if marker is None:
        return f"# TODO: your code for exercise {label} (the solution is not part of this notebook)"
    kept = "\n".join(lines[marker + 1:])
    stubs, seen = [], set()
    for name, variable in check_calls(kept):
        if variable is None:
            raise ValueError(f"exercise {label}: the answer of check({name!r}, ...) must be a variable name, "
                             "so that the student notebook can stub it")
        if name not in CHECKS:
            raise ValueError(f"exercise {label}: no check named {name!r} is registered in bhm.exercises")
        if variable not in seen:
            seen.add(variable)
            stubs.append(f"{variable} = ...  # TODO: {CHECKS[name].prompt}")
    return "\n".join(["# Replace each ... by your answer (write any code you need above it).", *stubs,
                      "", CHECK_MARKER, kept])


_FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w-]+)\}\s*(?P<argument>.*)$")
_OPTION = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*)$")
_ROLE = re.compile(r"\{(?P<role>[\w:-]+)\}`(?P<text>[^`]*)`")
_TARGET = re.compile(r"^\([\w-]+\)=\s*$")
_NOTE_SLOT = re.compile(r"@@solution-note (\S+)@@")
_TITLE = re.compile(r"^\(([\w-]+)\)=[ \t]*\n+#+[ \t]+(.+)$", re.MULTILINE)


def _titles(book_dir: Path) -> dict[str, str]:
    """Targets ``(label)=`` of the book's headings: label -> heading text."""
    titles = {}
    for path in sorted(book_dir.glob("*.md")):
        for match in _TITLE.finditer(path.read_text(encoding="utf-8")):
            titles[match[1]] = match[2].strip()
    return titles


def _directives(text: str):
    """Split MyST markdown into ('text', str) and ('directive', name, argument, options, body) parts."""
    lines = text.split("\n")
    i = 0
    plain: list[str] = []
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            plain.append(lines[i])
            i += 1
            continue
        if plain:
            yield ("text", "\n".join(plain))
            plain = []
        fence, j = match["fence"], i + 1
        options = {}
        while j < len(lines) and _OPTION.match(lines[j]):
            option = _OPTION.match(lines[j])
            options[option["key"]] = option["value"]
            j += 1
        body = []
        while j < len(lines) and lines[j].strip() != fence:
            body.append(lines[j])
            j += 1
        yield ("directive", match["name"], match["argument"].strip(), options, "\n".join(body).strip("\n"))
        i = j + 1
    if plain:
        yield ("text", "\n".join(plain))


class _Converter:
    """Turns a chapter's cells into a student notebook's cells."""

    NOTE = ("*Your solution: write it in the code cell below, replacing each `...`; the lines after "
            "`# check` tell you whether it is right.*")
    NOTE_CODE = "*Your solution: write it in the code cell below.*"
    NOTE_NO_CODE = "*Your solution: write it here.*"

    def __init__(self, chapter: int, titles: dict[str, str] | None = None, folder: Path | None = None):
        self.chapter = chapter
        self.titles = titles or {}
        self.folder = folder or default_book_dir()  # the chapter's folder: literalinclude paths start there
        self.exercise = 0
        self.solution: str | None = None  # label of the open solution
        self.with_code: set[str] = set()  # labels of the solutions that have code cells
        self.with_checks: set[str] = set()  # ... that have checks

    def markdown(self, text: str) -> str:
        out = []
        for part in _directives(text):
            if part[0] == "text":
                if self.solution is None:
                    out.append(part[1])
                continue
            _, name, argument, options, body = part
            if name == "solution-start":
                self.solution = argument or "?"
                out.append(f"@@solution-note {self.solution}@@")
            elif name == "solution-end":
                self.solution = None
            elif self.solution is not None:
                continue
            elif name in ("exercise", "exercise-start"):
                self.exercise += 1
                label = options.get("label", "")
                title = f"### Exercise {self.chapter}.{self.exercise}" + (f" ({argument})" if argument else "")
                out.append(title + (f"\n\n*(`{label}`)*" if label else "") + (f"\n\n{body}" if body else ""))
            elif name == "exercise-end":
                continue
            elif name == "math":
                out.append(f"$$\n{body}\n$$")
            elif name == "hint":  # a folded hint before a solution: folded in the notebook too
                out.append(f"<details><summary><b>Hint</b></summary>\n\n{body}\n\n</details>")
            elif name == "literalinclude" and "pyobject" in options:
                out.append("```python\n" + self._pyobject(argument, options["pyobject"], options) + "\n```")
            else:
                fence = "```"
                out.append(f"{fence}{{{name}}} {argument}".rstrip() + "\n"
                           + "".join(f":{k}: {v}\n" for k, v in options.items()) + body + f"\n{fence}")
        text = "\n\n".join(part.strip("\n") for part in out if part.strip())
        text = "\n".join(line for line in text.split("\n") if not _TARGET.match(line))
        return _ROLE.sub(self._role, text).strip()

    def _pyobject(self, path: str, name: str, options: dict[str, str] | None = None) -> str:
        """The lines of function or class ``name`` in ``path`` that a literalinclude with ``:pyobject:``
        shows, narrowed as Sphinx does, in its order, by the options ``start-at`` or ``start-after``,
        ``end-at`` or ``end-before``, ``dedent`` (a number), ``prepend`` and ``append``."""
        options = options or {}
        file = (self.folder / path).resolve()
        source = file.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                lines = source.splitlines()[start - 1:node.end_lineno]
                break
        else:
            raise ValueError(f"literalinclude: no function or class {name!r} in {file}")

        def find(key: str) -> int:
            found = [i for i, line in enumerate(lines) if options[key] in line]
            if not found:
                raise ValueError(f"literalinclude: :{key}: {options[key]!r} not found in {name!r} of {file}")
            return found[0]

        for key, first in (("start-at", 0), ("start-after", 1)):
            if key in options:
                lines = lines[find(key) + first:]
        for key, last in (("end-at", 1), ("end-before", 0)):
            if key in options:
                lines = lines[:find(key) + last]
        if options.get("dedent"):
            lines = [line[int(options["dedent"]):] for line in lines]
        if options.get("prepend"):
            lines.insert(0, options["prepend"])
        if options.get("append"):
            lines.append(options["append"])
        return "\n".join(lines)

    def _role(self, match) -> str:
        role, text = match["role"], match["text"]
        if role.startswith("glue"):  # a number glued by a cell above: name the variable that holds it
            return f"`{text.split('::')[-1].split(':')[0]}`"
        shown = re.sub(r"\s*<[^>]*>$", "", text)  # {ref}`text <target>` -> text
        if role == "cite":
            return f"({shown})"
        if role == "eq":
            return f"(equation {shown})"
        if role in ("ref", "doc", "numref"):
            return f"*{self.titles.get(shown, shown)}*" if shown == text else f"*{shown}*"
        return shown


def student_notebook(chapter_md):
    """The student notebook of one chapter: solutions replaced by stubs, checks kept.

    Parameters
    ----------
    chapter_md : path-like
        A chapter, a MyST-markdown notebook (``book/NN_*.md``).

    Returns
    -------
    nbformat.NotebookNode
        Notebook format 4, with the chapter's kernelspec.
    """
    import jupytext
    import nbformat

    chapter_md = Path(chapter_md)
    source = jupytext.read(chapter_md)
    number = int(chapter_md.name[:2]) if chapter_md.name[:2].isdigit() else 0
    converter = _Converter(number, _titles(chapter_md.parent), chapter_md.parent)
    cells = [nbformat.v4.new_markdown_cell(
        f"*Student notebook of chapter {number}, written by `python -m bhm exercises` from "
        f"`book/{chapter_md.name}`. The exercises at the end have their solutions taken out: "
        "replace each `...` by your answer and run the cell; its check says whether you are right.*"
    )]
    for cell in source.cells:
        if cell.cell_type == "markdown":
            text = converter.markdown(cell.source)
            if text:
                cells.append(nbformat.v4.new_markdown_cell(text))
        elif cell.cell_type == "code":
            if converter.solution is not None:
                converter.with_code.add(converter.solution)
                if any(line.strip() == CHECK_MARKER for line in cell.source.splitlines()):
                    converter.with_checks.add(converter.solution)
                cells.append(nbformat.v4.new_code_cell(_stub(cell.source, converter.solution)))
            else:
                new = nbformat.v4.new_code_cell(cell.source)
                new.metadata = dict(cell.metadata)
                cells.append(new)
        else:
            cells.append(nbformat.v4.new_raw_cell(cell.source))
    for cell in cells:  # the note of a solution depends on whether it had code
        if cell.cell_type == "markdown":
            cell.source = _NOTE_SLOT.sub(
                lambda m: (_Converter.NOTE if m[1] in converter.with_checks
                           else _Converter.NOTE_CODE if m[1] in converter.with_code else _Converter.NOTE_NO_CODE),
                cell.source,
            )
    notebook = nbformat.v4.new_notebook(cells=cells)
    kernelspec = source.metadata.get("kernelspec", {"name": "python3", "display_name": "Python 3",
                                                    "language": "python"})
    notebook.metadata = {"kernelspec": dict(kernelspec), "language_info": {"name": "python"}}
    return notebook


def write_student_notebooks(out_dir, chapters=None, book_dir=None, *, overwrite: bool = True) -> list[Path]:
    """Write the student notebook of each chapter into ``out_dir``.

    Parameters
    ----------
    out_dir : path-like
        Folder to write ``NN_name.ipynb`` into; created if missing.
    chapters : iterable of int, optional
        Chapter numbers; all chapters by default.
    book_dir : path-like, optional
        The book's folder; :func:`default_book_dir` by default.
    overwrite : bool, default True
        With False, a notebook that already exists (a student's work) is kept
        as it is and not counted as written.

    Returns
    -------
    list of pathlib.Path
        The notebooks written.
    """
    import nbformat

    files = chapter_files(book_dir)
    if chapters is not None:
        wanted = {int(c) for c in chapters}
        missing = wanted - {int(f.name[:2]) for f in files}
        if missing:
            raise ValueError(f"no chapter {sorted(missing)} in {book_dir or default_book_dir()}; "
                             f"the chapters are {[int(f.name[:2]) for f in files]}")
        files = [f for f in files if int(f.name[:2]) in wanted]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in files:
        target = out_dir / f"{path.stem}.ipynb"
        if target.exists() and not overwrite:
            continue
        nbformat.write(student_notebook(path), target)
        written.append(target)
    return written
