"""A node's gradient as a formula in the graph's names, for the practice box: "what is this
node's gradient?" answered with a formula is checked by ``check_answer`` against the sympy
expression built here.

Names never become sympy symbols by their text: the k-th name is the symbol ``v_{k}`` (a fixed
pattern, ``name_symbols``), and the learner's typed names are mapped to those symbols; the
preview's LaTeX is written back in the learner's names by ``in_names``.

The graph's structure goes to the worker process as plain data (``structure``), where
``gradient_here`` builds each node's value as sympy builds the practice box's formulas (the
grammar's own functions: sigmoid as 1/(1 + e^−u), relu as a Piecewise, a condition as a
Piecewise of 1 and 0) and takes ∂output/∂node by the chain rule along the graph: sympy's
automatic simplification on nested functions can take minutes, so this runs under the
worker's deadline, never in the app's process.
"""

from __future__ import annotations

import re
from fractions import Fraction

import sympy as sp

from .grammar import FUNCTIONS

_CONDITIONS = {"[>]": sp.Gt, "[>=]": sp.Ge, "[<]": sp.Lt, "[<=]": sp.Le}
# functions the numbers know that the grammar may not list yet (graph_numbers has them)
_MORE = {"cosh": sp.cosh, "sinh": sp.sinh, "sign": sp.sign}
_SPLIT = re.compile(r"([A-Za-z]+)([0-9]+)")


def name_symbols(names) -> dict[str, sp.Symbol]:
    """Each name → its symbol, made from a fixed pattern and the name's position only."""
    return {n: sp.Symbol(f"v_{{{k + 1}}}", real=True) for k, n in enumerate(names)}


def structure(g) -> tuple:
    """The graph as plain data for the worker: per node (op, inputs, exponent, value, the
    name's position for an input leaf)."""
    where = {n: k for k, n in enumerate(g.names)}
    return tuple(
        (n.op, n.inputs, n.exponent, n.value, where.get(n.label) if n.op == "input" else None)
        for n in g.nodes
    )


def _number(v: float):
    """A constant exactly where it is a short fraction (0.5 → 1/2), else a float."""
    f = Fraction(v).limit_denominator(1000)
    return sp.Rational(f.numerator, f.denominator) if float(f) == v else sp.Float(v)


def _value(node, ins: list, symbols: list):
    op, _, exponent, value, k = node
    if op == "input":
        return symbols[k]
    if op == "const":
        return _number(value)
    if op in FUNCTIONS or op in _MORE:
        return {**_MORE, **FUNCTIONS}[op](ins[0])
    if op == "neg":
        return -ins[0]
    if op == "**":
        f = Fraction(exponent).limit_denominator(10)
        return ins[0] ** sp.Rational(f.numerator, f.denominator)
    if op in _CONDITIONS:
        return sp.Piecewise((1, _CONDITIONS[op](ins[0], ins[1])), (0, True))
    a, b = ins
    return {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[op]


def gradient_here(struct: tuple, node: int, symbols: list) -> sp.Expr:
    """∂output/∂``node`` in the name symbols (the output is the last node): the sum, over
    every use of ``node``, of the user's local derivative times the user's own gradient.
    Runs in the worker (see the module notes)."""
    values: list = []
    for item in struct:
        values.append(_value(item, [values[i] for i in item[1]], symbols))
    grads: dict[int, sp.Expr] = {len(struct) - 1: sp.Integer(1)}
    for i in range(len(struct) - 1, node, -1):  # every user of node comes after it
        if i not in grads or not struct[i][1]:
            continue
        for slot, k in enumerate(struct[i][1]):
            if k < node or (k != node and not _leads_to(struct, k, node)):
                continue
            grads[k] = grads.get(k, sp.Integer(0)) + _local(struct[i], values, slot) * grads[i]
    return grads.get(node, sp.Integer(0))


def _leads_to(struct: tuple, k: int, node: int) -> bool:
    """Whether ``node`` is below ``k`` (an input of it, or of its inputs)."""
    stack = [k]
    while stack:
        i = stack.pop()
        if i == node:
            return True
        stack.extend(j for j in struct[i][1] if j >= node)
    return False


def _local(item: tuple, values: list, slot: int) -> sp.Expr:
    """∂(this node)/∂(its input ``slot``), as sympy differentiates the node's own formula
    with that input a fresh symbol (relu's gives relu's derivative Piecewise, as the lessons)."""
    t = sp.Dummy("t", real=True)
    ins = [values[i] for i in item[1]]
    ins = [t if s == slot else v for s, v in enumerate(ins)]  # x*x: t*x, then x*t
    return sp.diff(_value(item, ins, []), t).subs(t, values[item[1][slot]])


def in_names(latex: str, names) -> str:
    """The preview's LaTeX with each symbol ``v_{k}`` written as the learner's k-th name
    (x1 → x_{1}, w_b → w\\_b): names are letters, digits and _ (the graph's rule), so
    nothing in them is LaTeX."""
    for k in range(len(names), 0, -1):
        latex = latex.replace(f"v_{{{k}}}", name_latex(names[k - 1]))
    return latex


def name_latex(name: str) -> str:
    m = _SPLIT.fullmatch(name)
    if m:
        letters, digits = m.groups()
        head = letters if len(letters) == 1 else rf"\mathit{{{letters}}}"
        return f"{head}_{{{digits}}}"
    if len(name) == 1:
        return name
    escaped = name.replace("_", r"\_")
    return rf"\mathit{{{escaped}}}"
