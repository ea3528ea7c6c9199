"""The dense layer Z = XW + b (one sample per row, W ∈ ℝ^{in×out}) and softmax + cross-entropy."""

from __future__ import annotations

import sympy as sp

from .core import (
    MAX_SIDE,
    Step,
    aligned,
    all_grads_step,
    assemble,
    bmatrix,
    chain_rule_step,
    check_mark,
    expansion_parts,
    forward_step,
    gathered,
    jacobian_from_terms,
    outputs_from_terms,
    plural,
    prove,
    symbol_matrix,
)


def _count(op, name, v, lo=1, hi=MAX_SIDE):
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise ValueError(f"{op}: {name} must be a whole number from {lo} to {hi}; you gave {v!r}.")
    return v


def derive_linear(batch=2, in_features=3, out_features=2):
    op = "linear"
    n = _count(op, "batch", batch)
    i_ = _count(op, "in_features", in_features)
    o_ = _count(op, "out_features", out_features)
    X, W = symbol_matrix("x", (n, i_)), symbol_matrix("w", (i_, o_))
    B = symbol_matrix("b", (1, o_), vector=True)
    inputs = {"X": X, "W": W, "b": B}
    terms = {
        (r, c): [(1, [("X", (r, k)), ("W", (k, c))]) for k in range(i_)] + [(1, [("b", (0, c))])]
        for r in range(n)
        for c in range(o_)
    }
    jac = jacobian_from_terms(inputs, terms)
    output = outputs_from_terms((n, o_), inputs, terms)
    d = assemble(
        op,
        dict(batch=n, in_features=i_, out_features=o_),
        inputs,
        output,
        jac,
        out_name="Z",
        out_letter="z",
        loss="L",
    )
    G = d.upstream
    d.steps.append(
        Step(
            "Setup",
            gathered(
                [
                    rf"\underbrace{{{bmatrix(X)}}}_{{X:\ {n}\times{i_}}}",
                    rf"\underbrace{{{bmatrix(W)}}}_{{W:\ {i_}\times{o_}}}",
                    rf"+ \underbrace{{{bmatrix(B)}}}_{{b:\ {o_}}}",
                    rf"= \underbrace{{{bmatrix(d.out_symbols)}}}_{{Z:\ {n}\times{o_}}}",
                ]
            ),
            f"A batch of {plural(n, 'sample')}, one per row, each with {plural(i_, 'feature')}, "
            f"goes through a dense layer with {plural(o_, 'output')}. b is added to every row "
            "(broadcast).",
            kind="setup",
            focus="Z",
        )
    )
    d.steps.append(
        forward_step(
            d,
            lambda o: expansion_parts(inputs, terms[o]),
            "zₙⱼ is row n of X dotted with column j of W, plus bⱼ.",
        )
    )
    d.steps.append(chain_rule_step(d, "W", (0, 0)))
    ok_w = prove(d, "dW = X^T dZ", d.grads["W"], X.T * G)
    ok_x = prove(d, "dX = dZ W^T", d.grads["X"], G * W.T)
    ok_b = prove(d, "db = column sums of dZ", d.grads["b"], sp.ones(1, n) * G)
    d.steps.append(
        Step(
            "Pattern: ∂L/∂W = Xᵀ · ∂L/∂Z",
            rf"\underbrace{{\frac{{\partial L}}{{\partial W}}}}_{{{i_}\times{o_}}} = \underbrace{{X^\top}}_{{{i_}\times{n}}}"
            rf"\;\underbrace{{\frac{{\partial L}}{{\partial Z}}}}_{{{n}\times{o_}}}{check_mark(ok_w)}",
            "w_kj meets x_nk in every sample's z_nj: summing over the batch is the matrix product. "
            "The shapes fix the order: only Xᵀ·dZ gives W's shape.",
            kind="pattern",
            focus="W",
            proven=ok_w,
        )
    )
    d.steps.append(chain_rule_step(d, "X", (0, 0)))
    d.steps.append(
        Step(
            "Pattern: ∂L/∂X = ∂L/∂Z · Wᵀ",
            rf"\underbrace{{\frac{{\partial L}}{{\partial X}}}}_{{{n}\times{i_}}} = \underbrace{{\frac{{\partial L}}{{\partial Z}}}}_{{{n}\times{o_}}}"
            rf"\;\underbrace{{W^\top}}_{{{o_}\times{i_}}}{check_mark(ok_x)}",
            "x_nk fed every output of its own sample through row k of W.",
            kind="pattern",
            focus="X",
            proven=ok_x,
        )
    )
    d.steps.append(chain_rule_step(d, "b", (0, 0)))
    d.steps.append(
        Step(
            "Pattern: ∂L/∂b = column sums of ∂L/∂Z",
            rf"\underbrace{{\frac{{\partial L}}{{\partial b}}}}_{{1\times{o_}}} = \underbrace{{\mathbf{{1}}^\top}}_{{1\times{n}}}"
            rf"\;\underbrace{{\frac{{\partial L}}{{\partial Z}}}}_{{{n}\times{o_}}}{check_mark(ok_b)}",
            "bⱼ was broadcast to every row, so its gradient sums column j over the batch (total derivative).",
            kind="pattern",
            focus="b",
            proven=ok_b,
        )
    )
    d.steps.append(
        Step(
            "Common mistake (note 002)",
            r"\frac{\partial L}{\partial W} \ne \frac{\partial L}{\partial Z}\, X^\top \quad("
            + f"{n}\\times{o_}"
            + r"\cdot"
            + f"{i_}\\times{n}"
            + r"\text{ does not even multiply})",
            "Note 002 muddles the shape of ∂R/∂W ('n×m, but m×n for subtraction'). One rule settles it: "
            "the gradient has the shape of the parameter, and every product's inner sizes must match.",
            kind="mistake",
            focus="W",
        )
    )
    return d


def derive_softmax_cross_entropy(num_classes=3, target=0):
    op = "softmax_cross_entropy"
    c = _count(op, "num_classes", num_classes, 2, 10)
    if not isinstance(target, int) or isinstance(target, bool) or not 0 <= target < c:
        raise ValueError(
            f"{op}: target must be a class index from 0 to {c - 1} (0-based); you gave {target!r}."
        )
    F = symbol_matrix("f", (1, c), vector=True)
    inputs = {"f": F}
    S = sp.Add(*[sp.exp(F[0, j]) for j in range(c)])
    y = F[0, target]
    loss = -sp.log(sp.exp(y) / S)
    output = sp.Matrix([[loss]])
    jac = {"f": {}}
    for k in range(c):
        p_k = sp.exp(F[0, k]) / S
        jac["f"][(0, k)] = {(0, 0): p_k - (1 if k == target else 0)}
    d = assemble(
        op,
        dict(num_classes=c, target=target),
        inputs,
        output,
        jac,
        out_name="L_i",
        out_letter="L",
        loss="L",
    )
    # the simplified partials above are what the lesson claims; prove each against sympy.diff
    ok_all = True
    for k in range(c):
        raw = sp.diff(loss, F[0, k])
        ok = sp.simplify(raw - jac["f"][(0, k)][(0, 0)]) == 0
        d.checks.append((f"dL/df_{k + 1}", ok))
        ok_all &= ok
    yl = target + 1
    d.steps.append(
        Step(
            "Setup",
            gathered(
                [
                    r"p_k = \frac{e^{f_k}}{\sum_j e^{f_j}},",
                    r"\qquad L_i = -\log p_{y_i},",
                    rf"\qquad f = {bmatrix(F)},\ y_i = {yl}",
                ]
            ),
            f"{c} class scores fₖ become probabilities pₖ; the loss is −log of the probability of "
            f"the true class yᵢ = {yl} (index {target} counting from 0).",
            kind="setup",
            focus="f",
        )
    )
    d.steps.append(
        Step(
            "Quotient rule",
            r"\frac{\partial L_i}{\partial f_k} = -\frac{\sum_j e^{f_j}}{e^{f_{y_i}}}\cdot"
            r"\frac{\partial}{\partial f_k}\frac{e^{f_{y_i}}}{\sum_j e^{f_j}}",
            "d(−log u) = −u′/u; u is a quotient, so the quotient rule gives u′. Two cases: k is the "
            "true class, or it is not.",
            kind="chain",
            focus="f",
        )
    )
    d.steps.append(
        Step(
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
    )
    d.steps.append(
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
        )
    )
    d.steps.append(
        Step(
            "Common mistake (note 003)",
            gathered(
                [
                    r"-\frac{1}{e^{f_{y_i}} \sum_j e^{f_j}}\left(\cancel{e^{f_k} e^{f_{y_i}}}\right) = \cancel{-p_k}",
                    r"\quad\to\quad -\frac{1}{e^{f_{y_i}} \sum_j e^{f_j}}\left(-e^{f_k} e^{f_{y_i}}\right) = +p_k",
                ]
            ),
            "Note 003 drops the minus sign of −e^(f_y)·e^(f_k) from the quotient rule's numerator and boxes "
            "−pₖ. Check: the gradients must sum to 0 over k (Σpₖ − 1 = 0), which −pₖ breaks.",
            kind="mistake",
            focus="f",
        )
    )
    onehot = sp.Matrix(1, c, lambda _, k: 1 if k == target else 0)
    pvec = sp.Matrix(1, c, lambda _, k: sp.exp(F[0, k]) / S)
    g = d.upstream[0, 0]
    d.steps.append(
        Step(
            "Pattern: ∂L/∂f = p − onehot(y)",
            gathered(
                [
                    r"\frac{\partial L_i}{\partial f} = p - \mathrm{onehot}(y_i)",
                    "= "
                    + bmatrix(
                        sp.Matrix(
                            1,
                            c,
                            lambda _, k: sp.Symbol(f"p_{{{k + 1}}}") - (1 if k == target else 0),
                        )
                    )
                    + check_mark(ok_all),
                ]
            ),
            "sympy differentiated Lᵢ by every fₖ and checked it equals pₖ − [k = yᵢ]. In a batch "
            "of N, L is the mean of the Lᵢ, so each row is also divided by N (the upstream ∂L/∂Lᵢ = 1/N).",
            kind="pattern",
            focus="f",
            proven=ok_all,
        )
    )
    d.checks.append(
        (
            "dL/df = (p - onehot) * upstream",
            all(
                sp.simplify(a - g * (pk - oh)) == 0
                for a, pk, oh in zip(d.grads["f"], pvec, onehot, strict=True)
            ),
        )
    )
    d.steps.append(all_grads_step(d, "f"))
    return d
