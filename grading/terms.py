"""Which terms of a wrong answer differ from the expected ones, in words a learner can act on:
"the sign of the second term", "you have dz21*k12 where dz21*k21 belongs", "a factor of 2
too many", the rest listed (``term_feedback``; the checker in ``answers`` calls it)."""

from __future__ import annotations

from collections import Counter

import sympy as sp

from mathtext.functions import FirstMax
from mathtext.parse_messages import ordinal
from mathtext.typed_names import term_text

MAX_LISTED = 4  # terms named in one sentence before "and 3 more"
MAX_PAIRS = 400  # extra × missing pairs compared factor by factor for index slips


def term_feedback(
    typed, expected, summands, inverse, words: bool = True
) -> tuple[list, list, list[str]]:
    """(missing, extra, sentences) for ``typed`` against ``expected``, both multiplied out.

    ``summands`` are the typed top-level terms in the order typed, to say "the second term".
    Pairs are explained first: the same product with another coefficient (a sign, a factor of
    2), then products that differ in one factor (an index slip); the rest are listed. Without
    ``words``, no sentences (printing terms is the slow part)."""
    exp_terms = [t for t in sp.Add.make_args(expected) if t != 0]
    typ_terms = [t for t in sp.Add.make_args(typed) if t != 0]
    exp_set, typ_set = set(exp_terms), set(typ_terms)
    missing = [t for t in exp_terms if t not in typ_set]
    extra = [t for t in typ_terms if t not in exp_set]
    if not words:
        return missing, extra, []
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


def named_view(typed, expected, summands, inverse):
    """Both sides in the lesson's named quantities, when that leaves none of what they stand
    for: sigmoid's expected dy11·e^(−x11)/(1 + e^(−x11))² is dy11·y11 − dy11·y11², which a
    learner can hold against their dy11·y11·(1 + y11) (in terms of x11 the two share no term,
    and the feedback read "missing: dy11*y11^2*exp(-x11)"). Returns (typed, expected, the
    typed summands, inverse) in stand-ins, or None where the quantities do not cover both."""
    raw = expected.free_symbols | typed.free_symbols
    swaps, names = [], dict(inverse)
    for value, name in inverse.items():
        if isinstance(value, sp.Expr) and not value.is_Atom and value.free_symbols & raw:
            q = sp.Dummy("named")  # printed as its name through names
            names[q] = name
            swaps.append((value, q, _solved_exp(value, q)))
    if not swaps:
        return None
    hidden = set().union(*(v.free_symbols for v, _, _ in swaps))

    def named(side):
        for value, q, exp_of in swaps:
            side = side.subs(value, q)
            if exp_of is not None:
                side = side.subs(*exp_of)
        return sp.expand(side)

    a, b = named(typed), named(expected)
    # an exponential of a named quantity (softplus' σ(x) as 1 − e^(−y)) reads worse than x
    if (a.free_symbols | b.free_symbols) & hidden or a.has(sp.exp) or b.has(sp.exp):
        return None
    return a, b, tuple(named(t) for t in summands), names


def _solved_exp(value, q):
    """(e^u, its value in q) when ``value`` holds one exponential E and is (αE + β)/(γE + δ),
    so q = value solves for E as (δq − β)/(α − γq) (sigmoid: e^(−x) = 1/y − 1); else None.
    Solved by hand: sympy's solve took 0.1 s a quantity, and an MLP's chain has a dozen."""
    exps = list(value.atoms(sp.exp))
    if len(exps) != 1:
        return None
    e = sp.Dummy("e")
    num, den = sp.fraction(sp.together(value.xreplace({exps[0]: e})))
    try:
        pn, pd = sp.Poly(num, e), sp.Poly(den, e)
    except sp.PolynomialError:
        return None
    if pn.degree() > 1 or pd.degree() > 1:
        return None
    alpha, beta = pn.coeff_monomial(e), pn.coeff_monomial(1)
    gamma, delta = pd.coeff_monomial(e), pd.coeff_monomial(1)
    if sp.expand(alpha * delta - beta * gamma) == 0:  # value does not depend on E
        return None
    return exps[0], (delta * q - beta) / (alpha - gamma * q)


def tie_sentence(expected, inverse) -> str:
    """What to change when the answer differs from ``expected`` only where a comparison's two
    sides are equal (answers.only_ties): for max pool, the lesson's tie rule and, for an entry
    in one window, which cells need > and which >=."""
    firsts = expected.atoms(FirstMax)
    if not firsts:
        return (
            "only the boundary is wrong, where a condition's two sides are equal: check each "
            "> against >= (and < against <=)."
        )
    rule = (
        "only ties are wrong. On a tie this lesson gives the gradient to the first maximum "
        "of the window in reading order (as PyTorch does), so "
    )
    q, xs = min(firsts, key=sp.default_sort_key).args
    q = int(q)
    if len(firsts) > 1:  # the entry sits in several windows, at another place in each
        me = term_text(xs[q], inverse)
        return rule + f"in each window {me} needs > against the cells before it, >= after it."
    return rule + _first_max_conditions(xs[q], xs[:q], xs[q + 1 :], inverse) + "."


def _first_max_conditions(me, before, after, inverse) -> str:
    """The entry's conditions in words: x12 needs > against x11 (before it) and >= against x21,
    x22 (after it)."""
    txt = lambda ts: ", ".join(term_text(t, inverse) for t in ts)  # noqa: E731
    parts = [f"> against {txt(before)} (before it)"] if before else []
    parts += [f">= against {txt(after)} (after it)"] if after else []
    return f"{term_text(me, inverse)} needs " + " and ".join(parts)


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
