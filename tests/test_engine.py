"""Engine: every backward against finite differences, the notes' worked examples, the adjoint
identity, and every bad input. The PyTorch comparisons live in test_engine_torch.py."""

import numpy as np
import pytest

import engine

RNG = np.random.default_rng(1234)


def rand(*shape):
    return RNG.standard_normal(shape)


def check(forward, inputs, grads, **kw):
    res = engine.gradcheck(forward, inputs, grads, **kw)
    assert res.ok, str(res)


# ---------------------------------------------------------------- finite differences, every op

CONV_PARAMS = [
    dict(),
    dict(stride=2, padding=1),
    dict(stride=(1, 2), padding=(2, 0), dilation=(2, 1)),
    dict(groups=2, padding=1),
]


@pytest.mark.parametrize("kw", CONV_PARAMS)
def test_conv2d_gradcheck(kw):
    g = kw.get("groups", 1)
    x, w, b = rand(2, 2 * g, 5, 6), rand(2 * g, 2, 3, 2), rand(2 * g)
    y = engine.conv2d(x, w, b, **kw)
    dy = rand(*y.shape)
    dx, dw, db = engine.conv2d_backward(dy, x, w, **kw)
    check(
        lambda x, w, b: engine.conv2d(x, w, b, **kw),
        {"x": x, "w": w, "b": b},
        {"x": dx, "w": dw, "b": db},
        dy=dy,
    )


@pytest.mark.parametrize(
    "kw",
    [
        dict(),
        dict(stride=2, padding=1, output_padding=1),
        dict(stride=(2, 1), dilation=(1, 2), groups=2),
    ],
)
def test_conv_transpose2d_gradcheck(kw):
    g = kw.get("groups", 1)
    x, w, b = rand(2, 2 * g, 3, 4), rand(2 * g, 2, 2, 3), rand(2 * g)
    y = engine.conv_transpose2d(x, w, b, **kw)
    dy = rand(*y.shape)
    dx, dw, db = engine.conv_transpose2d_backward(dy, x, w, **kw)
    check(
        lambda x, w, b: engine.conv_transpose2d(x, w, b, **kw),
        {"x": x, "w": w, "b": b},
        {"x": dx, "w": dw, "b": db},
        dy=dy,
    )


@pytest.mark.parametrize(
    "kw",
    [
        dict(kernel_size=2),
        dict(kernel_size=3, stride=1, padding=1),
        dict(kernel_size=(2, 3), stride=(1, 2), dilation=(2, 1)),
    ],
)
def test_max_pool2d_gradcheck(kw):
    x = rand(2, 3, 6, 7)  # distinct values: no ties, so the gradient is well defined
    y = engine.max_pool2d(x, **kw)
    dy = rand(*y.shape)
    check(
        lambda x: engine.max_pool2d(x, **kw),
        {"x": x},
        {"x": engine.max_pool2d_backward(dy, x, **kw)},
        dy=dy,
    )


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)])
def test_avg_pool2d_gradcheck(kw):
    x = rand(2, 3, 6, 7)
    y = engine.avg_pool2d(x, **kw)
    dy = rand(*y.shape)
    check(
        lambda x: engine.avg_pool2d(x, **kw),
        {"x": x},
        {"x": engine.avg_pool2d_backward(dy, x, **kw)},
        dy=dy,
    )


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "exp", "log"])
def test_unary_gradcheck(name):
    x = np.abs(rand(3, 4)) + 0.1 if name == "log" else rand(3, 4)
    dy = rand(3, 4)
    fwd, bwd = getattr(engine, name), getattr(engine, f"{name}_backward")
    check(fwd, {"x": x}, {"x": bwd(dy, x)}, dy=dy)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div"])
@pytest.mark.parametrize(
    "shapes", [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1))]
)
def test_binary_gradcheck(name, shapes):
    a, b = rand(*shapes[0]), rand(*shapes[1])
    if name == "div":
        b = np.sign(b) * (np.abs(b) + 0.5)
    dy = rand(*np.broadcast_shapes(*shapes))
    fwd, bwd = getattr(engine, name), getattr(engine, f"{name}_backward")
    da, db = bwd(dy, a, b)
    assert da.shape == a.shape and db.shape == b.shape
    check(fwd, {"a": a, "b": b}, {"a": da, "b": db}, dy=dy)


@pytest.mark.parametrize("name", ["sum", "mean"])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)])
def test_reduce_gradcheck(name, axis):
    x = rand(2, 3, 4)
    y = getattr(engine, name)(x, axis=axis)
    dy = rand(*np.shape(y))
    check(
        lambda x: getattr(engine, name)(x, axis=axis),
        {"x": x},
        {"x": getattr(engine, f"{name}_backward")(dy, x, axis=axis)},
        dy=dy,
    )


def test_linear_gradcheck():
    x, w, b = rand(4, 3), rand(3, 5), rand(5)
    dz = rand(4, 5)
    dx, dw, db = engine.linear_backward(dz, x, w)
    assert (dx.shape, dw.shape, db.shape) == (x.shape, w.shape, b.shape)
    check(engine.linear, {"x": x, "w": w, "b": b}, {"x": dx, "w": dw, "b": db}, dy=dz)


def test_softmax_and_cross_entropy_gradcheck():
    f, t = rand(4, 5), np.array([0, 4, 2, 2])
    check(
        lambda f: engine.cross_entropy(f, t),
        {"f": f},
        {"f": engine.cross_entropy_backward(f, t, dloss=0.7)},
        dy=0.7,
    )
    dy = rand(4, 5)
    check(engine.softmax, {"f": f}, {"f": engine.softmax_backward(dy, f)}, dy=dy)


def test_gradcheck_catches_a_wrong_gradient_and_says_where():
    x = rand(3, 3)
    dy = np.ones((3, 3))
    wrong = engine.relu_backward(dy, x).copy()
    wrong[1, 2] += 0.5
    res = engine.gradcheck(engine.relu, {"x": x}, {"x": wrong}, dy=dy)
    assert not res.ok
    assert res.worst_input == "x" and res.worst_index == (1, 2)
    assert res.max_abs_error == pytest.approx(0.5, abs=1e-6)
    assert "FAIL" in str(res)


def test_gradcheck_works_on_fortran_ordered_inputs():
    x = np.asfortranarray(np.abs(rand(3, 4)) + 0.5)
    dy = np.asfortranarray(rand(3, 4))
    res = engine.gradcheck(engine.log, {"x": x}, {"x": engine.log_backward(dy, x)}, dy=dy)
    assert res.ok, str(res)


# ---------------------------------------------------------------- conventions


def test_relu_gradient_at_zero_is_zero_as_in_pytorch():
    assert engine.relu_backward(np.ones(3), np.array([-1.0, 0.0, 1.0])).tolist() == [0, 0, 1]


def test_max_pool_ties_go_to_the_first_maximum_in_row_major_order():
    x = np.array([[[[5.0, 5.0], [5.0, 1.0]]]])
    assert engine.max_pool2d_backward(np.array([[[[1.0]]]]), x, 2)[0, 0].tolist() == [
        [1, 0],
        [0, 0],
    ]


def test_softmax_and_cross_entropy_are_stable_at_1000():
    f = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]])
    p = engine.softmax(f)
    assert np.all(np.isfinite(p)) and np.allclose(p.sum(axis=1), 1)
    assert engine.cross_entropy(f, [0, 2]) == pytest.approx(0.0)
    assert engine.cross_entropy(f, [1, 0]) == pytest.approx(2000.0)  # −log p = 2000 in both rows
    g = engine.cross_entropy_backward(f, [1, 0])
    assert np.all(np.isfinite(g))
    assert np.allclose(g, (p - np.eye(3)[[1, 0]]) / 2)


def test_float32_stays_float32_and_ints_become_float64():
    x32 = rand(1, 1, 4, 4).astype(np.float32)
    assert engine.conv2d(x32, np.ones((1, 1, 2, 2), np.float32)).dtype == np.float32
    assert engine.max_pool2d(x32, 2).dtype == np.float32
    assert engine.sigmoid(x32).dtype == np.float32
    assert engine.conv2d(np.ones((1, 1, 3, 3), int), np.ones((1, 1, 2, 2), int)).dtype == np.float64


# ---------------------------------------------------------------- the notes' worked examples


def test_notes_max_pool_example():
    dx = engine.max_pool2d_backward(np.array([[[[2.0]]]]), np.array([[[[1.0, 2], [3, 4]]]]), 2)
    assert dx[0, 0].tolist() == [[0, 0], [0, 2]]


def test_notes_avg_pool_example():
    x = np.array([[[[1.0, 2], [3, 4]]]])
    assert engine.avg_pool2d(x, 2)[0, 0, 0, 0] == 2.5
    assert engine.avg_pool2d_backward(np.array([[[[2.0]]]]), x, 2)[0, 0].tolist() == [
        [0.5, 0.5],
        [0.5, 0.5],
    ]


def _correlate_valid(a, k):
    """Plain-loop valid cross-correlation, the definition, as the notes' ⊛."""
    h, w = a.shape[0] - k.shape[0] + 1, a.shape[1] - k.shape[1] + 1
    return np.array(
        [
            [np.sum(a[i : i + k.shape[0], j : j + k.shape[1]] * k) for j in range(w)]
            for i in range(h)
        ]
    )


def test_notes_conv_dX_is_padded_dZ_correlated_with_rot180_K():
    x, k, dz = rand(3, 3), rand(2, 2), rand(2, 2)
    dx, dk, db = engine.conv2d_backward(dz[None, None], x[None, None], k[None, None])
    assert np.allclose(dx[0, 0], _correlate_valid(np.pad(dz, 1), np.rot90(k, 2)))
    assert np.allclose(dk[0, 0], _correlate_valid(x, dz))  # ∂L/∂K = X ⊛ ∂L/∂Z
    assert np.allclose(db, dz.sum())


def test_notes_softmax_ce_gradient_is_p_minus_onehot():
    f, y = rand(1, 4), 2
    p = engine.softmax(f)[0]
    assert np.allclose(engine.cross_entropy_backward(f, [y])[0], p - np.eye(4)[y])


def test_notes_transposed_conv_is_padded_input_correlated_with_rot180_K():
    x, k = rand(2, 2), rand(2, 2)
    z = engine.conv_transpose2d(x[None, None], k[None, None])[0, 0]
    assert z.shape == (3, 3)
    assert np.allclose(z, _correlate_valid(np.pad(x, 1), np.rot90(k, 2)))


# ---------------------------------------------------------------- adjoint identity


@pytest.mark.parametrize("seed", range(6))
def test_adjoint_identity(seed):
    r = np.random.default_rng(seed)
    s, p, d = int(r.integers(1, 3)), int(r.integers(0, 2)), int(r.integers(1, 3))
    g = int(r.integers(1, 3))
    x = r.standard_normal((2, 2 * g, int(r.integers(5, 9)), int(r.integers(5, 9))))
    w = r.standard_normal((3 * g, 2, int(r.integers(1, 4)), int(r.integers(1, 4))))
    kw = dict(stride=s, padding=p, dilation=d, groups=g)
    y = r.standard_normal(engine.conv2d(x, w, **kw).shape)
    # ⟨conv(x), y⟩ = ⟨x, convᵀ(y)⟩: the input gradient is the adjoint of the forward map
    assert np.isclose(
        np.sum(engine.conv2d(x, w, **kw) * y), np.sum(x * engine.conv2d_backward(y, x, w, **kw)[0])
    )
    # and the transposed convolution (weight read as (C_in, C_out/g)) is that same adjoint
    xt = r.standard_normal((2, 3 * g, 3, 4))
    zt = engine.conv_transpose2d(xt, w, **kw)
    yt = r.standard_normal(zt.shape)
    assert np.isclose(
        np.sum(zt * yt), np.sum(xt * engine.conv_transpose2d_backward(yt, xt, w, **kw)[0])
    )
    assert np.isclose(np.sum(zt * yt), np.sum(xt * engine.conv2d(yt, w, **kw)))


# ---------------------------------------------------------------- bad input

BAD = [
    (lambda: engine.conv2d(rand(3, 3), rand(1, 1, 2, 2)), r"conv2d: x must be 4-D"),
    (
        lambda: engine.conv2d(rand(1, 3, 5, 5), rand(2, 2, 3, 3)),
        r"conv2d: w must be w.shape\[1\] == C_in/groups = 3",
    ),
    (
        lambda: engine.conv2d(rand(1, 3, 5, 5), rand(2, 1, 3, 3), groups=2),
        r"conv2d: x must be C_in divisible by groups=2",
    ),
    (
        lambda: engine.conv2d(rand(1, 1, 5, 5), rand(2, 1, 3, 3), rand(3)),
        r"conv2d: b must be of shape \(2,\)",
    ),
    (
        lambda: engine.conv2d(rand(1, 1, 5, 5), rand(1, 1, 3, 3), stride=0),
        r"conv2d: stride must be >= 1",
    ),
    (
        lambda: engine.conv2d(rand(1, 1, 5, 5), rand(1, 1, 3, 3), padding=-1),
        r"conv2d: padding must be >= 0",
    ),
    (
        lambda: engine.conv2d(rand(1, 1, 5, 5), rand(1, 1, 3, 3), dilation=(1, 0)),
        r"conv2d: dilation must be >= 1",
    ),
    (
        lambda: engine.conv2d(rand(1, 1, 2, 2), rand(1, 1, 3, 3)),
        r"conv2d: w must be a kernel no larger than the padded input",
    ),
    (
        lambda: engine.conv2d(rand(1, 1, 5, 5), rand(1, 1, 3, 3), stride=1.5),
        r"conv2d: stride must be an int or an \(h, w\) pair",
    ),
    (
        lambda: engine.conv2d_backward(rand(1, 1, 2, 2), rand(1, 1, 5, 5), rand(1, 1, 3, 3)),
        r"conv2d_backward: dy must be of shape \(1, 1, 3, 3\)",
    ),
    (
        lambda: engine.conv_transpose2d(rand(1, 2, 3, 3), rand(3, 1, 2, 2)),
        r"conv_transpose2d: w must be w.shape\[0\] == C_in = 2",
    ),
    (
        lambda: engine.conv_transpose2d(
            rand(1, 1, 3, 3), rand(1, 1, 2, 2), stride=2, output_padding=2
        ),
        r"output_padding must be < max\(stride, dilation\) = 2",
    ),
    (
        lambda: engine.max_pool2d(rand(1, 1, 4, 4), 2, padding=2),
        r"max_pool2d: padding must be at most half the kernel size",
    ),
    (
        lambda: engine.max_pool2d(rand(1, 1, 2, 2), 3),
        r"max_pool2d: kernel_size must be no larger than the padded input",
    ),
    (lambda: engine.avg_pool2d(rand(4, 4), 2), r"avg_pool2d: x must be 4-D"),
    (
        lambda: engine.max_pool2d_backward(rand(1, 1, 3, 3), rand(1, 1, 4, 4), 2),
        r"max_pool2d_backward: dy must be of shape \(1, 1, 2, 2\)",
    ),
    (
        lambda: engine.add(rand(3, 4), rand(3)),
        r"add: b must be broadcastable with a's shape \(3, 4\), got shape \(3,\)",
    ),
    (
        lambda: engine.mul_backward(rand(3, 3), rand(3, 4), rand(4)),
        r"mul_backward: dy must be of shape \(3, 4\)",
    ),
    (lambda: engine.div(rand(2), np.array([1.0, 0.0])), r"div: b must be non-zero"),
    (lambda: engine.log(np.array([1.0, -1.0])), r"log: x must be > 0"),
    (
        lambda: engine.relu_backward(rand(2, 2), rand(2, 3)),
        r"relu_backward: dy must be of shape \(2, 3\)",
    ),
    (lambda: engine.sum(rand(2, 3), axis=2), r"sum: axis must be in \[-2, 2\)"),
    (
        lambda: engine.mean_backward(rand(3), rand(2, 3), axis=1),
        r"mean_backward: dy must be of shape \(2,\)",
    ),
    (
        lambda: engine.linear(rand(4, 3), rand(4, 2)),
        r"linear: w must be of shape \(3, out_features\)",
    ),
    (lambda: engine.linear(rand(4, 3), rand(3, 2), rand(3)), r"linear: b must be of shape \(2,\)"),
    (
        lambda: engine.linear_backward(rand(4, 3), rand(4, 3), rand(3, 2)),
        r"linear_backward: dz must be of shape \(4, 2\)",
    ),
    (
        lambda: engine.cross_entropy(rand(2, 3), [0, 3]),
        r"cross_entropy: target must be class indices in \[0, 3\)",
    ),
    (
        lambda: engine.cross_entropy(rand(2, 3), [0]),
        r"cross_entropy: target must be of shape \(2,\)",
    ),
    (lambda: engine.cross_entropy(rand(3), [0]), r"cross_entropy: logits must be 2-D"),
    (
        lambda: engine.cross_entropy_backward(rand(2, 3), [0.5, 1]),
        r"cross_entropy_backward: target must be integer class indices",
    ),
    (lambda: engine.conv2d([[1, 2], "ab"], rand(1, 1, 1, 1)), r"conv2d: x must be an array of"),
]


@pytest.mark.parametrize("call,message", BAD, ids=[m[:40] for _, m in BAD])
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_conv2d_backward_can_skip_the_input_gradient():
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 2))
    dy = rng.standard_normal(engine.conv2d(x, w, padding=1).shape)
    dx, dw, db = engine.conv2d_backward(dy, x, w, padding=1)
    none, dw2, db2 = engine.conv2d_backward(dy, x, w, padding=1, input_grad=False)
    assert none is None and dx.shape == x.shape
    np.testing.assert_array_equal(dw, dw2)
    np.testing.assert_array_equal(db, db2)
