"""Tests of bhm.diagnostics: the classic Gelman-Rubin R-hat, the ESS by hand, rank normalisation, summarise."""

import re

import arviz as az
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bhm.diagnostics import (
    EssParts,
    GelmanRubinParts,
    convergence,
    ess_parts,
    gelman_rubin,
    gelman_rubin_parts,
    group_slopes,
    rank_checks,
    rank_normalize,
    sampler_efficiency,
    summarise,
)
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
    s2, W, B_over_N, var_plus, rhat = parts  # unpacks in the order of BDA3 section 11.4
    assert rhat == gelman_rubin([[1.0, 2.0, 3.0], [3.0, 5.0, 7.0]])


def test_iid_chains_give_rhat_near_one():
    draws = np.random.default_rng(1).normal(size=(4, 2000))
    assert abs(gelman_rubin(draws) - 1.0) < 0.01


def test_separated_chains_give_large_rhat():
    draws = np.random.default_rng(2).normal(size=(4, 500))
    draws[3] += 1.0  # one chain sits one posterior sd away
    assert gelman_rubin(draws) > 1.1


def test_rhat_on_mh_output_and_summarise():
    def log_target(x):
        return -0.5 * np.sum(x**2, axis=1)

    res = metropolis_hastings(log_target, np.zeros((4, 2)), 1000, step=1.5, seed=3)
    table = summarise(res)
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == ["rhat_classic", "rhat_split", "rhat_bulk", "rhat_folded", "rhat",
                                   "ess_bulk", "ess_tail"]
    assert table.index.tolist() == ["theta[0]", "theta[1]"]
    theta = res.draws[:, :, 0]
    assert table.loc["theta[1]", "rhat_classic"] == gelman_rubin(res.draws[:, :, 1])
    assert table.loc["theta[0]", "rhat_split"] == az.rhat(theta, method="split")
    assert table.loc["theta[0]", "rhat_bulk"] == az.rhat(theta, method="z_scale")
    assert table.loc["theta[0]", "rhat_folded"] == az.rhat(theta, method="folded")
    assert table.loc["theta[0]", "rhat"] == az.rhat(theta)
    row = table.loc["theta[0]"]
    assert row["rhat"] == max(row["rhat_bulk"], row["rhat_folded"])
    assert table.loc["theta[0]", "ess_bulk"] == az.ess(theta, method="bulk")
    assert table.loc["theta[0]", "ess_tail"] == az.ess(theta, method="tail")
    assert (table["rhat_classic"] < 1.05).all()

    named = summarise(res.to_inference_data(var_names=["a", "b"]), var_names="b")
    assert named.index.tolist() == ["b"]
    assert named.loc["b", "rhat_classic"] == table.loc["theta[1]", "rhat_classic"]
    assert summarise(res.draws[:, :, 0]).index.tolist() == ["theta"]


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


def test_summarise_errors():
    with pytest.raises(ValueError, match=re.escape("var_names ['c'] are not posterior variables")):
        summarise(np.random.default_rng(0).normal(size=(2, 10)), var_names="c")
    with pytest.raises(ValueError, match=re.escape("got shape (10,)")):
        summarise(np.zeros(10))


# --------------------------------------------------------------------------- the ESS by hand


def _ar1(phi, shape, seed):
    """Stationary AR(1) chains x_n = phi x_{n-1} + e_n: rho_t = phi^t, tau = (1 + phi) / (1 - phi)."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=shape)
    x = np.empty(shape)
    x[:, 0] = noise[:, 0] / np.sqrt(1 - phi**2)
    for n in range(1, shape[1]):
        x[:, n] = phi * x[:, n - 1] + noise[:, n]
    return x


@pytest.mark.parametrize("shape", [(4, 1000), (1, 999), (3, 37), (8, 2001)])
@pytest.mark.parametrize("kind", ["iid", "ar1", "shifted", "antithetic"])
def test_ess_equals_arviz_mean_ess(shape, kind):
    # With split=True, ess_parts is ArviZ's (and Stan's) estimator to rounding.
    rng = np.random.default_rng(shape[1])
    draws = {
        "iid": lambda: rng.normal(size=shape),
        "ar1": lambda: _ar1(0.9, shape, 1),
        "shifted": lambda: rng.normal(size=shape) + 0.5 * np.arange(shape[0])[:, None],
        "antithetic": lambda: _ar1(-0.7, shape, 2),
    }[kind]()
    assert ess_parts(draws).ess == pytest.approx(float(az.ess(draws, method="mean")), rel=1e-10)


def test_ess_of_ar1_chains_matches_the_closed_form():
    # tau = (1 + phi)/(1 - phi) = 3 for phi = 0.5; over 20 seeds the ESS estimate has a
    # relative sd of about 2.5%, so 10% is four of them.
    parts = ess_parts(_ar1(0.5, (4, 20000), 3))
    assert isinstance(parts, EssParts)
    assert parts.tau == pytest.approx(3.0, rel=0.1)
    assert parts.ess == pytest.approx(4 * 20000 / 3, rel=0.1)
    assert parts.rho[1] == pytest.approx(0.5, abs=0.02)
    assert parts.rho[2] == pytest.approx(0.25, abs=0.02)
    assert 4 < parts.last_lag < 40


def test_ess_of_iid_draws_is_about_the_number_of_draws():
    parts = ess_parts(np.random.default_rng(4).normal(size=(4, 5000)))
    assert parts.ess == pytest.approx(20000, rel=0.1)
    assert parts.rho[0] == 1.0


def test_one_chain_rho_is_its_autocorrelation():
    # For M = 1: rho_t = 1 - (W - c_t)/Var+ with W = c_0 N/(N-1) and Var+ = c_0,
    # i.e. the autocorrelation c_t/c_0 minus 1/(N - 1).
    chain = _ar1(0.8, (1, 3000), 5)
    parts = ess_parts(chain, split=False)
    np.testing.assert_allclose(parts.rho[1:], az.autocorr(chain[0])[1:] - 1 / 2999, atol=1e-12)
    # the sum stops before the first negative pair of lags
    pairs = parts.rho[0::2] + parts.rho[1::2]
    assert parts.last_lag == 2 * int(np.argmax(pairs < 0)) - 1


def test_autocovariance_by_fft_is_the_direct_sum():
    from bhm.diagnostics import _autocovariance

    x = np.random.default_rng(6).normal(size=(3, 50))
    c = x - x.mean(axis=1, keepdims=True)
    direct = np.array([[np.sum(c[m, : 50 - t] * c[m, t:]) / 50 for t in range(50)] for m in range(3)])
    np.testing.assert_allclose(_autocovariance(x), direct, atol=1e-12)


@pytest.mark.parametrize(
    ("draws", "split", "message"),
    [
        (np.zeros(10), True, "draws must have shape (n_chains, n_draws); got shape (10,)"),
        (np.ones((2, 7)), True, "draws needs at least 8 draws per chain for the ESS; got 7"),
        (np.ones((2, 3)), False, "draws needs at least 4 draws per chain for the ESS; got 3"),
        ([[1.0, np.nan, 2.0, 3.0]], False, "draws must be finite; found nan or inf"),
        (np.ones((2, 10)), True, "every chain is constant; the ESS is undefined"),
        ([["a", "b", "c", "d"]], False, "draws must be a numeric array"),
    ],
)
def test_ess_parts_errors(draws, split, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        ess_parts(draws, split=split)


# --------------------------------------------------------------------------- rank normalisation


def test_rank_normalize_by_hand_and_with_ties():
    # ranks 3, 4, 1, 2 of S = 4 draws: z = Phi^-1((r - 3/8) / (4 + 1/4))
    z = rank_normalize([[3.0, 1000.0], [-2.0, 0.5]])
    expected = stats.norm.ppf((np.array([[3, 4], [1, 2]]) - 0.375) / 4.25)
    np.testing.assert_allclose(z, expected, rtol=1e-14)
    tied = rank_normalize([1.0, 1.0, 2.0])  # the tied pair shares rank 1.5
    assert tied[0] == tied[1] == pytest.approx(stats.norm.ppf((1.5 - 0.375) / 3.25), rel=1e-14)


def test_rank_normalize_ignores_monotone_transformations_and_tails():
    draws = np.random.default_rng(7).standard_cauchy(size=(4, 1000))
    np.testing.assert_array_equal(rank_normalize(draws), rank_normalize(np.arctan(draws)))
    z = rank_normalize(draws)
    assert z.shape == draws.shape
    assert abs(z.mean()) < 1e-12 and z.std() == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bulk_and_folded_rhat_from_rank_normalize_equal_arviz(seed):
    draws = np.random.default_rng(seed).standard_cauchy(size=(4, 1000))
    draws[0] *= 10
    bulk = az.rhat(rank_normalize(draws), method="split")
    folded = az.rhat(rank_normalize(np.abs(draws - np.median(draws))), method="split")
    assert bulk == pytest.approx(float(az.rhat(draws, method="z_scale")), rel=1e-12)
    assert folded == pytest.approx(float(az.rhat(draws, method="folded")), rel=1e-12)
    assert float(az.rhat(draws)) == pytest.approx(max(bulk, folded), rel=1e-12)


@pytest.mark.parametrize(
    ("draws", "message"),
    [([], "draws is empty"), ([1.0, np.inf], "draws must be finite"), (["a", "b"], "draws must be a numeric array")],
)
def test_rank_normalize_errors(draws, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        rank_normalize(draws)


# --------------------------------------------------------------------------- sampler_efficiency, group_slopes

def _nuts_like(seed=0):
    """An InferenceData shaped like a NUTS fit: 4 chains x 500 iid draws, known sampler statistics."""
    rng = np.random.default_rng(seed)
    posterior = {"a": rng.normal(size=(4, 500)), "b": rng.normal(size=(4, 500, 3))}
    diverging = np.zeros((4, 500), dtype=bool)
    diverging[1, :7] = True
    tree_depth = np.full((4, 500), 3)
    tree_depth[2, :5] = 10
    n_steps = np.full((4, 500), 7)
    return az.from_dict(posterior=posterior,
                        sample_stats={"diverging": diverging, "tree_depth": tree_depth, "n_steps": n_steps})


def test_sampler_efficiency_counts_and_ess():
    idata = _nuts_like()
    result = sampler_efficiency(idata, ["a", "b"])
    assert result["divergences"] == 7 and result["treedepth_hits"] == 5
    ess = [float(az.ess(idata.posterior["a"].values, method="bulk"))]
    ess += [float(az.ess(idata.posterior["b"].values[..., k], method="bulk")) for k in range(3)]
    assert result["min_ess_bulk"] == pytest.approx(min(ess))
    # 2,000 iterations of 7 leapfrog steps each
    assert result["ess_per_1000_gradients"] == pytest.approx(1000 * min(ess) / 14_000)
    rhat = [float(az.rhat(idata.posterior["a"].values))]
    rhat += [float(az.rhat(idata.posterior["b"].values[..., k])) for k in range(3)]
    assert result["max_rhat"] == pytest.approx(max(rhat))
    assert sampler_efficiency(idata, "a", max_treedepth=11)["treedepth_hits"] == 0


@pytest.mark.parametrize(("change", "message"), [
    ("no sample_stats", "sample_stats group"),
    ("no n_steps", r"lacks \['n_steps'\]"),
    ("unknown name", r"var_names \['c'\] must name posterior variables"),
])
def test_sampler_efficiency_errors(change, message):
    idata = _nuts_like()
    names = ["a"]
    if change == "no sample_stats":
        idata = az.from_dict(posterior={"a": idata.posterior["a"].values})
    elif change == "no n_steps":
        del idata.sample_stats["n_steps"]
    else:
        names = ["c"]
    with pytest.raises(ValueError, match=message):
        sampler_efficiency(idata, names)


def test_group_slopes_are_least_squares_slopes():
    rng = np.random.default_rng(5)
    group = np.repeat([1, 2, 3], [4, 7, 10])
    x = rng.normal(size=group.size)
    y = rng.normal(size=(6, group.size))               # six data sets at once
    slopes = group_slopes(group, x, y)
    assert slopes.shape == (6, 3)
    for j in (1, 2, 3):
        mine = group == j
        for d in range(6):
            assert slopes[d, j - 1] == pytest.approx(np.polyfit(x[mine], y[d, mine], 1)[0])
    np.testing.assert_allclose(group_slopes(group, x, 2 + 3 * x), 3.0)   # exact lines: the slope itself


@pytest.mark.parametrize(("group", "x", "y", "message"), [
    ([1, 1, 2], [0.0, 1.0, 2.0], [1.0, 2.0, 3.0], r"groups \[2\] have fewer than two different x"),
    ([0, 1, 1], [0.0, 1.0, 2.0], [1.0, 2.0, 3.0], "1-based"),
    ([1.5, 1, 1], [0.0, 1.0, 2.0], [1.0, 2.0, 3.0], "whole numbers"),
    ([1, 1, 1], [0.0, 1.0, 2.0], [1.0, 2.0], r"shape \(\.\.\., N\)"),
    ([1, 1, 1], [0.0, 1.0, 2.0], [1.0, np.nan, 3.0], "finite"),
])
def test_group_slopes_errors(group, x, y, message):
    with pytest.raises(ValueError, match=message):
        group_slopes(group, x, y)


# ---------------------------------------------------------------- rank_checks: many quantities at once
@pytest.mark.parametrize("n_draws", [250, 251, 1000])
def test_rank_checks_equal_arviz_quantity_by_quantity(n_draws):
    """R-hat and bulk ESS of six awkward quantities equal ArviZ's (and convergence's) to 1e-10."""
    rng = np.random.default_rng(n_draws)
    x = rng.normal(size=(4, n_draws, 6))
    x[..., 1] = np.round(x[..., 1], 1)                        # many ties
    x[..., 2] = rng.standard_cauchy(size=(4, n_draws))       # heavy tails
    for t in range(1, n_draws):                               # AR(1), rho = 0.9
        x[:, t, 3] = 0.9 * x[:, t - 1, 3] + x[:, t, 3]
    x[2, :, 4] += 0.5                                         # one chain shifted: R-hat > 1.01
    x[..., 5] = 7.0                                           # constant: R-hat undefined
    checks = rank_checks(x)
    for i in range(6):
        one = convergence(x[..., i], tail=False)
        assert set(one) == {"rhat", "ess_bulk"}
        np.testing.assert_allclose(checks["ess_bulk"][i], az.ess(x[..., i], method="bulk"), rtol=1e-10)
        np.testing.assert_allclose(checks["ess_bulk"][i], one["ess_bulk"], rtol=1e-10)
        if i == 5:
            assert np.isnan(checks["rhat"][i]) and np.isnan(one["rhat"])
        else:
            np.testing.assert_allclose(checks["rhat"][i], az.rhat(x[..., i]), rtol=1e-10)
    assert checks["rhat"][4] > 1.01 and checks["ess_bulk"][3] < 0.1 * 4 * n_draws


def test_rank_checks_names_bad_input():
    x = np.zeros((4, 100, 2)) + np.arange(100)[None, :, None]
    with pytest.raises(ValueError, match="shape"):
        rank_checks(x[..., 0])
    with pytest.raises(ValueError, match="at least 2 chains of 8 draws"):
        rank_checks(x[:1])
    with pytest.raises(ValueError, match="at least 2 chains of 8 draws"):
        rank_checks(x[:, :7])
    with pytest.raises(ValueError, match="finite"):
        rank_checks(np.where(x == 3, np.nan, x))
    with pytest.raises(ValueError, match="numeric"):
        rank_checks([[["a"]]])
