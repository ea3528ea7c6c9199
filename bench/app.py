"""App speed: ``python -m bench.app``.

1. AppTest: for every lesson page, the time of a rerun after the first visit (Next, then a value
   re-roll) — the goal is ≤ 0.3 s. The reference in the same run is a rerun of the static Home
   page, so a busy machine shows in both columns.
2. A real browser (Debian's Chromium via Playwright, skipped where missing): each page's first
   render, from navigation to the end of the script run, on a warm server — goal ≤ 2 s.
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


def browser_first_render() -> list[tuple[str, float]]:
    import shutil

    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return []
    if not chromium:
        return []
    paths = [p.url for p in PAGES]
    idle = """() => !document.querySelector('[data-testid="stStatusWidget"]') &&
        !document.querySelector('[data-stale="true"]') && document.querySelector('h1')"""
    out = []
    with running_app() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        for warm in (False, True):  # the first pass warms the server's caches
            for path in paths:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                t0 = time.perf_counter()
                page.goto(f"{url}/{path}")
                page.wait_for_selector('[data-testid="stApp"]')
                page.wait_for_timeout(150)
                page.wait_for_function(idle, timeout=90_000)
                if warm:
                    out.append(("/" + path, time.perf_counter() - t0))
                page.close()
        browser.close()
    return out


def main() -> int:
    print("| lesson page | rerun, median (s) | rerun, worst (s) | Home rerun, same run (s) |")
    print("|---|---:|---:|---:|")
    for page, med, worst, home in apptest_reruns():
        print(f"| {page} | {med:.3f} | {worst:.3f} | {home:.3f} |")
    rows = browser_first_render()
    if rows:
        print("\n| page | first render in Chromium (s) |")
        print("|---|---:|")
        for path, t in rows:
            print(f"| {path} | {t:.2f} |")
    else:
        print("\n(browser timings skipped: chromium or playwright missing)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
