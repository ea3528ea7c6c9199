"""The attention lesson's shared pieces (sizes, names, the 1/√d) and its three classic slips:
forgetting the √d, the missing transpose in ∂L/∂K, the softmax Jacobian taken as diagonal.
``lessons/attention.py`` puts them in the lesson."""

from __future__ import annotations

from ..attention import sqrt_tex
from ..derivation import Math, Step
from ..facts import AttentionFacts, need
from ..symbols import plain
from ..typeset import Typeset, tex

VT = r"V^\top"
LEAD = 12  # units of "s_{11} &= \frac{1}{\sqrt{2}}(" before a sum that is wrapped


def _att(m: Math) -> AttentionFacts:
    return need(m.attention, m.op, "attention")


def _dims(m: Math) -> tuple[int, int, int, int, bool]:
    p = m.params
    return p["queries"], p["keys"], p["d_k"], p["d_v"], p["causal"]


def _queries(n: int) -> str:
    return "1 query" if n == 1 else f"{n} queries"


def _ok(m: Math, label: str) -> bool:
    return dict(m.checks)[label]


def _d(m: Math, x: str) -> str:
    return rf"\frac{{\partial {m.loss}}}{{\partial {x}}}"


def _shaped(text: str, rows: int, cols: int) -> str:
    return rf"\underbrace{{{text}}}_{{{rows}\times{cols}}}"


def _over(d: int) -> str:
    """1/√d as a factor in front ("" when d = 1)."""
    return "" if d == 1 else rf"\frac{{1}}{{{sqrt_tex(d)}}}"


def _scaled(x: str, d: int) -> str:
    return x if d == 1 else rf"\frac{{{x}}}{{{sqrt_tex(d)}}}"


def _seen(m: Math, i: int, j: int) -> bool:
    return j in _att(m).seen[i]


def slip_root(m: Math, t: Typeset) -> Step:
    d = _dims(m)[2]
    if d == 1:
        why = "Here d = 1 and √1 = 1, so the two agree; at any other d they do not."
        verdict = r"\quad (\text{the same here: } \sqrt{1} = 1)"
    else:
        why = f"Here it makes ∂L/∂Q and ∂L/∂K √{d} ≈ {d**0.5:.2f} times too large."
        verdict = rf"\quad (\sqrt{{{d}}}\ \text{{times too large}})"
    return Step(
        "Common mistake: forgetting the √d",
        t.gathered(
            rf"{_d(m, 'Q')} \ne {_d(m, 'S')}\, K,\quad {_d(m, 'K')} \ne "
            rf"\left({_d(m, 'S')}\right)^\top Q",
            verdict,
        ),
        "The forward pass divided the scores by √d, so every path back through S carries the "
        f"same 1/√d: ∂sᵢₘ/∂qᵢₙ = kₘₙ/√d, not kₘₙ. {why}",
        kind="mistake",
        focus="Q",
        shows=("dS", "K", "d:Q"),
    )


def slip_transpose(m: Math, t: Typeset) -> Step:
    lq, lk, d, dv, causal = _dims(m)
    if lq != lk:
        verdict = rf"\text{{: inner sizes }} {lk} \ne {lq})"
        why = f"Here ∂L/∂S·Q does not even multiply: {lq}×{lk} times {lq}×{d} needs {lk} = {lq}."
    elif lq > 1:
        verdict = r"\text{: the right shape, the wrong entries})"
        why = (
            "Here queries and keys are equally many, so the shape cannot catch it, but row m of "
            "∂L/∂S·Q mixes query m's scores, where key m needs column m: every query's score "
            "with key m."
        )
    else:
        verdict = r"\text{: the same single row here})"
        why = (
            "With one query and one key both orders agree; with more, only the transpose is right."
        )
    return Step(
        "Common mistake: the missing transpose in ∂L/∂K",
        t.gathered(
            rf"{_d(m, 'K')} \ne {_d(m, 'S')}\, {_scaled('Q', d)}",
            rf"\quad({lq}\times{lk} \cdot {lq}\times{d}{verdict}",
        ),
        f"By analogy with ∂L/∂Q = ∂L/∂S·K/√d it is tempting to write ∂L/∂K = ∂L/∂S·Q/√d. {why} "
        f"The gradient has K's shape ({lk}×{d}): (∂L/∂S)ᵀ·Q/√d, {lk}×{lq} times {lq}×{d}.",
        kind="mistake",
        focus="K",
        shows=("dS", "Q", "d:K"),
    )


def slip_diagonal(m: Math, t: Typeset) -> Step:
    show, seen = _att(m).show, _att(m).seen
    row = next((i for i in range(len(seen)) if len(seen[i]) > 1), 0)
    p, dp, ds = show["p"], show["dp"], show["ds"]
    p0 = tex(p[row, 0])
    off = " ".join(rf"- {p0} {tex(p[row, j])} {tex(dp[row, j])}" for j in seen[row] if j != 0)
    right = rf"{tex(ds[row, 0])} = {p0}(1 - {p0}) {tex(dp[row, 0])}"
    lines = [rf"{_d(m, 'S')} \ne P \odot (1 - P) \odot {_d(m, 'P')}"]
    if off:
        lines += [right, rf"\quad \underbrace{{{off}}}_{{\text{{off the diagonal: dropped}}}}"]
    return Step(
        "Common mistake: softmax's Jacobian taken as diagonal",
        t.gathered(*lines),
        (
            f"Softmax is not element-wise: {plain(p[row, 0])} changes when "
            f"{plain(show['s'][row, 1])} does, through the sum they share. "
            if off
            else "Softmax is not element-wise: with two keys or more, p₁₁ changes when s₁₂ "
            "does, through the sum they share (here one key: p = 1, and both versions give 0). "
        )
        + "Keeping only ∂pᵢₘ/∂sᵢₘ = pᵢₘ(1 − pᵢₘ), as for a "
        "sigmoid, drops the −pᵢⱼpᵢₘ terms. A quick check: each row of the true ∂L/∂S sums to "
        "0; the diagonal version's, in general, does not.",
        kind="mistake",
        focus="S",
        shows=("P", "dP", "dS"),
    )
