"""The max- and average-pooling lessons, written from their Math (``derivations/pool.py``)."""

from __future__ import annotations

import sympy as sp

from ..derivation import Math, Step
from ..facts import PoolFacts, need
from ..pool import AVG_POOL_DX
from ..typeset import Typeset, article, check_mark, tex
from .common import (
    all_grads_step,
    chain_rule_step,
    expansion_parts,
    forward_step,
    longest,
    sums,
)


def _pool(m: Math) -> PoolFacts:
    return need(m.pool, m.op, "pool")


def _setup(m: Math, t: Typeset, name: str, what: str) -> Step:
    pr, out = m.params, _pool(m).out
    hw, k, s, p = pr["input_shape"], pr["kernel_size"], pr["stride"], pr["padding"]
    extras = f", stride {s[0]}×{s[1]}" + (f", padding {p[0]}×{p[1]}" if any(p) else "")
    return Step(
        "Setup",
        t.gathered(
            [
                rf"\mathrm{{{name}}}_{{{k[0]}\times{k[1]}}}\left({t.bmatrix(m.inputs['X'])}\right)",
                f"= {t.bmatrix(m.out_symbols)}",
            ],
            [
                rf"H_{{out}} = \left\lfloor \frac{{{hw[0]} + 2\cdot{p[0]} - {k[0]}}}{{{s[0]}}} \right\rfloor + 1 = {out[0]},",
                rf"\quad W_{{out}} = \left\lfloor \frac{{{hw[1]} + 2\cdot{p[1]} - {k[1]}}}{{{s[1]}}} \right\rfloor + 1 = {out[1]}",
            ],
        ),
        f"{article(k[0]).capitalize()} {k[0]}×{k[1]} window{extras} slides over the {hw[0]}×{hw[1]} input; {what}",
        kind="setup",
        focus="Z",
    )


def _is_notes_example(m: Math) -> bool:
    pr = m.params
    return pr["input_shape"] == (2, 2) and pr["kernel_size"] == (2, 2) and not any(pr["padding"])


def _window_max(m: Math, t: Typeset, o) -> list[str]:
    """max(x₁₁, x₁₂, …) in the window's own order (sympy would sort x_{1,10} before x_{1,8}),
    broken onto lines, a window row a line where they fit: a 6×6 window's 36 cells do not fit
    one."""
    cells = _pool(m).windows[o]
    names = [tex(m.inputs["X"][c]) for c in cells]
    return t.call_lines(r"\max", names, rows=len({r for r, _ in cells}))


def _max_rule() -> Step:
    return Step(
        "The derivative of a maximum",
        r"\frac{\partial}{\partial x_{mn}} \max(x_{1}, \dots, x_{n}) = "
        r"\begin{cases} 1 & \text{if } x_{mn} \text{ is the maximum} \\ 0 & \text{otherwise} \end{cases}",
        "Nudging the winning cell moves the maximum by the same amount; nudging any other cell "
        "changes nothing. On a tie, PyTorch (and this app) gives the whole gradient to the first "
        "maximum in row-major order.",
        kind="note",
        focus="X",
    )


def _max_example(m: Math, t: Typeset) -> Step:
    ex = m.evaluate({"X": [[1, 2], [3, 4]]}, [[2]])["X"]
    return Step(
        "The notes' example",
        rf"\max{t.bmatrix(sp.Matrix([[1, 2], [3, 4]]))} = 4, \quad \frac{{\partial L}}{{\partial Z}} = [2]"
        rf"\;\Rightarrow\; \frac{{\partial L}}{{\partial X}} = {t.bmatrix(sp.Matrix(ex.astype(int).tolist()))}",
        "4 won, so it takes the whole upstream gradient 2; the other cells get 0.",
        kind="result",
        focus="X",
    )


def max_pool2d_lesson(m: Math, t: Typeset) -> list[Step]:
    padded = any(m.params["padding"])
    jac = m.jac["X"]
    first = next(iter(sorted(jac, key=lambda c: (-len(jac[c]), c))))
    steps = [
        _setup(
            m,
            t,
            "maxpool",
            "each output keeps the largest value of its window."
            + (" Padding cells count as −∞, so they never win." if padded else ""),
        ),
        forward_step(
            m,
            t,
            lambda o: _window_max(m, t, o),
            "Each output is the maximum of its window.",
            busiest=longest(_pool(m).windows),
        ),
        _max_rule(),
        chain_rule_step(m, t, "X", first),
        all_grads_step(
            m,
            t,
            "X",
            text="Each bracket [x is the max of z] is 1 when that cell is its window's "
            "(first) maximum: the gradient is routed to the arg-max.",
        ),
        Step(
            "Pattern: the gradient is routed to the arg-max",
            r"\frac{\partial L}{\partial x_{mn}} = \sum_{(i,j)\,:\,x_{mn} = \operatorname{argmax} \text{ of window } (i,j)} "
            r"\frac{\partial L}{\partial z_{ij}}",
            "Every window passes its upstream gradient, unchanged, to the one cell that won; every "
            "other cell gets 0. The rule depends on the numbers (which cell won), so it is checked "
            "numerically on the verification panel rather than proven symbolically.",
            kind="pattern",
            focus="X",
        ),
    ]
    if _is_notes_example(m):
        steps.append(_max_example(m, t))
    return steps


def _avg_notes(m: Math, t: Typeset) -> list[Step]:
    ex = m.evaluate({"X": [[1, 2], [3, 4]]}, [[2]])["X"]
    return [
        Step(
            "The notes' example",
            rf"\operatorname{{avg}}{t.bmatrix(sp.Matrix([[1, 2], [3, 4]]))} = 2.5, \quad \frac{{\partial L}}{{\partial Z}} = [2]"
            rf"\;\Rightarrow\; \frac{{\partial L}}{{\partial X}} = {t.bmatrix(sp.Matrix(ex.tolist()))}",
            "Each of the four cells gets 1/4 of 2.",
            kind="result",
            focus="X",
        ),
        Step(
            "Common mistake (note 003)",
            r"\frac{\partial L}{\partial C^{[1]}_{mn}} = \frac{1}{4}\,\frac{\partial L}{\partial P^{\cancel{[2]}\,[1]}_{xy}},"
            r"\quad x = \left\lceil m/2 \right\rceil,\; y = \left\lceil n/2 \right\rceil \;\;(\text{1-based})",
            "Note 003 writes P^[2] where the pooled output of C^[1] is P^[1], and indexes with a "
            "0-based floor(m/2) while everything else is 1-based: with 1-based m, cell m sits in "
            "window ⌈m/2⌉.",
            kind="mistake",
            focus="X",
        ),
    ]


def avg_pool2d_lesson(m: Math, t: Typeset) -> list[Step]:
    k, s = m.params["kernel_size"], m.params["stride"]
    n = k[0] * k[1]
    jac = m.jac["X"]
    busiest = max(jac, key=lambda c: (len(jac[c]), -c[0], -c[1]))
    pat = m.patterns[AVG_POOL_DX]
    steps = [
        _setup(
            m,
            t,
            "avgpool",
            (
                f"each output is the mean of its {n} cells"
                if n > 1
                else "each output is its one cell"
            )
            + (" (padding zeros count, as in PyTorch)." if any(m.params["padding"]) else "."),
        ),
        forward_step(
            m,
            t,
            lambda o: expansion_parts(m.inputs, sums(m)[o]),
            f"Each output weighs every cell of its window by 1/{n}."
            if n > 1
            else "A 1×1 window averages a single cell: each output is that cell.",
            busiest=longest(sums(m)),
        ),
        chain_rule_step(m, t, "X", busiest),
        all_grads_step(m, t, "X"),
        Step(
            "Pattern: each window spreads its gradient evenly",
            rf"\frac{{\partial L}}{{\partial x_{{mn}}}} = \frac{{1}}{{{n}}} \sum_{{(i,j)\,:\,x_{{mn}} \in \text{{window}}(i,j)}} "
            rf"\frac{{\partial L}}{{\partial z_{{ij}}}}{check_mark(pat.ok)}",
            (f"Each cell gets 1/{n} of" if n > 1 else "Each cell gets all of")
            + " the upstream gradient of every window it belongs to"
            + (
                " (windows do not overlap here, so at most one)"
                if s[0] >= k[0] and s[1] >= k[1]
                else ""
            )
            + ". This is a transposed convolution of ∂L/∂Z with a constant kernel; sympy checked it.",
            kind="pattern",
            focus="X",
            proven=pat.ok,
        ),
    ]
    if _is_notes_example(m):
        steps += _avg_notes(m, t)
    return steps
