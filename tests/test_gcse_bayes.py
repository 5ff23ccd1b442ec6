"""bhm.gcse's Bayesian fit: the cell and marginal likelihoods, the cell statistics, and the seed's Bayes column."""

import time

import arviz as az
import numpy as np
import pandas as pd
import pytest

from bhm import gcse, stan
from bhm.data import complete_course, load_gcse


@pytest.fixture(scope="module")
def course():
    return complete_course(load_gcse())


def _build(name, data):
    return stan.build(name, data, engine="pystan")  # PyStan's model: log_prob, constrain_pars


def test_cell_likelihood_equals_per_observation(course):
    """Same log density as varying_intercept_slope.stan, up to a constant, at random parameter values (to 1e-8)."""
    cells = gcse.bayes_data(course)
    schools = sorted(course["school"].unique())
    full = {
        "N": len(course),
        "J": cells["J"],
        "group": course["school"].map({sid: j for j, sid in enumerate(schools, 1)}).to_numpy(),
        "x": course["female"].to_numpy(),
        "y": course["course"].to_numpy(),
    } | {key: cells[key] for key in gcse.BAYES_PRIORS}
    models = {name: _build(name, values) for name, values in
              (("varying_intercept_slope", full), ("gcse_cells", cells))}
    # Unconstrained parameters, in the programs' common order: mu_alpha, mu_beta,
    # log sigma_alpha, log sigma_beta, L_Omega (1 value), z (2 x J, column-major), log sigma_y.
    # Random around a plausible point for the data: at values far from it (say
    # mu_alpha near 0) both log densities are about -10^6 and the two programs'
    # different summation orders alone differ by ~1e-9 .. 1e-8.
    J = cells["J"]
    centre = np.concatenate([[70.0, 7.0, np.log(10.0), np.log(7.0), 0.0], np.zeros(2 * J), [np.log(13.0)]])
    rng = np.random.default_rng(3)
    gaps = []
    for _ in range(5):
        theta = (centre + rng.normal(0, 0.5, size=centre.size)).tolist()
        gaps.append(models["varying_intercept_slope"].log_prob(theta) - models["gcse_cells"].log_prob(theta))
    assert np.ptp(gaps) < 1e-8, gaps


def _per_student_marginal(course, mu, tau, rho, sigma_y):
    """log p(y | hyperparameters) with the school effects integrated out, from the students themselves.

    School j's scores y_j = X_j (alpha_j, beta_j)' + e_j with (alpha_j, beta_j)' ~ N(mu, Sigma)
    and e_j ~ N(0, sigma_y^2 I), so y_j ~ N(X_j mu, X_j Sigma X_j' + sigma_y^2 I): no cells, no algebra.
    """
    from scipy import stats

    sigma = np.array([[tau[0] ** 2, rho * tau[0] * tau[1]], [rho * tau[0] * tau[1], tau[1] ** 2]])
    total = 0.0
    for _, school in course.groupby("school"):
        X = np.column_stack([np.ones(len(school)), school["female"].to_numpy()])
        cov = X @ sigma @ X.T + sigma_y**2 * np.eye(len(school))
        total += stats.multivariate_normal(X @ mu, cov).logpdf(school["course"].to_numpy())
    return total


def test_marginal_likelihood_equals_per_student_marginal(course):
    """gcse_marginal.stan's log density = log prior + per-student marginal likelihood, up to a constant (1e-8)."""
    from scipy import stats

    data = gcse.bayes_data(course)
    model = _build("gcse_marginal", data)
    # Unconstrained: mu_alpha, mu_beta, log sigma_alpha, log sigma_beta, atanh rho, log sigma_y.
    centre = np.array([70.0, 7.0, np.log(10.0), np.log(7.0), -0.5, np.log(13.0)])
    rng = np.random.default_rng(4)
    gaps = []
    for _ in range(6):
        theta = (centre + rng.normal(0, 0.5, size=centre.size)).tolist()
        mu_a, mu_b, s_a, s_b, L11, L21, L12, L22, s_y = model.constrain_pars(theta, include_tparams=False,
                                                                                include_gqs=False)
        rho = L21
        log_prior = (stats.norm.logpdf(mu_a, 50, 25) + stats.norm.logpdf(mu_b, 0, 10)
                     + stats.norm.logpdf(s_a, 0, 20) + stats.norm.logpdf(s_b, 0, 20)
                     + (data["lkj_eta"] - 1) * np.log(1 - rho**2)      # LKJ(eta) for a 2 x 2 correlation
                     + stats.norm.logpdf(s_y, 0, 20))
        exact = log_prior + _per_student_marginal(course, np.array([mu_a, mu_b]), (s_a, s_b), rho, s_y)
        gaps.append(model.log_prob(theta, adjust_transform=False) - exact)
    assert np.ptp(gaps) < 1e-8, gaps


def test_cell_statistics_by_hand():
    df = pd.DataFrame({
        "school": ["b", "a", "b", "a", "b", "a"],
        "course": [10.0, 20.0, 30.0, np.nan, 50.0, 60.0],
        "female": [1.0, 0.0, 0.0, 1.0, 1.0, 0.0],
    })
    cells = gcse.cell_statistics(df)
    # school "a": boys 20, 60 (the girl has no score); school "b": boy 30, girls 10, 50
    assert cells["school_id"].tolist() == ["a", "b", "b"]
    assert cells["school"].tolist() == [1, 2, 2]
    assert cells["x"].tolist() == [0.0, 0.0, 1.0]
    assert cells["n"].tolist() == [2, 1, 2]
    assert cells["s"].tolist() == [80.0, 30.0, 60.0]
    assert cells["ss"].tolist() == [4000.0, 900.0, 2600.0]
    # from the raw loader's layout (gender, no female) too
    raw = df.drop(columns="female").assign(gender=np.where(df["female"] == 1, "F", "M"))
    pd.testing.assert_frame_equal(gcse.cell_statistics(raw), cells)
    data = gcse.bayes_data(df, sigma_scale=5)
    assert (data["C"], data["J"], data["sigma_scale"]) == (3, 2, 5.0)
    assert data["mu_loc"].tolist() == [50.0, 0.0]


def test_cell_statistics_of_gcse(course):
    cells = gcse.cell_statistics(course)
    assert (len(cells), cells["school"].max(), cells["n"].sum()) == (145, 73, 1725)  # one school has one gender only
    assert cells["s"].sum() == pytest.approx(course["course"].sum())
    assert cells["ss"].sum() == pytest.approx((course["course"] ** 2).sum())


def test_bad_input(course):
    with pytest.raises(ValueError, match="missing column.*'school'"):
        gcse.cell_statistics(course.drop(columns="school"))
    with pytest.raises(ValueError, match="'course'.*'gender'|'gender'.*'course'"):
        gcse.bayes_data(course.drop(columns=["course", "gender", "female"]))
    with pytest.raises(ValueError, match="tau_scale must be a pair"):
        gcse.bayes_data(course, tau_scale=20)
    with pytest.raises(ValueError, match="sigma_scale must be finite and > 0"):
        gcse.bayes_data(course, sigma_scale=-1)


NAMES = ["mu_alpha", "mu_beta", "sigma_alpha", "sigma_beta", "sigma_y", "rho", "alpha", "beta"]


def _fit_and_report(course, program):
    stan.build(program, gcse.bayes_data(course))  # compile first: the timing below is sampling only
    start = time.perf_counter()
    idata = gcse.fit_bayes(course, seed=20240601, program=program, chains=4, draws=1000, warmup=1000)
    seconds = time.perf_counter() - start
    ess = az.ess(idata, var_names=NAMES, method="bulk")
    min_ess = min(float(np.min(ess[name])) for name in NAMES)
    print(f"\n{program}: 4 x (1000 + 1000) in {seconds:.1f} s; min bulk ESS {min_ess:.0f}, "
          f"{min_ess / seconds:.0f} per second")
    return idata


@pytest.fixture(scope="module")
def bayes(course):
    return _fit_and_report(course, "gcse_marginal")


def test_marginal_and_cells_programs_agree(bayes, course):
    """The two programs sample one posterior: all 152 means and sds agree within Monte Carlo error."""
    cells = _fit_and_report(course, "gcse_cells")
    a, b = (az.summary(idata, var_names=NAMES, round_to="none") for idata in (bayes, cells))
    assert len(a) == len(b) == 152 and (a.index == b.index).all()
    # z-scores of the differences; with 2 x 152 of them the largest null one is about 3.5
    z_mean = (a["mean"] - b["mean"]) / np.hypot(a["mcse_mean"], b["mcse_mean"])
    z_sd = (a["sd"] - b["sd"]) / np.hypot(a["mcse_sd"], b["mcse_sd"])
    assert z_mean.abs().max() < 4.5 and z_sd.abs().max() < 4.5, (z_mean.abs().idxmax(), z_sd.abs().idxmax())
    # and the marginal program mixes better where it matters: its worst bulk ESS is larger
    assert a["ess_bulk"].min() > b["ess_bulk"].min(), (a["ess_bulk"].min(), b["ess_bulk"].min())


def test_fit_bayes_rejects_unknown_program(course):
    with pytest.raises(ValueError, match="unknown program 'gcse'; choose one of gcse_marginal, gcse_cells"):
        gcse.fit_bayes(course, seed=1, program="gcse")


def test_bayes_fit_converges(bayes):
    assert int(bayes.sample_stats["diverging"].sum()) == 0
    rhat = az.rhat(bayes, var_names=NAMES)
    assert max(float(rhat[name].max()) for name in rhat.data_vars) < 1.01
    assert bayes.posterior["alpha"].sizes["school"] == 73


def test_bayes_fit_matches_seed_and_ml(bayes, course):
    post = bayes.posterior
    mean = {name: float(post[name].mean()) for name in ("mu_alpha", "mu_beta", "sigma_alpha", "sigma_beta")}
    sd = {name: float(post[name].std()) for name in mean}
    # The seed's Bayes column (intercept 69.413, sd 1.287; female 7.132, sd 1.165;
    # random-effect SDs 10.249 and 7.099) came from priors the seed does not
    # state; ours (bhm.gcse.BAYES_PRIORS) differ, so we ask for agreement within
    # Monte Carlo and prior-sensitivity slack, not digit for digit: half a
    # posterior sd for the fixed effects, one for the SDs (whose posteriors
    # feel the prior more: 73 schools, few students in some).
    assert abs(mean["mu_alpha"] - 69.413) < 0.5 * sd["mu_alpha"], (mean, sd)
    assert abs(mean["mu_beta"] - 7.132) < 0.5 * sd["mu_beta"], (mean, sd)
    assert abs(mean["sigma_alpha"] - 10.249) < sd["sigma_alpha"], (mean, sd)
    assert abs(mean["sigma_beta"] - 7.099) < sd["sigma_beta"], (mean, sd)
    # the posterior sds of the fixed effects are the seed's within 20%
    assert sd["mu_alpha"] == pytest.approx(1.287, rel=0.2) and sd["mu_beta"] == pytest.approx(1.165, rel=0.2)
    # and the posterior means of the fixed effects are near the ML estimates
    ml = gcse.fit_ml(course)
    assert abs(mean["mu_alpha"] - ml.fixed["intercept"]) < 0.5 * sd["mu_alpha"]
    assert abs(mean["mu_beta"] - ml.fixed["female"]) < 0.5 * sd["mu_beta"]
    print("posterior mean (sd):", {name: f"{mean[name]:.3f} ({sd[name]:.3f})" for name in mean})


# --------------------------------------------------------------------------- chapter 6's summaries

def _toy_posterior(seed=0, chains=2, draws=500):
    """An InferenceData with three schools whose alphas are known normals."""
    rng = np.random.default_rng(seed)
    locs = np.array([60.0, 70.0, 71.0])
    alpha = locs + rng.normal(0, 2.0, size=(chains, draws, 3))
    beta = 5.0 + rng.normal(0, 1.0, size=(chains, draws, 3))
    return az.from_dict(posterior={"alpha": alpha, "beta": beta, "mu_alpha": alpha.mean(axis=2)},
                        coords={"school": ["a", "b", "c"]}, dims={"alpha": ["school"], "beta": ["school"]})


def test_rank_draws_by_hand():
    idata = _toy_posterior()
    alpha = idata.posterior["alpha"].stack(sample=("chain", "draw")).transpose("sample", "school").values
    ranks = gcse.rank_draws(idata)
    assert ranks.shape == (1000, 3)
    assert (np.sort(ranks, axis=1) == [1, 2, 3]).all()            # each draw a permutation of 1..J
    # the largest alpha of each draw has rank 1, the smallest rank 3
    assert (ranks[np.arange(1000), alpha.argmax(axis=1)] == 1).all()
    assert (ranks[np.arange(1000), alpha.argmin(axis=1)] == 3).all()
    # school a (mean 60, sd 2) is last in essentially every draw
    assert (ranks[:, 0] == 3).mean() > 0.999


def test_compare_schools_against_the_normal_difference():
    idata = _toy_posterior(draws=20000)
    diff = gcse.compare_schools(idata, "c", "b")
    # alpha_c - alpha_b ~ N(1, 2 * 2^2): P(> 0) = Phi(1 / sqrt(8)), within 4 MCSE (draws independent)
    from scipy import stats as st

    exact = st.norm.sf(0, loc=1.0, scale=np.sqrt(8.0))
    assert abs(diff["p_greater"] - exact) < 4 * diff["mcse_p"]
    assert diff["mcse_p"] == pytest.approx(np.sqrt(exact * (1 - exact) / 40000), rel=0.1)
    assert diff["mean"] == pytest.approx(1.0, abs=4 * np.sqrt(8 / 40000))
    assert diff["sd"] == pytest.approx(np.sqrt(8.0), rel=0.02)
    assert diff["lower"] == pytest.approx(1 - 1.96 * np.sqrt(8), abs=0.1)


def test_school_summary_sorted_with_positions():
    table = gcse.school_summary(_toy_posterior(), prob=0.9)
    assert table.index.tolist() == ["a", "b", "c"] and table["position"].tolist() == [1, 2, 3]
    assert (table["lower"] < table["mean"]).all() and (table["mean"] < table["upper"]).all()
    assert table.loc["a", "rank_mean"] == pytest.approx(3.0, abs=1e-3)


def test_summaries_reject_bad_input():
    idata = _toy_posterior()
    with pytest.raises(ValueError, match="unknown school 'zz'"):
        gcse.compare_schools(idata, "a", "zz")
    with pytest.raises(ValueError, match="no posterior variable 'gamma'"):
        gcse.rank_draws(idata, "gamma")
    with pytest.raises(ValueError, match="no 'school' dimension"):
        gcse.school_summary(idata, "mu_alpha")
    with pytest.raises(ValueError, match="prob must be between 0 and 1"):
        gcse.school_summary(idata, prob=95)
    with pytest.raises(ValueError, match="not an InferenceData"):
        gcse.rank_draws(np.zeros((10, 3)))


def test_pooling_lines_against_least_squares(bayes, course):
    import statsmodels.formula.api as smf

    lines = gcse.pooling_lines(course, bayes)
    assert lines.shape == (73, 8)
    # complete pooling is the least-squares line through all 1,725 students
    ols = smf.ols("course ~ female", course).fit().params
    assert lines["complete_intercept"].iloc[0] == pytest.approx(ols["Intercept"], abs=1e-9)
    assert lines["complete_slope"].iloc[0] == pytest.approx(ols["female"], abs=1e-9)
    # no pooling: each school's own least-squares line (its two gender means)
    school = course[course["school"] == "68137"]
    own = smf.ols("course ~ female", school).fit().params
    assert lines.loc["68137", "none_intercept"] == pytest.approx(own["Intercept"], abs=1e-9)
    assert lines.loc["68137", "none_slope"] == pytest.approx(own["female"], abs=1e-9)
    assert (lines.loc["68137", ["n_boys", "n_girls"]] == [29, 65]).all()
    # the one school with one gender only has no no-pooling slope
    assert lines["none_slope"].isna().sum() == 1
    alpha = float(bayes.posterior["alpha"].sel(school="68137").mean())
    assert lines.loc["68137", "partial_intercept"] == pytest.approx(alpha)


def test_shrinkage_and_comparison_tables(bayes, course):
    ml = gcse.fit_ml(course)
    shrink = gcse.shrinkage_table(course, ml, bayes)
    n = shrink.loc["22520", "n_boys"]
    assert n == 20
    assert shrink.loc["22520", "weight"] == pytest.approx((n / 13.030**2) / (n / 13.030**2 + 1 / 10.146**2), abs=1e-3)
    assert shrink.loc["22520", "ml"] == pytest.approx(ml.fixed["intercept"] + ml.blups.loc["22520", "intercept"])
    # BLUPs and posterior means agree within a point in every school (chapter 6)
    assert (shrink["ml"] - shrink["bayes"]).abs().max() < 1.0
    table = gcse.comparison_table(ml, bayes)
    assert table.loc["intercept", "ml"] == pytest.approx(69.425, abs=5e-4)
    assert table.loc["sd female", "ml"] == pytest.approx(6.924, abs=5e-4)
    assert np.isnan(table.loc["sd intercept", "ml_se"])
    assert table.loc["female", "bayes"] == pytest.approx(float(bayes.posterior["mu_beta"].mean()))


def test_school_summary_deviation_columns_and_given_ranks():
    idata = _toy_posterior(draws=2000)
    ranks = gcse.rank_draws(idata)
    table = gcse.school_summary(idata, ranks=ranks)
    assert table.equals(gcse.school_summary(idata))
    alpha = idata.posterior["alpha"].stack(sample=("chain", "draw")).transpose("sample", "school").values
    dev = alpha - idata.posterior["mu_alpha"].stack(sample=("chain", "draw")).values[:, None]
    assert table.loc["a", "p_above"] == pytest.approx((dev[:, 0] > 0).mean())
    assert table.loc["c", "dev_lower"] == pytest.approx(np.quantile(dev[:, 2], 0.025))
    assert table.loc["a", "dev_upper"] < 0 < table.loc["c", "dev_lower"]      # 60 vs mean ~67
    assert gcse.school_summary(idata, "beta")["p_above"].isna().all()          # no mu_beta in the toy
    with pytest.raises(ValueError, match="ranks must have shape"):
        gcse.school_summary(idata, ranks=ranks[:10])


def _toy_fit(seed=0, chains=2, draws=300):
    """Two schools, four students, a posterior with known alpha, beta, sigma_y."""
    df = pd.DataFrame({"school": ["a", "a", "b", "b"], "female": [0.0, 1.0, 0.0, 1.0],
                       "course": [60.0, 70.0, 80.0, 85.0]})
    rng = np.random.default_rng(seed)
    shape = (chains, draws)
    post = {"alpha": np.stack([np.full(shape, 60.0), np.full(shape, 80.0)], axis=-1),
            "beta": np.stack([np.full(shape, 10.0), np.full(shape, 5.0)], axis=-1),
            "sigma_y": 2.0 + rng.normal(0, 1e-4, shape), "mu_alpha": rng.normal(70, 1, shape)}
    idata = az.from_dict(posterior=post, coords={"school": ["a", "b"]},
                         dims={"alpha": ["school"], "beta": ["school"]})
    return df, idata


def test_replicate_scores_by_hand():
    df, idata = _toy_fit()
    y = gcse.replicate_scores(df, idata, seed=1)
    assert y.shape == (600, 4)
    # means alpha + beta x per student, sd sigma_y
    assert np.allclose(y.mean(axis=0), [60, 70, 80, 85], atol=4 * 2 / np.sqrt(600))
    assert np.allclose(y.std(axis=0), 2.0, rtol=0.15)
    assert np.array_equal(y, gcse.replicate_scores(df, idata, seed=1))           # seeded
    assert gcse.replicate_scores(df, idata, seed=1, n_draws=10).shape == (10, 4)
    with pytest.raises(ValueError, match="n_draws must be a whole number from 1 to 600"):
        gcse.replicate_scores(df, idata, seed=1, n_draws=0)
    with pytest.raises(ValueError, match="schools differ"):
        gcse.replicate_scores(df.assign(school=["a", "a", "c", "c"]), idata, seed=1)


def test_summarise_fits():
    df, idata = _toy_fit()
    idata.add_groups(sample_stats={"diverging": np.zeros((2, 300), dtype=bool)})
    table = gcse.summarise_fits({"one": idata, "two": idata}, var_names=["mu_alpha", "sigma_y"])
    assert list(table.index) == ["one", "two"]
    assert table.loc["one", "mu_alpha mean"] == pytest.approx(float(idata.posterior["mu_alpha"].mean()))
    assert table.loc["one", "sigma_y sd"] == pytest.approx(1e-4, rel=0.2)
    assert table.loc["two", "divergences"] == 0 and table.loc["one", "max R-hat"] < 1.02
    with pytest.raises(ValueError, match="has no \\['rho'\\]"):
        gcse.summarise_fits({"one": idata}, var_names=["rho"])
    with pytest.raises(ValueError, match="non-empty dict"):
        gcse.summarise_fits({})


def test_small_subsample_fit_is_not_singular(course):
    """Ten schools (seed 11): ML puts sigma_beta at 0.68 with rho = +1; the posterior keeps both uncertain."""
    small = gcse.sample_schools(course, 10, seed=11)
    idata = gcse.fit_bayes(small, seed=1, chains=4, draws=500, warmup=500)
    sb = idata.posterior["sigma_beta"].values.ravel()
    rho = idata.posterior["rho"].values.ravel()
    assert int(idata.sample_stats["diverging"].sum()) == 0
    assert np.quantile(sb, 0.95) > 5 and np.median(sb) > 2 * gcse.fit_ml_profiled(small).sd["female"]
    assert rho.std() > 0.3 and abs(rho.mean()) < 0.2
