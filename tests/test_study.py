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
    assert len(grid) == 5 * 4 + 2
    assert {c.prior for c in grid if c.design == "A"} == set(study.PRIORS)
    assert {(c.prior, c.size) for c in grid if c.design == "B"} == {("true", "10x200"), ("wrong", "10x200")}
    assert study.parse_cells(["A/*/50x10"]) == [study.Cell("A", p, "50x10") for p in study.PRIORS]
    with pytest.raises(ValueError, match="no cell matches"):
        study.parse_cells(["C/true"])
    with pytest.raises(ValueError, match="unknown prior 'good'"):
        study.Cell("A", "good", "10x200")


def test_data_depend_on_design_size_and_index_but_not_on_the_prior():
    a = study.simulation_data(study.Cell("A", "true", "10x200"), 7)
    b = study.simulation_data(study.Cell("A", "flat", "10x200"), 7)
    c = study.simulation_data(study.Cell("A", "true", "10x200"), 8)
    assert np.array_equal(a["y"], b["y"])            # common random numbers across priors
    assert not np.array_equal(a["y"], c["y"])
    # predictors are fixed within a design and size
    assert np.array_equal(a["x"], c["x"]) and np.array_equal(a["u"], c["u"])
    assert a["N"] == 2000 and a["J"] == 10


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


def test_sufficient_statistics_likelihood_equals_per_observation():
    """Same log density, up to a constant, at random parameter values (to 1e-8)."""
    data = study.simulation_data(CELL, 0)
    full = {k: data[k] for k in ("N", "J", "group", "x", "y", "u")} | {
        "flat_prior": 0, "gamma_loc": [1.0, 1.0], "gamma_scale": [1.0, 1.0]}
    suff = study.stan_data(CELL, data)
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
    assert again == row                             # bit-identical: seeds derive from the cell and index


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
    assert table.loc[("A", "true", "10x200", "gamma_1"), "sims"] == 4
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
    import dask

    # Stan runs each fit's chains in child processes, which daemonic workers may not have
    with dask.config.set({"distributed.worker.daemon": False}), distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            result = study.run_study(tmp_path / "dask", cells_to_run=[CELL], n_sims=2,
                                     executor=client.get_executor(), progress=False)
    assert result["done"] == 2
    local = study.run_simulation(CELL, 1)
    remote = json.loads((tmp_path / "dask" / "A" / "true" / "10x200" / "0001.json").read_text())
    assert remote == local                         # same seed, same numbers, wherever it ran


def test_committed_results_match_the_design():
    """data/study_results.csv.gz, made by the CLI, is the full current design."""
    results, provenance = study.load_committed()
    counts = results.groupby(["design", "prior", "size"]).size()
    assert set(counts.index) == {(c.design, c.prior, c.size) for c in study.cells()}
    assert (counts == 300).all()
    assert not results.duplicated(["design", "prior", "size", "sim"]).any()
    for name in study.PARAMETERS:
        for stat in ("mean", "q2.5", "q5", "q50", "q95", "q97.5", "rhat", "ess_bulk"):
            assert f"{name}_{stat}" in results.columns
    assert provenance["sims_per_cell"] == 300 and provenance["rows"] == len(results)
    assert provenance["sampler"] == study.SAMPLER
    # the rows are what the current code computes: rerun one simulation
    row = study.run_simulation(study.Cell("A", "weak-wrong", "5x200"), 123)
    stored = results.query("design == 'A' and prior == 'weak-wrong' and size == '5x200' and sim == 123").iloc[0]
    assert row["gamma_1_mean"] == pytest.approx(stored["gamma_1_mean"], rel=1e-12)


def test_failure_reasons_by_hand():
    rows = []
    for sim, (rhat, div, ess) in enumerate([(1.0, 0, 500.0), (1.02, 0, 300.0), (1.0, 2, 50.0), (1.03, 1, 400.0)]):
        row = {"design": "A", "prior": "true", "size": "10x200", "sim": sim, "divergences": div}
        for name in study.PARAMETERS:
            row[f"{name}_rhat"], row[f"{name}_ess_bulk"] = (rhat, ess) if name == "gamma_1" else (1.0, 1000.0)
        rows.append(row)
    reasons = study.failure_reasons(pd.DataFrame(rows)).loc[("A", "true", "10x200")]
    assert (reasons["rhat_over_1_01"], reasons["any_divergence"], reasons["min_bulk_ess"]) == (0.5, 0.5, 50.0)
    with pytest.raises(ValueError, match="lack column"):
        study.failure_reasons(pd.DataFrame(rows).drop(columns="divergences"))


def test_prior_pull_is_given_back_by_eta():
    """Committed results: what the wrong prior adds to gamma_0 + gamma_1 u_1, eta_1 gives back (to 0.03)."""
    results, _ = study.load_committed()
    pull = study.prior_pull_on_eta(results)
    assert pull["added"] > 0.01 and abs(pull["added"] + pull["given_back"]) < 0.03, pull
    with pytest.raises(ValueError, match="no simulations of cell B/flat/10x200"):
        study.prior_pull_on_eta(results, design="B", prior="flat")
