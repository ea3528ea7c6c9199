"""What the load test's sessions do (open a lesson, step, answer, check, loop slow answers) and
how it is recorded (``Recorder``: per metric the latencies, errors, "busy" and wrong verdicts).

Every latency is one user action: from the message the browser would send to the end of the
server's script run that shows its result (a lesson's step, a verdict). Errors are exceptions
and "Something went wrong" boxes on a page, sockets that closed, runs that never finished,
widgets that were not where a user would find them, and links whose settings the page did not
take. A verdict is read from the page: "busy" when it says the checker is busy, "wrong" when a
right answer is not judged correct."""

from __future__ import annotations

import asyncio
import re
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field

import websockets

from bench import load_pages as P
from bench.load_client import Page, RunTimeout, Session

HEAVY_SECONDS = 900.0  # a heavy link on a loaded server may take minutes today: measured, not cut
STEP = re.compile(r"Step (\d+) of (\d+)")


@dataclass
class Metric:
    name: str
    goal: str = ""
    samples: list[float] = field(default_factory=list)
    errors: int = 0
    right: int = 0  # right answers checked
    correct: int = 0  # of them, judged correct
    busy: int = 0
    wrong: int = 0
    notes: list[str] = field(default_factory=list)


class Recorder:
    """The metrics of one scenario run, and the distinct error messages behind their counts."""

    def __init__(self) -> None:
        self.metrics: dict[str, Metric] = {}
        self.messages: Counter = Counter()
        self.ratios: list[tuple[str, str, str]] = []  # (numerator, denominator, goal) metrics

    def metric(self, name: str, goal: str = "") -> Metric:
        m = self.metrics.setdefault(name, Metric(name, goal))
        m.goal = m.goal or goal
        return m

    def ratio(self, num: str, den: str, goal: str) -> None:
        """Report ``num``'s median latency as a multiple of ``den``'s."""
        self.ratios.append((num, den, goal))

    def error(self, name: str, message: str) -> None:
        self.metric(name).errors += 1
        self.messages[f"{name}: {message}"] += 1

    async def timed(self, name: str, s: Session, action, ready=None, timeout=None):
        """Await ``action`` (a Session call) and, if ``ready(page)`` is given, until it holds;
        record its seconds under ``name``. Returns the seconds, or None after an error."""
        t0 = time.perf_counter()
        try:
            await action
            if ready is not None:
                await s.wait_until(ready, **({"timeout": timeout} if timeout else {}))
        except (RunTimeout, LookupError, OSError, websockets.WebSocketException) as exc:
            self.error(name, f"{type(exc).__name__}: {exc}")
            return None
        seconds = time.perf_counter() - t0
        self.metric(name).samples.append(seconds)
        for problem in problems(s):
            self.error(name, problem)
        return seconds


def problems(s: Session) -> list[str]:
    """What a user of this tab would see go wrong."""
    boxes = [t for t in s.page.texts("alert") if t.startswith("Something went wrong")]
    found = s.page.exceptions() + boxes + s.errors
    s.errors.clear()
    return [f"shown: {p[:120]}" for p in found]


def step_of(page: Page) -> tuple[int, int] | None:
    for t in page.texts("progress"):
        m = STEP.search(t)
        if m:
            return int(m[1]), int(m[2])
    return None


def shows_step(page: Page) -> bool:
    return step_of(page) is not None


def n_of(count: int, scale: float) -> int:
    return max(1, round(count * scale))


async def closing(s: Session, body):
    try:
        return await body
    finally:
        await s.close()


# ---------------------------------------------------------------- what one session does


async def open_lesson(rec, name, url, path, query, timeout=None) -> Session:
    s = Session(url)
    seconds = await rec.timed(name, s, s.open(path, query, **_t(timeout)), shows_step, timeout)
    if seconds is not None and query and not P.took(query, s.query):
        rec.error(name, f"the page did not take every setting of {path}?{query}")
    return s


def _t(timeout):
    return {"timeout": timeout} if timeout else {}


async def step_once(rec, name: str, s: Session) -> None:
    """Next (Previous at the last step, so a stepper can go on), and check the step moved."""
    before = step_of(s.page)
    if before is None:
        rec.error(name, "no step on the page to move from")
        return
    label = "Next ▶" if before[0] < before[1] else "◀ Previous"
    if await rec.timed(name, s, s.click(label)) is None:
        return  # the error is counted
    after = step_of(s.page)
    if after is None or after[0] == before[0]:
        shown = f"step {after[0]}" if after else "no step"
        status = s.finished[-1][1] if s.finished else None
        rec.error(name, f"{label} from step {before[0]}: the page shows {shown} (run {status})")


async def step_loop(rec, name: str, s: Session, stop: asyncio.Event, least: int) -> None:
    """Step once a second until ``stop`` is set and at least ``least`` steps are done; then
    close the tab."""

    async def steps():
        done = 0
        while s.alive and step_of(s.page) is not None and (not stop.is_set() or done < least):
            t0 = time.perf_counter()
            await step_once(rec, name, s)
            done += 1
            await asyncio.sleep(max(0.0, t0 + 1.0 - time.perf_counter()))

    await closing(s, steps())


async def check(rec, name: str, s: Session, key_part: str = "/practice/q/") -> str | None:
    """Press Check; the verdict once the page shows one (None after an error, counted)."""
    try:
        _, box = s.page.find("text_input", "Your answer", key_part)
    except LookupError as exc:
        rec.error(name, str(exc))
        return None
    where = _container(s.page, box)

    def shown(page: Page) -> bool:
        return P.verdict(page.alerts(where)) != "none"

    seconds = await rec.timed(name, s, s.click("Check", key_part=key_part), shown)
    if seconds is None:
        return None
    v = P.verdict(s.page.alerts(where))
    m = rec.metric(name)
    m.busy += v == "busy"
    return v


def _container(page: Page, box) -> tuple:
    path = next(p for p, e in page.elements.items() if e is box)
    return path[:-1]


async def answer(rec, name: str, s: Session, variant: int) -> None:
    """Type the right answer to the question on show and press Enter (its preview)."""
    try:
        _, box = s.page.find("text_input", "Your answer", "/practice/q/")
        text = P.right_answer(box.key, s.query, variant)
    except LookupError as exc:
        rec.error(name, str(exc))
        return
    await rec.timed(name, s, s.type("Your answer", text, "/practice/q/"))


async def check_right(rec, name: str, s: Session) -> str | None:
    """Check the right answer typed in the box; count its verdict (an error is counted as an
    error, not as a verdict)."""
    v = await check(rec, name, s)
    m = rec.metric(name)
    m.right += 1
    m.correct += v == "correct"
    if v == "wrong":
        m.wrong += 1
        said = s.page.alerts(_container(s.page, s.page.find("text_input", "Your answer")[1]))
        rec.messages[f"{name}: a right answer was judged wrong: {said[-1][1][:100]}"] += 1
    return v


async def slow_loop(rec, url: str, stop: asyncio.Event) -> None:
    """The issue's hostile session: slow answers, one after another, each a different text."""
    s = await open_lesson(rec, "slow loop: open", url, "conv2d", "")

    async def loop():
        n = 0
        while s.alive and not stop.is_set():
            n += 1
            await rec.timed("slow loop: Enter", s, s.type("Your answer", P.slow_answer(n)))
            await check(rec, "slow loop: Check", s)

    await closing(s, loop())


async def health(rec, url: str, stop: asyncio.Event) -> None:
    """The health endpoint every half second: how long the server takes to answer at all."""
    name = "health endpoint"
    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            await asyncio.to_thread(
                lambda: urllib.request.urlopen(f"{url}/_stcore/health", timeout=60).read()
            )
            rec.metric(name).samples.append(time.perf_counter() - t0)
        except OSError as exc:
            rec.error(name, str(exc))
        await asyncio.sleep(0.5)
