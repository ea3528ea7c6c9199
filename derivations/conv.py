"""The maths of Conv2D and transposed Conv2D, single channel, any size, stride, padding and
dilation: symbols, forward sums, sparse Jacobian, gradients, and the patterns they form (proven).
The lessons are written from these values in ``lessons/conv.py``."""

from __future__ import annotations

import sympy as sp

from .algebra import correlate, dilate, jacobian_from_terms, outputs_from_terms, pad, rot180
from .derivation import Math, assemble
from .facts import ConvFacts, need
from .params import (
    MAX_KERNEL,
    MAX_PADDING,
    MAX_STEP,
    as_pair,
    as_shape,
    axis_pairs,
    check_work,
)
from .symbols import Scope
from .typeset import article, plural

# the labels of the patterns proven here, by which the lessons look them up
CONV_DK = "dK = pad(X) ⊛ dZ"
CONV_DX = "dX = pad(dZ) ⊛ rot180(K)"
CONV_T_FORWARD = "Z = pad(X) ⊛ rot180(K) + b"
CONV_T_DK = "dK = dZ ⊛ X"
CONV_T_DX = "dX = dZ ⊛ K"

MAX_TRANSPOSED_OUT = 32  # a transposed conv's output side: it grows from inputs of 16 at most


def _geometry(op, input_shape, kernel_shape, stride, padding, dilation):
    h, w = as_shape(op, "input_shape", input_shape)
    kh, kw = as_shape(op, "kernel_shape", kernel_shape, MAX_KERNEL)
    s = as_pair(op, "stride", stride, 1, MAX_STEP)
    p = as_pair(op, "padding", padding, 0, MAX_PADDING)
    d = as_pair(op, "dilation", dilation, 1, MAX_STEP)
    return (h, w), (kh, kw), s, p, d


def _checked_work(op, hw, k, out, products: int) -> int:
    """The Jacobian entries: ∂z/∂x and ∂z/∂k for every x·k product, ∂z/∂b for every output."""
    what = (
        f"{article(hw[0])} {hw[0]}×{hw[1]} input and {article(k[0])} {k[0]}×{k[1]} kernel, with "
        f"{out[0]}×{out[1]} outputs,"
    )
    return check_work(op, 2 * products + out[0] * out[1], what)


def _inputs(scope: Scope, x_shape, k_shape) -> dict:
    return {
        "X": scope.matrix("x", x_shape),
        "K": scope.matrix("k", k_shape),
        "b": sp.Matrix([[scope.scalar("b")]]),
    }


def _conv2d_terms(hw, k, s, p, dl, out) -> dict:
    """Output index → its summands: the window's x·k products (padding zeros left out) and b."""
    terms = {}
    for i in range(out[0]):
        for j in range(out[1]):
            t = []
            for m in range(k[0]):
                for n in range(k[1]):
                    r, c = i * s[0] + m * dl[0] - p[0], j * s[1] + n * dl[1] - p[1]
                    if 0 <= r < hw[0] and 0 <= c < hw[1]:  # a padding zero contributes nothing
                        t.append((1, [("X", (r, c)), ("K", (m, n))]))
            t.append((1, [("b", (0, 0))]))
            terms[(i, j)] = t
    return terms


def _conv2d_out(hw, k, s, p, dl) -> tuple[int, int]:
    for ax in range(2):
        span = dl[ax] * (k[ax] - 1) + 1
        if span > hw[ax] + 2 * p[ax]:
            side = "rows" if ax == 0 else "columns"
            dilated = f" (with dilation {dl[ax]})" if dl[ax] != 1 else ""
            raise ValueError(
                f"conv2d: the kernel spans {span} {side}{dilated} but the "
                f"padded input has only {hw[ax] + 2 * p[ax]}. Use a smaller kernel or dilation, "
                "or more padding."
            )
    return tuple((hw[a] + 2 * p[a] - dl[a] * (k[a] - 1) - 1) // s[a] + 1 for a in range(2))


def _conv2d_sizes(input_shape, kernel_shape, stride, padding, dilation):
    """The checked sizes of a convolution, and its work (ValueError past any bound)."""
    hw, k, s, p, dl = _geometry("conv2d", input_shape, kernel_shape, stride, padding, dilation)
    out = _conv2d_out(hw, k, s, p, dl)
    products = 1
    for a in range(2):  # the outputs' window taps that meet a real input cell
        products *= axis_pairs(out[a], k[a], s[a], p[a], dl[a], hw[a])
    return (hw, k, s, p, dl, out), _checked_work("conv2d", hw, k, out, products)


def conv2d_work(input_shape=(3, 3), kernel_shape=(2, 2), stride=1, padding=0, dilation=1) -> int:
    """The partial derivatives conv2d_math would build; ValueError as it would raise."""
    return _conv2d_sizes(input_shape, kernel_shape, stride, padding, dilation)[1]


def conv2d_math(
    input_shape=(3, 3), kernel_shape=(2, 2), stride=1, padding=0, dilation=1, *, scope=None
) -> Math:
    op = "conv2d"
    (hw, k, s, p, dl, out), _ = _conv2d_sizes(input_shape, kernel_shape, stride, padding, dilation)
    scope = scope or Scope()
    inputs = _inputs(scope, hw, k)
    terms = _conv2d_terms(hw, k, s, p, dl, out)
    params = dict(input_shape=hw, kernel_shape=k, stride=s, padding=p, dilation=dl)
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
    m.terms = terms
    m.conv = conv = ConvFacts(out)
    X, K, G = inputs["X"], inputs["K"], m.upstream
    xp = pad(X, p[0], p[0], p[1], p[1])
    m.prove(
        CONV_DK,
        m.grads["K"],
        correlate(xp, G, stride=dl, dilation=s, out_shape=k),
        grad="K",
        operands={"X": xp, "dZ": G},
    )
    m.prove("db = sum(dZ)", m.grads["b"], sp.Matrix([[sp.Add(*G)]]))
    # pad(dilate(dZ)) ⊛ rot180(dilate(K)), then crop the padding back off
    kd = dilate(K, dl)
    eh, ew = ((hw[a] + 2 * p[a] - dl[a] * (k[a] - 1) - 1) % s[a] for a in range(2))
    gp = pad(dilate(G, s), kd.rows - 1, kd.rows - 1 + eh, kd.cols - 1, kd.cols - 1 + ew)
    m.prove(
        CONV_DX,
        m.grads["X"],
        pad(correlate(gp, rot180(kd)), -p[0], -p[0], -p[1], -p[1]),
        grad="X",
        operands={"pad(dZ)": gp, "rot180(K)": rot180(kd)},
    )
    conv.kd, conv.unreached = kd, (eh, ew)
    return m


def _transposed_out(hw, k, s, p, dl, opad) -> tuple[int, int]:
    for o, ss, dd in zip(opad, s, dl, strict=True):
        if o >= max(ss, dd):
            raise ValueError(
                f"conv_transpose2d: output_padding must be smaller than the stride "
                f"(or dilation); you gave output_padding {o} with stride {ss}."
            )
    out = tuple((hw[a] - 1) * s[a] - 2 * p[a] + dl[a] * (k[a] - 1) + opad[a] + 1 for a in range(2))
    if min(out) < 1:
        a = 0 if out[0] < 1 else 1
        full = out[a] + 2 * p[a]  # the output's side before padding crops it
        raise ValueError(
            f"conv_transpose2d: padding {p[a]} crops away the whole output: before cropping it "
            f"has {plural(full, ('row', 'column')[a])}, and {p[a]} come off each side. With "
            f"these sizes the padding can be at most {(full - 1) // 2}; use less, or a larger "
            "input or kernel."
        )
    if max(out) > MAX_TRANSPOSED_OUT:  # a limit on the combination, which the lesson explains
        raise ValueError(
            f"conv_transpose2d: the output would be {out[0]}×{out[1]}; keep it within "
            f"{MAX_TRANSPOSED_OUT}×{MAX_TRANSPOSED_OUT} (smaller input, kernel or stride) so the "
            "derivation stays readable."
        )
    return out


def _transposed_terms(hw, k, s, p, dl, out) -> dict:
    terms: dict[tuple[int, int], list] = {(i, j): [] for i in range(out[0]) for j in range(out[1])}
    for i in range(hw[0]):  # each input pixel stamps a scaled copy of K into the output
        for j in range(hw[1]):
            for m in range(k[0]):
                for n in range(k[1]):
                    r, c = i * s[0] + m * dl[0] - p[0], j * s[1] + n * dl[1] - p[1]
                    if 0 <= r < out[0] and 0 <= c < out[1]:
                        terms[(r, c)].append((1, [("X", (i, j)), ("K", (m, n))]))
    for t in terms.values():
        t.append((1, [("b", (0, 0))]))
    return terms


def _transposed_sizes(input_shape, kernel_shape, stride, padding, output_padding, dilation):
    """The checked sizes of a transposed convolution, and its work (ValueError past any bound)."""
    op = "conv_transpose2d"
    hw, k, s, p, dl = _geometry(op, input_shape, kernel_shape, stride, padding, dilation)
    opad = as_pair(op, "output_padding", output_padding, 0, MAX_STEP - 1)
    out = _transposed_out(hw, k, s, p, dl, opad)
    products = 1
    for a in range(2):  # the stamps' kernel taps that land inside the output
        products *= axis_pairs(hw[a], k[a], s[a], p[a], dl[a], out[a])
    return (hw, k, s, p, dl, opad, out), _checked_work(op, hw, k, out, products)


def conv_transpose2d_work(
    input_shape=(2, 2), kernel_shape=(2, 2), stride=1, padding=0, output_padding=0, dilation=1
) -> int:
    """The partial derivatives conv_transpose2d_math would build; ValueError as it would raise."""
    args = (input_shape, kernel_shape, stride, padding, output_padding, dilation)
    return _transposed_sizes(*args)[1]


def conv_transpose2d_math(
    input_shape=(2, 2),
    kernel_shape=(2, 2),
    stride=1,
    padding=0,
    output_padding=0,
    dilation=1,
    *,
    scope=None,
) -> Math:
    op = "conv_transpose2d"
    (hw, k, s, p, dl, opad, out), _ = _transposed_sizes(
        input_shape, kernel_shape, stride, padding, output_padding, dilation
    )
    scope = scope or Scope()
    inputs = _inputs(scope, hw, k)
    terms = _transposed_terms(hw, k, s, p, dl, out)
    params = dict(
        input_shape=hw, kernel_shape=k, stride=s, padding=p, output_padding=opad, dilation=dl
    )
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
    m.terms, m.conv = terms, ConvFacts(out)
    _prove_transposed(m, hw, k, s, p, dl, opad)
    return m


def _prove_transposed(m: Math, hw, k, s, p, dl, opad) -> None:
    """The transposed convolution as an ordinary one, and its gradients as correlations."""
    X, K, G = m.inputs["X"], m.inputs["K"], m.upstream
    # as a plain convolution: zero-insert, pad by d(k-1) - p (the notes' k - p - 1), rot180(K)
    ih, iw = dl[0] * (k[0] - 1) - p[0], dl[1] * (k[1] - 1) - p[1]
    xz = pad(dilate(X, s), ih, ih + opad[0], iw, iw + opad[1])
    kr = rot180(dilate(K, dl))
    conv_form = correlate(xz, kr).applyfunc(lambda e: e + m.inputs["b"][0, 0])
    m.prove(
        CONV_T_FORWARD,
        m.output,
        conv_form,
        operands={"pad(X)": xz, "rot180(K)": kr},
    )
    need(m.conv, m.op, "conv").implicit_padding = (ih, iw)
    gp = pad(G, p[0], p[0], p[1], p[1])
    m.prove(
        CONV_T_DK,
        m.grads["K"],
        correlate(gp, X, stride=dl, dilation=s, out_shape=k),
        grad="K",
        operands={"dZ": gp, "X": X},
    )
    m.prove("db = sum(dZ)", m.grads["b"], sp.Matrix([[sp.Add(*G)]]))
    m.prove(
        CONV_T_DX,
        m.grads["X"],
        correlate(gp, K, stride=s, dilation=dl, out_shape=hw),
        grad="X",
        operands={"dZ": gp, "K": K},
    )
