"""Every page through app.py with Streamlit's AppTest: it loads, every widget at its extremes
reruns without an exception (and with st.error exactly where the settings are impossible),
Next/Previous walk every step, the verification panel passes, and the URL round-trips."""

import re
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from derivations.param_kinds import (  # noqa: E402
    Bool,
    Choice,
    Int,
    OptionalPair,
    Pair,
    Sizes,
    Text,
)
from ui.registry import OPS, PAGES, lesson_pages, ops_on_page  # noqa: E402

APP = str(Path(__file__).resolve().parent.parent / "app.py")
LESSON_PAGES = [p.path for p in lesson_pages()]
ALL_PAGES = [p.path for p in PAGES]


def open_page(page: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def verification_rows(at) -> list[dict]:
    """The verification table's rows (the table is Markdown: | method | … |), by column."""
    table = next(m.value for m in at.markdown if m.value.startswith("| method"))
    lines = table.splitlines()
    cells = [[c.strip() for c in re.split(r"(?<!\\)\|", r.strip().strip("|"))] for r in lines]
    return [dict(zip(cells[0], r, strict=True)) for r in cells[2:]]


def verdicts(at) -> list[str]:
    """The verification table's verdict column."""
    return [r["verdict"] for r in verification_rows(at)]


def step_text(at) -> str:
    return next(p.value for p in at.get("progress"))


@pytest.mark.parametrize("page", ALL_PAGES)
def test_page_loads_without_exception(page):
    at = open_page(page)
    assert not at.error
    assert at.title, "every page has a title"


@pytest.mark.parametrize("page", LESSON_PAGES)
def test_steps_walk_forward_and_back(page):
    at = open_page(page)
    n = int(str(at.get("progress")[0].proto.text).split(" of ")[1])
    for i in range(2, n + 1):
        at.button(key=f"{page}/next").click().run()
        assert f"Step {i} of {n}" in at.get("progress")[0].proto.text
        assert not at.exception
    assert at.button(key=f"{page}/next").disabled
    for i in range(n - 1, 0, -1):
        at.button(key=f"{page}/prev").click().run()
        assert f"Step {i} of {n}" in at.get("progress")[0].proto.text
    assert at.button(key=f"{page}/prev").disabled
    at.toggle(key=f"{page}/all").set_value(True).run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]  # the lesson's guard catches every bug
    assert len(at.latex) >= n  # every step's formula is on the page


def _select_op(at, page, op):
    if len(ops_on_page(page)) > 1:
        at.selectbox(key=f"{page}/op").set_value(op).run()
        assert not at.exception


@pytest.mark.parametrize("op", list(OPS))
def test_verification_passes_for_default_and_rerolled_numbers(op):
    spec = OPS[op]
    at = open_page(spec.page.path)
    _select_op(at, spec.page.path, op)
    for _ in range(3):
        assert "FAIL" not in verdicts(at), verification_rows(at)
        assert "pass" in verdicts(at)
        at.button(key=f"{spec.page.path}/reverify").click().run()
        assert not at.exception
    at.radio(key=f"{spec.page.path}/source").set_value("reals").run()
    assert "FAIL" not in verdicts(at)


def _set_param(at, page, p, value):
    if isinstance(p.kind, Pair):
        if isinstance(p.kind, OptionalPair):
            at.checkbox(key=f"{page}/{p.name}/auto").set_value(value is None).run()
            if value is None:
                return
        at.number_input(key=f"{page}/{p.name}/r").set_value(value[0])
        at.number_input(key=f"{page}/{p.name}/c").set_value(value[1])
    elif isinstance(p.kind, Choice):
        at.selectbox(key=f"{page}/{p.name}").set_value(value)
    elif isinstance(p.kind, Bool):
        at.checkbox(key=f"{page}/{p.name}").set_value(value)
    elif isinstance(p.kind, Sizes):
        at.text_input(key=f"{page}/{p.name}").input(", ".join(map(str, value)))
    elif isinstance(p.kind, Text):
        at.text_input(key=f"{page}/{p.name}").input(value)
    else:
        shown = value + p.shown_from if isinstance(p.kind, Int) else value
        at.number_input(key=f"{page}/{p.name}").set_value(shown)


def _extremes(p):
    """The ends of the widget's range (its kind's), and a few cases between them."""
    ends = p.extremes()
    if isinstance(p.kind, Pair):  # a strip too
        return [*ends[:2], (int(p.lo), int(p.hi)), *ends[2:]]
    if isinstance(p.kind, Sizes):
        return [*ends, (int(p.hi), int(p.lo)) + (int(p.hi),) * (p.count[0] - 2)]
    if isinstance(p.kind, Text):  # the shortest and the longest formula the box takes
        return [*ends, "x", "x" + "+x" * ((int(p.hi) - 1) // 2)]
    return ends


@pytest.mark.parametrize("op", list(OPS))
def test_every_widget_at_its_extremes(op):
    spec = OPS[op]
    page = spec.page.path
    at = open_page(page)
    _select_op(at, page, op)
    for p in spec.params:
        for value in _extremes(p):
            params = spec.defaults() | {p.name: value}
            try:
                spec.derive(**params)
                possible = True
            except ValueError:
                possible = False
            _set_param(at, page, p, value)
            at.run()
            assert not at.exception, (p.name, value, [e.value for e in at.exception])
            errors = [e.value for e in at.error]
            if possible:
                assert not errors, (p.name, value, errors)
            elif p.bound is not None:  # bounded by the others: the widget holds it in
                top = p.bound(spec.defaults()) + p.shown_from
                assert at.number_input(key=f"{page}/{p.name}").value <= top and not errors
            else:
                assert errors, f"{op}: {p.name}={value} is impossible but no st.error was shown"
                # the rest of the page keeps the last valid state
                assert verdicts(at) and "FAIL" not in verdicts(at)
        _set_param(at, page, p, p.default)
        at.run()


def test_impossible_settings_keep_the_other_settings():
    page = "pages/conv2d.py"
    at = open_page(page)
    at.number_input(key=f"{page}/stride/r").set_value(2).run()
    at.number_input(key=f"{page}/kernel_shape/r").set_value(6).run()  # 6 > 3 rows of input
    assert at.error and "kernel" in at.error[0].value
    assert at.number_input(key=f"{page}/stride/r").value == 2  # nothing the user set was lost
    assert at.number_input(key=f"{page}/kernel_shape/r").value == 6
    at.number_input(key=f"{page}/input_shape/r").set_value(8).run()  # now it fits
    assert not at.error and not at.exception


def test_hand_edited_values_and_bad_ones():
    page = "pages/elementwise.py"
    at = open_page(page)
    at.selectbox(key=f"{page}/op").set_value("log").run()
    at.radio(key=f"{page}/source").set_value("edit").run()
    assert not at.exception
    assert "FAIL" not in verdicts(at)


def test_url_round_trips_the_settings():
    page = "pages/conv2d.py"
    at = open_page(
        page,
        {
            "op": "conv2d",
            "input_shape": "4x4",
            "stride": "2x2",
            "step": "5",
            "values": "reals",
            "seed": "7",
        },
    )
    assert at.number_input(key=f"{page}/input_shape/r").value == 4
    assert at.number_input(key=f"{page}/stride/c").value == 2
    assert at.radio(key=f"{page}/source").value == "reals"
    assert at.number_input(key=f"{page}/seed").value == 7
    assert "Step 5 of" in at.get("progress")[0].proto.text
    at.button(key=f"{page}/next").click().run()
    q = at.query_params
    assert q["input_shape"] == ["4x4"] or q["input_shape"] == "4x4"
    flat = {k: (v[0] if isinstance(v, list) else v) for k, v in q.items()}
    assert flat["stride"] == "2x2" and flat["step"] == "6" and flat["seed"] == "7"


def test_url_garbage_is_ignored_safely():
    page = "pages/conv2d.py"
    at = open_page(
        page, {"input_shape": "__import__('os').system('x')", "stride": "99x99", "step": "abc"}
    )
    assert at.number_input(key=f"{page}/input_shape/r").value == 3
    assert at.number_input(key=f"{page}/stride/r").value == 1
    assert not at.error


def test_picking_a_cell_explains_it():
    page = "pages/conv2d.py"
    at = open_page(page)
    at.selectbox(key=f"{page}/pickbox").set_value("d:X|1,1").run()
    assert not at.exception
    assert any(r"\frac{\partial L}{\partial x_{22}}" in x.value for x in at.latex)


@pytest.mark.parametrize("upstream", ["ones", "edit", "random"])
def test_every_upstream_source(upstream):
    page = "pages/conv2d.py"
    at = open_page(page)
    at.radio(key=f"{page}/upsrc").set_value(upstream).run()
    assert not at.exception and not at.error
    assert "FAIL" not in verdicts(at)


def test_leaving_a_lesson_and_coming_back():
    at = open_page("pages/conv2d.py")
    at.button(key="pages/conv2d.py/next").click().run()
    for page in ("pages/pooling.py", "pages/conv2d.py", "pages/home.py", "pages/pooling.py"):
        at.switch_page(page).run()
        assert not at.exception and not at.error, page
    assert "FAIL" not in verdicts(at)


def test_a_softmax_link_opens_on_the_class_it_names():
    page = "pages/softmax.py"
    at = open_page(page, {"op": "softmax_cross_entropy", "num_classes": "10", "target": "10"})
    assert at.number_input(key=f"{page}/target").value == 10
    assert not any("Ignored from the link" in i.value for i in at.info)
    assert at.query_params["target"] in (["10"], "10")
