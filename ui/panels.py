"""The parts of a lesson page below its settings: the step-through derivation beside the same
matrices with numbers, the "which cells fed it?" explorer, the verification table and the
downloads. Each ``*_ui`` function draws from values it is given; the state logic it needs is in
``ui.state``."""

from __future__ import annotations

import io
from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

from derivations.export import to_latex, to_markdown
from ui import explain, links, verify
from ui.layout import FOCUS_PX, FULL_UNITS, GAP, MAIN_WIDTH, STEP_SPLIT
from ui.plots import matrix_figure, natural_width, pack
from ui.state import Keys, click_token, moved, reroll, step_for


def _step(keys: Keys, delta: int, n: int) -> None:
    st.session_state[keys.step] = moved(st.session_state.get(keys.step, 0), delta, n)


def _nav_ui(keys: Keys, i: int, n: int) -> bool:
    """Previous / Next / progress / show-all; returns whether every step is shown."""
    nav = st.columns([1, 1, 3, 2])
    nav[0].button(
        "◀ Previous",
        key=f"{keys.page}/prev",
        on_click=_step,
        args=(keys, -1, n),
        disabled=i == 0,
        width="stretch",
    )
    nav[1].button(
        "Next ▶",
        key=f"{keys.page}/next",
        on_click=_step,
        args=(keys, 1, n),
        disabled=i == n - 1,
        width="stretch",
    )
    nav[2].progress((i + 1) / n, text=f"Step {i + 1} of {n}")
    return nav[3].toggle("Show all steps", key=f"{keys.page}/all")


def steps_ui(keys: Keys, d, numbers: dict) -> None:
    ss = st.session_state
    titles = [s.title for s in d.steps]
    ss[keys.step] = step_for(ss.get(keys.titles), titles, ss.get(keys.step, 0))
    ss[keys.titles] = titles
    i = ss[keys.step]
    show_all = _nav_ui(keys, i, len(titles))
    shown = list(enumerate(d.steps)) if show_all else [(i, d.steps[i])]
    for j, s in shown:
        sym, num = st.columns(list(STEP_SPLIT), gap="medium")
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
        with num:
            _focus_ui(keys, d, s, numbers, j)
        if show_all:
            st.divider()


def focus_keys(d, step) -> list[str]:
    """The two matrices that show a step's quantity with numbers: the input and its gradient,
    or for the forward steps the (first) input and the output."""
    f = step.focus
    if f in d.inputs:
        return [f, f"d:{f}"]
    if step.kind in ("setup", "forward"):
        return [next(iter(d.inputs)), "out"]
    return ["out", "up"]


def _labels(d, key):
    rows, cols = links.shape_of(d, key)
    return [[links.cell_label(d, key, (r, c)) for c in range(cols)] for r in range(rows)]


def _focus_ui(keys: Keys, d, step, numbers, j) -> None:
    st.markdown("**With your numbers**")
    titles = dict(links.panels(d))
    fkeys = focus_keys(d, step)
    # matrices too wide to sit side by side in the focus column go one above the other
    width = int(FOCUS_PX)
    widths = [natural_width(*links.shape_of(d, k), budget=140) for k in fkeys]
    side_by_side = len(pack(widths, width)) == 1
    cols = st.columns(widths) if side_by_side else [st.container() for _ in fkeys]
    for c, key, w in zip(cols, fkeys, widths, strict=True):
        with c:
            fig = matrix_figure(
                numbers[key],
                titles[key],
                _labels(d, key),
                budget=140,
                max_width=max(w, width // len(fkeys)) if side_by_side else width,
            )
            st.plotly_chart(
                fig,
                key=f"{keys.page}/focus/{j}/{key}",
                width="content",
                config={"displayModeBar": False},
            )


def _pick(keys: Keys, choice_key: str) -> None:
    st.session_state[keys.pick] = st.session_state[choice_key]


def explorer_ui(keys: Keys, d, numbers, values, upstream) -> None:
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
    _explain(d, key, idx, values, upstream, numbers)
    _grid_ui(keys, d, numbers, key, idx)


def _grid_ui(keys: Keys, d, numbers, key, idx) -> None:
    """Every matrix of the lesson, packed by width, the picked cell's links highlighted."""
    marks = links.highlights(d, key, idx)
    titles = dict(links.panels(d))
    pkeys = [k for k, _ in links.panels(d)]
    widths = [natural_width(*links.shape_of(d, k)) for k in pkeys]
    for row in pack(widths):
        # columns as wide as their matrices (a spacer takes the rest), so that no figure is
        # squeezed below its cell size and small ones do not each take a row
        spare = MAIN_WIDTH - sum(widths[i] + GAP for i in row)
        cols = st.columns([widths[i] for i in row] + ([spare] if spare > 0 else []))
        for c, i in zip(cols[: len(row)], row, strict=True):
            k = pkeys[i]
            with c:
                fig = matrix_figure(
                    numbers[k],
                    titles[k],
                    _labels(d, k),
                    highlight=marks.get(k, []),
                    selected=idx if k == key else None,
                    max_width=max(widths[i], MAIN_WIDTH // 4),
                )
                chart = f"{keys.page}/grid/{k}/{st.session_state.get(keys.clicks(k), 0)}"
                st.plotly_chart(
                    fig,
                    key=chart,
                    on_select=partial(_clicked, keys, k, chart),
                    width="content",
                    selection_mode="points",
                    config={"displayModeBar": False},
                )


def _clicked(keys: Keys, k: str, chart_key: str) -> None:
    """A click on a cell's marker picks that cell. The chart is then drawn under a new key, so
    it starts with nothing selected and the next click, on the same cell too, is a new event
    (a selection kept in the widget would swallow it)."""
    token = click_token(k, st.session_state.get(chart_key))
    if token is not None:
        st.session_state[keys.pick] = token
        st.session_state[keys.clicks(k)] = st.session_state.get(keys.clicks(k), 0) + 1


def _explain(d, key, idx, values, upstream, numbers) -> None:
    if key.startswith("d:"):
        tex, why = explain.gradient_latex(d, key[2:], idx, values, upstream, width=FULL_UNITS)
        st.latex(tex)
        if why:
            st.caption(why)
    elif key in ("out", "up"):
        st.latex(explain.output_latex(d, idx, numbers, width=FULL_UNITS))
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
    st.dataframe(table, hide_index=True, width="stretch")
    st.button(
        ":material/casino: Re-roll the numbers and verify again",
        key=f"{keys.page}/reverify",
        on_click=reroll,
        args=(st.session_state, keys),
    )


def downloads_ui(keys: Keys, spec, d, numbers) -> None:
    st.divider()
    st.subheader("Take it with you")
    cols = st.columns(4)
    name, page = spec.name, keys.page
    cols[0].download_button(
        "Derivation (Markdown)", to_markdown(d), f"{name}.md", "text/markdown", key=f"{page}/dl/md"
    )
    cols[1].download_button(
        "Derivation (LaTeX)", to_latex(d), f"{name}.tex", "application/x-tex", key=f"{page}/dl/tex"
    )
    titles = dict(links.panels(d))
    buf = io.BytesIO()
    np.savez(buf, **{titles[k].replace("∂", "d").replace("/", "_"): v for k, v in numbers.items()})
    cols[2].download_button(
        "Arrays (.npz)",
        buf.getvalue(),
        f"{name}.npz",
        "application/octet-stream",
        key=f"{page}/dl/npz",
    )
    csv = io.StringIO()
    for k, v in numbers.items():
        csv.write(f"# {titles[k]}\n")
        np.savetxt(csv, np.atleast_2d(v), delimiter=",", fmt="%.10g")
    cols[3].download_button(
        "Arrays (CSV)", csv.getvalue(), f"{name}.csv", "text/csv", key=f"{page}/dl/csv"
    )
