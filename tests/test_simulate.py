"""bhm.simulate: what the simulators draw, and clear errors for bad input (issue 9)."""

import numpy as np
import pytest

from bhm import simulate


def test_design_and_data_shapes_and_moments():
    design = simulate.draw_design([200] * 50, x_loc=1.0, x_scale=2.0, u_loc=-1.0, u_scale=0.5, seed=0)
    assert design.N == 10_000 and design.J == 50 and design.group.min() == 1 and design.group.max() == 50
    # x ~ N(1, 2): sample mean within 4 standard errors (2 / sqrt(10,000) = 0.02)
    assert abs(design.x.mean() - 1.0) < 4 * 0.02 and abs(design.x.std() - 2.0) < 0.06
    data = simulate.simulate_varying_slope(design, alpha=0.5, gamma_0=1.0, gamma_1=2.0, sigma_b=0.1,
                                           sigma_y=1.0, seed=1)
    np.testing.assert_allclose(data["beta"], 1.0 + 2.0 * design.u + data["eta"])
    residual = data["y"] - 0.5 - data["beta"][design.group - 1] * design.x
    assert abs(residual.std() - 1.0) < 0.03            # sigma_y = 1, 10,000 draws


def test_intercepts_and_slopes_explained_by_u():
    """The group effects are what remains of (alpha_j, beta_j) after gamma_0 + gamma u_j, with the asked moments."""
    design = simulate.draw_design([2] * 20_000, seed=3)
    data = simulate.simulate_varying_intercept_slope_u(design, gamma_0=(1.0, 2.0), gamma=(0.5, -1.0),
                                                       tau=(1.0, 2.0), rho=-0.5, sigma_y=0.5, seed=4)
    np.testing.assert_allclose(data["alpha"], 1.0 + 0.5 * design.u + data["eta"][:, 0])
    np.testing.assert_allclose(data["beta"], 2.0 - 1.0 * design.u + data["eta"][:, 1])
    # 20,000 draws: sds within 3% (se of an sd about 0.5%), correlation within 0.03 (se 0.005)
    sd = data["eta"].std(axis=0)
    assert abs(sd[0] - 1.0) < 0.03 and abs(sd[1] - 2.0) < 0.06
    assert abs(np.corrcoef(data["eta"].T)[0, 1] + 0.5) < 0.03
    j = design.group - 1
    residual = data["y"] - data["alpha"][j] - data["beta"][j] * design.x
    assert abs(residual.std() - 0.5) < 0.01


BAD = [
    (simulate.group_sizes, ([],), {}, "group sizes"),
    (simulate.group_sizes, ([3, 0],), {}, "group sizes"),
    (simulate.group_sizes, ([2.5],), {}, "group sizes"),
    (simulate.draw_design, ([3],), {"x_scale": -1.0, "seed": 0}, "x_scale must be a positive"),
    (simulate.draw_design, ([3],), {"u_loc": np.nan, "seed": 0}, "u_loc must be a finite number"),
    (simulate.draw_design, ([3],), {"seed": None}, "seed is required"),
    (simulate.draw_design, ([3],), {"seed": 1.5}, "seed must be"),
    (simulate.simulate_varying_slope, ("not a design",), {"seed": 0}, "design must be"),
    (simulate.simulate_varying_intercept_slope_u, ("not a design",),
     {"gamma_0": (0, 0), "gamma": (0, 0), "tau": (1, 1), "rho": 0, "sigma_y": 1, "seed": 0}, "design must be"),
    (simulate.simulate_varying_intercept_slope_u, (simulate.draw_design([3], seed=0),),
     {"gamma_0": (0, 0, 0), "gamma": (0, 0), "tau": (1, 1), "rho": 0, "sigma_y": 1, "seed": 0},
     "gamma_0 must be a pair"),
    (simulate.simulate_varying_intercept_slope_u, (simulate.draw_design([3], seed=0),),
     {"gamma_0": (0, 0), "gamma": (0, np.nan), "tau": (1, 1), "rho": 0, "sigma_y": 1, "seed": 0},
     "gamma must be a pair of finite"),
    (simulate.simulate_varying_intercept_slope_u, (simulate.draw_design([3], seed=0),),
     {"gamma_0": (0, 0), "gamma": (0, 0), "tau": (1, 0), "rho": 0, "sigma_y": 1, "seed": 0}, "tau must be positive"),
    (simulate.simulate_varying_intercept_slope_u, (simulate.draw_design([3], seed=0),),
     {"gamma_0": (0, 0), "gamma": (0, 0), "tau": (1, 1), "rho": -1.0, "sigma_y": 1, "seed": 0}, "rho must lie in"),
    (simulate.simulate_varying_intercept, ([3],), {"mu_alpha": 0, "sigma_alpha": -1, "sigma_y": 1, "seed": 0},
     "sigma_alpha must be a positive"),
    (simulate.simulate_varying_intercept, ([3],), {"mu_alpha": "a", "sigma_alpha": 1, "sigma_y": 1, "seed": 0},
     "mu_alpha must be a finite number"),
    (simulate.simulate_varying_intercept_slope, ([3],),
     {"mu_alpha": 0, "mu_beta": 0, "sigma_alpha": 1, "sigma_beta": 1, "rho": 1.0, "sigma_y": 1, "seed": 0},
     "rho must lie in"),
    (simulate.simulate_varying_intercept_slope, ([3],),
     {"mu_alpha": 0, "mu_beta": np.inf, "sigma_alpha": 1, "sigma_beta": 1, "rho": 0, "sigma_y": 1, "seed": 0},
     "mu_beta must be a finite number"),
    (simulate.simulate_varying_intercept_slope, ([3],),
     {"mu_alpha": 0, "mu_beta": 0, "sigma_alpha": 1, "sigma_beta": 1, "rho": 0, "sigma_y": 1, "x_prob": 2,
      "seed": 0}, "x_prob must lie"),
]


@pytest.mark.parametrize(("function", "args", "kwargs", "message"), BAD,
                         ids=[f"{f.__name__}-{i}" for i, (f, *_rest) in enumerate(BAD)])
def test_bad_input_is_named(function, args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        function(*args, **kwargs)


def test_nan_location_in_slope_model_is_named():
    design = simulate.draw_design([3, 4], seed=0)
    with pytest.raises(ValueError, match="gamma_1 must be a finite number"):
        simulate.simulate_varying_slope(design, gamma_1=np.nan, seed=0)
