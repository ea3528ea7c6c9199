"""The element-wise, binary and reduction lessons, written from their Math
(``derivations/elementwise.py``)."""

from __future__ import annotations

import sympy as sp

from ..derivation import Math, Step
from ..elementwise import _Y, BINARY_DM, BINARY_DN, T
from ..facts import need
from ..product import times
from ..typeset import Typeset, aligned, check_mark
from .common import all_grads_step, chain_rule_step

# op → (its LaTeX name, f′ as the pattern writes it, the same in plain text, why)
UNARY_TEXT = {
    "exp": (r"\exp", "Y", "Y", "The exponential is its own derivative, so dX = dY ⊙ Y."),
    "log": (
        r"\log",
        r"\frac{1}{X}",
        "1/X",
        "d/dx ln x = 1/x, so dX = dY ⊙ 1/X (defined for x > 0).",
    ),
    "sigmoid": (
        r"\sigma",
        r"Y \odot (1 - Y)",
        "Y ⊙ (1 − Y)",
        "σ′ = σ(1 − σ): the derivative needs only the forward output Y, which backprop keeps.",
    ),
    "tanh": (
        r"\tanh",
        r"(1 + Y) \odot (1 - Y)",
        "(1 + Y) ⊙ (1 − Y)",
        "tanh′ = 1 − tanh² = (1 + Y)(1 − Y), again in terms of the output Y.",
    ),
    "relu": (
        r"\mathrm{ReLU}",
        r"[X > 0]",
        "[X > 0]",
        "ReLU passes the gradient where the input was positive and blocks it elsewhere. At "
        "exactly 0 the gradient is 0, as in PyTorch (note 004 writes [X ≥ 0]).",
    ),
    "leaky_relu": (
        r"\mathrm{LeakyReLU}",
        r"\left([X > 0] + \alpha\,[X \le 0]\right)",
        "([X > 0] + α[X ≤ 0])",
        "Leaky ReLU lets a small share α of the gradient through where the input was not "
        "positive, so a unit that went negative can still learn. At exactly 0 the slope is α, "
        "as in PyTorch.",
    ),
    "softplus": (
        r"\operatorname{softplus}",
        r"\sigma(X)",
        "σ(X)",
        "softplus(x) = log(1 + eˣ) is a smooth ReLU, and its derivative is the sigmoid. (PyTorch "
        "returns x itself past x = 20, where the two agree to float precision.)",
    ),
}


def _rule_tex(m: Math, name_tex: str) -> str:
    """The scalar rule behind the pattern: f′(t) written out, then in the notes' form."""
    fn = need(m.unary, m.op, "unary").fn
    op = m.op
    if op == "relu":
        return r"\frac{d}{dt}\max(0, t) = \begin{cases} 1 & t > 0 \\ 0 & t \le 0 \end{cases}"
    if op == "leaky_relu":
        a = sp.latex(need(fn.kink, op, "kink").args[1][0])
        return rf"\frac{{d}}{{dt}}\mathrm{{LeakyReLU}}(t) = \begin{{cases}} 1 & t > 0 \\ {a} & t \le 0 \end{{cases}}"
    rule = need(fn.rule, op, "rule")
    return (
        rf"\frac{{d}}{{dt}} {name_tex}(t) = {sp.latex(sp.diff(fn.f, T))} = "
        rf"{sp.latex(rule.xreplace({_Y: sp.Symbol('y')}))}"
        + (rf"\big|_{{y = {name_tex}(t)}}" if rule.has(_Y) else "")
    )


def unary_lesson(m: Math, t: Typeset) -> list[Step]:
    name_tex, fprime_tex, fprime_text, why = UNARY_TEXT[m.op]
    ok = m.checks[-1][1]
    alpha = m.params.get("negative_slope")
    steps = [
        Step(
            "Setup",
            t.gathered(
                [
                    rf"Y = {name_tex}(X), \quad {t.bmatrix(m.out_symbols)}",
                    f"= {t.bmatrix(m.output)}",
                ]
            ),
            f"{m.op} acts on every entry on its own: yᵢⱼ depends on xᵢⱼ alone"
            + (f" (here α = {alpha:g})" if alpha is not None else "")
            + ". dM means ∂J/∂M and has M's shape (note 004).",
            kind="setup",
            focus="Y",
        ),
        chain_rule_step(m, t, "X", (0, 0)),
        all_grads_step(m, t, "X", text="Every entry's Jacobian is diagonal: one term each."),
        Step(
            f"Pattern: dX = dY ⊙ {fprime_text}",
            aligned(
                [
                    _rule_tex(m, name_tex).replace(" = ", " &= ", 1),
                    rf"dX &= dY \odot {fprime_tex}{check_mark(ok)}",
                ]
            ),
            why,
            kind="pattern",
            focus="X",
            proven=ok,
        ),
    ]
    if m.op == "relu":
        steps.append(
            Step(
                "Common mistake: the gradient at 0",
                r"[X \ge 0] \;(\text{note 004}) \quad \text{vs} \quad [X > 0] \;(\text{note 003, PyTorch})",
                "ReLU has no derivative at 0, so any value in [0, 1] is a valid choice. The notes "
                "disagree with each other; this app uses PyTorch's 0 everywhere so its numbers match.",
                kind="mistake",
                focus="X",
            )
        )
    return steps


# ---------------------------------------------------------------- binary

SIGN = {"add": "+", "sub": "-", "mul": r"\odot", "div": r"\oslash"}
BROADCAST_TEXT = {
    "none": "M and N have the same shape.",
    "row": "N is one row, broadcast down every row of M.",
    "column": "N is one column, broadcast across every column of M.",
    "scalar": "N is a single number, broadcast to every entry of M.",
}
PATTERN_TEX = {
    "add": (r"dY", r"dY"),
    "sub": (r"dY", r"-dY"),
    "mul": (r"dY \odot N", r"dY \odot M"),
    "div": (r"dY \oslash N", r"-dY \odot M \oslash N^{2}"),
}
REDUCE_TEX = {
    "none": "",
    "row": r"\sum_{\text{rows}}",
    "column": r"\sum_{\text{cols}}",
    "scalar": r"\sum_{i,j}",
}


def _binary_pattern(m: Math) -> Step:
    op, broadcast = m.op, m.params["broadcast"]
    ok_m, ok_n = m.patterns[BINARY_DM].ok, m.patterns[BINARY_DN].ok
    dm, dn = PATTERN_TEX[op]
    red = REDUCE_TEX[broadcast]
    dn_tex = f"{red} ({dn})" if red else f" {dn}"
    return Step(
        "Pattern",
        aligned([rf"dM &= {dm}{check_mark(ok_m)}", rf"dN &= {dn_tex}{check_mark(ok_n)}"]),
        "Each gradient has the shape of its input"
        + ("; the broadcast N collects the sum over the entries it was copied to." if red else ".")
        + " sympy checked both against the chain-rule sums.",
        kind="pattern",
        focus="M",
        proven=ok_m and ok_n,
    )


def binary_lesson(m: Math, t: Typeset) -> list[Step]:
    broadcast = m.params["broadcast"]
    steps = [
        Step(
            "Setup",
            t.gathered(
                [
                    rf"Y = M {SIGN[m.op]} N, \quad {t.bmatrix(m.out_symbols)}",
                    f"= {t.bmatrix(m.output)}",
                ]
            ),
            f"{BROADCAST_TEXT[broadcast]} Each yᵢⱼ combines mᵢⱼ with the N entry broadcast to it.",
            kind="setup",
            focus="Y",
        ),
        chain_rule_step(m, t, "M", (0, 0)),
        chain_rule_step(m, t, "N", (0, 0)),
    ]
    if broadcast != "none":
        steps.append(
            all_grads_step(
                m,
                t,
                "N",
                text="A broadcast entry feeds several outputs, and "
                "the total derivative adds every path: its gradient is a sum.",
            )
        )
    return steps + [_binary_pattern(m)]


# ---------------------------------------------------------------- reductions


def _written_sum(m: Math, most: int = 8) -> list[str]:
    """'= x₁₁', '+ x₁₂', … in row-major order, one piece a term for the line-breaker; past
    ``most`` terms the first three, ⋯ and the last (a 16×16 sum was one line of 256 terms)."""
    terms = [times(need(m.reduction, m.op, "reduction").coef, [x]) for x in m.inputs["X"]]
    if len(terms) > most:
        terms = [*terms[:3], r"\cdots", terms[-1]]
    return [f"= {terms[0]}"] + [f"+ {term}" for term in terms[1:]]


def reduction_lesson(m: Math, t: Typeset) -> list[Step]:
    a, b = m.params["shape"]
    g = m.upstream[0, 0]
    ok = m.checks[-1][1]
    front = "" if m.op == "sum" else r"\frac{1}{\alpha\beta}"
    share = "" if m.op == "sum" else rf"\frac{{1}}{{{a * b}}}"
    return [
        Step(
            "Setup",
            t.gathered(
                [
                    rf"y = {front}\sum_{{r=1}}^{{\alpha}} \sum_{{c=1}}^{{\beta}} x_{{rc}}",
                    *_written_sum(m),
                    rf"\qquad \alpha = {a},\ \beta = {b}",
                ]
            ),
            f"The {m.op} of all {a * b} entries of X: one number."
            if a * b > 1
            else f"The {m.op} of X's single entry: the entry itself.",
            kind="setup",
            focus="y",
        ),
        chain_rule_step(m, t, "X", (0, 0)),
        Step(
            "Pattern",
            rf"dX = {sp.latex(g)} \cdot {share}"
            rf"\begin{{bmatrix}} 1 & \cdots & 1 \\ \vdots & \ddots & \vdots \\ 1 & \cdots & 1 \end{{bmatrix}}{check_mark(ok)}",
            (
                "Every entry adds to the sum with weight 1, so each gets the upstream gradient "
                "unchanged."
                if m.op == "sum"
                else f"Every entry counts 1/(αβ) = 1/{a * b} toward the mean, so each gets that "
                "share of the upstream gradient."
            ),
            kind="pattern",
            focus="X",
            proven=ok,
        ),
    ]
