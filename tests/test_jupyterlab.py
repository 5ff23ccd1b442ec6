"""The exercise route as a student takes it: a student notebook in JupyterLab.

`make lab` writes the student notebooks (`python -m bhm exercises --keep`) and
opens JupyterLab on them. This test does the same in a temporary folder: it
starts JupyterLab headless on a free local port, opens chapter 1's student
notebook in Chromium (the network off but for 127.0.0.1), runs every cell from
the menu, and checks that

* every check of the chapter answers "not answered yet" and no cell fails;
* after the student types a right answer into one exercise's stub and runs the
  cell, its check says "right" (and the other check of that cell still waits).

The chapters' MyST sources open in JupyterLab too (jupytext's extension, "Open
With > Jupytext Notebook"); the last test checks that the extension is installed
and enabled. Without Chromium these tests skip, as the browser tests do.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from test_browser import LOCAL_HOSTS

from bhm.exercises import CHECKS, write_student_notebooks

ROOT = Path(__file__).parents[1]
SHOTS = ROOT / "_build" / "screenshots"
NOTEBOOK = "01_bayesian_thinking.ipynb"
RUN_TIMEOUT_MS = int(os.environ.get("BHM_LAB_TIMEOUT_MS", 300_000))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a folder holding chapter 1's student notebook: (base url, token)."""
    root = tmp_path_factory.mktemp("lab")
    write_student_notebooks(root, chapters=[1])
    port, token = _free_port(), "bhm-test-" + os.urandom(8).hex()
    settings = tmp_path_factory.mktemp("lab-settings")  # a user's settings, as JupyterLab stores them
    for plugin, values in {
        # no news, no update check: nothing leaves the machine
        "apputils-extension/notification": {"checkForUpdates": False, "fetchNews": "false"},
        # every cell in the page (no virtual scrolling), so that its outputs can be read
        "notebook-extension/tracker": {"windowingMode": "none"},
    }.items():
        path = settings / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = os.environ | {"JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTER_RUNTIME_DIR": str(root / ".runtime")}
    log = (root / ".lab.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--LabApp.extension_manager=readonly", "--allow-root"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5) as reply:
                if reply.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"JupyterLab did not start:\n{(root / '.lab.log').read_text()[-3000:]}")
        time.sleep(0.5)
    yield base, token
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


def _outputs(tab) -> list[str]:
    return tab.eval_on_selector_all(".jp-OutputArea-output", "els => els.map(e => e.textContent)")


def test_student_notebook_in_jupyterlab(lab, browser):  # browser: tests/conftest.py
    """Run All, see "not answered yet" at every check, answer one, see "right" (screenshot in _build/screenshots)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    try:
        _student_session(lab, context, tab)
    finally:
        SHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=SHOTS / "jupyterlab-student-notebook.png")
        context.close()


def _student_session(lab, context, tab):
    base, token = lab
    chapter_checks = [name for name, c in CHECKS.items() if c.chapter == 1]
    outside = []

    def guard(route):
        host = re.sub(r":\d+$", "", route.request.url.split("/")[2]) if "://" in route.request.url else ""
        if host in LOCAL_HOSTS or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    tab.set_default_timeout(120_000)
    tab.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
    tab.wait_for_selector(".jp-Notebook .jp-Cell")
    tab.get_by_text("Python 3 (ipykernel) | Idle").wait_for()  # the kernel has started
    if tab.get_by_text("Select Kernel").is_visible():  # JupyterLab may still ask: take the default
        tab.get_by_role("button", name="Select", exact=True).click()

    # Run > Run All Cells, as a student would
    tab.get_by_role("menuitem", name="Run", exact=True).click()
    tab.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    tab.wait_for_function(  # every check has answered (one output can hold several checks' lines)
        "n => Array.from(document.querySelectorAll('.jp-OutputArea-output'))"
        ".map(e => e.textContent.split('not answered yet').length - 1).reduce((a, b) => a + b, 0) >= n",
        arg=len(chapter_checks), timeout=RUN_TIMEOUT_MS,
    )
    tab.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=RUN_TIMEOUT_MS)
    outputs = _outputs(tab)
    assert not [o for o in outputs if "Traceback" in o or "Error" in o.split("\n")[0]], "a cell failed"
    for name in chapter_checks:
        assert any(f"{name}: not answered yet" in o for o in outputs), name

    # the student answers the first exercise's first question: alpha = 25 / (25 + 15^2 / 5^2)
    sources = tab.locator(".jp-CodeCell .cm-content").all_text_contents()
    index = next(i for i, source in enumerate(sources) if "alpha_25 = ..." in source)
    cell = tab.locator(".jp-CodeCell").nth(index)  # by position: its text is about to change
    editor = cell.locator(".cm-content")
    source = editor.inner_text()
    assert "check(\"ex1-alpha\", alpha_25)" in source
    answer = re.sub(r"alpha_25 = \.\.\..*", "alpha_25 = 25 / (25 + 15**2 / 5**2)", source, count=1)
    editor.click()
    tab.keyboard.press("Control+A")
    tab.keyboard.insert_text(answer)
    tab.keyboard.press("Shift+Enter")
    cell.locator(".jp-OutputArea-output", has_text="ex1-alpha: right").wait_for(timeout=60_000)
    text = cell.locator(".jp-OutputArea-output").all_text_contents()
    assert any("✓ ex1-alpha: right" in t for t in text), text
    assert any("ex1-alpha-mean: not answered yet" in t for t in text), text
    assert outside == [], f"requests left the machine: {outside[:5]}"


def test_jupytext_opens_the_chapters_in_jupyterlab():
    """`jupyter labextension list` shows jupytext's extension enabled: book/*.md open as notebooks."""
    done = subprocess.run([sys.executable, "-m", "jupyter", "labextension", "list"], capture_output=True,
                          text=True, check=True)
    listing = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
    assert re.search(r"jupyterlab-jupytext v\S+ enabled\s+OK", listing), listing
