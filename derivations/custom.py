"""The maths of "your own element-wise function" (issue 11 §4): a learner types f(x), sympy
derives f′(x), and both can be evaluated on arrays and checked for where they are undefined.

    f, fprime = custom_function("x*sigmoid(x)")
    evaluate(fprime, np.array([[0.5, -1.0]]))           # float64 array, nan where undefined
    domain_problem(f, values)                           # None, or a sentence for the learner

``x`` is this module's own real symbol (``custom.x``); the derivation built on top replaces it
by x_{11}, … with ``xreplace``. Text is parsed by ``parse.parse_expression`` (never eval'd or
sympified) with the single name "x". Numbers come from the tree evaluator in ``numeric``, one
numpy operation per node, not from code generated out of the text.

f′ is sympy's derivative, simplified in a worker process for at most SIMPLIFY_SECONDS and kept
only if it is no longer than the plain derivative and agrees with it at sample points (sympy's
simplify has rewritten a Piecewise condition wrongly: sin(x) > 0 as 0 < x < π). Otherwise,
or when the worker is busy or cannot start, f′ is the plain derivative. So the same f can get
a simpler f′ on a quiet machine than on a loaded one; both are correct.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import sympy as sp

from . import worker
from .answers import term_text
from .numeric import Unsupported
from .numeric import evaluate as _evaluate
from .parse import parse_expression

x = sp.Symbol("x", real=True)  # real: d|x|/dx is sign(x) and simplify may use x's realness
SIMPLIFY_SECONDS = 1.0
_NAMES = {"x": x}
_PLAIN = {x: "x"}
_SAMPLES = np.concatenate(
    [np.linspace(-5, 5, 41) + 0.0123, np.geomspace(1e-3, 50, 15), -np.geomspace(1e-3, 50, 15)]
)


class CustomFunction(NamedTuple):
    """f(x) as typed and f′(x) as derived (unpacks as ``f, fprime``)."""

    f: sp.Expr
    fprime: sp.Expr


def custom_function(text: str) -> CustomFunction:
    """f from the learner's text (the parser's grammar, with the one name x) and f′ = df/dx.
    ValueError, with a message for the learner, for text that is not such a formula or does
    not use x."""
    f = parse_expression(text, _NAMES)
    if x not in f.free_symbols:
        raise ValueError(
            f"`{' '.join(text.split())[:40]}` does not use x: an element-wise function "
            "should change with its input, as in x**2 or tanh(x)"
        )
    raw = sp.diff(f, x)
    return CustomFunction(f, _simplified(raw))


def _simplified(d):
    if d.is_Atom or sp.count_ops(d) <= 2:
        return d
    try:
        s = worker.run("simplify", d, timeout=SIMPLIFY_SECONDS)
    except (worker.Timeout, RuntimeError):
        return d
    if not isinstance(s, sp.Expr) or sp.count_ops(s) > sp.count_ops(d):
        return d
    return s if _agree(s, d) else d


def _agree(s, d) -> bool:
    """s equals d wherever d is defined at the sample points (at least 5 of them)."""
    try:
        vs, vd = evaluate(s, _SAMPLES), evaluate(d, _SAMPLES)
    except Unsupported:
        return False
    ok = np.isfinite(vd)
    if ok.sum() < 5:
        return False
    vs, vd = vs[ok], vd[ok]
    return bool(np.all(np.abs(vs - vd) <= 1e-8 * np.maximum(1.0, np.abs(vd))))


def evaluate(expr, values) -> np.ndarray:
    """expr (an expression in ``x``) at every entry of ``values``: a float64 array of values'
    shape, nan or ±inf where expr is undefined or overflows. Unsupported (a ValueError) for an
    expression with nodes the evaluator does not know (never for custom_function's output)."""
    values = np.asarray(values, dtype=float)
    return _evaluate(expr, {x: values}, shape=values.shape)


def domain_problem(f, values, fprime=None) -> str | None:
    """None when f and f′ are defined at every entry of ``values``; else one sentence saying
    where and why, e.g. "log(x + 1) is undefined at x = -2 (row 1, column 2): log needs a
    positive number, and here its argument is -1. Choose other values." ``fprime`` defaults to
    sympy's derivative of f."""
    values = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(values)):
        k = tuple(np.argwhere(~np.isfinite(values))[0])
        return f"the value{_location(k, values.ndim)} is not a number: choose other values."
    fprime = sp.diff(f, x) if fprime is None else fprime
    for expr, derivative in ((f, False), (fprime, True)):
        v = evaluate(expr, values)
        bad = ~np.isfinite(v)
        if not bad.any():
            continue
        k = tuple(np.argwhere(bad)[0])
        at = float(values[k]) if k else float(values)
        trace: list = []
        _evaluate(expr, {x: np.float64(at)}, trace=trace)
        culprit = trace[0] if trace else expr
        head = f"the derivative f′(x) = {_text(expr)}: " if derivative else ""
        sentence = (
            f"{head}{_text(culprit)} is undefined at x = {_num(at)}{_location(k, values.ndim)}: "
            f"{_reason(culprit, at)}. Choose other values."
        )
        return sentence[0].upper() + sentence[1:] if derivative else sentence
    return None


def _reason(node, at: float) -> str:
    def value(e) -> float:
        return float(_evaluate(e, {x: np.float64(at)}))

    if isinstance(node, sp.log):
        u = value(node.args[0])
        if u == 0:
            return "log(0) is minus infinity"
        return f"log needs a positive number, and here its argument is {_num(u)}"
    if node.is_Pow and node.exp.is_Number:
        u = value(node.base)
        if u == 0 and node.exp < 0:
            return "it divides by zero"
        if u < 0 and not node.exp.is_Integer:
            if node.exp.q == 2:
                return f"the square root of a negative number ({_num(u)}) is not real"
            return f"a fractional power of a negative number ({_num(u)}) is not real"
    if np.isinf(value(node)):
        return "it is too large to compute (past 10^308)"
    return "it has no real value there"


def _location(k: tuple, ndim: int) -> str:
    if ndim == 2:
        return f" (row {k[0] + 1}, column {k[1] + 1})"
    if ndim == 1:
        return f" (entry {k[0] + 1})"
    return ""


def _num(v: float) -> str:
    return f"{v:g}"


def _text(e) -> str:
    return term_text(e, _PLAIN)


__all__ = ["CustomFunction", "custom_function", "domain_problem", "evaluate", "x"]
