"""bhm.plots: each function draws what it is given, and names bad input instead of drawing nonsense."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bhm import plots  # noqa: E402


@pytest.fixture
def ax():
    fig, axis = plt.subplots()
    yield axis
    plt.close(fig)


def test_good_input_draws():
    fig, axes = plt.subplots(1, 5)
    grid = np.linspace(0, 1, 5)
    plots.density_triplet(axes[0], grid, prior=grid, likelihood=grid, posterior=grid, xlabel="x (units)")
    assert len(axes[0].lines) == 3 and axes[0].get_xlabel() == "x (units)"
    plots.shrinkage(axes[1], [2, 10], [1.0, 2.0], [1.2, 1.9], 1.5, ylabel="y")
    plots.pooling_panel(axes[2], [1.0, 2.0], [], complete=(1, 1), none=(np.nan, np.nan), partial=(1, 0.5),
                        title="t")
    assert len(axes[2].lines) == 2            # no no-pooling line without girls
    plots.caterpillar(axes[3], [1.0, 2.0], [0.0, 1.0], [2.0, 3.0], average=1.5, xlabel="x", highlight=[1])
    plots.rank_histogram(axes[4], np.arange(100), n_draws=99, bins=20)
    assert axes[4].get_ylabel().startswith("replications per bin")
    plt.close(fig)


@pytest.mark.parametrize(("call", "message"), [
    (lambda ax: plots.density_triplet(ax, [0, 1], prior=[1, 2, 3], likelihood=[1, 2], posterior=[1, 2],
                                      xlabel="x"), "prior has 3 values, but grid has 2"),
    (lambda ax: plots.density_triplet(ax, [0, 1], prior=[1, np.nan], likelihood=[1, 2], posterior=[1, 2],
                                      xlabel="x"), "prior has values that are not finite"),
    (lambda ax: plots.shrinkage(ax, [2, 10, 3], [1.0, 2.0], [1.2, 1.9], 1.5, ylabel="y"),
     "no_pooling has 2 values, but sizes has 3"),
    (lambda ax: plots.shrinkage(ax, [0, 10], [1.0, 2.0], [1.2, 1.9], 1.5, ylabel="y"), "sizes must be positive"),
    (lambda ax: plots.shrinkage(ax, "abc", [1.0], [1.0], 1.0, ylabel="y"), "sizes must be numbers"),
    (lambda ax: plots.caterpillar(ax, [1.0, 5.0], [0.0, 1.0], [2.0, 3.0], average=1, xlabel="x"),
     "between its lower and upper"),
    (lambda ax: plots.caterpillar(ax, [[1.0]], [[0.0]], [[2.0]], average=1, xlabel="x"), "one-dimensional"),
    (lambda ax: plots.pooling_panel(ax, [1.0], [2.0], complete=(1,), none=(1, 1), partial=(1, 1), title="t"),
     "complete must be a finite pair"),
    (lambda ax: plots.pooling_panel(ax, [np.inf], [2.0], complete=(1, 1), none=(1, 1), partial=(1, 1),
                                    title="t"), "boys must be"),
    (lambda ax: plots.rank_histogram(ax, [0, 100], n_draws=99, bins=20), "whole numbers in 0..99"),
    (lambda ax: plots.rank_histogram(ax, [0, 1.5], n_draws=99, bins=20), "whole numbers"),
    (lambda ax: plots.rank_histogram(ax, [0, 1], n_draws=99, bins=7), "must divide 100"),
    (lambda ax: plots.rank_ecdf_difference(ax, [-1, 3], n_draws=99), "ranks must lie in 0..99"),
    (lambda ax: plots.rank_ecdf_difference(ax, [], n_draws=99), "not empty"),
])
def test_bad_input_is_named(ax, call, message):
    with pytest.raises(ValueError, match=message):
        call(ax)
