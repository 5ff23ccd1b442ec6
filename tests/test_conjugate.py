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
