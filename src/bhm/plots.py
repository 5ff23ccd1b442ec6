"""One figure style for the whole book: fixed colour roles, labelled axes.

``plots`` draws what it is given and fits nothing.
"""

from __future__ import annotations

import matplotlib as mpl

__all__ = ["COLORS", "use_style", "density_triplet", "shrinkage"]

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


def shrinkage(ax, sizes, no_pooling, partial_pooling, complete_pooling: float, *, ylabel: str):
    """Arrows from each group's own estimate to its partial-pooling estimate.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    sizes : array_like, shape (J,)
        Number of observations per group (x axis, log scale).
    no_pooling, partial_pooling : array_like, shape (J,)
        Group estimates without pooling (group means) and with partial pooling.
    complete_pooling : float
        The one estimate of complete pooling, drawn as a horizontal line.
    ylabel : str
        Label of the estimate axis, with units.
    """
    ax.axhline(complete_pooling, color=COLORS["complete"], lw=1.5, label="complete pooling")
    for n, a, b in zip(sizes, no_pooling, partial_pooling):
        ax.annotate("", xy=(n, b), xytext=(n, a),
                    arrowprops=dict(arrowstyle="->", color=COLORS["partial"], lw=1, alpha=0.7))
    ax.scatter(sizes, no_pooling, s=18, color=COLORS["none"], zorder=3, label="no pooling")
    ax.scatter(sizes, partial_pooling, s=18, color=COLORS["partial"], zorder=3, label="partial pooling")
    ax.set_xscale("log")
    ax.set_xlabel("group size $n_j$ (log scale)")
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax
