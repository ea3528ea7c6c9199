"""One long-lived helper process for sympy work that may not finish: ``simplify``.

``simplify`` has no size that guarantees its time, and Streamlit runs scripts off the main
thread, where ``signal.alarm`` cannot interrupt it (nor can anything interrupt a thread). So it
runs here, in a separate Python process that is killed when it overruns; the caller then falls
back to what it had. The process is started on first use and answers one request at a time;
after a kill the next call starts a fresh one.

It is a plain ``subprocess`` running ``serve()``, talking pickled frames over its stdin and
stdout, rather than a multiprocessing "spawn" child: spawn re-imports the parent's ``__main__``
module, which re-runs any script that is not guarded by ``if __name__ == "__main__"``. Only
the functions in ``TASKS`` can be run, and their arguments are sympy expressions built by the
callers' own code (``parse`` builds them from an allow-listed syntax tree, never from text).
"""

from __future__ import annotations

import atexit
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from pathlib import Path

STARTUP_SECONDS = 30.0  # importing sympy in a fresh interpreter: ~1 s, more on a busy machine
_ROOT = str(Path(__file__).resolve().parent.parent)  # the folder holding the package
_CODE = "import sys; sys.path.insert(0, sys.argv[1]); from derivations.worker import serve; serve()"
_HEADER = struct.Struct("!Q")


class Timeout(Exception):
    """The worker did not answer in time (it has been killed), is busy with another call, or
    could not start."""


def _simplify(expr):
    import sympy as sp

    return sp.simplify(expr)


TASKS = {"simplify": _simplify}


# ---------------------------------------------------------------- in the worker process


def serve() -> None:
    """The worker's loop: read a request frame, run the task, write the reply frame."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints go to stderr, never into the reply stream
    inp = sys.stdin.buffer
    import sympy  # noqa: F401 - imported before saying "ready", so the first task is not slow

    _write(out, ("ready", None))
    while True:
        request = _read(inp)
        if request is None:
            return
        task, args = request
        try:
            reply = ("ok", TASKS[task](*args))
        except Exception as exc:  # the task's own error goes back to the caller
            reply = ("error", f"{type(exc).__name__}: {exc}")
        try:
            _write(out, reply)
        except (BrokenPipeError, OSError):
            return


def _write(stream, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read(stream):
    """The next frame's object, or None at the end of the stream."""
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return None
    (n,) = _HEADER.unpack(head)
    data = stream.read(n)
    if len(data) < n:
        return None
    return pickle.loads(data)  # frames come only from this module's other end


# ---------------------------------------------------------------- in the app


class _Worker:
    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _CODE, _ROOT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.replies: queue.Queue = queue.Queue()
        # a reader thread turns the blocking pipe into a queue that can be waited on with a
        # timeout, on every platform
        self.reader = threading.Thread(target=self._pump, daemon=True, name="sympy-worker-reader")
        self.reader.start()

    def _pump(self) -> None:
        try:
            while True:
                reply = _read(self.proc.stdout)
                self.replies.put(reply)
                if reply is None:
                    return
        except Exception:
            self.replies.put(None)

    def get(self, timeout: float):
        try:
            reply = self.replies.get(timeout=timeout)
        except queue.Empty:
            return None
        return reply

    def send(self, obj) -> bool:
        try:
            _write(self.proc.stdin, obj)
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

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


_lock = threading.Lock()
_worker: _Worker | None = None


def run(task: str, *args, timeout: float, wait: float | None = None):
    """TASKS[task](*args) in the worker. Timeout when it takes longer than ``timeout`` seconds
    (the worker is then killed), when the worker is busy with another call for more than
    ``wait`` seconds (default: ``timeout``), or when it cannot start; the first call also waits
    for the worker to start (at most STARTUP_SECONDS). RuntimeError carries an exception the
    task raised."""
    if task not in TASKS:
        raise ValueError(f"unknown worker task {task!r}")
    if not _lock.acquire(timeout=timeout if wait is None else wait):
        raise Timeout("the worker is busy")
    try:
        w = _ready()
        reply = w.get(timeout) if w.send((task, args)) else None
        if reply is None:
            _discard(kill=True)
            raise Timeout(f"{task} did not finish within {timeout} s")
        status, value = reply
        if status != "ok":
            raise RuntimeError(value)
        return value
    finally:
        _lock.release()


def _ready() -> _Worker:
    """A running worker, started if needed (called under _lock)."""
    global _worker
    if _worker is not None and _worker.proc.poll() is None:
        return _worker
    _discard(kill=True)
    w = _Worker()
    if w.get(STARTUP_SECONDS) != ("ready", None):
        w.stop(kill=True)
        raise Timeout("the worker did not start")
    _worker = w
    return w


def _discard(kill: bool) -> None:
    global _worker
    w, _worker = _worker, None
    if w is not None:
        w.stop(kill=kill)


def shutdown() -> None:
    """Stop the worker, if one runs (tests call this; it also happens at exit)."""
    locked = _lock.acquire(timeout=5)  # a call still running: stop the worker under it anyway
    try:
        _discard(kill=not locked)
    finally:
        if locked:
            _lock.release()


def pid() -> int | None:
    """The worker's process id while one runs (for tests)."""
    w = _worker
    return w.proc.pid if w is not None and w.proc.poll() is None else None


atexit.register(shutdown)
