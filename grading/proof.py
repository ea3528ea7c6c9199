"""Symbolic equality that is a proof: the checker's only way to "Correct" (``answers``).

``prove(typed, expected)`` decides, with sympy, whether two expressions are the same function,
case by case where they hold conditions (ReLU's [x > 0], max pool's first maximum, abs, sign):

1. Both sides are put in one canonical form (``canonical``): max pool's FirstMax
   becomes the product of the conditions it stands for (x_q > the cells before it, x_q ≥
   those after it); sign(u) a Piecewise; exact rationals for floats; every comparison a form
   v compared with 0, v scaled and signed one way (so [x11 < x12] and [x12 > x11] are one
   condition).
2. Where a side still holds conditions, the cases are split on the sign of one form at a time
   (v > 0, v = 0, v < 0; on v = 0 one symbol is solved for, so ties and kinks are cases of
   their own, not points a random draw may miss). Every case ends in two condition-free
   expressions, or in one side being 0 where the other is a product of conditions.
3. Two condition-free expressions are equal when the numerator of their difference, written
   as one fraction after exponentials of a common base become symbols (tanh, cosh, sinh and
   the trigonometric functions rewritten in exponentials), multiplies out to 0: an identity
   of rational functions, which holds whatever values the symbols and exponentials take.

The result lists the cases that were not shown equal (``Proof.open``), with their conditions
and the values solved for, so the numbers (``points``) can look for a point inside each:
a point where the two sides differ is the refusal, and a case with none stays undecided.
Bounded: at most MAX_CASES cases and MAX_WORK of multiplying out per comparison; past either
the proof is incomplete (not equal, not refused).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import sympy as sp

from mathtext.functions import SoftmaxEntry

from .canonical import (
    FLIP,
    RELATIONS,
    canonical,
    conditions_of,
    form,
    is_bracket,
)

MAX_CASES = 400  # cases visited by one proof; a 6×6 max-pool window needs ~110
MAX_EXP_BASES = 40  # distinct monomials in exponentials' arguments (each becomes a symbol)
MAX_EXP_POWER = 100  # the largest power of one such symbol
MAX_WORK = 20_000  # expansion work (answers.expansion_size) of one comparison
_TRUTH = {
    sp.StrictGreaterThan: lambda s: s > 0,
    sp.GreaterThan: lambda s: s >= 0,
    sp.StrictLessThan: lambda s: s < 0,
    sp.LessThan: lambda s: s <= 0,
    sp.Equality: lambda s: s == 0,
    sp.Unequality: lambda s: s != 0,
}
_EXP_LIKE = (
    sp.sin,
    sp.cos,
    sp.tan,
    sp.cot,
    sp.sec,
    sp.csc,
    sp.sinh,
    sp.cosh,
    sp.tanh,
    sp.coth,
    sp.sech,
    sp.csch,
)


@dataclass(frozen=True)
class Case:
    """One case the proof could not close: its conditions (sympy relationals), the symbols
    solved for on the way (symbol, value; later values may use symbols solved earlier… in
    reverse: solve the last first), both sides there, and whether they were shown to differ
    as functions (a nonzero rational function: True only without conditions, where the case
    is the whole space), or which side is undefined there ("typed"/"expected"/"")."""

    conditions: tuple
    solved: tuple
    typed: sp.Expr
    expected: sp.Expr
    differs: bool = False
    undefined: str = ""


@dataclass
class Proof:
    equal: bool = False  # shown equal in every case
    complete: bool = True  # every case was examined (no bound was reached)
    open: list = field(default_factory=list)  # Cases not shown equal
    cases: int = 0
    deadline: float = float("inf")  # time.monotonic() past which no case is started
    known: dict = field(default_factory=dict)  # form → the signs the lesson's domain allows

    @property
    def differs(self) -> bool:
        """Shown to differ as functions on the whole space (no conditions involved)."""
        return any(c.differs for c in self.open)


def prove(
    typed, expected, max_work: int = 20_000, seconds: float | None = None, domain=()
) -> Proof:
    """Whether ``typed`` and ``expected`` are the same function, by cases (module notes),
    giving up (incomplete) after ``seconds``. ``domain``: the lesson's forward formulas
    (``answers.lesson_domain``); where they are undefined the lesson is, so no case there is
    examined (the log lesson's x11 > 0: dy11/abs(x11) is dy11/x11)."""
    proof = Proof()
    proof.known = domain_signs(domain)
    if seconds is not None:
        proof.deadline = time.monotonic() + seconds
    a, b = canonical(typed), canonical(expected)
    _cases(a, b, (), (), proof, max_work)
    proof.equal = proof.complete and not proof.open
    return proof


# ---------------------------------------------------------------- the cases


def _conditional(e) -> bool:
    return e.has(sp.Piecewise, sp.Abs, *RELATIONS)


def ready_forms(parts) -> list:
    """The forms whose sign decides a condition (``parts``: conditions_of's) and hold no
    condition themselves (innermost first: abs(x − relu(y)) splits on y before x − relu(y)),
    with repeats."""
    rels, abss = parts
    out = []
    for v in [r.lhs - r.rhs for r in rels] + [ab.args[0] for ab in abss]:
        w = form(v)[0]
        if not w.is_number and not _conditional(w):
            out.append(w)
    return out


def _cases(a, b, conditions, solved, proof: Proof, max_work: int) -> None:
    proof.cases += 1
    if proof.cases > MAX_CASES or time.monotonic() > proof.deadline:
        proof.complete = False
        return
    if a == b or (a - b) == 0 or sp.false in conditions:  # equal, or no such case
        return
    bad = _undefined(a, b)
    if bad:
        proof.open.append(Case(conditions, solved, a, b, undefined=bad))
        return
    pa, pb = conditions_of(a), conditions_of(b)
    if not any(pa + pb):
        same = rational_equal(a, b, max_work)
        if same is not True:
            differs = same is False and not conditions
            proof.open.append(Case(conditions, solved, a, b, differs=differs))
        return
    shortcut = _zero_against_conditions(a, b)
    if shortcut is not None:
        proof.open.append(Case(conditions + shortcut, solved, a, b))
        return
    forms = ready_forms(pa) + ready_forms(pb)
    if not forms:  # conditions this proof cannot split (a nonlinear one inside another)
        proof.complete = False
        proof.open.append(Case(conditions, solved, a, b))
        return
    # a form the two sides compare differently first ([x23 >= x22] against [x23 > x22]):
    # splitting on the conditions they share closes nothing (a 6×6 window's 34 shared ones
    # took the whole deadline)
    differ = set(pa[0]) ^ set(pb[0])
    apart = [w for w in forms if any(form(r.lhs - r.rhs)[0] == w for r in differ)]
    v = _most_common(apart or forms)
    truths = {s: _truths(pa, v, s) + _truths(pb, v, s) for s in (1, 0, -1)}
    signs = proof.known.get(v, (1, 0, -1))  # those the lesson's domain allows
    for s in signs:
        if s == 0 and any(truths[0] == truths[t] for t in (1, -1) if t in signs):
            # v = 0 decides every condition as one side does: that side's case (examined:
            # the domain allows it) holds the points where v = 0 too (abs(v) = ±v is right
            # there as well); no case of its own (a product of n conditions ≥ would otherwise
            # take 2ⁿ cases)
            continue
        a2, b2 = assign_all(a, pa, v, s), assign_all(b, pb, v, s)
        extra: tuple = ()
        cond = (sp.StrictGreaterThan(v, 0), sp.Equality(v, 0), sp.StrictLessThan(v, 0))[1 - s]
        if s == 0:
            solution = solve_linear(v)
            if solution is not None:
                a2, b2 = a2.xreplace(dict([solution])), b2.xreplace(dict([solution]))
                extra = (solution,)
        _cases(a2, b2, (*conditions, cond), solved + extra, proof, max_work)
        if not proof.complete:
            return


def domain_signs(domain) -> dict:
    """form → the signs it can have where the lesson's formulas ``domain`` are defined: the
    argument of a log is > 0, a denominator ≠ 0, what a fractional power takes ≥ 0."""
    allowed: dict = {}
    for f in domain:
        for n in sp.preorder_traversal(f):
            if isinstance(n, sp.log):
                u, signs = n.args[0], {1}
            elif n.is_Pow and n.exp.is_negative:
                u, signs = n.base, {1, -1}
            elif n.is_Pow and not n.exp.is_integer:
                u, signs = n.base, {1, 0}
            else:
                continue
            w, flipped = form(u)
            if w.is_number:
                continue
            signs = {-t for t in signs} if flipped else signs
            allowed[w] = allowed.get(w, {1, 0, -1}) & signs
    return {w: tuple(t for t in (1, 0, -1) if t in signs) for w, signs in allowed.items()}


def _most_common(forms: list):
    """The form deciding the most conditions; ties broken by its text, so the cases come in
    the same order in every process (sets of sympy objects iterate in hash order)."""
    counts = Counter(forms)
    top = max(counts.values())
    tied = [w for w, n in counts.items() if n == top]
    cheap = {w: (tuple(sorted(s.name for s in w.free_symbols)), len(w.args)) for w in tied}
    first = min(cheap.values())
    tied = [w for w in tied if cheap[w] == first]
    return tied[0] if len(tied) == 1 else min(tied, key=str)  # printing is slow: rarely


def _undefined(a, b) -> str:
    """Which side sympy itself found undefined in this case (0/0 after a tie was solved)."""
    bad = (sp.nan, sp.zoo, sp.oo, -sp.oo)
    ua, ub = a.has(*bad), b.has(*bad)
    if ua and not ub:
        return "typed"
    if ub and not ua:
        return "expected"
    return ""


def _zero_against_conditions(a, b):
    """When one side is 0 and the other a condition-free factor times conditions [c₁]…[cₙ]
    (a max-pool entry against a wrong answer), they differ exactly where all the conditions
    hold: those conditions, rather than 2ⁿ cases. None otherwise."""
    if a != 0 and b != 0:
        return None
    other = b if a == 0 else a
    conds = []
    for f in sp.Mul.make_args(other):
        if is_bracket(f) and f.args[0].cond is not sp.true:
            conds.append(f.args[0].cond)
        elif _conditional(f):
            return None
    return tuple(conds) if conds else None


def _truths(parts, v, s: int) -> tuple:
    """Whether each comparison on v holds when v has sign s."""
    out = []
    for r in parts[0]:
        w, flipped = form(r.lhs - r.rhs)
        if w == v:
            out.append(_TRUTH[FLIP[type(r)] if flipped else type(r)](s))
    return tuple(out)


def assign_all(e, parts, v, s: int):
    """assign, again where deciding v's conditions uncovered more of them ([relu(z) > 0]
    becomes [z > 0] once relu(z) is known to be z)."""
    for _ in range(8):
        after = assign(e, parts, v, s)
        if after == e:
            return e
        e, parts = after, conditions_of(after)
    return e


def assign(e, parts, v, s: int):
    """``e`` where the form v has sign s: its conditions on v decided, abs(±v) = ±s·v
    (``parts``: conditions_of(e))."""
    rels, abss = parts
    mapping = {}
    for r in rels:
        w, flipped = form(r.lhs - r.rhs)
        if w == v:
            op = FLIP[type(r)] if flipped else type(r)
            mapping[r] = sp.true if _TRUTH[op](s) else sp.false
    for ab in abss:
        w, flipped = form(ab.args[0])
        if w == v:
            mapping[ab] = (-s if flipped else s) * ab.args[0]
    return e.xreplace(mapping) if mapping else e


def solve_linear(v):
    """(symbol, value) with v = 0, for a form linear in some symbol with a number as its
    coefficient (x12 − x11 = 0: x12 = x11); None for other forms."""
    for s in sorted(v.free_symbols, key=lambda t: t.name, reverse=True):
        c = v.coeff(s)
        rest = sp.expand(v - c * s)
        if c.is_number and c != 0 and not rest.has(s):
            return s, -rest / c
    return None


# ---------------------------------------------------------------- without conditions


def rational_equal(a, b, max_work: int):
    """True when a − b is 0 as a rational function of the symbols and of the exponentials
    (module notes, 3); False when it is a nonzero one of symbols and exponentials alone (the
    two differ somewhere: exponentials of distinct monomials are algebraically independent);
    None when that cannot be said (other functions, a bound reached)."""
    d = as_rational(a - b)
    if d is None:
        return None
    if d == 0:
        return True
    if expansion_size(d, cap=max_work) > max_work:
        return None
    num = sp.fraction(sp.together(d))[0]
    if expansion_size(num, cap=max_work) > max_work:
        return None
    num = sp.expand(num)
    if num == 0:
        return True
    plain = all(isinstance(t, (sp.Symbol, sp.Dummy)) for t in _atoms_beyond_arithmetic(num))
    return False if plain else None


def _atoms_beyond_arithmetic(e) -> set:
    """Symbols and the function calls and non-integer powers that arithmetic leaves whole."""
    out, todo = set(), [e]
    while todo:
        n = todo.pop()
        if n.is_Symbol or n.is_Number or isinstance(n, sp.NumberSymbol) or n is sp.I:
            if n.is_Symbol:
                out.add(n)
        elif n.is_Add or n.is_Mul or (n.is_Pow and n.exp.is_Integer):
            todo.extend(n.args)
        else:
            out.add(n)
    return out


def expansion_size(e, cap: int = MAX_WORK) -> int:
    from .answers import expansion_size as size  # the one cost model (answers imports us)

    return size(e, cap=cap)


def as_rational(e):
    """None when that would be too much work, else ``e`` with hyperbolic and trigonometric functions in exponentials and every
    exponential a power of one Dummy per monomial in its argument (e^(2x+y) = X²·Y), so
    identities between exponentials become identities of rational functions."""
    if expansion_size(e) > MAX_WORK:  # exp's arguments are multiplied out below
        return None
    if e.has(*_EXP_LIKE):
        e = e.replace(lambda n: isinstance(n, _EXP_LIKE), lambda n: n.rewrite(sp.exp))
    if e.has(SoftmaxEntry):  # attention's p11 + p12 = 1 holds only for the quotients
        e = e.replace(lambda n: isinstance(n, SoftmaxEntry), lambda n: n.explicit())
    exps = [n for n in e.atoms(sp.exp)]
    if not exps:
        return e
    terms = {}  # exponential → [(coefficient, monomial)]
    for x in exps:
        terms[x] = [t.as_coeff_Mul() for t in sp.Add.make_args(sp.expand(x.args[0]))]
    denominators: dict = {}
    for parts in terms.values():
        for c, m in parts:
            if m != 1 and c.is_Rational:
                denominators[m] = sp.ilcm(denominators.get(m, 1), c.q)
    if len(denominators) > MAX_EXP_BASES:
        return None
    if any(
        abs(c * denominators[m]) > MAX_EXP_POWER
        for parts in terms.values()
        for c, m in parts
        if m in denominators
    ):
        return None  # e^(x/10¹²) next to e^x: powers no polynomial arithmetic should meet
    base = {m: sp.Dummy("E") for m in denominators}
    mapping = {}
    for x, parts in terms.items():
        factors = [
            sp.exp(c * m) if m == 1 or not c.is_Rational else base[m] ** int(c * denominators[m])
            for c, m in parts
        ]
        mapping[x] = sp.Mul(*factors)
    return e.xreplace(mapping)
