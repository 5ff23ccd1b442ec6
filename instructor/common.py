"""What the PDF and the slides share: the book's table of contents, its built pages, Chromium.

Both read the built book (``_build/html`` and the executed notebooks in
``_build/jupyter_execute``); neither executes a chapter.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
HTML = BUILD / "html"
EXECUTED = BUILD / "jupyter_execute"
MATHJAX = BUILD / "assets" / "mathjax"      # the Makefile's MATHJAX rule: MathJax 3 from npm

# Every Chromium the project starts (the PDF, the slides and their tests, tests/test_browser.py): no sandbox
# (root in CI), nothing in the background that would reach the network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
]


@dataclass
class Page:
    docname: str            # "book/01_bayesian_thinking"
    part: str | None        # the _toc.yml caption of its part
    numbered: bool

    @property
    def stem(self) -> str:
        return self.docname.rsplit("/", 1)[-1]

    @property
    def html(self) -> Path:
        return HTML / f"{self.docname}.html"

    @property
    def notebook(self) -> Path:
        return EXECUTED / f"{self.docname}.ipynb"


@dataclass
class Part:
    caption: str
    numbered: bool
    pages: list[Page] = field(default_factory=list)


def toc() -> tuple[Page, list[Part]]:
    """The root page and the parts of _toc.yml, in reading order."""
    spec = yaml.safe_load((ROOT / "_toc.yml").read_text())
    root = Page(re.sub(r"\.(md|ipynb)$", "", spec["root"]), None, False)
    parts = []
    for part in spec.get("parts") or [{"caption": "", "chapters": spec.get("chapters", [])}]:
        numbered = bool(part.get("numbered"))
        entry = Part(part.get("caption", ""), numbered)
        for chapter in part.get("chapters") or []:
            if chapter.get("sections"):
                raise SystemExit("_toc.yml: sections inside chapters are not supported by the PDF and slides yet")
            entry.pages.append(Page(re.sub(r"\.(md|ipynb)$", "", chapter["file"]), entry.caption, numbered))
        parts.append(entry)
    return root, parts


def chapters() -> list[Page]:
    """The numbered chapters, in order."""
    _, parts = toc()
    return [page for part in parts if part.numbered for page in part.pages]


def executed_notebook(page: Page) -> dict:
    """The executed chapter, with its outputs.

    ``make book`` writes it to ``_build/jupyter_execute``. When a chapter's outputs came from the
    execution cache (its code unchanged since it last ran), myst-nb 1.4 writes that file without
    them: the outputs are then taken from the cache, matched to the chapter's code as myst-nb does.
    """
    import json

    notebook = json.loads(page.notebook.read_text(encoding="utf-8"))
    if any(cell.get("outputs") for cell in notebook["cells"] if cell["cell_type"] == "code"):
        return notebook
    import jupytext
    from jupyter_cache import get_cache

    cache_dir = BUILD / ".jupyter_cache"
    source = ROOT / f"{page.docname}.md"
    try:
        _, merged = get_cache(str(cache_dir)).merge_match_into_notebook(jupytext.read(source))
    except KeyError as error:
        raise SystemExit(f"{page.notebook.relative_to(ROOT)} has no outputs and {cache_dir.relative_to(ROOT)} "
                         f"has no run of {source.relative_to(ROOT)}: run `make book`") from error
    return json.loads(jupytext.writes(merged, fmt="ipynb"))


def require_built_book() -> None:
    missing = [p for p in (HTML / "index.html", MATHJAX / "tex-chtml.js") if not p.is_file()]
    missing += [page.notebook for page in chapters() if not page.notebook.is_file()]
    if missing:
        names = ", ".join(str(p.relative_to(ROOT)) for p in missing[:3])
        raise SystemExit(f"the book is not built ({names} missing): run `make book` first")


def chromium_executable() -> str:
    for candidate in (os.environ.get("BHM_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise SystemExit(
        "no Chromium (looked at $BHM_CHROMIUM, chromium on PATH, /usr/bin/chromium): "
        "`make chromium` installs Debian's package when run as root"
    )


def launch_chromium(playwright, executable: str | None = None, *, timeout_ms: int = 90_000, attempts: int = 2):
    """Headless Chromium through Playwright, with :data:`CHROMIUM_ARGS`.

    A start that hangs is given one more try with a fresh profile before the
    error is raised: in one CI run, two starts waited past their 60-s limit
    after the run's earlier starts had worked.
    """
    from playwright.sync_api import TimeoutError as LaunchTimeout

    executable = executable or chromium_executable()
    for attempt in range(1, attempts + 1):
        try:
            return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, timeout=timeout_ms)
        except LaunchTimeout:
            if attempt == attempts:
                raise
            log(f"chromium: no start within {timeout_ms / 1000:.0f} s (try {attempt} of {attempts}); trying again")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
