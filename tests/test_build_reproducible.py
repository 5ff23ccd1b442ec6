"""Two builds, the same numbers (issue 9): rerun chapters and compare with the build's executed notebooks.

`make book` executes every chapter into _build/jupyter_execute; this test
takes every chapter executed again in a new kernel (by nbval earlier in the
same pytest session, see conftest.py, or else by itself) and compares every
output: printed text, tables (HTML), figures (PNG bytes) and the interactive
figures' HTML, in every chapter. Only wall-clock times are masked ("in 0.12 s"),
and the cells that time something (they call ``time.perf_counter``) are compared
by the kinds of their outputs only.
"""

import re
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "_ext"))
from book_html import coalesce_streams  # noqa: E402  the build's own fix of myst-nb's merged streams

ROOT = Path(__file__).parents[1]
BUILT = ROOT / "_build" / "jupyter_execute" / "book"
CHAPTERS = ["01_bayesian_thinking", "02_sampling", "03_convergence", "04_hierarchical_models", "05_prior_study",
            "06_gcse", "07_calibration"]
TIMES = re.compile(r"\d+(\.\d+)?\s*(s|seconds|min)\b")


def _outputs(notebook):
    """Per code cell: its printed text (all stdout, joined: the build merges streams) and its rich outputs."""
    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        printed, rich = [], []
        for out in coalesce_streams(cell.get("outputs", [])):
            if out.get("output_type") == "stream" and out.get("name") == "stdout":
                printed.append(out["text"])
            elif out.get("output_type") in ("execute_result", "display_data"):
                data = out.get("data", {})
                for mime in ("text/plain", "text/html", "image/png"):
                    if mime in data:
                        text = data[mime] if isinstance(data[mime], str) else "".join(data[mime])
                        rich.append((mime, TIMES.sub("<time>", text) if mime != "image/png" else text))
        text = "\n".join(line.rstrip() for line in TIMES.sub("<time>", "".join(printed)).splitlines()).strip()
        cells.append((cell.source, [("stdout", text)] + rich))
    return cells


def _rerun(chapter, nbval_run):
    """The chapter executed again in a new kernel: nbval's run of this session if it had one, else ours."""
    from nbclient import NotebookClient

    again = nbval_run(chapter)
    if again is not None:
        print(f"{chapter}: comparing nbval's run of this session with the build")
        return again
    again = jupytext.read(ROOT / "book" / f"{chapter}.md")
    NotebookClient(again, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "book")}}).execute()
    return again


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_rerun_gives_the_built_outputs(chapter, nbval_run):
    built_path = BUILT / f"{chapter}.ipynb"
    if not built_path.is_file():
        pytest.fail(f"{built_path.relative_to(ROOT)} is missing: run `make book` first (`make test` does)")
    built = nbformat.read(built_path, as_version=4)
    again = _rerun(chapter, nbval_run)
    first, second = _outputs(built), _outputs(again)
    assert len(first) == len(second)
    for (source, a), (_, b) in zip(first, second):
        assert [kind for kind, _ in a] == [kind for kind, _ in b], source[:200]
        if "perf_counter" in source:
            continue  # the cell measures wall time (a table of seconds): only the kinds of output must agree
        for (kind, x), (_, y) in zip(a, b):
            assert x == y, f"{chapter}: {kind} output differs in the cell starting {source[:120]!r}"
