"""What a learner types → a sympy expression, safely.

``parse_expression("dz11*k11 + dz12*k12", names)`` reads a formula written with the names a
lesson offers and builds the sympy expression from Python's syntax tree, node by node, from an
allow-list. Nothing the learner typed is ever run as code or handed to ``eval``, ``sympify``,
``parse_expr`` or ``lambdify``, and no ``Symbol`` is made from it: every symbol comes from
``names``.

The grammar
    numbers         2, 0.5, .5, 1e-3, 2.5E2 (kept exact: 0.5 is the rational 1/2)
    names           the keys of ``names`` (x11, k22, dz11, x, …)
    operators       + - * / and powers ** or ^ (both mean power; a ^ b ^ c = a ^ (b ^ c)),
                    unary minus and plus, parentheses
    functions       exp log sin cos tanh sigmoid relu sqrt abs, one argument each
                    (log is the natural logarithm; sigmoid(u) = 1/(1 + exp(-u));
                    relu(u) = Piecewise((u, u > 0), (0, True)), see below)
    conditions      [a > b], [a >= b], [a < b], [a <= b]: 1 where the condition holds, 0
                    elsewhere (the notes' Iverson brackets: ReLU's derivative is [x > 0]).
                    A grammar extension beyond the issue's list: without it no learner could
                    type the ReLU or max-pool gradients.
    pasted symbols  · × ⋅ ∗ read as *, − and – as -, ÷ as /, a no-break space as a space;
                    tabs and line breaks as spaces. Superscripts (x²), subscripts (x₁₁),
                    invisible and control characters are refused with a message saying what
                    to type instead.

ReLU is a Piecewise rather than Max(0, u): sympy differentiates Piecewise((u, u > 0), (0, True))
to Piecewise((1, u > 0), (0, True)), the very expression the ReLU derivation uses for its
partials (ReLU′(0) = 0, as in PyTorch), while d/du Max(0, u) is Heaviside(u), which is ½ at 0.
So relu(x11) compares structurally equal to what the lessons build, and its derivative agrees.

Bounds (each refused with a message): at most MAX_LENGTH characters, MAX_NODES syntax nodes,
nesting MAX_DEPTH deep; numbers between MIN_LITERAL and MAX_LITERAL in size; exponents must be
numbers (whole or fractions with a denominator up to MAX_DENOMINATOR) of size at most
MAX_EXPONENT, and no power after sympy merges nested ones ((x**10)**10 is x**100) may pass
MAX_TOTAL_EXPONENT; every sub-expression without names must work out to a finite real float64
(sympy decides signs of number expressions numerically, and Abs(exp(exp(exp(100))) - 5) would
never come back); the sympy tree may have at most MAX_TREE_SIZE nodes counted with repeats and
MAX_TREE_DEPTH levels.

Where it runs: ``check_text`` (characters, tokens, the syntax tree and its bounds) needs no
sympy and runs in the calling process, so most mistakes get their message at once. Building
the sympy expression runs in the worker process (``worker``), under a timeout: sympy's own
simplification while it builds can take exponentially long on some nested functions, whatever
the bounds above (relu(relu(log(sigmoid(sigmoid(x + 2))))): 130 s). ``parse_here`` is the
building itself, for code that already runs in the worker.

Errors are ``ValueError``s whose message names the problem and where it is (1-based
character positions in the text as typed), for example
``"`x11 +* k22`: a * with nothing before it, at character 6"``.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
import unicodedata
from dataclasses import dataclass
from fractions import Fraction

import sympy as sp
from sympy.printing.latex import LatexPrinter

from .numeric import Unsupported
from .numeric import evaluate as _numeric

MAX_LENGTH = 300  # characters: the longest lesson answer (a 3×3 kernel's 9 products) is ~110
MAX_NODES = 200  # expression nodes in the syntax tree
MAX_DEPTH = 40  # nesting of the syntax tree (parentheses, calls, operators)
MAX_EXPONENT = 10  # |a constant exponent| as typed
MAX_DENOMINATOR = 10  # x**(1/3) yes, x**0.123 no
MAX_TOTAL_EXPONENT = 100  # |an exponent| after sympy merges nested powers
# levels of the sympy tree (sigmoid(u) is 4: a power of a sum holding exp of a product): sympy
# differentiates, expands and prints recursively, ~5 Python frames a level, and the interpreter
# allows 1,000 frames in all (pytest or Streamlit already use ~100 of them)
MAX_TREE_DEPTH = 100
# nodes of the sympy tree counted with repeats (sympy shares repeated sub-expressions, but
# free_symbols, has, xreplace, expand and the printers walk them once per occurrence, and
# relu(u) holds u twice: relu(x - relu(x - …)) doubles at every level)
MAX_TREE_SIZE = 5000
MAX_LITERAL = 10**12
MIN_LITERAL = 1e-12
PARSE_SECONDS = 2.0  # sympy's work on one formula, in the worker (see worker.py)


def _sigmoid(u):
    return 1 / (1 + sp.exp(-u))


def _relu(u):
    # NOTE: a Piecewise, not Max(0, u): its derivative is the ReLU derivation's own partial
    return sp.Piecewise((u, u > 0), (0, True))


FUNCTIONS = {
    "exp": sp.exp,
    "log": sp.log,
    "sin": sp.sin,
    "cos": sp.cos,
    "tanh": sp.tanh,
    "sigmoid": _sigmoid,
    "relu": _relu,
    "sqrt": sp.sqrt,
    "abs": sp.Abs,
}
_FUNCTION_LIST = ", ".join(FUNCTIONS)

# look-alikes students paste from notes and slides, read as the ASCII they stand for
_PASTED = {
    "\u00b7": "*",  # · middle dot
    "\u00d7": "*",  # × multiplication sign
    "\u22c5": "*",  # ⋅ dot operator
    "\u2217": "*",  # ∗ asterisk operator
    "\u2212": "-",  # − minus sign
    "\u2013": "-",  # – en dash
    "\u00f7": "/",  # ÷
    "\u00a0": " ",  # no-break space
    "\t": " ",
    "\n": " ",
    "\r": " ",
}
_ALLOWED = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 +-*/^().,_[]<>=")
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

_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>\*\*|<=|>=|==|[-+*/()\[\],<>=.])"
)
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_BINARY_ONLY = {"*", "**", "/", "<", "<=", ">", ">=", "=="}
_OPEN = {"(": ")", "[": "]"}
_CLOSE = {")": "(", "]": "["}
_ORDINAL = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"]


@dataclass(frozen=True)
class Parsed:
    """A parse: the expression, its top-level summands in the order they were typed (for
    feedback such as "the sign of the second term"), and its LaTeX preview."""

    expr: sp.Expr
    summands: tuple
    latex: str


@dataclass(frozen=True)
class Checked:
    """Text that passed every check that needs no sympy: the stripped text, its syntax tree,
    and the names it uses."""

    text: str
    src: str
    pos: list
    tree: ast.Expression
    used: frozenset


def parse_expression(text: str, names: dict, timeout: float = PARSE_SECONDS) -> sp.Expr:
    """The sympy expression ``text`` denotes, with ``names`` mapping what the learner types
    (``"x11"``, ``"dz11"``, ``"x"``) to sympy symbols or expressions. ``ValueError`` with a
    message for the learner when the text is not a formula of the grammar above, or when
    sympy cannot work it out within ``timeout`` seconds (see the module notes).

    The expression is built in the worker and rebuilt here node for node without sympy's
    simplification (it is already in sympy's canonical form, so it equals what sympy would
    build). Arithmetic on it in this process simplifies again: for expressions from user text,
    do heavy sympy work in the worker (check_answer and custom_function do)."""
    return parse(text, names, timeout).expr


def preview(text: str, names: dict, timeout: float = PARSE_SECONDS) -> str:
    """LaTeX of what ``text`` was understood as (to show before scoring); ValueError as for
    parse_expression."""
    return parse(text, names, timeout).latex


def parse(text: str, names: dict, timeout: float = PARSE_SECONDS) -> Parsed:
    """parse_expression's result with the summands and the LaTeX preview. The checks that need
    no sympy run here; the building runs in the worker process (``worker``), which is killed
    if it takes longer than ``timeout`` seconds."""
    from . import worker

    checked = check_text(text, names)
    used = {k: names[k] for k in checked.used}
    try:
        return worker.run("parse", checked.text, used, timeout=timeout)
    except worker.Timeout as exc:
        raise ValueError(too_slow(checked.text, exc)) from None


def too_slow(text: str, exc) -> str:
    if getattr(exc, "reason", "") in ("busy", "starting"):
        return "the formula checker is busy or starting up: try again in a moment"
    return (
        f"{_show(text)}: sympy could not work this out in time. Write it more simply "
        "(fewer nested functions)"
    )


def check_text(text: str, names: dict) -> Checked:
    """Every check that needs no sympy: length, characters, tokens, the syntax tree and its
    size and depth. Fast (linear in the bounded text); ValueError with the learner's message."""
    if not isinstance(text, str):
        raise ValueError("type a formula")
    if len(text.strip()) > MAX_LENGTH:  # first: a 10,000-character paste costs nothing more
        raise ValueError(
            f"the answer is {len(text.strip())} characters long; the limit is {MAX_LENGTH}. "
            "No answer here needs more."
        )
    text = text.strip()
    for key, value in names.items():
        if not isinstance(value, sp.Basic):
            raise TypeError(f"names[{key!r}] must be a sympy expression, not {type(value)}")
    src, pos, bad = _translate(text)
    if not text:
        raise ValueError("the answer is empty: type a formula")
    # problems are reported left to right: in __import__('os') the unknown function comes
    # before the quote
    used = _tokens_check(text, src, pos, names, complete=bad is None)
    if bad is not None:
        raise ValueError(_char_problem(text, bad))
    try:
        tree = ast.parse(src.strip(), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        offset = getattr(exc, "offset", None)
        lead = len(src) - len(src.lstrip())
        where = _where(text, pos, (offset or 1) - 1 + lead) if offset else ""
        raise ValueError(f"{_show(text)}: this does not read as a formula{where}") from None
    count, depth = _size(tree.body)
    if count > MAX_NODES:
        raise ValueError(
            f"{_show(text)}: this formula has {count} parts; the limit is {MAX_NODES}. "
            "No answer here needs that many: write it shorter."
        )
    if depth > MAX_DEPTH:
        raise ValueError(
            f"{_show(text)}: this formula is nested {depth} levels deep; the limit is "
            f"{MAX_DEPTH}. Remove some parentheses or calls."
        )
    return Checked(text, src, pos, tree, frozenset(used))


def parse_here(text: str, names: dict) -> Parsed:
    """check_text, then the sympy expression built from the tree, in this process. sympy's
    automatic simplification can take very long on some nested functions (see the module
    notes), so the app calls this only inside the worker process, through parse()."""
    c = check_text(text, names)
    lead = len(c.src) - len(c.src.lstrip())
    builder = _Builder(c.text, c.src, c.pos, names, lead=lead)
    body = c.tree.body
    expr = builder.build(body)
    _final_check(c.text, expr)
    summands = tuple(sign * builder.built[id(n)] for n, sign in _summand_nodes(body))
    return Parsed(expr, summands, preview_latex(expr))


def preview_latex(expr) -> str:
    """LaTeX of an expression, conditions as [x_{11} > 0] and relu(u) as ReLU(u) rather than
    as sympy's cases. sympy's printer asks questions of the expression that can take long on
    some nested functions: for expressions from user text, use preview() (the worker)."""
    return _Latex().doprint(expr)


# ---------------------------------------------------------------- characters and tokens


def _translate(text: str) -> tuple[str, list[int], int | None]:
    """The text with pasted look-alikes made ASCII and ^ made **, and for every character of
    the result the index of the character it came from; stops at the first character outside
    the allow-list and returns its index (else None)."""
    out, pos = [], []
    for i, ch in enumerate(text):
        ch = _PASTED.get(ch, ch)
        if ch == "^":
            out += ["*", "*"]
            pos += [i, i]
        elif ch in _ALLOWED:
            out.append(ch)
            pos.append(i)
        else:
            return "".join(out), pos, i
    return "".join(out), pos, None


def _char_problem(text: str, i: int) -> str:
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
        return f"{_show(text)}: use x**2 or x^2 for powers (the {ch} {at})"
    if ch in _SUBSCRIPTS:
        return f"{_show(text)}: type subscripts as plain digits, x11 for x₁₁ (the {ch} {at})"
    hint = _HINTS.get(ch)
    if hint:
        return f"{_show(text)}: {ch} {at} cannot be used here; {hint}"
    return (
        f"{_show(text)}: {ch} {at} cannot be used here. A formula is made of numbers, names, "
        f"+ - * / ** ^, parentheses and the functions {_FUNCTION_LIST}"
    )


def _tokens_check(text: str, src: str, pos: list[int], names: dict, complete: bool) -> set:
    """The mistakes people make most, caught on the tokens with a message that says what to
    change: a missing *, an operator with nothing on one side, an unknown name or function,
    unbalanced brackets. Anything that passes is also parsed by ``ast`` (which has the last
    word); this pass only makes the messages better. ``complete`` is False when ``src`` is the
    part before a character that is not allowed: then an unfinished end is no problem yet.
    Returns the names of ``names`` the text uses."""
    toks = []
    i = 0
    while i < len(src):
        m = _TOKEN.match(src, i)
        if m is None:  # cannot happen after _translate's allow-list; be safe anyway
            raise ValueError(f"{_show(text)}: unexpected character{_where(text, pos, i)}")
        if m.lastgroup != "space":
            toks.append((m.lastgroup, m.group(), i))
        i = m.end()
    stack: list[tuple[str, int]] = []
    prev = None  # the previous token's role: None (start), operand, open, op, comma
    prev_tok, prev_at, prev_kind = None, 0, None
    used: set[str] = set()
    for k, (kind, tok, at) in enumerate(toks):
        where = _where(text, pos, at)
        nxt = toks[k + 1][1] if k + 1 < len(toks) else None
        if not complete and k + 1 == len(toks) and kind == "name":
            break  # the name may go on past the cut (x², say): judge it whole, not here
        shown = _orig(text, pos, at, tok)
        if kind == "name":
            if tok in keyword.kwlist:
                raise ValueError(
                    f"{_show(text)}: `{tok}` is a Python keyword, not part of a formula{where}"
                )
            if nxt == "(" and tok not in FUNCTIONS:
                raise ValueError(_not_a_function(text, tok, names, where))
            if nxt != "(" and tok not in names:
                raise ValueError(_unknown_name(text, tok, names, where))
            if tok in names:
                used.add(tok)
        if kind in ("number", "name") or tok in _OPEN:
            if prev == "operand" and not (tok == "(" and prev_tok in FUNCTIONS):
                before = _orig(text, pos, prev_at, prev_tok)
                if tok == "(" and prev_kind == "name":
                    raise ValueError(_not_a_function(text, prev_tok, names, where))
                raise ValueError(
                    f"{_show(text)}: a * is missing between {before} and {shown}{where}"
                )
            if kind == "number" and re.fullmatch(r"0+[0-9]+", tok):
                raise ValueError(f"{_show(text)}: write {shown} without its leading zeros{where}")
        if tok in _OPEN:
            stack.append((tok, at))
            prev = "open"
        elif tok in _CLOSE:
            if not stack:
                raise ValueError(
                    f"{_show(text)}: the {shown}{_at(text, pos, at)} has no matching {_CLOSE[tok]}"
                )
            opener, oat = stack.pop()
            if _OPEN[opener] != tok:
                raise ValueError(
                    f"{_show(text)}: the {opener}{_at(text, pos, oat)} is closed by "
                    f"{shown}{_at(text, pos, at)}"
                )
            if prev == "open":
                raise ValueError(f"{_show(text)}: there is nothing inside the {opener}{tok}{where}")
            if prev in ("op", "comma"):
                raise ValueError(
                    f"{_show(text)}: the {_orig(text, pos, prev_at, prev_tok)}"
                    f"{_at(text, pos, prev_at)} has nothing after it"
                )
            prev = "operand"
        elif tok == ",":
            if prev != "operand":
                raise ValueError(f"{_show(text)}: a , with nothing before it{where}")
            prev = "comma"
        elif tok == ".":
            raise ValueError(
                f"{_show(text)}: a . can only be a decimal point, as in 0.5{where}; "
                "there is nothing to look up with . here"
            )
        elif tok == "=":
            raise ValueError(
                f"{_show(text)}: type only the expression, without `… =`: "
                f"an = is not part of an answer{where}"
            )
        elif tok == "==":
            raise ValueError(
                f"{_show(text)}: == is not available; conditions are [a > b], [a >= b], "
                f"[a < b] or [a <= b]{where}"
            )
        elif kind == "op":
            if tok in _BINARY_ONLY and prev != "operand":
                raise ValueError(f"{_show(text)}: a {shown} with nothing before it{where}")
            prev = "op"
        else:
            prev = "operand"
        prev_tok, prev_at, prev_kind = tok, at, kind
    if not complete:
        return used
    if stack:
        opener, oat = stack[-1]
        raise ValueError(f"{_show(text)}: the {opener}{_at(text, pos, oat)} is never closed")
    if prev in ("op", "comma"):
        raise ValueError(
            f"{_show(text)}: the {_orig(text, pos, prev_at, prev_tok)}"
            f"{_at(text, pos, prev_at)} has nothing after it"
        )
    return used


def _orig(text: str, pos: list[int], at: int, tok: str) -> str:
    """A token as it was typed (^ rather than the ** it became)."""
    if not tok:
        return tok
    return text[pos[at] : pos[at + len(tok) - 1] + 1]


def _where(text: str, pos: list[int], at: int) -> str:
    """', at character 6' (1-based, in the text as typed) for index ``at`` of the translation."""
    return "," + _at(text, pos, at) if pos else ""


def _at(text: str, pos: list[int], at: int) -> str:
    return f" at character {pos[min(max(at, 0), len(pos) - 1)] + 1}" if pos else ""


def _show(text: str) -> str:
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


def _not_a_function(text, tok, names, where) -> str:
    if tok in names:
        return f"{_show(text)}: {tok} is not a function{where}; to multiply, write {tok}*(…)"
    if tok == "ln":
        return f"{_show(text)}: `ln` is not a function here{where}; the natural logarithm is log(…)"
    return (
        f"{_show(text)}: `{tok}` is not a function you can use here{where} — try {_FUNCTION_LIST}"
    )


def _unknown_name(text, tok, names, where) -> str:
    if tok in FUNCTIONS:
        return f"{_show(text)}: {tok} is a function: write {tok}(…) with its argument{where}"
    hint = ""
    if tok == "e":
        hint = "; for e to a power type exp(…)"
    elif tok in ("pi", "inf", "nan", "infinity"):
        hint = "; only finite numbers can be typed"
    return (
        f"{_show(text)}: `{tok}` is not a name in this lesson{where}{hint} — you can use "
        f"{_name_list(names)}"
    )


# ---------------------------------------------------------------- the syntax tree


_CHAIN = {ast.Add: "sum", ast.Sub: "sum", ast.Mult: "product", ast.Div: "product"}


def _size(body) -> tuple[int, int]:
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


def _summand_nodes(body) -> list:
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


class _Builder:
    def __init__(self, text, src, pos, names, lead):
        self.text, self.src, self.pos, self.names, self.lead = text, src, pos, names, lead
        self.built: dict[int, sp.Basic] = {}
        self.stats: dict = {}  # sympy node → (tree size, depth), shared by every check

    def where(self, node) -> str:
        return _where(self.text, self.pos, getattr(node, "col_offset", 0) + self.lead)

    def segment(self, node) -> str:
        start = node.col_offset + self.lead
        end = node.end_col_offset + self.lead
        return self.text[self.pos[start] : self.pos[end - 1] + 1]

    def shown(self, node) -> str:
        """The node's text for a message, shortened: a message should fit a line or two."""
        seg = self.segment(node)
        return seg if len(seg) <= 30 else seg[:27] + "…"

    def fail(self, node, problem: str):
        raise ValueError(f"{_show(self.text)}: {problem}{self.where(node)}")

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
            raise ValueError(_unknown_name(self.text, node.id, self.names, self.where(node)))
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
            self.fail(node, "only the functions " + _FUNCTION_LIST + " can be called")
        name = node.func.id
        if name not in FUNCTIONS:
            raise ValueError(_not_a_function(self.text, name, self.names, self.where(node)))
        if node.keywords:
            self.fail(node, f"{name}(…) takes its argument without a name=")
        if len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            self.fail(node, f"{name}(…) takes exactly one argument")
        arg = self.build(node.args[0])
        if name == "relu":
            self.check_size(node, arg, extra=tree_stats(arg, self.stats)[0] + 4)  # u twice
        if name == "log" and arg == 0:
            self.fail(node, f"{self.shown(node)} is undefined (log of 0)")
        return FUNCTIONS[name](arg)

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


def _final_check(text: str, expr) -> None:
    nodes = unique_nodes(expr)
    for p in nodes:
        if p.is_Pow and p.exp.is_Number and abs(p.exp) > MAX_TOTAL_EXPONENT:
            raise ValueError(
                f"{_show(text)}: the powers multiply to {sp.sstr(p)}; powers above "
                f"{MAX_TOTAL_EXPONENT} are not needed here"
            )
    bad = (sp.S.ComplexInfinity, sp.S.NaN, sp.S.Infinity, sp.S.NegativeInfinity)
    if any(n in bad for n in nodes):
        raise ValueError(f"{_show(text)}: this divides by zero or is undefined")


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


# ---------------------------------------------------------------- printing


def is_indicator(e) -> bool:
    """Piecewise((1, cond), (0, True)): an Iverson bracket [cond]."""
    return (
        isinstance(e, sp.Piecewise)
        and len(e.args) == 2
        and e.args[0].expr == 1
        and e.args[1].expr == 0
        and e.args[1].cond is sp.true
    )


def relu_argument(e):
    """u when e is Piecewise((u, u > 0), (0, True)), the relu of this module; else None."""
    if (
        isinstance(e, sp.Piecewise)
        and len(e.args) == 2
        and e.args[1].expr == 0
        and e.args[1].cond is sp.true
        and isinstance(e.args[0].cond, sp.StrictGreaterThan)
        and e.args[0].cond.rhs == 0
        and e.args[0].cond.lhs == e.args[0].expr
    ):
        return e.args[0].expr
    return None


class _Latex(LatexPrinter):
    def _needs_mul_brackets(self, expr, first=False, last=False) -> bool:
        if is_indicator(expr) or relu_argument(expr) is not None:
            return False  # they print with their own brackets
        return super()._needs_mul_brackets(expr, first=first, last=last)

    def _print_Piecewise(self, expr):
        if is_indicator(expr):
            return rf"\left[{self._print(expr.args[0].cond)}\right]"
        u = relu_argument(expr)
        if u is not None:
            return rf"\operatorname{{ReLU}}\left({self._print(u)}\right)"
        return super()._print_Piecewise(expr)


def ordinal(k: int) -> str:
    """'first', 'second', … for k = 0, 1, …; 'term 10' past the ninth."""
    return _ORDINAL[k] if k < len(_ORDINAL) else f"number {k + 1}"
