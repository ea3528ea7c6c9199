"""A lesson page, built from the op registry: sidebar settings, the step-through derivation with
the symbolic and numeric sides next to each other, linked heatmaps, the verification panel and
the downloads. Pages call ``lesson_page(page_path, intro)`` and nothing else.

Every widget key is prefixed with the page, so two lessons never share state; every heavy result
(derivations, their lambdified gradients) comes from a cache, never from the page body.
"""

from __future__ import annotations

import io
import logging

import numpy as np
import pandas as pd
import streamlit as st

from derivations.export import to_latex, to_markdown
from ui import links, urlstate, verify
from ui.plots import GAP, MAIN_WIDTH, fmt, matrix_figure, natural_width, pack
from ui.registry import OPS, ops_on_page, random_upstream, random_values

log = logging.getLogger(__name__)

SOURCES = {
    "notes": "The notes' example",
    "integers": "Random integers",
    "reals": "Random reals",
    "edit": "Edit by hand",
}
UPSTREAMS = {"random": "Random integers", "ones": "All ones", "edit": "Edit by hand"}


@st.cache_resource(max_entries=64, show_spinner="Deriving…")
def cached_derivation(op: str, params_key: tuple):
    """Derivations are immutable once built: one per (op, parameters), shared by all sessions.
    Their numeric function is compiled here too, under the spinner, not on first use."""
    return OPS[op].derive(**dict(params_key)).compile()


def _key(params: dict) -> tuple:
    return tuple(sorted(params.items()))


# ---------------------------------------------------------------- sidebar widgets


def _pair_ui(page: str, p) -> tuple[int, int]:
    st.markdown(f"**{p.label}**", help=p.help or None)
    a, b = st.columns(2)
    r = a.number_input("rows", p.lo, p.hi, key=f"{page}/{p.name}/r", label_visibility="collapsed")
    c = b.number_input("cols", p.lo, p.hi, key=f"{page}/{p.name}/c", label_visibility="collapsed")
    return (int(r), int(c))


def _init_widget_state(page: str, spec, from_url: dict) -> None:
    """Seed each widget's session state once, from the URL where it says something valid."""
    for p in spec.params:
        v = from_url.get(p.name, p.default)
        if p.kind in ("pair", "optional_pair"):
            if p.kind == "optional_pair":
                st.session_state.setdefault(f"{page}/{p.name}/auto", v is None)
                v = v or (2, 2)
            st.session_state.setdefault(f"{page}/{p.name}/r", v[0])
            st.session_state.setdefault(f"{page}/{p.name}/c", v[1])
        else:
            st.session_state.setdefault(f"{page}/{p.name}", v)


def params_ui(page: str, spec) -> dict:
    """The op's parameters as widgets, built from the registry; returns plain values."""
    out = {}
    for p in spec.params:
        if p.kind == "pair":
            out[p.name] = _pair_ui(page, p)
        elif p.kind == "optional_pair":
            auto = st.checkbox(
                f"{p.label}: same as the window", key=f"{page}/{p.name}/auto", help=p.help or None
            )
            out[p.name] = None if auto else _pair_ui(page, p)
        elif p.kind == "int":
            out[p.name] = int(
                st.number_input(p.label, p.lo, p.hi, key=f"{page}/{p.name}", help=p.help or None)
            )
        elif p.kind == "choice":
            out[p.name] = st.selectbox(
                p.label, p.choices, key=f"{page}/{p.name}", help=p.help or None
            )
    return out


# ---------------------------------------------------------------- values


def _matrix_editor(key: str, initial: np.ndarray) -> np.ndarray:
    """A numeric grid the learner types into; re-seeded when the shape changes."""
    store = f"{key}/data"
    if store not in st.session_state or st.session_state[store].shape != initial.shape:
        st.session_state[store] = initial.copy()
        st.session_state.pop(key, None)
    df = pd.DataFrame(
        st.session_state[store],
        columns=[str(c + 1) for c in range(initial.shape[1])],
        index=[str(r + 1) for r in range(initial.shape[0])],
    )
    edited = st.data_editor(df, key=key, num_rows="fixed", width="content")
    return edited.to_numpy(dtype=float, na_value=np.nan)


def values_for(page: str, spec, d, source: str, seed: int) -> tuple[dict, list[str]]:
    """The input values, and what was wrong with them (empty when nothing)."""
    problems = []
    if source == "notes" and spec.notes_example:
        ex = {k: np.asarray(v, float) for k, v in spec.notes_example.items() if k != "upstream"}
        if all(ex[k].shape == d.inputs[k].shape for k in d.inputs if k in ex):
            return ex, problems
        st.info(
            "The notes' example is for the default sizes; showing random integers for these.",
            icon=":material/info:",
        )
        source = "integers"
    if source == "edit":
        base = st.session_state.get(f"{page}/lastvalues", {})
        seeds = random_values(d, "integers", seed, spec.positive)
        vals = {}
        for col, (name, m) in zip(st.columns(len(d.inputs)), d.inputs.items(), strict=True):
            init = base.get(name) if name in base and base[name].shape == m.shape else seeds[name]
            with col:
                st.markdown(f"**{name}** ({m.rows}×{m.cols})")
                vals[name] = _matrix_editor(f"{page}/{spec.name}/edit/{name}", init)
        for name, a in vals.items():
            if np.isnan(a).any():
                problems.append(f"Fill every cell of {name}: an empty cell has no value.")
        return vals, problems
    return random_values(
        d, "integers" if source == "notes" else source, seed, spec.positive
    ), problems


def upstream_for(page: str, spec, d, source: str, seed: int) -> tuple[np.ndarray, list[str]]:
    shape = d.upstream.shape
    if source == "notes" and spec.notes_example and "upstream" in spec.notes_example:
        up = np.asarray(spec.notes_example["upstream"], float)
        if up.shape == shape:
            return up, []
    choice = st.session_state.get(f"{page}/upsrc", "random")
    if choice == "ones":
        return np.ones(shape), []
    if choice == "edit":
        a = _matrix_editor(f"{page}/{spec.name}/edit/upstream", random_upstream(d, seed))
        return a, (["Fill every cell of the upstream gradient."] if np.isnan(a).any() else [])
    return random_upstream(d, seed), []


def check_values(spec, values: dict) -> list[str]:
    out = []
    for name in spec.positive:
        if name in values and np.any(np.asarray(values[name]) <= 0):
            what = (
                "log is defined for positive numbers only"
                if spec.name == "log"
                else "it is a divisor"
            )
            out.append(f"Every entry of {name} must be > 0 ({what}).")
    return out


# ---------------------------------------------------------------- the page


def _reroll(page: str) -> None:
    st.session_state[f"{page}/seed"] = int(st.session_state.get(f"{page}/seed", 0)) + 1
    if st.session_state.get(f"{page}/source") in ("notes", "edit"):
        st.session_state[f"{page}/source"] = "integers"


def _step(page: str, delta: int, n: int) -> None:
    k = f"{page}/step"
    st.session_state[k] = min(max(0, st.session_state.get(k, 0) + delta), n - 1)


def _pick(page: str, choice_key: str) -> None:
    st.session_state[f"{page}/pick"] = st.session_state[choice_key]


def lesson_page(page: str, intro: str) -> None:
    """Draw a lesson. Whatever goes wrong, the learner sees a message and keeps their settings,
    never a traceback (st.stop and st.rerun are BaseExceptions and pass through)."""
    try:
        _lesson_page(page, intro)
    except Exception as exc:  # noqa: BLE001 - the last line of defence, logged in full
        log.exception("lesson %s failed", page)
        st.error(
            f"Something went wrong while drawing this lesson ({type(exc).__name__}: {exc}). "
            "Your settings are kept: try other values or re-roll the numbers.",
            icon=":material/error:",
        )


def _lesson_page(page: str, intro: str) -> None:
    specs = ops_on_page(page)
    if not specs:
        st.error(f"No lesson is registered for {page}.")
        return
    url = dict(st.query_params)
    first = f"{page}/init" not in st.session_state
    if first:
        st.session_state[f"{page}/init"] = True
        names = [s.name for s in specs]
        st.session_state[f"{page}/op"] = url.get("op") if url.get("op") in names else names[0]
        src = url.get("values")
        st.session_state[f"{page}/source"] = (
            src if src in SOURCES else ("notes" if specs[0].notes_example else "integers")
        )
        seed = url.get("seed", "0")
        st.session_state[f"{page}/seed"] = int(seed) if seed.isdigit() and len(seed) < 7 else 0
        step = url.get("step", "1")
        st.session_state[f"{page}/step"] = (
            int(step) - 1 if step.isdigit() and 0 < int(step) < 1000 else 0
        )
        st.session_state[f"{page}/upsrc"] = (
            url.get("upstream") if url.get("upstream") in UPSTREAMS else "random"
        )

    with st.sidebar:
        st.header("Settings")
        if len(specs) > 1:
            op = st.selectbox(
                "Operation",
                [s.name for s in specs],
                key=f"{page}/op",
                format_func=lambda n: OPS[n].title,
            )
        else:
            op = specs[0].name
        spec = OPS[op]
        _init_widget_state(page, spec, urlstate.decode(spec, url) if first else {})
        params = params_ui(page, spec)
        st.divider()
        options = [k for k in SOURCES if k != "notes" or spec.notes_example]
        if st.session_state.get(f"{page}/source") not in options:
            st.session_state[f"{page}/source"] = options[0]  # the notes' example where there is one
        source = st.radio(
            "Values of the inputs", options, key=f"{page}/source", format_func=SOURCES.get
        )
        st.radio(
            "Upstream gradient",
            list(UPSTREAMS),
            key=f"{page}/upsrc",
            format_func=UPSTREAMS.get,
            disabled=source == "notes"
            and bool(spec.notes_example and "upstream" in spec.notes_example),
        )
        seed = int(st.number_input("Seed", 0, 999_999, key=f"{page}/seed"))
        st.button(
            ":material/casino: Re-roll numbers", on_click=_reroll, args=(page,), width="stretch"
        )

    st.title(spec.title if len(specs) == 1 else f"{spec.title} — backprop")
    st.caption(intro)

    # the derivation: on impossible settings, say what to change and keep the last valid one
    last_key = f"{page}/{op}/last"
    try:
        d = cached_derivation(op, _key(params))
        st.session_state[last_key] = params
    except ValueError as exc:
        st.error(
            f"{exc}\n\nThe page below still shows the last settings that worked.",
            icon=":material/error:",
        )
        fallback = st.session_state.get(last_key) or spec.defaults()
        d = cached_derivation(op, _key(fallback))
        params = fallback

    editing = source == "edit" or st.session_state.get(f"{page}/upsrc") == "edit"
    holder = (
        st.expander("Your numbers: type into the cells", expanded=True)
        if editing
        else st.container()
    )
    with holder:
        values, problems = values_for(page, spec, d, source, seed)
        upstream, up_problems = upstream_for(page, spec, d, source, seed)
    problems += up_problems + check_values(spec, values)
    if problems:
        st.error(
            "  \n".join(problems) + "  \nShowing the last numbers that worked.",
            icon=":material/error:",
        )
        last = st.session_state.get(f"{page}/{op}/lastnums")
        if (
            last
            and all(last[0][k].shape == d.inputs[k].shape for k in d.inputs)
            and last[1].shape == d.upstream.shape
        ):
            values, upstream = last
        else:
            values = random_values(d, "integers", seed, spec.positive)
            upstream = random_upstream(d, seed)
    st.session_state[f"{page}/{op}/lastnums"] = (values, upstream)
    st.session_state[f"{page}/lastvalues"] = values

    rows, found = verify.verify(spec, d, values, upstream)
    numbers = {n: np.asarray(values[n], float) for n in d.inputs}
    numbers["out"] = spec.engine_forward(values, d.params)
    numbers["up"] = np.asarray(upstream, float).reshape(d.upstream.shape)
    for n in d.inputs:
        numbers[f"d:{n}"] = found["symbolic"][n]

    _steps(page, d, numbers)
    _explorer(page, d, numbers, values, upstream)
    _verification(page, rows)
    _downloads(page, spec, d, numbers)

    step = st.session_state.get(f"{page}/step", 0) + 1
    extra = {
        "values": source,
        "seed": seed,
        "step": step,
        "upstream": st.session_state.get(f"{page}/upsrc"),
    }
    st.query_params.from_dict(urlstate.encode(spec, params, extra))


def _steps(page: str, d, numbers: dict) -> None:
    n = len(d.steps)
    k = f"{page}/step"
    titles_key = f"{page}/titles"
    titles = [s.title for s in d.steps]
    old = st.session_state.get(titles_key)
    if old is not None and old != titles:
        # a new derivation: stay on the same step if it still exists, else keep the position
        cur = old[st.session_state.get(k, 0)] if st.session_state.get(k, 0) < len(old) else None
        st.session_state[k] = (
            titles.index(cur) if cur in titles else min(st.session_state.get(k, 0), n - 1)
        )
    st.session_state[titles_key] = titles
    st.session_state[k] = min(max(st.session_state.get(k, 0), 0), n - 1)
    i = st.session_state[k]

    nav = st.columns([1, 1, 3, 2])
    nav[0].button(
        "◀ Previous",
        key=f"{page}/prev",
        on_click=_step,
        args=(page, -1, n),
        disabled=i == 0,
        width="stretch",
    )
    nav[1].button(
        "Next ▶",
        key=f"{page}/next",
        on_click=_step,
        args=(page, 1, n),
        disabled=i == n - 1,
        width="stretch",
    )
    nav[2].progress((i + 1) / n, text=f"Step {i + 1} of {n}")
    show_all = nav[3].toggle("Show all steps", key=f"{page}/all")

    shown = list(enumerate(d.steps)) if show_all else [(i, d.steps[i])]
    for j, s in shown:
        sym, num = st.columns([5, 3], gap="medium")
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
            _focus_plots(page, d, s, numbers, j)
        if show_all:
            st.divider()


def _focus_keys(d, step) -> list[str]:
    """The two matrices that show a step's quantity with numbers: the input and its gradient,
    or for the forward steps the (first) input and the output."""
    f = step.focus
    if f in d.inputs:
        return [f, f"d:{f}"]
    if step.kind in ("setup", "forward"):
        return [next(iter(d.inputs)), "out"]
    return ["out", "up"]


def _focus_plots(page, d, step, numbers, j) -> None:
    st.markdown("**With your numbers**")
    titles = dict(links.panels(d))
    keys = _focus_keys(d, step)
    # the focus column is 3/8 of the lesson: matrices too wide to sit side by side there go
    # one above the other
    width = MAIN_WIDTH * 3 // 8
    widths = [natural_width(*links.shape_of(d, k), budget=140) for k in keys]
    side_by_side = len(pack(widths, width)) == 1
    cols = st.columns(widths) if side_by_side else [st.container() for _ in keys]
    for c, key, w in zip(cols, keys, widths, strict=True):
        with c:
            fig = matrix_figure(
                numbers[key],
                titles[key],
                _labels(d, key),
                budget=140,
                max_width=max(w, width // len(keys)) if side_by_side else width,
            )
            st.plotly_chart(
                fig,
                key=f"{page}/focus/{j}/{key}",
                width="content",
                config={"displayModeBar": False},
            )


def _labels(d, key):
    rows, cols = links.shape_of(d, key)
    return [[links.cell_label(d, key, (r, c)) for c in range(cols)] for r in range(rows)]


def _explorer(page, d, numbers, values, upstream) -> None:
    st.divider()
    st.subheader("Which cells fed it?")
    st.caption(
        "Click any cell of any matrix below, or pick one here: the cells it depends on or "
        "feeds light up, and its chain-rule sum is written out with your numbers."
    )
    cells = links.all_cells(d)
    labels = {f"{k}|{r},{c}": links.cell_label(d, k, (r, c)) for k, (r, c) in cells}
    pick_key = f"{page}/pick"
    if st.session_state.get(pick_key) not in labels:
        st.session_state[pick_key] = next(iter(labels))
    choice_key = f"{page}/pickbox"
    st.session_state[choice_key] = st.session_state[pick_key]
    st.selectbox(
        "Explain a cell",
        list(labels),
        format_func=labels.get,
        key=choice_key,
        on_change=_pick,
        args=(page, choice_key),
    )
    key, rc = st.session_state[pick_key].split("|")
    idx = tuple(int(v) for v in rc.split(","))
    _explain(d, key, idx, values, upstream, numbers)
    marks = links.highlights(d, key, idx)
    titles = dict(links.panels(d))
    keys = [k for k, _ in links.panels(d)]
    widths = [natural_width(*links.shape_of(d, k)) for k in keys]
    for row in pack(widths):
        # columns as wide as their matrices (a spacer takes the rest), so that no figure is
        # squeezed below its cell size and small ones do not each take a row
        spare = MAIN_WIDTH - sum(widths[i] + GAP for i in row)
        cols = st.columns([widths[i] for i in row] + ([spare] if spare > 0 else []))
        for c, i in zip(cols, row, strict=False):
            k = keys[i]
            with c:
                fig = matrix_figure(
                    numbers[k],
                    titles[k],
                    _labels(d, k),
                    highlight=marks.get(k, []),
                    selected=idx if k == key else None,
                    max_width=max(widths[i], MAIN_WIDTH // 4),
                )
                event = st.plotly_chart(
                    fig,
                    key=f"{page}/grid/{k}",
                    on_select="rerun",
                    width="content",
                    selection_mode="points",
                    config={"displayModeBar": False},
                )
                _take_click(page, k, event)


def _take_click(page, k, event) -> None:
    """A click on a cell's marker picks that cell (once: the selection stays in the widget)."""
    try:
        points = event.selection.points
    except AttributeError:
        return
    if not points:
        return
    pt = points[0]
    r, c = int(pt["y"]) - 1, int(pt["x"]) - 1
    token = f"{k}|{r},{c}"
    seen = f"{page}/grid/{k}/seen"
    if st.session_state.get(seen) != token:
        st.session_state[seen] = token
        st.session_state[f"{page}/pick"] = token
        st.rerun()


def _explain(d, key, idx, values, upstream, numbers) -> None:
    if key.startswith("d:"):
        # the full lesson width, ~820 px at a 1280 px window: about 64 letter widths
        st.latex(d.chain_rule(key[2:], idx, values, upstream, width=64))
    elif key in ("out", "up"):
        import sympy as sp

        z = d.out_symbols[idx]
        st.latex(rf"{sp.latex(z)} = {sp.latex(d.output[idx])} = {fmt(numbers['out'][idx])}")
    else:
        outs = d.feeds(key, idx)
        names = ", ".join(links.cell_label(d, "out", o) for o in outs) or "no output"
        st.markdown(
            f"**{links.cell_label(d, key, idx)} = {fmt(numbers[key][idx])}** feeds {names}."
        )


def _verification(page, rows) -> None:
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
        key=f"{page}/reverify",
        on_click=_reroll,
        args=(page,),
    )


def _downloads(page, spec, d, numbers) -> None:
    st.divider()
    st.subheader("Take it with you")
    cols = st.columns(4)
    cols[0].download_button(
        "Derivation (Markdown)",
        to_markdown(d),
        f"{spec.name}.md",
        "text/markdown",
        key=f"{page}/dl/md",
    )
    cols[1].download_button(
        "Derivation (LaTeX)",
        to_latex(d),
        f"{spec.name}.tex",
        "application/x-tex",
        key=f"{page}/dl/tex",
    )
    titles = dict(links.panels(d))
    buf = io.BytesIO()
    np.savez(buf, **{titles[k].replace("∂", "d").replace("/", "_"): v for k, v in numbers.items()})
    cols[2].download_button(
        "Arrays (.npz)",
        buf.getvalue(),
        f"{spec.name}.npz",
        "application/octet-stream",
        key=f"{page}/dl/npz",
    )
    csv = io.StringIO()
    for k, v in numbers.items():
        csv.write(f"# {titles[k]}\n")
        np.savetxt(csv, np.atleast_2d(v), delimiter=",", fmt="%.10g")
    cols[3].download_button(
        "Arrays (CSV)", csv.getvalue(), f"{spec.name}.csv", "text/csv", key=f"{page}/dl/csv"
    )
