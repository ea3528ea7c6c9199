"""The parts of the "Computational graph" page that need no page: the
backward walk and its steps, the words, the drawing, the URL, the expected gradient for
practice, the verification, the bridge to the dense and softmax lessons. The page itself, and
practice's verdicts: tests/test_graph_page.py."""

from __future__ import annotations

import ast
import math
import pathlib
import random
import re

import numpy as np
import pytest
import sympy as sp

from derivations import derive, expression_graph
from mathtext.graph import expression_names
from mathtext.graph_steps import COMPLETE, PARTIAL, UNTOUCHED, contributions_to, walk
from mathtext.graph_symbolic import gradient_here, in_names, name_latex, name_symbols, structure
from mathtext.graph_text import computed, num, rule
from mathtext.numeric import evaluate as numeric
from tests.test_graph import NEURON, NEURON_VALUES, random_tree
from ui import graph_bridge, graph_check, graph_state
from ui.graph_dot import ASKED, FLOW, VISIT, page_dot, question_view, received_after, step_view

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
        w = re.findall(r"^  n\d+ \[.*width=([0-9.]+), label=<", dot, re.M)
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
            assert dot.count(VISIT) >= 2 and dot.count(f'penwidth=2, fontcolor="{FLOW}"') == len(
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
            assert not re.search(r"<(?!/?(b|br|font)\b)", m.group(1)), line


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
        "mathtext/graph_steps.py",
        "mathtext/graph_text.py",
        "mathtext/graph_symbolic.py",
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


def test_a_typed_number_is_judged_to_the_digits_the_graph_shows():
    """A saturated sigmoid's gradient, 4.54·10⁻⁵ on the graph, took a typed 0 as "Correct" (the
    tolerance was 10⁻⁴ absolute below 1); a gradient of 1,234,567, shown as 1.235·10⁶, refused
    the 1.235e6 the learner read off the graph (10⁻⁴ relative is finer than 4 digits)."""
    from ui import graph_practice

    g = expression_graph("sigmoid(x)", {"x": 10.0})
    x = next(n.id for n in g.nodes if n.label == "x")
    assert num(g.nodes[x].grad) == r"4.54 \cdot 10^{-5}"
    assert not graph_practice.verdict(g, x, "0")[0]
    assert not graph_practice.verdict(g, x, "0.00001")[0]
    assert graph_practice.verdict(g, x, "4.54e-5")[0]
    assert graph_practice.verdict(g, x, "0.0000454")[0]
    big = 1234567.0
    assert num(big) == r"1.235 \cdot 10^{6}"
    assert graph_practice.number_verdict(1.235e6, big)[0]
    assert not graph_practice.number_verdict(1.24e6, big)[0]
    assert graph_practice.number_verdict(0.7071, 1 / math.sqrt(2))[0]  # 4 decimals, as before
    assert not graph_practice.number_verdict(0.707, 1 / math.sqrt(2))[0]
    assert graph_practice.number_verdict(0.0, 0.0)[0]
