"""A lesson page, built from the op registry: sidebar settings, the step-through derivation with
the symbolic and numeric sides next to each other, linked heatmaps, the verification panel and
the downloads. A page script calls ``lesson_page(__file__, intro)`` and nothing else.

Every widget key is prefixed with the page (``ui.state.Keys``), so two lessons never share
state; every heavy result (derivations, their lambdified gradients) comes from a cache, never
from the page body.
"""

from __future__ import annotations

import logging

import numpy as np
import streamlit as st

from derivations import derive
from ui import custom, panels, practice, state, urlstate, verify
from ui.layout import STEP_UNITS
from ui.registry import OPS, ops_on_page, page_of, random_upstream, random_values
from ui.state import Keys
from ui.widgets import matrix_editor_ui, params_ui, sources_ui

log = logging.getLogger(__name__)


@st.cache_resource(max_entries=64, show_spinner="Deriving…")
def cached_derivation(op: str, params_key: tuple):
    """Derivations are immutable once built: one per (op, parameters), shared by all sessions.
    Their numeric function is compiled here too, under the spinner, not on first use."""
    return derive(op, line_width=STEP_UNITS, **dict(params_key)).compile()


def _key(params: dict) -> tuple:
    return tuple(sorted(params.items()))


def lesson_page(script: str, intro: str) -> None:
    """Draw a lesson page: its title, settings in the sidebar, and the lesson."""
    guarded(script, lambda page: _lesson(page, intro, title=True))


def lesson_section(script: str, intro: str, made_of=()) -> None:
    """Draw the lesson of a page's op as one section of a bigger page (the network pages): a
    heading, links to the lessons ``made_of`` it, and its settings in the section itself."""

    def draw(page: str) -> None:
        _lesson(page, intro, title=False, made_of=made_of)

    guarded(script, draw)


def made_of_ui(pages) -> None:
    """Links to the single-op lessons a network is made of."""
    if not pages:
        return
    st.caption("Made of these single-op lessons:")
    for col, p in zip(st.columns(len(pages)), pages, strict=True):
        col.page_link(p.path, label=p.title, icon=p.icon)


def guarded(script: str, draw) -> None:
    """Whatever goes wrong, the learner sees a message and keeps their settings, never a
    traceback (st.stop and st.rerun are BaseExceptions and pass through)."""
    try:
        draw(page_of(script).path)
    except Exception as exc:  # noqa: BLE001 - the last line of defence, logged in full
        log.exception("lesson %s failed", script)
        st.error(
            f"Something went wrong while drawing this lesson ({type(exc).__name__}: {exc}). "
            "Your settings are kept: try other values or re-roll the numbers.",
            icon=":material/error:",
        )


def _first_visit(keys: Keys, specs) -> dict:
    """Seed the page's state from the URL once; returns what the URL set for the op's widgets."""
    url = dict(st.query_params)
    if keys.init in st.session_state:
        return {}
    st.session_state[keys.init] = True
    first, notices = state.first_visit(specs, url)
    for name, value in first.items():
        st.session_state[getattr(keys, name)] = value
    spec = OPS[first["op"]]
    st.session_state[keys.notices] = notices + state.param_notices(spec, url)
    return urlstate.decode(spec, url)


def _settings_ui(keys: Keys, specs, box) -> tuple:
    """The settings (in the sidebar, or ``box``): operation, its parameters, the numbers."""
    from_url = _first_visit(keys, specs)
    with box:
        if box is st.sidebar:
            st.header("Settings")
        if len(specs) > 1:
            st.selectbox(
                "Operation",
                [s.name for s in specs],
                key=keys.op,
                format_func=lambda n: OPS[n].title,
            )
        spec = OPS[st.session_state.get(keys.op) or specs[0].name]
        state.seed_widgets(st.session_state, keys, spec, from_url)
        params = params_ui(keys, spec)
        st.divider()
        source, seed = sources_ui(keys, spec, lambda: state.reroll(st.session_state, keys))
    return spec, params, source, seed


def _derivation(keys: Keys, spec, params):
    """The derivation for these settings; on impossible ones, say what to change and keep the
    last valid one (the widgets keep what the user set)."""
    last = keys.last_params(spec.name)
    try:
        d = cached_derivation(spec.name, _key(params))
        st.session_state[last] = params
        return d, params
    except ValueError as exc:
        st.error(
            f"{exc}\n\nThe page below still shows the last settings that worked.",
            icon=":material/error:",
        )
        fallback = st.session_state.get(last) or spec.defaults()
        return cached_derivation(spec.name, _key(fallback)), fallback


def _values(keys: Keys, spec, d, source: str, seed: int) -> dict:
    if source == "notes" and spec.notes_example:
        ex = {k: np.asarray(v, float) for k, v in spec.notes_example.items() if k != "upstream"}
        if all(ex[k].shape == d.inputs[k].shape for k in d.inputs if k in ex):
            return ex
        st.info(
            "The notes' example is for the default sizes; showing random integers for these.",
            icon=":material/info:",
        )
    if source == "edit":
        # the editor starts from the numbers on show, so switching to it loses nothing
        last = state.fallback_numbers(st.session_state.get(keys.last_numbers(spec.name)), d)
        seeds = last[0] if last else random_values(d, "integers", seed, spec.positive)
        vals = {}
        for col, (name, m) in zip(st.columns(len(d.inputs)), d.inputs.items(), strict=True):
            with col:
                st.markdown(f"**{name}** ({m.rows}×{m.cols})")
                vals[name] = matrix_editor_ui(f"{keys.page}/{spec.name}/edit/{name}", seeds[name])
        return vals
    kind = "integers" if source in ("notes", "edit") else source
    return random_values(d, kind, seed, spec.positive)


def _upstream(keys: Keys, spec, d, source: str, seed: int) -> np.ndarray:
    ex = spec.notes_example or {}
    if source == "notes" and "upstream" in ex:
        up = np.asarray(ex["upstream"], float)
        if up.shape == d.upstream.shape:
            return up
    choice = st.session_state.get(keys.upsrc, "random")
    if choice == "ones":
        return np.ones(d.upstream.shape)
    if choice == "edit":
        key = f"{keys.page}/{spec.name}/edit/upstream"
        return matrix_editor_ui(key, random_upstream(d, seed))
    return random_upstream(d, seed)


def _numbers(keys: Keys, spec, d, source: str, seed: int) -> tuple[dict, np.ndarray]:
    """The input values and upstream gradient; on bad ones, a message and the last that worked."""
    editing = source == "edit" or st.session_state.get(keys.upsrc) == "edit"
    holder = (
        st.expander("Your numbers: type into the cells", expanded=True)
        if editing
        else st.container()
    )
    with holder:
        values = _values(keys, spec, d, source, seed)
        upstream = _upstream(keys, spec, d, source, seed)
    values = custom.domain_ui(spec, d, values, seed, source)  # your own f: log of a negative
    problems = state.check_values(spec, values)
    problems += state.check_values(spec, {"the upstream gradient": upstream})
    if problems:
        st.error(
            "  \n".join(problems) + "  \nShowing the last numbers that worked.",
            icon=":material/error:",
        )
        last = state.fallback_numbers(st.session_state.get(keys.last_numbers(spec.name)), d)
        values, upstream = last or (
            random_values(d, "integers", seed, spec.positive),
            random_upstream(d, seed),
        )
    st.session_state[keys.last_numbers(spec.name)] = (values, upstream)
    return values, upstream


def _matrices(spec, d, values, upstream, found) -> dict:
    """Every matrix the page shows, by its key (see ui.links)."""
    numbers = {n: np.asarray(values[n], float) for n in d.inputs}
    numbers["out"] = spec.engine_forward(values, d.params)
    numbers["up"] = np.asarray(upstream, float).reshape(d.upstream.shape)
    for n in d.inputs:
        numbers[f"d:{n}"] = found["symbolic"][n]
    return numbers


def _lesson(page: str, intro: str, *, title: bool, made_of=()) -> None:
    specs = ops_on_page(page)
    keys = Keys(page)
    if title:  # the sidebar's settings decide the op, which the title names
        spec, params, source, seed = _settings_ui(keys, specs, st.sidebar)
        st.title(spec.title if len(specs) == 1 else f"{spec.title} — backprop")
        st.caption(intro)
    else:  # a section: its heading, then its own settings
        st.header(f"{specs[0].title}: the maths on a small instance")
        st.caption(intro)
        made_of_ui(made_of)
        box = st.expander("Settings of the small instance", expanded=False)
        spec, params, source, seed = _settings_ui(keys, specs, box)
    notices = st.session_state.pop(keys.notices, [])
    if notices:
        st.info(
            "Ignored from the link (not a valid value): " + ", ".join(notices) + ". The page "
            "uses the defaults for those.",
            icon=":material/link_off:",
        )
    d, params = _derivation(keys, spec, params)
    values, upstream = _numbers(keys, spec, d, source, seed)
    rows, found = verify.verify(spec, d, values, upstream)
    numbers = _matrices(spec, d, values, upstream, found)
    panels.steps_ui(keys, d, numbers)
    practice.practice_ui(keys, d, lesson=spec.title)
    panels.explorer_ui(keys, d, numbers, values, upstream)
    panels.verification_ui(keys, rows)
    panels.downloads_ui(keys, spec, d, numbers)
    extra = {
        "values": source,
        "seed": seed,
        "step": st.session_state.get(keys.step, 0) + 1,
        "upstream": st.session_state.get(keys.upsrc),
    }
    st.query_params.from_dict(urlstate.encode(spec, params, extra))
