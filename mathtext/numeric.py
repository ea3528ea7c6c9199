"""Numbers from a sympy expression without compiling it: a walk over the tree with one numpy
operation per node.

Used where the expression came from something a learner typed (answers, their own element-wise
function): nothing is turned into code, the work is one pass over the tree per call, and every
value is a float64 array, so a huge intermediate becomes inf (overflow) instead of a number with
millions of digits. Undefined values (log of a negative number, 0 in a denominator, a square
root of a negative number) come out as nan or inf; callers treat any non-finite value as
"undefined here".
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import sympy as sp

from .functions import FirstMax, SoftmaxEntry, _softmax_entry
from .window_max import WindowMax


class Unsupported(ValueError):
    """The expression holds a node this evaluator does not know (it never guesses)."""


_UNARY: dict[type, Callable] = {
    sp.exp: np.exp,
    sp.log: np.log,
    sp.sin: np.sin,
    sp.cos: np.cos,
    sp.tan: np.tan,
    sp.sinh: np.sinh,
    sp.cosh: np.cosh,
    sp.tanh: np.tanh,
    sp.Abs: np.abs,
    sp.sign: np.sign,
    sp.sech: lambda a: 1 / np.cosh(a),
    sp.csch: lambda a: 1 / np.sinh(a),
    sp.coth: lambda a: 1 / np.tanh(a),
    sp.sec: lambda a: 1 / np.cos(a),
    sp.csc: lambda a: 1 / np.sin(a),
    sp.cot: lambda a: 1 / np.tan(a),
}

_COMPARE = {
    sp.StrictGreaterThan: np.greater,
    sp.GreaterThan: np.greater_equal,
    sp.StrictLessThan: np.less,
    sp.LessThan: np.less_equal,
    sp.Equality: np.equal,
    sp.Unequality: np.not_equal,
}


def number(e) -> float:
    """A sympy number as a float: ±inf past float64's range, nan for nan or complex infinity."""
    if e.is_Integer:
        try:
            return float(int(e))
        except OverflowError:
            return float("inf") if e > 0 else float("-inf")
    if e.is_Rational:
        try:
            return int(e.p) / int(e.q)
        except OverflowError:
            return float("inf") if e > 0 else float("-inf")
    if e is sp.S.Infinity:
        return float("inf")
    if e is sp.S.NegativeInfinity:
        return float("-inf")
    if e is sp.S.NaN or e is sp.S.ComplexInfinity:
        return float("nan")
    if e.is_Float or isinstance(e, sp.NumberSymbol):
        return float(e)
    raise Unsupported(f"cannot evaluate {type(e).__name__} as a real number")


def evaluate(expr, env: dict, shape=(), trace: list | None = None) -> np.ndarray:
    """expr with env's values put in: env maps each free symbol to a float or an array (all
    broadcast together); the result is a float64 array of the broadcast shape (``shape`` for an
    expression without symbols). Non-finite entries mean undefined or overflowed.

    With ``trace`` (a list, for single points), Piecewise evaluates only the branch its
    conditions select, and the first node whose value is not finite although its arguments
    are is appended to ``trace``: that is where the expression stops being defined.
    """
    memo: dict = {}
    with np.errstate(all="ignore"):
        out = _eval(expr, env, memo, trace)
        return np.broadcast_to(np.asarray(out, dtype=float), _shape(env, shape)).copy()


def evaluate_many(exprs, env: dict) -> list[float]:
    """Each of ``exprs`` with env's values (floats) put in, in one walk: a subexpression they
    share is computed once (attention's gradients hold each softmax row many times, and
    lambdify printed it out every time: minutes of compiling at 6 × 6). Non-finite values
    mean undefined or overflowed."""
    memo: dict = {}
    with np.errstate(all="ignore"):
        return [float(np.asarray(_eval(e, env, memo, None), dtype=float)) for e in exprs]


def _shape(env, shape):
    shapes = [np.shape(v) for v in env.values()]
    return np.broadcast_shapes(shape, *shapes) if shapes else shape


def _finite(v) -> bool:
    return bool(np.all(np.isfinite(v)))


def _eval(e, env, memo, trace):
    if e in memo:
        return memo[e]
    v = _node(e, env, memo, trace)
    memo[e] = v
    if trace is not None and not trace and not _finite(v) and e.args:
        # args are evaluated (and recorded) first, so the first non-finite node is the culprit
        trace.append(e)
    return v


def _node(e, env, memo, trace):
    ev = lambda a: _eval(a, env, memo, trace)  # noqa: E731
    if e.is_Symbol:
        if e not in env:
            raise Unsupported(f"no value for {e}")
        return np.asarray(env[e], dtype=float)
    if e.is_Number or isinstance(e, sp.NumberSymbol) or e is sp.S.ComplexInfinity:
        return np.float64(number(e))
    if e is sp.S.true:
        return np.float64(1.0)
    if e is sp.S.false:
        return np.float64(0.0)
    if e.is_Add:
        return sum((ev(a) for a in e.args[1:]), start=ev(e.args[0]))
    if e.is_Mul:
        out = ev(e.args[0])
        for a in e.args[1:]:
            out = out * ev(a)
        return out
    if e.is_Pow:
        return _power(e, ev)
    if e.func in _UNARY:
        return _UNARY[e.func](ev(e.args[0]))
    return _function(e, ev, trace)


def _power(e, ev):
    base, exp = e.args
    if exp.is_Number:
        p = number(exp)
        b = ev(base)
        if p == -1:
            return 1.0 / b
        if p == 0.5:
            return np.sqrt(b)
        return np.power(b, p)
    return np.power(ev(base), ev(exp))


def _function(e, ev, trace):
    """Conditions, logic, Max and Min (and WindowMax), Piecewise, FirstMax and SoftmaxEntry."""
    # conditions are floats, 1.0 or 0.0, and nan where a value they compare is undefined:
    # relu(sqrt(-1)) must be undefined, not 0 because "nan > 0" is False
    if e.func in _COMPARE:
        a, b = ev(e.args[0]), ev(e.args[1])
        return np.where(np.isnan(a) | np.isnan(b), np.nan, _COMPARE[e.func](a, b))
    if isinstance(e, sp.Heaviside):
        at0 = ev(e.args[1]) if len(e.args) > 1 else 0.5
        return np.heaviside(ev(e.args[0]), at0)
    if isinstance(e, (sp.And, sp.Or, sp.Xor, sp.Not, sp.ITE)):
        return _logic(e, ev)
    if isinstance(e, (sp.Max, sp.Min, WindowMax)):
        f = np.minimum if isinstance(e, sp.Min) else np.maximum
        return f.reduce(np.broadcast_arrays(*[ev(a) for a in e.args]))
    if isinstance(e, sp.Piecewise):
        return _piecewise(e, ev, trace)
    if isinstance(e, FirstMax):
        q, xs = e.args  # the window is one Tuple (see functions.FirstMax)
        stacked = np.stack(np.broadcast_arrays(*[ev(x) for x in xs]))
        first = (np.argmax(stacked, axis=0) == int(q)).astype(float)
        return np.where(np.any(np.isnan(stacked), axis=0), np.nan, first)
    if isinstance(e, SoftmaxEntry):  # attention's p_ik, its row's maximum subtracted first
        i, k, scores = e.args
        return _softmax_entry(int(i), int(k), [ev(s) for s in scores])
    raise Unsupported(f"cannot evaluate {type(e).__name__}")


def _logic(e, ev):
    """And, Or, Xor, Not and ITE over conditions (1.0 or 0.0), nan where one is undefined."""
    if isinstance(e, (sp.And, sp.Or, sp.Xor)):
        vals = np.broadcast_arrays(*[np.asarray(ev(a), dtype=float) for a in e.args])
        undefined = np.any([np.isnan(v) for v in vals], axis=0)
        f = {sp.And: np.logical_and, sp.Or: np.logical_or, sp.Xor: np.logical_xor}[e.func]
        return np.where(undefined, np.nan, f.reduce([v == 1 for v in vals]))
    if isinstance(e, sp.Not):
        return 1.0 - ev(e.args[0])
    # sympy writes relu(relu(x)) > 0 as ITE(x > 0, x > 0, 0 > 0)
    c, a, b = (np.asarray(ev(a), dtype=float) for a in e.args)
    return np.where(np.isnan(c), np.nan, np.where(c == 1, a, b))


def _piecewise(e, ev, trace):
    """The first branch whose condition holds; nan where a condition before it is undefined
    or none holds."""
    if trace is not None:  # one point: only the conditions and the branch it takes count
        for value, cond in e.args:
            at = float(np.asarray(ev(cond)).reshape(-1)[0])
            if np.isnan(at):
                return np.float64(np.nan)
            if at == 1:
                return ev(value)
        return np.float64(np.nan)
    out: np.ndarray | np.float64 = np.float64(np.nan)
    decided: np.ndarray | np.bool_ = np.False_
    for value, cond in e.args:
        c = np.asarray(ev(cond), dtype=float)
        take = ~decided & (c == 1)
        out = np.where(take, ev(value), out)
        decided = decided | take | np.isnan(c)  # an undefined condition leaves nan
    return out
