"""The names a learner types for a lesson's symbols (x_{11} → "x11", ∂L/∂z_{11} → "dz11"), and
terms printed back in that notation (``term_text``) for the checker's messages. Which names a
question offers is ``grading.names``."""

from __future__ import annotations

import re

import sympy as sp
from sympy.printing.str import StrPrinter

from .parse import is_indicator, relu_argument, sign_argument

_INDEXED = re.compile(r"([A-Za-z]+)_\{?([0-9,]+|[A-Za-z])\}?")
_LAYER = re.compile(r"\^\{\([0-9]+\)\}")


def typing_name(symbol) -> str:
    """What a learner types for a lesson symbol: x_{11} → x11, x_{1,10} → x1_10, f_{1} → f1,
    L_i → L_i, b → b. A network layer's superscript is dropped (w^{(2)}_{11} → w11): a
    question about one layer's part uses that layer's names (``grading.names_for`` refuses a
    clash)."""
    name = _LAYER.sub("", symbol.name).removeprefix("\\")  # \gamma_{1} → gamma1
    m = _INDEXED.fullmatch(name)
    if m:
        letter, idx = m.groups()
        if idx.isalpha():
            return f"{letter}_{idx}"
        return letter + idx.replace(",", "_")
    if name.isidentifier():
        return name
    raise ValueError(f"no typing name for the symbol {name!r}")


def inverse_names(names: dict) -> dict[sp.Symbol, str]:
    """Each symbol of ``names`` → the name the learner types for it (the first, if several)."""
    out: dict = {}
    for key, value in names.items():
        if isinstance(value, sp.Symbol) or _named_quantity(value):
            out.setdefault(value, key)
    return out


def _named_quantity(value) -> bool:
    """An expression the lesson gives a name of its own (softmax's p1 = e^f1 / Σ e^fj)."""
    return isinstance(value, sp.Expr) and not value.is_Atom


class _Plain(StrPrinter):
    """Terms as a learner would type them: dz21*k12, [x11 > 0], relu(x11)."""

    def __init__(self, inverse):
        super().__init__({"order": "none"})
        self.inverse = inverse

    def _print_Symbol(self, expr):
        return self.inverse.get(expr, typing_or_name(expr))

    _print_Dummy = _print_Symbol

    def _print_Piecewise(self, expr):
        if is_indicator(expr):
            return f"[{self._print(expr.args[0].cond)}]"
        for name, argument in (("relu", relu_argument), ("sign", sign_argument)):
            u = argument(expr)
            if u is not None:
                return f"{name}({self._print(u)})"
        # a Piecewise of the lessons' own (leaky ReLU's slope): a sum of values times their
        # conditions, which a learner can type
        parts: list = []
        before: list = []
        for value, cond in expr.args:
            holds = sp.And(cond, *[sp.Not(c) for c in before]) if before else cond
            before.append(cond)
            if holds is sp.false or value == 0:
                continue
            bracket = "" if holds is sp.true else f"[{self._print(holds)}]"
            factor = "" if value == 1 and bracket else self._print(value)
            parts.append("*".join(p for p in (factor, bracket) if p))
        return "(" + " + ".join(parts) + ")" if len(parts) > 1 else (parts or ["0"])[0]

    def _print_FirstMax(self, expr):
        q, xs = expr.args  # the window is one Tuple (see functions.FirstMax)
        window = ", ".join(self._print(x) for x in xs)
        return f"first_max({self._print(xs[int(q)])}, {window})"

    def _print_Abs(self, expr):
        return f"abs({self._print(expr.args[0])})"


def typing_or_name(symbol) -> str:
    try:
        return typing_name(symbol)
    except ValueError:
        return symbol.name


def term_text(term, inverse: dict) -> str:
    """A term in the learner's notation: the names they type, * for products, ^ for powers;
    a named quantity by its name (dL_i*p1, not dL_i*exp(f1)/(exp(f1) + exp(f2) + exp(f3)))."""
    inverse = dict(inverse)
    for value, name in list(inverse.items()):
        # subs finds p1 = e^f1/Σ inside dL_i·e^f1/Σ, but tries long even where it is not:
        # only where all of what the quantity is made of is there
        if _named_quantity(value) and value.free_symbols <= term.free_symbols:
            stand_in = sp.Dummy("named")  # unique; printed as its name through inverse
            term = term.subs(value, stand_in)
            inverse[stand_in] = name
    return _Plain(inverse).doprint(term).replace("**", "^")
