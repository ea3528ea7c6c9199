"""The tiny CNN's lesson, written from its Math (``derivations/network.py``) and the single-op
Maths it is composed of: the forward pass, then note 003's conv → ReLU → pool followed
backwards, and one kernel weight end to end. One letter per thing: Z the conv output,
R = ReLU(Z), M the pooled map (note 003's P), v = flatten(M), f the class scores,
p = softmax(f)."""

from __future__ import annotations

import sympy as sp

from ..conv import CONV_DK, CONV_DX
from ..dense import DENSE_DW, DENSE_DX
from ..derivation import Math, Step
from ..facts import CnnFacts, need
from ..product import times
from ..typeset import Typeset, aligned, article, check_mark, ordered_sum, plural
from .common import all_grads_step, expansion_parts, forward_step, sums
from .network import VT, WT, _d, _u


def _cnn(m: Math) -> CnnFacts:
    return need(m.cnn, m.op, "cnn")


def _cnn_shapes(m: Math):
    pr = m.params
    return pr["input_shape"], pr["kernel_shape"], _cnn(m).conv_out, _cnn(m).pooled


def _cnn_setup(m: Math, t: Typeset) -> Step:
    hw, k, out, pooled = _cnn_shapes(m)
    p, c, y = m.params["pool"], m.params["classes"], m.params["target"]
    flat = pooled[0] * pooled[1]
    lines = [
        rf"{_u('Z', *out)} &= {_u('X', *hw)} \circledast {_u('K', *k)} + b",
        r"R &= \mathrm{ReLU}(Z)",
        rf"{_u('M', *pooled)} &= \mathrm{{maxpool}}_{{{p[0]}\times{p[1]}}}(R)",
        rf"{_u('v', 1, flat)} &= \mathrm{{flatten}}(M)",
        rf"{_u('f', 1, c)} &= {_u('v', 1, flat)}\,{_u('W', flat, c)} + {_u('c', 1, c)}",
        r"p &= \mathrm{softmax}(f), \quad L = -\log p_{y}",
    ]
    return Step(
        "Setup: conv → ReLU → max pool → dense → softmax",
        aligned(lines),
        f"One channel, stride 1, no padding; {article(p[0])} {p[0]}×{p[1]} max pool with stride "
        f"{p[0]}×{p[1]}; the pooled map flattened row by row into {plural(flat, 'feature')}; "
        f"a dense layer to {c} class scores; the true class is y = {y + 1} (PyTorch's index "
        f"{y}). One letter per thing: Z the conv output, R = ReLU(Z), M the max-pooled map (note "
        "003 calls it P), v its entries in one row, f the class scores, p their probabilities. "
        "Layer 1's symbols carry ⁽¹⁾, the dense layer's ⁽²⁾.",
        kind="setup",
        focus="X",
    )


def _cnn_forward(m: Math, t: Typeset) -> list[Step]:
    ops = _cnn(m).ops
    conv = ops["conv"]
    first = forward_step(
        conv,
        t,
        lambda o: expansion_parts(conv.inputs, sums(conv)[o]),
        "The convolution, as in the Conv2D lesson: each output is a window of X times K, plus b.",
    )
    pool, dense = ops["pool"], ops["dense"]
    rest = [
        rf"{sp.latex(ops['relu'].out_symbols[0, 0])} &= \max\left(0, {sp.latex(conv.out_symbols[0, 0])}\right), \;\dots",
        rf"{sp.latex(pool.out_symbols[0, 0])} &= {sp.latex(pool.output[0, 0])}, \;\dots",
        rf"{sp.latex(dense.out_symbols[0, 0])} &= " + _dense_sum(ops, 0),
    ]
    second = Step(
        "Forward: ReLU, pool, flatten, dense",
        aligned(rest),
        "ReLU keeps the positive entries, the pool keeps each window's largest, flattening "
        "reads M row by row, and the dense layer turns those features into class scores.",
        kind="forward",
        focus="W",
    )
    return [first, second]


def _dense_sum(ops: dict, c: int) -> str:
    """Class score c as the pooled features (read row by row) times W's column c, plus c_c."""
    feats, dense = list(ops["flatten"].output), ops["dense"]
    W, bias = dense.inputs["W"], dense.inputs["c"]
    parts = [times(1, [f, W[q, c]]) for q, f in enumerate(feats[:3])]
    more = [r"\dots"] if len(feats) > 3 else []
    return ordered_sum([*parts, *more, sp.latex(bias[0, c])])


def _cnn_dense_step(m: Math, t: Typeset) -> Step:
    ops = _cnn(m).ops
    dense, ce = ops["dense"], ops["ce"]
    flat, c = dense.params["in_features"], dense.params["out_features"]
    ok = dense.patterns[DENSE_DW].ok and dense.patterns[DENSE_DX].ok
    ok_ce = all(v for label, v in ce.checks if label.startswith("dL/df"))
    lines = [
        rf"{_u(_d('f'), 1, c)} &= p - \mathrm{{onehot}}(y)" + check_mark(ok_ce),
        rf"{_u(_d('W'), flat, c)} &= {_u(VT, flat, 1)}\;{_u(_d('f'), 1, c)}, \quad "
        + _d("c")
        + " = "
        + _d("f"),
        rf"{_u(_d('v'), 1, flat)} &= {_u(_d('f'), 1, c)}\;{_u(WT, c, flat)}" + check_mark(ok),
        _d("M") + r" &= \mathrm{unflatten}\left(" + _d("v") + r"\right)",
    ]
    return Step(
        "Backward through the dense layer",
        aligned(lines),
        "The scores' gradient is p − onehot(y) (softmax lesson); the dense layer gives its "
        "weights an outer product and passes ∂L/∂v = ∂L/∂f·Wᵀ back, which is laid out in M's "
        "shape again: note 003's ∂L/∂P.",
        kind="pattern",
        focus="W",
        proven=ok and ok_ce,
    )


def _cnn_pool_relu(m: Math, t: Typeset) -> list[Step]:
    ops = _cnn(m).ops
    pool = all_grads_step(
        ops["pool"],
        t,
        "X",
        title="Through max pool: the gradient is routed",
        text="Each window sends its ∂L/∂m to the one cell of R that won it, and 0 to the "
        "others: the routing the Pooling lesson derives.",
    )
    relu = all_grads_step(
        ops["relu"],
        t,
        "X",
        title="Through ReLU: the mask",
        text="ReLU passes the gradient where z was positive and blocks it elsewhere (0 at "
        "exactly 0, as in PyTorch).",
    )
    return [pool, relu]


def _cnn_conv_step(m: Math, t: Typeset) -> Step:
    conv = _cnn(m).ops["conv"]
    pk, px = conv.patterns[CONV_DK], conv.patterns[CONV_DX]
    ok = pk.ok and px.ok and dict(conv.checks)["db = sum(dZ)"]
    return Step(
        "Back into the convolution",
        t.gathered(
            _d("K")
            + r" = X \circledast "
            + _d("Z")
            + r", \quad "
            + _d("b")
            + r" = \sum "
            + _d("Z"),
            _d("X")
            + r" = \mathrm{pad}\left("
            + _d("Z")
            + r"\right) \circledast \mathrm{rot180}(K)"
            + check_mark(ok),
        ),
        "From here on it is the Conv2D lesson, with ∂L/∂Z from the ReLU mask as its upstream: "
        "note 003's “∂L/∂P → ∂L/∂X of the earlier calculation”.",
        kind="pattern",
        focus="K",
        proven=ok,
    )


def _kernel_end_to_end(m: Math, t: Typeset) -> Step:
    """∂L/∂k₁₁ written out through conv, ReLU mask, pool routing and the dense layer."""
    ops = _cnn(m).ops
    conv, pool = ops["conv"], ops["pool"]
    X, p = conv.inputs["X"], m.params["pool"]
    _, _, out, pooled = _cnn_shapes(m)
    terms = []
    for i in range(out[0]):
        for j in range(out[1]):
            u, w = i // p[0], j // p[1]
            z, r = sp.latex(conv.out_symbols[i, j]), sp.latex(ops["relu"].out_symbols[i, j])
            pz = sp.latex(pool.out_symbols[u, w])
            terms.append(rf"{sp.latex(X[i, j])}\,[{z} > 0]\,[{r} \text{{ wins }} {pz}]\," + _d(pz))
    lines = t.sum_lines(terms[:12]) + ([r"&\quad + \dots"] if len(terms) > 12 else [])
    lines[0] = _d("k^{(1)}_{11}") + " " + lines[0]
    c = m.params["classes"]
    lines.append(
        _d("m^{(1)}_{uv}")
        + r" &= \sum_{j=1}^{"
        + str(c)
        + r"} w^{(2)}_{qj}\left(p_{j} - [j = y]\right)"
    )
    lines.append(r"&\quad q = \text{the row-major position of } (u, v) \text{ in } M")
    return Step(
        "One kernel weight, end to end",
        aligned(lines),
        f"k₁₁ multiplies the top-left cell of every window, so it meets all {len(terms)} conv "
        "outputs. Each term survives only if that output was positive (the ReLU mask) and won "
        "its pool window (the routing); it then carries the dense layer's gradient for that "
        "feature.",
        kind="result",
        focus="K",
    )


def cnn_lesson(m: Math, t: Typeset) -> list[Step]:
    return [
        _cnn_setup(m, t),
        *_cnn_forward(m, t),
        _cnn_dense_step(m, t),
        *_cnn_pool_relu(m, t),
        _cnn_conv_step(m, t),
        _kernel_end_to_end(m, t),
    ]
