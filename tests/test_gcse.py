"""bhm.gcse.fit_ml against lme4's ML fit (the seed's ML column, lmer with REML = FALSE)."""

import numpy as np
import pandas as pd
import pytest

from bhm.data import complete_course, load_gcse
from bhm.gcse import MLFit, fit_ml


@pytest.fixture(scope="module")
def gcse():
    return load_gcse()


@pytest.fixture(scope="module")
def fit(gcse):
    return fit_ml(gcse)


def test_matches_lme4(fit):
    assert isinstance(fit, MLFit)
    assert round(fit.fixed["intercept"], 3) == 69.425
    assert round(fit.fixed_se["intercept"], 3) == 1.352
    assert round(fit.fixed["female"], 3) == 7.128
    assert round(fit.fixed_se["female"], 3) == 1.131
    assert round(fit.sd["intercept"], 3) == 10.146
    assert round(fit.sd["female"], 3) == 6.924
    assert round(fit.sd["residual"], 3) == 13.030
    assert round(fit.corr, 2) == -0.52
    assert round(fit.loglik, 2) == -6985.72
    assert (fit.n_obs, fit.n_groups) == (1725, 73)


def test_blups(fit, gcse):
    assert fit.blups.shape == (73, 2)
    assert list(fit.blups.columns) == ["intercept", "female"]
    assert sorted(fit.blups.index) == sorted(gcse["school"].unique())
    assert all(isinstance(s, str) for s in fit.blups.index)
    # predicted deviations average about zero (ML BLUPs shrink towards the fixed effects)
    assert abs(fit.blups["intercept"].mean()) < 1.0 and abs(fit.blups["female"].mean()) < 1.0


def test_same_fit_from_complete_course(fit, gcse):
    other = fit_ml(complete_course(gcse))
    pd.testing.assert_series_equal(other.fixed, fit.fixed)
    assert other.loglik == pytest.approx(fit.loglik)


def test_frozen(fit):
    with pytest.raises(AttributeError):
        fit.corr = 0.0


def test_bad_input(gcse):
    with pytest.raises(ValueError, match="'school'"):
        fit_ml(gcse.drop(columns="school"))
    with pytest.raises(ValueError, match="'course'.*'gender'|'gender'.*'course'"):
        fit_ml(gcse.drop(columns=["course", "gender"]))
    with pytest.raises(ValueError, match="DataFrame"):
        fit_ml([1, 2, 3])
    bad = complete_course(gcse)
    bad.loc[0, "female"] = 2.0
    with pytest.raises(ValueError, match="female must be 0 or 1"):
        fit_ml(bad)


def test_conditional_effects_at_the_ml_estimates_are_the_blups(fit, gcse):
    """Chapter 1's update in 2-D, plugged with the ML estimates, gives statsmodels' BLUPs in all 73 schools."""
    from bhm.gcse import conditional_effects

    means = conditional_effects(gcse, mu=fit.fixed[["intercept", "female"]], tau=fit.sd[["intercept", "female"]],
                                rho=fit.corr, sigma_y=fit.sd["residual"])
    blups = fit.blups.add(fit.fixed[["intercept", "female"]].to_numpy(), axis=1)
    assert list(means.index) == sorted(blups.index)
    pd.testing.assert_frame_equal(means, blups.loc[means.index].rename_axis("school"), check_exact=False,
                                  atol=1e-8, check_names=False)
    # without the correlation the one-boy school 22908 would land 1.16 points lower (chapter 6's exercise)
    no_rho = conditional_effects(gcse, mu=fit.fixed[["intercept", "female"]], tau=fit.sd[["intercept", "female"]],
                                 rho=0.0, sigma_y=fit.sd["residual"])
    assert round(no_rho.loc["22908", "intercept"], 3) == 64.802


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"mu": (1.0,)}, "mu must be a finite pair"),
    ({"tau": (10.0, 0.0)}, "tau a pair > 0"),
    ({"rho": 1.0}, r"rho must be in \(-1, 1\)"),
    ({"sigma_y": float("nan")}, "sigma_y > 0"),
])
def test_conditional_effects_bad_input(gcse, kwargs, message):
    from bhm.gcse import conditional_effects

    arguments = {"mu": (69.0, 7.0), "tau": (10.0, 7.0), "rho": -0.5, "sigma_y": 13.0} | kwargs
    with pytest.raises(ValueError, match=message):
        conditional_effects(gcse, **arguments)


# --------------------------------------------------------------------------- REML, the profiled fit, empirical Bayes
def test_reml_matches_lme4(gcse):
    """lmer(..., REML = TRUE) on the same model: SDs 10.242 and 7.023 (and ML < REML for both)."""
    reml = fit_ml(gcse, reml=True)
    assert reml.reml and not reml.singular
    assert round(reml.sd["intercept"], 3) == 10.242 and round(reml.sd["female"], 3) == 7.023
    assert round(reml.corr, 2) == -0.52
    assert reml.cov_re.shape == (2, 2)


@pytest.mark.parametrize("reml", [False, True])
def test_profiled_fit_equals_statsmodels_on_the_full_data(fit, gcse, reml):
    """Two optimisers, one likelihood: fit_ml_profiled reproduces fit_ml (and so lme4) to about 1e-5."""
    from bhm.gcse import fit_ml_profiled

    reference = fit_ml(gcse, reml=reml) if reml else fit
    mine = fit_ml_profiled(gcse, reml=reml)
    pd.testing.assert_series_equal(mine.fixed, reference.fixed, atol=1e-5, rtol=0)
    pd.testing.assert_series_equal(mine.fixed_se, reference.fixed_se, atol=1e-5, rtol=0)
    pd.testing.assert_series_equal(mine.sd, reference.sd, atol=1e-4, rtol=0)
    assert mine.corr == pytest.approx(reference.corr, abs=1e-5)
    assert mine.loglik == pytest.approx(reference.loglik, abs=1e-6)
    assert (mine.n_obs, mine.n_groups, mine.singular, mine.reml) == (1725, 73, False, reml)
    diff = (mine.blups - reference.blups.loc[mine.blups.index]).abs().to_numpy().max()
    assert diff < 1e-3, diff


def test_profiled_fit_reaches_the_boundary(gcse):
    """Ten schools (seed 11): the ML covariance is singular (rho at +1), where MixedLM warns and stops short."""
    import warnings

    from bhm.gcse import fit_ml_profiled, sample_schools

    small = sample_schools(complete_course(gcse), 10, seed=11)
    mine = fit_ml_profiled(small)
    assert mine.singular and mine.corr == pytest.approx(1.0, abs=1e-6)
    assert mine.sd["female"] == pytest.approx(0.676, abs=2e-3)
    assert np.linalg.eigvalsh(mine.cov_re)[0] < 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = fit_ml(small)
    # statsmodels' point is no better: its log-likelihood is at most ours
    assert theirs.loglik <= mine.loglik + 1e-6


def test_profiled_loglik_is_the_per_student_marginal(gcse):
    """The profiled log-likelihood at the optimum equals the per-student marginal density (scipy) there."""
    from scipy import stats

    from bhm.gcse import fit_ml_profiled, sample_schools

    small = sample_schools(complete_course(gcse), 6, seed=2)
    f = fit_ml_profiled(small)
    total = 0.0
    for _, school in small.groupby("school"):
        X = np.column_stack([np.ones(len(school)), school["female"].to_numpy()])
        cov = X @ f.cov_re @ X.T + f.sd["residual"] ** 2 * np.eye(len(school))
        total += stats.multivariate_normal(X @ f.fixed.to_numpy(), cov).logpdf(school["course"].to_numpy())
    assert f.loglik == pytest.approx(total, abs=1e-7)


def test_empirical_bayes_by_hand(fit, gcse):
    """Means = BLUPs + fixed effects; covariance = Sigma - Sigma Z'V^-1 Z Sigma, from the students directly."""
    from bhm.gcse import compare_schools_eb, empirical_bayes

    eb = empirical_bayes(gcse, fit)
    blups = fit.blups.add(fit.fixed[["intercept", "female"]].to_numpy(), axis=1)
    assert np.abs(eb[["alpha", "beta"]].to_numpy() - blups.loc[eb.index].to_numpy()).max() < 1e-6
    school = complete_course(gcse).query("school == '60501'")
    X = np.column_stack([np.ones(len(school)), school["female"].to_numpy()])
    V = X @ fit.cov_re @ X.T + fit.sd["residual"] ** 2 * np.eye(len(school))
    cov = fit.cov_re - fit.cov_re @ X.T @ np.linalg.solve(V, X @ fit.cov_re)
    assert eb.loc["60501", "alpha_sd"] == pytest.approx(np.sqrt(cov[0, 0]), rel=1e-9)
    assert eb.loc["60501", "beta_sd"] == pytest.approx(np.sqrt(cov[1, 1]), rel=1e-9)
    assert eb.loc["60501", "cov"] == pytest.approx(cov[0, 1], rel=1e-9)
    # the comparison the chapter makes: 5.75 points, sd 6.12, P = 0.826
    d = compare_schools_eb(gcse, fit, "60501", "68271")
    assert (round(d["mean"], 2), round(d["sd"], 2), round(d["p_greater"], 3)) == (5.75, 6.12, 0.826)
    # a school's own sd instead of sigma_y: only that school changes
    own = empirical_bayes(gcse, fit, residual_sd=pd.Series({"60501": 20.0}))
    assert own.loc["60501", "alpha_sd"] > eb.loc["60501", "alpha_sd"]
    pd.testing.assert_frame_equal(own.drop(index="60501"), eb.drop(index="60501"))


def test_empirical_bayes_with_a_singular_covariance(gcse):
    """At sigma_beta = 0 the gap is known given the estimates: its conditional sd is 0, the intercept's is not."""
    from bhm.gcse import MLFit, empirical_bayes

    f = fit_ml(gcse)
    singular = MLFit(**(f.__dict__ | {"cov_re": np.diag([f.sd["intercept"] ** 2, 0.0])}))
    eb = empirical_bayes(gcse, singular)
    assert np.allclose(eb["beta"], f.fixed["female"]) and np.allclose(eb["beta_sd"], 0.0, atol=1e-6)
    assert (eb["alpha_sd"] > 0).all()


def test_new_functions_reject_bad_input(fit, gcse):
    from bhm.gcse import compare_schools_eb, empirical_bayes, sample_schools

    with pytest.raises(ValueError, match="must be an MLFit"):
        empirical_bayes(gcse, "fit")
    with pytest.raises(ValueError, match="unknown: \\['zz'\\]"):
        empirical_bayes(gcse, fit, residual_sd=pd.Series({"zz": 1.0}))
    with pytest.raises(ValueError, match="unknown school 'zz'"):
        compare_schools_eb(gcse, fit, "60501", "zz")
    with pytest.raises(ValueError, match="var must be 'alpha' or 'beta'"):
        compare_schools_eb(gcse, fit, "60501", "68271", var="gamma")
    with pytest.raises(ValueError, match="k must be a whole number from 2 to 73"):
        sample_schools(gcse, 74, seed=1)
    with pytest.raises(ValueError, match="'school' column"):
        sample_schools(gcse.drop(columns="school"), 5, seed=1)


def test_sample_schools_is_seeded(gcse):
    from bhm.gcse import sample_schools

    a, b = sample_schools(gcse, 10, seed=11), sample_schools(gcse, 10, seed=11)
    pd.testing.assert_frame_equal(a, b)
    assert a["school"].nunique() == 10 and set(a["school"]) != set(sample_schools(gcse, 10, seed=12)["school"])
    ids = sorted(gcse["school"].astype(str).unique())
    assert set(a["school"]) == set(np.random.default_rng(11).choice(ids, size=10, replace=False))


def test_score_statistics_by_hand():
    from bhm.gcse import score_statistics

    df = pd.DataFrame({"school": list("aaaaabbbbb"), "female": [0, 1] * 5,
                       "course": [50.0, 60, 70, 80, 90, 95, 96, 97, 98, 101]})
    obs = score_statistics(df)
    y = df["course"].to_numpy()
    assert obs.loc[0, "share >= 95"] == 0.5 and obs.loc[0, "share > 100"] == 0.1 and obs.loc[0, "max"] == 101
    assert obs.loc[0, "share in [95, 100]"] == 0.4
    from scipy import stats

    assert obs.loc[0, "skewness"] == pytest.approx(stats.skew(y))
    # two schools: the correlation of (mean, sd) is -1 (the high school is less spread)
    assert obs.loc[0, "corr(mean, sd)"] == pytest.approx(-1.0)
    two = score_statistics(df, np.vstack([y, y + 1.0]))
    assert two.shape == (2, 6) and two.loc[1, "max"] == 102
    with pytest.raises(ValueError, match="shape"):
        score_statistics(df, np.ones(3))


def test_residual_spread_pools_the_cells(gcse):
    from scipy import stats

    from bhm.gcse import residual_spread

    df = pd.DataFrame({"school": list("aaaaabb"), "female": [0, 0, 1, 1, 1, 0, 0],
                       "course": [50.0, 60, 70, 80, 90, 40, 40]})
    table = residual_spread(df, sigma_y=5.0)
    # school a: boys (50, 60) and girls (70, 80, 90) around their own means: (50 + 200) / (5 - 2)
    assert table.loc["a", "sd"] == pytest.approx(np.sqrt(250 / 3)) and table.loc["a", "dof"] == 3
    assert table.loc["a", "p_larger"] == pytest.approx(stats.chi2.sf(250 / 25, 3))
    assert table.loc["a", "se"] == pytest.approx(np.sqrt(250 / 3) / np.sqrt(6))
    assert table.loc["b", "sd"] == 0 and table.loc["b", "cells"] == 1
    # the GCSE pair of the chapter: sds without the gender gap, and their chi-square tests against 13.03
    full = complete_course(gcse)
    spread = residual_spread(full, sigma_y=13.03)
    by_hand = full[full["school"] == "60501"].groupby("female")["course"].apply(lambda y: ((y - y.mean()) ** 2).sum())
    assert spread.loc["60501", "sd"] == pytest.approx(np.sqrt(by_hand.sum() / (25 - 2)))
    assert spread.loc["60501", "sd"] == pytest.approx(17.29, abs=0.01)
    assert spread.loc["68271", "sd"] == pytest.approx(16.82, abs=0.01)
    assert spread.loc["60501", "p_larger"] == pytest.approx(0.0136, abs=5e-4)
    assert spread.loc["68271", "p_larger"] == pytest.approx(0.0823, abs=5e-4)
    # a school with one student has no within-cell spread
    assert spread["sd"].isna().sum() == (spread["dof"] == 0).sum()
    with pytest.raises(ValueError, match="sigma_y must be a finite number > 0"):
        residual_spread(df, sigma_y=0.0)


def test_mean_weights_give_the_conditional_mean(fit, gcse):
    from bhm.gcse import conditional_effects, mean_weights

    df = complete_course(gcse)
    params = dict(mu=fit.fixed[["intercept", "female"]], tau=fit.sd[["intercept", "female"]],
                  sigma_y=fit.sd["residual"])
    expected = {fit.corr: (0.281, 0.397, 65.961), 0.0: (0.221, 0.415, 64.802), -fit.corr: (0.150, 0.445, 63.256)}
    for rho, (boy, girls, alpha) in expected.items():
        w = mean_weights(df, "22908", rho=rho, **params)
        assert list(w.index) == ["boys", "girls"] and list(w["n"]) == [1, 4]
        assert (w.loc["boys", "weight_alpha"], w.loc["girls", "weight_alpha"]) == pytest.approx((boy, girls), abs=5e-4)
        effects = conditional_effects(df, rho=rho, **params).loc["22908"]
        assert fit.fixed["intercept"] + w["pull_alpha"].sum() == pytest.approx(effects["intercept"], abs=1e-9)
        assert fit.fixed["female"] + w["pull_beta"].sum() == pytest.approx(effects["female"], abs=1e-9)
        assert fit.fixed["intercept"] + w["pull_alpha"].sum() == pytest.approx(alpha, abs=5e-4)
    # a school with one cell: one row; rho = +-1 allowed
    one_cell = mean_weights(df, "22908", rho=1.0, **params)
    assert np.isfinite(one_cell.to_numpy(dtype=float)).all()
    with pytest.raises(ValueError, match="unknown school 'zz'"):
        mean_weights(df, "zz", rho=0.0, **params)
    with pytest.raises(ValueError, match="rho must be in \\[-1, 1\\]"):
        mean_weights(df, "22908", rho=1.5, **params)
