"""The lecture decks, _build/slides/<chapter>.html (`make slides`, instructor/slides.py).

`make test` builds them after the book. In headless Chromium (Debian's, as in
tests/test_browser.py), with every request that is not a local file aborted and
counted as a failure, each deck is opened from the file system and stepped
through, slide by slide and fragment by fragment, as a lecturer would with the
arrow key. On every step:

* every formula on the page was typeset by MathJax (no ``mjx-merror``), and no
  raw ``$$``, ``\\(``, ``\\[`` or ``\\begin{`` shows on the slide or in its notes;
* every image loaded (``naturalWidth > 0``);
* the slide's body fits the slide (a body taller than its box is a slide to cut);

and over the whole deck: no console error, no request leaving the machine, and
speaker notes on the slides that have them in their spec. The first slide of
each deck is saved to _build/screenshots/slides/ (all of them with
BHM_SLIDE_SHOTS=1).

Without a browser the static checks still run: every deck exists, every
address in it is a local file that exists, every figure is a PNG output of the
executed chapter, and every slide title of the seed deck (the lecture the
course came from) is covered by a slide, listed in SEED below.
"""

import base64
import hashlib
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

ROOT = Path(__file__).parents[1]
SLIDES = ROOT / "_build" / "slides"
SPECS = ROOT / "instructor" / "slides"
SHOTS = ROOT / "_build" / "screenshots" / "slides"
CHAPTERS = sorted(p.stem for p in (ROOT / "book").glob("0[0-9]_*.md"))
TIMEOUT_MS = 60_000

# Every slide title of the seed deck (the lecture slides of Maokomatanda, Mensinger and Schick, University
# of Bonn, which the course grew out of), in its order, and the deck and slide heading that cover it. The
# seed's outline slide (its four parts) has no title: its parts are the decks' title slides below.
SEED = [
    ("Bayesian Hierarchical Models (title)", "01_bayesian_thinking", "Bayesian thinking"),
    ("Bayesian Thinking", "01_bayesian_thinking", "Bayesian thinking"),
    ("Bayes' Theorem", "01_bayesian_thinking", "Bayes' theorem"),
    ("Solving for the Posterior Analytically", "01_bayesian_thinking", "Solving for the posterior analytically"),
    ("Conjugate Prior", "01_bayesian_thinking", "Conjugate prior"),
    ("A normal model with known variance and no features, really?", "01_bayesian_thinking",
     "A normal model with known variance and no features, really?"),
    ("Sampling from the Posterior", "02_sampling", "Sampling from the posterior"),
    ("Sampling from the Posterior (why another way)", "02_sampling", "Why we need another way to sample"),
    ("Markov Chain Monte Carlo", "02_sampling", "Markov chain Monte Carlo"),
    ("Hierarchical Models", "04_hierarchical_models", "Hierarchical models"),
    ("Structure of HM - Setup", "04_hierarchical_models", "Structure of a hierarchical model - setup"),
    ("Structure of HM", "04_hierarchical_models", "Structure of a hierarchical model"),
    ("The Prior Revisited", "04_hierarchical_models", "The prior revisited"),
    ("The Posterior Revisited", "04_hierarchical_models", "The posterior revisited"),
    ("Varying Slopes, Varying Intercepts", "04_hierarchical_models", "Varying slopes, varying intercepts"),
    ("Monte Carlo Study", "05_prior_study", "A Monte Carlo study of priors"),
    ("Stan", "01_bayesian_thinking", "The same posterior from Stan"),
    ("Bayesian Models with Stan", "04_hierarchical_models", "Bayesian models with Stan - data"),
    ("Bayesian Models with Stan (parameters, model, priors)", "04_hierarchical_models",
     "Bayesian models with Stan - parameters and model"),
    ("How can we be sure that we sample from the right distribution?", "03_convergence",
     "How can we be sure that we sample from the right distribution?"),
    ("How can we be sure ... (the question, answered by calibration)", "07_calibration", "How can we be sure?"),
    ("Monitoring Convergence", "03_convergence", "Monitoring convergence"),
    ("Brooks and Gelman convergence criterium", "03_convergence", "Brooks and Gelman convergence criterion"),
    ("Monitoring Convergence (scale reducing factor)", "03_convergence",
     r"The stuck chains: \(\hat R\) by hand and by ArviZ"),
    ("Prior Design", "05_prior_study", "Prior design"),
    ("Posterior Distribution - good prior", "05_prior_study",
     "Posterior distributions under the good, bad, weak-bad and flat priors"),
    ("What happens if we decrease the number of levels J ?", "05_prior_study",
     r"The prior on \(\sigma_b\): where priors matter"),
    ("Posterior Distribution - bad prior", "05_prior_study",
     "Posterior distributions under the good, bad, weak-bad and flat priors"),
    ("Posterior Distribution - weak, bad prior", "05_prior_study",
     "Posterior distributions under the good, bad, weak-bad and flat priors"),
    ("Not a good idea: Uniform Prior", "05_prior_study",
     r"Not a good idea: the flat prior, and the prior on \(\sigma_b\)"),
    ("Increase sample size dramatically", "05_prior_study", "Sizes - fewer groups, more individuals"),
    ("Application", "06_gcse", "Application: GCSE coursework in 73 schools"),
    ("The Data", "06_gcse", "The data"),
    ("Comparison (the model)", "06_gcse", "Comparison: the model"),
    ("Comparison (ML and Bayesian estimation)", "06_gcse", "Comparison: maximum likelihood and Bayes"),
    ("Results", "06_gcse", "Results"),
    ("Bayesian Approach: Further Analysis - posterior distribution ranking", "06_gcse",
     "Posterior distribution of the ranks"),
    ("Bayesian Approach: Further Analysis - school specific regression lines and pooling", "06_gcse",
     "School-specific regression lines and pooling"),
    ("Bayesian Approach: Further Analysis - comparisons between individual schools", "06_gcse",
     "Comparing two schools"),
    ("Convergence", "06_gcse", "Convergence"),
    ("(links: github.com/timmens/bayesian-hierarchical-models, mfviz.com/hierarchical-models)", "06_gcse",
     "Sources"),
]


def _deck(stem: str) -> Path:
    path = SLIDES / f"{stem}.html"
    if not path.is_file():
        pytest.fail(f"{path.relative_to(ROOT)} is missing: run `make slides` (`make test` does)")
    return path


class _Deck(HTMLParser):
    """A deck's headings (h1 of the title slide, h2 of the others) and the addresses it loads."""

    def __init__(self):
        super().__init__()
        self.headings, self.addresses = [], []
        self._heading = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("h1", "h2"):
            self._heading = ""
        for name in ("src", "href"):
            if attrs.get(name) and not (tag == "a" and name == "href"):
                self.addresses.append(attrs[name])

    def handle_endtag(self, tag):
        if tag in ("h1", "h2") and self._heading is not None:
            self.headings.append(re.sub(r"\s+", " ", self._heading).strip())
            self._heading = None

    def handle_data(self, data):
        if self._heading is not None:
            self._heading += data


def _parse(stem: str) -> _Deck:
    parser = _Deck()
    parser.feed(_deck(stem).read_text(encoding="utf-8"))
    return parser


# ---------------------------------------------------------------------------
# Without a browser.


def test_every_chapter_has_a_deck():
    assert CHAPTERS, "no chapters found"
    for stem in CHAPTERS:
        assert (SPECS / f"{stem}.yml").is_file(), f"instructor/slides/{stem}.yml is missing"
        _deck(stem)


@pytest.mark.parametrize(("seed", "stem", "heading"), SEED, ids=[s for s, _, _ in SEED])
def test_seed_slide_is_covered(seed, stem, heading):
    headings = _parse(stem).headings
    assert heading in headings, f"seed slide {seed!r}: no slide {heading!r} in {stem} (its slides: {headings})"


@pytest.mark.parametrize("stem", CHAPTERS)
def test_deck_loads_only_local_files(stem):
    deck = _parse(stem)
    for address in deck.addresses:
        parts = urlsplit(address)
        assert not parts.scheme and not parts.netloc, f"{stem}: {address} is not a local file"
        target = SLIDES / unquote(parts.path)
        assert target.is_file(), f"{stem}: {address} does not exist"


@pytest.mark.parametrize("stem", CHAPTERS)
def test_figures_come_from_the_executed_chapter(stem):
    """Every image of a deck is, byte for byte, a PNG that the executed chapter made."""
    from instructor.common import Page, executed_notebook  # with the outputs myst-nb took from its cache

    notebook = executed_notebook(Page(f"book/{stem}", None, True))
    made = set()
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data:
                made.add(hashlib.sha256(base64.b64decode(data["image/png"])).hexdigest())
            for match in re.finditer(r"data:image/png;base64,([A-Za-z0-9+/=]+)", "".join(data.get("text/html", []))):
                made.add(hashlib.sha256(base64.b64decode(match.group(1))).hexdigest())   # interactive fallbacks
    images = [a for a in _parse(stem).addresses if a.endswith(".png")]
    assert images, f"{stem}: a deck without figures"
    for address in images:
        digest = hashlib.sha256((SLIDES / address).read_bytes()).hexdigest()
        assert digest in made, f"{stem}: {address} is not an output of the executed chapter"


# ---------------------------------------------------------------------------
# In the browser.




READY = """async () => {
  await new Promise(done => Reveal.isReady() ? done() : Reveal.on('ready', done));
  await MathJax.startup.promise;
  await Promise.all(Array.from(document.images).map(img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done); img.addEventListener('error', done); })));
  await document.fonts.ready;
  Reveal.configure({transition: 'none', backgroundTransition: 'none'});
  Reveal.slide(0, 0, -1);
  const math = Array.from(document.querySelectorAll('.math'));
  return {
    slides: Reveal.getTotalSlides(),
    notesPlugin: Reveal.hasPlugin('notes'),
    math: math.length,
    untypeset: math.filter(el => !el.querySelector('mjx-container')).map(el => el.textContent.slice(0, 60)),
    containers: document.querySelectorAll('mjx-container').length,
    errors: Array.from(document.querySelectorAll('mjx-merror')).map(el => el.textContent.slice(0, 60)),
    broken: Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
  };
}"""

# The current slide, as the audience sees it: its text outside code and formulas, its notes' text,
# its images, and whether its body fits.
SLIDE = """() => {
  const slide = Reveal.getCurrentSlide();
  const visible = (root, skip) => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const parts = [];
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.parentElement.closest(skip)) parts.push(node.textContent);
    }
    return parts.join(' ');
  };
  const body = slide.querySelector('.frame > .body');
  const notes = slide.querySelector('aside.notes');
  const heading = slide.querySelector('h1, h2');
  return {
    index: Reveal.getIndices().h, fragment: Reveal.getIndices().f,
    title: heading ? heading.textContent.trim().slice(0, 80) : '',
    text: visible(slide, 'pre, code, mjx-container, aside.notes, script, style'),
    notes: notes ? visible(notes, 'pre, code, mjx-container') : null,
    images: Array.from(slide.querySelectorAll('img')).map(i => ({src: i.src, ok: i.complete && i.naturalWidth > 0})),
    // how far its content reaches beyond the body's box, above and below (the body centres its content,
    // so an overflow spills both ways)
    overflow: body && body.children.length ? (() => {
      const box = body.getBoundingClientRect();
      const rects = Array.from(body.children).map(c => c.getBoundingClientRect());
      return Math.max(0, box.top - Math.min(...rects.map(r => r.top)))
           + Math.max(0, Math.max(...rects.map(r => r.bottom)) - box.bottom);
    })() : 0,
    // and sideways: code cut off at the right, a table or a formula wider than the slide
    wide: body ? Array.from(body.querySelectorAll('pre, table, img, mjx-container')).filter(el => {
      const box = body.getBoundingClientRect(), r = el.getBoundingClientRect();
      return el.scrollWidth > el.clientWidth + 2 || r.right > box.right + 2 || r.left < box.left - 2;
    }).map(el => el.tagName.toLowerCase() + ': ' + el.textContent.trim().slice(0, 40)) : [],
    last: Reveal.isLastSlide() && !Reveal.availableFragments().next,
  };
}"""

RAW_TEX = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\$[^$\n]{0,80}\\[A-Za-z]+|"
                     r"\\(?:frac|mathcal|sigma|alpha|mu|hat|widehat|sum)\b")


@pytest.mark.parametrize("stem", CHAPTERS)
def test_deck_in_browser(stem, browser):
    deck = _deck(stem)
    spec = yaml.safe_load((SPECS / f"{stem}.yml").read_text(encoding="utf-8"))
    context = browser.new_context(viewport={"width": 1280, "height": 720}, service_workers="block")
    problems = {"console errors": [], "page errors": [], "requests leaving the machine": [], "failed requests": []}

    def route(request_route):
        if urlsplit(request_route.request.url).scheme not in ("file", "data", "blob", "about"):
            problems["requests leaving the machine"].append(request_route.request.url)
            request_route.abort("blockedbyclient")
        else:
            request_route.continue_()

    def on_request(request):
        if urlsplit(request.url).scheme not in ("file", "data", "blob", "about"):
            if request.url not in problems["requests leaving the machine"]:
                problems["requests leaving the machine"].append(request.url)

    context.route("**/*", route)
    tab = context.new_page()
    tab.on("request", on_request)
    tab.on("websocket", lambda ws: problems["requests leaving the machine"].append(ws.url))
    tab.on("requestfailed", lambda r: None if r.url in problems["requests leaving the machine"]
           else problems["failed requests"].append(f"{r.url}: {r.failure}"))
    tab.on("console", lambda m: problems["console errors"].append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems["page errors"].append(str(e)))
    failures, steps, with_notes, seen = [], 0, set(), set()
    shots = SHOTS
    shots.mkdir(parents=True, exist_ok=True)
    try:
        tab.goto(deck.as_uri(), wait_until="load", timeout=TIMEOUT_MS)
        ready = tab.evaluate(READY)
        if not ready["notesPlugin"]:
            failures.append("the speaker-notes plugin is not loaded")
        if not ready["math"] or not ready["containers"]:
            failures.append(f"no typeset formula in the deck ({ready['math']} formulas)")
        for key in ("untypeset", "errors", "broken"):
            if ready[key]:
                failures.append(f"{key}: {ready[key][:5]}")
        while True:
            state = tab.evaluate(SLIDE)
            steps += 1
            where = f"slide {state['index'] + 1} ({state['title']!r})"
            if state["index"] not in seen:
                seen.add(state["index"])
                if state["notes"]:
                    with_notes.add(state["index"])
                if state["wide"]:
                    failures.append(f"{where}: wider than the slide: {state['wide'][:3]}")
                if state["overflow"] > 2:
                    failures.append(f"{where}: the body is {state['overflow']:.0f} px taller than the slide")
                if state["index"] == 0 or os.environ.get("BHM_SLIDE_SHOTS"):
                    tab.screenshot(path=shots / f"{stem}-{state['index'] + 1:02d}.png")
            for text, what in ((state["text"], "slide"), (state["notes"] or "", "notes")):
                raw = sorted(set(RAW_TEX.findall(text)))
                if raw:
                    failures.append(f"{where}: raw TeX in the {what}: {raw}")
            broken = [image["src"] for image in state["images"] if not image["ok"]]
            if broken:
                failures.append(f"{where}: images that did not load: {broken}")
            if state["last"]:
                break
            if steps > 1000:
                failures.append("more than 1,000 steps: the deck does not end")
                break
            tab.evaluate("Reveal.next()")
        if len(seen) != ready["slides"]:
            failures.append(f"stepped through {len(seen)} of {ready['slides']} slides")
        # notes: on every slide whose spec does not say `notes: []` (the title slide has the overview's)
        expected = {0} | {i for i, s in enumerate(spec.get("slides", []), start=1) if s.get("notes") != []}
        missing = sorted(i + 1 for i in expected - with_notes)
        if missing:
            failures.append(f"slides without speaker notes: {missing}")
    finally:
        context.close()
    failures += [f"{name}: {items[:5]}" for name, items in problems.items() if items]
    assert not failures, f"{stem} ({steps} steps):\n  " + "\n  ".join(failures)


def test_speaker_view(browser):
    """The speaker view (key s) opens offline, with the slide's notes and their formulas typeset."""
    context = browser.new_context(viewport={"width": 1280, "height": 720}, service_workers="block")
    errors, leaving = [], []
    context.on("request", lambda r: leaving.append(r.url)
               if urlsplit(r.url).scheme not in ("file", "data", "blob", "about") else None)
    tab = context.new_page()
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        tab.goto(_deck(CHAPTERS[0]).as_uri(), wait_until="load", timeout=TIMEOUT_MS)
        tab.evaluate(READY)
        with_math = tab.evaluate("""() => Reveal.getSlides().findIndex(
            s => s.querySelector('aside.notes mjx-container'))""")
        assert with_math >= 0, "no slide of the first deck has a formula in its notes"
        tab.evaluate(f"Reveal.slide({with_math})")
        with context.expect_page(timeout=TIMEOUT_MS) as popup:
            tab.keyboard.press("s")
        view = popup.value
        view.on("console", lambda m: errors.append(f"speaker view: {m.text}") if m.type == "error" else None)
        view.wait_for_load_state("load")
        view.wait_for_function("document.querySelector('.speaker-controls-notes svg')", timeout=TIMEOUT_MS)
        notes = view.evaluate("document.querySelector('.speaker-controls-notes').innerText")
    finally:
        context.close()
    assert len(notes.strip()) > 40, f"the speaker view shows no notes: {notes!r}"
    assert not RAW_TEX.search(notes), f"raw TeX in the speaker view's notes: {notes[:200]!r}"
    assert not errors and not leaving, (errors, leaving)
