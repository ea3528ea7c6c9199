"""A real browser against a real server: Debian's Chromium driven by Playwright. Opens every page
from the sidebar, checks for Streamlit exception boxes and KaTeX errors, and clicks Next.

Skips (with the reason) where Chromium or Playwright is missing; CI installs both."""

import pytest

from bench.serve import CHROMIUM_FLAGS, running_app

pytestmark = pytest.mark.browser

# skips this module where Chromium or Playwright is missing
from tests.browser_env import CHROMIUM, KATEX_ERRORS, settle, sync_api  # noqa: E402
from ui.registry import PAGES as REGISTERED  # noqa: E402
from ui.registry import lesson_pages, ops_on_page  # noqa: E402

# sidebar entry → text that is on the page once it has rendered: a lesson's progress bar, or
# the page's own heading
PAGES = {p.title: "Step 1 of" if ops_on_page(p) else (p.heading or p.title) for p in REGISTERED}


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


def heatmap(pg, title: str):
    """The explorer's heatmap of that matrix (the last one of that title on the page)."""
    return pg.locator(f'svg[aria-label="{title}"]').last


def picked(pg) -> str:
    box = pg.locator('[data-testid="stSelectbox"]').last
    return box.inner_text() + " ".join(
        box.locator("input").evaluate_all("e => e.map(i => i.value)")
    )


def click_cell(pg, title: str, r: int, c: int) -> None:
    """Click a cell (0-based) of the explorer's heatmap and wait for the rerun."""
    heatmap(pg, title).locator(f'rect[data-cell="{r},{c}"]').click()
    settle(pg)


def test_clicking_a_gradient_cell_explains_it(server, page):
    page.set_viewport_size({"width": 1400, "height": 2400})
    page.goto(f"{server}/conv2d")
    settle(page, "Step 1 of")
    click_cell(page, "∂L/∂X", 1, 1)  # the centre cell, x₂₂
    lhs = r"\frac{\partial L}{\partial x_{22}}"
    page.wait_for_function(
        "(lhs) => [...document.querySelectorAll('.katex-mathml annotation')]"
        ".some(a => a.textContent.includes(lhs))",
        arg=lhs,
        timeout=30_000,
    )
    assert "∂L/∂x₂₂" in picked(page)
    # its chain-rule sum with numbers: four terms, one per output it touched
    texts = page.locator(".katex-mathml annotation").evaluate_all("e => e.map(a => a.textContent)")
    sums = [t for t in texts if lhs in t and r"\cdot" in t]
    assert sums and sums[0].count(r"\cdot") >= 8


def test_clicking_the_same_cell_again_is_not_ignored(server, page):
    """The explorer used to keep the last click per matrix and drop a repeat of it."""
    page.set_viewport_size({"width": 1400, "height": 2400})
    page.goto(f"{server}/conv2d")
    settle(page, "Step 1 of")
    click_cell(page, "∂L/∂X", 1, 1)
    assert "∂L/∂x₂₂" in picked(page)
    click_cell(page, "∂L/∂K", 0, 0)
    assert "∂L/∂k₁₁" in picked(page)
    click_cell(page, "∂L/∂X", 1, 1)  # the same cell as two clicks ago
    assert "∂L/∂x₂₂" in picked(page)
    click_cell(page, "∂L/∂X", 1, 1)  # and straight again
    assert "∂L/∂x₂₂" in picked(page)


def test_hovering_a_cell_shows_its_name_and_value(server, page):
    page.set_viewport_size({"width": 1400, "height": 2400})
    page.goto(f"{server}/conv2d?values=edit&X=1_2_3_4_5.5_6_7_8_9")
    settle(page, "Step 1 of")
    for title, cell, tip in [("X", "1,1", "x₂₂ = 5.5"), ("b", "0,0", "b = ")]:
        rect = heatmap(page, title).locator(f'rect[data-cell="{cell}"]')
        rect.hover()
        shown = page.locator(".tip").filter(has_text=tip)
        shown.first.wait_for(state="visible", timeout=10_000)
    heatmap(page, "∂L/∂X").locator('rect[data-cell="0,0"]').hover()
    text = page.locator(".tip").filter(has_text="∂L/∂x₁₁ = ").first
    text.wait_for(state="visible", timeout=10_000)
    assert text.inner_text().split(" = ")[1].lstrip("-").replace(".", "").isdigit()


def test_the_arrow_keys_step_through_the_lesson(server, page):
    page.goto(f"{server}/conv2d")
    settle(page, "Step 1 of")
    page.locator("h1").first.click()  # the page has focus, no input does
    page.keyboard.press("ArrowRight")
    settle(page, "Step 2 of")
    page.keyboard.press("ArrowRight")
    settle(page, "Step 3 of")
    page.keyboard.press("ArrowLeft")
    settle(page, "Step 2 of")
    # typing in a number box moves its cursor, not the lesson
    box = page.get_by_test_id("stSidebar").get_by_role("spinbutton").first
    box.click()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowRight")
    settle(page)
    assert page.get_by_text("Step 2 of").count() == 1


def test_presenter_mode_hides_the_sidebar_and_enlarges_the_formulas(server, page):
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.goto(f"{server}/conv2d?step=2")
    settle(page, "Step 2 of")
    size = "() => parseFloat(getComputedStyle(document.querySelector('.stMain .katex')).fontSize)"
    normal = page.evaluate(size)
    assert page.get_by_test_id("stSidebar").is_visible()
    page.get_by_text("Presenter mode").click()
    settle(page)
    page.wait_for_timeout(800)
    assert not page.get_by_test_id("stSidebar").is_visible()
    assert page.evaluate(size) > 1.3 * normal
    assert "presenter=1" in page.url
    assert page.evaluate(OVERFLOWING) == []  # formulas broken for the wider, larger column
    # the toggle just clicked kept the focus and the arrows did nothing: a lecturer's first key
    page.keyboard.press("ArrowRight")
    settle(page, "Step 3 of")
    page.goto(page.url)  # a shared link opens in presenter mode
    settle(page, "Step 3 of")
    assert not page.get_by_test_id("stSidebar").is_visible()


def test_a_typed_1e308_is_read_as_typed_and_named(server, page):
    """A number column turned "1e308" into 1308; a text cell keeps it, and the page says which
    cell is out of range, keeping the last numbers that worked."""
    page.set_viewport_size({"width": 1280, "height": 1400})
    page.goto(f"{server}/elementwise?op=exp&values=edit")
    settle(page, "Step 1 of")
    grid = page.get_by_test_id("stDataFrame").first.bounding_box()
    page.mouse.click(grid["x"] + 60, grid["y"] + 52)  # row 1, column 1
    page.wait_for_timeout(400)
    page.keyboard.press("Enter")  # open the cell's editor
    page.wait_for_timeout(400)
    page.keyboard.press("Control+a")
    page.keyboard.type("1e308")
    page.wait_for_timeout(400)
    page.keyboard.press("Enter")
    settle(page)
    alert = page.get_by_test_id("stAlert").filter(has_text="x₁₁ (row 1, column 1) is 1e308")
    alert.first.wait_for(timeout=30_000)
    assert "too large" in alert.first.inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator(".katex").count() > 0  # the page goes on with the last numbers


# the heatmaps' SVGs live in their components' shadow roots, out of document.querySelectorAll
SVGS = """[...document.querySelectorAll('*')].filter(e => e.shadowRoot)
    .flatMap(e => [...e.shadowRoot.querySelectorAll('svg[aria-label]')])"""
NOT_FITTING = """() => {
    const main = document.querySelector('[data-testid="stMainBlockContainer"]');
    const cs = getComputedStyle(main), r = main.getBoundingClientRect();
    const right = r.right - parseFloat(cs.paddingRight) + 1;
    const bad = [];
    if (document.querySelector('.stMain').scrollWidth > document.querySelector('.stMain').clientWidth + 1)
        bad.push('the page scrolls sideways');
    const svgs = SVGS;
    if (!svgs.length) bad.push('no heatmap found');
    for (const svg of svgs) {
        const host = svg.getRootNode().host, s = svg.getBoundingClientRect();
        if (!host) continue;
        const h = host.getBoundingClientRect();
        if (s.right > right || s.right > h.right + 1 || s.width > h.width + 1)
            bad.push(svg.getAttribute('aria-label') + ' ' + Math.round(s.right) + '>' + Math.round(Math.min(right, h.right)));
    }
    return bad;
}""".replace("SVGS", SVGS)
# how much the browser scaled a heatmap beyond the width the page drew it for
LAID_FOR = """(title) => { const s = SVGS.filter(s => s.getAttribute('aria-label') === title).pop();
    return s.getBoundingClientRect().width / s.viewBox.baseVal.width; }""".replace("SVGS", SVGS)
CELL_PX = """(title) => SVGS
    .filter(s => s.getAttribute('aria-label') === title).pop()
    .querySelector('rect.cell').getBoundingClientRect().width""".replace("SVGS", SVGS)


@pytest.mark.parametrize("width", [1280, 1920])
@pytest.mark.parametrize(
    "query",
    [p.url for p in lesson_pages()]
    + ["conv2d?step=10", "conv_transpose2d?input_shape=8x8&stride=3x3&kernel_shape=6x6"],
)
def test_nothing_is_cut_off(server, page, query, width):
    page.set_viewport_size({"width": width, "height": 1000})
    page.goto(f"{server}/{query}")
    settle(page, "Step 1 of" if "step=" not in query else "Step")
    page.get_by_text("Show all steps").click()
    settle(page)
    page.wait_for_timeout(1000)
    assert page.evaluate(NOT_FITTING) == []
    assert [s for s in page.evaluate(OVERFLOWING) if "∂ 𝐿 ∂ 𝑓 1 = ∂ 𝐿 ∂ 𝐿 𝑖" not in s] == []


CUT_TEXT = """() => [...document.querySelectorAll('[data-testid="stPageLink"] a')]
    .filter(a => [...a.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth + 1))
    .map(a => a.innerText)"""


@pytest.mark.parametrize("width", [1280, 1920])
def test_the_lesson_map_shows_every_title_whole(server, page, width):
    page.set_viewport_size({"width": width, "height": 1000})
    page.goto(server)
    settle(page, "Lesson map")
    assert page.locator('[data-testid="stMainBlockContainer"] [data-testid="stPageLink"]').count()
    assert page.evaluate(CUT_TEXT) == []


def test_network_lesson_links_and_presenter_buttons_are_whole(server, page):
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.goto(f"{server}/conv2d?presenter=1")
    settle(page, "Step 1 of")
    cut = page.evaluate(
        """() => [...document.querySelectorAll('.stMain button')]
        .filter(b => [b, ...b.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth + 1))
        .map(b => b.innerText)"""
    )
    assert cut == []
    page.goto(f"{server}/cnn")
    settle(page, "Made of these single-op lessons")
    assert page.evaluate(CUT_TEXT) == []


def test_heatmaps_use_the_room_of_a_wider_window(server, page):
    cells = {}
    for width in (1280, 1920):
        page.context.clear_cookies()  # a first visit: laid out for 1280 px until measured
        page.set_viewport_size({"width": width, "height": 1000})
        page.goto(f"{server}/conv2d")
        settle(page, "Step 1 of")
        page.wait_for_timeout(1000)
        cells[width] = page.evaluate(CELL_PX, "∂L/∂X")
    assert cells[1920] > 1.4 * cells[1280], cells
    # the heatmaps grew in the browser; the next click reruns the page laid out for 1920 px
    assert page.evaluate(LAID_FOR, "∂L/∂X") > 1.4
    page.get_by_role("button", name="Next").click()
    settle(page, "Step 2 of")
    page.wait_for_timeout(500)
    assert page.evaluate(LAID_FOR, "∂L/∂X") == pytest.approx(1, abs=0.02)
    assert page.evaluate(CELL_PX, "∂L/∂X") == pytest.approx(cells[1920], rel=0.05)


def test_a_window_narrower_than_last_time_is_laid_out_at_once(server, page):
    """The cookie remembers a 1920 px window; the page opens at 1280: the probe reports the
    narrower column straight away, so no formula is broken for a column it does not have."""
    page.context.add_cookies([{"name": "bpl_window", "value": "1920", "url": server}])
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.goto(f"{server}/conv2d?step=3")
    settle(page, "Step 3 of")
    page.wait_for_timeout(1000)
    settle(page)
    assert page.evaluate(LAID_FOR, "∂L/∂X") == pytest.approx(1, abs=0.02)
    page.get_by_text("Show all steps").click()
    settle(page)
    assert page.evaluate(OVERFLOWING) == []


@pytest.mark.parametrize(
    "query",
    [
        "conv2d?input_shape=6x6&kernel_shape=3x2&stride=2x1&padding=1x1&dilation=2x1",
        "conv_transpose2d?input_shape=3x2&kernel_shape=3x2&stride=2x2&padding=1x1&output_padding=1x1",
        "pooling?op=max_pool2d&input_shape=5x5&kernel_size=3x3&stride=2x2&padding=1x1",
        # step 4 was a red "Too many expansions" block (KaTeX's maxExpand)
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
        # the largest sizes the lessons offer
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


# ---------------------------------------------------------------- the network pages

SVG_TITLES = """() => SVGS.map(s => s.getAttribute('aria-label'))""".replace("SVGS", SVGS)
# a drawing's cells as the browser lays them out: their widths, and how many stick out of the
# drawing's component (a cut-off column)
CELLS = """(title) => { const s = SVGS.filter(s => s.getAttribute('aria-label') === title).pop();
    const box = s.getRootNode().host.getBoundingClientRect();
    const cells = [...s.querySelectorAll('rect.cell')].map(c => c.getBoundingClientRect());
    return {widths: cells.map(c => c.width), outside: cells.filter(c => c.right > box.right + 1
        || c.left < box.left - 1).length}; }""".replace("SVGS", SVGS)


@pytest.mark.parametrize("width", [1280, 1920])
def test_the_network_pictures_fit_their_columns(server, page, width):
    """At 1280 px the CNN's confusion matrix drew its "predicted 9" column (almost every
    prediction at epoch 0) as a thin unlabelled bar with column labels 0–8 only, its
    misclassified mosaic showed 5 of its 6 columns, and after Step the MLP's W⁽³⁾ (8×2) drew
    column 2 as a sliver under the title "∂L/∂\\"."""
    page.set_viewport_size({"width": width, "height": 1000})
    page.goto(f"{server}/mlp")
    settle(page, "Reset")
    page.get_by_role("button", name="Step").click()
    settle(page, "step 1 · epoch")
    page.wait_for_timeout(500)
    assert page.evaluate(NOT_FITTING) == []
    titles = page.evaluate(SVG_TITLES)
    for title in ("W⁽³⁾", "∂L/∂W⁽³⁾", "ΔW⁽³⁾"):
        assert title in titles, titles
        cells = page.evaluate(CELLS, title)
        assert cells["outside"] == 0 and len(cells["widths"]) == 16
        assert min(cells["widths"]) > 0.8 * max(cells["widths"]) >= 14, (title, cells)
    page.goto(f"{server}/cnn")
    settle(page, "What it gets wrong")
    page.wait_for_timeout(500)
    assert page.evaluate(NOT_FITTING) == []
    confusion = page.evaluate(CELLS, "Confusion matrix (test set)")
    assert confusion["outside"] == 0 and len(confusion["widths"]) == 100
    assert min(confusion["widths"]) > 0.9 * max(confusion["widths"]) >= 13, confusion
    mistakes = next(t for t in page.evaluate(SVG_TITLES) if t.startswith("Misclassified"))
    assert page.evaluate(CELLS, mistakes)["outside"] == 0


def test_the_backward_pass_follows_the_test_image_at_once(server, page):
    """Test image 22 and Enter changed the feature maps; the backward pass still said "Test
    image 1" until another control changed."""
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.goto(f"{server}/cnn")
    settle(page, "Test image 1, a")
    box = page.get_by_role("spinbutton", name="Test image")
    box.fill("22")
    box.press("Enter")
    page.get_by_text("Test image 22, a").first.wait_for(timeout=60_000)
    settle(page)
    assert "Feature maps R = ReLU(Z) of test image 22, one per channel" in page.evaluate(SVG_TITLES)
    assert page.get_by_text("Test image 1, a").count() == 0
