"""bhm.conjugate: the closed-form posterior of chapter 1 against numbers we can defend."""

import numpy as np
import pytest

from bhm import conjugate


def test_hand_computed_example():
    # n = 3, ybar = 2, sigma = 1, prior N(0, 1): precision 3 + 1 = 4, mean 6/4.
    post = conjugate.normal_posterior([1.0, 2.0, 3.0], sigma=1.0, mu0=0.0, sigma0=1.0)
    assert post.mean() == pytest.approx(1.5, abs=1e-15)
    assert post.std() == pytest.approx(0.5, abs=1e-15)


def test_mean_is_alpha_weighted_average():
    y = np.random.default_rng(1).normal(3.0, 2.0, size=17)
    post = conjugate.normal_posterior(y, sigma=2.0, mu0=-1.0, sigma0=0.7)
    alpha = conjugate.posterior_weight(y.size, sigma=2.0, sigma0=0.7)
    assert post.mean() == pytest.approx(alpha * y.mean() + (1 - alpha) * -1.0, rel=1e-13)
    assert post.var() == pytest.approx(1 / (17 / 4.0 + 1 / 0.49), rel=1e-13)


def test_alpha_half_where_data_and_prior_weigh_the_same():
    # n = sigma^2 / sigma0^2 gives equal precisions.
    assert conjugate.posterior_weight(9, sigma=3.0, sigma0=1.0) == pytest.approx(0.5, abs=1e-15)
    assert conjugate.posterior_weight(0, sigma=3.0, sigma0=1.0) == 0.0


def test_grid_posterior_matches_closed_form():
    y = np.random.default_rng(2).normal(72.0, 15.0, size=10)
    grid = np.linspace(20, 110, 4001)
    dens = conjugate.grid_posterior(y, sigma=15.0, mu0=60.0, sigma0=10.0, grid=grid)
    exact = conjugate.normal_posterior(y, sigma=15.0, mu0=60.0, sigma0=10.0).pdf(grid)
    # trapezoidal normalisation error on this grid is O(h^2) ~ 1e-10
    assert np.max(np.abs(dens - exact)) < 1e-8


def test_sequential_updating_equals_one_batch():
    y = np.random.default_rng(3).normal(size=12)
    first = conjugate.normal_posterior(y[:4], sigma=1.3, mu0=0.5, sigma0=2.0)
    second = conjugate.normal_posterior(y[4:], sigma=1.3, mu0=first.mean(), sigma0=first.std())
    once = conjugate.normal_posterior(y, sigma=1.3, mu0=0.5, sigma0=2.0)
    assert second.mean() == pytest.approx(once.mean(), rel=1e-12)
    assert second.std() == pytest.approx(once.std(), rel=1e-12)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(y=[]), "y is empty"),
        (dict(y=[1.0, np.nan]), "non-finite"),
        (dict(y=[1.0, np.inf]), "non-finite"),
        (dict(y=[[1.0, 2.0], [3.0, 4.0]]), "one-dimensional"),
        (dict(y=["a", "b"]), "array of numbers"),
        (dict(sigma=0.0), "sigma must be a positive"),
        (dict(sigma=-1.0), "sigma must be a positive"),
        (dict(sigma=np.nan), "sigma must be a positive"),
        (dict(sigma0=0.0), "sigma0 must be a positive"),
        (dict(sigma0=-2.0), "sigma0 must be a positive"),
        (dict(mu0=np.inf), "mu0 must be a finite"),
        (dict(mu0="x"), "mu0 must be a finite"),
    ],
)
def test_bad_input_is_named(kwargs, message):
    args = dict(y=[1.0, 2.0], sigma=1.0, mu0=0.0, sigma0=1.0) | kwargs
    y = args.pop("y")
    with pytest.raises(ValueError, match=message):
        conjugate.normal_posterior(y, **args)


@pytest.mark.parametrize("n, message", [(-1, "n must be"), (2.5, "n must be"), (True, "n must be")])
def test_bad_n(n, message):
    with pytest.raises(ValueError, match=message):
        conjugate.posterior_weight(n, sigma=1.0, sigma0=1.0)


def test_bad_grid():
    with pytest.raises(ValueError, match="strictly increasing"):
        conjugate.grid_posterior([1.0], sigma=1.0, mu0=0.0, sigma0=1.0, grid=[0.0, 2.0, 1.0])


def test_posterior_weight_is_the_shrinkage_factor_for_many_groups():
    # sigma_alpha^2 / (sigma_alpha^2 + sigma_y^2 / n) for groups of 1, 4 and 100 members
    n = np.array([1, 4, 100])
    expected = 8.0**2 / (8.0**2 + 15.0**2 / n)
    assert np.allclose(conjugate.posterior_weight(n, sigma=15.0, sigma0=8.0), expected, rtol=1e-14)
    with pytest.raises(ValueError, match="n must be"):
        conjugate.posterior_weight([1, -2], sigma=1.0, sigma0=1.0)


# --------------------------------------------------------------------------- posterior predictive, MSE


def test_posterior_predictive_hand_computed():
    # posterior N(1.5, 0.5^2) as above; a new observation adds sigma^2 = 1: variance 1.25
    pred = conjugate.posterior_predictive([1.0, 2.0, 3.0], sigma=1.0, mu0=0.0, sigma0=1.0)
    assert pred.mean() == pytest.approx(1.5, abs=1e-15)
    assert pred.var() == pytest.approx(1.25, rel=1e-14)


def test_posterior_predictive_is_the_mixture_by_quadrature():
    """p(y~ | y) = integral of N(y~ | mu, sigma^2) p(mu | y) dmu, computed on a grid, at several y~."""
    y = np.random.default_rng(4).normal(72.0, 15.0, size=10)
    post = conjugate.normal_posterior(y, sigma=15.0, mu0=60.0, sigma0=10.0)
    pred = conjugate.posterior_predictive(y, sigma=15.0, mu0=60.0, sigma0=10.0)
    mu = np.linspace(post.mean() - 12 * post.std(), post.mean() + 12 * post.std(), 20001)
    from scipy import stats

    for new in (20.0, 60.0, 70.0, 110.0):
        mixture = np.trapezoid(stats.norm.pdf(new, mu, 15.0) * post.pdf(mu), mu)
        assert pred.pdf(new) == pytest.approx(mixture, rel=1e-9)


def test_posterior_predictive_by_simulation():
    """Draw mu from the posterior, then y~ = mu + eps: mean and sd within Monte Carlo error."""
    y = np.random.default_rng(5).normal(size=4)
    pred = conjugate.posterior_predictive(y, sigma=2.0, mu0=1.0, sigma0=0.5)
    post = conjugate.normal_posterior(y, sigma=2.0, mu0=1.0, sigma0=0.5)
    rng = np.random.default_rng(6)
    draws = rng.normal(post.mean(), post.std(), 400_000)
    draws = rng.normal(draws, 2.0)
    se_mean = pred.std() / np.sqrt(draws.size)
    se_sd = pred.std() / np.sqrt(2 * draws.size)
    assert abs(draws.mean() - pred.mean()) < 5 * se_mean
    assert abs(draws.std() - pred.std()) < 5 * se_sd


def test_posterior_mean_mse_closed_form_and_simulation():
    # alpha = 1/2 (n = 1, sigma = sigma0 = 2): bias (mu - mu0)/2, variance 1
    assert conjugate.posterior_mean_mse(2.0, n=1, sigma=2.0, mu0=0.0, sigma0=2.0) == pytest.approx(2.0)
    mse = conjugate.posterior_mean_mse([0.0, 2.0], n=1, sigma=2.0, mu0=0.0, sigma0=2.0)
    np.testing.assert_allclose(mse, [1.0, 2.0])
    # simulation: 200,000 samples of n = 10 at mu = 72, prior N(60, 10^2), sigma = 15
    rng = np.random.default_rng(7)
    ybar = rng.normal(72.0, 15.0, size=(200_000, 10)).mean(axis=1)
    alpha = conjugate.posterior_weight(10, sigma=15.0, sigma0=10.0)
    errors = (alpha * ybar + (1 - alpha) * 60.0 - 72.0) ** 2
    exact = conjugate.posterior_mean_mse(72.0, n=10, sigma=15.0, mu0=60.0, sigma0=10.0)
    assert abs(errors.mean() - exact) < 5 * errors.std() / np.sqrt(errors.size)


def test_posterior_mean_mse_break_even():
    """Equal to sigma^2/n (the sample mean's MSE) exactly at |mu - mu0| = sqrt(2 sigma0^2 + sigma^2/n)."""
    for n, sigma, sigma0 in ((10, 15.0, 10.0), (3, 1.0, 0.2), (50, 2.0, 7.0)):
        d = np.sqrt(2 * sigma0**2 + sigma**2 / n)
        mse = conjugate.posterior_mean_mse(np.array([-d, 0.0, d, 2 * d]) + 5.0, n=n, sigma=sigma,
                                           mu0=5.0, sigma0=sigma0)
        np.testing.assert_allclose(mse[[0, 2]], sigma**2 / n, rtol=1e-12)
        assert mse[1] < sigma**2 / n < mse[3]


def test_bayes_risk_of_the_posterior_mean_is_the_posterior_variance():
    """Averaged over mu ~ prior, the MSE is sigma_mu^2, below the sample mean's sigma^2/n."""
    mu = np.linspace(60.0 - 12 * 10.0, 60.0 + 12 * 10.0, 20001)
    from scipy import stats

    average = np.trapezoid(conjugate.posterior_mean_mse(mu, n=10, sigma=15.0, mu0=60.0, sigma0=10.0)
                           * stats.norm.pdf(mu, 60.0, 10.0), mu)
    variance = conjugate.normal_posterior([0.0] * 10, sigma=15.0, mu0=60.0, sigma0=10.0).var()
    assert average == pytest.approx(variance, rel=1e-9) and variance < 15.0**2 / 10


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(mu=np.nan), "mu must be a finite"),
        (dict(mu=[[1.0, 2.0]]), "mu must be a finite"),
        (dict(mu="a"), "mu must be a finite"),
        (dict(n=0), "n must be a whole number >= 1"),
        (dict(n=2.5), "n must be a whole number >= 1"),
        (dict(n=True), "n must be a whole number >= 1"),
        (dict(n="10"), "n must be a whole number >= 1"),
        (dict(sigma=0.0), "sigma must be a positive"),
        (dict(sigma0=np.inf), "sigma0 must be a positive"),
        (dict(mu0=np.nan), "mu0 must be a finite"),
    ],
)
def test_posterior_mean_mse_bad_input_is_named(kwargs, message):
    args = dict(mu=1.0, n=10, sigma=1.0, mu0=0.0, sigma0=1.0) | kwargs
    mu = args.pop("mu")
    with pytest.raises(ValueError, match=message):
        conjugate.posterior_mean_mse(mu, **args)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(y=[]), "y is empty"),
        (dict(y=[1.0, np.nan]), "non-finite"),
        (dict(sigma=-1.0), "sigma must be a positive"),
        (dict(sigma0=0.0), "sigma0 must be a positive"),
        (dict(mu0=np.inf), "mu0 must be a finite"),
    ],
)
def test_posterior_predictive_bad_input_is_named(kwargs, message):
    args = dict(y=[1.0, 2.0], sigma=1.0, mu0=0.0, sigma0=1.0) | kwargs
    y = args.pop("y")
    with pytest.raises(ValueError, match=message):
        conjugate.posterior_predictive(y, **args)


def test_regression_draws_have_the_closed_form_moments():
    """BDA3 14.2: E[beta | y] = beta_hat, Cov = s^2 (n-k)/(n-k-2) (X'X)^-1, E[sigma^2 | y] = s^2 (n-k)/(n-k-2)."""
    rng = np.random.default_rng(7)
    n = 12
    X = np.column_stack([np.ones(n), rng.normal(size=n)])
    y = 1.0 + 2.0 * X[:, 1] + rng.normal(size=n)
    beta, sigma = conjugate.regression_draws(X, y, n_draws=200_000, seed=8)
    beta_hat, rss = np.linalg.lstsq(X, y, rcond=None)[:2]
    s2, dof = rss[0] / (n - 2), n - 2
    cov = s2 * dof / (dof - 2) * np.linalg.inv(X.T @ X)
    se = np.sqrt(np.diag(cov) / 200_000)
    assert np.all(np.abs(beta.mean(axis=0) - beta_hat) < 4 * se)
    np.testing.assert_allclose(np.cov(beta.T), cov, rtol=0.02, atol=0.02 * np.sqrt(cov[0, 0] * cov[1, 1]))
    assert np.mean(sigma**2) == pytest.approx(s2 * dof / (dof - 2), rel=0.02)
    again, _ = conjugate.regression_draws(X, y, n_draws=5, seed=8)
    np.testing.assert_array_equal(again, conjugate.regression_draws(X, y, n_draws=5, seed=8)[0])


@pytest.mark.parametrize(("X", "y", "n_draws", "message"), [
    ([[1.0, 0.0], [1.0, 1.0]], [1.0, 2.0], 10, "more observations than coefficients"),
    ([[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]], [1.0, 2.0, 3.0], 10, "full column rank"),
    ([[1.0], [1.0]], [1.0, 2.0, 3.0], 10, r"shape \(n, k\) with n = len\(y\) = 3"),
    ([[1.0], [np.nan], [1.0]], [1.0, 2.0, 3.0], 10, "NaN or inf"),
    ([[1.0], [1.0], [1.0]], [1.0, 2.0, 3.0], 0, "n_draws"),
])
def test_regression_draws_bad_input_is_named(X, y, n_draws, message):
    with pytest.raises(ValueError, match=message):
        conjugate.regression_draws(X, y, n_draws=n_draws, seed=0)
