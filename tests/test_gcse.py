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
