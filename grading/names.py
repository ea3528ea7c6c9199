"""The names a question offers the learner: each a derivation's symbol (or a quantity its
lesson names) under the name the learner types for it (``mathtext.typed_names``)."""

from __future__ import annotations

import sympy as sp

from mathtext.typed_names import typing_name


def names_for(d, outputs: bool = True) -> dict[str, sp.Basic]:
    """The names a learner may type in answers about derivation ``d``, each mapped to what it
    stands for, in the order the page should list them:

    - every input entry: x_{11} → "x11" (x_{1,10} → "x1_10"), k_{22} → "k22", b → "b";
    - every upstream gradient ∂L/∂z_{11} → "dz11", named after ``d.out_symbols`` ("dy" for a
      single output y, "dL_i" for softmax-CE's L_i);
    - with ``outputs``, every output name → its forward expression: "y11" is sigmoid(x11) in
      the sigmoid lesson, so dy11*y11*(1 - y11) is accepted as the notes write it;
    - for softmax-CE, the probabilities "p1", "p2", … → exp(f_k)/Σ_j exp(f_j); for attention
      "p11", "p12", … → its weights p_ij.
    """
    if d.names is not None:  # a part that brings its own (practice along an MLP's chain)
        return dict(d.names)
    names: dict[str, sp.Basic] = {}

    def add(key, value):
        if key in names and names[key] != value:
            raise ValueError(f"names_for({d.op}): two things would be typed {key!r}")
        names[key] = value

    for m in d.inputs.values():
        for s in m:
            add(typing_name(s), s)
    for out, up in zip(d.out_symbols, d.upstream, strict=True):
        add("d" + typing_name(out), up)
    if outputs:
        for out, value in zip(d.out_symbols, d.output, strict=True):
            add(typing_name(out), value)
    for key, value in _INTERMEDIATES.get(d.op, lambda d: {})(d).items():
        add(key, value)
    for key, value in d.named.items():  # a lesson's own: batch norm's mu1
        add(key, value)
    return names


def _softmax_probabilities(d) -> dict:
    f = list(d.inputs["f"])
    total = sp.Add(*[sp.exp(v) for v in f])
    return {f"p{k + 1}": sp.exp(v) / total for k, v in enumerate(f)}


def _attention_probabilities(d) -> dict:
    """p11, p12, … → attention's weights p_ij (SoftmaxEntry nodes); a weight fixed at 0
    (masked) or 1 (a query that sees one key) has no name to type."""
    P, names = d.attention.probabilities, d.attention.show["p"]
    return {typing_name(names[k]): P[k] for k in range(len(P)) if not P[k].is_Number}


# quantities the lessons name that are not inputs or outputs (a Derivation does not carry them)
_INTERMEDIATES = {
    "softmax_cross_entropy": _softmax_probabilities,
    "attention": _attention_probabilities,
}
