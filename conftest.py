"""Run every chapter of the book (book/*.md, MyST notebooks) as a test with nbval.

No .ipynb is committed: each chapter is converted with jupytext into
_build/nbval/ and nbval executes it cell by cell in the current environment
(``--nbval-lax``: a cell fails the test if it raises; the chapters' hidden
``assert`` cells carry the numerical checks).
"""

from pathlib import Path

import jupytext
from nbval.plugin import IPyNbFile

ROOT = Path(__file__).parent
OUT = ROOT / "_build" / "nbval"


def pytest_collect_file(file_path, parent):
    if file_path.suffix != ".md" or file_path.parent != ROOT / "book":
        return None
    notebook = jupytext.read(file_path)
    if "kernelspec" not in notebook.metadata:  # plain pages (index, bibliography) are not notebooks
        return None
    OUT.mkdir(parents=True, exist_ok=True)
    target = OUT / f"{file_path.stem}.ipynb"
    jupytext.write(notebook, target)
    return IPyNbFile.from_parent(parent, path=target)
