"""The names a learner types for a lesson's symbols (x_{11} → "x11", ∂L/∂z_{11} → "dz11"),
the names a question offers (``names_for``), and terms printed back in that notation
(``term_text``) for the checker's messages."""

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
    question about one layer's part uses that layer's names (names_for refuses a clash)."""
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
    if "names" in d.facts:  # a part that brings its own (practice along an MLP's chain)
        return dict(d.facts["names"])
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
    for key, value in d.facts.get("named", {}).items():  # a lesson's own: batch norm's mu1
        add(key, value)
    return names


def _softmax_probabilities(d) -> dict:
    f = list(d.inputs["f"])
    total = sp.Add(*[sp.exp(v) for v in f])
    return {f"p{k + 1}": sp.exp(v) / total for k, v in enumerate(f)}


def _attention_probabilities(d) -> dict:
    """p11, p12, … → attention's weights p_ij (SoftmaxEntry nodes); a weight fixed at 0
    (masked) or 1 (a query that sees one key) has no name to type."""
    P, names = d.facts["probabilities"], d.facts["show"]["p"]
    return {typing_name(names[k]): P[k] for k in range(len(P)) if not P[k].is_Number}


# quantities the lessons name that are not inputs or outputs (a Derivation does not carry them)
_INTERMEDIATES = {
    "softmax_cross_entropy": _softmax_probabilities,
    "attention": _attention_probabilities,
}


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
        parts, before = [], []
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
        q, xs = expr.args  # the window is one Tuple (see algebra.FirstMax)
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
