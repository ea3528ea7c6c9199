"""Pieces of the parser's messages: the text quoted, where in it (1-based positions in the text
as typed), a token as typed, the names and functions there are, a refused character's hint."""

from __future__ import annotations

import re
import unicodedata

from .grammar import CALLABLE, FUNCTION_LIST

_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱ"
_SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₒₓ"
_HINTS = {
    "√": "for a square root type sqrt(…)",
    "π": "π is not available here",
    "σ": "for the sigmoid type sigmoid(…)",
    "∂": "for ∂L/∂z₁₁ type dz11 (the names you can use are listed with the question)",
    "ℯ": "for e to a power type exp(…)",
    "∑": "write the sum out term by term",
    "⊙": "write each product out with *",
    "'": "no quotes are needed: type the formula itself",
    '"': "no quotes are needed: type the formula itself",
    "{": "use ( ) for grouping",
    "}": "use ( ) for grouping",
    "|": "for an absolute value type abs(…)",
    ";": "type one formula",
    ":": "type one formula",
}

_ORDINAL = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"]


def char_problem(text: str, i: int) -> str:
    ch = text[i]
    code = f"U+{ord(ch):04X}"
    cat = unicodedata.category(ch)
    at = f"at character {i + 1}"
    if cat == "Cf" or ch in "\u200b\u2060\ufeff":
        name = unicodedata.name(ch, "invisible character")
        return (
            f"there is an invisible character ({code} {name}) {at}: delete it "
            "(it often comes with pasted text)"
        )
    if cat.startswith("C"):
        return f"there is a control character ({code}) {at}: delete it"
    if ch in _SUPERSCRIPTS:
        return f"{show(text)}: use x**2 or x^2 for powers (the {ch} {at})"
    if ch in _SUBSCRIPTS:
        return f"{show(text)}: type subscripts as plain digits, x11 for x₁₁ (the {ch} {at})"
    hint = _HINTS.get(ch)
    if hint:
        return f"{show(text)}: {ch} {at} cannot be used here; {hint}"
    return (
        f"{show(text)}: {ch} {at} cannot be used here. A formula is made of numbers, names, "
        f"+ - * / ** ^, parentheses and the functions {FUNCTION_LIST}"
    )


def as_typed(text: str, pos: list[int], at: int, tok: str) -> str:
    """A token as it was typed (^ rather than the ** it became)."""
    if not tok:
        return tok
    return text[pos[at] : pos[at + len(tok) - 1] + 1]


def where(text: str, pos: list[int], at: int) -> str:
    """', at character 6' (1-based, in the text as typed) for index ``at`` of the translation."""
    return "," + at_char(text, pos, at) if pos else ""


def at_char(text: str, pos: list[int], at: int) -> str:
    return f" at character {pos[min(max(at, 0), len(pos) - 1)] + 1}" if pos else ""


def show(text: str) -> str:
    t = " ".join(text.split())
    if len(t) > 40:
        t = t[:37] + "…"
    return f"`{t}`"


def _name_list(names: dict) -> str:
    keys = sorted(names, key=_natural)
    if len(keys) > 12:
        keys = keys[:10] + ["…", keys[-1]]
    return ", ".join(keys)


def _natural(key: str):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", key)]


def not_a_function(text, tok, names, loc) -> str:
    if tok in names:
        return f"{show(text)}: {tok} is not a function{loc}; to multiply, write {tok}*(…)"
    if tok == "ln":
        return f"{show(text)}: `ln` is not a function here{loc}; the natural logarithm is log(…)"
    return f"{show(text)}: `{tok}` is not a function you can use here{loc} — try {FUNCTION_LIST}"


def unknown_name(text, tok, names, loc) -> str:
    if tok in CALLABLE:
        return f"{show(text)}: {tok} is a function: write {tok}(…) with its argument{loc}"
    hint = ""
    if tok == "e":
        hint = "; for e to a power type exp(…)"
    elif tok in ("pi", "inf", "nan", "infinity"):
        hint = "; only finite numbers can be typed"
    return (
        f"{show(text)}: `{tok}` is not a name in this lesson{loc}{hint} — you can use "
        f"{_name_list(names)}"
    )


def equals_outside(text: str, i: int, whole: bool = True) -> str:
    """An = outside any [ ] at character ``i`` (0-based, as typed): the learner wrote an
    equation (dx11 = …). With ``whole`` (the = splits the whole text) its right-hand side is
    quoted as what to type; inside ( ) that would cut a bracket in half."""
    rhs = text[i + 1 :].rsplit("=", 1)[-1].strip() if whole else ""
    if not rhs:  # worded for the practice box and /custom's f(x) box alike
        return (
            f"{show(text)}: an = (character {i + 1}) cannot be part of the formula: type the "
            "formula alone."
        )
    return f"{show(text)}: type only the formula after the = (character {i + 1}), here {show(rhs)}."


def equals_in_condition(text: str, i: int, left: str | None) -> str:
    """An = inside [ ] at character ``i``: a condition compares, it cannot say "equals"."""
    largest = (
        f" For “{left} is the largest”, multiply one bracket per entry it is compared with."
        if left
        else ""
    )
    return (
        f"{show(text)}: a condition cannot use = (character {i + 1}). Compare with >, >=, < "
        f"or <= (≥ and ≤ work too).{largest}"
    )


def ordinal(k: int) -> str:
    """'first', 'second', … for k = 0, 1, …; '10th', '11th', '21st' past the ninth."""
    if k < len(_ORDINAL):
        return _ORDINAL[k]
    n = k + 1
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
