"""Run every chapter of the book (book/*.md, MyST notebooks) as a test with nbval.

No .ipynb is committed: nbval reads each chapter through jupytext and executes
it cell by cell in the current environment, from book/ as the build does
(``--nbval-lax``: a cell fails the test if it raises; the chapters' hidden
``assert`` cells carry the numerical checks).

After its cells, each chapter has one more test, ``outputs equal the build's``
(issue 9: two builds, the same numbers): every output of nbval's run (printed
text, tables, figures as PNG bytes, the interactive figures' HTML) must equal
the output of the same cell in the build's executed notebook,
_build/jupyter_execute. Only wall-clock times are masked ("in 0.12 s"), and the
cells that time something (they call ``time.perf_counter``) are compared by the
kinds of their outputs only. Each chapter thus runs once for both tests, and
its cells and its comparison stay in one file: pytest-xdist's ``--dist
loadfile`` (``make test``) keeps them in one worker, in order.
"""

import re
import sys
from pathlib import Path
from unittest import mock

import jupytext
import nbformat
import nbval.plugin
import pytest
from nbval.plugin import IPyNbFile

ROOT = Path(__file__).parent
BOOK = ROOT / "book"
BUILT = ROOT / "_build" / "jupyter_execute" / "book"
TIMES = re.compile(r"\d+(\.\d+)?\s*(s|seconds|min)\b")

sys.path.insert(0, str(ROOT / "_ext"))
from book_html import coalesce_streams  # noqa: E402  the build's own fix of myst-nb's merged streams


class MystNotebook(IPyNbFile):
    """nbval's notebook, read from a MyST-markdown chapter instead of an .ipynb."""

    def collect(self):
        self.notebook = jupytext.read(self.path)
        self.cells, self.passed = 0, set()
        with mock.patch.object(nbval.plugin.nbformat, "read", lambda *args, **kwargs: self.notebook):
            for item in super().collect():
                self.cells += 1
                yield item
        yield BuildComparison.from_parent(self, name="outputs equal the build's")


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


class BuildComparison(pytest.Item):
    """The chapter's outputs in this run against the build's (see the module's docstring)."""

    def runtest(self):
        chapter = self.parent
        if len(chapter.passed) != chapter.cells:
            pytest.skip(f"{chapter.cells - len(chapter.passed)} of the chapter's cells did not pass")
        built_path = BUILT / f"{chapter.path.stem}.ipynb"
        if not built_path.is_file():
            pytest.fail(f"{built_path.relative_to(ROOT)} is missing: run `make book` first (`make test` does)")
        first = _outputs(nbformat.read(built_path, as_version=4))
        second = _outputs(chapter.notebook)
        assert len(first) == len(second)
        for (source, a), (_, b) in zip(first, second):
            assert [kind for kind, _ in a] == [kind for kind, _ in b], source[:200]
            if "perf_counter" in source:
                continue  # the cell measures wall time (a table of seconds): only the kinds of output must agree
            for (kind, x), (_, y) in zip(a, b):
                assert x == y, f"{chapter.path.stem}: {kind} output differs in the cell starting {source[:120]!r}"

    def reportinfo(self):
        return self.path, None, f"{self.parent.path.name}: outputs equal the build's"


def pytest_collect_file(file_path, parent):
    if file_path.suffix != ".md" or file_path.parent != BOOK:
        return None
    if "kernelspec" not in jupytext.read(file_path).metadata:  # plain pages (index, bibliography)
        return None
    return MystNotebook.from_parent(parent, path=file_path)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep the outputs of every chapter cell that nbval ran and passed."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.passed and isinstance(item.parent, MystNotebook) \
            and not isinstance(item, BuildComparison):
        item.cell.outputs = list(item.test_outputs or [])
        item.parent.passed.add(item.cell_num)
