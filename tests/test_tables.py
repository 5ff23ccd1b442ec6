"""bhm.tables: identifiers become the reader's symbols; digits follow the column."""

import numpy as np
import pandas as pd
import pytest

from bhm import tables


@pytest.mark.parametrize("name, html, text", [
    ("sigma_b", "σ<sub>b</sub>", "σ_b"),
    ("mu_alpha", "μ<sub>α</sub>", "μ_α"),
    ("gamma_0", "γ<sub>0</sub>", "γ_0"),
    ("eta[0]", "η<sub>1</sub>", "η_1"),  # ArviZ's 0-based index, the text's 1-based subscript
    ("alpha", "α", "α"),
    ("r_hat", "R̂", "R̂"),
    ("ess_bulk", "ESS (bulk)", "ESS (bulk)"),
    ("hdi_3%", "94% HDI, lower", "94% HDI, lower"),
    ("hdi_95%", "90% HDI, upper", "90% HDI, upper"),
    ("a<b", "a&lt;b", "a&lt;b"),
])
def test_symbol(name, html, text):
    assert tables.symbol(name) == html
    assert tables.symbol(name, html_tags=False) == text


def test_show_formats_by_column_and_keeps_the_numbers():
    frame = pd.DataFrame({"mean": [0.12345, np.nan], "ess_bulk": [1234.6, 88.2], "r_hat": [1.00049, 1.0123],
                          "n": [3, 4]}, index=pd.Index(["sigma_b", "eta[1]"], name="parameter"))
    shown = tables.show(frame, names={"n": "group size"})
    assert "<td>0.123</td>" in shown.html and "<td>–</td>" in shown.html  # 3 decimals; missing as a dash
    assert "<td>1,235</td>" in shown.html and "<td>88</td>" in shown.html  # ESS as whole numbers
    assert "<td>1.000</td>" in shown.html and "<td>1.012</td>" in shown.html  # R-hat to 3 decimals
    assert "<th>group size</th>" in shown.html and "<td>3</td>" in shown.html
    assert "η<sub>2</sub>" in shown.html and shown._repr_html_() == shown.html
    assert frame.loc["sigma_b", "mean"] == 0.12345  # the frame itself is untouched
    assert "σ_b" in repr(shown)
    assert "<td>0.1</td>" in tables.show(frame, digits=1).html


def test_show_rejects_what_is_not_a_table():
    with pytest.raises(TypeError, match="DataFrame or Series; got list"):
        tables.show([1, 2])
    assert "<th>value</th>" in tables.show(pd.Series([1.0, 2.0])).html


def test_negative_numbers_get_a_real_minus_and_multiindex_rows_work():
    rows = pd.MultiIndex.from_tuples([("sigma_a", "mean"), ("sigma_a", "sd")], names=["parameter", None])
    shown = tables.show(pd.DataFrame({"value": [-0.5, 2.0]}, index=rows), index_name="ignored")
    assert "<td>−0.500</td>" in shown.html and "-0.5" not in shown.html
    assert "σ<sub>a</sub>" in shown.html and "parameter" in shown.html


def test_named_labels_keep_their_subscript_in_plain_text():
    shown = tables.show(pd.DataFrame({"x": [1.0]}, index=["s"]), names={"s": "σ<sub>b</sub>"})
    assert "σ_b" in shown.text and "σ<sub>b</sub>" in shown.html
