"""App speed: ``python -m bench.app`` (``--only networks`` for the network pages' part).

1. AppTest: for every lesson page, the time of a rerun after the first visit (Next, then a value
   re-roll) — the goal is ≤ 0.3 s. The reference in the same run is a rerun of the static Home
   page, so a busy machine shows in both columns.
2. A real browser (Debian's Chromium via Playwright, skipped where missing): each page's first
   render in a fresh browser context (a new visitor) on a warm server, at 1280 and 1920 px: to
   the end of the first script run, to the moment it is usable (buttons present, no grey
   placeholder left while widget or chart code loads) and to the page's last visible change
   (every rerun, heatmap and formula drawn) — goal ≤ 2 s to usable. The median of 5 rounds,
   pages interleaved.
3. The network pages in the browser, after the first visit (medians of 5; ``bench.app_nets``):
   Step ≤ 0.3 s, Stop effective ≤ 0.5 s, a CNN setting change ≤ 1 s, Show all steps ≤ 2 s, and
   a whole Train's wall time beside what the page says it took.
4. The computational graph at its limit, 80 nodes (``GRAPH_80``), after the first visit: with
   AppTest, the rerun of a step (Next) and of a new number (a new graph: built, walked,
   verified); in the browser, from the key press or the number typed to the new drawing on
   screen (laid out by Graphviz in the browser) — goal < 1 s. Median of 5 (``--graph``: only
   this part).
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from bench.serve import CHROMIUM_FLAGS, running_app
from ui.registry import PAGES, lesson_pages

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def apptest_reruns(repeats: int = 5) -> list[tuple[str, float, float]]:
    rows = []
    at = AppTest.from_file(APP, default_timeout=120).run()
    home = statistics.median(_timed(at.run) for _ in range(repeats))
    for page in [p.path for p in lesson_pages()]:
        at.switch_page(page).run()  # the first visit: derivation, lambdify, imports
        times = []
        for i in range(repeats):
            btn = at.button(key=f"{page}/next")
            if i % 2 == 0 and not btn.disabled:
                times.append(_timed(btn.click().run))
            else:
                times.append(_timed(at.button(key=f"{page}/reverify").click().run))
        rows.append((page, statistics.median(times), max(times), home))
    # the largest lesson the app allows: 16×16 input, 5×5 kernel
    big = AppTest.from_file(APP, default_timeout=120)
    big.query_params.update({"input_shape": "16x16", "kernel_shape": "5x5"})
    big.run()
    big.switch_page("pages/conv2d.py").run()
    times = [_timed(big.button(key="pages/conv2d.py/next").click().run) for _ in range(repeats)]
    rows.append(("pages/conv2d.py at 16×16 * 5×5", statistics.median(times), max(times), home))
    return rows


GRAPH_80 = "2*tanh(" + " + ".join(f"x{i}*w{i}" for i in range(1, 20)) + " + b)"


def graph_reruns(repeats: int = 5) -> list[tuple[str, float, float, float]]:
    """The graph page at 80 nodes: a step, and a new number (a new graph), timed with AppTest."""
    home_at = AppTest.from_file(APP, default_timeout=120).run()
    home = statistics.median(_timed(home_at.run) for _ in range(repeats))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["expr"] = GRAPH_80
    at.run()
    at.switch_page("pages/graph.py").run()  # the first visit: imports, the worker, torch
    steps = [_timed(at.button(key="graph/next").click().run) for _ in range(repeats)]
    box = at.number_input(key="graph/v/x1")
    values = [_timed(box.set_value(0.25 + 0.5 * i).run) for i in range(repeats)]
    return [
        ("graph, 80 nodes: Next", statistics.median(steps), max(steps), home),
        ("graph, 80 nodes: a new number", statistics.median(values), max(values), home),
    ]


VISITED = """(colour) => {
    const chart = document.querySelector('[data-testid="stGraphVizChart"]');
    const hit = chart && [...chart.querySelectorAll('g.node')].find(
        g => g.querySelector(`polygon[fill="${colour}"]`));
    return hit ? hit.querySelector('title').textContent : null;
}"""
DRAWN_TEXT = """(text) => [...document.querySelectorAll('[data-testid="stGraphVizChart"] text')]
    .some(t => t.textContent === text)"""


def _graph_open(browser, url: str, text: str, width: int):
    """A tab on the graph page for ``text``, past its first visit and two warm-up rounds."""
    from urllib.parse import quote

    page = browser.new_page(viewport={"width": width, "height": 1000})
    page.goto(f"{url}/graph?expr={quote(text)}&step=2")
    page.wait_for_selector('[data-testid="stGraphVizChart"] svg g.node', timeout=90_000)
    page.wait_for_function(IDLE, timeout=90_000)
    page.wait_for_timeout(1000)
    for i in range(2):
        _graph_round(page, 100 + i)
    return page


def _graph_round(page, i: int) -> tuple[float, float]:
    """Seconds from → to the next node highlighted on screen, and from a number typed (x1's)
    to the new graph drawn."""
    from ui.graph_dot import VISIT

    page.locator("h1").first.click()
    before = page.evaluate(VISITED, VISIT)
    k, n = map(int, re.findall(r"Step (\d+) of (\d+)", page.content())[0])
    # back and forth over the visits (steps 2 to n - 1): each highlights another node
    key = "ArrowLeft" if k >= n - 1 or (i % 2 and k > 2) else "ArrowRight"
    t0 = time.perf_counter()
    page.keyboard.press(key)
    page.wait_for_function(
        f"(a) => ({VISITED})(a.c) !== null && ({VISITED})(a.c) !== a.before",
        arg={"c": VISIT, "before": before}, timeout=60_000, polling=10,
    )  # fmt: skip
    step = time.perf_counter() - t0
    page.wait_for_function(IDLE, timeout=90_000)
    box = page.get_by_role("spinbutton", name="x1", exact=True)
    box.fill(str(0.125 + i))
    t0 = time.perf_counter()
    box.press("Enter")
    page.wait_for_function(DRAWN_TEXT, arg=f"data {0.125 + i:g}", timeout=60_000, polling=10)
    number = time.perf_counter() - t0
    page.wait_for_function(IDLE, timeout=90_000)
    return step, number


def graph_browser(width: int = 1280, runs: int = 7) -> list[tuple[str, float, float]]:
    """The graph page in the browser at 80 nodes, beside the same measures on micrograd's
    neuron (10 nodes) in the same run, one tab each, rounds interleaved: → to the next node
    highlighted, and a number typed to the new graph drawn (the server's rerun, Graphviz's
    layout in the browser, the drawing)."""
    import shutil

    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return []
    if not chromium:
        return []
    from ui.graph_state import NEURON

    got: dict[str, list[tuple[float, float]]] = {GRAPH_80: [], NEURON: []}
    with running_app() as url, sync_playwright() as p:
        # a browser each: a tab in the background has its drawing throttled
        browsers = [p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS) for _ in got]
        tabs = {
            text: _graph_open(b, url, text, width) for b, text in zip(browsers, got, strict=True)
        }
        for i in range(runs):
            for text, tab in tabs.items():
                got[text].append(_graph_round(tab, i))
        for b in browsers:
            b.close()
    med = statistics.median
    big, ref = got[GRAPH_80], got[NEURON]
    return [
        (
            "graph, 80 nodes: → to the next node drawn",
            med(s for s, _ in big),
            med(s for s, _ in ref),
        ),
        (
            "graph, 80 nodes: a number typed to the new graph drawn",
            med(n for _, n in big),
            med(n for _, n in ref),
        ),
    ]


IDLE = """() => !document.querySelector('[data-testid="stStatusWidget"]') &&
    !document.querySelector('[data-stale="true"]') && document.querySelector('h1')"""
# usable: the run is over and no skeleton (a grey placeholder for widget or chart code still
# loading) is left
USABLE = """() => document.querySelector('[data-testid="stApp"]')
    ?.getAttribute('data-test-script-state') === 'notRunning' &&
    !document.querySelector('[data-testid="stStatusWidget"]') &&
    document.querySelectorAll('[data-testid*="Skeleton"]').length === 0 &&
    document.querySelector('h1')"""
# watched from before the app's own scripts run (performance.now(): ms since navigation started)
# the page's last visible change: a mutation of an element with an area. Not counted: the app's
# script-state flag, and the invisible width probe's fragment reruns after it reports a width
# (its 240×0 container goes stale and back; nothing on screen changes)
WATCH = """window.__bplLast = 0;
new MutationObserver((ms) => {
  for (const m of ms) {
    if (m.attributeName === 'data-test-script-state') continue;
    const el = m.target.nodeType === 1 ? m.target : m.target.parentElement;
    const r = el ? el.getBoundingClientRect() : null;
    if (m.type === 'attributes' && (!r || r.width * r.height === 0)) continue;
    window.__bplLast = performance.now();
  }
}).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});"""
QUIET = "() => performance.now() - window.__bplLast > 1500"


def _first_render(browser, url: str, width: int) -> tuple[float, float, float]:
    """One page in a fresh browser context (no cache, no cookies, a new session): seconds to
    the end of the first script run, to usable, and to the page's last change (every run,
    chart and formula drawn)."""
    ctx = browser.new_context(viewport={"width": width, "height": 1000})
    ctx.add_init_script(WATCH)
    page = ctx.new_page()
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_selector('[data-testid="stApp"]')
    page.wait_for_timeout(150)
    page.wait_for_function(IDLE, timeout=90_000)
    ran = time.perf_counter() - t0
    page.wait_for_function(USABLE, timeout=90_000, polling=50)
    usable = time.perf_counter() - t0
    page.wait_for_function(QUIET, timeout=90_000, polling=100)
    settled = page.evaluate("() => window.__bplLast") / 1000
    ctx.close()
    return ran, usable, settled


def browser_first_render(runs: int = 5, width: int = 1280) -> list[tuple[str, float, float, float]]:
    """Each page's first render in a fresh context on a warm server: the median over ``runs``
    rounds (pages interleaved, so a slow spell of the machine hits every page alike)."""
    import shutil

    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return []
    if not chromium:
        return []
    paths = [p.url for p in PAGES]
    times: dict[str, list[tuple[float, float, float]]] = {p: [] for p in paths}
    with running_app() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        for path in paths:  # warm the server's caches (derivations, compiled functions)
            _first_render(browser, f"{url}/{path}", width)
        for _ in range(runs):
            for path in paths:
                times[path].append(_first_render(browser, f"{url}/{path}", width))
        browser.close()
    return [
        ("/" + path, *(statistics.median(t[i] for t in ts) for i in range(3)))
        for path, ts in times.items()
    ]


def graph_only() -> int:
    """``python -m bench.app --graph``: the graph page's rows alone."""
    print("| graph page | rerun, median (s) | rerun, worst (s) | Home rerun, same run (s) |")
    print("|---|---:|---:|---:|")
    for what, med, worst, home in graph_reruns():
        print(f"| {what} | {med:.3f} | {worst:.3f} | {home:.3f} |")
    for width in (1280, 1920):
        _print_graph_browser(width)
    return 0


def _print_graph_browser(width: int) -> None:
    print(
        f"\n| the graph page at {width} px, after the first visit | median (s) | "
        "the neuron (10 nodes), same run (s) |"
    )
    print("|---|---:|---:|")
    for what, t, ref in graph_browser(width):
        print(f"| {what} | {t:.2f} | {ref:.2f} |")


def main() -> int:
    from bench import app_nets

    if "--graph" in sys.argv[1:]:
        return graph_only()
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else ""
    if only in ("", "reruns"):
        print("| lesson page | rerun, median (s) | rerun, worst (s) | Home rerun, same run (s) |")
        print("|---|---:|---:|---:|")
        for page, med, worst, home in apptest_reruns() + graph_reruns():
            print(f"| {page} | {med:.3f} | {worst:.3f} | {home:.3f} |")
    for width in (1280, 1920) if only in ("", "first") else ():
        rows = browser_first_render(width=width)
        if not rows:
            print("\n(browser timings skipped: chromium or playwright missing)")
            break
        print(
            f"\n| page at {width} px, fresh context | title on screen (s) | usable (s) | "
            "last visible change (s) |"
        )
        print("|---|---:|---:|---:|")
        for path, ran, usable, drawn in rows:
            print(f"| {path} | {ran:.2f} | {usable:.2f} | {drawn:.2f} |")
        _print_graph_browser(width)
    if only in ("", "networks"):
        app_nets.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
