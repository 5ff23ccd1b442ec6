"""Two fixes to the book's HTML, loaded from _config.yml (sphinx.local_extensions).

1. The executed notebook (.ipynb) in each chapter's download menu.
   sphinx-book-theme lists the source (.md) there, but adds the notebook only
   while it builds launch links (Binder, JupyterHub, Colab, ...), because that is
   where it copies the executed notebook next to the sources. This book has no
   launch service (it is read offline), so this makes the copy itself: myst-nb
   writes every executed chapter to ``_build/jupyter_execute``; it goes to
   ``_build/html/_sources/<page>.ipynb``, which the theme then links.

2. No inline script twice on a page. Sphinx 7.4 adds every script registered
   after the builder started (sphinx-thebe's and sphinx-togglebutton's inline
   configuration) a second time when it prepares writing, with filename ''
   instead of None so that its de-duplication misses it. sphinx-thebe's script
   declares ``const THEBE_JS_URL``, so the second copy throws "Identifier
   'THEBE_JS_URL' has already been declared" on every page
   (tests/test_browser.py reads the console).

3. Plotly from the book's own files, once per page that needs it. Pages with
   an interactive figure (``bhm.interactive``) get plotly's JavaScript, copied
   from the installed plotly package into ``_static/plotly/`` (never a CDN),
   as a plain script in the head, so that it is loaded before the figures'
   inline scripts run; every page gets the small stylesheet that hides the
   static fallback image when the live figure works and shows it in print.

4. A cell's printed text exactly as printed. myst-nb's nb_merge_streams strips
   each stream piece and adds a newline after it, but the kernel cuts its
   messages by time (ipykernel flushes every 0.2 s), not at line ends: when a
   ``print(a, b)`` falls across two messages the page showed ``a`` and ``b`` on
   two lines, and in a different place on every run (a fresh CI caught it in
   chapter 4). The pieces are joined exactly first (``coalesce_streams``), so
   myst-nb's merge sees one piece per stream; the cell's output list is changed
   in place, so the executed notebook (the download) holds the same text once.
"""

import json
import shutil
from pathlib import Path

from sphinx.util import logging

LOGGER = logging.getLogger(__name__)


def _text(output):
    text = output.get("text", "")
    return text if isinstance(text, str) else "".join(text)


def coalesce_streams(outputs):
    """One stream output per name and cell, holding its pieces joined exactly.

    The kernel sends a cell's printed text in pieces cut by time, not at line
    ends; the page and the executed notebook show it as printed. Returns a new
    list; the first piece of each stream is changed in place.
    """
    streams, kept = {}, []
    for output in outputs:
        if output.get("output_type") != "stream":
            kept.append(output)
        elif output.get("name") not in streams:
            streams[output.get("name")] = output
            output["text"] = _text(output)
            kept.append(output)
        else:
            streams[output.get("name")]["text"] += _text(output)
    return kept


def _merge_exactly_then(myst_merge):
    def merge(outputs):
        outputs[:] = coalesce_streams(outputs)  # the cell's own list: the notebook myst-nb writes is merged too
        return myst_merge(outputs)

    return merge


def add_ipynb_source(app, pagename, templatename, context, doctree):
    if app.builder.format != "html" or "kernelspec" not in app.env.metadata.get(pagename, {}):
        return  # plain pages (index, bibliography) are not notebooks
    executed = Path(app.env.mystnb_config.output_folder) / f"{pagename}.ipynb"
    if not executed.is_file():
        LOGGER.warning("no executed notebook for %s at %s", pagename, executed, location=pagename)
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    notebook = json.loads(executed.read_text(encoding="utf-8"))
    for cell in notebook.get("cells", []):
        if "outputs" in cell:
            cell["outputs"] = coalesce_streams(cell["outputs"])
    target.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    context["ipynb_source"] = f"{pagename}.ipynb"


def drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen, unique = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        key = (getattr(script, "filename", script) or None, tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique  # the builder's own list: it restores it after each page


INTERACTIVE_CLASS = "bhm-interactive"   # bhm.interactive.PLOTLY_CLASS (bhm is not imported here)
PLOTLY_JS = "plotly/plotly.min.js"
CSS = """.bhm-interactive .bhm-fallback.bhm-has-live { display: none; }
.bhm-interactive .bhm-control { display: inline-flex; align-items: center; gap: .4em; margin: 0 1.5em .3em 0; }
.bhm-interactive .bhm-control input[type=range] { width: 12em; }
.bhm-interactive .bhm-control button { border: 1px solid #999; border-radius: 4px; background: none;
  padding: .1em .6em; margin-left: .2em; color: inherit; }
.bhm-interactive .bhm-control button[aria-pressed=true] { background: #9467bd; color: white; border-color: #9467bd; }
.bhm-interactive .bhm-readout { font-family: var(--pst-font-family-monospace, monospace); font-size: .9em;
  margin: .2em 0; }
.bhm-interactive .bhm-fallback img { max-width: 100%; }
/* Numbers glued into the prose from the run (myst-nb shows them bold): they are text, read as text. */
.bd-article span.pasted-text { font-weight: inherit; }
@media print {
  .bhm-interactive .bhm-live { display: none !important; }
  .bhm-interactive .bhm-fallback { display: block !important; }
}
"""


def add_plotly(app, pagename, templatename, context, doctree):
    if INTERACTIVE_CLASS in (context.get("body") or "") and isinstance(context.get("script_files"), list):
        context["script_files"] = context["script_files"] + [f"_static/{PLOTLY_JS}"]


def copy_assets(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    import plotly

    static = Path(app.outdir) / "_static"
    target = static / PLOTLY_JS
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", target)
    (static / "bhm-interactive.css").write_text(CSS)


def setup(app):
    import myst_nb.core.render as render  # the module whose global name myst-nb's renderer calls

    if not getattr(render.coalesce_streams, "_bhm_exact", False):
        render.coalesce_streams = _merge_exactly_then(render.coalesce_streams)
        render.coalesce_streams._bhm_exact = True
    app.add_css_file("bhm-interactive.css")
    # after sphinx.ext.mathjax (priority 500) adds MathJax to the page's scripts: a new list made earlier
    # would leave those out
    app.connect("html-page-context", add_plotly, priority=900)
    app.connect("build-finished", copy_assets)
    # Before sphinx-book-theme's header buttons (priority 501) read ``ipynb_source``.
    app.connect("html-page-context", add_ipynb_source, priority=400)
    app.connect("html-page-context", drop_duplicate_scripts, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
