"""bhm.gcse.fit_ml against lme4's ML fit (the seed's ML column, lmer with REML = FALSE)."""

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
    assert list(fit.blups.columns) == ["intercept", "slope"]
    assert sorted(fit.blups.index) == sorted(gcse["school"].unique())
    assert all(isinstance(s, str) for s in fit.blups.index)
    # predicted deviations average about zero (ML BLUPs shrink towards the fixed effects)
    assert abs(fit.blups["intercept"].mean()) < 1.0 and abs(fit.blups["slope"].mean()) < 1.0


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
