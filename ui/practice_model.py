"""Practice's pure parts: which part of a chain owns an entry and whose terms it is asked in,
which entries can be asked, the names listed beside the box, the hints, the score and a
question's state. No Streamlit here (``ui.practice`` draws it all); tested on their own in
tests/test_practice.py."""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from derivations.symbols import plain
from grading.terms import MAX_LISTED
from mathtext.typed_names import typing_name
from ui import practice_chain as chain
from ui.practice_entries import (  # noqa: F401 - public here too, as before they moved
    MAX_TERMS,
    Entry,
    askable,
    entries,
    left_out_count,
    left_out_note,
    nothing_note,
    owner,
    part_at,
)
from ui.practice_lengths import answer_length  # noqa: F401 - public here too
from ui.registry import OPS

HIDE = 3  # entries hidden when they are drawn at random


# ---------------------------------------------------------------- whose terms


def grad_title(d, name: str) -> str:
    """The gradient as the picker lists it."""
    part, path = owner(d, name)
    if chain.is_chain(name):
        return chain.title(part)
    title = f"∂{d.loss}/∂{name}"
    return title + (f"  (in the terms of its {part.op} layer)" if path else "")


def grad_latex(d, name: str) -> str:
    """The gradient's matrix name in LaTeX (W^{(1)} for a chain question's W1)."""
    return chain.latex(owner(d, name)[0]) if chain.is_chain(name) else name


def default_gradient(d, options: dict) -> str:
    """The gradient a practice set starts with: the first input's, or for a network the first
    weight's (its input X is the least interesting: no weight is learned from it)."""
    names = list(options)
    if d.parts is not None and len(names) > 1 and names[0] == "X":
        return names[1]
    return names[0]


def pick_hidden(options: list[Entry], k: int, seed: int) -> list[tuple[int, int]]:
    """``k`` entries drawn at random (reproducibly from ``seed``), in reading order; entries of
    two or more terms first, when there are enough of them."""
    rng = np.random.default_rng(seed)
    rich = [e for e in options if e.terms > 1]
    pool = rich if len(rich) >= k else options
    chosen = rng.choice(len(pool), size=min(k, len(pool)), replace=False)
    return sorted(pool[int(i)].idx for i in chosen)


def symbol(d, name: str, idx) -> sp.Symbol:
    part, _ = owner(d, name)
    return part.inputs[name][tuple(idx)]


def entry_label(d, name: str, idx) -> str:
    """∂L/∂x₂₂, ∂L/∂w⁽¹⁾₂₁: plain text for buttons and lists."""
    part, _ = owner(d, name)
    return f"∂{part.loss}/∂{plain(part.inputs[name][tuple(idx)])}"


def entry_latex(d, name: str, idx) -> str:
    part, _ = owner(d, name)
    return rf"\frac{{\partial {part.loss}}}{{\partial {sp.latex(part.inputs[name][tuple(idx)])}}}"


def expected(d, name: str, idx):
    part, _ = owner(d, name)
    # a lesson whose answers are written in quantities it names (batch norm's μ, σ, x̂) states
    # them that way: in its inputs, every entry repeats σ's square root of sums of squares
    grads = part.grads if part.practice_grads is None else part.practice_grads
    return grads[name][tuple(idx)]


def layer_note(d, name: str) -> str:
    """For a network: whose terms the answer is written in ("" for a single op)."""
    part, path = owner(d, name)
    if chain.is_chain(name):
        return (
            "Write it along the whole chain, in the forward pass's quantities (listed beside "
            "the box), as note 002 chains ∂R/∂y₂ · diag(h′) · W₂ · …: no upstream symbol, "
            "since ∂L/∂L = 1."
        )
    if not path:
        return ""
    up = part.upstream
    first = "d" + typing_name(part.out_symbols[0, 0])
    return (
        f"Write it in the terms of the {part.op} layer it belongs to: its upstream gradient "
        f"∂{part.loss}/∂{plain(part.out_symbols[0, 0])} is `{first}`"
        + (f" … (the {up.rows * up.cols} entries of ∂L/∂{part.out_name})" if len(up) > 1 else "")
        + ", as backprop hands it to that layer."
    )


# ---------------------------------------------------------------- the names beside the box


def _span(keys: list[str]) -> str:
    if len(keys) <= 6:
        return ", ".join(f"`{k}`" for k in keys)
    return f"`{keys[0]}`, `{keys[1]}`, … `{keys[-1]}`"


def names_help(part, names: dict) -> list[str]:
    """Lines listing the names a learner may type, grouped as the lesson names them."""
    if part.op == "mlp chain":
        return chain.names_help(part)
    seen: set = set()
    groups = []
    for m in part.inputs.values():
        ks = [typing_name(s) for s in m]
        seen.update(ks)
        groups.append(_span(ks))
    lines = ["inputs: " + " · ".join(groups)]
    ups = ["d" + typing_name(o) for o in part.out_symbols]
    seen.update(ups)
    lines.append(f"upstream ∂{part.loss}/∂{plain(sp.Symbol(part.out_name))}: {_span(ups)}")
    outs = [k for k in (typing_name(o) for o in part.out_symbols) if k in names]
    if outs:
        seen.update(outs)
        lines.append(f"outputs, each standing for its forward formula: {_span(outs)}")
    rest = [k for k in names if k not in seen]
    if rest:
        what = "the softmax probabilities" if rest[0].rstrip("0123456789_") == "p" else "also"
        lines.append(f"{what}: {_span(rest)}")
    return lines


def placeholder(part, names: dict) -> str:
    """The box's example, made of names this question accepts (an upstream gradient times an
    input entry, twice): a fixed example would name dz11 or x22 on pages that have neither."""
    if part.op == "mlp chain":
        return chain.placeholder(part)
    ups = [k for k in ("d" + typing_name(o) for o in part.out_symbols) if k in names]
    first = next(iter(part.inputs.values()))
    ins = [k for k in (typing_name(s) for s in first) if k in names]
    if not ups or not ins:
        return "type it with the names listed beside the box"
    products = dict.fromkeys([f"{ups[0]}*{ins[0]}", f"{ups[-1]}*{ins[-1]}"])  # one if the same
    return "for example " + " + ".join(products)


_CHAIN_TIPS = {
    "sigmoid": "σ′(z) = a·(1 − a) with a = σ(z)",
    "tanh": "tanh′(z) = 1 − a² with a = tanh(z)",
    "relu": "ReLU′(z) = [z > 0] (0 at z = 0, as in PyTorch)",
}


def tip(part) -> str:
    if part.op == "mlp chain":
        rule = _CHAIN_TIPS.get(part.activation, "")
        return (
            f"{rule}; and softmax with cross-entropy gives ∂L/∂z = p − y, y the one-hot target."
        ).lstrip("; ")
    spec = OPS.get(part.op)
    return spec.practice_tip if spec else ""


_MD = str.maketrans({ch: "\\" + ch for ch in "\\*_$[]<>#~|{}!"})


def md_safe(text: str) -> str:
    """A message for st.markdown / st.error shown as it is: outside `code spans` (where the
    messages quote what was typed), Markdown's and KaTeX's special characters are escaped, so
    dz21*k12 stays a product rather than turning the rest of the line italic."""
    parts = str(text).split("`")
    if len(parts) % 2 == 0:  # an unpaired backquote (typed by the learner): escape it too
        return str(text).translate(_MD).replace("`", "\\`")
    return "`".join(p if k % 2 else p.translate(_MD) for k, p in enumerate(parts))


# ---------------------------------------------------------------- hints


@dataclass(frozen=True)
class Hint:
    title: str
    latex: str
    text: str


def hints(d, name: str, idx) -> list[Hint]:
    """The derivation of one entry, one step per hint: the chain rule in general, the outputs
    the entry feeds, their partial derivatives, the answer."""
    part, _ = owner(d, name)
    idx = tuple(idx)
    if chain.is_chain(name):
        return [Hint(*h) for h in chain.hint_steps(part, idx)]
    lhs = entry_latex(d, name, idx)
    outs = part.feeds(name, idx)
    return [
        _chain_rule_hint(part, name, idx, lhs),
        _outputs_hint(part, name, idx, lhs, outs),
        _partials_hint(part, name, idx, outs),
        Hint(
            "The answer",
            part.chain_rule(name, idx),
            "Each term is upstream × partial. Now that the answer is shown, checking this entry "
            "no longer counts toward the score.",
        ),
    ]


def _chain_rule_hint(part, name: str, idx, lhs: str) -> Hint:
    a = part.inputs[name][idx]
    L, al = part.loss, sp.latex(a)
    total, z = _generic_output(part)
    return Hint(
        "The chain rule",
        rf"{lhs} = {total} \frac{{\partial {L}}}{{\partial {z}}} \cdot "
        rf"\frac{{\partial {z}}}{{\partial {al}}}",
        (
            f"{plain(a)} reaches the loss only through the outputs {part.out_name}: add, over "
            "every output, the upstream gradient times how that output changes with "
            f"{plain(a)}."
        )
        if total
        else (
            f"{plain(a)} reaches the loss only through {plain(part.out_symbols[0, 0])}: the "
            f"upstream gradient times how it changes with {plain(a)}."
        ),
    )


def _generic_output(part) -> tuple[str, str]:
    """(the sum, a generic output) for the chain rule, from the lesson's own output symbols:
    Σ_{i,j} over z_{ij} for a matrix of outputs, Σ_j over z_{1j} for one row, and no sum for
    a single output such as softmax's L_i (there is no L_{ij})."""
    rows, cols = part.out_symbols.shape
    first = sp.latex(part.out_symbols[0, 0])
    if rows * cols == 1:
        return "", first
    index, sub = (
        ("i,j", "ij") if rows > 1 and cols > 1 else (("j", "1j") if rows == 1 else ("i", "i1"))
    )
    generic = re.sub(r"_\{[^{}]*\}$", "_{" + sub + "}", first)
    if generic == first:  # an output without a subscript to generalise
        generic = f"{part.out_letter}_{{{sub}}}"
    return rf"\sum_{{{index}}}", generic


def _outputs_hint(part, name: str, idx, lhs: str, outs) -> Hint:
    a = part.inputs[name][idx]
    L, al = part.loss, sp.latex(a)
    zs = [sp.latex(part.out_symbols[o]) for o in outs]
    fed = ", ".join(plain(part.out_symbols[o]) for o in outs)
    terms = " + ".join(
        rf"\frac{{\partial {L}}}{{\partial {zo}}} \frac{{\partial {zo}}}{{\partial {al}}}"
        for zo in zs
    )
    return Hint(
        "Which outputs it feeds",
        f"{lhs} = {terms}",
        f"{plain(a)} appears in {fed} only"
        + (", so only that term survives." if len(outs) == 1 else ", so only those terms survive."),
    )


def _partials_hint(part, name: str, idx, outs) -> Hint:
    a = part.inputs[name][idx]
    al = sp.latex(a)
    zs = [sp.latex(part.out_symbols[o]) for o in outs]
    partials = [
        rf"\frac{{\partial {zo}}}{{\partial {al}}} &= {part.partial_latex(name, idx, o)}"
        for o, zo in zip(outs, zs, strict=True)
    ]
    shown = partials if len(partials) <= MAX_TERMS else partials[:MAX_TERMS]
    return Hint(
        "The partial derivatives",
        r"\begin{aligned} " + r" \\ ".join(shown) + r" \end{aligned}",
        "Differentiate each of those outputs' forward formulas with respect to "
        f"{plain(a)}; put them in the sum.",
    )


# ---------------------------------------------------------------- the score


def score_key(page: str) -> str:
    return f"{page}/practice/score"


def record(ss: MutableMapping, page: str, lesson: str, correct: bool) -> None:
    """One scored attempt on ``lesson`` (shown on ``page``)."""
    scores = dict(ss.get(score_key(page), {}))
    c, a = scores.get(lesson, (0, 0))
    scores[lesson] = (c + int(bool(correct)), a + 1)
    ss[score_key(page)] = scores


def helped_key(page: str) -> str:
    return f"{page}/practice/helped"


def record_helped(ss: MutableMapping, page: str, lesson: str) -> None:
    """One question on ``lesson`` solved with help: a revealed answer, or feedback that named
    the fix. Counted beside the score, never as correct."""
    helped = dict(ss.get(helped_key(page), {}))
    helped[lesson] = helped.get(lesson, 0) + 1
    ss[helped_key(page)] = helped


def helped_score(ss: MutableMapping, page: str | None = None, lesson: str = "") -> int:
    """Questions solved with help on ``lesson`` (on ``page``), or in the whole session."""
    if page is not None:
        return int(ss.get(helped_key(page), {}).get(lesson, 0))
    return sum(
        sum(v.values())
        for k, v in list(ss.items())
        if isinstance(k, str) and k.endswith("/practice/helped")
    )


def lesson_score(ss: MutableMapping, page: str, lesson: str) -> tuple[int, int]:
    return tuple(ss.get(score_key(page), {}).get(lesson, (0, 0)))


def overall_score(ss: MutableMapping) -> tuple[int, int]:
    """(correct, attempted) over every lesson of the session."""
    c = a = 0
    for key in list(ss.keys()):
        if isinstance(key, str) and key.endswith("/practice/score"):
            for ci, ai in ss[key].values():
                c, a = c + ci, a + ai
    return c, a


SCORED = ("symbolic", "numeric", "different")  # verdicts on the maths, not on the typing


# ---------------------------------------------------------------- a question's state


def pkey(page: str, *parts) -> str:
    return "/".join([page, "practice", *map(str, parts)])


def signature(d) -> str:
    """The lesson a practice set belongs to: a new derivation starts a new set."""
    return f"{d.op}|{sorted((k, str(v)) for k, v in d.params.items())}"


def question_id(d, name: str, idx) -> str:
    return f"{d.op}/{name}/{idx[0] + 1}_{idx[1] + 1}"


def new_set(d, grad: str, seed: int) -> dict:
    """A practice set: the gradient, its hidden entries, which is asked now."""
    hidden = pick_hidden(askable(d)[grad], HIDE, seed)
    return {"sig": signature(d), "grad": grad, "hidden": hidden, "current": 0, "seed": seed}


def next_unsolved(hidden, solved: set, current: int) -> int:
    """The index of the next hidden entry not solved yet after ``current`` (wrapping round);
    ``current`` itself when every other one is solved."""
    n = len(hidden)
    for step in range(1, n + 1):
        k = (current + step) % n
        if tuple(hidden[k]) not in solved:
            return k
    return current


@dataclass
class Attempt:
    """What the page remembers about one question: the hints shown, the verdict on the last
    check (plain values: correct, message, LaTeX of the answer, how it was decided) and the
    preview of the text last typed."""

    hints: int = 0
    solved: bool = False
    revealed: bool = False
    verdict: tuple | None = None
    missing: list = field(default_factory=list)  # the last check's, as check_answer gave them
    extra: list = field(default_factory=list)
    preview: tuple | None = None  # (text, latex, error message)
    checked: list = field(default_factory=list)  # the answers scored, as they were read
    told: bool = False  # a scored check's feedback named the fix


def names_the_fix(fb, expected) -> bool:
    """Whether a wrong verdict told the learner the fix, as the last hint would have: it named
    every term that differs ("You have dz21*k21 where dz21*k12 belongs", "A term is missing:
    dz22*k11"), or every term of the right answer (all of them missing, all listed). A bare
    "Not quite." or lists cut short ("… and 3 more") leave work to do."""
    if fb.correct or fb.method not in SCORED or not (fb.missing or fb.extra):
        return False
    listed = len(fb.missing) <= MAX_LISTED
    if listed and len(fb.extra) <= MAX_LISTED:
        return True
    return listed and len(fb.missing) == len(sp.Add.make_args(sp.expand_mul(expected)))


def score_check(
    ss: MutableMapping, page: str, lesson: str, att: Attempt, answer, correct: bool, told: bool
) -> str:
    """Score one check of a question; what it counted as: "correct", "wrong", "helped" or ""
    (not scored: solved already, or an answer scored before).

    Once the answer is out (the last hint revealed it, or feedback named the fix: ``told`` on
    a wrong check), typing it is "helped", as a revealed hint is, and wrong answers after it
    are not scored. The same answer checked twice counts once."""
    if att.solved:
        return ""
    if att.revealed or att.told:
        if correct:
            record_helped(ss, page, lesson)
            return "helped"
        return ""
    if answer in att.checked:
        return ""
    att.checked.append(answer)
    record(ss, page, lesson, correct)
    att.told = told and not correct
    return "correct" if correct else "wrong"
