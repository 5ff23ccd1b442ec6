"""bhm.study: the Monte Carlo study's design, seeds, likelihood and store."""

import json
import os

import numpy as np
import pandas as pd
import pytest

from bhm import stan, study

CELL = study.Cell("A", "true", "10x200")


def test_grid_is_the_issue_design():
    grid = study.cells()
    marginal = [c for c in grid if c.program == "marginal"]
    assert len(marginal) == 5 * 6 + 2 * 2 + 2 and len(grid) == len(marginal) + 6
    assert {c.prior for c in marginal if c.design == "A"} == set(study.PRIORS)
    assert {(c.prior, c.size) for c in grid if c.design == "B"} == {("true", "10x200"), ("wrong", "10x200")}
    assert {c.size for c in grid if c.program == "centred"} == {"5x50", "5x200"}
    assert study.parse_cells(["A/*/50x10"]) == [study.Cell("A", p, "50x10") for p in study.GAMMA_PRIORS]
    assert study.parse_cells(["*/centred"]) == [c for c in grid if c.program == "centred"]
    with pytest.raises(ValueError, match="no cell matches"):
        study.parse_cells(["C/true"])
    with pytest.raises(ValueError, match="unknown prior 'good'"):
        study.Cell("A", "good", "10x200")
    with pytest.raises(ValueError, match="unknown program 'fast'"):
        study.Cell("A", "true", "10x200", "fast")


def test_sizes_share_u_and_nest_x():
    """Two sizes with the same number of groups differ only in n per group: no confounding."""
    small, large = study.design_for("A", "10x100"), study.design_for("A", "10x200")
    np.testing.assert_array_equal(small.u, large.u)
    np.testing.assert_array_equal(small.x.reshape(10, 100), large.x.reshape(10, 200)[:, :100])
    for size, (groups, _) in study.SIZES.items():
        u = study.design_for("A", size).u
        assert u.size == groups and abs(u.mean()) < 1e-12 and u.std() == pytest.approx(3.0, rel=1e-12)


def test_data_depend_on_design_size_and_index_but_not_on_the_prior():
    a = study.simulation_data(study.Cell("A", "true", "10x200"), 7)
    b = study.simulation_data(study.Cell("A", "flat", "10x200"), 7)
    c = study.simulation_data(study.Cell("A", "true", "10x200"), 8)
    assert np.array_equal(a["y"], b["y"])            # common random numbers across priors
    assert not np.array_equal(a["y"], c["y"])
    # predictors are fixed within a design and size
    assert np.array_equal(a["x"], c["x"]) and np.array_equal(a["u"], c["u"])
    assert a["N"] == 2000 and a["J"] == 10
    centred = study.simulation_data(study.Cell("A", "true", "5x50", "centred"), 7)
    np.testing.assert_array_equal(centred["y"], study.simulation_data(study.Cell("A", "flat", "5x50"), 7)["y"])


def test_design_b_is_uncentred():
    d = study.design_for("B", "10x200")
    assert abs(d.x.mean() - 5) < 0.05 and abs(d.x.std() - 0.3) < 0.02


def test_sufficient_statistics_by_hand():
    stats = study.sufficient_statistics([1, 1, 2], [1.0, 2.0, 3.0], [2.0, 0.0, 1.0], 2)
    assert stats["n"].tolist() == [2, 1]
    assert stats["sxy"].tolist() == [2.0, 3.0]
    assert stats["syy"].tolist() == [4.0, 1.0]
    with pytest.raises(ValueError, match="1-based indices"):
        study.sufficient_statistics([0, 1], [1.0, 2.0], [1.0, 2.0], 2)


def _marginal_log_density(data, prior, sigma_b, sigma_y):
    """log p(y | sigma_b, sigma_y): alpha, gamma and the slopes integrated out by hand,
    as one multivariate normal of all N observations."""
    from scipy import stats

    x, u, group = np.asarray(data["x"]), np.asarray(data["u"]), np.asarray(data["group"]) - 1
    loc, scale = prior
    # y = alpha + x (gamma_0 + gamma_1 u_j + eta_j) + e
    design = np.column_stack([np.ones_like(x), x, x * u[group]])      # coefficients (alpha, gamma_0, gamma_1)
    prior_mean = np.array([0.0, loc, loc])
    prior_cov = np.diag([10.0**2, scale**2, scale**2])
    same_group = group[:, None] == group[None, :]
    cov = design @ prior_cov @ design.T + sigma_b**2 * np.outer(x, x) * same_group + sigma_y**2 * np.eye(x.size)
    return stats.multivariate_normal(design @ prior_mean, cov).logpdf(data["y"])


@pytest.mark.parametrize("prior", ["true", "sigma-half-normal", "sigma-uniform"])
def test_marginal_program_log_density_is_the_integrated_model(prior):
    """varying_slope_marginal's log density equals the model with alpha, gamma and the
    slopes integrated out by a multivariate normal of every observation, plus the priors
    on (sigma_b, sigma_y), up to one constant (to 1e-8), at random parameter values."""
    from scipy import stats

    from bhm import simulate

    design = simulate.draw_design([6, 4, 7, 5], seed=1)
    data = simulate.simulate_varying_slope(design, seed=2)
    cell = study.Cell("A", prior, "5x50")
    model = stan.build("varying_slope_marginal", study.stan_data(cell, data), engine="pystan")
    sigma_b_prior = {"half-Cauchy(0, 5)": stats.halfcauchy(scale=5), "half-normal(0, 1)": stats.halfnorm(),
                     "uniform(0, 100)": stats.uniform(0, 100)}[study.PRIORS[prior]["sigma_b"]]
    rng = np.random.default_rng(3)
    gaps = []
    for _ in range(6):
        theta = [float(rng.normal(0, 0.7)), float(rng.normal(0, 2))]           # unconstrained (sigma_b, z_y)
        sigma_b, _, sigma_y = model.constrain_pars(theta, include_tparams=True, include_gqs=False)[:3]
        exact = (_marginal_log_density(data, study.PRIORS[prior]["gamma"], sigma_b, sigma_y)
                 + sigma_b_prior.logpdf(sigma_b) + stats.halfcauchy(scale=5).logpdf(sigma_y))
        # Stan's density is in (sigma_b, z_y): it carries the Jacobian log sigma_y of z_y -> sigma_y
        gaps.append(model.log_prob(theta, adjust_transform=False) - np.log(sigma_y) - exact)
    assert np.ptp(gaps) < 1e-8, gaps


@pytest.mark.parametrize("cell", [study.Cell("A", "true", "5x50"), study.Cell("A", "flat", "10x100"),
                                  study.Cell("B", "wrong", "10x200")])
def test_marginal_and_centred_programs_give_one_posterior(cell):
    """Same data, both programs: posterior means and sds agree within Monte Carlo error.

    Each mean is compared with 4.5 standard errors of the difference, sqrt(MCSE_1^2 +
    MCSE_2^2) from ArviZ (six quantities in three cells: a false alarm has odds of
    about 1 in 8,000); each sd to 10%.
    """
    import arviz as az

    data = study.stan_data(cell, study.simulation_data(cell, 4))
    fits = {program: stan.sample_arrays(study.PROGRAMS[program], data, seed=9, warmup=1000, draws=2000)
            for program in ("marginal", "centred")}
    for name in ("alpha", "gamma_0", "gamma_1", "sigma_b", "sigma_y", "eta_1"):
        draws = {p: (f["eta"][..., 0] if name == "eta_1" and p == "centred" else f[name]) for p, f in fits.items()}
        means = {p: d.mean() for p, d in draws.items()}
        mcse = np.hypot(*(float(az.mcse(d)) for d in draws.values()))
        assert abs(means["marginal"] - means["centred"]) < 4.5 * mcse, (name, means, mcse)
        sds = [d.std() for d in draws.values()]
        assert sds[0] == pytest.approx(sds[1], rel=0.1), (name, sds)


def test_sufficient_statistics_likelihood_equals_per_observation():
    """Same log density, up to a constant, at random parameter values (to 1e-8)."""
    data = study.simulation_data(CELL, 0)
    full = {k: data[k] for k in ("N", "J", "group", "x", "y", "u")} | {
        "flat_prior": 0, "gamma_loc": [1.0, 1.0], "gamma_scale": [1.0, 1.0]}
    suff = study.stan_data(study.Cell("A", "true", "10x200", "centred"), data)
    models = {name: stan.build(name, values, engine="pystan")
              for name, values in (("varying_slope", full), ("varying_slope_suff", suff))}
    rng = np.random.default_rng(3)
    gaps = []
    for _ in range(5):
        theta = rng.normal(0, 0.5, size=5 + data["J"]).tolist()  # unconstrained: same order in both programs
        gaps.append(models["varying_slope"].log_prob(theta) - models["varying_slope_suff"].log_prob(theta))
    assert np.ptp(gaps) < 1e-8, gaps


def test_one_simulation_row():
    row = study.run_simulation(CELL, 0)
    for name in study.PARAMETERS:
        assert row[f"{name}_q2.5"] <= row[f"{name}_q50"] <= row[f"{name}_q97.5"]
        assert row[f"{name}_rhat"] < 1.05
    assert abs(row["gamma_1_mean"] - 1.0) < 4 * (row["gamma_1_q97.5"] - row["gamma_1_q2.5"]) / 3.92
    again = study.run_simulation(CELL, 0)
    for key in study.TIMINGS:                       # wall times differ; everything else is bit-identical
        again.pop(key), row.pop(key)
    assert again == row                             # seeds derive from the cell and index


def test_run_study_writes_each_simulation_once_and_resumes(tmp_path):
    first = study.run_study(tmp_path, cells_to_run=[CELL], n_sims=3, max_workers=1, progress=False)
    assert first["done"] == 3 and first["skipped"] == 0
    files = sorted(tmp_path.rglob("*.json"))
    stamps = [os.stat(f).st_mtime_ns for f in files]
    second = study.run_study(tmp_path, cells_to_run=[CELL], n_sims=4, max_workers=1, progress=False)
    assert second["done"] == 1 and second["skipped"] == 3
    assert [os.stat(f).st_mtime_ns for f in files] == stamps  # finished work untouched
    results = study.load_results(tmp_path)
    assert results["sim"].tolist() == [0, 1, 2, 3]
    assert not list(tmp_path.rglob(".tmp-*"))
    table = study.summarise(results)
    assert table.loc[("marginal", "A", "true", "10x200", "gamma_1"), "sims"] == 4
    assert json.loads(files[0].read_text())["sim"] == 0


def test_bad_inputs():
    with pytest.raises(ValueError, match="sim must be"):
        study.simulation_data(CELL, -1)
    with pytest.raises(ValueError, match="n_sims must be"):
        study.run_study("/nonexistent", cells_to_run=[CELL], n_sims=0)
    with pytest.raises(ValueError, match="no results"):
        study.load_results("/nonexistent")


def test_a_dask_cluster_runs_the_study_unchanged(tmp_path):
    distributed = pytest.importorskip("distributed")

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            result = study.run_study(tmp_path / "dask", cells_to_run=[CELL], n_sims=2,
                                     executor=client.get_executor(), progress=False)
    assert result["done"] == 2
    local = study.run_simulation(CELL, 1)
    remote = json.loads((tmp_path / "dask" / "marginal" / "A" / "true" / "10x200" / "0001.json").read_text())
    for key in study.TIMINGS:
        remote.pop(key), local.pop(key)
    assert remote == local                         # same seed, same numbers, wherever it ran


def test_committed_results_match_the_design():
    """data/study_results.csv.gz, made by the CLI, is the full current design."""
    results, provenance = study.load_committed()
    counts = results.groupby(["program", "design", "prior", "size"]).size()
    assert set(counts.index) == {(c.program, c.design, c.prior, c.size) for c in study.cells()}
    assert (counts == 300).all()
    assert not results.duplicated(["program", "design", "prior", "size", "sim"]).any()
    for name in study.PARAMETERS:
        for stat in ("mean", "sd", "q2.5", "q5", "q50", "q95", "q97.5", "rhat", "ess_bulk"):
            assert f"{name}_{stat}" in results.columns
    assert provenance["sims_per_cell"] == 300 and provenance["rows"] == len(results)
    assert provenance["sampler"] == study.SAMPLER
    # the rows are what the current code computes: rerun one simulation of each program
    for cell, sim in ((study.Cell("A", "weak-wrong", "5x200"), 123), (study.Cell("A", "flat", "5x50", "centred"), 7)):
        row = study.run_simulation(cell, sim)
        stored = results[(results["program"] == cell.program) & (results["design"] == cell.design)
                         & (results["prior"] == cell.prior) & (results["size"] == cell.size)
                         & (results["sim"] == sim)].iloc[0]
        assert row["gamma_1_mean"] == pytest.approx(stored["gamma_1_mean"], rel=1e-12)


def test_paired_differences_by_hand():
    rows = []
    for prior, shift in (("true", 0.0), ("wrong", 0.1)):
        for sim in range(4):
            row = {"program": "marginal", "design": "A", "prior": prior, "size": "10x200", "sim": sim}
            row |= {f"{name}_mean": 1.0 + sim + shift * (sim % 2) for name in study.PARAMETERS}
            rows.append(row)
    table = study.paired_differences(pd.DataFrame(rows))
    got = table.loc[("A", "wrong", "10x200", "gamma_1")]
    diffs = np.array([0.0, 0.1, 0.0, 0.1])
    assert got["sims"] == 4 and got["diff"] == pytest.approx(0.05)
    assert got["se"] == pytest.approx(diffs.std(ddof=1) / 2)
    with pytest.raises(ValueError, match="no simulations with the 'flat' prior"):
        study.paired_differences(pd.DataFrame(rows), baseline="flat")


def test_predicted_pull_is_the_prior_weight():
    """Centred u: the pull of N(2, 1) on gamma_0 is 1 / (1 + sum 1 / tau_j^2), on gamma_1
    1 / (1 + sum u_j^2 / tau_j^2) (to 1e-4: the data's precision matrix is diagonal only up to
    sum u_j / tau_j^2, which the groups' slightly different S_xx keep from being exactly 0)."""
    design = study.design_for("A", "10x200")
    sxx = (design.x.reshape(10, 200) ** 2).sum(axis=1)
    tau2 = 1.0 + 1.0 / sxx
    pull = study.predicted_pull("A", "10x200", "wrong")
    assert pull["pull_gamma_0"] == pytest.approx(1 / (1 + (1 / tau2).sum()), rel=1e-4)
    assert pull["pull_gamma_1"] == pytest.approx(1 / (1 + (design.u**2 / tau2).sum()), rel=1e-4)
    assert study.predicted_pull("A", "10x200", "true")["pull_gamma_0"] == 0.0
    with pytest.raises(ValueError, match="prior must be one of"):
        study.predicted_pull("A", "10x200", "sigma-uniform")
    with pytest.raises(ValueError, match="sigma_b must be a positive"):
        study.predicted_pull("A", "10x200", "wrong", sigma_b=0.0)
    # a larger sigma_b: less information about gamma, more pull
    assert study.predicted_pull("A", "10x200", "wrong", sigma_b=2.0)["pull_gamma_0"] > pull["pull_gamma_0"]


def test_failure_reasons_by_hand():
    rows = []
    for sim, (rhat, div, ess) in enumerate([(1.0, 0, 500.0), (1.02, 0, 300.0), (1.0, 2, 50.0), (1.03, 1, 400.0)]):
        row = {"program": "marginal", "design": "A", "prior": "true", "size": "10x200", "sim": sim,
               "divergences": div}
        for name in study.PARAMETERS:
            row[f"{name}_rhat"], row[f"{name}_ess_bulk"] = (rhat, ess) if name == "gamma_1" else (1.0, 1000.0)
        rows.append(row)
    reasons = study.failure_reasons(pd.DataFrame(rows)).loc[("marginal", "A", "true", "10x200")]
    assert (reasons["rhat_over_1_01"], reasons["any_divergence"], reasons["min_bulk_ess"]) == (0.5, 0.5, 50.0)
    with pytest.raises(ValueError, match="lack column"):
        study.failure_reasons(pd.DataFrame(rows).drop(columns="divergences"))


def test_prior_pull_is_given_back_by_eta():
    """Committed results: what the wrong prior adds to gamma_0 + gamma_1 u_1, eta_1 gives back (to 0.01)."""
    results, _ = study.load_committed()
    pull = study.prior_pull_on_eta(results)
    assert pull["added"] > 0.01 and abs(pull["added"] + pull["given_back"]) < 0.01, pull
    with pytest.raises(ValueError, match="no simulations of cell B/flat/10x200"):
        study.prior_pull_on_eta(results, design="B", prior="flat")


def test_mcnemar_counts_disagreements_and_gives_the_exact_p():
    """Five data sets all one way: p = 2 / 2^5; a balanced split: p = 1; no disagreement: p = 1."""
    index = pd.RangeIndex(10)
    first = pd.Series([True] * 5 + [False] * 5, index=index)
    second = pd.Series([False] * 10, index=index)
    assert study.mcnemar(first, second) == {"first_only": 5, "second_only": 0, "p": pytest.approx(2 / 2**5)}
    assert study.mcnemar(second, first)["second_only"] == 5
    balanced = pd.Series([False] * 5 + [True] * 5, index=index)
    assert study.mcnemar(first, balanced)["p"] == pytest.approx(1.0)
    assert study.mcnemar(first, first) == {"first_only": 0, "second_only": 0, "p": 1.0}
    with pytest.raises(ValueError, match="same data sets"):
        study.mcnemar(first, second.iloc[:9])


def test_funnel_depth_is_the_ratio_of_gammas_conditional_sds():
    """Under the flat prior the depth is sigma_b's quantile ratio; with gamma's prior sd 1 and J = 5 it is
    the ratio of 1 / sqrt(5 / sigma_b^2 + 1), capped as sigma_b grows."""
    rows = pd.DataFrame({"prior": ["flat", "true", "true"], "size": ["5x50", "5x50", "50x10"],
                         "sigma_b_q2.5": [0.5, 0.5, 0.5], "sigma_b_q97.5": [4.0, 4.0, 4.0]})
    depth = study.funnel_depth(rows)
    assert depth[0] == pytest.approx(8.0)
    assert depth[1] == pytest.approx(np.sqrt(5 / 0.25 + 1) / np.sqrt(5 / 16 + 1))
    assert depth[2] == pytest.approx(np.sqrt(50 / 0.25 + 1) / np.sqrt(50 / 16 + 1))
    assert 1 < depth[1] < depth[0]
    with pytest.raises(ValueError, match="lack column"):
        study.funnel_depth(rows.drop(columns="size"))
