"""The load test's scenarios and its two replays of hostile sessions, each ``async scenario(url, rec, scale)``:
sessions of the server at ``url`` doing what a class does, recorded in ``rec``. ``scale``
multiplies the number of sessions (1: the issue's figures)."""

from __future__ import annotations

import asyncio
import time

from bench import load_pages as P
from bench.load_actions import (
    HEAVY_SECONDS,
    Recorder,
    answer,
    check_right,
    closing,
    n_of,
    open_lesson,
    slow_loop,
    step_loop,
    step_of,
    step_once,
)
from bench.load_client import Page, Session

TRAIN_SECONDS = 900.0


async def lecture(url: str, rec: Recorder, scale: float) -> None:
    """30 sessions open the same lesson link within 10 s, then each steps Next 5 times, one
    second apart."""
    n = n_of(30, scale)
    rec.metric("first render", "p95 ≤ 3 s")
    rec.metric("Next", "p95 ≤ 0.5 s")

    async def student(i: int) -> None:
        await asyncio.sleep(10 * i / n)
        s = await open_lesson(rec, "first render", url, *P.LECTURE)

        async def five_steps():
            for _ in range(5 if step_of(s.page) else 0):
                if not s.alive:
                    return
                t0 = time.perf_counter()
                await step_once(rec, "Next", s)
                await asyncio.sleep(max(0.0, t0 + 1.0 - time.perf_counter()))

        await closing(s, five_steps())

    await asyncio.gather(*(student(i) for i in range(n)))


async def _steppers(rec: Recorder, url: str, k: int, name: str, stop: asyncio.Event):
    """``k`` sessions on light lessons, open, then stepping until ``stop`` (10 steps at least)."""
    links = [P.STEPPED[i % len(P.STEPPED)] for i in range(k)]
    sessions = await asyncio.gather(
        *(open_lesson(rec, "steppers: open", url, *link) for link in links)
    )
    return [asyncio.create_task(step_loop(rec, name, s, stop, least=10)) for s in sessions]


async def mixed(url: str, rec: Recorder, scale: float) -> None:
    """10 sessions open 10 different heavy links (the slowest settings the sidebar allows)
    while 10 others step through light lessons."""
    k = n_of(10, scale)
    name = "steppers: Next"
    rec.metric(name, "p95 ≤ 1 s")
    heavy = "heavy links: first render"
    rec.metric(heavy)
    links = P.heavy_links(k)  # picked before anything is timed: it costs the client a second
    stop = asyncio.Event()
    loops = await _steppers(rec, url, k, name, stop)
    await asyncio.sleep(2)  # the steppers are under way before the heavy links come

    async def one(link) -> None:
        s = await open_lesson(rec, heavy, url, *link, timeout=HEAVY_SECONDS)
        await s.close()

    await asyncio.gather(*(one(link) for link in links))
    stop.set()
    await asyncio.gather(*loops)


async def practice(url: str, rec: Recorder, scale: float) -> None:
    """30 sessions type right answers, then press Check at the same moment; then, while one
    session sends slow answers in a loop, each checks a differently typed right answer three
    more times."""
    n = n_of(30, scale)
    at_once, beside = "Check, all at once", "Check beside a slow-answer loop"
    rec.metric(at_once, "every ≤ 3 s, none busy")
    rec.metric(beside, "p95 ≤ 2 s")

    async def ready(i: int) -> Session:
        await asyncio.sleep(10 * i / n)
        s = await open_lesson(rec, "open", url, *P.PRACTICE[i % len(P.PRACTICE)])
        await answer(rec, "Enter (how it was read)", s, i)
        return s

    sessions = await asyncio.gather(*(ready(i) for i in range(n)))
    await asyncio.gather(*(check_right(rec, at_once, s) for s in sessions))
    stop = asyncio.Event()
    loop = asyncio.create_task(slow_loop(rec, url, stop))
    await asyncio.sleep(3)  # the loop is under way

    async def again(i: int, s: Session) -> None:
        for r in range(3 if s.alive else 0):
            await asyncio.sleep((i * 0.37 + r * 0.5) % 2)  # spread over two seconds
            await answer(rec, "Enter beside the loop", s, i + r + 1)
            await check_right(rec, beside, s)

    try:
        await asyncio.gather(*(again(i, s) for i, s in enumerate(sessions)))
    finally:
        stop.set()
        await loop
        await asyncio.gather(*(s.close() for s in sessions))


def _trained(page: Page) -> bool:
    try:
        _, button = page.find("button", "Train")
    except LookupError:
        return False  # training: the button is Stop
    return button.proto.disabled


async def training(url: str, rec: Recorder, scale: float) -> None:
    """5 sessions train the digits CNN (the page's defaults, to the end) while 10 others step
    through light lessons."""
    k, t = n_of(10, scale), n_of(5, scale)
    name = "steppers: Next"
    rec.metric(name, "p95 ≤ 1 s")
    stop = asyncio.Event()
    loops = await _steppers(rec, url, k, name, stop)
    await asyncio.sleep(2)

    async def trainer() -> None:
        s = Session(url)
        if await rec.timed("trainers: open /cnn", s, s.open("cnn")) is None:
            await s.close()
            return
        run = rec.timed("trainers: Train to the end", s, s.click("Train"), _trained, TRAIN_SECONDS)
        await closing(s, run)

    await asyncio.gather(*(trainer() for _ in range(t)))
    stop.set()
    await asyncio.gather(*loops)


async def _beside(url: str, rec: Recorder, name: str, others) -> None:
    """The light lesson opened three seconds after four other sessions open ``others`` (their
    script runs are under way by then)."""

    async def other(link) -> None:
        s = await open_lesson(rec, f"{name}: the four others", url, *link, timeout=HEAVY_SECONDS)
        await s.close()

    tasks = [asyncio.create_task(other(link)) for link in others]
    await asyncio.sleep(3.0)
    s = await open_lesson(rec, name, url, *P.LIGHT)
    await s.close()
    await asyncio.gather(*tasks)


async def heavy_replay(url: str, rec: Recorder, scale: float) -> None:
    """The issue's replay: a light lesson's load beside four light pages, and beside four heavy
    pooling links (the issue's, then others like them), three rounds of each taken in turn so
    a machine whose load drifts weighs on both alike; goal: the median beside heavy links
    within 1.5 × the median beside light pages. The light pages are visited once first, so
    both compare the same light work and only the company differs."""
    for link in [P.LIGHT, *P.LIGHT_BESIDE]:
        s = await open_lesson(rec, "light pages, first visit (warm-up)", url, *link)
        await s.close()
    light = "light page beside 4 light pages"
    heavy = "light page beside 4 heavy links"
    for links in P.HEAVY_ROUNDS:
        await _beside(url, rec, light, P.LIGHT_BESIDE)
        await _beside(url, rec, heavy, links)
    rec.ratio(heavy, light, "≤ 1.5 ×")


async def slow_replay(url: str, rec: Recorder, scale: float) -> None:
    """The issue's replay: a right answer checked 11 times, a second apart, while another
    session loops slow answers (goal: judged correct every time)."""
    name = "right answer beside a slow-answer loop"
    rec.metric(name, "correct 11 of 11")
    stop = asyncio.Event()
    loop = asyncio.create_task(slow_loop(rec, url, stop))
    await asyncio.sleep(3)
    s = await open_lesson(rec, "open", url, *P.LECTURE)

    async def eleven() -> None:
        for i in range(11 if s.alive else 0):
            t0 = time.perf_counter()
            await answer(rec, "Enter beside the loop", s, i)
            await check_right(rec, name, s)
            await asyncio.sleep(max(0.0, t0 + 1.0 - time.perf_counter()))

    try:
        await closing(s, eleven())
    finally:
        stop.set()
        await loop


SCENARIOS = {
    "lecture": lecture,
    "mixed": mixed,
    "practice": practice,
    "training": training,
    "heavy-replay": heavy_replay,
    "slow-replay": slow_replay,
}
