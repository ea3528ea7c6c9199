"""The maths of a residual block, Y = X + f(X) with f(X) = act(X W + b): one sample X (1 × F),
W (F × F), b (1 × F), the activation tanh, sigmoid or ReLU. Lesson: ``lessons/norm.py``.

f is the dense layer followed by the activation, composed by ``chain`` from their own maths
(the chain rule by substitution, as in the networks); the block adds the identity path, whose
Jacobian is I. So ∂y_j/∂x_k = [j = k] + act′(z_j) w_kj, and ∂L/∂X = ∂L/∂Y (I + J_f) with
J_f = diag(act′(Z)) Wᵀ: the gradient reaches X through I whatever f does to it.
"""

from __future__ import annotations

import sympy as sp

from mathtext.typed_names import typing_name

from .algebra import grads_from_jac
from .chain import chain
from .dense import linear_math
from .derivation import Math
from .elementwise import T, unary_math
from .facts import ResidualFacts, need
from .params import as_count
from .symbols import Scope
from .typeset import tex

# the labels of the patterns proven here, by which the lessons look them up
RESIDUAL_DX = "dX = dY (I + J_f)"
RESIDUAL_DW = "dW = Xᵀ (dY ⊙ act′(Z))"
RESIDUAL_DB = "db = dY ⊙ act′(Z)"

MAX_RESIDUAL = 8  # the block's width F (the lessons offer 6)
ACTIVATIONS = ("tanh", "sigmoid", "relu")
# act′(z) as the lesson writes it, for a z given as LaTeX
_FPRIME_TEX = {
    "tanh": lambda z: rf"\left(1 - \tanh^{{2}}({z})\right)",
    "sigmoid": lambda z: rf"\sigma({z})\left(1 - \sigma({z})\right)",
    "relu": lambda z: rf"[{z} > 0]",
}


def _activation(op: str, activation) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"{op}: activation must be one of {', '.join(ACTIVATIONS)}; you gave {activation!r}."
        )
    return activation


def residual_math(features=2, activation="tanh", *, scope=None) -> Math:
    op = "residual"
    f_ = as_count(op, "features", features, 1, MAX_RESIDUAL)
    act = _activation(op, activation)
    scope = scope or Scope()
    lin = linear_math(batch=1, in_features=f_, out_features=f_, scope=scope)
    unary = unary_math(act, shape=(1, f_), scope=Scope(scope.layer, scope.loss, (("x", "z"),)))
    f = chain(lin, unary)  # f(X) = act(X W + b), its Jacobian by substitution
    X = lin.inputs["X"]
    inputs = {"X": X, "W": lin.inputs["W"], "b": lin.inputs["b"]}
    jac = {name: {i: dict(outs) for i, outs in f.jac[name].items()} for name in inputs}
    for k in range(f_):  # the identity path: ∂x_k/∂x_k = 1
        outs = jac["X"].setdefault((0, k), {})
        outs[(0, k)] = 1 + outs.get((0, k), sp.S.Zero)
    out_symbols = scope.matrix("y", (1, f_))
    upstream = scope.upstream(out_symbols)
    m = Math(
        op,
        dict(features=f_, activation=act),
        inputs,
        X + f.output,
        out_symbols,
        upstream,
        grads_from_jac(inputs, jac, upstream),
        jac,
        "Y",
        "y",
        scope.loss,
        scope,
    )
    z = lin.output  # z_j = Σ_k x_k w_kj + b_j, written out
    fprime = need(unary.unary, unary.op, "unary").fprime  # act′(t); ReLU's is PyTorch's: 0 at t = 0
    dact = sp.Matrix(1, f_, lambda _, j: fprime.xreplace({T: z[0, j]}))
    J = sp.Matrix(f_, f_, lambda j, k: dact[0, j] * lin.inputs["W"][k, j])  # ∂f_j/∂x_k
    m.activation = act
    m.residual = ResidualFacts(z=z, z_names=unary.inputs["X"], dact=dact, J=J)
    # practice takes the z₁ⱼ every step writes: z12 is typed for (XW + b)₁₂
    m.named = {typing_name(s): z[0, j] for j, s in enumerate(unary.inputs["X"])}
    _display(m, unary.inputs["X"])
    _prove(m, J, dact)
    return m


def _display(m: Math, zs: sp.Matrix) -> None:
    """The partials as the lesson writes them, in z_j = (X W + b)_j rather than the sums."""
    act, W, X = m.params["activation"], m.inputs["W"], m.inputs["X"]

    def fp(j: int) -> str:
        return _FPRIME_TEX[act](tex(zs[0, j]))

    for (_, k), outs in m.jac["X"].items():
        for _, j in outs:
            lead = "1 + " if j == k else ""
            m.partial_tex[("X", (0, k), (0, j))] = rf"\left({lead}{fp(j)}\, {tex(W[k, j])}\right)"
    for k, j in m.jac["W"]:
        m.partial_tex[("W", (k, j), (0, j))] = rf"{fp(j)}\, {tex(X[0, k])}"
    for _, j in m.jac["b"]:
        m.partial_tex[("b", (0, j), (0, j))] = fp(j)


def _prove(m: Math, J: sp.Matrix, dact: sp.Matrix) -> None:
    f_ = m.params["features"]
    G, X, W = m.upstream, m.inputs["X"], m.inputs["W"]
    eye = sp.eye(f_)
    delta = G.multiply_elementwise(dact)  # ∂L/∂Z = ∂L/∂Y ⊙ act′(Z)
    m.prove(
        RESIDUAL_DX,
        m.grads["X"],
        G * (eye + J),
        grad="X",
        operands={"dY": G, "I + J_f": eye + J},
    )
    m.checks.append(("J_f = diag(act′(Z)) Wᵀ", J == sp.diag(*dact) * W.T))
    m.prove("dX = dY + (dY ⊙ act′(Z)) Wᵀ", m.grads["X"], G + delta * W.T)
    m.prove(
        RESIDUAL_DW,
        m.grads["W"],
        X.T * delta,
        grad="W",
        operands={"X^T": X.T, "dY ⊙ act′(Z)": delta},
    )
    m.prove(RESIDUAL_DB, m.grads["b"], delta, grad="b", operands={"dY": G, "act′(Z)": dact})
    # the mistake: f's gradient alone, the identity path dropped
    wrong = G * J
    differs = any(sp.expand(a - b) != 0 for a, b in zip(m.grads["X"], wrong, strict=True))
    m.checks.append(("dY J_f alone (the identity dropped) is not dX", differs))
    m.panels = _panels(m, J, dact, wrong)


_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _panels(m: Math, J, dact, wrong) -> list[tuple]:
    """The lesson's own matrices, as (key, title, cell names, matrix in the inputs)."""
    f_, act = m.params["features"], m.params["activation"]

    def sub(*i: int) -> str:
        return "".join(str(k + 1) for k in i).translate(_SUBSCRIPT)

    jac = [[f"∂f{sub(j)}/∂x{sub(k)}" for k in range(f_)] for j in range(f_)]
    eye = [[f"∂y{sub(j)}/∂x{sub(k)}" for k in range(f_)] for j in range(f_)]
    return [
        ("dact", f"{act}′(Z)", [[f"{act}′(z{sub(0, j)})" for j in range(f_)]], dact),
        ("J", "J_f = ∂f/∂X", jac, J),
        ("IJ", "I + J_f = ∂Y/∂X", eye, sp.eye(f_) + J),
        ("wrong", "∂L/∂Y · J_f (identity dropped)", [[f"x{sub(0, k)}" for k in range(f_)]], wrong),
    ]
