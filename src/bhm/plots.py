"""One figure style for the whole book: fixed colour roles, labelled axes.

``plots`` draws what it is given and fits nothing.
"""

from __future__ import annotations

import matplotlib as mpl

from bhm._validation import finite_1d

__all__ = ["COLORS", "COLUMN_PX", "MIN_TEXT_PT", "use_style", "text_sizes_on_page", "density_triplet",
           "shrinkage", "pooling_panel", "caterpillar", "rank_histogram", "rank_ecdf_difference", "funnel",
           "ppc_statistic", "sbc_ecdf", "interval_comparison"]

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


def _arrays(caller: str, **arrays):
    """The arrays as 1-D float arrays of one length, all finite; else a ValueError naming the culprit."""
    out, length = {}, None
    for name, values in arrays.items():
        try:
            array = finite_1d(values, name)
        except ValueError as err:
            raise ValueError(f"{caller}: {err}") from None
        if length is not None and array.size != length:
            raise ValueError(f"{caller}: {name} has {array.size} values, but {next(iter(out))} has {length}")
        length = array.size if length is None else length
        out[name] = array
    return out


#: The page's text column at a 1280 px window, in CSS px (tests/test_browser.py measures the page).
COLUMN_PX = 688
#: The smallest text a figure may show on the page, in points (CSS points: 1 pt = 4/3 px).
MIN_TEXT_PT = 9.0
#: Set to 1 (``make book`` does) and every figure warns, on the page, about text under MIN_TEXT_PT.
CHECK_ENV = "BHM_CHECK_FIGURE_TEXT"


def text_sizes_on_page(fig, renderer=None, *, column_px: float = COLUMN_PX) -> list[tuple[float, str]]:
    """Each visible text of a drawn figure with its size in points as the page shows it, smallest first.

    Jupyter shows a figure as a PNG of its tight bounding box, ``w`` inches at
    ``fig.dpi`` pixels per inch, one pixel per CSS px, shrunk to the column if
    wider. A ``f``-point font is then ``f * shown / (96 * w)`` points on the
    page, where ``shown = min(column_px, w * dpi)``.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure, drawn at least once (or pass ``renderer``).
    renderer : matplotlib.backend_bases.RendererBase, optional
        The renderer of the draw; by default the figure's canvas's.
    column_px : float
        Width of the page's text column in CSS px.

    Returns
    -------
    list of tuple (float, str)
        (points, text), one pair per visible non-empty text of ``fig`` (tick
        labels included), smallest first.
    """
    from matplotlib.text import Text

    renderer = renderer or fig.canvas.get_renderer()
    width = fig.get_tightbbox(renderer).width  # inches
    shown = min(column_px, width * fig.dpi)
    sizes = []
    for text in fig.findobj(Text):
        if text.get_visible() and text.get_text().strip() and text.get_figure(root=True) is fig:
            sizes.append((float(text.get_fontsize() * shown / (96 * width)), text.get_text().strip()))
    return sorted(sizes)


def _warn_on_small_text(event) -> None:
    import warnings

    small = [(size, text) for size, text in text_sizes_on_page(event.canvas.figure, event.renderer)
             if size < MIN_TEXT_PT - 0.05]
    if small:
        size, text = small[0]
        warnings.warn(f"figure text {text[:40]!r} shows at {size:.1f} pt on the page, under {MIN_TEXT_PT:g} pt "
                      f"({len(small)} texts too small): enlarge the font or narrow the figure", stacklevel=2)


def watch_text_size(fig) -> None:
    """A matplotlib figure hook (``figure.hooks``): warn at every draw if ``fig`` shows text under MIN_TEXT_PT.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        A new figure; pyplot calls the hook when it makes one.

    Returns
    -------
    None
        The warning (a ``UserWarning``) comes at each draw, naming the smallest text.
    """
    fig.canvas.mpl_connect("draw_event", _warn_on_small_text)


def use_style() -> None:
    """Set the book's matplotlib defaults (size, fonts, grid, no top/right spines).

    With the environment variable ``BHM_CHECK_FIGURE_TEXT=1`` (``make book``
    sets it), every figure made through pyplot also warns when a text of it
    would show on the page under ``MIN_TEXT_PT`` (see ``text_sizes_on_page``);
    the warning lands on the page and the browser test fails on it.

    Returns
    -------
    None
        The settings go into ``matplotlib.rcParams``.
    """
    import os

    if os.environ.get(CHECK_ENV) == "1":
        hooks = [hook for hook in mpl.rcParams["figure.hooks"] if hook != "bhm.plots:watch_text_size"]
        mpl.rcParams["figure.hooks"] = hooks + ["bhm.plots:watch_text_size"]
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
        The axis to draw on.
    grid : array_like, shape (g,)
        Values of the parameter.
    prior, likelihood, posterior : array_like, shape (g,)
        Densities on ``grid``; the likelihood is normalised to integrate to 1
        so that the three share one scale.
    xlabel : str
        Label of the parameter axis, with units.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``, drawn on.

    Raises
    ------
    ValueError
        An array not 1-D, empty, not finite, or of another length than ``grid``.
    """
    checked = _arrays("density_triplet", grid=grid, prior=prior, likelihood=likelihood, posterior=posterior)
    grid = checked["grid"]
    for values, role in ((checked["prior"], "prior"), (checked["likelihood"], "likelihood"),
                         (checked["posterior"], "posterior")):
        ax.plot(grid, values, color=COLORS[role], lw=2, label=role)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.legend()
    return ax


def shrinkage(ax, sizes, no_pooling, partial_pooling, complete_pooling: float, *, ylabel: str,
              target: float | None = None, target_label: str = "shrinkage target", jitter: float = 0.0):
    """Arrows from each group's own estimate to its partial-pooling estimate.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axis to draw on.
    sizes : array_like, shape (J,)
        Number of observations per group (x axis, log scale).
    no_pooling, partial_pooling : array_like, shape (J,)
        Group estimates without pooling (group means) and with partial pooling.
    complete_pooling : float
        The one estimate of complete pooling, drawn as a horizontal line.
    ylabel : str
        Label of the estimate axis, with units.
    target : float, optional
        The value partial pooling shrinks towards (e.g. the posterior mean of
        the population mean), drawn as a dashed purple line.
    target_label : str
        Its legend label.
    jitter : float
        Spread groups of equal size sideways by a factor of up to
        ``exp(±jitter)`` (fixed seed), so that their arrows do not overlap.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``, drawn on.

    Raises
    ------
    ValueError
        An array not 1-D, empty, not finite, or of another length than
        ``sizes``; a size <= 0; ``jitter`` outside [0, 1].
    """
    checked = _arrays("shrinkage", sizes=sizes, no_pooling=no_pooling, partial_pooling=partial_pooling)
    sizes, no_pooling, partial_pooling = checked["sizes"], checked["no_pooling"], checked["partial_pooling"]
    if (sizes <= 0).any():
        raise ValueError("shrinkage: sizes must be positive (they are drawn on a log scale)")
    if not 0 <= jitter <= 1:
        raise ValueError(f"shrinkage: jitter must lie in [0, 1]; got {jitter!r}")
    if jitter:
        import numpy as np

        sizes = sizes * np.exp(np.random.default_rng(0).uniform(-jitter, jitter, sizes.size))
    ax.axhline(complete_pooling, color=COLORS["complete"], lw=1.5, label="complete pooling")
    if target is not None:
        ax.axhline(target, color=COLORS["partial"], lw=1.5, ls="--", label=target_label)
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


def pooling_panel(ax, boys, girls, *, complete, none, partial, title: str, ylabel: str | None = None,
                  jitter: float = 0.06, seed: int = 0):
    """One group's data and its three pooling lines over a binary predictor.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axis to draw on.
    boys, girls : array_like, shapes (n0,) and (n1,)
        The outcomes at x = 0 and x = 1, drawn as points (jittered sideways by
        up to ``jitter``, with a fixed ``seed``, so equal scores stay visible).
    complete, none, partial : pair of float
        (intercept, slope) of the complete-, no- and partial-pooling lines; a
        ``none`` with a NaN (a group with one kind of x only) draws no line.
    title : str
        Panel title (the group and its sizes).
    ylabel : str, optional
        Label of the outcome axis, with units.
    jitter : float
        Largest sideways shift of a point.
    seed : int
        Seed of the jitter.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``, drawn on.

    Raises
    ------
    ValueError
        A line not a pair (or not finite, except ``none``), or outcomes not
        1-D and finite.
    """
    import numpy as np

    for name, pair in (("complete", complete), ("none", none), ("partial", partial)):
        pair = np.asarray(pair, dtype=float)
        if pair.shape != (2,) or (name != "none" and not np.all(np.isfinite(pair))):
            raise ValueError(f"pooling_panel: {name} must be a finite pair (intercept, slope); got {pair!r}")
    for name, values in (("boys", boys), ("girls", girls)):
        values = np.asarray(values, dtype=float)
        if values.ndim != 1 or not np.all(np.isfinite(values)):
            raise ValueError(f"pooling_panel: {name} must be a one-dimensional array of finite outcomes")
    rng = np.random.default_rng(seed)
    for x, values in ((0.0, boys), (1.0, girls)):
        values = np.asarray(values, dtype=float)
        ax.scatter(x + rng.uniform(-jitter, jitter, values.size), values, s=10, color="0.35", alpha=0.6,
                   zorder=2)
    xs = np.array([0.0, 1.0])
    for role, (intercept, slope), style in (("complete", complete, "-"), ("none", none, "--"),
                                            ("partial", partial, "-")):
        if np.isfinite(intercept) and np.isfinite(slope):
            ax.plot(xs, intercept + slope * xs, style, color=COLORS[role], lw=2,
                    label={"none": "no"}.get(role, role) + " pooling", zorder=3)
    ax.set_xticks([0, 1], ["boys", "girls"])
    ax.set_xlim(-0.3, 1.3)
    ax.set_title(title)
    if ylabel:
        ax.set_ylabel(ylabel)
    return ax


def caterpillar(ax, mean, lower, upper, *, average: float, xlabel: str, highlight=None):
    """Group estimates sorted by their mean, with intervals, and the average as a line.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axis to draw on.
    mean, lower, upper : array_like, shape (J,)
        Posterior means and interval bounds, in the order to draw (bottom to top).
    average : float
        The population mean, drawn as a vertical line.
    xlabel : str
        Label of the estimate axis, with units.
    highlight : array_like of int, optional
        Positions (0-based, in the given order) drawn in the posterior colour.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``, drawn on.

    Raises
    ------
    ValueError
        Arrays not 1-D, empty, not finite or of different lengths, or a mean
        outside its interval.
    """
    import numpy as np

    checked = _arrays("caterpillar", mean=mean, lower=lower, upper=upper)
    mean, lower, upper = checked["mean"], checked["lower"], checked["upper"]
    if np.any(lower > mean) or np.any(mean > upper):
        raise ValueError("caterpillar: every mean must lie between its lower and upper bound")
    pos = np.arange(1, mean.size + 1)
    colors = np.full(mean.size, COLORS["partial"], dtype=object)
    if highlight is not None:
        colors[np.asarray(highlight, dtype=int)] = COLORS["posterior"]
    ax.hlines(pos, lower, upper, colors=list(colors), lw=1.2, alpha=0.8)
    ax.scatter(mean, pos, s=12, c=list(colors), zorder=3)
    ax.axvline(average, color=COLORS["complete"], lw=1.5, label="average")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("position when sorted by mean")
    ax.set_ylim(0, mean.size + 1)
    ax.legend(loc="lower right")
    return ax


def rank_histogram(ax, ranks, *, n_draws: int, bins: int, prob: float = 0.99, title: str | None = None):
    """Histogram of SBC ranks with the band a uniform histogram stays in.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axis to draw on.
    ranks : array_like of int, shape (R,)
        Ranks in 0..n_draws.
    n_draws : int
        L: the number of posterior draws each rank was computed from.
    bins : int
        Number of equal bins; must divide n_draws + 1.
    prob : float
        Each bin's count lies in the grey band with this probability under
        uniformity (binomial quantiles; pointwise, so about ``(1 - prob) * bins``
        bins fall outside by chance).
    title : str, optional
        Axis title.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``, drawn on.

    Raises
    ------
    ValueError
        ``ranks`` not 1-D, empty or not finite; a rank not a whole number in
        0..n_draws; ``bins`` not dividing ``n_draws + 1``.
    """
    import numpy as np
    from scipy import stats

    ranks = _arrays("rank_histogram", ranks=ranks)["ranks"]
    if (n_draws + 1) % bins or np.any(ranks != np.round(ranks)) or ranks.min() < 0 or ranks.max() > n_draws:
        raise ValueError(f"rank_histogram: ranks must be whole numbers in 0..{n_draws} and bins ({bins}) must "
                         f"divide {n_draws + 1}")
    ranks = ranks.astype(int)
    counts = np.bincount(ranks * bins // (n_draws + 1), minlength=bins)
    lower, upper = stats.binom.ppf([(1 - prob) / 2, (1 + prob) / 2], ranks.size, 1 / bins)
    edges = np.arange(bins + 1) * (n_draws + 1) / bins
    # the band behind the bars, its edges drawn over them: every bar's top reads against the band
    ax.axhspan(lower, upper, color=COLORS["prior"], alpha=0.25, lw=0, zorder=0.5, label=f"{prob:.0%} band if uniform")
    ax.stairs(counts, edges, fill=True, color=COLORS["posterior"], alpha=0.45, lw=0, zorder=1, label="ranks")
    ax.stairs(counts, edges, color=COLORS["posterior"], lw=1.2, zorder=2)
    for level in (lower, upper):
        ax.axhline(level, color="0.35", lw=0.8, ls="--", zorder=3)
    ax.axhline(ranks.size / bins, color="0.35", lw=0.8, zorder=3)
    ax.set_xlim(0, n_draws + 1)
    ax.set_xlabel(f"rank of the truth among {n_draws} posterior draws")
    ax.set_ylabel(f"replications per bin (of {ranks.size})")
    if title:
        ax.set_title(title)
    return ax


def rank_ecdf_difference(ax, ranks, *, n_draws: int, prob: float = 0.99, seed: int = 0, label: str | None = None):
    """ECDF of the fractional SBC ranks minus the uniform CDF, with simultaneous bands (ArviZ).

    The ranks ``r`` in 0..n_draws become ``(r + 1) / (n_draws + 1)``, the discrete
    uniform's CDF at each rank; under uniformity the whole curve stays inside
    the band with probability ``prob`` (simultaneous, not pointwise: Säilynoja
    et al. 2022), so one excursion is already evidence.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axis to draw on.
    ranks : array_like of int, shape (R,)
        SBC ranks, one per replication.
    n_draws : int
        L: ranks lie in 0..L.
    prob : float
        Probability of the simultaneous band.
    seed : int
        Seed of ArviZ's simulation of the band.
    label : str, optional
        Legend label of the curve.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``, drawn on.

    Raises
    ------
    ValueError
        ``ranks`` not 1-D, empty or not finite, or outside 0..n_draws.
    """
    import arviz as az
    import numpy as np
    from scipy import stats

    ranks = _arrays("rank_ecdf_difference", ranks=ranks)["ranks"]
    if ranks.min() < 0 or ranks.max() > n_draws:
        raise ValueError(f"rank_ecdf_difference: ranks must lie in 0..{n_draws}")
    values = (ranks + 1) / (n_draws + 1)
    grid = np.arange(1, n_draws + 2) / (n_draws + 1)       # every possible value
    uniform = stats.randint(1, n_draws + 2)                # ranks + 1, discrete

    def rvs(size, random_state=None):
        return uniform.rvs(size, random_state=random_state) / (n_draws + 1)

    az.plot_ecdf(values, eval_points=grid, cdf=lambda x: np.floor(x * (n_draws + 1) + 1e-9) / (n_draws + 1),
                 difference=True, confidence_bands=True, ci_prob=prob, rvs=rvs,
                 random_state=np.random.default_rng(seed), ax=ax,
                 plot_kwargs={"color": COLORS["posterior"], "label": label},
                 fill_kwargs={"color": COLORS["prior"], "alpha": 0.25})
    ax.set_xlabel(r"fractional rank $(r + 1)/(L + 1)$")
    ax.set_ylabel("ECDF minus uniform CDF")
    return ax


def funnel(ax, effect, log_scale, divergent, *, xlabel: str, ylabel: str, title: str | None = None):
    """Posterior draws of a group effect against the log of its scale, divergent transitions in red.

    The picture of Betancourt's "Diagnosing biased inference with divergences":
    where the draws narrow into a funnel's neck and the divergences gather.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axis to draw on.
    effect : array_like, shape (S,)
        Draws of one group effect (x axis).
    log_scale : array_like, shape (S,)
        Draws of the log of the group-level sd, e.g. log sigma_b (y axis).
    divergent : array_like of bool, shape (S,)
        Whether each draw ended a divergent transition.
    xlabel, ylabel : str
        Axis labels.
    title : str, optional
        Axis title.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``, drawn on.

    Raises
    ------
    ValueError
        ``effect`` or ``log_scale`` not 1-D, empty, not finite or of different
        lengths; ``divergent`` not True/False or not one per draw.
    """
    import numpy as np

    checked = _arrays("funnel", effect=effect, log_scale=log_scale)
    divergent = np.asarray(divergent)
    if divergent.shape != checked["effect"].shape or not (
            divergent.dtype == bool or np.isin(divergent, (0, 1)).all()):
        raise ValueError(f"funnel: divergent must hold True/False, one per draw ({checked['effect'].size}); "
                         f"got shape {divergent.shape}")
    divergent = divergent.astype(bool)
    x, y = checked["effect"], checked["log_scale"]
    # dark grey, not the prior's grey: these are posterior draws; red marks the divergences
    ax.scatter(x[~divergent], y[~divergent], s=3, color="0.25", alpha=0.25, lw=0, label="draws")
    ax.scatter(x[divergent], y[divergent], s=10, color=COLORS["posterior"], lw=0,
               label=f"divergent ({divergent.sum()})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(loc="lower right", markerscale=2)
    return ax


def _p_text(p: float, n: int) -> str:
    """A Monte Carlo tail probability from n draws as text: 0 of n is "$p$ < 1/n", not "p = 0.00"."""
    if p == 0:
        return f"$p$ < {1 / n:.2g}"
    if p == 1:
        return f"$p$ > {1 - 1 / n:.4g}"
    return f"$p$ = {p:.2f}"


def ppc_statistic(ax, replicated: dict, observed: float, *, xlabel: str, colors: dict):
    """Histograms of a test statistic over replicated data sets, one per model, and its observed value.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axis to draw on.
    replicated : dict of str to array_like, shape (S,)
        Model label -> the statistic of each replicated data set.
    observed : float
        The statistic of the observed data, drawn as a black line.
    xlabel : str
        Label of the statistic's axis.
    colors : dict of str to colour
        Model label -> colour of its histogram (e.g. ``COLORS["complete"]``).

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``, drawn on.

    Raises
    ------
    ValueError
        ``replicated`` not a non-empty dict, a model without a colour, or
        statistics (or ``observed``) that are not finite numbers.

    Notes
    -----
    The legend gives each model's posterior predictive p-value,
    P(T(y_rep) >= T(y)).
    """
    import numpy as np

    if not isinstance(replicated, dict) or not replicated:
        raise ValueError("ppc_statistic: replicated must be a non-empty dict of model label -> statistics")
    missing = [label for label in replicated if label not in colors]
    if missing:
        raise ValueError(f"ppc_statistic: colors has no colour for {missing}")
    observed = float(_arrays("ppc_statistic", observed=[observed])["observed"][0])
    values = {label: _arrays("ppc_statistic", **{"replicated[" + label + "]": v})["replicated[" + label + "]"]
              for label, v in replicated.items()}
    for label, v in values.items():   # each model its own 30 bins: a narrow histogram stays visible
        ax.hist(v, bins=30, color=colors[label], alpha=0.7, label=f"{label}: {_p_text(np.mean(v >= observed), v.size)}")
    ax.axvline(observed, color=COLORS["truth"], lw=1.2, ls="--", label="observed")   # dashed: bars show through
    ax.set_xlabel(xlabel)
    ax.set_ylabel("replicated data sets")
    ax.legend()
    return ax


# --------------------------------------------------------------------------- chapter 7 (SBC)
_CURVE_COLORS = (COLORS["posterior"], COLORS["likelihood"], COLORS["none"], COLORS["complete"], COLORS["partial"],
                 "0.3")


def sbc_ecdf(ax, curves: dict, band, *, n_draws: int, colors: dict | None = None, title: str | None = None):
    """ECDFs of SBC ranks minus the uniform CDF, several on one axis, inside one simultaneous band.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axis to draw on.
    curves : dict of str to array_like of int, shape (R,)
        Legend label -> ranks in 0..n_draws; every curve has the R ranks the band was made for.
    band : pandas.DataFrame, shape (n_draws, 3)
        :func:`bhm.sbc.ecdf_band`: columns ``fraction``, ``lower``, ``upper``, and
        ``band.attrs["n_reps"]``, its R. Under uniformity each curve stays inside
        with the band's probability.
    n_draws : int
        L: ranks lie in 0..L.
    colors : dict of str to colour, optional
        Label -> colour; by default the book's red, blue, orange, green, purple, grey in turn.
    title : str, optional
        Axis title.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``, drawn on.

    Raises
    ------
    ValueError
        ``curves`` not a non-empty dict; ``band`` not an ``ecdf_band`` for
        ``n_draws``; ranks not 1-D and finite, not whole numbers in
        0..n_draws, or not as many as the band is for.
    """
    import numpy as np

    if not isinstance(curves, dict) or not curves:
        raise ValueError("sbc_ecdf: curves must be a non-empty dict of label -> ranks")
    if not {"fraction", "lower", "upper"} <= set(getattr(band, "columns", [])) or len(band) != n_draws:
        raise ValueError(f"sbc_ecdf: band must be bhm.sbc.ecdf_band(...) for n_draws = {n_draws}")
    n_reps = band.attrs.get("n_reps")
    z = band["fraction"].to_numpy()
    prob = band.attrs.get("prob")
    ax.fill_between(np.r_[0, z, 1], np.r_[0, band["lower"], 0], np.r_[0, band["upper"], 0], step="post",
                    color=COLORS["prior"], alpha=0.3, lw=0, label=f"{prob:.0%} band if uniform" if prob else "band")
    ax.axhline(0, color=COLORS["prior"], lw=0.8)
    for k, (label, values) in enumerate(curves.items()):
        ranks = _arrays("sbc_ecdf", **{f"curves[{label!r}]": values})[f"curves[{label!r}]"]
        if ranks.min() < 0 or ranks.max() > n_draws or np.any(ranks != np.round(ranks)):
            raise ValueError(f"sbc_ecdf: the ranks of {label!r} must be whole numbers in 0..{n_draws}")
        if n_reps is not None and ranks.size != n_reps:
            raise ValueError(f"sbc_ecdf: {label!r} has {ranks.size} ranks; the band is for {n_reps}")
        ecdf = (ranks[:, None] < np.arange(1, n_draws + 1)).mean(axis=0)   # share of ranks below i, i = 1..L
        color = (colors or {}).get(label, _CURVE_COLORS[k % len(_CURVE_COLORS)])
        ax.step(np.r_[0, z, 1], np.r_[0, ecdf - z, 0], where="post", color=color, lw=1.5, label=label)
    ax.set_xlim(0, 1)
    ax.set_xlabel(r"fractional rank $(r + 1)/(L + 1)$")
    ax.set_ylabel("ECDF minus uniform CDF")
    if title:
        ax.set_title(title)
    return ax


# --------------------------------------------------------------------------- chapter 6
def interval_comparison(ax, labels, estimates: dict, *, xlabel: str, colors: dict, offset: float = 0.18):
    """Two or more interval estimates per group, side by side: e.g. empirical Bayes against full Bayes.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axis to draw on.
    labels : sequence of str, length J
        The groups, drawn bottom to top.
    estimates : dict of str to (mean, lower, upper)
        Method label -> three array_likes of shape (J,), in the order of ``labels``.
    xlabel : str
        Label of the estimate axis, with units.
    colors : dict of str to colour
        Method label -> colour.
    offset : float
        Vertical distance between a group's intervals.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``, drawn on.

    Raises
    ------
    ValueError
        Arrays of the wrong length or not finite, a mean outside its interval,
        or a method without a colour.
    """
    import numpy as np

    labels = [str(label) for label in labels]
    if not isinstance(estimates, dict) or not estimates:
        raise ValueError("interval_comparison: estimates must be a non-empty dict of label -> (mean, lower, upper)")
    missing = [label for label in estimates if label not in colors]
    if missing:
        raise ValueError(f"interval_comparison: colors has no colour for {missing}")
    pos = np.arange(len(labels), dtype=float)
    shift = (np.arange(len(estimates)) - (len(estimates) - 1) / 2) * offset
    for k, (method, triple) in enumerate(estimates.items()):
        if len(triple) != 3:
            raise ValueError(f"interval_comparison: estimates[{method!r}] must be (mean, lower, upper)")
        checked = _arrays("interval_comparison", mean=triple[0], lower=triple[1], upper=triple[2])
        mean, lower, upper = checked["mean"], checked["lower"], checked["upper"]
        if mean.size != len(labels):
            raise ValueError(f"interval_comparison: estimates[{method!r}] has {mean.size} groups, labels {len(labels)}")
        if np.any(lower > mean + 1e-9) or np.any(mean > upper + 1e-9):
            raise ValueError("interval_comparison: every mean must lie between its lower and upper bound")
        ax.hlines(pos + shift[k], lower, upper, color=colors[method], lw=2)
        ax.scatter(mean, pos + shift[k], s=16, color=colors[method], zorder=3, label=method)
    ax.set_yticks(pos, labels)
    ax.set_xlabel(xlabel)
    ax.set_ylim(-0.6, len(labels) - 0.4)
    return ax
