"""Batch norm, layer norm and residual connections without PyTorch: the backward passes against
finite differences (functional and inside networks, training and eval mode), the running
statistics by hand, train()/eval(), engine.train's modes, and every bad input. PyTorch parity is
in test_norm_torch.py."""

import time

import numpy as np
import pytest

import engine
from engine import datasets, nn, train
from tests.test_nn import check_network

R = np.random.default_rng(31)


def _a(*shape):
    return R.standard_normal(shape)


# ---------------------------------------------------------------- functional vs finite differences


@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 5), (2, 3, 2, 3), (1, 2, 1, 3), (2, 1)])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
def test_batch_norm_backward_matches_finite_differences(shape, affine):
    c = shape[1]
    x, dy = _a(*shape) * 2 + 1, _a(*shape)
    w, b = (_a(c), _a(c)) if affine else (None, None)
    dx, dw, db = engine.batch_norm_backward(dy, x, w, eps=1e-3)
    assert dw.shape == db.shape == (c,)
    if affine:
        inputs, analytic = {"x": x, "w": w, "b": b}, {"x": dx, "w": dw, "b": db}
        res = engine.gradcheck(
            lambda x, w, b: engine.batch_norm(x, w, b, 1e-3), inputs, analytic, dy
        )
    else:
        res = engine.gradcheck(lambda x: engine.batch_norm(x, eps=1e-3), {"x": x}, {"x": dx}, dy)
        # with γ = 1, β = 0 the parameter gradients are those of an affine call at ones, zeros
        _, dw1, db1 = engine.batch_norm_backward(dy, x, np.ones(c), eps=1e-3)
        np.testing.assert_allclose(dw, dw1, rtol=1e-13)
        np.testing.assert_allclose(db, db1, rtol=1e-13)
    assert res.ok, str(res)


@pytest.mark.parametrize(
    "shape,ns", [((3, 4), 4), ((2, 3, 4), (3, 4)), ((5,), (5,)), ((2, 2, 3), [3]), ((3, 1), 1)]
)
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
def test_layer_norm_backward_matches_finite_differences(shape, ns, affine):
    nshape = (ns,) if isinstance(ns, int) else tuple(ns)
    x, dy = _a(*shape) * 2 + 1, _a(*shape)
    w, b = (_a(*nshape), _a(*nshape)) if affine else (None, None)
    dx, dw, db = engine.layer_norm_backward(dy, x, ns, w, eps=1e-3)
    assert dw.shape == db.shape == nshape
    inputs, analytic = {"x": x}, {"x": dx}
    if affine:
        inputs.update(w=w, b=b)
        analytic.update(w=dw, b=db)
    res = engine.gradcheck(
        lambda x, w=None, b=None: engine.layer_norm(x, ns, w, b, eps=1e-3), inputs, analytic, dy
    )
    assert res.ok, str(res)


def test_the_backward_is_cs231ns_compact_form_and_not_the_diagonal_answer():
    """dx = (γ/M)(σ² + ε)^(−1/2)(M·dy − Σdy − x̂·Σ dy·x̂), written out here in numpy; the
    "μ and σ as constants" answer γ·dy/σ is different (the Jacobian is dense in a column)."""
    x, dy, g = _a(6, 3), _a(6, 3), _a(3)
    m = len(x)
    mu, var = x.mean(0), x.var(0)
    xhat = (x - mu) / np.sqrt(var + 1e-5)
    compact = g / m / np.sqrt(var + 1e-5) * (m * dy - dy.sum(0) - xhat * (dy * xhat).sum(0))
    dx, dw, db = engine.batch_norm_backward(dy, x, g)
    np.testing.assert_allclose(dx, compact, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(dw, (dy * xhat).sum(0), rtol=1e-12)
    np.testing.assert_allclose(db, dy.sum(0), rtol=1e-12)
    assert np.abs(dx - g * dy / np.sqrt(var + 1e-5)).max() > 0.1
    # with ε = 0 each column's dx sums to 0 and is orthogonal to x̂: the two directions that
    # batch norm's output cannot move in
    dx0 = engine.batch_norm_backward(dy, x, g, eps=0.0)[0]
    xhat0 = (x - mu) / np.sqrt(var)
    np.testing.assert_allclose(dx0.sum(0), 0, atol=1e-12)
    np.testing.assert_allclose((dx0 * xhat0).sum(0), 0, atol=1e-12)


def test_values_are_torchs_definition_by_hand():
    x = np.array([[1.0, 10.0], [2.0, 20.0], [6.0, 0.0]])
    y = engine.batch_norm(x, [2.0, 1.0], [0.5, -1.0], eps=0.0)
    expected = (x - x.mean(0)) / x.std(0) * [2.0, 1.0] + [0.5, -1.0]  # biased σ
    np.testing.assert_allclose(y, expected, rtol=1e-14)
    np.testing.assert_allclose(
        engine.layer_norm(x, 2, eps=0.0), (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
    )


@pytest.mark.parametrize("op", ["batch_norm", "layer_norm"])
def test_float32_stays_float32_and_ints_become_float64(op):
    call = {
        "batch_norm": lambda x, w: engine.batch_norm(x, w, w),
        "layer_norm": lambda x, w: engine.layer_norm(x, 3, w, w),
    }[op]
    back = {
        "batch_norm": lambda x, w: engine.batch_norm_backward(x, x, w),
        "layer_norm": lambda x, w: engine.layer_norm_backward(x, x, 3, w),
    }[op]
    x32, w32 = _a(4, 3).astype(np.float32), np.ones(3, np.float32)
    assert call(x32, w32).dtype == np.float32
    assert all(a.dtype == np.float32 for a in back(x32, w32))
    assert call(x32, np.ones(3)).dtype == np.float64  # a float64 weight: the common dtype
    xi = np.arange(12).reshape(4, 3)
    np.testing.assert_array_equal(call(xi, [1, 1, 1]), call(xi.astype(float), np.ones(3)))
    assert all(a.dtype == np.float64 for a in back(xi, None))


def test_a_constant_channel_normalises_to_beta():
    y = engine.batch_norm(np.full((4, 2), 7.0), None, [3.0, -1.0])
    np.testing.assert_array_equal(y, [[3.0, -1.0]] * 4)
    dx, dw, db = engine.batch_norm_backward(np.ones((4, 2)), np.full((4, 2), 7.0))
    assert np.isfinite(dx).all() and not dw.any()


# ---------------------------------------------------------------- bad input (functional)

BIG = np.broadcast_to(np.float32(1), (2**15, 2**14))  # 2**29 elements in no memory at all
BIG_INTS = np.broadcast_to(np.int8(1), (2**15, 2**14))  # would become 4 GiB of float64

BAD = [
    (
        lambda: engine.batch_norm(_a(3)),
        r"^batch_norm: x must be \(N, C\) or \(N, C, H, W\).*got shape \(3,\)",
    ),
    (lambda: engine.batch_norm(5.0), r"^batch_norm: x must be .*at least 2-D, got shape \(\)"),
    (
        lambda: engine.batch_norm(_a(4, 3), _a(2)),
        r"^batch_norm: weight must be of shape \(3,\) \(one per channel of x \(N, C, …\)\), got shape \(2,\)",
    ),
    (
        lambda: engine.batch_norm(_a(4, 3), None, _a(3, 1)),
        r"^batch_norm: bias must be of shape \(3,\)",
    ),
    (
        lambda: engine.batch_norm(_a(4, 3), eps=-1e-5),
        r"^batch_norm: eps must be a finite number >= 0, got -1e-05",
    ),
    (
        lambda: engine.batch_norm(_a(4, 3), eps=float("nan")),
        r"^batch_norm: eps must be a finite number >= 0",
    ),
    (
        lambda: engine.batch_norm(_a(4, 3), eps=True),
        r"^batch_norm: eps must be a finite number >= 0, got True",
    ),
    (lambda: engine.batch_norm(_a(4, 3), eps="1e-5"), r"^batch_norm: eps must be"),
    (
        lambda: engine.batch_norm(_a(1, 3)),
        r"^batch_norm: x must be a batch of more than 1 value per channel \(N·H·W > 1\).*got shape \(1, 3\)",
    ),
    (
        lambda: engine.batch_norm(BIG),
        r"^batch_norm: x must have at most 268435456 elements .*got 536870912",
    ),
    (
        lambda: engine.batch_norm_backward(_a(4, 2), _a(4, 3)),
        r"^batch_norm_backward: dy must be of shape \(4, 3\) \(the shape of x\), got shape \(4, 2\)",
    ),
    (
        lambda: engine.batch_norm_backward(_a(4, 3), _a(4, 3), _a(4)),
        r"^batch_norm_backward: weight must be of shape \(3,\)",
    ),
    (
        lambda: engine.batch_norm(BIG_INTS),
        r"^batch_norm: x must have at most 268435456 elements",
    ),
    (
        lambda: engine.batch_norm_backward(BIG_INTS, _a(4, 3)),
        r"^batch_norm_backward: dy must have at most 268435456 elements",
    ),
    (
        lambda: engine.layer_norm_backward(BIG_INTS, BIG_INTS, 2**14),
        r"^layer_norm_backward: x must have at most 268435456 elements",
    ),
    (
        lambda: engine.batch_norm_backward(BIG, BIG),
        r"^batch_norm_backward: x must have at most 268435456 elements",
    ),
    (
        lambda: engine.layer_norm(_a(2, 3), 4),
        r"^layer_norm: normalized_shape must be x's last 1 dim\(s\) for x of shape \(2, 3\), got 4",
    ),
    (
        lambda: engine.layer_norm(_a(2, 3), (2, 3, 1)),
        r"^layer_norm: normalized_shape must be x's last 3 dim\(s\)",
    ),
    (
        lambda: engine.layer_norm(_a(2, 3), ()),
        r"^layer_norm: normalized_shape must be an int or a non-empty tuple of ints",
    ),
    (
        lambda: engine.layer_norm(_a(2, 3), 3.0),
        r"^layer_norm: normalized_shape must be an int or a non-empty tuple",
    ),
    (
        lambda: engine.layer_norm(_a(2, 3), 2**40),
        r"^layer_norm: normalized_shape must be x's last 1 dim",
    ),
    (
        lambda: engine.layer_norm(_a(2, 3), -3),
        r"^layer_norm: normalized_shape must be x's last 1 dim",
    ),
    (
        lambda: engine.layer_norm(_a(2, 3), 3, _a(2)),
        r"^layer_norm: weight must be of shape \(3,\) \(normalized_shape\), got shape \(2,\)",
    ),
    (
        lambda: engine.layer_norm(_a(2, 3, 4), (3, 4), None, _a(4)),
        r"^layer_norm: bias must be of shape \(3, 4\)",
    ),
    (
        lambda: engine.layer_norm(_a(2, 3), 3, eps=-1),
        r"^layer_norm: eps must be a finite number >= 0",
    ),
    (lambda: engine.layer_norm(BIG, 2**14), r"^layer_norm: x must have at most 268435456 elements"),
    (
        lambda: engine.layer_norm_backward(_a(3, 2), _a(2, 3), 3),
        r"^layer_norm_backward: dy must be of shape \(2, 3\)",
    ),
    (
        lambda: engine.layer_norm_backward(_a(2, 3), _a(2, 3), 2),
        r"^layer_norm_backward: normalized_shape must be x's last 1 dim",
    ),
]


@pytest.mark.parametrize("call,message", BAD, ids=[m[1:60] for _, m in BAD])
def test_bad_input_is_a_value_error_naming_function_argument_and_shapes(call, message):
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=message):
        call()
    assert time.perf_counter() - t0 < 1.0  # refused before anything the size of x is made


# ---------------------------------------------------------------- layers


def _trained_bn(cls, shape, steps=3, seed=0, **kw):
    """A batch norm layer after a few training steps: running statistics away from 0 and 1."""
    r = np.random.default_rng(seed)
    layer = cls(shape[1], **kw)
    for i in range(steps):
        layer.forward(r.standard_normal(shape) * (2 + i) + i)
    return layer


def test_running_statistics_by_hand():
    r = np.random.default_rng(1)
    bn = nn.BatchNorm2d(2, momentum=0.25)
    assert bn.params["weight"].tolist() == [1, 1] and bn.params["bias"].tolist() == [0, 0]
    mean, var = np.zeros(2), np.ones(2)
    for _ in range(3):
        x = r.standard_normal((3, 2, 2, 2)) * 3 + 1
        bn.forward(x)
        m, v = x.mean((0, 2, 3)), x.var((0, 2, 3), ddof=1)  # unbiased in the estimate
        mean, var = 0.75 * mean + 0.25 * m, 0.75 * var + 0.25 * v
        np.testing.assert_allclose(bn.running_mean, mean, rtol=1e-13)
        np.testing.assert_allclose(bn.running_var, var, rtol=1e-13)
    assert bn.num_batches_tracked == 3
    cumulative = nn.BatchNorm1d(2, momentum=None)
    xs = [r.standard_normal((4, 2)) + k for k in range(4)]
    for x in xs:
        cumulative.forward(x)
    np.testing.assert_allclose(cumulative.running_mean, np.mean([x.mean(0) for x in xs], 0))


def test_running_statistics_are_copied_when_assigned_and_updated_in_place():
    bn = nn.BatchNorm1d(3)
    theirs = np.array([1, 2, 3])  # e.g. a torch buffer's .numpy(): must never be written to
    bn.running_mean = theirs
    assert bn.running_mean.dtype == np.float64
    kept = bn.running_var
    bn.forward(_a(4, 3))
    np.testing.assert_array_equal(theirs, [1, 2, 3])
    assert bn.running_var is kept and not np.array_equal(kept, np.ones(3))  # as torch's buffers
    with pytest.raises(ValueError, match=r"^BatchNorm1d\(3\): running_var must be of shape \(3,\)"):
        bn.running_var = np.ones(4)
    with pytest.raises(ValueError, match=r"^BatchNorm1d\(3\): running_mean must be an array"):
        bn.running_mean = "zeros"


def test_eval_mode_normalises_with_the_running_statistics_and_leaves_them_alone():
    bn = _trained_bn(nn.BatchNorm1d, (8, 3))
    bn.params["weight"][...] = [1.0, 2.0, -1.0]
    bn.params["bias"][...] = [0.0, 0.5, 1.0]
    mean, var = bn.running_mean.copy(), bn.running_var.copy()
    assert bn.eval() is bn and bn.training is False
    x = _a(1, 3)  # one sample: fine in eval mode
    y = bn.forward(x)
    expected = (x - mean) / np.sqrt(var + 1e-5) * bn.params["weight"] + bn.params["bias"]
    np.testing.assert_allclose(y, expected, rtol=1e-13)
    np.testing.assert_array_equal(bn.running_mean, mean)
    assert bn.num_batches_tracked == 3
    dy = _a(1, 3)
    np.testing.assert_allclose(bn.backward(dy), dy * bn.params["weight"] / np.sqrt(var + 1e-5))
    assert bn.train() is bn and bn.training is True
    with pytest.raises(ValueError, match=r"1 value per channel in training mode.*\.eval\(\)"):
        bn.forward(x)


def test_backward_follows_the_mode_of_the_forward_it_comes_after():
    bn = _trained_bn(nn.BatchNorm2d, (2, 3, 2, 2))
    x, dy = _a(2, 3, 2, 2), _a(2, 3, 2, 2)
    bn.forward(x)
    expected = bn.backward(dy).copy()
    bn.forward(x)
    bn.eval()  # switched between forward and backward: still the batch's statistics
    np.testing.assert_array_equal(bn.backward(dy), expected)


def _every_layer():
    return [
        nn.Linear(2, 2),
        nn.Conv2d(1, 1, 1),
        nn.ReLU(),
        nn.Sigmoid(),
        nn.Tanh(),
        nn.MaxPool2d(2),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.BatchNorm1d(2),
        nn.BatchNorm2d(2),
        nn.LayerNorm(2),
        nn.Residual(nn.Linear(2, 2)),
        nn.Sequential(),
    ]


def test_every_module_has_train_and_eval_and_sequential_recurses():
    for layer in _every_layer():
        assert layer.training is True, layer
        assert layer.eval() is layer and layer.training is False, layer
        assert layer.train() is layer and layer.training is True, layer
        assert layer.train(False) is layer and layer.training is False, layer
    inner = nn.Residual(nn.Linear(2, 2), nn.BatchNorm1d(2))
    model = nn.Sequential(nn.BatchNorm1d(2), nn.Sequential(inner, nn.ReLU()))
    everything = [model, model.layers[0], model.layers[1], inner, *inner.layers]
    assert model.eval() is model and not any(m.training for m in everything)
    assert model.train() is model and all(m.training for m in everything)
    with pytest.raises(ValueError, match=r"train's mode must be True or False, got 'eval'"):
        model.train("eval")


def test_layer_norm_layer_normalises_each_sample_in_both_modes():
    ln = nn.LayerNorm((2, 3))
    x = _a(4, 2, 3)
    y = ln.forward(x)
    np.testing.assert_allclose(y, engine.layer_norm(x, (2, 3)), rtol=1e-14)
    np.testing.assert_array_equal(ln.eval().forward(x), y)
    assert list(ln.params) == ["weight", "bias"] and ln.params["weight"].shape == (2, 3)


def test_residual_adds_its_input_and_its_gradient_takes_both_paths():
    r = np.random.default_rng(3)
    block = nn.Residual(nn.Linear(3, 3, rng=r), nn.Tanh())
    x, dy = r.standard_normal((4, 3)), r.standard_normal((4, 3))
    f = nn.Sequential(*block.layers)
    np.testing.assert_allclose(block.forward(x), x + f.forward(x), rtol=1e-15)
    dx = block.backward(dy)
    np.testing.assert_allclose(dx, dy + f.backward(dy), rtol=1e-14)
    identity = nn.Residual()
    np.testing.assert_array_equal(identity.forward(x), 2 * x)
    np.testing.assert_array_equal(identity.backward(dy), 2 * dy)


def test_residual_params_are_keyed_as_a_sequentials_inside_a_sequential():
    model = nn.Sequential(
        nn.Linear(2, 4, rng=0),
        nn.Residual(nn.Linear(4, 4, rng=1), nn.BatchNorm1d(4), nn.ReLU()),
        nn.LayerNorm(4),
    )
    assert list(model.params) == [
        "0.weight",
        "0.bias",
        "1.0.weight",
        "1.0.bias",
        "1.1.weight",
        "1.1.bias",
        "2.weight",
        "2.bias",
    ]
    assert model.params["1.1.weight"] is model.layers[1].layers[1].params["weight"]
    assert list(model.grads) == list(model.params)
    assert "running_mean" not in str(list(model.params))  # buffers, which no optimiser moves
    before = model.layers[1].layers[1].running_mean.copy()
    model.forward(_a(5, 2))
    model.backward(_a(5, 4))
    mean = model.layers[1].layers[1].running_mean.copy()
    assert not np.array_equal(mean, before)
    nn.Adam(model, lr=0.1).step()
    np.testing.assert_array_equal(model.layers[1].layers[1].running_mean, mean)


def _bn_mlp(r, depth=3):
    layers = [nn.Linear(3, 5, rng=r), nn.BatchNorm1d(5), nn.Tanh()]
    for _ in range(depth):
        layers.append(nn.Residual(nn.Linear(5, 5, rng=r), nn.BatchNorm1d(5), nn.Sigmoid()))
    return nn.Sequential(*layers, nn.LayerNorm(5), nn.Linear(5, 3, rng=r))


def _bn_cnn(r):
    return nn.Sequential(
        nn.BatchNorm2d(2),
        nn.Conv2d(2, 3, 3, padding=1, rng=r),
        nn.BatchNorm2d(3),
        nn.ReLU(),
        nn.Residual(nn.Conv2d(3, 3, 3, padding=1, rng=r), nn.Tanh()),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.LayerNorm(12),
        nn.Linear(12, 3, rng=r),
    )


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize(
    "build,shape", [(_bn_mlp, (6, 3)), (_bn_cnn, (3, 2, 4, 4))], ids=["MLP", "CNN"]
)
def test_networks_with_norms_and_residuals_match_finite_differences(build, shape, mode):
    r = np.random.default_rng(4)
    model = build(r)
    for _ in range(2):  # running statistics away from 0 and 1
        model.forward(r.standard_normal(shape) * 2 + 1)
    for name, p in model.params.items():
        if name.endswith("weight") and p.ndim == 1 or "bias" in name:
            p += r.standard_normal(p.shape) * 0.3  # γ, β away from 1, 0
    getattr(model, mode)()
    x = r.standard_normal(shape)
    check_network(model, x, f"{mode} mode")
    check_network(model, x, f"{mode} mode, loss", target=r.integers(0, 3, shape[0]))


@pytest.mark.parametrize(
    "first,shape",
    [
        (lambda: nn.BatchNorm1d(3), (5, 3)),
        (lambda: nn.BatchNorm1d(3), (5, 3, 2)),
        (lambda: nn.BatchNorm2d(3), (2, 3, 2, 2)),
        (lambda: nn.LayerNorm(3), (5, 3)),
        (lambda: nn.Residual(nn.Linear(3, 3, rng=0), nn.BatchNorm1d(3)), (5, 3)),
        (lambda: nn.Residual(nn.LayerNorm(3)), (5, 3)),
    ],
)
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_backward_without_input_grad_sets_the_same_grads_and_returns_none(first, shape, mode):
    layer = first()
    model = getattr(nn.Sequential(layer, nn.Flatten(), nn.Tanh()), mode)()
    x = np.random.default_rng(0).standard_normal(shape)
    y = model.forward(x)
    dy = np.random.default_rng(1).standard_normal(y.shape)
    assert model.backward(dy).shape == x.shape
    grads = {k: g.copy() for k, g in model.grads.items()}
    assert grads and any(g.any() for g in grads.values())
    model.zero_grad()
    assert model.backward(dy, input_grad=False) is None
    for k, g in model.grads.items():
        np.testing.assert_array_equal(g, grads[k])


@pytest.mark.parametrize("how", ["dtype", "astype"])
def test_a_float32_network_stays_float32_running_statistics_included(how):
    r = np.random.default_rng(5)
    if how == "dtype":
        model = nn.Sequential(
            nn.Linear(3, 4, rng=r, dtype=np.float32),
            nn.BatchNorm1d(4, dtype=np.float32),
            nn.Residual(nn.LayerNorm(4, dtype=np.float32)),
        )
    else:
        model = nn.Sequential(
            nn.Linear(3, 4, rng=r), nn.BatchNorm1d(4), nn.Residual(nn.LayerNorm(4))
        ).astype(np.float32)
    opt = nn.Adam(model, lr=0.01)
    for _ in range(2):
        y = model.forward(r.standard_normal((6, 3)).astype(np.float32))
        assert y.dtype == np.float32
        assert model.backward(np.ones_like(y)).dtype == np.float32
        opt.step()
    bn = model.layers[1]
    assert bn.running_mean.dtype == bn.running_var.dtype == np.float32
    assert all(p.dtype == np.float32 for p in model.params.values())
    assert model.eval().forward(np.ones((1, 3), np.float32)).dtype == np.float32


def test_an_empty_batch_flows_through_and_leaves_the_statistics_alone():
    bn, ln = _trained_bn(nn.BatchNorm2d, (2, 3, 2, 2)), nn.LayerNorm(3)
    mean = bn.running_mean.copy()
    for layer, x in ((bn, np.zeros((0, 3, 2, 2))), (ln, np.zeros((0, 3)))):
        assert layer.forward(x).shape == x.shape
        assert layer.backward(x).shape == x.shape
        assert not any(g.any() for g in layer.grads.values())
    np.testing.assert_array_equal(bn.running_mean, mean)
    assert bn.num_batches_tracked == 4  # torch counts it, and moves nothing


LAYER_BAD = [
    (lambda: nn.BatchNorm1d(0), r"^BatchNorm1d: num_features must be an int >= 1, got 0"),
    (lambda: nn.BatchNorm2d(2.0), r"^BatchNorm2d: num_features must be an int >= 1, got 2.0"),
    (
        lambda: nn.BatchNorm1d(3, momentum=1.5),
        r"^BatchNorm1d: momentum must be a number in \[0, 1\] or None, got 1.5",
    ),
    (lambda: nn.BatchNorm1d(3, momentum="0.1"), r"^BatchNorm1d: momentum must be a number"),
    (lambda: nn.BatchNorm1d(3, eps=-1), r"^BatchNorm1d: eps must be a finite number >= 0, got -1"),
    (lambda: nn.BatchNorm2d(3, dtype=np.int32), r"^BatchNorm2d: dtype must be float32 or float64"),
    (
        lambda: nn.BatchNorm1d(3).forward(_a(4, 2)),
        r"^BatchNorm1d\(3\): x must have 3 channels in axis 1 \(N, 3\) or \(N, 3, L\), got shape \(4, 2\)",
    ),
    (
        lambda: nn.BatchNorm1d(3).forward(_a(4, 3, 2, 2)),
        r"^BatchNorm1d\(3\): x must be 2-D or 3-D \(N, 3\) or \(N, 3, L\), got shape \(4, 3, 2, 2\)",
    ),
    (
        lambda: nn.BatchNorm2d(3).forward(_a(4, 3)),
        r"^BatchNorm2d\(3\): x must be 4-D \(N, 3, H, W\), got shape \(4, 3\)",
    ),
    (
        lambda: nn.BatchNorm2d(3).forward(_a(1, 3, 1, 1)),
        r"^BatchNorm2d\(3\): x must have more than 1 value per channel in training mode",
    ),
    (
        lambda: nn.BatchNorm1d(3).forward([["a", "b", "c"]] * 2),
        r"^BatchNorm1d\(3\): x must be an array of real numbers",
    ),
    (
        lambda: nn.BatchNorm1d(3).backward(_a(4, 3)),
        r"^BatchNorm1d\(3\): backward must come after a forward",
    ),
    (
        lambda: _fwd(nn.BatchNorm1d(3, momentum=0.5), _a(4, 3)).backward(_a(3, 4)),
        r"^BatchNorm1d\(3, momentum=0.5\): dy must be of shape \(4, 3\) \(the last forward's output\), got shape \(3, 4\)",
    ),
    (
        lambda: nn.BatchNorm1d(2**14).forward(BIG),
        r"^BatchNorm1d\(16384\): x must have at most 268435456 elements",
    ),
    (
        lambda: nn.LayerNorm(2**14).forward(BIG),
        r"^LayerNorm\(\(16384,\)\): x must have at most 268435456 elements",
    ),
    (lambda: nn.Residual().forward(BIG), r"^Residual\(\): x must have at most 268435456 elements"),
    (
        lambda: nn.BatchNorm1d(3).forward([[1.0, 2.0, 3.0], [1.0]]),
        r"^BatchNorm1d\(3\): x must be an array of numbers",
    ),
    (
        lambda: nn.LayerNorm(2).forward([[1.0, 2.0], [1.0]]),
        r"^LayerNorm\(\(2,\)\): x must be an array",
    ),
    (lambda: nn.Residual().forward([[1.0, 2.0], [1.0]]), r"^Residual\(\): x must be an array"),
    (
        lambda: nn.LayerNorm(0),
        r"^LayerNorm: normalized_shape must be an int >= 1 or a non-empty tuple of them, got 0",
    ),
    (lambda: nn.LayerNorm(()), r"^LayerNorm: normalized_shape must be an int >= 1"),
    (
        lambda: nn.LayerNorm((2**20, 2**20)),
        r"^LayerNorm: normalized_shape must have at most 268435456 elements",
    ),
    (lambda: nn.LayerNorm(3, eps=float("inf")), r"^LayerNorm: eps must be a finite number >= 0"),
    (
        lambda: nn.LayerNorm((2, 3)).forward(_a(4, 3, 2)),
        r"^LayerNorm\(\(2, 3\)\): x must end in the dims \(2, 3\) \(…, 2, 3\), got shape \(4, 3, 2\)",
    ),
    (
        lambda: nn.LayerNorm((2, 3)).forward(_a(3)),
        r"^LayerNorm\(\(2, 3\)\): x must be 2-D \(…, 2, 3\), got shape \(3,\)",
    ),
    (
        lambda: nn.LayerNorm(3).backward(_a(4, 3)),
        r"^LayerNorm\(\(3,\)\): backward must come after a forward",
    ),
    (
        lambda: nn.Residual(nn.Linear(3, 2)).forward(_a(4, 3)),
        r"^Residual\(Linear\(3, 2\)\): f\(x\) must have x's shape \(4, 3\) to be added to x, got shape \(4, 2\)",
    ),
    (lambda: nn.Residual(nn.Linear(3, 3), "relu"), r"^Sequential: module 1 must be a layer"),
    (
        lambda: nn.Residual(nn.ReLU()).backward(_a(2)),
        r"^Residual\(ReLU\(\)\): backward must come after a forward",
    ),
    (
        lambda: _fwd(nn.Residual(), _a(2, 3)).backward(_a(3, 2)),
        r"^Residual\(\): dy must be of shape \(2, 3\)",
    ),
    (
        lambda: _fwd(nn.Residual(), _a(2, 3)).backward(np.full((2, 3), "x")),
        r"^Residual\(\): dy must be an array of real numbers",
    ),
    (
        lambda: nn.Residual().forward(["a", "b"]),
        r"^Residual\(\): x must be an array of real numbers",
    ),
]


def _fwd(layer, x):
    layer.forward(x)
    return layer


@pytest.mark.parametrize("call,message", LAYER_BAD, ids=[m[1:60] for _, m in LAYER_BAD])
def test_bad_layer_input_is_a_value_error_naming_the_layer(call, message):
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=message):
        call()
    assert time.perf_counter() - t0 < 1.0


# ---------------------------------------------------------------- engine.train's modes


def _bn_classifier(r):
    return nn.Sequential(
        nn.Linear(2, 6, rng=r), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 2, rng=r)
    )


def test_predict_and_accuracy_use_eval_mode_and_restore_the_mode_they_found():
    r = np.random.default_rng(6)
    model = _bn_classifier(r)
    X, y = r.standard_normal((40, 2)), r.integers(0, 2, 40)
    train.train_epoch(model, nn.SoftmaxCrossEntropy(), nn.SGD(model, lr=0.1), X, y, 8, r)
    bn = model.layers[1]
    stats = bn.running_mean.copy(), bn.running_var.copy(), bn.num_batches_tracked
    # one sample at a time: in training mode batch norm would refuse it
    one_by_one = train.predict(model, X, batch_size=1)
    assert model.training
    np.testing.assert_array_equal(train.predict(model, X), one_by_one)  # batch-independent
    assert train.accuracy(model, X, y) == np.mean(one_by_one == y)
    np.testing.assert_array_equal(bn.running_mean, stats[0])
    np.testing.assert_array_equal(bn.running_var, stats[1])
    assert bn.num_batches_tracked == stats[2]
    expected = np.argmax(model.eval().forward(X), axis=1)
    np.testing.assert_array_equal(one_by_one, expected)
    train.predict(model, X)
    assert not model.training  # restored to eval, as found
    model.train()
    bn.eval()  # mixed modes (a frozen batch norm) are each restored
    train.predict(model, X)
    assert [m.training for m in model.layers] == [True, False, True, True] and model.training


def test_train_epoch_trains_in_training_mode_even_after_an_evaluation():
    r = np.random.default_rng(7)
    model = _bn_classifier(r).eval()
    X, y = r.standard_normal((16, 2)), r.integers(0, 2, 16)
    train.train_epoch(model, nn.SoftmaxCrossEntropy(), nn.SGD(model, lr=0.1), X, y, 8, r)
    assert model.training and model.layers[1].num_batches_tracked == 2


def test_a_deep_sigmoid_mlp_with_batch_norm_and_residual_blocks_learns_two_moons():
    X, y = datasets.two_moons(400, noise=0.1, seed=0)
    X_test, y_test = datasets.two_moons(1000, noise=0.1, seed=1)
    r = np.random.default_rng(0)
    blocks = [
        nn.Residual(nn.Linear(16, 16, rng=r), nn.BatchNorm1d(16), nn.Sigmoid()) for _ in range(6)
    ]
    model = nn.Sequential(nn.Linear(2, 16, rng=r), *blocks, nn.Linear(16, 2, rng=r))
    opt, loss = nn.Adam(model, lr=0.01), nn.SoftmaxCrossEntropy()
    for _ in range(25):
        train.train_epoch(model, loss, opt, X, y, 32, r)
    assert train.accuracy(model, X_test, y_test) >= 0.97
