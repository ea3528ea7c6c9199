"""The MLP lesson, written from its Math (``derivations/network.py``) and the single-op Maths it
is composed of: the forward pass layer by layer, then the backward pass as note 002 writes it,
numerator layout, every factor's shape under it, and the whole chain as one product. The tiny
CNN's lesson (``.cnn``) shares the notation helpers here."""

from __future__ import annotations

from dataclasses import replace

import sympy as sp

from ..dense import DENSE_DW
from ..derivation import Math, Step
from ..facts import MlpFacts, need
from ..network import WHOLE_CHAIN
from ..product import times
from ..typeset import Typeset, aligned, article, check_mark, ordered_sum, plural

XT, VT, WT, ONES = r"X^\top", r"v^\top", r"W^\top", r"\mathbf{1}^\top"
ACT_TEX = {"sigmoid": r"\sigma", "tanh": r"\tanh", "relu": r"\mathrm{ReLU}"}


def _mlp(m: Math) -> MlpFacts:
    return need(m.mlp, m.op, "mlp")


def _m(letter: str, ell: int) -> str:
    """Layer ℓ's matrix: Z^{(ℓ)}, A^{(ℓ)}; A^{(0)} is the input X."""
    return "X" if (letter == "A" and ell == 0) else f"{letter}^{{({ell})}}"


def _d(tex: str) -> str:
    return rf"\frac{{\partial L}}{{\partial {tex}}}"


def _u(tex: str, rows, cols) -> str:
    return rf"\underbrace{{{tex}}}_{{{rows} \times {cols}}}"


def _t(tex: str) -> str:
    """The transpose of a (possibly superscripted) name: {W^{(2)}}^⊤, never W^{(2)}^⊤."""
    return f"{{{tex}}}^\\top"


_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _l(ell: int) -> str:
    """⁽²⁾: a layer number in plain text."""
    return f"⁽{str(ell).translate(_SUP)}⁾"


def _sizes(m: Math) -> tuple[int, ...]:
    return m.params["layer_sizes"]


def _mlp_setup(m: Math, t: Typeset) -> Step:
    n, depth, act = _sizes(m), len(_sizes(m)) - 1, ACT_TEX[m.params["activation"]]
    lines = []
    for ell in range(1, depth + 1):
        prod = rf"{_u(_m('A', ell - 1), 1, n[ell - 1])}\,{_u(_m('W', ell), n[ell - 1], n[ell])}"
        lines.append(rf"{_u(_m('Z', ell), 1, n[ell])} &= {prod} + {_u(_m('b', ell), 1, n[ell])}")
        if ell < depth:
            lines.append(rf"{_m('A', ell)} &= {act}\left({_m('Z', ell)}\right)")
    lines.append(rf"p &= \mathrm{{softmax}}\left({_m('Z', depth)}\right), \quad L = -\log p_{{y}}")
    y = m.params["target"]
    return Step(
        "Setup: the network",
        aligned(lines),
        f"{depth} dense layers, sizes {' → '.join(map(str, n))}, with "
        f"{m.params['activation']} after every hidden layer and softmax + cross-entropy at the "
        f"end. One sample per row (Z = A·W + b, W with a row per input and a column per output); the true class is y = {y + 1} "
        f"(PyTorch's target index {y}). Each layer's symbols carry its number: w⁽²⁾₁₂ is row 1, "
        "column 2 of W⁽²⁾.",
        kind="setup",
        focus="X",
    )


def _mlp_forward(m: Math, t: Typeset) -> Step:
    n, layers = _sizes(m), _mlp(m).layers
    lines: list[str] = []
    prev = list(m.inputs["X"])
    for ell, (lin, act) in enumerate(layers, 1):
        W, b = m.inputs[f"W{ell}"], m.inputs[f"b{ell}"]
        z = act.inputs["X"] if act is not None else lin.out_symbols
        for j in range(n[ell]):
            parts = [times(1, [prev[k], W[k, j]]) for k in range(n[ell - 1])]
            chunks = t.wrap([*parts, sp.latex(b[0, j])], t.width - 6)
            lines.append(f"{sp.latex(z[0, j])} &= {ordered_sum(chunks[0])}")
            lines += [r"&\quad + " + ordered_sum(c) for c in chunks[1:]]
        if act is not None:
            sig = ACT_TEX[m.params["activation"]]
            acts = [
                rf"{sp.latex(act.out_symbols[0, j])} = {sig}\left({sp.latex(z[0, j])}\right)"
                for j in range(n[ell])
            ]
            lines += ["&" + r",\quad ".join(c) for c in t.wrap(acts, t.width - 4)]
            prev = list(act.out_symbols)
    return Step(
        "Forward, layer by layer",
        aligned(lines),
        "Each layer multiplies the previous layer's activations by its weights and adds its "
        "bias; the hidden layers then apply the activation entry by entry. These are the "
        "values backprop keeps for the way back.",
        kind="forward",
        focus="X",
    )


def _mlp_loss_step(m: Math, t: Typeset) -> Step:
    ce, depth = _mlp(m).ce, len(_sizes(m)) - 1
    ok = all(c for label, c in ce.checks if label.startswith("dL/df"))
    c, y = ce.params["num_classes"], ce.params["target"]
    row = sp.Matrix(1, c, lambda _, k: sp.Symbol(f"p_{{{k + 1}}}") - (1 if k == y else 0))
    return Step(
        "Backward: the loss",
        t.gathered(
            rf"{_u(_d(_m('Z', depth)), 1, c)} = p - \mathrm{{onehot}}(y) = {t.bmatrix(row)}"
            + check_mark(ok)
        ),
        "Backprop starts at the loss with ∂L/∂L = 1. Through softmax + cross-entropy the "
        "gradient is p − onehot(y) (the softmax lesson derives it; sympy checked it here).",
        kind="chain",
        focus=f"W{depth}",
        proven=ok,
    )


def _diag_tex(m: Math, ell: int) -> str:
    """diag(σ′(z₁₁), σ′(z₁₂), …): the activation's Jacobian, written by its entries."""
    sig, z = ACT_TEX[m.params["activation"]], _mlp(m).activation(ell).inputs["X"]
    entries = [rf"{sig}'\left({sp.latex(v)}\right)" for v in list(z)[:2]]
    more = r", \dots" if len(z) > 2 else ""
    return rf"\mathrm{{diag}}\left({', '.join(entries)}{more}\right)"


def _layer_step(m: Math, t: Typeset, ell: int) -> Step:
    n = _sizes(m)
    act = _mlp(m).layers[ell - 1][1]
    wt = _u(_t(_m("W", ell)), n[ell], n[ell - 1])
    lhs = _u(_d(_m("A", ell - 1)), 1, n[ell - 1])
    prev, zl, wl = ("X" if ell == 1 else f"A{_l(ell - 1)}"), f"Z{_l(ell)}", f"W{_l(ell)}"
    if act is None:
        pat = m.patterns[f"layer {ell}: dA = dZ W^T"]
        tex = rf"{lhs} = {_u(_d(_m('Z', ell)), 1, n[ell])}\;{wt}{check_mark(pat.ok)}"
        why = (
            f"{zl} = {prev}·{wl} + b{_l(ell)}, so ∂Z/∂A is {wl}ᵀ in numerator layout: a "
            f"1×{n[ell]} row times {article(n[ell])} {n[ell]}×{n[ell - 1]} matrix gives the 1×{n[ell - 1]} row "
            f"of {prev}'s shape."
        )
    else:
        pat = m.patterns[f"layer {ell}: dA = dA diag(f'(Z)) W^T"]
        sig = ACT_TEX[m.params["activation"]]
        diag = _u(rf"\mathrm{{diag}}\left({sig}'({_m('Z', ell)})\right)", n[ell], n[ell])
        tex = t.gathered(
            [f"{lhs} =", rf"{_u(_d(_m('A', ell)), 1, n[ell])}\;{diag}\;{wt}{check_mark(pat.ok)}"],
            _diag_tex(m, ell),
        )
        why = (
            f"A{_l(ell)} = σ({zl}) acts entry by entry, so its Jacobian is diagonal "
            f"({n[ell]}×{n[ell]}, zero off the diagonal); then {zl}'s Jacobian with respect to "
            f"{prev} is {wl}ᵀ. The inner sizes match, and the result has {prev}'s shape."
        )
    return Step(
        f"Backward through layer {ell}: ∂L/∂{prev}",
        tex,
        why + " sympy multiplied the factors and checked them against the chain-rule sums.",
        kind="pattern",
        focus="X" if ell == 1 else f"W{ell}",
        proven=pat.ok,
    )


def _whole_chain_step(m: Math, t: Typeset) -> Step:
    """Note 002's single product, in this page's rows, every factor's shape under it; then the
    note's own columns, and how the two relate."""
    n, depth = _sizes(m), len(_sizes(m)) - 1
    sig = ACT_TEX[m.params["activation"]]
    pieces = [f"{_u(_d('X'), 1, n[0])} =", _u(_d(_m("Z", depth)), 1, n[depth])]
    for ell in range(depth, 0, -1):
        pieces.append(r"\cdot " + _u(_t(_m("W", ell)), n[ell], n[ell - 1]))
        if ell > 1:
            diag = rf"\mathrm{{diag}}\left({sig}'\left({_m('Z', ell - 1)}\right)\right)"
            pieces.append(r"\cdot " + _u(diag, n[ell - 1], n[ell - 1]))
    ok = m.patterns[WHOLE_CHAIN].ok
    pieces[-1] += check_mark(ok)
    note = [
        r"\text{note 002:}\quad \underbrace{\frac{\partial R}{\partial \vec y_1}}_{1 \times p} =",
        r"\underbrace{\frac{\partial R}{\partial \vec y_2}}_{1 \times m}",
        r"\cdot \underbrace{\mathrm{diag}\left(h'(\vec z_2)\right)}_{m \times m}",
        r"\cdot \underbrace{W_2}_{m \times n}",
        r"\cdot \underbrace{\mathrm{diag}\left(g'(\vec z_1)\right)}_{n \times n}",
        r"\cdot \underbrace{W_1}_{n \times p}",
    ]
    return Step(
        "The whole chain as one product (note 002)",
        t.gathered(pieces, note),
        "The layer-by-layer steps above, multiplied out in one line: each layer contributes its "
        "Wᵀ and, below the last, its diag of activation slopes; each inner size matches its "
        "neighbour's, and the row that comes out has X's shape. sympy checked this product "
        "against the chain-rule sums composed layer into layer. Note 002 writes columns: "
        "z = W·y with W of shape out × in, so its ∂z/∂y is W. Here a sample is a row, Z = A·W "
        "with W in × out, so the same Jacobian is Wᵀ: the note's W₂ is this page's W⁽²⁾ᵀ, and "
        "the factors come in the same order. Its chain starts at ∂R/∂y₂, after an output "
        "activation h; this network has softmax + cross-entropy after its last layer instead, "
        "so the chain starts at ∂L/∂Z with p − onehot(y).",
        kind="pattern",
        focus="X",
        proven=ok,
    )


def _weights_step(m: Math) -> Step:
    n, depth = _sizes(m), len(_sizes(m)) - 1
    lines = []
    for ell in range(depth, 0, -1):
        a_t = _u(_t(_m("A", ell - 1)), n[ell - 1], 1)
        dz = _u(_d(_m("Z", ell)), 1, n[ell])
        lines.append(rf"{_u(_d(_m('W', ell)), n[ell - 1], n[ell])} &= {a_t}\;{dz}")
        lines.append(rf"{_d(_m('b', ell))} &= {_d(_m('Z', ell))}")
    act = ACT_TEX[m.params["activation"]]
    if depth > 1:
        dz, da = _d(r"Z^{(\ell)}"), _d(r"A^{(\ell)}")
        lines.append(rf"{dz} &= {da} \odot {act}'\left(Z^{{(\ell)}}\right)")
    oks = [lin.patterns[DENSE_DW].ok for lin, _ in _mlp(m).layers]
    lines[0] += check_mark(all(oks))
    return Step(
        "Every weight: dW = Aᵀ·∂L/∂Z",
        aligned(lines),
        "Each layer's weight gradient is an outer product of what came in and what comes back, "
        "and it has W's shape, so W := W − α·dW subtracts like for like. Note 002 writes columns, "
        "y = W·x with W of shape out×in, and gets ∂R/∂W = ∂R/∂z·xᵀ (out×in); the rows here, "
        "Z = X·W with W in×out, are its transpose. One rule covers both: dW has W's shape.",
        kind="pattern",
        focus="W1",
        proven=all(oks),
    )


def _batch_step(m: Math) -> Step:
    b = _mlp(m).batch
    n0, n1 = b.params["in_features"], b.params["out_features"]
    ok = b.patterns[DENSE_DW].ok
    return Step(
        "A batch: N samples, one per row",
        aligned(
            [
                rf"{_u(_d('W'), n0, n1)} &= {_u(XT, n0, 'N')}\;{_u(_d('Z'), 'N', n1)}"
                + check_mark(ok),
                rf"{_u(_d('b'), 1, n1)} &= {_u(ONES, 1, 'N')}\;{_u(_d('Z'), 'N', n1)}",
                _d("Z^{(L)}") + r" &= \tfrac{1}{N}\left(P - \mathrm{onehot}(Y)\right)",
            ]
        ),
        "With a batch, X, Z and A become N-row matrices (N × K for the logits). The product "
        "Xᵀ·∂L/∂Z sums each sample's outer product, and the mean loss puts 1/N into ∂L/∂Z. "
        f"sympy checked dW = Xᵀ·∂L/∂Z for N = {b.params['batch']} here; the Dense lesson does "
        "it for any N.",
        kind="pattern",
        focus="W1",
        proven=ok,
    )


def _descent_step(m: Math) -> Step:
    depth = len(_sizes(m)) - 1
    lines = [
        rf"{_m('W', ell)} &:= {_m('W', ell)} - \alpha\,{_d(_m('W', ell))}, \quad "
        rf"{_m('b', ell)} := {_m('b', ell)} - \alpha\,{_d(_m('b', ell))}"
        for ell in range(1, depth + 1)
    ]
    return Step(
        "Gradient descent: every layer the same way",
        aligned(lines),
        "One step of training subtracts α times each gradient from its parameter (note 004). "
        "The shapes match by construction, which is the point of dW having W's shape. The MLP "
        "page does exactly this on a 2-D dataset, step by step or live.",
        kind="result",
    )


def _one_weight_step(m: Math, t: Typeset) -> Step:
    n, depth = _sizes(m), len(_sizes(m)) - 1
    act = ACT_TEX[m.params["activation"]]
    idx = "jklmn"
    # a piece a layer, flowed onto lines: four layers do not fit one
    pieces = [_d("w^{(1)}_{11}") + rf" = x^{{(1)}}_{{11}}\; {act}'\left(z^{{(1)}}_{{11}}\right)"]
    prev = "1"
    for ell in range(2, depth + 1):
        i = idx[ell - 2]
        pieces.append(rf"\sum_{{{i}}} w^{{({ell})}}_{{{prev}{i}}}")
        if ell < depth:
            pieces[-1] += rf"\, {act}'\left(z^{{({ell})}}_{{1{i}}}\right)"
        prev = i
    pieces[-1] += rf"\left(p_{{{prev}}} - [{prev} = y]\right)"
    tex = t.gathered(pieces)
    paths = 1
    for size in n[2:]:
        paths *= size
    return Step(
        "One weight, end to end",
        tex,
        f"Unrolled, the gradient of w⁽¹⁾₁₁ is a sum over every path from it to the loss: "
        f"{plural(paths, 'path')} here, each a product of one weight and one activation "
        "slope per layer it crosses. The matrix products above compute all of them at once.",
        kind="result",
        focus="W1",
    )


def mlp_lesson(m: Math, t: Typeset) -> list[Step]:
    depth = len(_sizes(m)) - 1
    steps = [_mlp_setup(m, t), _mlp_forward(m, t), _mlp_loss_step(m, t)]
    steps += [_layer_step(m, t, ell) for ell in range(depth, 0, -1)]
    steps.append(_whole_chain_step(m, t))
    steps += [_weights_step(m), _batch_step(m), _one_weight_step(m, t), _descent_step(m)]
    shown = _step_panels(depth)
    return [replace(s, shows=tuple(shown[j])) if j in shown else s for j, s in enumerate(steps)]


def _step_panels(depth: int) -> dict[int, list[str]]:
    """The matrices each step (by its index) shows with numbers, where not only its focus and
    gradient: the quantities it goes through (see ``derivations.network``'s panels)."""
    a = lambda ell: "X" if ell == 0 else f"A{ell}"  # noqa: E731 - A⁽⁰⁾ is the input
    da = lambda ell: "d:X" if ell == 0 else f"dA{ell}"  # noqa: E731
    forward = [k for ell in range(1, depth + 1) for k in (f"Z{ell}", a(ell))][:-1]
    out = {
        1: ["X", *forward, "p"],
        2: ["p", f"dZ{depth}"],
        2 + depth + 1: [f"dZ{depth}", "d:X"],
        2 + depth + 2: [a(depth - 1), f"dZ{depth}", f"d:W{depth}", "X", "dZ1", "d:W1"],
    }
    for n, ell in enumerate(range(depth, 0, -1)):
        through = [f"dZ{ell}"] if ell == depth else [f"dA{ell}", f"Z{ell}", f"dZ{ell}"]
        out[3 + n] = [*through, f"W{ell}", da(ell - 1)]
    return out
