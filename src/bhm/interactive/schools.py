"""Chapter 6's school explorer: any one school's students and its three pooling lines, by slider."""

from __future__ import annotations

import numpy as np

from bhm.interactive.figure import Control, InteractiveFigure, _colors, _round, interactive_figure

__all__ = ["school_explorer", "gcse_school_explorer"]


def school_explorer(boys, girls, *, schools, complete, partial, notes=None, figure_id: str, ylabel: str,
                    label: str = "school", start: int = 0) -> InteractiveFigure:
    """Chapter 6: any one school's students with its complete-, no- and partial-pooling lines, by slider.

    Parameters
    ----------
    boys, girls : sequence of array_like, length J
        Each school's outcomes at x = 0 and x = 1 (either may be empty, not both).
    schools : sequence of str, length J
        The schools' names, in the slider's order.
    complete : pair of float
        (intercept, slope) of the complete-pooling line, the same for every school.
    partial : array_like, shape (J, 2)
        Each school's partial-pooling (intercept, slope), e.g. posterior means.
    notes : sequence of str, length J, optional
        A line per school appended to the readout (e.g. its posterior rank).
    figure_id : str
        A fixed id (letters, digits, ``-``), unique on the page.
    ylabel : str
        Label of the outcome axis, with units.
    label : str
        The slider's label (say how the schools are ordered).
    start : int
        Initial slider position.

    Returns
    -------
    InteractiveFigure
        Displays as HTML in Jupyter and in the book.

    Raises
    ------
    ValueError
        ``boys``, ``girls`` or ``notes`` not one entry per school, outcomes
        that are not finite, a school without students, or ``complete`` and
        ``partial`` not finite or not of shapes (2,) and (J, 2).

    Notes
    -----
    The no-pooling line joins the school's own two means; a school with one
    gender only has a single own mean and no line.
    """
    import matplotlib.pyplot as plt
    import plotly.graph_objects as go

    from bhm import plots

    J = len(schools)
    if not (len(boys) == len(girls) == J) or (notes is not None and len(notes) != J):
        raise ValueError(f"school_explorer: boys, girls (and notes) need one entry per school ({J}); "
                         f"got {len(boys)}, {len(girls)}" + ("" if notes is None else f", {len(notes)}"))
    boys = [np.asarray(b, dtype=float).ravel() for b in boys]
    girls = [np.asarray(g, dtype=float).ravel() for g in girls]
    for name, groups in (("boys", boys), ("girls", girls)):
        if any(not np.all(np.isfinite(values)) for values in groups):
            raise ValueError(f"school_explorer: {name} contains NaN or inf")
    if any(b.size + g.size == 0 for b, g in zip(boys, girls)):
        raise ValueError("school_explorer: every school needs at least one student")
    complete = np.asarray(complete, dtype=float)
    partial = np.asarray(partial, dtype=float)
    if complete.shape != (2,) or partial.shape != (J, 2) or not (np.all(np.isfinite(complete))
                                                                 and np.all(np.isfinite(partial))):
        raise ValueError(f"school_explorer: complete must be a finite pair and partial finite of shape ({J}, 2); "
                         f"got {complete.shape} and {partial.shape}")
    colors = _colors()
    rng = np.random.default_rng(0)   # fixed jitter: the same page every build
    jitter = [(rng.uniform(-0.06, 0.06, b.size), rng.uniform(-0.06, 0.06, g.size)) for b, g in zip(boys, girls)]
    ends = np.array([0.0, 1.0])
    states = {}
    for j, school in enumerate(schools):
        own = [values.mean() if values.size else np.nan for values in (boys[j], girls[j])]
        line = partial[j, 0] + partial[j, 1] * ends
        mean_text = "; ".join(f"{who} {m:.1f}" for who, m in zip(("boys", "girls"), own) if np.isfinite(m))
        counts = ", ".join(f"{k} {who if k == 1 else who + 's'}" for k, who in ((boys[j].size, "boy"),
                                                                               (girls[j].size, "girl")))
        text = (f"school {school}: {counts}. Own means: {mean_text}. "
                f"Partial pooling: boys {line[0]:.1f}, girls {line[1]:.1f} points.")
        if notes is not None:
            text += " " + str(notes[j])
        states[(j,)] = {"traces": {0: {"x": jitter[j][0], "y": boys[j]}, 1: {"x": 1 + jitter[j][1], "y": girls[j]},
                                   3: {"y": own}, 4: {"y": line}},
                        "text": text}
    first = states[(start,)]["traces"]
    fig = go.Figure()
    for index, who in enumerate(("boys", "girls")):
        fig.add_trace(go.Scatter(x=_round(first[index]["x"]), y=_round(first[index]["y"]), mode="markers",
                                 name=who, showlegend=False,
                                 marker={"color": "rgb(89,89,89)", "size": 6, "opacity": 0.6},
                                 hovertemplate=f"a {who[:-1]}: %{{y:.1f}} points<extra></extra>"))
    fig.add_trace(go.Scatter(x=_round(ends), y=_round(complete[0] + complete[1] * ends), mode="lines",
                             name="complete pooling", line={"color": colors["complete"], "width": 2.5},
                             hovertemplate="complete pooling: %{y:.1f} points<extra></extra>"))
    # open markers: a school's single boy or girl stays visible under its own mean
    fig.add_trace(go.Scatter(x=_round(ends), y=_round(first[3]["y"]), mode="lines+markers", name="no pooling",
                             line={"color": colors["none"], "width": 2.5, "dash": "dash"},
                             marker={"symbol": "circle-open", "size": 11, "line": {"width": 2}},
                             hovertemplate="no pooling (own mean): %{y:.1f} points<extra></extra>"))
    fig.add_trace(go.Scatter(x=_round(ends), y=_round(first[4]["y"]), mode="lines", name="partial pooling",
                             line={"color": colors["partial"], "width": 2.5},
                             hovertemplate="partial pooling: %{y:.1f} points<extra></extra>"))
    scores = np.concatenate(boys + girls)
    fig.update_layout(xaxis={"tickvals": [0, 1], "ticktext": ["boys", "girls"], "range": [-0.3, 1.3]},
                      yaxis={"title": ylabel, "range": [float(scores.min()) - 5, float(scores.max()) + 5]},
                      height=420, template="plotly_white", margin={"l": 60, "r": 20, "t": 20, "b": 40},
                      legend={"orientation": "h", "y": 1.08})
    fallback, ax = plt.subplots(figsize=(5, 3.6))
    own = first[3]["y"]
    plots.pooling_panel(ax, boys[start], girls[start], complete=tuple(complete),
                        none=(own[0], own[1] - own[0]), partial=tuple(partial[start]),
                        title=f"school {schools[start]}", ylabel=ylabel)
    ax.legend(loc="lower right", fontsize=9)
    plt.close(fallback)
    control = Control("school", label, tuple(str(s) for s in schools), start=start)
    return interactive_figure(fig, [control], states, figure_id=figure_id, fallback_figure=fallback,
                              alt=f"Scores and pooling lines of school {schools[start]}")


def gcse_school_explorer(df, idata, *, figure_id: str, start_school: str, ranks=None) -> InteractiveFigure:
    """Chapter 6's explorer of all schools, from the data and the Bayesian fit.

    Orders the schools from the lowest to the highest posterior mean of
    alpha_j, and gives each school's readout its posterior median rank and 95%
    rank interval (1 = highest alpha_j). The summaries come from
    :mod:`bhm.gcse` (``pooling_lines``, ``school_summary``, ``rank_draws``);
    the figure is :func:`school_explorer`'s.

    Parameters
    ----------
    df : pandas.DataFrame
        The data the model was fitted to (as for ``gcse.cell_statistics``).
    idata : arviz.InferenceData
        From ``gcse.fit_bayes`` on ``df``.
    figure_id : str
        A fixed id (letters, digits, ``-``), unique on the page.
    start_school : str
        The school shown first.
    ranks : numpy.ndarray, shape (draws, J), optional
        ``gcse.rank_draws(idata)``, if already computed.

    Returns
    -------
    InteractiveFigure
        Displays as HTML in Jupyter and in the book.

    Raises
    ------
    ValueError
        ``start_school`` is not one of the fitted schools.
    """
    from bhm import gcse

    lines = gcse.pooling_lines(df, idata)
    order = list(gcse.school_summary(idata, "alpha", ranks=ranks).index)   # lowest to highest mean
    if str(start_school) not in order:
        raise ValueError(f"gcse_school_explorer: unknown school {start_school!r}")
    ranks = gcse.rank_draws(idata, "alpha") if ranks is None else ranks
    column = {school: k for k, school in enumerate(lines.index)}
    low, mid, high = np.percentile(ranks, [2.5, 50, 97.5], axis=0)
    notes = [f"Rank of its boys' mean: {mid[column[s]]:.0f} of {len(order)} (95% interval "
             f"{low[column[s]]:.0f} to {high[column[s]]:.0f})." for s in order]
    students = {str(school): group for school, group in df.groupby(df["school"].astype(str))}
    boys = [students[s].loc[students[s]["female"] == 0, "course"] for s in order]
    girls = [students[s].loc[students[s]["female"] == 1, "course"] for s in order]
    return school_explorer(
        boys, girls, schools=order,
        complete=(lines["complete_intercept"].iloc[0], lines["complete_slope"].iloc[0]),
        partial=lines.loc[order, ["partial_intercept", "partial_slope"]].to_numpy(),
        notes=notes, figure_id=figure_id, ylabel="coursework score (points)",
        label="school (by posterior boys' mean)", start=order.index(str(start_school)))
