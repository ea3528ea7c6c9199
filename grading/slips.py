"""The words for an answer that is not shown correct (``answers``): a known slip named where
it is one (the local derivative alone, note 003's lost sign, note 004's ReLU convention, a
max-pool tie), else the terms that differ (``terms``); and "could not decide" where
neither a proof nor a point settles it, which is a message, not a verdict."""

from __future__ import annotations

import sympy as sp

from mathtext.typed_names import term_text

from .points import describe_point, precise
from .proof import prove
from .terms import named_view, term_feedback, tie_sentence


def explain(parsed, expected, inverse, proof, numbers, refused: bool):
    """(message, method, missing, extra) for an answer that is not correct: "different" when
    it was refused (a point where it differs, or a proof that it does), else "undecided"."""
    typed = parsed.expr
    if not refused:
        return undecided_words(proof, numbers, inverse), "undecided", [], []
    # terms as the lesson writes them: products distributed over sums, but no powers of sums
    # multiplied out (sigmoid's e^-x/(1 + e^-x)^2 stays as it is, not 1/(2 + e^x + e^-x)),
    # and in its named quantities where they cover both sides (y11 − y11², not y11²·e^-x11)
    te, ee = sp.expand_mul(typed), sp.expand_mul(expected)
    # named before multiplying out: expand_mul merges a1_12's and p1's denominators into one
    # sum, where the names can no longer be found
    sides = named_view(typed, expected, parsed.summands, inverse)
    missing, extra, notes = term_feedback(te, ee, parsed.summands, inverse, sides is None)
    if sides is not None:  # the sentences in named terms; .missing and .extra stay the lesson's
        notes = term_feedback(*sides)[2]
    slip = named_slip(typed, expected, inverse, proof)
    if slip:
        return "Not quite: " + slip, "different", missing, extra
    if notes:
        return "Not quite. " + " ".join(notes), "different", missing, extra
    return "Not quite. " + _a_point(typed, expected, numbers, inverse), "different", missing, extra


def named_slip(typed, expected, inverse, proof) -> str:
    """The sentence for a known slip, or ""."""
    factor = missing_factor(typed, expected)
    if factor is not None:  # the local derivative alone, the commonest slip with the chain rule
        name, mine = term_text(factor, inverse), term_text(typed, inverse)
        mine = f"({mine})" if isinstance(typed, sp.Add) else mine
        return (
            "this is the local derivative alone. The chain rule multiplies it by the upstream "
            f"gradient {name}: {name}*{mine} is right."
        )
    lost = note_003_sign(typed, expected, inverse)
    if lost:
        return lost
    # a tie slip changes every term's conditions, so the term lists would call a nearly right
    # answer one term missing and another that does not belong: name the slip instead
    if only_ties(proof):
        kink = relu_kink(expected)
        if kink is not None and _is_note_004(typed, expected, kink):
            x = term_text(kink, inverse)
            return (
                f"only the kink is wrong, where {x} = 0: [{x} >= 0] is note 004's convention "
                f"(ReLU′(0) = 1). This app, like PyTorch and note 003, takes ReLU′(0) = 0, so "
                f"[{x} > 0]. At exactly 0 any value in [0, 1] is a valid subgradient; the "
                "lesson's numbers (and PyTorch's) use 0."
            )
        return tie_sentence(expected, inverse)
    return ""


def missing_factor(typed, expected):
    """The one symbol of ``expected`` that ``typed`` leaves out and that, multiplied in, makes it
    right (softmax's p1 − 1 for dL_i·(p1 − 1)); None if there is none. Only symbols that are
    factors of every term are tried, so this costs one proof at most."""
    missing = expected.free_symbols - typed.free_symbols
    terms = sp.Add.make_args(sp.expand_mul(expected))
    common = [s for s in missing if all(s in sp.Mul.make_args(t) for t in terms)]
    if len(common) != 1:
        return None
    return common[0] if prove(typed * common[0], expected, seconds=0.2).equal else None


def note_003_sign(typed, expected, inverse) -> str:
    """Note 003's boxed −p_k for k ≠ yᵢ (a sign lost in its last steps), typed for dL_i·p_k."""
    for value, name in inverse.items():
        if value.is_Atom or not name.startswith("p"):
            continue
        up = expected / value
        if up.is_Symbol and prove(-typed, expected, seconds=0.2).equal:
            return (
                f"the sign is flipped, which is exactly note 003's slip: for k ≠ yᵢ the note "
                f"loses a sign in its last steps and boxes −p_k, but ∂Lᵢ/∂f_k = +p_k there "
                f"(so ∂L/∂f = p − onehot(y) as a whole). Here that is {term_text(up, inverse)}"
                f"*{name}."
            )
    return ""


def only_ties(proof) -> bool:
    """Every case the proof left open is one where a comparison's two sides are equal (a tie,
    or x = 0 at a kink): a > typed for >= or the reverse. Only asked of a refused answer."""
    return (
        proof.complete
        and bool(proof.open)
        and all(any(isinstance(c, sp.Equality) for c in case.conditions) for case in proof.open)
    )


def relu_kink(expected):
    """x when ``expected`` holds ReLU's derivative [x > 0] of a symbol x (and no max pool)."""
    for p in expected.atoms(sp.Piecewise):
        if (
            len(p.args) == 2
            and p.args[0].expr == 1
            and p.args[1].expr == 0
            and isinstance(p.args[0].cond, sp.StrictGreaterThan)
            and p.args[0].cond.rhs == 0
            and p.args[0].cond.lhs.is_Symbol
        ):
            return p.args[0].cond.lhs
    return None


def _is_note_004(typed, expected, x) -> bool:
    """typed is expected with [x ≥ 0] for [x > 0]."""
    gt = sp.Piecewise((1, x > 0), (0, True))
    ge = sp.Piecewise((1, x >= 0), (0, True))
    return prove(typed, expected.xreplace({gt: ge}), seconds=0.2).equal


def _a_point(typed, expected, numbers, inverse) -> str:
    """Where the two differ, with both values (when the terms say nothing)."""
    if numbers is None or not numbers.differ:
        return "It is not the same function as the expected answer."
    point = numbers.differ[0]
    where = describe_point(point, typed.free_symbols | expected.free_symbols, inverse)
    t, e = precise(typed, point), precise(expected, point)
    return f"At {where} yours is {_short(t)} where the expected answer is {_short(e)}."


def _short(v) -> str:
    try:
        return f"{float(v):.10g}"
    except (TypeError, ValueError):
        return "undefined"


def undecided_words(proof, numbers, inverse) -> str:
    where = ""
    case = next((c for c in proof.open if c.conditions), None)
    if case is not None:
        shown = " and ".join(term_text(c, inverse) for c in case.conditions[:3])
        where = f" where {shown}"
    compared = f"at the {numbers.compared} points compared" if numbers else "at the points tried"
    return (
        f"Could not decide: sympy could not show this equals the expected answer{where}, and "
        f"{compared} no difference showed. That is no verdict on your maths, and it does not "
        "count toward your score. Write it another way, closer to the lesson's form (sums of "
        "products of the names listed, the lesson's functions), and check again."
    )
