"""instructor.common.launch_chromium: a start that hangs is tried once more."""

import pytest


def test_a_chromium_start_past_its_limit_is_tried_again_then_raised(chromium, capfd):
    from instructor.common import launch_chromium

    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the `test` extra)")
    with sync_api.sync_playwright() as playwright, pytest.raises(sync_api.TimeoutError):
        launch_chromium(playwright, chromium, timeout_ms=1)
    assert "no start within 0 s (try 1 of 2); trying again" in capfd.readouterr().err
