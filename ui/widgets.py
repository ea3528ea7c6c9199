"""Sidebar and grid widgets, built from the registry. Each ``*_ui`` function only draws and
returns plain values; their state lives under the page's keys (``ui.state.Keys``)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from derivations.param_kinds import (
    Bool,
    Choice,
    Float,
    Int,
    Kind,
    OptionalPair,
    Pair,
    Param,
    Sizes,
    Text,
    parse_sizes,
)
from ui.state import SOURCES, UPSTREAMS, Keys
from ui.values import MAX_CHARS


def _pair_ui(keys: Keys, p) -> tuple[int, int]:
    lo, hi = int(p.lo), int(p.hi)
    # the bounds in sight (bench.bounds chose them): a learner sees why 17 is not taken
    st.markdown(f"**{p.label}** :gray[({lo} to {hi})]", help=p.help or None)
    a, b = st.columns(2)
    r = a.number_input("rows", lo, hi, key=keys.param(p.name, "r"), label_visibility="collapsed")
    c = b.number_input("cols", lo, hi, key=keys.param(p.name, "c"), label_visibility="collapsed")
    return (int(r), int(c))


def _int_bounds(p, before: dict) -> tuple[int, int]:
    """A whole-number widget's bounds as it shows them, narrowed by the parameters before it
    where they bound it (a true class from 1 to the number of classes)."""
    hi = int(p.hi)
    if p.bound is not None:
        top = p.bound(before)
        if isinstance(top, int) and p.lo <= top:
            hi = min(hi, top)
    return int(p.lo) + p.shown_from, hi + p.shown_from


def _optional_pair_ui(keys: Keys, p, before: dict) -> tuple[int, int] | None:
    auto = st.checkbox(
        f"{p.label}: same as the window", key=keys.param(p.name, "auto"), help=p.help or None
    )
    return None if auto else _pair_ui(keys, p)


def _int_ui(keys: Keys, p, before: dict) -> int:
    lo, hi = _int_bounds(p, before)
    if st.session_state.get(keys.param(p.name), lo) > hi:  # fewer classes than it was
        st.session_state[keys.param(p.name)] = hi
    label = f"{p.label} :gray[({lo} to {hi})]"
    v = st.number_input(label, lo, hi, key=keys.param(p.name), help=p.help or None)
    return int(v) - p.shown_from


def _bool_ui(keys: Keys, p, before: dict) -> bool:
    return bool(st.checkbox(p.label, key=keys.param(p.name), help=p.help or None))


def _sizes_ui(keys: Keys, p, before: dict):
    text = st.text_input(p.label, key=keys.param(p.name), help=p.help or None)
    # unreadable text goes to derive() as it is, whose message says what to type
    return parse_sizes(text) or text


def _text_ui(keys: Keys, p, before: dict) -> str:
    # the text goes to derive() as it is (never evaluated), whose message says what to type
    text = st.text_input(p.label, key=keys.param(p.name), max_chars=int(p.hi), help=p.help or None)
    return text.strip()


def _float_ui(keys: Keys, p, before: dict) -> float:
    v = st.number_input(
        p.label,
        float(p.lo),
        float(p.hi),
        step=0.01,
        format="%.3f",
        key=keys.param(p.name),
        help=p.help or None,
    )
    return float(v)


def _choice_ui(keys: Keys, p, before: dict):
    return st.selectbox(p.label, p.choices, key=keys.param(p.name), help=p.help or None)


# each kind of parameter's widget: (keys, param, the values before it) -> derive()'s value
_WIDGETS: dict[type[Kind], Callable[[Keys, Param, dict], object]] = {
    Pair: lambda keys, p, before: _pair_ui(keys, p),
    OptionalPair: _optional_pair_ui,
    Int: _int_ui,
    Bool: _bool_ui,
    Sizes: _sizes_ui,
    Text: _text_ui,
    Float: _float_ui,
    Choice: _choice_ui,
}


def param_ui(keys: Keys, p: Param, before: dict | None = None):
    """One parameter's widget, as its kind draws it; returns the value derive() takes
    (``before``: the values of the parameters drawn before it)."""
    return _WIDGETS[type(p.kind)](keys, p, before or {})


def params_ui(keys: Keys, spec) -> dict:
    """The op's parameters as widgets; returns plain values."""
    values: dict = {}
    for p in spec.params:
        values[p.name] = param_ui(keys, p, values)
    return values


def sources_ui(keys: Keys, spec, reroll) -> tuple[str, int]:
    """Where the numbers come from (values, upstream, seed); returns (source, seed)."""
    options = [k for k in SOURCES if k != "notes" or spec.notes_example]
    if st.session_state.get(keys.source) not in options:
        st.session_state[keys.source] = options[0]  # the notes' example where there is one
    source = st.radio("Values of the inputs", options, key=keys.source, format_func=SOURCES.get)
    fixed = source == "notes" and bool(spec.notes_example and "upstream" in spec.notes_example)
    if spec.upstream_is_seed:  # the "ones" source, fixed: whatever a link asked for
        st.session_state[keys.upsrc] = "ones"
        st.caption("Upstream gradient: ∂L/∂L = 1, the output being the loss L itself.")
    else:
        _upstream_ui(keys, fixed)
    seed = int(st.number_input("Seed", 0, 999_999, key=keys.seed))
    st.button(":material/casino: Re-roll numbers", on_click=reroll, width="stretch")
    return source, seed


def _upstream_ui(keys: Keys, fixed: bool) -> None:
    st.radio(
        "Upstream gradient",
        list(UPSTREAMS),
        key=keys.upsrc,
        format_func=UPSTREAMS.get,
        disabled=fixed,
        help="The notes' example sets its own." if fixed else None,
    )


def matrix_editor_ui(key: str, initial: list[list[str]]) -> list[list[str]]:
    """A grid of text cells the learner types numbers into; returns the texts as typed (parsed
    strictly by ``ui.values``: a number column would turn "1e308" into 1308). Re-seeded from
    ``initial`` when the shape changes."""
    store = f"{key}/data"
    rows, cols = len(initial), len(initial[0])
    old = st.session_state.get(store)
    if old is None or (len(old), len(old[0])) != (rows, cols):
        st.session_state[store] = [list(r) for r in initial]
        st.session_state.pop(key, None)
    names = [str(c + 1) for c in range(cols)]
    df = pd.DataFrame(
        st.session_state[store], columns=names, index=[str(r + 1) for r in range(rows)], dtype=str
    )
    edited = st.data_editor(
        df,
        key=key,
        num_rows="fixed",
        width="content",
        column_config={n: st.column_config.TextColumn(n, max_chars=MAX_CHARS) for n in names},
    )
    return edited.fillna("").astype(str).to_numpy().tolist()


def ignored_ui(notices: list[str]) -> None:
    """What a link set that did not fit (each notice says what would), if anything."""
    if notices:
        st.info(
            "Ignored from the link (not a valid value): " + "; ".join(notices) + ". The page "
            "uses the defaults for those.",
            icon=":material/link_off:",
        )
