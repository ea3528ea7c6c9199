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
