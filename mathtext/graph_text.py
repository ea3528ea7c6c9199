"""The words and formulas of the computational-graph page: how each node is computed from its
inputs, each local derivative's rule with the numbers put in, and why a gradient is inf or nan.

Only numbers and fixed text go into the LaTeX: a node's label (what the learner typed) never
does; the page names nodes in Markdown code spans. No sympy, no streamlit.
"""

from __future__ import annotations

import math

from .graph_numbers import plain


def num(v: float) -> str:
    """A number for a formula: at most 4 decimals, trailing zeros dropped (2, -3, 0.7071);
    powers of ten past 1e6 or below 1e-4; ∞ and nan in words."""
    v = float(v) + 0.0  # -0.0 reads as 0
    if math.isnan(v):
        return r"\text{nan}"
    if math.isinf(v):
        return r"\infty" if v > 0 else r"-\infty"
    if v == 0 or 1e-4 <= abs(v) < 1e6:
        s = f"{v:.4f}".rstrip("0").rstrip(".")
        return "0" if s in ("-0", "") else s
    mant, exp = f"{v:.3e}".split("e")
    mant = mant.rstrip("0").rstrip(".")
    return rf"{mant} \cdot 10^{{{int(exp)}}}"


def factor(v: float) -> str:
    """``num`` in brackets where a minus sign would read as subtraction."""
    s = num(v)
    return f"({s})" if s.startswith("-") else s


def text(v: float) -> str:
    """A number for running text and tables (not LaTeX): as ``num``, e in place of ·10^."""
    v = float(v) + 0.0
    if not math.isfinite(v):
        return str(v)
    if v == 0 or 1e-4 <= abs(v) < 1e6:
        s = f"{v:.4f}".rstrip("0").rstrip(".")
        return "0" if s in ("-0", "") else s
    return f"{v:.4g}"


_FUNCS = {
    "exp": r"e^{{{0}}}",
    "log": r"\log({0})",
    "sin": r"\sin({0})",
    "cos": r"\cos({0})",
    "tanh": r"\tanh({0})",
    "sigmoid": r"\sigma({0})",
    "relu": r"\operatorname{{relu}}({0})",
    "sqrt": r"\sqrt{{{0}}}",
    "abs": r"\lvert {0} \rvert",
    "cosh": r"\cosh({0})",
    "sinh": r"\sinh({0})",
    "sign": r"\operatorname{{sign}}({0})",
}
_CONDITIONS = {"[>]": ">", "[>=]": r"\ge", "[<]": "<", "[<=]": r"\le"}


def _exponent(p: float) -> str:
    return num(p) if float(p).is_integer() else _fraction(p)


def _fraction(p: float) -> str:
    from fractions import Fraction

    f = Fraction(p).limit_denominator(10)
    if abs(float(f) - p) < 1e-12 and f.denominator != 1:
        return rf"{'-' if f < 0 else ''}\tfrac{{{abs(f.numerator)}}}{{{f.denominator}}}"
    return num(p)


def computed(g, i: int) -> str:
    """How node ``i`` is computed, with its inputs' values: 2 \\times (-3) = -6."""
    n = g.nodes[i]
    vals = [g.nodes[k].value for k in n.inputs]
    if not n.inputs:
        return num(n.value)
    return f"{_form(n, vals)} = {num(n.value)}"


def _form(n, vals: list[float]) -> str:
    """The node's operation written on its inputs' values (a second operand that is
    negative in brackets)."""
    op, a = n.op, [num(v) for v in vals]
    if op in _FUNCS:
        return _FUNCS[op].format(a[0])
    if op == "neg":
        return f"-({a[0]})"
    if op == "**":
        return f"{factor(vals[0])}^{{{_exponent(n.exponent)}}}"
    if op in _CONDITIONS:
        return rf"[{a[0]} {_CONDITIONS[op]} {a[1]}]"
    if op == "/":
        return rf"\frac{{{a[0]}}}{{{a[1]}}}"
    sign = r"\times" if op == "*" else op
    return f"{a[0]} {sign} {factor(vals[1])}"


def rule(g, i: int, slot: int) -> str:
    """Node ``i``'s local derivative with respect to its input ``slot``: the rule in α (its
    input; α and β, first and second, for an operation of two), the numbers put in, the
    result. Greek letters, because the learner's names are Latin ones."""
    n = g.nodes[i]
    vals = [g.nodes[k].value for k in n.inputs]
    out: list[str] = []
    for part in (*_rule_parts(n, slot, vals), num(n.local[slot])):
        if part is not None and (not out or part != out[-1]):
            out.append(part)
    return " = ".join(out)


def _rule_parts(n, slot: int, vals: list[float]) -> tuple[str, str | None]:
    """(the rule in α and β; the rule with the numbers put in, or None where it adds nothing)."""
    u, y, op = vals[0], n.value, n.op
    if op in ("+", "-", "neg", "*", "/", "**"):
        return _arithmetic(n, slot, vals)
    table = {
        "exp": (r"e^{\alpha}", rf"e^{{{num(u)}}}"),
        "log": (r"\frac{1}{\alpha}", rf"\frac{{1}}{{{num(u)}}}"),
        "sin": (r"\cos\alpha", rf"\cos({num(u)})"),
        "cos": (r"-\sin\alpha", rf"-\sin({num(u)})"),
        "tanh": (r"1 - \tanh^2\alpha", rf"1 - {factor(y)}^2"),
        "sigmoid": (r"\sigma(\alpha)\,(1 - \sigma(\alpha))", rf"{num(y)}\,(1 - {num(y)})"),
        "relu": (r"[\alpha > 0]", f"[{num(u)} > 0]"),
        "sqrt": (r"\frac{1}{2\sqrt{\alpha}}", rf"\frac{{1}}{{2 \cdot {num(y)}}}"),
        "abs": (r"\operatorname{sign}(\alpha)", rf"\operatorname{{sign}}({num(u)})"),
        "cosh": (r"\sinh\alpha", rf"\sinh({num(u)})"),
        "sinh": (r"\cosh\alpha", rf"\cosh({num(u)})"),
    }
    return table.get(op, ("0", None))  # sign and the conditions are flat: no slope


def _arithmetic(n, slot: int, vals: list[float]) -> tuple[str, str | None]:
    op, u = n.op, vals[0]
    if op == "+":
        return "1", None
    if op in ("-", "neg"):
        return ("1" if op == "-" and slot == 0 else "-1"), None
    if op == "*":
        return (r"\beta" if slot == 0 else r"\alpha"), None
    if op == "/":
        a, b = vals
        if slot == 0:
            return r"\frac{1}{\beta}", rf"\frac{{1}}{{{num(b)}}}"
        return r"-\frac{\alpha}{\beta^2}", rf"-\frac{{{num(a)}}}{{{factor(b)}^2}}"
    p = n.exponent
    if p == 0:
        return "0", None
    e, e1 = _exponent(p), _exponent(p - 1)
    return rf"{e}\,\alpha^{{{e1}}}", rf"{e} \cdot {factor(u)}^{{{e1}}}"


def why_not_finite(g, i: int, slot: int) -> str:
    """Why node ``i``'s local derivative with respect to input ``slot`` is inf or nan, in
    words (the node is named by the caller)."""
    n = g.nodes[i]
    u = g.nodes[n.inputs[slot]].value
    if n.op == "sqrt":
        return (
            f"sqrt′(α) = 1/(2√α) is infinite at α = {plain(u)}: the square root's curve "
            "stands vertical at 0"
        )
    if n.op == "**" and n.exponent is not None and n.exponent < 1:
        return (
            f"(α^p)′ = p·α^(p−1) with p = {plain(n.exponent)} below 1 is infinite at α = {plain(u)}"
        )
    if n.op == "/":
        return f"a division's derivative is infinite for a divisor of {plain(u)}"
    return f"its local derivative is {n.local[slot]} at α = {plain(u)}"
