"""Checking a typed answer against a derivation's result, with feedback a student can act on.

    names = names_for(derive("conv2d"))          # "x11" → x_{11}, "dz11" → ∂L/∂z_{11}, …
    fb = check_answer("dz11*x12 + dz12*x13 + dz21*x22 + dz22*x23", d.grads["K"][0, 1], names)
    fb.correct, fb.message, fb.missing, fb.extra, fb.latex

How an answer is judged (STACK / WeBWorK style):
1. It is parsed with ``parse`` (never eval'd or sympified); a parse error is the verdict, with
   the parser's message.
2. Symbolic: both sides are expanded; equal expansions are correct.
3. Numeric second opinion, where expansion cannot decide (max pool's FirstMax indicator, ReLU's
   Piecewise, softmax's fractions of exponentials): both sides at random points and at whole ones, with
   the tree evaluator of ``numeric`` (no lambdify); equal within tolerance at every point where
   both are defined (at least MIN_POINTS of them) is correct.
4. Otherwise the expanded terms are compared: terms of the expected answer that are absent are
   ``missing``, typed terms that do not belong are ``extra``; the message pairs them up where it
   can ("the sign of the second term", "you have dz21*k12 where dz21*k21 belongs", "a factor of
   2 too many") and names terms as the learner types them.

Time: every call returns within CHECK_SECONDS (1.5 s) and a few tenths of a second, whatever the
text, in two layers.
- Bounds that make normal answers fast: the parser's (300 characters, 200 nodes, depth 40,
  exponents ≤ 10, numbers finite in float64, sympy trees ≤ 5,000 nodes and 100 levels), and
  ``expansion_size``, which bounds the work of sympy's ``expand`` before it runs ("too complex
  to check" past MAX_WORK). The numeric check is one float pass over each tree per point.
  Nothing here calls simplify.
- A hard limit, because no size bound tames sympy's automatic simplification: on some nested
  functions its questions (is this real? positive?) take exponentially long; a 40-character
  relu(relu(log(sigmoid(sigmoid(x11 + 2))))) takes 130 s to build. So everything that touches
  sympy runs in the worker process (``worker``) under a deadline; past it the worker is killed
  and the verdict is "too complex to check". The checks that need no sympy (characters,
  tokens, the syntax tree) run first, in the calling process, so junk gets its message at once.

The names a learner types live in ``typed_names``, the wording of which terms differ in
``answer_terms``; their public names are importable from here too.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from . import worker
from .answer_terms import MAX_LISTED, MAX_PAIRS, named_view, term_feedback, tie_sentence
from .numeric import Unsupported, evaluate
from .parse import check_text, parse_here
from .typed_names import inverse_names, names_for, term_text, typing_name, typing_or_name

CHECK_SECONDS = 1.5  # the whole check, worker included, leaving room in the page's 2 s for
# killing an overrunning worker (~0.2 s on a busy machine) and the page itself
MAX_WORK = 20_000  # expand()'s work on a typed answer, estimated before it runs
MAX_EXPECTED_WORK = 100_000  # …and on the expected answer, which comes from the lesson
POINTS = 16  # random points for the numeric check
WHOLE_POINTS = 32  # and points of −1, 0, 1 only: kinks and ties (see numerically_equal)
MIN_POINTS = 4  # …of which at least this many must be defined on both sides
RTOL = 1e-8
_SEED = 20240611  # fixed: the same answer always gets the same verdict


@dataclass(frozen=True)
class Feedback:
    """The verdict on one typed answer.

    correct   whether it equals the expected expression
    message   one or two sentences for the learner
    missing   terms of the expanded expected answer that the typed one lacks
    extra     typed terms (expanded) that do not belong
    parsed    what was understood (None when the text did not parse)
    latex     LaTeX of ``parsed``, to show before or beside the verdict ("" when unparsed)
    method    how it was decided: "symbolic", "numeric", "different", "unparsed",
              "too complex", "undecided" (no point where both sides are defined) or "error"
    """

    correct: bool
    message: str
    missing: list = field(default_factory=list)
    extra: list = field(default_factory=list)
    parsed: sp.Expr | None = None
    latex: str = ""
    method: str = ""


def check_answer(text: str, expected, names: dict, timeout: float = CHECK_SECONDS) -> Feedback:
    """Is ``text`` (typed with ``names``, see ``parse.parse_expression``) equal to the sympy
    expression ``expected``? Never raises: anything unexpected gives correct=False. Its sympy
    work takes at most ``timeout`` seconds, whatever the text: the checks that need no sympy
    run here, the rest in a worker process (``worker``), which is killed if it overruns ("too
    complex to check"). Waiting for a free worker, behind other sessions' checks, adds at most
    ``worker.WAIT_SECONDS``."""
    deadline = time.monotonic() + timeout + worker.WAIT_SECONDS
    try:
        try:
            checked = check_text(text, names)
        except ValueError as exc:
            return Feedback(False, str(exc), method="unparsed")
        if isinstance(expected, int):
            expected = sp.Integer(expected)
        used = {k: names[k] for k in checked.used}
        # the names of every symbol a message may mention: typed ones and expected ones
        wanted = set(expected.free_symbols).union(*(v.free_symbols for v in used.values()))
        inverse = {s: n for s, n in inverse_names(names).items() if s.free_symbols & wanted}
        try:
            return worker.run(
                "check", checked.text, expected, used, inverse, timeout=timeout, deadline=deadline
            )
        except worker.Timeout as exc:
            if exc.reason in ("busy", "starting"):
                return Feedback(
                    False,
                    "the answer checker is busy or starting up: press Check again in a moment",
                    method="busy",
                )
            return Feedback(
                False,
                f"too complex to check: sympy did not finish within {timeout:g} s. Write it as "
                "the sum of products it should be, with fewer nested functions.",
                method="too complex",
            )
        except ValueError as exc:  # what only building the expression finds (1/0, log(-2))
            return Feedback(False, str(exc), method="unparsed")
    except Exception as exc:  # a verdict, whatever happens: the page must not crash
        return Feedback(
            False,
            f"this answer could not be checked ({type(exc).__name__}); try writing it another way",
            method="error",
        )


def check_here(text, expected, names, inverse) -> Feedback:
    """check_answer's verdict, computed in this process (the worker runs it): parse, expand,
    compare at random points, explain the difference. ValueError for text that does not
    build (its message is the learner's)."""
    parsed = parse_here(text, names)
    typed = parsed.expr
    latex = parsed.latex
    too_big = _too_big(typed, expected)
    if too_big:
        return Feedback(False, too_big, parsed=typed, latex=latex, method="too complex")
    te, ee = sp.expand(typed), sp.expand(expected)
    if te == ee or te - ee == 0:  # equal expansions (the difference collects like terms)
        return Feedback(True, "Correct.", parsed=typed, latex=latex, method="symbolic")
    same = numerically_equal(typed, expected)
    if same:
        return Feedback(
            True,
            "Correct: it is written differently, but equals the expected answer at "
            f"{POINTS + WHOLE_POINTS} points (kinks and ties included).",
            parsed=typed,
            latex=latex,
            method="numeric",
        )
    # the feedback speaks the learner's language: quantities the lesson names (y11 = m11/n11,
    # softmax's p1, p2, …) are written by their names only if the learner typed one of them
    # (dy11*m11/n11^2 was echoed as dy11*y11/n11)
    typed = {_family(n) for n in names}
    spoken = {s: n for s, n in inverse.items() if s.is_Atom or _family(n) in typed}
    return _not_equal(parsed, expected, spoken, undecided=same is None)


def _too_big(typed, expected) -> str:
    """Why sympy should not multiply out one side ("" when both are fine)."""
    if expansion_size(expected, cap=MAX_EXPECTED_WORK) > MAX_EXPECTED_WORK:
        # never from a lesson's gradients (the largest, max pool's at 16×16, is ~1,500): a page
        # asking about something sympy cannot multiply out in time
        return "the expected answer is too large to compare with: this question cannot be checked"
    if expansion_size(typed) > MAX_WORK:
        return (
            "too complex to check: multiplied out, this would have thousands of terms. "
            "Write it as the sum of products it should be."
        )
    return ""


def _family(name: str) -> str:
    """y11, y1_10 → y; p2 → p: the letters of a typed name, its indices dropped."""
    return name.rstrip("0123456789_")


def _not_equal(parsed, expected, inverse, undecided: bool) -> Feedback:
    """The verdict on an answer that is not (or could not be shown) equal, with the terms that
    differ."""
    typed = parsed.expr
    # terms as the lesson writes them: products distributed over sums, but no powers of sums
    # multiplied out (sigmoid's e^-x/(1 + e^-x)^2 stays as it is, not 1/(2 + e^x + e^-x)),
    # and in its named quantities where they cover both sides (y11 − y11², not y11²·e^-x11)
    te, ee = sp.expand_mul(typed), sp.expand_mul(expected)
    missing, extra, notes = term_feedback(te, ee, parsed.summands, inverse)
    sides = named_view(te, ee, parsed.summands, inverse)
    if sides is not None:  # the sentences in named terms; .missing and .extra stay the lesson's
        notes = term_feedback(*sides)[2]
    message, method = _verdict_words(typed, expected, inverse, notes, undecided)
    return Feedback(False, message, missing, extra, parsed=typed, latex=parsed.latex, method=method)


def _verdict_words(typed, expected, inverse, notes, undecided: bool) -> tuple[str, str]:
    """(message, method) for an answer not shown equal."""
    if undecided:
        return (
            "this could not be checked: at random numbers it is undefined (a log or square "
            "root of a negative number, or a division by zero) on one side or the other"
        ), "undecided"
    factor = missing_factor(typed, expected)
    if factor is not None:  # the local derivative alone, the commonest slip with the chain rule
        name, mine = term_text(factor, inverse), term_text(typed, inverse)
        mine = f"({mine})" if isinstance(typed, sp.Add) else mine
        return (
            f"Not quite: this is the local derivative alone. The chain rule multiplies it by "
            f"the upstream gradient {name}: {name}*{mine} is right."
        ), "different"
    # a tie slip changes every term's conditions, so the term lists would call a nearly right
    # answer one term missing and another that does not belong: name the slip instead
    if only_ties(typed, expected):
        return "Not quite: " + tie_sentence(expected, inverse), "different"
    return ("Not quite. " + " ".join(notes) if notes else "Not quite."), "different"


def missing_factor(typed, expected):
    """The one symbol of ``expected`` that ``typed`` leaves out and that, multiplied in, makes it
    right (softmax's p1 − 1 for dL_i·(p1 − 1)); None if there is none. Only symbols that are
    factors of every term are tried, so this costs one numeric check at most."""
    missing = expected.free_symbols - typed.free_symbols
    terms = sp.Add.make_args(sp.expand_mul(expected))
    common = [s for s in missing if all(s in sp.Mul.make_args(t) for t in terms)]
    if len(common) != 1:
        return None
    return common[0] if numerically_equal(typed * common[0], expected) else None


def only_ties(typed, expected) -> bool:
    """Typed conditions that agree with the expected answer at random points (where no two
    entries are equal and none is 0) but not at whole ones: the answer differs only where a
    comparison's sides are equal, a > typed for >= or the reverse (a max-pool tie slip)."""
    return typed.has(sp.Piecewise) and numerically_equal(typed, expected, whole=0) is True


# ---------------------------------------------------------------- cost bound


def expansion_size(expr, cap: int = MAX_WORK) -> int:
    """An upper bound (saturating just past ``cap``) on the work of ``sp.expand(expr)``: at
    every node, counted once per occurrence in the tree (expand walks shared sub-expressions
    again each time), the number of terms it expands to times their width (factors per term).

    Sums add terms; products multiply terms and add widths; a power of a sum of t terms with
    exponent n gives C(t + n − 1, n) terms n times as wide (the multinomial count; the integer
    part of a fractional exponent counts, and negative exponents expand too); exp of a sum of
    t terms becomes a product of t exponentials (one term, t wide); other functions are one
    term outside, their arguments' work counted. Measured on the project's machine: about a
    microsecond of expand() per unit or less, so MAX_WORK keeps each expansion well under half
    a second. Linear in the distinct nodes, no recursion."""
    big = cap + 1
    memo: dict = {}  # node → (terms, width, work of its whole subtree)
    todo = [(expr, False)]
    while todo:
        e, ready = todo.pop()
        if e in memo:
            continue
        if e.args and not ready:
            todo.append((e, True))
            todo.extend((a, False) for a in e.args if a not in memo)
            continue
        kids = [memo[a] for a in e.args]
        if not kids:
            t, w = 1, 1
        elif e.is_Add:
            t, w = min(sum(k[0] for k in kids), big), max(k[1] for k in kids)
        elif e.is_Mul:
            t, w = 1, 0
            for kt, kw, _ in kids:
                t, w = min(t * kt, big), min(w + kw, big)
        elif e.is_Pow and e.base is not sp.E:
            bt, bw, _ = kids[0]
            n = _integer_part(e.exp)
            if bt == 1 or n == 0:
                t, w = 1, bw + 1
            else:
                t, w = min(math.comb(bt + min(n, cap) - 1, min(n, cap)), big), min(bw * n, big)
        elif isinstance(e, sp.exp) or e.is_Pow:
            t, w = 1, kids[-1][0]
        else:
            t, w = 1, 1
        work = min(t * w + sum(k[2] for k in kids), big)
        memo[e] = (t, w, work)
    return memo[expr][2]


def _integer_part(exponent) -> int:
    """|n| for a power's exponent n (a number, or a sum with a number part, which expand splits
    off: x**(y + 2) → x**y * x**2)."""
    if exponent.is_Number:
        return min(int(abs(number_value(exponent))), 10**6)
    if exponent.is_Add:
        c, _ = exponent.as_coeff_Add()
        return min(int(abs(number_value(c))), 10**6) if c.is_Number else 0
    return 0


def number_value(e) -> float:
    try:
        return float(e)
    except (TypeError, OverflowError):
        return math.inf


# ---------------------------------------------------------------- numeric second opinion


def numerically_equal(a, b, points: int = POINTS, whole: int = WHOLE_POINTS) -> bool | None:
    """True when a and b agree at every one of ``points`` random points where both are defined
    (at least MIN_POINTS of them), False when they differ at one, None when too few points are
    defined or a side cannot be evaluated. Half the points draw each symbol from (−2, 2), half
    from (0.2, 2) (so logs and square roots are defined somewhere); the seed is fixed.
    ``whole`` (WHOLE_POINTS) more draw each symbol from −1, 0, 1: random reals never land on a
    kink or a tie, where the conventions live (ReLU′(0) = 0, a max-pool tie goes to the first
    maximum), so dy·[x ≥ 0] for dy·[x > 0] would pass on reals alone (``only_ties`` asks
    exactly that, with ``whole`` = 0)."""
    symbols = sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name)
    rng = np.random.default_rng(_SEED)
    half = points // 2
    env = {
        s: np.concatenate(
            [
                rng.uniform(-2, 2, half),
                rng.uniform(0.2, 2, points - half),
                rng.integers(-1, 2, whole).astype(float),
            ]
        )
        for s in symbols
    }
    try:
        va = evaluate(a, env, shape=(points + whole,))
        vb = evaluate(b, env, shape=(points + whole,))
    except Unsupported:
        return None
    ok = np.isfinite(va) & np.isfinite(vb)
    if ok.sum() < MIN_POINTS:
        return None
    va, vb = va[ok], vb[ok]
    scale = np.maximum(1.0, np.maximum(np.abs(va), np.abs(vb)))
    return bool(np.all(np.abs(va - vb) <= RTOL * scale))


__all__ = [
    "MAX_LISTED",
    "MAX_PAIRS",
    "Feedback",
    "check_answer",
    "expansion_size",
    "inverse_names",
    "names_for",
    "numerically_equal",
    "term_feedback",
    "term_text",
    "typing_name",
    "typing_or_name",
]
