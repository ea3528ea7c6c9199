"""The maths of "your own element-wise function": a learner types f(x), sympy
derives f′(x), and both can be evaluated on arrays and checked for where they are undefined.

    f, fprime = custom_function("x*sigmoid(x)")
    evaluate(fprime, np.array([[0.5, -1.0]]))           # float64 array, nan where undefined
    domain_problem(f, values, fprime)                   # None, or a sentence for the learner

``x`` is this module's own symbol (``custom.x``, a Dummy named x); the derivation built on top
replaces it by x_{11}, … with ``xreplace``. Text is parsed by ``mathtext.parse`` (never eval'd
or sympified) with the single name "x". Numbers come from the tree evaluator in
``mathtext.numeric``, one numpy operation per node, not from code generated out of the text.

Time: the sympy work runs in the worker process (``workers.worker``; see there why): building f
and f′ and rehearsing what the lesson will do with them (substituting a matrix entry, printing)
within CUSTOM_SECONDS, else a ValueError "too complex"; then simplifying f′ within
SIMPLIFY_SECONDS.
The simplified f′ is kept only if it is no longer than the plain derivative and agrees with it
at sample points (sympy's simplify has rewritten a Piecewise condition wrongly: sin(x) > 0 as
0 < x < π); otherwise, or when simplify overruns, f′ is the plain derivative. So the same f can
get a simpler f′ on a quiet machine than on a loaded one; both are correct. The first call also
waits for the worker to start (~0.4 s; ``worker.warm_up()`` starts it ahead).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import sympy as sp

from mathtext.numeric import Unsupported
from mathtext.numeric import evaluate as _evaluate
from mathtext.parse import check_text, parse_here, preview_latex, too_slow
from mathtext.parse_tree import tree_stats
from mathtext.typed_names import term_text
from workers import worker

# A Dummy without assumptions: nobody else's Symbol("x") is the same object, and sympy's LaTeX
# printer stays fast (on a real symbol it asks the sign of every exponent, which runs simplify:
# 6 s for the derivative of sigmoid nested 6 times, 0.003 s without). Derivatives are taken
# with a real stand-in (_REAL), so d|x|/dx is sign(x), not an expression in re(x) and im(x).
# Fixed indices: the worker process must make the very same Dummies.
x = sp.Dummy("x", dummy_index=911_000_001)
_REAL = sp.Dummy("x", real=True, dummy_index=911_000_002)
CUSTOM_SECONDS = 3.0  # building f and f′ and the rehearsal, in the worker
SIMPLIFY_SECONDS = 1.0
# nodes of f′ counted with repeats: past this it is unreadable, and printing or substituting
# into it walks every repeat (sigmoid′(u) = e^-u/(1 + e^-u)² holds u twice)
MAX_DERIVATIVE_SIZE = 20_000
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
    ValueError, with a message for the learner, for text that is not such a formula, does not
    use x, or is too complex for sympy to handle in time."""
    checked = check_text(text, _NAMES)
    try:
        f, raw = worker.run("custom", checked.text, timeout=CUSTOM_SECONDS)
    except worker.Timeout as exc:
        raise ValueError(too_slow(checked.text, exc)) from None
    try:
        fprime = worker.run("simplify", raw, timeout=SIMPLIFY_SECONDS)
    except (worker.Timeout, RuntimeError):
        fprime = raw
    return CustomFunction(f, fprime)


def custom_here(text: str) -> CustomFunction:
    """f and the plain f′, in this process (the worker runs it), after a rehearsal of what
    the lesson does with them."""
    f = parse_here(text, _NAMES).expr
    shown = f"`{' '.join(text.split())[:40]}`"
    if x not in f.free_symbols:
        raise ValueError(
            f"{shown} does not use x: an element-wise function should change with its input, "
            "as in x**2 or tanh(x)"
        )
    try:
        fprime = derivative(f)
    except RecursionError:  # the parser's depth bound keeps this away; a message anyway
        raise ValueError(f"{shown} is nested too deeply to differentiate") from None
    except _TooBig as exc:
        raise ValueError(
            f"{shown}: its derivative is too big to write out ({exc.args[0]} parts, the limit "
            f"is {MAX_DERIVATIVE_SIZE}); nest fewer functions"
        ) from None
    entry = sp.Symbol("x_{11}")  # what the lesson will do: a matrix entry in, LaTeX out
    for e in (f, fprime):
        preview_latex(e.xreplace({x: entry}))
    return CustomFunction(f, fprime)


class _TooBig(Exception):
    pass


def derivative(f):
    """df/dx, taken with x real (so d|x|/dx = sign(x)), in terms of ``x`` again. _TooBig when
    it has more than MAX_DERIVATIVE_SIZE nodes counted with repeats (checked before anything
    walks it). Runs sympy: call it in the worker for functions from user text."""
    d = sp.diff(f.xreplace({x: _REAL}), _REAL)
    size = tree_stats(d)[0]
    if size > MAX_DERIVATIVE_SIZE:
        raise _TooBig(size)
    return d.xreplace({_REAL: x})


def simplify_here(d):
    """sympy's simplify of d if it is no longer and agrees with d at the sample points, else d
    (in the worker, which is killed if this overruns)."""
    if d.is_Atom or sp.count_ops(d) <= 2:
        return d
    s = sp.simplify(d.xreplace({x: _REAL}))
    if not isinstance(s, sp.Expr) or s.free_symbols - {_REAL}:
        return d
    s = s.xreplace({_REAL: x})
    if sp.count_ops(s) > sp.count_ops(d):
        return d
    return s if _agree(s, d) else d


class Sigma(sp.Function):
    """σ(u) kept whole (the grammar writes sigmoid(u) as 1/(1 + e^-u)), so that a derivative
    can be written in the functions the learner typed: σ′ = σ(1 − σ)."""

    def fdiff(self, argindex=1):
        s = self.func(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, u, **kwargs):
        return 1 / (1 + sp.exp(-u))

    def _latex(self, printer, exp=None):
        power = f"^{{{exp}}}" if exp is not None else ""
        # \! : KaTeX sets \left( apart from the letter before it, as if σ were multiplied
        return rf"\sigma{power}\!\left({printer._print(self.args[0])}\right)"


def _is_sigmoid(e) -> bool:
    """1/(1 + e^(-u)) as the grammar builds sigmoid(u), or a power of it (sympy makes
    sigmoid(u)^2 one power of the sum, (1 + e^(-u))^(-2))."""
    if not (e.is_Pow and e.exp.is_Integer and e.exp < 0):
        return False
    if not (e.base.is_Add and len(e.base.args) == 2):
        return False
    one, other = sorted(e.base.args, key=lambda a: a != 1)
    return one == 1 and isinstance(other, sp.exp)


def typed_form(f, fprime):
    """f′ written in the functions the learner typed where the grammar expanded one (sigmoid:
    σ(x)(x(1 − σ(x)) + 1) for x·sigmoid(x), not (x + eˣ + 1)/(4cosh²(x/2))), or None when f has
    none or the result does not equal ``fprime`` at the sample points. In the worker."""
    with_sigma = in_sigma(f)
    if not with_sigma.has(Sigma):
        return None
    d = sp.factor_terms(sp.diff(with_sigma.xreplace({x: _REAL}), _REAL).xreplace({_REAL: x}))
    if tree_stats(d)[0] > MAX_DERIVATIVE_SIZE:
        return None
    return d if _agree(d.rewrite(sp.exp), fprime) else None


def in_sigma(f):
    """f with every 1/(1 + e^(-u)) written σ(u), as the learner typed sigmoid(u)."""
    if not f.has(sp.exp):
        return f
    return f.replace(_is_sigmoid, lambda e: Sigma(-_exp_argument(e)) ** -e.exp)


def _exp_argument(e):
    return next(a for a in e.base.args if isinstance(a, sp.exp)).args[0]


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
    where and why, e.g. "log(1 + x) is undefined at x = -2 (row 1, column 2): log needs a
    positive number, and here its argument is -1. Choose other values." Pass the ``fprime``
    custom_function gave; without it f′ is derived again (in the worker)."""
    values = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(values)):
        k = tuple(np.argwhere(~np.isfinite(values))[0])
        where = _location(k, values.ndim).strip(" ()")
        what = f"The value at {where}" if where else "Your value"
        return f"{what} is not a number: choose other values."
    if fprime is None:
        fprime = worker.run("derivative", f, timeout=CUSTOM_SECONDS)
    for expr, is_fprime in ((f, False), (fprime, True)):
        v = evaluate(expr, values)
        bad = ~np.isfinite(v)
        if not bad.any():
            continue
        k = tuple(np.argwhere(bad)[0])
        at = float(values[k]) if k else float(values)
        trace: list = []
        _evaluate(expr, {x: np.float64(at)}, trace=trace)
        culprit = trace[0] if trace else expr
        where = f"at x = {_num(at)}{_location(k, values.ndim)}"
        reason = _reason(culprit, at)
        if reason is None:
            sentence = f"{_text(culprit)} is too large to compute {where}. Choose other values."
        else:
            sentence = f"{_text(culprit)} is undefined {where}: {reason}. Choose other values."
        return f"In the derivative f′(x), {sentence}" if is_fprime else sentence
    return None


def _reason(node, at: float) -> str | None:
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
        return None  # an overflow: defined, but past float64
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
    with sp.evaluate(False):  # printing builds a few products: never re-simplify user terms
        text = term_text(e, _PLAIN)
    return text if len(text) <= 80 else text[:77] + "…"


__all__ = ["CustomFunction", "custom_function", "domain_problem", "evaluate", "x"]
