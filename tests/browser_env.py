"""What the real-browser tests share: Debian's Chromium and Playwright (the importing test module
is skipped, with the reason, where either is missing; CI installs both), and how to wait for a
Streamlit page and find broken formulas on it."""

import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

IDLE = """() => !document.querySelector('[data-testid="stStatusWidget"]') &&
    !document.querySelector('[data-stale="true"]')"""
KATEX_ERRORS = """() => document.querySelectorAll('.katex-error').length +
    [...document.querySelectorAll('.katex-mathml mtext')].filter(e => e.textContent.startsWith('\\\\')).length"""


def settle(pg, expect: str | None = None) -> None:
    """Wait until the script run is over: the expected text is there, nothing is running and no
    element is stale — twice in a row, since a rerun can start right after a run ends."""
    pg.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    if expect:
        pg.get_by_text(expect).first.wait_for(timeout=90_000)
    for _ in range(2):
        pg.wait_for_timeout(400)
        pg.wait_for_function(IDLE, timeout=90_000)
