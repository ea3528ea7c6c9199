"""Lessons shared by every session of the app: each (op, sizes, formula width) is derived once,
in a worker process, and kept in the pool's bounded cache.

    job = request("conv2d", {"input_shape": (16, 16), "kernel_shape": (6, 6)}, 37)
    ...                               # the page polls worker.pool().status(job) meanwhile
    d = value(job)                    # the Derivation, its numbers compiled; ValueError else
    worker.pool().release(job)

The worker runs ``derive(op, **params).compile()`` (``lesson_here``); ``workers.transfer``
brings the result here without sympy's constructors or a second compile, so the app's process
spends milliseconds, not seconds, on a lesson it has not seen. Ten sessions asking for the same lesson
at the same moment share one job.
"""

from __future__ import annotations

import math

from workers import worker
from workers.scheduler import HEAVY, LIGHT, outcome_value

from .typeset import LINE_WIDTH

LESSON_SECONDS = 120.0  # a lesson's derive + compile: ≤ 1 + 10 s at the caps on a quiet machine
LIGHT_UNITS = 600  # predicted work under which a lesson goes ahead of the heavy ones (~1 s)
# a typed function's lesson: custom_function's stages, then its Math (derivations.custom_op)
CUSTOM_SECONDS = 3.0 + 1.0 + 8.0 + 5.0


def lesson_here(op: str, params: dict, line_width: int):
    """In the worker: the derivation with its numeric functions compiled, its patterns'
    operands included (``operands``)."""
    from . import derive

    d = derive(op, line_width=line_width, **params).compile()
    if not d.typed:  # a learner's own f is never compiled (see Math._lambdify)
        found = {
            label: _lambdified(d, list(p.operands.values())) for label, p in d.patterns.items()
        }
        d.operand_functions = {label: fn for label, fn in found.items() if fn is not None}
    return d


def _lambdified(d, mats):
    """The operands as one function of the inputs and the upstream gradient, or None where
    they hold other symbols too (a network's layers): the app compiles those if it needs them,
    as it did before."""
    import sympy as sp

    args = _args(d)
    if not set().union(*(m.free_symbols for m in mats)) <= set(args):
        return None
    if d.staged is not None:  # a derivation that names its shared quantities compiles with
        return d.staged.lambdify(args, mats)  # them (as ui.patterns does): each computed once
    plain = {s: sp.Symbol(f"v{i}") for i, s in enumerate(args)}
    return sp.lambdify([plain[s] for s in args], [m.xreplace(plain) for m in mats], "numpy")


def _args(d) -> list:
    return [s for m in d.inputs.values() for s in m] + list(d.upstream)


def operands(d, label: str):
    """A function (values, upstream) → the operand matrices of pattern ``label``, compiled in
    the worker with the lesson; None for a derivation that did not come from one."""
    import numpy as np

    fn = getattr(d, "operand_functions", {}).get(label)
    if fn is None:
        return None
    mats = list(d.patterns[label].operands.values())

    def evaluate(values: dict, upstream) -> list:
        flat = [v for n in d.inputs for v in np.asarray(values[n], float).ravel()]
        flat += list(np.asarray(upstream, float).ravel())
        return [
            np.broadcast_to(np.asarray(r, dtype=float), m.shape).reshape(m.shape)
            for r, m in zip(fn(*flat), mats, strict=True)
        ]

    return evaluate


def key(op: str, params: dict, line_width: int) -> tuple:
    return ("lesson", op, tuple(sorted(params.items())), line_width)


def units(op: str, params: dict) -> float:
    """Predicted work (about partial derivatives) of a lesson, to order and show the queue:
    counted exactly for convolutions and pooling, from the sizes for the rest."""
    from . import WORK, work

    if op in WORK:
        try:
            return float(work(op, **params))
        except ValueError:
            return 1.0  # refused at once in the worker
    if op == "custom":
        return 50.0 * _entries(params.get("shape", (2, 2)))
    if op in ("mlp", "cnn"):
        return 800.0
    if op == "softmax_cross_entropy":
        return 10.0 * _number(params.get("num_classes", 3)) ** 2
    if op == "linear":
        return float(math.prod(_number(params.get(k, 2)) for k in ("batch", "in_features")))
    return 4.0 * _entries(params.get("shape", (2, 2)))


def _number(v) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 1


def _entries(shape) -> int:
    if isinstance(shape, tuple) and len(shape) == 2:
        return _number(shape[0]) * _number(shape[1])
    return 1


def request(op: str, params: dict, line_width: int = LINE_WIDTH, *, session=None):
    """The pool's job for this lesson (new, joined, or finished in the cache), held once by
    the caller: ``worker.pool().release`` it when done waiting."""
    u = units(op, params)
    lane = HEAVY if op == "custom" or u > LIGHT_UNITS else LIGHT
    seconds = CUSTOM_SECONDS if op == "custom" else LESSON_SECONDS
    return worker.pool().submit(
        "lesson",
        (op, dict(params), line_width),
        timeout=seconds,
        session=session if session is not None else worker.current_session(),
        key=key(op, params, line_width),
        lane=lane,
        units=u,
    )


def value(job):
    """The finished job's Derivation. ValueError with a message for the learner: derive()'s
    own (impossible sizes, a formula that is not one), or why there is none in time."""
    try:
        d = outcome_value(job)
    except worker.Timeout as exc:
        raise ValueError(_late(job, exc)) from None
    except RuntimeError as exc:
        raise ValueError(f"this lesson could not be derived ({exc})") from None
    if d.op == "custom":
        from .custom_op import remember

        remember(job.args[1]["f"], d.custom.f_x, d.custom.fprime_x)  # as the page typed it
    return d


def _late(job, exc) -> str:
    if exc.reason == "slow":
        return (
            f"Deriving this lesson took more than {job.timeout:g} s, the most one may take on "
            "this server (it is busy, or the sizes are large). Try again in a moment, or choose "
            "smaller sizes."
        )
    if exc.reason == "failed":
        return "The worker deriving this lesson stopped: try again in a moment."
    return "The server's workers are all busy: try again in a moment."


def lesson(op: str, params: dict, line_width: int = LINE_WIDTH, *, wait: float | None = None):
    """The lesson, waiting for it (at most ``wait`` s more than its own deadline): for code
    that has nothing to show meanwhile. ValueError as ``value``."""
    pool = worker.pool()
    job = request(op, params, line_width)
    try:
        limit = job.timeout + (worker.WAIT_SECONDS if wait is None else wait)
        pool.wait(job, limit)
        return value(job)
    finally:
        pool.release(job)
