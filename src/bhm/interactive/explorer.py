"""Chapter 1's explorer: prior, likelihood and posterior of a normal mean, with sliders over n and sigma0."""

from __future__ import annotations

import numpy as np

from bhm.interactive.figure import Control, InteractiveFigure, _colors, _round, interactive_figure

__all__ = ["conjugate_explorer"]


def conjugate_explorer(y_all, *, sigma: float, mu0: float, n_values, sigma0_values, grid, figure_id: str,
                       start=(0, 0)) -> InteractiveFigure:
    """Chapter 1: prior, likelihood and posterior of the normal mean, with sliders over n and sigma0.

    Parameters
    ----------
    y_all : array_like, shape (N,)
        Observations; the state with n uses the first n of them.
    sigma, mu0 : float
        Known sd of one observation; prior mean.
    n_values : sequence of int
        Positions of the n slider (each 1..N).
    sigma0_values : sequence of float
        Positions of the prior-sd slider.
    grid : array_like, shape (g,)
        Values of mu at which the densities are drawn.
    figure_id : str
        A fixed id (letters, digits, ``-``), unique on the page.
    start : pair of int
        Initial positions (indices into ``n_values`` and ``sigma0_values``) of the two sliders.

    Returns
    -------
    InteractiveFigure
        Displays as HTML in Jupyter and in the book.

    Raises
    ------
    ValueError
        From :mod:`bhm.conjugate`: ``sigma`` or a ``sigma0`` not positive and
        finite, ``mu0`` not finite, or the first n observations empty or not finite.

    Notes
    -----
    The labels and the readout use the symbols μ, σ₀ and α (plotly and
    matplotlib draw unicode).
    """
    import matplotlib.pyplot as plt
    import plotly.graph_objects as go
    from scipy import stats

    from bhm import conjugate, plots

    y_all = np.asarray(y_all, dtype=float)
    grid = np.asarray(grid, dtype=float)
    colors = _colors()
    states = {}
    for i, n in enumerate(n_values):
        y = y_all[:n]
        for k, s0 in enumerate(sigma0_values):
            post = conjugate.normal_posterior(y, sigma=sigma, mu0=mu0, sigma0=s0)
            alpha = conjugate.posterior_weight(n, sigma=sigma, sigma0=s0)
            states[(i, k)] = {
                "traces": {0: {"y": stats.norm.pdf(grid, mu0, s0)},
                           1: {"y": stats.norm.pdf(grid, y.mean(), sigma / np.sqrt(n))},
                           2: {"y": post.pdf(grid)}},
                "text": f"n = {n}, σ₀ = {s0:g}: sample mean {y.mean():.1f}, α = {alpha:.3f}, "
                        f"posterior mean {post.mean():.1f} (sd {post.std():.1f}) points",
            }
    first = states[tuple(start)]
    fig = go.Figure()
    for index, role in enumerate(("prior", "likelihood", "posterior")):
        fig.add_trace(go.Scatter(x=_round(grid), y=_round(first["traces"][index]["y"]), mode="lines", name=role,
                                 line={"color": colors[role], "width": 2.5},
                                 hovertemplate=f"{role}<br>μ = %{{x:.1f}} points<br>density %{{y:.4f}}<extra></extra>"))
    fig.update_layout(xaxis_title="mean score μ (points)", yaxis_title="density", height=380,
                      margin={"l": 60, "r": 20, "t": 20, "b": 50}, legend={"x": 0.01, "y": 0.99},
                      template="plotly_white")
    fallback, ax = plt.subplots(figsize=(7, 3.2))
    plots.density_triplet(ax, grid, prior=first["traces"][0]["y"], likelihood=first["traces"][1]["y"],
                          posterior=first["traces"][2]["y"], xlabel="mean score $\\mu$ (points)")
    ax.set_title(first["text"], fontsize=9)
    plt.close(fallback)
    controls = [Control("n", "students n", tuple(str(n) for n in n_values), start=start[0]),
                Control("sigma0", "prior sd σ₀ (points)", tuple(f"{s:g}" for s in sigma0_values),
                        start=start[1])]
    return interactive_figure(fig, controls, states, figure_id=figure_id, fallback_figure=fallback,
                              alt="Prior, likelihood and posterior of the mean score for the first state: "
                              + first["text"])
