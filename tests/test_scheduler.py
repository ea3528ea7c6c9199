"""The worker pool's rules (workers/scheduler.py), with stand-in worker processes whose
tasks wait on gates the test opens: deadlines, a killed worker restarting without holding up
the others, one job per session at a time, the penalty for overruns, one computation for many
requests of the same lesson, the cache's bounds, and cancelling. Nothing here is timed: every
assertion is on what ran, in which order, and what each caller got."""

from __future__ import annotations

import itertools
import queue
import threading
import time

import pytest

from workers import scheduler
from workers.scheduler import HEAVY, LIGHT, QUICK, Pool
from workers.worker import Timeout

LONG = 30.0  # a bound no test should reach: the gates decide the order


class Gate:
    """A task that runs until the test opens it."""

    def __init__(self):
        self.opened = threading.Event()
        self.entered = threading.Event()

    def open(self):
        self.opened.set()


class FakeWorld:
    """The stand-in processes' shared record: what each one ran, and which are alive."""

    def __init__(self):
        self.ids = itertools.count(1000)
        self.sent: list[tuple] = []  # (pid, task, args) in the order the slots sent them
        self.killed: list[int] = []
        self.start_gate: Gate | None = None  # while set, new processes do not get ready
        self.starts = 0
        self.lock = threading.Lock()

    def process(self):
        with self.lock:
            self.starts += 1
            gate = self.start_gate if self.starts > 2 else None  # the first two start at once
        return FakeProcess(self, next(self.ids), gate)


class FakeProcess:
    """Tasks: ("value", (v,)) answers v; ("gate", (gate, v)) answers v once the gate opens;
    ("fail", (message,)) raises ValueError(message) in the "worker"; ("die", (deaths, v)) kills
    its worker while the list ``deaths`` is not empty (taking one), else answers v."""

    def __init__(self, world: FakeWorld, pid: int, start_gate: Gate | None):
        self.world, self.pid, self.start_gate = world, pid, start_gate
        self.replies: queue.Queue = queue.Queue()
        self.dead = False

    def ready(self, timeout):
        if self.start_gate is not None:
            self.start_gate.entered.set()
            self.start_gate.opened.wait(LONG)
        return not self.dead

    def send(self, request):
        task, args = request
        with self.world.lock:
            self.world.sent.append((self.pid, task, args))
        threading.Thread(target=self._answer, args=(task, args), daemon=True).start()
        return True

    def _answer(self, task, args):
        if task == "gate":
            gate, value = args
            gate.entered.set()
            gate.opened.wait(LONG)
            reply = ("ok", None, value)
        elif task == "fail":
            reply = ("error", "ValueError", args[0])
        elif task == "die" and args[0]:  # ("die", (deaths, v)): dies while deaths remain
            args[0].pop()
            self.stop(kill=False)
            return
        else:
            reply = ("ok", None, args[-1])
        if not self.dead:
            self.replies.put((reply, 100))

    def get(self, timeout):
        try:
            return self.replies.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return "timeout"

    def alive(self):
        return not self.dead

    def rss(self):
        return 0

    def stop(self, kill):
        self.dead = True
        if kill:
            self.world.killed.append(self.pid)
        self.replies.put(None)


@pytest.fixture
def world():
    return FakeWorld()


@pytest.fixture
def pool(world):
    p = Pool(size=2, process=world.process)
    yield p
    p.shutdown()


def ask(pool, task, *args, timeout=LONG, **kw):
    """Submit and wait, as worker.run does."""
    job = pool.submit(task, args, timeout=timeout, **kw)
    try:
        return pool.result(job, time.monotonic() + LONG)
    finally:
        pool.release(job)


def in_thread(fn, *args, **kw):
    """Run fn in a thread; the returned list gets its result (or exception)."""
    out: list = []

    def go():
        try:
            out.append(fn(*args, **kw))
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out.append(exc)

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t, out


def wait_until(cond, what="condition"):
    end = time.monotonic() + LONG
    while not cond():
        assert time.monotonic() < end, f"never: {what}"
        time.sleep(0.01)


def test_values_and_errors_come_back(pool):
    assert ask(pool, "value", 42) == 42
    with pytest.raises(ValueError, match="not a formula"):
        ask(pool, "fail", "not a formula")


def test_an_overrun_is_killed_and_reported_slow(pool, world):
    gate = Gate()
    job = pool.submit("gate", (gate, 1), timeout=0.2)
    with pytest.raises(Timeout) as info:
        pool.result(job, time.monotonic() + LONG)
    pool.release(job)
    assert info.value.reason == "slow"
    assert len(world.killed) == 1  # the process that ran it, before the caller heard
    assert ask(pool, "value", 7) == 7  # and the pool goes on


def test_a_callers_deadline_bounds_a_queued_call(pool):
    gates = [Gate(), Gate()]
    held = [pool.submit("gate", (g, 0), timeout=LONG) for g in gates]  # both slots busy
    for g in gates:
        g.entered.wait(LONG)
    job = pool.submit("value", (5,), timeout=LONG, deadline=time.monotonic() + 0.3)
    with pytest.raises(Timeout) as info:
        pool.result(job, job.deadline)
    assert info.value.reason == "busy"
    pool.release(job)
    assert job.state == "cancelled"  # dropped from the queue: it never runs
    for g, h in zip(gates, held, strict=True):
        g.open()
        assert pool.result(h, time.monotonic() + LONG) == 0
        pool.release(h)


def test_a_restarting_worker_holds_up_no_one(pool, world):
    """A killed worker's replacement takes its time to start; the other slot serves meanwhile."""
    ask(pool, "value", 0)
    world.start_gate = Gate()  # replacements stay "starting" until the test says
    with pytest.raises(Timeout):
        ask(pool, "gate", Gate(), 0, timeout=0.1, session="slow")
    world.start_gate.entered.wait(LONG)  # the replacement is starting now
    assert [ask(pool, "value", i, session="victim") for i in range(5)] == list(range(5))
    assert not world.start_gate.opened.is_set()  # all of that while it was still starting
    world.start_gate.open()


def test_one_call_per_session_at_a_time(pool, world):
    gate = Gate()
    first = pool.submit("gate", (gate, "a1"), timeout=LONG, session="a")
    gate.entered.wait(LONG)
    second = pool.submit("value", ("a2",), timeout=LONG, session="a")
    assert ask(pool, "value", "b1", session="b") == "b1"  # the free slot serves b …
    assert second.state == "queued"  # … not a's second call, while its first runs
    gate.open()
    assert pool.result(second, time.monotonic() + LONG) == "a2"
    assert pool.result(first, time.monotonic() + LONG) == "a1"
    for j in (first, second):
        pool.release(j)
    order = [args[-1] for _, task, args in world.sent if task in ("gate", "value")]
    assert order.index("a2") > order.index("b1")


def test_a_session_that_overruns_waits_its_turn_again(pool, world, monkeypatch):
    monkeypatch.setattr(scheduler, "PENALTY", 1.0)
    with pytest.raises(Timeout):
        ask(pool, "gate", Gate(), 0, timeout=0.05, session="slow")
    rec = pool.sessions["slow"]
    assert rec.strikes == 1 and rec.not_before > time.monotonic()
    later = pool.submit("value", ("slow again",), timeout=LONG, session="slow")
    got = [ask(pool, "value", i, session=f"victim{i}") for i in range(3)]
    assert got == [0, 1, 2]
    assert pool.result(later, time.monotonic() + LONG) == "slow again"
    pool.release(later)
    order = [args[-1] for _, task, args in world.sent if task == "value"]
    assert order == [0, 1, 2, "slow again"]  # the others went first


def test_penalty_doubles_and_wears_off(pool, monkeypatch):
    monkeypatch.setattr(scheduler, "PENALTY", 0.01)
    for _ in range(3):
        with pytest.raises(Timeout):
            ask(pool, "gate", Gate(), 0, timeout=0.05, session="s")
    assert pool.sessions["s"].strikes == 3
    ask(pool, "value", 1, session="s")
    assert pool.sessions["s"].strikes == 2


def test_the_same_lesson_asked_ten_times_at_once_runs_once(pool, world):
    gate = Gate()
    key = ("lesson", "conv2d", (("input_shape", (16, 16)),), 37)
    threads = [
        in_thread(ask, pool, "gate", gate, "derived", key=key, session=f"s{i}", lane=HEAVY)
        for i in range(10)
    ]
    gate.entered.wait(LONG)
    wait_until(lambda: pool.live[key].waiters == 10, "all ten join the one job")
    gate.open()
    for t, out in threads:
        t.join(LONG)
        assert out == ["derived"]
    assert sum(1 for _, task, _ in world.sent if task == "gate") == 1
    assert ask(pool, "gate", Gate(), "again", key=key) == "derived"  # from the cache
    assert sum(1 for _, task, _ in world.sent if task == "gate") == 1


def test_the_cache_is_bounded_by_count_and_bytes(pool, monkeypatch):
    monkeypatch.setattr(scheduler, "CACHE_ENTRIES", 3)
    for i in range(5):
        ask(pool, "value", i, key=("k", i))
    assert list(pool.cache) == [("k", 2), ("k", 3), ("k", 4)]  # the least recently used go
    ask(pool, "value", "x", key=("k", 2))  # a hit moves it to the back
    ask(pool, "value", 5, key=("k", 5))
    assert list(pool.cache) == [("k", 4), ("k", 2), ("k", 5)]
    monkeypatch.setattr(scheduler, "CACHE_BYTES", 250)  # each reply is 100 bytes
    ask(pool, "value", 6, key=("k", 6))
    assert len(pool.cache) == 2 and pool.cached_bytes == 200


def test_failures_are_remembered_for_a_while(pool, world, monkeypatch):
    with pytest.raises(ValueError):
        ask(pool, "fail", "impossible sizes", key=("bad",))
    with pytest.raises(ValueError):
        ask(pool, "fail", "impossible sizes", key=("bad",))
    assert sum(1 for _, task, _ in world.sent if task == "fail") == 1
    pool.cache[("bad",)].expires = time.monotonic() - 1  # ERROR_TTL later
    with pytest.raises(ValueError):
        ask(pool, "fail", "impossible sizes", key=("bad",))
    assert sum(1 for _, task, _ in world.sent if task == "fail") == 2


def test_leaving_cancels_queued_work_but_not_shared_work(pool, world):
    gates = [Gate(), Gate()]
    held = [pool.submit("gate", (g, 0), timeout=LONG) for g in gates]
    for g in gates:
        g.entered.wait(LONG)
    mine = pool.submit("value", ("mine",), timeout=LONG, key=("lesson", "a"), lane=HEAVY)
    shared = pool.submit("value", ("ours",), timeout=LONG, key=("lesson", "b"), lane=HEAVY)
    again = pool.submit("value", ("ours",), timeout=LONG, key=("lesson", "b"), lane=HEAVY)
    assert again is shared
    pool.release(mine)  # the only one waiting leaves the page
    pool.release(shared)  # one of two leaves
    assert mine.state == "cancelled" and shared.state == "queued"
    for g in gates:
        g.open()
    assert pool.result(again, time.monotonic() + LONG) == "ours"
    pool.release(again)
    for h in held:
        pool.release(h)
    assert not [a for _, _, a in world.sent if a == ("mine",)]  # never ran


def test_heavy_lessons_leave_a_worker_for_quick_calls(pool):
    gates = [Gate(), Gate()]
    heavy = [
        pool.submit("gate", (g, i), timeout=LONG, key=("h", i), lane=HEAVY)
        for i, g in enumerate(gates)
    ]
    gates[0].entered.wait(LONG)
    assert ask(pool, "value", "check", session="student") == "check"  # not behind them
    assert ask(pool, "value", "light", key=("l",), lane=LIGHT) == "light"
    assert heavy[1].state == "queued"  # the second heavy one waits for the first
    for g in gates:
        g.open()
    assert [pool.result(h, time.monotonic() + LONG) for h in heavy] == [0, 1]
    for h in heavy:
        pool.release(h)


def test_quick_calls_go_before_lessons(pool, world):
    gates = [Gate(), Gate()]
    held = [pool.submit("gate", (g, 0), timeout=LONG) for g in gates]
    for g in gates:
        g.entered.wait(LONG)
    lesson = pool.submit("value", ("lesson",), timeout=LONG, key=("l",), lane=LIGHT)
    check = pool.submit("value", ("check",), timeout=LONG, lane=QUICK)
    assert pool.status(lesson).ahead == 1 and pool.status(check).ahead == 0
    gates[0].open()
    for j in (check, lesson):
        pool.result(j, time.monotonic() + LONG)
        pool.release(j)
    gates[1].open()
    for h in held:
        pool.release(h)
    order = [a[0] for _, t, a in world.sent if t == "value"]
    assert order == ["check", "lesson"]


def test_status_says_where_a_job_is(pool):
    gates = [Gate(), Gate()]
    held = [pool.submit("gate", (g, 0), timeout=LONG, key=("h", i), lane=HEAVY, units=100)
            for i, g in enumerate(gates)]  # fmt: skip
    gates[0].entered.wait(LONG)
    running, queued = pool.status(held[0]), pool.status(held[1])
    expected = scheduler.OVERHEAD + 100 * pool.rate
    assert running.state == "running" and running.expected == pytest.approx(expected)
    assert queued.state == "queued" and queued.ahead == 1  # the running heavy one
    for g in gates:
        g.open()
    for h in held:
        pool.result(h, time.monotonic() + LONG)
        pool.release(h)
    assert pool.status(held[0]).state == "done"


def test_idle_sessions_are_forgotten(pool, monkeypatch):
    ask(pool, "value", 1, session="gone")
    pool.sessions["gone"].seen -= scheduler.IDLE_SESSION + 1
    ask(pool, "value", 2, session="here")
    assert "gone" not in pool.sessions and "here" in pool.sessions


def test_shutdown_answers_whoever_waits(world):
    p = Pool(size=1, process=world.process)
    gate = Gate()
    running = p.submit("gate", (gate, 0), timeout=LONG)
    gate.entered.wait(LONG)
    queued = p.submit("value", (1,), timeout=LONG)
    p.shutdown()
    for job in (running, queued):
        with pytest.raises(Timeout) as info:
            p.result(job, time.monotonic() + LONG)
        assert info.value.reason == "failed"
    assert p.pids() == []


def test_a_worker_dying_under_a_job_gets_it_a_second_try(pool, world):
    """A worker killed from outside (the OOM killer, an admin) as it took a student's check."""
    assert ask(pool, "die", ["once"], "verdict", session="s") == "verdict"
    assert [t for _, t, _ in world.sent].count("die") == 2


def test_a_job_that_kills_its_worker_costs_two_workers_not_all(pool, world):
    with pytest.raises(Timeout) as info:
        ask(pool, "die", ["1", "2", "3", "4"], "never", session="s")
    assert info.value.reason == "failed"
    assert [t for _, t, _ in world.sent].count("die") == 2
    assert ask(pool, "value", "fine", session="t") == "fine"


def test_the_session_that_used_the_workers_least_goes_first(pool, world):
    """A tab that has kept a worker busy (slow functions, one after another) waits behind a
    student who has not, whoever asked first."""
    gates = [Gate(), Gate()]
    held = [pool.submit("gate", (g, 0), timeout=LONG) for g in gates]  # both workers busy
    for g in gates:
        g.entered.wait(LONG)
    ask_first = pool.submit("value", ("busy tab",), timeout=LONG, session="tab")
    pool.sessions["tab"].used, pool.sessions["tab"].used_at = 40.0, time.monotonic()
    ask_later = pool.submit("value", ("student",), timeout=LONG, session="student")
    assert pool.status(ask_later).ahead == 0 and pool.status(ask_first).ahead == 1
    gates[0].open()
    for j in (ask_later, ask_first):
        pool.result(j, time.monotonic() + LONG)
        pool.release(j)
    gates[1].open()
    for h in held:
        pool.release(h)
    order = [a[0] for _, t, a in world.sent if t == "value"]
    assert order == ["student", "busy tab"]
    rec = pool.sessions["tab"]
    assert rec.usage(rec.used_at + scheduler.HALF_LIFE) == pytest.approx(rec.used / 2)


def test_status_says_starting_until_a_worker_is_up(world):
    world.starts, world.start_gate = 10, Gate()  # every process waits for the test
    p = Pool(size=2, process=world.process)
    try:
        job = p.submit("value", (1,), timeout=LONG)
        world.start_gate.entered.wait(LONG)
        assert p.status(job).state == "starting"
        world.start_gate.open()
        assert p.result(job, time.monotonic() + LONG) == 1
        p.release(job)
    finally:
        p.shutdown()


def test_the_expected_time_is_learnt_from_big_lessons_only(pool, monkeypatch):
    rate = pool.rate
    ask(pool, "value", 1, key=("small",), lane=LIGHT, units=36)  # overhead only: not learnt
    assert pool.rate == rate
    ask(pool, "value", 2, key=("big",), lane=HEAVY, units=scheduler.LEARN_UNITS)
    assert pool.rate < rate  # it took (almost) no time at all
