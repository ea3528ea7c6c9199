"""Which entries practice can ask, and why the others are not offered: an entry of more than
MAX_TERMS terms is too much to ask, and one whose answer is longer than the box (MAX_LENGTH
characters, written with the names the page lists and the notation it teaches) cannot be
typed. The sentences that say so are computed from what was left out and why. Pure (no
Streamlit); ``ui.practice_model`` re-exports these names."""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from grading.names import names_for
from mathtext.grammar import MAX_LENGTH
from mathtext.typed_names import inverse_names
from ui import practice_chain as chain
from ui.practice_lengths import Lengths

MAX_TERMS = 9  # an entry of more terms is too much to ask, however short its notation


def owner(d, name: str) -> tuple[object, tuple[int, ...]]:
    """The Math that owns input ``name`` of ``d`` and the path to it through the chain's parts
    (0 = first, 1 = second): for a network, the layer's own op, whose gradients are written in
    that layer's upstream (∂L/∂z⁽¹⁾…). A single op owns all its inputs (path ()), and a
    question along an MLP's chain (``practice_chain``) is a part of its own (path ())."""
    if chain.is_chain(name):
        found = chain.questions(d)
        if name not in found:
            raise KeyError(f"{name!r} is not a question of {d.op}")
        return found[name], ()
    m, path = d, ()
    while m.parts is not None:
        first, second, link = m.parts
        if name in first.inputs:
            m, path = first, (*path, 0)
        elif name in second.inputs and name != link:
            m, path = second, (*path, 1)
        else:
            raise KeyError(f"{name!r} is not an input of {d.op}")
    return m, path


def part_at(d, path) -> object:
    for k in path:
        d = d.parts[k]
    return d


@dataclass(frozen=True)
class Entry:
    name: str  # the input (of the whole lesson: "W1", "X")
    idx: tuple[int, int]
    terms: int  # how many terms its chain-rule sum has


@dataclass(frozen=True)
class LeftOut:
    """Entries of one gradient not offered, by reason (an entry with too many terms is
    counted there, whatever its length)."""

    terms: int = 0  # more than MAX_TERMS terms
    length: int = 0  # at most MAX_TERMS, but longer than the box

    @property
    def count(self) -> int:
        return self.terms + self.length

    def __add__(self, other: LeftOut) -> LeftOut:
        return LeftOut(self.terms + other.terms, self.length + other.length)


def entries(d, name: str) -> list[Entry]:
    """The entries of ∂L/∂``name`` worth asking: at least one term, at most MAX_TERMS, and an
    answer that fits the box: written with the names the page lists and the notation it
    teaches (first_max for a max-pool window), at most MAX_LENGTH characters. (A 6×6 window
    written as 35 conditions was ~380 characters: a question nobody could answer.)"""
    return _offered(d, name)[0]


def left_out(d, name: str) -> LeftOut:
    """The entries of ∂L/∂``name`` not offered, by reason."""
    return _offered(d, name)[1]


def left_out_count(d, name: str) -> int:
    """How many entries of ∂L/∂``name`` are not offered (too many terms, or too long)."""
    return left_out(d, name).count


def left_out_note(d, name: str) -> str:
    """The sentence under the pickers when some entries are not offered ("" when none)."""
    out = left_out(d, name)
    n = out.count
    if not n:
        return ""
    if out.terms and out.length:
        return (
            f"{n} of its entries are not offered: {_both(out)} (a smaller kernel, window or "
            "input gives shorter ones)."
        )
    return (
        f"{n} of its entries {_reason(out, n == 1)}, so {'it is' if n == 1 else 'they are'} "
        "not offered (a smaller kernel, window or input gives shorter ones)."
    )


def nothing_note(d) -> str:
    """The sentence when no entry of any gradient can be asked, with the real reasons."""
    names = [*d.inputs, *chain.questions(d)]
    out = sum((left_out(d, n) for n in names), LeftOut())
    if not out.count:
        return "Every gradient entry here is 0: there is nothing to ask."
    if out.terms and out.length:
        said = f"No gradient entry here can be asked: {_both(out)}"
    else:
        said = (
            f"{'The one' if out.count == 1 else 'Every'} gradient entry here {_reason(out, True)}"
        )
    return f"{said}. Choose smaller sizes to practise."


def _reason(out: LeftOut, one: bool) -> str:
    return _too_many(one) if out.terms else _too_long(one)


def _both(out: LeftOut) -> str:
    many, long = _too_many(out.terms == 1), _too_long(out.length == 1)
    return f"{out.terms} {many} and {out.length} {long}"


def _too_many(one: bool) -> str:
    return f"{'has' if one else 'have'} more than {MAX_TERMS} terms"


def _too_long(one: bool) -> str:
    return (
        f"{'is' if one else 'are'} longer than the {MAX_LENGTH}-character answer box when "
        "written out"
    )


def _offered(d, name: str) -> tuple[list[Entry], LeftOut]:
    """(entries offered, those left out), worked out once per derivation."""
    part, _ = owner(d, name)
    cache = part.facts.setdefault("practice entries", {})
    if name not in cache:
        cache[name] = _judge_entries(part, name)
    return cache[name]


def _judge_entries(part, name: str) -> tuple[list[Entry], LeftOut]:
    m = part.inputs[name]
    along = part.op == "mlp chain"
    length = Lengths(inverse_names(names_for(part)))
    grads = (
        part.grads if part.practice_grads is None else part.practice_grads
    )  # as expected() asks them
    out, many, long = [], 0, 0
    for r in range(m.rows):
        for c in range(m.cols):
            answer = grads[name][r, c]
            n = len(sp.Add.make_args(answer)) if along else len(part.jac[name].get((r, c), {}))
            if answer == 0 or n == 0:
                continue
            if n > MAX_TERMS and not along:
                many += 1
            elif length(answer) > MAX_LENGTH:
                long += 1
            else:
                out.append(Entry(name, (r, c), n))
    return out, LeftOut(many, long)


def askable(d) -> dict[str, list[Entry]]:
    """Every input with at least one entry worth asking → those entries; for an MLP, the
    questions along its chain after the ones in each layer's terms."""
    found = {n: entries(d, n) for n in d.inputs}
    found.update({n: entries(d, n) for n in chain.questions(d)})
    return {n: e for n, e in found.items() if e}
