"""``bench.load``'s protocol client against a real server: one session opens a lesson link,
steps Next, and checks a wrong and then a right practice answer, as the load test's sessions
do. A functional test of the harness: how long anything takes is bench.load's to measure."""

import asyncio

import pytest

pytest.importorskip("websockets")

from bench.load_actions import step_of  # noqa: E402
from bench.load_client import Session  # noqa: E402
from bench.load_pages import LECTURE, right_answer, verdict  # noqa: E402
from bench.load_server import server  # noqa: E402

BOX = "/practice/q/"


@pytest.fixture(scope="module")
def url():
    """One server for this file's sessions: each opens its own page in a fresh session."""
    with server() as (address, _):
        yield address


def test_one_session_opens_steps_and_checks(url):
    asyncio.run(_one_session(url))


async def _one_session(url: str) -> None:
    s = Session(url)
    try:
        await s.open(*LECTURE)
        assert s.finished and s.finished[-1][1] == 0  # script_finished, successfully
        first, steps = step_of(s.page)
        assert first == 1 and steps > 2
        assert "input_shape=4x4" in s.query  # the page took the link's settings

        explorer = _run_of(s, "selectbox", "Explain a cell")
        await s.click("Next ▶")
        assert step_of(s.page) == (2, steps)
        assert "step=2" in s.query
        # Next reran only the step (a fragment): the explorer below was not drawn again
        assert _run_of(s, "selectbox", "Explain a cell") == explorer
        # a Next clicked before the browser had the page's link carries the URL it opened
        # with: the link still keeps every setting, with the new step
        s.query = ""
        await s.click("Next ▶")
        assert step_of(s.page) == (3, steps)
        assert "input_shape=4x4" in s.query and "step=3" in s.query, s.query
        await s.click("◀ Previous")

        where, box = _answer_box(s)
        await s.type("Your answer", "dz11", BOX)
        await _check(s, where)
        said = s.page.alerts(where)
        assert verdict(said) == "wrong", said

        await s.type("Your answer", right_answer(box.key, s.query, variant=1), BOX)
        runs, nav = len(s.finished), _run_of(s, "button", "Next ▶")
        await _check(s, where)
        assert len(s.finished) > runs
        assert _run_of(s, "button", "Next ▶") == nav  # Check reran only the practice
        said = s.page.alerts(where)
        assert verdict(said) == "correct", said
        assert said[-1][0] == "SUCCESS" and said[-1][1].startswith("Correct")
        assert s.page.exceptions() == [] and s.errors == []
    finally:
        await s.close()


def _run_of(s: Session, kind: str, label: str) -> str:
    """The id of the script run that last drew this element."""
    return s.page.find(kind, label)[1].run


def _answer_box(s: Session):
    path, box = s.page.find("text_input", "Your answer", BOX)
    return path[:-1], box


async def _check(s: Session, where: tuple) -> None:
    """Check, and wait for a verdict if the page shows it in a later run (a queued check)."""
    await s.click("Check", key_part=BOX)
    await s.wait_until(lambda page: verdict(page.alerts(where)) != "none", timeout=60)


def test_a_graph_step_reruns_only_the_graph_and_its_step(url):
    asyncio.run(_graph_steps(url))


async def _graph_steps(url: str) -> None:
    s = Session(url)
    try:
        await s.open("graph")
        first, steps = step_of(s.page)
        sidebar = _run_of(s, "text_input", "Expression")
        await s.click("Next ▶")
        assert step_of(s.page) == (first + 1, steps) and f"step={first + 1}" in s.query
        assert _run_of(s, "text_input", "Expression") == sidebar
        s.query = ""  # a click before the browser had the page's link (see above)
        await s.click("Next ▶")
        assert f"step={first + 2}" in s.query and "expr=" in s.query, s.query
        assert s.page.exceptions() == [] and s.errors == []
    finally:
        await s.close()


def test_verdict_is_the_last_success_error_or_warning():
    assert verdict([]) == "none"
    assert verdict([("INFO", "checking: 2 answers ahead")]) == "none"  # progress, not a verdict
    assert verdict([("SUCCESS", "Correct.")]) == "correct"
    assert verdict([("ERROR", "Not quite. A term is missing: dz21*k21.")]) == "wrong"
    busy = "the answer checker is busy or starting up: press Check again in a moment"
    assert verdict([("WARNING", busy)]) == "busy"
    assert verdict([("WARNING", busy), ("SUCCESS", "Correct.")]) == "correct"


def test_percentile_interpolates_between_ranks():
    from bench.load import percentile

    assert percentile([], 95) is None
    assert percentile([3.0], 95) == 3.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile(list(range(21)), 95) == 19.0
