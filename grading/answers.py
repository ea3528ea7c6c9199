"""Checking a typed answer against a derivation's result, with feedback a student can act on.

    names = names_for(derive("conv2d"))          # "x11" → x_{11}, "dz11" → ∂L/∂z_{11}, …
    fb = check_answer("dz11*x12 + dz12*x13 + dz21*x22 + dz22*x23", d.grads["K"][0, 1], names)
    fb.correct, fb.message, fb.missing, fb.extra, fb.latex

How an answer is judged (PrairieLearn / WeBWorK / STACK style):
1. It is parsed with ``mathtext.parse`` (never eval'd or sympified); a parse error is the
   verdict, with the parser's message.
2. Correct needs a proof. Equal expansions are one; otherwise ``proof`` tries harder,
   still exactly: case by case over the conditions both sides hold (ReLU's [x > 0], max
   pool's first maximum, abs, sign; ties and kinks are cases of their own), each case an
   identity of rational functions once exponentials are powers of symbols (sigmoid's
   e^-x/(1 + e^-x)² is y·(1 − y)). A condition the expected answer does not have is accepted
   only if these cases prove it changes nothing.
3. Numbers are a second opinion that can only refuse (``points``): both sides at ~110
   points, magnitudes from 10⁻⁶ to 50, whole numbers, on and beside every kink and tie, and
   inside every case the proof left open. A point where the expected answer is defined and
   the typed one is not (0/0, a log or root of a negative number) refuses, and so does one
   where they differ, each confirmed in 40-digit arithmetic. "Defined" is of the answer as
   typed, node by node (``tree``): sympy turns x11/x11 into 1 and 0*log(-1) into 0
   as it builds, which would hide what was typed. Points where the lesson's own
   forward pass is undefined (``domain``) are not compared.
4. Neither proven nor refused: "could not decide" (method "undecided"), a message that does
   not count toward a score, never a pass.
5. A refused answer is explained: a known slip by name (``slips``: the local
   derivative alone, note 003's lost sign, note 004's ReLU convention, a tie), otherwise the
   expanded terms are compared: terms of the expected answer that are absent are
   ``missing``, typed terms that do not belong are ``extra``; the message pairs them up where
   it can ("the sign of the second term", "you have dz21*k12 where dz21*k21 belongs", "a
   factor of 2 too many") and names terms as the learner types them.

Time: every call returns within CHECK_SECONDS (1.5 s) and a few tenths of a second, whatever the
text, in two layers.
- Bounds that make normal answers fast: the parser's (300 characters, 200 nodes, depth 40,
  exponents ≤ 10, numbers finite in float64, sympy trees ≤ 5,000 nodes and 100 levels), and
  ``expansion_size``, which bounds the work of sympy's ``expand`` before it runs ("too complex
  to check" past MAX_WORK). The proof visits at most ``proof.MAX_CASES`` cases and
  stops after half the time; the numbers are one float pass over each tree for all points,
  and at most a dozen points in high precision. Nothing here calls simplify.
- A hard limit, because no size bound tames sympy's automatic simplification: on some nested
  functions its questions (is this real? positive?) take exponentially long; a 40-character
  relu(relu(log(sigmoid(sigmoid(x11 + 2))))) takes 130 s to build. So everything that touches
  sympy runs in the worker process (``workers``) under a deadline; past it the worker is
  killed and the verdict is "too complex to check". The checks that need no sympy (characters,
  tokens, the syntax tree) run first, in the calling process, so junk gets its message at once.

The names a learner types are ``mathtext.typed_names``, the names a question offers ``names``,
the wording of which terms differ ``terms``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import sympy as sp

from mathtext.functions import FirstMax
from mathtext.numeric import Unsupported, evaluate
from mathtext.parse import build_here, check_text
from mathtext.typed_names import inverse_names, term_text
from mathtext.window_max import lighten
from workers import worker

from .points import Comparison, compare, describe_point, probe, sample
from .proof import RELATIONS, Proof, prove
from .slips import explain
from .terms import MAX_LISTED, MAX_PAIRS, term_feedback
from .tree import typed_tree

CHECK_SECONDS = 1.5  # the whole check, worker included, leaving room in the page's 2 s for
# killing an overrunning worker (~0.2 s on a busy machine) and the page itself
MAX_WORK = 20_000  # expand()'s work on a typed answer, estimated before it runs
MAX_EXPECTED_WORK = 100_000  # …and on the expected answer, which comes from the lesson


@dataclass(frozen=True)
class Feedback:
    """The verdict on one typed answer.

    correct   whether it equals the expected expression
    message   one or two sentences for the learner
    missing   terms of the expanded expected answer that the typed one lacks
    extra     typed terms (expanded) that do not belong
    parsed    what was understood (None when the text did not parse)
    latex     LaTeX of ``parsed``, to show before or beside the verdict ("" when unparsed)
    method    how it was decided: "symbolic" (proven equal), "different" (refused: a point
              where it differs or is undefined, or a proof that it differs), "undecided"
              (neither: could not decide, which is not a verdict), "unparsed",
              "too complex", "busy" or "error". ("numeric" is no longer given: numbers
              alone never make an answer correct.)
    """

    correct: bool
    message: str
    missing: list = field(default_factory=list)
    extra: list = field(default_factory=list)
    parsed: sp.Expr | None = None
    latex: str = ""
    method: str = ""


def check_answer(text: str, expected, names: dict, timeout: float = CHECK_SECONDS) -> Feedback:
    """Is ``text`` (typed with ``names``, see ``mathtext.parse``) equal to the sympy
    expression ``expected``? Never raises: anything unexpected gives correct=False. Its sympy
    work takes at most ``timeout`` seconds, whatever the text: the checks that need no sympy
    run here, the rest in a worker process (``workers``), which is killed if it overruns ("too
    complex to check"). Waiting for a free worker, behind other sessions' checks, adds at most
    ``workers.worker.WAIT_SECONDS``."""
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
        # the feedback speaks the learner's language: quantities the lesson names (y11 =
        # m11/n11, softmax's p1, p2, …) are written by their names only if the learner typed
        # one of their family (dy11*m11/n11^2 was echoed as dy11*y11/n11); and only those
        # are sent to the worker (unpickling max pool's z11 = Max(36 cells) took 3 s)
        inverse = {
            s: n
            for s, n in inverse_names(names).items()
            if s.free_symbols & wanted and spoken(s, n, {k: names[k] for k in checked.used})
        }
        domain = lesson_domain(names, wanted)
        # a max pool's z11 = Max(36 cells) would be built again in the worker: 3 s, killed
        used = {k: lighten(v) for k, v in used.items()}
        inverse = {lighten(s): n for s, n in inverse.items()}
        try:
            return worker.run(
                "check",
                checked.text,
                expected,
                used,
                inverse,
                domain,
                0.8 * timeout,
                timeout=timeout,
                deadline=deadline,
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


def lesson_domain(names: dict, wanted: set) -> tuple:
    """The lesson's forward formulas that can be undefined somewhere (log's y11 = log(x11),
    div's y11 = m11/n11), among those about the symbols in play: where they are undefined the
    lesson is, and no answer is judged there."""
    out = []
    for value in names.values():
        if value.is_Atom or not (value.free_symbols & wanted):
            continue
        if any(_can_be_undefined(n) for n in sp.preorder_traversal(value)):
            out.append(value)
    return tuple(out[:64])


def _can_be_undefined(n) -> bool:
    if n.is_Pow:
        return not (n.exp.is_Integer and n.exp > 0) and not n.base.is_positive
    return isinstance(n, (sp.log, sp.tan, sp.cot, sp.sec, sp.csc, sp.coth, sp.csch))


def check_here(
    text, expected, names, inverse, domain=(), seconds: float = CHECK_SECONDS
) -> Feedback:
    """check_answer's verdict, computed in this process (the worker runs it): parse, prove or
    refuse, explain the difference. ValueError for text that does not build (its message is
    the learner's). ``domain``: the lesson's forward formulas, defined where the lesson is;
    ``seconds``: the time the proof may take before it gives up ("could not decide")."""
    deadline = time.monotonic() + seconds
    parsed, builder, body = build_here(text, names)
    tree = typed_tree(builder, body)  # the answer as typed: sympy simplified x11/x11 to 1
    typed = parsed.expr
    too_big = _too_big(typed, expected)
    if too_big:
        return Feedback(False, too_big, parsed=typed, latex=parsed.latex, method="too complex")
    te, ee = sp.expand(typed), sp.expand(expected)
    if te == ee or te - ee == 0:  # equal expansions (the difference collects like terms)
        proof, numbers = Proof(equal=True), None
    else:  # numbers first: a refusal needs no proof unless ties are to be told apart
        proof, numbers = Proof(complete=False), None
        first = judge_numbers(typed, expected, proof, domain, deadline, False, tree)
        if first is not None and first.refused and off_the_kinks(first, typed, expected):
            numbers = first  # no tie or kink slip to tell apart: the point is the verdict
        else:
            proof = prove(te, ee, MAX_WORK, PROOF_SHARE * seconds, domain)
    if numbers is None:
        numbers = judge_numbers(typed, expected, proof, domain, deadline, tree=tree)
    said = {s: n for s, n in inverse.items() if spoken(s, n, names)}  # see check_answer
    if numbers is not None and numbers.undefined:
        message = undefined_words(typed, numbers, said)
        return Feedback(False, message, parsed=typed, latex=parsed.latex, method="different")
    if proof.equal and not (numbers is not None and numbers.differ):
        return Feedback(
            True,
            correct_words(te == ee or te - ee == 0, proof, numbers),
            parsed=typed,
            latex=parsed.latex,
            method="symbolic",
        )
    refused = (numbers is not None and numbers.refused) or proof.differs
    return not_equal(parsed, expected, said, proof, numbers, refused)


PROOF_SHARE = 0.5  # of the check's seconds, for the proof; the numbers and the words follow


def off_the_kinks(numbers, typed, expected) -> bool:
    """Whether the refusal's point lies off every kink and tie of both sides (no condition's
    two sides equal there): then the answer is more than a tie slip, and the cases that would
    tell one apart are not needed."""
    point = (numbers.differ or numbers.undefined)[0]
    forms = kink_forms(typed) + kink_forms(expected)
    try:
        return all(float(evaluate(v, {s: point[s] for s in v.free_symbols})) != 0 for v in forms)
    except (Unsupported, KeyError, TypeError, ValueError):
        return False


def judge_numbers(
    typed, expected, proof, domain, deadline=math.inf, probing: bool = True, tree=None
) -> Comparison | None:
    """The numbers' opinion: at the sampled points, around every kink and inside every case
    the proof left open; where nothing was proven either way, a few points in high precision
    too (a difference of 10⁻¹⁵ that floats cannot see). ``tree``: the answer as typed
    (``tree``), whose names sympy may have dropped (0*log(-x22^2 - 1))."""
    held = tree.symbols if tree is not None else frozenset()
    symbols = sorted(typed.free_symbols | expected.free_symbols | held, key=lambda s: s.name)
    domain = [f for f in domain if f.free_symbols <= set(symbols)]
    forms = kink_forms(typed) + kink_forms(expected)
    env = sample(symbols, forms, proof.open)
    numbers = compare(typed, expected, env, domain, deadline, tree)
    undecided = not (proof.equal or proof.differs)
    if probing and numbers is not None and not numbers.refused and undecided:
        numbers.differ.extend(probe(typed, expected, env, domain, deadline=deadline))
    return numbers


def kink_forms(e) -> list:
    """The forms a condition, abs or first maximum of ``e`` compares with 0."""
    out = set()
    for r in e.atoms(*RELATIONS):
        if not isinstance(r, sp.logic.boolalg.BooleanAtom):
            out.add(r.lhs - r.rhs)
    out.update(a.args[0] for a in e.atoms(sp.Abs))
    for fm in e.atoms(FirstMax):
        q, xs = fm.args
        out.update(xs[int(q)] - x for x in xs if x != xs[int(q)])
    return sorted(out, key=sp.default_sort_key)


def correct_words(same_terms: bool, proof, numbers) -> str:
    if same_terms:
        return "Correct."
    points = f" It agrees at all {numbers.compared} points checked too." if numbers else ""
    if proof.cases > 1:
        return (
            "Correct: it is written differently, and sympy shows it is the same function in "
            f"every case of its conditions (kinks and ties included).{points}"
        )
    return f"Correct: it is written differently, and sympy shows it is the same function.{points}"


def undefined_words(typed, numbers, inverse) -> str:
    """Where the typed answer is undefined although the expected one is defined."""
    point = numbers.undefined[0]
    if numbers.why and numbers.why[0] is not None:  # the part as typed (tree)
        why, culprit = numbers.why[0]
        shown = set(culprit) | typed.free_symbols
    else:
        why, node = undefined_reason(typed, point, inverse)
        culprit = node.free_symbols if node is not None else set()
        shown = typed.free_symbols
    where = describe_point(point, shown or point.keys(), inverse, first=culprit)
    n, k = numbers.compared, numbers.undefined_count
    return (
        f"Not quite: your answer is undefined at {k} of the {n} points compared, where the "
        f"expected answer is defined; at {where}, {why}. A gradient is a number wherever the "
        "lesson's function is defined: write it without dividing by what can be 0 (or taking "
        "a square root or log of what can be negative)."
    )


def undefined_reason(expr, point: dict, inverse) -> tuple[str, sp.Basic | None]:
    """Why ``expr`` has no value at ``point``, and the first part of it that has none."""
    trace: list = []
    try:
        evaluate(expr, {s: point[s] for s in expr.free_symbols}, trace=trace)
    except Unsupported:
        return "it is not a real number", None
    if not trace:
        return "it is not a real number", None
    node = trace[0]
    shown = term_text(node, inverse)
    if node.is_Pow and node.exp.is_negative:
        return f"it divides by 0 in {shown}", node
    if node.is_Pow and not node.exp.is_integer:
        return f"it takes a root of a negative number in {shown}", node
    if isinstance(node, sp.log):
        return f"it takes the log of a number that is not positive in {shown}", node
    return f"{shown} has no value there", node


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


def spoken(value, name: str, used: dict) -> bool:
    """Whether the feedback writes ``value`` by its ``name``: a symbol always; a quantity the
    lesson names (y11 = m11/n11, p1, an MLP's a1_12 = σ(z1_12)) when the learner typed one of
    its family, or typed none of what it is made of (dy11*m11/n11^2 is echoed as typed, not
    as dy11*y11/n11; an MLP answer without a1_12 still reads a1_12, not e^(−z1_12))."""
    if value.is_Atom:
        return True
    if _family(name) in {_family(k) for k in used}:
        return True
    raw = {v for v in used.values() if v.is_Symbol}
    return not (value.free_symbols & raw)


def _family(name: str) -> str:
    """y11, y1_10 → y; p2 → p: the letters of a typed name, its indices dropped."""
    return name.rstrip("0123456789_")


def not_equal(parsed, expected, inverse, proof, numbers, refused: bool) -> Feedback:
    """The verdict on an answer not shown correct: refused (different), or undecided."""
    message, method, missing, extra = explain(parsed, expected, inverse, proof, numbers, refused)
    return Feedback(
        False, message, missing, extra, parsed=parsed.expr, latex=parsed.latex, method=method
    )


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


__all__ = [
    "MAX_LISTED",
    "MAX_PAIRS",
    "Feedback",
    "check_answer",
    "expansion_size",
    "term_feedback",
]
