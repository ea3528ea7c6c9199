"""AppTest of what a learner meets beyond the happy path: hostile links and values, the scalar
upstream, softmax's probabilities, the explorer's wording, and the settings a URL carries."""

import json
import re
import tomllib
from pathlib import Path

import pytest

pytest.importorskip("streamlit")

from tests.test_app import open_page, verdicts  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def test_the_server_config_shows_no_tracebacks_and_keeps_its_protections():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    # "none": no exception type, message or traceback on the page; `false` would mean
    # "stacktrace" in this Streamlit, which still prints the traceback
    assert cfg["client"]["showErrorDetails"] == "none"
    assert cfg["server"]["enableXsrfProtection"] is True
    assert cfg["server"]["enableCORS"] is True


def _notice(at) -> str:
    return " ".join(i.value for i in at.info if "Ignored from the link" in i.value)


@pytest.mark.parametrize(
    "key,value",
    [
        ("step", "²"),  # a superscript digit: str.isdigit() says yes, int() says no
        ("seed", "²"),
        ("step", "0"),
        ("seed", "-1"),
        ("step", "1" * 40),
        ("values", "everything"),
        ("upstream", "<b>"),
        ("op", "conv3d"),
        ("input_shape", "²x2"),
        ("stride", "0x1"),
        ("padding", "1e9"),
    ],
)
def test_a_bad_url_parameter_falls_back_with_a_notice(key, value):
    page = "pages/conv2d.py"
    at = open_page(page, {key: value})
    assert not at.error, [e.value for e in at.error]
    assert f"{key}=" in _notice(at)
    assert "Step 1 of" in at.get("progress")[0].proto.text
    assert at.number_input(key=f"{page}/seed").value == 0
    assert at.number_input(key=f"{page}/input_shape/r").value == 3
    assert "FAIL" not in verdicts(at)


@pytest.mark.parametrize(
    "key,value,fits",
    [
        ("input_shape", "40x40", "(rows x columns, each 1 to 16, as in 3x4)"),
        ("step", "0", "(a whole number from 1 to 999)"),
        ("values", "everything", "(one of notes, integers, "),
        ("presenter", "yes", "(one of 0, 1)"),
    ],
)
def test_a_link_notice_says_what_would_fit(key, value, fits):
    at = open_page("pages/conv2d.py", {key: value})
    assert f"{key}={value!r} {fits}" in _notice(at)


def test_good_url_parameters_give_no_notice():
    at = open_page("pages/conv2d.py", {"step": "3", "seed": "12", "stride": "1x1"})
    assert not _notice(at)
    assert "Step 3 of" in at.get("progress")[0].proto.text


def _errors(at) -> str:
    return " ".join(e.value for e in at.error)


def _link_notes(at) -> str:
    return " ".join(i.value for i in at.info if "from the link" in i.value)


@pytest.mark.parametrize(
    "page,query,says",
    [
        # typed numbers that used to raise (ZeroDivisionError, OverflowError, "cannot convert
        # float infinity to integer") now get a message naming the matrix, the entry and a fix
        ("binary", {"op": "div", "N": "1e-320_1_1_1"}, "N: entry 1 is 1e-320, too close to 0"),
        ("binary", {"op": "div", "N": "1e308_1_1_1"}, "N: entry 1 is 1e308, too large"),
        ("elementwise", {"op": "log", "X": "1e-320_1_1_1"}, "too close to 0"),
        ("elementwise", {"op": "exp", "X": "1e308_1_1_1"}, "too large"),
        ("elementwise", {"op": "relu", "up": "inf_1_1_1"}, "up: entry 1 is “inf”"),
        ("elementwise", {"op": "relu", "up": "-inf_1_1_1"}, "not a number"),
        ("elementwise", {"op": "relu", "X": "1_2_3"}, "X: has 3 numbers where 2×2 needs 4"),
    ],
)
def test_numbers_a_link_cannot_carry_are_named(page, query, says):
    at = open_page(f"pages/{page}.py", {"values": "edit", "upstream": "edit", **query})
    assert says in _link_notes(at), _link_notes(at)
    assert not at.error and "FAIL" not in verdicts(at)


@pytest.mark.parametrize(
    "page,query,says",
    [
        ("elementwise", {"op": "exp", "X": "1000_1_1_1"}, "y₁₁ comes out as inf"),
        ("elementwise", {"op": "exp", "X": "800_1_1_1"}, "709"),
        ("softmax", {"f": "1000_0_0"}, ""),  # evaluated less the max: finite
        ("binary", {"op": "div", "N": "0_1_1_1"}, "n₁₁ = 0: every entry of N must be > 0"),
        ("elementwise", {"op": "log", "X": "-1_1_1_1"}, "x₁₁ = -1"),
        ("binary", {"op": "div", "N": "1e-12_1_1_1", "M": "1e6_1_1_1"}, ""),  # finite: no error
    ],
)
def test_numbers_that_overflow_say_where_and_the_page_keeps_working(page, query, says):
    at = open_page(f"pages/{page}.py", {"values": "edit", **query})
    if says:
        assert says in _errors(at), _errors(at)
        assert "Showing the last numbers that worked" in _errors(at)
    else:
        assert not at.error, _errors(at)
    assert "FAIL" not in verdicts(at)
    at.button(key=f"pages/{page}.py/next").click().run()  # the rest of the page still works
    assert not at.exception


def test_hand_typed_numbers_survive_a_reload_through_the_link():
    page = "pages/conv2d.py"
    q = {"values": "edit", "X": "1_2_3_4_5_6_7_8_9", "K": "1_0_0_-1", "b": "0.5"}
    at = open_page(page, {**q, "upstream": "edit", "up": "2_-1_0.25_1"})
    assert not at.error and not _link_notes(at)
    flat = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert flat["X"] == q["X"] and flat["K"] == q["K"] and flat["b"] == "0.5"
    assert flat["up"] == "2_-1_0.25_1"
    # ∂L/∂b = Σ ∂L/∂Z: the link's upstream is the one in use
    assert "FAIL" not in verdicts(at)
    d_b = [df.value for df in at.dataframe if "1" in df.value.columns]
    assert d_b  # the editors show the link's numbers
    again = open_page(page, flat)  # a new session opening the link it wrote
    assert dict(again.query_params)["X"] in (q["X"], [q["X"]])


@pytest.mark.parametrize("page", ["reductions", "softmax"])
def test_a_scalar_upstream_can_be_typed(page):
    at = open_page(f"pages/{page}.py", {"upstream": "edit", "up": "3"})
    assert not at.error and "FAIL" not in verdicts(at)
    assert dict(at.query_params)["up"] in ("3", ["3"])
    at.radio(key=f"pages/{page}.py/upsrc").set_value("random").run()
    assert "FAIL" not in verdicts(at)


def _latex(at) -> str:
    """Every formula on the page, alignment marks dropped (a long sum is an aligned block)."""
    return "\n".join(x.value.replace("&", "") for x in at.latex)


def _svgs(at) -> str:
    """The SVG of every heatmap on the page (each is a component; its data holds the SVG)."""
    return " ".join(
        json.loads(e.proto.json).get("svg", "")
        for e in _walk(at.main)
        if type(e).__name__ == "UnknownElement" and getattr(e.proto, "json", "")
    )


def test_a_pattern_step_works_the_pattern_through_with_numbers():
    page = "pages/conv2d.py"
    step = 10  # Pattern: ∂L/∂X = pad(∂L/∂Z) ⊛ rot180(K)
    at = open_page(page, {"step": str(step), "values": "edit", "X": "1_2_3_4_5_6_7_8_9"})
    assert "Pattern: ∂L/∂X" in " ".join(h.value for h in at.subheader)
    slider = at.select_slider(key=f"{page}/pat/{step - 1}/dX = pad(dZ) ⊛ rot180(K)/cell")
    assert slider.value == "0,0"
    tex = _latex(at)
    assert r"\frac{\partial L}{\partial x_{11}} = 0 \cdot k_{22} + 0 \cdot k_{21}" in tex
    assert 'aria-label="pad(∂L/∂Z)"' in _svgs(at) and 'aria-label="rot180(K)"' in _svgs(at)
    slider.set_value("1,1").run()  # the window slides to x₂₂: no padding in it any more
    tex = _latex(at)
    assert (
        r"\frac{\partial L}{\partial x_{22}} = \frac{\partial L}{\partial z_{11}} \cdot k_{22}"
        in tex
    )
    assert not at.exception and "FAIL" not in verdicts(at)


def test_a_binary_pattern_step_shows_both_gradients():
    page = "pages/binary.py"
    at = open_page(page, {"op": "mul", "step": "4"})
    choice = at.get("button_group")
    assert choice, "a choice between ∂J/∂M and ∂J/∂N"
    assert r"\frac{\partial J}{\partial m_{11}}" in _latex(at)
    at.session_state[f"{page}/pat/3"] = "dN pattern"
    at.run()
    assert r"\frac{\partial J}{\partial n_{11}}" in _latex(at)
    assert not at.exception


@pytest.mark.parametrize("page,step", [("dense", "4"), ("pooling", "5"), ("reductions", "3")])
def test_every_lesson_with_a_proven_pattern_draws_it(page, step):
    q = {"step": step} | ({"op": "avg_pool2d"} if page == "pooling" else {})
    at = open_page(f"pages/{page}.py", q)
    assert any("The pattern with your numbers" in m.value for m in at.markdown)
    assert not at.exception and not at.error


def test_softmax_shows_p_and_p_minus_onehot_with_the_numbers():
    at = open_page("pages/softmax.py", {"step": "6", "values": "edit", "f": "0_0_0"})
    svgs = _svgs(at)
    assert 'aria-label="p"' in svgs and 'aria-label="p − onehot(y)"' in svgs
    assert "p₁ − 1 = -0.666667" in svgs and "p₂ = 0.333333" in svgs
    assert r"\left(p - \mathrm{onehot}(y)\right)" in _latex(at)


def _walk(block):
    for child in getattr(block, "children", {}).values():
        yield child
        yield from _walk(child)


def test_the_notation_page_explains_w_x_against_x_w_and_links_to_dense():
    at = open_page("pages/notation.py")
    text = " ".join(m.value for m in at.markdown)
    assert "Why" in text and "Z = XW + b" in text and "transposed" in text
    links = [p.proto.page for p in at.get("page_link")]
    assert "dense" in links


def test_presenter_mode_is_kept_in_the_link_and_checked():
    page = "pages/conv2d.py"
    at = open_page(page, {"presenter": "1"})
    assert at.toggle(key=f"{page}/presenter").value is True
    assert dict(at.query_params)["presenter"] in ("1", ["1"])
    at.toggle(key=f"{page}/presenter").set_value(False).run()
    assert "presenter" not in dict(at.query_params)
    bad = open_page(page, {"presenter": "yes"})
    assert "presenter=" in _notice(bad) and bad.toggle(key=f"{page}/presenter").value is False


def test_previous_and_next_answer_the_arrow_keys():
    page = "pages/conv2d.py"
    at = open_page(page, {"step": "2"})
    assert at.button(key=f"{page}/prev").proto.shortcut.lower() == "left"
    assert at.button(key=f"{page}/next").proto.shortcut.lower() == "right"


@pytest.mark.parametrize("page", ["pages/conv2d.py", "pages/pooling.py", "pages/dense.py"])
def test_every_size_widget_shows_its_bounds(page):
    from derivations.param_kinds import Int, Pair
    from ui.registry import ops_on_page

    at = open_page(page)
    spec = ops_on_page(page)[0]
    shown = " ".join([m.value for m in at.sidebar.markdown] + [n.label for n in at.number_input])
    for p in spec.params:
        if type(p.kind) is Pair:  # an optional pair starts as "same as the window": no size shown
            assert f"**{p.label}** :gray[({int(p.lo)} to {int(p.hi)})]" in shown, p.name
        if isinstance(p.kind, Int):
            lo, hi = int(p.lo) + p.shown_from, int(p.hi) + p.shown_from
            assert f"{p.label} :gray[({lo} to {hi})]" in shown, p.name


@pytest.mark.parametrize("page", ["pages/mlp.py", "pages/cnn.py"])
def test_a_network_s_upstream_is_the_seed_one(page):
    """A network's output is the loss L itself, so its upstream is ∂L/∂L = 1; it was a random
    integer, and the page showed "∂L/∂L = −2". No upstream choice is offered, even by a link."""
    at = open_page(page, {"upstream": "random"})
    assert not [r for r in at.radio if r.key.endswith("/upsrc")]
    assert any("∂L/∂L = 1" in c.value for c in at.caption)
    tips = re.findall(r'data-tip="∂L/∂L = ([^"]+)"', _svgs(at))
    assert tips and set(tips) == {"1"}, tips
    assert "FAIL" not in verdicts(at)
