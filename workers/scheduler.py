"""The worker pool: several worker processes (``worker.Process``) shared fairly by every
session of the app.

- **Slots.** One per worker process, sized to the cores (``BPL_WORKERS`` overrides). Each slot
  has a thread that starts its process, takes the next job, waits for the reply under the job's
  deadline, and kills the process when the job overruns; the slot then starts a fresh process
  by itself, so a restart holds up no other slot. A worker grown past RECYCLE_BYTES is retired
  after its job.
- **Lanes.** Quick jobs (parsing, checking, a function's f′) go first; then lessons predicted to
  be light; heavy lessons last, and never on every slot at once: one slot always stays free for
  quick jobs, so an answer is never stuck behind a 20-second derivation.
- **Fairness.** One quick job and one lesson of each session run at a time; a session's next
  job waits until its last has finished. Within a lane, the session that has used the workers
  least lately goes first (worker seconds, halving every HALF_LIFE s). A session whose job
  overran (killed) waits PENALTY seconds before its next one runs, doubling with each overrun
  in a row: a session that keeps sending slow answers, or slow functions, is slowed down, not
  the others.
- **Sharing.** A job with a ``key`` (a lesson: op, sizes, width) is computed once: a request for
  a key that is queued or running joins it, and a finished one comes from a cache bounded by
  count and by bytes (the size of the replies, a proxy for the objects they rebuild).
- **Cancelling.** Each request holds its job until it ``release``s it; a queued job nobody holds
  any more is dropped (a learner who leaves the page before their lesson started).
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from .worker import STARTUP_SECONDS, Process, Timeout

PENALTY = 2.0  # s a session waits after an overrun, doubling per overrun in a row …
PENALTY_MAX = 16.0  # … up to this
GRACE = 5.0  # s past a deadline a waiter gives a running job to be killed and reported
IDLE_SESSION = 600.0  # s after which a session's record is forgotten
HALF_LIFE = 30.0  # s over which a session's worker time counts half as much
CACHE_ENTRIES = 48
CACHE_BYTES = 64 * 2**20  # of replies; a lesson rebuilt here takes 1-3 times its reply
ERROR_TTL = 120.0  # s a failed keyed job is remembered (the machine may be calmer later)
RECYCLE_BYTES = 320 * 2**20  # a worker this large (idle: 65 MB) is replaced after its job
QUICK, LIGHT, HEAVY = 0, 1, 2  # lanes, in the order they are served
# a lesson's expected seconds: OVERHEAD + units × rate, the rate learnt from lessons of at least
# LEARN_UNITS (in small ones the overhead is all there is)
OVERHEAD = 0.5
LEARN_UNITS = 500


def default_size() -> int:
    """Workers: BPL_WORKERS, or one per core (at least 2: one can always take a check)."""
    try:
        return max(1, int(os.environ["BPL_WORKERS"]))
    except (KeyError, ValueError):
        return max(2, os.cpu_count() or 2)


@dataclass(eq=False)
class Job:
    task: str
    args: tuple
    timeout: float  # s the task may run once started
    deadline: float | None = None  # monotonic time by which the caller wants it done
    session: object = None
    key: object = None
    lane: int = QUICK
    units: float = 0.0  # predicted work, for the progress shown while waiting
    seq: int = 0
    state: str = "queued"  # queued, running, done, cancelled
    started: float | None = None
    outcome: tuple | None = None  # ("ok", None, value) | ("error", kind, text) | ("timeout", …)
    size: int = 0  # bytes of the reply
    expires: float = float("inf")
    waiters: int = 0
    retried: bool = False  # its worker died under it once already
    done: threading.Event = field(default_factory=threading.Event)

    def running_for(self, now: float) -> float:
        """Seconds since it started running: asked only of a job that has started."""
        if self.started is None:
            raise RuntimeError(f"{self.task} has not started")
        return now - self.started

    @property
    def kind(self) -> str:
        return "quick" if self.lane == QUICK else "lesson"


@dataclass(frozen=True)
class Status:
    """What a waiting page says: queued with ``ahead`` requests before it (or "starting":
    no worker is up yet), or running for ``elapsed`` of an ``expected`` number of seconds (0
    when unknown)."""

    state: str
    ahead: int = 0
    elapsed: float = 0.0
    expected: float = 0.0


@dataclass
class _Session:
    seen: float
    running: dict = field(default_factory=lambda: {"quick": 0, "lesson": 0})
    strikes: int = 0
    not_before: float = 0.0
    used: float = 0.0  # worker seconds, decayed to ``used_at``
    used_at: float = 0.0

    def usage(self, now: float) -> float:
        return self.used * 0.5 ** ((now - self.used_at) / HALF_LIFE)


class Pool:
    def __init__(self, size: int | None = None, process=Process):
        self.size = size or default_size()
        self.heavy_cap = max(1, self.size - 1)
        self.process = process  # the worker factory (tests pass a stand-in)
        self.cond = threading.Condition()
        self.queue: list[Job] = []
        self.live: dict = {}  # key → its queued or running job
        self.cache: OrderedDict = OrderedDict()  # key → its finished job
        self.cached_bytes = 0
        self.sessions: dict = {}
        self.rate = 1.5e-3  # seconds per unit of predicted work, learnt from big lessons
        self.stopping = False
        self.up = False  # a worker has said "ready" at least once
        self._seq = itertools.count()
        self.slots = [_Slot(self, i) for i in range(self.size)]
        self._started = False

    # ------------------------------------------------------------ asking
    def start(self) -> None:
        with self.cond:
            if self._started or self.stopping:
                return
            self._started = True
        for s in self.slots:
            s.thread.start()

    def submit(
        self, task, args, *, timeout, deadline=None, session=None, key=None, lane=QUICK, units=0.0
    ) -> Job:
        """A job for ``TASKS[task](*args)``, held once by the caller (see ``release``): a new
        one, or the queued, running or cached one with the same ``key``."""
        self.start()
        now = time.monotonic()
        with self.cond:
            if self.stopping:
                raise Timeout("failed", "the workers are shutting down")
            found = self._find(key, now)
            if found is not None:
                found.waiters += 1
                return found
            job = Job(task, tuple(args), timeout, deadline, session, key, lane, units)
            job.seq, job.waiters = next(self._seq), 1
            if session is not None:
                self.sessions.setdefault(session, _Session(now)).seen = now
            self.queue.append(job)
            if key is not None:
                self.live[key] = job
            self._forget_idle(now)
            self.cond.notify_all()
            return job

    def _find(self, key, now: float) -> Job | None:
        if key is None:
            return None
        hit = self.cache.get(key)
        if hit is not None and hit.expires > now:
            self.cache.move_to_end(key)
            return hit
        if hit is not None:
            self._uncache(key)
        return self.live.get(key)

    def release(self, job: Job) -> None:
        """The caller no longer waits for ``job``; a queued job nobody waits for is dropped."""
        with self.cond:
            job.waiters -= 1
            if job.waiters > 0 or job.state != "queued":
                return
            self.queue.remove(job)
            job.state = "cancelled"
            if self.live.get(job.key) is job:
                del self.live[job.key]
            self.cond.notify_all()
        job.done.set()

    def wait(self, job: Job, seconds: float) -> bool:
        """Whether ``job`` is over (done or cancelled) within ``seconds``."""
        return job.done.wait(max(seconds, 0.0))

    def status(self, job: Job) -> Status:
        with self.cond:
            if job.state == "queued" and not self.up:
                return Status("starting")
            if job.state == "queued":
                order = self._order(time.monotonic())
                ahead = sum(1 for j in self.queue if order(j) < order(job))
                if job.lane != QUICK:
                    ahead += sum(1 for s in self.slots if s.job is not None and s.job.lane != QUICK)
                return Status("queued", ahead, 0.0, self._expected(job))
            if job.state == "running":
                return Status("running", 0, job.running_for(time.monotonic()), self._expected(job))
            return Status(job.state)

    def result(self, job: Job, until: float):
        """``job``'s value, waiting until ``until`` (monotonic), plus GRACE for a job that is
        running by then to be stopped and reported. Timeout, ValueError or RuntimeError as
        ``worker.run`` says."""
        if not self.wait(job, until - time.monotonic()):
            with self.cond:
                running = job.state == "running"
            if not running or not self.wait(job, until + GRACE - time.monotonic()):
                raise self._late(job)
        return outcome_value(job)

    def _late(self, job: Job) -> Timeout:
        if job.state == "running":
            return Timeout("slow", f"{job.task} did not finish in time")
        if not self.up:
            return Timeout("starting", "no worker was up yet")
        return Timeout("busy", "no worker was free in time")

    def pids(self) -> list[int]:
        with self.cond:
            return [s.proc.pid for s in self.slots if s.proc is not None and s.proc.alive()]

    # ------------------------------------------------------------ serving (the slots' threads)
    def take(self, slot: _Slot) -> Job | None:
        """The next job ``slot`` may run, waiting for one; None when the pool stops, or when
        the slot's worker has died meanwhile (the slot starts another first)."""
        with self.cond:
            while not self.stopping:
                if slot.proc is None or not slot.proc.alive():
                    return None
                job, wake = self._pick()
                if job is not None:
                    self.queue.remove(job)
                    job.state, job.started = "running", time.monotonic()
                    slot.job = job
                    rec = self.sessions.get(job.session)
                    if rec is not None:
                        rec.running[job.kind] += 1
                    return job
                self.cond.wait(wake)
            return None

    def _pick(self) -> tuple[Job | None, float | None]:
        now = time.monotonic()
        heavy = sum(1 for s in self.slots if s.job is not None and s.job.lane == HEAVY)
        wake = None
        for job in sorted(self.queue, key=self._order(now)):
            if job.lane == HEAVY and heavy >= self.heavy_cap:
                continue
            rec = self.sessions.get(job.session)
            if rec is not None and rec.running[job.kind]:
                continue  # one of each kind per session at a time
            if rec is not None and rec.not_before > now:
                wait = rec.not_before - now
                wake = wait if wake is None else min(wake, wait)
                continue
            return job, None
        return None, wake

    def requeue(self, slot: _Slot, job: Job) -> None:
        """Put back a job whose worker died before it could answer (see ``_Slot._run``); if
        nobody waits for it any more, it is dropped instead."""
        with self.cond:
            stopped = self.stopping
            if not stopped:
                slot.job = None
                job.state, job.started = "queued", None
                rec = self.sessions.get(job.session)
                if rec is not None:
                    rec.running[job.kind] -= 1
                if job.waiters > 0:
                    self.queue.append(job)
                else:
                    job.state = "cancelled"
                    if self.live.get(job.key) is job:
                        del self.live[job.key]
                self.cond.notify_all()
        if stopped:
            self.finish(slot, job, ("timeout", "failed", "the workers shut down"), 0)
        elif job.state == "cancelled":
            job.done.set()

    def wake(self) -> None:
        with self.cond:
            self.cond.notify_all()

    def _expected(self, job: Job) -> float:
        return OVERHEAD + job.units * self.rate if job.units else 0.0

    def _order(self, now: float):
        """The queue's order: lane, then the session that has used the workers least, then
        first come."""

        def key(job: Job) -> tuple:
            rec = self.sessions.get(job.session)
            return (job.lane, rec.usage(now) if rec is not None else 0.0, job.seq)

        return key

    def finish(self, slot: _Slot, job: Job, outcome: tuple, size: int) -> None:
        now = time.monotonic()
        with self.cond:
            slot.job = None
            job.outcome, job.size, job.state = outcome, size, "done"
            self._account(job, outcome, now)
            if job.key is not None:
                if self.live.get(job.key) is job:
                    del self.live[job.key]
                if outcome[0] in ("ok", "error"):
                    self._cache(job, now)
            self.cond.notify_all()
        job.done.set()

    def _account(self, job: Job, outcome: tuple, now: float) -> None:
        rec = self.sessions.get(job.session)
        if rec is not None:
            rec.running[job.kind] -= 1
            rec.seen = now
            rec.used, rec.used_at = rec.usage(now) + job.running_for(now), now
            if outcome[:2] == ("timeout", "slow"):
                rec.strikes += 1
                rec.not_before = now + min(PENALTY * 2 ** (rec.strikes - 1), PENALTY_MAX)
            elif outcome[0] != "timeout":
                rec.strikes = max(0, rec.strikes - 1)
        if job.lane != QUICK and job.units >= LEARN_UNITS and outcome[0] == "ok":
            seconds = max(0.0, job.running_for(now) - OVERHEAD) / job.units
            self.rate = 0.7 * self.rate + 0.3 * seconds

    def _cache(self, job: Job, now: float) -> None:
        if job.size > CACHE_BYTES:
            return
        if job.outcome is not None and job.outcome[0] == "error":
            job.expires = now + ERROR_TTL
        self._uncache(job.key)
        self.cache[job.key] = job
        self.cached_bytes += job.size
        while len(self.cache) > CACHE_ENTRIES or self.cached_bytes > CACHE_BYTES:
            self._uncache(next(iter(self.cache)))

    def _uncache(self, key) -> None:
        old = self.cache.pop(key, None)
        if old is not None:
            self.cached_bytes -= old.size

    def _forget_idle(self, now: float) -> None:
        """Sessions that ended (or went quiet) leave no record behind."""
        for sid, rec in list(self.sessions.items()):
            if now - rec.seen > IDLE_SESSION and not any(rec.running.values()):
                del self.sessions[sid]

    def shutdown(self) -> None:
        """Stop every worker and fail whatever still waits."""
        with self.cond:
            self.stopping = True
            queued, self.queue = self.queue, []
            self.cond.notify_all()
        for job in queued:
            job.outcome, job.state = ("timeout", "failed", "the workers shut down"), "done"
            job.done.set()
        for s in self.slots:
            s.kill()
        for s in self.slots:
            if s.thread.is_alive():
                s.thread.join(10)


def outcome_value(job: Job):
    """A finished job's value, or its error raised as ``worker.run`` raises it."""
    if job.state == "cancelled" or job.outcome is None:
        raise Timeout("busy", "the request was cancelled")
    status, kind, value = job.outcome
    if status == "ok":
        return value
    if status == "timeout":
        raise Timeout(kind, value)
    if kind == "ValueError":
        raise ValueError(value)
    raise RuntimeError(f"{kind}: {value}")


class _Slot:
    """One worker process and the thread that feeds it."""

    def __init__(self, pool: Pool, index: int):
        self.pool = pool
        self.proc: Process | None = None
        self.job: Job | None = None
        self.thread = threading.Thread(target=self._loop, daemon=True, name=f"sympy-slot-{index}")

    def _loop(self) -> None:
        failures = 0
        while not self.pool.stopping:
            if self.proc is None or not self.proc.alive():
                if not self._start():
                    failures += 1
                    time.sleep(min(0.5 * failures, 5.0))
                    continue
                failures = 0
            job = self.pool.take(self)
            if job is not None:
                self._run(job)
        self.kill()

    def _start(self) -> bool:
        self.kill()
        try:
            proc = self.pool.process()
        except OSError:
            return False
        proc.on_exit = self.pool.wake  # a worker that dies idle is replaced at once
        with self.pool.cond:
            self.proc = proc  # from now on shutdown() can stop it
        if not proc.ready(STARTUP_SECONDS) or self.pool.stopping:
            self.kill()
            return False
        with self.pool.cond:
            self.pool.up = True
        return True

    def _run(self, job: Job) -> None:
        proc = self.proc
        limit = job.timeout
        if job.deadline is not None:
            limit = min(limit, job.deadline - time.monotonic())
        if limit <= 0:  # its caller has given up already
            self.pool.finish(self, job, ("timeout", "busy", "no worker was free in time"), 0)
            return
        if proc is None or not proc.alive() or not proc.send((job.task, job.args)):
            self.kill()  # it died idle (killed from outside, out of memory): try another
            self.pool.requeue(self, job)
            return
        reply = proc.get(limit)
        size = 0
        if reply is None and not job.retried:
            # died as it got the job (killed from outside, out of memory) or because of it: a
            # second worker tells which, and a job that kills workers costs two, not all
            job.retried = True
            self.kill()
            self.pool.requeue(self, job)
            return
        if reply == "timeout":
            outcome = ("timeout", "slow", f"{job.task} did not finish within {job.timeout:g} s")
        elif reply is None:
            outcome = ("timeout", "failed", f"the worker died during {job.task}")
        else:
            outcome, size = reply
        if outcome[0] == "timeout":
            self.kill()  # before reporting: the caller may look for the process
        elif proc.rss() > RECYCLE_BYTES:
            self.kill(gently=True)
        self.pool.finish(self, job, outcome, size)

    def kill(self, gently: bool = False) -> None:
        with self.pool.cond:
            proc, self.proc = self.proc, None
        if proc is not None:
            proc.stop(kill=not gently)
