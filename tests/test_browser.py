"""Every page of the built book, read in a real browser with the network off.

`make test` builds the book first (`make book`), then this opens each page that
_toc.yml lists, from _build/html served on 127.0.0.1, in headless Chromium
(Debian's, driven by Playwright; `make chromium` installs it as root). Any request
to another host is aborted and counted as a failure: the book must read offline.
On each page it waits for MathJax to typeset and checks that

* every formula was typeset (each ``.math`` element holds MathJax output, no
  MathJax error, no raw ``$$``, ``\\(``, ``\\[`` or ``\\begin{`` in the visible text);
* every image loaded (``naturalWidth > 0``);
* the console shows no error, and no request failed or answered >= 400;
* nothing inside the article is wider than the text column, at 1280 px and at
  800 px (code, outputs, tables, formulas, figures: no sideways scrolling);
* no stderr output, and no path of the build machine (the repository's folder,
  ``site-packages``, the home folder) anywhere in the page;

and saves a full-page screenshot to _build/screenshots/<page>.png.

Without a built book these tests fail (they do not skip): run `make book`, or
`make test`, which does. Without Chromium they skip and say so.
"""

import functools
import http.server
import json
import re
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import jupytext
import pytest
import yaml

ROOT = Path(__file__).parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
TIMEOUT_MS = 60_000


def _toc_pages() -> list[str]:
    """The docnames of every page in _toc.yml, in reading order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections"))

    walk(toc.get("chapters"))
    for part in toc.get("parts") or []:
        walk(part.get("chapters"))
    return [re.sub(r"\.(md|ipynb)$", "", page) for page in pages]


PAGES = _toc_pages()


def _is_notebook(page: str) -> bool:
    return "kernelspec" in jupytext.read(ROOT / f"{page}.md").metadata


def _built_page(page: str) -> Path:
    path = HTML / f"{page}.html"
    if not path.is_file():
        pytest.fail(
            f"{path.relative_to(ROOT)} is missing: the book is not built (or is older than "
            "_toc.yml). Run `make book` first; `make test` does."
        )
    return path


# ---------------------------------------------------------------------------
# Download menu: no browser needed.


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and "href" in attrs:
            self.hrefs.append(attrs["href"])


@pytest.mark.parametrize("page", PAGES)
def test_download_menu(page):
    """Every page offers its source .md; a chapter also its executed .ipynb."""
    html_path = _built_page(page)
    parser = _Links()
    parser.feed(html_path.read_text(encoding="utf-8"))
    sources = [h for h in parser.hrefs if "_sources/" in h]
    wanted = [".md"] + ([".ipynb"] if _is_notebook(page) else [])
    for suffix in wanted:
        expected = f"_sources/{page}{suffix}"
        links = [h for h in sources if h.split("?")[0].endswith(expected)]
        assert links, f"{page}: no download link to {expected} (found {sources})"
        target = (html_path.parent / links[0].split("?")[0]).resolve()
        assert target.is_file(), f"{page}: download link {links[0]} points at a missing file"
        if suffix == ".ipynb":
            notebook = json.loads(target.read_text(encoding="utf-8"))
            code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
            assert code and any(c.get("outputs") for c in code), f"{target} is not an executed notebook"


# ---------------------------------------------------------------------------
# The browser.


@pytest.fixture(scope="module")
def site():
    """_build/html over HTTP on 127.0.0.1 (a free port), in a thread."""
    if not (HTML / "index.html").is_file():
        pytest.fail("_build/html is missing: the book is not built. Run `make book` first; `make test` does.")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(HTML)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()




# Text nodes a reader sees, outside code, outputs and MathJax's own markup.
VISIBLE_TEXT = """() => {
  const skip = 'pre, code, script, style, textarea, mjx-container, .highlight, .output';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const parts = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (parent && !parent.closest(skip)) parts.push(node.textContent);
  }
  return parts.join(' ');
}"""

# After MathJax's first typesetting pass: what it did, and what it left.
MATH_REPORT = """async () => {
  const math = Array.from(document.querySelectorAll('.math'));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  return {
    mathjax: Boolean(window.MathJax && MathJax.version),
    math: math.length,
    untypeset: math.filter(el => !el.querySelector('mjx-container')).map(el => el.textContent.slice(0, 80)),
    containers: document.querySelectorAll('mjx-container').length,
    errors: Array.from(document.querySelectorAll('mjx-merror')).map(el => el.textContent.slice(0, 80)),
  };
}"""

BROKEN_IMAGES = """async () => {
  const images = Array.from(document.images);
  images.forEach(img => { img.loading = 'eager'; });
  await Promise.all(images.map(img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done); img.addEventListener('error', done);
  })));
  return {count: images.length,
          broken: images.filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src)};
}"""

# Elements inside the article that a reader would scroll sideways to read: a box
# whose content is wider than the box (code, outputs, tables, wide formulas), or
# an element that sticks out of the text column.
OVERFLOW = """() => {
  const article = document.querySelector('article.bd-article') || document.querySelector('main');
  const right = article.getBoundingClientRect().right;
  const wide = [];
  for (const el of article.querySelectorAll('pre, table, img, mjx-container, div')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0) continue;
    const scrolls = el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible';
    if (scrolls || box.right > right + 1) {
      wide.push(`${el.tagName.toLowerCase()}.${String(el.className).split(' ')[0]} `
                + `(${el.scrollWidth} px in ${el.clientWidth}): ${(el.textContent || '').trim().slice(0, 50)}`);
    }
  }
  return wide;
}"""

RAW_TEX = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\$[^$\s][^$]*\\[A-Za-z]+[^$]*\$")


def _settle(tab):
    """Wait until the page's network is quiet.

    Chromium's "networkIdle" lifecycle event never fires on the pages with a
    plotly figure, although no request is in flight there (checked with the
    DevTools protocol's Network events): so wait for it a while, then go on.
    Failed, blocked and >= 400 requests are caught by the listeners either way,
    and images are awaited one by one (BROKEN_IMAGES).
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        tab.wait_for_load_state("networkidle", timeout=10_000)
    except PlaywrightTimeout:
        tab.wait_for_timeout(1_000)


@pytest.mark.parametrize("page", PAGES)
def test_page_in_browser(page, site, browser):
    _built_page(page)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    problems = {"console errors": [], "page errors": [], "blocked requests": [], "failed requests": []}

    def route(request_route):
        url = request_route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOCAL_HOSTS:
            problems["blocked requests"].append(url)
            request_route.abort("blockedbyclient")
        else:
            request_route.continue_()

    def on_request_failed(request):
        if request.url not in problems["blocked requests"]:
            problems["failed requests"].append(f"{request.url}: {request.failure}")

    def on_response(response):
        if response.status >= 400:
            problems["failed requests"].append(f"{response.url}: HTTP {response.status}")

    def on_console(message):
        if message.type == "error" and not any(url in message.text for url in problems["blocked requests"]):
            problems["console errors"].append(f"{message.text} ({message.location.get('url', '')})")

    context.route("**/*", route)
    tab = context.new_page()
    tab.on("requestfailed", on_request_failed)
    tab.on("response", on_response)
    tab.on("console", on_console)
    tab.on("pageerror", lambda error: problems["page errors"].append(str(error)))
    try:
        tab.goto(f"{site}/{page}.html", wait_until="load", timeout=TIMEOUT_MS)
        _settle(tab)
        math = tab.evaluate(MATH_REPORT)
        images = tab.evaluate(BROKEN_IMAGES)
        tab.evaluate("() => document.fonts.ready.then(() => true)")
        text = tab.evaluate(VISIBLE_TEXT)
        wide = {1280: tab.evaluate(OVERFLOW)}
        SHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=SHOTS / f"{page.replace('/', '__')}.png", full_page=True, timeout=TIMEOUT_MS)
        tab.set_viewport_size({"width": 800, "height": 900})  # a narrow window: nothing cut off either
        tab.wait_for_timeout(500)
        wide[800] = tab.evaluate(OVERFLOW)
        stderr = tab.locator(".output.stderr, .cell_output .stderr").count()
        html = tab.content()
    finally:
        context.close()

    raw = sorted(set(RAW_TEX.findall(text)))
    failures = [f"{name}: {items}" for name, items in problems.items() if items]
    if math["math"]:
        if not math["mathjax"]:
            failures.append(f"{math['math']} formulas but MathJax did not load")
        if math["untypeset"]:
            failures.append(f"formulas left untypeset: {math['untypeset'][:5]}")
        if not math["containers"]:
            failures.append("no mjx-container on a page with math")
    if math["errors"]:
        failures.append(f"MathJax errors: {math['errors']}")
    if raw:
        failures.append(f"raw TeX in the visible text: {raw[:10]}")
    if images["broken"]:
        failures.append(f"images that did not load: {images['broken']}")
    for width, elements in wide.items():
        if elements:
            failures.append(f"wider than the column at {width} px: {elements[:8]}")
    if stderr:
        failures.append(f"{stderr} stderr outputs on the page (say warnings in prose)")
    machine = [marker for marker in (str(ROOT), "site-packages", str(Path.home()) + "/") if marker in html]
    if machine:
        failures.append(f"paths of the build machine in the page: {machine}")
    assert not failures, f"{page}:\n  " + "\n  ".join(failures)


# ---------------------------------------------------------------------------
# Interactive figures (bhm.interactive): operate every control.

INTERACTIVE = [
    ("book/01_bayesian_thinking", "ch1-explorer"),
    ("book/04_hierarchical_models", "ch4-model-walk"),
    ("book/04_hierarchical_models", "ch4-pooling-slider"),
    ("book/06_gcse", "ch6-school-explorer"),
]

FIGURE_STATE = """(id) => {
  const root = document.getElementById(id);
  const plot = document.getElementById(id + '-plot');
  return {
    plotly: typeof Plotly !== 'undefined',
    live: !root.querySelector('.bhm-live').hidden,
    fallback_shown: getComputedStyle(root.querySelector('.bhm-fallback')).display !== 'none',
    traces: plot && plot.data ? plot.data.map(t => Array.from(t.y || [])) : null,
    readout: root.querySelector('.bhm-readout').textContent,
    plotly_scripts: Array.from(document.scripts).filter(s => s.src.includes('plotly')).map(s => s.src),
  };
}"""


@pytest.mark.parametrize(("page", "figure_id"), INTERACTIVE, ids=[f for _, f in INTERACTIVE])
def test_interactive_figure_controls(page, figure_id, site, browser):
    """Every slider moved and every button clicked changes the traces and the readout; no error; offline."""
    _built_page(page)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    errors, blocked = [], []

    def route(request_route):
        parts = urlsplit(request_route.request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOCAL_HOSTS:
            blocked.append(request_route.request.url)
            request_route.abort("blockedbyclient")
        else:
            request_route.continue_()

    context.route("**/*", route)
    tab = context.new_page()
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    SHOTS.mkdir(parents=True, exist_ok=True)
    changes = []
    try:
        tab.goto(f"{site}/{page}.html", wait_until="load", timeout=TIMEOUT_MS)
        _settle(tab)
        figure = tab.locator(f"#{figure_id}")
        figure.scroll_into_view_if_needed()
        before = tab.evaluate(FIGURE_STATE, figure_id)
        assert before["plotly"] and before["live"], f"{figure_id}: the live figure did not start: {before}"
        assert not before["fallback_shown"], f"{figure_id}: the static fallback is shown beside the live figure"
        assert len(before["plotly_scripts"]) == 1 and before["plotly_scripts"][0].startswith(site), \
            before["plotly_scripts"]
        figure.screenshot(path=SHOTS / f"{figure_id}-before.png")
        state = before
        for slider in figure.locator("input[type=range]").all():
            top = int(slider.get_attribute("max"))
            for value in (top, 0):
                if str(value) == slider.input_value():
                    continue
                slider.fill(str(value))
                after = tab.evaluate(FIGURE_STATE, figure_id)
                changes.append((slider.get_attribute("name"), value, after["traces"] != state["traces"],
                                after["readout"] != state["readout"]))
                state = after
        buttons = figure.locator(".bhm-control button").all()   # not plotly's own toolbar
        for button in buttons[1:] + buttons[:1]:
            button.click()
            after = tab.evaluate(FIGURE_STATE, figure_id)
            changes.append((button.inner_text(), None, after["traces"] != state["traces"],
                            after["readout"] != state["readout"]))
            state = after
        figure.screenshot(path=SHOTS / f"{figure_id}-after.png")
    finally:
        context.close()
    assert changes, f"{figure_id}: no control found"
    assert all(traces and readout for _, _, traces, readout in changes), changes
    assert not errors and not blocked, (errors, blocked)


def test_interactive_fallback_without_javascript(site, browser):
    """With JavaScript off the static image is shown and the live part stays hidden."""
    page, figure_id = INTERACTIVE[0]
    _built_page(page)
    context = browser.new_context(java_script_enabled=False)
    tab = context.new_page()
    try:
        tab.goto(f"{site}/{page}.html", wait_until="load", timeout=TIMEOUT_MS)
        figure = tab.locator(f"#{figure_id}")
        assert figure.locator(".bhm-fallback img").is_visible()
        assert not figure.locator(".bhm-live").is_visible()
        width = figure.locator(".bhm-fallback img").evaluate("img => img.naturalWidth")
        assert width > 0
    finally:
        context.close()
