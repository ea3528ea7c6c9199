"""The bridge from the computational graph to the lessons: a neuron written out
(x1*w1 + x2*w2 + b, with or without an activation on top) is one row of a dense layer, and a
softmax written out (exp(f1)/(exp(f1) + exp(f2) + …), or −log of it) is the softmax +
cross-entropy lesson's p. Where the graph holds one, the page links to that lesson at the
matching size with the same numbers in the link (the lessons' hand-typed values, ``X=2_0``),
and with the gradient the graph gives at that point as the lesson's upstream gradient, so the
lesson's matrices hold the graph's gradients.

``neuron_link`` and ``softmax_link`` are pure; ``bridge_ui`` draws the note and the link.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import streamlit as st

from mathtext.graph_steps import uses_of
from ui.registry import DENSE, SOFTMAX
from ui.values import encode_flat, parse_number

MAX_INPUTS = 8  # the dense lesson's largest number of inputs
MAX_CLASSES = 10  # the softmax lesson's largest number of classes


@dataclass(frozen=True)
class Link:
    page: object  # a PageSpec
    label: str
    query: dict
    note: str


def _sum_terms(g, i: int) -> list[int]:
    """The terms of a chain of + nodes ((a + b) + c → a, b, c)."""
    n = g.nodes[i]
    if n.op != "+":
        return [i]
    return [t for k in n.inputs for t in _sum_terms(g, k)]


def _leaf(g, i: int) -> bool:
    return g.nodes[i].op == "input"


def _fits(*numbers: float) -> bool:
    """Whether a lesson link can carry these numbers (ui.values' rules)."""
    return all(math.isfinite(v) and parse_number(repr(float(v)))[0] is not None for v in numbers)


def _only_here(g, leaves: list[int], allowed: dict[int, int]) -> bool:
    """Each name is used exactly as often as the pattern uses it: nowhere else in the graph."""
    uses = uses_of(g)
    return all(uses[i] == allowed.get(i, 1) for i in leaves) and len(set(leaves)) == len(leaves)


def neuron_link(g) -> Link | None:
    """A sum of products of two names, plus at most one name (the bias), 1 to 8 products."""
    for node in reversed(g.nodes):
        if node.op != "+":
            continue
        terms = _sum_terms(g, node.id)
        pairs = [g.nodes[t].inputs for t in terms if g.nodes[t].op == "*"]
        biases = [t for t in terms if _leaf(g, t)]
        if len(pairs) + len(biases) != len(terms) or len(biases) > 1:
            continue
        if not 1 <= len(pairs) <= MAX_INPUTS or not all(
            all(map(lambda k: _leaf(g, k), p)) for p in pairs
        ):
            continue
        leaves = [k for p in pairs for k in p] + biases
        if not _only_here(g, leaves, {}):
            continue
        return _dense(g, node.id, pairs, biases)
    return None


def _dense(g, sum_id: int, pairs, biases) -> Link | None:
    label = [(g.nodes[a].label, g.nodes[b].label) for a, b in pairs]
    if all(x.startswith("w") and not w.startswith("w") for x, w in label):
        pairs = [(b, a) for a, b in pairs]  # w1*x1: the x's are still X
    xs = [g.nodes[a].value for a, _ in pairs]
    ws = [g.nodes[b].value for _, b in pairs]
    b = g.nodes[biases[0]].value if biases else 0.0
    up = g.nodes[sum_id].grad
    if not _fits(*xs, *ws, b, up):
        return None
    n = len(pairs)
    xn = " ".join(g.nodes[a].label for a, _ in pairs)
    wn = "; ".join(g.nodes[k].label for _, k in pairs)
    bias = f"bias {g.nodes[biases[0]].label}" if biases else "bias 0 (there is none here)"
    above = (
        ""
        if sum_id == g.output
        else f" What sits above the sum is folded into ∂L/∂Z = {_short(up)}, the gradient the "
        "graph gives the sum node."
    )
    ins = ", ".join(g.nodes[a].label for a, _ in pairs)
    note = (
        f"`{g.nodes[sum_id].label}` is one neuron: one row of a dense layer Z = XW + b with "
        f"X = [{xn}] (1×{n}), W = [{wn}] ({n}×1) and {bias}.{above} The Dense layer lesson "
        f"opens with these numbers: its dW = Xᵀ·dZ holds the gradients of "
        f"{wn.replace(';', ',')} found here, and dX = dZ·Wᵀ those of {ins}."
    )
    query = {
        "op": "linear",
        "batch": "1",
        "in_features": str(n),
        "out_features": "1",
        "values": "edit",
        "X": encode_flat(xs),
        "W": encode_flat(ws),
        "b": encode_flat([b]),
        "upstream": "edit",
        "up": encode_flat([up]),
    }
    return Link(
        DENSE, f"The same neuron as a dense layer, 1 sample × {n} inputs → 1 output", query, note
    )


def softmax_link(g) -> Link | None:
    """exp(a)/(exp(a) + exp(b) + …) over 2 to 10 distinct names, the numerator's among them."""
    for p in reversed(g.nodes):
        if p.op != "/":
            continue
        num, den = p.inputs
        terms = _sum_terms(g, den)
        exps = [g.nodes[t] for t in terms]
        if not 2 <= len(exps) <= MAX_CLASSES or not all(e.op == "exp" for e in exps):
            continue
        leaves = [e.inputs[0] for e in exps]
        top = g.nodes[num]
        if top.op != "exp" or not all(_leaf(g, k) for k in leaves) or top.inputs[0] not in leaves:
            continue
        target = leaves.index(top.inputs[0])
        if not _only_here(g, leaves, {top.inputs[0]: 2}):
            continue
        return _softmax(g, p, leaves, target)
    return None


def _softmax(g, p, leaves: list[int], target: int) -> Link | None:
    fs = [g.nodes[k].value for k in leaves]
    up = -p.value * p.grad  # ∂o/∂L where L = −log p: dp = −p·dL
    if not _fits(*fs, up):
        return None
    c = len(leaves)
    names = ", ".join(g.nodes[k].label for k in leaves)
    loss = "the output is L itself" if abs(up - 1) < 1e-12 else f"∂o/∂L = {_short(up)} (−p·∂o/∂p)"
    note = (
        f"`{p.label}` is softmax's p{target + 1} over the logits f = [{names}] ({c} classes), "
        f"and −log of it is the cross-entropy loss L of class {target + 1}; {loss}. The "
        "Softmax + cross-entropy lesson opens with these logits: its ∂L/∂f = (p − onehot)·∂o/∂L "
        "holds the gradients found here."
    )
    query = {
        "op": "softmax_cross_entropy",
        "num_classes": str(c),
        "target": str(target + 1),
        "values": "edit",
        "f": encode_flat(fs),
        "upstream": "edit",
        "up": encode_flat([up]),
    }
    return Link(
        SOFTMAX, f"The same softmax as a lesson, {c} classes, class {target + 1}", query, note
    )


def _short(v: float) -> str:
    s = f"{v:.4f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def links(g) -> list[Link]:
    return [link for link in (neuron_link(g), softmax_link(g)) if link is not None]


def bridge_ui(g) -> None:
    found = links(g)
    st.subheader("The same numbers as matrices")
    if not found:
        st.caption(
            "Written out, a neuron (`x1*w1 + x2*w2 + b`, with an activation on top or not) or "
            "a softmax (`exp(f1)/(exp(f1) + exp(f2) + exp(f3))`, or −log of it) is a lesson's "
            "matrix in disguise: type one, and a link to that lesson with these numbers "
            "appears here."
        )
        return
    for link in found:
        st.markdown(link.note)
        st.page_link(
            link.page.path, label=link.label + " →", icon=link.page.icon, query_params=link.query
        )
