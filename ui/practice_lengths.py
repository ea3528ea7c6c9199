"""How long an entry's answer is when typed (practice offers only what fits the box):
exactly, by printing it as the feedback does, or by bounds that settle most entries without
printing. Pure (no Streamlit)."""

from __future__ import annotations

import sympy as sp

from mathtext.grammar import MAX_LENGTH
from mathtext.typed_names import term_text


def answer_length(expected, inverse: dict) -> int:
    """Characters of ``expected`` typed as the feedback writes it (the learner's names, the
    lesson's named quantities where they appear as they are, first_max for a max-pool
    window), or a bound on them past MAX_LENGTH."""
    return Lengths(inverse)(expected)


class Lengths:
    """answer_length for many entries of one question: printing every entry of a 16×16 max
    pool only to measure it took 3 s; bounds decide most entries without printing."""

    def __init__(self, inverse: dict):
        self.named = {v: sp.Dummy("named") for v in inverse if not v.is_Atom}
        self.names = {k: v for k, v in inverse.items() if k.is_Atom}
        self.names.update({d: inverse[v] for v, d in self.named.items()})
        self.memo: dict = {}

    def __call__(self, expected) -> int:
        if self.named:
            expected = expected.xreplace(self.named)
        low, brackets = _printed_bounds(expected, self.names, self.memo)
        if low > MAX_LENGTH or low + brackets <= MAX_LENGTH:
            return low
        return len(term_text(expected, self.names))


def _printed_bounds(e, names: dict, memo: dict) -> tuple[int, int]:
    """(characters without any bracket, characters the brackets may add) of e printed by
    term_text: the first never exceeds the real length, their sum never falls short of it."""
    if e in memo:
        return memo[e]
    if e.func.__name__ == "FirstMax":
        q, xs = e.args
        cells = [_printed_bounds(x, names, memo)[0] for x in xs]
        memo[e] = (11 + cells[int(q)] + sum(cells) + 2 * len(cells), 0)
        return memo[e]
    if e.is_Symbol:
        out = (len(names.get(e) or e.name), 0)
    elif e.is_Number:  # 1 and −1 as coefficients, −1 as an exponent, print as nothing or /
        out = (0, len(str(e)) + 2)
    elif isinstance(e, sp.Tuple) or not e.args:
        out = (len(str(e)), 0)
    else:
        parts = [_printed_bounds(a, names, memo) for a in e.args]
        low, brackets = sum(p[0] for p in parts), sum(p[1] for p in parts) + 2
        if e.is_Add:
            low += 3 * (len(parts) - 1)
        elif e.is_Mul:
            low += sum(1 for a in e.args if not a.is_Number) - 1
            brackets += 3 * len(parts)
        elif e.is_Pow:
            low, brackets = parts[0][0], brackets + parts[1][0] + 6
        else:  # a function, a condition, a Piecewise: printed shorter (sign(u)) or longer
            # (leaky ReLU's [c] + 0.01*[not c]) than its parts, so only loose bounds
            low, brackets = 1, 3 * (low + brackets) + 20
        out = (low, brackets)
    memo[e] = out
    return out
