"""The exercises that answer back (issue 10): bhm.exercises and the student notebooks.

* Unit tests of :func:`bhm.exercises.check` (fast): right answers reached in
  other ways than the book's are accepted, typical wrong answers are rejected
  with a hint that does not give the answer away, bad input (None, a string,
  NaN, a wrong shape, a function that raises) is a wrong answer, never an
  exception.
* The chapters and the registry agree: every check a chapter calls is
  registered, every registered check is called, inside the solution of its
  exercise; every chapter has at least three exercises with checks.
* The student notebooks (slow, one execution per chapter): each chapter's
  student notebook runs from top to bottom with the stubs left in, every check
  saying "not answered yet"; then, in the same kernel, the chapter's own solution
  cells (the solutions put back) run and every check says "right".
"""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from pathlib import Path

import arviz as az
import jupytext
import nbformat
import numpy as np
import pytest
from scipy import stats

from bhm import conjugate, diagnostics, mcmc, notebooks
from bhm.__main__ import main
from bhm.exercises import CHECK_MARKER, CHECKS, chapter_files, check, check_calls, student_notebook

ROOT = Path(__file__).parents[1]
BOOK = ROOT / "book"
CHAPTERS = chapter_files(BOOK)
CHAPTER_IDS = [path.stem for path in CHAPTERS]

_SOLUTION_START = re.compile(r"^```\{solution-start\}\s+(\S+)", re.MULTILINE)
_SOLUTION_END = re.compile(r"^```\{solution-end\}", re.MULTILINE)
_EXERCISE_LABEL = re.compile(r"^```\{exercise(?:-start)?\}[^\n]*\n(?::[\w-]+:[^\n]*\n)*?:label:\s*(\S+)", re.MULTILINE)


def _solution_code_cells(path):
    """(label, source) of every code cell inside a solution, in order."""
    cells, label = [], None
    for cell in jupytext.read(path).cells:
        if cell.cell_type == "markdown":
            for match in sorted([*_SOLUTION_START.finditer(cell.source), *_SOLUTION_END.finditer(cell.source)],
                                key=lambda m: m.start()):
                label = match[1] if match.re is _SOLUTION_START else None
        elif cell.cell_type == "code" and label is not None:
            cells.append((label, cell.source))
    return cells


def _chapter_checks(path):
    """(check name, exercise label) of every check call in the chapter's solutions."""
    return [(name, label) for label, source in _solution_code_cells(path) for name, _ in check_calls(source)]


def _all_check_calls(path):
    """Every check call anywhere in the chapter's code cells."""
    return [name for cell in jupytext.read(path).cells if cell.cell_type == "code"
            for name, _ in check_calls(cell.source)]


# --------------------------------------------------------------------------- answers for the unit tests

def _y():
    return np.random.default_rng(20261125).normal(72.0, 15.0, size=10)


def _exact():
    return conjugate.normal_posterior(_y(), sigma=15.0, mu0=60.0, sigma0=10.0)


def _grid_moments(mu0, sigma0):
    """Mean and sd of the ten scores' posterior under N(mu0, sigma0^2), by the grid (no algebra)."""
    grid = np.linspace(0, 140, 28001)
    density = conjugate.grid_posterior(_y(), sigma=15.0, mu0=mu0, sigma0=sigma0, grid=grid)
    mean = np.trapezoid(grid * density, grid)
    return mean, np.sqrt(np.trapezoid((grid - mean) ** 2 * density, grid))


def _grid_tail(mu0, sigma0, cut):
    grid = np.linspace(cut, 140, 20001)
    full = np.linspace(0, 140, 28001)
    density = conjugate.grid_posterior(_y(), sigma=15.0, mu0=mu0, sigma0=sigma0, grid=full)
    return np.trapezoid(np.interp(grid, full, density), grid)


def _flat_by_root():
    """Numerically: the sigma0 where the package's posterior sd is 0.99 * sigma/sqrt(n)."""
    from scipy import optimize

    return optimize.brentq(lambda s0: conjugate.normal_posterior(_y(), sigma=15.0, mu0=60.0, sigma0=s0).std()
                           - 0.99 * 15 / np.sqrt(10), 1.0, 1e3)


def _five_by_simulation(size=1_000_000, seed=11):
    """Draw mu from the posterior, then five new scores; the share of means above 70.

    Its Monte Carlo sd is sqrt(p(1 - p)/size): 0.0005 for 10^6 draws, 0.0015 for 10^5.
    """
    rng = np.random.default_rng(seed)
    mu = rng.normal(_exact().mean(), _exact().std(), size=size)
    return (rng.normal(mu[:, None], 15.0, size=(mu.size, 5)).mean(axis=1) > 70).mean()


def _log_posterior(mu):
    mu = mu[:, 0]
    return stats.norm.logpdf(mu, 60.0, 10.0) + stats.norm.logpdf(_y()[:, None], mu, 15.0).sum(axis=0)


def _indicator(seed):
    run = mcmc.metropolis_hastings(_log_posterior, np.full((4, 1), 60.0), 5000, step=10.0, seed=seed)
    return (run.draws[..., 0] > 70).astype(float)


def _batch_means_mcse(h, batch=100):
    means = h.reshape(h.shape[0], -1, batch).mean(axis=2).ravel()
    return means.std(ddof=1) / np.sqrt(means.size)


def _without_hastings_mean(seed):
    gamma = stats.gamma(a=3.0, scale=0.5)
    run = mcmc.metropolis_hastings(lambda x: gamma.logpdf(x[:, 0]), np.ones((4, 1)), 20000,
                                   proposal=mcmc.LogNormalWalk(1.0), hastings=False, seed=seed)
    return run.draws.mean()


@functools.cache
def _sweep(seed):
    """ex2-step-sweep with another seed, a numpy log target and ArviZ's mean-ESS: (best step, its ESS/iter)."""
    m, s = _exact().mean(), _exact().std()
    steps = np.arange(2, 31, 2)
    per_iter = []
    for step in steps:
        run = mcmc.metropolis_hastings(lambda x: -0.5 * ((x[:, 0] - m) / s) ** 2, np.full((4, 1), 60.0), 5000,
                                       step=float(step), seed=seed)
        per_iter.append(float(az.ess(run.draws[..., 0], method="mean")) / run.draws.size)
    return float(steps[np.argmax(per_iter)]), max(per_iter)


def _mh_variant(accept, hastings=1, keep_rejections=True, with_start=False, column=False, u_once=False,
                store_candidates=False):
    """ex2-mh: a sampler written another way than the book's (log_target recomputed, a list), or with a
    typical mistake: accept(u, log_A) decides, hastings = 0 drops the Hastings term and -1 turns it upside
    down, keep_rejections=False stores only accepted states, with_start stores x0, column returns (n, 1),
    u_once draws u once before the loop, store_candidates stores x* in every iteration."""
    def mh(log_target, x0, n_draws, draw, log_q, rng):
        x, out = x0, [x0] if with_start else []
        u = rng.random() if u_once else None
        for _ in range(n_draws):
            x_star = draw(x, rng)
            u = u if u_once else rng.random()
            log_A = -np.inf
            if log_target(x_star) > -np.inf:
                log_A = min(log_target(x_star) - log_target(x)
                            + hastings * (log_q(x, x_star) - log_q(x_star, x)), 0.0)
            if accept(u, log_A):
                x = x_star
                out.append(x)
            elif keep_rejections:
                out.append(x_star if store_candidates else x)
        out = np.array(out)
        return out[:, None] if column else out
    return mh


def _mh_ratio_scale(log_target, x0, n_draws, draw, log_q, rng):
    """ex2-mh on the ratio scale: the uniform first, u < min(ratio, 1), a list."""
    x, out = x0, []
    for _ in range(n_draws):
        u = rng.random()
        x_star = draw(x, rng)
        ratio = np.exp(min(log_target(x_star) - log_target(x) + log_q(x, x_star) - log_q(x_star, x), 50.0))
        if u < min(ratio, 1.0):
            x = x_star
        out.append(x)
    return out


class _ScalarProposal:
    """ex2-mh through the package: the student's draw and log_q as a mcmc.Proposal for one chain."""

    symmetric = False

    def __init__(self, draw, log_q):
        self._draw, self._log_q = draw, log_q

    def draw(self, x, rng):
        return np.array([[self._draw(float(x[0, 0]), rng)]])

    def log_density(self, x_star, x):
        return np.array([self._log_q(float(x_star[0, 0]), float(x[0, 0]))])


def _mh_package(log_target, x0, n_draws, draw, log_q, rng):
    run = mcmc.metropolis_hastings(lambda x: np.array([log_target(float(x[0, 0]))]), [[x0]], n_draws,
                                   proposal=_ScalarProposal(draw, log_q), seed=rng)
    return run.draws[0, :, 0]


def _log_scale(u, log_A):
    return np.log(u) < log_A


@functools.cache
def _bimodal_draws(n_draws, seed=4):
    def log_bimodal(x):  # the chapter's, with scipy's norm.logpdf(x, m, 1) written out (the same numbers, 5x faster)
        x = x[:, 0]
        log_c = np.log(np.sqrt(2 * np.pi))
        return np.logaddexp(-((x + 5.0) ** 2) / 2.0 - log_c, -((x - 5.0) ** 2) / 2.0 - log_c) + np.log(0.5)

    x0 = np.array([[-10.0], [-3.0], [3.0], [10.0]])
    return mcmc.metropolis_hastings(log_bimodal, x0, n_draws, step=1.0, seed=seed).draws[..., 0]


def _split_by_hand(draws):
    """Split R-hat with the classic formula written out, not via bhm.diagnostics."""
    draws = np.asarray(draws)
    half = draws.shape[1] // 2
    chains = np.vstack([draws[:, :half], draws[:, -half:]])
    n = chains.shape[1]
    w = chains.var(axis=1, ddof=1).mean()
    return float(np.sqrt(((n - 1) / n * w + chains.mean(axis=1).var(ddof=1)) / w))


def _split_arviz(draws):
    return float(az.rhat(np.asarray(draws), method="split"))


def _rank_split_arviz(draws):  # rank-normalised: not what the exercise asks
    return float(az.rhat(np.asarray(draws)))


@functools.cache
def _ex3_run(keep_from=2000):
    """ex3-mcse's run with the log posterior written out (not bhm.exercises'): draws from keep_from on."""
    y = _y()

    def log_post(mu):
        return stats.norm.logpdf(mu[:, 0], 60.0, 10.0) + stats.norm.logpdf(y[:, None], mu[:, 0], 15.0).sum(axis=0)

    starts = np.array([[50.0], [60.0], [70.0], [80.0]])
    return mcmc.metropolis_hastings(log_post, starts, 4000, step=2.0, seed=9).draws[:, keep_from:, 0]


def _ex3_mcse_bulk():
    kept = _ex3_run()
    return kept.std(ddof=1) / np.sqrt(float(az.ess(kept, method="bulk")))


def _ex3_draws(mcse, n=2000):
    return n * (mcse / 0.1) ** 2


def _arviz_mcse(h):
    return float(az.mcse(h, method="mean"))


def _first_half():
    return conjugate.normal_posterior(_y()[:5], sigma=15.0, mu0=60.0, sigma0=10.0)


@functools.cache
def _gcse_draws(seed=7):
    """Posterior draws of the GCSE schools' alpha and beta (another seed than the book's), as DataFrames."""
    from bhm import gcse
    from bhm.data import complete_course, load_gcse

    post = gcse.fit_bayes(complete_course(load_gcse()), seed=seed, chains=4, draws=1000, warmup=1000).posterior
    def frame(name):
        return post[name].stack(sample=("chain", "draw")).transpose("sample", "school").to_pandas()
    return frame("alpha"), frame("beta")


def _gcse_p_greater(a, b):
    alpha, _ = _gcse_draws()
    return float((alpha[a] - alpha[b] > 0).mean())


def _gcse_p_top5(school, ascending=False):
    alpha, _ = _gcse_draws()
    ranks = alpha.rank(axis=1, ascending=ascending)   # pandas, not bhm.gcse.rank_draws
    return float((ranks[school] <= 5).mean())


def _gcse_p_smallest_gap_negative():
    _, beta = _gcse_draws()
    smallest = beta.mean().idxmin()
    return float((beta[smallest] < 0).mean())


def _gcse_standardised_mu_alpha():
    """Standardise with numpy and fit on the per-student data frame (another seed)."""
    from bhm import gcse
    from bhm.data import complete_course, load_gcse

    df = complete_course(load_gcse())
    y = df["course"].to_numpy()
    z = df.assign(course=(y - y.mean()) / y.std(ddof=0))
    fit = gcse.fit_bayes(z, seed=11, mu_loc=(0, 0), mu_scale=(1, 1), tau_scale=(1, 1), sigma_scale=1)
    return float(y.mean() + y.std(ddof=0) * fit.posterior["mu_alpha"].mean())


def _outer_share(n_reps, seed, sd_factor=0.5):
    """Share of ranks in the outer bins, from exact posterior draws scaled by hand (not bhm.sbc)."""
    rng = np.random.default_rng(seed)
    mu = rng.normal(0, 1, n_reps)
    y = rng.normal(mu[:, None], 1, (n_reps, 10))
    post_sd = np.sqrt(1 / 11)
    draws = rng.normal((y.sum(axis=1) / 11)[:, None], sd_factor * post_sd, (n_reps, 99))
    rank = (draws < mu[:, None]).sum(axis=1)
    return float(((rank < 5) | (rank >= 95)).mean())


def _prior_top_share(n_reps, seed, column="loglik"):
    """Share of top-bin ranks when the draws are prior draws, by hand (not bhm.sbc): the log-likelihood's
    (a draw farther from ybar has a smaller one), or the parameter's (``column="mu"``)."""
    rng = np.random.default_rng(seed)
    mu = rng.normal(0, 1, n_reps)
    ybar = rng.normal(mu, 1 / np.sqrt(10))
    draws = rng.normal(0, 1, (n_reps, 99))
    if column == "mu":
        rank = (draws < mu[:, None]).sum(axis=1)
    else:
        rank = (np.abs(draws - ybar[:, None]) > np.abs(mu - ybar)[:, None]).sum(axis=1)
    return float((rank >= 95).mean())


@functools.cache
def _gcse_ml():
    from bhm import gcse
    from bhm.data import complete_course, load_gcse

    course = complete_course(load_gcse())
    return gcse.fit_ml(course), course


def _gcse_blup(school):
    ml, _ = _gcse_ml()
    return ml.fixed["intercept"] + ml.blups.loc[school, "intercept"]


def _conditional_by_hand(school, rho=None):
    """E[alpha_j | y_j] at the ML estimates from the school's students (not cells): y_j ~ N(X mu, X S X' + s2 I)."""
    ml, course = _gcse_ml()
    mine = course[course["school"] == school]
    X = np.column_stack([np.ones(len(mine)), mine["female"].to_numpy()])
    sa, sb = ml.sd["intercept"], ml.sd["female"]
    r = ml.corr if rho is None else rho
    S = np.array([[sa**2, r * sa * sb], [r * sa * sb, sb**2]])
    mu = np.array([ml.fixed["intercept"], ml.fixed["female"]])
    V = X @ S @ X.T + ml.sd["residual"] ** 2 * np.eye(len(mine))
    return float((mu + S @ X.T @ np.linalg.solve(V, mine["course"].to_numpy() - X @ mu))[0])


def _weight_by_hand(n=20, sigma=13.030, sigma0=10.146):
    return (n / sigma**2) / (n / sigma**2 + 1 / sigma0**2)


@functools.cache
def _committed_study():
    import pandas as pd

    return pd.read_csv(ROOT / "data" / "study_results.csv.gz")


def _cell(prior, size):
    r = _committed_study()
    return r[(r["program"] == "marginal") & (r["design"] == "A") & (r["prior"] == prior) & (r["size"] == size)]


def _coverage(lo, hi):
    cell = _cell("true", "5x200")
    return float(np.mean([a <= 1.0 <= b for a, b in zip(cell[f"sigma_b_{lo}"], cell[f"sigma_b_{hi}"])]))


def _pull_by_hand(groups=5, per_group=50, scale=9.0):
    """The wrong prior's pull on gamma_1 (scale 9: sum u_j^2 = 9 J), sigma_b = 1."""
    precision = groups / (1.0 + 1.0 / (per_group * 9.0)) * scale
    return 1.0 / (1.0 + precision)


def _stored_rerun():
    return float(_cell("flat", "10x100").set_index("sim").loc[17, "gamma_1_mean"])


def _ppc_means_other_way(seed=5):
    """Chapter 4's p-value for the sd of the school means, another way: statsmodels' OLS, scipy's
    inverse chi-square and multivariate normal, pandas' groupby (4,000 replications)."""
    import pandas as pd
    import statsmodels.api as sm

    from bhm import simulate

    sizes = np.random.default_rng(1).integers(5, 61, size=20)
    data = simulate.simulate_varying_slope(simulate.draw_design(sizes, seed=2), seed=3)
    X = sm.add_constant(data["x"])
    ols = sm.OLS(data["y"], X).fit()
    rng = np.random.default_rng(seed)
    dof = data["N"] - 2
    sigma2 = dof * ols.scale / stats.chi2.rvs(dof, size=4000, random_state=rng)
    unscaled = np.linalg.inv(X.T @ X)
    coef = np.array([rng.multivariate_normal(ols.params, s2 * unscaled) for s2 in sigma2])
    y_rep = coef @ X.T + np.sqrt(sigma2)[:, None] * rng.standard_normal((4000, data["N"]))
    schools = pd.Series(data["group"])
    observed = pd.Series(data["y"]).groupby(schools).mean().std(ddof=0)
    replicated = pd.DataFrame(y_rep.T).groupby(schools.to_numpy()).mean().std(ddof=0)
    return float((replicated >= observed).mean())


def _pooling_rmse(kind="rmse"):
    from bhm import simulate

    sizes = np.random.default_rng(10).choice([2, 3, 5, 8, 13, 20, 35, 60, 100], size=40)
    scores = simulate.simulate_varying_intercept(sizes, seed=11, mu_alpha=60.0, sigma_alpha=8.0, sigma_y=15.0)
    import pandas as pd

    ybar = pd.Series(scores["y"]).groupby(scores["group"]).mean().to_numpy()
    mse = float(np.mean((ybar - scores["alpha"]) ** 2))
    return np.sqrt(mse) if kind == "rmse" else mse


# Right answers, reached in other ways than the book's solutions: by hand, rounded as
# the exercise allows, with other seeds (Monte Carlo answers), other estimators. Each
# entry is a thunk, so that collecting the tests computes nothing.
RIGHT = {
    "ex1-alpha": [lambda: 25 / 34, lambda: 0.735, lambda: np.float32(0.7353), lambda: np.array(0.7353),
                  lambda: [0.7353]],
    "ex1-alpha-mean": [lambda: 60 + 25 / 34 * 10, lambda: 67.35],
    "ex1-flat": [lambda: 15 / np.sqrt(10) * 0.99 / np.sqrt(1 - 0.99**2), lambda: 33.3, lambda: 33.29,
                 lambda: 33.2, lambda: 33.38, _flat_by_root],
    "ex1-sequential": [_exact, lambda: (round(_exact().mean(), 3), round(_exact().std(), 3))],
    "ex1-conflict": [lambda: conjugate.normal_posterior(_y(), sigma=15.0, mu0=40.0, sigma0=5.0),
                     # precisions by hand, and the moments of the grid posterior
                     lambda: ((10 / 225 * _y().mean() + 40 / 25) / (10 / 225 + 1 / 25),
                              (10 / 225 + 1 / 25) ** -0.5),
                     lambda: _grid_moments(40.0, 5.0), lambda: (55.54, 3.44)],
    "ex1-conflict-p": [lambda: conjugate.normal_posterior(_y(), sigma=15.0, mu0=40.0, sigma0=5.0).sf(60),
                       lambda: _grid_tail(40.0, 5.0, 60.0), lambda: 0.098],
    "ex1-predict-interval": [lambda: _exact().interval(0.90), lambda: _exact().ppf([0.05, 0.95]),
                             lambda: [_exact().mean() - 1.6449 * _exact().std(),
                                      _exact().mean() + 1.6449 * _exact().std()],
                             lambda: (60.73, 74.83),
                             lambda: (_exact().mean() - 1.64 * _exact().std(),     # z rounded to 1.64
                                      _exact().mean() + 1.64 * _exact().std())],
    "ex1-predict-five": [lambda: stats.norm(_exact().mean(), np.sqrt(45 + _exact().var())).sf(70),
                         lambda: _five_by_simulation(), lambda: 0.39,
                         lambda: _five_by_simulation(size=100_000, seed=2),
                         lambda: _five_by_simulation(size=100_000, seed=3)],
    "ex2-mh": [lambda: _mh_variant(_log_scale), lambda: _mh_ratio_scale, lambda: _mh_package],
    "ex2-best-step": [lambda: _sweep(2026)[0], lambda: _sweep(8)[0], lambda: 2.4 * _exact().std(), lambda: 12],
    "ex2-best-ess": [lambda: _sweep(2026)[1], lambda: _sweep(8)[1], lambda: 0.23],
    "ex2-mcse-estimate": [lambda: _indicator(3).mean(), lambda: _indicator(11).mean(), lambda: _exact().sf(70)],
    "ex2-mcse": [lambda: _arviz_mcse(_indicator(3)), lambda: _batch_means_mcse(_indicator(3)),
                 lambda: _batch_means_mcse(_indicator(3), 500)],
    "ex2-wrong-target": [lambda: 1.0, lambda: _without_hastings_mean(6), lambda: _without_hastings_mean(12),
                         lambda: stats.gamma(a=2.0, scale=0.5).mean()],
    "ex3-rhat-by-hand": [lambda: np.sqrt(8 / 3), lambda: 1.633, lambda: 1.63,
                         lambda: diagnostics.gelman_rubin_parts([[1, 2, 3], [3, 4, 5]])],
    "ex3-long-enough": [lambda: diagnostics.gelman_rubin(_bimodal_draws(100_000)),
                        lambda: round(diagnostics.gelman_rubin(_bimodal_draws(100_000)), 3)],
    "ex3-split": [lambda: _split_by_hand, lambda: _split_arviz],
    "ex3-mcse": [lambda: float(az.mcse(az.from_dict(posterior={"mu": _ex3_run()}))["mu"]),
                 lambda: _batch_means_mcse(_ex3_run()), _ex3_mcse_bulk, lambda: 0.25],
    "ex3-mcse-draws": [lambda: _ex3_draws(_ex3_mcse_bulk()), lambda: _ex3_draws(_batch_means_mcse(_ex3_run())),
                       lambda: 12000, lambda: np.int64(12100)],
    "ex4-shrinkage": [lambda: 0.532, lambda: 1 / (1 + 225 / (4 * 64)), lambda: 0.53],   # rounded: right
    "ex4-half": [lambda: 3.516, lambda: (15 / 8) ** 2, lambda: 3.5],                    # as the solution prints
    "ex4-pooling-best": [lambda: "partial pooling", lambda: "Partial pooling ", lambda: "partial"],
    "ex4-rmse-none": [_pooling_rmse, lambda: round(_pooling_rmse(), 2)],
    "ex4-eta": [lambda: 0.136, lambda: 0.1336, lambda: 0.1382],
    "ex4-ppc-means": [_ppc_means_other_way, lambda: _ppc_means_other_way(6), lambda: 0.97],
    "ex5-coverage": [lambda: _coverage("q2.5", "q97.5")],
    "ex5-predict": [_pull_by_hand, lambda: np.float64(_pull_by_hand()), lambda: 1 / 46,
                    lambda: __import__("bhm.study").study.predicted_pull("A", "5x50", "wrong")["pull_gamma_1"]],
    "ex5-rerun": [_stored_rerun],
    "ex6-weight": [_weight_by_hand, lambda: 0.924, lambda: 1 / (1 + 13.030**2 / (20 * 10.146**2))],
    "ex6-compare": [lambda: _gcse_p_greater("50631", "68805"), lambda: 0.67],
    "ex6-top5": [lambda: _gcse_p_top5("60437"), lambda: 0.68],
    "ex6-gap": [_gcse_p_smallest_gap_negative, lambda: 0.86],
    "ex6-standardise": [lambda: 69.43, _gcse_standardised_mu_alpha],
    "ex6-blup": [lambda: _gcse_blup("22908"), lambda: _conditional_by_hand("22908"), lambda: 65.961],
    "ex7-rank": [lambda: 5, lambda: 5.0, lambda: np.int64(5)],
    "ex7-band": [lambda: (33, 69), lambda: [33.0, 69.0],
                 lambda: (50 - 2.576 * np.sqrt(47.5), 50 + 2.576 * np.sqrt(47.5)), lambda: np.array([69, 33])],
    "ex7-narrow": [lambda: _outer_share(1000, 5), lambda: _outer_share(4000, 6), lambda: 0.41],
    "ex7-loglik": [lambda: _prior_top_share(1000, 5), lambda: _prior_top_share(4000, 6), lambda: 0.28,
                   lambda: 281 / 1000],
}


def _crash(draws):
    raise ZeroDivisionError("boom")


# Deliberately wrong answers: typical mistakes first.
WRONG = {
    "ex1-alpha": [lambda: 1 - 25 / 34, lambda: (25 / 15) / (25 / 15 + 1 / 5), lambda: 0.5, lambda: 1.7],
    "ex1-alpha-mean": [lambda: 70.0, lambda: 65.0, lambda: 25 / 34 * 60 + (1 - 25 / 34) * 70],
    "ex1-flat": [lambda: 15 / np.sqrt(10) * np.sqrt(99),       # variance, not sd, within 1%
                 lambda: 15 * 0.99 / np.sqrt(1 - 0.99**2),       # sigma in place of sigma/sqrt(n)
                 lambda: 1e6, lambda: 0.0, lambda: -3.0, lambda: (_y().mean(), 15 / np.sqrt(10)),
                 lambda: 33.1, lambda: 33.5],                                # outside 0.1
    "ex1-sequential": [
        # the first half forgotten
        lambda: conjugate.normal_posterior(_y()[5:], sigma=15.0, mu0=60.0, sigma0=10.0),
        # the first posterior's variance passed as its sd
        lambda: conjugate.normal_posterior(_y()[5:], sigma=15.0, mu0=_first_half().mean(),
                                           sigma0=_first_half().var()),
        # the data used twice: all ten scores again, under the posterior as prior
        lambda: conjugate.normal_posterior(_y(), sigma=15.0, mu0=_exact().mean(), sigma0=_exact().std()),
    ],
    "ex1-conflict": [lambda: conjugate.normal_posterior(_y(), sigma=15.0, mu0=40.0, sigma0=np.sqrt(5.0)),
                     lambda: conjugate.normal_posterior(_y()[:1] * 0 + _y().mean(), sigma=15.0, mu0=40.0,
                                                        sigma0=5.0),                     # one score's precision
                     lambda: (55.54, 11.84),                                             # the variance
                     lambda: (55.54, 5.0), lambda: (40.0, 5.0), lambda: (_y().mean(), 15 / np.sqrt(10)),
                     _exact],
    "ex1-conflict-p": [lambda: 0.902, lambda: stats.norm(_y().mean(), 15 / np.sqrt(10)).sf(60),
                       lambda: stats.norm(40, 5).sf(60), lambda: 9.76, lambda: 0.5],
    "ex1-predict-interval": [lambda: stats.norm(_y().mean(), 15 / np.sqrt(10)).interval(0.90),   # confidence
                             lambda: _exact().interval(0.95),
                             lambda: stats.norm(_exact().mean(), np.sqrt(225 + _exact().var())).interval(0.90),
                             lambda: stats.norm(_exact().mean(), _exact().var()).interval(0.90),
                             lambda: (74.83, 60.73), lambda: 67.78, lambda: (60.0, 75.0)],
    "ex1-predict-five": [lambda: stats.norm(_exact().mean(), np.sqrt(45)).sf(70),     # no sigma_mu^2
                         lambda: _exact().sf(70),                                     # mu, not the five
                         lambda: stats.norm(_exact().mean(), np.sqrt(225 + _exact().var())).sf(70),   # one
                         lambda: 0.61, lambda: 39.0, lambda: stats.norm(_exact().mean(), np.sqrt(
                             9 + _exact().var())).sf(70), lambda: 0.375, lambda: 0.405],
    "ex2-mh": [
        lambda: _mh_variant(_log_scale, hastings=0),                   # no Hastings term
        lambda: _mh_variant(_log_scale, hastings=-1),                  # the Hastings term upside down
        lambda: _mh_variant(lambda u, log_A: u < log_A),               # u against log A: never accepts
        lambda: _mh_variant(lambda u, log_A: np.log(u) < np.exp(log_A)),  # log u against A: always accepts
        lambda: _mh_variant(_log_scale, keep_rejections=False),        # only the accepted states
        lambda: _mh_variant(_log_scale, with_start=True),              # x_0 returned too
        lambda: _mh_variant(_log_scale, column=True),                  # shape (n_draws, 1)
        lambda: _mh_variant(_log_scale, u_once=True),                  # one u for the whole chain
        lambda: _mh_variant(_log_scale, store_candidates=True),        # x* stored after a rejection too
        lambda: (lambda log_target, x0, n_draws, draw, log_q, rng: np.full(n_draws, x0)),  # returns the start
        lambda: _crash, lambda: (lambda *args: None)],
    "ex2-best-step": [lambda: 2.4, lambda: 2.0, lambda: 4.0, lambda: 22.0, lambda: 26.0, lambda: 30.0],
    "ex2-best-ess": [lambda: 4 * _sweep(2026)[1], lambda: 20000 * _sweep(2026)[1], lambda: 0.44, lambda: 0.05],
    "ex2-mcse-estimate": [lambda: 1 - _indicator(3).mean(), lambda: 0.5, lambda: 30.7],
    "ex2-mcse": [lambda: _indicator(3).std() / np.sqrt(20000), lambda: _indicator(3).std(), lambda: 0.02,
                 lambda: -0.006],
    "ex2-wrong-target": [lambda: 1.5, lambda: 2.0, lambda: 0.5],
    "ex3-rhat-by-hand": [lambda: 8 / 3, lambda: 1.0, lambda: 0.9, lambda: np.sqrt(3), lambda: np.sqrt(5 / 3)],
    "ex3-long-enough": [lambda: diagnostics.gelman_rubin(_bimodal_draws(4000)), lambda: 1.0, lambda: 1.005],
    "ex3-mcse": [lambda: _ex3_run().std() / np.sqrt(8000), lambda: _ex3_run().std(),
                 lambda: float(az.mcse(_ex3_run(0))), lambda: 0.0],
    "ex3-mcse-draws": [lambda: 4 * _ex3_draws(_ex3_mcse_bulk()), lambda: 2000 * _ex3_mcse_bulk() / 0.1,
                       lambda: _ex3_draws(_ex3_run().std() / np.sqrt(8000)), lambda: -5.0, lambda: 1e6],
    "ex3-split": [lambda: diagnostics.gelman_rubin, lambda: _rank_split_arviz, lambda: _crash,
                  lambda: (lambda draws: "1.0"), lambda: (lambda: 1.0)],
    "ex4-shrinkage": [lambda: 1 - 0.532, lambda: 0.47, lambda: 8 / (8 + 15 / 4), lambda: 0.966, lambda: 0.52],
    "ex4-half": [lambda: 15 / 8, lambda: 1.88, lambda: 4, lambda: 0.5, lambda: 3.4],
    "ex4-pooling-best": [lambda: "no pooling", lambda: "complete pooling", lambda: "bayes", lambda: 1],
    "ex4-rmse-none": [lambda: _pooling_rmse("mse"), lambda: 0.0, lambda: 15.0],
    "ex4-eta": [lambda: 0.136**2, lambda: 1.0, lambda: 0.3],
    "ex4-ppc-means": [lambda: 1 - _ppc_means_other_way(), lambda: 0.0, lambda: 0.5, lambda: 97.0, lambda: 1.2],
    "ex5-coverage": [lambda: _coverage("q5", "q95"), lambda: 0.95 if abs(_coverage("q2.5", "q97.5") - 0.95) > 1e-9
                     else 0.5, lambda: 1 - _coverage("q2.5", "q97.5")],
    "ex5-predict": [lambda: 1 / 6, lambda: 1 - _pull_by_hand(), lambda: _pull_by_hand(scale=1.0), lambda: 0.0565,
                    lambda: 0.5],
    "ex5-rerun": [lambda: _stored_rerun() + 0.01, lambda: 1.0],
    "ex6-weight": [lambda: 1 - _weight_by_hand(), lambda: (20 / 13.03) / (20 / 13.03 + 1 / 10.146), lambda: 0.5,
                   lambda: 92.4],
    "ex6-compare": [lambda: _gcse_p_greater("68805", "50631"), lambda: _gcse_p_greater("50631", "60437"),
                    lambda: 66.9, lambda: 0.5],
    "ex6-top5": [lambda: _gcse_p_top5("60437", ascending=True), lambda: 1 - _gcse_p_top5("60437"),
                 lambda: 5 / 73],
    "ex6-gap": [lambda: 1 - _gcse_p_smallest_gap_negative(), lambda: 1.0, lambda: 0.5],
    "ex6-standardise": [lambda: -0.2, lambda: 1.12, lambda: 68.2],
    "ex6-blup": [lambda: _conditional_by_hand("22908", rho=0.0), lambda: 83.3, lambda: 69.425,
                 lambda: _gcse_blup("22710"), lambda: 65.9],
    "ex7-rank": [lambda: 4, lambda: 6, lambda: 5.5, lambda: 0.5],
    "ex7-band": [lambda: (0.033, 0.069), lambda: (40, 60), lambda: 50, lambda: (33, 69, 50)],
    "ex7-narrow": [lambda: 0.1, lambda: _outer_share(1000, 5, sd_factor=1.5), lambda: 41.0],
    "ex7-loglik": [lambda: 0.05, lambda: 0.0, lambda: 1140, lambda: 0.5, lambda: _prior_top_share(4000, 5, "mu")],
}

BAD_INPUTS = [None, "abc", float("nan"), np.inf, np.ones(3), np.full((2, 2), np.nan), [], {"a": 1}, object(), True]


def _cases(table):
    return [pytest.param(name, thunk, id=f"{name}-{i}") for name, thunks in table.items()
            for i, thunk in enumerate(thunks)]


# --------------------------------------------------------------------------- check(): unit tests


def test_every_registered_check_has_test_answers():
    assert set(RIGHT) == set(CHECKS) == set(WRONG)


@pytest.mark.parametrize(("name", "thunk"), _cases(RIGHT))
def test_right_answers_are_right(name, thunk, capsys):
    result = check(name, thunk())
    assert result.status == "right", result.message
    assert result.right
    assert capsys.readouterr().out == f"✓ {name}: right\n"


def _giveaways(name):
    """Strings that would reveal the expected answer if a hint contained them."""
    expected = RIGHT[name][0]()
    if hasattr(expected, "dist"):
        expected = (expected.mean(), expected.std())
    if callable(expected) or isinstance(expected, str):
        return []
    values = np.atleast_1d(np.asarray(expected, dtype=float))
    return [f"{v:.3g}" for v in values] + [f"{v:.4f}" for v in values]


@pytest.mark.parametrize(("name", "thunk"), _cases(WRONG))
def test_wrong_answers_get_a_hint(name, thunk, capsys):
    result = check(name, thunk())
    assert result.status == "wrong"
    assert not result.right
    assert result.message.startswith(f"✗ {name}: wrong. Hint: ")
    hint = result.message.split("Hint: ", 1)[1]
    assert len(hint) > 20
    hint = re.sub(r"you gave [^;]*", "", hint)  # the student's own answer, echoed
    for giveaway in _giveaways(name):
        assert not re.search(rf"(?<![\d.]){re.escape(giveaway)}(?!\d)", hint), \
            f"the hint gives the answer away: {giveaway!r} in {hint!r}"
    assert capsys.readouterr().out == result.message + "\n"


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=lambda bad: type(bad).__name__)
@pytest.mark.parametrize("name", sorted(CHECKS))
def test_bad_input_is_wrong_with_a_hint_never_an_exception(name, bad):
    result = check(name, bad)
    assert result.status == "wrong"
    assert "Hint: " in result.message
    assert "Traceback" not in result.message


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_ellipsis_is_not_answered_yet(name, capsys):
    result = check(name, ...)
    assert result.status == "not answered"
    assert capsys.readouterr().out == f"… {name}: not answered yet (replace the ... by your answer)\n"


def test_type_and_shape_hints():
    assert "one number" in check("ex1-alpha", np.ones(3)).message
    assert "shape (3,)" in check("ex1-alpha", np.ones(3)).message
    assert "nan" in check("ex1-alpha", float("nan")).message
    assert "pair (mean, sd)" in check("ex1-sequential", 3.0).message
    assert "not a percentage" in check("ex2-mcse-estimate", 30.7).message
    assert "Hastings term" in check("ex2-mh", _mh_variant(_log_scale, hastings=0)).message
    assert "never moves" in check("ex2-mh", _mh_variant(lambda u, log_A: u < log_A)).message
    assert "returned 3001 states" in check("ex2-mh", _mh_variant(_log_scale, with_start=True)).message
    assert "effective sample size" in check("ex2-mcse", _indicator(3).std() / np.sqrt(20000)).message
    assert "4,000-iteration" in check("ex3-long-enough", diagnostics.gelman_rubin(_bimodal_draws(4000))).message
    assert "raised ZeroDivisionError" in check("ex3-split", _crash).message
    assert "unsplit" in check("ex3-split", diagnostics.gelman_rubin).message
    assert "in points" in check("ex2-best-step", 2.4).message
    assert "many dimensions" in check("ex2-best-step", 22.0).message  # acceptance nearest 0.234
    assert "spread is wrong" in check("ex2-mh", _mh_variant(_log_scale, u_once=True)).message
    assert "store the candidate x*" in check("ex2-mh", _mh_variant(_log_scale, store_candidates=True)).message


@pytest.mark.parametrize(("name", "answer", "phrase"), [
    ("ex1-flat", lambda: 15 / np.sqrt(10) * np.sqrt(99), "sd, not variance"),
    ("ex1-flat", lambda: 15 * 0.99 / np.sqrt(1 - 0.99**2), "sigma/sqrt(n), not sigma"),
    ("ex1-conflict", lambda: conjugate.normal_posterior(_y(), sigma=15.0, mu0=40.0, sigma0=np.sqrt(5.0)),
     "variance vs sd"),
    ("ex1-conflict", lambda: (55.54, 11.84), "posterior variance"),
    ("ex1-conflict-p", lambda: stats.norm(_y().mean(), 15 / np.sqrt(10)).sf(60), "likelihood alone"),
    ("ex1-predict-interval", lambda: stats.norm(_y().mean(), 15 / np.sqrt(10)).interval(0.90),
     "confidence interval"),
    ("ex1-predict-interval", lambda: _exact().interval(0.95), "95% interval"),
    ("ex1-predict-five", lambda: stats.norm(_exact().mean(), np.sqrt(45)).sf(70), "sigma^2/5 + sigma_mu^2"),
    ("ex1-predict-five", lambda: stats.norm(_exact().mean(), np.sqrt(225 + _exact().var())).sf(70),
     "one new student"),
])
def test_ex1_hints_name_the_mistake(name, answer, phrase):
    assert phrase in check(name, answer()).message


def test_ex3_mcse_run_passes_rhat_but_has_a_small_ess():
    # what the exercise says of its run: R-hat below 1.01, bulk ESS below 400
    kept = _ex3_run()
    assert float(az.rhat(kept)) < 1.01
    assert float(az.ess(kept, method="bulk")) < 400


def test_ex3_mcse_hints_name_the_mistake():
    assert "formula for independent draws" in check("ex3-mcse", _ex3_run().std() / np.sqrt(8000)).message
    assert "all 4,000 iterations" in check("ex3-mcse", float(az.mcse(_ex3_run(0)))).message
    assert "total over the 4 chains" in check("ex3-mcse-draws", 4 * _ex3_draws(_ex3_mcse_bulk())).message
    assert "k squared" in check("ex3-mcse-draws", 2000 * _ex3_mcse_bulk() / 0.1).message
    assert "ignores the autocorrelation" in check(
        "ex3-mcse-draws", _ex3_draws(_ex3_run().std() / np.sqrt(8000))).message


def test_unknown_check_name_is_an_error_of_the_book():
    with pytest.raises(KeyError, match="no check named"):
        check("ex9-nothing", 1.0)


def test_result_is_not_displayed_twice():
    result = check("ex1-alpha", 25 / 34)
    assert result._ipython_display_() is None  # check() printed it; IPython shows nothing more
    assert str(result) == result.message


# --------------------------------------------------------------------------- chapters and registry


def test_chapters_found():
    assert [path.name[:2] for path in CHAPTERS][:3] == ["01", "02", "03"]


def test_checks_used_in_chapters_and_registered_agree():
    used = {name for path in CHAPTERS for name in _all_check_calls(path)}
    assert used - set(CHECKS) == set(), "checks used in a chapter but not registered"
    assert set(CHECKS) - used == set(), "registered checks no chapter uses"


@pytest.mark.parametrize("path", CHAPTERS, ids=CHAPTER_IDS)
def test_checks_sit_in_the_solution_of_their_exercise(path):
    number = int(path.name[:2])
    in_solutions = _chapter_checks(path)
    assert sorted(name for name, _ in in_solutions) == sorted(_all_check_calls(path)), \
        "a check call outside a solution block"
    for name, label in in_solutions:
        assert CHECKS[name].exercise == label, f"{name} is called in the solution of {label}"
        assert CHECKS[name].chapter == number
    labels = set(_EXERCISE_LABEL.findall(path.read_text(encoding="utf-8")))
    assert {CHECKS[name].exercise for name, _ in in_solutions} <= labels


@pytest.mark.parametrize("path", CHAPTERS, ids=CHAPTER_IDS)
def test_each_chapter_has_three_exercises_with_checks(path):
    checked = {CHECKS[name].exercise for name, _ in _chapter_checks(path) if name in CHECKS}
    assert len(checked) >= 3, f"exercises with checks: {sorted(checked)}"
    for label, source in _solution_code_cells(path):
        lines = [line.strip() for line in source.splitlines()]
        assert CHECK_MARKER in lines, f"a solution cell of {label} has no '{CHECK_MARKER}' line"
        kept = "\n".join(source.splitlines()[lines.index(CHECK_MARKER) + 1:])
        assert all(variable for _, variable in check_calls(kept)), "check answers must be variable names"


# --------------------------------------------------------------------------- student notebooks: structure


@pytest.mark.parametrize("path", CHAPTERS, ids=CHAPTER_IDS)
def test_student_notebook_keeps_the_chapter_and_drops_the_solutions(path):
    notebook = student_notebook(path)
    nbformat.validate(notebook)
    text = "\n".join(cell.source for cell in notebook.cells)
    assert "{solution" not in text and "{exercise" not in text
    chapter = jupytext.read(path)
    solution_sources = [source for _, source in _solution_code_cells(path)]
    kept = [cell.source for cell in chapter.cells if cell.cell_type == "code" and cell.source not in solution_sources]
    student_code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.source for cell in student_code if cell.source in kept] == kept  # worked examples, in order
    hidden = [cell for cell in chapter.cells if "remove-cell" in cell.metadata.get("tags", [])]
    assert len(hidden) == sum("remove-cell" in cell.metadata.get("tags", []) for cell in student_code)
    # lines the worked examples share with solutions (`print(`, `)`, ...) may stay
    worked_lines = {line for source in kept for line in source.splitlines()}
    for source in solution_sources:
        lines = source.splitlines()
        solution = lines[:lines.index(CHECK_MARKER)] if CHECK_MARKER in lines else lines
        for line in solution:
            if line.strip() and not line.strip().startswith("#") and line not in worked_lines:
                assert line not in text.splitlines(), f"solution code left in: {line!r}"
    stubs = re.findall(r"^(\w+) = \.\.\.  # TODO: ", text, re.MULTILINE)
    assert sorted(stubs) == sorted({variable for source in solution_sources
                                    for _, variable in check_calls(source)})
    in_student = sorted(name for cell in student_code for name, _ in check_calls(cell.source))
    assert sorted(_all_check_calls(path)) == in_student


@pytest.mark.parametrize("path", CHAPTERS, ids=CHAPTER_IDS)
def test_student_notebook_shows_the_code_the_page_shows(path):
    """Each literalinclude with :pyobject: becomes a code block with exactly the lines Sphinx includes
    (its start-at, end-at, dedent, prepend options honoured)."""
    from types import SimpleNamespace

    from sphinx.directives.code import LiteralIncludeReader

    text = "\n".join(cell.source for cell in student_notebook(path).cells if cell.cell_type == "markdown")
    for part in notebooks._directives(path.read_text(encoding="utf-8")):
        if part[0] != "directive" or part[1] != "literalinclude" or "pyobject" not in part[3]:
            continue
        options = {key: int(value) if key == "dedent" else value for key, value in part[3].items()}
        shown, _ = LiteralIncludeReader(str(path.parent / part[2]), options,
                                        SimpleNamespace(source_encoding="utf-8")).read()
        assert "```python\n" + shown.rstrip("\n") + "\n```" in text, part[3]


def test_stub_needs_a_variable_name():
    with pytest.raises(ValueError, match="must be a variable name"):
        notebooks._stub(f"x = 1\n{CHECK_MARKER}\ncheck('ex1-alpha', 0.7)", "ex1-alpha")
    with pytest.raises(ValueError, match="no check named"):
        notebooks._stub(f"x = 1\n{CHECK_MARKER}\ncheck('ex1-nothing', x)", "ex1-alpha")


def test_cli_writes_one_notebook_per_chapter(tmp_path, capsys):
    assert main(["exercises", "--out", str(tmp_path / "all")]) == 0
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == sorted(f"{p.stem}.ipynb" for p in CHAPTERS)
    assert main(["exercises", "--out", str(tmp_path / "one"), "--chapter", "2"]) == 0
    assert [p.name for p in (tmp_path / "one").iterdir()] == ["02_sampling.ipynb"]
    nbformat.validate(nbformat.read(tmp_path / "one" / "02_sampling.ipynb", as_version=4))
    assert main(["exercises", "--out", str(tmp_path / "none"), "--chapter", "99"]) == 2
    assert "no chapter [99]" in capsys.readouterr().err


def test_python_dash_m_bhm():
    done = subprocess.run([sys.executable, "-m", "bhm", "exercises", "--help"], capture_output=True, text=True,
                          check=True)
    assert "--out DIR" in done.stdout and "--chapter N" in done.stdout


# --------------------------------------------------------------------------- student notebooks: executed


def _text(cell):
    return "".join(out.get("text", "") for out in cell.get("outputs", []) if out.get("output_type") == "stream")


@pytest.fixture(scope="module", params=CHAPTERS, ids=CHAPTER_IDS)
def executed(request, tmp_path_factory):
    """A chapter's student notebook executed with nbclient, stubs left in, then the
    chapter's solution cells (the solutions put back) run in the same kernel."""
    from nbclient import NotebookClient

    path = request.param
    notebook = student_notebook(path)
    n_student = len(notebook.cells)
    for label, source in _solution_code_cells(path):
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["solution_of"] = label
        notebook.cells.append(cell)
    workdir = tmp_path_factory.mktemp(path.stem)
    NotebookClient(notebook, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(workdir)}}).execute()
    return path, notebook.cells[:n_student], notebook.cells[n_student:]


def test_student_notebook_runs_with_the_stubs_left_in(executed):
    path, student, _ = executed  # nbclient raised if a cell failed
    for cell in student:
        assert not any(out.get("output_type") == "error" for out in cell.get("outputs", []))
    names = [name for cell in student if cell.cell_type == "code" for name, _ in check_calls(cell.source)]
    printed = "".join(_text(cell) for cell in student if cell.cell_type == "code")
    assert sorted(re.findall(r"^… (\S+): not answered yet", printed, re.MULTILINE)) == sorted(names)
    assert "✓" not in printed and "✗" not in printed


def test_solutions_put_back_are_right(executed):
    path, _, solutions = executed
    for cell in solutions:
        printed = _text(cell)
        for name, _ in check_calls(cell.source):
            assert f"✓ {name}: right" in printed, f"{path.name}, {cell.metadata['solution_of']}: {printed}"
