"""The "Computational graph" page: any expression typed in the sidebar drawn as micrograd draws
it, then backpropagated one node at a time (Next / Previous, ← / →), each step written out
beside the graph; the gradients checked against finite differences and PyTorch; links to the
lessons that show the same numbers as matrices; practice.

A page script calls ``graph_page(__file__)``. State lives under "graph/…" in the session
(``ui.graph_state`` holds the pure parts: examples, the URL); the text typed is read only by
``derivations.expression_graph`` (the practice box's parser), never run.
"""

from __future__ import annotations

import math

import streamlit as st

from mathtext.graph import expression_graph, expression_names
from mathtext.graph_steps import walk
from ui import graph_bridge, graph_check, graph_practice, graph_state, graph_steps_ui, urlstate
from ui.components import reported, width_probe_ui
from ui.graph_chart import chart_ui
from ui.graph_dot import View, natural_width, page_dot, received_after, step_view
from ui.layout import GAP, WIDTH_KEY, main_for_window, valid_width
from ui.lesson import guarded
from ui.state import moved
from ui.values import MAX_ABS
from ui.verify import markdown_table
from ui.widgets import ignored_ui

P = "graph"
EXPR, EXAMPLE, STEP = f"{P}/expr", f"{P}/example", f"{P}/step"
INIT, NOTICES = f"{P}/init", f"{P}/notices"  # the link read once, and what did not fit
KNOWN = f"{P}/known"  # every name's last number, kept while a name is out of the expression
LAST = f"{P}/last"  # the last (text, values) that made a graph
SHAPE, SIDE = f"{P}/shape", f"{P}/side"  # the graph's structure and layout, last run
LINK = f"{P}/link"  # the link the last whole run wrote (a step rewrites its step)
PROBE = f"{P}/probe"
WRITE_UP_PX = 340  # the narrowest column the step's write-up reads well in
MIN_SCALE = 0.85  # beside the write-up, the graph may shrink this far and no further
EXPANDER_PX = 34  # an expander's borders and padding, both sides
CHART = "graph-chart"  # the chart's container key (its CSS class is st-key-graph-chart)
FIT = f"{P}/fit"

INTRO = (
    "Type any expression: every operation becomes a node holding its value (data) and "
    "∂o/∂node (grad), where o is the output, as micrograd draws it. Then step backward one "
    "node at a time: each visit multiplies its local derivative by its own gradient and adds "
    "the result into its inputs' gradients. Your text is parsed, never run as code."
)


def value_key(name: str) -> str:
    return f"{P}/v/{name}"


@st.cache_resource(max_entries=64, show_spinner=False)
def _graph(text: str, values: tuple):
    """The graph and its walk, shared by every session (both are immutable)."""
    g = expression_graph(text, dict(values))
    return g, walk(g)


@st.cache_data(max_entries=256, show_spinner=False)
def _names(text: str) -> tuple[str, ...]:
    return expression_names(text)


def graph_page(script: str) -> None:
    guarded(script, lambda page: _page())


def _first_visit() -> None:
    """Once per session: the link's expression, values and step (else the first example)."""
    ss = st.session_state
    if INIT in ss:
        return
    ss[INIT] = True
    got, notices = graph_state.decode(dict(st.query_params))
    ss[EXPR] = got.get("expr", graph_state.DEFAULT.text)
    example = graph_state.example_of(ss[EXPR])
    ss[KNOWN] = {**(example.values if example else {}), **got.get("values", {})}
    ss[STEP] = got.get("step", 0)
    ss[NOTICES] = notices


def _apply_example() -> None:
    ss = st.session_state
    example = graph_state.BY_KEY.get(ss.get(EXAMPLE))
    if example is None:
        return
    ss[EXPR] = example.text
    ss[KNOWN] = {**ss.get(KNOWN, {}), **example.values}
    for name, v in example.values.items():
        ss[value_key(name)] = v
    ss[STEP] = 0


def _settings_ui() -> tuple[str, dict, str]:
    """The sidebar: an example to start from, the expression, a number per name. Returns the
    text, the values and the message for text that cannot be read ('' when it can)."""
    ss = st.session_state
    with st.sidebar:
        st.header("Settings")
        now = graph_state.example_of(ss.get(EXPR, ""))
        ss[EXAMPLE] = now.key if now else None
        st.selectbox(
            "Examples",
            [e.key for e in graph_state.EXAMPLES],
            key=EXAMPLE,
            index=None,
            placeholder="Your own expression",
            format_func=lambda k: graph_state.BY_KEY[k].title,
            on_change=_apply_example,
        )
        text = st.text_input(
            "Expression",
            key=EXPR,
            max_chars=300,
            help="Names (x1, w, bias, …), numbers, + - * / and ** or ^, parentheses, "
            "exp log sin cos tanh sigmoid relu sqrt abs, and conditions such as [x > 0]. "
            "Press Enter to draw it.",
        )
        try:
            names = _names(text)
        except ValueError as exc:
            return text, {}, str(exc)
        return text, _values_ui(names), ""


def _values_ui(names: tuple[str, ...]) -> dict:
    """A number input per name, starting from the number it had (an example's, a link's, or
    one typed for it before), else from graph_state.STARTS."""
    ss = st.session_state
    known = ss.setdefault(KNOWN, {})
    if names:
        st.markdown("**Values**")
    fresh = 0
    values = {}
    for name in names:
        if value_key(name) not in ss:
            if name not in known:
                known[name] = graph_state.start_value(fresh)
                fresh += 1
            ss[value_key(name)] = float(known[name])
        values[name] = float(
            st.number_input(
                name, key=value_key(name), min_value=-MAX_ABS, max_value=MAX_ABS,
                step=0.1, format="%.6g",
            )
        )  # fmt: skip
        known[name] = values[name]
    return values


def _build(text: str, values: dict, problem: str):
    """The graph and its walk, or the last that worked with the message saying why not."""
    ss = st.session_state
    if not problem:
        try:
            g, steps = _graph(text, tuple(values.items()))
            ss[LAST] = (text, tuple(values.items()))
            return g, steps, ""
        except ValueError as exc:
            problem = str(exc)
    last = ss.get(LAST) or (graph_state.DEFAULT.text, tuple(graph_state.DEFAULT.values.items()))
    g, steps = _graph(*last)
    return g, steps, problem


def _page() -> None:
    _first_visit()
    ss = st.session_state
    text, values, problem = _settings_ui()
    st.title("Computational graph")
    st.caption(INTRO)
    ignored_ui(ss.pop(NOTICES, []))
    g, steps, problem = _build(text, values, problem)
    if problem:
        st.error(
            f"{problem}\n\nThe graph below still shows the last expression and values that "
            "worked; your text and numbers are kept.",
            icon=":material/error:",
        )
    shape = tuple((n.op, n.inputs) for n in g.nodes)
    if ss.get(SHAPE) not in (None, shape):
        ss[STEP] = 0  # another expression: start again from the forward pass
    ss[SHAPE] = shape
    if WIDTH_KEY not in ss:
        ss[WIDTH_KEY] = main_for_window(st.context.cookies.get("bpl_window"), False)
    ss[SIDE] = split(natural_width(g), ss[WIDTH_KEY])
    with st.sidebar:
        _probe(g)
    _steps_ui(g, steps)
    _not_finite_ui(g)
    graph_bridge.bridge_ui(g)
    graph_practice.practice_ui(g, steps, ss[WIDTH_KEY] - EXPANDER_PX)
    _verification_ui(g)
    # text that cannot be read has no names to list: the link keeps every number typed, so
    # that the expression, once mended, finds its numbers again
    kept = values if values or not problem else ss.get(KNOWN, {})
    ss[LINK] = link = graph_state.encode(text, kept, ss[STEP])
    st.query_params.from_dict(link)


@st.fragment
def _steps_ui(g, steps) -> None:
    """Previous / Next with the graph and the step's write-up. A fragment: a step reruns only
    this (and the link's step), not the sidebar, the practice and the verification below."""
    ss = st.session_state
    ss[STEP] = k = min(max(int(ss.get(STEP, 0)), 0), len(steps) - 1)
    link = urlstate.with_step(ss.get(LINK), st.query_params.to_dict(), k)
    if st.query_params.to_dict() != link:  # the link follows the step at once
        st.query_params.from_dict(link)
    _nav_ui(k, len(steps))
    _graph_and_step_ui(g, steps, k)


def _step(delta: int, n: int) -> None:
    st.session_state[STEP] = moved(st.session_state.get(STEP, 0), delta, n)


def _nav_ui(k: int, n: int) -> None:
    """Previous / Next (the ← and → keys too) and where we are, as on the lessons."""
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        for label, delta, key, end, shortcut, px in (
            ("◀ Previous", -1, "prev", 0, "Left", 136),
            ("Next ▶", 1, "next", n - 1, "Right", 104),
        ):
            st.button(
                label,
                key=f"{P}/{key}",
                on_click=_step,
                args=(delta, n),
                disabled=k == end,
                shortcut=shortcut,
                width=px,
            )
        st.progress((k + 1) / n, text=f"Step {k + 1} of {n}")


def _measured() -> None:
    seen = valid_width(reported(PROBE, "width"))
    if seen:
        st.session_state[WIDTH_KEY] = seen


@st.fragment
def _probe(g) -> None:
    """The page column's width, measured in the browser (as on the lessons): a new width
    reruns only this, and the whole page only if the graph now goes beside the write-up where
    it went above it, or the other way round."""
    ss = st.session_state
    width_probe_ui(ss[WIDTH_KEY], _measured, key=PROBE)
    if SIDE in ss and split(natural_width(g), ss[WIDTH_KEY]) != ss[SIDE]:
        st.rerun(scope="app")


def split(graph_px: float, main: int) -> tuple[float, float] | None:
    """The columns' widths for the graph and the step's write-up side by side, or None where
    they do not both fit (then the write-up goes below the graph, which has the whole width):
    the graph at its own size, or shrunk to MIN_SCALE at most, and WRITE_UP_PX for the text."""
    room = main - GAP - WRITE_UP_PX
    if room <= 0 or graph_px * MIN_SCALE > room:
        return None
    left = min(graph_px, room)
    return left, main - GAP - left


def _graph_and_step_ui(g, steps, k: int) -> None:
    ss = st.session_state
    cols = ss[SIDE]
    st.markdown(graph_steps_ui.summary(g, steps, k))
    view = step_view(g, steps[k], received_after(steps, k))
    example = graph_state.example_of(g.text)
    if cols:
        left, right = st.columns(list(cols), gap="medium")
    else:
        left, right = st.container(), st.container()
    with left:
        chart_ui(g, view, ss[WIDTH_KEY] if cols is None else cols[0], CHART, FIT)
        st.caption(
            "Yellow: the node being visited · green: a gradient just added into · orange: "
            "a gradient still waiting for some of its uses (1 of 2) · grey: not reached yet · "
            "red edges: where the gradient flows back. ⤢ (top right of the graph) shows it "
            "full screen."
        )
        if example is not None and example.beside:
            _beside_ui(g, example)
    with right:
        graph_steps_ui.step_ui(g, steps, k)


def _beside_ui(g, example) -> None:
    """The one-node version of a written-out function at the same numbers (the sigmoid)."""
    try:
        other, other_steps = _graph(example.beside, tuple(g.values.items()))
    except ValueError:
        return
    st.markdown(f"**Beside it: `{example.beside}` as one node**")
    done = other_steps[-1]
    st.graphviz_chart(
        page_dot(other, View(done.grads, done.states, None, frozenset(), None)),
        width="content",
    )
    mine, theirs = g.grads, other.grads
    same = all(graph_check.agree(mine[n], theirs[n], 1e-12) for n in theirs)
    st.caption(
        "Same value and same gradient: "
        + ", ".join(f"∂o/∂{n} = {graph_state.text_of(theirs[n])}" for n in theirs)
        + (" in both." if same else " — they differ here.")
        + " The single node's local derivative σ(x)(1 − σ(x)) does in one step what the "
        "written-out nodes do in five."
    )


def _not_finite_ui(g) -> None:
    """A gradient that is inf or nan, explained: where it starts and why."""
    from mathtext.graph_steps import not_finite
    from mathtext.graph_text import why_not_finite

    bad = [n for n in g.nodes if not math.isfinite(n.grad)]
    if not bad:
        return
    lines = [f"- `{g.nodes[i].label}`: {why_not_finite(g, i, s)}." for i, s in not_finite(g)]
    st.warning(
        "Some gradients are not finite numbers.\n\n"
        + "\n".join(lines)
        + "\n\nTimes the gradient arriving from above, this makes the gradients below it inf "
        "(infinite), or nan (not a number) where inf meets 0 (inf × 0, or inf − inf in a sum). "
        "PyTorch's autograd gives the same; finite differences cannot measure an infinite "
        "slope.",
        icon=":material/warning:",
    )


def _verification_ui(g) -> None:
    st.divider()
    rows = graph_check.verify(g)
    ok = graph_check.passed(rows)
    st.subheader(
        "Verification: "
        + (":green[:material/check_circle: pass]" if ok else ":red[:material/cancel: fail]")
    )
    if not g.names:
        st.caption("The expression has no names: there is no gradient to check.")
        return
    st.caption(
        "Each name's gradient computed independently: the graph's backward pass, central "
        "finite differences of its forward pass"
        + (", and PyTorch's autograd on the same operations." if len(rows) > 2 else ".")
    )
    import pandas as pd

    summary = pd.DataFrame(
        [
            {
                "method": r.method,
                "largest |difference| from the graph": "—"
                if r.max_diff is None
                else f"{r.max_diff:.2e}",
                "verdict": {True: "pass", False: "FAIL", None: "n/a"}[r.ok],
                "note": r.note,
            }
            for r in rows
        ]
    )
    st.markdown(markdown_table(summary))
    per_name = pd.DataFrame(
        [
            {"name": f"`{n}`", **{r.method: graph_state.text_of(r.grads[n]) for r in rows}}
            for n in g.names
        ]
    )
    st.markdown(markdown_table(per_name))
