"""A real browser against a real server: Debian's Chromium driven by Playwright. Opens every page
from the sidebar, checks for Streamlit exception boxes and KaTeX errors, and clicks Next.

Skips (with the reason) where Chromium or Playwright is missing; CI installs both."""

import os
import shutil

import pytest

from tests.serve import CHROMIUM_FLAGS, running_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.browser

if not os.path.exists(CHROMIUM):
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

from ui.registry import PAGES as REGISTERED  # noqa: E402
from ui.registry import lesson_pages, ops_on_page  # noqa: E402

# sidebar entry → text that is on the page once it has rendered: a lesson's progress bar, or
# the page's own heading
PAGES = {p.title: "Step 1 of" if ops_on_page(p) else (p.heading or p.title) for p in REGISTERED}

KATEX_ERRORS = """() => document.querySelectorAll('.katex-error').length +
    [...document.querySelectorAll('.katex-mathml mtext')].filter(e => e.textContent.startsWith('\\\\')).length"""


@pytest.fixture(scope="module")
def server():
    try:
        with running_app() as url:
            yield url
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def page(server):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield pg
        browser.close()


IDLE = """() => !document.querySelector('[data-testid="stStatusWidget"]') &&
    !document.querySelector('[data-stale="true"]')"""


def settle(pg, expect: str | None = None) -> None:
    """Wait until the script run is over: the expected text is there, nothing is running and no
    element is stale — twice in a row, since a rerun can start right after a run ends."""
    pg.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    if expect:
        pg.get_by_text(expect).first.wait_for(timeout=90_000)
    for _ in range(2):
        pg.wait_for_timeout(400)
        pg.wait_for_function(IDLE, timeout=90_000)


def test_every_page_from_the_sidebar_renders_cleanly(server, page):
    page.goto(server)
    settle(page, "Lesson map")
    for title, expect in PAGES.items():
        page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
        if expect != "Step 1 of":  # the nav link has the same text: wait for the heading
            page.locator("h1").filter(has_text=expect).first.wait_for(timeout=90_000)
        settle(page, expect)
        if expect == "Step 1 of":  # a lesson: render every step, so real KaTeX parses them all
            page.get_by_text("Show all steps").click()
            settle(page)
            page.wait_for_timeout(1000)
        assert page.locator('[data-testid="stException"]').count() == 0, title
        assert page.evaluate(KATEX_ERRORS) == 0, f"KaTeX error on {title}"
        assert page.locator(".katex").count() > 0 or title == "Home", f"no formula on {title}"


def test_next_changes_the_step(server, page):
    page.goto(f"{server}/conv2d")
    settle(page, "Step 1 of")
    page.get_by_role("button", name="Next").click()
    settle(page, "Step 2 of")
    assert page.get_by_text("Step 1 of").count() == 0
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.evaluate(KATEX_ERRORS) == 0


def test_a_shared_link_opens_the_settings_it_holds(server, page):
    page.goto(f"{server}/conv2d?input_shape=4x4&stride=2x2&step=5")
    settle(page, "Step 5 of")
    rows = page.get_by_test_id("stSidebar").get_by_role("spinbutton")
    assert rows.first.input_value() == "4"  # the input size came from the link
    assert page.locator('[data-testid="stException"]').count() == 0


CELL_CENTRE = """([title, row, col]) => {
    const g = [...document.querySelectorAll('.js-plotly-plot')]
        .filter(g => g.layout && g.layout.title &&
                     g.layout.title.text.replace(/<[^>]+>/g, '') === title).pop();  // the theme adds <b>
    const fl = g._fullLayout, r = g.getBoundingClientRect();
    return [r.left + fl._size.l + fl.xaxis.l2p(col), r.top + fl._size.t + fl.yaxis.l2p(row)];
}"""


def test_clicking_a_gradient_cell_explains_it(server, page):
    page.set_viewport_size({"width": 1400, "height": 2400})
    page.goto(f"{server}/conv2d")
    settle(page, "Step 1 of")
    page.locator('[data-testid="stPlotlyChart"]').nth(9).wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    x, y = page.evaluate(CELL_CENTRE, ["∂L/∂X", 2, 2])  # 1-based: the centre cell, x₂₂
    page.mouse.click(x, y)
    settle(page)
    lhs = r"\frac{\partial L}{\partial x_{22}}"
    page.wait_for_function(
        "(lhs) => [...document.querySelectorAll('.katex-mathml annotation')]"
        ".some(a => a.textContent.includes(lhs))",
        arg=lhs,
        timeout=30_000,
    )
    box = page.locator('[data-testid="stSelectbox"]').last
    assert "∂L/∂x₂₂" in (
        box.inner_text() + " ".join(box.locator("input").evaluate_all("e => e.map(i => i.value)"))
    )
    # its chain-rule sum with numbers: four terms, one per output it touched
    texts = page.locator(".katex-mathml annotation").evaluate_all("e => e.map(a => a.textContent)")
    sums = [t for t in texts if lhs in t and r"\cdot" in t]
    assert sums and sums[0].count(r"\cdot") >= 8


@pytest.mark.parametrize(
    "query",
    [
        "conv2d?input_shape=6x6&kernel_shape=3x2&stride=2x1&padding=1x1&dilation=2x1",
        "conv_transpose2d?input_shape=3x2&kernel_shape=3x2&stride=2x2&padding=1x1&output_padding=1x1",
        "pooling?op=max_pool2d&input_shape=5x5&kernel_size=3x3&stride=2x2&padding=1x1",
        # issue 12: step 4 was a red "Too many expansions" block (KaTeX's maxExpand)
        "conv2d?input_shape=16x16&kernel_shape=6x6",
    ],
)
def test_every_step_renders_for_harder_settings(server, page, query):
    page.goto(f"{server}/{query}")
    settle(page, "Step 1 of")
    page.get_by_text("Show all steps").click()
    settle(page)
    page.wait_for_timeout(1000)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.evaluate(KATEX_ERRORS) == 0
    assert not page.get_by_test_id("stAlert").filter(has_text="last settings that worked").count()


OVERFLOWING = """() => [...document.querySelectorAll('.katex-display')]
    .filter(e => e.scrollWidth > e.clientWidth + 8)
    .map(e => e.scrollWidth + '>' + e.clientWidth + ': ' + e.innerText.replace(/\\s+/g, ' ').slice(0, 60))"""


@pytest.mark.parametrize(
    "query",
    [
        *[p.url for p in lesson_pages()],
        "conv2d?input_shape=8x8&kernel_shape=3x3&padding=1x1",
        "elementwise?op=sigmoid&shape=6x6",
        "softmax?num_classes=10",
        # issue 12: the largest sizes the lessons offer
        "conv2d?input_shape=16x16&kernel_shape=6x6&padding=4x4",
        "conv_transpose2d?input_shape=16x16&kernel_shape=6x6",
        "pooling?op=max_pool2d&input_shape=16x16&kernel_size=6x6&stride=1x1",
        "binary?op=div&shape=6x6",
        "reductions?op=mean&shape=16x16",
    ],
)
def test_no_formula_runs_off_the_column_at_1280_px(server, page, query):
    """KaTeX never wraps: every step must fit the step column of a 1280 px window (a projector's
    width), or the lecturer is left scrolling a formula sideways."""
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.goto(f"{server}/{query}")
    settle(page, "Step 1 of")
    page.get_by_text("Show all steps").click()
    settle(page)
    page.wait_for_timeout(1000)
    # the explainer's plugged-in sums are left out: softmax's single term is one long fraction
    steps = page.evaluate(OVERFLOWING)
    assert not [s for s in steps if "∂ 𝐿 ∂ 𝑓 1 = ∂ 𝐿 ∂ 𝐿 𝑖" not in s], steps


def test_the_cnn_trains_live_in_the_browser(server, page):
    """Train on the digits with the page's defaults: the fragment redraws while it trains, the
    page stays free of errors, and the run ends at its epochs with the test accuracy shown."""
    page.set_viewport_size({"width": 1280, "height": 1400})
    page.goto(f"{server}/cnn")
    settle(page, "epoch 0 of 20")
    page.get_by_test_id("stMain").get_by_role("button", name="Train").click()
    page.get_by_text("epoch 20 of 20").first.wait_for(timeout=120_000)
    settle(page)
    text = page.get_by_text("epoch 20 of 20").first.inner_text()
    accuracy = float(text.split("test accuracy ")[1].split("%")[0])
    assert accuracy >= 97.0, text
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.evaluate(KATEX_ERRORS) == 0


def test_the_mlp_steps_and_trains_in_the_browser(server, page):
    page.set_viewport_size({"width": 1280, "height": 1400})
    page.goto(f"{server}/mlp")
    settle(page, "step 0 ·")
    page.get_by_test_id("stMain").get_by_role("button", name="Step").click()
    settle(page, "step 1 ·")
    main = page.get_by_test_id("stMain")  # the header has a Stop of its own while a run lasts
    main.get_by_role("button", name="Train").click()
    stop = main.get_by_role("button", name="Stop")
    stop.wait_for(timeout=30_000)  # training live: the button turned into Stop
    try:
        stop.click(timeout=2_000)
    except sync_api.TimeoutError:
        pass  # a quiet machine can finish the 1,500 steps first; Train is back either way
    main.get_by_role("button", name="Train").wait_for(timeout=60_000)
    settle(page)
    assert page.get_by_text("step 1 ·").count() == 0  # it trained
    assert page.locator('[data-testid="stException"]').count() == 0
