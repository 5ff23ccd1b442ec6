"""bhm.interactive (the offline figures) and bhm.conjugate.conditional_group_means (the pooling slider's numbers)."""

import json
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import plotly.graph_objects as go  # noqa: E402
import pytest  # noqa: E402
from scipy import stats  # noqa: E402

from bhm import conjugate, interactive  # noqa: E402


def _spec(figure):
    """The JSON the page's script reads."""
    match = re.search(r"var spec = (\{.*?\});\n", figure.html)
    return json.loads(match.group(1))


def _explorer():
    y = np.random.default_rng(20261125).normal(72.0, 15.0, size=50)
    return interactive.conjugate_explorer(y, sigma=15.0, mu0=60.0, n_values=[1, 10, 50], sigma0_values=[2, 10],
                                          grid=np.linspace(20, 120, 51), figure_id="t-explorer", start=(1, 1))


def test_explorer_states_are_the_closed_form():
    spec = _spec(_explorer())
    assert set(spec["states"]) == {f"{i},{k}" for i in range(3) for k in range(2)}
    y = np.random.default_rng(20261125).normal(72.0, 15.0, size=50)
    grid = np.linspace(20, 120, 51)
    state = spec["states"]["2,0"]                                      # n = 50, sigma0 = 2
    post = conjugate.normal_posterior(y, sigma=15.0, mu0=60.0, sigma0=2.0)
    np.testing.assert_allclose(state["traces"]["2"]["y"], post.pdf(grid), rtol=1e-4)   # 5 significant digits
    np.testing.assert_allclose(state["traces"]["0"]["y"], stats.norm.pdf(grid, 60, 2), rtol=1e-4)
    alpha = conjugate.posterior_weight(50, sigma=15.0, sigma0=2.0)
    assert f"α = {alpha:.3f}" in state["text"] and state["text"].startswith("n = 50, σ₀ = 2:")
    assert [c["name"] for c in spec["controls"]] == ["n", "sigma0"]


def test_round_significant_digits_tiny_values_and_gaps():
    """Five significant digits at every magnitude, tiny values to 0.0, no warning; only NaN/inf are gaps."""
    import warnings

    values = [0.0, 3.14159265, -123456.7, 2.5e-5, 1e-305, 1e-310, -1e-320, np.nan, np.inf, -np.inf]
    with warnings.catch_warnings():
        warnings.simplefilter("error")                       # the old version overflowed here
        rounded = interactive._round(values)
    assert rounded == [0.0, 3.1416, -123460.0, 2.5e-5, 1e-305, 0.0, 0.0, None, None, None]
    assert interactive._round(np.array([[0.1 + 0.2]])) == [0.3]     # flat list, no noise digits
    grid = np.linspace(-200, 200, 401)                         # densities down to ~1e-3000: all 0.0, no gap
    assert None not in interactive._round(stats.norm.pdf(grid, 0, 1))


def test_explorer_curves_have_no_gaps():
    """Far tails of narrow curves (densities < 1e-304) used to become gaps (None) in the page's data."""
    y = np.random.default_rng(20261125).normal(72.0, 15.0, size=200)
    spec = _spec(interactive.conjugate_explorer(y, sigma=15.0, mu0=60.0, n_values=[10, 200], sigma0_values=[1, 50],
                                                grid=np.linspace(20, 120, 201), figure_id="t-gaps", start=(0, 0)))
    values = [v for state in spec["states"].values() for trace in state["traces"].values() for v in trace["y"]]
    assert None not in values and 0.0 in values


def test_same_figure_twice_is_byte_identical():
    """Fixed ids, rounded numbers, PNG without a timestamp: the page does not change from build to build."""
    assert _explorer().html == _explorer().html
    assert repr(_explorer()) == repr(_explorer())


def test_page_parts():
    figure = _explorer()
    html = figure.html
    assert html.count('type="range"') == 2 and 'id="t-explorer-plot"' in html
    assert "cdn.plot.ly" not in html and not re.search(r"src=\"https?://", html) and "<script src" not in html
    assert 'class="bhm-fallback"><img alt="' in html and "data:image/png;base64," in html
    assert figure._repr_html_() is html


def test_pooling_slider_and_model_walk():
    n = np.array([2, 10, 100])
    ybar = np.array([40.0, 60.0, 80.0])
    values = np.array([0.1, 10.0, 1000.0])
    results = [conjugate.conditional_group_means(ybar, n, sigma_y=15, sigma_alpha=v, mu_loc=50, mu_scale=25)
               for v in values]
    figure = interactive.pooling_slider(n, ybar, sigma_values=values, means=[r[0] for r in results],
                                        overall=[r[1] for r in results], marked=9.0, marked_label="posterior",
                                        ylabel="points", figure_id="t-slider")
    spec = _spec(figure)
    assert "posterior" in spec["states"]["1"]["text"] and "posterior" not in spec["states"]["0"]["text"]
    np.testing.assert_allclose(spec["states"]["2"]["traces"]["1"]["y"], ybar, atol=0.1)   # no pooling at 1,000
    # the readout's share is the average shrinkage factor lambda_j
    lam = conjugate.posterior_weight(n, sigma=15, sigma0=values[1]).mean()
    assert f"estimates lie {lam:.0%} of the way from the target" in spec["states"]["1"]["text"]
    # complete pooling, the student-weighted grand mean, is a fixed green line (no state moves it)
    grand_mean = np.sum(n * ybar) / np.sum(n)
    assert '"line":{"color":"#2ca02c","width":2},"mode":"lines","name":"complete pooling"' in figure.html
    assert f'"y":[{grand_mean},{grand_mean}]' in figure.html
    assert all(set(state["traces"]) == {"1", "2"} for state in spec["states"].values())
    walk = interactive.model_walk([0, 1, 0, 1], [1, 2, 3, 4], [1, 1, 2, 2], sizes=[2, 2], figure_id="t-walk",
                                  lines={"one": (1.5, 1.0), "two": ([1.0, 3.0], [1.0, 1.0])},
                                  xlabel="x", ylabel="y")
    spec = _spec(walk)
    assert spec["states"]["1"]["traces"]["3"]["y"] == [3.0, 4.0]      # group 2's line under "two"
    assert spec["states"]["1"]["traces"]["4"]["y"] == [None, None]    # no common line under "two"
    # "one": the groups' lines coincide, so one black line (trace 4) stands for them all
    assert spec["states"]["0"]["traces"]["4"]["y"] == [1.5, 2.5]
    assert spec["states"]["0"]["traces"]["2"]["y"] == spec["states"]["0"]["traces"]["3"]["y"] == [None, None]
    assert '"line":{"color":"black","width":2.5}' in walk.html
    assert walk.html.count("<button") == 2


def test_model_walk_states_its_equations_and_tells_groups_apart():
    walk = interactive.model_walk([0, 1, 0, 1, 0, 1], [1, 2, 3, 4, 5, 7], [1, 1, 2, 2, 3, 3], sizes=[2, 2, 2],
                                  figure_id="t-walk", xlabel="x", ylabel="y",
                                  lines={"one line": (3.0, 2.0), "own lines": ([1.0, 3.0, 5.0], [1.0, 1.0, 2.0])},
                                  equations={"one line": "y = α + β x", "own lines": "y = α[j] + β[j] x"})
    spec = _spec(walk)
    assert spec["states"]["0"]["text"] == "one line: y = α + β x. Intercepts 3.00, slopes 2.00."
    assert spec["states"]["1"]["text"] == ("own lines: y = α[j] + β[j] x. Intercepts from 1.00 to 5.00, "
                                           "slopes from 1.00 to 2.00.")
    colours = re.findall(r'"marker":\{"color":"(#[0-9a-f]{6})"', walk.html)
    assert len(colours) == 3 and len(set(colours)) == 3       # tab10: three different colours
    assert '"name":"group 2 (n = 2)"' in walk.html              # a legend entry per group
    with pytest.raises(ValueError, match="equations given for models that lines does not have"):
        interactive.model_walk([0, 1], [1, 2], [1, 1], sizes=[2], figure_id="w", xlabel="x", ylabel="y",
                               lines={"a": (0, 1), "b": (1, 1)}, equations={"c": "y = x"})


def _school_explorer(**change):
    arguments = {"boys": [[50.0, 70.0], [], [80.0]], "girls": [[60.0], [55.0, 65.0], [90.0, 100.0]],
                 "schools": ["a", "b", "c"], "complete": (65.0, 5.0),
                 "partial": [[58.0, 3.0], [62.0, -2.0], [78.0, 10.0]], "notes": ["n1", "n2", "n3"],
                 "figure_id": "t-schools", "ylabel": "points", "start": 1} | change
    return interactive.school_explorer(arguments.pop("boys"), arguments.pop("girls"), **arguments)


def test_school_explorer_states():
    spec = _spec(_school_explorer())
    assert [c["values"] for c in spec["controls"]] == [["a", "b", "c"]]
    first, second = spec["states"]["0"], spec["states"]["1"]
    # school a: two boys (mean 60), one girl (60); partial line from 58 to 61
    assert first["traces"]["0"]["y"] == [50.0, 70.0] and first["traces"]["1"]["y"] == [60.0]
    assert first["traces"]["3"]["y"] == [60.0, 60.0] and first["traces"]["4"]["y"] == [58.0, 61.0]
    assert max(abs(x) for x in first["traces"]["0"]["x"]) <= 0.06                # boys jittered around 0
    assert all(0.94 <= x <= 1.06 for x in first["traces"]["1"]["x"])              # girls around 1
    # school b has no boys: no own boys' mean (a gap), and the readout says so
    assert second["traces"]["0"]["y"] == [] and second["traces"]["3"]["y"] == [None, 60.0]
    assert second["text"] == ("school b: 0 boys, 2 girls. Own means: girls 60.0. "
                              "Partial pooling: boys 62.0, girls 60.0 points. n2")
    assert spec["states"]["2"]["text"].startswith("school c: 1 boy, 2 girls.")


@pytest.mark.parametrize(("change", "message"), [
    ({"girls": [[60.0], [55.0]]}, "one entry per school"),
    ({"notes": ["n1"]}, "one entry per school"),
    ({"boys": [[np.nan], [], [80.0]]}, "boys contains NaN"),
    ({"boys": [[50.0], [], []], "girls": [[60.0], [55.0], []]}, "at least one student"),
    ({"partial": [[58.0, 3.0]]}, r"partial finite of shape \(3, 2\)"),
    ({"complete": (65.0, np.inf)}, "complete must be a finite pair"),
])
def test_school_explorer_bad_input(change, message):
    with pytest.raises(ValueError, match=message):
        _school_explorer(**change)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"figure_id": "bad id!"}, "figure_id"),
    ({"states": {}}, "states missing"),
    ({"states": {(0,): {"traces": {5: {"y": [1]}}}, (1,): {}}}, "does not have"),
])
def test_interactive_figure_bad_input(kwargs, message):
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1]))
    fallback = plt.figure()
    arguments = {"figure_id": "ok", "states": {(0,): {}, (1,): {}}} | kwargs
    with pytest.raises(ValueError, match=message):
        interactive.interactive_figure(fig, [interactive.Control("a", "a", ("0", "1"))], arguments["states"],
                                       figure_id=arguments["figure_id"], fallback_figure=fallback, alt="x")
    plt.close(fallback)


def test_control_bad_input():
    with pytest.raises(ValueError, match="kind"):
        interactive.Control("a", "a", ("0", "1"), kind="dial")
    with pytest.raises(ValueError, match="at least two"):
        interactive.Control("a", "a", ("0",))
    with pytest.raises(ValueError, match="start"):
        interactive.Control("a", "a", ("0", "1"), start=2)
    with pytest.raises(ValueError, match="letters"):
        interactive.Control("a b", "a", ("0", "1"))
    with pytest.raises(ValueError, match="shape"):
        interactive.model_walk([0], [0], [1], sizes=[1, 1], lines={"m": ([1, 2, 3], 0)}, figure_id="w",
                               xlabel="x", ylabel="y")


# --------------------------------------------------------------------------- the slider's numbers

def test_conditional_group_means_equal_the_joint_gaussian():
    """Against the conditional mean of (mu, alpha_1..J) from the joint precision matrix, solved directly."""
    rng = np.random.default_rng(0)
    J = 6
    n = rng.integers(1, 30, J).astype(float)
    ybar = rng.normal(60, 10, J)
    sy, sa, m, s = 15.0, 8.0, 50.0, 25.0
    precision = np.zeros((J + 1, J + 1))
    b = np.zeros(J + 1)
    precision[0, 0], b[0] = 1 / s**2, m / s**2
    for j in range(J):
        precision[np.ix_([0, j + 1], [0, j + 1])] += np.array([[1, -1], [-1, 1]]) / sa**2
        precision[j + 1, j + 1] += n[j] / sy**2
        b[j + 1] += n[j] * ybar[j] / sy**2
    exact = np.linalg.solve(precision, b)
    means, overall = conjugate.conditional_group_means(ybar, n, sigma_y=sy, sigma_alpha=sa, mu_loc=m, mu_scale=s)
    np.testing.assert_allclose(means, exact[1:], atol=1e-10)
    assert overall == pytest.approx(exact[0], abs=1e-10)
    # the limits: complete pooling and no pooling
    tiny, _ = conjugate.conditional_group_means(ybar, n, sigma_y=sy, sigma_alpha=1e-6, mu_loc=m, mu_scale=s)
    huge, _ = conjugate.conditional_group_means(ybar, n, sigma_y=sy, sigma_alpha=1e6, mu_loc=m, mu_scale=s)
    assert np.ptp(tiny) < 1e-6 and np.max(np.abs(huge - ybar)) < 1e-6


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"ybar": [1.0, 2.0], "n": [1.0]}, "one shape"),
    ({"ybar": [np.nan], "n": [1.0]}, "finite"),
    ({"ybar": [1.0], "n": [0.0]}, "n >= 1"),
    ({"sigma_alpha": -1.0}, "sigma_alpha"),
    ({"mu_scale": 0.0}, "mu_scale"),
])
def test_conditional_group_means_bad_input(kwargs, message):
    arguments = {"ybar": [1.0], "n": [2.0], "sigma_y": 1.0, "sigma_alpha": 1.0, "mu_loc": 0.0, "mu_scale": 1.0}
    arguments.update(kwargs)
    ybar, n = arguments.pop("ybar"), arguments.pop("n")
    with pytest.raises(ValueError, match=message):
        conjugate.conditional_group_means(ybar, n, **arguments)


def test_gcse_school_explorer_from_data_and_fit():
    """Schools ordered by posterior mean, rank intervals in the readout, the single student visible."""
    import arviz as az
    import pandas as pd

    df = pd.DataFrame({"school": ["a", "a", "b", "b", "b"], "female": [0.0, 1.0, 0.0, 1.0, 1.0],
                       "course": [80.0, 85.0, 50.0, 55.0, 65.0]})
    shape = (2, 50)
    post = {"alpha": np.stack([np.full(shape, 79.0), np.full(shape, 52.0)], axis=-1),
            "beta": np.stack([np.full(shape, 4.0), np.full(shape, 8.0)], axis=-1)}
    idata = az.from_dict(posterior=post, coords={"school": ["a", "b"]},
                         dims={"alpha": ["school"], "beta": ["school"]})
    figure = interactive.gcse_school_explorer(df, idata, figure_id="t-gcse", start_school="a")
    spec = _spec(figure)
    assert [c["values"] for c in spec["controls"]] == [["b", "a"]]                 # lowest mean first
    assert spec["states"]["1"]["text"].endswith("Rank of its boys' mean: 1 of 2 (95% interval 1 to 1).")
    assert '"symbol":"circle-open"' in figure.html                                # own means drawn open
    with pytest.raises(ValueError, match="unknown school 'zz'"):
        interactive.gcse_school_explorer(df, idata, figure_id="t-gcse", start_school="zz")
