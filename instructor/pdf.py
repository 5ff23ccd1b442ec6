"""The whole book as one PDF, printed by Chromium from the built pages: ``make pdf``.

    python -m instructor.pdf [--out _build/pdf/bayesian-hierarchical-models.pdf]

Reads the built book (``_build/html``, written by ``make book``), executes nothing
and needs no network. Steps:

1. The article of every page in ``_toc.yml`` goes, in reading order, into one
   HTML document (``_build/pdf-work/book.html``) styled by ``instructor/print.css``
   (with the book's stylesheets for code and cells only). In Chromium,
   ``instructor/print.js`` then makes it a book: each page's ids get the page's
   name as a prefix, so that links between chapters become links inside the
   document; interactive figures keep only their static image (the figure's
   first state); folded hints and hidden code are unfolded; each chapter's
   solutions move from under its exercises to a section "Solutions to the
   exercises of chapter N" at the chapter's end, and each exercise links to its
   solution. Each part opens with a page listing its chapters and each chapter
   with a list of its sections: those links are also how the PDF learns where
   each heading landed (Chromium writes a named destination for every link
   target).
2. Chromium (Debian's, through Playwright) typesets the maths with the book's
   MathJax and prints that document once: the body, pages numbered from 1.
3. The title page and the table of contents, whose page numbers are now known,
   are printed as a second, short document (front matter, numbered i, ii, ...).
4. pypdf puts the two together, points the contents' entries at their pages,
   adds bookmarks (parts, chapters, sections, solutions) and page labels.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import logging
import re
import subprocess
import time
from pathlib import Path

from instructor.common import (
    BUILD,
    HTML,
    MATHJAX,
    ROOT,
    Page,
    launch_chromium,
    log,
    require_built_book,
    toc,
)

OUT = BUILD / "pdf" / "bayesian-hierarchical-models.pdf"
WORK = BUILD / "pdf-work"
PRINT_CSS = Path(__file__).with_name("print.css")
PRINT_JS = Path(__file__).with_name("print.js")
TITLE = "Bayesian Hierarchical Models"
SUBTITLE = "An executable course in Python and Stan"
AUTHORS = "The Bayesian Hierarchical Models authors"
DEST_URL = "https://dest.invalid/"   # how the front matter's links name a destination in the body (rewritten)
# Of the book's stylesheets only these: the code's colours and the cells' layout. The theme's own (400 kB)
# doubled the time Chromium took to print; print.css sets the rest.
STYLESHEETS = ("pygments.css", "mystnb.", "bhm-interactive.css")
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"]
MARGIN = {"top": "18mm", "bottom": "20mm", "left": "18mm", "right": "18mm"}
FOOTER = ('<div style="width:100%; font-size:8pt; color:#555; font-family:sans-serif; text-align:center;">'
          '<span class="pageNumber"></span></div>')


def anchor(docname: str, fragment: str = "") -> str:
    """A document-wide id for ``fragment`` of page ``docname`` (the same rule as print.js)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"{docname.rsplit('/', 1)[-1]}--{fragment or 'top'}")


def _article(page: Page) -> tuple[str, list[str]]:
    """The article of a built page, without its scripts, images by absolute address; and its stylesheets."""
    text = page.html.read_text(encoding="utf-8")
    start, end = text.find('<article class="bd-article">'), text.rfind("</article>")
    if start < 0 or end < 0:
        raise SystemExit(f"{page.html}: no article.bd-article (is this a Jupyter Book page?)")
    stylesheets = [(page.html.parent / href).resolve().as_uri()
                   for href in re.findall(r'<link rel="stylesheet"[^>]*href="([^"?]+)', text[:start])
                   if any(name in href for name in STYLESHEETS)]
    # Without scripts: an interactive figure's states are megabytes of JSON, and nothing runs in print.
    article = re.sub(r"<script\b.*?</script>", "", text[start + len('<article class="bd-article">'):end], flags=re.S)
    article = re.sub(r'(<img\b[^>]*\bsrc=")(?!data:)([^"]+)"',
                     lambda m: f'{m.group(1)}{(page.html.parent / html.unescape(m.group(2))).resolve().as_uri()}"',
                     article)
    return article, stylesheets


def body_html() -> str:
    """One document: the root page, then each part's page and its chapters (prepared by print.js)."""
    root, parts = toc()
    stylesheets: list[str] = []
    blocks = []

    def page_block(page: Page, role: str, **data) -> str:
        article, links = _article(page)
        stylesheets.extend(link for link in links if link not in stylesheets)
        attributes = "".join(f' data-{key}="{html.escape(str(value))}"' for key, value in data.items())
        return (f'<section class="print-page print-{role}" data-docname="{page.docname}" data-role="{role}"'
                f'{attributes}>{article}</section>')

    blocks.append(page_block(root, "front", title="About this book"))
    number = 0
    for index, part in enumerate(parts, start=1):
        label = f"Part {ROMAN[index - 1]}"
        pages = []
        for page in part.pages:
            if part.numbered:
                number += 1
                part_href = anchor("part", str(index))
                opener = (f'<p class="print-chapter-label"><a class="print-keep" href="#{part_href}">{label}</a>'
                          f' · Chapter {number}</p>')
                block = page_block(page, "chapter", number=number, part=index)
                pages.append(block.replace(">", ">" + opener, 1))
            else:
                pages.append(page_block(page, "back", part=index).replace(
                    ">", f'><p class="print-chapter-label"><a class="print-keep" href="#{anchor("part", str(index))}">'
                         f'{html.escape(part.caption)}</a></p>', 1))
        listing = "".join(f'<li><a href="#{anchor(page.docname)}">'
                          + (f"{n}. " if part.numbered else "") + f'{html.escape(_title(page))}</a></li>'
                          for n, page in enumerate(part.pages, start=number - len(part.pages) + 1))
        blocks.append(f'<section class="print-part" id="{anchor("part", str(index))}" data-caption="'
                      f'{html.escape(part.caption)}" data-label="{label if part.numbered else ""}">'
                      + (f'<p class="print-part-label">{label}</p>' if part.numbered else "")
                      + f'<h1 class="print-part-title">{html.escape(part.caption)}</h1>'
                      f'<ul class="print-part-contents">{listing}</ul></section>')
        blocks.extend(pages)

    links = "\n".join(f'<link rel="stylesheet" href="{href}">' for href in stylesheets)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{TITLE}</title>
{links}
<link rel="stylesheet" href="{PRINT_CSS.as_uri()}">
<script>window.MathJax = {{options: {{processHtmlClass: "tex2jax_process|mathjax_process|math|output_area"}},
  startup: {{typeset: false}}}};</script>
<script src="{(MATHJAX / 'tex-chtml.js').as_uri()}"></script>
<script src="{PRINT_JS.as_uri()}"></script>
</head>
<body class="print-body">
<main class="bd-main"><div class="bd-content"><article class="bd-article print-book">
{"".join(blocks)}
</article></div></main>
</body>
</html>
"""


def _title(page: Page) -> str:
    """A page's title: the text of its first heading in the built page."""
    text = page.html.read_text(encoding="utf-8")
    match = re.search(r"<h1>(.*?)</h1>", text, flags=re.S)
    title = re.sub(r"<[^>]+>", "", match.group(1)) if match else page.stem
    return re.sub(r"^\d+\.\s*", "", html.unescape(title).replace("#", "").strip())


def front_html(outline: list[dict], parts: list[dict], pages: dict[str, int], built: str) -> str:
    """The title page and the contents, with the body's page numbers."""
    def line(entry, level):
        page = pages.get(entry["dest"], "")
        number = f'<span class="num">{entry["number"]}</span>' if entry.get("number") else ""
        title = entry.get("html") or html.escape(entry["title"])
        if entry.get("number"):
            title = re.sub(r'<span class="section-number">.*?</span>', "", title)
        return (f'<li class="toc-{level}"><a href="{DEST_URL}{entry["dest"]}">{number}'
                f'<span class="title">{title}</span><span class="leader"></span>'
                f'<span class="page">{page}</span></a></li>')

    rows = []
    for entry in outline:
        if entry["part"] is None:
            rows.append(line(entry, "chapter"))
    for part in parts:
        rows.append(f'<li class="toc-part"><a href="{DEST_URL}{part["dest"]}"><span class="title">'
                    f'{html.escape(part["title"])}</span></a></li>')
        for chapter in part["children"]:
            rows.append(line(chapter, "chapter"))
            rows.extend(line(section, "section") for section in chapter["children"])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{TITLE}</title>
<link rel="stylesheet" href="{PRINT_CSS.as_uri()}">
<script>window.MathJax = {{options: {{processHtmlClass: "math"}}}};</script>
<script src="{(MATHJAX / 'tex-chtml.js').as_uri()}"></script></head>
<body class="print-frontmatter">
<section class="title-page">
  <h1>{TITLE}</h1>
  <p class="subtitle">{SUBTITLE}</p>
  <p class="authors">{AUTHORS}</p>
  <div class="about">
    <p>The print edition of the book's web pages: every chapter as it ran when the book was built, so
    each number and figure comes from that run. Interactive figures appear in their first state; the
    solutions of each chapter's exercises follow the chapter.</p>
    <p>{html.escape(built)}</p>
  </div>
</section>
<section class="contents">
  <h1>Contents</h1>
  <ul>{"".join(rows)}</ul>
</section>
</body></html>
"""


def _built_note() -> str:
    index = HTML / "index.html"
    date = dt.datetime.fromtimestamp(index.stat().st_mtime, tz=dt.UTC).date().isoformat()
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = ""
    return f"Built on {date}" + (f" from commit {commit}." if commit else ".")


def _open(browser, source: Path):
    """A tab on ``source`` that records console errors, failed requests and any request that is not a local
    file (aborted)."""
    tab = browser.new_page()
    problems = []
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    tab.on("requestfailed", lambda r: problems.append(f"{r.url}: {r.failure}"))   # a stylesheet or image missing
    tab.route(re.compile(r"^(?!file:|data:).*"), lambda route: (problems.append(route.request.url), route.abort()))
    tab.goto(source.as_uri(), wait_until="load", timeout=180_000)
    return tab, problems


def _pdf(tab, target: Path, *, footer: bool) -> None:
    tab.pdf(path=str(target), format="A4", print_background=True, margin=MARGIN, display_header_footer=footer,
            header_template="<span></span>", footer_template=FOOTER if footer else "<span></span>")


def build(out: Path = OUT) -> Path:
    from playwright.sync_api import sync_playwright
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    require_built_book()
    logging.getLogger("pypdf").setLevel(logging.ERROR)   # Chromium's PDFs: "Object count ... exceeds trailer size"
    started = time.perf_counter()
    WORK.mkdir(parents=True, exist_ok=True)
    book_html = WORK / "book.html"
    book_html.write_text(body_html(), encoding="utf-8")
    log(f"pdf: {book_html.relative_to(ROOT)} assembled ({time.perf_counter() - started:.1f} s)")

    body_pdf, front_pdf, front_file = WORK / "body.pdf", WORK / "front.pdf", WORK / "front.html"
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            tab, problems = _open(browser, book_html)
            report = tab.evaluate("bhmPrepare()")
            failures = {key: report[key] for key in ("untypeset", "mathErrors", "broken") if report[key]}
            if problems or failures:
                raise SystemExit(f"pdf: {problems} {failures}")
            log(f"pdf: {report['typeset']} formulas typeset, {report['images']} images "
                f"({time.perf_counter() - started:.1f} s)")
            _pdf(tab, body_pdf, footer=True)
            tab.close()
            log(f"pdf: body printed ({time.perf_counter() - started:.1f} s)")

            body = PdfReader(body_pdf)
            pages = {str(name).lstrip("/"): body.get_destination_page_number(dest) + 1
                     for name, dest in body.named_destinations.items()}
            outline = report["outline"]
            pages.setdefault(outline[0]["dest"], 1)     # the first page of the body: no link points to it
            parts = []
            for index, part in enumerate(toc()[1], start=1):
                dest = anchor("part", str(index))
                label = f"Part {ROMAN[index - 1]}: " if part.numbered else ""
                parts.append({"title": label + part.caption, "dest": dest,
                              "children": [e for e in outline if e["part"] == index]})
            missing = [e["dest"] for e in _walk(parts + outline) if e["dest"] not in pages]
            if missing:
                raise SystemExit(f"pdf: no page found for {missing[:5]} (no link to them in the body?)")
            front_file.write_text(front_html(outline, parts, pages, _built_note()), encoding="utf-8")
            tab, problems = _open(browser, front_file)
            tab.evaluate("MathJax.startup.promise.then(() => document.fonts.ready).then(() => true)")
            _pdf(tab, front_pdf, footer=False)
            tab.close()
            if problems:
                raise SystemExit(f"pdf: front matter: {problems}")
        finally:
            browser.close()

    writer = PdfWriter(clone_from=body_pdf)
    front = PdfReader(front_pdf)
    n_front = len(front.pages)
    writer.merge(0, front, import_outline=False)
    # The contents' entries: from web addresses to the named destinations of the body.
    for page in writer.pages[:n_front]:
        for annotation in page.get("/Annots", []) or []:
            annotation = annotation.get_object()
            action = annotation.get("/A")
            uri = str(action.get_object().get("/URI", "")) if action is not None else ""
            if uri.startswith(DEST_URL):
                annotation[NameObject("/A")] = DictionaryObject({
                    NameObject("/S"): NameObject("/GoTo"), NameObject("/D"): TextStringObject(uri[len(DEST_URL):])})
    writer.set_page_label(0, n_front - 1, style="/r")
    writer.set_page_label(n_front, len(writer.pages) - 1, style="/D", start=1)

    def add(entries, parent=None):
        for entry in entries:
            item = writer.add_outline_item(title=plain(entry["title"]), page_number=n_front + pages[entry["dest"]] - 1,
                                          parent=parent)
            add(entry.get("children", []), item)

    writer.add_outline_item(title="Contents", page_number=min(1, n_front - 1))
    add([e for e in outline if e["part"] is None] + parts)
    writer.add_metadata({"/Title": TITLE, "/Author": AUTHORS, "/Subject": SUBTITLE})
    writer.page_mode = "/UseOutlines"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as handle:
        writer.write(handle)
    log(f"pdf: wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}, {len(writer.pages)} pages "
        f"({n_front} front matter), {out.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s")
    return out


# Bookmarks are plain text: the few commands that headings use, as Unicode.
TEX = {r"\alpha": "α", r"\beta": "β", r"\gamma": "γ", r"\mu": "μ", r"\sigma": "σ", r"\tau": "τ",
       r"\rho": "ρ", r"\theta": "θ", r"\eta": "η", r"\hat R": "R̂", r"\hat{R}": "R̂", r"\mid": "|"}


def plain(title: str) -> str:
    """A heading's text for a bookmark: inline TeX as Unicode (σ_0 → σ₀), without its delimiters."""
    def convert(tex: str) -> str:
        for command, char in sorted(TEX.items(), key=lambda kv: -len(kv[0])):
            tex = tex.replace(command, char)
        tex = re.sub(r"_\{?([0-9])\}?", lambda m: "₀₁₂₃₄₅₆₇₈₉"[int(m.group(1))], tex)
        return re.sub(r"[{}\\]", "", tex).strip()

    return re.sub(r"\\\((.*?)\\\)|\$(.*?)\$", lambda m: convert(m.group(1) or m.group(2)), title)


def _walk(entries):
    for entry in entries:
        yield entry
        yield from _walk(entry.get("children", []))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    build(args.out.resolve())


if __name__ == "__main__":
    main()
