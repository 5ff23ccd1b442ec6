"""The shared machinery of bhm.interactive: controls, states, rounding, labels and the page's script.

:func:`interactive_figure` turns a plotly figure, its controls and a table of
precomputed states into one HTML block with a static fallback image; the
figures of :mod:`bhm.interactive.explorer`, :mod:`bhm.interactive.pooling` and
:mod:`bhm.interactive.schools` are built on it.
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

__all__ = ["Control", "InteractiveFigure", "interactive_figure", "PLOTLY_CLASS"]

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

        digest = hashlib.sha256(self.html.encode()).hexdigest()[:12]
        return f"<interactive figure, {len(self.html):,} characters, sha256 {digest}>"


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


def _colors():
    from bhm.plots import COLORS

    return COLORS
