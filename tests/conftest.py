"""What several test files share: the browser."""

import pytest


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (instructor.common.launch_chromium), or a skip that says why."""
    from instructor.common import chromium_executable, launch_chromium

    try:
        executable = chromium_executable()
    except SystemExit as missing:
        pytest.skip(str(missing))
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the `test` extra)")
    with sync_api.sync_playwright() as playwright:
        chromium = launch_chromium(playwright, executable)
        yield chromium
        chromium.close()
