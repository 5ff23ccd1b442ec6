"""What several test files share: Chromium and the browser."""

import pytest


@pytest.fixture(scope="session")
def chromium():
    """The Chromium executable (instructor.common.chromium_executable), or a skip that says why."""
    from instructor.common import chromium_executable

    try:
        return chromium_executable()
    except SystemExit as missing:
        pytest.skip(str(missing))


@pytest.fixture(scope="module")
def browser(chromium):
    """Headless Chromium, started by instructor.common.launch_chromium."""
    from instructor.common import launch_chromium

    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the `test` extra)")
    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright, chromium)
        yield browser
        browser.close()
