"""Practice along an MLP's whole chain (note 002), besides the questions in one layer's terms:
∂L/∂z⁽ᴸ⁾ = p − y, then back through W⁽ᴸ⁾ to ∂L/∂a⁽ᴸ⁻¹⁾, through σ′ to ∂L/∂z⁽ᴸ⁻¹⁾, and so on
down to ∂L/∂W⁽¹⁾. Each is asked in the forward pass's quantities, the ones backprop has at
hand: x, the weights w1_…, w2_…, the pre-activations z1_…, the activations a1_… (which
stand for σ(z1_…): a1_11*(1 - a1_11) and sigmoid(z1_11)*(1 - sigmoid(z1_11)) are the same
answer), the probabilities p1, p2, … and the one-hot target y1, y2, …; ∂L/∂L = 1.

Each question is a part of its own (a ``Math`` whose one input is the quantity asked about,
with its names in ``Math.names``), so the practice page draws it like any other: the
expected answers are the network's own partial gradients, composed by substitution
(``xreplace``), never written anew. Pure (no Streamlit)."""

from __future__ import annotations

import re

import sympy as sp

from derivations.derivation import Math
from derivations.symbols import plain

PREFIX = "chain:"  # a chain question's key among the lesson's gradients (chain:W1, chain:Z2)
_LAYERED = re.compile(r"([A-Za-z]+)\^\{\((\d+)\)\}_\{(\d+)(?:,(\d+))?\}")
_THROUGH = {"Z": "p − y", "A": "W", "W": "the chain"}


def is_chain(name: str) -> bool:
    return isinstance(name, str) and name.startswith(PREFIX)


def layered_name(symbol) -> str:
    """What a learner types for a network symbol: w^{(2)}_{31} → w2_31, z^{(1)}_{12} → z1_12;
    a symbol without a layer keeps its lesson name (x_{11} → x11)."""
    from mathtext.typed_names import typing_name

    m = _LAYERED.fullmatch(symbol.name)
    if not m or symbol.name.startswith("x^"):
        return typing_name(symbol)
    letter, layer, i, j = m.groups()
    return f"{letter}{layer}_{i}{j or ''}"


def questions(d) -> dict[str, Math]:
    """For an MLP derivation: each chain question's key → its part, in backprop's order
    (Z2, W2, A1, Z1, W1 for two layers); {} for anything else. Built once per derivation."""
    if d.op != "mlp" or d.mlp is None:
        return {}
    if "chain questions" not in d.facts:
        d.facts["chain questions"] = _build(d)
    return d.facts["chain questions"]


def _build(d) -> dict[str, Math]:
    layers, ce = d.mlp.layers, d.mlp.ce
    depth = len(layers)
    last = layers[-1][0]
    # the softmax lesson's logits z^{(L)}_k are the last layer's outputs z^{(L)}_{1k}
    logits = dict(zip(ce.inputs["f"], last.out_symbols, strict=True))
    seed = {ce.upstream[0, 0]: sp.S.One}
    dz = ce.grads["f"].xreplace(seed).xreplace(logits)
    activations = {}
    for _, act in layers[:-1]:
        activations.update(zip(act.out_symbols, act.output, strict=True))
    names = _names(d, layers, ce, logits, activations)
    # the same chain as the hints write it: p_k for the softmax fractions, σ′ by its rule in
    # a (a(1 − a) for the sigmoid), a for σ(z)
    probabilities = {v: sp.Symbol(f"p_{{{k[1:]}}}") for k, v in names.items() if k[0] == "p"}
    shown = dz.xreplace(probabilities)
    found: dict[str, Math] = {}

    def ask(key, symbols, grads, hint, through):
        part = _part(d, PREFIX + key, symbols, grads.xreplace(activations), names)
        part.facts.update(through=through, shown=hint)
        found[PREFIX + key] = part

    ask(f"Z{depth}", last.out_symbols, dz, shown, "softmax and cross-entropy: p − y")
    for ell in range(depth, 0, -1):
        lin = layers[ell - 1][0]
        up, up_shown = (dict(zip(lin.upstream, v, strict=True)) for v in (dz, shown))
        grad = lin.grads[f"W{ell}"]
        ask(
            f"W{ell}",
            lin.inputs[f"W{ell}"],
            grad.xreplace(up),
            grad.xreplace(up_shown),
            _path(ell, depth),
        )
        if ell == 1:
            break
        da, da_shown = lin.grads["X"].xreplace(up), lin.grads["X"].xreplace(up_shown)
        ask(f"A{ell - 1}", lin.inputs["X"], da, da_shown, _path(ell, depth, start="W"))
        act = layers[ell - 2][1]
        dz = act.grads["X"].xreplace(dict(zip(act.upstream, da, strict=True)))
        shown = sp.Matrix([[_rule(act, j) * da_shown[0, j] for j in range(da.cols)]])
        ask(f"Z{ell - 1}", act.inputs["X"], dz, shown, "σ′, " + _path(ell, depth, start="W"))
    return found


def _rule(act, j: int):
    """σ′(z_j) as the notes write it, in the activation a_j where they do (a(1 − a))."""
    rule = act.unary.fn.rule
    if rule is None:
        return act.jac["X"][(0, j)][(0, j)]
    return rule.xreplace({sp.Symbol("y"): act.out_symbols[0, j]})


def _path(ell: int, depth: int, start: str = "") -> str:
    """'W⁽²⁾ and p − y': what a layer-ℓ question's answer runs through."""
    steps = [f"W{k}" for k in range(ell + 1 if not start else ell, depth + 1)]
    if ell + 1 <= depth and not start:
        steps = ["σ′"] + steps
    return ", ".join(steps + ["p − y"]) if steps else "p − y"


def _part(d, key: str, symbols: sp.Matrix, grads: sp.Matrix, names: dict) -> Math:
    loss = sp.Symbol("L")
    jac = {
        key: {(r, c): {(0, 0): grads[r, c]} for r in range(grads.rows) for c in range(grads.cols)}
    }
    return Math(
        op="mlp chain",
        params=dict(d.params),
        inputs={key: symbols},
        output=sp.Matrix([[loss]]),
        out_symbols=sp.Matrix([[loss]]),
        upstream=sp.Matrix([[sp.S.One]]),
        grads={key: grads},
        jac=jac,
        out_name="L",
        out_letter="L",
        loss="L",
        names=names,
        activation=d.params.get("activation", ""),
    )


def _names(d, layers, ce, logits, activations) -> dict:
    """Every name a chain answer may use, in the order the page lists them."""
    names: dict = {}
    first = layers[0][0]
    for s in first.inputs["X"]:
        names[layered_name(s)] = s
    for ell, (lin, act) in enumerate(layers, 1):
        for s in lin.inputs[f"W{ell}"]:
            names[layered_name(s)] = s
        for s in lin.out_symbols:
            names[layered_name(s)] = s
        if act is not None:
            for s in act.out_symbols:
                names[layered_name(s)] = activations[s]
    target = d.params.get("target", 0)
    for k, s in enumerate(ce.inputs["f"]):
        p = sp.exp(s) / sp.Add(*[sp.exp(f) for f in ce.inputs["f"]])
        names[f"p{k + 1}"] = p.xreplace(logits)
    for k in range(len(ce.inputs["f"])):
        names[f"y{k + 1}"] = sp.S.One if k == target else sp.S.Zero
    return names


def title(part) -> str:
    """'∂L/∂W⁽¹⁾ along the chain (through σ′, W2 and p − y)'."""
    key = next(iter(part.inputs))
    letter, layer = key[len(PREFIX)], key[len(PREFIX) + 1 :]
    sup = layer.translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"∂L/∂{letter}⁽{sup}⁾ along the chain (through {part.facts['through']})"


def latex(part) -> str:
    """W^{(1)} for the grid's title."""
    key = next(iter(part.inputs))
    return f"{key[len(PREFIX)]}^{{({key[len(PREFIX) + 1 :]})}}"


def names_help(part) -> list[str]:
    """The lines listing the names, grouped as the forward pass computes them."""
    names = part.names
    groups: dict[str, list[str]] = {}
    for key in names:
        groups.setdefault(re.sub(r"_.*|\d+$", "", key), []).append(key)
    words = {"x": "input", "p": "probabilities", "y": "one-hot target (y = 1 for the true class)"}
    lines = []
    for head, keys in groups.items():
        what = words.get(head) or _layer_words(head)
        shown = ", ".join(f"`{k}`" for k in keys[:4]) + (
            f", … `{keys[-1]}`" if len(keys) > 4 else ""
        )
        lines.append(f"{what}: {shown}")
    return lines + ["∂L/∂L = 1: the answer has no upstream symbol"]


def _layer_words(head: str) -> str:
    letter, layer = head[0], head[1:]
    word = {"w": "weights", "z": "pre-activations", "a": "activations a = σ(z)"}.get(letter, letter)
    return f"layer {layer} {word}"


def placeholder(part) -> str:
    names = part.names
    a = next((k for k in names if k.startswith("a1_")), None)
    w = next((k for k in names if k.startswith("w2_")), None)
    if a and w:
        return f"for example {w}*{a}*(1 - {a}) + p1 - y1"
    return "for example w1_11*(p1 - y1)"


def hint_steps(part, idx) -> list[tuple[str, str, str]]:
    """(title, LaTeX, sentence) for each hint of a chain question: the backward recursion,
    the entry's own factors, the answer."""
    key = next(iter(part.inputs))
    symbol = part.inputs[key][tuple(idx)]
    act = part.activation
    prime = {"sigmoid": r"a(1 - a)", "tanh": r"1 - a^{2}", "relu": r"[z > 0]"}.get(
        act, r"\sigma'(z)"
    )
    rules = (
        r"\begin{aligned} \frac{\partial L}{\partial z^{(L)}_{k}} &= p_k - y_k \\ "
        r"\frac{\partial L}{\partial a^{(\ell-1)}_{j}} &= \sum_k \frac{\partial L}"
        r"{\partial z^{(\ell)}_{k}}\, w^{(\ell)}_{jk} \\ "
        r"\frac{\partial L}{\partial z^{(\ell)}_{j}} &= \sigma'(z^{(\ell)}_{j})\,"
        r"\frac{\partial L}{\partial a^{(\ell)}_{j}},\quad \sigma'(z) = " + prime + r" \\ "
        r"\frac{\partial L}{\partial w^{(\ell)}_{ij}} &= a^{(\ell-1)}_{i}\,"
        r"\frac{\partial L}{\partial z^{(\ell)}_{j}} \end{aligned}"
    )
    lhs = rf"\frac{{\partial L}}{{\partial {sp.latex(symbol)}}}"
    return [
        (
            "Backprop's four rules",
            rules,
            "Start at the loss (∂L/∂L = 1) and apply them layer by layer back to "
            f"{plain(symbol)}; a⁽⁰⁾ is the input x.",
        ),
        (
            "The answer",
            f"{lhs} = {sp.latex(part.facts['shown'][tuple(idx)])}",
            "Each factor is one rule. Now that the answer is shown, checking this entry no "
            "longer counts toward the score.",
        ),
    ]
