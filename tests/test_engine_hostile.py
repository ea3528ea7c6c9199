"""Engine against hostile input: NaN and −∞ in max pooling, absurd sizes, wrong
argument types, and inputs that are not arrays, fed to every public function. The PyTorch
comparisons skip cleanly where torch is not installed."""

import inspect
import re
import time

import numpy as np
import pytest

import engine

NAN, INF = np.nan, np.inf


def _torch():
    return pytest.importorskip("torch")


def _id(v):
    """Test ids that read: an array by its shape, anything else as itself (short)."""
    if isinstance(v, np.ndarray):
        return "x" + "x".join(map(str, v.shape))
    return str(v).replace(" ", "")[:40]


# ---------------------------------------------------------------- max pooling: NaN and −∞

# (x, kwargs, expected output, expected gradient for an upstream of ones), checked against
# PyTorch 2.13 (see the torch tests below): a window holding NaN gives NaN and routes its
# gradient to its LAST NaN in row-major order (PyTorch's scan takes a NaN whenever it meets one);
# ties go to the first maximum; a window of −∞ goes to its first cell inside the input, never to
# the padding.
POOL_CASES = [
    ([[1, NAN], [NAN, 2]], dict(kernel_size=2), [[NAN]], [[0, 0], [1, 0]]),
    ([[NAN, 1], [3, NAN]], dict(kernel_size=2), [[NAN]], [[0, 0], [0, 1]]),
    ([[5, NAN], [5, 1]], dict(kernel_size=2), [[NAN]], [[0, 1], [0, 0]]),
    ([[5, 5], [5, 1]], dict(kernel_size=2), [[5]], [[1, 0], [0, 0]]),
    (
        [[-INF, -INF], [-INF, -INF]],
        dict(kernel_size=2, stride=1, padding=1),
        [[-INF] * 3] * 3,
        [[4, 2], [2, 1]],
    ),
    (
        [[-INF] * 3] * 3,
        dict(kernel_size=3, stride=2, padding=1, dilation=2),
        [[-INF]],
        [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    ),
    (
        [[NAN, -INF, 2], [-INF, NAN, 2], [2, 2, -INF]],
        dict(kernel_size=2, stride=1, padding=1),
        [[NAN, NAN, 2, 2], [NAN, NAN, NAN, 2], [2, NAN, NAN, 2], [2, 2, 2, -INF]],
        [[3, 0, 3], [0, 4, 1], [3, 1, 1]],
    ),
]


POOL_IDS = ["nan-twice", "nan-first-and-last", "nan-after-tie", "tie", "minus-inf-padded"]
POOL_IDS += ["minus-inf-dilated", "nan-and-minus-inf-padded"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("x,kw,out,grad", POOL_CASES, ids=POOL_IDS)
def test_max_pool_nan_and_minus_inf_route_as_pytorch(x, kw, out, grad, dtype):
    x = np.array(x, dtype=dtype)[None, None]
    y = engine.max_pool2d(x, **kw)
    np.testing.assert_array_equal(y[0, 0], np.array(out, dtype=dtype))
    dx = engine.max_pool2d_backward(np.ones_like(y), x, **kw)
    np.testing.assert_array_equal(dx[0, 0], np.array(grad, dtype=dtype))


@pytest.mark.parametrize("x,kw,out,grad", POOL_CASES, ids=POOL_IDS)
def test_max_pool_nan_and_minus_inf_cases_are_pytorchs(x, kw, out, grad):
    torch = _torch()
    t = torch.tensor(np.array(x, dtype=np.float64)[None, None], requires_grad=True)
    y = torch.nn.functional.max_pool2d(t, **kw)
    y.backward(torch.ones_like(y))
    np.testing.assert_array_equal(y.detach().numpy()[0, 0], out)
    np.testing.assert_array_equal(t.grad.numpy()[0, 0], grad)


def test_max_pool_gradient_is_exact_for_an_infinite_or_nan_upstream():
    # routed cells get dy itself; every other cell gets +0.0, never inf·0 = NaN
    x = np.array([[[[1.0, 2.0, 3.0, 4.0]]]])
    dy = np.array([[[[INF, NAN]]]])
    dx = engine.max_pool2d_backward(dy, x, (1, 2))
    np.testing.assert_array_equal(dx, [[[[0, INF, 0, NAN]]]])
    assert not np.signbit(engine.max_pool2d_backward(-np.ones((1, 1, 1, 2)), x, (1, 2))[0, 0, 0, 0])


def _windows_without_input(shape, kw, out_hw):
    """Whether some window holds no input cell at all (only padding): PyTorch then records an
    index outside the input and its backward writes out of bounds (into the next image)."""

    def pair(v):
        return (v, v) if isinstance(v, int) else v

    k, s, p, d = (pair(kw[n]) for n in ("kernel_size", "stride", "padding", "dilation"))
    return any(
        not any(0 <= o * s[a] + i * d[a] - p[a] < shape[a] for i in range(k[a]))
        for a in (0, 1)
        for o in range(out_hw[a])
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("seed", range(4))
def test_max_pool_matches_torch_on_nan_inf_and_ties(seed, dtype):
    """Random geometries over arrays of 0, ±1, ±0, NaN and ±∞: outputs equal (NaN where NaN),
    gradients equal up to the order in which overlapping windows add into a cell."""
    torch = _torch()
    F = torch.nn.functional
    rng = np.random.default_rng(seed)
    checked = 0
    while checked < 60:
        k = tuple(int(v) for v in rng.integers(1, 4, 2))
        kw = dict(
            kernel_size=k,
            stride=tuple(int(v) for v in rng.integers(1, 4, 2)),
            padding=tuple(int(rng.integers(0, kk // 2 + 1)) for kk in k),
            dilation=tuple(int(v) for v in rng.integers(1, 3, 2)),
        )
        if rng.random() < 0.3:  # the tiled fast path
            kw.update(stride=k, padding=0, dilation=1)
        hw = tuple(int(v) for v in rng.integers(1, 8, 2))
        values = [0.0, 1.0, -1.0, NAN, -INF, INF, -0.0]
        x = rng.choice(values, size=(2, 3, *hw), p=[0.25, 0.25, 0.2, 0.1, 0.1, 0.05, 0.05])
        x = x.astype(dtype)
        try:
            ty = F.max_pool2d(torch.tensor(x), **kw)
        except RuntimeError:
            continue
        if _windows_without_input(hw, kw, ty.shape[2:]):
            continue
        tx = torch.tensor(x, requires_grad=True)
        ty = F.max_pool2d(tx, **kw)
        dy = rng.standard_normal(tuple(ty.shape)).astype(dtype)
        ty.backward(torch.tensor(dy))
        y = engine.max_pool2d(x, **kw)
        np.testing.assert_array_equal(y, ty.detach().numpy(), err_msg=str(kw))
        tol = 1e-12 if dtype == np.float64 else 1e-5
        np.testing.assert_allclose(
            engine.max_pool2d_backward(dy, x, **kw), tx.grad.numpy(), rtol=tol, atol=tol
        )
        checked += 1


def test_a_window_of_padding_only_gives_minus_inf_and_no_gradient():
    # kernel 2, dilation 3, padding 1 on a 2-row input: the window reads rows −1 and 2, both
    # padding. PyTorch routes its gradient outside the input (into the next image); the engine
    # reports −∞ (padding counts as −∞) and drops the gradient.
    x = np.arange(8.0).reshape(2, 1, 2, 2)
    y = engine.max_pool2d(x, 2, stride=1, padding=1, dilation=3)
    assert y.shape == (2, 1, 1, 1) and np.all(y == -INF)
    dx = engine.max_pool2d_backward(np.ones_like(y), x, 2, stride=1, padding=1, dilation=3)
    assert not dx.any()


# ---------------------------------------------------------------- absurd sizes

LIMIT = str(engine._checks.MAX_ELEMENTS)  # 268435456: the message must say what the limit is
HUGE = [2**31, 2**40, 2**62, 2**63 - 1, 2**63, 2**100]
RNG = np.random.default_rng(12)
X = RNG.standard_normal((2, 2, 5, 5))
X1 = RNG.standard_normal((2, 2, 1, 1))
W = RNG.standard_normal((2, 2, 3, 3))
B = RNG.standard_normal(2)


def _quick(call):
    """Run call, returning its result or its ValueError; anything else (MemoryError,
    OverflowError) fails, and so does a call that takes over 5 s (a hang would take hours; the
    bound is generous so that a busy machine never fails it)."""
    t0 = time.perf_counter()
    try:
        out = call()
    except ValueError as exc:
        out = exc
    assert time.perf_counter() - t0 < 5, "took over 5 s"
    return out


def _grads(op, x, kw, dy=None):
    """(forward, all gradients) from the engine, every call checked by _quick."""
    if op in ("conv2d", "conv_transpose2d"):
        y = _quick(lambda: getattr(engine, op)(x, W, B, **kw))
        if isinstance(y, ValueError):
            return y, None
        dy = RNG.standard_normal(y.shape) if dy is None else dy
        return y, (dy, _quick(lambda: getattr(engine, op + "_backward")(dy, x, W, **kw)))
    y = _quick(lambda: getattr(engine, op)(x, **kw))
    if isinstance(y, ValueError):
        return y, None
    dy = RNG.standard_normal(y.shape) if dy is None else dy
    return y, (dy, (_quick(lambda: getattr(engine, op + "_backward")(dy, x, **kw)),))


def _torch_grads(op, x, kw, dy):
    torch = _torch()
    tx = torch.tensor(x, requires_grad=True)
    if op in ("conv2d", "conv_transpose2d"):
        tw, tb = torch.tensor(W, requires_grad=True), torch.tensor(B, requires_grad=True)
        y = getattr(torch.nn.functional, op)(tx, tw, tb, **kw)
        y.backward(torch.tensor(dy))
        return y.detach().numpy(), (tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy())
    y = getattr(torch.nn.functional, op)(tx, **kw)
    y.backward(torch.tensor(dy))
    return y.detach().numpy(), (tx.grad.numpy(),)


# (op, x, engine's parameters, an equivalent geometry PyTorch computes): a stride past the input
# gives one output whatever its size; a window of padding reads zeros at any padding; a
# dilation over padding only ever reads the centre tap. PyTorch refuses some of these sizes
# (int32 and int64 overflow), gives the answer for others; the engine must give it for all,
# quickly, or refuse with a ValueError.
EQUIVALENT = (
    [("conv2d", X, dict(stride=s), dict(stride=99)) for s in HUGE]
    + [("conv2d", X, dict(stride=s, padding=1), dict(stride=99, padding=1)) for s in HUGE]
    + [("conv2d", X, dict(stride=s, dilation=2), dict(stride=99, dilation=2)) for s in HUGE]
    + [("conv_transpose2d", X1, dict(stride=s), dict(stride=2)) for s in HUGE]
    + [
        ("max_pool2d", X, dict(kernel_size=2, stride=s), dict(kernel_size=2, stride=99))
        for s in HUGE
    ]
    + [
        ("avg_pool2d", X, dict(kernel_size=2, stride=s), dict(kernel_size=2, stride=99))
        for s in HUGE
    ]
    + [("conv2d", X, dict(padding=p, stride=4 * p), dict(padding=3, stride=99)) for p in HUGE]
    + [("conv2d", X, dict(padding=p, stride=p), dict(padding=9, stride=9)) for p in HUGE]
    + [("conv2d", X, dict(padding=d, dilation=d), dict(padding=9, dilation=9)) for d in HUGE]
    + [
        ("conv_transpose2d", X1, dict(padding=d, dilation=d), dict(padding=9, dilation=9))
        for d in HUGE
    ]
    + [("max_pool2d", X, dict(kernel_size=2 * p, padding=p), dict(kernel_size=5)) for p in HUGE]
)


@pytest.mark.parametrize("op,x,kw,same", EQUIVALENT, ids=_id)
def test_huge_sizes_give_pytorchs_answer_quickly(op, x, kw, same):
    y, grads = _grads(op, x, kw)
    assert not isinstance(y, ValueError), str(y)
    dy, ours = grads
    refs = [_torch_grads(op, x, same, dy)]
    try:  # and PyTorch at the same sizes, where it accepts them
        refs.append(_torch_grads(op, x, kw, dy))
    except (RuntimeError, ValueError):
        pass
    for ref_y, ref_grads in refs:
        np.testing.assert_allclose(y, ref_y, rtol=1e-12, atol=1e-12)
        for a, b in zip(ours, ref_grads, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("p", HUGE)
def test_a_huge_average_window_divides_by_its_whole_area(p):
    y, (dy, (dx,)) = _grads("avg_pool2d", X, dict(kernel_size=2 * p, padding=p))
    area = float(2 * p) ** 2
    np.testing.assert_allclose(y[:, :, 0, 0], X.sum(axis=(2, 3)) / area, rtol=1e-12)
    np.testing.assert_allclose(dx, np.broadcast_to(dy / area, X.shape), rtol=1e-12)


def test_a_window_too_big_to_count_in_floats_averages_to_zero():
    # 2**2200 cells: the mean of any finite window underflows to 0 (and float() would overflow)
    y, (_, (dx,)) = _grads("avg_pool2d", X, dict(kernel_size=2**1100, padding=2**1099))
    assert y.shape == (2, 2, 1, 1) and not y.any() and not dx.any()
    y, _ = _grads("max_pool2d", X, dict(kernel_size=2**1100, padding=2**1099))
    np.testing.assert_array_equal(y[:, :, 0, 0], X.max(axis=(2, 3)))


# absurd sizes: an output (or im2col matrix) past the element limit is refused, naming the limit
OVER_LIMIT = (
    [("conv2d", X, dict(padding=p)) for p in HUGE]
    + [("conv_transpose2d", X, dict(stride=s)) for s in HUGE]
    + [("conv_transpose2d", X1, dict(dilation=d)) for d in HUGE[1:]]
    + [("conv_transpose2d", X1, dict(stride=o + 1, output_padding=o)) for o in HUGE]
    + [("max_pool2d", X, dict(kernel_size=3, stride=1, padding=1, dilation=1))][:0]
)


@pytest.mark.parametrize("op,x,kw", OVER_LIMIT, ids=_id)
def test_absurd_outputs_are_refused_with_the_limit(op, x, kw):
    y, _ = _grads(op, x, kw)
    assert isinstance(y, ValueError)
    assert str(y).startswith(op + ":") and LIMIT in str(y)


def test_an_im2col_past_the_limit_is_refused_with_the_limit():
    # a 1×16384 kernel over a 1×32768 row: 16385 outputs of 16384 taps each
    y = _quick(lambda: engine.conv2d(np.ones((1, 1, 1, 2**15)), np.ones((1, 1, 1, 2**14))))
    assert isinstance(y, ValueError) and "im2col" in str(y) and LIMIT in str(y)


def test_a_kernel_far_larger_than_its_output_is_computed_quickly():
    # one output of 40000 taps: the band layout would copy the row 40000 times
    x, w = RNG.standard_normal((1, 1, 1, 40000)), RNG.standard_normal((1, 1, 1, 40000))
    y = _quick(lambda: engine.conv2d(x, w))
    np.testing.assert_allclose(y, np.sum(x * w).reshape(1, 1, 1, 1), rtol=1e-9)
    dx, dw, _ = _quick(lambda: engine.conv2d_backward(np.ones((1, 1, 1, 1)), x, w))
    np.testing.assert_allclose(dx, w)
    np.testing.assert_allclose(dw, x)


def test_global_pooling_of_a_big_input_is_quick():
    x = RNG.standard_normal((2, 3, 300, 300))
    y = _quick(lambda: engine.max_pool2d(x, 300))
    np.testing.assert_array_equal(y[:, :, 0, 0], x.max(axis=(2, 3)))
    dx = _quick(lambda: engine.max_pool2d_backward(np.ones_like(y), x, 300))
    assert dx.sum() == 6 and np.all(dx[x == x.max(axis=(2, 3), keepdims=True)] == 1)


@pytest.mark.parametrize("v", [-1, 0, -(2**70)])
@pytest.mark.parametrize(
    "op,arg,minimum",
    [
        ("conv2d", "stride", 1),
        ("conv2d", "padding", 0),
        ("conv2d", "dilation", 1),
        ("conv2d", "groups", 1),
        ("conv_transpose2d", "stride", 1),
        ("conv_transpose2d", "padding", 0),
        ("conv_transpose2d", "output_padding", 0),
        ("conv_transpose2d", "dilation", 1),
        ("conv_transpose2d", "groups", 1),
        ("max_pool2d", "kernel_size", 1),
        ("max_pool2d", "stride", 1),
        ("max_pool2d", "padding", 0),
        ("max_pool2d", "dilation", 1),
        ("avg_pool2d", "kernel_size", 1),
        ("avg_pool2d", "stride", 1),
        ("avg_pool2d", "padding", 0),
    ],
)
def test_negative_and_zero_sizes_are_refused_naming_the_argument(op, arg, minimum, v):
    if v >= minimum:
        return
    kw = {"kernel_size": 2} if "pool" in op else {}
    kw[arg] = v
    y, _ = _grads(op, X, kw)
    assert isinstance(y, ValueError) and str(y).startswith(f"{op}: {arg} must be")


@pytest.mark.parametrize("g", [2**40, 2**63 - 1, 2**70])
def test_huge_groups_are_refused(g):
    y, _ = _grads("conv2d", X, dict(groups=g))
    assert isinstance(y, ValueError) and "groups" in str(y)


def test_huge_dilation_without_padding_is_refused():
    for d in HUGE:
        y, _ = _grads("conv2d", X, dict(dilation=d))
        assert isinstance(y, ValueError) and str(y).startswith("conv2d: w must be a kernel no")


# ---------------------------------------------------------------- wrong exception types

WRONG = [
    (lambda: engine.softmax(np.ones(3), axis="a"), r"^softmax: axis must be an int"),
    (lambda: engine.softmax_backward(np.ones(3), np.ones(3), 1.5), r"^softmax_backward: axis"),
    (
        lambda: engine.cross_entropy_backward(np.ones((2, 3)), [0, 1], dloss=None),
        r"^cross_entropy_backward: dloss must be",
    ),
    (
        lambda: engine.cross_entropy_backward(np.ones((2, 3)), [0, 1], dloss=np.ones(2)),
        r"^cross_entropy_backward: dloss must be a single real number",
    ),
    (
        lambda: engine.gradcheck(engine.relu, {"x": np.ones(2)}, {"z": np.ones(2)}),
        r"^gradcheck: analytic must be keyed by names of inputs \['x'\], got 'z'",
    ),
    (
        lambda: engine.gradcheck(engine.relu, {"x": np.ones(2)}, {"x": np.ones(2)}, dy=np.ones(3)),
        r"^gradcheck: dy must be of shape \(2,\)",
    ),
    (
        lambda: engine.numeric_grad(engine.relu, {"x": np.ones(2)}, np.ones(2), eps=0),
        r"^numeric_grad: eps must be a positive finite step",
    ),
    (lambda: engine.numeric_grad("relu", {"x": np.ones(2)}, 1), r"^numeric_grad: forward must"),
    (
        lambda: engine.conv2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 0, 0))),
        r"^conv2d: w must be a kernel of at least 1×1",
    ),
    (
        lambda: engine.conv_transpose2d_backward(
            np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3)), np.ones((1, 1, 0, 2))
        ),
        r"^conv_transpose2d_backward: w must be a kernel of at least 1×1",
    ),
    (
        lambda: engine.conv2d(np.ones((1, 0, 3, 3)), np.ones((1, 0, 1, 1))),
        r"^conv2d: x and w must be at least one channel each",
    ),
    (lambda: engine.max_pool2d(np.ones((1, 1, 0, 3)), 1), r"^max_pool2d: x must be at least 1×1"),
    (
        lambda: engine.unbroadcast(np.ones((3, 4)), (5,)),
        r"^unbroadcast: shape must be a shape that broadcasts to g's shape \(3, 4\), got \(5,\)",
    ),
    (
        lambda: engine.unbroadcast(np.ones((3, 4)), (2, 3, 4)),
        r"^unbroadcast: shape must be a shape that broadcasts",
    ),
    (lambda: engine.unbroadcast(np.ones((3, 4)), "34"), r"^unbroadcast: shape must be a tuple"),
    (lambda: engine.unbroadcast(np.ones((3, 4)), (-1, 4)), r"^unbroadcast: shape must be a tuple"),
    (lambda: engine.sum(np.ones((2, 2)), axis="0"), r"^sum: axis must be"),
]


@pytest.mark.parametrize("call,message", WRONG, ids=[m[1:40] for _, m in WRONG])
def test_wrong_arguments_raise_a_value_error_naming_function_and_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_unbroadcast_still_sums_back_to_a_compatible_shape():
    g = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(engine.unbroadcast(g, (3, 1)), g.sum(axis=(0, 2))[:, None])
    np.testing.assert_array_equal(engine.unbroadcast(g, ()), g.sum())
    np.testing.assert_array_equal(engine.unbroadcast(g, [np.int64(4)]), g.sum(axis=(0, 1)))


# ---------------------------------------------------------------- every public function

R = np.random.default_rng(5)


def _a(*shape):
    return R.standard_normal(shape) + 2.0  # positive: log and div accept them


# name → (array arguments, int parameters, how to call). Array arguments are the data the
# function computes on; "target" holds class indices. Every function in engine.__all__ must be
# here, so a new op gets the same checks.
def _calls(fname, *arrays):
    """Call engine.<fname> with the named arrays in order and the parameters as keywords."""
    f = getattr(engine, fname)
    return lambda A, P: f(*(A[n] for n in arrays), **P)


S = {}
for _n in ("relu", "sigmoid", "tanh", "exp", "log", "leaky_relu", "softplus"):
    S[_n] = ({"x": _a(2, 3)}, {}, _calls(_n, "x"))
    S[_n + "_backward"] = ({"dy": _a(2, 3), "x": _a(2, 3)}, {}, _calls(_n + "_backward", "dy", "x"))
for _n in ("add", "sub", "mul", "div"):
    S[_n] = ({"a": _a(2, 3), "b": _a(3)}, {}, _calls(_n, "a", "b"))
    S[_n + "_backward"] = (
        {"dy": _a(2, 3), "a": _a(2, 3), "b": _a(3)},
        {},
        _calls(_n + "_backward", "dy", "a", "b"),
    )
for _n in ("sum", "mean"):
    S[_n] = ({"x": _a(2, 3, 4)}, {"axis": (0, 2)}, _calls(_n, "x"))
    S[_n + "_backward"] = (
        {"dy": _a(3), "x": _a(2, 3, 4)},
        {"axis": (0, 2)},
        _calls(_n + "_backward", "dy", "x"),
    )
_CONV = {"stride": (2, 1), "padding": 1, "dilation": (1, 2), "groups": 2}
S["conv2d"] = (
    {"x": _a(2, 4, 6, 7), "w": _a(4, 2, 3, 2), "b": _a(4)},
    _CONV,
    _calls("conv2d", "x", "w", "b"),
)
S["conv2d_backward"] = (
    {"dy": _a(2, 4, 3, 7), "x": _a(2, 4, 6, 7), "w": _a(4, 2, 3, 2)},
    _CONV,
    _calls("conv2d_backward", "dy", "x", "w"),
)
_CONVT = {**_CONV, "output_padding": (1, 0)}
S["conv_transpose2d"] = (
    {"x": _a(2, 4, 3, 4), "w": _a(4, 2, 3, 2), "b": _a(4)},
    _CONVT,
    _calls("conv_transpose2d", "x", "w", "b"),
)
S["conv_transpose2d_backward"] = (
    {"dy": _a(2, 4, 6, 4), "x": _a(2, 4, 3, 4), "w": _a(4, 2, 3, 2)},
    _CONVT,
    _calls("conv_transpose2d_backward", "dy", "x", "w"),
)
_MAXP = {"kernel_size": 3, "stride": (2, 1), "padding": 1, "dilation": (1, 2)}
S["max_pool2d"] = ({"x": _a(2, 3, 6, 7)}, _MAXP, _calls("max_pool2d", "x"))
S["max_pool2d_backward"] = (
    {"dy": _a(2, 3, 3, 5), "x": _a(2, 3, 6, 7)},
    _MAXP,
    _calls("max_pool2d_backward", "dy", "x"),
)
_AVGP = {"kernel_size": (3, 2), "stride": 2, "padding": (1, 0)}
S["avg_pool2d"] = ({"x": _a(2, 3, 6, 7)}, _AVGP, _calls("avg_pool2d", "x"))
S["avg_pool2d_backward"] = (
    {"dy": _a(2, 3, 3, 3), "x": _a(2, 3, 6, 7)},
    _AVGP,
    _calls("avg_pool2d_backward", "dy", "x"),
)
S["linear"] = ({"x": _a(4, 3), "w": _a(3, 2), "b": _a(2)}, {}, _calls("linear", "x", "w", "b"))
S["linear_backward"] = (
    {"dz": _a(4, 2), "x": _a(4, 3), "w": _a(3, 2)},
    {},
    _calls("linear_backward", "dz", "x", "w"),
)
S["softmax"] = ({"f": _a(3, 4)}, {"axis": 0}, _calls("softmax", "f"))
S["softmax_backward"] = (
    {"dy": _a(3, 4), "f": _a(3, 4)},
    {"axis": 0},
    _calls("softmax_backward", "dy", "f"),
)
S["cross_entropy"] = (
    {"logits": _a(3, 4), "target": np.array([0, 3, 1])},
    {},
    _calls("cross_entropy", "logits", "target"),
)
S["cross_entropy_backward"] = (
    {"logits": _a(3, 4), "target": np.array([0, 3, 1]), "dloss": np.array(0.7)},
    {},
    _calls("cross_entropy_backward", "logits", "target", "dloss"),
)
S["attention"] = (
    {"q": _a(2, 1, 4, 3), "k": _a(3, 5, 3), "v": _a(1, 5, 2)},
    {},
    _calls("attention", "q", "k", "v"),
)
S["attention_backward"] = (
    {"dy": _a(2, 3, 4, 2), "q": _a(2, 1, 4, 3), "k": _a(3, 5, 3), "v": _a(1, 5, 2)},
    {},
    _calls("attention_backward", "dy", "q", "k", "v"),
)
S["unbroadcast"] = ({"g": _a(2, 3, 4)}, {"shape": (3, 1)}, _calls("unbroadcast", "g"))
S["numeric_grad"] = (
    {"inputs['x']": _a(2, 3), "dy": _a(2, 3)},
    {},
    lambda A, P: engine.numeric_grad(engine.tanh, {"x": A["inputs['x']"]}, A["dy"]),
)
S["gradcheck"] = (
    {"inputs['x']": _a(2, 3), "analytic['x']": _a(2, 3), "dy": _a(2, 3)},
    {"seed": 3},
    lambda A, P: engine.gradcheck(
        engine.tanh, {"x": A["inputs['x']"]}, {"x": A["analytic['x']"]}, A["dy"], **P
    ),
)
S["batch_norm"] = (
    {"x": _a(3, 2, 2, 3), "weight": _a(2), "bias": _a(2)},
    {},
    _calls("batch_norm", "x", "weight", "bias"),
)
S["batch_norm_backward"] = (
    {"dy": _a(3, 2, 2, 3), "x": _a(3, 2, 2, 3), "weight": _a(2)},
    {},
    _calls("batch_norm_backward", "dy", "x", "weight"),
)
S["layer_norm"] = (
    {"x": _a(2, 3, 4), "weight": _a(3, 4), "bias": _a(3, 4)},
    {"normalized_shape": (3, 4)},
    lambda A, P: engine.layer_norm(A["x"], weight=A["weight"], bias=A["bias"], **P),
)
S["layer_norm_backward"] = (
    {"dy": _a(2, 3, 4), "x": _a(2, 3, 4), "weight": _a(3, 4)},
    {"normalized_shape": (3, 4)},
    lambda A, P: engine.layer_norm_backward(A["dy"], A["x"], weight=A["weight"], **P),
)
INDEX_ARGS = {"target"}  # class indices: integers only
OPTIONAL = {("conv2d", "b"), ("conv_transpose2d", "b"), ("linear", "b"), ("gradcheck", "dy")}
OPTIONAL |= {(f, a) for f in S if "norm" in f for a in ("weight", "bias")}


def _same(a, b):
    if isinstance(a, engine.GradcheckResult):
        assert (a.ok, a.max_abs_error, a.worst_input, a.worst_index) == (
            b.ok,
            b.max_abs_error,
            b.worst_input,
            b.worst_index,
        )
        a, b = a.numeric, b.numeric
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        a, b = list(a.values()), list(b.values())
    if isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for u, v in zip(a, b, strict=True):
            _same(u, v)
        return
    np.testing.assert_array_equal(a, b)
    assert np.asarray(a).dtype == np.asarray(b).dtype


def _call(name, arrays=None, params=None):
    A, P, call = S[name]
    return call({**A, **(arrays or {})}, {**P, **(params or {})})


def test_every_public_function_is_in_the_table():
    public = {n for n in engine.__all__ if inspect.isfunction(getattr(engine, n))}
    assert public == set(S), "add the new function to S (its arrays, parameters and a call)"


ARRAY_ARGS = [(n, a) for n in sorted(S) for a in S[n][0]]


@pytest.mark.parametrize("name,arg", ARRAY_ARGS, ids=[f"{n}-{a}" for n, a in ARRAY_ARGS])
def test_nested_lists_give_the_same_result_as_arrays(name, arg):
    _same(_call(name, {arg: S[name][0][arg].tolist()}), _call(name))


NOT_NUMBERS = {
    "strings": lambda a: np.full(a.shape, "1.5").tolist(),
    "None": lambda a: None,
    "objects": lambda a: np.array(a.tolist(), dtype=object),
    "complex": lambda a: a.astype(complex),
    "bytes": lambda a: np.full(a.shape, b"1"),
    "ragged": lambda a: [[1.0, 2.0], [3.0]],
}


@pytest.mark.parametrize("bad", NOT_NUMBERS)
@pytest.mark.parametrize("name,arg", ARRAY_ARGS, ids=[f"{n}-{a}" for n, a in ARRAY_ARGS])
def test_non_numbers_are_refused_naming_function_and_argument(name, arg, bad):
    if bad == "None" and (name, arg) in OPTIONAL:
        return  # None means "no bias" (or "a random upstream"): tested by the calls above
    with pytest.raises(ValueError, match=rf"^{name}: {re.escape(arg)} must be"):
        _call(name, {arg: NOT_NUMBERS[bad](S[name][0][arg])})


@pytest.mark.parametrize("name,arg", ARRAY_ARGS, ids=[f"{n}-{a}" for n, a in ARRAY_ARGS])
def test_bool_arrays_are_numbers_0_and_1_except_as_class_indices(name, arg):
    """The engine's rule (README, conventions): a bool array is the numbers 0 and 1, as numpy
    and Python count them, and becomes float64 like an int array. PyTorch refuses bool tensors
    in float ops; the engine takes any real numbers. Class indices must be integers: a bool
    array there is a mask passed by mistake, and is refused."""
    ones = np.ones(np.shape(S[name][0][arg]), dtype=bool)
    if arg in INDEX_ARGS:
        with pytest.raises(ValueError, match=rf"^{name}: {arg} must be integer class indices"):
            _call(name, {arg: ones})
        return
    _same(_call(name, {arg: ones}), _call(name, {arg: ones.astype(np.float64)}))


def _as_np_ints(v):
    if isinstance(v, tuple):
        return tuple(np.int64(e) for e in v)
    return np.int64(v) if isinstance(v, int) else v


INT_PARAMS = [(n, p) for n in sorted(S) for p in S[n][1]]


@pytest.mark.parametrize("name,param", INT_PARAMS, ids=[f"{n}-{p}" for n, p in INT_PARAMS])
def test_numpy_int_parameters_give_the_same_result_as_ints(name, param):
    v = S[name][1][param]
    _same(_call(name, params={param: _as_np_ints(v)}), _call(name))
    if isinstance(v, tuple):  # a list works as a tuple
        _same(_call(name, params={param: list(v)}), _call(name))


@pytest.mark.parametrize("name,param", INT_PARAMS, ids=[f"{n}-{p}" for n, p in INT_PARAMS])
@pytest.mark.parametrize("bad", [True, 1.0, "2", None, np.float64(2.0), np.bool_(True)])
def test_parameters_that_are_not_ints_are_refused_naming_them(name, param, bad):
    if bad is None and (param == "axis" or (param == "stride" and "pool" in name)):
        return  # None means every axis, or a stride of the kernel size
    v = S[name][1][param]
    bad = tuple(bad for _ in v) if isinstance(v, tuple) and param != "shape" else bad
    with pytest.raises(ValueError, match=rf"^{name}: {param} must be"):
        _call(name, params={param: bad})


def _arrays(result):
    if isinstance(result, engine.GradcheckResult):
        result = result.numeric
    if isinstance(result, dict):
        result = list(result.values())
    return [np.asarray(r) for r in (result if isinstance(result, (tuple, list)) else [result])]


@pytest.mark.parametrize("name", sorted(S))
def test_results_survive_later_calls(name):
    """Ops reuse scratch memory from call to call (engine/_scratch.py); what they return must
    never be part of it."""
    first = _call(name)
    kept = [a.copy() for a in _arrays(first)]
    for other in ("conv2d_backward", "conv_transpose2d_backward", "max_pool2d_backward", name):
        _call(other, {k: v * 0.5 + 0.25 for k, v in S[other][0].items() if k != "target"})
    for a, b in zip(_arrays(first), kept, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "op,kw",
    [
        ("conv2d", dict(padding=1)),
        ("conv_transpose2d", dict(stride=2)),
        ("max_pool2d", dict(kernel_size=2)),
        ("avg_pool2d", dict(kernel_size=2)),
    ],
)
def test_an_empty_batch_gives_empty_outputs_as_in_pytorch(op, kw):
    x = np.zeros((0, 2, 5, 5))
    y, (dy, grads) = _grads(op, x, kw)
    ref_y, ref_grads = _torch_grads(op, x, kw, dy)
    assert y.shape == ref_y.shape
    for a, b in zip(grads, ref_grads, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("op", ["conv2d", "conv_transpose2d"])
@pytest.mark.parametrize("cout,n,padding,stride", [(1, 1, 0, 1), (1, 2, 2, 1), (2, 1, 1, 2)])
def test_a_convolution_never_returns_scratch_memory(op, cout, n, padding, stride):
    """With one output channel and no junk columns, the column layout's output is already
    C-contiguous, and np.ascontiguousarray handed back the scratch array itself: the next op
    overwrote it (two stacked Conv2d layers then had wrong gradients)."""
    rng = np.random.default_rng(cout * 10 + n)
    x = rng.standard_normal((n, 2, 5, 4))
    w = rng.standard_normal((2, cout, 3, 3) if op == "conv_transpose2d" else (cout, 2, 3, 3))
    y = getattr(engine, op)(x, w, stride=stride, padding=padding)
    kept = y.copy()
    for _ in range(2):  # other convolutions, forward and backward, carve the same arena
        z = engine.conv2d(rng.standard_normal((2, 3, 9, 9)), rng.standard_normal((4, 3, 2, 2)))
        engine.conv2d_backward(
            z, rng.standard_normal((2, 3, 9, 9)), rng.standard_normal((4, 3, 2, 2))
        )
    np.testing.assert_array_equal(y, kept)
