"""The judges of chapters 6 and 7: each registered in :data:`bhm.exercises.CHECKS`."""

from __future__ import annotations

import functools

import numpy as np

from bhm.exercises import Wrong, _register
from bhm.exercises._answers import _describe, _number, _probability, _whole_number

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
    from bhm import conjugate

    value = _probability(answer, "a weight")
    _, ml = _gcse_ml()  # chapter 6's ML estimates (points): sigma_y 13.03, sigma_alpha 10.146
    n, sigma, sigma0 = 20, float(ml.sd["residual"]), float(ml.sd["intercept"])
    expected = conjugate.posterior_weight(n, sigma=sigma, sigma0=sigma0)
    if abs(value - expected) <= 0.002:
        return
    if abs(value - (1 - expected)) <= 0.002:
        raise Wrong("that is the weight on the average, 1 - w: the weight on the data is the data's "
                    "share of the total precision, (n / sigma_y^2) / (n / sigma_y^2 + 1 / sigma_alpha^2)")
    raise Wrong("use precisions (1 / variance), not sds: w = (n / sigma_y^2) / (n / sigma_y^2 + "
                f"1 / sigma_alpha^2) with n = 20, sigma_y = {sigma:.2f} and sigma_alpha = {sigma0:.3f} points")


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


@functools.cache
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
    no_rho = gcse.conditional_effects(df, mu=ml.fixed[["intercept", "female"]], tau=ml.sd[["intercept", "female"]],
                                      rho=0.0,
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
    # (69.425) within a tenth of its posterior sd (1.4 points); its Monte Carlo error
    # with 4,000 draws is about 0.03. 0.5 points admits any seed, not a dragged mean.
    if abs(value - float(_gcse_ml()[1].fixed["intercept"])) <= 0.5:
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


@functools.cache
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
