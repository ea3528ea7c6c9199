"""engine.nn: whole networks against finite differences, the layers' conventions, the optimisers'
rules by hand, float32, every bad input, and training that learns (digits CNN, two-moons MLP).
PyTorch parity is in test_nn_torch.py; the data sets and the training loop in test_nn_data.py."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import engine
from engine import datasets, nn, train

ACTIVATIONS = [nn.ReLU, nn.Sigmoid, nn.Tanh]


# ---------------------------------------------------------------- whole networks vs finite differences


def _report(analytic: dict, numeric: dict, rtol=1e-5, atol=1e-7) -> str:
    """Each array whose gradient is off: its worst index, both values and the difference."""
    lines = []
    for name, a in analytic.items():
        n = numeric[name]
        bad = np.abs(a - n) > atol + rtol * np.abs(n)
        if bad.any():
            err = np.where(bad, np.abs(a - n), 0)
            i = tuple(int(v) for v in np.unravel_index(err.argmax(), err.shape))
            lines.append(
                f"{name}{list(i)}: analytic {a[i]:.8g}, numeric {n[i]:.8g}, off by {err[i]:.2e} "
                f"({bad.sum()} of {a.size} entries off)"
            )
    return "; ".join(lines)


def check_network(model, x, label, target=None, seed=0):
    """dx and every parameter's gradient of model(x) — or of softmax-CE(model(x), target) — against
    central differences in float64."""
    names = list(model.params)
    loss = nn.SoftmaxCrossEntropy()
    out = model.forward(x)
    if target is None:
        dy = np.random.default_rng(seed).standard_normal(out.shape)
        dx = model.backward(dy)
    else:
        dy = 1.0
        loss.forward(out, target)
        dx = model.backward(loss.backward())
    analytic = {"x": dx.copy(), **{k: g.copy() for k, g in model.grads.items()}}
    inputs = {"x": x, **{k: p.copy() for k, p in model.params.items()}}

    def f(x, *ps):
        for k, p in zip(names, ps, strict=True):
            model.params[k][...] = p
        y = model.forward(x)
        return y if target is None else loss.forward(y, target)

    res = engine.gradcheck(f, inputs, analytic, dy=dy)
    assert res.ok, f"{label}: {_report(analytic, res.numeric)} ({res})"


def random_mlp(seed):
    r = np.random.default_rng(seed)
    widths = [int(v) for v in r.integers(1, 6, int(r.integers(2, 5)))]
    layers = []
    for i in range(len(widths) - 1):
        layers.append(nn.Linear(widths[i], widths[i + 1], rng=r))
        if i < len(widths) - 2:
            layers.append(ACTIVATIONS[int(r.integers(3))]())
    x = r.standard_normal((int(r.integers(1, 5)), widths[0]))
    return nn.Sequential(*layers), x, r


def random_cnn(seed):
    """conv (random kernel, stride, padding) → activation → [pool] → [conv → activation] →
    flatten → dense; geometries that do not fit are drawn again."""
    r = np.random.default_rng(seed)
    while True:
        cin, h, w = int(r.integers(1, 3)), int(r.integers(4, 9)), int(r.integers(4, 9))
        layers = [
            nn.Conv2d(
                cin,
                c := int(r.integers(1, 4)),
                tuple(int(v) for v in r.integers(1, 4, 2)),
                stride=1 if r.random() < 0.6 else 2,
                padding=int(r.integers(0, 3)),
                rng=r,
            ),
            ACTIVATIONS[int(r.integers(3))](),
        ]
        pool = int(r.choice([0, 1, 1, 2]))  # none, max, max, average
        if pool:
            layers.append((nn.MaxPool2d, nn.AvgPool2d)[pool - 1](2, stride=int(r.integers(1, 3))))
        if r.random() < 0.4:
            layers += [nn.Conv2d(c, 2, 2, rng=r), nn.Tanh()]
        x = r.standard_normal((int(r.integers(1, 3)), cin, h, w))
        try:
            feats = nn.Sequential(*layers, nn.Flatten()).forward(x).shape[1]
        except ValueError:
            continue
        model = nn.Sequential(*layers, nn.Flatten(), nn.Linear(feats, int(r.integers(2, 4)), rng=r))
        return model, x, r


@pytest.mark.parametrize("seed", range(25))
def test_random_mlp_gradients_match_finite_differences(seed):
    model, x, r = random_mlp(seed)
    out_features = model.layers[-1].out_features
    if seed % 2 and out_features >= 2:
        check_network(model, x, f"{model} + CE", target=r.integers(0, out_features, len(x)))
    else:
        check_network(model, x, repr(model), seed=seed)


@pytest.mark.parametrize("seed", range(25))
def test_random_cnn_gradients_match_finite_differences(seed):
    model, x, r = random_cnn(seed)
    k = model.layers[-1].out_features
    target = r.integers(0, k, len(x)) if seed % 2 else None
    check_network(model, x, repr(model), target=target, seed=seed)


def test_the_digits_cnn_gradients_match_finite_differences():
    r = np.random.default_rng(5)
    model = train.digits_cnn(channels=3, rng=r)
    x = r.random((2, 1, 8, 8))
    check_network(model, x, "digits CNN", target=np.array([3, 7]))


def test_a_failing_gradient_is_reported_by_param_and_index():
    analytic = {"x": np.zeros(3), "0.weight": np.zeros((2, 2))}
    numeric = {"x": np.zeros(3), "0.weight": np.array([[0.0, 0.0], [0.5, 0.0]])}
    assert _report(analytic, numeric).startswith("0.weight[1, 0]: analytic 0, numeric 0.5")


# ---------------------------------------------------------------- conventions


def test_linear_is_x_w_plus_b_with_w_of_shape_in_out():
    lin = nn.Linear(3, 2, rng=0)
    assert lin.params["weight"].shape == (3, 2) and lin.params["bias"].shape == (2,)
    x = np.random.default_rng(1).standard_normal((4, 3))
    np.testing.assert_allclose(lin.forward(x), x @ lin.params["weight"] + lin.params["bias"])
    assert repr(lin) == "Linear(3, 2)"


def test_conv2d_layer_is_the_functional_conv2d():
    conv = nn.Conv2d(2, 3, (3, 2), stride=2, padding=1, rng=0)
    assert conv.params["weight"].shape == (3, 2, 3, 2) and conv.params["bias"].shape == (3,)
    r = np.random.default_rng(1)
    x = r.standard_normal((2, 2, 7, 6))
    kw = dict(stride=2, padding=1)
    y = conv.forward(x)
    np.testing.assert_allclose(
        y, engine.conv2d(x, conv.params["weight"], conv.params["bias"], **kw)
    )
    dy = r.standard_normal(y.shape)
    dx, dw, db = engine.conv2d_backward(dy, x, conv.params["weight"], **kw)
    np.testing.assert_allclose(conv.backward(dy), dx)
    np.testing.assert_allclose(conv.grads["weight"], dw)
    np.testing.assert_allclose(conv.grads["bias"], db)


def test_pool_layers_are_the_functional_pools():
    r = np.random.default_rng(2)
    x = r.standard_normal((2, 3, 7, 6))
    dy = r.standard_normal((2, 3, 3, 5))
    for layer, fwd, bwd in (
        (nn.MaxPool2d((3, 2), stride=(2, 1)), engine.max_pool2d, engine.max_pool2d_backward),
        (nn.AvgPool2d((3, 2), stride=(2, 1)), engine.avg_pool2d, engine.avg_pool2d_backward),
    ):
        np.testing.assert_array_equal(layer.forward(x), fwd(x, (3, 2), stride=(2, 1)))
        np.testing.assert_array_equal(layer.backward(dy), bwd(dy, x, (3, 2), stride=(2, 1)))
    assert nn.MaxPool2d(2).stride == (2, 2)  # stride defaults to the kernel size


def test_max_pool_ties_and_relu_at_zero_follow_pytorch():
    pool = nn.MaxPool2d(2)
    pool.forward(np.array([[[[5.0, 5.0], [5.0, 1.0]]]]))
    assert pool.backward(np.ones((1, 1, 1, 1)))[0, 0].tolist() == [[1, 0], [0, 0]]
    relu = nn.ReLU()
    relu.forward(np.array([-1.0, 0.0, 2.0]))
    assert relu.backward(np.ones(3)).tolist() == [0, 0, 1]


def test_flatten_is_row_major_and_keeps_n():
    x = np.arange(24.0).reshape(2, 3, 2, 2)
    flat = nn.Flatten()
    y = flat.forward(x)
    assert y.shape == (2, 12) and y[1].tolist() == list(range(12, 24))
    np.testing.assert_array_equal(flat.backward(y), x)


def test_an_empty_batch_flows_through_forward_and_backward():
    model = train.digits_cnn(rng=0)
    assert model.forward(np.zeros((0, 1, 8, 8))).shape == (0, 10)
    assert model.backward(np.zeros((0, 10))).shape == (0, 1, 8, 8)
    assert not model.grads["4.weight"].any()


@pytest.mark.parametrize(
    "first",
    [
        lambda: nn.Conv2d(1, 2, 3, padding=1, rng=0),
        lambda: nn.Linear(8, 4, rng=0),
        nn.ReLU,
        nn.Sigmoid,
        nn.Tanh,
        lambda: nn.MaxPool2d(2),
        lambda: nn.AvgPool2d(2),
        nn.Flatten,
    ],
)
def test_backward_without_input_grad_sets_the_same_grads_and_returns_none(first):
    layer = first()
    x = np.random.default_rng(0).standard_normal((3, 1, 8, 8))
    if isinstance(layer, nn.Linear):
        x = x[:, 0, 0]
    head = [nn.Flatten()] if isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)) else []
    model = nn.Sequential(layer, *head, nn.Tanh())
    y = model.forward(x)
    dy = np.random.default_rng(1).standard_normal(y.shape)
    dx = model.backward(dy)
    assert dx.shape == x.shape
    grads = {k: g.copy() for k, g in model.grads.items()}
    model.zero_grad()
    assert model.backward(dy, input_grad=False) is None
    for k, g in model.grads.items():
        np.testing.assert_array_equal(g, grads[k])
    assert nn.Sequential().backward(dy, input_grad=False) is None


def test_sequential_params_are_the_layers_own_arrays():
    model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.ReLU(), nn.Flatten(), nn.Linear(3, 1, rng=1))
    assert list(model.params) == ["0.weight", "0.bias", "3.weight", "3.bias"]
    assert model.params["3.bias"] is model.layers[3].params["bias"]
    assert list(model.grads) == list(model.params)
    assert all(model.grads[k].shape == v.shape for k, v in model.params.items())
    before = model.layers[0].params["weight"].copy()
    model.forward(np.ones((4, 2)))
    model.backward(np.ones((4, 1)))
    nn.SGD(model, lr=0.5).step()
    np.testing.assert_allclose(
        model.layers[0].params["weight"], before - 0.5 * model.layers[0].grads["weight"]
    )


def test_grads_are_set_not_accumulated_and_a_dict_fetched_earlier_stays_current():
    model, x, r = random_mlp(3)
    grads = model.grads
    y = model.forward(x)
    model.backward(np.ones(y.shape))
    first = {k: g.copy() for k, g in model.grads.items()}
    model.backward(np.ones(y.shape))
    for k in first:
        np.testing.assert_array_equal(model.grads[k], first[k])
    model.backward(2 * np.ones(y.shape))
    for k in first:
        np.testing.assert_allclose(grads[k], 2 * first[k])
    model.zero_grad()
    assert all(not g.any() for g in model.grads.values())


def test_default_init_is_pytorchs_uniform_bound_and_follows_the_seed():
    lin = nn.Linear(400, 300, rng=0)
    conv = nn.Conv2d(16, 300, 3, rng=0)
    for layer, fan_in in ((lin, 400), (conv, 16 * 9)):
        for name, p in layer.params.items():
            bound = 1 / np.sqrt(fan_in)
            assert p.dtype == np.float64
            assert np.abs(p).max() <= bound, name
            assert np.abs(p).max() > 0.9 * bound, name  # spread over the whole interval
            assert abs(p.mean()) < 0.1 * bound, name
    np.testing.assert_array_equal(
        nn.Linear(4, 3, rng=7).params["weight"], nn.Linear(4, 3, rng=7).params["weight"]
    )
    g = np.random.default_rng(7)
    a, b = nn.Linear(4, 3, rng=g), nn.Linear(4, 3, rng=g)  # one generator: different layers
    assert not np.array_equal(a.params["weight"], b.params["weight"])


def test_softmax_cross_entropy_is_the_mean_and_its_gradient_is_p_minus_onehot_over_n():
    r = np.random.default_rng(4)
    f, t = r.standard_normal((5, 4)), np.array([0, 3, 3, 1, 2])
    ce = nn.SoftmaxCrossEntropy()
    loss = ce.forward(f, t)
    assert isinstance(loss, float)
    assert loss == pytest.approx(engine.cross_entropy(f, t), rel=1e-14)
    np.testing.assert_allclose(ce.backward(), (engine.softmax(f) - np.eye(4)[t]) / 5, atol=1e-15)
    big = np.array([[1000.0, -1000.0, 0.0]])
    assert ce.forward(big, [1]) == pytest.approx(2000.0) and np.isfinite(ce.backward()).all()


# ---------------------------------------------------------------- optimisers by hand


def _one_param_model(value, grads):
    """A Linear(1, 1) whose backward hands out the given gradients in turn."""
    lin = nn.Linear(1, 1)
    lin.params["weight"][...] = value
    lin.params["bias"][...] = 0.0
    it = iter(grads)

    def backward(dy):
        g = next(it)
        lin.grads["weight"][...] = g
        lin.grads["bias"][...] = 0.0

    lin.backward = backward
    return lin


def test_sgd_momentum_buffer_starts_at_the_first_gradient_as_in_torch():
    lin = _one_param_model(1.0, [2.0, 3.0])
    opt = nn.SGD(lin, lr=0.1, momentum=0.9, weight_decay=0.5)
    lin.backward(None)
    opt.step()  # g = 2 + 0.5·1 = 2.5, b = 2.5, w = 1 − 0.25
    assert lin.params["weight"][0, 0] == pytest.approx(0.75)
    lin.backward(None)
    opt.step()  # g = 3 + 0.5·0.75 = 3.375, b = 0.9·2.5 + 3.375 = 5.625, w = 0.75 − 0.5625
    assert lin.params["weight"][0, 0] == pytest.approx(0.1875)


def test_adam_first_steps_move_by_about_lr_as_bias_correction_intends():
    lin = _one_param_model(1.0, [4.0, -0.01])
    opt = nn.Adam(lin, lr=0.01)
    lin.backward(None)
    opt.step()  # m̂ = g, v̂ = g²: a step of lr·g/|g|
    assert lin.params["weight"][0, 0] == pytest.approx(0.99, abs=1e-8)
    lin.backward(None)
    opt.step()
    m = (0.9 * 0.1 * 4 + 0.1 * -0.01) / (1 - 0.9**2)
    v = (0.999 * 0.001 * 16 + 0.001 * 1e-4) / (1 - 0.999**2)
    assert lin.params["weight"][0, 0] == pytest.approx(0.99 - 0.01 * m / (np.sqrt(v) + 1e-8))


# ---------------------------------------------------------------- float32


def _float32_step(model, x, target, opt_cls):
    loss = nn.SoftmaxCrossEntropy()
    opt = opt_cls(model, lr=0.01)
    y = model.forward(x)
    assert y.dtype == np.float32
    loss.forward(y, target)
    g = loss.backward()
    assert g.dtype == np.float32
    dx = model.backward(g)
    assert dx.dtype == np.float32
    opt.step()
    opt.step()
    for k in model.params:
        assert model.params[k].dtype == np.float32, k
        assert model.grads[k].dtype == np.float32, k


@pytest.mark.parametrize("opt_cls", [nn.SGD, nn.Adam])
@pytest.mark.parametrize("how", ["astype", "dtype"])
def test_a_float32_model_stays_float32(how, opt_cls):
    f32 = np.float32
    if how == "astype":
        model = train.digits_cnn(channels=2, rng=0).astype(f32)
    else:
        model = nn.Sequential(
            nn.Conv2d(1, 2, 3, padding=1, rng=0, dtype=f32),
            nn.Sigmoid(),
            nn.AvgPool2d(2),
            nn.Flatten(),
            nn.Linear(32, 10, rng=0, dtype=f32),
            nn.Tanh(),
        )
    # float64 input: the model's dtype wins, as a float32 model should compute throughout
    x = np.random.default_rng(0).random((3, 1, 8, 8))
    _float32_step(model, x, np.array([1, 2, 3]), opt_cls)


def test_astype_returns_the_module_and_converts_every_layer():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2))
    assert model.astype(np.float32) is model
    assert all(p.dtype == np.float32 for p in model.params.values())
    assert model.forward(np.ones((1, 2))).dtype == np.float32
    assert model.astype("float64").forward(np.ones((1, 2), np.float32)).dtype == np.float64
    lone = nn.ReLU()
    assert lone.forward(np.ones(2, np.float32)).dtype == np.float32  # follows the input
    assert lone.astype(np.float64).forward(np.ones(2, np.float32)).dtype == np.float64


# ---------------------------------------------------------------- bad input


def _after_forward(layer, x):
    layer.forward(x)
    return layer


def rand(*shape):
    return np.random.default_rng(0).standard_normal(shape)


BAD = [
    (
        lambda: nn.Linear(3, 2).forward(rand(4, 5)),
        r"^Linear\(3, 2\): x must have 3 features in its last axis \(N, 3\), got shape \(4, 5\)$",
    ),
    (
        lambda: nn.Linear(3, 2).forward(rand(3)),
        r"^Linear\(3, 2\): x must be 2-D \(N, 3\), one sample per row, got shape \(3,\)",
    ),
    (
        lambda: nn.Linear(3, 2).backward(rand(4, 2)),
        r"^Linear\(3, 2\): backward must come after a forward .*got dy shape \(4, 2\)",
    ),
    (
        lambda: _after_forward(nn.Linear(3, 2), rand(4, 3)).backward(rand(4, 3)),
        r"^Linear\(3, 2\): dy must be of shape \(4, 2\) \(the last forward's output\), got shape \(4, 3\)",
    ),
    (lambda: nn.Linear(0, 2), r"^Linear: in_features must be an int >= 1, got 0"),
    (lambda: nn.Linear(3, 2.0), r"^Linear: out_features must be an int >= 1, got 2.0"),
    (lambda: nn.Linear(3, 2, dtype=np.int64), r"^Linear: dtype must be float32 or float64"),
    (
        lambda: nn.Linear(3, 2, rng="seed"),
        r"^Linear: rng must be None, a seed >= 0 or a numpy Generator",
    ),
    (
        lambda: nn.Linear(3, 2).forward([["a", "b", "c"]]),
        r"^Linear\(3, 2\): x must be an array of real numbers, got dtype <U1",
    ),
    (
        lambda: nn.Conv2d(1, 8, 3).forward(rand(2, 3, 8, 8)),
        r"^Conv2d\(1, 8, kernel_size=\(3, 3\), stride=\(1, 1\)\): x must have 1 channels in axis 1 \(N, 1, H, W\), got shape \(2, 3, 8, 8\)",
    ),
    (
        lambda: nn.Conv2d(1, 8, 3).forward(rand(8, 8)),
        r"^Conv2d\(1, 8, .*\): x must be 4-D \(N, 1, H, W\), got shape \(8, 8\)",
    ),
    (
        lambda: nn.Conv2d(1, 8, 3).forward(rand(2, 1, 2, 8)),
        r"^Conv2d\(1, 8, .*\): x must be at least 3×3 \(the kernel\) once padded by \(0, 0\) \(N, 1, H, W\), got shape \(2, 1, 2, 8\)",
    ),
    (
        lambda: _after_forward(nn.Conv2d(1, 2, 3, padding=1), rand(2, 1, 5, 5)).backward(
            rand(2, 2, 3, 3)
        ),
        r"^Conv2d\(1, 2, .*padding=\(1, 1\)\): dy must be of shape \(2, 2, 5, 5\)",
    ),
    (
        lambda: nn.Conv2d(1, 2, 3).backward(rand(2, 2, 3, 3)),
        r"^Conv2d\(1, 2, .*\): backward must come after a forward",
    ),
    (lambda: nn.Conv2d(0, 2, 3), r"^Conv2d: in_channels must be an int >= 1, got 0"),
    (lambda: nn.Conv2d(1, 0, 3), r"^Conv2d: out_channels must be an int >= 1, got 0"),
    (lambda: nn.Conv2d(1, 2, 0), r"^Conv2d: kernel_size must be >= 1, got 0"),
    (lambda: nn.Conv2d(1, 2, 3, stride=0), r"^Conv2d: stride must be >= 1"),
    (lambda: nn.Conv2d(1, 2, 3, padding=-1), r"^Conv2d: padding must be >= 0"),
    (
        lambda: nn.Conv2d(1, 2, (3, 3, 3)),
        r"^Conv2d: kernel_size must be an int or an \(h, w\) pair",
    ),
    (
        lambda: nn.MaxPool2d(2).forward(rand(2, 3, 1, 4)),
        r"^MaxPool2d\(kernel_size=\(2, 2\), stride=\(2, 2\)\): x must be at least 2×2 in H and W \(N, C, H, W\), got shape \(2, 3, 1, 4\)",
    ),
    (
        lambda: nn.AvgPool2d(2).forward(rand(3, 4, 4)),
        r"^AvgPool2d\(.*\): x must be 4-D \(N, C, H, W\), got shape \(3, 4, 4\)",
    ),
    (
        lambda: _after_forward(nn.MaxPool2d(2), rand(1, 1, 4, 4)).backward(rand(1, 1, 4, 4)),
        r"^MaxPool2d\(.*\): dy must be of shape \(1, 1, 2, 2\)",
    ),
    (lambda: nn.MaxPool2d(0), r"^MaxPool2d: kernel_size must be >= 1"),
    (lambda: nn.AvgPool2d(2, stride=0), r"^AvgPool2d: stride must be >= 1"),
    (lambda: nn.ReLU().backward(rand(2)), r"^ReLU\(\): backward must come after a forward"),
    (
        lambda: _after_forward(nn.Sigmoid(), rand(2, 3)).backward(rand(3, 2)),
        r"^Sigmoid\(\): dy must be of shape \(2, 3\)",
    ),
    (
        lambda: _after_forward(nn.Tanh(), rand(2, 3)).backward(np.array(["a"] * 6).reshape(2, 3)),
        r"^Tanh\(\): dy must be an array of real numbers",
    ),
    (
        lambda: nn.Flatten().forward(rand(5)),
        r"^Flatten\(\): x must be 2-D \(N, …\), got shape \(5,\)",
    ),
    (
        lambda: nn.Sequential(nn.Linear(2, 3), nn.Linear(4, 1)).forward(rand(1, 2)),
        r"^Linear\(4, 1\): x must have 4 features",
    ),
    (
        lambda: nn.Sequential(nn.Linear(2, 3), nn.SoftmaxCrossEntropy()),
        r"^Sequential: module 1 must be a layer .*got SoftmaxCrossEntropy",
    ),
    (
        lambda: nn.Sequential(nn.Linear(2, 3)).astype(np.int32),
        r"^Sequential: dtype must be float32 or float64",
    ),
    (
        lambda: nn.SoftmaxCrossEntropy().forward(rand(2, 3), [0, 3]),
        r"^SoftmaxCrossEntropy\(\): target must be class indices in \[0, 3\), got values in \[0, 3\]",
    ),
    (
        lambda: nn.SoftmaxCrossEntropy().forward(rand(2, 3), [0, -1]),
        r"^SoftmaxCrossEntropy\(\): target must be class indices in \[0, 3\)",
    ),
    (
        lambda: nn.SoftmaxCrossEntropy().forward(rand(2, 3), [0.5, 1]),
        r"^SoftmaxCrossEntropy\(\): target must be integer class indices",
    ),
    (
        lambda: nn.SoftmaxCrossEntropy().forward(rand(2, 3), [True, False]),
        r"^SoftmaxCrossEntropy\(\): target must be integer class indices",
    ),
    (
        lambda: nn.SoftmaxCrossEntropy().forward(rand(2, 3), [0]),
        r"^SoftmaxCrossEntropy\(\): target must be of shape \(2,\), one class per row of logits \(2, 3\), got shape \(1,\)",
    ),
    (
        lambda: nn.SoftmaxCrossEntropy().forward(rand(3), [0]),
        r"^SoftmaxCrossEntropy\(\): logits must be 2-D \(N, num_classes\), got shape \(3,\)",
    ),
    (
        lambda: nn.SoftmaxCrossEntropy().forward(rand(0, 3), []),
        r"^SoftmaxCrossEntropy\(\): logits must have at least one row",
    ),
    (
        lambda: nn.SoftmaxCrossEntropy().backward(),
        r"^SoftmaxCrossEntropy\(\): backward must come after a forward",
    ),
    (
        lambda: nn.SGD(nn.Linear(2, 1), lr=-0.1),
        r"^SGD: lr must be a number in \[0, inf\), got -0.1",
    ),
    (lambda: nn.SGD(nn.Linear(2, 1), lr=0.1, momentum=-1), r"^SGD: momentum must be a number"),
    (lambda: nn.SGD(nn.Linear(2, 1), lr=float("inf")), r"^SGD: lr must be a number in \[0, inf\)"),
    (lambda: nn.SGD(nn.Linear(2, 1), lr=float("nan")), r"^SGD: lr must be a number"),
    (
        lambda: nn.SGD("model", lr=0.1),
        r"^SGD: model must be a layer or Sequential with params and grads, got str",
    ),
    (
        lambda: nn.Adam(nn.Linear(2, 1), betas=(0.9, 1.0)),
        r"^Adam: betas must be a number in \[0, 1\)",
    ),
    (lambda: nn.Adam(nn.Linear(2, 1), betas=0.9), r"^Adam: betas must be a pair"),
    (lambda: nn.Adam(nn.Linear(2, 1), eps=-1e-8), r"^Adam: eps must be a number in \[0, inf\)"),
]


@pytest.mark.parametrize("call,message", BAD, ids=[m[1:50] for _, m in BAD])
def test_bad_input_raises_a_value_error_naming_the_layer(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------- training learns


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_digits_cnn_with_the_page_defaults_reaches_96_percent(dtype):
    d = train.DIGITS_CNN_DEFAULTS
    images, labels = datasets.load_digits()
    X = images[:, None].astype(dtype)
    tr, te = datasets.train_test_split(len(X), test_fraction=0.2, seed=0)
    rng = np.random.default_rng(0)
    model = train.digits_cnn(d["channels"], d["kernel_size"], d["padding"], d["pool"], rng=rng)
    model.astype(dtype)
    opt, loss = nn.Adam(model, lr=d["lr"]), nn.SoftmaxCrossEntropy()
    for _ in range(d["epochs"]):
        train.train_epoch(model, loss, opt, X[tr], labels[tr], d["batch_size"], rng)
    assert train.accuracy(model, X[te], labels[te]) >= 0.96


def test_a_two_moons_mlp_reaches_97_percent_in_210_steps():
    X, y = datasets.two_moons(200, noise=0.1, seed=0)
    X_test, y_test = datasets.two_moons(1000, noise=0.1, seed=1)
    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Linear(2, 8, rng=rng),
        nn.ReLU(),
        nn.Linear(8, 8, rng=rng),
        nn.ReLU(),
        nn.Linear(8, 2, rng=rng),
    )
    opt, loss = nn.Adam(model, lr=0.03), nn.SoftmaxCrossEntropy()
    for _ in range(30):  # 30 epochs of 7 batches (six of 32, one of 8): 210 steps
        train.train_epoch(model, loss, opt, X, y, 32, rng)
    assert train.accuracy(model, X_test, y_test) >= 0.97


# ---------------------------------------------------------------- packaging


def test_the_public_names_are_exported_and_the_engine_imports_numpy_only():
    for name in ["Linear", "Conv2d", "ReLU", "Sigmoid", "Tanh", "MaxPool2d", "AvgPool2d"]:
        assert getattr(engine, name) is getattr(nn, name)
    for name in ["Flatten", "Sequential", "SoftmaxCrossEntropy", "SGD", "Adam", "Module"]:
        assert getattr(engine, name) is getattr(nn, name)
    assert engine.datasets is datasets and engine.train is train
    code = (
        "import sys, engine, engine.nn, engine.datasets, engine.train; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'torch', 'sklearn', 'scipy', 'sympy', 'streamlit', 'pandas', 'plotly'}))"
    )
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr
