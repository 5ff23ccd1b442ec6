"""Every Stan program recovers the parameters of data simulated from it.

Each fit runs at a fixed seed on enough data; a program passes when the 90%
central posterior interval of each main parameter covers its true value. The
centred and non-centred forms of the source course's model must agree on posterior
means within Monte Carlo error.
"""

import arviz as az
import numpy as np
import pytest

from bhm import simulate, stan

PRIOR = {"flat_prior": 0, "gamma_loc": [1.0, 1.0], "gamma_scale": [1.0, 1.0]}
TRUTH_SLOPE = {"alpha": 1.0, "gamma_0": 1.0, "gamma_1": 1.0, "sigma_b": 1.0, "sigma_y": 1.0}


def covered(idata, truth: dict) -> dict:
    """{name: (5%, 95%, truth)} for every parameter whose 90% interval misses its truth."""
    misses = {}
    for name, value in truth.items():
        lo, hi = np.quantile(idata.posterior[name].values.ravel(), [0.05, 0.95])
        if not lo <= value <= hi:
            misses[name] = (round(lo, 3), round(hi, 3), value)
    return misses


@pytest.fixture(scope="module")
def slope_data():
    design = simulate.draw_design([50] * 20, seed=41)
    return simulate.simulate_varying_slope(design, seed=42, **TRUTH_SLOPE) | PRIOR


@pytest.fixture(scope="module")
def slope_fits(slope_data):
    return {program: stan.sample(program, slope_data, seed=43) for program in ("varying_slope", "varying_slope_nc")}


@pytest.mark.parametrize("program", ["varying_slope", "varying_slope_nc"])
def test_varying_slope_recovers_truth(slope_fits, slope_data, program):
    idata = slope_fits[program]
    assert covered(idata, TRUTH_SLOPE) == {}
    # eta, the group effects, are generated quantities with one entry per group
    assert idata.posterior["eta"].shape[-1] == slope_data["J"]
    eta_mean = idata.posterior["eta"].mean(("chain", "draw")).values
    assert np.corrcoef(eta_mean, slope_data["eta"])[0, 1] > 0.9


def test_centred_and_non_centred_agree(slope_fits):
    centred, non_centred = slope_fits["varying_slope"], slope_fits["varying_slope_nc"]
    names = list(TRUTH_SLOPE)
    mean_c = az.summary(centred, var_names=names)
    mean_n = az.summary(non_centred, var_names=names)
    gap = (mean_c["mean"] - mean_n["mean"]).abs()
    bound = 4 * np.hypot(mean_c["mcse_mean"], mean_n["mcse_mean"])
    # summary rounds means and MCSEs to 3 decimals: allow that rounding too
    assert (gap <= bound + 2e-3).all(), (gap, bound)


def test_flat_prior_switch_runs(slope_data):
    idata = stan.sample("varying_slope", slope_data | {"flat_prior": 1}, seed=44, draws=500, warmup=500)
    assert covered(idata, {"gamma_1": 1.0}) == {}


def test_varying_intercept_recovers_truth():
    truth = {"mu_alpha": 60.0, "sigma_alpha": 8.0, "sigma_y": 15.0}
    sizes = np.random.default_rng(50).integers(5, 60, size=40)
    data = simulate.simulate_varying_intercept(sizes, seed=51, **truth)
    idata = stan.sample("varying_intercept", data | {"mu_loc": 50.0, "mu_scale": 25.0, "sigma_scale": 20.0}, seed=52)
    assert covered(idata, truth) == {}
    assert idata.posterior["alpha"].shape[-1] == 40


def test_varying_intercept_slope_recovers_truth():
    truth = {"mu_alpha": 70.0, "mu_beta": 7.0, "sigma_alpha": 10.0, "sigma_beta": 7.0, "rho": -0.5, "sigma_y": 13.0}
    # The posterior recovers the *realised* group effects; their sample correlation
    # scatters around rho with sd (1 - rho^2)/sqrt(J) = 0.06 at J = 150. (Seed 61 drew
    # a 3-sd sample correlation of -0.33 and failed this test; we check the draw.)
    sizes = np.random.default_rng(60).integers(10, 40, size=150)
    data = simulate.simulate_varying_intercept_slope(sizes, seed=71, **truth)
    assert abs(np.corrcoef(data["alpha"], data["beta"])[0, 1] - truth["rho"]) < 2 * 0.75 / np.sqrt(150)
    priors = {"mu_loc": [50.0, 0.0], "mu_scale": [25.0, 10.0], "tau_scale": [20.0, 20.0],
              "sigma_scale": 20.0, "lkj_eta": 2.0}
    idata = stan.sample("varying_intercept_slope", data | priors, seed=62)
    assert covered(idata, truth) == {}
    # group level: about 90% of the 150 intervals of alpha_j cover the true alpha_j
    # (binomial sd 2.4 points; accept 80% to 97%)
    lo, hi = idata.posterior["alpha"].quantile([0.05, 0.95], dim=("chain", "draw")).values
    share = np.mean((lo <= data["alpha"]) & (data["alpha"] <= hi))
    assert 0.80 <= share <= 0.97, share
