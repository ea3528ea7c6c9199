"""Practice and your own function in a real browser (Debian's Chromium via Playwright, against a
real server, as tests/test_browser.py): on /conv2d a wrong answer, then a right one, with the
feedback the learner sees; /custom with a typed function.

Skips (with the reason) where Chromium or Playwright is missing."""

import pytest

from bench.serve import CHROMIUM_FLAGS, running_app

pytestmark = pytest.mark.browser

# skips this module where Chromium or Playwright is missing
from tests.browser_env import CHROMIUM, KATEX_ERRORS, settle, sync_api  # noqa: E402

PORTS = range(8631, 8640)  # this project's share of the machine's ports


@pytest.fixture(scope="module")
def server():
    try:
        with running_app(ports=PORTS) as url:
            yield url
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def page(server):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        pg = browser.new_page(viewport={"width": 1280, "height": 1400})
        yield pg
        browser.close()


def clean(pg) -> None:
    assert pg.locator('[data-testid="stException"]').count() == 0
    assert pg.evaluate(KATEX_ERRORS) == 0


def test_a_wrong_then_a_right_answer_on_conv2d(server, page):
    page.goto(f"{server}/conv2d")
    settle(page, "Step 1 of")
    page.get_by_text("Practice: your turn").click()
    settle(page, "Names you can use")
    # ask ∂L/∂x₂₂ alone: clear the random entries, pick it
    hidden = page.get_by_test_id("stMultiSelect").filter(has_text="Hidden entries")
    hidden.get_by_role("button", name="Clear all").first.click()
    settle(page)
    hidden.locator("input").click()
    page.get_by_role("option", name="∂L/∂x₂₂").click()
    page.keyboard.press("Escape")
    settle(page, "Question 1 of 1")
    box = page.get_by_role("textbox", name="Your answer")
    box.fill("dz11*k22 + dz12*k21 + dz21*k21 + dz22*k11")
    box.press("Enter")
    settle(page, "Read as:")  # the preview, before any verdict
    page.get_by_role("button", name="Check", exact=True).click()
    settle(page, "Not quite.")
    alert = page.get_by_test_id("stAlert").filter(has_text="Not quite.")
    assert "You have dz21*k21 where dz21*k12 belongs." in alert.inner_text()
    box.fill("dz11*k22 + dz12*k21 + dz21*k12 + dz22*k11")
    page.get_by_role("button", name="Check", exact=True).click()
    settle(page, "Correct.")
    assert page.get_by_text("solved").count() >= 1
    # the first check named the fix, so the right answer is solved with help, not scored
    score = page.get_by_text("Score — Conv2D").inner_text()
    assert "0 / 1 correct (1 more solved with help)" in score, score
    clean(page)


def test_your_own_function(server, page):
    page.goto(f"{server}/custom?f=tanh(x)%5E2&step=2")
    settle(page, "Step 2 of")
    box = page.get_by_test_id("stSidebar").get_by_role("textbox", name="Your function f(x)")
    assert box.input_value() == "tanh(x)^2"
    box.fill("x*sigmoid(x)")
    box.press("Enter")
    settle(page, "Step 2 of")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.katex-mathml annotation')]"
        ".some(a => a.textContent.includes(\"f'(x)\") && a.textContent.includes('e^{- x}'))",
        timeout=60_000,
    )
    assert page.get_by_text("Its derivative, by sympy").count() == 1
    table = page.locator("table").filter(has_text="finite differences").last
    table.wait_for(timeout=60_000)
    assert "FAIL" not in table.inner_text() and "pass" in table.inner_text()
    assert "f=x*sigmoid" in page.url.replace("%2A", "*").replace("%28", "(")
    clean(page)
    box.fill("x +* 2")
    box.press("Enter")
    settle(page, "a * with nothing before it")
    clean(page)
