"""The residual-block lesson, written from its Math (``derivations/residual.py``):
Y = X + act(X W + b), and the identity path that carries ∂L/∂Y to X past f."""

from __future__ import annotations

from dataclasses import replace

import sympy as sp

from ..derivation import Math, Step
from ..facts import need
from ..residual import RESIDUAL_DB, RESIDUAL_DW, RESIDUAL_DX
from ..typeset import Typeset, aligned, check_mark, plural, tex
from .common import chain_rule_step

DL = r"\frac{\partial L}{\partial %s}"
ACT_TEX = {"tanh": r"\tanh", "sigmoid": r"\sigma", "relu": r"\mathrm{ReLU}"}
ACT_PRIME = {  # act′(z) as the lesson writes it, and in words
    "tanh": (r"1 - \tanh^{2}(z)", "1 − tanh²(z)"),
    "sigmoid": (r"\sigma(z)\left(1 - \sigma(z)\right)", "σ(z)(1 − σ(z))"),
    "relu": (r"[z > 0]", "[z > 0] (0 at z = 0, as PyTorch)"),
}


def _setup(m: Math, t: Typeset) -> Step:
    f_, act = m.params["features"], m.params["activation"]
    X, W, b = m.inputs["X"], m.inputs["W"], m.inputs["b"]
    return Step(
        "Setup",
        t.gathered(
            [r"Y = X + f(X),", rf"\quad f(X) = {ACT_TEX[act]}(X W + b)"],
            [
                rf"\underbrace{{{t.bmatrix(X)}}}_{{X:\ 1\times{f_}}}",
                rf"\quad \underbrace{{{t.bmatrix(W)}}}_{{W:\ {f_}\times{f_}}}",
                rf"\quad \underbrace{{{t.bmatrix(b)}}}_{{b:\ 1\times{f_}}}",
            ],
        ),
        f"A residual block: one sample of {plural(f_, 'feature')} goes through a dense layer "
        f"and {act} (that is f), and the block adds its own input back. W is square, so f(X) "
        "has X's shape and the sum exists.",
        kind="setup",
        focus="X",
        shows=("X", "W", "b"),
    )


def _forward(m: Math, t: Typeset) -> Step:
    act, zs, X = m.params["activation"], need(m.residual, m.op, "residual").z_names, m.inputs["X"]
    lines = []
    for j in range(m.params["features"]):
        z = tex(zs[0, j])
        lines.append(rf"{tex(m.out_symbols[0, j])} &= {tex(X[0, j])} + {ACT_TEX[act]}({z})")
        terms = [tex(e) for e in sp.Add.make_args(need(m.residual, m.op, "residual").z[0, j])]
        sums = t.sum_lines(terms, 2)
        lines += [f"{z} {sums[0]}", *sums[1:]]
    return Step(
        "Forward: every output written out",
        aligned(lines),
        "zⱼ is the dense layer's output j; the block's output adds xⱼ to its activation.",
        kind="forward",
        focus="Y",
        shows=("X", "out"),
    )


def _jacobian(m: Math, t: Typeset) -> Step:
    act = m.params["activation"]
    prime, words = ACT_PRIME[act]
    ok = all(ok for label, ok in m.checks if label.startswith("J_f"))
    return Step(
        "The Jacobian: I + J_f",
        aligned(
            [
                rf"\frac{{\partial y_{{1j}}}}{{\partial x_{{1k}}}} &= [j = k] + "
                rf"{ACT_TEX[act]}'(z_{{1j}})\, w_{{kj}}",
                rf"\frac{{\partial Y}}{{\partial X}} &= I + J_{{f}}, \quad "
                rf"J_{{f}} = \operatorname{{diag}}\left({ACT_TEX[act]}'(Z)\right) W^{{\top}}"
                + check_mark(ok),
                rf"{ACT_TEX[act]}'(z) &= {prime}",
            ]
        ),
        f"Each yⱼ depends on xⱼ directly (the 1 on the diagonal: the identity path) and on every "
        f"x through zⱼ (row j of J_f: {act}′(zⱼ) times column j of W). {act}′(z) = {words}.",
        kind="note",
        focus="X",
        shows=("dact", "J", "IJ"),
    )


def _dx_pattern(m: Math) -> Step:
    ok = m.patterns[RESIDUAL_DX].ok and all(
        ok for label, ok in m.checks if label.startswith("dX = dY +")
    )
    act = ACT_TEX[m.params["activation"]]
    return Step(
        "Pattern: ∂L/∂X = ∂L/∂Y (I + J_f)",
        aligned(
            [
                rf"{DL % 'X'} &= {DL % 'Y'}\left(I + J_{{f}}\right){check_mark(ok)}",
                rf"&= \underbrace{{{DL % 'Y'}}}_{{\text{{identity path}}}} + "
                rf"\underbrace{{\left({DL % 'Y'} \odot {act}'(Z)\right) W^{{\top}}}}"
                rf"_{{\text{{through }} f}}",
            ]
        ),
        "The gradient reaching the block's output passes to its input twice: unchanged, along "
        "the identity, and through f. However small f's Jacobian (a saturated tanh, tiny "
        "weights), the first term is ∂L/∂Y itself. Stack L blocks and ∂L/∂X₀ = ∂L/∂X_L "
        "(I + J_L)…(I + J₁); multiplied out, one of its terms is ∂L/∂X_L itself. Without the "
        "identity it is ∂L/∂X_L J_L…J₁, which vanishes when each J is small. sympy checked both "
        "lines.",
        kind="pattern",
        focus="X",
        proven=ok,
        shows=("up", "IJ", "d:X"),
    )


def _param_patterns(m: Math) -> list[Step]:
    okw, okb = m.patterns[RESIDUAL_DW].ok, m.patterns[RESIDUAL_DB].ok
    act = ACT_TEX[m.params["activation"]]
    delta = rf"\left({DL % 'Y'} \odot {act}'(Z)\right)"
    return [
        Step(
            "Pattern: ∂L/∂W = Xᵀ (∂L/∂Y ⊙ act′(Z))",
            rf"{DL % 'W'} = X^{{\top}} {delta}{check_mark(okw)}",
            "The identity has no weights: W and b learn only through f, exactly as a dense "
            "layer followed by the activation would (∂L/∂Z = ∂L/∂Y ⊙ act′(Z)).",
            kind="pattern",
            focus="W",
            proven=okw,
            shows=("X", "dact", "up", "d:W"),
        ),
        Step(
            "Pattern: ∂L/∂b = ∂L/∂Y ⊙ act′(Z)",
            rf"{DL % 'b'} = {delta}{check_mark(okb)}",
            "One sample, so no sum over a batch: bⱼ's gradient is ∂L/∂zⱼ.",
            kind="pattern",
            focus="b",
            proven=okb,
            shows=("dact", "up", "d:b"),
        ),
    ]


def _mistake(m: Math) -> Step:
    ok = all(ok for label, ok in m.checks if "identity dropped" in label)
    return Step(
        "Common mistake: forgetting the identity path",
        rf"{DL % 'X'} \ne {DL % 'Y'}\, J_{{f}} \quad \text{{(it leaves out }} "
        rf"{DL % 'Y'}\text{{)}}{check_mark(ok)}",
        "Backpropagating through f alone gives ∂L/∂Y·J_f: the skip connection's own term is "
        "lost, and with it the reason residual networks train. sympy checked that the two "
        "differ; the panels show both with your numbers.",
        kind="mistake",
        focus="X",
        shows=("d:X", "wrong"),
    )


def residual_lesson(m: Math, t: Typeset) -> list[Step]:
    return [
        _setup(m, t),
        _forward(m, t),
        _jacobian(m, t),
        replace(chain_rule_step(m, t, "X", (0, 0)), shows=("X", "IJ", "up", "d:X")),
        _dx_pattern(m),
        replace(chain_rule_step(m, t, "W", (0, 0)), shows=("X", "dact", "up", "d:W")),
        *_param_patterns(m),
        _mistake(m),
    ]
