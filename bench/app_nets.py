"""The network pages in a real browser, after the first visit (part 3 of ``python -m bench.app``;
alone: ``python -m bench.app_nets``). Medians of 5 at 1280 px, each beside the Home page's
rerun in the same run as a reference (a busy machine slows both):

- MLP Step: click to the status line reading the next step, the page idle — goal ≤ 0.3 s;
- Stop (MLP and CNN): click to the Train button back — goal ≤ 0.5 s — and how many steps ran
  after the click;
- a CNN setting change before training (the kernel size 3 ↔ 5): key press to the page idle,
  nothing grey — goal ≤ 1 s;
- Show all steps on the MLP and CNN lessons: click to every formula drawn — goal ≤ 2 s;
- one whole Train (MLP 1,500 steps, CNN to its epochs): its wall time beside what the page says
  it took.
"""

from __future__ import annotations

import re
import shutil
import statistics
import time

from bench.serve import CHROMIUM_FLAGS, running_app

IDLE = """() => document.querySelector('[data-testid="stApp"]')
    ?.getAttribute('data-test-script-state') === 'notRunning' &&
    !document.querySelector('[data-testid="stStatusWidget"]') &&
    !document.querySelector('[data-stale="true"]') &&
    document.querySelectorAll('[data-testid*="Skeleton"]').length === 0"""
CAPTION = """(start) => [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
    .map(e => e.innerText).find(t => t.startsWith(start)) || ''"""
ROUNDS = 5


def _idle(page, timeout=120_000) -> None:
    page.wait_for_function(IDLE, timeout=timeout, polling=20)


def _settle(page) -> None:
    for _ in range(2):
        page.wait_for_timeout(300)
        _idle(page)


def _timed(page, act, until: str, arg=None) -> float:
    t0 = time.perf_counter()
    act()
    page.wait_for_timeout(30)  # the click's rerun has started (the script state flips)
    page.wait_for_function(until, arg=arg, timeout=120_000, polling=20)
    return time.perf_counter() - t0


def _step_number(page) -> int:
    m = re.match(r"step (\d+)", page.evaluate(CAPTION, "step "))
    return int(m.group(1)) if m else -1


def mlp_step(page) -> list[float]:
    until = f"(n) => ({CAPTION})('step ' + n + ' ') !== '' && ({IDLE})()"
    times = []
    for _ in range(ROUNDS):
        n = _step_number(page)
        button = page.get_by_role("button", name="Step", exact=False).first
        times.append(_timed(page, button.click, until, n + 1))
        _settle(page)
    return times


# the page's own buttons: the header's status widget has a Stop of its own (it stops a script
# run, not the training)
BUTTONS = "[...document.querySelectorAll('[data-testid=\"stMainBlockContainer\"] button')]"
TRAIN_BACK = f"""() => {BUTTONS}.some(b => /Train$/.test(b.innerText))
    && !{BUTTONS}.some(b => /Stop$/.test(b.innerText))"""


CLICK_STOP = f"() => {BUTTONS}.find(b => /Stop$/.test(b.innerText)).click()"


def stop(page, count) -> tuple[list[float], list[float]]:
    """Train, let it run 1.5 s, Stop: seconds to the Train button back, and how far the count
    (steps or epochs) moved after the click (read again a second later: it must stay). The
    click is the DOM's, as a hand's: Playwright's own waits for a button that the page redraws
    while training."""
    times, after = [], []
    for _ in range(ROUNDS):
        page.get_by_role("button", name="Train").first.click()
        page.wait_for_timeout(1500)
        before = count(page)
        times.append(_timed(page, lambda: page.evaluate(CLICK_STOP), TRAIN_BACK))
        _settle(page)
        page.wait_for_timeout(1000)
        after.append(round(count(page) - before, 2))
        page.get_by_role("button", name="Reset").first.click()
        _settle(page)
    return times, after


def _epochs(page) -> float:
    m = re.search(r"epoch ([0-9.]+)", page.evaluate(CAPTION, "training: epoch ") or "")
    if m:
        return float(m.group(1))
    m = re.match(r"epoch (\d+)", page.evaluate(CAPTION, "epoch "))
    return float(m.group(1)) if m else -1.0


def cnn_setting(page) -> list[float]:
    """The kernel size 3 → 5 → 3 …, by the keyboard on its slider: to the page idle."""
    thumb = page.locator('input[type="range"][aria-label="Kernel size k"]')
    times = []
    for i in range(ROUNDS):
        key = "ArrowRight" if i % 2 == 0 else "ArrowLeft"
        thumb.focus()
        times.append(_timed(page, lambda key=key: page.keyboard.press(key), f"() => ({IDLE})()"))
        _settle(page)
    return times


KATEX_DONE = f"""() => ({IDLE})() && document.querySelectorAll('.katex').length > 0"""


def show_all(page) -> list[float]:
    toggle = page.get_by_text("Show all steps").first
    times = []
    for _ in range(ROUNDS):
        times.append(_timed(page, toggle.click, KATEX_DONE))
        _settle(page)
        toggle.click()  # back to one step (not timed)
        _settle(page)
    return times


def whole_train(page, done: str) -> tuple[float, str]:
    """One Train to its end: the wall time, and the page's own "The last Train: …" line."""
    t0 = time.perf_counter()
    page.get_by_role("button", name="Train").first.click()
    page.wait_for_timeout(500)
    page.wait_for_function(done, timeout=600_000, polling=50)
    wall = time.perf_counter() - t0
    _settle(page)
    return wall, page.evaluate(CAPTION, "The last Train:")


def _home_rerun(page, url: str) -> float:
    """The reference: the Home page's rerun (a re-click of its link), the same browser."""
    page.goto(url)
    _settle(page)
    link = page.get_by_test_id("stSidebarNav").get_by_text("Home", exact=True)
    times = []
    for _ in range(ROUNDS):
        times.append(_timed(page, link.click, f"() => ({IDLE})()"))
        _settle(page)
    return statistics.median(times)


def measure(url: str, browser) -> list[tuple[str, float, float, str]]:
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    home = _home_rerun(page, url)
    rows = []

    def row(name, times, note=""):
        rows.append((name, statistics.median(times), max(times), note))

    page.goto(f"{url}/mlp")
    _settle(page)
    row("MLP Step", mlp_step(page))
    times, after = stop(page, _step_number)
    row("MLP Stop", times, f"steps after the click: {after}")
    row("MLP Show all steps", show_all(page))
    wall, said = whole_train(page, "() => (" + CAPTION + ")('The last Train:') !== ''")
    rows.append(("MLP one whole Train", wall, wall, f"the page: {said!r}"))
    page.goto(f"{url}/cnn")
    _settle(page)
    row("CNN kernel size 3 ↔ 5", cnn_setting(page))
    times, after = stop(page, _epochs)
    row("CNN Stop", times, f"epochs after the click: {after}")
    row("CNN Show all steps", show_all(page))
    wall, said = whole_train(page, "() => (" + CAPTION + ")('The last Train:') !== ''")
    rows.append(("CNN one whole Train", wall, wall, f"the page: {said!r}"))
    page.close()
    rows.append(("Home rerun (reference)", home, home, ""))
    return rows


def main() -> int:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("\n(network page timings skipped: playwright missing)")
        return 0
    chromium = shutil.which("chromium")
    if not chromium:
        print("\n(network page timings skipped: chromium missing)")
        return 0
    with running_app() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        rows = measure(url, browser)
        browser.close()
    print("\n| network page, 1280 px, after the first visit | median (s) | worst (s) | note |")
    print("|---|---:|---:|---|")
    for name, med, worst, note in rows:
        print(f"| {name} | {med:.2f} | {worst:.2f} | {note} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
