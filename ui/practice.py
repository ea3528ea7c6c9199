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
(``mathtext.parse.preview``), before the answer is scored. Hints reveal the derivation one
step at a time (``hints``). The score is kept per lesson and for the session.

The parts live in their own modules; their names are importable from here as well:
- ``ui.practice_model``: the pure parts (which part owns an entry, which entries can be asked,
  the hints, the score, a question's state);
- ``ui.notes_mistakes``: the notes' mistakes as items;
- ``ui.practice_question``: drawing one typed question (the box, Check, Hint, the verdict);
- this module: the practice section itself, the entries' and the mistakes' drawing.
The pure parts need no Streamlit and are tested on their own (tests/test_practice.py).
All state lives in ``st.session_state`` under the page's keys (``pkey``).
"""

from __future__ import annotations

import streamlit as st
import sympy as sp

from derivations.typeset import DEFAULT as TYPESET
from derivations.typeset import LINE_WIDTH
from ui import waiting
from ui.notes_mistakes import (
    BY_KEY,
    MISTAKES,
    Mistake,
    mistakes_for,
    picked_right,
)
from ui.practice_model import (
    HIDE,
    MAX_TERMS,
    SCORED,
    Attempt,
    Entry,
    Hint,
    askable,
    default_gradient,
    entries,
    entry_label,
    entry_latex,
    expected,
    grad_latex,
    grad_title,
    helped_score,
    hints,
    layer_note,
    left_out_count,
    left_out_note,
    lesson_score,
    md_safe,
    names_help,
    new_set,
    next_unsolved,
    nothing_note,
    overall_score,
    owner,
    part_at,
    pick_hidden,
    pkey,
    placeholder,
    question_id,
    record,
    score_check,
    score_key,
    signature,
    symbol,
    tip,
)
from ui.practice_question import CHECK_SECONDS, PREVIEW_SECONDS, attempt, question_ui
from workers import worker

__all__ = [
    "CHECK_SECONDS",
    "HIDE",
    "MAX_TERMS",
    "MISTAKES",
    "PREVIEW_SECONDS",
    "SCORED",
    "Attempt",
    "Entry",
    "Hint",
    "Mistake",
    "askable",
    "default_gradient",
    "entries",
    "entry_label",
    "entry_latex",
    "expected",
    "helped_score",
    "hints",
    "layer_note",
    "left_out_count",
    "left_out_note",
    "lesson_score",
    "md_safe",
    "mistakes_for",
    "names_help",
    "new_set",
    "next_unsolved",
    "overall_score",
    "owner",
    "part_at",
    "pick_hidden",
    "picked_right",
    "pkey",
    "placeholder",
    "practice_ui",
    "question_id",
    "record",
    "score_check",
    "score_key",
    "signature",
    "symbol",
    "tip",
]


# ---------------------------------------------------------------- drawing (Streamlit)


@st.fragment
def practice_ui(keys, d, lesson: str = "") -> None:
    """The practice section of a lesson page for derivation ``d`` (its steps are above).
    ``lesson`` names it in the score (the op's title).

    A fragment: typing an answer, Check, a hint and the next question rerun only this section
    (its score included), not the lesson around it, which they do not change. With a class
    checking at once, whole-page reruns kept the serving process from keeping up."""
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
                    "mistakes": "Find the notes' mistake"
                    if any(m.note for m in items)
                    else "Find the mistake",
                }.get,
            )
        _score_ui(page, lesson)
        worker.warm_up()  # a question is on show: the first check should not wait for a start
        if mode == "entries":
            _entries_ui(page, d, lesson)
        else:
            _mistakes_ui(page, items, lesson)


def _score_ui(page: str, lesson: str) -> None:
    ss = st.session_state
    c, a = lesson_score(ss, page, lesson)
    tc, ta = overall_score(ss)
    h, th = helped_score(ss, page, lesson), helped_score(ss)
    st.caption(
        f":material/scoreboard: Score — {lesson}: **{c} / {a}** correct"
        + (f" ({h} more solved with help)" if h else "")
        + f" · all lessons this session: **{tc} / {ta}**"
        + (f" ({th} with help)" if th else "")
    )


def _entries_ui(page: str, d, lesson: str) -> None:
    options = askable(d)
    if not options:
        st.info(nothing_note(d), icon=":material/info:")
        return
    current = _current_set(page, d, options)
    _set_pickers_ui(page, d, options, current)
    left_out = left_out_note(d, current["grad"])
    if left_out:
        st.caption(left_out)
    if not current["hidden"]:
        st.caption("Pick at least one entry to hide.")
        return
    _asked_ui(page, d, lesson, current)


def _current_set(page: str, d, options: dict) -> dict:
    """The page's practice set, made afresh for a new lesson or a gradient no longer offered."""
    ss = st.session_state
    set_key = pkey(page, "set")
    current = ss.get(set_key)
    grad_key = pkey(page, "grad")
    if not current or current.get("sig") != signature(d) or current["grad"] not in options:
        grad = ss.get(grad_key) if ss.get(grad_key) in options else default_gradient(d, options)
        ss[set_key] = current = new_set(d, grad, int(ss.get(pkey(page, "draws"), 0)))
    ss[grad_key] = current["grad"]
    return current


def _set_pickers_ui(page: str, d, options: dict, current: dict) -> None:
    """Which gradient, which of its entries are hidden, and a button to draw others."""
    left, right = st.columns([3, 2], gap="medium")
    with left:
        st.selectbox(
            "Gradient",
            list(options),
            key=pkey(page, "grad"),
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
    st.session_state[hidden_key] = [f"{r},{c}" for r, c in current["hidden"]]
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


def _asked_ui(page: str, d, lesson: str, current: dict) -> None:
    """The grid of hidden entries and the question asked now."""
    name = current["grad"]
    solved = {
        tuple(h)
        for h in current["hidden"]
        if attempt(pkey(page, "q", question_id(d, name, h))).solved
    }
    st.latex(_grid_latex(d, name, current["hidden"], solved, current["current"]))
    idx = tuple(current["hidden"][current["current"]])
    part, _ = owner(d, name)
    question_ui(
        page,
        pkey(page, "q", question_id(d, name, idx)),
        title=f"Question {current['current'] + 1} of {len(current['hidden'])}",
        lhs=entry_latex(d, name, idx),
        expected=expected(d, name, idx),
        part=part,
        lesson=lesson,
        note=layer_note(d, name),
        hint_list=hints(d, name, idx),
        on_next=_next_question,
        next_args=(page, d, solved),
    )


def _grad_title(d, name: str) -> str:
    return grad_title(d, name)


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
    return rf"\frac{{\partial {part.loss}}}{{\partial {grad_latex(d, name)}}} = {tex}"


# ---------------------------------------------------------------- the notes' mistakes (drawing)


def _notes_derivation(op: str, params_key: tuple):
    """The derivation a notes' mistake is about, at the notes' own sizes (whatever the page's),
    shared with every session (derived in a worker)."""
    return waiting.derivation(op, dict(params_key), LINE_WIDTH, f"the notes' {op}")


def _mistake_derivation(item: Mistake):
    return _notes_derivation(item.op, tuple(sorted(item.params.items())))


def _mistakes_ui(page: str, items: list[Mistake], lesson: str) -> None:
    item = _mistake_picker_ui(page, items)
    st.markdown(f"**The notes' version (note {item.note})**" if item.note else "**Consider**")
    st.latex(item.shown)
    st.markdown(item.ask)
    qkey = pkey(page, "m", item.key)
    if item.kind == "choice":
        _choice_ui(page, qkey, item, lesson)
    else:
        _entry_mistake_ui(page, qkey, item, lesson)


def _mistake_picker_ui(page: str, items: list[Mistake]) -> Mistake:
    ss = st.session_state
    key = pkey(page, "mistake")
    if ss.get(key) not in [m.key for m in items]:
        ss[key] = items[0].key
    st.selectbox(
        "Which one",
        [m.key for m in items],
        key=key,
        format_func=lambda k: (
            f"Mistake {BY_KEY[k].number}: {BY_KEY[k].title}"
            if BY_KEY[k].number
            else BY_KEY[k].title
        ),
    )
    return BY_KEY[ss[key]]


def _entry_mistake_ui(page: str, qkey: str, item: Mistake, lesson: str) -> None:
    """The notes' slip in one entry: which terms are wrong (when there are several), then the
    entry typed as it should be."""
    d = _mistake_derivation(item)
    if len(item.terms) > 1:
        _pick_terms_ui(page, qkey, item, lesson)
    sym = d.inputs[item.grad][item.idx]
    question_ui(
        page,
        qkey,
        title="Type the entry as it should be",
        lhs=rf"\frac{{\partial {d.loss}}}{{\partial {sp.latex(sym)}}}",
        expected=d.grads[item.grad][item.idx],
        part=d,
        lesson=lesson,
        note="",
        hint_list=hints(d, item.grad, item.idx),
    )
    if attempt(qkey).solved:
        st.info(item.why, icon=":material/lightbulb:")


def _pick_terms_ui(page: str, qkey: str, item: Mistake, lesson: str) -> None:
    pick = pkey(page, "m", item.key, "pick")
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
    verdict = st.session_state.get(f"{qkey}/pickverdict")
    if verdict is not None:
        (st.success if verdict[0] else st.error)(verdict[1])


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
    if picked:  # the message names no term: a right pick after a wrong one still scores
        state = _scored(f"{qkey}/pickscore")
        score_check(ss, page, lesson, state, tuple(sorted(picked)), ok, False)
        state.solved = state.solved or ok
    ss[f"{qkey}/pickverdict"] = (ok, msg)


def _scored(key: str) -> Attempt:
    """The scoring state of a question that is not typed (a pick, a choice)."""
    ss = st.session_state
    if not isinstance(ss.get(key), Attempt):
        ss[key] = Attempt()
    return ss[key]


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
    # a wrong choice is told the right one: picking it next is solved with help
    state = _scored(f"{qkey}/choicescore")
    counted = score_check(ss, page, lesson, state, int(choice), ok, True)
    state.solved = state.solved or ok
    helped = " (Solved with help: the last check named it.)" if counted == "helped" else ""
    ss[f"{qkey}/verdict"] = (
        ok,
        ("Right. " if ok else f"Not quite: it is {item.choices[item.answer]}. ")
        + item.why
        + helped,
    )
