"""The book's Sphinx extension (_ext/book_html.py): a cell's printed text on the page exactly as printed."""

import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).parents[1] / "_ext"))
import book_html  # noqa: E402
from myst_nb.core.utils import coalesce_streams as myst_merge  # noqa: E402


def _split_print():
    """``print(1.28, 0.97); print("done")`` as a kernel may send it: cut by time, not at a line end."""
    pieces = ["1.28", " 0.97\n", "done\n"]
    return [nbformat.v4.new_output("stream", name="stdout", text=text) for text in pieces]


def test_myst_merge_alone_breaks_a_split_line():
    # the bug the extension works around: if myst-nb fixes it, this fails and the workaround can go
    assert myst_merge(_split_print())[0]["text"] == "1.28\n 0.97\ndone\n"


def test_split_print_is_shown_as_printed():
    outputs = _split_print() + [nbformat.v4.new_output("display_data", data={"text/plain": "x"})]
    merged = book_html._merge_exactly_then(myst_merge)(outputs)
    assert [out["output_type"] for out in merged] == ["stream", "display_data"]
    assert merged[0]["text"] == "1.28 0.97\ndone\n"
    assert outputs == merged  # the cell's own list, so the executed notebook written afterwards agrees


def test_repeated_lines_are_kept():
    outputs = [nbformat.v4.new_output("stream", name="stdout", text="same\n") for _ in range(2)]
    assert book_html.coalesce_streams(outputs)[0]["text"] == "same\nsame\n"


def test_stdout_and_stderr_stay_apart():
    outputs = [nbformat.v4.new_output("stream", name=name, text=f"{name}\n")
               for name in ("stdout", "stderr", "stdout")]
    merged = book_html.coalesce_streams(outputs)
    assert [(out["name"], out["text"]) for out in merged] == [("stdout", "stdout\nstdout\n"), ("stderr", "stderr\n")]
