"""Worker processes for all heavy sympy work: what a learner typed, and the lessons themselves.

Why processes: sympy's automatic simplification asks questions of expressions (is it real?
positive? zero?) that on some nested functions take exponentially long. Building
relu(relu(log(sigmoid(sigmoid(x + 2))))) from a 40-character text took 130 s, with x a plain
symbol as the lessons' symbols are; tanh nested 8 deep, 2 s; sympy's LaTeX printer on the
derivative of sigmoid nested 7 deep with a real x, 39 s. No bound on length, depth or nodes
that still lets people write sigmoid(sigmoid(x)) rules these out, and nothing interrupts a
thread (Streamlit runs scripts off the main thread, where ``signal.alarm`` does not work). And
pure-Python work in the app's process holds the GIL that every session's page needs: a 14×14
max-pool lesson is 2 s of deriving and 10–20 s of compiling its numbers. So that work runs in
worker processes (``scheduler``: several, sized to the cores, shared fairly between sessions),
each killed when a task overruns; callers turn the timeout into a message ("too complex to
check") instead of a hang.

A worker is a plain ``subprocess`` running ``serve()``, talking pickled frames over its stdin and
stdout. (A multiprocessing "spawn" child would re-import the parent's ``__main__``, which
re-runs any script not guarded by ``if __name__ == "__main__"``.) Only the functions named in
``TASKS`` can run; their arguments are the text (still only parsed, never evaluated), name
mappings and expressions from the caller's own code. Replies are written by ``transfer``, which
rebuilds sympy trees in the app without their constructors (the worker's objects are already
in canonical form, so the copies are identical to them) and never runs sympy's slow questions
there.

Inside a worker a task may itself call ``run`` (a custom lesson asks for f and f′): that runs
in place, under a ``signal`` timer (a worker's tasks run on its main thread).
"""

from __future__ import annotations

import atexit
import gc
import importlib
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

from . import transfer

STARTUP_SECONDS = 30.0  # longest wait for a fresh worker (~0.4 s; more on a busy machine)
WAIT_SECONDS = 20.0  # longest wait for a free worker, without a deadline from the caller
NICE = 5  # workers yield the CPU to the process serving the pages
_ROOT = str(Path(__file__).resolve().parent.parent)  # the folder holding the package
_CODE = "import sys; sys.path.insert(0, sys.argv[1]); from workers.worker import serve; serve()"
_HEADER = struct.Struct("!Q")

# task name → (module, function): all a worker may run; it imports these as it starts
TASKS = {
    "parse": ("mathtext.parse", "parse_here"),
    "check": ("grading.answers", "check_here"),
    "custom": ("derivations.custom", "custom_here"),
    "simplify": ("derivations.custom", "simplify_here"),
    "derivative": ("derivations.custom", "derivative"),
    "custom_math": ("derivations.custom_op", "custom_math_here"),
    "graph_gradient": ("mathtext.graph_symbolic", "gradient_here"),
    "lesson": ("derivations.shared", "lesson_here"),
}


class Timeout(Exception):
    """No answer in time. ``reason``: "slow" (the task overran; its worker was killed), "busy"
    (no worker was free before the deadline), "starting" (no worker was up yet) or "failed"
    (a worker could not start, or died)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


# ---------------------------------------------------------------- in the worker process

_in_worker = False


class _Overrun(BaseException):
    """A nested task's timer ran out (a BaseException: no ``except Exception`` in sympy or in
    the task can swallow it)."""


def serve() -> None:
    """The worker's loop: read a request frame, run the task, write the reply frame."""
    global _in_worker
    _in_worker = True
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints go to stderr, never into the reply stream
    inp = sys.stdin.buffer
    try:
        os.nice(NICE)
    except OSError:
        pass
    for module, _ in TASKS.values():  # sympy and the tasks' packages, before saying "ready"
        importlib.import_module(module)

    _write(out, ("ready", None, os.getpid()))
    while True:
        request = _read(inp)
        if request is None:
            return
        task, args = request
        reply: tuple[str, str | None, object]
        try:
            reply = ("ok", None, _call(task, args))
        except Exception as exc:  # the task's own error goes back to the caller
            kind = "ValueError" if isinstance(exc, ValueError) else type(exc).__name__
            reply = ("error", kind, str(exc))
        try:
            _write(out, reply)
        except (BrokenPipeError, OSError):
            return


def _call(task: str, args):
    module, name = TASKS[task]
    return getattr(importlib.import_module(module), name)(*args)


def _inline(task: str, args, timeout: float):
    """A task called by a task, in this worker, stopped by a timer after ``timeout`` s."""

    def overrun(signum, frame):
        raise _Overrun

    previous = signal.signal(signal.SIGALRM, overrun)
    signal.setitimer(signal.ITIMER_REAL, max(timeout, 0.001))
    try:
        return _call(task, args)
    except _Overrun:
        raise Timeout("slow", f"{task} did not finish within {timeout} s") from None
    except (ValueError, Timeout):
        raise
    except Exception as exc:
        raise RuntimeError(f"{type(exc).__name__}: {exc}") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _write(stream, obj) -> None:
    data = transfer.dumps(obj)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read(stream, sized: bool = False):
    """The next frame's object (with its size in bytes if ``sized``), or None at the end of
    the stream."""
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return None
    (n,) = _HEADER.unpack(head)
    data = stream.read(n)
    if len(data) < n:
        return None
    if not sized:
        return pickle.loads(data)  # frames come only from this module's other end
    gc.disable()  # a big reply is ~30,000 new objects: collections over the app's heap cost 5×
    try:
        return transfer.loads(data), n
    finally:
        gc.enable()


# ---------------------------------------------------------------- in the app


class Process:
    """One worker process and a reader thread that turns its replies into a queue (so they can
    be waited for with a timeout, on every platform)."""

    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _CODE, _ROOT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.pid = self.proc.pid
        self.on_exit = None  # called when the worker's output ends (it exited or was killed)
        self.replies: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, daemon=True, name="sympy-worker-reader").start()

    def _pump(self) -> None:
        try:
            while True:
                reply = _read(self.proc.stdout, sized=True)
                self.replies.put(reply)
                if reply is None:
                    break
        except Exception:
            self.replies.put(None)
        if self.on_exit is not None:
            self.on_exit()

    def ready(self, timeout: float) -> bool:
        """Wait for the worker's "ready" frame."""
        reply = self.get(timeout)
        return reply not in ("timeout", None) and reply[0][0] == "ready"

    def get(self, timeout: float):
        """(reply, size in bytes), None if the worker died, or "timeout"."""
        try:
            return self.replies.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return "timeout"

    def send(self, obj) -> bool:
        try:
            data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
            self._stdin.write(_HEADER.pack(len(data)) + data)
            self._stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

    @property
    def _stdin(self) -> IO[bytes]:
        if self.proc.stdin is None:  # never: it is started with stdin=PIPE
            raise OSError("the worker has no input pipe")
        return self.proc.stdin

    def alive(self) -> bool:
        return self.proc.poll() is None

    def rss(self) -> int:
        """Resident memory in bytes (0 where /proc is not there)."""
        try:
            with open(f"/proc/{self.pid}/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            return 0

    def stop(self, kill: bool) -> None:
        try:
            if kill:
                self.proc.kill()
            else:
                self._stdin.close()  # the worker's loop ends at end of input
            self.proc.wait(5)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(5)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except (OSError, ValueError):
                pass


_pool = None
_pool_lock = threading.Lock()
_session_hook = None


def pool():
    """The app's worker pool, started on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            from .scheduler import Pool

            _pool = Pool()
        return _pool


def set_session_hook(hook) -> None:
    """``hook()`` names the session calling ``run`` (or None): the app registers Streamlit's
    session id, so that each session gets its fair share of the workers."""
    global _session_hook
    _session_hook = hook


def current_session():
    try:
        return _session_hook() if _session_hook is not None else None
    except Exception:  # a hook that fails only costs fairness
        return None


def warm_up() -> None:
    """Start the workers now, without waiting for them (a page can call this when it shows a
    question, so the first check does not pay for the start)."""
    if not _in_worker:
        pool().start()


def run(task: str, *args, timeout: float, deadline: float | None = None, session=None):
    """TASKS[task](*args) in a worker, waiting at most ``timeout`` seconds for the task
    itself. Waiting for a free worker may take up to WAIT_SECONDS more (a fresh worker's start,
    STARTUP_SECONDS), unless ``deadline`` (a ``time.monotonic()`` value) bounds the whole
    call. ``session`` (default: the session hook's) is the caller's session: one call of each
    session runs at a time, and a session whose calls overrun waits longer for its next.

    Timeout (with a ``reason``) when an answer does not come in time; a task that overran is
    killed with its worker and a fresh worker is started for the next call. The task's own
    ValueError is raised here as a ValueError with its message (these are the learner's
    messages); any other error as RuntimeError."""
    if task not in TASKS:
        raise ValueError(f"unknown worker task {task!r}")
    if _in_worker:
        limit = timeout if deadline is None else min(timeout, deadline - time.monotonic())
        return _inline(task, args, limit)
    p = pool()
    job = p.submit(task, args, timeout=timeout, deadline=deadline, session=_who(session))
    try:
        end = deadline if deadline is not None else time.monotonic() + WAIT_SECONDS + timeout
        return p.result(job, end)
    finally:
        p.release(job)


def _who(session):
    return session if session is not None else current_session()


def shutdown() -> None:
    """Stop every worker (tests call this; it also happens at exit). The next call starts
    fresh ones."""
    global _pool
    with _pool_lock:
        p, _pool = _pool, None
    if p is not None:
        p.shutdown()


def pids() -> list[int]:
    """The running workers' process ids (for tests)."""
    p = _pool
    return p.pids() if p is not None else []


def pid() -> int | None:
    """One running worker's process id, or None when none runs (for tests)."""
    found = pids()
    return found[0] if found else None


atexit.register(shutdown)
