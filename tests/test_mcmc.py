"""Tests of bhm.mcmc: correctness against exact answers, errors, seeds.

Monte Carlo tolerances are 4 Monte Carlo standard errors (MCSE), with the
MCSE estimated by ArviZ from the chains themselves (so it accounts for
autocorrelation). Each test uses a fixed seed, so it is deterministic; a
4-MCSE band would be missed by a correct sampler with probability about
6e-5 per assertion had the seed been drawn at random.
"""

import re

import arviz as az
import numpy as np
import pytest
from scipy import stats

from bhm.mcmc import (
    LogNormalWalk,
    MHResult,
    Proposal,
    RandomWalk,
    _log_acceptance,
    metropolis_hastings,
)


def _mcse_mean(values):
    """MCSE of the mean of ``values`` (chain, draw), from ArviZ's bulk ESS."""
    return float(az.mcse(np.asarray(values), method="mean"))


def _std_normal(x):
    return -0.5 * np.sum(x**2, axis=1)


# ---------------------------------------------------------------- correctness


def test_conjugate_normal_posterior():
    # Data y_i ~ N(mu, sigma^2) with sigma known, prior mu ~ N(mu0, sigma0^2).
    y = np.random.default_rng(20240101).normal(1.5, 2.0, size=20)
    sigma, mu0, sigma0 = 2.0, 0.0, 3.0
    n, ybar = y.size, y.mean()
    precision = n / sigma**2 + 1 / sigma0**2
    post_mean = (n * ybar / sigma**2 + mu0 / sigma0**2) / precision
    post_sd = 1 / np.sqrt(precision)

    def log_post(x):
        mu = x[:, :1]
        log_lik = -0.5 * np.sum((y - mu) ** 2, axis=1) / sigma**2
        return log_lik - 0.5 * (mu[:, 0] - mu0) ** 2 / sigma0**2

    x0 = np.random.default_rng(1).normal(0.0, 2.0, size=(8, 1))
    res = metropolis_hastings(log_post, x0, 5500, step=2.4 * post_sd, seed=11)
    mu = res.draws[:, 500:, 0]  # drop 500 draws of warm-up

    # mean: |estimate - exact| < 4 MCSE(mean)
    assert abs(mu.mean() - post_mean) < 4 * _mcse_mean(mu)
    # sd: |estimate - exact| < 4 MCSE(sd), MCSE of the sd from ArviZ
    mcse_sd = float(az.mcse(mu, method="sd"))
    assert abs(mu.std() - post_sd) < 4 * mcse_sd


def test_correlated_gaussian():
    mean = np.array([1.0, -1.0])
    sd = np.array([1.0, 2.0])
    rho = 0.8
    cov = np.outer(sd, sd) * np.array([[1.0, rho], [rho, 1.0]])
    prec = np.linalg.inv(cov)

    def log_target(x):
        d = x - mean
        return -0.5 * np.einsum("ci,ij,cj->c", d, prec, d)

    x0 = mean + np.random.default_rng(2).normal(size=(8, 2)) * sd
    res = metropolis_hastings(log_target, x0, 6000, step=1.2 * sd, seed=12)
    theta = res.draws[:, 500:, :]  # drop warm-up

    for k in range(2):
        # mean: within 4 MCSE(mean)
        assert abs(theta[..., k].mean() - mean[k]) < 4 * _mcse_mean(theta[..., k])
        # variance: E[(theta_k - mean_k)^2] = sd_k^2, estimated by a mean of
        # squared deviations from the exact mean; within 4 MCSE of that mean
        sq = (theta[..., k] - mean[k]) ** 2
        assert abs(sq.mean() - sd[k] ** 2) < 4 * _mcse_mean(sq)
    # correlation: E[z1 z2] = rho for exactly standardised z; within 4 MCSE
    z = (theta - mean) / sd
    prod = z[..., 0] * z[..., 1]
    assert abs(prod.mean() - rho) < 4 * _mcse_mean(prod)


def _gamma_run(hastings):
    shape, rate = 3.0, 2.0

    def log_gamma(x):
        with np.errstate(divide="ignore", invalid="ignore"):
            lp = (shape - 1) * np.log(x[:, 0]) - rate * x[:, 0]
        return np.where(x[:, 0] > 0, lp, -np.inf)

    x0 = np.random.default_rng(3).gamma(shape, 1 / rate, size=(8, 1))
    res = metropolis_hastings(
        log_gamma, x0, 4500, proposal=LogNormalWalk(1.2), hastings=hastings, seed=13
    )
    return res.draws[:, 500:, 0]


def test_lognormal_walk_gamma_target():
    # Gamma(shape 3, rate 2): mean 3/2, variance 3/4.
    x = _gamma_run(hastings=True)
    # mean within 4 MCSE(mean)
    assert abs(x.mean() - 1.5) < 4 * _mcse_mean(x)
    # variance as a mean of squared deviations from the exact mean, 4 MCSE
    sq = (x - 1.5) ** 2
    assert abs(sq.mean() - 0.75) < 4 * _mcse_mean(sq)


def test_lognormal_walk_without_hastings_term_is_wrong():
    # Without q(x|y)/q(y|x) = y/x the chain is reversible w.r.t. pi(x)/x,
    # i.e. Gamma(shape 2, rate 2) with mean 1.0 instead of 1.5.
    x = _gamma_run(hastings=False)
    mcse = _mcse_mean(x)
    # wrong by more than 10 MCSE ...
    assert abs(x.mean() - 1.5) > 10 * mcse
    # ... and right about the predicted wrong mean, within 4 MCSE
    assert abs(x.mean() - 1.0) < 4 * mcse


# Discrete target pi on {0, ..., 4} and an asymmetric proposal matrix Q,
# Q[i, j] = q(j | i), all entries positive.
_PI = np.arange(1.0, 6.0) / 15.0
_Q = np.random.default_rng(4).dirichlet(np.ones(5), size=5)


def _transition_matrix(hastings=True):
    """MH transition matrix P[i, j] built from the sampler's acceptance kernel."""
    log_pi = np.log(_PI)
    log_q = np.log(_Q)
    if hastings:
        # log q(x | y) = log Q[j, i], log q(y | x) = log Q[i, j] for x = i, y = j
        log_A = _log_acceptance(log_pi[:, None], log_pi[None, :], log_q.T, log_q)
    else:
        log_A = _log_acceptance(log_pi[:, None], log_pi[None, :])
    P = _Q * np.exp(log_A)
    np.fill_diagonal(P, 0.0)
    np.fill_diagonal(P, 1.0 - P.sum(axis=1))  # rejected or stay proposed
    return P


def test_discrete_kernel_exact_stationarity_and_detailed_balance():
    P = _transition_matrix()
    assert np.all(P >= 0)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    flow = _PI[:, None] * P  # pi_i P_ij
    np.testing.assert_allclose(flow, flow.T, rtol=0, atol=1e-12)  # detailed balance
    np.testing.assert_allclose(_PI @ P, _PI, rtol=0, atol=1e-12)  # pi P = pi


def test_discrete_kernel_without_hastings_term_is_not_stationary():
    P = _transition_matrix(hastings=False)
    assert np.max(np.abs(_PI @ P - _PI)) > 1e-3


class _DiscreteProposal:
    """Asymmetric proposal on the integers 0..4, stored as floats."""

    symmetric = False

    def draw(self, x, rng):
        i = x[:, 0].astype(int)
        u = rng.random(i.size)
        j = (u[:, None] > np.cumsum(_Q[i], axis=1)).sum(axis=1)
        return np.minimum(j, 4).astype(float)[:, None]

    def log_density(self, y, x):
        return np.log(_Q[x[:, 0].astype(int), y[:, 0].astype(int)])


def test_sampler_with_user_proposal_matches_discrete_target():
    assert isinstance(_DiscreteProposal(), Proposal)
    res = metropolis_hastings(
        lambda x: np.log(_PI[x[:, 0].astype(int)]),
        np.zeros((8, 1)),
        4000,
        proposal=_DiscreteProposal(),
        seed=14,
    )
    states = res.draws[..., 0]
    for k in range(5):
        indicator = (states == k).astype(float)
        # frequency of state k within 4 MCSE of pi_k
        assert abs(indicator.mean() - _PI[k]) < 4 * _mcse_mean(indicator)


def test_proposal_log_densities_are_exact():
    rng = np.random.default_rng(5)
    x = rng.uniform(0.5, 2.0, size=(6, 3))
    step = np.array([0.3, 0.5, 1.0])

    rw = RandomWalk(step)
    y = rw.draw(x, rng)
    expected = stats.norm.logpdf(y, loc=x, scale=step).sum(axis=1)
    np.testing.assert_allclose(rw.log_density(y, x), expected, rtol=1e-12)
    np.testing.assert_allclose(rw.log_density(y, x), rw.log_density(x, y), rtol=1e-12)

    lw = LogNormalWalk(step)
    y = lw.draw(x, rng)
    expected = stats.lognorm.logpdf(y, s=step, scale=x).sum(axis=1)
    np.testing.assert_allclose(lw.log_density(y, x), expected, rtol=1e-12)
    # Hastings ratio q(x|y)/q(y|x) = prod(y/x)
    ratio = np.exp(lw.log_density(x, y) - lw.log_density(y, x))
    np.testing.assert_allclose(ratio, np.prod(y / x, axis=1), rtol=1e-12)


# ---------------------------------------------------------- shapes and seeds


def test_shapes_and_acceptance_rate():
    res = metropolis_hastings(_std_normal, np.zeros((3, 2)), 700, seed=1)
    assert isinstance(res, MHResult)
    assert res.draws.shape == (3, 700, 2)
    assert res.acceptance_rate.shape == (3,)
    assert np.all((res.acceptance_rate > 0) & (res.acceptance_rate < 1))
    # for a continuous proposal, accepted <=> the state changed (almost surely)
    x0 = np.zeros((3, 1, 2))
    path = np.concatenate([x0, res.draws], axis=1)
    moved = np.any(np.diff(path, axis=1) != 0, axis=2).mean(axis=1)
    np.testing.assert_array_equal(res.acceptance_rate, moved)


def test_minus_inf_candidates_are_rejected():
    def half_normal(x):
        return np.where(x[:, 0] > 0, -0.5 * x[:, 0] ** 2, -np.inf)

    res = metropolis_hastings(half_normal, np.ones((4, 1)), 500, step=2.0, seed=2)
    assert np.all(res.draws > 0)


def test_same_seed_same_draws():
    a = metropolis_hastings(_std_normal, np.zeros((4, 2)), 600, seed=7)
    b = metropolis_hastings(_std_normal, np.zeros((4, 2)), 600, seed=np.random.default_rng(7))
    c = metropolis_hastings(_std_normal, np.zeros((4, 2)), 600, seed=8)
    assert np.array_equal(a.draws, b.draws)
    assert np.array_equal(a.acceptance_rate, b.acceptance_rate)
    assert not np.array_equal(a.draws, c.draws)


def test_same_seed_generic_proposal_and_prefix():
    def run(n):
        return metropolis_hastings(
            lambda x: -x[:, 0], np.ones((4, 1)), n, proposal=LogNormalWalk(0.5), seed=3
        ).draws

    long, short = run(600), run(300)  # 300 crosses a block boundary
    assert np.array_equal(run(600), long)
    assert np.array_equal(long[:, :300], short)


def test_step_and_explicit_random_walk_agree():
    a = metropolis_hastings(_std_normal, np.zeros((4, 2)), 300, step=[0.5, 2.0], seed=9)
    b = metropolis_hastings(
        _std_normal, np.zeros((4, 2)), 300, proposal=RandomWalk([0.5, 2.0]), seed=9
    )
    assert np.array_equal(a.draws, b.draws)


def test_to_inference_data():
    res = metropolis_hastings(_std_normal, np.zeros((2, 2)), 50, seed=1)
    post = res.to_inference_data().posterior
    assert post["theta"].dims == ("chain", "draw", "theta_dim_0")
    np.testing.assert_array_equal(post["theta"].values, res.draws)
    post = res.to_inference_data(var_names=["a", "b"]).posterior
    np.testing.assert_array_equal(post["b"].values, res.draws[:, :, 1])
    with pytest.raises(ValueError, match="var_names must be 2 strings"):
        res.to_inference_data(var_names=["a"])
    with pytest.raises(ValueError, match="var_names must be distinct"):
        res.to_inference_data(var_names=["a", "a"])


# ----------------------------------------------------------------- bad input

X2 = np.zeros((2, 2))


def _raises(message, *args, regex=False, **kwargs):
    """Assert that metropolis_hastings(*args, **kwargs) raises ValueError(message)."""
    with pytest.raises(ValueError, match=message if regex else re.escape(message)):
        metropolis_hastings(*args, **kwargs)


def test_x0_wrong_rank():
    _raises("x0 must have shape (n_chains, n_params); got shape (3,)", _std_normal, np.zeros(3), 10)
    _raises("got shape (2, 2, 2)", _std_normal, np.zeros((2, 2, 2)), 10)


def test_x0_not_finite():
    x0 = np.zeros((3, 2))
    x0[1, 0] = np.nan
    _raises("x0 must be finite; chains [1] are not", _std_normal, x0, 10)


def test_x0_not_numeric():
    _raises("x0 must be a numeric array", _std_normal, [["a", "b"]], 10)


@pytest.mark.parametrize("value", [-np.inf, np.nan])
def test_log_target_not_finite_at_x0(value):
    def lt(x):
        out = _std_normal(x)
        out[2] = value
        return out

    message = "log_target is not finite at x0 for chains [2]; start inside the support"
    _raises(message, lt, np.zeros((4, 1)), 10)


def test_log_target_wrong_shape():
    message = "log_target must return shape (n_chains,) = (4,); got (4, 2)"
    _raises(message, lambda x: x, np.zeros((4, 2)), 10)


def test_log_target_not_callable():
    _raises("log_target must be callable", 3.0, X2, 10)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_log_target_bad_value_at_candidate_names_first_iteration(value):
    calls = [0]

    def lt(x):
        calls[0] += 1  # call 1 is x0, call k + 2 is iteration k
        out = _std_normal(x)
        if calls[0] >= 302:
            out[3] = value
        return out

    # iteration 300 lies in the second block of 256 iterations
    message = r"log_target returned (nan|inf) at a candidate in iteration 300 \(0-based; chains \[3\]\)"
    _raises(message, lt, np.zeros((4, 2)), 1000, seed=1, regex=True)


@pytest.mark.parametrize("n_draws", [0, -5])
def test_n_draws_too_small(n_draws):
    _raises("n_draws must be an integer >= 1", _std_normal, X2, n_draws)


@pytest.mark.parametrize("n_draws", [2.5, 10.0, "10", True])
def test_n_draws_not_integer(n_draws):
    _raises("n_draws must be an integer >= 1", _std_normal, X2, n_draws)


@pytest.mark.parametrize("step", [0.0, -1.0, np.inf, np.nan, [1.0, 0.0]])
def test_step_not_positive_finite(step):
    _raises("step must be finite and > 0", _std_normal, X2, 10, step=step)


def test_step_wrong_length():
    message = "step must be a scalar or have length n_params = 2; got shape (3,)"
    _raises(message, _std_normal, X2, 10, step=[1.0, 1.0, 1.0])
    _raises("step must be a scalar or 1-D array", _std_normal, X2, 10, step=np.ones((2, 2)))


def test_step_and_proposal_together():
    message = "give either step or proposal, not both"
    _raises(message, _std_normal, X2, 10, step=0.5, proposal=RandomWalk(0.5))


def test_proposal_without_protocol():
    _raises("proposal must provide draw", _std_normal, X2, 10, proposal=object())


def test_x0_outside_proposal_support():
    message = "x0 is outside the support of the proposal LogNormalWalk(step=1.0) for chains [1]"
    x0 = np.array([[1.0], [-1.0]])
    _raises(message, lambda x: -x[:, 0], x0, 10, proposal=LogNormalWalk())


def test_proposal_bad_log_density():
    class Bad(RandomWalk):
        symmetric = False

        def log_density(self, y, x):
            return np.full(x.shape[0], np.nan)

    message = "proposal.log_density is nan or not finite for a drawn candidate in iteration 0"
    _raises(message, _std_normal, X2, 10, proposal=Bad(1.0))


def test_proposal_draw_wrong_shape():
    class Bad(RandomWalk):
        def draw(self, x, rng):
            return x[:, :1]

    message = "proposal.draw must return shape (n_chains, n_params) = (2, 2); got (2, 1) in iteration 0"
    _raises(message, _std_normal, X2, 10, proposal=Bad(1.0))


@pytest.mark.parametrize("seed", [-1, 1.5, "a", True])
def test_bad_seed(seed):
    message = "seed must be None, a non-negative int or a numpy.random.Generator"
    _raises(message, _std_normal, X2, 10, seed=seed)


def test_bad_hastings_flag():
    _raises("hastings must be True or False", _std_normal, X2, 10, hastings="no")


@pytest.mark.parametrize("cls", [RandomWalk, LogNormalWalk])
def test_proposal_bad_step(cls):
    with pytest.raises(ValueError, match="step must be finite and > 0"):
        cls(-0.1)
