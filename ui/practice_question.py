"""One typed practice question on the page: the box, the preview of what was understood,
Check / Hint / Next, the verdict, the names that can be typed, the hints shown so far. Drawn by
``ui.practice`` for a gradient entry and for a notes' mistake alike.

The answer is parsed and checked by ``derivations.check_answer`` in the worker process (never
eval'd or sympified here), and so is the preview (``mathtext.parse.preview``)."""

from __future__ import annotations

import streamlit as st

from grading import check_answer, names_for
from mathtext.grammar import FUNCTIONS
from mathtext.parse import preview
from ui.practice_model import (
    SCORED,
    Attempt,
    md_safe,
    names_help,
    names_the_fix,
    placeholder,
    score_check,
    tip,
)

CHECK_SECONDS = 1.5  # check_answer's own default
PREVIEW_SECONDS = 1.5
HELPED = {  # why a right answer counts as solved with help rather than correct
    True: " It counts as solved with help: the last hint showed the answer.",
    False: " It counts as solved with help, as a revealed answer does: the feedback before "
    "named the fix.",
}


def attempt(qkey: str) -> Attempt:
    """The question's state in the session, made on first use."""
    ss = st.session_state
    if not isinstance(ss.get(qkey), Attempt):
        ss[qkey] = Attempt()
    return ss[qkey]


def question_ui(
    page, qkey, *, title, lhs, expected, part, lesson, note, hint_list, on_next=None, next_args=()
):
    """One typed question: the box, the preview, Check / Hint / Next, the verdict, the names.
    ``on_next(*next_args)`` moves on to the next question; without it there is no Next."""
    att = attempt(qkey)
    names = names_for(part)
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
            key=f"{qkey}/answer",
            placeholder=placeholder(part, names),
            help="Press Enter to see how it was read, then Check.",
        )
        check_args = (page, qkey, expected, names, lesson)
        _buttons_ui(qkey, att, len(hint_list), check_args, on_next, next_args)
        _preview_ui(att, text, names)
        _verdict_ui(att)
    with right:
        _names_ui(part, names)
    for k, h in enumerate(hint_list[: att.hints]):
        st.markdown(f"**Hint {k + 1} of {len(hint_list)}: {h.title}**")
        st.latex(h.latex)
        st.caption(h.text)


def _buttons_ui(qkey, att: Attempt, n_hints: int, check_args, on_next, next_args) -> None:
    b = st.columns(3)
    b[0].button(
        "Check",
        key=f"{qkey}/check",
        type="primary",
        on_click=_check,
        args=check_args,
        width="stretch",
    )
    b[1].button(
        ":material/lightbulb: Hint",
        key=f"{qkey}/hint",
        on_click=_more_hints,
        args=(qkey, n_hints),
        disabled=att.hints >= n_hints,
        width="stretch",
    )
    if on_next is not None:
        b[2].button(
            "Next question ▶",
            key=f"{qkey}/next",
            on_click=on_next,
            args=next_args,
            width="stretch",
        )


def _names_ui(part, names: dict) -> None:
    st.markdown("**Names you can use**")
    st.markdown("\n".join(f"- {line}" for line in names_help(part, names)))
    st.caption(
        "Functions: " + ", ".join(FUNCTIONS) + ". Conditions such as `[x11 > 0]` are 1 "
        "where they hold and 0 elsewhere. Multiply with `*`, powers with `^` or `**`."
    )
    if tip(part):
        st.caption(tip(part))


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
    if correct:
        st.success(md_safe(message), icon=":material/check_circle:")
    elif method in SCORED:
        st.error(md_safe(message), icon=":material/cancel:")
    elif method == "undecided":  # no verdict on the maths, so no red: what to do instead
        st.info(md_safe(message), icon=":material/help:")
    else:
        st.warning(md_safe(message), icon=":material/edit_off:")


def _check(page: str, qkey: str, expected, names: dict, lesson: str) -> None:
    ss = st.session_state
    att = attempt(qkey)
    text = str(ss.get(f"{qkey}/answer", "") or "")
    fb = check_answer(text, expected, names, timeout=CHECK_SECONDS)
    att.verdict = (fb.correct, fb.message, fb.latex, fb.method)
    att.missing, att.extra = list(fb.missing), list(fb.extra)
    # the check's own reading stands for the preview (none when the text did not read as a
    # formula: the verdict says why), so the worker is not asked again for the same text
    att.preview = (text.strip(), fb.latex, "")
    if fb.method in SCORED:
        counted = score_check(
            ss, page, lesson, att, fb.latex or text.strip(), fb.correct, names_the_fix(fb, expected)
        )
        if counted == "helped":
            att.verdict = (fb.correct, fb.message + HELPED[att.revealed], fb.latex, fb.method)
        elif not counted and not fb.correct and not att.revealed and not att.told:
            att.verdict = (
                fb.correct,
                fb.message + " (Checked before: it counts once.)",
                *att.verdict[2:],
            )
    if fb.correct:
        att.solved = True


def _more_hints(qkey: str, n: int) -> None:
    att = attempt(qkey)
    att.hints = min(att.hints + 1, n)
    if att.hints == n:
        att.revealed = True  # the answer is out: later checks of it are not scored
