"""A derivation sent from a worker (workers/transfer.py) arrives as the same derivation:
equal expressions, steps, patterns and numbers; rebuilt without sympy's constructors and
without compiling anything; and a typed function's lesson carries no code at all."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from derivations import derive
from workers import transfer

CASES = [
    ("conv2d", {"input_shape": (4, 4), "kernel_shape": (2, 2), "stride": 2, "padding": 1}),
    ("max_pool2d", {"input_shape": (4, 4), "kernel_size": (2, 2)}),
    ("softmax_cross_entropy", {"num_classes": 3, "target": 1}),
    ("sigmoid", {"shape": (2, 3)}),
    ("div", {"shape": (2, 2), "broadcast": "none"}),
    ("mlp", {"layer_sizes": (2, 3, 2), "activation": "tanh", "target": 0}),
]


def _numbers(d, seed=0):
    rng = np.random.default_rng(seed)
    values = {n: rng.uniform(0.5, 2.0, m.shape) for n, m in d.inputs.items()}
    return values, rng.normal(size=d.upstream.shape)


def _same(d, e):
    assert type(e) is type(d)
    assert e.output == d.output and e.grads == d.grads and e.jac == d.jac
    assert e.upstream == d.upstream and e.inputs == d.inputs
    assert [(s.title, s.latex, s.text, s.kind) for s in e.steps] == [
        (s.title, s.latex, s.text, s.kind) for s in d.steps
    ]
    assert e.checks == d.checks and list(e.patterns) == list(d.patterns)
    values, up = _numbers(d)
    want, got = d.evaluate(values, up), e.evaluate(values, up)
    for n in want:
        np.testing.assert_array_equal(got[n], want[n])
    name = next(iter(d.inputs))
    assert e.chain_rule(name, (0, 0), values, up) == d.chain_rule(name, (0, 0), values, up)


@pytest.mark.parametrize(("op", "params"), CASES, ids=[c[0] for c in CASES])
def test_a_derivation_arrives_whole(op, params):
    d = derive(op, **params).compile()
    _same(d, transfer.loads(transfer.dumps(d)))


def test_loading_builds_no_node_through_sympy(monkeypatch):
    """The point of it: no constructor asks its slow questions, nothing is compiled again."""
    d = derive("max_pool2d", input_shape=(4, 4), kernel_size=(2, 2), stride=1).compile()
    data = transfer.dumps(d)

    def forbidden(*args, **kwargs):
        raise AssertionError("sympy built a node while loading")

    for cls in (sp.Add, sp.Mul, sp.Pow, sp.Piecewise):
        monkeypatch.setattr(cls, "__new__", forbidden)
    monkeypatch.setattr(sp.Add, "flatten", forbidden)
    monkeypatch.setattr(sp, "lambdify", forbidden)
    e = transfer.loads(data)
    monkeypatch.undo()
    assert "_grad_fn" in e.__dict__  # the compiled function came along, ready
    _same(d, e)


def test_equal_subtrees_are_sent_once():
    x = sp.Symbol("x")
    big = sp.exp(sp.sin(x) + sp.cos(x) ** 2)
    copies = [transfer.loads(transfer.dumps(big)) for _ in range(50)]  # equal, distinct
    assert len({id(c) for c in copies}) > 1
    one, many = transfer.dumps([big]), transfer.dumps(copies)
    assert len(many) < len(one) + 50 * 8
    assert transfer.loads(many) == copies


def test_a_typed_functions_lesson_carries_no_code(monkeypatch):
    """Built as a worker builds a lesson, with lambdify unavailable: nothing typed is ever
    compiled, here or on the way."""
    from derivations import shared
    from workers import worker

    monkeypatch.setattr(sp, "lambdify", None)
    try:
        d = shared.lesson_here("custom", {"f": "x*sigmoid(x)", "shape": (2, 2)}, 37)
    finally:
        worker.shutdown()
    monkeypatch.undo()
    sent = []
    real = transfer._function_reduce
    monkeypatch.setattr(transfer, "_function_reduce", lambda fn: sent.append(fn) or real(fn))
    e = transfer.loads(transfer.dumps(d))
    assert sent == []  # its numbers come from the tree evaluator, rebuilt here
    assert "_grad_fn" not in e.__dict__
    _same(d, e)


@pytest.mark.parametrize(
    ("op", "params"),
    [
        ("conv2d", {"input_shape": (5, 4), "kernel_shape": (3, 2), "stride": 2, "padding": 1}),
        ("conv_transpose2d", {"input_shape": (3, 3), "kernel_shape": (2, 2), "stride": 2}),
        ("linear", {"batch": 2, "in_features": 3, "out_features": 2}),
    ],
)
def test_a_lessons_pattern_operands_come_compiled(op, params, monkeypatch):
    """The worker compiles each pattern's operands with the lesson: the app gets the numbers
    ui.patterns would compile, without running lambdify."""
    from derivations import shared
    from ui import patterns

    d = shared.lesson_here(op, params, 37)
    assert d.patterns
    e = transfer.loads(transfer.dumps(d))
    values, up = _numbers(d, seed=3)
    monkeypatch.setattr(sp, "lambdify", None)  # nothing compiles from here on
    got = {label: shared.operands(e, label)(values, up) for label in e.patterns}
    monkeypatch.undo()
    for label, p in d.patterns.items():
        want = patterns.compile_operands(d, p)(values, up)
        assert len(got[label]) == len(want)
        for g, w in zip(got[label], want, strict=True):
            np.testing.assert_array_equal(g, w)


def _registry_ops():
    from ui.registry import OPS

    return [(name, spec.defaults()) for name, spec in OPS.items() if name != "custom"]


@pytest.mark.parametrize(
    ("op", "params"), _registry_ops(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_lesson_at_its_defaults_is_built_and_travels(op, params):
    """What a worker does for each page (networks included, whose operands hold symbols of
    several layers and stay uncompiled)."""
    from derivations import shared

    d = shared.lesson_here(op, params, 37)
    _same(d, transfer.loads(transfer.dumps(d)))
