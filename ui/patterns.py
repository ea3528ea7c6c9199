"""A proven pattern with the learner's numbers: its operands evaluated (a lambdify of the
Pattern's operand matrices, built once per derivation), and, for one result cell at a time, the
window of each operand it reads and its sum written out with numbers. Pure: no streamlit.

Three kinds of pattern, told apart by the op and the gradient:

- ``correlate``: result[i, j] = Σ A[i·s + m·d + c, j·s + n·d + c] · B[m, n] (the notes' ⊛:
  convolutions, transposed convolutions, average pooling's spread), with the stride s, dilation
  d and crop c each pattern uses;
- ``matmul``: result[i, j] = Σ A[i, k] · B[k, j] (the dense layer);
- ``cells``: element-wise and broadcasting patterns, whose cell is its chain-rule sum.

Every correlate and matmul pattern is rebuilt from its operands and compared with the gradient
the derivation gives (``tests/test_ui_state.py``); where they would disagree the page shows the
operands without a window (``check``) rather than a wrong sum.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from derivations.typeset import num
from mathtext.functions import NUMERIC
from mathtext.numeric import evaluate_many
from ui import links
from ui.registry import OPS
from ui.specs import Geometry


def geometry(d, pattern) -> Geometry:
    """How one result cell of ``pattern`` is computed from its two operands (the op's registry
    entry says, by the gradient the pattern is about; "cells" where it does not)."""
    spec = OPS.get(d.op)
    table = spec.geometry(d.params) if spec is not None and spec.geometry is not None else {}
    return table.get(pattern.grad, Geometry("cells"))


def for_step(d, steps, i: int) -> list:
    """The patterns step ``i`` shows: those of its gradient (or, on the output, the forward
    pattern); the last pattern step also takes any pattern no step is about (binary ops prove
    ∂J/∂N's pattern on the step about ∂J/∂M)."""
    step = steps[i]
    if step.kind != "pattern":
        return []
    out = [
        p
        for p in d.patterns.values()
        if p.grad == step.focus or (p.grad is None and step.focus == d.out_name)
    ]
    shown = {s.focus for s in steps if s.kind == "pattern"}
    last = max(j for j, s in enumerate(steps) if s.kind == "pattern")
    if i == last:
        out += [p for p in d.patterns.values() if p.grad is not None and p.grad not in shown]
    return out


def compile_matrices(d, mats):
    """A function (values, upstream) → ``mats`` as arrays, for matrices whose entries are
    expressions in the derivation's input and upstream symbols: one lambdify, built once (the
    page caches it per derivation). Symbols are renamed to plain identifiers first (x_{11} is
    not one)."""
    args = [s for m in d.inputs.values() for s in m] + list(d.upstream)
    # names a lesson shows in place of expressions (attention's ∂L/∂s₁₁) → what they stand for
    defs = d.defs
    mats = [m.xreplace(defs) if defs else m for m in mats]
    if d.staged is not None:  # batch norm's μ, σ, x̂ computed once (see derivations.norm.Shared)
        fn = d.staged.lambdify(args, mats)
    elif d.walk:  # shared subexpressions: one walk, no generated code (Math)
        fn = _walked(args, mats)
    else:
        plain = {s: sp.Symbol(f"v{i}") for i, s in enumerate(args)}
        fn = sp.lambdify([plain[s] for s in args], [m.xreplace(plain) for m in mats], NUMERIC)

    def evaluate(values: dict, upstream) -> list[np.ndarray]:
        values = d.stable_values(values)  # softmax's scores less their max: no e^710 overflow
        flat = [v for n in d.inputs for v in np.asarray(values[n], float).ravel()]
        flat += list(np.asarray(upstream, float).ravel())
        res = fn(*flat)
        return [
            np.broadcast_to(np.asarray(r, dtype=float), m.shape).reshape(m.shape)
            for r, m in zip(res, mats, strict=True)
        ]

    return evaluate


def _walked(args, mats):
    def run(*values):
        flat = evaluate_many([e for m in mats for e in m], dict(zip(args, values, strict=True)))
        out, k = [], 0
        for m in mats:
            out.append(np.array(flat[k : k + len(m)]).reshape(m.shape))
            k += len(m)
        return out

    return run


def compile_operands(d, pattern):
    """The pattern's operands with numbers put in: see :func:`compile_matrices`."""
    return compile_matrices(d, list(pattern.operands.values()))


def operand_title(d, name: str, m) -> str:
    """An operand's name as the page writes it: ∂L/∂Z for dZ, Xᵀ for X^T, pad(X) for an X that
    carries padding."""
    out = f"{d.out_name.replace('_i', 'ᵢ')}"
    t = name.replace("^T", "ᵀ")
    for short in ("dZ", "dY", "dy"):
        t = t.replace(short, f"∂{d.loss}/∂{out}")
    if name in d.inputs and m.shape != d.inputs[name].shape:
        t = f"pad({t})"
    return t


def operand_labels(d, m) -> list[list[str]]:
    """Each entry's name for hovering: x₂₂, ∂L/∂z₁₁, or 0 (padding) and constants."""
    ups = {s: idx for idx in np.ndindex(*d.upstream.shape) for s in [d.upstream[idx]]}
    named = d.labels  # a lesson's own names (attention's p₁₂ = 0 (masked))

    def label(e) -> str:
        if e in named:
            return named[e]
        if e in d.symbol_index:
            return links.cell_label(d, *d.symbol_index[e])
        if e in ups:
            return links.cell_label(d, "up", ups[e])
        return "0 (padding)" if e == 0 else str(e)

    return [[label(m[r, c]) for c in range(m.cols)] for r in range(m.rows)]


def window(geo: Geometry, shapes, idx) -> list[list[tuple[int, int]]]:
    """The cells of each operand that result cell ``idx`` reads, paired in order: entry k of
    the first list multiplies entry k of the second."""
    i, j = idx
    (ha, wa), (hb, wb) = shapes
    if geo.kind == "matmul":
        return [[(i, k) for k in range(wa)], [(k, j) for k in range(hb)]]
    s, dl, c = geo.stride, geo.dilation, geo.crop
    b = [(m, n) for m in range(hb) for n in range(wb)]
    a = [((i + c[0]) * s[0] + m * dl[0], (j + c[1]) * s[1] + n * dl[1]) for m, n in b]
    return [a, b]


def rebuilt(geo: Geometry, operands, shape, bias: float = 0.0) -> np.ndarray:
    """The whole result rebuilt from the operands cell by cell (the check behind the view)."""
    a, b = operands
    out = np.zeros(shape)
    for idx in np.ndindex(*shape):
        wa, wb = window(geo, (a.shape, b.shape), idx)
        out[idx] = sum(a[p] * b[q] for p, q in zip(wa, wb, strict=True)) + bias
    return out


def check(geo: Geometry, operands, result, bias: float = 0.0) -> bool:
    """Whether the window view reproduces the result the page shows (else it is not drawn)."""
    if geo.kind == "cells" or len(operands) != 2:
        return False
    try:
        again = rebuilt(geo, operands, np.shape(result), bias)
    except IndexError:
        return False
    scale = max(1.0, float(np.max(np.abs(result), initial=0.0)))
    return bool(np.allclose(again, result, rtol=1e-9, atol=1e-9 * scale))


def sum_parts(d, pattern, geo: Geometry, operands, idx) -> tuple[list[str], list[str]]:
    """Result cell ``idx`` as its sum: the operands' entries (symbols, 0 for padding) and the
    same with numbers, one product per pair of window cells."""
    mats = list(pattern.operands.values())
    wa, wb = window(geo, (operands[0].shape, operands[1].shape), idx)
    sym, nums = [], []
    for p, q in zip(wa, wb, strict=True):
        sym.append(rf"{_tex(mats[0][p])} \cdot {_tex(mats[1][q])}")
        nums.append(rf"({num(operands[0][p])}) \cdot ({num(operands[1][q])})")
    return sym, nums


def _tex(e) -> str:
    t = sp.latex(e)
    return f"\\left({t}\\right)" if isinstance(e, sp.Add) else t


def used_cells(d, pattern, result_expr, idx) -> list[list[tuple[int, int]]]:
    """For a ``cells`` pattern: the cells of each operand whose symbols appear in result cell
    ``idx``; an operand of the result's shape (a broadcast N repeats its symbol) gives just the
    cell at ``idx``."""
    syms = result_expr.free_symbols
    shape = d.grads[pattern.grad].shape
    out = []
    for m in pattern.operands.values():
        cells = [
            (r, c) for r in range(m.rows) for c in range(m.cols) if m[r, c].free_symbols & syms
        ]
        if m.shape == shape and tuple(idx) in cells:
            cells = [tuple(idx)]
        out.append(cells)
    return out
