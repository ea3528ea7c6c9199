"""Checking a typed answer against a derivation's result, with feedback a student can act on.

    names = names_for(derive("conv2d"))          # "x11" → x_{11}, "dz11" → ∂L/∂z_{11}, …
    fb = check_answer("dz11*x12 + dz12*x13 + dz21*x22 + dz22*x23", d.grads["K"][0, 1], names)
    fb.correct, fb.message, fb.missing, fb.extra, fb.latex

How an answer is judged (STACK / WeBWorK style):
1. It is parsed with ``parse`` (never eval'd or sympified); a parse error is the verdict, with
   the parser's message.
2. Symbolic: both sides are expanded; equal expansions are correct.
3. Numeric second opinion, where expansion cannot decide (max pool's FirstMax indicator, ReLU's
   Piecewise, softmax's fractions of exponentials): both sides at POINTS random points, with
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
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from sympy.printing.str import StrPrinter

from . import worker
from .numeric import Unsupported, evaluate
from .parse import check_text, is_indicator, ordinal, parse_here, relu_argument

CHECK_SECONDS = 1.5  # the whole check, worker included, leaving room in the page's 2 s for
# killing an overrunning worker (~0.2 s on a busy machine) and the page itself
MAX_WORK = 20_000  # expand()'s work on a typed answer, estimated before it runs
MAX_EXPECTED_WORK = 100_000  # …and on the expected answer, which comes from the lesson
POINTS = 16  # random points for the numeric check
MIN_POINTS = 4  # …of which at least this many must be defined on both sides
RTOL = 1e-8
MAX_LISTED = 4  # terms named in one sentence before "and 3 more"
MAX_PAIRS = 400  # extra × missing pairs compared factor by factor for index slips
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
    expression ``expected``? Never raises: anything unexpected gives correct=False. Returns
    within ``timeout`` seconds and a few milliseconds, whatever the text: the checks that need
    no sympy run here, the rest in the worker process (``worker``), which is killed if it
    overruns ("too complex to check")."""
    deadline = time.monotonic() + timeout
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
        inverse = {s: n for s, n in inverse_names(names).items() if s in wanted}
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
    if expansion_size(expected, cap=MAX_EXPECTED_WORK) > MAX_EXPECTED_WORK:
        # never from a lesson's gradients (the largest, max pool's at 16×16, is ~1,500): a page
        # asking about something sympy cannot multiply out in time
        return Feedback(
            False,
            "the expected answer is too large to compare with: this question cannot be checked",
            parsed=typed,
            latex=latex,
            method="too complex",
        )
    if expansion_size(typed) > MAX_WORK:
        return Feedback(
            False,
            "too complex to check: multiplied out, this would have thousands of terms. "
            "Write it as the sum of products it should be.",
            parsed=typed,
            latex=latex,
            method="too complex",
        )
    te, ee = sp.expand(typed), sp.expand(expected)
    if te == ee or te - ee == 0:  # equal expansions (the difference collects like terms)
        return Feedback(True, "Correct.", parsed=typed, latex=latex, method="symbolic")
    same = numerically_equal(typed, expected)
    if same:
        return Feedback(
            True,
            "Correct: it is written differently, but equals the expected answer at "
            f"{POINTS} random points.",
            parsed=typed,
            latex=latex,
            method="numeric",
        )
    # terms as the lesson writes them: products distributed over sums, but no powers of sums
    # multiplied out (sigmoid's e^-x/(1 + e^-x)^2 stays as it is, not 1/(2 + e^x + e^-x))
    missing, extra, notes = term_feedback(
        sp.expand_mul(typed), sp.expand_mul(expected), parsed.summands, inverse
    )
    if same is None:
        message = (
            "this could not be checked: at random numbers it is undefined (a log or square "
            "root of a negative number, or a division by zero) on one side or the other"
        )
        method = "undecided"
    else:
        message = "Not quite. " + " ".join(notes) if notes else "Not quite."
        method = "different"
    return Feedback(False, message, missing, extra, parsed=typed, latex=latex, method=method)


# ---------------------------------------------------------------- names


_INDEXED = re.compile(r"([A-Za-z]+)_\{?([0-9,]+|[A-Za-z])\}?")
_LAYER = re.compile(r"\^\{\([0-9]+\)\}")


def typing_name(symbol) -> str:
    """What a learner types for a lesson symbol: x_{11} → x11, x_{1,10} → x1_10, f_{1} → f1,
    L_i → L_i, b → b. A network layer's superscript is dropped (w^{(2)}_{11} → w11): a
    question about one layer's part uses that layer's names (names_for refuses a clash)."""
    name = _LAYER.sub("", symbol.name)
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
    - for softmax-CE, the probabilities "p1", "p2", … → exp(f_k)/Σ_j exp(f_j).
    """
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
    return names


def _softmax_probabilities(d) -> dict:
    f = list(d.inputs["f"])
    total = sp.Add(*[sp.exp(v) for v in f])
    return {f"p{k + 1}": sp.exp(v) / total for k, v in enumerate(f)}


# quantities the lessons name that are not inputs or outputs (a Derivation does not carry them)
_INTERMEDIATES = {"softmax_cross_entropy": _softmax_probabilities}


def inverse_names(names: dict) -> dict[sp.Symbol, str]:
    """Each symbol of ``names`` → the name the learner types for it (the first, if several)."""
    out: dict = {}
    for key, value in names.items():
        if isinstance(value, sp.Symbol):
            out.setdefault(value, key)
    return out


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
        u = relu_argument(expr)
        if u is not None:
            return f"relu({self._print(u)})"
        return self._print_Basic(expr)

    def _print_FirstMax(self, expr):
        q, xs = expr.args  # the window is one Tuple (see algebra.FirstMax)
        return f"[{self._print(xs[int(q)])} is the max]"

    def _print_Abs(self, expr):
        return f"abs({self._print(expr.args[0])})"


def typing_or_name(symbol) -> str:
    try:
        return typing_name(symbol)
    except ValueError:
        return symbol.name


def term_text(term, inverse: dict) -> str:
    """A term in the learner's notation: the names they type, * for products, ^ for powers."""
    return _Plain(inverse).doprint(term).replace("**", "^")


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


def numerically_equal(a, b, points: int = POINTS) -> bool | None:
    """True when a and b agree at every one of ``points`` random points where both are defined
    (at least MIN_POINTS of them), False when they differ at one, None when too few points are
    defined or a side cannot be evaluated. Half the points draw each symbol from (−2, 2), half
    from (0.2, 2) (so logs and square roots are defined somewhere); the seed is fixed."""
    symbols = sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name)
    rng = np.random.default_rng(_SEED)
    half = points // 2
    env = {
        s: np.concatenate([rng.uniform(-2, 2, half), rng.uniform(0.2, 2, points - half)])
        for s in symbols
    }
    try:
        va = evaluate(a, env, shape=(points,))
        vb = evaluate(b, env, shape=(points,))
    except Unsupported:
        return None
    ok = np.isfinite(va) & np.isfinite(vb)
    if ok.sum() < MIN_POINTS:
        return None
    va, vb = va[ok], vb[ok]
    scale = np.maximum(1.0, np.maximum(np.abs(va), np.abs(vb)))
    return bool(np.all(np.abs(va - vb) <= RTOL * scale))


# ---------------------------------------------------------------- which terms differ


def term_feedback(typed, expected, summands, inverse) -> tuple[list, list, list[str]]:
    """(missing, extra, sentences) for ``typed`` against ``expected``, both multiplied out.

    ``summands`` are the typed top-level terms in the order typed, to say "the second term".
    Pairs are explained first: the same product with another coefficient (a sign, a factor of
    2), then products that differ in one factor (an index slip); the rest are listed."""
    exp_terms = [t for t in sp.Add.make_args(expected) if t != 0]
    typ_terms = [t for t in sp.Add.make_args(typed) if t != 0]
    exp_set, typ_set = set(exp_terms), set(typ_terms)
    missing = [t for t in exp_terms if t not in typ_set]
    extra = [t for t in typ_terms if t not in exp_set]
    txt = lambda t: term_text(t, inverse)  # noqa: E731
    position = _positions(summands)

    def which(t) -> str:
        k = position.get(t)
        return f"the {ordinal(k)} term" if k is not None else txt(t)

    whole = _whole_ratio(typed, expected)
    if whole is not None:
        return missing, extra, [_whole_sentence(whole)]
    notes: list[str] = []
    left_m, left_x = list(missing), list(extra)
    # the same product, another coefficient (a dict lookup per term)
    by_product = {m.as_coeff_Mul()[1]: m for m in left_m}
    for x in list(left_x):
        cx, mx = x.as_coeff_Mul()
        m = by_product.pop(mx, None)
        if m is not None:
            notes.append(_coefficient_sentence(which(x), txt(x), txt(m), cx / m.as_coeff_Mul()[0]))
            left_x.remove(x)
            left_m.remove(m)
    # one factor different, usually an index slip (pairs tried only while there are few)
    if len(left_x) * len(left_m) <= MAX_PAIRS:
        facts = {t: (t.as_coeff_Mul()[0], _factors(t.as_coeff_Mul()[1])) for t in left_x + left_m}
        for x in list(left_x):
            for m in left_m:
                if facts[x][0] == facts[m][0] and _one_factor_apart(facts[x][1], facts[m][1]):
                    notes.append(f"You have {txt(x)} where {txt(m)} belongs.")
                    left_x.remove(x)
                    left_m.remove(m)
                    break
    if left_m:
        notes.append(_listed(left_m, txt, "A term is missing", "terms are missing"))
    if left_x:
        notes.append(_listed(left_x, txt, "A term does not belong", "terms do not belong"))
    return missing, extra, notes


def _positions(summands) -> dict:
    """Expanded term → its position among the summands as typed (when a summand expands to one
    term; the first occurrence wins)."""
    out: dict = {}
    for k, s in enumerate(summands):
        e = sp.expand_mul(s)
        if not e.is_Add:
            out.setdefault(e, k)
    return out


def _whole_ratio(typed, expected):
    """c when typed = c·expected for a number c ≠ 1 (and expected has 2+ terms), else None."""
    exp_terms = sp.Add.make_args(expected)
    if expected == 0 or len(exp_terms) < 2 or len(sp.Add.make_args(typed)) != len(exp_terms):
        return None
    c0, m0 = exp_terms[0].as_coeff_Mul()
    for t in sp.Add.make_args(typed):
        c, m = t.as_coeff_Mul()
        if m == m0:
            ratio = c / c0
            if ratio != 1 and sp.expand_mul(typed - ratio * expected) == 0:
                return ratio
            return None
    return None


def _whole_sentence(c) -> str:
    if c == -1:
        return "The whole answer has the wrong sign: every term's sign is flipped."
    return f"Every term is {sp.sstr(c)} times what it should be: {_factor_words(c)}."


def _coefficient_sentence(which: str, have: str, want: str, ratio) -> str:
    if ratio == -1:
        return f"Check the sign of {which}: you have {have} where {want} belongs."
    return f"You have {have} where {want} belongs: {_factor_words(ratio)}."


def _factor_words(r) -> str:
    words = []
    if r < 0:
        words.append("the sign is flipped")
        r = -r
    if r.is_Integer and r > 1:
        words.append(f"a factor of {r} too many")
    elif r.is_Rational and r.p == 1 and r.q > 1:
        words.append(f"a factor of {r.q} missing")
    elif r != 1:
        words.append(f"the number in front is {sp.sstr(r)} times what it should be")
    return " and ".join(words)


def _one_factor_apart(fa: Counter, fb: Counter) -> bool:
    """Two products (as factor counts) that differ in exactly one factor: dz21·k12 against
    dz21·k21."""
    return sum((fa - fb).values()) == 1 and sum((fb - fa).values()) == 1


def _factors(e) -> Counter:
    out: Counter = Counter()
    for f in sp.Mul.make_args(e):
        base, n = f.as_base_exp()
        if n.is_Integer and 0 < n <= 100:
            out[base] += int(n)
        else:
            out[f] += 1
    return out


def _listed(terms, txt, one: str, many: str) -> str:
    shown = [txt(t) for t in terms[:MAX_LISTED]]
    more = f" and {len(terms) - MAX_LISTED} more" if len(terms) > MAX_LISTED else ""
    if len(terms) == 1:
        return f"{one}: {shown[0]}."
    return f"{len(terms)} {many}: {', '.join(shown)}{more}."


__all__ = [
    "Feedback",
    "check_answer",
    "expansion_size",
    "inverse_names",
    "names_for",
    "numerically_equal",
    "term_text",
    "typing_name",
]
