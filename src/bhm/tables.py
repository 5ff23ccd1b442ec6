"""How the book shows a table: names in words or typeset symbols, digits the numbers support.

A pandas table's HTML escapes its labels, so a label cannot carry a subscript,
and MathJax does not typeset inside the notebook's outputs. ``show`` renames
Stan and ArviZ identifiers (``sigma_b``, ``r_hat``, ``hdi_3%``) to HTML symbols
and words, formats each column, and returns an object Jupyter shows as that HTML
(and as plain text in a terminal). The numbers themselves are not changed:
keep computing with the DataFrame, show it with ``show``.

>>> import pandas as pd
>>> frame = pd.DataFrame({"mean": [0.1234], "r_hat": [1.00049]}, index=["sigma_b"])
>>> print(show(frame, digits={"mean": 2}).text)  # doctest: +NORMALIZE_WHITESPACE
     mean     R̂
σ_b  0.12  1.000
>>> show(frame).html.count("<sub>b</sub>")
1
"""

from __future__ import annotations

import html
import re

__all__ = ["SYMBOLS", "symbol", "number", "show", "Table"]

_GREEK = {name: chr(code) for name, code in [
    ("alpha", 0x3B1), ("beta", 0x3B2), ("gamma", 0x3B3), ("delta", 0x3B4), ("eta", 0x3B7), ("theta", 0x3B8),
    ("mu", 0x3BC), ("rho", 0x3C1), ("sigma", 0x3C3), ("tau", 0x3C4), ("lambda", 0x3BB), ("nu", 0x3BD),
]}

#: Identifiers with a fixed reading (ArviZ's summary columns and the book's own names).
SYMBOLS = {
    "mean": "mean", "sd": "sd", "median": "median",
    "mcse_mean": "MCSE of mean", "mcse_sd": "MCSE of sd", "mcse_median": "MCSE of median",
    "ess_bulk": "ESS (bulk)", "ess_tail": "ESS (tail)", "ess_mean": "ESS (mean)", "ess_sd": "ESS (sd)",
    "r_hat": "R̂", "rhat": "R̂", "loglik": "log-likelihood", "log_lik": "log-likelihood", "lp__": "log density",
    "chi2": "χ²", "df": "df", "p_value": "p-value", "y_rep": "y<sup>rep</sup>",
}
#: Columns shown as whole numbers, and with three decimals, unless ``digits`` says otherwise.
_INTEGER = {"ESS (bulk)", "ESS (tail)", "ESS (mean)", "ESS (sd)", "df"}
_THREE = {"R̂"}
_HDI = re.compile(r"^hdi_(\d+(?:\.\d+)?)%$")
_NAME = re.compile(r"^([a-zA-Z]+)(?:_([a-zA-Z0-9]+))?(?:\[(\d+)\])?$")


def number(value, spec: str = "") -> str:
    """A number formatted as ``format(value, spec)``, with a real minus sign (U+2212), not a hyphen.

    For numbers in prose (glued) and in printed lines, so that they match the tables.

    Parameters
    ----------
    value : float
        The number.
    spec : str
        A format specification, e.g. ``".3f"``, ``"+.2f"``, ``",.0f"``.

    Returns
    -------
    str

    >>> number(-0.0391, ".3f"), number(0.5, "+.2f")
    ('−0.039', '+0.50')
    """
    return format(float(value), spec).replace("-", "\u2212")


def symbol(name: str, *, html_tags: bool = True) -> str:
    """The reader's symbol for an identifier: ``sigma_b`` -> σ<sub>b</sub>, ``eta[0]`` -> η<sub>1</sub>.

    Greek names become Greek letters, a suffix after ``_`` a subscript, and an
    index in brackets (0-based, as ArviZ prints it) a 1-based subscript. Names
    in ``SYMBOLS`` and ArviZ's ``hdi_3%`` / ``hdi_97%`` get words (94% HDI, lower / upper). Anything else is
    returned escaped but unchanged.

    Parameters
    ----------
    name : an identifier as Stan, ArviZ or the package writes it.
    html_tags : False gives plain text (``σ_b``) for terminals and dictionaries.

    Returns
    -------
    str : HTML (or plain text) to show.
    """
    if not isinstance(name, str):
        return html.escape(str(name))
    if name in SYMBOLS:
        return SYMBOLS[name] if html_tags else re.sub(r"<sup>(.*?)</sup>", r"^\1", SYMBOLS[name])
    hdi = _HDI.match(name)
    if hdi:
        tail = float(hdi.group(1))
        return f"{100 - 2 * min(tail, 100 - tail):g}% HDI, {'lower' if tail < 50 else 'upper'}"
    match = _NAME.match(name)
    if match and match.group(1).lower() in _GREEK:
        letter = _GREEK[match.group(1).lower()]
        subscripts = [part for part in (match.group(2), None) if part]
        if match.group(3) is not None:
            subscripts.append(str(int(match.group(3)) + 1))
        sub = ",".join(_GREEK.get(part, part) for part in subscripts)
        if not sub:
            return letter
        return f"{letter}<sub>{sub}</sub>" if html_tags else f"{letter}_{sub}"
    return html.escape(name)


class Table:
    """A table to show: ``_repr_html_`` for Jupyter, ``text`` (and ``repr``) for a terminal."""

    def __init__(self, html_text: str, text: str):
        self.html = html_text
        self.text = text

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text


def show(frame, *, digits: dict | int | None = None, names: dict | None = None, index_name: str | None = None,
         caption: str | None = None) -> Table:
    """A DataFrame (or Series) shown with the book's labels and digits.

    Parameters
    ----------
    frame : pandas.DataFrame or pandas.Series; a Series becomes one column.
    digits : decimals per column (keys are the original or the shown column
        names), or one number for every float column; by default ESS columns
        and ``df`` as whole numbers, R-hat with 3 decimals, other floats with 3.
        Negative numbers get a real minus sign (U+2212).
    names : extra or overriding labels for columns and index entries
        (original identifier -> HTML); anything not named goes through ``symbol``.
    index_name : the index's heading (HTML); by default the index's own name, through ``symbol``
        (a MultiIndex keeps its level names, each through ``symbol``).
    caption : a short HTML line above the table.

    Returns
    -------
    Table : shown as HTML in Jupyter; ``.text`` holds the plain-text version.

    Raises
    ------
    TypeError : if ``frame`` is not a DataFrame or Series.
    """
    import pandas as pd

    if isinstance(frame, pd.Series):
        frame = frame.to_frame(frame.name if frame.name is not None else "value")
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"show: frame must be a pandas DataFrame or Series; got {type(frame).__name__}")
    names = dict(names or {})
    per_column = digits if isinstance(digits, dict) else {}

    def label(key, html_tags=True):
        if isinstance(key, tuple):
            return tuple(label(part, html_tags) for part in key)
        if key in names:
            return names[key] if html_tags else re.sub(r"</?su[bp]>", "", names[key].replace("<sub>", "_"))
        return symbol(key, html_tags=html_tags)

    def decimals(column):
        shown = label(column)
        for key in (column, shown):
            if key in per_column:
                return per_column[key]
        if isinstance(digits, int):
            return digits
        if shown in _INTEGER:
            return 0
        return 3

    def text_of(values, column):
        if not pd.api.types.is_float_dtype(values):
            return values.map(lambda v: "–" if pd.isna(v) else str(v))
        places = decimals(column)

        def cell(v):
            if pd.isna(v):
                return "–"
            return number(v, ",.0f" if places == 0 else f".{places}f")

        return values.map(cell)

    shown = pd.DataFrame({column: text_of(frame[column], column) for column in frame.columns}, index=frame.index)
    heading = index_name if index_name is not None else (label(frame.index.name) if frame.index.name else None)

    def relabelled(html_tags):
        out = shown.copy()
        out.columns = pd.Index([label(c, html_tags) for c in frame.columns]) if not isinstance(
            frame.columns, pd.MultiIndex) else pd.MultiIndex.from_tuples([label(c, html_tags) for c in frame.columns])
        if isinstance(frame.index, pd.MultiIndex):
            out.index = pd.MultiIndex.from_tuples([label(i, html_tags) for i in frame.index],
                                                  names=[label(n, html_tags) if n else None for n in frame.index.names])
        else:
            out.index = pd.Index([label(i, html_tags) for i in frame.index], name=heading)
        return out

    html_table = relabelled(True).to_html(escape=False, border=0, classes="bhm-table")
    if caption:
        html_table = f'<p class="bhm-table-caption">{caption}</p>\n{html_table}'
    text = relabelled(False).to_string()
    return Table(html_table, text)
