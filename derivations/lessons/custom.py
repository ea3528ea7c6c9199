"""The lesson of your own element-wise function (``derivations/custom_op.py``): the element-wise
lesson's steps, with f′ as sympy derived and simplified it.

It prints nothing of the learner's expressions itself: every piece of their LaTeX was made in
the worker process with the Math (``custom.tex``, ``partial_tex``)."""

from __future__ import annotations

import sympy as sp

from ..derivation import Math, Step
from ..facts import need
from ..typeset import Typeset, aligned, check_mark, visible_len
from .common import all_grads_step, chain_rule_step


def _lines(t: Typeset, lhs: str, terms: list[str]) -> list[str]:
    """lhs = the sum of ``terms``, wrapped to the column, as ``aligned`` lines."""
    rows = t.sum_lines(terms)
    return [f"{lhs} {rows[0]}", *rows[1:]]


def _tall_rows(tex: str) -> str:
    """KaTeX sets a matrix's rows a fixed distance apart: rows of \\dfrac overlap unless the gap
    between them grows (the built-in sigmoid's setup shows the overlap)."""
    return tex.replace(r"\\[2pt]", r"\\[12pt]") if r"\dfrac" in tex else tex


def _entry(m: Math, t: Typeset):
    """Each output's LaTeX: f(x_ij) written out, or just "f(x_ij)" when three columns of the
    written-out form would not fit the line."""
    tex = need(m.custom, m.op, "custom").tex["out"]
    room = (t.width - 8) / min(m.output.cols, 3) - 1.2
    if max(visible_len(v) for v in tex.values()) <= room:
        return lambda s: tex[s]
    x = {o: sp.latex(v) for o, v in zip(m.out_symbols, m.inputs["X"], strict=True)}
    return lambda s: rf"f\left({x[s]}\right)"


def custom_lesson(m: Math, t: Typeset) -> list[Step]:
    tex = need(m.custom, m.op, "custom").tex
    return [
        _setup_step(m, t, tex),
        _derivative_step(t, tex),
        chain_rule_step(m, t, "X", (0, 0)),
        all_grads_step(
            m,
            t,
            "X",
            text="Every entry's Jacobian is diagonal: one term each"
            + (", with f′ as step 2 writes it." if tex["short"] else "."),
        ),
        _pattern_step(m, t, tex),
    ]


def _setup_step(m: Math, t: Typeset, tex: dict) -> Step:
    out = m.out_symbols
    return Step(
        "Setup",
        t.gathered(
            aligned(_lines(t, "f(x)", tex["f"])),
            rf"Y = f(X), \quad {t.bmatrix(out)}",
            "= " + _tall_rows(t.bmatrix(out, fmt=_entry(m, t))),
        ),
        "Your function acts on every entry on its own: yᵢⱼ = f(xᵢⱼ) depends on xᵢⱼ alone. "
        "dM means ∂J/∂M and has M's shape (note 004).",
        kind="setup",
        focus="Y",
    )


_SECOND_LINE = {
    "simplified": "; the second line is the same derivative simplified (kept only because it is "
    "shorter and equal at sample points).",
    "typed": "; the second line is the same derivative written with σ, the sigmoid you typed "
    "(σ′ = σ(1 − σ)): no longer than sympy's simplified form, and equal at sample points.",
    None: "; simplifying did not make it shorter.",
}


def _derivative_step(t: Typeset, tex: dict) -> Step:
    derivative = _lines(t, r"f'(x)", tex["raw"])
    if tex["simplified"]:
        derivative += _lines(t, "", tex["fprime"])
    return Step(
        "Its derivative, by sympy",
        aligned(derivative),
        "sympy differentiates f with the product, quotient and chain rules"
        + _SECOND_LINE[tex.get("form", "simplified" if tex["simplified"] else None)],
        kind="note",
        focus="X",
    )


def _pattern_step(m: Math, t: Typeset, tex: dict) -> Step:
    ok = all(good for _, good in m.checks)
    return Step(
        "Pattern: dX = dY ⊙ f′(X)",
        aligned(
            [
                *_lines(t, "f'(x)", tex["fprime"]),
                rf"dX &= dY \odot f'(X){check_mark(ok)}",
            ]
        ),
        "As for every element-wise function: each entry's gradient is the upstream entry "
        "times f′ at that entry. sympy checked the pattern against the chain-rule sums.",
        kind="pattern",
        focus="X",
        proven=ok,
    )
