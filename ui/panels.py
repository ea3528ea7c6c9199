"""The parts of a lesson page below its settings: the step-through derivation beside the same
matrices with numbers (and, on a pattern step, the pattern worked through with them), the
"which cells fed it?" explorer, the verification table and the downloads. Each ``*_ui``
function draws from values it is given; the state logic it needs is in ``ui.state``, the sizes
in ``ui.layout``."""

from __future__ import annotations

import io
from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

from derivations.export import to_latex, to_markdown
from derivations.typeset import num
from ui import explain, links, urlstate, verify
from ui.components import reported
from ui.figures import Fig, figures_ui
from ui.layout import STEP_SPLIT, WIDTH_KEY, Layout, presenter_switched
from ui.pattern_panel import pattern_ui
from ui.state import Keys, cell_token, moved, reroll, step_for


def _step(keys: Keys, delta: int, n: int) -> None:
    st.session_state[keys.step] = moved(st.session_state.get(keys.step, 0), delta, n)


def _presenter_switched(keys: Keys) -> None:
    ss = st.session_state
    if WIDTH_KEY in ss:
        ss[WIDTH_KEY] = presenter_switched(ss[WIDTH_KEY], bool(ss.get(keys.presenter)))


def _nav_ui(keys: Keys, i: int, n: int) -> bool:
    """Previous / Next (also the ← and → keys) / progress / show all / presenter mode, in one
    line that wraps on a narrow window; returns whether every step is shown."""
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        # fixed widths: beside a stretching progress bar, content-wide buttons got squeezed
        # to "◀ P…"; the shortcut's arrow is drawn in the button too
        for label, delta, key, end, shortcut, px in (
            ("◀ Previous", -1, "prev", 0, "Left", 136),
            ("Next ▶", 1, "next", n - 1, "Right", 104),
        ):
            st.button(
                label,
                key=f"{keys.page}/{key}",
                on_click=_step,
                args=(keys, delta, n),
                disabled=i == end,
                shortcut=shortcut,
                width=px,
            )
        st.progress((i + 1) / n, text=f"Step {i + 1} of {n}")
        show_all = st.toggle("Show all steps", key=f"{keys.page}/all")
        st.toggle(
            "Presenter mode",
            key=keys.presenter,
            on_change=_presenter_switched,
            args=(keys,),
            help="For a projector: formulas across the whole width in a large font, the "
            "sidebar hidden. The link keeps it (presenter=1).",
        )
    return show_all


@st.fragment
def steps_ui(keys: Keys, d, numbers: dict, layout: Layout, extra: dict) -> None:
    """The step (or every step), each beside its matrices with numbers; ``extra`` holds what
    only some lessons show (their own panels, the patterns' operands).

    A fragment: Next, Previous, "Show all steps" and a pattern's pick rerun only this, not the
    sidebar, practice and explorer above and below it, which a step does not change. In a
    lecture of 30 the whole page's rerun per Next kept the one serving process busier than it
    could keep up with. The page is laid out for one width and presenter mode: after the
    browser measured a new width, or presenter mode was switched, it reruns whole."""
    ss = st.session_state
    laid_out = Layout(ss.get(WIDTH_KEY, layout.main), bool(ss.get(keys.presenter)))
    if laid_out != layout:
        st.rerun(scope="app")
    titles = [s.title for s in d.steps]
    ss[keys.step] = step_for(ss.get(keys.titles), titles, ss.get(keys.step, 0))
    ss[keys.titles] = titles
    i = ss[keys.step]
    link = urlstate.with_step(ss.get(keys.query), st.query_params.to_dict(), i)
    if st.query_params.to_dict() != link:  # the link follows the step at once
        st.query_params.from_dict(link)
    show_all = _nav_ui(keys, i, len(titles))
    for j in range(len(titles)) if show_all else [i]:
        _one_step_ui(keys, d, j, numbers, layout, extra)
        if show_all:
            st.divider()


def _one_step_ui(keys: Keys, d, j: int, numbers, layout: Layout, extra: dict) -> None:
    s = d.steps[j]
    if layout.presenter:  # the formula gets the whole width, the numbers go below it
        sym, num_col = st.container(), st.container()
    else:
        sym, num_col = st.columns(list(STEP_SPLIT), gap="medium")
    with sym:
        badge = (
            " :material/verified:"
            if s.proven
            else (" :material/warning:" if s.kind == "mistake" else "")
        )
        st.subheader(f"{j + 1}. {s.title}{badge}")
        st.latex(s.latex)
        st.markdown(s.text)
        if s.proven:
            st.caption("✓ sympy checked this pattern entry by entry for these sizes.")
    with num_col:
        _focus_ui(keys, d, s, numbers, j, layout, extra)
    pattern_ui(keys, d, j, numbers, layout, extra)


def focus_keys(d, step, extras=()) -> list[str]:
    """The matrices that show a step's quantity with numbers: the input and its gradient (with
    the lesson's own panels between, such as softmax's p), or for the forward steps the
    (first) input and the output."""
    if step.shows:  # the lesson chose them (batch norm's X̂, attention's S, a network's A⁽¹⁾)
        return list(step.shows)
    f = step.focus
    if f in d.inputs:
        if step.kind == "setup":
            return [f, *list(extras)[:1]]
        return [f, *extras, f"d:{f}"]
    if step.kind in ("setup", "forward"):
        return [next(iter(d.inputs)), "out"]
    return ["out", "up"]


def _labels(d, key):
    rows, cols = links.shape_of(d, key)
    return [[links.cell_label(d, key, (r, c)) for c in range(cols)] for r in range(rows)]


def _focus_ui(keys: Keys, d, step, numbers, j, layout: Layout, extra: dict) -> None:
    st.markdown("**With your numbers**")
    panels = dict(links.panels(d))
    own = {k: (title, labels) for k, title, labels, _ in extra.get("panels", [])}
    figs = []
    for key in focus_keys(d, step, own):
        title, labels = own.get(key) or (panels[key], _labels(d, key))
        figs.append(Fig(f"{keys.page}/focus/{j}/{key}", numbers[key], title, labels))
    figures_ui(figs, layout, budget=140, room=layout.focus_px, gap="small")
    if "p-y" in own and step.focus in d.inputs and step.kind != "setup":  # softmax's p
        g = float(np.asarray(numbers["up"]).ravel()[0])
        st.latex(
            rf"\frac{{\partial {d.loss}}}{{\partial {step.focus}}} = ({num(g)}) \cdot "
            r"\left(p - \mathrm{onehot}(y)\right)"
        )


def _pick(keys: Keys, choice_key: str) -> None:
    st.session_state[keys.pick] = st.session_state[choice_key]


def explorer_ui(keys: Keys, d, numbers, values, upstream, layout: Layout) -> None:
    st.divider()
    st.subheader("Which cells fed it?")
    st.caption(
        "Click any cell of any matrix below, or pick one here: the cells it depends on or "
        "feeds light up, and its chain-rule sum is written out with your numbers."
    )
    labels = {f"{k}|{r},{c}": links.cell_label(d, k, (r, c)) for k, (r, c) in links.all_cells(d)}
    if st.session_state.get(keys.pick) not in labels:
        st.session_state[keys.pick] = next(iter(labels))
    choice_key = f"{keys.page}/pickbox"
    st.session_state[choice_key] = st.session_state[keys.pick]
    st.selectbox(
        "Explain a cell",
        list(labels),
        format_func=labels.get,
        key=choice_key,
        on_change=_pick,
        args=(keys, choice_key),
    )
    key, rc = st.session_state[keys.pick].split("|")
    idx = tuple(int(v) for v in rc.split(","))
    _explain(d, key, idx, values, upstream, numbers, layout)
    _grid_ui(keys, d, numbers, key, idx, layout)


def _grid_ui(keys: Keys, d, numbers, key, idx, layout: Layout) -> None:
    """Every matrix of the lesson, as many to a line as fit, the picked cell's links
    highlighted; a click on any cell picks it."""
    marks = links.highlights(d, key, idx)
    figs = [
        Fig(
            f"{keys.page}/grid/{k}",
            numbers[k],
            title,
            _labels(d, k),
            highlight=marks.get(k, []),
            selected=idx if k == key else None,
            on_click=partial(_clicked, keys, k, links.shape_of(d, k)),
        )
        for k, title in links.panels(d)
    ]
    figures_ui(figs, layout, budget=330, room=layout.main)


def _clicked(keys: Keys, k: str, shape) -> None:
    """A click on a cell picks it (every click is a new event: the same cell again too)."""
    token = cell_token(k, reported(f"{keys.page}/grid/{k}", "cell"), shape)
    if token is not None:
        st.session_state[keys.pick] = token


def _explain(d, key, idx, values, upstream, numbers, layout: Layout) -> None:
    width = layout.full_units
    if key in links.network(d):
        st.latex(explain.panel_latex(d, key, idx, numbers, width=width))
    elif key.startswith("d:"):
        tex, why = explain.gradient_latex(d, key[2:], idx, values, upstream, width=width)
        st.latex(tex)
        if why:
            st.caption(why)
    elif key in ("out", "up"):
        st.latex(explain.output_latex(d, idx, numbers, width=width))
        note = explain.output_note(d, idx)
        if note:
            st.caption(note)
    else:
        st.markdown(explain.input_sentence(d, key, idx, numbers))


def verification_ui(keys: Keys, rows) -> None:
    st.divider()
    ok = verify.passed(rows)
    st.subheader(
        "Verification: "
        + (":green[:material/check_circle: pass]" if ok else ":red[:material/cancel: fail]")
    )
    st.caption(
        "The same gradient computed independently: the symbolic derivation with your numbers "
        "put in, the numpy engine's backward pass, central finite differences of the engine's "
        "forward pass" + (", and PyTorch's autograd." if len(rows) > 3 else ".")
    )
    table = pd.DataFrame(
        [
            {
                "method": r.method,
                "largest |difference| from symbolic": "—"
                if r.max_abs_diff is None
                else f"{r.max_abs_diff:.2e}",
                "verdict": {True: "pass", False: "FAIL", None: "n/a"}[r.ok],
                "note": r.note,
            }
            for r in rows
        ]
    )
    st.markdown(verify.markdown_table(table))
    st.button(
        ":material/casino: Re-roll the numbers and verify again",
        key=f"{keys.page}/reverify",
        on_click=reroll,
        args=(st.session_state, keys),
    )


def _arrays(d, numbers) -> tuple[bytes, str]:
    titles = dict(links.panels(d))
    name = {k: titles.get(k, k) for k in numbers}
    buf = io.BytesIO()
    np.savez(buf, **{name[k].replace("∂", "d").replace("/", "_"): v for k, v in numbers.items()})
    csv = io.StringIO()
    for k, v in numbers.items():
        csv.write(f"# {name[k]}\n")
        # + 0.0 turns −0.0 (a product with a zero) into 0: "-0" beside the page's 0 looked wrong
        np.savetxt(csv, np.atleast_2d(v) + 0.0, delimiter=",", fmt="%.10g")
    return buf.getvalue(), csv.getvalue()


def downloads_ui(keys: Keys, spec, d, numbers) -> None:
    """The derivation and the arrays, each made only when its button is clicked."""
    st.divider()
    st.subheader("Take it with you")
    cols = st.columns(4)
    name, page = spec.name, keys.page
    files = (
        ("Derivation (Markdown)", partial(to_markdown, d), "md", "text/markdown"),
        ("Derivation (LaTeX)", partial(to_latex, d), "tex", "application/x-tex"),
        ("Arrays (.npz)", lambda: _arrays(d, numbers)[0], "npz", "application/octet-stream"),
        ("Arrays (CSV)", lambda: _arrays(d, numbers)[1], "csv", "text/csv"),
    )
    for col, (label, data, ext, mime) in zip(cols, files, strict=True):
        col.download_button(
            label, data, f"{name}.{ext}", mime, key=f"{page}/dl/{ext}", on_click="ignore"
        )
