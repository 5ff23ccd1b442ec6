"""The print edition, _build/pdf/bayesian-hierarchical-models.pdf (`make pdf`, instructor/pdf.py).

`make test` builds it after the book. These tests read the PDF and compare it
with the built pages it was printed from:

* a sane page count, the front matter numbered i, ii, ... and the body from 1;
* every chapter's title in the text, a bookmark for it, and the contents' page
  number of each chapter and section pointing at the page that holds it;
* every figure of the built pages in the PDF (its images and its "Fig. N.M"
  captions), including the static image of each interactive figure;
* every exercise with its solution, the solutions after each chapter's exercises;
* no raw TeX in the text (``pdftotext``; poppler-utils, which `make poppler`
  installs as root, else pypdf's own text extraction): formulas were typeset.
  TeX that the book shows as code (a plot label in a cell) is allowed.

Without Chromium the PDF cannot be printed and these tests skip; with Chromium
and no PDF they fail: run `make pdf`.
"""

import functools
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PDF = ROOT / "_build" / "pdf" / "bayesian-hierarchical-models.pdf"
HTML = ROOT / "_build" / "html"
CHAPTERS = sorted((ROOT / "book").glob("0[0-9]_*.md"))
RAW_TEX = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\$[^$\n]{0,80}\\[A-Za-z]+|"
                     r"\\(?:widehat|frac|mathcal|mathbb|sigma|mu|alpha|theta|sum|sqrt|hat|bar|"
                     r"operatorname|text|left|right|mid|sim|propto|infty)\b")


def _chromium() -> str | None:
    for candidate in (os.environ.get("BHM_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="module")
def reader():
    if not PDF.is_file():
        if _chromium() is None:
            pytest.skip("no Chromium to print the PDF with: `make chromium` installs Debian's package as root")
        pytest.fail(f"{PDF.relative_to(ROOT)} is missing: run `make pdf` (`make test` does)")
    pypdf = pytest.importorskip("pypdf")
    return pypdf.PdfReader(PDF)


@pytest.fixture(scope="module")
def pages_text(reader):
    """The text of every page, by pdftotext when poppler-utils is there, else by pypdf."""
    if shutil.which("pdftotext"):
        out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(PDF), "-"], capture_output=True, check=True).stdout
        pages = out.decode("utf-8").split("\f")
        return pages[: len(reader.pages)]
    return [page.extract_text() or "" for page in reader.pages]


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("’", "'").replace("‑", "-")).strip()


class _Page(HTMLParser):
    """What a built page holds: its title, images, figure numbers, exercises, and the text of its code."""

    def __init__(self):
        super().__init__()
        self.stack, self.h1, self.images, self.code = [], "", 0, []
        self.in_h1 = self.in_pre = 0
        self.in_number = False
        self.numbers = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "h1":
            self.in_h1 += 1
        elif tag == "pre":
            self.in_pre += 1
            self.code.append("")
        elif tag == "img":
            self.images += 1
        elif tag == "span" and "caption-number" in (attrs.get("class") or ""):
            self.in_number = True
            self.numbers.append("")

    def handle_endtag(self, tag):
        if tag == "h1":
            self.in_h1 -= 1
        elif tag == "pre":
            self.in_pre -= 1
        elif tag == "span" and self.in_number:
            self.in_number = False

    def handle_data(self, data):
        if self.in_h1 and not self.h1:
            self.h1 = data if data.strip() and not re.match(r"^\d+\.\s*$", data) else ""
        if self.in_pre:
            self.code[-1] += data
        if self.in_number:
            self.numbers[-1] += data


@functools.cache
def built(stem: str) -> _Page:
    parser = _Page()
    text = (HTML / "book" / f"{stem}.html").read_text(encoding="utf-8")
    start, end = text.find('<article class="bd-article">'), text.rfind("</article>")
    parser.feed(re.sub(r"<script\b.*?</script>", "", text[start:end], flags=re.S))
    return parser


def test_page_count_and_labels(reader):
    pages = len(reader.pages)
    assert 15 * len(CHAPTERS) <= pages <= 800, f"{pages} pages for {len(CHAPTERS)} chapters"
    labels = reader.page_labels
    assert labels[0] == "i" and "1" in labels, labels[:8]
    front = labels.index("1")
    assert all(re.fullmatch(r"[ivx]+", label) for label in labels[:front]), labels[:front]
    assert labels[front:] == [str(n) for n in range(1, pages - front + 1)]


def test_chapter_titles_and_bookmarks(reader, pages_text):
    text = _squash(" ".join(pages_text))
    outline = []

    def walk(items, depth=0):
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                outline.append((depth, item.title, reader.get_destination_page_number(item)))

    walk(reader.outline)
    titles = {title: page for _, title, page in outline}
    for chapter in CHAPTERS:
        title = _squash(built(chapter.stem).h1)
        assert title and title in text, f"{chapter.stem}: title {title!r} not in the PDF's text"
        marks = [(name, page) for name, page in titles.items() if _squash(name).endswith(title)]
        assert marks, f"{chapter.stem}: no bookmark for {title!r} (bookmarks: {list(titles)[:12]})"
        page = marks[0][1]
        assert title in _squash(pages_text[page]), f"{chapter.stem}: its bookmark points at a page without {title!r}"
    assert any(depth >= 2 for depth, _, _ in outline), "no section bookmarks under the chapters"


def test_contents_point_at_their_pages(reader, pages_text):
    """Each contents line 'title ..... N' names the page (label N) whose text holds the title."""
    labels = reader.page_labels
    front = labels.index("1")
    if shutil.which("pdftotext"):    # in layout mode, so that each title and its page number share a line
        contents = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", "-l", str(front), str(PDF), "-"],
                                  capture_output=True, check=True).stdout.decode("utf-8")
    else:
        contents = "\n".join(page.extract_text(extraction_mode="layout") for page in reader.pages[:front])
    checked = 0
    for line in contents.splitlines():
        match = re.match(r"^\s*(?:\d+\s+)?(\d+\.\d+\.\s+)?(.+)\s(\d+)\s*$", line)
        if not match or "Contents" in line:
            continue
        title, label = _squash(match.group(2)), match.group(3)
        if len(title) < 6 or label not in labels:
            continue
        # its words: a formula in a heading comes out differently, and in another order, in the two texts
        words = set(re.findall(r"[a-z]{3,}", title.lower()))
        page_text = set(re.findall(r"[a-z]{3,}", pages_text[labels.index(label)].lower()))
        assert words <= page_text, f"contents: {title!r} on page {label}, which does not contain it"
        checked += 1
    assert checked >= 5 * len(CHAPTERS), f"only {checked} contents lines could be read"
    # and the contents' entries are links into the book
    links = 0
    for page in reader.pages[:front]:
        for annotation in page.get("/Annots", []) or []:
            action = annotation.get_object().get("/A")
            if action is not None and action.get_object().get("/S") == "/GoTo":
                links += 1
    assert links >= checked, f"{links} links in the contents for {checked} entries"


def test_every_figure_is_there(reader, pages_text):
    images = set()
    for page in reader.pages:
        resources = page.get("/Resources")
        objects = resources.get_object().get("/XObject") if resources else None
        for ref in (objects.get_object().values() if objects else []):
            if ref.get_object().get("/Subtype") == "/Image":
                images.add(ref.idnum)
    expected = sum(built(chapter.stem).images for chapter in CHAPTERS)
    assert len(images) >= expected, f"{len(images)} images in the PDF, {expected} in the chapters' pages"
    text = _squash(" ".join(pages_text))
    for chapter in CHAPTERS:
        for number in built(chapter.stem).numbers:
            number = _squash(number)
            if number.startswith("Fig"):
                assert number in text, f"{chapter.stem}: {number} not in the PDF"


def test_exercises_with_solutions(pages_text):
    text = _squash(" ".join(pages_text))
    for index, chapter in enumerate(CHAPTERS, start=1):
        exercises = [n for n in built(chapter.stem).numbers if n.startswith("Exercise")]
        assert exercises, f"{chapter.stem}: no exercises in the built page"
        heading = f"Solutions to the exercises of chapter {index}"
        assert heading in text, f"no {heading!r}"
        solutions = text[text.index(heading):]
        for exercise in exercises:
            number = _squash(exercise)
            assert number in text, f"{number} not in the PDF"
            assert f"Solution to {number}" in solutions, f"no solution to {number} after {heading!r}"


def test_no_raw_tex(pages_text):
    code = _squash(" ".join(" ".join(built(chapter.stem).code) for chapter in CHAPTERS))
    leftovers = []
    for number, page in enumerate(pages_text, start=1):
        for line in page.splitlines():
            if RAW_TEX.search(line) and _squash(line) not in code:
                leftovers.append(f"page {number}: {line.strip()[:100]}")
    assert not leftovers, "raw TeX in the PDF's text (not inside code):\n" + "\n".join(leftovers[:20])
