"""Element-wise ops and reductions refuse arrays past the engine's 2**28-element limit at once,
as conv and pooling do: a broadcast view of 4·10⁸ ones made sigmoid allocate
6.5 GB, and a sum over 2⁴⁰ of them ran for 282 s."""

import time

import numpy as np
import pytest

import engine

LIMIT = str(engine._checks.MAX_ELEMENTS)  # 268435456
BIG4 = np.broadcast_to(1.0, (1, 1, 20000, 20000))  # 4·10⁸ elements, no memory
HUGE = np.broadcast_to(1.0, (2**20, 2**20))  # 2⁴⁰
UNARY = ["relu", "sigmoid", "tanh", "exp", "log", "leaky_relu", "softplus"]
BINARY = ["add", "sub", "mul", "div"]


def _refused(call, fn: str, arg: str):
    t0 = time.perf_counter()
    with pytest.raises(ValueError) as exc:
        call()
    assert time.perf_counter() - t0 < 2, "took over 2 s: the size was not checked first"
    message = str(exc.value)
    assert message.startswith(f"{fn}: {arg} must have at most {LIMIT} elements"), message
    assert "2**28" in message


@pytest.mark.parametrize("op", UNARY)
def test_unary_ops_refuse_too_many_elements(op):
    _refused(lambda: getattr(engine, op)(BIG4), op, "x")
    small = np.ones((1, 1, 2, 2))
    _refused(lambda: getattr(engine, f"{op}_backward")(BIG4, BIG4), f"{op}_backward", "x")
    _refused(lambda: getattr(engine, f"{op}_backward")(BIG4, small), f"{op}_backward", "dy")


@pytest.mark.parametrize("op", BINARY)
def test_binary_ops_refuse_too_many_elements(op):
    _refused(lambda: getattr(engine, op)(BIG4, 2.0), op, "a")
    _refused(lambda: getattr(engine, op)(1.0, BIG4), op, "b")
    # two small arrays whose broadcast is 2³⁰
    col, row = np.ones((2**15, 1)), np.ones((1, 2**15))
    _refused(lambda: getattr(engine, op)(col, row), op, "the broadcast result of a and b")
    _refused(
        lambda: getattr(engine, f"{op}_backward")(np.ones((1, 1)), col, row),
        f"{op}_backward",
        "the broadcast result of a and b",
    )


@pytest.mark.parametrize("op", ["sum", "mean"])
def test_reductions_refuse_too_many_elements(op):
    _refused(lambda: getattr(engine, op)(HUGE), op, "x")
    _refused(lambda: getattr(engine, op)(BIG4, axis=(2, 3)), op, "x")
    _refused(lambda: getattr(engine, f"{op}_backward")(1.0, HUGE), f"{op}_backward", "x")
    _refused(lambda: engine.unbroadcast(HUGE, (1, 1)), "unbroadcast", "g")


def test_the_limit_itself_is_accepted():
    x = np.broadcast_to(0.5, (2**14, 2**14))  # exactly 2**28, as a view
    assert engine.sum(x[:4]) == 0.5 * 4 * 2**14  # below: works as before
    with pytest.raises(ValueError):
        engine.sum(np.broadcast_to(0.5, (2**14 + 1, 2**14)))
    engine.elementwise.limit("sum", "x", x.shape)  # 2**28 itself is allowed


@pytest.mark.parametrize("layer", ["ReLU", "Tanh", "Sigmoid"])
def test_an_activation_layer_names_a_ragged_input(layer):
    """np.ndim ran on the list first and raised numpy's own message, naming no layer."""
    from engine import nn

    with pytest.raises(ValueError, match=rf"{layer}\(\): x must be an array of numbers"):
        getattr(nn, layer)().forward([[1.0], [1.0, 2.0]])


def test_a_layer_refuses_too_many_elements_before_converting():
    """A float32 view of 2**29 elements was converted to float64 (4 GiB) before any check."""
    from engine import nn

    x = np.broadcast_to(np.float32(1), (2**15, 2**14))  # a view: no memory of its own
    with pytest.raises(ValueError, match=r"at most 268435456 elements.*\(32768, 16384\)"):
        nn.Linear(2**14, 2).forward(x)
