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

from derivations import shared
from derivations.network import panel_numbers
from ui import custom, links, panels, patterns, practice, state, urlstate, verify, waiting
from ui.components import reported, width_probe_ui
from ui.layout import (
    STEP_UNITS,
    WIDTH_KEY,
    WRAP_LINKS_CSS,
    Layout,
    main_for_window,
    valid_width,
)
from ui.registry import OPS, ops_on_page, page_of
from ui.state import Keys
from ui.values import encode_flat, parse_grid, random_upstream, random_values, texts_of
from ui.widgets import ignored_ui, matrix_editor_ui, params_ui, sources_ui

log = logging.getLogger(__name__)


def cached_derivation(op: str, params_key: tuple, line_width: int = STEP_UNITS):
    """Derivations are immutable once built: one per (op, parameters, formula width), shared by
    all sessions, derived and compiled in a worker process while the page says so
    (``ui.waiting``), and kept in the workers' bounded cache."""
    params = dict(params_key)
    what = waiting.label(OPS[op].title, params)
    return waiting.derivation(op, params, line_width, what)


@st.cache_resource(max_entries=32)  # each holds its derivation: few, so evicted ones can go
def cached_numeric(op: str, params_key: tuple, line_width: int, what: str):
    """A compiled function (values, upstream) → matrices, per derivation: a pattern's operands
    (``what`` is its label) or the lesson's own panels (softmax's p)."""
    d = shared.lesson(op, dict(params_key), line_width)  # cached by now: the page asked first
    if what == OWN:
        return patterns.compile_matrices(d, [m for *_, m in links.own_panels(d)])
    # compiled in the worker with the lesson (0.5 s of lambdify at 16×16), else here
    return shared.operands(d, what) or patterns.compile_operands(d, d.patterns[what])


OWN = "own panels"
LAID_FOR = "layout/laid_for"  # the width the last full run laid the page out for
PRESENTER_CSS = """<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"] { display: none !important; }
.stMain .katex { font-size: 1.69em; }
.stMain [data-testid="stMarkdownContainer"] p, .stMain [data-testid="stMarkdownContainer"] li,
.stMain [data-testid="stCaptionContainer"] { font-size: 1.4rem; }
.stMain h3 { font-size: 2.2rem; }
.stMain button [data-testid="stMarkdownContainer"] p { font-size: inherit; }
</style>"""


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
    st.html(WRAP_LINKS_CSS)
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
    st.session_state[keys.link] = url  # its hand-typed numbers wait for the derivation's shapes
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


def _measured() -> None:
    """The width probe reported a new width of the lesson column (a resize, the sidebar)."""
    seen = valid_width(reported("layout/probe", "width"))
    if seen:
        st.session_state[WIDTH_KEY] = seen


@st.fragment
def _probe() -> None:
    """The width probe in a fragment: a new width reruns only this, and the page takes it at
    its next run (the heatmaps follow the column in the browser at once; formulas are broken
    for the new width from the next step on). A page switch or a presenter toggle reruns it
    whole. A column narrower than the page was laid out for cannot wait: formulas broken for
    the wider one would run off it, so the whole page reruns."""
    ss = st.session_state
    width_probe_ui(ss[WIDTH_KEY], _measured)
    if ss[WIDTH_KEY] < ss.get(LAID_FOR, ss[WIDTH_KEY]):
        ss[LAID_FOR] = ss[WIDTH_KEY]
        st.rerun(scope="app")


def _layout(keys: Keys) -> Layout:
    """The page's layout: the lesson column as the browser measured it (until it has, a guess
    from the window width a cookie kept from the last visit, or a 1280 px window's) and whether
    presenter mode is on."""
    ss = st.session_state
    presenter = bool(ss.get(keys.presenter))
    if WIDTH_KEY not in ss:
        ss[WIDTH_KEY] = main_for_window(st.context.cookies.get("bpl_window"), presenter)
    ss[LAID_FOR] = ss[WIDTH_KEY]
    with st.sidebar:
        _probe()
    if presenter:
        st.html(PRESENTER_CSS)  # constant CSS: hides the sidebar, enlarges text and formulas
    return Layout(ss[WIDTH_KEY], presenter)


def _derivation(keys: Keys, spec, params, layout: Layout):
    """The derivation for these settings, its formulas broken for the page's width; on
    impossible settings, say what to change and keep the last valid ones (the widgets keep
    what the user set)."""
    last = keys.last_params(spec.name)
    width = layout.step_units
    try:
        d = cached_derivation(spec.name, _key(params), width)
        st.session_state[last] = params
        return d, params
    except ValueError as exc:
        st.error(
            f"{exc}\n\nThe page below still shows the last settings that worked.",
            icon=":material/error:",
        )
        fallback = st.session_state.get(last) or spec.defaults()
    try:
        return cached_derivation(spec.name, _key(fallback), width), fallback
    except ValueError:  # not even those in time (a very busy server): the message says why
        st.stop()


def _editor_key(keys: Keys, spec, name: str) -> str:
    return f"{keys.page}/{spec.name}/edit/{name}"


def _label(d):
    """Names a cell for messages: x₁₂, ∂L/∂z₁₂ (the upstream is keyed "up")."""
    return lambda key, idx: links.cell_label(d, key, idx)


def _typed(keys: Keys, spec, d, key: str, seeds: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """A grid the learner types into: the numbers it parses to (NaN where a cell is bad) and a
    message per bad cell."""
    texts = matrix_editor_ui(_editor_key(keys, spec, key), texts_of(seeds))
    label = _label(d)
    return parse_grid(texts, lambda r, c: label(key, (r, c)))


def _values(keys: Keys, spec, d, source: str, seed: int) -> tuple[dict, list[str]]:
    if source == "notes" and spec.notes_example:
        ex = {k: np.asarray(v, float) for k, v in spec.notes_example.items() if k != "upstream"}
        if all(ex[k].shape == d.inputs[k].shape for k in d.inputs if k in ex):
            return ex, []
        st.info(
            "The notes' example is for the default sizes; showing random integers for these.",
            icon=":material/info:",
        )
    if source == "edit":
        # the editor starts from the numbers on show, so switching to it loses nothing
        last = state.fallback_numbers(st.session_state.get(keys.last_numbers(spec.name)), d)
        seeds = last[0] if last else random_values(d, "integers", seed, spec.positive)
        vals, problems = {}, []
        for col, (name, m) in zip(st.columns(len(d.inputs)), d.inputs.items(), strict=True):
            with col:
                st.markdown(f"**{name}** ({m.rows}×{m.cols})")
                vals[name], bad = _typed(keys, spec, d, name, seeds[name])
                problems += bad
        return vals, problems
    kind = "integers" if source in ("notes", "edit") else source
    return random_values(d, kind, seed, spec.positive), []


def _upstream(keys: Keys, spec, d, source: str, seed: int) -> tuple[np.ndarray, list[str]]:
    ex = spec.notes_example or {}
    if source == "notes" and "upstream" in ex:
        up = np.asarray(ex["upstream"], float)
        if up.shape == d.upstream.shape:
            return up, []
    choice = st.session_state.get(keys.upsrc, "random")
    if choice == "ones":
        return np.ones(d.upstream.shape), []
    if choice == "edit":
        st.markdown(f"**{dict(links.panels(d))['up']}** (the upstream gradient)")
        return _typed(keys, spec, d, "up", random_upstream(d, seed))
    return random_upstream(d, seed), []


def _seed_from_link(keys: Keys, spec, d) -> None:
    """Once, on the first visit: hand-typed numbers the link carries become the editors'."""
    url = st.session_state.pop(keys.link, None)
    if not url:
        return
    shapes = {n: m.shape for n, m in d.inputs.items()} | {"up": d.upstream.shape}
    found, notices = state.url_edits(url, shapes)
    for name, a in found.items():
        key = _editor_key(keys, spec, name)
        st.session_state[f"{key}/data"] = texts_of(a)
        st.session_state.pop(key, None)
    if notices:
        st.info(
            "Ignored from the link: " + "; ".join(notices) + ". That grid starts from the "
            "numbers on show instead.",
            icon=":material/link_off:",
        )


def _computed(spec, d, values, upstream) -> tuple[tuple | None, list[str]]:
    """(verification rows, every method's gradients, the forward output), or why these numbers
    cannot be computed with: every matrix is checked to be finite before anything formats it.
    Shared by the sessions showing the same lesson with the same numbers (a class on one
    link): at the largest sizes the four methods take a second."""
    key = (spec.name, _key(d.params), values, upstream)
    return _computed_for(key, spec, d, values, upstream)


@st.cache_data(max_entries=256, show_spinner=False)
def _computed_for(key, _spec, _d, _values, _upstream):
    """``_computed``, cached by ``key`` alone (the other arguments are what it names)."""
    spec, d, values, upstream = _spec, _d, _values, _upstream
    try:
        with np.errstate(all="ignore"):
            out = np.asarray(spec.engine_forward(values, d.params), dtype=float)
            rows, found = verify.verify(spec, d, values, upstream)
    except (ArithmeticError, ValueError) as exc:
        return None, [f"These numbers break the arithmetic ({exc}): use entries nearer 1 in size."]
    arrays = [("out", "forward", out)]
    arrays += [(f"d:{n}", method, g[n]) for method, g in found.items() for n in g]
    problems = state.result_problems(spec, arrays, _label(d))
    return (None if problems else (rows, found, out)), problems


def _problems_of(keys: Keys, spec, d, source: str, seed: int) -> tuple[dict, np.ndarray, list]:
    """The numbers the sidebar asks for, and everything wrong with them as input."""
    editing = source == "edit" or st.session_state.get(keys.upsrc) == "edit"
    holder = (
        st.expander("Your numbers: type into the cells", expanded=True)
        if editing
        else st.container()
    )
    with holder:
        values, problems = _values(keys, spec, d, source, seed)
        upstream, bad = _upstream(keys, spec, d, source, seed)
    problems += bad
    if problems:  # a cell that did not parse is not also reported as empty
        return values, upstream, problems
    st.session_state[keys.typed] = values  # the link keeps what was typed, not a substitute
    values = custom.domain_ui(spec, d, values, seed, source)  # your own f: log of a negative
    label = _label(d)
    problems += state.check_values(spec, values, label)
    title = dict(links.panels(d))["up"]
    problems += state.check_values(spec, {title: upstream}, lambda _, idx: label("up", idx))
    return values, upstream, problems


def _safe_numbers(spec, d, seed: int) -> tuple[dict, np.ndarray]:
    up = np.ones(d.upstream.shape) if spec.upstream_is_seed else random_upstream(d, seed)
    return random_values(d, "integers", seed, spec.positive), up


def _numbers(keys: Keys, spec, d, source: str, seed: int):
    """The input values, the upstream gradient and what is computed from them; on numbers that
    do not work, a message per problem and the last numbers that did (settings are kept)."""
    _seed_from_link(keys, spec, d)
    values, upstream, problems = _problems_of(keys, spec, d, source, seed)
    computed = None
    if not problems:
        computed, problems = _computed(spec, d, values, upstream)
    if problems:
        shown = problems[:6] + ([f"… and {len(problems) - 6} more."] if len(problems) > 6 else [])
        st.error(
            "  \n".join(shown) + "  \nShowing the last numbers that worked.",
            icon=":material/error:",
        )
        last = state.fallback_numbers(st.session_state.get(keys.last_numbers(spec.name)), d)
        values, upstream = last or _safe_numbers(spec, d, seed)
        computed, _ = _computed(spec, d, values, upstream)
        if computed is None:  # the last numbers fail now too: small integers never do
            values, upstream = _safe_numbers(spec, d, seed)
            computed, _ = _computed(spec, d, values, upstream)
        if computed is None:  # ... except for your own f, undefined at all of them
            st.info(
                "There are no numbers to show this lesson with: type values where your function "
                "is defined (Values of the inputs → Edit by hand), or change the function.",
                icon=":material/info:",
            )
            st.stop()  # the sidebar stays, with everything the learner set
    st.session_state[keys.last_numbers(spec.name)] = (values, upstream)
    return values, upstream, computed


def _matrices(d, values, upstream, found, out) -> dict:
    """Every matrix the page shows, by its key (see ui.links)."""
    numbers = {n: np.asarray(values[n], float) for n in d.inputs}
    numbers["out"] = out
    numbers["up"] = np.asarray(upstream, float).reshape(d.upstream.shape)
    for n in d.inputs:
        numbers[f"d:{n}"] = found["symbolic"][n]
    return numbers


def _link_extra(keys: Keys, d, source, seed, values, upstream) -> dict:
    """What the URL holds besides the op's parameters: hand-typed numbers included."""
    extra = {
        "values": source,
        "seed": seed,
        "step": st.session_state.get(keys.step, 0) + 1,
        "upstream": st.session_state.get(keys.upsrc),
    }
    if st.session_state.get(keys.presenter):
        extra["presenter"] = 1
    if source == "edit":
        typed = st.session_state.get(keys.typed) or values
        extra |= {n: encode_flat(typed.get(n, values[n])) for n in d.inputs}
    if st.session_state.get(keys.upsrc) == "edit":
        extra["up"] = encode_flat(upstream)
    return extra


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
    ignored_ui(st.session_state.pop(keys.notices, []))
    layout = _layout(keys)
    d, params = _derivation(keys, spec, params, layout)
    values, upstream, (rows, found, out) = _numbers(keys, spec, d, source, seed)
    numbers = _matrices(d, values, upstream, found, out)
    extra = _extra(spec, d, params, layout, values, upstream, numbers)
    panels.steps_ui(keys, d, numbers, layout, extra)
    practice.practice_ui(keys, d, lesson=spec.title)
    panels.explorer_ui(keys, d, numbers, values, upstream, layout)
    panels.verification_ui(keys, rows)
    panels.downloads_ui(keys, spec, d, numbers)
    link = _link_extra(keys, d, source, seed, values, upstream)
    st.session_state[keys.query] = query = urlstate.encode(spec, params, link)
    st.query_params.from_dict(query)


def _extra(spec, d, params, layout: Layout, values, upstream, numbers) -> dict:
    """What only some lessons show: their own panels (their numbers go into ``numbers``) and
    the patterns' operands, evaluated on demand from a cached compile."""
    key = (spec.name, _key(params), layout.step_units)
    own = links.own_panels(d)
    if own:
        arrays = cached_numeric(*key, OWN)(values, upstream)
        numbers.update({k: a for (k, *_), a in zip(own, arrays, strict=True)})
    if links.network(d):  # a network's quantities between its layers, evaluated layer by layer
        numbers.update(panel_numbers(d, values, upstream))
    return {
        "panels": own,
        "operands": lambda p: cached_numeric(*key, p.label)(values, upstream),
        "values": values,
        "upstream": upstream,
    }
