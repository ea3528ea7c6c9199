"""The dense-layer and softmax + cross-entropy lessons, written from their Math
(``derivations/dense.py``)."""

from __future__ import annotations

import sympy as sp

from ..dense import DENSE_DB, DENSE_DW, DENSE_DX
from ..derivation import Math, Step
from ..typeset import Typeset, aligned, article, check_mark, plural
from .common import all_grads_step, chain_rule_step, expansion_parts, forward_step, sums


def _shapes(m: Math) -> tuple[int, int, int]:
    pr = m.params
    return pr["batch"], pr["in_features"], pr["out_features"]


def _linear_setup(m: Math, t: Typeset) -> Step:
    n, i_, o_ = _shapes(m)
    X, W, B = m.inputs["X"], m.inputs["W"], m.inputs["b"]
    return Step(
        "Setup",
        t.gathered(
            [
                rf"\underbrace{{{t.bmatrix(X)}}}_{{X:\ {n}\times{i_}}}",
                rf"\underbrace{{{t.bmatrix(W)}}}_{{W:\ {i_}\times{o_}}}",
                rf"+ \underbrace{{{t.bmatrix(B)}}}_{{b:\ {o_}}}",
                rf"= \underbrace{{{t.bmatrix(m.out_symbols)}}}_{{Z:\ {n}\times{o_}}}",
            ]
        ),
        f"A batch of {plural(n, 'sample')}, one per row, each with {plural(i_, 'feature')}, "
        f"goes through a dense layer with {plural(o_, 'output')}. b is added to every row "
        "(broadcast).",
        kind="setup",
        focus="Z",
    )


def _shaped(tex: str, rows, cols) -> str:
    return rf"\underbrace{{{tex}}}_{{{rows}\times{cols}}}"


DZ = r"\frac{\partial L}{\partial Z}"
XT, WT, ONES = r"X^\top", r"W^\top", r"\mathbf{1}^\top"


def _linear_patterns(m: Math) -> list[Step]:
    n, i_, o_ = _shapes(m)
    ok_w = m.patterns[DENSE_DW].ok
    ok_x = m.patterns[DENSE_DX].ok
    ok_b = m.patterns[DENSE_DB].ok
    return [
        Step(
            "Pattern: ∂L/∂W = Xᵀ · ∂L/∂Z",
            _shaped(r"\frac{\partial L}{\partial W}", i_, o_)
            + rf" = {_shaped(XT, i_, n)}\;{_shaped(DZ, n, o_)}{check_mark(ok_w)}",
            "w_kj meets x_nk in every sample's z_nj: summing over the batch is the matrix product. "
            "The shapes fix the order: only Xᵀ·dZ gives W's shape.",
            kind="pattern",
            focus="W",
            proven=ok_w,
        ),
        Step(
            "Pattern: ∂L/∂X = ∂L/∂Z · Wᵀ",
            _shaped(r"\frac{\partial L}{\partial X}", n, i_)
            + rf" = {_shaped(DZ, n, o_)}\;{_shaped(WT, o_, i_)}{check_mark(ok_x)}",
            "x_nk fed every output of its own sample through row k of W.",
            kind="pattern",
            focus="X",
            proven=ok_x,
        ),
        Step(
            "Pattern: ∂L/∂b = column sums of ∂L/∂Z",
            _shaped(r"\frac{\partial L}{\partial b}", 1, o_)
            + rf" = {_shaped(ONES, 1, n)}\;{_shaped(DZ, n, o_)}{check_mark(ok_b)}",
            "bⱼ was broadcast to every row, so its gradient sums column j over the batch (total "
            "derivative).",
            kind="pattern",
            focus="b",
            proven=ok_b,
        ),
    ]


def _linear_mistake(m: Math, t: Typeset) -> Step:
    """Note 002's muddle: ∂L/∂Z·Xᵀ instead of Xᵀ·∂L/∂Z. Whether the wrong product even exists
    depends on the sizes, so say what is wrong for these ones."""
    n, i_, o_ = _shapes(m)
    if o_ != i_:
        verdict = rf"\text{{: inner sizes }} {o_} \ne {i_})"
        why = (
            f"Here the wrong order ∂L/∂Z·Xᵀ does not even multiply: {n}×{o_} times {i_}×{n} "
            f"needs {o_} = {i_}."
        )
    elif n != i_:
        verdict = rf"\text{{ is }} {n}\times{n}\text{{, not }} {i_}\times{o_})"
        why = (
            f"Here the wrong order ∂L/∂Z·Xᵀ does multiply ({n}×{o_} times {i_}×{n}), but it "
            f"gives {article(n)} {n}×{n} matrix, one entry per pair of samples, not W's {i_}×{o_}."
        )
    elif n > 1:
        verdict = r"\text{: the right shape, the wrong entries})"
        why = (
            f"Here the sizes happen to agree ({n} samples, inputs and outputs), so the shape "
            "cannot catch it, but the entries are wrong: each sums over the outputs instead of "
            "over the samples."
        )
    else:
        verdict = r"\text{: the same single number here})"
        why = (
            "With one sample, one input and one output every matrix is a single number and both "
            "orders agree; with more of any of them, only one order is right."
        )
    return Step(
        "Common mistake (note 002)",
        t.gathered(
            [
                r"\frac{\partial L}{\partial W} \ne \frac{\partial L}{\partial Z}\, X^\top",
                rf"\quad({n}\times{o_} \cdot {i_}\times{n}{verdict}",
            ]
        ),
        "Note 002 muddles the shape of ∂R/∂W ('n×m, but m×n for subtraction'). One rule settles "
        f"it: the gradient has the shape of the parameter, and every product's inner sizes must "
        f"match. {why} The right product is Xᵀ·∂L/∂Z ({i_}×{n} times {n}×{o_}).",
        kind="mistake",
        focus="W",
    )


def linear_lesson(m: Math, t: Typeset) -> list[Step]:
    pats = _linear_patterns(m)
    return [
        _linear_setup(m, t),
        forward_step(
            m,
            t,
            lambda o: expansion_parts(m.inputs, sums(m)[o]),
            "zₙⱼ is row n of X dotted with column j of W, plus bⱼ.",
        ),
        chain_rule_step(m, t, "W", (0, 0)),
        pats[0],
        chain_rule_step(m, t, "X", (0, 0)),
        pats[1],
        chain_rule_step(m, t, "b", (0, 0)),
        pats[2],
        _linear_mistake(m, t),
    ]


# ---------------------------------------------------------------- softmax + cross-entropy


def _ce_cases(t: Typeset) -> list[Step]:
    return [
        Step(
            "Quotient rule",
            r"\frac{\partial L_i}{\partial f_k} = -\frac{\sum_j e^{f_j}}{e^{f_{y_i}}}\cdot"
            r"\frac{\partial}{\partial f_k}\frac{e^{f_{y_i}}}{\sum_j e^{f_j}}",
            "d(−log u) = −u′/u; u is a quotient, so the quotient rule gives u′. Two cases: k is the "
            "true class, or it is not.",
            kind="chain",
            focus="f",
        ),
        Step(
            "Case k ≠ yᵢ",
            aligned(
                [
                    r"\frac{\partial L_i}{\partial f_k} &= -\frac{\sum_j e^{f_j}}{e^{f_{y_i}}} \cdot \frac{0 \cdot \sum_j e^{f_j} - e^{f_{y_i}} e^{f_k}}{\left(\sum_j e^{f_j}\right)^2}",
                    r"&= +\frac{e^{f_{y_i}} e^{f_k}}{e^{f_{y_i}} \sum_j e^{f_j}} = \boxed{+p_k}",
                ]
            ),
            "The two minus signs cancel: every wrong class's score should fall, in proportion to "
            "the probability it took.",
            kind="result",
            focus="f",
        ),
        Step(
            "Common mistake (note 003)",
            t.gathered(
                [
                    r"-\frac{1}{e^{f_{y_i}} \sum_j e^{f_j}}\left(\cancel{e^{f_k} e^{f_{y_i}}}\right) = \cancel{-p_k}",
                    r"\quad\to\quad -\frac{1}{e^{f_{y_i}} \sum_j e^{f_j}}\left(-e^{f_k} e^{f_{y_i}}\right) = +p_k",
                ]
            ),
            "Note 003 drops the minus sign of −exp(f_y)·exp(f_k) from the quotient rule's numerator "
            "and boxes −pₖ. Check: the gradients must sum to 0 over k (Σpₖ − 1 = 0), which −pₖ "
            "breaks.",
            kind="mistake",
            focus="f",
        ),
    ]


def _ce_true_case(yl: int) -> Step:
    return Step(
        f"Case k = yᵢ (k = {yl})",
        aligned(
            [
                r"\frac{\partial L_i}{\partial f_k} &= -\frac{\sum_j e^{f_j}}{e^{f_k}} \cdot \frac{e^{f_k} \sum_j e^{f_j} - e^{f_k} e^{f_k}}{\left(\sum_j e^{f_j}\right)^2}",
                r"&= -\frac{\sum_j e^{f_j} - e^{f_k}}{\sum_j e^{f_j}} = -(1 - p_k) = \boxed{p_k - 1}",
            ]
        ),
        "The true class's score should rise: its gradient pₖ − 1 is negative.",
        kind="result",
        focus="f",
    )


def softmax_ce_lesson(m: Math, t: Typeset) -> list[Step]:
    c, target = m.params["num_classes"], m.params["target"]
    yl = target + 1
    ok_all = all(ok for label, ok in m.checks if label.startswith("dL/df_"))
    p_minus = sp.Matrix(1, c, lambda _, k: sp.Symbol(f"p_{{{k + 1}}}") - (1 if k == target else 0))
    quotient, wrong, mistake = _ce_cases(t)
    return [
        Step(
            "Setup",
            t.gathered(
                [
                    r"p_k = \frac{e^{f_k}}{\sum_j e^{f_j}},",
                    r"\qquad L_i = -\log p_{y_i},",
                    rf"\qquad f = {t.bmatrix(m.inputs['f'])},\ y_i = {yl}",
                ]
            ),
            f"{c} class scores fₖ become probabilities pₖ; the loss is −log of the probability of "
            f"the true class yᵢ = {yl} (classes counted from 1 here, as in the formulas; PyTorch's "
            f"target index is {target}, counted from 0).",
            kind="setup",
            focus="f",
        ),
        quotient,
        _ce_true_case(yl),
        wrong,
        mistake,
        Step(
            "Pattern: ∂L/∂f = p − onehot(y)",
            t.gathered(
                [
                    r"\frac{\partial L_i}{\partial f} = p - \mathrm{onehot}(y_i)",
                    "= " + t.bmatrix(p_minus) + check_mark(ok_all),
                ]
            ),
            "sympy differentiated Lᵢ by every fₖ and checked it equals pₖ − [k = yᵢ]. In a batch "
            "of N, L is the mean of the Lᵢ, so each row is also divided by N (the upstream "
            "∂L/∂Lᵢ = 1/N).",
            kind="pattern",
            focus="f",
            proven=ok_all,
        ),
        all_grads_step(m, t, "f"),
    ]
