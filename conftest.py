"""Run every chapter of the book (book/*.md, MyST notebooks) as a test with nbval.

No .ipynb is committed: nbval reads each chapter through jupytext and executes
it cell by cell in the current environment, from book/ as the build does
(``--nbval-lax``: a cell fails the test if it raises; the chapters' hidden
``assert`` cells carry the numerical checks).
"""

from pathlib import Path
from unittest import mock

import jupytext
import nbval.plugin
from nbval.plugin import IPyNbFile

BOOK = Path(__file__).parent / "book"


class MystNotebook(IPyNbFile):
    """nbval's notebook, read from a MyST-markdown chapter instead of an .ipynb."""

    def collect(self):
        notebook = jupytext.read(self.path)
        with mock.patch.object(nbval.plugin.nbformat, "read", lambda *args, **kwargs: notebook):
            yield from super().collect()


def pytest_collect_file(file_path, parent):
    if file_path.suffix != ".md" or file_path.parent != BOOK:
        return None
    if "kernelspec" not in jupytext.read(file_path).metadata:  # plain pages (index, bibliography)
        return None
    return MystNotebook.from_parent(parent, path=file_path)
