"""The maths of the dense layer Z = XW + b (one sample per row, W ∈ ℝ^{in×out}) and of softmax +
cross-entropy. Lessons: ``lessons/dense.py``."""

from __future__ import annotations

import numpy as np
import sympy as sp

from .algebra import jacobian_from_terms, outputs_from_terms
from .derivation import Math, assemble
from .facts import SoftmaxFacts
from .params import MAX_SIDE, as_count
from .symbols import Scope

# the labels of the patterns proven here, by which the lessons look them up
DENSE_DW = "dW = X^T dZ"
DENSE_DX = "dX = dZ W^T"
DENSE_DB = "db = column sums of dZ"

MAX_CLASSES = 10


def linear_math(batch=2, in_features=3, out_features=2, *, scope=None) -> Math:
    op = "linear"
    n = as_count(op, "batch", batch)
    i_ = as_count(op, "in_features", in_features, hi=MAX_SIDE)
    o_ = as_count(op, "out_features", out_features, hi=MAX_SIDE)
    scope = scope or Scope()
    X, W = scope.matrix("x", (n, i_)), scope.matrix("w", (i_, o_))
    B = scope.matrix("b", (1, o_), vector=True)
    inputs = {"X": X, "W": W, "b": B}
    terms = {
        (r, c): [(1, [("X", (r, k)), ("W", (k, c))]) for k in range(i_)] + [(1, [("b", (0, c))])]
        for r in range(n)
        for c in range(o_)
    }
    m = assemble(
        op,
        dict(batch=n, in_features=i_, out_features=o_),
        inputs,
        outputs_from_terms((n, o_), inputs, terms),
        jacobian_from_terms(inputs, terms),
        out_name="Z",
        out_letter="z",
        scope=scope,
    )
    m.terms = terms
    G = m.upstream
    m.prove(DENSE_DW, m.grads["W"], X.T * G, grad="W", operands={"X^T": X.T, "dZ": G})
    m.prove(DENSE_DX, m.grads["X"], G * W.T, grad="X", operands={"dZ": G, "W^T": W.T})
    m.prove(
        DENSE_DB,
        m.grads["b"],
        sp.ones(1, n) * G,
        grad="b",
        operands={"1^T": sp.ones(1, n), "dZ": G},
    )
    return m


def class_index(op: str, target, c: int) -> int:
    """The true class as PyTorch's 0-based index; a message in both countings if it is not one."""
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)) or not 0 <= target < c:
        shown = (  # the lessons count classes from 1, PyTorch's index from 0: say both
            f" (class {target + 1})"
            if isinstance(target, (int, np.integer)) and not isinstance(target, bool)
            else ""
        )
        raise ValueError(
            f"{op}: target must be a class index from 0 to {c - 1} (0-based), that is, a true "
            f"class from 1 to {c} as the lessons count; you gave {target!r}{shown}. Choose a "
            f"class from 1 to {c}, or more classes."
        )
    return int(target)


def softmax_ce_math(num_classes=3, target=0, *, scope=None) -> Math:
    op = "softmax_cross_entropy"
    c = as_count(op, "num_classes", num_classes, 1, MAX_CLASSES)
    target = class_index(op, target, c)
    scope = scope or Scope()
    F = scope.matrix("f", (1, c), vector=True)
    S = sp.Add(*[sp.exp(F[0, j]) for j in range(c)])
    loss = -sp.log(sp.exp(F[0, target]) / S)
    p = [sp.exp(F[0, k]) / S for k in range(c)]
    jac = {"f": {(0, k): {(0, 0): p[k] - (1 if k == target else 0)} for k in range(c)}}
    m = assemble(
        op,
        dict(num_classes=c, target=target),
        {"f": F},
        sp.Matrix([[loss]]),
        jac,
        out_name="L_i",
        out_letter="L",
        scope=scope,
    )
    # the simplified partials above are what the lesson claims; prove each against sympy.diff
    for k in range(c):
        raw = sp.diff(loss, F[0, k])
        m.checks.append((f"dL/df_{k + 1}", sp.simplify(raw - jac["f"][(0, k)][(0, 0)]) == 0))
    g = m.upstream[0, 0]
    onehot = [1 if k == target else 0 for k in range(c)]
    m.checks.append(
        (
            "dL/df = (p - onehot) * upstream",
            all(
                sp.simplify(a - g * (pk - oh)) == 0
                for a, pk, oh in zip(m.grads["f"], p, onehot, strict=True)
            ),
        )
    )
    m.softmax = SoftmaxFacts(p=sp.Matrix([p]), onehot=sp.Matrix([onehot]))
    return m
