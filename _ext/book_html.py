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
"""

import shutil
from pathlib import Path

from sphinx.util import logging

LOGGER = logging.getLogger(__name__)


def add_ipynb_source(app, pagename, templatename, context, doctree):
    if app.builder.format != "html" or "kernelspec" not in app.env.metadata.get(pagename, {}):
        return  # plain pages (index, bibliography) are not notebooks
    executed = Path(app.env.mystnb_config.output_folder) / f"{pagename}.ipynb"
    if not executed.is_file():
        LOGGER.warning("no executed notebook for %s at %s", pagename, executed, location=pagename)
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(executed, target)
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


def setup(app):
    # Before sphinx-book-theme's header buttons (priority 501) read ``ipynb_source``.
    app.connect("html-page-context", add_ipynb_source, priority=400)
    app.connect("html-page-context", drop_duplicate_scripts, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
