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


def test_funnel_ppc_statistic_and_shrinkage_target_draw_what_they_are_given(ax):
    effect, log_scale = np.array([0.1, -0.2, 0.3, 0.0]), np.array([0.0, -1.0, 0.5, -2.0])
    plots.funnel(ax, effect, log_scale, [0, 0, 0, 1], xlabel="effect", ylabel="log scale", title="t")
    normal, divergent = ax.collections
    np.testing.assert_array_equal(divergent.get_offsets(), [[0.0, -2.0]])
    assert len(normal.get_offsets()) == 3 and divergent.get_label() == "divergent (1)"
    # posterior draws in dark grey, not the prior's grey; divergences in the posterior's red
    assert not np.allclose(normal.get_facecolor()[0][:3], matplotlib.colors.to_rgb(plots.COLORS["prior"]))
    np.testing.assert_allclose(divergent.get_facecolor()[0][:3], matplotlib.colors.to_rgb(plots.COLORS["posterior"]))
    assert ax.get_ylabel() == "log scale" and ax.get_title() == "t"
    fig, (left, right) = plt.subplots(1, 2)
    plots.ppc_statistic(left, {"m1": [1.0, 2.0, 3.0, 4.0], "m2": [0.0, 0.5]}, 2.5, xlabel="T",
                        colors={"m1": "C0", "m2": "C1"})
    labels = left.get_legend_handles_labels()[1]
    # P(T_rep >= T_obs); none of m2's 2 draws reaches 2.5: p < 1/2, not "p = 0.00"
    assert sorted(labels) == ["m1: $p$ = 0.50", "m2: $p$ < 0.5", "observed"]
    plots.shrinkage(right, [2, 2, 10], [1.0, 3.0, 2.0], [1.2, 2.5, 1.9], 1.5, ylabel="y", target=1.8,
                    target_label="E[mu | y]", jitter=0.1)
    dashed = [line for line in right.lines if line.get_linestyle() == "--"]
    assert len(dashed) == 1 and dashed[0].get_ydata()[0] == 1.8
    xs = right.collections[0].get_offsets()[:, 0]
    assert xs[0] != xs[1] and np.all(np.abs(np.log(xs / [2, 2, 10])) <= 0.1)   # jittered apart, within 10%
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
                                      xlabel="x"), "density_triplet: prior must be finite"),
    (lambda ax: plots.shrinkage(ax, [2, 10, 3], [1.0, 2.0], [1.2, 1.9], 1.5, ylabel="y"),
     "no_pooling has 2 values, but sizes has 3"),
    (lambda ax: plots.shrinkage(ax, [0, 10], [1.0, 2.0], [1.2, 1.9], 1.5, ylabel="y"), "sizes must be positive"),
    (lambda ax: plots.shrinkage(ax, "abc", [1.0], [1.0], 1.0, ylabel="y"),
     "shrinkage: sizes must be a 1-D array of numbers"),
    (lambda ax: plots.caterpillar(ax, [1.0, 5.0], [0.0, 1.0], [2.0, 3.0], average=1, xlabel="x"),
     "between its lower and upper"),
    (lambda ax: plots.caterpillar(ax, [[1.0]], [[0.0]], [[2.0]], average=1, xlabel="x"), "mean must be a 1-D array"),
    (lambda ax: plots.pooling_panel(ax, [1.0], [2.0], complete=(1,), none=(1, 1), partial=(1, 1), title="t"),
     "complete must be a finite pair"),
    (lambda ax: plots.pooling_panel(ax, [np.inf], [2.0], complete=(1, 1), none=(1, 1), partial=(1, 1),
                                    title="t"), "boys must be"),
    (lambda ax: plots.rank_histogram(ax, [0, 100], n_draws=99, bins=20), "whole numbers in 0..99"),
    (lambda ax: plots.rank_histogram(ax, [0, 1.5], n_draws=99, bins=20), "whole numbers"),
    (lambda ax: plots.rank_histogram(ax, [0, 1], n_draws=99, bins=7), "must divide 100"),
    (lambda ax: plots.rank_ecdf_difference(ax, [-1, 3], n_draws=99), "ranks must lie in 0..99"),
    (lambda ax: plots.rank_ecdf_difference(ax, [], n_draws=99), "not empty"),
    (lambda ax: plots.shrinkage(ax, [2, 10], [1.0, 2.0], [1.2, 1.9], 1.5, ylabel="y", jitter=2),
     "jitter must lie in"),
    (lambda ax: plots.funnel(ax, [0.1, 0.2], [0.0, 1.0, 2.0], [False, True], xlabel="x", ylabel="y"),
     "log_scale has 3 values, but effect has 2"),
    (lambda ax: plots.funnel(ax, [0.1, 0.2], [0.0, 1.0], [False], xlabel="x", ylabel="y"),
     r"divergent must hold True/False, one per draw \(2\)"),
    (lambda ax: plots.funnel(ax, [0.1, 0.2], [0.0, 1.0], [0.5, 2.0], xlabel="x", ylabel="y"),
     "divergent must hold True/False"),
    (lambda ax: plots.funnel(ax, [0.1, np.inf], [0.0, 1.0], [0, 1], xlabel="x", ylabel="y"),
     "effect must be finite; 1 of its 2 values"),
    (lambda ax: plots.ppc_statistic(ax, {}, 1.0, xlabel="T", colors={}), "non-empty dict"),
    (lambda ax: plots.ppc_statistic(ax, {"a": [1.0, 2.0]}, 1.0, xlabel="T", colors={"b": "red"}),
     r"no colour for \['a'\]"),
    (lambda ax: plots.ppc_statistic(ax, {"a": [1.0, np.nan]}, 1.0, xlabel="T", colors={"a": "red"}),
     r"replicated\[a\] must be finite"),
    (lambda ax: plots.ppc_statistic(ax, {"a": [1.0, 2.0]}, np.nan, xlabel="T", colors={"a": "red"}),
     "observed must be finite"),
])
def test_bad_input_is_named(ax, call, message):
    with pytest.raises(ValueError, match=message):
        call(ax)


def test_interval_comparison():
    import matplotlib.pyplot as plt

    from bhm.plots import interval_comparison

    fig, ax = plt.subplots()
    interval_comparison(ax, ["a", "b"], {"EB": ([1, 2], [0, 1], [2, 3]), "Bayes": ([1, 2], [-1, 0], [3, 4])},
                        xlabel="x", colors={"EB": "C0", "Bayes": "C1"})
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert len(ax.collections) == 4
    with pytest.raises(ValueError, match="colors has no colour"):
        interval_comparison(ax, ["a"], {"EB": ([1], [0], [2])}, xlabel="x", colors={})
    with pytest.raises(ValueError, match="has 1 groups, labels 2"):
        interval_comparison(ax, ["a", "b"], {"EB": ([1], [0], [2])}, xlabel="x", colors={"EB": "C0"})
    with pytest.raises(ValueError, match="between its lower and upper"):
        interval_comparison(ax, ["a"], {"EB": ([5], [0], [2])}, xlabel="x", colors={"EB": "C0"})
    plt.close(fig)


def test_text_size_on_the_page_follows_from_the_figure_width():
    # a 10-pt label on a figure whose tight box is w inches, shown shrunk to the 688 px column:
    # 10 * 688 / (96 w) points, by the formula; a narrow figure shown at its own size keeps 10 * dpi / 96
    fig, ax = plt.subplots(figsize=(7, 3), dpi=110)
    ax.set_xlabel("label", fontsize=10)
    fig.canvas.draw()
    width = fig.get_tightbbox(fig.canvas.get_renderer()).width
    sizes = dict((text, size) for size, text in plots.text_sizes_on_page(fig))
    assert width * 110 > 600  # the column's scale applies only to an image wider than 688 px
    assert sizes["label"] == pytest.approx(10 * min(688, width * 110) / (96 * width))
    wide, ax = plt.subplots(figsize=(12, 3), dpi=110)
    ax.set_xlabel("label", fontsize=10)
    wide.canvas.draw()
    width = wide.get_tightbbox(wide.canvas.get_renderer()).width
    assert dict((t, s) for s, t in plots.text_sizes_on_page(wide))["label"] == pytest.approx(10 * 688 / (96 * width))
    small, ax = plt.subplots(figsize=(3, 2), dpi=110)
    ax.set_xlabel("label", fontsize=10)
    small.canvas.draw()
    assert dict((t, s) for s, t in plots.text_sizes_on_page(small))["label"] == pytest.approx(10 * 110 / 96)
    plt.close("all")


def test_the_watch_warns_about_small_text_only(monkeypatch):
    import warnings

    monkeypatch.setitem(matplotlib.rcParams, "figure.hooks", [])
    monkeypatch.setenv(plots.CHECK_ENV, "1")
    plots.use_style()
    assert matplotlib.rcParams["figure.hooks"] == ["bhm.plots:watch_text_size"]
    plots.use_style()  # twice: still one hook
    assert matplotlib.rcParams["figure.hooks"] == ["bhm.plots:watch_text_size"]
    for fontsize, warns in [(10, False), (6, True)]:
        fig, ax = plt.subplots(figsize=(7, 3))
        ax.set_title("title", fontsize=fontsize)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig.canvas.draw()
        assert any("under 9 pt" in str(w.message) for w in caught) is warns
    plt.close("all")
