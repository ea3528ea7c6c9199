"""The maths of max and average pooling, single channel, any window, stride and padding. The
lessons are written from these values in ``lessons/pool.py``."""

from __future__ import annotations

import sympy as sp

from mathtext.functions import FirstMax

from .algebra import correlate, dilate, jacobian_from_terms, outputs_from_terms, pad
from .derivation import assemble
from .facts import PoolFacts
from .params import MAX_POOL_PADDING, MAX_WINDOW, as_pair, as_shape, axis_pairs, check_work
from .symbols import Scope
from .typeset import article

# the labels of the patterns proven here, by which the lessons look them up
AVG_POOL_DX = "dX = spread(dZ)/(kH kW)"


def _geometry(op, input_shape, kernel_size, stride, padding):
    h, w = as_shape(op, "input_shape", input_shape)
    k = as_pair(op, "kernel_size", kernel_size, 1, MAX_WINDOW)
    s = k if stride is None else as_pair(op, "stride", stride, 1, MAX_WINDOW)
    p = as_pair(op, "padding", padding, 0, MAX_POOL_PADDING)
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
    out = ((h + 2 * p[0] - k[0]) // s[0] + 1, (w + 2 * p[1] - k[1]) // s[1] + 1)
    # one partial derivative for every (window, cell of it) pair
    cells = axis_pairs(out[0], k[0], s[0], p[0], 1, h) * axis_pairs(out[1], k[1], s[1], p[1], 1, w)
    what = f"{out[0]}×{out[1]} windows of {k[0]}×{k[1]} over {article(h)} {h}×{w} input"
    return (h, w), k, s, p, out, check_work(op, cells, what)


def pool_work(op: str, input_shape=(2, 2), kernel_size=2, stride=None, padding=0) -> int:
    """The partial derivatives a pooling's maths would build; ValueError as it would raise."""
    return _geometry(op, input_shape, kernel_size, stride, padding)[-1]


def windows(hw, k, s, p, out) -> dict:
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


def _max_jacobian(X, Z, wins) -> tuple[dict, dict]:
    """∂z/∂x as FirstMax indicators, and their LaTeX '[x is the max of z]'."""
    jac: dict[str, dict] = {"X": {}}
    tex: dict = {}
    xs = X.tolist()
    for o, cells in wins.items():
        window = sp.Tuple(*[xs[r][c] for r, c in cells])
        for q, cell in enumerate(cells):
            # NOTE: ties go to the first maximum in row-major window order, as in PyTorch
            partial = FirstMax.of(q, window) if len(cells) > 1 else sp.S.One
            jac["X"].setdefault(cell, {})[o] = partial
            if len(cells) > 1:
                tex[("X", cell, o)] = (
                    rf"\left[{sp.latex(X[cell])} \text{{ is the max of }} {sp.latex(Z[o])}\right]"
                )
    return jac, tex


def max_pool2d_math(input_shape=(2, 2), kernel_size=2, stride=None, padding=0, *, scope=None):
    op = "max_pool2d"
    hw, k, s, p, out, _ = _geometry(op, input_shape, kernel_size, stride, padding)
    scope = scope or Scope()
    X = scope.matrix("x", hw)
    wins = windows(hw, k, s, p, out)
    output = sp.Matrix(
        out[0], out[1], lambda i, j: sp.Max(*[X[c] for c in wins[(i, j)]], evaluate=False)
    )
    jac, tex = _max_jacobian(X, scope.matrix("z", out), wins)
    params = dict(input_shape=hw, kernel_size=k, stride=s, padding=p)
    m = assemble(op, params, {"X": X}, output, jac, out_name="Z", out_letter="z", scope=scope)
    m.partial_tex = tex
    m.pool = PoolFacts(out, wins)
    return m


def avg_pool2d_math(input_shape=(2, 2), kernel_size=2, stride=None, padding=0, *, scope=None):
    op = "avg_pool2d"
    hw, k, s, p, out, _ = _geometry(op, input_shape, kernel_size, stride, padding)
    scope = scope or Scope()
    inputs = {"X": scope.matrix("x", hw)}
    share = sp.Rational(1, k[0] * k[1])
    wins = windows(hw, k, s, p, out)
    # padding zeros count in the mean (PyTorch's count_include_pad=True): always 1/(kH·kW)
    terms = {o: [(share, [("X", c)]) for c in cells] for o, cells in wins.items()}
    params = dict(input_shape=hw, kernel_size=k, stride=s, padding=p)
    m = assemble(
        op,
        params,
        inputs,
        outputs_from_terms(out, inputs, terms),
        jacobian_from_terms(inputs, terms),
        out_name="Z",
        out_letter="z",
        scope=scope,
    )
    m.pool, m.terms = PoolFacts(out, wins), terms
    # independent construction: a transposed convolution with the constant kernel 1/(kH·kW)
    ones = sp.Matrix(k[0], k[1], lambda i, j: share)
    eh = (hw[0] + 2 * p[0] - k[0]) % s[0]
    ew = (hw[1] + 2 * p[1] - k[1]) % s[1]
    gp = pad(dilate(m.upstream, s), k[0] - 1, k[0] - 1 + eh, k[1] - 1, k[1] - 1 + ew)
    m.prove(
        AVG_POOL_DX,
        m.grads["X"],
        pad(correlate(gp, ones), -p[0], -p[0], -p[1], -p[1]),
        grad="X",
        operands={"pad(dZ)": gp, "1/(kH kW)": ones},
    )
    return m
