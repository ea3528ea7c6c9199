"""The answer as it was typed, node by node: where is it defined?

sympy simplifies while it builds: x11/x11 becomes 1 and 0*log(-1 - x11^2) becomes 0, so the
expression the checker compares no longer holds the division by 0 or the log of a negative
number that was typed. A gradient is a number wherever the lesson's function is defined, and so
must an answer be, as typed. So the typed syntax tree itself is evaluated here, one operation per
node and never through sympy's simplification, at the points the numbers compare
(``points``):

- in float64, all points at once: a node is undefined where its own operation is (a division by
  0, the log of a number ≤ 0, the square root of, or a fractional power of, a negative number,
  0 to a negative power) or where one of its inputs is; overflow is not "undefined" (exp(800)
  is a number), it only makes the values uncertain;
- at a point floats flag, in 50- and then 100-digit arithmetic: the point counts only where
  both precisions find the same node undefined, so rounding (1 − y11 as 0 where y11 rounds to
  1) never refuses a right answer.

The operations are the grammar's own (``mathtext.grammar.FUNCTIONS`` applied to a placeholder, evaluated
by ``mathtext.numeric``): nothing here defines what sigmoid or relu mean a second time. Names take the
values of what they stand for (y11 is sigmoid(x11) at that point); parts without names are the
numbers the parser built (they are finite and real, or the text was refused).
"""

from __future__ import annotations

import ast
import dataclasses
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Any

import numpy as np
import sympy as sp

from mathtext.grammar import FUNCTIONS, WINDOW_FUNCTION
from mathtext.numeric import Unsupported, evaluate

PRECISIONS = (50, 100)  # digits; a point is undefined only if both say so, at the same node
# high precision (mpmath) takes memory and time in proportion to log|u| for exp(u) (whose
# exponent it shifts into place: exp(exp(exp(exp(2)))) asked for gigabytes) and for sin(u)
# (reduced modulo π): past these an argument is beyond what a point can settle
MAX_EXP_ARGUMENT = 1e15
MAX_TRIG_ARGUMENT = 1e300
_GROWING = {"exp", "sinh", "cosh", "tanh", "sigmoid"}
_PERIODIC = {"sin", "cos"}
_U = sp.Dummy("u")
_RELATIONS = {ast.Gt: sp.Gt, ast.GtE: sp.Ge, ast.Lt: sp.Lt, ast.LtE: sp.Le}
_ARITHMETIC = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


@dataclass(frozen=True)
class Node:
    """One operation as typed. ``kind``: "name", "number", "neg", "+", "-", "*", "/", "**",
    "call", "first_max" or "cond"; ``kids``: indices of its inputs (earlier in the list);
    ``value``: a name's sympy value, a number, a power's exponent, a function's name, a
    condition's relation class, or first_max's cell index; ``text``: the part as typed, for
    messages (for "/", from the divided factor on: x11/x11 in dy11*x11/x11)."""

    kind: str
    kids: tuple
    value: Any  # a sympy value, a number, a str or a class, by ``kind`` (above)
    text: str
    symbols: frozenset = frozenset()  # of the names in it


@dataclass(frozen=True)
class TypedTree:
    nodes: tuple  # inputs before the nodes using them; the last is the whole answer
    symbols: frozenset  # every symbol the typed names stand on (also those sympy dropped)


def typed_tree(builder, body) -> TypedTree:
    """The tree of ``body`` (the parsed text's syntax tree), with what ``builder`` (the
    parser's ``Builder``, after building it) knows: the names' values, the numbers it built,
    the text of each part."""
    nodes: list[Node] = []
    index: dict[int, int] = {}
    named = _named(body)
    stack = [(body, False)]
    while stack:
        node, ready = stack.pop()
        kids = _kids(node) if id(node) in named else []
        if kids and not ready:
            stack.append((node, True))
            stack.extend((k, False) for k in reversed(kids))
            continue
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd) and kids:
            index[id(node)] = index[id(kids[0])]
            continue
        ins = [index[id(k)] for k in kids]
        new = _node(node, ins, builder, named)
        own = new.value.free_symbols if new.kind == "name" else frozenset()
        symbols = frozenset(own).union(*(nodes[k].symbols for k in ins))
        nodes.append(dataclasses.replace(new, symbols=symbols))
        index[id(node)] = len(nodes) - 1
    return TypedTree(tuple(nodes), nodes[-1].symbols)


def _named(body) -> set:
    """ids of the syntax nodes with a name of the lesson below them (a function's own name,
    as in exp(…), is not one)."""
    out: set = set()
    stack = [(body, False)]
    while stack:
        node, ready = stack.pop()
        kids = _kids(node)
        if not ready and kids:
            stack.append((node, True))
            stack.extend((k, False) for k in kids)
            continue
        if isinstance(node, ast.Name) or any(id(k) in out for k in kids):
            out.add(id(node))
    return out


def _kids(node) -> list:
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.BinOp):  # a power's exponent is a number (the grammar's rule)
        return [node.left] if isinstance(node.op, ast.Pow) else [node.left, node.right]
    if isinstance(node, ast.Call):
        return list(node.args)
    if isinstance(node, ast.List):
        return _kids(node.elts[0])
    if isinstance(node, ast.Compare):
        return [node.left, node.comparators[0]]
    return []


def _id(node: ast.expr) -> str:
    """A plain name's text: the parser admits calls of names only, and the window function's
    arguments are its cells' names."""
    if not isinstance(node, ast.Name):
        raise ValueError(f"typed_tree: expected a plain name, got {ast.dump(node)}")
    return node.id


def _node(node, kids: list, builder, named) -> Node:
    text = builder.segment(node)
    if id(node) not in named:
        return Node("number", (), builder.built[id(node)], text)
    if isinstance(node, ast.Name):
        return Node("name", (), builder.names[node.id], text)
    if isinstance(node, ast.UnaryOp):
        return Node("neg", tuple(kids), None, text)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        return Node("**", tuple(kids), builder.built[id(node.right)], text)
    if isinstance(node, ast.BinOp):
        kind = _ARITHMETIC[type(node.op)]
        if kind == "/":
            text = _division_text(node, builder)
        return Node(kind, tuple(kids), None, text)
    if isinstance(node, ast.Call) and _id(node.func) == WINDOW_FUNCTION:
        cells = [_id(a) for a in node.args[1:]]
        return Node("first_max", tuple(kids[1:]), cells.index(_id(node.args[0])), text)
    if isinstance(node, ast.Call):
        return Node("call", tuple(kids), _id(node.func), text)
    compare = node.elts[0]
    return Node("cond", tuple(kids), _RELATIONS[type(compare.ops[0])], text)


def _division_text(node, builder) -> str:
    """a*b/c as typed from the last factor divided on: b/c (where the 0 shows)."""
    left = node.left
    while isinstance(left, ast.BinOp) and isinstance(left.op, (ast.Mult, ast.Div)):
        left = left.right
    start = left.col_offset + builder.lead
    end = node.end_col_offset + builder.lead
    return builder.text[builder.pos[start] : builder.pos[end - 1] + 1]


# ---------------------------------------------------------------- float64, every point at once


def undefined_mask(tree: TypedTree, env: dict, n: int) -> np.ndarray:
    """Where (a bool per point of ``env``, symbol → n values) floats find the typed answer
    undefined: one of its nodes is (module notes). Unsupported when a name's value holds
    something ``mathtext.numeric`` cannot compute."""
    values: list = []
    bad: list = []
    named: dict = {}  # a name's values, worked out once however often it was typed
    with np.errstate(all="ignore"):
        for node in tree.nodes:
            args = [values[k] for k in node.kids]
            if node.kind == "name" and node.value not in named:
                named[node.value] = _float_node(node, args, env, n)
            value, broken = (
                named[node.value] if node.kind == "name" else _float_node(node, args, env, n)
            )
            for k in node.kids:
                broken = broken | bad[k]
            values.append(value)
            bad.append(broken)
    return np.broadcast_to(bad[-1], (n,)).copy()


def _float_node(node, args, env, n):
    """(values, where this node's own operation is undefined)."""
    if node.kind == "name":
        return evaluate(node.value, env, shape=(n,)), False
    if node.kind == "number":
        return evaluate(node.value, {}, shape=(n,)), False
    if node.kind == "first_max":
        stacked = np.stack(np.broadcast_arrays(*args))
        return (np.argmax(stacked, axis=0) == node.value).astype(float), False
    if node.kind == "cond":
        return _compare(node, *args), False
    a = args[0]
    if node.kind == "neg":
        return -a, False
    if node.kind in ("+", "-", "*"):
        b = args[1]
        return {"+": a + b, "-": a - b, "*": a * b}[node.kind], False
    if node.kind == "/":
        return a / args[1], args[1] == 0
    if node.kind == "**":
        p = node.value
        broken = ((a < 0) & (not p.is_integer)) | ((a == 0) & bool(p < 0))
        return np.power(a, float(p)), broken
    return evaluate(_template(node.value), {_U: a}, shape=(n,)), _outside(node.value, a)


def _compare(node, a, b):
    op = {sp.Gt: np.greater, sp.Ge: np.greater_equal, sp.Lt: np.less, sp.Le: np.less_equal}
    return op[node.value](a, b).astype(float)


@cache
def _template(name: str):
    """The grammar's function ``name`` of a placeholder, for ``mathtext.numeric`` to evaluate."""
    return FUNCTIONS[name](_U)


def _outside(name: str, a):
    """Where a function of the grammar is undefined at its argument a (floats or a sympy
    number): log of a number ≤ 0, sqrt of a negative one. The others are defined everywhere."""
    if name == "log":
        return a <= 0
    if name == "sqrt":
        return a < 0
    return False


# ---------------------------------------------------------------- high precision, one point


def first_undefined(tree: TypedTree, point: dict) -> tuple[str, frozenset] | None:
    """Why the typed answer is undefined at ``point`` (symbol → float), naming its first
    undefined part, and the symbols in its input that is 0 or negative; found in 50- and in 100-digit arithmetic
    alike. None when it is defined there, or when the two precisions disagree (the value is
    beyond what they settle: no refusal)."""
    found = [_precise_walk(tree, point, digits) for digits in PRECISIONS]
    if found[0] is None or found[0] != found[1]:
        return None
    i, at_zero = found[0]
    node = tree.nodes[i]
    # the input that is out of its range: a divisor, a base, a function's argument
    return why_undefined(node, at_zero), tree.nodes[node.kids[-1]].symbols


def _precise_walk(tree, point, digits: int):
    """(index, its first input's value) of the first node whose own operation is undefined at
    ``point``, in ``digits``-digit arithmetic; None when every node is defined (or a value is
    unsure)."""
    sub = {s: point_value(v, digits + 10) for s, v in point.items()}
    values: list = []
    named: dict = {}  # a name's value, worked out once however often it was typed
    for i, node in enumerate(tree.nodes):
        args = [values[k] for k in node.kids]
        if node.kind == "call" and not within_precision(node.value, args[0]):
            return None
        if node.kind == "name" and node.value in named:
            values.append(named[node.value])
            continue
        try:
            value, broken = _precise_node(node, args, sub, digits)
        except (ArithmeticError, TypeError, ValueError, MemoryError, RecursionError):
            return None
        if broken:
            return i, args[0] == 0
        if not (value.is_number and value.is_extended_real and value.is_finite):
            return None  # a value this precision does not settle (overflow, a name undefined)
        if node.kind == "name":
            named[node.value] = value
        values.append(value)
    return None


def within_precision(name: str, u) -> bool:
    """Whether the grammar's function ``name`` at ``u`` (a number) is within what high
    precision computes at a modest cost (see MAX_EXP_ARGUMENT)."""
    try:
        size = abs(float(u))
    except (TypeError, ValueError, OverflowError):
        return False
    if name in _GROWING:
        return size <= MAX_EXP_ARGUMENT
    if name in _PERIODIC:
        return size <= MAX_TRIG_ARGUMENT
    return True


def beyond_precision(expr, point: dict) -> bool:
    """Whether ``expr`` at ``point`` holds an exponential, hyperbolic or trigonometric function
    of an argument past what high precision computes at a modest cost (or one floats cannot
    size): then the point is not settled in high precision."""
    for n in expr.atoms(sp.exp, sp.sinh, sp.cosh, sp.tanh, sp.sin, sp.cos, sp.tan):
        try:
            u = evaluate(n.args[0], {s: point[s] for s in n.args[0].free_symbols})
        except (Unsupported, KeyError):
            return True
        name = "exp" if not isinstance(n, (sp.sin, sp.cos, sp.tan)) else "sin"
        if not np.isfinite(u) or not within_precision(name, u):
            return True
    return False


def point_value(v: float, digits: int):
    """A point's coordinate for high precision, exact: the fraction of denominator ≤ 10⁶ that
    the float v is the nearest float to (0.123 is 123/1000: a kink a learner typed at 0.123 is
    met exactly), else the float's own binary fraction. Exact, because evalf then raises its
    working precision where terms cancel: σ(z) − σ(z)² at z = 220 is 2.85·10⁻⁹⁶, where a
    ``digits``-digit Float would give 0 at any precision below 96 digits and refuse a right
    answer. Both sides are evaluated at the same point."""
    frac = Fraction(v).limit_denominator(10**6)
    if float(frac) == v:
        return sp.Rational(frac.numerator, frac.denominator)
    exact = Fraction(v)
    return sp.Rational(exact.numerator, exact.denominator)


def _precise_node(node, args, sub, digits):
    if node.kind == "name":
        return node.value.xreplace(sub).evalf(digits), False
    if node.kind == "number":
        return node.value.evalf(digits), False
    if node.kind == "first_max":
        top = max(args)
        return sp.Integer(next(i for i, v in enumerate(args) if v == top) == node.value), False
    if node.kind == "cond":
        return sp.Integer(bool(node.value(*args))), False
    a = args[0]
    if node.kind == "neg":
        return -a, False
    if node.kind in ("+", "-", "*"):
        b = args[1]
        return {"+": a + b, "-": a - b, "*": a * b}[node.kind], False
    if node.kind == "/":
        return (a / args[1] if args[1] != 0 else sp.nan), args[1] == 0
    if node.kind == "**":
        p = node.value
        if (a < 0 and not p.is_integer) or (a == 0 and p < 0):
            return sp.nan, True
        return (a**p).evalf(digits), False
    if bool(_outside(node.value, a)):
        return sp.nan, True
    return FUNCTIONS[node.value](a).evalf(digits), False


def why_undefined(node: Node, at_zero: bool = False) -> str:
    """What the typed part ``node`` does where it is undefined (``at_zero``: its first input
    is 0 there)."""
    if node.kind == "/" or (node.kind == "**" and at_zero):
        return f"it divides by 0 in {node.text}"
    if node.kind == "**" or (node.kind == "call" and node.value == "sqrt"):
        return f"it takes a root of a negative number in {node.text}"
    if node.kind == "call" and node.value == "log":
        return f"it takes the log of a number that is not positive in {node.text}"
    return f"{node.text} has no value there"


__all__ = [
    "Node",
    "TypedTree",
    "Unsupported",
    "first_undefined",
    "typed_tree",
    "undefined_mask",
    "why_undefined",
]
