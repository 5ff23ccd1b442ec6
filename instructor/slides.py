"""Lecture slides from the executed chapters, one reveal.js deck per chapter: ``make slides``.

    python -m instructor.slides [--out _build/slides] [--chapter 01_bayesian_thinking ...]

What goes on which slide is written in ``instructor/slides/<chapter>.yml``, a
list of slides, each naming a section of the chapter and the passages of that
section it shows (formulas, lists, paragraphs, figures, tables, code, an
exercise) and the paragraphs read as its speaker notes. The chapter files
themselves carry no slide markup: a renamed heading or an edited formula makes
this script stop and name the slide whose passage it can no longer find.

The passages come from the built book (``_build/html``: the chapter's text as
rendered, with the numbers the run glued into it), the figures from the
executed notebooks (``_build/jupyter_execute``: each figure's PNG output).
Nothing is executed. reveal.js (npm, ``make slides`` installs it) and MathJax
(the book's own copy, from npm) are copied next to the decks, so a deck opens
from the file system with no network: ``_build/slides/<chapter>.html``, speaker
view on the key ``s``.

Selectors, one key each, value a 1-based index or a piece of the text (of the
TeX source for ``math``) that must match exactly one passage of the section; a
paragraph or a list is matched on its own words, without the numbers the run
glued into it, so that a rerun with other numbers finds the same passages:

    math, p, list, table   a display formula, paragraph, list, table
    code                   a code block (a cell's source or an included file)
    figure: <name>         a figure of the chapter (its ``mystnb.figure.name``)
    cell: <text>           the outputs of the code cell whose source contains <text>
    interactive: <id>      an interactive figure's static image
    exercise: <label>      the statement of an exercise
    bib: <text>            a bibliography entry

Options of a passage: ``fragment: true`` (appears on the next key press),
``items: [1, 3]`` (of a list: only these items), ``sentences: 2`` or
``[2, 3]`` or ``[-1, -1]`` (of a paragraph: only these), ``blocks: [data]``
(of a printed Stan program), ``outputs: [1]`` (of a cell), ``section: <id>``
(from another section), ``class: small``.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import html
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import yaml
from bs4 import BeautifulSoup, NavigableString, Tag

from instructor.common import BUILD, HTML, MATHJAX, ROOT, Page, chapters, executed_notebook, log, require_built_book

OUT = BUILD / "slides"
SPECS = Path(__file__).with_name("slides")
REVEAL = BUILD / "npm-slides" / "node_modules" / "reveal.js" / "dist"   # `make slides` installs it (npm)
SLIDES_CSS = Path(__file__).with_name("slides.css")
BOOK_TITLE = "Bayesian Hierarchical Models"
# The speaker view (reveal.js's notes plugin) copies a slide's notes into a window of its own, without
# MathJax's stylesheet: there the hidden MathML that MathJax keeps for screen readers would show beside
# each formula's SVG. This hides it in that window only.
NOTES_STYLE = "<style>.speaker-controls-notes mjx-assistive-mml { display: none; }</style>"
KINDS = ("math", "p", "list", "table", "code", "figure", "cell", "interactive", "exercise", "bib")
OPTIONS = ("fragment", "items", "class", "sentences", "outputs", "blocks", "section")


class SpecError(Exception):
    """A slide names a passage that the chapter no longer has (or has twice)."""


def _article(path: Path) -> Tag:
    text = path.read_text(encoding="utf-8")
    start, end = text.find('<article class="bd-article">'), text.rfind("</article>")
    if start < 0 or end < 0:
        raise SystemExit(f"{path}: no article.bd-article (is the book built?)")
    # Scripts dropped before parsing: an interactive figure's states are megabytes of JSON.
    text = re.sub(r"<script\b.*?</script>", "", text[start:end + len("</article>")], flags=re.S)
    article = BeautifulSoup(text, "html.parser").article
    for tag in article.select("a.headerlink"):
        tag.decompose()
    return article


QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"})


def _squash(text: str) -> str:
    """Text to match on: spaces collapsed, typographic quotes and dashes as typed."""
    return re.sub(r"\s+", " ", text.translate(QUOTES)).strip()


def _text(tag: Tag) -> str:
    return _squash(tag.get_text(" "))


def _prose(tag: Tag) -> str:
    """A passage's own words, without the numbers that the run glued into it (``{glue:text}``): a
    selector must not name a number that the next run may change."""
    tag = copy.copy(tag)
    for glued in tag.select("span.pasted-text, span.pasted-inline"):
        glued.replace_with(" ")
    return _text(tag)


@dataclass
class Chapter:
    page: Page
    number: int
    article: Tag
    notebook: dict
    bibliography: Tag

    @property
    def title(self) -> str:
        h1 = self.article.find("h1")
        return re.sub(r"^\d+\.\s*", "", _text(h1)) if h1 else self.page.stem

    def section(self, name: str | None) -> Tag:
        if name is None:
            return self.article
        found = self.article.find("section", id=name)
        if found is None:
            ids = [s["id"] for s in self.article.find_all("section", id=True) if "content" not in s["id"]]
            raise SpecError(f"no section {name!r} in the chapter (its sections: {', '.join(ids)})")
        return found

    def code_cells(self):
        for cell in self.notebook["cells"]:
            if cell["cell_type"] == "code":
                yield cell


SENTENCE_END = re.compile(r"(?<=[.?!])\s+(?=[A-Z(\u201c\"])")


def _sentences(paragraph: Tag, which) -> Tag:
    """Some sentences of a paragraph: ``2`` (the first two), ``[2, 3]`` (the second and third), ``[-1, -1]``.

    Inline markup (formulas, emphasis, links) is never cut: only the paragraph's own text splits.
    """
    sentences: list[list] = [[]]
    for child in list(paragraph.children):
        if isinstance(child, NavigableString):
            pieces = SENTENCE_END.split(str(child))
            for index, piece in enumerate(pieces):
                if index:
                    sentences.append([])
                if piece:
                    sentences[-1].append(piece)
        else:
            sentences[-1].append(child)
    sentences = [s for s in sentences if "".join(str(x) for x in s).strip()]
    first, last = (1, which) if isinstance(which, int) else (which[0], which[-1])
    first, last = (n + len(sentences) + 1 if n < 0 else n for n in (first, last))   # -1: the last sentence
    if not 1 <= first <= last <= len(sentences):
        raise SpecError(f"sentences {which}: the paragraph has {len(sentences)}")
    chosen = sentences[first - 1:last]
    out = BeautifulSoup("", "html.parser").new_tag("p")
    for number, sentence in enumerate(chosen):
        if number:
            out.append(" ")
        for index, node in enumerate(sentence):
            if isinstance(node, Tag):
                out.append(copy.copy(node))
                continue
            text = str(node).replace("\n", " ")
            if index == 0:
                text = text.lstrip()
            if index == len(sentence) - 1:
                text = text.rstrip()
            out.append(NavigableString(text))
    return out


def _program_blocks(program: str, names: list[str]) -> str:
    """Some blocks of a printed Stan program (``data``, ``parameters``, ``model``, ...), in their order."""
    lines = program.splitlines()
    kept = []
    for name in names:
        starts = [i for i, line in enumerate(lines) if re.match(rf"^{re.escape(name)}\s*\{{", line)]
        if len(starts) != 1:
            raise SpecError(f"block {name!r}: {len(starts)} in the program, not one")
        end = next((i for i in range(starts[0], len(lines)) if lines[i].startswith("}")), None)
        if end is None:
            raise SpecError(f"block {name!r} has no closing brace at the start of a line")
        kept.extend(lines[starts[0]:end + 1])
    return "\n".join(kept)


def _pick(candidates: list[Tag], selector, kind: str, text=_text) -> Tag:
    """One of ``candidates``: the n-th (int, from 1) or the only one whose text contains ``selector``."""
    if isinstance(selector, int):
        if not 1 <= selector <= len(candidates):
            raise SpecError(f"{kind} {selector}: the section has {len(candidates)}")
        return candidates[selector - 1]
    wanted = _squash(str(selector))
    found = [c for c in candidates if wanted in text(c)]
    if len(found) != 1:
        raise SpecError(f"{kind} {selector!r}: {len(found)} matches in the section, not one")
    return found[0]


class Deck:
    """One chapter's deck: its slides as HTML, the figures it writes next to it."""

    def __init__(self, chapter: Chapter, spec: dict, out: Path):
        self.chapter = chapter
        self.spec = spec
        self.out = out
        self.figures = out / chapter.page.stem
        self.written: list[Path] = []

    # -- passages --------------------------------------------------------------
    def passage(self, item: dict, section: Tag) -> tuple[str, list[str]]:
        """The HTML of one passage, and the notes it brings (a figure's caption)."""
        kinds = [k for k in item if k in KINDS]
        unknown = [k for k in item if k not in KINDS + OPTIONS]
        if len(kinds) != 1 or unknown:
            raise SpecError(f"a passage needs exactly one of {', '.join(KINDS)} (got {sorted(item)})")
        kind = kinds[0]
        value = item[kind]
        if "section" in item:                       # a passage from another section of the chapter
            section = self.chapter.section(item["section"])
        notes: list[str] = []
        if kind == "math":
            tag = _pick(section.select("div.math"), value, kind, text=lambda t: _squash(t.get_text()))
            body = str(tag)
        elif kind == "p":
            candidates = [p for p in section.find_all("p") if not p.find_parent(["figcaption", "table", "li"])
                          and not p.find_parent("div", class_="cell_output")
                          and "admonition-title" not in (p.get("class") or [])]
            tag = _pick(candidates, value, kind, text=_prose)
            if "sentences" in item:
                tag = _sentences(tag, item["sentences"])
            body = self._clean(tag)
        elif kind == "list":
            tag = copy.copy(_pick(section.find_all(["ul", "ol"]), value, kind, text=_prose))
            items = tag.find_all("li", recursive=False)
            if "items" in item:
                keep = set(item["items"])
                for index, li in enumerate(items, start=1):
                    if index not in keep:
                        li.decompose()
            if item.get("fragment"):
                for li in tag.find_all("li", recursive=False):
                    li["class"] = (li.get("class") or []) + ["fragment"]
                item = {k: v for k, v in item.items() if k != "fragment"}
            body = self._clean(tag)
        elif kind == "table":
            tables = section.find_all("table")
            body = self._clean(_pick(tables, value, kind))
        elif kind == "code":
            blocks = [pre for pre in section.select("div.highlight pre") if not pre.find_parent(class_="cell_output")]
            body = f'<div class="code">{_pick(blocks, value, kind)}</div>'
        elif kind == "figure":
            body, caption = self.figure(str(value))
            notes.append(caption)
        elif kind == "cell":
            body = self.cell(str(value), item.get("outputs"), item.get("blocks"))
        elif kind == "interactive":
            body, caption = self.interactive(str(value))
            notes.append(caption)
        elif kind == "exercise":
            box = self.chapter.article.find("div", id=str(value))
            if box is None or "exercise" not in (box.get("class") or []):
                raise SpecError(f"no exercise {value!r} in the chapter")
            body = f'<div class="exercise">{self._clean(box)}</div>'
        else:  # bib
            entries = self.chapter.bibliography.select("div.citation")
            entry = _pick(entries, value, kind)
            body = f'<div class="bib">{self._clean(entry.find("p"))}</div>'
        classes = (["fragment"] if item.get("fragment") else []) + ([item["class"]] if item.get("class") else [])
        if classes:
            body = f'<div class="{" ".join(classes)}">{body}</div>'
        return body, notes

    def _clean(self, tag: Tag) -> str:
        """A passage's HTML for a slide: links inside the book become plain text."""
        tag = copy.copy(tag)
        for a in tag.find_all("a"):
            href = a.get("href", "")
            if re.match(r"^[a-z][a-z0-9+.-]*:", href):
                a["target"] = "_blank"
            else:
                a.unwrap()
        for attr in ("id",):
            for element in [tag] + tag.find_all(True):
                element.attrs.pop(attr, None)
        return str(tag)

    def _png(self, data: str, name: str) -> str:
        """Write one PNG output of the executed notebook next to the deck; its address from the deck."""
        raw = base64.b64decode(data)
        path = self.figures / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != raw:
            path.write_bytes(raw)
        self.written.append(path)
        return f"{self.chapter.page.stem}/{path.name}"

    def figure(self, name: str) -> tuple[str, str]:
        for cell in self.chapter.code_cells():
            if ((cell.get("metadata") or {}).get("mystnb") or {}).get("figure", {}).get("name") == name:
                images = [o["data"]["image/png"] for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
                if len(images) != 1:
                    raise SpecError(f"figure {name!r}: {len(images)} PNG outputs in the executed notebook")
                src = self._png(images[0], name)
                html_figure = self.chapter.article.find("figure", id=name)
                caption = html_figure.select_one(".caption-text") if html_figure else None
                number = html_figure.select_one(".caption-number") if html_figure else None
                note = (f"<p><strong>{_text(number)}</strong> {caption.decode_contents()}</p>" if caption else "")
                alt = html.escape(_text(caption)[:200]) if caption else name
                return f'<figure><img src="{src}" alt="{alt}"></figure>', note
        raise SpecError(f"no figure {name!r} in the executed notebook (a cell with mystnb.figure.name)")

    def cell(self, source: str, outputs: list[int] | None, blocks: list[str] | None = None) -> str:
        found = [c for c in self.chapter.code_cells() if source in "".join(c["source"])]
        if len(found) != 1:
            raise SpecError(f"cell {source!r}: {len(found)} code cells contain it, not one")
        cell = found[0]
        parts = []
        for index, output in enumerate(cell.get("outputs", []), start=1):
            if outputs and index not in outputs:
                continue
            data = output.get("data", {})
            if "image/png" in data:
                digest = hashlib.sha256(data["image/png"].encode()).hexdigest()[:12]
                parts.append(f'<figure><img src="{self._png(data["image/png"], "cell-" + digest)}" alt=""></figure>')
            elif "text/html" in data:
                parts.append(f'<div class="output-html">{"".join(data["text/html"])}</div>')
            elif output.get("output_type") == "stream" and output.get("name") == "stdout":
                text = "".join(output["text"])
                if blocks:
                    text = _program_blocks(text, blocks)
                parts.append(f'<pre class="output">{html.escape(text)}</pre>')
            elif "text/plain" in data:
                parts.append(f'<pre class="output">{html.escape("".join(data["text/plain"]))}</pre>')
        if not parts:
            raise SpecError(f"cell {source!r}: no output to show")
        return "".join(parts)

    def interactive(self, figure_id: str) -> tuple[str, str]:
        box = self.chapter.article.find("div", id=figure_id)
        image = box.select_one(".bhm-fallback img") if box else None
        if image is None or not image.get("src", "").startswith("data:image/png;base64,"):
            raise SpecError(f"no interactive figure {figure_id!r} with a static image")
        src = self._png(image["src"].split(",", 1)[1], figure_id)
        note = ("<p>In the web book this figure is interactive; here it shows its first state.</p>")
        return f'<figure><img src="{src}" alt="{html.escape(image.get("alt", ""))}"></figure>', note

    # -- slides --------------------------------------------------------------------
    def slide(self, spec: dict) -> str:
        section = self.chapter.section(spec.get("section"))
        title = spec.get("title")
        if not title:
            heading = section.find(["h1", "h2", "h3"])
            title = re.sub(r"^[\d.]+\s*", "", _text(heading)) if heading else ""
        shown, notes = [], []
        for item in spec.get("show", []):
            body, extra = self.passage(item, section)
            shown.append(body)
            notes.extend(extra)
        for item in spec.get("notes", [] if "notes" in spec else [{"p": 1}] if section.find("p") else []):
            body, extra = self.passage(item, section)
            notes.append(body)
        layout = spec.get("layout", "")
        classes = " ".join(c for c in ("slide", layout) if c)
        aside = f'<aside class="notes">{NOTES_STYLE}{"".join(notes)}</aside>' if notes else ""
        return (f'<section class="{classes}" data-section="{section.get("id", "")}"><div class="frame">'
                f'<h2>{html.escape(title)}</h2><div class="body">{"".join(shown)}</div></div>{aside}</section>')

    def title_slide(self) -> str:
        chapter = self.chapter
        subtitle = self.spec.get("subtitle", "")
        overview = chapter.article.find("section", id="overview")
        first = overview.find("p", recursive=False) if overview else None
        notes = f'<aside class="notes">{NOTES_STYLE}{self._clean(first)}</aside>' if first else ""
        return (f'<section class="title-slide"><div class="frame"><p class="book">{BOOK_TITLE}</p>'
                f'<p class="chapter">Chapter {chapter.number}</p><h1>{html.escape(chapter.title)}</h1>'
                + (f'<p class="subtitle">{html.escape(subtitle)}</p>' if subtitle else "")
                + f"</div>{notes}</section>")

    def html(self) -> str:
        slides = [self.title_slide()]
        for index, spec in enumerate(self.spec.get("slides", []), start=1):
            try:
                slides.append(self.slide(spec))
            except SpecError as error:
                where = f"instructor/slides/{self.chapter.page.stem}.yml, slide {index} ({spec.get('title', '')!r})"
                raise SystemExit(f"{where}: {error}") from None
        stem = self.chapter.page.stem
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{self.chapter.number}. {html.escape(self.chapter.title)} · {BOOK_TITLE}</title>
<link rel="stylesheet" href="assets/reveal/reset.css">
<link rel="stylesheet" href="assets/reveal/reveal.css">
<link rel="stylesheet" href="assets/reveal/theme/white.css">
<link rel="stylesheet" href="assets/pygments.css">
<link rel="stylesheet" href="assets/slides.css">
<script>
window.MathJax = {{
  tex: {{inlineMath: [["\\\\(", "\\\\)"]], displayMath: [["\\\\[", "\\\\]"]], processEscapes: false}},
  svg: {{fontCache: "local"}},   /* each formula self-contained: the speaker view shows the notes' formulas too */
  startup: {{typeset: true}}
}};
</script>
<script src="assets/mathjax/tex-svg.js"></script>
</head>
<body>
<div class="reveal" data-chapter="{stem}">
<div class="slides">
{chr(10).join(slides)}
</div>
</div>
<script src="assets/reveal/reveal.js"></script>
<script src="assets/reveal/plugin/notes.js"></script>
<script>
Reveal.initialize({{
  width: 1280, height: 720, margin: 0.04, center: false, hash: true,
  slideNumber: "c/t", transition: "fade", transitionSpeed: "fast",
  plugins: [RevealNotes]
}});
</script>
</body>
</html>
"""


def _assets(out: Path) -> None:
    """reveal.js and MathJax (both from npm) and the stylesheets, next to the decks."""
    if not (REVEAL / "reveal.js").is_file():
        raise SystemExit(f"{REVEAL.relative_to(ROOT)} is missing: `make slides` installs reveal.js from npm")
    assets = out / "assets"
    for source, target in ((REVEAL, assets / "reveal"), (MATHJAX, assets / "mathjax")):
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.map", "*.mjs", "*.d.ts"))
    shutil.copy2(SLIDES_CSS, assets / "slides.css")
    shutil.copy2(HTML / "_static" / "pygments.css", assets / "pygments.css")


def build(out: Path = OUT, only: list[str] | None = None) -> list[Path]:
    require_built_book()
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    _assets(out)
    bibliography = _article(HTML / "book" / "bibliography.html")
    decks = []
    for number, page in enumerate(chapters(), start=1):
        spec_file = SPECS / f"{page.stem}.yml"
        if only and page.stem not in only:
            continue
        if not spec_file.is_file():
            raise SystemExit(f"{spec_file.relative_to(ROOT)} is missing: every chapter has a deck")
        spec = yaml.safe_load(spec_file.read_text(encoding="utf-8")) or {}
        chapter = Chapter(page, number, _article(page.html), executed_notebook(page), bibliography)
        deck = Deck(chapter, spec, out)
        if deck.figures.exists():
            shutil.rmtree(deck.figures)
        target = out / f"{page.stem}.html"
        target.write_text(deck.html(), encoding="utf-8")
        decks.append(target)
        log(f"slides: {target.relative_to(ROOT)}: {len(spec.get('slides', [])) + 1} slides, "
            f"{len(set(deck.written))} figures")
    log(f"slides: {len(decks)} decks in {time.perf_counter() - started:.1f} s")
    return decks


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--chapter", action="append", help="only this chapter (its file name without .md)")
    args = parser.parse_args(argv)
    build(args.out.resolve(), args.chapter)


if __name__ == "__main__":
    main()
