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

Where things are: :mod:`bhm.interactive.figure` (controls, states, rounding,
the page's script: :func:`interactive_figure`), and the book's figures built on
it, :mod:`bhm.interactive.explorer` (chapter 1), :mod:`bhm.interactive.pooling`
(chapter 4) and :mod:`bhm.interactive.schools` (chapter 6). Every name is
importable from ``bhm.interactive`` itself, as the chapters do.
"""

from bhm.interactive.explorer import conjugate_explorer
from bhm.interactive.figure import PLOTLY_CLASS, Control, InteractiveFigure, interactive_figure
from bhm.interactive.figure import _round as _round  # the tests check the rounding here
from bhm.interactive.pooling import model_walk, pooling_slider
from bhm.interactive.schools import gcse_school_explorer, school_explorer

__all__ = ["Control", "InteractiveFigure", "interactive_figure", "PLOTLY_CLASS", "conjugate_explorer",
           "pooling_slider", "model_walk", "school_explorer", "gcse_school_explorer"]
