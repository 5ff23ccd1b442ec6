"""Chapter 4's figures: the model walk (one data set, a sequence of models) and the pooling slider."""

from __future__ import annotations

import numpy as np

from bhm.interactive.figure import Control, InteractiveFigure, _colors, _mathtext, _plain, _round, interactive_figure

__all__ = ["model_walk", "pooling_slider"]


def pooling_slider(n, ybar, *, sigma_values, means, overall, marked: float, marked_label: str, ylabel: str,
                   figure_id: str, start: int = 0) -> InteractiveFigure:
    """Chapter 4: group estimates moving from complete to no pooling as the group-level sd grows.

    Parameters
    ----------
    n, ybar : array_like, shape (J,)
        Group sizes and own means (no pooling).
    sigma_values : array_like, shape (S,)
        The slider's values of the group-level sd.
    means : array_like, shape (S, J)
        The groups' estimates at each value (e.g. conditional posterior means).
    overall : array_like, shape (S,)
        E[mu_alpha | sigma_alpha, y] at each value: the target the group means
        shrink towards (drawn dashed, in the partial-pooling colour). As
        sigma_alpha -> 0 it is the student-weighted grand mean; as sigma_alpha
        grows the groups count more and more equally in it, and at very large
        values the prior of mu_alpha takes over.
    marked : float
        The posterior's value of the sd, marked on the slider's readout.
    marked_label : str
        What the mark says, as HTML (e.g. ``posterior mean of σ<sub>α</sub>, 7.0``).
    ylabel : str
        Label of the estimate axis, with units.
    figure_id : str
        A fixed id (letters, digits, ``-``), unique on the page.
    start : int
        Initial slider position.

    Returns
    -------
    InteractiveFigure
        Displays as HTML in Jupyter and in the book.

    Raises
    ------
    ValueError
        ``means`` not of shape (S, J) or ``overall`` not of shape (S,); a
        group size <= 0 (from :func:`bhm.plots.shrinkage`).

    Notes
    -----
    Complete pooling, the student-weighted grand mean of ``ybar``, is a fixed
    solid line in the complete-pooling colour, in the live figure and the
    static version alike. The readout says how far the estimates lie, on
    average, from the target towards the groups' own means: the average
    shrinkage factor lambda_j when ``means`` are the conditional posterior
    means lambda_j ybar_j + (1 - lambda_j) overall.
    """
    import matplotlib.pyplot as plt
    import plotly.graph_objects as go

    from bhm import plots

    colors = _colors()
    n = np.asarray(n, dtype=float)
    ybar = np.asarray(ybar, dtype=float)
    means = np.asarray(means, dtype=float)
    overall = np.asarray(overall, dtype=float)
    sigma_values = np.asarray(sigma_values, dtype=float)
    if means.shape != (sigma_values.size, n.size) or overall.shape != sigma_values.shape:
        raise ValueError(f"means must have shape (S, J) = ({sigma_values.size}, {n.size}) and overall (S,); "
                         f"got {means.shape} and {overall.shape}")
    jitter = np.exp(np.random.default_rng(0).uniform(-0.08, 0.08, n.size))   # fixed: same page every build
    x = n * jitter
    states = {}
    nearest = int(np.argmin(np.abs(np.log(sigma_values) - np.log(marked))))
    for s, value in enumerate(sigma_values):
        note = f" ← {marked_label}" if s == nearest else ""
        # lambda_j for conditional posterior means: (means - overall) / (ybar - overall)
        moved = np.mean(np.abs(means[s] - overall[s]) / np.maximum(np.abs(ybar - overall[s]), 1e-12))
        states[(s,)] = {"traces": {1: {"y": means[s]}, 2: {"y": [overall[s], overall[s]]}},
                        "html": f"σ<sub>α</sub> = {value:.3g} points: estimates lie {moved:.0%} of the way "
                                f"from the target to the groups' own means (the average "
                                f"λ<sub><i>j</i></sub>){note}"}
    hover = [f"group {j + 1}<br><i>n</i> = {int(k)}<br>own mean {m:.1f} points"
             for j, (k, m) in enumerate(zip(n, ybar))]
    # complete pooling is the student-weighted grand mean; the target is E[mu_alpha | sigma_alpha, y]
    grand_mean = float(np.sum(n * ybar) / np.sum(n))
    ends = [float(n.min() * 0.8), float(n.max() * 1.2)]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=_round(x), y=_round(ybar), mode="markers", name="no pooling (own mean)",
                             marker={"color": colors["none"], "size": 7}, text=hover,
                             hovertemplate="%{text}<extra></extra>"))
    fig.add_trace(go.Scatter(x=_round(x), y=_round(means[start]), mode="markers", name="partial pooling",
                             marker={"color": colors["partial"], "size": 8, "symbol": "diamond"}, text=hover,
                             hovertemplate="%{text}<br>estimate %{y:.1f} points<extra></extra>"))
    fig.add_trace(go.Scatter(x=ends, y=[float(overall[start])] * 2,
                             mode="lines", name=_TARGET,
                             line={"color": colors["partial"], "width": 2, "dash": "dash"},
                             hovertemplate=_TARGET + " %{y:.1f} points<extra></extra>"))
    fig.add_trace(go.Scatter(x=ends, y=_round([grand_mean] * 2), mode="lines", name="complete pooling",
                             line={"color": colors["complete"], "width": 2},
                             hovertemplate="complete pooling (grand mean) %{y:.1f} points<extra></extra>"))
    fig.update_layout(xaxis={"title": "group size <i>n</i><sub><i>j</i></sub> (log scale)", "type": "log"},
                      yaxis_title=ylabel, height=400,
                      margin={"l": 60, "r": 20, "t": 20, "b": 50}, template="plotly_white",
                      legend={"orientation": "h", "y": 1.08})
    fallback, ax = plt.subplots(figsize=(7, 3.4))
    plots.shrinkage(ax, x, ybar, means[start], grand_mean, ylabel=ylabel, target=float(overall[start]),
                    target_label=r"$E[\mu_\alpha \mid \sigma_\alpha, y]$")
    ax.set_title(_mathtext(states[(start,)]["html"]).replace(" ← ", "\n"), fontsize=9)
    plt.close(fallback)
    control = Control("sigma_alpha", "group-level sd σ<sub>α</sub> (points)",
                      tuple(f"{v:.3g}" for v in sigma_values), start=start)
    return interactive_figure(fig, [control], states, figure_id=figure_id, fallback_figure=fallback,
                              alt="Group estimates at σ_α = " + f"{sigma_values[start]:.3g} points")


#: The pooling slider's target line: the posterior mean of the population mean given the sd.
_TARGET = "E[μ<sub>α</sub> | σ<sub>α</sub>, <i>y</i>]"


def _group_palette(J: int) -> list[str]:
    """J distinguishable colours: matplotlib's qualitative tab10 (tab20 beyond ten groups)."""
    import matplotlib as mpl

    if J > 20:
        raise ValueError(f"model_walk tells at most 20 groups apart by colour; got {J}")
    cmap = mpl.colormaps["tab10" if J <= 10 else "tab20"]
    return [mpl.colors.to_hex(cmap(j)) for j in range(J)]


def model_walk(x, y, group, *, lines: dict, sizes, figure_id: str, xlabel: str, ylabel: str,
               equations: dict | None = None) -> InteractiveFigure:
    """Chapter 4: one data set, the group lines of a sequence of models, stepped through with buttons.

    Parameters
    ----------
    x, y : array_like, shape (N,)
        The data: predictor and outcome of each point.
    group : array_like of int, shape (N,)
        1-based group of each point.
    lines : dict
        Model name -> (intercepts, slopes), each of shape (J,): every group's
        fitted line under that model (for complete pooling, J equal lines, or
        one number each). A model whose J lines coincide is drawn as one
        black line, not as J lines in the group colours.
    sizes : array_like of int, shape (J,)
        Number of points per group (shown in the legend); its length sets J.
    figure_id : str
        A fixed id (letters, digits, ``-``), unique on the page.
    xlabel, ylabel : str
        Axis titles, as HTML (``<i>x</i>``; typeset with mathtext in the static version).
    equations : dict, optional
        Model name -> its equation as HTML, e.g. ``<i>y</i> = α<sub><i>j</i></sub> + β<i>x</i>``
        (the book's own strings: ``<i>``, ``<sub>``, ``<sup>`` and Greek
        letters), shown in the readout of that step and, typeset with
        mathtext, in the static version's panel titles.

    Returns
    -------
    InteractiveFigure
        Displays as HTML in Jupyter and in the book.

    Raises
    ------
    ValueError
        An equation for a model that ``lines`` does not have, a value of
        ``lines`` that is not numbers or arrays of shape (J,), or more than 20
        groups.

    Notes
    -----
    Each group has its own colour (a qualitative palette, at most 20 groups),
    in the live figure, its legend and the static version alike. The one line
    of a model whose group lines coincide is black in both: in a group's
    colour it would read as that group's line.
    """
    import matplotlib.pyplot as plt
    import plotly.graph_objects as go

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    group = np.asarray(group, dtype=int)
    names = list(lines)
    J = len(sizes)
    equations = equations or {}
    unknown = [name for name in equations if name not in lines]
    if unknown:
        raise ValueError(f"equations given for models that lines does not have: {unknown}")
    palette = _group_palette(J)
    ends = np.array([x.min(), x.max()])
    fig = go.Figure()
    for j in range(J):
        mine = group == j + 1
        fig.add_trace(go.Scatter(x=_round(x[mine]), y=_round(y[mine]), mode="markers",
                                 name=f"group {j + 1} (n = {int(sizes[j])})", legendgroup=str(j),
                                 marker={"color": palette[j], "size": 6, "opacity": 0.75},
                                 hovertemplate=f"group {j + 1} (n = {int(sizes[j])})<extra></extra>"))
    states = {}
    try:
        lines = {name: tuple(np.broadcast_to(np.asarray(v, dtype=float), (J,)) for v in pair)
                 for name, pair in lines.items()}
    except ValueError:
        raise ValueError("each of lines' values must be (intercepts, slopes), numbers or arrays of shape "
                         f"({J},)") from None

    def span(values):   # a real minus sign: the readout is typeset text
        low, high = values.min(), values.max()
        text = f"{low:.2f}" if np.isclose(low, high) else f"from {low:.2f} to {high:.2f}"
        return text.replace("-", "−")

    def shown(name):
        """y at the ends of each group's line, and of the common line (NaN: not drawn, a gap in plotly)."""
        intercepts, slopes = lines[name]
        group_y = intercepts[:, None] + slopes[:, None] * ends
        if np.allclose(intercepts, intercepts[0]) and np.allclose(slopes, slopes[0]):
            return np.full_like(group_y, np.nan), group_y[0]
        return group_y, np.full(2, np.nan)

    readouts = {}
    for m, name in enumerate(names):
        intercepts, slopes = lines[name]
        equation = f" {equations[name]}." if name in equations else ""
        readouts[name] = f"{name}:{equation} Intercepts {span(intercepts)}, slopes {span(slopes)}."
        group_y, common_y = shown(name)
        states[(m,)] = {"traces": {J + j: {"y": group_y[j]} for j in range(J)} | {2 * J: {"y": common_y}},
                        "html": readouts[name]}
    group_y, common_y = shown(names[0])
    for j in range(J):
        fig.add_trace(go.Scatter(x=_round(ends), y=_round(group_y[j]), mode="lines",
                                 showlegend=False, legendgroup=str(j), line={"color": palette[j], "width": 2.5},
                                 hovertemplate=f"group {j + 1} (<i>n</i> = {int(sizes[j])})<br><i>x</i> %{{x:.2f}}, "
                                               f"fitted <i>y</i> %{{y:.2f}}<extra></extra>"))
    fig.add_trace(go.Scatter(x=_round(ends), y=_round(common_y), mode="lines", showlegend=False,
                             line={"color": "black", "width": 2.5},
                             hovertemplate="one line for all groups<br><i>x</i> %{x:.2f}, "
                                           "fitted <i>y</i> %{y:.2f}<extra></extra>"))
    fig.update_layout(xaxis_title=xlabel, yaxis_title=ylabel, height=460, template="plotly_white",
                      margin={"l": 60, "r": 20, "t": 20, "b": 50},
                      legend={"orientation": "h", "y": -0.18, "font": {"size": 12}})
    # static version: two panels a row, points and lines in their group's colour, the last cell a legend
    rows = (len(names) + 2) // 2
    fallback, axes = plt.subplots(rows, 2, figsize=(7, 2.6 * rows), sharex=True, sharey=True,
                                  layout="constrained")
    axes = np.atleast_1d(axes).ravel()
    for ax, name in zip(axes, names):
        group_y, common_y = shown(name)
        for j in range(J):
            mine = group == j + 1
            ax.scatter(x[mine], y[mine], s=10, color=palette[j], alpha=0.75, lw=0)
            ax.plot(ends, group_y[j], lw=1.5, color=palette[j])
        ax.plot(ends, common_y, lw=1.5, color="black")
        ax.set_title(name + (f"\n{_mathtext(equations[name])}" if name in equations else ""), fontsize=9)
    for ax in axes[len(names):]:
        ax.axis("off")
    handles = [plt.Line2D([], [], color=palette[j], marker="o", lw=1.5, label=f"group {j + 1} (n = {int(sizes[j])})")
               for j in range(J)]
    axes[-1].legend(handles=handles, loc="center", ncols=2, fontsize=9, frameon=False)
    fallback.supxlabel(_mathtext(xlabel), fontsize=10)
    fallback.supylabel(_mathtext(ylabel), fontsize=10)
    plt.close(fallback)
    control = Control("model", "model", tuple(names), kind="buttons")
    return interactive_figure(fig, [control], states, figure_id=figure_id, fallback_figure=fallback,
                              alt="The group lines of each model: " + "; ".join(map(_plain, readouts.values())))
