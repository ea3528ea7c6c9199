"""Your own element-wise function: ``derive("custom", f=..., shape=...)`` (its Math built in the
worker, its numbers without lambdify), the "text" parameter kind through the URL and the CLI,
and the page: the lesson and the verification for typed functions, a clear message where f is
undefined (and values where it is defined), a bad f refused with the parser's message while
every other setting is kept, and the hostile corpus typed into the f box."""

import re
import time
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from derivations import custom_op as C
from derivations import derive
from derivations.__main__ import main as cli
from derivations.param_kinds import Text
from tests.hostile import ALL, MARKER
from tests.test_app import verification_rows
from ui import custom as UC
from ui import urlstate
from ui.registry import OPS
from ui.values import random_values
from ui.verify import verify
from workers import worker

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGE = "pages/custom.py"
RERUN_BOUND = 30  # s for one rerun with a hostile f: a hang is the point, not speed
EXAMPLES = ["x**2*sin(x)", "log(1+exp(x))", "x*sigmoid(x)", "tanh(x)^2"]


pytestmark = pytest.mark.usefixtures("worker_up")  # tests/conftest.py


# ---------------------------------------------------------------- derive("custom")


def test_the_api():
    d = derive("custom", f="x**2*sin(x)", shape=(2, 3))
    assert d.op == "custom" and d.params == {"f": "x**2*sin(x)", "shape": (2, 3)}
    assert list(d.inputs) == ["X"] and d.inputs["X"].shape == (2, 3)
    x11, dy11 = d.inputs["X"][0, 0], d.upstream[0, 0]
    assert d.output[0, 0] == x11**2 * sp.sin(x11)
    assert (
        sp.expand(d.grads["X"][0, 0] - dy11 * (2 * x11 * sp.sin(x11) + x11**2 * sp.cos(x11))) == 0
    )
    assert all(ok for _, ok in d.checks)
    titles = [s.title for s in d.steps]
    assert titles[0] == "Setup" and titles[-1] == "Pattern: dX = dY ⊙ f′(X)"
    assert d.steps[-1].proven and "cos" in d.steps[1].latex
    assert d.typed


def test_long_derivatives_are_named_in_the_steps():
    from derivations.typeset import visible_len

    d = derive("custom", f="x**3*tanh(x)*exp(-x^2)", shape=(2, 2))
    assert d.partial_latex("X", (0, 1), (0, 1)) == r"f'\left(x_{12}\right)"
    assert "as step 2 writes it" in d.steps[3].text
    for s in d.steps[2:4]:  # the chain rule and every entry fit the lesson column
        assert max(visible_len(line) for line in s.latex.split(r" \\ ")) <= 40, s.latex
    short = derive("custom", f="tanh(x)^2", shape=(2, 2))
    assert r"\tanh" in short.partial_latex("X", (0, 0), (0, 0))


@pytest.mark.parametrize("f", EXAMPLES)
def test_numbers_equal_finite_differences(f):
    d = derive("custom", f=f, shape=(2, 2))
    rng = np.random.default_rng(0)
    xs, up = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    got = d.evaluate({"X": xs}, up)["X"]
    fx = lambda v: d.forward({"X": v})  # noqa: E731
    eps = 1e-6
    fd = np.zeros((2, 2))
    for i in np.ndindex(2, 2):
        e = np.zeros((2, 2))
        e[i] = eps
        fd[i] = np.sum(up * (fx(xs + e) - fx(xs - e))) / (2 * eps)
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)


def test_no_code_is_generated_from_the_typed_function(monkeypatch):
    d = derive("custom", f="x*sigmoid(x)", shape=(3, 3))

    def refuse(*a, **k):
        raise AssertionError("lambdify on a learner's expression")

    monkeypatch.setattr(sp, "lambdify", refuse)
    d.compile()
    vals = {"X": np.linspace(-1, 1, 9).reshape(3, 3)}
    assert np.all(np.isfinite(d.evaluate(vals, np.ones((3, 3)))["X"]))
    tex = d.chain_rule("X", (1, 1), vals, np.ones((3, 3)))
    assert tex.endswith("= 0.5")  # f′(0) = σ(0) = 1/2


@pytest.mark.parametrize(
    "f, message",
    [
        ("x +* 2", "a * with nothing before it"),
        ("q", "is not a name in this lesson"),
        ("2", "does not use x"),
        ("", "type a function of x"),
        ("__import__('os')", "__import__"),
    ],
)
def test_a_bad_f_is_a_value_error_with_the_parsers_message(f, message):
    for _ in range(2):  # the second time from the remembered failure, same message
        with pytest.raises(ValueError, match=re.escape(message)):
            derive("custom", f=f)


def test_bad_shapes_and_types():
    with pytest.raises(ValueError, match="larger than 16"):
        derive("custom", f="x", shape=(17, 2))
    with pytest.raises(ValueError, match="as text"):
        derive("custom", f=3)


# ---------------------------------------------------------------- the "text" parameter kind


def test_the_text_kind_in_the_url():
    p = next(p for p in OPS["custom"].params if p.name == "f")
    assert isinstance(p.kind, Text) and p.cli_flag == "f"
    assert urlstate.decode_value(p, "tanh(x)^2") == "tanh(x)^2"
    assert urlstate.decode_value(p, "__import__('os')") == "__import__('os')"  # text, not run
    assert urlstate.decode_value(p, "x" * 121) is None  # strictly bounded
    assert urlstate.decode_value(p, "") is None
    q = urlstate.encode(OPS["custom"], {"f": "x*sigmoid(x)", "shape": (2, 3)}, {})
    assert q["f"] == "x*sigmoid(x)" and q["shape"] == "2x3"


def test_the_cli_takes_f(capsys):
    assert cli(["custom", "--f", "x*sigmoid(x)", "--shape", "2x2", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert "Pattern: dX = dY ⊙ f′(X)" in out
    assert cli(["custom", "--f", "x +* 2"]) == 2
    assert "a * with nothing before it" in capsys.readouterr().err
    assert cli(["custom", "--f", "x" * 400]) == 2
    assert "at most 300 characters" in capsys.readouterr().err


# ---------------------------------------------------------------- the adapters


def test_kinks_and_domain():
    d = derive("custom", f="abs(x) + relu(x)", shape=(1, 3))
    assert "kink at x = 0 (row 1, column 2)" in UC.kink({"X": [[1.0, 0.0, -2.0]]}, d)
    assert UC.kink({"X": [[1.0, 0.5, -2.0]]}, d) == ""
    assert UC.kink({"X": [[0.0]]}, derive("custom", f="x^2", shape=(1, 1))) == ""


@pytest.mark.parametrize(
    "f,x,says",
    [
        # smooth but steep: the one-sided slopes differ by f″·h, which is not a kink
        ("1/x", 0.01, ""),
        ("exp(200*x)", 1.0, ""),
        ("exp(1000*x)", 0.5, ""),
        ("abs(x) + relu(x)", 0.0, "f has a kink at x = 0"),
        ("abs(x)", 5e-7, "slope changes within ε = 1e-06 of x = 5e-07"),  # a kink within ε
        ("sin(1e12*x)", 1.0, "faster than finite differences can follow"),
        ("sqrt(x)", 1e-4, "curves too sharply at x = 0.0001"),
        ("log(x)", 1.5e-6, "no finite value within 1e-05 of x = 1.5e-06"),  # steps leave x > 0
    ],
)
def test_finite_differences_are_judged_where_they_can_be(f, x, says):
    """A smooth f was called kinked where it is steep (1/x at 0.01): a student was told
    something false. Where the finite differences are fine the panel compares them and they
    agree; elsewhere it says why they are not compared, rather than show a ✗."""
    d = derive("custom", f=f, shape=(1, 2))
    values = {"X": np.array([[x, 0.25]])}
    why = UC.kink(values, d)
    assert (says in why) if says else why == "", why
    rows, _ = verify(OPS["custom"], d, values, np.ones((1, 2)), use_torch=False)
    fd = next(r for r in rows if r.method == "finite differences")
    assert fd.ok is (None if says else True), fd
    d = derive("custom", f="log(x)", shape=(2, 2))
    why = UC.undefined({"X": [[1.0, -2.0], [3.0, 4.0]]}, d)
    assert "log" in why and "row 1, column 2" in why
    fixed = UC.values_in_domain(OPS["custom"], d, {"X": np.array([[1.0, -2.0], [0.0, 4.0]])}, 0)
    assert fixed["X"].tolist() == [[1.0, 2.0], [1.0, 4.0]]
    d = derive("custom", f="log(-x)", shape=(1, 2))
    fixed = UC.values_in_domain(OPS["custom"], d, {"X": np.array([[1.0, 2.0]])}, 0)
    assert fixed["X"].tolist() == [[-1.0, -2.0]]
    d = derive("custom", f="sqrt(x - 100)", shape=(1, 1))
    assert UC.values_in_domain(OPS["custom"], d, {"X": np.array([[1.0]])}, 0) is None


# ---------------------------------------------------------------- the page (AppTest)


def open_page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def verdicts(at) -> dict:
    return {r["method"]: r["verdict"] for r in verification_rows(at)}


def set_f(at, text: str) -> None:
    at.text_input(key=f"{PAGE}/f").input(text).run()
    assert not at.exception, [e.value for e in at.exception]


def test_the_page_derives_each_example_and_verifies_it():
    at = open_page()
    assert at.title[0].value == "Your own function"
    for f in EXAMPLES:
        set_f(at, f)
        assert not at.error, (f, [e.value for e in at.error])
        rows = verdicts(at)
        assert set(rows) == {"symbolic (sympy)", "engine (numpy)", "finite differences"}, rows
        assert all(v == "pass" for v in rows.values()), (f, rows)
        at.button(key=f"{PAGE}/reverify").click().run()
        assert all(v == "pass" for v in verdicts(at).values()), f
    at.toggle(key=f"{PAGE}/all").set_value(True).run()
    text = " ".join(x.value for x in at.latex)
    assert r"dY \odot f'(X)" in text and r"\tanh" in text
    assert not at.exception


def test_where_f_is_undefined_the_page_says_so_and_shows_values_where_it_is_defined():
    at = open_page()
    at.radio(key=f"{PAGE}/source").set_value("integers").run()
    set_f(at, "log(x)")
    assert at.warning and "log(x) is undefined at x = " in at.warning[0].value
    assert "made positive (0 as 1)" in at.warning[0].value
    assert all(v == "pass" for v in verdicts(at).values())
    at.radio(key=f"{PAGE}/source").set_value("edit").run()
    at.button(key=f"{PAGE}/reverify").click().run()  # re-roll: random again
    assert not at.exception


def test_a_kink_makes_finite_differences_not_applicable():
    at = open_page({"f": "relu(x)", "values": "integers", "seed": "0", "shape": "4x4"})
    rows = verdicts(at)
    assert rows["symbolic (sympy)"] == "pass" and rows["engine (numpy)"] == "pass"
    d = derive("custom", f="relu(x)", shape=(4, 4))
    xs = random_values(d, "integers", 0)["X"]
    assert (xs == 0).any()  # the seed's integers hit relu's kink
    assert rows["finite differences"] == "n/a"
    assert "kink at x = 0" in " ".join(r["note"] for r in verification_rows(at))


def test_a_bad_f_keeps_every_other_setting():
    at = open_page()
    at.number_input(key=f"{PAGE}/shape/r").set_value(3).run()
    set_f(at, "tanh(x)^2")
    set_f(at, "x +* 2")
    assert at.error and "a * with nothing before it" in at.error[0].value
    assert "last settings that worked" in at.error[0].value
    assert at.number_input(key=f"{PAGE}/shape/r").value == 3
    assert at.text_input(key=f"{PAGE}/f").value == "x +* 2"  # what was typed stays
    assert all(v == "pass" for v in verdicts(at).values())
    set_f(at, "x^3")
    assert not at.error


def test_the_url_carries_the_function():
    at = open_page({"f": "tanh(x)^2", "shape": "3x2"})
    assert at.text_input(key=f"{PAGE}/f").value == "tanh(x)^2"
    assert at.number_input(key=f"{PAGE}/shape/r").value == 3
    flat = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert flat["f"] == "tanh(x)^2"
    at = open_page({"f": "x" * 500})
    assert at.text_input(key=f"{PAGE}/f").value == C.DEFAULT_F
    assert any("Ignored from the link" in i.value for i in at.info)


def test_practice_on_your_own_function():
    at = open_page({"f": "x**3", "shape": "2x2"})
    q = f"{PAGE}/practice/q/custom/X/1_2"
    at.multiselect(key=f"{PAGE}/practice/hidden").set_value(["0,1"]).run()
    at.text_input(key=f"{q}/answer").input("3*x12^2*dy12")
    at.button(key=f"{q}/check").click().run()
    assert at.session_state[q].verdict[0] is True, at.session_state[q].verdict


def test_the_hostile_corpus_typed_into_the_f_box(tmp_path, monkeypatch):
    """Each text gets a clear message within a generous bound (or, where it is a formula, a
    lesson); nothing it says is run; no exception; the shape and the seed stay."""
    worker.shutdown()
    C.clear_failures()
    monkeypatch.chdir(tmp_path)
    at = open_page()
    at.number_input(key=f"{PAGE}/shape/r").set_value(3).run()
    at.number_input(key=f"{PAGE}/seed").set_value(5).run()
    for ident, text in ALL:
        start = time.perf_counter()
        at.text_input(key=f"{PAGE}/f").input(text).run()
        elapsed = time.perf_counter() - start
        assert elapsed < RERUN_BOUND, (ident, elapsed)
        assert not at.exception, (ident, [e.value for e in at.exception])
        messages = [e.value for e in at.error]
        assert messages and "last settings that worked" in messages[0], (ident, messages)
        assert not (tmp_path / MARKER).exists() and not (ROOT / MARKER).exists(), ident
        assert at.number_input(key=f"{PAGE}/shape/r").value == 3
        assert at.number_input(key=f"{PAGE}/seed").value == 5
    assert all(v == "pass" for v in verdicts(at).values())
    set_f(at, "x*sigmoid(x)")
    assert not at.error and all(v == "pass" for v in verdicts(at).values())


@pytest.mark.parametrize("f", ["sqrt(x-100)", "log(-exp(x))", "sqrt(-1-x**2)"])
def test_a_function_undefined_at_every_value_tried_says_what_to_do(f):
    at = open_page({"f": f})
    errors = " ".join(e.value for e in at.error)
    assert "Something went wrong" not in errors, errors
    assert "overflows" not in errors  # a NaN is not an overflow
    assert any("type values where your function is defined" in i.value for i in at.info)
    assert at.text_input(key=f"{PAGE}/f").value == f  # the sidebar keeps what was typed
    set_f(at, "tanh(x)^2")  # and a good function brings the lesson back
    assert not at.error and "FAIL" not in verdicts(at).values()


def test_the_link_keeps_the_numbers_typed_where_f_is_undefined():
    q = {"f": "exp(exp(exp(x)))", "values": "edit", "X": "2_1_0_-1"}
    at = open_page(q)
    assert at.error and "made negative (0 as −1)" in at.error[0].value
    flat = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert flat["X"] == "2_1_0_-1" and flat["f"] == q["f"]
