"""Waiting for the worker pool on a page: a lesson that is not in the shared cache yet is
derived in a worker (``derivations.shared``) while the page says what it waits for — "Deriving
Max pooling 14×14 · 6×6 — 2 requests ahead", then a progress bar — instead of freezing.

Leaving the page (or changing a setting) stops the script at the next update of that message;
the ``finally`` then lets go of the job, and a job that no session waits for any more is dropped
from the queue before it starts.

Importing this module tells the workers which Streamlit session each call comes from, so that
every session gets its fair share of them (``workers.scheduler``).
"""

from __future__ import annotations

import time

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from derivations import shared
from workers import worker
from workers.scheduler import Status

POLL = 0.25  # s between looks at the job
HEARTBEAT = 1.0  # s between redraws of an unchanged message (a page switch stops it at one)
FIRST = 0.05  # s to wait before showing anything: most lessons are in the cache


def session_id() -> str | None:
    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx is not None else None


worker.set_session_hook(session_id)


def derivation(op: str, params: dict, line_width: int, what: str):
    """The lesson ``op`` at ``params``, shared by all sessions: from the cache, or derived in a
    worker while the page shows ``what`` it is deriving and how far it has got. ValueError with
    a message for the learner (derive()'s own, or why it did not come in time)."""
    pool = worker.pool()
    # the message's place, on every run: a page whose elements moved between runs (waiting on
    # the first, not on the next) would lose what the learner had opened below (an expander)
    box = st.empty()
    job = shared.request(op, params, line_width, session=session_id())
    try:
        if not pool.wait(job, FIRST):
            _wait_ui(pool, job, what, box)
        return shared.value(job)
    finally:
        pool.release(job)


def _wait_ui(pool, job, what: str, box) -> None:
    give_up = time.monotonic() + worker.WAIT_SECONDS + job.timeout
    shown, when = None, 0.0
    try:
        while not pool.wait(job, POLL) and time.monotonic() < give_up:
            status = pool.status(job)
            now = (waiting_text(what, status), round(100 * progress(status)))
            # redrawn when it changes, and each second anyway: each redraw is where a page
            # switch can stop this script, and ten waiting pages should not cost the server
            # forty redraws a second
            if now != shown or time.monotonic() - when >= HEARTBEAT:
                with box.container():
                    st.info(now[0], icon=":material/hourglass_top:")
                    st.progress(now[1] / 100)
                shown, when = now, time.monotonic()
    finally:
        box.empty()


def waiting_text(what: str, s: Status) -> str:
    """What the page says while it waits, e.g. "Deriving Max pooling 14×14 · 6×6 — 2 requests
    ahead" or "… — about 6 s left"."""
    if s.state == "starting":
        return f"Deriving {what} — starting the workers"
    if s.state == "queued":
        ahead = (
            "next in line"
            if s.ahead == 0
            else f"{s.ahead} request{'s' if s.ahead != 1 else ''} ahead"
        )
        return f"Deriving {what} — {ahead}"
    left = s.expected - s.elapsed
    if s.expected > 0 and left >= 1:
        return f"Deriving {what} — about {left:.0f} s left"
    return f"Deriving {what} — {s.elapsed:.0f} s so far"


def progress(s: Status) -> float:
    """The bar: empty while queued, then the share of the expected time (never full before
    the end: the estimate is only an estimate)."""
    if s.state != "running" or s.expected <= 0:
        return 0.0
    return min(0.95, s.elapsed / s.expected)


def label(title: str, params: dict) -> str:
    """A lesson's name and sizes for the waiting message: "Max pooling 14×14 · 6×6"."""
    sizes = [
        f"{v[0]}×{v[1]}"
        for name, v in params.items()
        if name in ("input_shape", "kernel_shape", "kernel_size", "shape")
        and isinstance(v, tuple)
        and len(v) == 2
    ]
    return " ".join([title, " · ".join(sizes)]) if sizes else title
