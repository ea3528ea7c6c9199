"""Derivations that compose: one op's output symbols substituted as the next op's input, so the
chain rule falls out of sympy instead of being written by hand.

``chain(first, second, link)`` is the Math of ``second ∘ first``: ``second``'s input ``link``
(say the X of a sigmoid) is replaced by ``first``'s output expressions (a linear layer's
x·w + b sums). The composite's sparse Jacobian is the product of the two, entry by entry:
∂y_o/∂a = Σ_z ∂y_o/∂z · ∂z/∂a over the z that a feeds, with ∂y_o/∂z written in a's terms. Its
gradients are then the usual Σ ∂L/∂y · ∂y/∂a. The symbols must not collide: give each op its
own ``Scope(layer=ℓ)`` and its inputs their own names (``rename``).
"""

from __future__ import annotations

from dataclasses import replace

import sympy as sp

from .algebra import grads_from_jac, substitute, times
from .derivation import Math, Parts


def rename(m: Math, names: dict[str, str]) -> Math:
    """The same Math with some inputs renamed (W → W2), for a network whose layers share op
    names."""

    def keyed(d: dict) -> dict:
        return {names.get(k, k): v for k, v in d.items()}

    tex = {(names.get(k[0], k[0]), *k[1:]): v for k, v in m.partial_tex.items()}
    terms = None
    if m.terms is not None:  # the forward sums name their factors' inputs
        terms = {
            o: [(c, [(names.get(n, n), i) for n, i in f]) for c, f in tl]
            for o, tl in m.terms.items()
        }
    return replace(
        m,
        inputs=keyed(m.inputs),
        jac=keyed(m.jac),
        grads=keyed(m.grads),
        partial_tex=tex,
        terms=terms,
        facts=dict(m.facts),
        patterns=dict(m.patterns),
        checks=list(m.checks),
    )


def _check(first: Math, second: Math, link: str) -> None:
    if link not in second.inputs:
        raise ValueError(f"chain: {second.op} has no input {link!r} (it has {list(second.inputs)})")
    if second.inputs[link].shape != first.output.shape:
        raise ValueError(
            f"chain: {first.op}'s output is {first.output.shape} but {second.op}'s input {link} "
            f"is {second.inputs[link].shape}"
        )
    clash = set(first.inputs) & (set(second.inputs) - {link})
    if clash:
        raise ValueError(f"chain: both ops have an input named {sorted(clash)}; rename one")
    shared = {s for m in first.inputs.values() for s in m} & {
        s for n, m in second.inputs.items() if n != link for s in m
    }
    if shared:
        raise ValueError("chain: the two ops share symbols; give each its own Scope(layer=...)")


def _composed_jac(first: Math, second: Math, link: str, sub: dict) -> dict:
    """∂(second ∘ first)/∂a for every input a of both, sparse, in first's input terms."""
    memo: dict = {}  # one walk over the subexpressions all these partials share
    outer = {
        z: {o: substitute(p, sub, memo) for o, p in outs.items()}
        for z, outs in second.jac[link].items()
    }
    jac: dict[str, dict] = {}
    for name, entries in first.jac.items():
        jac[name] = {}
        for idx, inner in entries.items():
            acc: dict = {}
            for z, dz in inner.items():
                for o, dy in outer.get(z, {}).items():
                    acc[o] = acc.get(o, sp.S.Zero) + times(dy, dz)
            jac[name][idx] = {o: p for o, p in acc.items() if p != 0}
    for name, entries in second.jac.items():
        if name != link:
            jac[name] = {
                idx: {o: substitute(p, sub, memo) for o, p in outs.items()}
                for idx, outs in entries.items()
            }
    return jac


def chain(first: Math, second: Math, link: str = "X") -> Math:
    """The Math of ``second`` applied to ``first``'s output (see the module docstring)."""
    _check(first, second, link)
    sub = dict(zip(second.inputs[link], first.output, strict=True))
    inputs = {**first.inputs, **{n: m for n, m in second.inputs.items() if n != link}}
    jac = _composed_jac(first, second, link, sub)
    m = Math(
        f"{first.op} → {second.op}",
        {"first": first.params, "second": second.params},
        inputs,
        second.output.applyfunc(lambda e: substitute(e, sub)),
        second.out_symbols,
        second.upstream,
        grads_from_jac(inputs, jac, second.upstream),
        jac,
        second.out_name,
        second.out_letter,
        second.loss,
        second.scope,
    )
    m.parts = Parts(first, second, link)
    return m
