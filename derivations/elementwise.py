"""The maths of element-wise unary and binary ops and the sum/mean reductions (note 004's
notation: Y = f(X), dM = ∂J/∂M has M's shape). Lessons: ``lessons/elementwise.py``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from .algebra import jacobian_from_terms, outputs_from_terms, rename_symbols, times
from .derivation import Math, assemble
from .facts import ReductionFacts, UnaryFacts
from .params import as_shape
from .product import product_tex
from .symbols import Scope
from .typeset import ordered_sum

# the labels of the patterns proven here, by which the lessons look them up
BINARY_DM = "dM pattern"
BINARY_DN = "dN pattern"

T = sp.Symbol("t")  # the scalar argument every unary rule is written in
_Y = sp.Symbol("y")


@dataclass(frozen=True)
class Unary:
    """One element-wise function: f(t), the derivative where sympy's would be ambiguous (a kink,
    given as ∂y/∂t by the convention PyTorch uses), and f′ as note 004 writes it, in terms of
    y = f(t) and t (None where the rule is the derivative's definition)."""

    f: sp.Expr
    kink: sp.Expr | None = None
    rule: sp.Expr | None = None
    # f′ when it is given rather than taken here (a learner's f: derived and simplified in the
    # worker process, see custom_op)
    derivative: sp.Expr | None = None


def _leaky(slope) -> Unary:
    a = sp.Float(slope)
    # NOTE: the slope at exactly 0 is alpha, as in PyTorch (x > 0 ? 1 : alpha)
    return Unary(sp.Piecewise((T, T > 0), (a * T, True)), sp.Piecewise((1, T > 0), (a, True)))


UNARY = {
    "exp": Unary(sp.exp(T), rule=_Y),
    "log": Unary(sp.log(T), rule=1 / T),
    "sigmoid": Unary(1 / (1 + sp.exp(-T)), rule=_Y * (1 - _Y)),
    "tanh": Unary(sp.tanh(T), rule=(1 + _Y) * (1 - _Y)),
    # NOTE: ReLU'(0) = 0, as in PyTorch and note 003 (note 004 writes [x >= 0])
    "relu": Unary(sp.Max(0, T), kink=sp.Piecewise((1, T > 0), (0, True))),
    "softplus": Unary(sp.log(1 + sp.exp(T)), rule=1 / (1 + sp.exp(-T))),
}
MAX_SLOPE = 10.0


def _slope(op: str, v) -> float:
    # np.number would let a numpy complex through
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ValueError(f"{op}: negative_slope must be a number, not {v!r}.")
    value: int | float = v.item() if isinstance(v, np.generic) else v
    slope = float(value) if abs(value) <= MAX_SLOPE else np.inf  # float(10**400) overflows
    if not np.isfinite(slope) or abs(slope) > MAX_SLOPE:
        raise ValueError(f"{op}: negative_slope must be between -10 and 10; you gave {v!r}.")
    return slope


def unary_from(op: str, fn: Unary, shape, params: dict, scope=None) -> Math:
    """The Math of y = f(x) entry by entry, for any Unary (the built-in ones and the learner's
    own function alike)."""
    scope = scope or Scope(loss="J")
    X = scope.matrix("x", shape)
    output = X.applyfunc(lambda x: rename_symbols(fn.f, {T: x}))
    fprime = fn.kink if fn.kink is not None else fn.derivative
    fprime = sp.diff(fn.f, T) if fprime is None else fprime
    # once, then renamed per entry: 256 diffs cost a second
    jac = {
        "X": {(r, c): {(r, c): rename_symbols(fprime, {T: X[r, c]})} for r, c in np.ndindex(shape)}
    }
    m = assemble(op, params, {"X": X}, output, jac, out_name="Y", out_letter="y", scope=scope)
    if fn.kink is not None:
        m.partial_tex = {("X", i, i): _kink_tex(fn.kink, X[i]) for i in jac["X"]}
    m.unary = UnaryFacts(fn, fprime)
    if fn.rule is not None:
        # the scalar identity f'(t) = rule(f(t), t) proves the pattern entry by entry
        ok = is_zero(sp.diff(fn.f, T) - fn.rule.xreplace({_Y: fn.f}))
        m.checks.append((f"{op}' = rule", ok))
    else:
        m.checks.append((f"{op}' = its definition", True))
    return m


def is_zero(e) -> bool:
    """Whether the expression is identically 0. Rewritten in exponentials and put over one
    denominator, the built-in rules cancel in milliseconds; simplify (a tenth of a second for
    the sigmoid's) is left for whatever that does not settle."""
    return sp.cancel(sp.together(e.rewrite(sp.exp))) == 0 or sp.simplify(e) == 0


def _kink_tex(kink: sp.Piecewise, x) -> str:
    """[x > 0] for ReLU's derivative, [x > 0] + α[x ≤ 0] for Leaky ReLU's."""
    other = kink.args[1][0]
    if other == 0:
        return rf"[{sp.latex(x)} > 0]"
    slope = product_tex([(other, None), (None, rf"[{sp.latex(x)} \le 0]")], sep=r"\,")
    return rf"\left({ordered_sum([rf'[{sp.latex(x)} > 0]', slope])}\right)"  # α < 0: "- 0.5 […]"


def unary_math(op: str, shape=(2, 2), *, scope=None, **params) -> Math:
    if op == "leaky_relu":
        slope = _slope(op, params.pop("negative_slope", 0.01))
        fn, extra = _leaky(slope), {"negative_slope": slope}
    elif op in UNARY:
        fn, extra = UNARY[op], {}
    else:
        raise ValueError(f"unknown element-wise op {op!r}; choose one of {sorted(UNARY)}")
    if params:
        raise ValueError(f"{op}: unknown parameter {next(iter(params))!r}")
    shape = as_shape(op, "shape", shape)
    return unary_from(op, fn, shape, {"shape": shape, **extra}, scope)


# ---------------------------------------------------------------- binary


BROADCAST = ("none", "row", "column", "scalar")
BINARY = ("add", "sub", "mul", "div")


def n_shape(shape, broadcast):
    return {"none": shape, "row": (1, shape[1]), "column": (shape[0], 1), "scalar": (1, 1)}[
        broadcast
    ]


_M, _N = sp.symbols("m n")
_QUOTIENT = (_M / _N, sp.diff(_M / _N, _M), sp.diff(_M / _N, _N))  # y = m/n, ∂y/∂m, ∂y/∂n


def _binary_jac(op, inputs, shape, nidx):
    M, N = inputs["M"], inputs["N"]
    outs = [(r, c) for r in range(shape[0]) for c in range(shape[1])]
    if op == "div":
        # differentiated once, then renamed per entry: 512 diffs took a second
        q, dm, dn = _QUOTIENT
        jac: dict[str, dict] = {"M": {}, "N": {}}
        flat: list = []
        for o in outs:
            names = {_M: M[o], _N: N[nidx(*o)]}
            flat.append(rename_symbols(q, names))
            jac["M"][o] = {o: rename_symbols(dm, names)}
            jac["N"].setdefault(nidx(*o), {})[o] = rename_symbols(dn, names)
        return sp.Matrix(*shape, flat), jac
    coef_n = -1 if op == "sub" else 1
    terms = {
        o: (
            [(1, [("M", o), ("N", nidx(*o))])]
            if op == "mul"
            else [(1, [("M", o)]), (coef_n, [("N", nidx(*o))])]
        )
        for o in outs
    }
    return outputs_from_terms(shape, inputs, terms), jacobian_from_terms(inputs, terms)


def _binary_patterns(m: Math, op, shape, ns, nidx):
    """dM and dN built with matrix operations, proven against the chain-rule sums."""
    M, N, G = m.inputs["M"], m.inputs["N"], m.upstream
    outs = [(r, c) for r in range(shape[0]) for c in range(shape[1])]
    Nb = sp.Matrix(*shape, lambda r, c: N[nidx(r, c)])
    dm = {
        "add": G,
        "sub": G,
        "mul": G.multiply_elementwise(Nb),
        "div": sp.Matrix(*shape, lambda r, c: G[r, c] / Nb[r, c]),
    }[op]
    dn_full = {
        "add": G,
        "sub": -G,
        "mul": G.multiply_elementwise(M),
        "div": sp.Matrix(*shape, lambda r, c: -G[r, c] * M[r, c] / Nb[r, c] ** 2),
    }[op]
    dn = sp.Matrix(*ns, lambda a, b: sp.Add(*[dn_full[o] for o in outs if nidx(*o) == (a, b)]))
    m.prove(BINARY_DM, m.grads["M"], dm, grad="M", operands={"dY": G, "N": Nb})
    m.prove(BINARY_DN, m.grads["N"], dn, grad="N", operands={"dY": G, "M": M})


def binary_math(op: str, shape=(2, 2), broadcast="none", *, scope=None) -> Math:
    if op not in BINARY:
        raise ValueError(f"unknown binary op {op!r}; choose one of {sorted(BINARY)}")
    if broadcast not in BROADCAST:
        raise ValueError(
            f"{op}: broadcast must be one of {', '.join(BROADCAST)}; you gave {broadcast!r}."
        )
    shape = as_shape(op, "shape", shape)
    ns = n_shape(shape, broadcast)
    scope = scope or Scope(loss="J")
    inputs = {"M": scope.matrix("m", shape), "N": scope.matrix("n", ns)}

    def nidx(r, c):
        return (r if ns[0] > 1 else 0, c if ns[1] > 1 else 0)

    output, jac = _binary_jac(op, inputs, shape, nidx)
    params = {"shape": shape, "broadcast": broadcast}
    m = assemble(op, params, inputs, output, jac, out_name="Y", out_letter="y", scope=scope)
    _binary_patterns(m, op, shape, ns, nidx)
    return m


# ---------------------------------------------------------------- reductions


def reduction_math(op: str, shape=(2, 2), *, scope=None) -> Math:
    if op not in ("sum", "mean"):
        raise ValueError(f"unknown reduction {op!r}; choose sum or mean")
    shape = as_shape(op, "shape", shape)
    scope = scope or Scope(loss="J")
    inputs = {"X": scope.matrix("x", shape)}
    coef = sp.S.One if op == "sum" else sp.Rational(1, shape[0] * shape[1])
    terms = {(0, 0): [(coef, [("X", (r, c))]) for r in range(shape[0]) for c in range(shape[1])]}
    m = assemble(
        op,
        {"shape": shape},
        inputs,
        outputs_from_terms((1, 1), inputs, terms),
        jacobian_from_terms(inputs, terms),
        out_name="y",
        out_letter="y",
        scope=scope,
    )
    g = m.upstream[0, 0]
    m.prove(
        f"d{op}",
        m.grads["X"],
        sp.Matrix(*shape, lambda r, c: times(coef, g)),
        grad="X",
        operands={"dy": m.upstream},
    )
    m.reduction = ReductionFacts(coef)
    return m
