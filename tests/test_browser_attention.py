"""The "Attention, trained" page in a real browser: a Train goes on by itself, redraw
after redraw (the ticking fragment reruns only in a browser; AppTest has to be told to), until
the status reports 95 % of the held-out sequences right, and Stop ends it; after Stop and after
Step the backward pass below, outside the fragment those buttons rerun, follows the model (in
AppTest every click reruns the whole page, so only a browser shows it). No timing is asserted
(bench/attention_train.py and the report measure the time); the waits are only long enough for
a busy shared machine.

Skips (with the reason) where Chromium or Playwright is missing; CI installs both."""

import re

import pytest

from bench.serve import CHROMIUM_FLAGS, running_app

pytestmark = pytest.mark.browser

from tests.browser_env import CHROMIUM, settle, sync_api  # noqa: E402

GOAL = "95% of held-out sequences first right at step"


def _steps(pg) -> int:
    """The step the status line reports (-1 before it is drawn)."""
    found = re.findall(r"step ([0-9,]+) · epoch", pg.evaluate("() => document.body.innerText"))
    return int(found[-1].replace(",", "")) if found else -1


@pytest.fixture(scope="module")
def server():
    try:
        with running_app() as url:
            yield url
    except RuntimeError as exc:
        pytest.fail(str(exc))


def test_train_reaches_the_goal_by_itself_and_stop_ends_it(server):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        pg = browser.new_page(viewport={"width": 1280, "height": 1000})
        pg.goto(f"{server}/attention_trained")
        settle(pg, "A self-attention layer, trained live")
        assert _steps(pg) == 0
        pg.get_by_role("button", name="Train").click()
        pg.get_by_text(GOAL).wait_for(timeout=240_000)  # no click in between: it ticks
        # the page's Stop, not the status widget's (which stops a script run)
        pg.locator('[data-testid="stBaseButton-secondary"]', has_text="Stop").click()
        pg.get_by_role("button", name="Train").wait_for(timeout=60_000)
        settle(pg)
        stopped = _steps(pg)
        assert 0 < stopped < 500, stopped  # stopped before the Train's 500 steps
        pg.wait_for_timeout(1500)
        assert _steps(pg) == stopped  # and it stays stopped
        # the backward pass, outside the part Stop and Step redraw, follows the model too
        pg.get_by_text(f"The model at step {stopped:,}.").wait_for(timeout=60_000)
        pg.get_by_role("button", name=re.compile(r"Step$")).click()
        pg.get_by_text(f"The model at step {stopped + 1:,}.").wait_for(timeout=60_000)
        assert pg.locator('[data-testid="stException"]').count() == 0
        browser.close()
