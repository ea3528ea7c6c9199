"""The maths of whole networks, composed from the single-op maths with layer-scoped symbols
(``chain.chain``), never written anew:

- ``mlp_math(layer_sizes, activation, target)``: Z_ℓ = A_{ℓ−1}·W_ℓ + b_ℓ (one sample per row,
  A₀ = X), the activation after every hidden layer, softmax + cross-entropy of class ``target``
  (0-based) at the end. Inputs X, W1, b1, …, WL, bL.
- ``cnn_math(input_shape, kernel_shape, pool, classes, target)``: conv (one channel, stride 1,
  no padding) → ReLU → max pool (pool × pool, stride pool) → flatten (row-major) → dense →
  softmax + cross-entropy, one letter per thing: Z, R, M (pooled), v, f (scores), p. Inputs X,
  K, b (1 × 1), W (flat × classes), c (1 × classes).

Both end in the 1 × 1 loss L, whose upstream is the seed ∂L/∂L = 1.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import sympy as sp

from mathtext.functions import NUMERIC

from .algebra import rename_symbols
from .chain import chain, rename
from .conv import conv2d_math
from .dense import class_index, linear_math, softmax_ce_math
from .derivation import Math, assemble
from .elementwise import unary_math
from .facts import CnnFacts, MlpFacts, need
from .params import MAX_SIDE, TooBig, as_count, as_pair, as_shape
from .pool import max_pool2d_math
from .symbols import Scope, plain
from .typeset import article

ACTIVATIONS = ("relu", "sigmoid", "tanh")
MLP_WIDTH = 4  # per layer; 4 weight layers of 4 keep every derivation under a second
CNN_SIDE = 8  # input side
CNN_KERNEL = 4
CNN_CLASSES = 4


def flatten_math(shape, *, scope=None) -> Math:
    """Row-major flattening of an h × w matrix into 1 × hw: each output is one input."""
    scope = scope or Scope()
    h, w = shape
    X = scope.matrix("x", (h, w))
    jac = {"X": {(r, c): {(0, r * w + c): sp.S.One} for r in range(h) for c in range(w)}}
    out = sp.Matrix(1, h * w, lambda _, j: X[j // w, j % w])
    return assemble(
        "flatten", {"shape": (h, w)}, {"X": X}, out, jac, out_name="F", out_letter="f", scope=scope
    )


def _seeded(m: Math, op: str, params: dict) -> Math:
    """The network's Math: its own op name and parameters, its loss named L with the seed
    ∂L/∂L as upstream (the softmax lesson's Lᵢ is one sample's loss)."""
    L = sp.Symbol("L")
    seed = sp.Matrix([[sp.Symbol(r"\frac{\partial L}{\partial L}")]])
    swap = {m.upstream[0, 0]: seed[0, 0]}
    memo: dict = {}  # the layers' gradients share subexpressions
    grads = {n: g.applyfunc(lambda e: rename_symbols(e, swap, memo)) for n, g in m.grads.items()}
    return replace(
        m,
        op=op,
        params=params,
        out_symbols=sp.Matrix([[L]]),
        upstream=seed,
        grads=grads,
        out_name="L",
        out_letter="L",
    )


def _layer_sizes(op: str, sizes) -> tuple[int, ...]:
    if not isinstance(sizes, (tuple, list)) or not 3 <= len(sizes) <= 5:
        raise (TooBig if isinstance(sizes, (tuple, list)) and len(sizes) > 5 else ValueError)(
            f"{op}: layer_sizes must list 3 to 5 sizes (input, hidden…, classes), "
            f"you gave {sizes!r}."
        )
    sizes = tuple(as_count(op, f"layer size {i + 1}", n, 1, MLP_WIDTH) for i, n in enumerate(sizes))
    if sizes[-1] < 2:  # softmax over one class is 1 whatever the scores: every gradient 0
        raise ValueError(
            f"{op}: the last layer size is the number of classes, and it must be at least 2 "
            f"(softmax over a single class is always 1, so every gradient would be 0); you gave "
            f"{sizes[-1]} in {', '.join(map(str, sizes))}."
        )
    return sizes


def _layer_backward(m: Math, ell: int, lin: Math, act: Math | None) -> None:
    """Prove layer ℓ's backward step in numerator layout from the two ops' own gradients:
    ∂L/∂A_{ℓ−1} = ∂L/∂A_ℓ · diag(σ′(Z_ℓ)) · W_ℓᵀ, or ∂L/∂Z_L · W_Lᵀ for the output layer."""
    W = lin.inputs[f"W{ell}"]
    if act is None:
        m.prove(
            f"layer {ell}: dA = dZ W^T",
            lin.grads["X"],
            lin.upstream * W.T,
            operands={"dZ": lin.upstream, "W^T": W.T},
        )
        return
    n = act.inputs["X"].cols
    dz = act.grads["X"]  # ∂L/∂Z_ℓ, in terms of ∂L/∂A_ℓ and Z_ℓ
    derived = lin.grads["X"].xreplace(dict(zip(lin.upstream, dz, strict=True)))
    diag = sp.diag(*[act.jac["X"][(0, j)][(0, j)] for j in range(n)])
    m.prove(
        f"layer {ell}: dA = dA diag(f'(Z)) W^T",
        derived,
        act.upstream * diag * W.T,
        operands={"dA": act.upstream, "diag": diag, "W^T": W.T},
    )


WHOLE_CHAIN = "whole chain: dX = dZ W^T diag(f'(Z)) W^T ... W^T"


def _whole_chain(m: Math, layers) -> None:
    """Prove note 002's single product in the row convention: ∂L/∂X = ∂L/∂Z_L · W_Lᵀ ·
    diag(σ′(Z_{L−1})) · W_{L−1}ᵀ ⋯ diag(σ′(Z_1)) · W_1ᵀ equals the layers' own chain-rule sums
    composed one into the next, from the last layer's upstream ∂L/∂Z_L back to X."""
    last = layers[-1][0]
    derived = last.grads["X"]  # ∂L/∂A_{L−1}, in ∂L/∂Z_L and W_L
    product = last.upstream * last.inputs[f"W{len(layers)}"].T
    for ell in range(len(layers) - 1, 0, -1):
        lin, act = layers[ell - 1]
        dz = act.grads["X"].xreplace(dict(zip(act.upstream, derived, strict=True)))
        derived = lin.grads["X"].xreplace(dict(zip(lin.upstream, dz, strict=True)))
        n = act.inputs["X"].cols
        diag = sp.diag(*[act.jac["X"][(0, j)][(0, j)] for j in range(n)])
        product = product * diag * lin.inputs[f"W{ell}"].T
    m.prove(WHOLE_CHAIN, derived, product, operands={"dZ": last.upstream})


def _mlp_panels(m: Math, layers, ce: Math) -> list[tuple]:
    """Every quantity between the input and the loss, forward then backward, as the page shows
    it with numbers and the explorer explains it: (key, title, cell names, each cell's own
    definition in the names of the inputs and of the panels before it, the cells' names as
    plain text). Written in full in the inputs they would grow fourfold a layer;
    ``panel_numbers`` evaluates them in order."""
    depth, seed = len(layers), m.upstream[0, 0]
    panels = []
    for ell, (lin, act) in enumerate(layers, 1):
        panels.append(
            (f"Z{ell}", f"Z{_l(ell)}", lin.out_symbols, lin.output, _plain(lin.out_symbols))
        )
        if act is not None:
            panels.append(
                (f"A{ell}", f"A{_l(ell)}", act.out_symbols, act.output, _plain(act.out_symbols))
            )
    c = ce.inputs["f"].cols
    p_names = sp.Matrix(1, c, lambda _, k: sp.Symbol(f"p_{{{k + 1}}}"))
    logits = dict(zip(ce.inputs["f"], layers[-1][0].out_symbols, strict=True))  # z⁽ᴸ⁾₁ⱼ
    softmax = need(ce.softmax, ce.op, "softmax")
    panels.append(("p", "p", p_names, softmax.p.xreplace(logits), _plain(p_names)))
    local = (p_names - softmax.onehot) * seed
    for ell in range(depth, 0, -1):
        lin = layers[ell - 1][0]
        labels = _plain(lin.out_symbols, "∂L/∂")
        panels.append((f"dZ{ell}", f"∂L/∂Z{_l(ell)}", lin.upstream, local, labels))
        if ell == 1:
            break
        below = layers[ell - 2][1]
        labels = _plain(below.out_symbols, "∂L/∂")
        panels.append(
            (f"dA{ell - 1}", f"∂L/∂A{_l(ell - 1)}", below.upstream, lin.grads["X"], labels)
        )
        local = below.grads["X"]
    return panels


def panel_numbers(m: Math, values: dict, upstream) -> dict[str, np.ndarray]:
    """The numbers of ``m.between`` for these input values and seed, each panel from its
    own definition and the numbers before it (compiled once per derivation)."""
    known = {
        s: float(v)
        for n, mat in m.inputs.items()
        for s, v in zip(mat, np.ravel(values[n]), strict=True)
    }
    known[m.upstream[0, 0]] = float(np.ravel(upstream)[0])
    if "panel_fns" not in m.facts:
        m.facts["panel_fns"] = [_compiled(p[3]) for p in m.between]
    out = {}
    with np.errstate(all="ignore"):
        for (key, _, names, *_), (args, fn) in zip(m.between, m.facts["panel_fns"], strict=True):
            res = np.asarray(fn(*[known[a] for a in args]), dtype=float).reshape(names.shape)
            out[key] = res
            known.update(zip(names, res.ravel().tolist(), strict=True))
    return out


def _plain(names: sp.Matrix, head: str = "") -> list[list[str]]:
    return [[head + plain(names[r, c]) for c in range(names.cols)] for r in range(names.rows)]


def _compiled(local: sp.Matrix):
    """(its free symbols in a fixed order, a numpy function of them)."""
    args = sorted(local.free_symbols, key=str)
    plain = {a: sp.Symbol(f"v{i}") for i, a in enumerate(args)}
    fn = sp.lambdify([plain[a] for a in args], local.xreplace(plain), modules=NUMERIC)
    return args, fn


_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _l(ell: int) -> str:
    return f"⁽{str(ell).translate(_SUP)}⁾"


def _mlp_layers(sizes, activation) -> list[tuple[Math, Math | None]]:
    """Each layer's dense op (inputs W_ℓ, b_ℓ) and, for the hidden ones, its activation
    A_ℓ = σ(Z_ℓ)."""
    depth = len(sizes) - 1
    layers = []
    for ell in range(1, depth + 1):
        # layer ℓ's input is the previous layer's output A^{(ℓ−1)} (X for the first)
        names = _named(ell, x=f"a^{{({ell - 1})}}") if ell > 1 else Scope(ell)
        lin = linear_math(1, sizes[ell - 1], sizes[ell], scope=names)
        lin = rename(lin, {"W": f"W{ell}", "b": f"b{ell}"})
        act = None
        if ell < depth:
            act = unary_math(activation, shape=(1, sizes[ell]), scope=_named(ell, x="z", y="a"))
        layers.append((lin, act))
    return layers


def mlp_math(layer_sizes=(2, 3, 2), activation="sigmoid", target=0) -> Math:
    op = "mlp"
    sizes = _layer_sizes(op, layer_sizes)
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"{op}: activation must be one of {', '.join(ACTIVATIONS)}; you gave {activation!r}."
        )
    target = class_index(op, target, sizes[-1])
    layers = _mlp_layers(sizes, activation)
    m = layers[0][0]
    for ell in range(1, len(layers)):
        below = need(layers[ell - 1][1], f"mlp layer {ell}", "activation")  # not the last
        m = chain(chain(m, below), layers[ell][0])
    ce = softmax_ce_math(sizes[-1], target, scope=_named(len(layers), f="z"))
    params = dict(layer_sizes=sizes, activation=activation, target=target)
    m = _seeded(chain(m, ce, link="f"), op, params)
    for ell, (lin, act) in enumerate(layers, 1):
        _layer_backward(m, ell, lin, act)
    _whole_chain(m, layers)
    # the same layer for a batch of 3: dW = Xᵀ·dZ sums the samples' outer products
    m.mlp = MlpFacts(layers=layers, ce=ce, batch=linear_math(3, sizes[0], sizes[1]))
    m.between = _mlp_panels(m, layers, ce)
    return m


def _named(layer: int, **letters) -> Scope:
    return Scope(layer, letters=tuple(letters.items()))


def _cnn_geometry(op, input_shape, kernel_shape, pool, classes):
    hw = as_shape(op, "input_shape", input_shape, CNN_SIDE)
    k = as_shape(op, "kernel_shape", kernel_shape, CNN_KERNEL)
    if k[0] > hw[0] or k[1] > hw[1]:
        raise ValueError(
            f"{op}: the {k[0]}×{k[1]} kernel is larger than the {hw[0]}×{hw[1]} input."
        )
    out = (hw[0] - k[0] + 1, hw[1] - k[1] + 1)
    p = as_pair(op, "pool", pool, 1, CNN_SIDE)
    if out[0] % p[0] or out[1] % p[1]:
        raise ValueError(
            f"{op}: {article(p[0])} {p[0]}×{p[1]} pool does not divide the {out[0]}×{out[1]} conv output "
            f"(({hw[0]}−{k[0]}+1)×({hw[1]}−{k[1]}+1)); choose a pool or sizes that divide it."
        )
    flat = (out[0] // p[0]) * (out[1] // p[1])
    if flat > MAX_SIDE:  # a combination to change, like a pool that does not divide: not a cap
        raise ValueError(
            f"{op}: the pooled feature map has {flat} entries; keep it at most {MAX_SIDE} (the "
            "dense layer's inputs) with a larger pool or kernel, or a smaller input."
        )
    c = as_count(op, "classes", classes, 2, CNN_CLASSES)
    return hw, k, out, p, c


def cnn_math(input_shape=(3, 3), kernel_shape=(2, 2), pool=2, classes=2, target=0) -> Math:
    op = "cnn"
    hw, k, out, p, c = _cnn_geometry(op, input_shape, kernel_shape, pool, classes)
    target = class_index(op, target, c)
    pooled = (out[0] // p[0], out[1] // p[1])
    # each op's input is named as the previous op's output, one letter per thing: Z → R =
    # ReLU(Z) → M = maxpool(R) (note 003's P: p is the probabilities') → v = flatten(M) → the
    # class scores f (z is the conv output's) → p = softmax(f)
    ops = {
        "conv": conv2d_math(hw, k, scope=Scope(1)),
        "relu": unary_math("relu", shape=out, scope=_named(1, x="z", y="r")),
        "pool": max_pool2d_math(out, p, scope=_named(1, x="r", z="m")),
        "flatten": flatten_math(pooled, scope=_named(1, x="m", f="v")),
        "dense": rename(
            linear_math(1, pooled[0] * pooled[1], c, scope=_named(2, x="v^{(1)}", b="c", z="f")),
            {"b": "c"},
        ),
        "ce": softmax_ce_math(c, target, scope=Scope(2)),
    }
    m = ops["conv"]
    for name in ("relu", "pool", "flatten", "dense"):
        m = chain(m, ops[name])
    m = chain(m, ops["ce"], link="f")
    params = dict(input_shape=hw, kernel_shape=k, pool=p, classes=c, target=target)
    m = _seeded(m, op, params)
    m.cnn = CnnFacts(ops=ops, conv_out=out, pooled=pooled)
    return m
