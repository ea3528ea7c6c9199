"""Numbers as a second opinion that can only refuse (``answers``; WeBWorK's rule): both sides
at many points; a point where the expected answer is defined and the typed one is not, or
where the two differ, is a refusal, confirmed in 40-digit arithmetic before it counts.

The points (``sample``), from a fixed seed so the same answer always gets the same verdict:
- every symbol from (−2, 2), or from (0.2, 2) so logs and square roots are defined somewhere;
- magnitudes well beyond: up to ±50 (a term like relu(k − 2) or [k > 2] shows there), and
  tiny ones down to 10⁻⁶, mixed symbol by symbol with the others;
- whole points, every symbol −1, 0 or 1: ReLU's kink at 0 and max pool's ties;
- both sides of every kink and on it: for each form a condition compares with 0 (x12 − x11,
  k11 − 2), points where it is exactly 0 and ±10⁻³;
- points inside each case the proof left open (``proof``), ties solved exactly.
Points where the lesson's own forward pass is undefined (a log of a negative number in the
log lesson) are left out: the lesson's domain is where its forward pass is defined.

Floats screen every point (one numpy pass over each tree, ``mathtext.numeric.evaluate``); a flagged
point is confirmed with sympy's arbitrary-precision numbers, so rounding (1 − y when y rounds
to 1) never refuses a right answer, and an overflow in float64 is not taken for "undefined".
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from mathtext.numeric import Unsupported, evaluate

from .tree import beyond_precision, first_undefined, point_value, undefined_mask

SEED = 20240611
SCREEN_RTOL = 1e-12  # float64 differences above this are confirmed in high precision
PRECISE_DIGITS = 40
PRECISE_RTOL = 1e-25  # a confirmed difference: far above 40-digit rounding, far below typing
MAX_CONFIRM = 8  # flagged points confirmed at most (each costs a sympy evaluation)
MAX_FORMS = 12  # kink forms sampled around
MAX_CASE_POINTS = 12  # open cases sampled inside


@dataclass
class Comparison:
    """What the numbers say. ``compared``: points where the expected answer (and the lesson's
    forward pass) is defined; ``undefined`` and ``differ``: confirmed points (symbol → value)
    where the typed answer is undefined, or has another value; ``confirmed``: how many points
    were looked at in high precision."""

    compared: int = 0
    total: int = 0
    undefined: list = field(default_factory=list)
    undefined_count: int = 0
    differ: list = field(default_factory=list)
    confirmed: int = 0
    why: list = field(default_factory=list)  # per undefined point: (what the typed part does
    # there, the symbols in that part), or None where only sympy's form showed it

    @property
    def refused(self) -> bool:
        return bool(self.undefined or self.differ)


def sample(symbols, forms=(), cases=(), rng=None) -> dict:
    """symbol → array of values, one entry per point (module notes)."""
    rng = rng or np.random.default_rng(SEED)
    symbols = list(symbols)
    k = len(symbols)
    blocks = [
        rng.uniform(-2, 2, (k, 24)),
        rng.uniform(0.2, 2, (k, 8)),
        _wide(rng, (k, 16)),
        _mixed(rng, (k, 32)),
        rng.integers(-1, 2, (k, 32)).astype(float),
    ]
    for v in list(forms)[:MAX_FORMS]:
        block = _around_kink(v, symbols, rng)
        if block is not None:
            blocks.append(block)
    for case in list(cases)[:MAX_CASE_POINTS]:
        block = _inside(case, symbols, rng)
        if block is not None:
            blocks.append(block)
    values = np.concatenate(blocks, axis=1)
    return {s: values[i] for i, s in enumerate(symbols)}


def _wide(rng, shape):
    return rng.choice([-1.0, 1.0], shape) * np.exp(rng.uniform(np.log(2), np.log(50), shape))


def _mixed(rng, shape):
    """Each value from one of: (−2, 2), ±(2, 50), ±(10⁻⁶, 10⁻²), {−1, 0, 1}."""
    kinds = rng.integers(0, 4, shape)
    tiny = rng.choice([-1.0, 1.0], shape) * np.exp(rng.uniform(np.log(1e-6), np.log(1e-2), shape))
    whole = rng.integers(-1, 2, shape).astype(float)
    return np.choose(kinds, [rng.uniform(-2, 2, shape), _wide(rng, shape), tiny, whole])


def _around_kink(v, symbols, rng, n: int = 6):
    """Points (a symbols × n array) where the form v is 0 (half of them) and ±10⁻³, reached
    by moving one symbol with a number as its coefficient."""
    for s in sorted(v.free_symbols, key=lambda t: t.name):
        c = v.coeff(s)
        if c.is_number and c != 0 and not sp.expand(v - c * s).has(s) and s in symbols:
            break
    else:
        return None
    block = _mixed(rng, (len(symbols), n))
    row = symbols.index(s)
    block[row] = 0.0
    target = np.array([0, 0, 0, 1e-3, -1e-3, 0][:n])
    try:
        env = {t: block[i] for i, t in enumerate(symbols)}
        rest = evaluate(sp.expand(v - c * s), env, shape=(n,))
    except Unsupported:
        return None
    block[row] = (target - rest) / float(c)
    return block


def _inside(case, symbols, rng, n: int = 48):
    """Points (a symbols × m array) inside one open case: each condition linear in a symbol
    pushed into its region by moving that symbol (k11 > 1000 is far beyond every sample),
    the symbols it solved for computed from the others, only those where all its
    conditions hold kept."""
    block = _mixed(rng, (len(symbols), n))
    env = {t: block[i] for i, t in enumerate(symbols)}
    try:
        _push_into(case, env, rng, n)
        for s, value in reversed(case.solved):
            if s in env:
                env[s][:] = np.broadcast_to(evaluate(value, env, shape=(n,)), (n,))
        keep = np.ones(n, dtype=bool)
        for cond in case.conditions:
            keep &= evaluate(cond, env, shape=(n,)) == 1
    except Unsupported:
        return None
    return block[:, keep] if keep.any() else None


_MARGINS = np.array([1e-3, 0.5, 3.0, 40.0])  # how far inside a condition a pushed point lies
_SIDE = {sp.StrictGreaterThan: 1, sp.GreaterThan: 1, sp.StrictLessThan: -1, sp.LessThan: -1}


def _push_into(case, env: dict, rng, n: int) -> None:
    """Where a condition "v > 0" (or <, ≥, ≤) of ``case`` fails, move one symbol of v with a
    number as its coefficient (each symbol once, none the case solves for) so that v is a
    margin inside it; the half of the points where it holds already stay as they are."""
    moved = {s for s, _ in case.solved}
    solved = dict(case.solved)
    for cond in case.conditions:
        for _ in range(len(solved)):  # in the symbols that stay free (x23 = x22: in x22)
            if not (cond.free_symbols & moved) or not isinstance(cond, sp.Basic):
                break
            cond = cond.xreplace(solved)
        side = _SIDE.get(type(cond))
        if side is None:
            continue
        v = sp.expand(cond.lhs - cond.rhs)
        for s in sorted(v.free_symbols - moved, key=lambda t: t.name):
            c = v.coeff(s)
            rest = sp.expand(v - c * s)
            if s in env and c != 0 and not c.has(s) and not rest.has(s):
                break
        else:
            continue
        moved.add(s)
        fails = evaluate(cond, env, shape=(n,)) != 1
        target = side * rng.choice(_MARGINS, n) * rng.uniform(1, 2, n)
        # c may hold other symbols ([k11*k12 > 5000]): solved point by point where it is not 0
        c_at = evaluate(c, env, shape=(n,))
        with np.errstate(all="ignore"):
            value = (target - evaluate(rest, env, shape=(n,))) / c_at
        move = fails & (rng.random(n) < 0.75) & np.isfinite(value)
        env[s][:] = np.where(move, value, env[s])


def compare(
    typed, expected, env: dict, domain=(), deadline=float("inf"), tree=None
) -> Comparison | None:
    """The numbers' opinion at the points of ``env`` (module notes); None when a side holds
    something the evaluator cannot compute. ``tree``: the answer as typed
    (``tree.typed_tree``), whose definedness counts where sympy simplified a division
    by 0 away. No point is confirmed past ``deadline`` (a time.monotonic() value)."""
    n = len(next(iter(env.values()))) if env else 1
    try:
        t = evaluate(typed, env, shape=(n,))
        e = evaluate(expected, env, shape=(n,))
        inside = np.ones(n, dtype=bool)
        for f in domain:
            inside &= np.isfinite(evaluate(f, env, shape=(n,)))
        as_typed = np.zeros(n, dtype=bool) if tree is None else undefined_mask(tree, env, n)
    except Unsupported:
        return None
    ok = inside & np.isfinite(e)
    out = Comparison(compared=int(ok.sum()), total=n)
    as_typed &= ok
    bad_t = as_typed | (ok & ~np.isfinite(t))
    with np.errstate(all="ignore"):
        gap = np.abs(t - e) / np.maximum(np.abs(t), np.abs(e))
    flagged = ok & (bad_t | (np.isfinite(t) & (gap > SCREEN_RTOL)))
    # points where the answer as typed looks undefined first, those of small coordinates
    # first (a denominator that underflows to 0 at x = -1000 is no 0/0), but no more than
    # half of the confirmations: the rest for points where the values differ
    size = np.max(np.abs(np.array(list(env.values()))), axis=0) if env else np.zeros(n)
    undefined_first = sorted(np.flatnonzero(flagged & as_typed), key=lambda i: size[i])
    rest = sorted(
        np.flatnonzero(flagged & ~as_typed),
        key=lambda i: (not bad_t[i], -np.nan_to_num(gap[i])),
    )
    order = undefined_first[: MAX_CONFIRM // 2] + rest
    for i in order[:MAX_CONFIRM]:
        if time.monotonic() > deadline:
            break
        point = {s: float(v[i]) for s, v in env.items()}
        out.confirmed += 1
        if as_typed[i] and _undefined_as_typed(tree, expected, point, out):
            break
        verdict = precise_verdict(typed, expected, point)
        if verdict == "undefined":
            out.undefined.append(point)
            out.why.append(None)
        elif verdict == "differ":
            out.differ.append(point)
        if out.refused:  # one confirmed point is the refusal
            break
    if out.undefined:  # how many there are in all, as floats see them: where an operation
        # as typed is undefined (not where a value only overflowed), when that was the reason
        seen = as_typed if out.why[0] is not None else bad_t
        out.undefined_count = max(len(out.undefined), int(seen.sum()))
    return out


def _undefined_as_typed(tree, expected, point: dict, out: Comparison) -> bool:
    """Whether the answer as typed is undefined at ``point`` in high precision while the
    expected one is defined; if so the point is recorded in ``out`` with the reason."""
    why = first_undefined(tree, point)
    if why is None:
        return False
    if not _settled(precise(expected, point)):
        return False
    out.undefined.append(point)
    out.why.append(why)
    return True


def probe(typed, expected, env: dict, domain=(), k: int = 4, deadline=float("inf")) -> list:
    """Points among the first and the last of ``env`` (the last lie inside the cases the
    proof left open) where the two differ in high precision although floats saw no
    difference (a typed 1.000000000000001; 0 against sigmoid's e^-1000, both 0 in floats):
    looked for only where no proof decided."""
    n = len(next(iter(env.values()))) if env else 1
    found = []
    for i in dict.fromkeys([*range(min(k, n)), *range(max(n - k, 0), n)]):
        if time.monotonic() > deadline:
            break
        point = {s: float(v[i]) for s, v in env.items()}
        if domain and not all(_settled(precise(f, point)) for f in domain):
            continue
        if precise_verdict(typed, expected, point) in ("differ", "undefined"):
            found.append(point)
    return found


def precise(expr, point: dict, digits: int = PRECISE_DIGITS):
    """``expr`` at ``point`` in ``digits``-digit arithmetic, as far as that precision carries
    it: a sympy number (nan, zoo or a complex one where it is undefined), or None where a
    cancellation ate the digits (the same at twice the precision it is not)."""
    if beyond_precision(expr, point):
        return None
    values = []
    for n in (digits, 2 * digits):
        sub = {s: point_value(v, n + 10) for s, v in point.items()}
        try:
            value = expr.xreplace(sub)
            values.append(value.evalf(n) if not value.is_Number else value)
        except (TypeError, ValueError, ArithmeticError, MemoryError, RecursionError):
            values.append(sp.nan)
    low, high = values
    if high in (sp.oo, -sp.oo) or low in (sp.oo, -sp.oo):
        return None  # past what mpmath represents: too large, not undefined
    if not (_defined(low) and _defined(high)):
        return high if not _defined(high) else None
    if abs(low - high) > PRECISE_RTOL * max(abs(high), sp.Float(1e-300)):
        return None
    return high


def _settled(v) -> bool:
    """precise()'s value is a real number (None, where the digits ran out, is not; 0 is)."""
    return v is not None and _defined(v)


def _defined(v) -> bool:
    return bool(v.is_number and v.is_real and v.is_finite and v is not sp.nan)


def precise_verdict(typed, expected, point: dict) -> str:
    """'undefined' (typed is, expected is not), 'differ', 'same', or 'skip' (expected is
    undefined here too, or a value is beyond what the precision can settle)."""
    e = precise(expected, point)
    if e is None or not _defined(e):
        return "skip"
    t = precise(typed, point)
    if t is None:
        return "skip"
    if not _defined(t):
        return "undefined"
    scale = max(abs(t), abs(e))
    return "differ" if abs(t - e) > PRECISE_RTOL * scale else "same"


def describe_point(point: dict, symbols, inverse: dict, limit: int = 4, first=()) -> str:
    """x11 = 0, k11 = 2.5: the values of the symbols that matter (``first`` first), in the
    learner's names."""
    from mathtext.typed_names import typing_or_name

    shown = []
    ordered = sorted(symbols, key=lambda t: (t not in first, t.name))
    for s in ordered[:limit]:
        name = inverse.get(s) or typing_or_name(s)
        shown.append(f"{name} = {_num(point[s])}")
    more = ", …" if len(symbols) > limit else ""
    return ", ".join(shown) + more


def _num(v: float) -> str:
    if float(v).is_integer():
        return str(int(v))
    return f"{v:.4g}"
