"""A lesson page waiting for the worker pool (ui/waiting.py), through app.py with AppTest: it
says what it derives and how many requests are ahead while its lesson is queued, then shows
the lesson; and a session that leaves before its lesson started drops it from the queue.

The workers are real, but lessons' replies wait on a gate the test opens, so "queued behind
another session's heavy lesson" is a state the test sets up, not a race. Every message the page
sent is recorded (the final page keeps only the last one in each place)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.runtime.forward_msg_queue import ForwardMsgQueue  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from derivations import shared  # noqa: E402
from workers import worker  # noqa: E402
from workers.scheduler import Pool  # noqa: E402

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGE = "pages/pooling.py"
LINK = {"op": "max_pool2d", "input_shape": "11x11", "kernel_size": "4x4", "stride": "1"}
BLOCKER = {"input_shape": (10, 10), "kernel_size": (4, 4), "stride": 1}  # another session's
WAIT = 240.0


class Gated(worker.Process):
    """A real worker whose lesson replies are held until the test opens the gate."""

    gate = threading.Event()
    lessons: list = []

    def send(self, obj):
        self.task = obj[0]
        if obj[0] == "lesson":
            Gated.lessons.append(obj[1])
        return super().send(obj)

    def get(self, timeout):
        if getattr(self, "task", None) == "lesson":
            start = time.monotonic()
            Gated.gate.wait(timeout)
            timeout -= time.monotonic() - start
        return super().get(timeout)


@pytest.fixture
def gated(monkeypatch):
    worker.shutdown()
    Gated.gate, Gated.lessons = threading.Event(), []
    pool = Pool(size=2, process=Gated)
    monkeypatch.setattr(worker, "_pool", pool)
    alerts: list[str] = []
    enqueue = ForwardMsgQueue.enqueue

    def record(self, msg):
        if msg.HasField("delta") and msg.delta.new_element.HasField("alert"):
            alerts.append(msg.delta.new_element.alert.body)
        return enqueue(self, msg)

    monkeypatch.setattr(ForwardMsgQueue, "enqueue", record)
    jobs: list = []
    request = shared.request
    monkeypatch.setattr(
        shared, "request", lambda *a, **k: jobs.append(request(*a, **k)) or jobs[-1]
    )
    blocker = request("max_pool2d", BLOCKER, 37, session="another student")
    yield pool, alerts, jobs
    Gated.gate.set()
    pool.release(blocker)
    pool.shutdown()


def _page(timeout: float) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=WAIT)
    for k, v in LINK.items():
        at.query_params[k] = v
    at.run()
    return at.switch_page(PAGE).run(timeout=timeout)


def _when(cond, then) -> threading.Thread:
    def go():
        end = time.monotonic() + WAIT
        while not cond() and time.monotonic() < end:
            time.sleep(0.05)
        then()

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t


def test_the_page_says_what_it_waits_for_then_shows_the_lesson(gated):
    pool, alerts, jobs = gated
    waiting = "Deriving Max pooling 11×11 · 4×4 — 1 request ahead"
    _when(lambda: waiting in alerts, Gated.gate.set)
    at = _page(WAIT)
    assert waiting in alerts  # while another session's heavy lesson ran
    assert not at.exception and not at.error
    assert at.title[0].value == "Max pooling — backprop"
    assert not any(a.value.startswith("Deriving") for a in at.info)  # gone once it came
    assert [j.state for j in jobs] == ["done"]
    # the next run finds the lesson cached: every element stays where it was, or the browser
    # would close what the learner had opened (the practice expander)
    before = _layout(at)
    at.run()
    assert _layout(at) == before


def _layout(at) -> list[tuple]:
    return [(i, type(node).__name__) for i, node in at.main.children.items()]


def test_leaving_the_page_drops_its_queued_lesson(gated):
    pool, alerts, jobs = gated
    with pytest.raises(RuntimeError, match="timed out"):  # AppTest stops the script: as a
        _page(timeout=4)  # page switch or a closed tab does
    assert any(a.startswith("Deriving Max pooling 11×11") for a in alerts)
    assert [j.state for j in jobs] == ["cancelled"]
    assert all(args[1]["input_shape"] != (11, 11) for args in Gated.lessons)  # never sent


def test_what_a_waiting_page_says():
    from ui.waiting import label, progress, waiting_text
    from workers.scheduler import Status

    what = label("Max pooling", {"input_shape": (16, 16), "kernel_size": (6, 6), "stride": 1})
    assert what == "Max pooling 16×16 · 6×6"
    assert (
        waiting_text(what, Status("queued", 2))
        == "Deriving Max pooling 16×16 · 6×6 — 2 requests ahead"
    )
    assert waiting_text(what, Status("queued", 1)).endswith("— 1 request ahead")
    assert waiting_text(what, Status("queued", 0)).endswith("— next in line")
    assert waiting_text(what, Status("starting")).endswith("— starting the workers")
    assert waiting_text(what, Status("running", 0, 3.0, 10.0)).endswith("— about 7 s left")
    assert waiting_text(what, Status("running", 0, 12.0, 10.0)).endswith("— 12 s so far")
    assert progress(Status("queued", 2)) == 0.0
    assert progress(Status("running", 0, 3.0, 10.0)) == pytest.approx(0.3)
    assert progress(Status("running", 0, 12.0, 10.0)) == 0.95  # never full before the end
