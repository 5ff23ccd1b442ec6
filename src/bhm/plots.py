"""One figure style for the whole book: fixed colour roles, labelled axes.

``plots`` draws what it is given and fits nothing.
"""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt

__all__ = ["COLORS", "use_style", "density_triplet"]

#: Colour roles, the same on every page.
COLORS = {
    "prior": "#7f7f7f",        # grey: what we believed before the data
    "likelihood": "#1f77b4",   # blue: what the data say
    "posterior": "#d62728",    # red: what we believe after
    "complete": "#2ca02c",     # green: complete pooling
    "none": "#ff7f0e",         # orange: no pooling
    "partial": "#9467bd",      # purple: partial pooling
    "truth": "#000000",        # black: the value that generated simulated data
}


def use_style() -> None:
    """Set the book's matplotlib defaults (size, fonts, grid, no top/right spines)."""
    mpl.rcParams.update(
        {
            "figure.figsize": (7.0, 3.8),
            "figure.dpi": 110,
            "savefig.dpi": 150,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.titlesize": "medium",
            "legend.frameon": False,
            "font.size": 10,
        }
    )


def density_triplet(ax, grid, *, prior, likelihood, posterior, xlabel: str):
    """Draw prior, (normalised) likelihood and posterior densities on one axis.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    grid : array_like, shape (g,)
        Values of the parameter.
    prior, likelihood, posterior : array_like, shape (g,)
        Densities on ``grid``; the likelihood is normalised to integrate to 1
        so that the three share one scale.
    xlabel : str
        Label of the parameter axis, with units.
    """
    for values, role in ((prior, "prior"), (likelihood, "likelihood"), (posterior, "posterior")):
        ax.plot(grid, values, color=COLORS[role], lw=2, label=role)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.legend()
    return ax
