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
    leapfrog,
    metropolis_1d,
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
    x_star = rw.draw(x, rng)
    expected = stats.norm.logpdf(x_star, loc=x, scale=step).sum(axis=1)
    np.testing.assert_allclose(rw.log_density(x_star, x), expected, rtol=1e-12)
    np.testing.assert_allclose(rw.log_density(x_star, x), rw.log_density(x, x_star), rtol=1e-12)

    lw = LogNormalWalk(step)
    x_star = lw.draw(x, rng)
    expected = stats.lognorm.logpdf(x_star, s=step, scale=x).sum(axis=1)
    np.testing.assert_allclose(lw.log_density(x_star, x), expected, rtol=1e-12)
    # Hastings ratio q(x|x_star)/q(x_star|x) = prod(x_star/x)
    ratio = np.exp(lw.log_density(x, x_star) - lw.log_density(x_star, x))
    np.testing.assert_allclose(ratio, np.prod(x_star / x, axis=1), rtol=1e-12)


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
    kwargs.setdefault("seed", 0)
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
    _raises("n_draws must be a whole number >= 1", _std_normal, X2, n_draws)


@pytest.mark.parametrize("n_draws", [2.5, 10.0, "10", True])
def test_n_draws_not_integer(n_draws):
    _raises("n_draws must be a whole number >= 1", _std_normal, X2, n_draws)


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
    message = "seed must be an int >= 0 or a numpy.random.Generator"
    _raises(message, _std_normal, X2, 10, seed=seed)


def test_no_seed_is_an_error():
    _raises("seed is required", _std_normal, X2, 10, seed=None)


def test_bad_hastings_flag():
    _raises("hastings must be True or False", _std_normal, X2, 10, hastings="no")


@pytest.mark.parametrize("cls", [RandomWalk, LogNormalWalk])
def test_proposal_bad_step(cls):
    with pytest.raises(ValueError, match="step must be finite and > 0"):
        cls(-0.1)


# ------------------------------------------------ the single-chain version


class _Replay(np.random.Generator):
    """A Generator that serves given uniforms and standard normals, in order.

    Both samplers draw their candidates' increments with ``standard_normal``
    and their uniforms with ``random``; fed the same two streams, they must
    make the same moves.
    """

    def __init__(self, uniforms, normals):
        super().__init__(np.random.PCG64(0))
        self._streams = {"u": iter(uniforms), "z": iter(normals)}

    def _take(self, key, size):
        stream = self._streams[key]
        if size is None:
            return next(stream)
        return np.array([next(stream) for _ in range(int(np.prod(size)))]).reshape(size)

    def random(self, size=None, dtype=np.float64, out=None):
        return self._take("u", size)

    def standard_normal(self, size=None, dtype=np.float64, out=None):
        return self._take("z", size)


def _quartic_1d(x):
    return -0.5 * x**2 - 0.1 * x**4


def _quartic(x):
    return -0.5 * x[:, 0] ** 2 - 0.1 * x[:, 0] ** 4


def test_metropolis_1d_makes_the_moves_of_metropolis_hastings():
    # The vectorised sampler draws its random numbers in blocks of 256
    # iterations, so 1,000 iterations use 1,024 of each kind.
    rng = np.random.default_rng(30)
    uniforms, normals = rng.random(2048), rng.standard_normal(2048)
    one = metropolis_1d(_quartic_1d, 0.3, 1000, step=1.7, seed=_Replay(uniforms, normals))
    many = metropolis_hastings(
        _quartic, np.array([[0.3]]), 1000, step=1.7, seed=_Replay(uniforms, normals)
    )
    assert one.shape == (1000,)
    np.testing.assert_array_equal(one, many.draws[0, :, 0])
    # both branches of step 5 were taken many times
    assert 0.3 < many.acceptance_rate[0] < 0.8


def test_metropolis_1d_conjugate_normal_posterior():
    y = np.random.default_rng(20240102).normal(1.5, 2.0, size=20)
    sigma, mu0, sigma0 = 2.0, 0.0, 3.0
    precision = y.size / sigma**2 + 1 / sigma0**2
    post_mean = (y.sum() / sigma**2 + mu0 / sigma0**2) / precision
    post_sd = 1 / np.sqrt(precision)

    def log_post(mu):
        return -0.5 * np.sum((y - mu) ** 2) / sigma**2 - 0.5 * (mu - mu0) ** 2 / sigma0**2

    mu = metropolis_1d(log_post, post_mean, 20000, 2.4 * post_sd, seed=31)[None, :]
    assert abs(mu.mean() - post_mean) < 4 * _mcse_mean(mu)
    assert abs(mu.std() - post_sd) < 4 * float(az.mcse(mu, method="sd"))


def test_metropolis_1d_rejects_where_the_target_is_zero_and_is_seeded():
    def half_normal(x):
        return -0.5 * x**2 if x > 0 else -np.inf

    a = metropolis_1d(half_normal, 1.0, 500, 2.0, seed=32)
    assert np.all(a > 0)
    np.testing.assert_array_equal(a, metropolis_1d(half_normal, 1.0, 500, 2.0, seed=32))
    assert not np.array_equal(a, metropolis_1d(half_normal, 1.0, 500, 2.0, seed=33))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((3.0, 0.0, 10, 1.0), "log_target must be callable"),
        ((_quartic_1d, np.nan, 10, 1.0), "x0 must be one finite number"),
        ((_quartic_1d, [0.0], 10, 1.0), "x0 must be one finite number"),
        ((_quartic_1d, 0.0, 0, 1.0), "n_draws must be a whole number >= 1"),
        ((_quartic_1d, 0.0, 10.0, 1.0), "n_draws must be a whole number >= 1"),
        ((_quartic_1d, 0.0, 10, 0.0), "step must be a finite number > 0"),
        ((_quartic_1d, 0.0, 10, np.inf), "step must be a finite number > 0"),
        ((lambda x: np.log(x), -1.0, 10, 1.0), "start where pi(x0) > 0"),
        ((lambda x: np.array([x]), 0.0, 10, 1.0), "log_target must return one float"),
    ],
)
def test_metropolis_1d_bad_input(args, message):
    with np.errstate(invalid="ignore"), pytest.raises(ValueError, match=re.escape(message)):
        metropolis_1d(*args, seed=0)


def test_metropolis_1d_bad_seed():
    with pytest.raises(ValueError, match="seed must be an int >= 0"):
        metropolis_1d(_quartic_1d, 0.0, 10, 1.0, seed=-1)


# ------------------------------------------------------------------ leapfrog


def _gaussian_grad(precision):
    return lambda x: -precision @ x


def _energy(precision, xs, ps):
    """H = -log pi(x) + |p|^2 / 2 along a trajectory, for a zero-mean normal target."""
    return 0.5 * np.einsum("ti,ij,tj->t", xs, precision, xs) + 0.5 * np.sum(ps**2, axis=1)


def test_leapfrog_energy_error_on_a_normal_target_is_known_exactly():
    # For pi = N(0, s^2) the leapfrog conserves exactly the "shadow" energy
    # p^2/2 + (1 - eps^2/(4 s^2)) x^2/(2 s^2), so the error of H after any
    # number of steps is eps^2/(8 s^4) (x_t^2 - x_0^2).
    s, eps = 0.7, 0.3
    xs, ps = leapfrog(lambda x: -x / s**2, [1.1], [0.4], eps, 200)
    h = 0.5 * xs[:, 0] ** 2 / s**2 + 0.5 * ps[:, 0] ** 2
    predicted = eps**2 / (8 * s**4) * (xs[:, 0] ** 2 - xs[0, 0] ** 2)
    np.testing.assert_allclose(h - h[0], predicted, rtol=0, atol=1e-12)


def test_leapfrog_energy_error_is_second_order_in_the_step():
    cov = np.array([[1.0, 0.9], [0.9, 1.0]])
    precision = np.linalg.inv(cov)
    errors = []
    for eps in (0.1, 0.05, 0.025):  # the same time, 3.0, in 30, 60, 120 steps
        xs, ps = leapfrog(_gaussian_grad(precision), [1.0, -0.5], [0.3, 0.8], eps, round(3.0 / eps))
        h = _energy(precision, xs, ps)
        errors.append(np.max(np.abs(h - h[0])))
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    # halving the step divides the error by 4 = 2^2 (within 10 %)
    np.testing.assert_allclose(ratios, 4.0, rtol=0.1)


def test_leapfrog_is_time_reversible():
    def grad(x):  # a non-Gaussian target: log pi = -x1^4/4 - (x2 - x1^2)^2 / 2
        return np.array([-x[0] ** 3 + 2 * x[0] * (x[1] - x[0] ** 2), -(x[1] - x[0] ** 2)])

    xs, ps = leapfrog(grad, [0.5, 0.2], [1.0, -0.7], 0.05, 80)
    back_x, back_p = leapfrog(grad, xs[-1], -ps[-1], 0.05, 80)
    np.testing.assert_allclose(back_x[-1], xs[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(-back_p[-1], ps[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(back_x[::-1], xs, rtol=0, atol=1e-12)


def test_leapfrog_is_exact_for_a_constant_gradient():
    # log pi(x) = g.x: the particle falls with constant acceleration g
    g, x0, p0, eps, n = np.array([0.5, -2.0]), np.array([1.0, 2.0]), np.array([0.3, 0.1]), 0.1, 25
    xs, ps = leapfrog(lambda x: g, x0, p0, eps, n)
    t = eps * np.arange(n + 1)[:, None]
    np.testing.assert_allclose(xs, x0 + p0 * t + 0.5 * g * t**2, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ps, p0 + g * t, rtol=0, atol=1e-12)


def test_leapfrog_preserves_volume():
    # On a normal target the map (x0, p0) -> (x_L, p_L) is linear: its matrix,
    # built column by column, has determinant 1.
    precision = np.linalg.inv(np.array([[1.0, 0.9], [0.9, 1.0]]))
    columns = []
    for k in range(4):
        start = np.eye(4)[k]
        xs, ps = leapfrog(_gaussian_grad(precision), start[:2], start[2:], 0.2, 20)
        columns.append(np.concatenate([xs[-1], ps[-1]]))
    assert abs(np.linalg.det(np.column_stack(columns)) - 1) < 1e-10


def test_leapfrog_diverges_beyond_the_stability_limit():
    # On N(0, s^2) the leapfrog is stable for eps < 2 s and unstable beyond:
    # the energy error is bounded by the shadow energy, or grows geometrically.
    s = 0.5
    for eps, stable in ((0.95, True), (1.05, False)):
        xs, ps = leapfrog(lambda x: -x / s**2, [0.5], [0.0], eps, 100)
        h = 0.5 * xs[:, 0] ** 2 / s**2 + 0.5 * ps[:, 0] ** 2
        error = np.max(np.abs(h - h[0]))
        if stable:
            # |x_t| <= max |x| on the shadow ellipse: error <= eps^2/(8 s^4) max x^2
            shadow = 0.5 * ps[0, 0] ** 2 + (1 - eps**2 / (4 * s**2)) * xs[0, 0] ** 2 / (2 * s**2)
            max_x2 = 2 * s**2 * shadow / (1 - eps**2 / (4 * s**2))
            assert error <= eps**2 / (8 * s**4) * max_x2 + 1e-12
        else:
            assert error > 1000  # what Stan would call a divergence


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"grad_log_target": 1.0}, "grad_log_target must be callable"),
        ({"x0": 1.0}, "x0 must be a 1-D array, not empty; got shape ()"),
        ({"x0": [np.nan]}, "x0 must be finite"),
        ({"p0": [0.0, 1.0]}, "x0 and p0 must have one shape; got (1,) and (2,)"),
        ({"p0": "a"}, "p0 must be a 1-D array of numbers"),
        ({"step_size": 0.0}, "step_size must be a finite number > 0"),
        ({"step_size": -0.1}, "step_size must be a finite number > 0"),
        ({"n_steps": 0}, "n_steps must be a whole number >= 1"),
        ({"n_steps": 2.0}, "n_steps must be a whole number >= 1"),
        ({"grad_log_target": lambda x: np.zeros(2)}, "grad_log_target must return shape (d,) = (1,); got (2,)"),
        ({"grad_log_target": lambda x: np.full(1, np.nan)}, "grad_log_target is not finite at x0"),
    ],
)
def test_leapfrog_bad_input(kwargs, message):
    args = {"grad_log_target": lambda x: -x, "x0": [1.0], "p0": [0.0], "step_size": 0.1, "n_steps": 5}
    args.update(kwargs)
    with pytest.raises(ValueError, match=re.escape(message)):
        leapfrog(**args)
