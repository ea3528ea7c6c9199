"""The "Computational graph" page in a real browser (Debian's Chromium, Playwright) at 1280 and
1920 px: the graph drawn whole inside the page column and big enough to read, every example
without a KaTeX error, ← / → moving the highlighted node, and a graph too wide for the page
scrolling sideways with the visited node in view.

Skips (with the reason) where Chromium or Playwright is missing; CI installs both."""

from urllib.parse import quote

import pytest

from bench.serve import CHROMIUM_FLAGS, running_app

pytestmark = pytest.mark.browser

# skips this module where Chromium or Playwright is missing
from tests.browser_env import CHROMIUM, KATEX_ERRORS, settle, sync_api  # noqa: E402
from ui import graph_state  # noqa: E402
from ui.graph_dot import VISIT  # noqa: E402

BIG = "2*tanh(" + " + ".join(f"x{i}*w{i}" for i in range(1, 20)) + " + b)"  # 80 nodes
CHARTS = "[...document.querySelectorAll('[data-testid=\"stGraphVizChart\"]')]"
# every drawn graph against the page column: its visible box inside the column, and its text
# at least 9 px tall (the smallest that reads); a chart that scrolls sideways is measured by
# its box, not by its drawing
NOT_WHOLE = """() => {
    const main = document.querySelector('[data-testid="stMainBlockContainer"]');
    const cs = getComputedStyle(main), r = main.getBoundingClientRect();
    const left = r.left + parseFloat(cs.paddingLeft) - 1, right = r.right - parseFloat(cs.paddingRight) + 1;
    const bad = [];
    if (document.querySelector('.stMain').scrollWidth > document.querySelector('.stMain').clientWidth + 1)
        bad.push('the page scrolls sideways');
    const charts = CHARTS;
    if (!charts.length) bad.push('no graph');
    charts.forEach((c, k) => {
        const box = c.getBoundingClientRect(), svg = c.querySelector('svg');
        if (!svg) { bad.push(`chart ${k} is empty`); return; }
        const s = svg.getBoundingClientRect();
        const shown = c.scrollWidth > c.clientWidth + 1 ? box : s;
        if (shown.left < left || shown.right > right) bad.push(`chart ${k}: ${Math.round(shown.left)}..${Math.round(shown.right)} outside ${Math.round(left)}..${Math.round(right)}`);
        if (s.width < 10 || s.height < 10) bad.push(`chart ${k} is not drawn`);
        const text = [...svg.querySelectorAll('text')].map(t => t.getBoundingClientRect().height);
        const smallest = Math.min(...text);
        if (smallest < 9) bad.push(`chart ${k}: text ${smallest.toFixed(1)} px tall`);
    });
    return bad;
}""".replace("CHARTS", CHARTS)
VISITED = """(colour) => {
    const chart = document.querySelector('[data-testid="stGraphVizChart"]');
    const hit = [...chart.querySelectorAll('g.node')].find(g => g.querySelector(`polygon[fill="${colour}"]`));
    return hit ? hit.querySelector('title').textContent : null;
}"""


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
        pg = browser.new_page(viewport={"width": 1280, "height": 1000})
        yield pg
        browser.close()


def drawn(pg) -> None:
    """Wait until the first graph is drawn (Graphviz lays it out in the browser)."""
    pg.wait_for_selector('[data-testid="stGraphVizChart"] svg g.node', timeout=60_000)
    pg.wait_for_timeout(600)


def visited(pg) -> str | None:
    return pg.evaluate(VISITED, VISIT)


def clean(pg, what: str) -> None:
    assert pg.locator('[data-testid="stException"]').count() == 0, what
    assert pg.evaluate(KATEX_ERRORS) == 0, f"KaTeX error: {what}"


@pytest.mark.parametrize("width", [1280, 1920])
def test_the_graph_is_whole_readable_and_the_arrow_keys_step_it(server, page, width):
    page.set_viewport_size({"width": width, "height": 1000})
    page.goto(f"{server}/graph")
    settle(page, "Step 1 of 7")
    drawn(page)
    clean(page, "the first step")
    assert page.evaluate(NOT_WHOLE) == []
    assert visited(page) is None  # the forward pass visits nothing
    page.locator("h1").first.click()  # the page has the focus, no input does
    seen = []
    for step in (2, 3, 4):
        page.keyboard.press("ArrowRight")
        settle(page, f"Step {step} of 7")
        drawn(page)
        seen.append(visited(page))
    assert seen == ["n9", "n8", "n6"]  # tanh, then the sums: output first, inputs after
    page.keyboard.press("ArrowLeft")
    settle(page, "Step 3 of 7")
    drawn(page)
    assert visited(page) == "n8"
    clean(page, "after stepping")
    assert page.evaluate(NOT_WHOLE) == []


@pytest.mark.parametrize("width", [1280, 1920])
def test_every_example_is_whole_with_its_practice_open(server, page, width):
    page.set_viewport_size({"width": width, "height": 1000})
    for example in graph_state.EXAMPLES:
        query = "&".join(
            [f"expr={quote(example.text)}", "step=3"]
            + [f"at={quote(';'.join(f'{n}:{v!r}' for n, v in example.values.items()))}"]
        )
        page.goto(f"{server}/graph?{query}")
        settle(page, "Step 3 of")
        page.get_by_text("Practice: your turn").click()
        settle(page)
        page.get_by_role("button", name="Hint").first.click()
        settle(page)
        drawn(page)
        clean(page, example.key)
        assert page.evaluate(NOT_WHOLE) == [], example.key


def test_a_graph_wider_than_the_page_scrolls_with_the_visited_node_in_view(server, page):
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.goto(f"{server}/graph?expr={quote(BIG)}&step=25")
    settle(page, "Step 25 of")
    drawn(page)
    page.wait_for_timeout(1500)  # the visited node is scrolled into view once it is drawn
    box = page.locator('.st-key-graph-chart [data-testid="stGraphVizChart"]')
    assert box.evaluate("b => b.scrollWidth > b.clientWidth + 100")
    inside = box.evaluate(
        """(b, colour) => {
            const hit = [...b.querySelectorAll('g.node')].find(g => g.querySelector(`polygon[fill="${colour}"]`));
            const r = hit.getBoundingClientRect(), v = b.getBoundingClientRect();
            return r.left >= v.left && r.right <= v.right;
        }""",
        VISIT,
    )
    assert inside
    assert page.evaluate(NOT_WHOLE) == []
    page.get_by_text("Fit the whole graph on the page").first.click()
    settle(page)
    drawn(page)
    assert box.evaluate("b => b.scrollWidth <= b.clientWidth + 1")
    clean(page, "the big graph")
