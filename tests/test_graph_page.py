"""The "Computational graph" page (issue 20 §2 and §3): the backward walk and its steps, the
drawing, the words, the URL, the expected gradient for practice, the verification, the bridge to
the dense and softmax lessons; then the page itself through AppTest (defaults, every example,
stepping, bad input, the URL round trip, practice)."""

from __future__ import annotations

import ast
import math
import pathlib
import random
import re
import time

import numpy as np
import pytest
import sympy as sp

from derivations import derive, expression_graph
from derivations.graph import expression_names
from derivations.graph_numbers import evaluate
from derivations.graph_steps import COMPLETE, PARTIAL, UNTOUCHED, contributions_to, walk
from derivations.graph_symbolic import gradient_here, in_names, name_latex, name_symbols, structure
from derivations.graph_text import computed, num, rule
from derivations.numeric import evaluate as numeric
from tests.hostile import ALL, MARKER
from tests.test_graph import NEURON, NEURON_VALUES, random_tree
from ui import graph_bridge, graph_check, graph_state
from ui.graph_dot import ASKED, VISIT, page_dot, question_view, received_after, step_view

ROOT = pathlib.Path(__file__).resolve().parent.parent


def random_graphs(seed: int, count: int):
    """Random expressions over every function of the grammar, at random numbers, where they
    are defined (tests.test_graph's trees, texts only)."""
    rng = random.Random(seed)
    found = 0
    while found < count:
        text, _ = random_tree(rng, rng.randint(1, 5))
        try:
            names = expression_names(text)
            g = expression_graph(text, {n: rng.uniform(-2, 2) for n in names})
        except ValueError:
            continue
        found += 1
        yield g


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


# ---------------------------------------------------------------- the walk


@pytest.mark.parametrize("seed", range(4))
def test_the_walk_ends_with_the_graphs_gradients_and_each_is_its_contributions(seed):
    for g in random_graphs(seed, 25):
        steps = walk(g)
        assert steps[0].kind == "forward" and steps[-1].kind == "done"
        assert all(v == 0 for v in steps[0].grads) and set(steps[0].states) == {UNTOUCHED}
        visited = [s.node for s in steps if s.kind == "visit"]
        assert visited == [i for i in g.backward_order if g.nodes[i].inputs]
        for n in g.nodes:
            assert same(steps[-1].grads[n.id], n.grad), (g.text, n.label)
            got = contributions_to(steps, n.id)
            assert len(got) == sum(m.inputs.count(n.id) for m in g.nodes)
            if got:  # the sum of what it received, in the order it received it: exactly
                assert same(got[-1].after, n.grad)
                for a, b in zip(got, got[1:], strict=False):
                    assert same(a.after, b.before)


def test_a_value_used_twice_gets_two_shares_added():
    g = expression_graph("x*x + x", {"x": 3.0})
    steps = walk(g)
    x = 0
    shares = [(c.before, c.value, c.after, c.use, c.uses) for c in contributions_to(steps, x)]
    assert shares == [(0.0, 1.0, 1.0, 1, 3), (1.0, 3.0, 4.0, 2, 3), (4.0, 3.0, 7.0, 3, 3)]
    after_plus = steps[1]
    assert after_plus.states[x] == PARTIAL and received_after(steps, 1)[x] == 1
    assert steps[2].states[x] == COMPLETE and steps[2].grads[x] == 7.0 == g.grads["x"]


def test_relu_below_zero_and_a_condition_pass_nothing():
    g = expression_graph("relu(x) + [x > 0]*y", {"x": -1.0, "y": 2.0})
    cs = [c for s in walk(g) for c in s.contributions]
    relu = next(c for c in cs if g.nodes[c.source].op == "relu")
    cond = [c for c in cs if g.nodes[c.source].op == "[>]"]
    assert relu.masked and relu.value == 0 and relu.after == relu.before
    assert cond and all(c.masked for c in cond)


def test_one_leaf_and_no_names():
    g = expression_graph("x", {"x": 2.0})
    steps = walk(g)
    assert [s.kind for s in steps] == ["forward", "done"] and steps[-1].grads == (1.0,)
    assert [s.kind for s in walk(expression_graph("2*3", {}))] == ["forward", "done"]


# ---------------------------------------------------------------- the words


@pytest.mark.parametrize("seed", range(3))
def test_every_rule_and_computation_ends_with_the_graphs_number(seed):
    for g in random_graphs(10 + seed, 25):
        for n in g.nodes:
            assert computed(g, n.id).endswith(num(n.value))
            for slot in range(len(n.inputs)):
                assert rule(g, n.id, slot).split(" = ")[-1] == num(n.local[slot])


def test_labels_never_go_into_the_formulas():
    g = expression_graph("tanh(secretname*w) + [secretname > 0]", {"secretname": 0.5, "w": 2.0})
    for n in g.nodes:
        texts = [computed(g, n.id)] + [rule(g, n.id, s) for s in range(len(n.inputs))]
        assert not any("secretname" in t for t in texts)


def test_numbers_in_formulas():
    assert [num(v) for v in (2.0, -3.0, 0.70710678, -0.0, 1e9, 2.5e-7)] == [
        "2",
        "-3",
        "0.7071",
        "0",
        r"1 \cdot 10^{9}",
        r"2.5 \cdot 10^{-7}",
    ]
    assert num(math.inf) == r"\infty" and num(math.nan) == r"\text{nan}"


# ---------------------------------------------------------------- the drawing


def test_the_drawing_keeps_its_layout_while_stepping_and_marks_the_visit():
    g = expression_graph(NEURON, NEURON_VALUES)
    steps = walk(g)
    widths = None
    for k, s in enumerate(steps):
        dot = page_dot(g, step_view(g, s, received_after(steps, k)))
        assert dot.startswith("digraph G {") and dot.rstrip().endswith("}")
        w = re.findall(r'<td width="(\d+)"', dot)
        assert len(w) == len(g.nodes)
        widths = widths or w
        assert w == widths  # the same sizes at every step: the layout does not jump
        assert "rankdir=LR" in dot
        ops = re.findall(r"^  (n\d+_op) \[", dot, re.M)
        assert ops == [f"n{n.id}_op" for n in g.nodes if n.inputs]
        edges = re.findall(r"^  (n\d+(?:_op)?) -> (n\d+(?:_op)?)", dot, re.M)
        want = {(f"n{k}", f"n{n.id}_op") for n in g.nodes for k in n.inputs}
        want |= {(f"n{n.id}_op", f"n{n.id}") for n in g.nodes if n.inputs}
        assert sorted(edges) == sorted(want)
        if s.kind == "visit":
            assert f"n{s.node}_op [label=" in dot or f"n{s.node}_op [" in dot
            assert dot.count(VISIT) >= 2 and dot.count("penwidth=2") == len(
                set(g.nodes[s.node].inputs)
            )
        else:
            assert VISIT not in dot


def test_partial_and_untouched_gradients_read_as_such():
    g = expression_graph("(a*b)*(a + b)", {"a": -2.0, "b": 3.0})
    steps = walk(g)
    dot = page_dot(g, step_view(g, steps[2], received_after(steps, 2)))
    assert "(1 of 2)" in dot and "grad 0<" in page_dot(
        g, step_view(g, steps[0], received_after(steps, 0))
    )
    final = page_dot(g, step_view(g, steps[-1], received_after(steps, len(steps) - 1)))
    assert "grad -3<" in final and "grad -8<" in final and "of 2)" not in final  # micrograd's


def test_labels_are_escaped_and_a_question_shows_its_mark():
    g = expression_graph("[x > 0] + [x <= 1]*y", {"x": 0.5, "y": 2.0})
    dot = page_dot(g, question_view(g, 0, {i for i in range(len(g.nodes)) if i > 0}))
    assert "[x &gt; 0]" in dot and "[x &lt;= 1]" in dot and "[x > 0]" not in dot
    assert "grad ?" in dot and ASKED in dot and "grad …" not in dot.split("grad ?")[1][:0]
    for line in dot.splitlines():
        m = re.search(r"label=<(.*)>\];$", line)
        if m:  # an HTML-like label: only tags and escaped text
            assert not re.search(r"<(?!/?(table|tr|td|b|font)\b)", m.group(1)), line


# ---------------------------------------------------------------- the URL and the examples


def test_the_url_round_trips_exactly():
    q = graph_state.encode(NEURON, NEURON_VALUES, 3)
    assert q["step"] == "4" and "b:6.881373587019543" in q["at"]
    got, notices = graph_state.decode(q)
    assert notices == [] and got == {"expr": NEURON, "values": NEURON_VALUES, "step": 3}


@pytest.mark.parametrize(
    "query, says",
    [
        ({"step": "0"}, "step='0'"),
        ({"step": "-2"}, "step="),
        ({"step": "1e3"}, "step="),
        ({"at": "x:1;y:zz"}, "y is “zz”"),
        ({"at": "x:1e400"}, "x is"),
        ({"at": "__import__:1"}, "not name:number"),
        ({"at": "x" * 5000}, "characters long"),
        ({"expr": "x" * 301}, "1 to 300 characters"),
        ({"expr": "   "}, "1 to 300 characters"),
    ],
)
def test_url_garbage_gets_a_notice(query, says):
    _, notices = graph_state.decode(query)
    assert any(says in n for n in notices), notices


def test_examples_build_and_are_recognised():
    for e in graph_state.EXAMPLES:
        g = expression_graph(e.text, e.values)
        assert graph_state.example_of(e.text.replace(" ", "")) is e
        if e.beside:
            other = expression_graph(e.beside, e.values)
            assert other.grads == pytest.approx(g.grads, rel=1e-12)
            assert other.nodes[-1].value == pytest.approx(g.nodes[-1].value, rel=1e-12)
    neuron = expression_graph(graph_state.DEFAULT.text, graph_state.DEFAULT.values)
    assert round(neuron.nodes[-1].value, 4) == 0.7071


# ---------------------------------------------------------------- practice's expected formula


@pytest.mark.parametrize("seed", range(3))
def test_the_expected_formula_is_the_graphs_gradient_at_its_numbers(seed):
    for g in random_graphs(20 + seed, 12):
        symbols = name_symbols(g.names)
        env = {symbols[n]: v for n, v in g.values.items()}
        for n in g.nodes:
            if not math.isfinite(n.grad):
                continue
            e = gradient_here(structure(g), n.id, list(symbols.values()))
            got = float(numeric(e, env)) if e.free_symbols else float(e)
            assert got == pytest.approx(n.grad, rel=1e-9, abs=1e-12), (g.text, n.label, e)


def test_names_become_symbols_of_a_fixed_pattern_and_print_as_typed():
    syms = name_symbols(("x1", "w_b", "bias"))
    assert [s.name for s in syms.values()] == ["v_{1}", "v_{2}", "v_{3}"]
    assert in_names(sp.latex(syms["x1"] * syms["w_b"] + syms["bias"]), ("x1", "w_b", "bias")) in (
        r"x_{1} \mathit{w\_b} + \mathit{bias}",
        r"\mathit{bias} + x_{1} \mathit{w\_b}",
    )
    assert name_latex("x12") == "x_{12}" and name_latex("b") == "b"


@pytest.mark.parametrize(
    "module",
    [
        "derivations/graph_steps.py",
        "derivations/graph_text.py",
        "derivations/graph_symbolic.py",
        "ui/graph_view.py",
        "ui/graph_practice.py",
        "ui/graph_steps_ui.py",
        "ui/graph_bridge.py",
        "ui/graph_check.py",
        "ui/graph_dot.py",
        "ui/graph_state.py",
    ],
)
def test_nothing_typed_is_run_or_made_a_symbol(module):
    tree = ast.parse((ROOT / module).read_text())
    forbidden = {"eval", "exec", "sympify", "parse_expr", "lambdify", "S", "__import__"}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        assert name not in forbidden, f"{module}:{node.lineno} calls {name}"
        if name in ("Symbol", "Dummy", "symbols"):
            arg = node.args[0]
            # a constant, or the one fixed pattern v_{k} with k a position (name_symbols)
            fixed = isinstance(arg, ast.JoinedStr) and ast.unparse(arg) == "f'v_{{{k + 1}}}'"
            assert isinstance(arg, ast.Constant) or fixed, f"{module}:{node.lineno}"


# ---------------------------------------------------------------- verification


@pytest.mark.parametrize("example", graph_state.EXAMPLES, ids=lambda e: e.key)
def test_the_examples_verify(example):
    rows = graph_check.verify(expression_graph(example.text, example.values))
    assert graph_check.passed(rows) and rows[1].ok is True


@pytest.mark.parametrize(
    "text, values, says",
    [
        ("relu(x)*y", {"x": 0.0, "y": 2.0}, "relu has a kink at 0"),
        ("[x > y]*x", {"x": 1.0, "y": 1.0}, "switches within"),
        ("sqrt(x) + y", {"x": 0.0, "y": 1.0}, "not a number"),
        ("log(x)", {"x": 1e-7}, "leaves where"),
    ],
)
def test_finite_differences_are_not_asked_where_they_cannot_measure(text, values, says):
    rows = graph_check.verify(expression_graph(text, values))
    fd = rows[1]
    assert fd.ok is None and says in fd.note and graph_check.passed(rows)


@pytest.mark.parametrize("seed", range(2))
def test_pytorch_agrees_on_random_expressions(seed):
    pytest.importorskip("torch")
    for g in random_graphs(40 + seed, 15):
        tg = graph_check.torch_grads(g)
        for n in g.names:
            assert graph_check.agree(g.grads[n], tg[n], 1e-9), (g.text, n)


def test_the_pytorch_column_is_left_out_without_torch(monkeypatch):
    monkeypatch.setattr(graph_check.torch_ref, "available", lambda: False)
    rows = graph_check.verify(expression_graph(NEURON, NEURON_VALUES))
    assert [r.method for r in rows] == ["graph (backward pass)", "finite differences"]


# ---------------------------------------------------------------- the bridge to the lessons


def lesson_numbers(op: str, query: dict):
    """What the lesson computes for a link: its parameters and numbers read from the URL as
    the lesson reads them, and its gradients (the derivation's, with the numbers put in)."""
    from ui import state, urlstate
    from ui.registry import OPS

    spec = OPS[op]
    params = spec.defaults() | urlstate.decode(spec, query)
    d = derive(op, **params)
    shapes = {n: m.shape for n, m in d.inputs.items()} | {"up": d.upstream.shape}
    found, notices = state.url_edits(query, shapes)
    assert notices == [] and set(found) == set(shapes), notices
    up = found.pop("up")
    return d, found, d.evaluate(found, up)


@pytest.mark.parametrize(
    "text",
    ["x1*w1 + x2*w2 + b", NEURON, "2*sigmoid(w1*x1 + w2*x2 + w3*x3) - 1", "x1*w1 + x2*w2"],
)
def test_a_neuron_links_to_the_dense_lesson_with_the_same_gradients(text):
    names = expression_names(text)
    g = expression_graph(text, {n: 0.3 + 0.7 * k * (-1) ** k for k, n in enumerate(names)})
    link = graph_bridge.neuron_link(g)
    assert link is not None and link.page.path == "pages/dense.py"
    d, values, grads = lesson_numbers("linear", link.query)
    xs = [n for n in names if n.startswith("x")]
    ws = [n for n in names if n.startswith("w")]
    assert d.params["in_features"] == len(xs) and d.params["batch"] == 1
    assert np.allclose(values["X"].ravel(), [g.values[n] for n in xs])
    assert np.allclose(grads["X"].ravel(), [g.grads[n] for n in xs], rtol=1e-12, atol=1e-15)
    assert np.allclose(grads["W"].ravel(), [g.grads[n] for n in ws], rtol=1e-12, atol=1e-15)
    if "b" in names:
        assert grads["b"][0, 0] == pytest.approx(g.grads["b"], rel=1e-12)


@pytest.mark.parametrize(
    "text", ["x1*w1 + x1*w2 + b", "x1*w1 + w1*x2 + b", "x1*w1*2 + b", "tanh(x1*w1 + b) + x1"]
)
def test_no_dense_link_where_the_numbers_would_not_match(text):
    names = expression_names(text)
    g = expression_graph(text, {n: 0.5 + k for k, n in enumerate(names)})
    assert graph_bridge.neuron_link(g) is None


@pytest.mark.parametrize(
    "text, target",
    [
        ("-log(exp(f1)/(exp(f1) + exp(f2) + exp(f3)))", 0),
        ("exp(f2)/(exp(f1) + exp(f2))", 1),
        ("3*log(exp(a)/(exp(c) + exp(b) + exp(a) + exp(d)))", 2),
    ],
)
def test_a_softmax_links_to_the_softmax_lesson_with_the_same_gradients(text, target):
    names = expression_names(text)
    g = expression_graph(text, {n: 0.4 * k - 0.6 for k, n in enumerate(names)})
    link = graph_bridge.softmax_link(g)
    assert link is not None and link.page.path == "pages/softmax.py"
    d, values, grads = lesson_numbers("softmax_cross_entropy", link.query)
    assert d.params["target"] == target
    order = [g.nodes[g.nodes[t].inputs[0]].label for t in _sum_terms_of_softmax(g)]
    assert np.allclose(grads["f"].ravel(), [g.grads[n] for n in order], rtol=1e-9, atol=1e-12)


def _sum_terms_of_softmax(g):
    p = next(n for n in reversed(g.nodes) if n.op == "/")
    return graph_bridge._sum_terms(g, p.inputs[1])


def test_no_softmax_link_for_other_fractions():
    for text in ("exp(a)/(exp(a) + b)", "exp(a)/(exp(b) + exp(c))", "exp(a)/(exp(a) + exp(a))"):
        names = expression_names(text)
        g = expression_graph(text, {n: 0.5 for n in names})
        assert graph_bridge.softmax_link(g) is None, text


# ---------------------------------------------------------------- practice's verdicts


@pytest.fixture(scope="module")
def neuron():
    from derivations import worker

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
    from derivations import worker
    from ui import graph_practice

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
    m = re.search(rf'^  n(\d+) \[.*?<td width="\d+" bgcolor="{VISIT}">', dot, re.M)
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
    assert main.count("<table") == 10 and "data 0.7071" in main and visited(main) is None
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
    assert charts(at)[0].count("<table") == len(g.nodes)
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
