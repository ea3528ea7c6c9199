"""expression_graph: the computational graph of a typed expression. Random
expression trees over every function of the grammar against PyTorch's autograd and finite
differences; micrograd's neuron; a name used twice; the structure; the DOT drawing; the
80-node limit; the practice box's messages; hostile text; undefined values; PyTorch's
conventions at the kinks."""

import ast
import math
import pathlib
import random
import re
import time

import numpy as np
import pytest
import sympy as sp

from derivations import expression_graph
from mathtext.grammar import FUNCTIONS
from mathtext.graph import MAX_GRAPH_NODES, MAX_NAME_LENGTH, MAX_NAMES, expression_names
from mathtext.graph_numbers import _UNARY
from mathtext.parse import parse_here
from tests.hostile import ALL, MARKER

try:
    import torch
except ImportError:  # the tests that need it skip (pytest.importorskip in each)
    torch = None

NEURON = "tanh(x1*w1 + x2*w2 + b)"
NEURON_VALUES = {"x1": 2.0, "x2": 0.0, "w1": -3.0, "w2": 1.0, "b": 6.8813735870195432}


def message(text, values) -> str:
    with pytest.raises(ValueError) as info:
        expression_graph(text, values)
    return str(info.value)


# ---------------------------------------------------------------- micrograd's examples


def test_the_micrograd_neuron():
    """The lecture's neuron: o = 0.7071, and the gradients it works out by hand."""
    g = expression_graph(NEURON, NEURON_VALUES)
    out = g.nodes[g.output]
    assert out.op == "tanh" and out.grad == 1.0
    assert out.value == pytest.approx(0.7071067811865476, abs=1e-15)
    want = {"x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0, "b": 0.5}
    assert list(g.grads) == list(want)  # in the order the names appear
    for name, grad in want.items():
        assert g.grads[name] == pytest.approx(grad, abs=1e-12), name
    by_label = {n.label: n for n in g.nodes}
    assert by_label["x1*w1"].value == -6.0 and by_label["x1*w1"].grad == pytest.approx(0.5)
    assert by_label["x1*w1 + x2*w2 + b"].value == pytest.approx(0.8813735870195432)
    assert len(g.nodes) == 10  # 5 inputs, 2 products, 2 sums, tanh


@pytest.mark.parametrize(
    "text, at, grad",
    [
        ("x*x", 3.0, 6.0),
        ("x + x", 3.0, 2.0),  # micrograd's `a + a`, whose grad = instead of += gave 1
        ("x*x*x", 2.0, 12.0),
        ("exp(x)*x - x", 0.0, 0.0),  # e^0 (x + 1) - 1
        ("tanh(x)*x", 0.5, math.tanh(0.5) + 0.5 * (1 - math.tanh(0.5) ** 2)),
    ],
)
def test_a_name_used_twice_is_one_leaf_and_its_gradients_add(text, at, grad):
    g = expression_graph(text, {"x": at})
    leaves = [n for n in g.nodes if n.op == "input"]
    assert [n.label for n in leaves] == ["x"]
    assert g.grads["x"] == pytest.approx(grad, rel=1e-12, abs=1e-15)
    assert leaves[0].grad == g.grads["x"]
    uses = sum(n.inputs.count(leaves[0].id) for n in g.nodes)
    assert uses == len(re.findall(r"\bx\b", text))


# ---------------------------------------------------------------- structure


STRUCTURES = [
    NEURON,
    "x*x",
    "+x",
    "2*3",
    "1/(1 + exp(-x))",
    "sigmoid(x) - 1/(1 + exp(-x))",
    "log(1 + exp(a)) * [a > 0] + relu(-a)^2",
    "((x^2)^(1/2) + abs(y)) / sqrt(y^2 + 1)",
]


@pytest.mark.parametrize("text", STRUCTURES)
def test_structure_topological_order_ids_and_backward_order(text):
    names = expression_names(text)
    g = expression_graph(text, {n: 0.7 + 0.3 * k for k, n in enumerate(names)})
    assert g.names == names
    assert isinstance(g.nodes, list)
    for i, n in enumerate(g.nodes):
        assert n.id == i
        assert all(isinstance(k, int) and 0 <= k < i for k in n.inputs)  # inputs come first
        assert isinstance(n.value, float) and math.isfinite(n.value)
        assert isinstance(n.grad, float) and isinstance(n.label, str) and n.label
        assert (n.op in ("input", "const")) == (not n.inputs)
        assert len(n.local) == len(n.inputs)
    assert g.nodes[g.output].grad == 1.0
    assert sorted(g.backward_order) == list(range(len(g.nodes)))
    assert g.backward_order[0] == g.output
    seen = {i: k for k, i in enumerate(g.backward_order)}
    for n in g.nodes:
        assert all(seen[n.id] < seen[k] for k in n.inputs)  # each node before its inputs
    inputs = [n for n in g.nodes if n.op == "input"]
    assert sorted(n.label for n in inputs) == sorted(names)  # one leaf per name
    assert g.grads == {n.label: n.grad for n in sorted(inputs, key=lambda n: names.index(n.label))}


def test_each_gradient_is_the_sum_of_local_derivative_times_the_gradient_above():
    g = expression_graph("x*y + sin(x)*y", {"x": 0.3, "y": -1.2})
    for n in g.nodes:
        if n.id == g.output:
            continue
        total = sum(
            m.local[k] * m.grad for m in g.nodes for k, i in enumerate(m.inputs) if i == n.id
        )
        assert n.grad == pytest.approx(total, rel=1e-15)


def test_number_parts_are_one_constant_leaf_labelled_as_typed():
    g = expression_graph("exp(1)*x + 2^-1 + [x > 1]", {"x": 2.0})
    consts = [(n.label, n.value) for n in g.nodes if n.op == "const"]
    assert consts == [("exp(1)", math.e), ("2^-1", 0.5), ("1", 1.0)]
    assert g.grads["x"] == pytest.approx(math.e)  # the condition passes no gradient
    whole = expression_graph("2*3", {})
    assert [(n.op, n.value) for n in whole.nodes] == [("const", 6.0)] and whole.grads == {}


def test_ops_labels_and_what_the_drawing_writes():
    g = expression_graph("-x^2 + x/y - [x >= y]*cos(y)", {"x": 1.5, "y": 0.5})
    ops = [(n.op, n.symbol) for n in g.nodes if n.inputs]
    assert ops == [
        ("**", "**2"),
        ("neg", "neg"),
        ("/", "/"),
        ("+", "+"),
        ("[>=]", "[>=]"),
        ("cos", "cos"),
        ("*", "*"),
        ("-", "-"),
    ]
    assert g.nodes[1].exponent == 2.0 and g.nodes[1].label == "x^2"
    assert g.nodes[g.output].value == pytest.approx(-(1.5**2) + 3 - math.cos(0.5))


# ---------------------------------------------------------------- the drawing

_NODE = re.compile(r'(n\d+(?:_op)?) \[((?:[a-z]+=(?:"(?:[^"\\]|\\.)*"|[a-z]+)(?:, )?)+)\];')
_EDGE = re.compile(r'(n\d+(?:_op)?) -> (n\d+(?:_op)?)(?: \[label="×(\d+)"\])?;')


def dot_parts(dot: str):
    """(nodes: name → attributes, edges: list of (from, to, uses)) of to_dot()'s output,
    failing on any line that is not one of its statements."""
    lines = dot.strip().splitlines()
    assert lines[0] == "digraph G {" and lines[-1] == "}"
    assert lines[1].strip() == "rankdir=LR;"
    nodes, edges = {}, []
    for line in lines[3:-1]:
        line = line.strip()
        if m := _NODE.fullmatch(line):
            assert m.group(1) not in nodes
            nodes[m.group(1)] = m.group(2)
        elif m := _EDGE.fullmatch(line):
            edges.append((m.group(1), m.group(2), int(m.group(3) or 1)))
        else:
            pytest.fail(f"not a DOT statement of the drawing: {line!r}")
    for a, b, _ in edges:
        assert a in nodes and b in nodes
    return nodes, edges


@pytest.mark.parametrize("text", STRUCTURES + ["x*x*y", "[x > y]*[x <= 2] + [y < x]"])
def test_dot_is_well_formed_with_every_node_and_one_edge_per_input_pair(text):
    names = expression_names(text)
    g = expression_graph(text, {n: 1.1 + k for k, n in enumerate(names)})
    nodes, edges = dot_parts(g.to_dot())
    ops = [n for n in g.nodes if n.inputs]
    assert set(nodes) == {f"n{n.id}" for n in g.nodes} | {f"n{n.id}_op" for n in ops}
    want = {(f"n{i}", f"n{n.id}_op", n.inputs.count(i)) for n in ops for i in n.inputs}
    want |= {(f"n{n.id}_op", f"n{n.id}", 1) for n in ops}
    assert sorted(edges) == sorted(want)  # no pair twice: x*x is one edge marked ×2
    for n in g.nodes:
        record = nodes[f"n{n.id}"]
        assert record.startswith('shape=record, label="{ ')
        data, grad = re.fullmatch(r'.* \| data (\S+) \| grad (\S+) }"', record).groups()
        for shown, value in ((data, n.value), (grad, n.grad)):
            assert float(shown) == pytest.approx(value, rel=1e-3, abs=1e-4)


def test_dot_escapes_what_records_would_read_as_fields():
    g = expression_graph("[x > 0] + [x <= 1]", {"x": 0.5})
    dot = g.to_dot()
    assert r"{ [x \> 0] | data" in dot and r"{ [x \<= 1] | data" in dot
    for line in dot.splitlines():
        if "shape=record" in line:
            field = line.split('label="{ ', 1)[1].rsplit(" | data", 1)[0]
            assert not re.search(r'(?<!\\)[<>{}|"]', field), line
    hi = g.to_dot(highlight=g.output)
    assert hi.count("fillcolor") == 2 and dot.count("fillcolor") == 0


def test_dot_writes_big_small_and_infinite_numbers_readably():
    g = expression_graph("sqrt(x) + y", {"x": 0.0, "y": 1e9})
    dot = g.to_dot()
    assert "data 1e+09" in dot and "grad inf" in dot


# ---------------------------------------------------------------- limits and bad input


def test_the_node_limit():
    ok = expression_graph("+".join(["x"] * MAX_GRAPH_NODES), {"x": 1.0})
    assert len(ok.nodes) == MAX_GRAPH_NODES and ok.grads["x"] == MAX_GRAPH_NODES
    start = time.perf_counter()
    text = "+".join(["x"] * (MAX_GRAPH_NODES + 1))
    got = message(text, {"x": 1.0})
    assert time.perf_counter() - start < 5  # a bound, not a benchmark: ~5 ms
    assert f"{MAX_GRAPH_NODES + 1} nodes" in got and f"the limit is {MAX_GRAPH_NODES}" in got
    with pytest.raises(ValueError, match=f"the limit is {MAX_GRAPH_NODES}"):
        expression_names(text)


@pytest.mark.parametrize(
    "values, fragments",
    [
        ({"x": 1.0}, ["no number for y"]),
        ({"x": 1.0, "y": 2.0, "z": 3.0}, ["'z'", "does not use"]),
        ({"x": 1.0, "z": 3.0}, ["no number for y", "'z'"]),
        ({}, ["no number for x, y"]),
        ({"x": 1.0, "y": "2"}, ["values['y'] must be a real number, got str"]),
        ({"x": 1.0, "y": True}, ["values['y'] must be a real number, got bool"]),
        ({"x": 1.0, "y": None}, ["values['y'] must be a real number"]),
        ({"x": 1.0, "y": 1j}, ["values['y'] must be a real number"]),
        ({"x": float("nan"), "y": 1.0}, ["values['x'] is nan", "finite"]),
        ({"x": 1.0, "y": -math.inf}, ["values['y'] is -inf"]),
        ([("x", 1.0), ("y", 2.0)], ["values must be a dict"]),
    ],
)
def test_missing_extra_and_bad_values_say_which(values, fragments):
    got = message("x*y", values)
    assert got.startswith("expression_graph: values")
    for f in fragments:
        assert f in got


def test_values_may_be_ints_and_numpy_numbers():
    g = expression_graph("x*y", {"x": 2, "y": np.float32(0.5)})
    assert g.nodes[g.output].value == 1.0 and g.values == {"x": 2.0, "y": 0.5}


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("_x + 1", "`_x` cannot be a name here"),
        ("a" * (MAX_NAME_LENGTH + 1), f"at most {MAX_NAME_LENGTH} characters"),
        ("+".join(f"v{k}" for k in range(MAX_NAMES + 1)), f"the limit is {MAX_GRAPH_NODES}"),
        ("lambda*2", "`lambda` is a Python keyword"),
        ("e^x", "for e to a power type exp(…) — you can use x"),
        ("pi", "`pi` is not a name in this lesson, at character 1; only finite numbers"),
        ("exp*2", "exp is a function: write exp(…)"),
        ("x*x(2)", "x is not a function, at character 3; to multiply, write x*(…)"),
        ("x(2)", "`x` is not a function you can use here"),  # no other use says x is a name
    ],
)
def test_names_are_identifiers_within_bounds(text, fragment):
    assert fragment in message(text, {})


def test_names_in_the_order_they_appear():
    assert expression_names("w1*x1_10 + learning_rate - w1 + B2") == (
        "w1",
        "x1_10",
        "learning_rate",
        "B2",
    )
    assert expression_names("2 + exp(1)") == ()
    many = expression_names("+".join(f"v{k}" for k in range(MAX_NAMES)))
    assert len(many) == MAX_NAMES == 40 and many[-1] == "v39"


# the practice box answers these otherwise, by design: here any identifier is a name (so the
# graph asks values for it, or reads 1j as 1 times j), identifiers are checked by the graph's
# own rule, there is no list of names to offer, and x/(x - x) is decided by the numbers
OWN_MESSAGE = {
    "eval-bare",
    "sympy-name",
    "unknown-name",
    "complex",
    "hex",
    "underscore-number",
    "dunder-name",
    "division-by-zero-symbolic",
    "nan",
    "inf",
}


@pytest.mark.parametrize("key, text", ALL, ids=[k for k, _ in ALL])
def test_hostile_text_is_refused_quickly_runs_nothing_and_reads_as_the_practice_box(
    key, text, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    start = time.perf_counter()
    got = message(text, {"x": 1.0})
    assert time.perf_counter() - start < 5  # a bound, not a benchmark: at most ~5 ms here
    assert 10 < len(got) < 400 and "Traceback" not in got
    assert not (tmp_path / MARKER).exists()
    if key not in OWN_MESSAGE:
        with pytest.raises(ValueError) as practice:
            parse_here(text, {"x": sp.Symbol("x")})
        assert got == str(practice.value)


@pytest.mark.parametrize(
    "text",
    [
        "x +* 2",
        "2x",
        "x^y",
        "x^0.123",
        "x^11",
        "x^(1/11)",
        "x^sqrt(2)",
        "(x + 1/0)",
        "x*log(0)",
        "x + sqrt(-1)",
        "x - exp(800)",
        "[x > 0 > 1]",
        "x, 2",
        "exp(x, 1)",
        "[x, x]",
        "x > 1",
        "((x^10)^5)^3",
        "x^2^3^2",
        "relu(x) + cosh(x)" if "cosh" not in FUNCTIONS else "relu(x) + cosh(x, x)",
    ],
)
def test_what_the_practice_box_refuses_gets_its_message(text):
    with pytest.raises(ValueError) as practice:
        parse_here(text, {"x": sp.Symbol("x"), "y": sp.Symbol("y")})
    assert message(text, {"x": 1.0, "y": 2.0}) == str(practice.value)


@pytest.mark.parametrize(
    "text, value",
    [
        ("sigmoid(" * 30 + "1" + ")" * 30 + "*x", 0.6590460684074066),
        ("tanh(" * 38 + "1" + ")" * 38 + "*x", 0.19364215922532113),
        ("relu(" * 35 + "0.5" + ")" * 35 + "+x", 1.5),
        ("((((((((((0.999999999999^10)^10)^10)^10)^10)^10)^10)^10)^10)^10)*x", 0.99004983),
        ("abs(" * 35 + "sin(1) - 0.8414709848078965" + ")" * 35 + "+x", 1.0),
    ],
)
def test_number_parts_that_keep_sympy_busy_are_worked_out_at_once(text, value):
    """sympy builds nested functions of a number as exact trees (twelve sigmoids of 1: 15 s)
    and powers of fractions digit by digit (the tenth power of powers here: hours); the graph
    keeps each number part one number."""
    start = time.perf_counter()
    g = expression_graph(text, {"x": 1.0})
    assert time.perf_counter() - start < 5  # a bound, not a benchmark: ~0.02 s
    assert g.nodes[g.output].value == pytest.approx(value, rel=1e-8)
    assert g.nodes[0].op == "const" and len(g.nodes) == 3


@pytest.mark.parametrize(
    "text, values, fragment",
    [
        ("log(x - 3)", {"x": 1}, "log(x - 3) is undefined at x = 1: the log of -2, a negative"),
        ("log(x − 3)", {"x": 3}, "log(x − 3) is undefined at x = 3: the log of 0"),
        ("x/(y - 1)", {"x": 2, "y": 1}, "x/(y - 1) is undefined at x = 2, y = 1: it divides by 0"),
        ("2 + sqrt(x)", {"x": -0.25}, "sqrt(x) is undefined at x = -0.25: the square root of"),
        ("x^-1", {"x": 0}, "x^-1 is undefined at x = 0: 0 to a negative power"),
        ("x^(1/3)", {"x": -8}, "x^(1/3) is undefined at x = -8: -8 to the power 1/3, a negative"),
        ("exp(x)", {"x": 1000}, "exp(x) is too large to work with at x = 1000"),
        (
            "x*y*y",
            {"x": 1e300, "y": 1e10},
            "x*y is too large to work with at x = 1e+300, y = 10000000000:",
        ),
        ("cos(x)/(x - x)", {"x": 0.5}, "it divides by 0"),
    ],
)
def test_undefined_values_are_named(text, values, fragment):
    got = message(text, values)
    assert fragment in got and "nan" not in got.lower()


# ---------------------------------------------------------------- against PyTorch

# the grammar's functions are torch's own names; the conditions are torch's comparisons
CONDITIONS = {">": "gt", ">=": "ge", "<": "lt", "<=": "le"}
POWERS = [("2", 2.0), ("3", 3.0), ("-1", -1.0), ("-2", -2.0), ("0.5", 0.5), ("(1/3)", 1 / 3)]
POWERS += [("(3/2)", 1.5), ("(-1/2)", -0.5)]
LEAVES = [("2", 2.0), ("0.5", 0.5), ("3", 3.0), ("1.5", 1.5), ("1e-1", 0.1)]
NAMES = ["x", "y", "w1", "b"]


def test_every_function_of_the_grammar_has_a_rule_and_a_pytorch_twin():
    pytest.importorskip("torch")
    assert set(FUNCTIONS) <= set(_UNARY)
    assert all(callable(getattr(torch, f, None)) for f in FUNCTIONS)


def random_tree(rng: random.Random, depth: int):
    """(text, builder): the text as a learner might type it, and a function building the same
    thing in torch from a dict of leaf tensors, appending every intermediate to a list."""
    if depth == 0 or rng.random() < 0.15:
        if rng.random() < 0.7:
            name = rng.choice(NAMES)
            return name, lambda env, seen: env[name]
        text, v = rng.choice(LEAVES)
        return text, lambda env, seen: torch.tensor(v, dtype=torch.float64)
    kind = rng.choice(["bin", "bin", "bin", "pow", "fn", "fn", "fn", "neg", "cond"])
    a, fa = random_tree(rng, depth - 1)
    if kind == "fn":
        name = rng.choice(sorted(FUNCTIONS))
        return f"{name}({a})", _record(lambda env, seen: getattr(torch, name)(fa(env, seen)))
    if kind == "neg":
        return f"-({a})", _record(lambda env, seen: -fa(env, seen))
    if kind == "pow":
        text, p = rng.choice(POWERS)
        caret = rng.choice(["^", "**"])
        return f"({a}){caret}{text}", _record(lambda env, seen: torch.pow(fa(env, seen), p))
    b, fb = random_tree(rng, depth - 1)
    if kind == "cond":
        op = rng.choice(sorted(CONDITIONS))
        cmp = getattr(torch, CONDITIONS[op])
        return f"[{a} {op} {b}]", _record(
            lambda env, seen: cmp(fa(env, seen), fb(env, seen)).to(torch.float64)
        )
    op = rng.choice(["+", "-", "*", "/"])
    typed = {"*": rng.choice(["*", "*", "×", "·"]), "-": rng.choice(["-", "-", "−"])}.get(op, op)
    f = {"+": torch.add, "-": torch.sub, "*": torch.mul, "/": torch.div}[op]
    return f"({a}) {typed} ({b})", _record(lambda env, seen: f(fa(env, seen), fb(env, seen)))


def _record(build):
    def run(env, seen):
        out = build(env, seen)
        seen.append(out)
        return out

    return run


def torch_run(build, values):
    env = {n: torch.tensor(v, dtype=torch.float64, requires_grad=True) for n, v in values.items()}
    seen: list = []
    out = build(env, seen)
    finite = all(bool(torch.isfinite(t).all()) for t in [*seen, out])
    if not out.requires_grad:
        return out.item(), {n: 0.0 for n in values}, finite
    out.backward()
    grads = {n: (t.grad.item() if t.grad is not None else 0.0) for n, t in env.items()}
    return out.item(), grads, finite


def cases(seed: int, count: int):
    rng = random.Random(seed)
    for _ in range(count):
        text, build = random_tree(rng, rng.randint(1, 6))
        if len(text) > 300:
            continue
        names = dict.fromkeys(n for n in re.findall(r"\w+", text) if n in NAMES)
        values = {n: rng.choice([rng.uniform(-2.5, 2.5), rng.uniform(-0.5, 0.5)]) for n in names}
        yield text, build, values


@pytest.mark.parametrize("seed", range(8))
def test_random_expressions_against_pytorch(seed):
    """Every function, operator, power and condition of the grammar, names used several times,
    typed with ^ or **, ×, · and −: the graph's value and gradients equal PyTorch's autograd
    (float64), and the graph refuses exactly where PyTorch meets a value that is not finite."""
    pytest.importorskip("torch")
    checked = refused = 0
    for text, build, values in cases(seed, 60):
        want, want_grads, finite = torch_run(build, values)
        try:
            g = expression_graph(text, values)
        except ValueError as exc:
            assert not finite, f"{text} at {values}: refused ({exc}) though PyTorch is finite"
            said = ("undefined", "too large", "divides by zero", "not a real number")
            assert any(w in str(exc) for w in said), str(exc)
            refused += 1
            continue
        assert finite, f"{text} at {values}: PyTorch meets inf or nan, the graph does not"
        assert g.nodes[g.output].value == pytest.approx(want, rel=1e-12, abs=1e-12), text
        for n in values:
            np.testing.assert_allclose(
                g.grads[n], want_grads[n], rtol=1e-9, atol=1e-9, err_msg=text
            )
        checked += 1
    assert checked >= 30, (checked, refused)


@pytest.mark.parametrize(
    "text, at",
    [("cosh(x)*x", 0.7), ("cosh(x - y)/y", -1.3), ("sign(x)*x^2", -0.4), ("sign(x - y)", 0.2)],
)
def test_cosh_and_sign_as_the_grammar_will_have_them(text, at, monkeypatch):
    """cosh and sign are being added to the grammar elsewhere: with them in FUNCTIONS the
    graph follows PyTorch (sign passes no gradient)."""
    pytest.importorskip("torch")
    from mathtext import grammar

    monkeypatch.setitem(grammar.FUNCTIONS, "cosh", sp.cosh)
    monkeypatch.setitem(grammar.FUNCTIONS, "sign", sp.sign)
    values = {"x": at, "y": 0.9} if "y" in text else {"x": at}
    env = {n: torch.tensor(v, dtype=torch.float64, requires_grad=True) for n, v in values.items()}
    x, y = env["x"], env.get("y")
    out = {
        "cosh(x)*x": lambda: torch.cosh(x) * x,
        "cosh(x - y)/y": lambda: torch.cosh(x - y) / y,
        "sign(x)*x^2": lambda: torch.sign(x) * x**2,
        "sign(x - y)": lambda: torch.sign(x - y),
    }[text]()
    g = expression_graph(text, values)
    assert g.nodes[g.output].value == pytest.approx(out.item(), rel=1e-14)
    if out.requires_grad:
        out.backward()
    for n, t in env.items():
        want = t.grad.item() if t.grad is not None else 0.0
        assert g.grads[n] == pytest.approx(want, rel=1e-12, abs=1e-15)


def finite_difference(text, values, name, h):
    def f(v):
        return expression_graph(text, {**values, name: v}).nodes[-1].value

    return (f(values[name] + h) - f(values[name] - h)) / (2 * h)


@pytest.mark.parametrize("seed", range(100, 104))
def test_random_expressions_against_finite_differences(seed):
    """Central differences with steps h and h/2: where they agree (no kink, jump or steep
    curve within h), they equal the graph's gradient."""
    compared = 0
    for text, _, values in cases(seed, 60):
        try:
            g = expression_graph(text, values)
        except ValueError:
            continue
        for n, v in values.items():
            h = 1e-5 * max(1.0, abs(v))
            try:
                fd = [finite_difference(text, values, n, s) for s in (h, h / 2)]
            except ValueError:
                continue  # undefined within h of the point
            scale = max(1.0, abs(fd[1]))
            if abs(fd[0] - fd[1]) > 1e-6 * scale:
                continue
            assert g.grads[n] == pytest.approx(fd[1], rel=1e-4, abs=1e-6), (text, n, values)
            compared += 1
    assert compared >= 40


@pytest.mark.parametrize(
    "text, at",
    [
        ("relu(x)", 0.0),
        ("abs(x)", 0.0),
        ("sqrt(x)", 0.0),
        ("x^0.5", 0.0),
        ("x^(3/2)", 0.0),
        ("sign(x)*x", 0.0),
        ("[x > 0]*x", 0.0),
        ("[x >= 0]*x", 0.0),
        ("relu(x)*sqrt(x)", 0.0),
        ("sqrt(x*x)", 0.0),
        ("(x^2)^0.5", 0.0),
        ("abs(sqrt(x))", 0.0),
        ("sqrt(x^0 - 1)", 2.0),  # x^0 passes no gradient, even an inf one
    ],
)
def test_kinks_follow_pytorch(text, at, monkeypatch):
    """Where a derivative does not exist: relu′(0) = 0, abs′(0) = 0, sqrt′(0) = inf, the
    conditions and sign pass nothing, and inf·0 gives nan exactly where PyTorch's does."""
    pytest.importorskip("torch")
    from mathtext import grammar

    monkeypatch.setitem(grammar.FUNCTIONS, "sign", sp.sign)  # in case it is not there yet
    g = expression_graph(text, {"x": at})
    x = torch.tensor(at, dtype=torch.float64, requires_grad=True)
    tree = ast.parse(text.replace("^", "**"), mode="eval")
    out = _torch_of(tree.body, x)
    out.backward()
    want = x.grad.item() if x.grad is not None else 0.0
    assert g.nodes[g.output].value == out.item()
    np.testing.assert_equal(g.grads["x"], want)  # inf and nan included


def _torch_of(node, x):
    """The few shapes of test_kinks_follow_pytorch's fixed texts, in torch (test code)."""
    if isinstance(node, ast.Name):
        return x
    if isinstance(node, ast.Constant):
        return torch.tensor(float(node.value), dtype=torch.float64)
    if isinstance(node, ast.Call):
        return getattr(torch, node.func.id)(_torch_of(node.args[0], x))
    if isinstance(node, ast.List):
        c = node.elts[0]
        cmp = {ast.Gt: torch.gt, ast.GtE: torch.ge}[type(c.ops[0])]
        return cmp(_torch_of(c.left, x), _torch_of(c.comparators[0], x)).to(torch.float64)
    left = _torch_of(node.left, x)
    if isinstance(node.op, ast.Pow):
        return torch.pow(left, _number(node.right))
    right = _torch_of(node.right, x)
    return left - right if isinstance(node.op, ast.Sub) else left * right


def _number(node) -> float:
    if isinstance(node, ast.BinOp):
        return _number(node.left) / _number(node.right)
    if isinstance(node, ast.UnaryOp):
        return -_number(node.operand)
    return float(node.value)


# ---------------------------------------------------------------- nothing typed is run


@pytest.mark.parametrize("module", ["graph.py", "graph_numbers.py"])
def test_no_eval_like_calls_and_no_symbol_from_text(module):
    path = pathlib.Path(__file__).parent.parent / "mathtext" / module
    tree = ast.parse(path.read_text())
    forbidden = {"eval", "exec", "compile", "sympify", "parse_expr", "lambdify", "S", "__import__"}
    methods = forbidden - {"compile", "__import__"}  # re.compile is fine
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name):
                name = f.id
                assert name not in forbidden, f"{module}:{node.lineno} calls {name}"
            else:
                name = getattr(f, "attr", "")
                assert name not in methods, f"{module}:{node.lineno} calls .{name}"
            if name in ("Symbol", "Dummy", "symbols"):
                assert all(isinstance(a, ast.Constant) for a in node.args), node.lineno
