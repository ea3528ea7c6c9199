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
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.serve import CHROMIUM_FLAGS, running_app
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


def main() -> int:
    from bench import app_nets

    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else ""
    if only in ("", "reruns"):
        print("| lesson page | rerun, median (s) | rerun, worst (s) | Home rerun, same run (s) |")
        print("|---|---:|---:|---:|")
        for page, med, worst, home in apptest_reruns():
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
    if only in ("", "networks"):
        app_nets.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
