"""Tests of bhm.diagnostics: the slides' Gelman-Rubin R-hat and summarize."""

import re

import arviz as az
import numpy as np
import pandas as pd
import pytest

from bhm.diagnostics import GelmanRubinParts, gelman_rubin, gelman_rubin_parts, summarize
from bhm.mcmc import metropolis_hastings


@pytest.mark.parametrize("shape", [(2, 4), (4, 100), (7, 1001)])
@pytest.mark.parametrize("offset", [0.0, 0.3])
def test_equals_arviz_identity_rhat(shape, offset):
    # arviz.rhat(method="identity") is the non-split, non-rank R-hat
    # sqrt((B/W + N - 1)/N) = sqrt(((N-1)/N W + B/N) / W): the same number.
    rng = np.random.default_rng(shape[1])
    draws = rng.normal(size=shape) + offset * np.arange(shape[0])[:, None]
    expected = az.rhat(draws, method="identity")
    assert gelman_rubin(draws) == pytest.approx(expected, rel=1e-12, abs=0)


def test_hand_computed_example():
    # chain 1: 1, 2, 3 -> mean 2, s^2 = (1 + 0 + 1)/2 = 1
    # chain 2: 3, 5, 7 -> mean 5, s^2 = (4 + 0 + 4)/2 = 4
    # W = 5/2; grand mean 7/2; B/N = ((3/2)^2 + (3/2)^2)/1 = 9/2
    # Var+ = (2/3)(5/2) + 9/2 = 37/6;  R-hat = sqrt((37/6)/(5/2)) = sqrt(37/15)
    parts = gelman_rubin_parts([[1.0, 2.0, 3.0], [3.0, 5.0, 7.0]])
    assert isinstance(parts, GelmanRubinParts)
    np.testing.assert_array_equal(parts.s2, [1.0, 4.0])
    assert parts.W == 2.5
    assert parts.B_over_N == 4.5
    assert parts.var_plus == pytest.approx(37 / 6, rel=1e-15)
    assert parts.rhat == pytest.approx(np.sqrt(37 / 15), rel=1e-15)
    s2, W, B_over_N, var_plus, rhat = parts  # unpacks in the slides' order
    assert rhat == gelman_rubin([[1.0, 2.0, 3.0], [3.0, 5.0, 7.0]])


def test_iid_chains_give_rhat_near_one():
    draws = np.random.default_rng(1).normal(size=(4, 2000))
    assert abs(gelman_rubin(draws) - 1.0) < 0.01


def test_separated_chains_give_large_rhat():
    draws = np.random.default_rng(2).normal(size=(4, 500))
    draws[3] += 1.0  # one chain sits one posterior sd away
    assert gelman_rubin(draws) > 1.1


def test_rhat_on_mh_output_and_summarize():
    def log_target(x):
        return -0.5 * np.sum(x**2, axis=1)

    res = metropolis_hastings(log_target, np.zeros((4, 2)), 1000, step=1.5, seed=3)
    table = summarize(res)
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == ["rhat_gr", "rhat", "ess_bulk", "ess_tail"]
    assert table.index.tolist() == ["theta[0]", "theta[1]"]
    assert table.loc["theta[1]", "rhat_gr"] == gelman_rubin(res.draws[:, :, 1])
    assert table.loc["theta[0]", "rhat"] == az.rhat(res.draws[:, :, 0])
    assert table.loc["theta[0]", "ess_bulk"] == az.ess(res.draws[:, :, 0], method="bulk")
    assert (table["rhat_gr"] < 1.05).all()

    named = summarize(res.to_inference_data(var_names=["a", "b"]), var_names="b")
    assert named.index.tolist() == ["b"]
    assert named.loc["b", "rhat_gr"] == table.loc["theta[1]", "rhat_gr"]
    assert summarize(res.draws[:, :, 0]).index.tolist() == ["theta"]


@pytest.mark.parametrize(
    ("draws", "message"),
    [
        (np.zeros(5), "draws must have shape (n_chains, n_draws); got shape (5,)"),
        (np.zeros((2, 3, 4)), "draws must have shape (n_chains, n_draws); got shape (2, 3, 4)"),
        (np.ones((1, 10)), "draws needs at least 2 chains for R-hat; got 1"),
        (np.ones((3, 1)), "draws needs at least 2 draws per chain for R-hat; got 1"),
        ([[1.0, np.nan], [1.0, 2.0]], "draws must be finite; found nan or inf"),
        ([[1.0, np.inf], [1.0, 2.0]], "draws must be finite; found nan or inf"),
        ([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]], "every chain is constant; R-hat is undefined"),
        ([["a", "b"], ["c", "d"]], "draws must be a numeric array"),
    ],
)
def test_gelman_rubin_errors(draws, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        gelman_rubin(draws)


def test_summarize_errors():
    with pytest.raises(ValueError, match=re.escape("var_names ['c'] are not posterior variables")):
        summarize(np.random.default_rng(0).normal(size=(2, 10)), var_names="c")
    with pytest.raises(ValueError, match=re.escape("got shape (10,)")):
        summarize(np.zeros(10))
