"""bhm.sbc: ranks, the uniformity test, SBC of the MH sampler and of the Stan model."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bhm import sbc


def test_ranks_by_hand():
    draws = np.array([[0.12, 0.51, -0.40, 0.33, 0.28], [1.0, 2.0, 3.0, 4.0, 5.0]])
    assert sbc.ranks([0.3, 0.5], draws).tolist() == [3, 0]
    assert sbc.ranks([10.0], draws[1:]).tolist() == [5]


@pytest.mark.parametrize(("truth", "draws", "message"), [
    ([0.1, 0.2], np.zeros((3, 4)), "shape"),
    ([[0.1]], np.zeros((1, 4)), "shape"),
    ([np.nan], np.zeros((1, 4)), "finite"),
    ([0.1], np.full((1, 4), np.inf), "finite"),
])
def test_ranks_bad_input(truth, draws, message):
    with pytest.raises(ValueError, match=message):
        sbc.ranks(truth, draws)


def test_uniformity_by_hand():
    # 100 rank values 0..99 in 20 bins: a perfectly flat table has chi2 = 0, p = 1
    table = pd.DataFrame({"a": np.tile(np.arange(100), 3)})
    result = sbc.uniformity(table)
    assert result.loc["a", "chi2"] == 0 and result.loc["a", "p_value"] == pytest.approx(1.0)
    assert result.loc["a", "df"] == 19 and result.loc["a", "replications"] == 300
    # all in one bin: chi2 = R (B - 1)
    lump = sbc.uniformity(pd.DataFrame({"a": np.zeros(100, dtype=int)}))
    assert lump.loc["a", "chi2"] == pytest.approx(100 * 19)
    with pytest.raises(ValueError, match="bins .* must divide"):
        sbc.uniformity(table, bins=7)
    with pytest.raises(ValueError, match="must lie in 0..99"):
        sbc.uniformity(pd.DataFrame({"a": [0, 100]}))


def test_exact_draws_pass_and_distortions_fail():
    assert sbc.uniformity(sbc.exact_normal_mean(1000, seed=1)[["mu"]])["p_value"].iloc[0] > 0.01
    for kw in ({"sd_factor": 0.7}, {"sd_factor": 1.4}, {"shift": 0.3}):
        assert sbc.uniformity(sbc.exact_normal_mean(1000, seed=1, **kw)[["mu"]])["p_value"].iloc[0] < 1e-4, kw
    with pytest.raises(ValueError, match="sd_factor"):
        sbc.exact_normal_mean(10, seed=1, sd_factor=0)
    with pytest.raises(ValueError, match="n_reps"):
        sbc.exact_normal_mean(1, seed=1)


def test_mh_passes_and_broken_mh_fails():
    """The correct samplers pass at 20 seeds each (p-values uniform); the broken one fails at every seed."""
    p_mean = [sbc.uniformity(sbc.mh_normal_mean(1000, seed=s)[["mu"]])["p_value"].iloc[0] for s in range(20)]
    p_prec = [sbc.uniformity(sbc.mh_normal_precision(1000, seed=s)[["tau"]])["p_value"].iloc[0]
              for s in range(20)]
    p_broken = [sbc.uniformity(sbc.mh_normal_precision(1000, seed=s, hastings=False)[["tau"]])["p_value"].iloc[0]
                for s in range(20)]
    # 40 p-values of correct samplers: none below 1e-3 (chance 4%), and uniform by a KS test
    assert min(p_mean + p_prec) > 1e-3, (p_mean, p_prec)
    assert stats.kstest(p_mean + p_prec, "uniform").pvalue > 0.001
    assert max(p_broken) < 1e-10, p_broken
    # the broken chain's draws are too small (pulled to 0 by the missing factor tau): the truth ranks high
    broken = sbc.mh_normal_precision(1000, seed=0, hastings=False)
    assert broken["tau"].mean() > 60


def test_mh_thinned_draws_are_nearly_independent():
    """Thinning keeps every 10th draw: the lag-1 autocorrelation of the kept draws is small."""
    from bhm import mcmc

    rng = np.random.default_rng(0)
    result = mcmc.metropolis_hastings(lambda x: -0.5 * (x[:, 0] / np.sqrt(1 / 11)) ** 2,
                                      np.zeros((200, 1)), 200 + 990, step=0.7, seed=rng)
    kept = result.draws[:, 200::10, 0]
    kept = (kept - kept.mean(axis=1, keepdims=True))
    lag1 = (kept[:, 1:] * kept[:, :-1]).mean() / (kept**2).mean()
    assert abs(lag1) < 0.1, lag1


def test_stan_replication_is_reproducible_and_resumable(tmp_path):
    """One replication twice gives identical rows; run_stan_sbc stores, then skips what is done."""
    a = sbc.stan_replication("matched", 3)
    b = sbc.stan_replication("matched", 3)
    assert a == b
    assert set(sbc.STAN_PARAMETERS) <= set(a) and all(0 <= a[name] <= sbc.N_DRAWS for name in sbc.STAN_PARAMETERS)
    # the same data under both fits (common random numbers), different programs' priors
    c = sbc.stan_replication("mismatched", 3)
    assert all(a[f"true_{name}"] == c[f"true_{name}"] for name in sbc.STAN_PARAMETERS)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:   # one worker thread: fits run one at a time
        first = sbc.run_stan_sbc(tmp_path, n_reps=2, executor=pool, progress=False)
        second = sbc.run_stan_sbc(tmp_path, n_reps=3, executor=pool, progress=False)
    assert (first["done"], second["done"], second["skipped"]) == (2, 1, 2)
    table = sbc.load_ranks(tmp_path)
    assert table["rep"].tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="unknown fit 'other'"):
        sbc.run_stan_sbc(tmp_path, fit="other")


def test_committed_results_match_the_design():
    stored, provenance = sbc.load_committed()
    assert stored.groupby("fit").size().to_dict() == {"matched": 1000, "mismatched": 1000}
    assert provenance["sampler"] == sbc.STAN_SAMPLER and provenance["n_draws"] == sbc.N_DRAWS
    for name in sbc.STAN_PARAMETERS:
        assert stored[name].between(0, sbc.N_DRAWS).all()
    # the stored rows are what the current code computes
    row = sbc.stan_replication("mismatched", 500)
    again = stored[(stored["fit"] == "mismatched") & (stored["rep"] == 500)].iloc[0]
    for key in (*sbc.STAN_PARAMETERS, "divergences", "seed"):
        assert row[key] == again[key], key
    # matched passes every parameter's test; mismatched fails for gamma
    tests = {fit: sbc.uniformity(stored.loc[stored["fit"] == fit, list(sbc.STAN_PARAMETERS)])["p_value"]
             for fit in ("matched", "mismatched")}
    assert (tests["matched"] > 0.001).all(), tests["matched"]
    assert tests["mismatched"]["gamma_0"] < 1e-6 and tests["mismatched"]["gamma_1"] < 1e-6


def test_cli_help():
    from bhm.__main__ import main

    with pytest.raises(SystemExit) as stop:
        main(["sbc", "--help"])
    assert stop.value.code == 0
