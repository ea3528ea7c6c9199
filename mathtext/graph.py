"""The computational graph of a typed expression: every operation a node with its
value and its gradient, as micrograd draws them.

    g = expression_graph("tanh(x1*w1 + x2*w2 + b)", {"x1": 2, "x2": 0, "w1": -3, "w2": 1,
                                                     "b": 6.8813735870195432})
    g.nodes[g.output].value   # 0.7071…
    g.grads                   # {"x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0, "b": 0.5}
    g.to_dot()                # a DOT digraph, left to right

Reading: the text goes through the practice boxes' own checks (``check_text``, then the
parser's ``Builder`` on every syntax node), so whatever they refuse is refused here with the
same message. sympy only ever sees the parts without names (numbers, built as the practice box
builds them, within its bounds); in the checks a part with a name is a placeholder, and its
numbers come from ``graph_numbers`` (float64, one operation per node). Nothing typed is run,
and no ``Symbol`` is made from it: names are found among the tokens and stay strings.

Names are whatever the learner typed, if they look like names (a letter, then letters, digits
or _; at most MAX_NAME_LENGTH characters; at most MAX_NAMES = 40 of them, which the node limit
implies). A name is ONE leaf
however often it appears, so its gradient is the sum over its uses (micrograd's ``+=``). A part
without names is folded into one constant leaf labelled as typed (``exp(1)``, ``1/2``). A power
has one input, its base; the exponent is a number (the grammar's rule) kept in ``exponent``.
Where a derivative does not exist (relu, abs at 0; sqrt at 0) the numbers follow PyTorch (see
``graph_numbers``). A value that is not finite is a ValueError naming the part and the numbers:
"log(x - 3) is undefined at x = 1: the log of -2, a negative number".

Limits beyond the practice box's: MAX_GRAPH_NODES nodes. The practice box's limits on sympy's
own tree (MAX_TREE_SIZE, MAX_TREE_DEPTH, its timeout) do not apply to the parts with names:
they bound sympy's work, and sympy does none on them here.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
from dataclasses import dataclass

import sympy as sp

from .grammar import FUNCTIONS, MAX_LENGTH, MAX_TOTAL_EXPONENT
from .graph_numbers import backward, check_values, forward
from .numeric import evaluate as _numeric
from .parse import check_text
from .parse_messages import show
from .parse_tokens import _tokens, translate
from .parse_tree import Builder

MAX_GRAPH_NODES = 80
# n names make at least 2n - 1 nodes (a leaf each, and something joining them), so the node
# limit holds their count to 40: no bound of its own, whose message could hide the node limit's
MAX_NAMES = (MAX_GRAPH_NODES + 1) // 2
MAX_NAME_LENGTH = 20
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# what unknown_name() answers with a hint ("for e to a power type exp(…)"): never a name here
_RESERVED = frozenset({"e", "pi", "inf", "nan", "infinity"})
_PLACEHOLDER = sp.Dummy("u", real=True)  # stands for every part with a name, in the checks
_EXACT_BITS = 4096  # past this a number part is worked on as a float (see _Checker.build)
_LABEL = 24  # characters of a node's label before it is shortened with …
_BIN = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_CMP = {ast.Gt: "[>]", ast.GtE: "[>=]", ast.Lt: "[<]", ast.LtE: "[<=]"}


@dataclass(frozen=True)
class Node:
    """One value of the graph. ``op`` is "input" (a name), "const" (a number), "+", "-", "*",
    "/", "neg", "**" (``exponent`` holds the power), a function's name, or a condition "[>]",
    "[>=]", "[<]", "[<=]". ``local[k]`` is ∂node/∂inputs[k]; ``symbol`` is what the drawing
    writes in the operation's circle ("**2", "tanh"; "" for a leaf)."""

    id: int
    op: str
    label: str
    inputs: tuple[int, ...]
    value: float
    grad: float
    local: tuple[float, ...] = ()
    exponent: float | None = None
    symbol: str = ""


@dataclass(frozen=True)
class Graph:
    """``nodes`` in topological order (each after its inputs; ``id`` is the index), the
    ``output`` node's id (its grad is 1.0), ``grads`` name → ∂output/∂name, ``backward_order``
    the ids as backprop visits them (output first, each node before its inputs), ``names`` in
    the order they first appear, ``values`` the numbers they were given."""

    text: str
    nodes: list[Node]
    output: int
    grads: dict[str, float]
    backward_order: list[int]
    names: tuple[str, ...]
    values: dict[str, float]

    def to_dot(self, highlight: int | None = None) -> str:
        """A DOT digraph laid out left to right as micrograd's draw_dot: each node a record
        "label | data | grad", each operation a circle between its inputs and its result, one
        edge per (input, node) pair (marked ×2 where an input is used twice); ``highlight``
        fills one node."""
        lines = ["digraph G {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
        for n in self.nodes:
            fill = ', style=filled, fillcolor="#ffd54f"' if n.id == highlight else ""
            record = f"{{ {_record(n.label)} | data {_fmt(n.value)} | grad {_fmt(n.grad)} }}"
            lines.append(f'  n{n.id} [shape=record, label="{record}"{fill}];')
            if n.inputs:
                lines.append(f'  n{n.id}_op [label="{_quoted(n.symbol)}"{fill}];')
                lines.append(f"  n{n.id}_op -> n{n.id};")
                for k in dict.fromkeys(n.inputs):
                    uses = n.inputs.count(k)
                    mark = f' [label="×{uses}"]' if uses > 1 else ""
                    lines.append(f"  n{k} -> n{n.id}_op{mark};")
        return "\n".join([*lines, "}"]) + "\n"


def expression_names(text: str) -> tuple[str, ...]:
    """The names ``text`` uses, in the order they first appear, after every check on the text
    (the practice box's, the names' own, the node limit); ValueError with the message."""
    return _structure(*_read(text))[1]


def expression_graph(text: str, values: dict) -> Graph:
    """The computational graph of ``text`` at ``values`` (name → real number, one for every
    name the text uses and no other), forward and backward. ValueError with a message for the
    learner: text the practice box refuses (the same message), a bad name, more than
    MAX_GRAPH_NODES nodes, a missing or extra name, a value that is not a finite number, or a
    part undefined at these numbers."""
    checker, order = _read(text)
    parts, names = _structure(checker, order)
    env = check_values(values, names)
    vals, local = forward(parts, env)
    grads = backward(parts, local)
    nodes = [
        Node(i, p.op, p.label, p.inputs, float(vals[i]), float(grads[i]), local[i],
             p.exponent, p.symbol)
        for i, p in enumerate(parts)
    ]  # fmt: skip
    leaf = {p.label: i for i, p in enumerate(parts) if p.op == "input"}
    return Graph(
        text=checker.text,
        nodes=nodes,
        output=len(nodes) - 1,
        grads={name: float(grads[leaf[name]]) for name in names},
        backward_order=list(range(len(nodes) - 1, -1, -1)),
        names=names,
        values={name: env[name] for name in names},
    )


# ---------------------------------------------------------------- reading the text


def _read(text: str):
    """The practice box's checks on ``text`` with every name-like token as a name; then the
    names' own rules. Returns the checker (holding the number parts it built) and the names in
    the order they first appear."""
    order = _candidates(text)
    try:
        checked = check_text(text, dict.fromkeys(order, _PLACEHOLDER))
    except ValueError as exc:  # unknown_name() lists the names there are: here maybe none
        raise ValueError(str(exc).removesuffix(" — you can use ")) from None
    used = [n for n in order if n in checked.used]
    for name in used:
        if not _NAME.fullmatch(name) or len(name) > MAX_NAME_LENGTH:
            raise ValueError(
                f"{show(checked.text)}: `{name[:MAX_NAME_LENGTH]}` cannot be a name here: a name "
                f"starts with a letter, goes on with letters, digits or _, and has at most "
                f"{MAX_NAME_LENGTH} characters"
            )
    checker = _Checker(checked)
    checker.build(checked.tree.body)
    return checker, tuple(used)


def _candidates(text) -> list[str]:
    """Every token that could be a name (not a function called, a keyword or a number word),
    in order. check_text refuses the rest with its own messages; text it refuses before
    reading tokens (not a string, too long) gets no candidates."""
    if not isinstance(text, str) or len(text.strip()) > MAX_LENGTH:
        return []
    text = text.strip()
    src, pos, _ = translate(text)
    toks = _tokens(text, src, pos)
    found: dict[str, None] = {}
    for k, (kind, tok, _) in enumerate(toks):
        called = k + 1 < len(toks) and toks[k + 1][1] == "("
        if kind == "name" and not called and tok not in FUNCTIONS:
            if tok not in _RESERVED and not keyword.iskeyword(tok):
                found[tok] = None
    return list(found)


class _Checker(Builder):
    """The parser's Builder, run for its checks and messages on every syntax node. A part
    without names is built for real, as the practice box builds it, but each irrational result
    becomes a float at once, so sympy only ever works on single numbers; a part with names is
    checked the same way but stands as a placeholder, so sympy never works on names (nested
    functions of a symbol can keep it busy for minutes)."""

    def __init__(self, checked):
        lead = len(checked.src) - len(checked.src.lstrip())
        names = dict.fromkeys(checked.used, _PLACEHOLDER)
        super().__init__(checked.text, checked.src, checked.pos, names, lead=lead)
        self.body = checked.tree.body
        self.named = _named(self.body)
        self.powers: dict[int, sp.Rational] = {}  # a power's node id → its exponent, exact

    def build(self, node, in_brackets: bool = False):
        if id(node) not in self.named:
            if id(node) not in self.built:
                value = super().build(node, in_brackets)
                if isinstance(value, sp.Expr) and not _small_exact(value):
                    # a float from here on, so that what is built on it stays one number:
                    # sympy's exact trees of nested functions of numbers grow without bound
                    # (twelve nested sigmoids of 1: 15 s), and so do the digits of exact
                    # fractions under powers ((((0.999999999999^10)^10)^10)^10: hours)
                    self.built[id(node)] = sp.Float(self.number(node))
            return self.built[id(node)]
        if id(node) not in self.built:
            if not isinstance(node, ast.Name):
                try:
                    self._build(node, in_brackets)
                except ValueError:
                    raise
                except Exception:  # as Builder.build: still the learner's text
                    self.fail(node, f"{self.shown(node)} could not be worked out")
            self.built[id(node)] = _PLACEHOLDER
        return self.built[id(node)]

    def number(self, node) -> float:
        """The value of a part without names (built and checked by now)."""
        return float(_numeric(self.built[id(node)], {}))

    def label(self, node) -> str:
        seg = " ".join(self.segment(node).split())
        return seg if len(seg) <= _LABEL else seg[: _LABEL - 1] + "…"


def _small_exact(value) -> bool:
    """A float, or a fraction whose numerator and denominator fit in _EXACT_BITS bits."""
    if value.is_Float:
        return True
    return (
        bool(value.is_Rational) and max(value.p.bit_length(), value.q.bit_length()) <= _EXACT_BITS
    )


def _named(body) -> set[int]:
    """ids of the syntax nodes holding a name (a called function's name does not count)."""
    parent = {id(c): n for n in ast.walk(body) for c in ast.iter_child_nodes(n)}
    out: set[int] = set()
    for name in ast.walk(body):
        call = parent.get(id(name))
        if isinstance(name, ast.Name) and not (isinstance(call, ast.Call) and call.func is name):
            n: ast.AST | None = name
            while n is not None and id(n) not in out:
                out.add(id(n))
                n = parent.get(id(n))
    return out


# ---------------------------------------------------------------- the graph's structure


@dataclass(frozen=True)
class _Part:
    op: str
    label: str
    inputs: tuple[int, ...]
    names: tuple[str, ...]  # the names below it, for messages
    value: float = 0.0  # a leaf's
    exponent: float | None = None
    symbol: str = ""


def _structure(checker: _Checker, order) -> tuple[list[_Part], tuple[str, ...]]:
    """The nodes, inputs first (a post-order walk, without recursion), within the node limit;
    and the names in the order they first appear."""
    parts: list[_Part] = []
    index: dict[int, int] = {}  # syntax node → its node in parts
    stack = [(checker.body, False)]
    while stack:
        node, ready = stack.pop()
        kids = _children(node, checker.named)
        if not ready and kids:
            stack.append((node, True))
            stack.extend((k, False) for k in reversed(kids))
            continue
        index[id(node)] = _add(parts, checker, node, [index[id(k)] for k in kids])
    if len(parts) > MAX_GRAPH_NODES:
        raise ValueError(
            f"{show(checker.text)}: this makes a graph of {len(parts)} nodes; the limit is "
            f"{MAX_GRAPH_NODES}. Write a shorter expression."
        )
    _check_powers(checker, parts)
    return parts, order


def _children(node, named) -> list:
    if id(node) not in named or isinstance(node, ast.Name):
        return []
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.BinOp):
        return [node.left] if isinstance(node.op, ast.Pow) else [node.left, node.right]
    if isinstance(node, ast.Call):
        return [node.args[0]]
    compare = node.elts[0]  # a List holding one condition (the checks made sure)
    return [compare.left, compare.comparators[0]]


def _add(parts: list[_Part], checker: _Checker, node, ins: list[int]) -> int:
    """Appends the node for ``node`` (its inputs ``ins`` are in already); returns its id."""
    label = checker.label(node)
    if id(node) not in checker.named:
        return _append(parts, _Part("const", label, (), (), checker.number(node)))
    if isinstance(node, ast.Name):
        for i, p in enumerate(parts):
            if p.op == "input" and p.label == node.id:
                return i  # one leaf per name, however often it appears
        return _append(parts, _Part("input", node.id, (), (node.id,)))
    names = tuple(dict.fromkeys(n for i in ins for n in parts[i].names))
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.UAdd):
            return ins[0]
        return _append(parts, _Part("neg", label, tuple(ins), names, symbol="neg"))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        checker.powers[len(parts)] = checker.built[id(node.right)]  # the id it is to get
        power = checker.number(node.right)
        shown = "".join(checker.segment(node.right).split())
        return _append(parts, _Part("**", label, tuple(ins), names, 0.0, power, "**" + shown))
    if isinstance(node, ast.BinOp):
        op = _BIN[type(node.op)]
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):  # parse_tree's rule
        op = node.func.id
    else:
        op = _CMP[type(node.elts[0].ops[0])]
    return _append(parts, _Part(op, label, tuple(ins), names, symbol=op))


def _append(parts: list[_Part], part: _Part) -> int:
    parts.append(part)
    return len(parts) - 1


def _check_powers(checker: _Checker, parts: list[_Part]) -> None:
    """The practice box's bound on powers of powers ((x^10)^10 is x^100 once sympy merges
    them), on the product of each chain's exponents (exact: the checker built them), named
    as the practice box names it: by the merged power."""
    total: dict[int, sp.Rational] = {}
    for i, p in enumerate(parts):
        if p.op == "**":
            total[i] = checker.powers[i] * total.get(p.inputs[0], 1)
    inner = {p.inputs[0] for p in parts if p.op == "**"}
    for i, t in total.items():
        if i not in inner and abs(t) > MAX_TOTAL_EXPONENT:
            base = i
            while parts[base].op == "**":
                base = parts[base].inputs[0]
            b = parts[base].label
            b = b if _NAME.fullmatch(b) else f"({b})"
            raise ValueError(
                f"{show(checker.text)}: the powers multiply to {b}**{sp.sstr(t)}; powers "
                f"above {MAX_TOTAL_EXPONENT} are not needed here"
            )


# ---------------------------------------------------------------- drawing


def _fmt(v: float) -> str:
    v += 0.0  # -0.0 reads as 0.0000
    if v == 0 or 1e-4 <= abs(v) < 1e6:
        return f"{v:.4f}"
    return f"{v:.4g}" if math.isfinite(v) else str(v)


def _quoted(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def _record(s: str) -> str:
    """Text inside a DOT record label: its field syntax escaped."""
    return re.sub(r'([\\{}|<>"])', r"\\\1", s)
