"""The syntax tree of a formula: its size and depth (checked before anything is built), its
top-level summands, and the sympy expression built from it node by node from an allow-list,
with the bounds on the sympy tree (``Builder``). Only the building needs sympy's time: it runs
in the worker process (see ``parse``)."""

from __future__ import annotations

import ast
import math
import re
from fractions import Fraction
from typing import NoReturn

import sympy as sp

from .functions import FirstMax
from .grammar import (
    FUNCTION_LIST,
    FUNCTIONS,
    MAX_DENOMINATOR,
    MAX_EXPONENT,
    MAX_LITERAL,
    MAX_TOTAL_EXPONENT,
    MAX_TREE_DEPTH,
    MAX_TREE_SIZE,
    MIN_LITERAL,
    WINDOW_FUNCTION,
)
from .numeric import Unsupported
from .numeric import evaluate as _numeric
from .parse_messages import not_a_function, show, unknown_name, where

_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")

_CHAIN = {ast.Add: "sum", ast.Sub: "sum", ast.Mult: "product", ast.Div: "product"}


def syntax_size(body) -> tuple[int, int]:
    """Expression nodes and nesting depth, without recursion. A chain a + b + c + … counts as
    one level, not one per operator (Python nests it to the left), and so does a * b / c …"""
    count, deepest, todo = 0, 0, [(body, 1)]
    while todo:
        node, depth = todo.pop()
        if isinstance(node, ast.expr):
            count += 1
            deepest = max(deepest, depth)
        for child in ast.iter_child_nodes(node):
            same = (
                isinstance(node, ast.BinOp)
                and child is node.left
                and isinstance(child, ast.BinOp)
                and _CHAIN.get(type(child.op), 1) == _CHAIN.get(type(node.op), 2)
            )
            todo.append((child, depth if same else depth + 1))
    return count, deepest


def summand_nodes(body) -> list:
    """The top-level terms as typed, left to right, with their signs: a - b + c → (a, 1),
    (b, -1), (c, 1)."""
    out = []
    node = body
    while isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        out.append((node.right, 1 if isinstance(node.op, ast.Add) else -1))
        node = node.left
    out.append((node, 1))
    return out[::-1]


_NODE_WORDS = {
    ast.Attribute: "a . after a name (looking something up)",
    ast.Subscript: "square brackets after a name (indexing)",
    ast.Lambda: "lambda",
    ast.IfExp: "if … else",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.JoinedStr: "a text string",
    ast.NamedExpr: ":=",
    ast.Starred: "a *-argument",
    ast.Tuple: "a list of values separated by commas",
    ast.Dict: "a dictionary",
    ast.Set: "a set",
    ast.BoolOp: "and / or",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}


class Builder:
    def __init__(self, text, src, pos, names, lead):
        self.text, self.src, self.pos, self.names, self.lead = text, src, pos, names, lead
        self.built: dict[int, sp.Basic] = {}
        self.stats: dict = {}  # sympy node → (tree size, depth), shared by every check

    def where(self, node) -> str:
        return where(self.text, self.pos, getattr(node, "col_offset", 0) + self.lead)

    def segment(self, node) -> str:
        start = node.col_offset + self.lead
        end = node.end_col_offset + self.lead
        return self.text[self.pos[start] : self.pos[end - 1] + 1]

    def shown(self, node) -> str:
        """The node's text for a message, shortened: a message should fit a line or two."""
        seg = self.segment(node)
        return seg if len(seg) <= 30 else seg[:27] + "…"

    def fail(self, node, problem: str) -> NoReturn:
        raise ValueError(f"{show(self.text)}: {problem}{self.where(node)}")

    def build(self, node, in_brackets: bool = False):
        if id(node) in self.built:
            return self.built[id(node)]
        try:
            value = self._build(node, in_brackets)
        except ValueError:
            raise
        except Exception:  # sympy refusing something (a TypeError, say): still the learner's text
            self.fail(node, f"{self.shown(node)} could not be worked out")
        self.check_size(node, value)
        if not value.free_symbols:
            self.check_number(node, value)
        self.built[id(node)] = value
        return value

    def check_size(self, node, value, extra: int = 0):
        size, depth = tree_stats(value, self.stats)
        if size + extra > MAX_TREE_SIZE:
            self.fail(
                node,
                f"{self.shown(node)} is too big once written out ({size + extra} parts; relu "
                f"repeats what is inside it); the limit is {MAX_TREE_SIZE}",
            )
        if depth > MAX_TREE_DEPTH:
            self.fail(
                node,
                f"{self.shown(node)} is nested too deeply to work with ({depth} levels once "
                f"written out for sympy, where sigmoid counts 4; the limit is "
                f"{MAX_TREE_DEPTH}). Nest fewer functions",
            )

    def check_number(self, node, value):
        """Every sub-expression without names must be a finite real float64 before anything
        is built on it (sympy decides signs of number expressions numerically)."""
        if value.is_Boolean or isinstance(value, sp.logic.boolalg.Boolean):
            return
        if value is sp.S.ComplexInfinity or value.has(sp.S.ComplexInfinity):
            self.fail(node, f"{self.shown(node)} divides by zero")
        if value.has(sp.S.NaN):
            self.fail(node, f"{self.shown(node)} is undefined")
        if value.has(sp.I):
            self.fail(node, f"{self.shown(node)} is not a real number")
        try:
            v = float(_numeric(value, {}))
        except Unsupported:
            self.fail(node, f"{self.shown(node)} could not be worked out")
        if math.isnan(v):
            self.fail(node, f"{self.shown(node)} is undefined (not a real number)")
        if math.isinf(v):
            self.fail(node, f"{self.shown(node)} is too large to work with")

    def _build(self, node, in_brackets):
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            if node.id in self.names:
                return self.names[node.id]
            raise ValueError(unknown_name(self.text, node.id, self.names, self.where(node)))
        if isinstance(node, ast.UnaryOp):
            operand = self.build(node.operand)
            if isinstance(node.op, ast.USub):
                return -operand
            if isinstance(node.op, ast.UAdd):
                return operand
            self.fail(node, "only - and + can stand before a value")
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.List):
            if len(node.elts) != 1 or not isinstance(node.elts[0], ast.Compare):
                self.fail(node, "square brackets hold one condition, such as [x11 > 0]")
            return self.build(node.elts[0], in_brackets=True)
        if isinstance(node, ast.Compare):
            return self.condition(node, in_brackets)
        what = _NODE_WORDS.get(type(node), type(node).__name__)
        self.fail(node, f"{what} is not allowed in a formula")

    def constant(self, node):
        value = node.value
        literal = self.segment(node)
        shown = literal if len(literal) <= 20 else literal[:12] + "…"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(node, f"{shown} is not a number you can use")
        m = _NUMBER.fullmatch(literal)
        if not m:
            self.fail(node, f"write {shown} as a plain decimal number")
        mantissa, _, power = literal.lower().partition("e")
        if not math.isfinite(value) or abs(value) > MAX_LITERAL or int(power or 0) > 99:
            self.fail(node, f"the number {shown} is too large: numbers here are at most 10^12")
        if (value == 0 and mantissa.strip("0.")) or 0 < abs(value) < MIN_LITERAL:
            self.fail(node, f"the number {shown} is too small: numbers here are at least 10^-12")
        # exact, and cheap: the exponent part is at most 99 here (0e-999999999 would make
        # Fraction compute 10**999999999)
        frac = Fraction(literal) if abs(int(power or 0)) <= 99 else Fraction(0)
        return sp.Rational(frac.numerator, frac.denominator)

    def binop(self, node):
        op = node.op
        if isinstance(op, ast.Pow):
            return self.power(node)
        if type(op) in _CHAIN and isinstance(node.left, ast.BinOp):
            self.chain(node.left)  # builds a long left chain iteratively, not recursively
        left, right = self.build(node.left), self.build(node.right)
        if isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Mult):
            return left * right
        if isinstance(op, ast.Div):
            if right == 0:
                self.fail(node.right, f"{self.shown(node)} divides by zero")
            return left / right
        symbol = {ast.MatMult: "@", ast.Mod: "%", ast.FloorDiv: "//"}.get(type(op), type(op))
        self.fail(node, f"{symbol} is not an operator you can use (+ - * / ** ^ are)")

    def chain(self, node):
        """Build the left spine of a + b + c + … (or a * b / c …) bottom-up, so a 100-term sum
        does not recurse 100 levels deep; each node lands in ``built`` for binop to reuse."""
        spine = []
        while (
            isinstance(node, ast.BinOp)
            and type(node.op) in _CHAIN
            and id(node) not in self.built
            and isinstance(node.left, ast.BinOp)
        ):
            spine.append(node)
            node = node.left
        for n in reversed(spine):
            self.build(n.left)
            self.build(n)

    def power(self, node):
        base = self.build(node.left)
        exponent = self.build(node.right)
        shown = self.shown(node.right)
        if exponent.free_symbols:
            self.fail(
                node.right,
                f"the exponent {shown} must be a number such as 2, -1 or 1/2 "
                "(for e to a power type exp(…))",
            )
        if not exponent.is_Rational:
            self.fail(
                node.right, f"the exponent {shown} must be a whole number or a fraction like 1/2"
            )
        if abs(exponent) > MAX_EXPONENT:
            self.fail(node.right, f"the exponent {shown} is too large: at most {MAX_EXPONENT}")
        if exponent.q > MAX_DENOMINATOR:
            self.fail(
                node.right,
                f"the exponent {shown} must be a simple fraction such as 1/2 or 1/3",
            )
        if base == 0 and exponent < 0:
            self.fail(node, f"{self.shown(node)} divides by zero")
        # a number base is a finite float64 (check_number) and |exponent| <= 10: the exact
        # result has at most ~3,100 digits, and check_number refuses it if past float64
        return base**exponent

    def call(self, node):
        if not isinstance(node.func, ast.Name):
            self.fail(node, "only the functions " + FUNCTION_LIST + " can be called")
        name = node.func.id
        if name not in FUNCTIONS and name != WINDOW_FUNCTION:
            raise ValueError(not_a_function(self.text, name, self.names, self.where(node)))
        if node.keywords:
            self.fail(node, f"{name}(…) takes its argument without a name=")
        if name == WINDOW_FUNCTION:
            return self.first_max(node)
        if len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            self.fail(node, f"{name}(…) takes exactly one argument")
        arg = self.build(node.args[0])
        if name == "relu":
            self.check_size(node, arg, extra=tree_stats(arg, self.stats)[0] + 4)  # u twice
        if name == "log" and arg == 0:
            self.fail(node, f"{self.shown(node)} is undefined (log of 0)")
        return FUNCTIONS[name](arg)

    def first_max(self, node):
        """first_max(c, w1, w2, …): the cell c and its window, each a name of the lesson."""
        usage = (
            f"{WINDOW_FUNCTION}(c, w1, w2, …) takes a cell c, then its whole window in reading "
            "order, c included: each a name of an input entry"
        )
        args = node.args
        if len(args) < 3 or any(isinstance(a, ast.Starred) for a in args):
            self.fail(node, usage)
        cells = []
        for a in args:
            value = self.names.get(a.id) if isinstance(a, ast.Name) else None
            if value is None or not value.is_Symbol:
                if isinstance(a, ast.Name) and a.id not in self.names:
                    raise ValueError(unknown_name(self.text, a.id, self.names, self.where(a)))
                self.fail(a, usage)
            cells.append(value)
        me, window = cells[0], cells[1:]
        if len(set(window)) != len(window):
            self.fail(node, f"{WINDOW_FUNCTION}(…): a cell is listed twice in the window")
        if me not in window:
            self.fail(
                node, f"{WINDOW_FUNCTION}(…): the cell {self.shown(args[0])} is not in its window"
            )
        return FirstMax.of(window.index(me), sp.Tuple(*window))

    def condition(self, node, in_brackets):
        if not in_brackets:
            self.fail(
                node,
                "write a condition in square brackets, such as [x11 > 0]: it is 1 where it "
                "holds and 0 elsewhere",
            )
        if len(node.ops) != 1:
            self.fail(node, "one comparison per bracket: [a < b]*[b < c] instead of [a < b < c]")
        op = node.ops[0]
        rel = {ast.Gt: sp.Gt, ast.GtE: sp.Ge, ast.Lt: sp.Lt, ast.LtE: sp.Le}.get(type(op))
        if rel is None:
            self.fail(node, "conditions compare with >, >=, < or <=")
        left, right = self.build(node.left), self.build(node.comparators[0])
        return sp.Piecewise((1, rel(left, right)), (0, True))


def final_check(text: str, expr) -> None:
    nodes = unique_nodes(expr)
    for p in nodes:
        if p.is_Pow and p.exp.is_Number and abs(p.exp) > MAX_TOTAL_EXPONENT:
            raise ValueError(
                f"{show(text)}: the powers multiply to {sp.sstr(p)}; powers above "
                f"{MAX_TOTAL_EXPONENT} are not needed here"
            )
    bad = (sp.S.ComplexInfinity, sp.S.NaN, sp.S.Infinity, sp.S.NegativeInfinity)
    if any(n in bad for n in nodes):
        raise ValueError(f"{show(text)}: this divides by zero or is undefined")


def unique_nodes(expr) -> list:
    """Every distinct node of a sympy tree once (sympy's own walks visit shared ones again)."""
    seen, todo, out = set(), [expr], []
    while todo:
        e = todo.pop()
        if e in seen:
            continue
        seen.add(e)
        out.append(e)
        todo.extend(e.args)
    return out


def tree_stats(expr, memo: dict | None = None) -> tuple[int, int]:
    """(nodes counted with repeats, depth) of a sympy tree, in time linear in its distinct
    nodes and without recursion; ``memo`` may be shared between calls."""
    memo = {} if memo is None else memo
    todo = [(expr, False)]
    while todo:
        e, ready = todo.pop()
        if e in memo:
            continue
        if ready or not e.args:
            kids = [memo[a] for a in e.args]
            size = min(1 + sum(k[0] for k in kids), 10**12)
            memo[e] = (size, 1 + max((k[1] for k in kids), default=0))
        else:
            todo.append((e, True))
            todo.extend((a, False) for a in e.args if a not in memo)
    return memo[expr]


def tree_depth(expr) -> int:
    """Levels of a sympy tree."""
    return tree_stats(expr)[1]
