"""Practice on the computational graph: "what is this node's gradient?", typed as a number or
as a formula in the expression's names, with the lessons' feedback machinery.

- The box's text goes first through the practice box's own checks (``check_text``), so what
  the lessons' boxes refuse is refused here with the same message, at once.
- A number (no names) is compared with the graph's gradient to the 4 decimals the graph
  shows. Its value comes from ``expression_graph``, which reads number parts as the practice
  box does, bounded.
- A formula is checked by ``derivations.check_answer`` against ∂o/∂node as a sympy
  expression, built from the graph in the worker process under a deadline
  (``mathtext.graph_symbolic``); the names map to symbols of a fixed pattern, never made
  from the text. The preview ("Read as") comes from the worker too.
- Hints walk the chain rule for that node with the graph's numbers; once the answer is shown,
  checks no longer count. The score joins the lessons' (``ui.practice_model``).
"""

from __future__ import annotations

import hashlib
import math

import streamlit as st

from grading import check_answer
from mathtext.grammar import FUNCTIONS
from mathtext.graph import expression_graph
from mathtext.graph_steps import consumers
from mathtext.graph_symbolic import in_names, name_latex, name_symbols, structure
from mathtext.graph_text import num, rule, text
from mathtext.parse import check_text, preview
from ui.graph_chart import chart_ui
from ui.graph_dot import question_view
from ui.practice_model import (
    SCORED,
    Hint,
    lesson_score,
    md_safe,
    overall_score,
    pkey,
    record,
)
from ui.practice_question import attempt
from workers import worker

P = "graph"
LESSON = "Computational graph"
CHECK_SECONDS = 1.5  # check_answer's own default
BUILD_SECONDS = 2.0  # building the expected formula in the worker
NUMBER_TOL = 1e-4  # a typed number: right to the 4 decimals the graph shows
SIGNIFICANT_TOL = 5.001e-4  # … or to its 4 significant digits, where it writes 4.54·10⁻⁵
BUSY = "the answer checker is busy or starting up: press Check again in a moment"
TOO_LONG = (
    "this node's gradient is too long a formula to check here in time: type its value instead "
    "(a number)"
)
NO_FORMULA = "this node's gradient could not be written as a formula here: type its value instead"


def askable(g) -> list[int]:
    """The nodes worth asking about: not the output (its gradient is 1 by definition), not a
    constant, and with a finite gradient."""
    return [n.id for n in g.nodes if n.id != g.output and n.op != "const" and math.isfinite(n.grad)]


def signature(g) -> str:
    """One graph at one set of numbers: its questions' state is kept under this."""
    raw = repr((g.text, sorted(g.values.items())))
    return hashlib.sha1(raw.encode()).hexdigest()[:12]


def number_verdict(typed: float, grad: float) -> tuple[bool, str]:
    """A typed number against the graph's gradient, to the digits the graph shows (``num``):
    4 decimals, and 4 significant digits where it writes a power of ten (below 10⁻⁴, where 4
    decimals would take a gradient of 4.5·10⁻⁵ to be 0, and from 10⁶)."""
    tol = NUMBER_TOL * max(1.0, abs(grad))
    if grad != 0 and not 1e-4 <= abs(grad) < 1e6:
        tol = SIGNIFICANT_TOL * abs(grad)  # half the last digit of a mantissa of 1 to 10
    if abs(typed - grad) <= tol:
        exact = "" if typed == grad else f" (exactly {grad!r})"
        return True, f"Correct: {text(grad)}{exact}."
    return False, (
        f"Not quite: you have {text(typed)}. Multiply each user's local derivative by that "
        "user's gradient, and add over every use."
    )


def hints(g, asked: int) -> list[Hint]:
    """The chain rule for one node with the graph's numbers, one step per hint."""
    n = g.nodes[asked]
    uses = consumers(g, asked)
    users = "; ".join(
        f"`{g.nodes[i].label}` ({g.nodes[i].op}), whose gradient is {text(g.nodes[i].grad)}"
        for i, _ in uses
    )
    locals_ = [rule(g, i, s) for i, s in uses]
    terms = [f"{_f(g.nodes[i].local[s])} \\times {_f(g.nodes[i].grad)}" for i, s in uses]
    return [
        Hint(
            "The chain rule on a graph",
            r"\frac{\partial o}{\partial\,\text{node}} = \sum_{\text{its users}} "
            r"\frac{\partial\,\text{user}}{\partial\,\text{node}} \cdot "
            r"\frac{\partial o}{\partial\,\text{user}}",
            f"`{n.label}` reaches the output only through the nodes that use it: add, over "
            "every use, that node's local derivative times its own gradient.",
        ),
        Hint(
            "Which nodes use it",
            r"\frac{\partial o}{\partial\,\text{user}} = "
            + r",\; ".join(num(g.nodes[i].grad) for i, _ in uses),
            f"`{n.label}` is used by: {users}.",
        ),
        Hint(
            "The local derivatives",
            r"\begin{aligned} " + r" \\ ".join(f"& {x}" for x in locals_) + r" \end{aligned}",
            "Each user's derivative with respect to this input (α is the input; α and β the "
            "first and second input of a two-input operation).",
        ),
        Hint(
            "The answer",
            " + ".join(terms) + f" = {num(n.grad)}",
            "Each use's local derivative × its user's gradient, added. Now that the answer "
            "is shown, checking this node no longer counts toward the score.",
        ),
    ]


def _f(v: float) -> str:
    s = num(v)
    return f"({s})" if s.startswith("-") else s


# ---------------------------------------------------------------- drawing (Streamlit)


@st.fragment
def practice_ui(g, steps, room: float) -> None:
    """The practice section; its graph has ``room`` px (the page column's, less the
    expander's margins). A fragment, as on the lessons: an answer and its Check rerun only
    this."""
    box = st.expander(":material/edit: Practice: your turn", key=pkey(P, "open"), on_change="rerun")
    with box:
        if not box.open:  # its graph is laid out in the browser: only when it is seen
            return
        c, a = lesson_score(st.session_state, P, LESSON)
        tc, ta = overall_score(st.session_state)
        st.caption(
            f":material/scoreboard: Score — {LESSON}: **{c} / {a}** correct · all lessons "
            f"this session: **{tc} / {ta}**"
        )
        options = askable(g)
        if not options:
            st.info(
                "There is no node to ask about here: the output's gradient is 1 by definition "
                "and a number's is not asked. Give the expression an operation on a name, such "
                "as x*x.",
                icon=":material/info:",
            )
            return
        worker.warm_up()  # a question is on show: the first check should not wait
        asked = _pick_ui(g, options)
        _question_ui(g, asked, options, room)


def _pick_ui(g, options: list[int]) -> int:
    ss = st.session_state
    key = pkey(P, "node")
    if ss.get(key) not in options:
        names = [i for i in options if g.nodes[i].op == "input"]
        ss[key] = (names or options)[0]
    st.selectbox(
        "Which node",
        options,
        key=key,
        format_func=lambda i: f"{g.nodes[i].label}  ({g.nodes[i].op})",
    )
    return ss[key]


def _next_node(options: list[int]) -> None:
    ss = st.session_state
    key = pkey(P, "node")
    k = options.index(ss[key]) if ss.get(key) in options else -1
    ss[key] = options[(k + 1) % len(options)]


def _question_ui(g, asked: int, options: list[int], room: float) -> None:
    n = g.nodes[asked]
    qkey = pkey(P, "q", signature(g), asked)
    att = attempt(qkey)
    above = {i for i in range(len(g.nodes)) if i > asked}
    chart_ui(g, question_view(g, asked, above), room, "graph-question", pkey(P, "fit"))
    left, right = st.columns([3, 2], gap="medium")
    with left:
        st.markdown(
            f"**What is the gradient of `{n.label}`?**"
            + (" :green[:material/check_circle: solved]" if att.solved else "")
        )
        st.latex(rf"\frac{{\partial o}}{{\partial {_symbol(n)}}} = \;?")
        box = st.text_input(
            "Your answer",
            key=f"{qkey}/answer",
            placeholder="a number such as -1.5, or a formula in the names",
            help="Press Enter to see how it was read, then Check.",
        )
        _buttons_ui(g, asked, qkey, att, options)
        _preview_ui(g, att, box)
        _verdict_ui(att)
    with right:
        st.markdown("**Names you can use**")
        st.markdown(", ".join(f"`{name}`" for name in g.names))
        st.caption(
            "A number (the graph above shows the gradients the nodes that use it get), or "
            "a formula in the names: functions " + ", ".join(FUNCTIONS) + "; conditions "
            "such as `[x > 0]` are 1 where they hold and 0 elsewhere."
        )
    for k, h in enumerate(hints(g, asked)[: att.hints]):
        st.markdown(f"**Hint {k + 1} of 4: {h.title}**")
        st.latex(h.latex)
        st.caption(h.text)


def _symbol(n) -> str:
    """How the question writes the node: a name as the preview writes it (x_{1}), any other
    node as "node" (its label, typed text, stays out of the formula)."""
    return name_latex(n.label) if n.op == "input" else r"\,\text{node}"


def _buttons_ui(g, asked: int, qkey: str, att, options: list[int]) -> None:
    b = st.columns(3)
    b[0].button(
        "Check", key=f"{qkey}/check", type="primary", on_click=_check, args=(g, asked, qkey),
        width="stretch",
    )  # fmt: skip
    b[1].button(
        ":material/lightbulb: Hint", key=f"{qkey}/hint", on_click=_more_hints, args=(qkey,),
        disabled=att.hints >= 4, width="stretch",
    )  # fmt: skip
    b[2].button(
        "Next question ▶", key=f"{qkey}/next", on_click=_next_node, args=(options,),
        width="stretch",
    )  # fmt: skip


def _more_hints(qkey: str) -> None:
    att = attempt(qkey)
    att.hints = min(att.hints + 1, 4)
    if att.hints == 4:
        att.revealed = True  # the answer is out: later checks are not scored


def _symbols(g) -> dict:
    return name_symbols(g.names)


def _preview_ui(g, att, box: str) -> None:
    """How the box was read, from the worker, before (or without) a check."""
    box = (box or "").strip()
    if not box:
        return
    if att.preview is None or att.preview[0] != box:
        try:
            tex = in_names(preview(box, _symbols(g), timeout=CHECK_SECONDS), g.names)
            att.preview = (box, tex, "")
        except (ValueError, RuntimeError) as exc:  # the learner's message; the worker's own
            att.preview = (box, "", str(exc))
    _, tex, error = att.preview
    if error:
        st.warning(md_safe(error), icon=":material/edit_off:")
    elif tex:
        st.caption("Read as:")
        st.latex(tex)


def _verdict_ui(att) -> None:
    if att.verdict is None:
        return
    correct, message, _, method = att.verdict
    if correct:
        st.success(md_safe(message), icon=":material/check_circle:")
    elif method in SCORED or method == "undecided":
        st.error(md_safe(message), icon=":material/cancel:")
    else:
        st.warning(md_safe(message), icon=":material/edit_off:")


def verdict(g, asked: int, box: str) -> tuple[bool, str, str, str]:
    """(correct, message, LaTeX of the answer, how it was decided) for the box's text."""
    names = _symbols(g)
    grad = g.nodes[asked].grad
    try:
        checked = check_text(box, names)  # the practice box's own checks and messages
    except ValueError as exc:
        return False, str(exc), "", "unparsed"
    if not checked.used:  # a number
        try:
            typed = expression_graph(box, {}).nodes[-1].value
        except ValueError as exc:
            return False, str(exc), "", "unparsed"
        ok, message = number_verdict(typed, grad)
        return ok, message, "", "numeric" if ok else "different"
    try:
        expected = _expected(g, asked)
    except worker.Timeout as exc:
        busy = exc.reason in ("busy", "starting")
        return False, BUSY if busy else TOO_LONG, "", "busy" if busy else "too complex"
    except (RuntimeError, ValueError):
        return False, NO_FORMULA, "", "error"
    fb = check_answer(box, expected, names, timeout=CHECK_SECONDS)
    message = fb.message
    if not fb.correct and fb.method in SCORED:
        message += _at_these_numbers(g, box, checked.used, grad)
    return fb.correct, message, in_names(fb.latex, g.names), fb.method


def _expected(g, asked: int):
    """∂o/∂node as sympy, built in the worker once per graph and node (kept in the session)."""
    ss = st.session_state
    key = pkey(P, "expected", signature(g), asked)
    if key not in ss:
        ss[key] = worker.run(
            "graph_gradient", structure(g), asked, list(_symbols(g).values()),
            timeout=BUILD_SECONDS,
        )  # fmt: skip
    return ss[key]


def _at_these_numbers(g, box: str, used, grad: float) -> str:
    """What the typed formula gives at the graph's numbers, beside the graph's gradient."""
    try:
        mine = expression_graph(box, {n: g.values[n] for n in used}).nodes[-1].value
    except ValueError:
        return ""
    return (
        f" At these numbers your formula gives {text(mine)}; the graph's gradient is {text(grad)}."
    )


def _check(g, asked: int, qkey: str) -> None:
    ss = st.session_state
    att = attempt(qkey)
    box = str(ss.get(f"{qkey}/answer", "") or "")
    correct, message, tex, method = verdict(g, asked, box)
    att.verdict = (correct, message, tex, method)
    # the check's own reading stands for the preview (none when the text did not read as a
    # formula: the verdict says why), as on the lessons
    att.preview = (box.strip(), tex, "")
    if method in SCORED and not att.solved and not att.revealed:
        record(ss, P, LESSON, correct)
    if correct:
        att.solved = True
