"""AppTest of what a learner meets beyond the happy path: hostile links and values, the scalar
upstream, softmax's probabilities, the explorer's wording, and the settings a URL carries."""

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
        ("softmax", {"f": "1000_0_0"}, "comes out as nan"),
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


def test_the_notation_page_explains_w_x_against_x_w_and_links_to_dense():
    at = open_page("pages/notation.py")
    text = " ".join(m.value for m in at.markdown)
    assert "Why" in text and "Z = XW + b" in text and "transposed" in text
    links = [p.proto.page for p in at.get("page_link")]
    assert "dense" in links
