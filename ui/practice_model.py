"""Practice's pure parts: which part of a chain owns an entry and whose terms it is asked in,
which entries can be asked, the names listed beside the box, the hints, the score and a
question's state. No Streamlit here (``ui.practice`` draws it all); tested on their own in
tests/test_practice.py."""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from derivations.answer_terms import MAX_LISTED
from derivations.answers import typing_name
from derivations.symbols import plain

MAX_TERMS = 9  # an entry of more terms is too long to type (the parser takes 300 characters)
HIDE = 3  # entries hidden when they are drawn at random


# ---------------------------------------------------------------- which entries, whose terms


def owner(d, name: str) -> tuple[object, tuple[int, ...]]:
    """The Math that owns input ``name`` of ``d`` and the path to it through the chain's parts
    (0 = first, 1 = second): for a network, the layer's own op, whose gradients are written in
    that layer's upstream (∂L/∂z⁽¹⁾…). A single op owns all its inputs (path ())."""
    m, path = d, ()
    while "parts" in m.facts:
        first, second, link = m.facts["parts"]
        if name in first.inputs:
            m, path = first, (*path, 0)
        elif name in second.inputs and name != link:
            m, path = second, (*path, 1)
        else:
            raise KeyError(f"{name!r} is not an input of {d.op}")
    return m, path


def part_at(d, path) -> object:
    for k in path:
        d = d.facts["parts"][k]
    return d


@dataclass(frozen=True)
class Entry:
    name: str  # the input (of the whole lesson: "W1", "X")
    idx: tuple[int, int]
    terms: int  # how many terms its chain-rule sum has


def entries(d, name: str) -> list[Entry]:
    """The entries of ∂L/∂``name`` worth asking: at least one term and at most MAX_TERMS."""
    part, _ = owner(d, name)
    m = part.inputs[name]
    out = []
    for r in range(m.rows):
        for c in range(m.cols):
            n = len(part.jac[name].get((r, c), {}))
            if 1 <= n <= MAX_TERMS:
                out.append(Entry(name, (r, c), n))
    return out


def left_out_count(d, name: str) -> int:
    """How many entries of ∂L/∂``name`` are too long to ask (more than MAX_TERMS terms)."""
    part, _ = owner(d, name)
    return sum(1 for outs in part.jac[name].values() if len(outs) > MAX_TERMS)


def askable(d) -> dict[str, list[Entry]]:
    """Every input with at least one entry worth asking → those entries."""
    found = {n: entries(d, n) for n in d.inputs}
    return {n: e for n, e in found.items() if e}


def default_gradient(d, options: dict) -> str:
    """The gradient a practice set starts with: the first input's, or for a network the first
    weight's (its input X is the least interesting: no weight is learned from it)."""
    names = list(options)
    if "parts" in d.facts and len(names) > 1 and names[0] == "X":
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
    return part.grads[name][tuple(idx)]


def layer_note(d, name: str) -> str:
    """For a network: whose terms the answer is written in ("" for a single op)."""
    part, path = owner(d, name)
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
    ups = [k for k in ("d" + typing_name(o) for o in part.out_symbols) if k in names]
    first = next(iter(part.inputs.values()))
    ins = [k for k in (typing_name(s) for s in first) if k in names]
    if not ups or not ins:
        return "type it with the names listed beside the box"
    products = dict.fromkeys([f"{ups[0]}*{ins[0]}", f"{ups[-1]}*{ins[-1]}"])  # one if the same
    return "for example " + " + ".join(products)


TIPS = {
    "max_pool2d": 'Write "x12 is its window\'s first maximum" as conditions, each 1 or 0: '
    "`[x12 > x11]*[x12 >= x21]*[x12 >= x22]` (strictly greater than the cells before it: "
    "a tie goes to the first).",
    "relu": "ReLU's derivative is a condition: `[x11 > 0]` is 1 where it holds, 0 elsewhere.",
    "leaky_relu": "Conditions are 1 or 0: `[x11 > 0] + 0.01*[x11 <= 0]`.",
    "attention": "Type a weight pᵢⱼ as `p21` and an output oᵢⱼ as `o21` (each stands for its "
    "formula; a weight the mask fixes at 0 or 1 is typed as that number), √2 as `sqrt(2)`: "
    "`do21*p21*(v11 - o21)*q21/sqrt(2)`.",
}


def tip(part) -> str:
    return TIPS.get(part.op, "")


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
    L, z, al = part.loss, part.out_letter, sp.latex(a)
    return Hint(
        "The chain rule",
        rf"{lhs} = \sum_{{i,j}} \frac{{\partial {L}}}{{\partial {z}_{{ij}}}} \cdot "
        rf"\frac{{\partial {z}_{{ij}}}}{{\partial {al}}}",
        f"{plain(a)} reaches the loss only through the outputs {part.out_name}: add, over "
        "every output, the upstream gradient times how that output changes with "
        f"{plain(a)}.",
    )


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
