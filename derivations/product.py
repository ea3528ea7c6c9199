"""Products in the lessons' LaTeX, joined as sympy's printer joins the factors of a product.

A lesson writes ∂J/∂y₁₁ · ∂y₁₁/∂x₁₁ with the factors in the notes' order, which sympy would
re-sort or fold into one fraction, so the factors are printed one by one and joined here. The
join is sympy's own (``LatexPrinter._print_Mul``): a factor after the first is bracketed when
the printer would bracket it (a sum, a negative term, a Piecewise), and two numbers are
separated by ``\\cdot``. Joined as plain strings, ∂J/∂y₁₁ and −1/x₁₁² read as a subtraction.

    product_tex([(up, None), (partial, None)])  # \\frac{∂J}{∂y_{11}} \\left(- \\frac{1}{x_{11}^{2}}\\right)
    product_tex([(up, None), (None, r"[x_{11} > 0]")], sep=r" \\cdot ")  # text as it is
"""

from __future__ import annotations

import re

import sympy as sp

# the lessons' printer (indicators as [x > 0], relu(u) as ReLU(u)) decides the brackets
from mathtext.parse import Latex

from .typeset import tex

_PRINTER = Latex()
# sympy's test for "between two numbers" (sympy.printing.latex._between_two_numbers_p)
_ENDS_IN_DIGIT = re.compile(r"[0-9][} ]*$")
_STARTS_WITH_NUMBER = re.compile(r"(\d|\\frac{\d+}{\d+})")


def needs_brackets(e, *, first: bool = False, last: bool = True) -> bool:
    """Whether sympy's printer brackets ``e`` as a factor of a product."""
    if e.__class__ is sp.Symbol:  # most partials; the question costs a tree walk otherwise
        return False
    e = sp.sympify(e)
    if first and e.is_Number:  # a leading sign belongs to the whole term: -0.5 [x ≤ 0]
        return False
    return _PRINTER._needs_mul_brackets(e, first=first, last=last)


def bracketed(text: str) -> bool:
    """Whether ``text`` is one \\left( … \\right) group from end to end."""
    if not (text.startswith(r"\left(") and text.endswith(r"\right)")):
        return False
    depth = 0
    for m in re.finditer(r"\\left[(\[.]|\\right[)\].]", text):
        depth += 1 if m.group(0).startswith(r"\left") else -1
        if depth == 0 and m.end() < len(text):
            return False
    return True


def factor_tex(e, text: str | None = None, *, first: bool = False, last: bool = True) -> str:
    """e's LaTeX (``text`` when given, e.g. a lesson's [x₁₁ > 0]) as a factor of a product:
    in \\left( \\right) where sympy's printer would bracket it and ``text`` is not already."""
    body = tex(e) if text is None else text
    if bracketed(body) or not needs_brackets(e, first=first, last=last):
        return body
    return rf"\left({body}\right)"


def product_tex(factors, sep: str = " ") -> str:
    """The LaTeX of a product of ``factors``, [(expr, its LaTeX or None), …] in the order
    given, joined by ``sep`` (or ``\\cdot`` between two numbers) as sympy's printer does. A
    factor (None, text) is text already written as a factor (``factor_tex``)."""
    out = last = ""
    for i, (e, text) in enumerate(factors):
        first, final = i == 0, i == len(factors) - 1
        part = text if e is None else factor_tex(e, text, first=first, last=final)
        if out:
            between_numbers = _ENDS_IN_DIGIT.search(last) and _STARTS_WITH_NUMBER.match(part)
            out += r" \cdot " if between_numbers else sep
        out += part
        last = part
    return out


def times(coef, factors) -> str:
    """coef · f1 · f2 … as the notes write a forward term: x_{11} k_{11}, \\frac{1}{4} x_{11},
    - n_{11} (a coefficient of ±1 is written as its sign alone)."""
    if coef == 1 and factors:
        return product_tex([(f, None) for f in factors])
    if coef == -1 and factors:  # "-" then the factors, the first bracketed as if it followed
        head = factor_tex(factors[0], first=False, last=len(factors) == 1)
        return "-" + product_tex([(None, head), *((f, None) for f in factors[1:])])
    return product_tex([(sp.sympify(coef), None), *((f, None) for f in factors)])


__all__ = ["bracketed", "factor_tex", "needs_brackets", "product_tex", "times"]
