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
                    Beyond plain arithmetic and functions: without them no learner could
                    type the ReLU or max-pool gradients.
    pasted symbols  · × ⋅ ∗ read as *, − and – as -, ÷ as /, ≥ and ≤ as >= and <= (the
                    app's own feedback writes them), a no-break space as a space; tabs and
                    line breaks as spaces. Superscripts (x²), subscripts (x₁₁), invisible and
                    control characters are refused with a message saying what to type
                    instead.

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
the sympy expression runs in the worker process (``workers``), under a timeout: sympy's own
simplification while it builds can take exponentially long on some nested functions, whatever
the bounds above (relu(relu(log(sigmoid(sigmoid(x + 2))))): 130 s). ``parse_here`` is the
building itself, for code that already runs in the worker.

Where the parts live: ``grammar`` (the functions and the bounds), ``parse_tokens`` (characters
and tokens), ``parse_tree`` (the syntax tree's size and the sympy expression built from it),
``parse_messages`` (pieces of the messages); this module runs them in order and prints the
preview.

Errors are ``ValueError``s whose message names the problem and where it is (1-based
character positions in the text as typed), for example
``"`x11 +* k22`: a * with nothing before it, at character 6"``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import sympy as sp
from sympy.printing.latex import LatexPrinter

from .grammar import MAX_DEPTH, MAX_LENGTH, MAX_NODES
from .parse_messages import char_problem, show, where
from .parse_tokens import tokens_check, translate
from .parse_tree import Builder, final_check, summand_nodes, syntax_size

__all__ = [
    "PARSE_SECONDS",
    "Checked",
    "Latex",
    "Parsed",
    "build_here",
    "check_text",
    "is_indicator",
    "parse",
    "parse_expression",
    "parse_here",
    "preview",
    "preview_latex",
    "relu_argument",
    "sign_argument",
    "too_slow",
]

PARSE_SECONDS = 2.0  # sympy's work on one formula, in the worker (see workers/worker.py)


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
    no sympy run here; the building runs in the worker process (``workers``), which is killed
    if it takes longer than ``timeout`` seconds."""
    from workers import worker

    from .window_max import lighten

    checked = check_text(text, names)
    used = {k: lighten(names[k]) for k in checked.used}  # cheap for the worker to rebuild
    try:
        return worker.run("parse", checked.text, used, timeout=timeout)
    except worker.Timeout as exc:
        raise ValueError(too_slow(checked.text, exc)) from None


def too_slow(text: str, exc) -> str:
    if getattr(exc, "reason", "") in ("busy", "starting"):
        return "the formula checker is busy or starting up: try again in a moment"
    return (
        f"{show(text)}: sympy could not work this out in time. Write it more simply "
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
    src, pos, bad = translate(text)
    if not text:
        raise ValueError("the answer is empty: type a formula")
    # problems are reported left to right: in __import__('os') the unknown function comes
    # before the quote
    used = tokens_check(text, src, pos, names, complete=bad is None)
    if bad is not None:
        raise ValueError(char_problem(text, bad))
    try:
        tree = ast.parse(src.strip(), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        offset = getattr(exc, "offset", None)
        lead = len(src) - len(src.lstrip())
        loc = where(text, pos, (offset or 1) - 1 + lead) if offset else ""
        raise ValueError(f"{show(text)}: this does not read as a formula{loc}") from None
    count, depth = syntax_size(tree.body)
    if count > MAX_NODES:
        raise ValueError(
            f"{show(text)}: this formula has {count} parts; the limit is {MAX_NODES}. "
            "No answer here needs that many: write it shorter."
        )
    if depth > MAX_DEPTH:
        raise ValueError(
            f"{show(text)}: this formula is nested {depth} levels deep; the limit is "
            f"{MAX_DEPTH}. Remove some parentheses or calls."
        )
    return Checked(text, src, pos, tree, frozenset(used))


def parse_here(text: str, names: dict) -> Parsed:
    """check_text, then the sympy expression built from the tree, in this process. sympy's
    automatic simplification can take very long on some nested functions (see the module
    notes), so the app calls this only inside the worker process, through parse()."""
    return build_here(text, names)[0]


def build_here(text: str, names: dict) -> tuple[Parsed, Builder, ast.expr]:
    """parse_here's result, the Builder that made it (each syntax node's sympy value, the text
    of each part) and the syntax tree's body: the answer as typed, before sympy's
    simplification (``grading.tree`` evaluates it node by node)."""
    c = check_text(text, names)
    lead = len(c.src) - len(c.src.lstrip())
    builder = Builder(c.text, c.src, c.pos, names, lead=lead)
    body = c.tree.body
    expr = builder.build(body)
    final_check(c.text, expr)
    summands = tuple(sign * builder.built[id(n)] for n, sign in summand_nodes(body))
    return Parsed(expr, summands, preview_latex(expr)), builder, body


def preview_latex(expr) -> str:
    """LaTeX of an expression, conditions as [x_{11} > 0] and relu(u) as ReLU(u) rather than
    as sympy's cases. sympy's printer asks questions of the expression that can take long on
    some nested functions: for expressions from user text, use preview() (the worker)."""
    return Latex().doprint(expr)


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
    """u when e is Piecewise((u, u > 0), (0, True)), the grammar's relu, also as sympy
    rewrites its condition (relu(x - 2) holds x > 2); else None."""
    if (
        isinstance(e, sp.Piecewise)
        and len(e.args) == 2
        and e.args[1].expr == 0
        and e.args[1].cond is sp.true
        and _compares(e.args[0].cond, sp.StrictGreaterThan, e.args[0].expr)
    ):
        return e.args[0].expr
    return None


def sign_argument(e):
    """u when e is Piecewise((1, u > 0), (-1, u < 0), (0, True)), the grammar's sign."""
    if not (isinstance(e, sp.Piecewise) and len(e.args) == 3):
        return None
    (one, c1), (minus, c2), (zero, c3) = e.args
    if (one, minus, zero, c3) != (1, -1, 0, sp.true) or not isinstance(c1, sp.StrictGreaterThan):
        return None
    u = c1.lhs - c1.rhs
    return u if _compares(c2, sp.StrictLessThan, u) else None


def _compares(cond, kind, u) -> bool:
    """cond is "u > 0" (kind Gt) or "u < 0" (kind Lt), however sympy arranged its sides."""
    if not isinstance(cond, (sp.StrictGreaterThan, sp.StrictLessThan)):
        return False
    d = cond.lhs - cond.rhs if isinstance(cond, kind) else cond.rhs - cond.lhs
    return d == u or sp.expand(d - u) == 0


class Latex(LatexPrinter):
    def _needs_mul_brackets(self, expr, first=False, last=False) -> bool:
        if is_indicator(expr) or relu_argument(expr) is not None:
            return False  # they print with their own brackets
        if sign_argument(expr) is not None:
            return False
        return super()._needs_mul_brackets(expr, first=first, last=last)

    def _print_Pow(self, expr, **kwargs):
        if expr.base.func.__name__ == "FirstMax" and expr.exp.is_Integer:  # its _latex takes
            # no exponent: [x12 is the max]^2 would raise
            return rf"{self._print(expr.base)}^{{{self._print(expr.exp)}}}"
        return super()._print_Pow(expr, **kwargs)

    def _print_Piecewise(self, expr):
        if is_indicator(expr):
            return rf"\left[{self._print(expr.args[0].cond)}\right]"
        u = relu_argument(expr)
        if u is not None:
            return rf"\operatorname{{ReLU}}\left({self._print(u)}\right)"
        u = sign_argument(expr)
        if u is not None:
            return rf"\operatorname{{sign}}\left({self._print(u)}\right)"
        return super()._print_Piecewise(expr)
