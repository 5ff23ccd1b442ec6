"""Run every chapter of the book (book/*.md, MyST notebooks) as a test with nbval.

No .ipynb is committed: nbval reads each chapter through jupytext and executes
it cell by cell in the current environment, from book/ as the build does
(``--nbval-lax``: a cell fails the test if it raises; the chapters' hidden
``assert`` cells carry the numerical checks).

A chapter that nbval ran without a failing cell is kept, with its outputs, for
tests/test_build_reproducible.py (fixture ``nbval_run``): it compares them with
the build's, so CI executes each chapter once for both tests instead of twice.
``pytest`` collects book/ before tests/ (``testpaths`` in pyproject.toml); run
alone, the reproducibility test executes the chapters itself.
"""

from pathlib import Path
from unittest import mock

import jupytext
import nbval.plugin
import pytest
from nbval.plugin import IPyNbFile

BOOK = Path(__file__).parent / "book"
_RUNS: dict = {}   # chapter stem -> {"notebook": its notebook, "cells": code cells, "passed": cells that passed}


class MystNotebook(IPyNbFile):
    """nbval's notebook, read from a MyST-markdown chapter instead of an .ipynb."""

    def collect(self):
        notebook = jupytext.read(self.path)
        run = _RUNS[self.path.stem] = {"notebook": notebook, "cells": 0, "passed": set()}
        with mock.patch.object(nbval.plugin.nbformat, "read", lambda *args, **kwargs: notebook):
            for item in super().collect():
                run["cells"] += 1
                yield item


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
    if report.when == "call" and report.passed and isinstance(item.parent, MystNotebook):
        item.cell.outputs = list(item.test_outputs or [])
        _RUNS[item.parent.path.stem]["passed"].add(item.cell_num)


@pytest.fixture(scope="session")
def nbval_run():
    """``nbval_run(stem)``: the chapter as nbval executed it in this session (every cell passed), else None."""

    def lookup(stem):
        run = _RUNS.get(stem)
        if run is None or len(run["passed"]) != run["cells"] or run["cells"] == 0:
            return None
        return run["notebook"]

    return lookup
