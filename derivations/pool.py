"""Max and average pooling, single channel, any window, stride and padding."""

from __future__ import annotations

import sympy as sp

from .core import (
    FirstMax,
    Step,
    all_grads_step,
    as_pair,
    as_shape,
    assemble,
    bmatrix,
    chain_rule_step,
    check_mark,
    correlate,
    dilate,
    expansion_parts,
    forward_step,
    gathered,
    index_label,
    jacobian_from_terms,
    outputs_from_terms,
    pad,
    plural,
    prove,
    symbol_matrix,
)


def _geometry(op, input_shape, kernel_size, stride, padding):
    h, w = as_shape(op, "input_shape", input_shape)
    k = as_pair(op, "kernel_size", kernel_size, 1)
    s = k if stride is None else as_pair(op, "stride", stride, 1)
    p = as_pair(op, "padding", padding, 0)
    if 2 * p[0] > k[0] or 2 * p[1] > k[1]:
        raise ValueError(
            f"{op}: padding {p[0]}×{p[1]} is more than half the {k[0]}×{k[1]} window, "
            "so a window could lie entirely in the padding. Use less padding."
        )
    if k[0] > h + 2 * p[0] or k[1] > w + 2 * p[1]:
        raise ValueError(
            f"{op}: the {k[0]}×{k[1]} window is larger than the padded "
            f"{h + 2 * p[0]}×{w + 2 * p[1]} input. Use a smaller window or more padding."
        )
    ho = (h + 2 * p[0] - k[0]) // s[0] + 1
    wo = (w + 2 * p[1] - k[1]) // s[1] + 1
    return (h, w), k, s, p, (ho, wo)


def _windows(hw, k, s, p, out):
    """Output index → the input cells of its window (row-major), padding cells left out."""
    res = {}
    for i in range(out[0]):
        for j in range(out[1]):
            cells = []
            for m in range(k[0]):
                for n in range(k[1]):
                    r, c = i * s[0] + m - p[0], j * s[1] + n - p[1]
                    if 0 <= r < hw[0] and 0 <= c < hw[1]:
                        cells.append((r, c))
            res[(i, j)] = cells
    return res


def _setup(d, hw, k, s, p, out, name, what):
    extras = f", stride {s[0]}×{s[1]}" + (f", padding {p[0]}×{p[1]}" if any(p) else "")
    return Step(
        "Setup",
        gathered(
            [
                rf"\mathrm{{{name}}}_{{{k[0]}\times{k[1]}}}\left({bmatrix(d.inputs['X'])}\right)",
                f"= {bmatrix(d.out_symbols)}",
            ],
            [
                rf"H_{{out}} = \left\lfloor \frac{{{hw[0]} + 2\cdot{p[0]} - {k[0]}}}{{{s[0]}}} \right\rfloor + 1 = {out[0]},",
                rf"\quad W_{{out}} = \left\lfloor \frac{{{hw[1]} + 2\cdot{p[1]} - {k[1]}}}{{{s[1]}}} \right\rfloor + 1 = {out[1]}",
            ],
        ),
        f"A {k[0]}×{k[1]} window{extras} slides over the {hw[0]}×{hw[1]} input; {what}",
        kind="setup",
        focus="Z",
    )


def derive_max_pool2d(input_shape=(2, 2), kernel_size=2, stride=None, padding=0):
    op = "max_pool2d"
    hw, k, s, p, out = _geometry(op, input_shape, kernel_size, stride, padding)
    X = symbol_matrix("x", hw)
    inputs = {"X": X}
    wins = _windows(hw, k, s, p, out)
    output = sp.Matrix(
        out[0], out[1], lambda i, j: sp.Max(*[X[c] for c in wins[(i, j)]], evaluate=False)
    )
    jac = {"X": {}}
    wins_tex = {}
    for o, cells in wins.items():
        for q, cell in enumerate(cells):
            # NOTE: ties go to the first maximum in row-major window order, as in PyTorch
            partial = FirstMax(q, *[X[c] for c in cells]) if len(cells) > 1 else sp.S.One
            jac["X"].setdefault(cell, {})[o] = partial
            if len(cells) > 1:
                wins_tex[(cell, o)] = (
                    rf"\left[{sp.latex(X[cell])} \text{{ is the max of }} z_{{{index_label(*o, out)}}}\right]"
                )
    params = dict(input_shape=hw, kernel_size=k, stride=s, padding=p)
    d = assemble(op, params, inputs, output, jac, out_name="Z", out_letter="z", loss="L")
    d.partial_tex = {("X", cell, o): tex for (cell, o), tex in wins_tex.items()}
    d.steps.append(
        _setup(
            d,
            hw,
            k,
            s,
            p,
            out,
            "maxpool",
            "each output keeps the largest value of its window."
            + (" Padding cells count as −∞, so they never win." if any(p) else ""),
        )
    )
    d.steps.append(
        forward_step(d, lambda o: sp.latex(output[o]), "Each output is the maximum of its window.")
    )
    d.steps.append(
        Step(
            "The derivative of a maximum",
            r"\frac{\partial}{\partial x_{mn}} \max(x_{1}, \dots, x_{n}) = "
            r"\begin{cases} 1 & \text{if } x_{mn} \text{ is the maximum} \\ 0 & \text{otherwise} \end{cases}",
            "Nudging the winning cell moves the maximum by the same amount; nudging any other cell "
            "changes nothing. On a tie, PyTorch (and this app) gives the whole gradient to the first "
            "maximum in row-major order.",
            kind="note",
            focus="X",
        )
    )
    first = next(iter(sorted(jac["X"], key=lambda c: (-len(jac["X"][c]), c))))
    d.steps.append(chain_rule_step(d, "X", first))
    d.steps.append(
        all_grads_step(
            d,
            "X",
            text="Each bracket [x is the max of z] is 1 when that cell is its window's "
            "(first) maximum: the gradient is routed to the arg-max.",
        )
    )
    d.steps.append(
        Step(
            "Pattern: the gradient is routed to the arg-max",
            r"\frac{\partial L}{\partial x_{mn}} = \sum_{(i,j)\,:\,x_{mn} = \operatorname{argmax} \text{ of window } (i,j)} "
            r"\frac{\partial L}{\partial z_{ij}}",
            "Every window passes its upstream gradient, unchanged, to the one cell that won; every "
            "other cell gets 0. The rule depends on the numbers (which cell won), so it is checked "
            "numerically on the verification panel rather than proven symbolically.",
            kind="pattern",
            focus="X",
        )
    )
    if hw == (2, 2) and k == (2, 2) and not any(p):
        ex = d.evaluate({"X": [[1, 2], [3, 4]]}, [[2]])["X"]
        d.steps.append(
            Step(
                "The notes' example",
                rf"\max{bmatrix(sp.Matrix([[1, 2], [3, 4]]))} = 4, \quad \frac{{\partial L}}{{\partial Z}} = [2]"
                rf"\;\Rightarrow\; \frac{{\partial L}}{{\partial X}} = {bmatrix(sp.Matrix(ex.astype(int).tolist()))}",
                "4 won, so it takes the whole upstream gradient 2; the other cells get 0.",
                kind="result",
                focus="X",
            )
        )
    return d


def derive_avg_pool2d(input_shape=(2, 2), kernel_size=2, stride=None, padding=0):
    op = "avg_pool2d"
    hw, k, s, p, out = _geometry(op, input_shape, kernel_size, stride, padding)
    X = symbol_matrix("x", hw)
    inputs = {"X": X}
    share = sp.Rational(1, k[0] * k[1])
    wins = _windows(hw, k, s, p, out)
    # padding zeros count in the mean (PyTorch's count_include_pad=True): always 1/(kH·kW)
    terms = {o: [(share, [("X", c)]) for c in cells] for o, cells in wins.items()}
    jac = jacobian_from_terms(inputs, terms)
    output = outputs_from_terms(out, inputs, terms)
    params = dict(input_shape=hw, kernel_size=k, stride=s, padding=p)
    d = assemble(op, params, inputs, output, jac, out_name="Z", out_letter="z", loss="L")
    G = d.upstream
    d.steps.append(
        _setup(
            d,
            hw,
            k,
            s,
            p,
            out,
            "avgpool",
            f"each output is the mean of its {plural(k[0] * k[1], 'cell')}"
            + (" (padding zeros count, as in PyTorch)." if any(p) else "."),
        )
    )
    d.steps.append(
        forward_step(
            d,
            lambda o: expansion_parts(inputs, terms[o]),
            f"Each output weighs every cell of its window by 1/{k[0] * k[1]}.",
        )
    )
    busiest = max(jac["X"], key=lambda c: (len(jac["X"][c]), -c[0], -c[1]))
    d.steps.append(chain_rule_step(d, "X", busiest))
    d.steps.append(all_grads_step(d, "X"))
    # independent construction: a transposed convolution with the constant kernel 1/(kH·kW)
    ones = sp.Matrix(k[0], k[1], lambda i, j: share)
    eh = (hw[0] + 2 * p[0] - k[0]) % s[0]
    ew = (hw[1] + 2 * p[1] - k[1]) % s[1]
    gp = pad(dilate(G, s), k[0] - 1, k[0] - 1 + eh, k[1] - 1, k[1] - 1 + ew)
    dx = pad(correlate(gp, ones), -p[0], -p[0], -p[1], -p[1])
    ok = prove(d, "dX = spread(dZ)/(kH kW)", d.grads["X"], dx)
    d.steps.append(
        Step(
            "Pattern: each window spreads its gradient evenly",
            rf"\frac{{\partial L}}{{\partial x_{{mn}}}} = \frac{{1}}{{{k[0] * k[1]}}} \sum_{{(i,j)\,:\,x_{{mn}} \in \text{{window}}(i,j)}} "
            rf"\frac{{\partial L}}{{\partial z_{{ij}}}}{check_mark(ok)}",
            f"Each cell gets 1/{k[0] * k[1]} of the upstream gradient of every window it belongs to"
            + (" (windows do not overlap here, so at most one)" if s == k else "")
            + ". This is a transposed convolution of ∂L/∂Z with a constant kernel; sympy checked it.",
            kind="pattern",
            focus="X",
            proven=ok,
        )
    )
    if hw == (2, 2) and k == (2, 2) and not any(p):
        ex = d.evaluate({"X": [[1, 2], [3, 4]]}, [[2]])["X"]
        d.steps.append(
            Step(
                "The notes' example",
                rf"\operatorname{{avg}}{bmatrix(sp.Matrix([[1, 2], [3, 4]]))} = 2.5, \quad \frac{{\partial L}}{{\partial Z}} = [2]"
                rf"\;\Rightarrow\; \frac{{\partial L}}{{\partial X}} = {bmatrix(sp.Matrix(ex.tolist()))}",
                "Each of the four cells gets 1/4 of 2.",
                kind="result",
                focus="X",
            )
        )
        d.steps.append(
            Step(
                "Common mistake (note 003)",
                r"\frac{\partial L}{\partial C^{[1]}_{mn}} = \frac{1}{4}\,\frac{\partial L}{\partial P^{\cancel{[2]}\,[1]}_{xy}},"
                r"\quad x = \left\lceil m/2 \right\rceil,\; y = \left\lceil n/2 \right\rceil \;\;(\text{1-based})",
                "Note 003 writes P^[2] where the pooled output of C^[1] is P^[1], and indexes with a 0-based "
                "floor(m/2) while everything else is 1-based: with 1-based m, cell m sits in window ⌈m/2⌉.",
                kind="mistake",
                focus="X",
            )
        )
    return d
