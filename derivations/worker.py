"""One long-lived helper process for all sympy work on what a learner typed.

Why a process: sympy's automatic simplification asks questions of expressions (is it real?
positive? zero?) that on some nested functions take exponentially long. Building
relu(relu(log(sigmoid(sigmoid(x + 2))))) from a 40-character text took 130 s, with x a plain
symbol as the lessons' symbols are; tanh nested 8 deep, 2 s; sympy's LaTeX printer on the
derivative of sigmoid nested 7 deep with a real x, 39 s. No bound on length, depth or nodes
that still lets people write sigmoid(sigmoid(x)) rules these out, and nothing interrupts a
thread (Streamlit runs scripts off the main thread, where ``signal.alarm`` does not work). So
that work runs here, in a process that is killed when it overruns; callers turn the timeout
into a message ("too complex to check") instead of a hang.

The process is a plain ``subprocess`` running ``serve()``, talking pickled frames over its
stdin and stdout. (A multiprocessing "spawn" child would re-import the parent's ``__main__``,
which re-runs any script not guarded by ``if __name__ == "__main__"``.) It is started on first
use or by ``warm_up()`` (~0.4 s: Python, sympy and this package), answers one request at a
time, and is started afresh after a kill. Only the functions named in ``TASKS`` can run; their
arguments are the text (still only parsed, never evaluated), name mappings and expressions from
the caller's own code.

Replies are unpickled with sympy's evaluation off (in the reader thread only: sympy's
``evaluate`` flag is thread-local). Unpickling otherwise rebuilds every node through its
constructor, which would ask those slow questions again in the app's process; the worker's
objects are already in sympy's canonical form, so the rebuilt copies are identical to them.
"""

from __future__ import annotations

import atexit
import importlib
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

STARTUP_SECONDS = 30.0  # longest wait for a fresh worker (~0.4 s; more on a busy machine)
_ROOT = str(Path(__file__).resolve().parent.parent)  # the folder holding the package
_CODE = "import sys; sys.path.insert(0, sys.argv[1]); from derivations.worker import serve; serve()"
_HEADER = struct.Struct("!Q")

# task name → (module, function), imported in the worker on first use
TASKS = {
    "parse": ("derivations.parse", "parse_here"),
    "check": ("derivations.answers", "check_here"),
    "custom": ("derivations.custom", "custom_here"),
    "simplify": ("derivations.custom", "simplify_here"),
    "derivative": ("derivations.custom", "derivative"),
    "custom_math": ("derivations.custom_op", "custom_math_here"),
    "graph_gradient": ("derivations.graph_symbolic", "gradient_here"),
}


class Timeout(Exception):
    """No answer in time. ``reason``: "slow" (the task overran; the worker was killed),
    "busy" (another call held the worker), "starting" (the worker was not up yet) or "failed"
    (it could not start, or died)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


# ---------------------------------------------------------------- in the worker process


def serve() -> None:
    """The worker's loop: read a request frame, run the task, write the reply frame."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints go to stderr, never into the reply stream
    inp = sys.stdin.buffer
    import derivations  # noqa: F401 - sympy and the package, before saying "ready"

    _write(out, ("ready", None, None))
    while True:
        request = _read(inp)
        if request is None:
            return
        task, args = request
        try:
            module, name = TASKS[task]
            reply = ("ok", None, getattr(importlib.import_module(module), name)(*args))
        except Exception as exc:  # the task's own error goes back to the caller
            reply = ("error", type(exc).__name__, str(exc))
        try:
            _write(out, reply)
        except (BrokenPipeError, OSError):
            return


def _write(stream, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read(stream, evaluate: bool = True):
    """The next frame's object, or None at the end of the stream."""
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return None
    (n,) = _HEADER.unpack(head)
    data = stream.read(n)
    if len(data) < n:
        return None
    if evaluate:
        return pickle.loads(data)  # frames come only from this module's other end
    import sympy as sp

    with sp.evaluate(False):
        return pickle.loads(data)


# ---------------------------------------------------------------- in the app


class _Worker:
    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _CODE, _ROOT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.ready = False
        self.replies: queue.Queue = queue.Queue()
        # a reader thread turns the blocking pipe into a queue that can be waited on with a
        # timeout, on every platform
        threading.Thread(target=self._pump, daemon=True, name="sympy-worker-reader").start()

    def _pump(self) -> None:
        try:
            while True:
                reply = _read(self.proc.stdout, evaluate=False)
                self.replies.put(reply)
                if reply is None:
                    return
        except Exception:
            self.replies.put(None)

    def get(self, timeout: float):
        try:
            return self.replies.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return "timeout"

    def send(self, obj) -> bool:
        try:
            _write(self.proc.stdin, obj)
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, kill: bool) -> None:
        try:
            if kill:
                self.proc.kill()
            else:
                self.proc.stdin.close()  # the worker's loop ends at end of input
            self.proc.wait(5)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(5)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except (OSError, ValueError):
                pass


_lock = threading.Lock()  # held for a whole request: one at a time
_start_lock = threading.Lock()  # guards _worker itself
_worker: _Worker | None = None


def warm_up() -> None:
    """Start the worker now if none runs, without waiting for it (a page can call this when
    it shows a question, so the first check does not pay for the start)."""
    global _worker
    with _start_lock:
        if _worker is None or not _worker.alive():
            if _worker is not None:
                _worker.stop(kill=True)
            _worker = _Worker()


def run(task: str, *args, timeout: float, deadline: float | None = None):
    """TASKS[task](*args) in the worker, waiting at most ``timeout`` seconds for the task
    itself. Starting the worker and waiting for another call to finish may take up to
    STARTUP_SECONDS more, unless ``deadline`` (a ``time.monotonic()`` value) bounds the whole
    call. Timeout (with a ``reason``) when an answer does not come in time; a task that
    overran is killed with its worker and a fresh worker is started for the next call. The
    task's own ValueError is raised here as a ValueError with its message (these are the
    learner's messages); any other error as RuntimeError."""
    if task not in TASKS:
        raise ValueError(f"unknown worker task {task!r}")
    start = time.monotonic()
    limit = start + STARTUP_SECONDS if deadline is None else deadline
    if not _lock.acquire(timeout=max(limit - time.monotonic(), 0.0)):
        raise Timeout("busy")
    try:
        w = _ready(limit)
        end = (
            time.monotonic() + timeout
            if deadline is None
            else min(time.monotonic() + timeout, deadline)
        )
        reply = w.get(end - time.monotonic()) if w.send((task, args)) else None
        if reply == "timeout" or reply is None:
            _discard()
            warm_up()  # the next call should not pay for the start
            if reply is None:
                raise Timeout("failed", f"the worker died during {task}")
            raise Timeout("slow", f"{task} did not finish within {timeout} s")
        status, kind, value = reply
        if status == "ok":
            return value
        if kind == "ValueError":
            raise ValueError(value)
        raise RuntimeError(f"{kind}: {value}")
    finally:
        _lock.release()


def _ready(limit: float) -> _Worker:
    """The running worker, once it has said "ready" (called under _lock)."""
    warm_up()
    w = _worker
    if w.ready:
        return w
    reply = w.get(limit - time.monotonic())
    if reply == "timeout":
        raise Timeout("starting")  # left running: it will be ready for the next call
    if reply != ("ready", None, None):
        _discard()
        raise Timeout("failed", "the worker did not start")
    w.ready = True
    return w


def _discard() -> None:
    global _worker
    with _start_lock:
        w, _worker = _worker, None
    if w is not None:
        w.stop(kill=True)


def shutdown() -> None:
    """Stop the worker, if one runs (tests call this; it also happens at exit)."""
    global _worker
    locked = _lock.acquire(timeout=5)  # a call still running: stop the worker under it anyway
    try:
        with _start_lock:
            w, _worker = _worker, None
        if w is not None:
            w.stop(kill=not locked or not w.ready)
    finally:
        if locked:
            _lock.release()


def pid() -> int | None:
    """The worker's process id while one runs (for tests)."""
    w = _worker
    return w.proc.pid if w is not None and w.alive() else None


atexit.register(shutdown)
