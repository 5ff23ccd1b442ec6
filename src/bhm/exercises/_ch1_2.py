"""The judges of chapters 1 and 2: each registered in :data:`bhm.exercises.CHECKS`."""

from __future__ import annotations

import functools
import math

import numpy as np

from bhm.exercises import Wrong, _register
from bhm.exercises._answers import _describe, _mean_and_sd, _number, _probability
from bhm.exercises._reference import (
    SIGMA,
    _exact_posterior,
    _good_run_mcse,
    _scores,
)

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


@functools.cache
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


@functools.cache
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


@functools.cache
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


@functools.cache
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


@functools.cache
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
