"""Element-wise unary and binary ops and the sum/mean reductions (note 004's notation:
Y = f(X), dM = ∂J/∂M has M's shape)."""

from __future__ import annotations

import sympy as sp

from .core import (
    Step,
    aligned,
    all_grads_step,
    as_shape,
    assemble,
    bmatrix,
    chain_rule_step,
    check_mark,
    gathered,
    jacobian_from_terms,
    outputs_from_terms,
    prove,
    symbol_matrix,
    times,
)

_t = sp.Symbol("t")
_y = sp.Symbol("y")

# name → (f(t), f' written the way note 004 writes it, in terms of y = f(t) and t, its LaTeX,
#         what to say)
UNARY = {
    "exp": (sp.exp(_t), _y, r"Y", "The exponential is its own derivative, so dX = dY ⊙ Y."),
    "log": (
        sp.log(_t),
        1 / _t,
        r"\frac{1}{X}",
        "d/dx ln x = 1/x, so dX = dY ⊙ 1/X (defined for x > 0).",
    ),
    "sigmoid": (
        1 / (1 + sp.exp(-_t)),
        _y * (1 - _y),
        r"Y \odot (1 - Y)",
        "σ′ = σ(1 − σ): the derivative needs only the forward output Y, which backprop keeps.",
    ),
    "tanh": (
        sp.tanh(_t),
        (1 + _y) * (1 - _y),
        r"(1 + Y) \odot (1 - Y)",
        "tanh′ = 1 − tanh² = (1 + Y)(1 − Y), again in terms of the output Y.",
    ),
    "relu": (
        sp.Max(0, _t),
        None,
        r"[X > 0]",
        "ReLU passes the gradient where the input was positive and blocks it elsewhere.",
    ),
}


# f' as plain text, for the step titles
FPRIME_TEXT = {
    "exp": "Y",
    "log": "1/X",
    "sigmoid": "Y ⊙ (1 − Y)",
    "tanh": "(1 + Y) ⊙ (1 − Y)",
    "relu": "[X > 0]",
}


def derive_unary(op: str, shape=(2, 2)):
    if op not in UNARY:
        raise ValueError(f"unknown element-wise op {op!r}; choose one of {sorted(UNARY)}")
    shape = as_shape(op, "shape", shape)
    f, fprime_y, fprime_tex, why = UNARY[op]
    X = symbol_matrix("x", shape)
    inputs = {"X": X}
    output = X.applyfunc(lambda x: f.subs(_t, x))
    jac = {"X": {}}
    fprime_t = sp.diff(f, _t)  # once, then renamed per entry: 256 diffs cost a second
    for r in range(shape[0]):
        for c in range(shape[1]):
            x = X[r, c]
            if op == "relu":
                # NOTE: ReLU'(0) = 0, as in PyTorch and note 003 (note 004 writes [x >= 0])
                partial = sp.Piecewise((1, x > 0), (0, True))
            else:
                partial = fprime_t.xreplace({_t: x})
            jac["X"][(r, c)] = {(r, c): partial}
    d = assemble(op, {"shape": shape}, inputs, output, jac, out_name="Y", out_letter="y", loss="J")
    if op == "relu":
        d.partial_tex = {("X", i, i): rf"[{sp.latex(X[i])} > 0]" for i in jac["X"]}
    name_tex = {
        "relu": r"\mathrm{ReLU}",
        "sigmoid": r"\sigma",
        "tanh": r"\tanh",
        "exp": r"\exp",
        "log": r"\log",
    }[op]
    d.steps.append(
        Step(
            "Setup",
            gathered(
                [rf"Y = {name_tex}(X), \quad {bmatrix(d.out_symbols)}", f"= {bmatrix(output)}"]
            ),
            f"{op} acts on every entry on its own: yᵢⱼ depends on xᵢⱼ alone. dM means ∂J/∂M and "
            "has M's shape (note 004).",
            kind="setup",
            focus="Y",
        )
    )
    d.steps.append(chain_rule_step(d, "X", (0, 0)))
    d.steps.append(
        all_grads_step(d, "X", text="Every entry's Jacobian is diagonal: one term each.")
    )
    if fprime_y is not None:
        # the scalar identity f'(t) = f'_notes(f(t)) proves the pattern entry by entry
        ok = sp.simplify(sp.diff(f, _t) - fprime_y.subs(_y, f)) == 0
        d.checks.append((f"{op}' = {fprime_tex}", ok))
        gen = rf"\frac{{d}}{{dt}} {name_tex}(t) = {sp.latex(sp.diff(f, _t))} = {sp.latex(fprime_y.subs(_y, sp.Symbol('y')))}\big|_{{y = {name_tex}(t)}}"
    else:
        ok = True  # ReLU's rule is its definition; the convention at 0 is stated
        d.checks.append(("relu' = [x > 0]", ok))
        gen = r"\frac{d}{dt}\max(0, t) = \begin{cases} 1 & t > 0 \\ 0 & t \le 0 \end{cases}"
    d.steps.append(
        Step(
            f"Pattern: dX = dY ⊙ {FPRIME_TEXT[op]}",
            aligned(
                [gen.replace(" = ", " &= ", 1), rf"dX &= dY \odot {fprime_tex}{check_mark(ok)}"]
            ),
            why
            + (
                " At exactly 0 the gradient is 0, as in PyTorch (note 004 writes [X ≥ 0])."
                if op == "relu"
                else ""
            ),
            kind="pattern",
            focus="X",
            proven=ok,
        )
    )
    if op == "relu":
        d.steps.append(
            Step(
                "Common mistake: the gradient at 0",
                r"[X \ge 0] \;(\text{note 004}) \quad \text{vs} \quad [X > 0] \;(\text{note 003, PyTorch})",
                "ReLU has no derivative at 0, so any value in [0, 1] is a valid choice. The notes disagree "
                "with each other; this app uses PyTorch's 0 everywhere so its numbers match.",
                kind="mistake",
                focus="X",
            )
        )
    return d


BROADCAST = ("none", "row", "column", "scalar")


def _n_shape(shape, broadcast):
    return {"none": shape, "row": (1, shape[1]), "column": (shape[0], 1), "scalar": (1, 1)}[
        broadcast
    ]


def derive_binary(op: str, shape=(2, 2), broadcast="none"):
    ops = {"add": "+", "sub": "-", "mul": r"\odot", "div": r"\oslash"}
    if op not in ops:
        raise ValueError(f"unknown binary op {op!r}; choose one of {sorted(ops)}")
    if broadcast not in BROADCAST:
        raise ValueError(
            f"{op}: broadcast must be one of {', '.join(BROADCAST)}; you gave {broadcast!r}."
        )
    shape = as_shape(op, "shape", shape)
    ns = _n_shape(shape, broadcast)
    M = symbol_matrix("m", shape)
    N = symbol_matrix("n", ns)
    inputs = {"M": M, "N": N}

    def nidx(r, c):
        return (r if ns[0] > 1 else 0, c if ns[1] > 1 else 0)

    outs = [(r, c) for r in range(shape[0]) for c in range(shape[1])]
    if op == "div":
        output = sp.Matrix(*shape, lambda r, c: M[r, c] / N[nidx(r, c)])
        jac = {"M": {}, "N": {}}
        for o in outs:
            n = N[nidx(*o)]
            jac["M"][o] = {o: sp.diff(output[o], M[o])}
            jac["N"].setdefault(nidx(*o), {})[o] = sp.diff(output[o], n)
    else:
        coef_n = -1 if op == "sub" else 1
        terms = {
            o: (
                [(1, [("M", o), ("N", nidx(*o))])]
                if op == "mul"
                else [(1, [("M", o)]), (coef_n, [("N", nidx(*o))])]
            )
            for o in outs
        }
        jac = jacobian_from_terms(inputs, terms)
        output = outputs_from_terms(shape, inputs, terms)
    d = assemble(
        op,
        {"shape": shape, "broadcast": broadcast},
        inputs,
        output,
        jac,
        out_name="Y",
        out_letter="y",
        loss="J",
    )
    G = d.upstream
    bnote = {
        "none": "M and N have the same shape.",
        "row": "N is one row, broadcast down every row of M.",
        "column": "N is one column, broadcast across every column of M.",
        "scalar": "N is a single number, broadcast to every entry of M.",
    }[broadcast]
    d.steps.append(
        Step(
            "Setup",
            gathered(
                [rf"Y = M {ops[op]} N, \quad {bmatrix(d.out_symbols)}", f"= {bmatrix(output)}"]
            ),
            f"{bnote} Each yᵢⱼ combines mᵢⱼ with the N entry broadcast to it.",
            kind="setup",
            focus="Y",
        )
    )
    d.steps.append(chain_rule_step(d, "M", (0, 0)))
    d.steps.append(chain_rule_step(d, "N", (0, 0)))
    if broadcast != "none":
        d.steps.append(
            all_grads_step(
                d,
                "N",
                text="A broadcast entry feeds several outputs, and "
                "the total derivative adds every path: its gradient is a sum.",
            )
        )
    # the patterns, built with matrix operations and checked against the chain-rule sums
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
    ok_m = prove(d, "dM pattern", d.grads["M"], dm)
    ok_n = prove(d, "dN pattern", d.grads["N"], dn)
    tex = {
        "add": (r"dY", r"dY"),
        "sub": (r"dY", r"-dY"),
        "mul": (r"dY \odot N", r"dY \odot M"),
        "div": (r"dY \oslash N", r"-dY \odot M \oslash N^{2}"),
    }[op]
    red = {
        "none": "",
        "row": r"\sum_{\text{rows}}",
        "column": r"\sum_{\text{cols}}",
        "scalar": r"\sum_{i,j}",
    }[broadcast]
    d.steps.append(
        Step(
            "Pattern",
            aligned(
                [
                    rf"dM &= {tex[0]}{check_mark(ok_m)}",
                    rf"dN &= {red} {'(' if red else ''}{tex[1]}{')' if red else ''}{check_mark(ok_n)}",
                ]
            ),
            "Each gradient has the shape of its input"
            + (
                "; the broadcast N collects the sum over the entries it was copied to."
                if red
                else "."
            )
            + " sympy checked both against the chain-rule sums.",
            kind="pattern",
            focus="M",
            proven=ok_m and ok_n,
        )
    )
    return d


def derive_reduction(op: str, shape=(2, 2)):
    if op not in ("sum", "mean"):
        raise ValueError(f"unknown reduction {op!r}; choose sum or mean")
    shape = as_shape(op, "shape", shape)
    X = symbol_matrix("x", shape)
    inputs = {"X": X}
    coef = sp.S.One if op == "sum" else sp.Rational(1, shape[0] * shape[1])
    terms = {(0, 0): [(coef, [("X", (r, c))]) for r in range(shape[0]) for c in range(shape[1])]}
    jac = jacobian_from_terms(inputs, terms)
    output = outputs_from_terms((1, 1), inputs, terms)
    d = assemble(op, {"shape": shape}, inputs, output, jac, out_name="y", out_letter="y", loss="J")
    g = d.upstream[0, 0]
    a, b = shape
    front = "" if op == "sum" else r"\frac{1}{\alpha\beta}"
    d.steps.append(
        Step(
            "Setup",
            rf"y = {front}\sum_{{r=1}}^{{\alpha}} \sum_{{c=1}}^{{\beta}} x_{{rc}} = {sp.latex(output[0, 0])}"
            rf"\qquad \alpha = {a},\ \beta = {b}",
            f"The {op} of all {a * b} entries of X: one number."
            if a * b > 1
            else f"The {op} of X's single entry: the entry itself.",
            kind="setup",
            focus="y",
        )
    )
    d.steps.append(chain_rule_step(d, "X", (0, 0)))
    pattern = sp.Matrix(a, b, lambda r, c: times(coef, g))
    ok = prove(d, f"d{op}", d.grads["X"], pattern)
    share = "" if op == "sum" else rf"\frac{{1}}{{{a * b}}}"
    d.steps.append(
        Step(
            "Pattern",
            rf"dX = {sp.latex(g)} \cdot {share}"
            rf"\begin{{bmatrix}} 1 & \cdots & 1 \\ \vdots & \ddots & \vdots \\ 1 & \cdots & 1 \end{{bmatrix}}{check_mark(ok)}",
            (
                "Every entry adds to the sum with weight 1, so each gets the upstream gradient unchanged."
                if op == "sum"
                else f"Every entry counts 1/(αβ) = 1/{a * b} toward the mean, so each gets that share of the upstream gradient."
            ),
            kind="pattern",
            focus="X",
            proven=ok,
        )
    )
    return d
