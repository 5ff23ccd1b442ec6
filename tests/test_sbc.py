"""bhm.sbc: ranks, the tests of uniformity, thinning by the ESS, SBC of the MH sampler and of the Stan programs."""

import json

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


def test_edge_bins_by_hand():
    # 200 ranks: 20 in the lowest bin (0..4), 5 in the highest (95..99), the rest in between
    values = np.r_[np.zeros(20, dtype=int), np.full(5, 99), np.full(175, 50)]
    result = sbc.edge_bins(pd.DataFrame({"a": values}))
    row = result.loc["a"]
    assert (row["replications"], row["expected"], row["lowest"], row["highest"]) == (200, 10, 20, 5)
    assert row["p_lowest"] == pytest.approx(1 - stats.binom.cdf(19, 200, 0.05))   # P(X >= 20)
    assert row["p_highest"] == pytest.approx(1 - stats.binom.cdf(4, 200, 0.05))
    assert row["p_lowest"] < 0.01 < row["p_highest"]
    with pytest.raises(ValueError, match="must lie in 0..99"):
        sbc.edge_bins(pd.DataFrame({"a": [-1, 3]}))


def test_ecdf_band_covers_uniform_ranks_with_its_probability():
    band = sbc.ecdf_band(200, seed=1)
    assert band.shape == (99, 3) and band.attrs["n_reps"] == 200 and band.attrs["prob"] == 0.99
    assert (band["lower"] < 0).all() and (band["upper"] > 0).all()
    # fresh uniform rank samples: about 99% of their ECDFs stay inside the whole band
    rng = np.random.default_rng(2)
    inside = []
    for _ in range(2000):
        r = rng.integers(0, 100, 200)
        ecdf = (r[:, None] < np.arange(1, 100)).mean(axis=0) - band["fraction"].to_numpy()
        inside.append(np.all((ecdf >= band["lower"] - 1e-12) & (ecdf <= band["upper"] + 1e-12)))
    assert 0.975 < np.mean(inside) <= 1.0, np.mean(inside)      # 0.99 +- 3 sd of 2,000 trials
    # wider than the pointwise 99% band at the middle, narrower with more replications
    pointwise = stats.binom.ppf(0.995, 200, 0.5) / 200 - 0.5
    assert band.loc[49, "upper"] >= pointwise
    assert sbc.ecdf_band(2000).loc[49, "upper"] < band.loc[49, "upper"]
    with pytest.raises(ValueError, match="prob"):
        sbc.ecdf_band(100, prob=1.0)
    with pytest.raises(ValueError, match="n_reps"):
        sbc.ecdf_band(0)


def test_detection_rate_is_small_for_exact_draws_and_one_for_gross_errors():
    assert sbc.detection_rate(1000, n_seeds=100) <= 0.05              # the test's size, 0.01 on average
    assert sbc.detection_rate(1000, sd_factor=0.5, n_seeds=20) == 1.0
    assert sbc.detection_rate(1000, shift=0.5, n_seeds=20) == 1.0


def test_chi2_power_agrees_with_simulated_sbc_runs():
    """The computed power equals the share of simulated SBC runs that reject (detection_rate), within MC error."""
    assert sbc.chi2_power(1000) == pytest.approx(0.01, abs=0.004)          # the test's size
    # the expert review's figures for R = 1000: 1.00 / 0.99 / 0.58 / 0.35 / 0.01 (non-central chi-square)
    computed = [sbc.chi2_power(1000, sd_factor=f) for f in (0.8, 1.2, 0.9, 1.1, 0.99)]
    assert computed == pytest.approx([1.0, 0.99, 0.55, 0.33, 0.011], abs=0.05)
    for kw in ({"sd_factor": 0.9}, {"sd_factor": 1.2}, {"shift": 0.2}):
        simulated = sbc.detection_rate(400, n_seeds=200, **kw)
        p = sbc.chi2_power(400, **kw)
        assert abs(simulated - p) < 4 * np.sqrt(p * (1 - p) / 200) + 0.01, (kw, simulated, p)
    with pytest.raises(ValueError, match="sd_factor"):
        sbc.chi2_power(100, sd_factor=-1)


def test_chain_ess_is_chapter_3s_ess_chain_by_chain():
    """The vectorised ESS of the MH chains equals bhm.diagnostics.ess_parts, one chain at a time."""
    from bhm import diagnostics

    rng = np.random.default_rng(0)
    for phi, size in ((0.0, 990), (0.9, 990), (0.99, 990), (-0.5, 301), (0.5, 8), (0.5, 13)):
        noise = rng.normal(size=(50, size))
        chains = np.zeros_like(noise)
        for t in range(1, size):
            chains[:, t] = phi * chains[:, t - 1] + noise[:, t]
        expected = [diagnostics.ess_parts(row[None, :]).ess for row in chains]
        assert sbc.mh._chain_ess(chains) == pytest.approx(expected, rel=1e-10), (phi, size)
    assert sbc.mh._chain_ess(np.ones((2, 100))).tolist() == [1.0, 1.0]       # a chain that never moved


def test_ess_iterations_follows_talts_algorithm_2():
    assert sbc.ess_iterations(150.0, 250) == 250                    # ESS >= L: keep the run
    assert sbc.ess_iterations(99.0, 250) == 250
    assert sbc.ess_iterations(50.0, 250) == 594                     # ceil(1.2 * 250 * 99 / 50)
    assert sbc.ess_iterations(50.0, 250, margin=1.0) == 495
    assert sbc.ess_iterations(5.0, 250, max_iter=2000) == 2000
    assert sbc.ess_iterations(5.0, 250, n_draws=4) == 250
    for bad in ({"ess": 0.0}, {"ess": np.nan}, {"n_iter": 0}, {"margin": 0.5}):
        kwargs = {"ess": 50.0, "n_iter": 250, **bad}
        with pytest.raises(ValueError):
            sbc.ess_iterations(kwargs.pop("ess"), kwargs.pop("n_iter"), **kwargs)


def test_evenly_spaced():
    idx = sbc.evenly_spaced(1000)
    assert idx.size == 99 and idx[0] == 0 and idx[-1] == 999 and np.all(np.diff(idx) >= 10)
    assert sbc.evenly_spaced(99).tolist() == list(range(99))
    with pytest.raises(ValueError, match="cannot keep 99 draws out of 50"):
        sbc.evenly_spaced(50)


def test_exact_draws_pass_and_distortions_fail():
    exact = sbc.exact_normal_mean(1000, seed=1)
    assert (sbc.uniformity(exact[["mu", "loglik"]])["p_value"] > 0.01).all()
    for kw in ({"sd_factor": 0.7}, {"sd_factor": 1.4}, {"shift": 0.3}):
        assert sbc.uniformity(sbc.exact_normal_mean(1000, seed=1, **kw)[["mu"]])["p_value"].iloc[0] < 1e-4, kw
    with pytest.raises(ValueError, match="sd_factor"):
        sbc.exact_normal_mean(10, seed=1, sd_factor=0)
    with pytest.raises(ValueError, match="n_reps"):
        sbc.exact_normal_mean(1, seed=1)


def test_exact_posterior_sd_is_chapter_1s():
    """sd_factor = 0.5 halves the posterior sd (1/sigma0^2 + n/sigma^2)^(-1/2): the outer-bin share is Phi(2Z)'s."""
    narrow = sbc.exact_normal_mean(20000, seed=3, sd_factor=0.5, sigma0=2.0, sigma=3.0, n=7)
    share = ((narrow["mu"] < 5) | (narrow["mu"] >= 95)).mean()
    assert share == pytest.approx(0.403, abs=0.015)                # exact for L = 99; 4 MC sd


def test_mh_passes_and_broken_mh_fails():
    """The correct samplers pass at 20 and 10 seeds (p-values uniform); the broken one fails at every seed."""
    p_mean = [sbc.uniformity(sbc.mh_normal_mean(1000, seed=s)[["mu"]])["p_value"].iloc[0] for s in range(20)]
    p_prec = [sbc.uniformity(sbc.mh_normal_precision(1000, seed=s)[["tau"]])["p_value"].iloc[0]
              for s in range(10)]
    p_broken = [sbc.uniformity(sbc.mh_normal_precision(1000, seed=s, hastings=False)[["tau"]])["p_value"].iloc[0]
                for s in range(10)]
    # 30 p-values of correct samplers: none below 1e-4 (chance 0.3%), and uniform by a KS test
    assert min(p_mean + p_prec) > 1e-4, (p_mean, p_prec)
    assert stats.kstest(p_mean + p_prec, "uniform").pvalue > 0.001
    assert max(p_broken) < 1e-10, p_broken
    # the broken chain's draws are too small (pulled to 0 by the missing factor tau): the truth ranks high
    broken = sbc.mh_normal_precision(1000, seed=0, hastings=False)
    assert broken["tau"].mean() > 60


def test_thinning_by_the_ess_fixes_what_a_fixed_step_cannot():
    """A random walk with too small a step: consecutive draws fail, every 10th is marginal, the ESS rule passes."""
    consecutive = sbc.mh_normal_mean(2000, seed=4, step=0.1, thin=1)
    by_ess = sbc.mh_normal_mean(2000, seed=4, step=0.1)
    assert sbc.uniformity(consecutive[["mu"]])["p_value"].iloc[0] < 1e-10
    assert sbc.uniformity(by_ess[["mu"]])["p_value"].iloc[0] > 0.01
    assert (by_ess["iterations"] > 990).mean() > 0.5 and by_ess["ess"].median() < 99
    # the well-tuned walk rarely needs more: every 10th draw of 990 iterations
    tuned = sbc.mh_normal_mean(1000, seed=2)
    assert tuned["ess"].median() > 99 and (tuned["iterations"] > 990).mean() < 0.05
    assert np.isnan(consecutive["ess"]).all() and (consecutive["iterations"] == 99).all()
    with pytest.raises(ValueError, match="thin"):
        sbc.mh_normal_mean(10, seed=1, thin=0)


def test_a_sampler_that_ignores_the_data_passes_on_the_parameter_and_fails_on_the_loglik():
    """Modrák et al. (2023): uniform ranks are necessary, not sufficient."""
    prior_only = sbc.mh_normal_mean(2000, seed=8, use_data=False)
    tests = sbc.uniformity(prior_only[["mu", "loglik"]])["p_value"]
    assert tests["mu"] > 0.01 and tests["loglik"] < 1e-10
    assert (prior_only["loglik"] >= 95).mean() > 0.2 and (prior_only["loglik"] < 5).mean() < 0.01
    correct = sbc.mh_normal_mean(2000, seed=8)
    assert (sbc.uniformity(correct[["mu", "loglik"]])["p_value"] > 0.01).all()


def test_mh_thinned_draws_are_nearly_independent():
    """Every 10th draw of the well-tuned walk: the lag-1 autocorrelation of the kept draws is small."""
    from bhm import mcmc

    rng = np.random.default_rng(0)
    result = mcmc.metropolis_hastings(lambda x: -0.5 * (x[:, 0] / np.sqrt(1 / 11)) ** 2,
                                      np.zeros((200, 1)), 200 + 990, step=0.7, seed=rng)
    kept = result.draws[:, 200::10, 0]
    kept = (kept - kept.mean(axis=1, keepdims=True))
    lag1 = (kept[:, 1:] * kept[:, :-1]).mean() / (kept**2).mean()
    assert abs(lag1) < 0.1, lag1


# --------------------------------------------------------------------------- simulators and test quantities

def test_varying_slope_loglik_is_the_normal_log_likelihood():
    data, truth = sbc.stan_simulation(3)
    mean = truth["alpha"] + data["beta"][data["group"] - 1] * data["x"]
    direct = stats.norm.logpdf(data["y"], mean, truth["sigma_y"]).sum() + data["N"] / 2 * np.log(2 * np.pi)
    assert truth["loglik"] == pytest.approx(direct, rel=1e-10)
    again, truth_again = sbc.stan_simulation(3)
    assert truth_again == truth and np.array_equal(again["y"], data["y"])


def test_gcse_simulation_keeps_the_real_design():
    from bhm import gcse
    from bhm.data import complete_course, load_gcse

    students, truth, effects = sbc.gcse_simulation(5)
    real = complete_course(load_gcse())
    assert len(students) == len(real) == 1725 and students["school"].nunique() == 73 == effects.shape[0]
    assert (students["school"].to_numpy() == real["school"].astype(str).to_numpy()).all()
    assert (students["female"].to_numpy() == real["female"].to_numpy()).all()
    assert set(truth) == set(sbc.GCSE_HYPERPARAMETERS)
    cells = gcse.cell_statistics(students)
    assert cells[["school", "x", "n"]].equals(gcse.cell_statistics(real)[["school", "x", "n"]])
    # the log-likelihood from the cells is the per-student normal log density, up to its constant
    data = gcse.bayes_data(students)
    j = students["school"].map({s: k for k, s in enumerate(sorted(students["school"].unique()))}).to_numpy()
    mean = effects[j, 0] + effects[j, 1] * students["female"].to_numpy()
    direct = stats.norm.logpdf(students["course"], mean, truth["sigma_y"]).sum() + len(students) / 2 * np.log(
        2 * np.pi)
    assert sbc.fits._gcse_loglik(data, effects[:, 0], effects[:, 1], truth["sigma_y"]) == pytest.approx(direct,
                                                                                                  rel=1e-9)


def test_gcse_prior_draws_follow_the_programs_priors():
    """2 (rho + 1) / 2 ~ Beta(eta, eta) is LKJ(eta) for two dimensions: variance 1 / (2 eta + 1)."""
    draws = pd.DataFrame([sbc.gcse_prior_draw(rep) for rep in range(4000)])
    assert draws["rho"].var() == pytest.approx(1 / 5, abs=0.015)
    assert draws["rho"].abs().max() < 1
    assert draws["mu_alpha"].mean() == pytest.approx(50, abs=4 * 25 / np.sqrt(4000))
    assert draws["sigma_y"].mean() == pytest.approx(20 * np.sqrt(2 / np.pi), abs=4 * 20 * 0.6 / np.sqrt(4000))
    assert (draws[["sigma_alpha", "sigma_beta", "sigma_y"]] > 0).all().all()


# --------------------------------------------------------------------------- Stan

def test_stan_replication_is_reproducible_and_resumable(tmp_path):
    """One replication twice gives identical rows (but for its wall time); run_stan_sbc stores, then skips."""
    a = sbc.stan_replication("matched", 3)
    b = sbc.stan_replication("matched", 3)
    assert {k: v for k, v in a.items() if k != "seconds"} == {k: v for k, v in b.items() if k != "seconds"}
    assert set(sbc.STAN_QUANTITIES) <= set(a)
    assert all(0 <= a[name] <= sbc.N_DRAWS for name in sbc.STAN_QUANTITIES)
    # the same data under every fit (common random numbers), different programs' priors
    c = sbc.stan_replication("mismatched", 3)
    assert all(a[f"true_{name}"] == c[f"true_{name}"] for name in sbc.STAN_QUANTITIES)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:   # one worker thread: fits run one at a time
        first = sbc.run_stan_sbc(tmp_path, n_reps=2, executor=pool, progress=False)
        second = sbc.run_stan_sbc(tmp_path, n_reps=3, executor=pool, progress=False)
    assert (first["done"], second["done"], second["skipped"]) == (2, 1, 2)
    table = sbc.load_ranks(tmp_path)
    assert table["rep"].tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="unknown fit 'other'"):
        sbc.run_stan_sbc(tmp_path, fit="other")
    with pytest.raises(ValueError, match="no matched fits"):
        sbc.divergent_reps(table.assign(fit="mismatched"))


def _same_row(row: dict, stored: pd.Series, columns) -> None:
    for key in columns:
        if isinstance(row[key], float):
            assert row[key] == pytest.approx(stored[key], rel=1e-12), key
        else:
            assert row[key] == stored[key], key


def test_committed_results_match_the_design_and_the_code():
    stored, provenance = sbc.load_committed()
    sizes = stored.groupby("fit").size().to_dict()
    assert sizes["matched"] == sizes["mismatched"] == 1000
    assert provenance["sampler"]["matched"] == sbc.STAN_SAMPLER and provenance["n_draws"] == sbc.N_DRAWS
    assert provenance["max_runs"] == sbc.MAX_RUNS and provenance["max_draws"] == sbc.MAX_DRAWS
    assert provenance["programs_sha256"] == sbc.program_digests(["matched", "noncentred"]), \
        "a program changed since the SBC ran: rerun " + provenance["command"]
    # the non-centred fits are exactly the data sets whose matched fit had divergences
    assert sorted(stored.loc[stored["fit"] == "noncentred", "rep"]) == sbc.divergent_reps(stored)
    for name in sbc.STAN_QUANTITIES:
        assert stored[name].between(0, sbc.N_DRAWS).all()
    # thinned by the ESS: a fit whose first run fell short of L ran again, longer
    matched = stored[stored["fit"] == "matched"]
    assert ((matched["first_min_ess"] < sbc.N_DRAWS) == (matched["runs"] > 1)).all()
    # the stored rows are what the current code computes: a fit that ran twice, and a mismatched one
    columns = (*sbc.STAN_QUANTITIES, *(f"true_{n}" for n in sbc.STAN_QUANTITIES), "divergences", "seed", "runs",
               "draws", "min_ess", "first_min_ess")
    twice = int(matched.loc[matched["runs"] > 1, "rep"].iloc[0])
    for fit, rep in (("matched", twice), ("mismatched", 500)):
        again = stored[(stored["fit"] == fit) & (stored["rep"] == rep)].iloc[0]
        _same_row(sbc.stan_replication(fit, rep), again, columns)
    # matched passes every quantity's test; mismatched fails for gamma
    tests = {fit: sbc.uniformity(stored.loc[stored["fit"] == fit, list(sbc.STAN_QUANTITIES)])["p_value"]
             for fit in ("matched", "mismatched")}
    assert (tests["matched"] > 0.001).all(), tests["matched"]
    assert tests["mismatched"]["gamma_0"] < 1e-6 and tests["mismatched"]["gamma_1"] < 1e-6


def test_committed_gcse_results_match_the_design_and_the_code():
    stored, provenance = sbc.load_committed(sbc.COMMITTED_GCSE)
    assert len(stored) == provenance["rows"] == provenance["reps_per_fit"]
    assert provenance["sampler"]["gcse"] == sbc.GCSE_SAMPLER
    assert provenance["programs_sha256"] == sbc.program_digests(["gcse"]), \
        "stan/gcse_marginal.stan changed since the SBC ran: rerun " + provenance["command"]
    assert stored["rep"].tolist() == list(range(len(stored)))
    row = stored.iloc[7]
    columns = (*sbc.GCSE_QUANTITIES, *(f"true_{n}" for n in sbc.GCSE_QUANTITIES), "divergences", "seed", "runs",
               "draws", "min_ess")
    _same_row(sbc.gcse_replication(7), row, columns)
    assert (sbc.uniformity(stored[list(sbc.GCSE_QUANTITIES)])["p_value"] > 0.001).all()


def test_cli_reproduces_committed_rows(tmp_path):
    """`python -m bhm sbc` on two replications writes the committed rows again (ranks, seeds, diagnostics)."""
    from bhm.__main__ import main

    out = tmp_path / "sbc"
    assert main(["sbc", "--reps", "2", "--fit", "mismatched", "--out", str(out), "--workers", "1",
                 "--no-progress", "--export", str(tmp_path / "x.csv.gz")]) == 0
    stored, _ = sbc.load_committed()
    for rep in (0, 1):
        row = json.loads((out / "mismatched" / f"{rep:04d}.json").read_text())
        again = stored[(stored["fit"] == "mismatched") & (stored["rep"] == rep)].iloc[0]
        _same_row(row, again, (*sbc.STAN_QUANTITIES, "divergences", "seed", "runs", "draws", "min_ess"))
    provenance = json.loads((tmp_path / "x.json").read_text())
    assert provenance["rows"] == 2 and provenance["command"].startswith("python -m bhm sbc --reps 2 --fit mismatched")


def test_cli_help():
    from bhm.__main__ import main

    with pytest.raises(SystemExit) as stop:
        main(["sbc", "--help"])
    assert stop.value.code == 0


def test_sbc_ecdf_draws_one_band_and_a_curve_per_fit():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bhm import plots

    band = sbc.ecdf_band(100)
    fig, ax = plt.subplots()
    uniform = np.arange(100)                       # a perfectly flat sample: the curve is 0 everywhere
    plots.sbc_ecdf(ax, {"flat": uniform, "low": np.zeros(100, dtype=int)}, band, n_draws=99, title="t")
    flat, low = [line for line in ax.lines if line.get_label() in ("flat", "low")]
    assert np.allclose(flat.get_ydata(), 0)
    assert low.get_ydata()[1] == pytest.approx(1 - 0.01)  # every rank is 0: the ECDF is 1 from the start
    assert ax.get_title() == "t" and "99% band" in ax.get_legend_handles_labels()[1][0]
    with pytest.raises(ValueError, match="the band is for 100"):
        plots.sbc_ecdf(ax, {"x": np.arange(50)}, band, n_draws=99)
    with pytest.raises(ValueError, match="whole numbers in 0..99"):
        plots.sbc_ecdf(ax, {"x": np.full(100, 100)}, band, n_draws=99)
    with pytest.raises(ValueError, match="ecdf_band"):
        plots.sbc_ecdf(ax, {"x": uniform}, band.iloc[:50], n_draws=99)
    with pytest.raises(ValueError, match="non-empty dict"):
        plots.sbc_ecdf(ax, {}, band, n_draws=99)
    plt.close(fig)
