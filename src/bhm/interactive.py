"""Interactive figures that work offline: plotly traces driven by precomputed states.

A figure here is a plotly figure plus **controls** (sliders and button rows)
and a table of **states**: for every combination of control positions, the
data of every trace that changes and a line of text to show. Everything is
computed when the chapter runs (the book's build); the page only looks the
state up and calls ``Plotly.restyle``. So the figure shows exactly the numbers
the chapter computed, needs no kernel, and works without a network: plotly's
JavaScript comes from the book's own files (``_ext/book_html.py`` copies it
from the plotly package and adds it once, to the pages that have such a
figure).

Each figure carries a static fallback, a PNG of its first state drawn with
matplotlib by the caller: shown when JavaScript is off and in print.

``interactive`` draws what it is given and fits nothing.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import json
import re
from dataclasses import dataclass

import numpy as np

__all__ = ["Control", "InteractiveFigure", "interactive_figure", "PLOTLY_CLASS", "conjugate_explorer",
           "pooling_slider", "model_walk", "school_explorer", "gcse_school_explorer"]

#: CSS class of the figure's outer element; the book's extension looks for it.
PLOTLY_CLASS = "bhm-interactive"


@dataclass(frozen=True)
class Control:
    """One control: a slider (``kind="slider"``) or a row of buttons (``kind="buttons"``).

    Attributes
    ----------
    name : str
        Identifier (letters, digits, ``_``), unique within the figure.
    label : str
        Text shown beside the control, as HTML: the book's own strings, which
        may typeset symbols (``σ<sub>α</sub>``); escape anything taken from data.
        Screen readers get it without tags.
    values : sequence of str
        What each position shows (a slider's value, a button's text).
    kind : {"slider", "buttons"}
    start : int
        Initial position.

    Raises
    ------
    ValueError
        An unknown ``kind``, a ``name`` with other characters, fewer than two
        positions, or a ``start`` that is not a position.
    """

    name: str
    label: str
    values: tuple
    kind: str = "slider"
    start: int = 0

    def __post_init__(self):
        if self.kind not in ("slider", "buttons"):
            raise ValueError(f"control {self.name!r}: kind must be 'slider' or 'buttons'; got {self.kind!r}")
        if not self.name.replace("_", "").isalnum():
            raise ValueError(f"control name must be letters, digits and _; got {self.name!r}")
        if len(self.values) < 2:
            raise ValueError(f"control {self.name!r} needs at least two positions")
        if not 0 <= self.start < len(self.values):
            raise ValueError(f"control {self.name!r}: start {self.start} is not a position")


@dataclass(frozen=True)
class InteractiveFigure:
    """The HTML of an interactive figure; displays itself in Jupyter and in the book.

    Attributes
    ----------
    html : str
        One self-contained HTML block: controls, readout, plotly figure,
        fallback image and script. Its ``repr`` is its length and a hash.
    """

    html: str

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:  # the text/plain output: short, and the same in every build
        import hashlib

        return f"<interactive figure, {len(self.html):,} characters, sha256 {hashlib.sha256(self.html.encode()).hexdigest()[:12]}>"


def _round(values, digits: int = 5):
    """Round to ``digits`` significant digits, so the page carries no noise digits (and stays small).

    Returns a flat list of floats (JSON-ready). Values smaller in magnitude than
    the smallest normal double (about 2.2e-308, e.g. a density far in a tail)
    become ``0.0``; NaN and infinities become ``None`` (a gap in a plotly line).
    Decimal formatting rounds correctly at every magnitude, with no overflow.
    """
    rounded = []
    for value in np.asarray(values, dtype=float).ravel().tolist():
        if not np.isfinite(value):
            rounded.append(None)
        elif abs(value) < _SMALLEST_NORMAL:
            rounded.append(0.0)
        else:
            rounded.append(float(f"{value:.{digits - 1}e}"))
    return rounded


_SMALLEST_NORMAL = float(np.finfo(float).tiny)


_GREEK_LETTERS = "αβγδεζηθικλμνξπρστυφχψωΓΔΘΛΞΠΣΦΨΩ"
_SUPERSCRIPTS = str.maketrans("0123456789+-−", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻")


def _plain(text: str) -> str:
    """The book's HTML labels as plain text: ``σ<sub>α</sub><sup>2</sup>`` -> ``σ_α²``, tags dropped.

    For ``text`` in a figure's states, alt texts and aria-labels.
    """
    def sup(match):
        body = match.group(1)
        shown = body.translate(_SUPERSCRIPTS)
        return shown if all(c != d for c, d in zip(body, shown)) else "^" + body

    text = re.sub(r"</?i>", "", text)
    text = re.sub(r"<sup>(.*?)</sup>", sup, text)
    text = re.sub(r"<sub>(.*?)</sub>", r"_\1", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def _mathtext(text: str) -> str:
    """The book's HTML labels as matplotlib mathtext, for the static versions.

    ``<i>x</i>`` becomes ``$x$``, a letter with ``<sub>``/``<sup>`` a subscript
    or superscript, and every Greek letter math; adjacent pieces merge, so
    ``<i>y</i> = α<sub>j</sub>`` reads ``$y$ = $α_{j}$``.
    """
    def scripted(match):
        base = re.sub(r"</?i>", "", match.group(1))
        scripts = "".join(("_" if tag == "sub" else "^") + "{" + re.sub(r"<[^>]+>", "", body) + "}"
                          for tag, body in re.findall(r"<(su[bp])>(.*?)</su[bp]>", match.group(2)))
        return f"${base}{scripts}$"

    text = re.sub(r"(<i>[^<]*</i>|[^\s<>])((?:<su[bp]>.*?</su[bp]>)+)", scripted, text)
    text = re.sub(r"<i>(.*?)</i>", r"$\1$", text)
    parts = text.split("$")
    for k in range(0, len(parts), 2):          # outside math: Greek letters become math too
        parts[k] = re.sub(f"([{_GREEK_LETTERS}])", r"$\1$", parts[k])
    text = "$".join(parts).replace("$$", "")
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def _png(fallback_figure) -> str:
    buffer = io.BytesIO()
    fallback_figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def interactive_figure(fig, controls: list[Control], states: dict, *, figure_id: str, fallback_figure,
                       alt: str) -> InteractiveFigure:
    """Assemble a plotly figure, its controls and its precomputed states into one HTML block.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
        The figure in its first state (every control at its ``start``).
    controls : list of Control
    states : dict
        Key: a tuple of positions, one per control (every combination must be
        present). Value: a dict with ``"traces"``, a dict mapping a trace's
        index to the arrays to set (``{"x": ..., "y": ...}``), and ``"text"``,
        the line shown under the controls, as plain text; or ``"html"``, that
        line as HTML (the book's own strings, e.g. ``σ<sub>α</sub>``; nothing
        in it is escaped), shown instead of ``"text"``, which then defaults to
        its plain-text reading.
    figure_id : str
        A fixed id (letters, digits, ``-``), unique on the page: fixed ids keep
        the page identical from build to build.
    fallback_figure : matplotlib.figure.Figure
        The static version, shown without JavaScript and in print.
    alt : str
        Text alternative of the fallback image.

    Returns
    -------
    InteractiveFigure
        Displays as HTML.

    Raises
    ------
    ValueError
        A ``figure_id`` with other characters, two controls of one name, a
        combination of positions without a state, or a state that updates a
        trace the figure does not have.
    """
    if not figure_id.replace("-", "").isalnum():
        raise ValueError(f"figure_id must be letters, digits and -; got {figure_id!r}")
    names = [c.name for c in controls]
    if len(set(names)) != len(names):
        raise ValueError(f"control names must be unique; got {names}")
    expected = set(itertools.product(*(range(len(c.values)) for c in controls)))
    missing = expected - set(states)
    if missing:
        raise ValueError(f"states missing for positions {sorted(missing)[:3]} (of {len(missing)})")
    table = {}
    for key in sorted(expected):
        state = states[key]
        traces = state.get("traces", {})
        if any(not 0 <= int(index) < len(fig.data) for index in traces):
            raise ValueError(f"state {key} updates a trace that the figure does not have")
        entry = {"traces": {str(index): {axis: _round(values) for axis, values in update.items()}
                            for index, update in traces.items()}}
        if "html" in state:
            entry["html"] = str(state["html"])
        entry["text"] = str(state["text"]) if "text" in state else _plain(entry.get("html", ""))
        table[",".join(map(str, key))] = entry
    fig.update_layout(autosize=True)  # fill the column (plotly.js draws 700 px wide otherwise)
    plot_div = fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"{figure_id}-plot", default_width="100%",
                           config={"displaylogo": False, "responsive": True})
    control_html = []
    for control in controls:
        if control.kind == "slider":
            control_html.append(
                f'<label class="bhm-control">{control.label} '
                f'<input type="range" name="{control.name}" min="0" max="{len(control.values) - 1}" step="1" '
                f'value="{control.start}" aria-label="{html.escape(_plain(control.label))}"> '
                f'<output>{html.escape(str(control.values[control.start]))}</output></label>')
        else:
            buttons = "".join(
                f'<button type="button" name="{control.name}" value="{k}" '
                f'aria-pressed="{"true" if k == control.start else "false"}">{html.escape(str(v))}</button>'
                for k, v in enumerate(control.values))
            control_html.append(f'<div class="bhm-control" role="group" '
                                f'aria-label="{html.escape(_plain(control.label))}">{control.label} {buttons}</div>')
    start_key = ",".join(str(c.start) for c in controls)
    first = table[start_key]
    readout = first["html"] if "html" in first else html.escape(first["text"])
    spec = {"plot": f"{figure_id}-plot", "controls": [{"name": c.name, "kind": c.kind,
                                                       "values": [str(v) for v in c.values]} for c in controls],
            "states": table}
    script = _SCRIPT.replace("__SPEC__", json.dumps(spec, separators=(",", ":")))
    return InteractiveFigure(
        f'<div class="{PLOTLY_CLASS}" id="{figure_id}">'
        f'<div class="bhm-live" hidden>{"".join(control_html)}'
        f'<p class="bhm-readout">{readout}</p>{plot_div}</div>'
        f'<div class="bhm-fallback"><img alt="{html.escape(alt)}" '
        f'src="data:image/png;base64,{_png(fallback_figure)}"></div>'
        f'<script>{script}</script></div>'
    )


# The page's side: look the state up for the controls' positions and restyle.
# Runs only if plotly loaded; otherwise the live part stays hidden and the
# fallback image stays.
_SCRIPT = """(function () {
  var spec = __SPEC__;
  var root = document.currentScript.parentElement;
  if (typeof Plotly === "undefined") { return; }
  var live = root.querySelector(".bhm-live"), fallback = root.querySelector(".bhm-fallback");
  live.hidden = false; fallback.classList.add("bhm-has-live");
  var plot = document.getElementById(spec.plot), readout = root.querySelector(".bhm-readout");
  // plotly drew the figure while it was hidden (700 px wide): fit it to the column now
  if (Plotly.Plots && Plotly.Plots.resize) { Plotly.Plots.resize(plot); }
  function positions() {
    return spec.controls.map(function (c) {
      if (c.kind === "slider") { return root.querySelector('input[name="' + c.name + '"]').value; }
      return root.querySelector('button[name="' + c.name + '"][aria-pressed="true"]').value;
    });
  }
  function update() {
    var state = spec.states[positions().join(",")];
    Object.keys(state.traces).forEach(function (index) {
      var change = {};
      Object.keys(state.traces[index]).forEach(function (axis) { change[axis] = [state.traces[index][axis]]; });
      Plotly.restyle(plot, change, [Number(index)]);
    });
    if (state.html !== undefined) { readout.innerHTML = state.html; } else { readout.textContent = state.text; }
  }
  spec.controls.forEach(function (c) {
    if (c.kind === "slider") {
      var input = root.querySelector('input[name="' + c.name + '"]');
      input.addEventListener("input", function () {
        input.parentElement.querySelector("output").textContent = c.values[Number(input.value)];
        update();
      });
    } else {
      root.querySelectorAll('button[name="' + c.name + '"]').forEach(function (button) {
        button.addEventListener("click", function () {
          root.querySelectorAll('button[name="' + c.name + '"]').forEach(function (b) {
            b.setAttribute("aria-pressed", b === button ? "true" : "false");
          });
          update();
        });
      });
    }
  });
})();"""


# --------------------------------------------------------------------------- the book's figures

def _colors():
    from .plots import COLORS

    return COLORS


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

    from . import conjugate, plots

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
                              alt="Prior, likelihood and posterior of the mean score for the first state: " + first["text"])


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
        shrink towards (drawn dashed, in the partial-pooling colour; it runs from
        the student-weighted grand mean as sigma_alpha -> 0 to the unweighted mean
        of the group means as sigma_alpha grows).
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
    """
    import matplotlib.pyplot as plt
    import plotly.graph_objects as go

    from . import plots

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
        moved = np.mean(np.abs(means[s] - overall[s]) / np.maximum(np.abs(ybar - overall[s]), 1e-12))
        states[(s,)] = {"traces": {1: {"y": means[s]}, 2: {"y": [overall[s], overall[s]]}},
                        "html": f"σ<sub>α</sub> = {value:.3g} points: estimates moved {moved:.0%} "
                                f"of the way to the groups' own means on average{note}"}
    hover = [f"group {j + 1}<br><i>n</i> = {int(k)}<br>own mean {m:.1f} points"
             for j, (k, m) in enumerate(zip(n, ybar))]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=_round(x), y=_round(ybar), mode="markers", name="no pooling (own mean)",
                             marker={"color": colors["none"], "size": 7}, text=hover,
                             hovertemplate="%{text}<extra></extra>"))
    fig.add_trace(go.Scatter(x=_round(x), y=_round(means[start]), mode="markers", name="partial pooling",
                             marker={"color": colors["partial"], "size": 8, "symbol": "diamond"}, text=hover,
                             hovertemplate="%{text}<br>estimate %{y:.1f} points<extra></extra>"))
    fig.add_trace(go.Scatter(x=[float(n.min() * 0.8), float(n.max() * 1.2)], y=[float(overall[start])] * 2,
                             mode="lines", name=_TARGET,
                             line={"color": colors["partial"], "width": 2, "dash": "dash"},
                             hovertemplate=_TARGET + " %{y:.1f} points<extra></extra>"))
    fig.update_layout(xaxis={"title": "group size <i>n</i><sub><i>j</i></sub> (log scale)", "type": "log"},
                      yaxis_title=ylabel, height=400,
                      margin={"l": 60, "r": 20, "t": 20, "b": 50}, template="plotly_white",
                      legend={"orientation": "h", "y": 1.08})
    fallback, ax = plt.subplots(figsize=(7, 3.4))
    # complete pooling is the student-weighted grand mean; the target is E[mu_alpha | sigma_alpha, y]
    grand_mean = float(np.sum(n * ybar) / np.sum(n))
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
        fitted line under that model (for complete pooling, J equal lines).
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
    in the live figure, its legend and the static version alike.
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
        raise ValueError(f"each of lines' values must be (intercepts, slopes), numbers or arrays of shape ({J},)") from None

    def span(values):   # a real minus sign: the readout is typeset text
        low, high = values.min(), values.max()
        text = f"{low:.2f}" if np.isclose(low, high) else f"from {low:.2f} to {high:.2f}"
        return text.replace("-", "−")

    readouts = {}
    for m, name in enumerate(names):
        intercepts, slopes = lines[name]
        equation = f" {equations[name]}." if name in equations else ""
        readouts[name] = f"{name}:{equation} Intercepts {span(intercepts)}, slopes {span(slopes)}."
        states[(m,)] = {"traces": {J + j: {"y": intercepts[j] + slopes[j] * ends} for j in range(J)},
                        "html": readouts[name]}
    intercepts, slopes = (np.asarray(v, dtype=float) for v in lines[names[0]])
    for j in range(J):
        fig.add_trace(go.Scatter(x=_round(ends), y=_round(intercepts[j] + slopes[j] * ends), mode="lines",
                                 showlegend=False, legendgroup=str(j), line={"color": palette[j], "width": 2.5},
                                 hovertemplate=f"group {j + 1} (<i>n</i> = {int(sizes[j])})<br><i>x</i> %{{x:.2f}}, "
                                               f"fitted <i>y</i> %{{y:.2f}}<extra></extra>"))
    fig.update_layout(xaxis_title=xlabel, yaxis_title=ylabel, height=460, template="plotly_white",
                      margin={"l": 60, "r": 20, "t": 20, "b": 50},
                      legend={"orientation": "h", "y": -0.18, "font": {"size": 12}})
    # static version: two panels a row, points and lines in their group's colour, the last cell a legend
    rows = (len(names) + 2) // 2
    fallback, axes = plt.subplots(rows, 2, figsize=(7, 2.6 * rows), sharex=True, sharey=True,
                                  layout="constrained")
    axes = np.atleast_1d(axes).ravel()
    for ax, name in zip(axes, names):
        a, b = lines[name]
        for j in range(J):
            mine = group == j + 1
            ax.scatter(x[mine], y[mine], s=10, color=palette[j], alpha=0.75, lw=0)
            ax.plot(ends, a[j] + b[j] * ends, lw=1.5, color=palette[j])
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

    from . import plots

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
    from . import gcse

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
