"""Practice on a lesson page: "∂L/∂x₂₂ = ?", typed, previewed, checked, with hints.

``practice_ui(keys, d, lesson=...)`` is drawn by the lesson flow (``ui.lesson``) below the steps.
Two kinds of questions:

- **Gradient entries**: the learner picks a gradient and which of its entries to hide (or
  draws them at random) and types each one with the names listed beside the box. For a
  network the entry is asked in the terms of the layer it belongs to (``owner``): the part of
  the chain that owns the input, whose own upstream gradients (∂L/∂z⁽¹⁾…) are what backprop
  hands that layer.
- **The notes' mistakes** (``MISTAKES``): the notes' version of an entry is shown and the
  learner finds the slip: picks the wrong terms, types the entry as it should be, or picks the
  right statement.

Every answer is parsed and checked by ``derivations.check_answer`` in the worker process
(never eval'd or sympified here); the preview of what was understood is computed there too
(``derivations.parse.preview``), before the answer is scored. Hints reveal the derivation one
step at a time (``hints``). The score is kept per lesson and for the session.

The pure parts (which part owns an entry, which entries can be asked, the hints, the score,
the notes' mistakes) need no Streamlit and are tested on their own (tests/test_practice.py).
All state lives in ``st.session_state`` under the page's keys (``pkey``).
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from dataclasses import dataclass, field

import numpy as np
import streamlit as st
import sympy as sp

from derivations import check_answer, derive, names_for, worker
from derivations.answers import typing_name
from derivations.parse import FUNCTIONS, preview
from derivations.symbols import plain
from derivations.typeset import DEFAULT as TYPESET

MAX_TERMS = 9  # an entry of more terms is too long to type (the parser takes 300 characters)
HIDE = 3  # entries hidden when they are drawn at random
CHECK_SECONDS = 1.5  # check_answer's own default
PREVIEW_SECONDS = 1.5


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
        what = "the softmax probabilities" if rest[0] == "p1" else "also"
        lines.append(f"{what}: {_span(rest)}")
    return lines


TIPS = {
    "max_pool2d": 'Write "x12 is its window\'s first maximum" as conditions, each 1 or 0: '
    "`[x12 > x11]*[x12 >= x21]*[x12 >= x22]` (strictly greater than the cells before it: "
    "a tie goes to the first).",
    "relu": "ReLU's derivative is a condition: `[x11 > 0]` is 1 where it holds, 0 elsewhere.",
    "leaky_relu": "Conditions are 1 or 0: `[x11 > 0] + 0.01*[x11 <= 0]`.",
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
    a = part.inputs[name][idx]
    L, z = part.loss, part.out_letter
    lhs = entry_latex(d, name, idx)
    outs = part.feeds(name, idx)
    zs = [sp.latex(part.out_symbols[o]) for o in outs]
    al = sp.latex(a)
    fed = ", ".join(plain(part.out_symbols[o]) for o in outs)
    general = (
        rf"{lhs} = \sum_{{i,j}} \frac{{\partial {L}}}{{\partial {z}_{{ij}}}} \cdot "
        rf"\frac{{\partial {z}_{{ij}}}}{{\partial {al}}}"
    )
    terms = " + ".join(
        rf"\frac{{\partial {L}}}{{\partial {zo}}} \frac{{\partial {zo}}}{{\partial {al}}}"
        for zo in zs
    )
    partials = [
        rf"\frac{{\partial {zo}}}{{\partial {al}}} &= {part.partial_latex(name, idx, o)}"
        for o, zo in zip(outs, zs, strict=True)
    ]
    shown = partials if len(partials) <= MAX_TERMS else partials[:MAX_TERMS]
    return [
        Hint(
            "The chain rule",
            general,
            f"{plain(a)} reaches the loss only through the outputs {part.out_name}: add, over "
            "every output, the upstream gradient times how that output changes with "
            f"{plain(a)}.",
        ),
        Hint(
            "Which outputs it feeds",
            f"{lhs} = {terms}",
            f"{plain(a)} appears in {fed} only"
            + (
                ", so only that term survives."
                if len(outs) == 1
                else ", so only those terms survive."
            ),
        ),
        Hint(
            "The partial derivatives",
            r"\begin{aligned} " + r" \\ ".join(shown) + r" \end{aligned}",
            "Differentiate each of those outputs' forward formulas with respect to "
            f"{plain(a)}; put them in the sum.",
        ),
        Hint(
            "The answer",
            part.chain_rule(name, idx),
            "Each term is upstream × partial. Now that the answer is shown, checking this entry "
            "no longer counts toward the score.",
        ),
    ]


# ---------------------------------------------------------------- the score


def score_key(page: str) -> str:
    return f"{page}/practice/score"


def record(ss: MutableMapping, page: str, lesson: str, correct: bool) -> None:
    """One scored attempt on ``lesson`` (shown on ``page``)."""
    scores = dict(ss.get(score_key(page), {}))
    c, a = scores.get(lesson, (0, 0))
    scores[lesson] = (c + int(bool(correct)), a + 1)
    ss[score_key(page)] = scores


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


# ---------------------------------------------------------------- the notes' mistakes


@dataclass(frozen=True)
class Mistake:
    """One of the notes' slips (shared notes README, mistakes 1–7) as a practice item.

    kind "entry": the notes' version of one gradient entry is shown (``terms``, as the note
    writes them); the learner picks the wrong terms (``wrong``) and types the entry as it
    should be (checked against ``derive(op, **params).grads[grad][idx]``).
    kind "choice": a question with ``choices``; ``answer`` is the right one's index."""

    key: str
    number: int  # in the notes README's list
    note: str
    title: str
    op: str
    params: dict = field(default_factory=dict)
    kind: str = "entry"
    grad: str = ""
    idx: tuple[int, int] = (0, 0)
    shown: str = ""  # LaTeX of the notes' version
    terms: tuple[str, ...] = ()  # the notes' terms, as a learner types them
    wrong: tuple[int, ...] = ()
    ask: str = ""
    choices: tuple[str, ...] = ()
    answer: int = -1
    why: str = ""


def _dz(a: str) -> str:
    return rf"\frac{{\partial L}}{{\partial z_{{{a}}}}}"


MISTAKES = (
    Mistake(
        "conv-k22",
        1,
        "003",
        "Note 003's ∂L/∂k₂₂",
        "conv2d",
        grad="K",
        idx=(1, 1),
        shown=rf"\frac{{\partial L}}{{\partial k_{{22}}}} = {_dz('11')} x_{{21}} + {_dz('12')} x_{{23}} + "
        rf"{_dz('21')} x_{{32}} + {_dz('22')} x_{{33}}",
        terms=("dz11*x21", "dz12*x23", "dz21*x32", "dz22*x33"),
        wrong=(0,),
        ask="Note 003 writes ∂L/∂k₂₂ for the 3×3 input and 2×2 kernel like this. One term is off.",
        why="k₂₂ multiplies the bottom-right cell of each window: z₁₁'s window gives x₂₂, not x₂₁.",
    ),
    Mistake(
        "softmax-sign",
        2,
        "003",
        "Note 003's softmax-CE for k ≠ yᵢ",
        "softmax_cross_entropy",
        {"num_classes": 3, "target": 0},
        grad="f",
        idx=(0, 1),
        shown=r"\frac{\partial L}{\partial f_{2}} = -p_{2}\,\frac{\partial L}{\partial L_{i}}"
        r"\qquad (k = 2 \ne y_i = 1)",
        terms=("-dL_i*p2",),
        wrong=(0,),
        ask="Note 003 boxes −pₖ for a class k that is not the true one (here 3 classes, the true "
        "class is 1).",
        why="The quotient rule's numerator is −e^(f_y)·e^(f_k): the minus cancels the one in front, "
        "so the result is +pₖ, and the gradients sum to 0 over k.",
    ),
    Mistake(
        "convT-k11",
        3,
        "001",
        "Note 001's transposed-conv ∂L/∂k₁₁",
        "conv_transpose2d",
        grad="K",
        idx=(0, 0),
        shown=rf"\frac{{\partial L}}{{\partial k_{{11}}}} = {_dz('11')} x_{{11}} + {_dz('12')} x_{{12}} + "
        rf"{_dz('21')} x_{{11}} + {_dz('22')} x_{{12}}",
        terms=("dz11*x11", "dz12*x12", "dz21*x11", "dz22*x12"),
        wrong=(2, 3),
        ask="Note 001 writes ∂L/∂k₁₁ of the transposed convolution (2×2 input, 2×2 kernel) "
        "like this.",
        why="k₁₁ stamps every input cell onto the output at the same offset: z₂₁ gets x₂₁·k₁₁ and "
        "z₂₂ gets x₂₂·k₁₁. The note copied x₁₁, x₁₂ again.",
    ),
    Mistake(
        "convT-x22",
        4,
        "001",
        "Note 001's transposed-conv ∂L/∂x₂₂",
        "conv_transpose2d",
        grad="X",
        idx=(1, 1),
        shown=rf"\frac{{\partial L}}{{\partial x_{{22}}}} = {_dz('21')} k_{{11}} + {_dz('23')} k_{{12}} + "
        rf"{_dz('32')} k_{{21}} + {_dz('33')} k_{{22}}",
        terms=("dz21*k11", "dz23*k12", "dz32*k21", "dz33*k22"),
        wrong=(0,),
        ask="The second list of note 001 starts ∂L/∂x₂₂ like this (its first list has it right).",
        why="x₂₂·k₁₁ lands on z₂₂ (the stamp of x₂₂ starts at row 2, column 2), so the first term "
        "is ∂L/∂z₂₂·k₁₁: ∂L/∂X is the valid cross-correlation ∂L/∂Z ⊛ K.",
    ),
    Mistake(
        "avgpool-index",
        5,
        "003",
        "Note 003's average-pool indexing",
        "avg_pool2d",
        {"input_shape": (4, 4), "kernel_size": 2},
        grad="X",
        idx=(2, 2),
        shown=r"\frac{\partial L}{\partial x_{33}} = \frac{1}{4}\,"
        r"\frac{\partial L}{\partial z_{\lfloor 3/2 \rfloor \lfloor 3/2 \rfloor}} = "
        r"\frac{1}{4}\,\frac{\partial L}{\partial z_{11}}",
        terms=("dz11/4",),
        wrong=(0,),
        ask="Note 003's rule uses a 0-based floor(m/2); applied to the 1-based indices of a 4×4 "
        "input with a 2×2 window it gives this.",
        why="With 1-based indices, cell m sits in window ⌈m/2⌉: x₃₃ is in the window of z₂₂.",
    ),
    Mistake(
        "relu-zero",
        6,
        "004 vs 003",
        "ReLU's gradient at exactly 0",
        "relu",
        kind="choice",
        shown=r"dX = dY \odot [X \ge 0] \;(\text{note 004}) \qquad dX = dY \odot [X > 0] "
        r"\;(\text{note 003})",
        ask="The notes disagree. With x₁₁ = 0 and ∂J/∂y₁₁ = 2, what is ∂J/∂x₁₁ in this app "
        "(and in PyTorch)?",
        choices=("0", "1", "2", "undefined: the app refuses x = 0"),
        answer=0,
        why="ReLU has no derivative at 0, so any value in [0, 1] is a valid choice for ReLU′(0); "
        "PyTorch and this app take 0 (note 003's [z > 0]), so ∂J/∂x₁₁ = 2 · 0 = 0.",
    ),
    Mistake(
        "dense-shape",
        7,
        "002",
        "Note 002's shape of ∂L/∂W",
        "linear",
        kind="choice",
        shown=r"X \in \mathbb{R}^{2\times3},\; W \in \mathbb{R}^{3\times2},\; "
        r"\frac{\partial L}{\partial Z} \in \mathbb{R}^{2\times2}",
        ask='Note 002 muddles the shape of ∂L/∂W ("n×m, but m×n for subtraction"). Which '
        "product is ∂L/∂W, which has the shape of W?",
        choices=("∂L/∂Z · Xᵀ", "Xᵀ · ∂L/∂Z", "X · ∂L/∂Z", "∂L/∂Z · Wᵀ"),
        answer=1,
        why="The gradient has the shape of the parameter (3×2), and every product's inner sizes "
        "must match: Xᵀ (3×2) · ∂L/∂Z (2×2) is 3×2. ∂L/∂Z · Xᵀ is 2×2 · 3×2, which does not "
        "even multiply; ∂L/∂Z · Wᵀ is ∂L/∂X.",
    ),
)
# op → the mistakes its practice offers (a network offers those of the ops it is made of)
MISTAKES_FOR = {
    "conv2d": ("conv-k22",),
    "conv_transpose2d": ("convT-k11", "convT-x22"),
    "max_pool2d": ("avgpool-index",),
    "avg_pool2d": ("avgpool-index",),
    "softmax_cross_entropy": ("softmax-sign",),
    "relu": ("relu-zero",),
    "leaky_relu": ("relu-zero",),
    "linear": ("dense-shape",),
    "mlp": ("dense-shape", "softmax-sign"),
    "cnn": ("conv-k22", "relu-zero", "softmax-sign"),
}
_BY_KEY = {m.key: m for m in MISTAKES}


def mistakes_for(op: str) -> list[Mistake]:
    return [_BY_KEY[k] for k in MISTAKES_FOR.get(op, ())]


def picked_right(item: Mistake, picked) -> bool:
    """Are the picked terms (indices) exactly the notes' wrong ones?"""
    return sorted(int(i) for i in picked) == sorted(item.wrong)


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
    seconds: float | None = None  # how long the last check took


# ---------------------------------------------------------------- drawing (Streamlit)


def practice_ui(keys, d, lesson: str = "") -> None:
    """The practice section of a lesson page for derivation ``d`` (its steps are above).
    ``lesson`` names it in the score (the op's title)."""
    lesson = lesson or d.op
    page = keys.page
    with st.expander(":material/edit: Practice: your turn", expanded=False):
        items = mistakes_for(d.op)
        modes = ["entries"] + (["mistakes"] if items else [])
        mode = "entries"
        if len(modes) > 1:
            mode = st.radio(
                "Practise",
                modes,
                key=pkey(page, "mode"),
                horizontal=True,
                format_func={
                    "entries": "Gradient entries",
                    "mistakes": "Find the notes' mistake",
                }.get,
            )
        _score_ui(page, lesson)
        worker.warm_up()  # a question is on show: the first check should not wait for a start
        if mode == "entries":
            _entries_ui(page, d, lesson)
        else:
            _mistakes_ui(page, items, lesson)


def _score_ui(page: str, lesson: str) -> None:
    c, a = lesson_score(st.session_state, page, lesson)
    tc, ta = overall_score(st.session_state)
    st.caption(
        f":material/scoreboard: Score — {lesson}: **{c} / {a}** correct · all lessons this "
        f"session: **{tc} / {ta}**"
    )


def _attempt(qkey: str) -> Attempt:
    ss = st.session_state
    if not isinstance(ss.get(qkey), Attempt):
        ss[qkey] = Attempt()
    return ss[qkey]


def _entries_ui(page: str, d, lesson: str) -> None:
    ss = st.session_state
    options = askable(d)
    if not options:
        st.info(
            f"Every gradient entry here has more than {MAX_TERMS} terms: too long to type. "
            "Choose smaller sizes to practise.",
            icon=":material/info:",
        )
        return
    set_key = pkey(page, "set")
    current = ss.get(set_key)
    grad_key = pkey(page, "grad")
    if not current or current.get("sig") != signature(d) or current["grad"] not in options:
        grad = ss.get(grad_key) if ss.get(grad_key) in options else default_gradient(d, options)
        ss[set_key] = current = new_set(d, grad, int(ss.get(pkey(page, "draws"), 0)))
    ss[grad_key] = current["grad"]
    left, right = st.columns([3, 2], gap="medium")
    with left:
        st.selectbox(
            "Gradient",
            list(options),
            key=grad_key,
            format_func=lambda n: _grad_title(d, n),
            on_change=_grad_changed,
            args=(page, d),
        )
    labels = {
        f"{r},{c}": entry_label(d, current["grad"], (r, c))
        for e in options[current["grad"]]
        for r, c in [e.idx]
    }
    hidden_key = pkey(page, "hidden")
    ss[hidden_key] = [f"{r},{c}" for r, c in current["hidden"]]
    with right:
        st.button(
            ":material/casino: Other entries at random",
            key=pkey(page, "redraw"),
            on_click=_redraw,
            args=(page, d),
            width="stretch",
        )
    st.multiselect(
        "Hidden entries (pick the ones to answer)",
        list(labels),
        key=hidden_key,
        format_func=labels.get,
        on_change=_hidden_changed,
        args=(page,),
    )
    left_out = left_out_count(d, current["grad"])
    if left_out:
        st.caption(
            f"{left_out} of its entries {'has' if left_out == 1 else 'have'} more than "
            f"{MAX_TERMS} terms: too long to type here, so {'it is' if left_out == 1 else 'they are'}"
            " not offered (a smaller kernel or input gives shorter ones)."
        )
    if not current["hidden"]:
        st.caption("Pick at least one entry to hide.")
        return
    name = current["grad"]
    solved = {
        tuple(h)
        for h in current["hidden"]
        if _attempt(pkey(page, "q", question_id(d, name, h))).solved
    }
    st.latex(_grid_latex(d, name, current["hidden"], solved, current["current"]))
    idx = tuple(current["hidden"][current["current"]])
    qkey = pkey(page, "q", question_id(d, name, idx))
    part, _ = owner(d, name)
    _question_ui(
        page,
        qkey,
        title=f"Question {current['current'] + 1} of {len(current['hidden'])}",
        lhs=entry_latex(d, name, idx),
        expected=expected(d, name, idx),
        part=part,
        lesson=lesson,
        note=layer_note(d, name),
        hint_list=hints(d, name, idx),
        next_args=(page, d, solved),
    )


def _grad_title(d, name: str) -> str:
    part, path = owner(d, name)
    title = f"∂{d.loss}/∂{name}"
    return title + (f"  (in the terms of its {part.op} layer)" if path else "")


def _grad_changed(page: str, d) -> None:
    ss = st.session_state
    ss[pkey(page, "set")] = new_set(d, ss[pkey(page, "grad")], int(ss.get(pkey(page, "draws"), 0)))


def _redraw(page: str, d) -> None:
    ss = st.session_state
    ss[pkey(page, "draws")] = int(ss.get(pkey(page, "draws"), 0)) + 1
    ss[pkey(page, "set")] = new_set(d, ss[pkey(page, "grad")], ss[pkey(page, "draws")])


def _hidden_changed(page: str) -> None:
    ss = st.session_state
    current = dict(ss[pkey(page, "set")])
    picked = [tuple(int(v) for v in s.split(",")) for s in ss[pkey(page, "hidden")]]
    current["hidden"] = sorted(picked)
    current["current"] = 0
    ss[pkey(page, "set")] = current


def _next_question(page: str, d, solved: set) -> None:
    ss = st.session_state
    current = dict(ss[pkey(page, "set")])
    current["current"] = next_unsolved(current["hidden"], solved, current["current"])
    ss[pkey(page, "set")] = current


def _grid_latex(d, name, hidden, solved, current) -> str:
    """The gradient as a matrix: ? for a hidden entry (the one asked now in colour), ✓ for a
    solved one, · for the entries not asked."""
    part, _ = owner(d, name)
    m = part.inputs[name]
    asked = {tuple(h): k for k, h in enumerate(hidden)}

    def cell(r, c) -> str:
        k = asked.get((r, c))
        if k is None:
            return r"\cdot"
        if (r, c) in solved:
            return r"\color{green}{\checkmark}"
        return r"\color{#d6336c}{\boxed{?}}" if k == current else r"\boxed{?}"

    codes = sp.Matrix(m.rows, m.cols, lambda r, c: r * m.cols + c)
    tex = TYPESET.bmatrix(codes, fmt=lambda v: cell(int(v) // m.cols, int(v) % m.cols))
    return rf"\frac{{\partial {part.loss}}}{{\partial {name}}} = {tex}"


def _question_ui(page, qkey, *, title, lhs, expected, part, lesson, note, hint_list, next_args):
    """One typed question: the box, the preview, Check / Hint / Next, the verdict, the names."""
    att = _attempt(qkey)
    names = names_for(part)
    akey = f"{qkey}/answer"
    left, right = st.columns([3, 2], gap="medium")
    with left:
        st.markdown(
            f"**{title}**" + (" :green[:material/check_circle: solved]" if att.solved else "")
        )
        st.latex(rf"{lhs} = \;?")
        if note:
            st.caption(note)
        text = st.text_input(
            "Your answer",
            key=akey,
            placeholder="for example dz11*x22 + dz12*x23",
            help="Press Enter to see how it was read, then Check.",
        )
        b = st.columns(3)
        b[0].button(
            "Check",
            key=f"{qkey}/check",
            type="primary",
            on_click=_check,
            args=(page, qkey, expected, names, lesson),
            width="stretch",
        )
        b[1].button(
            ":material/lightbulb: Hint",
            key=f"{qkey}/hint",
            on_click=_more_hints,
            args=(qkey, len(hint_list)),
            disabled=att.hints >= len(hint_list),
            width="stretch",
        )
        if next_args is not None:
            b[2].button(
                "Next question ▶",
                key=f"{qkey}/next",
                on_click=_next_question,
                args=next_args,
                width="stretch",
            )
        _preview_ui(att, text, names)
        _verdict_ui(att)
    with right:
        st.markdown("**Names you can use**")
        st.markdown("\n".join(f"- {line}" for line in names_help(part, names)))
        st.caption(
            "Functions: " + ", ".join(FUNCTIONS) + ". Conditions such as `[x11 > 0]` are 1 "
            "where they hold and 0 elsewhere. Multiply with `*`, powers with `^` or `**`."
        )
        if tip(part):
            st.caption(tip(part))
    for k, h in enumerate(hint_list[: att.hints]):
        st.markdown(f"**Hint {k + 1} of {len(hint_list)}: {h.title}**")
        st.latex(h.latex)
        st.caption(h.text)


def _preview_ui(att: Attempt, text: str, names: dict) -> None:
    """What the box was understood as, computed in the worker, before (or without) a check."""
    text = (text or "").strip()
    if not text:
        return
    if att.preview is None or att.preview[0] != text:
        try:
            att.preview = (text, preview(text, names, timeout=PREVIEW_SECONDS), "")
        except ValueError as exc:
            att.preview = (text, "", str(exc))
    _, tex, error = att.preview
    if error:
        st.warning(md_safe(error), icon=":material/edit_off:")
    elif tex:
        st.caption("Read as:")
        st.latex(tex)


def _verdict_ui(att: Attempt) -> None:
    if att.verdict is None:
        return
    correct, message, _, method = att.verdict
    took = f" ({att.seconds:.2f} s)" if att.seconds is not None else ""
    if correct:
        st.success(md_safe(message) + took, icon=":material/check_circle:")
    elif method in SCORED or method == "undecided":
        st.error(md_safe(message), icon=":material/cancel:")
    else:
        st.warning(md_safe(message), icon=":material/edit_off:")


def _check(page: str, qkey: str, expected, names: dict, lesson: str) -> None:
    ss = st.session_state
    att = _attempt(qkey)
    text = str(ss.get(f"{qkey}/answer", "") or "")
    start = time.monotonic()
    fb = check_answer(text, expected, names, timeout=CHECK_SECONDS)
    att.seconds = time.monotonic() - start
    att.verdict = (fb.correct, fb.message, fb.latex, fb.method)
    att.missing, att.extra = list(fb.missing), list(fb.extra)
    # the check's own reading stands for the preview (none when the text did not read as a
    # formula: the verdict says why), so the worker is not asked again for the same text
    att.preview = (text.strip(), fb.latex, "")
    if fb.method in SCORED and not att.solved and not att.revealed:
        record(ss, page, lesson, fb.correct)
    if fb.correct:
        att.solved = True


def _more_hints(qkey: str, n: int) -> None:
    att = _attempt(qkey)
    att.hints = min(att.hints + 1, n)
    if att.hints == n:
        att.revealed = True  # the answer is out: later checks of it are not scored


# ---------------------------------------------------------------- the notes' mistakes (drawing)


@st.cache_resource(max_entries=16, show_spinner=False)
def _notes_derivation(op: str, params_key: tuple):
    """The derivation a notes' mistake is about, at the notes' own sizes (whatever the page's)."""
    return derive(op, **dict(params_key))


def _mistake_derivation(item: Mistake):
    return _notes_derivation(item.op, tuple(sorted(item.params.items())))


def _mistakes_ui(page: str, items: list[Mistake], lesson: str) -> None:
    ss = st.session_state
    key = pkey(page, "mistake")
    if ss.get(key) not in [m.key for m in items]:
        ss[key] = items[0].key
    st.selectbox(
        "Which one",
        [m.key for m in items],
        key=key,
        format_func=lambda k: f"Mistake {_BY_KEY[k].number}: {_BY_KEY[k].title}",
    )
    item = _BY_KEY[ss[key]]
    st.markdown(f"**The notes' version (note {item.note})**")
    st.latex(item.shown)
    st.markdown(item.ask)
    qkey = pkey(page, "m", item.key)
    if item.kind == "choice":
        _choice_ui(page, qkey, item, lesson)
        return
    d = _mistake_derivation(item)
    pick = pkey(page, "m", item.key, "pick")
    if len(item.terms) > 1:
        st.multiselect(
            "Which terms are wrong?",
            list(range(len(item.terms))),
            key=pick,
            format_func=lambda i: f"term {i + 1}: {item.terms[i]}",
        )
        st.button(
            "Check the terms",
            key=f"{pick}/check",
            on_click=_check_pick,
            args=(page, qkey, item, lesson),
        )
        verdict = ss.get(f"{qkey}/pickverdict")
        if verdict is not None:
            (st.success if verdict[0] else st.error)(verdict[1])
    sym = d.inputs[item.grad][item.idx]
    _question_ui(
        page,
        qkey,
        title="Type the entry as it should be",
        lhs=rf"\frac{{\partial {d.loss}}}{{\partial {sp.latex(sym)}}}",
        expected=d.grads[item.grad][item.idx],
        part=d,
        lesson=lesson,
        note="",
        hint_list=hints(d, item.grad, item.idx),
        next_args=None,
    )
    if _attempt(qkey).solved:
        st.info(item.why, icon=":material/lightbulb:")


def _check_pick(page: str, qkey: str, item: Mistake, lesson: str) -> None:
    ss = st.session_state
    picked = ss.get(pkey(page, "m", item.key, "pick"), [])
    ok = picked_right(item, picked)
    if ok:
        which = ", ".join(item.terms[i] for i in item.wrong)
        msg = f"Right: {which} {'is' if len(item.wrong) == 1 else 'are'} wrong. {item.why}"
    elif not picked:
        msg = "Pick the terms you think are wrong first."
    else:
        n = len(item.wrong)
        msg = f"Not quite: {n} term{'s are' if n > 1 else ' is'} wrong; look at each factor's indices."
    if picked:
        record(ss, page, lesson, ok)
    ss[f"{qkey}/pickverdict"] = (ok, msg)


def _choice_ui(page: str, qkey: str, item: Mistake, lesson: str) -> None:
    ss = st.session_state
    choice = st.radio(
        "Your answer",
        list(range(len(item.choices))),
        key=f"{qkey}/choice",
        index=None,
        format_func=lambda i: item.choices[i],
    )
    st.button(
        "Check",
        key=f"{qkey}/check",
        type="primary",
        on_click=_check_choice,
        args=(page, qkey, item, lesson),
        disabled=choice is None,
    )
    verdict = ss.get(f"{qkey}/verdict")
    if verdict is not None:
        (st.success if verdict[0] else st.error)(verdict[1])


def _check_choice(page: str, qkey: str, item: Mistake, lesson: str) -> None:
    ss = st.session_state
    choice = ss.get(f"{qkey}/choice")
    if choice is None:
        return
    ok = int(choice) == item.answer
    record(ss, page, lesson, ok)
    ss[f"{qkey}/verdict"] = (
        ok,
        ("Right. " if ok else f"Not quite: it is {item.choices[item.answer]}. ") + item.why,
    )
