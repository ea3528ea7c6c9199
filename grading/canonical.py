"""The canonical form both sides of an answer are compared in (``proof``, step 1).

- Floats as the rationals they were written as; identities of real numbers sympy leaves alone
  for its symbols ((e^u)^r = e^(ru), log(e^u) = u, (b^2k)^r = |b|^(2kr)).
- Max pool's FirstMax as the product of the conditions it stands for (x_q > the cells before
  it, x_q ≥ those after it); a condition against a window's max (z11) as conditions on each
  cell; sign(u) and two-argument Max/Min as Piecewise.
- Every comparison a form w compared with 0, w scaled and signed one way (so [x11 < x12] and
  [x12 > x11] are one condition), and brackets of one product on the same form merged into
  one ([w > 0]·[w ≥ 0] is [w > 0]).
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import sympy as sp

from mathtext.functions import FirstMax
from mathtext.window_max import WindowMax

RELATIONS = (
    sp.StrictGreaterThan,
    sp.GreaterThan,
    sp.StrictLessThan,
    sp.LessThan,
    sp.Equality,
    sp.Unequality,
)
FLIP = {
    sp.StrictGreaterThan: sp.StrictLessThan,
    sp.GreaterThan: sp.LessThan,
    sp.StrictLessThan: sp.StrictGreaterThan,
    sp.LessThan: sp.GreaterThan,
    sp.Equality: sp.Equality,
    sp.Unequality: sp.Unequality,
}
# the truth of "v op 0" when v has sign s


def canonical(e):
    """The form both sides are compared in (module notes, 1)."""
    e = real_forms(exact(e))
    if e.has(FirstMax):
        e = e.replace(lambda n: isinstance(n, FirstMax), first_max_conditions)
    if e.has(WindowMax, sp.Max):  # [x23 >= z11] with z11 a max pool's window max
        e = e.replace(lambda n: against_max(n) is not None, against_max)
    if e.has(sp.sign):
        e = e.replace(lambda n: isinstance(n, sp.sign), lambda n: sign_piecewise(n.args[0]))
    if e.has(sp.Max, sp.Min):  # the ReLU lesson's forward max(0, x), a network's a = relu(z)
        # of two arguments only: a window's max nested into conditions sends sympy's Piecewise
        # into simplify for seconds; such answers are left to the numbers
        two = lambda n: isinstance(n, (sp.Max, sp.Min)) and len(n.args) == 2  # noqa: E731
        e = e.replace(two, extreme_piecewise)
    rels, _ = conditions_of(e)
    changed = {r: c for r in rels if (c := canonical_relation(r)) != r}
    return merge_brackets(e.xreplace(changed) if changed else e)


# the signs of w where "w op 0" holds, and back
_SIGNS = {
    sp.StrictGreaterThan: frozenset({1}),
    sp.GreaterThan: frozenset({1, 0}),
    sp.StrictLessThan: frozenset({-1}),
    sp.LessThan: frozenset({-1, 0}),
    sp.Equality: frozenset({0}),
    sp.Unequality: frozenset({1, -1}),
}
_OF_SIGNS = {signs: op for op, signs in _SIGNS.items()}


def merge_brackets(e):
    """Brackets of one product on the same form as one ([w > 0]·[w ≥ 0] is [w > 0], their
    signs intersected), so two ways of writing a window's first maximum ([x23 >= z11] with
    [x23 > x11]…, or first_max) are the same expression at once: a 6×6 window otherwise took
    35 levels of cases, past the deadline on a busy machine."""
    if not e.has(sp.Piecewise):
        return e
    return e.replace(lambda n: n.is_Mul and _bracket_forms(n) is not None, _merge)


def _bracket_forms(m):
    """form → the signs its brackets in the product m allow, or None when no form has two."""
    groups: dict = {}
    for f in m.args:
        base = f.base if f.is_Pow and f.exp.is_Integer and f.exp > 0 else f
        if is_bracket(base) and base.args[0].cond.rhs == 0:
            rel = base.args[0].cond
            groups.setdefault(rel.lhs, []).append(_SIGNS[type(rel)])
    if all(len(v) < 2 for v in groups.values()):
        return None
    return {w: frozenset.intersection(*v) for w, v in groups.items()}


def _merge(m):
    groups = _bracket_forms(m)
    others = []
    for f in m.args:
        base = f.base if f.is_Pow and f.exp.is_Integer and f.exp > 0 else f
        if not (is_bracket(base) and base.args[0].cond.rhs == 0):
            others.append(f)
    brackets = []
    for w, signs in groups.items():
        if not signs:
            return sp.S.Zero
        if len(signs) < 3:
            brackets.append(sp.Piecewise((1, _OF_SIGNS[signs](w, 0)), (0, sp.true), evaluate=False))
    return sp.Mul(*others, *brackets)


def real_forms(e):
    """Identities of real numbers that sympy does not apply to its symbols (which may be
    complex): (e^u)^r = e^(r·u), log(e^u) = u, (b^(2k))^r = |b|^(2k·r). The lessons' symbols
    are real, so sqrt(exp(2*x11)) is exp(x11) and sqrt(1/x11^2) is 1/abs(x11)."""
    if e.has(sp.exp):
        e = e.replace(
            lambda n: n.is_Pow and isinstance(n.base, sp.exp) and n.exp.is_Rational,
            lambda n: sp.exp(n.exp * n.base.args[0]),
        )
        e = e.replace(
            lambda n: isinstance(n, sp.log) and isinstance(n.args[0], sp.exp),
            lambda n: n.args[0].args[0],
        )
    even = lambda n: (  # noqa: E731
        n.is_Pow
        and n.exp.is_Rational
        and not n.exp.is_integer
        and n.base.is_Pow
        and n.base.exp.is_Integer
        and n.base.exp.is_even
    )
    return e.replace(even, lambda n: sp.Abs(n.base.base) ** (n.base.exp * n.exp))


def exact(e):
    """Floats as the rationals they were written as (a lesson's α = 0.01 is 1/100)."""
    floats = e.atoms(sp.Float)
    if not floats:
        return e
    exact_values = {}
    for f in floats:
        q = Fraction(str(f))  # the decimal as printed (0.01), not its binary double
        exact_values[f] = sp.Rational(q.numerator, q.denominator)
    return e.xreplace(exact_values)


def first_max_conditions(fm):
    """FirstMax(q, xs) as conditions: x_q > each cell before it, x_q ≥ each cell after it,
    each already in the canonical form (built unevaluated: 35 indicators of a 6×6 window
    through Piecewise's own simplification took 0.1 s)."""
    q, xs = fm.args
    q = int(q)
    factors = []
    for j, other in enumerate(xs):
        if j != q:
            rel = sp.StrictGreaterThan if j < q else sp.GreaterThan
            factors.append(_bracket(rel(xs[q], other)))
    return sp.Mul(*factors)


def against_max(n):
    """An indicator comparing a value with the max of three or more others, as conditions on
    each of them ([a >= max(xs)] is the product of [a >= x]; [a < max(xs)] is 1 minus the
    product of [a >= x]); None for any other node. The max may stand anywhere in the
    comparison, once and linearly ([z11 - x21 <= 0]). (Two-argument Max becomes cases.)"""
    if not (is_bracket(n) and isinstance(n.args[0].cond, RELATIONS[:4])):
        return None
    rel = n.args[0].cond
    d = rel.lhs - rel.rhs
    wide = [m for m in d.atoms(sp.Function) if _wide_max(m)]
    if len(wide) != 1:
        return None
    m = wide[0]
    c = d.coeff(m)
    a = -(d - c * m) / c if c.is_number and c != 0 else None
    if a is None or a.has(m):
        return None
    # "c·m − c·a op 0" is "a op' m": op' is op flipped (m was on the left) unless c < 0
    op = type(rel) if c < 0 else FLIP[type(rel)]
    every = sp.GreaterThan if op in (sp.GreaterThan, sp.StrictLessThan) else sp.StrictGreaterThan
    product = sp.Mul(*[_bracket(every(a, x)) for x in m.args])
    return product if op in (sp.GreaterThan, sp.StrictGreaterThan) else 1 - product


def _bracket(rel):
    """[rel] built unevaluated, its condition in the canonical form (Piecewise's own
    simplification of 36 of them took seconds)."""
    return sp.Piecewise((1, canonical_relation(rel)), (0, sp.true), evaluate=False)


def _wide_max(e) -> bool:
    return isinstance(e, WindowMax) or (isinstance(e, sp.Max) and len(e.args) > 2)


def extreme_piecewise(m):
    """Max(a, b, …) or Min(a, b, …) as a Piecewise: the first argument that is at least (at
    most) every later one. Built from the arguments, never through Max(b, …) again (sympy's
    Max of 35 arguments takes seconds to build)."""
    keep = sp.GreaterThan if isinstance(m, sp.Max) else sp.LessThan
    out = m.args[-1]
    for first in reversed(m.args[:-1]):
        out = sp.Piecewise((first, keep(first, out)), (out, True))
    return out


def sign_piecewise(u):
    """sign(u) for real u, as the grammar's sign: 1, 0 or −1."""
    return sp.Piecewise((1, u > 0), (-1, u < 0), (0, True))


@lru_cache(maxsize=4096)
def form(v):
    """(w, flipped): v = c·w with c a positive number (flipped: a negative one), w the one
    representative of ±v up to scale. A number stays a number."""
    v = sp.expand(v)
    if v.is_number:
        return v, False
    c, w = v.as_content_primitive()
    flipped = bool(c < 0)
    if w.could_extract_minus_sign():
        w, flipped = -w, not flipped
    return w, flipped


def canonical_relation(r):
    w, flipped = form(r.lhs - r.rhs)
    op = FLIP[type(r)] if flipped else type(r)
    return op(w, 0)


def is_bracket(f) -> bool:
    return (
        isinstance(f, sp.Piecewise)
        and len(f.args) == 2
        and f.args[0].expr == 1
        and f.args[1].expr == 0
        and f.args[1].cond is sp.true
        and isinstance(f.args[0].cond, RELATIONS)
    )


def conditions_of(e) -> tuple[list, list]:
    """The comparisons and the abs calls in ``e`` (one walk over it)."""
    rels, abss = [], []
    for n in sp.preorder_traversal(e):
        if isinstance(n, RELATIONS):
            rels.append(n)
        elif isinstance(n, sp.Abs):
            abss.append(n)
    return list(dict.fromkeys(rels)), list(dict.fromkeys(abss))
