"""The judges of chapters 3 to 5: each registered in :data:`bhm.exercises.CHECKS`."""

from __future__ import annotations

import functools

import numpy as np

from bhm.exercises import Wrong, _register
from bhm.exercises._answers import _describe, _number, _probability
from bhm.exercises._reference import (
    _bimodal_rhat,
    _log_posterior,
)

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


@functools.cache
def _ex3_mcse_kept() -> np.ndarray:
    """Chapter 3, ex3-mcse: 4 chains x 4,000 of step 2 from (50, 60, 70, 80), seed 9; second halves."""
    from bhm import mcmc

    starts = np.array([[50.0], [60.0], [70.0], [80.0]])
    run = mcmc.metropolis_hastings(_log_posterior, starts, 4000, step=2.0, seed=9)
    return run.draws[:, 2000:, 0]


@functools.cache
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
    from bhm import conjugate

    value = _probability(answer, "a shrinkage factor")
    # lambda is chapter 1's weight of the data: sigma_alpha = 8, sigma_y = 15, n = 4
    expected = conjugate.posterior_weight(4, sigma=15.0, sigma0=8.0)
    # 0.005: an answer rounded to two decimals (0.53) is right
    if abs(value - expected) <= 0.005:
        return
    if abs(value - (1 - expected)) <= 0.005:
        raise Wrong("that is the weight on the overall mean, 1 - lambda; lambda is the weight on the "
                    "group's own mean")
    raise Wrong("lambda = sigma_alpha^2 / (sigma_alpha^2 + sigma_y^2 / n): variances, not sds")


@_register("ex4-half", exercise="ex4-shrinkage", chapter=4,
           prompt="the group size at which lambda = 1/2 (a number; it need not be whole)")
def _ex4_half(answer):
    value = _number(answer, "a group size")
    # 0.02: an answer rounded to one decimal (3.5, as the solution prints it) is right
    if abs(value - 225 / 64) <= 0.02:
        return
    if abs(value - 15 / 8) <= 0.02:
        raise Wrong("square the sds: lambda = 1/2 where sigma_alpha^2 = sigma_y^2 / n")
    raise Wrong("solve sigma_alpha^2 = sigma_y^2 / n for n")


@functools.cache
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


@functools.cache
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

@functools.cache
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
