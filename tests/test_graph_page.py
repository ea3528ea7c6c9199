"""The "Computational graph" page: practice's verdicts on typed answers
(numbers, formulas, refused and hostile text), then the page through AppTest (defaults, every
example, stepping, shares added, bad and undefined input, the URL round trip, the link to the
dense lesson, practice). Its parts are tested in tests/test_graph_parts.py."""

from __future__ import annotations

import pathlib
import re
import time

import pytest
import sympy as sp

from derivations import expression_graph
from mathtext.graph_numbers import evaluate
from mathtext.graph_symbolic import name_symbols
from mathtext.graph_text import num
from tests.hostile import ALL, MARKER
from tests.test_graph import NEURON, NEURON_VALUES
from ui import graph_state
from ui.graph_dot import VISIT

ROOT = pathlib.Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- practice's verdicts


@pytest.fixture(scope="module")
def neuron():
    from workers import worker

    worker.run("parse", "1", {}, timeout=60)  # started and warm, however busy the machine
    yield expression_graph(NEURON, NEURON_VALUES)
    worker.shutdown()


@pytest.fixture
def session(monkeypatch):
    """A plain dict for st.session_state, where the practice code keeps the expected formula."""
    from ui import graph_practice

    ss: dict = {}
    monkeypatch.setattr(graph_practice.st, "session_state", ss)
    return ss


@pytest.mark.parametrize(
    "typed, correct",
    [("-1.5", True), ("-1.49999", True), ("-3/2", True), ("-1.4", False), ("1.5", False)],
)
def test_a_number_is_right_to_the_graphs_four_decimals(neuron, session, typed, correct):
    from ui.graph_practice import verdict

    ok, message, _, method = verdict(neuron, 0, typed)  # x1
    assert ok is correct and method in ("numeric", "different"), message


@pytest.mark.parametrize(
    "typed, correct, says",
    [
        ("w1*(1 - tanh(x1*w1 + x2*w2 + b)^2)", True, "Correct"),
        ("w1 - w1*tanh(x1*w1 + x2*w2 + b)**2", True, "Correct"),
        ("1 - tanh(x1*w1 + x2*w2 + b)^2", False, "At these numbers your formula gives 0.5"),
        ("x1*(1 - tanh(x1*w1 + x2*w2 + b)^2)", False, "Not quite"),
    ],
)
def test_a_formula_is_checked_by_the_lessons_checker(neuron, session, typed, correct, says):
    from ui.graph_practice import verdict

    ok, message, latex, method = verdict(neuron, 0, typed)
    assert ok is correct and says in message, message
    assert "v_{" not in latex and ("x_{1}" in latex or not latex)


@pytest.mark.parametrize(
    "reason, method, says",
    [("busy", "busy", "press Check again"), ("slow", "too complex", "type its value instead")],
)
def test_a_formula_the_worker_cannot_build_in_time_is_not_a_verdict(
    neuron, session, monkeypatch, reason, method, says
):
    from ui import graph_practice
    from workers import worker

    def late(*args, **kwargs):
        raise worker.Timeout(reason)

    monkeypatch.setattr(graph_practice.worker, "run", late)
    ok, message, _, got = graph_practice.verdict(neuron, 1, "x1*(1 - tanh(b)^2)")
    assert not ok and got == method and says in message and got not in graph_practice.SCORED
    assert graph_practice.verdict(neuron, 0, "-1.5")[0]  # a number needs no worker


def test_refused_text_gets_the_practice_box_message_within_a_second(neuron, session):
    from derivations import check_answer
    from ui.graph_practice import verdict

    names = name_symbols(neuron.names)
    expected = sp.Integer(1)
    texts = ["x1 +* 2", "foo*x1", "x1^y", "__import__('os')", "x" * 400, "x1 > 0", "x1^w1"]
    for typed in texts + ["1/0*x1", "x1 + log(-2)", "2x1", "x1^11"]:
        box = check_answer(typed, expected, names)  # the lessons' box, as it reads the text
        assert box.method == "unparsed", typed
        start = time.perf_counter()
        ok, message, _, method = verdict(neuron, 0, typed)
        assert time.perf_counter() - start < 1.0, typed
        assert not ok and method == "unparsed" and message == box.message, typed


@pytest.mark.parametrize("key, text", ALL, ids=[k for k, _ in ALL])
def test_hostile_answers_run_nothing(neuron, session, key, text, tmp_path, monkeypatch):
    from ui.graph_practice import verdict

    monkeypatch.chdir(tmp_path)
    start = time.perf_counter()
    ok, message, _, _ = verdict(neuron, 0, text)
    assert time.perf_counter() - start < 5  # a bound, not a benchmark
    assert not ok and 5 < len(message) < 600 and "Traceback" not in message
    assert not (tmp_path / MARKER).exists()


def test_hints_end_with_the_answer(neuron):
    from ui.graph_practice import hints

    for n in neuron.nodes[:-1]:
        h = hints(neuron, n.id)
        assert len(h) == 4 and h[-1].latex.endswith(num(n.grad))


def test_evaluate_agrees_with_the_graphs_values(neuron):
    assert evaluate(neuron.nodes, neuron.values) == [n.value for n in neuron.nodes]


# ---------------------------------------------------------------- the page, through AppTest

PAGE = "pages/graph.py"


def open_graph(query: dict | None = None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def progress(at) -> str:
    return at.get("progress")[0].proto.text


def charts(at) -> list[str]:
    return [c.proto.spec for c in at.get("graphviz_chart")]


def visited(dot: str) -> int | None:
    """The node a drawing highlights as visited (its table's header is the visit colour)."""
    m = re.search(rf'^  n(\d+) \[(?:group="main", )?fillcolor="{VISIT}"', dot, re.M)
    return int(m.group(1)) if m else None


def texts(at) -> str:
    return " ".join(m.value for m in at.markdown)


def values(at) -> dict:
    return {n.label: n.value for n in at.number_input}


def test_the_page_opens_on_micrograds_neuron():
    at = open_graph()
    assert [t.value for t in at.title] == ["Computational graph"] and not at.error
    assert at.text_input(key="graph/expr").value == NEURON
    assert values(at) == NEURON_VALUES
    assert progress(at) == "Step 1 of 7"
    main = charts(at)[0]
    assert main.count("label=<<b>") == 10 and "data 0.7071" in main and visited(main) is None
    assert "Forward pass" in texts(at) and "o = 0.7071" in " ".join(x.value for x in at.latex)
    assert any("pass" in s.value for s in at.subheader if s.value.startswith("Verification"))
    assert at.button(key="graph/prev").proto.shortcut.lower() == "left"
    assert at.button(key="graph/next").proto.shortcut.lower() == "right"


@pytest.mark.parametrize("example", graph_state.EXAMPLES, ids=lambda e: e.key)
def test_every_example(example):
    at = open_graph()
    at.selectbox(key="graph/example").set_value(example.key).run()
    assert not at.exception and not at.error
    assert at.text_input(key="graph/expr").value == example.text
    assert values(at) == example.values and progress(at).startswith("Step 1 of")
    g = expression_graph(example.text, example.values)
    assert charts(at)[0].count("label=<<b>") == len(g.nodes)
    assert ("Beside it" in texts(at)) == bool(example.beside)
    verdict = next(s.value for s in at.subheader if s.value.startswith("Verification"))
    assert "pass" in verdict


def test_stepping_visits_every_operation_and_ends_with_the_names():
    at = open_graph()
    g = expression_graph(NEURON, NEURON_VALUES)
    order = [i for i in g.backward_order if g.nodes[i].inputs]
    seen = []
    for k in range(2, 8):
        at.button(key="graph/next").click().run()
        assert progress(at) == f"Step {k} of 7"
        seen.append(visited(charts(at)[0]))
    assert seen == [*order, None]  # one operation a step, output first; then done
    assert "Done:" in texts(at) and at.button(key="graph/next").disabled
    for name in ("x1", "w1", "x2", "w2", "b"):
        assert f"`{name}`" in texts(at)
    at.button(key="graph/prev").click().run()
    assert progress(at) == "Step 6 of 7" and visited(charts(at)[0]) == order[-1]


def test_a_value_used_twice_shows_its_shares_being_added():
    at = open_graph({"expr": "(a*b)*(a + b)", "at": "a:-2;b:3", "step": "3"})
    said = texts(at)
    assert "share 1 of 2" in said and "Why the order matters" in said
    at.button(key="graph/next").click().run()
    said = texts(at)
    assert "with this last share its gradient is complete" in said
    assert "-6 + (-2) = -8" in said.replace("$", "") or "+ (-2) = -8" in said


def test_bad_text_is_named_and_nothing_else_is_lost():
    at = open_graph()
    at.number_input(key="graph/v/x1").set_value(1.25).run()
    at.text_input(key="graph/expr").set_value("x1 +* 2").run()
    assert not at.exception
    assert any("a * with nothing before it" in e.value for e in at.error)
    assert charts(at), "the last graph that worked is still drawn"
    link = {k: v if isinstance(v, str) else v[0] for k, v in dict(at.query_params).items()}
    assert link["expr"] == "x1 +* 2" and "x1:1.25" in link["at"]  # a reload finds them again
    at.text_input(key="graph/expr").set_value(NEURON).run()
    assert not at.error and values(at)["x1"] == 1.25 and values(at)["b"] == NEURON_VALUES["b"]


@pytest.mark.parametrize(
    "text, at_, says",
    [
        ("log(x - 3)", "x:1", "log(x - 3) is undefined at x = 1: the log of -2"),
        ("x/(y - 1)", "x:2;y:1", "it divides by 0"),
        ("exp(x)", "x:1000", "too large to work with"),
        ("+".join(["x"] * 81), "x:1", "the limit is 80"),
    ],
)
def test_undefined_values_are_named_and_never_drawn(text, at_, says):
    at = open_graph({"expr": text, "at": at_})
    assert any(says in e.value for e in at.error), [e.value for e in at.error]
    assert all("nan" not in c for c in charts(at))


def test_an_infinite_gradient_is_explained():
    at = open_graph({"expr": "sqrt(x) + y", "at": "x:0;y:1", "step": "9"})  # the last step
    warned = " ".join(w.value for w in at.warning)
    assert "sqrt′(α) = 1/(2√α) is infinite at α = 0" in warned and "nan" in warned
    assert "grad inf" in charts(at)[0]


def test_the_url_round_trips_and_garbage_gets_a_notice():
    at = open_graph()
    at.button(key="graph/next").click().run()
    at.button(key="graph/next").click().run()
    at.number_input(key="graph/v/w2").set_value(-0.75).run()
    query = {k: v if isinstance(v, str) else v[0] for k, v in dict(at.query_params).items()}
    assert query["expr"] == NEURON and query["step"] == "3" and "w2:-0.75" in query["at"]
    again = open_graph(query)
    assert progress(again) == "Step 3 of 7"
    assert values(again) == {**NEURON_VALUES, "w2": -0.75}
    bad = open_graph({"at": "x1:abc;w1:1", "step": "zz"})
    notice = " ".join(i.value for i in bad.info)
    assert "x1 is “abc”" in notice and "step='zz'" in notice
    assert values(bad)["w1"] == 1.0 and progress(bad) == "Step 1 of 7"


def test_the_neuron_links_to_the_dense_lesson_and_the_link_opens_cleanly():
    at = open_graph()
    links = [p for p in at.get("page_link") if "dense layer" in p.proto.label]
    assert links and "in_features=2" in links[0].proto.query_string
    query = dict(q.split("=", 1) for q in links[0].proto.query_string.split("&"))
    from urllib.parse import unquote

    from streamlit.testing.v1 import AppTest

    lesson = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for k, v in query.items():
        lesson.query_params[k] = unquote(v)
    lesson.run()
    lesson.switch_page("pages/dense.py").run()
    assert not lesson.exception and not lesson.error
    assert not any("Ignored from the link" in i.value for i in lesson.info)


def _answer(at, typed: str):
    box = next(t for t in at.text_input if t.key.endswith("/answer"))
    box.set_value(typed).run()
    check = next(b for b in at.button if b.key.endswith("/check"))
    check.click().run()
    assert not at.exception


def test_practice_is_drawn_once_opened_and_takes_right_and_wrong_answers():
    at = open_graph()
    assert len(charts(at)) == 1  # closed, its graph is not laid out in the browser
    at.session_state["graph/practice/open"] = True
    at.run()
    assert len(charts(at)) == 2 and "grad ?" in charts(at)[1]
    _answer(at, "2")
    assert any("Not quite" in e.value for e in at.error)
    _answer(at, "-1.5")
    assert any("Correct" in s.value for s in at.success)
    _answer(at, "w1*(1 - tanh(x1*w1 + x2*w2 + b)^2)")
    assert any("Correct" in s.value for s in at.success)
    _answer(at, "x1 +* 2")
    assert [w.value for w in at.warning] == [
        "`x1 +* 2`: a \\* with nothing before it, at character 5"
    ]  # said once (the verdict), not twice
    score = " ".join(c.value for c in at.caption if "Score" in c.value)
    assert "1 / 2" in score  # the first two checks count; a solved question's later ones not
