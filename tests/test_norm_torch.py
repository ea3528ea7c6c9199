"""Batch norm, layer norm and residual blocks against PyTorch: engine.batch_norm / layer_norm and
their backward passes against torch.nn.functional over seeded random shapes; BatchNorm1d/2d
against torch.nn's over several steps of running statistics, in training and eval mode;
LayerNorm; a residual block inside a network; SGD and Adam steps against torch.optim; float64
and float32. Skips cleanly where torch is not installed; CI installs it."""

import numpy as np
import pytest

import engine
from engine import nn, train

torch = pytest.importorskip("torch")
F = torch.nn.functional
tnn = torch.nn

TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}
DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
# relative to the largest magnitude of the reference: float32 sums of a few hundred terms
RTOL = {np.float64: 1e-10, np.float32: 2e-5}


def close(ours, ref, dtype, what, cond=1.0, rtol=None):
    """ours == ref to dtype's tolerance, scaled by the case's condition (|mean|/spread of x:
    x̂ = (x − μ)/σ loses that factor of x's precision in any implementation)."""
    ref = ref.detach().numpy() if isinstance(ref, torch.Tensor) else np.asarray(ref)
    assert ours.shape == ref.shape, what
    assert ours.dtype == dtype, f"{what}: {ours.dtype}"
    scale = float(np.nanmax(np.abs(ref), initial=1.0))
    tol = (rtol or RTOL[dtype]) * max(1.0, cond)
    np.testing.assert_allclose(ours, ref, rtol=tol, atol=tol * scale, err_msg=what)


def _tensor(a, grad=True):
    return torch.tensor(a, requires_grad=grad)


# ---------------------------------------------------------------- functional


def _bn_case(seed, dtype):
    """A random (N, C, …) batch of 2 to 4 axes, shifted and scaled, with at least 2 values per
    channel; weight and bias each present or None; a random eps."""
    r = np.random.default_rng(seed)
    while True:
        shape = tuple(int(v) for v in r.integers(1, 6, int(r.integers(2, 5))))
        if np.prod(shape) // shape[1] > 1:
            break
    spread, offset = r.choice([0.01, 1.0, 30.0]), r.choice([0.0, 2.0, -50.0])
    x = r.standard_normal(shape) * spread + offset
    c = shape[1]
    weight = r.standard_normal(c) if r.random() < 0.7 else None
    bias = r.standard_normal(c) if r.random() < 0.7 else None
    eps = float(r.choice([1e-5, 1e-3, 0.5]))
    cast = (lambda a: None if a is None else a.astype(dtype)) if dtype else (lambda a: a)
    xs = cast(x), cast(weight), cast(bias), eps, cast(r.standard_normal(shape))
    return *xs, abs(offset) / spread


def _torch_affine(a, n, dtype, fill):
    """weight or bias as a leaf tensor; None becomes ones or zeros, so torch still reports the
    gradient the engine must give for it."""
    return _tensor(np.full(n, fill, dtype) if a is None else a)


@DTYPES
@pytest.mark.parametrize("seed", range(24))
def test_batch_norm_and_its_backward_match_torch(seed, dtype):
    x, weight, bias, eps, dy, cond = _bn_case(seed, dtype)
    c = x.shape[1]
    tx = _tensor(x)
    tw, tb = _torch_affine(weight, c, dtype, 1.0), _torch_affine(bias, c, dtype, 0.0)
    ty = F.batch_norm(tx, None, None, tw, tb, training=True, eps=eps)
    ty.backward(torch.tensor(dy))
    label = f"seed {seed}: x {x.shape}, weight {weight is not None}, bias {bias is not None}"
    close(engine.batch_norm(x, weight, bias, eps=eps), ty, dtype, f"{label}: y", cond)
    dx, dw, db = engine.batch_norm_backward(dy, x, weight, eps=eps)
    close(dx, tx.grad, dtype, f"{label}: dx", cond)
    close(dw, tw.grad, dtype, f"{label}: dweight", cond)
    close(db, tb.grad, dtype, f"{label}: dbias")


def _ln_case(seed, dtype):
    """A random x of 1 to 4 axes, normalised over its last 1 to all of them (an int or a tuple)."""
    r = np.random.default_rng(100 + seed)
    shape = tuple(int(v) for v in r.integers(1, 6, int(r.integers(1, 5))))
    k = int(r.integers(1, len(shape) + 1))
    ns = shape[len(shape) - k :]
    as_int = k == 1 and r.random() < 0.5
    spread, offset = r.choice([0.01, 1.0, 30.0]), r.choice([0.0, 2.0, -50.0])
    x = r.standard_normal(shape) * spread + offset
    weight = r.standard_normal(ns).astype(dtype) if r.random() < 0.7 else None
    bias = r.standard_normal(ns).astype(dtype) if r.random() < 0.7 else None
    eps = float(r.choice([1e-5, 1e-3, 0.5]))
    dy = r.standard_normal(shape).astype(dtype)
    arg = ns[0] if as_int else ns
    return x.astype(dtype), arg, ns, weight, bias, eps, dy, abs(offset) / spread


@DTYPES
@pytest.mark.parametrize("seed", range(24))
def test_layer_norm_and_its_backward_match_torch(seed, dtype):
    x, arg, ns, weight, bias, eps, dy, cond = _ln_case(seed, dtype)
    tx = _tensor(x)
    tw, tb = _torch_affine(weight, ns, dtype, 1.0), _torch_affine(bias, ns, dtype, 0.0)
    ty = F.layer_norm(tx, ns, tw, tb, eps=eps)
    ty.backward(torch.tensor(dy))
    label = f"seed {seed}: x {x.shape}, normalized_shape {arg!r}"
    close(engine.layer_norm(x, arg, weight, bias, eps=eps), ty, dtype, f"{label}: y", cond)
    dx, dw, db = engine.layer_norm_backward(dy, x, arg, weight, eps=eps)
    close(dx, tx.grad, dtype, f"{label}: dx", cond)
    close(dw, tw.grad, dtype, f"{label}: dweight", cond)
    close(db, tb.grad, dtype, f"{label}: dbias")


@pytest.mark.parametrize("seed", range(6))
def test_float32_is_as_accurate_as_torchs_when_the_mean_dwarfs_the_spread(seed):
    """x = −50 + 0.01·noise in float32: x̂ is only good to ~1e-3 in any float32 implementation.
    Measured against float64 on the same float32 numbers, the engine's error is no worse than
    PyTorch's (within a factor 2)."""
    r = np.random.default_rng(seed)
    x = (r.standard_normal((16, 3, 4)) * 0.01 - 50).astype(np.float32)
    dy = r.standard_normal(x.shape).astype(np.float32)
    tx = _tensor(x)
    for ours, ours_back, theirs in (
        (
            engine.batch_norm,
            engine.batch_norm_backward,
            lambda t: F.batch_norm(t, None, None, training=True),
        ),
        (
            lambda a: engine.layer_norm(a, 4),
            lambda d, a: engine.layer_norm_backward(d, a, 4),
            lambda t: F.layer_norm(t, (4,)),
        ),
    ):
        tx.grad = None
        ty = theirs(tx)
        ty.backward(torch.tensor(dy))
        exact = ours(x.astype(np.float64))
        exact_dx = ours_back(dy.astype(np.float64), x.astype(np.float64))[0]
        for a, t, e in (
            (ours(x), ty.detach().numpy(), exact),
            (ours_back(dy, x)[0], tx.grad.numpy(), exact_dx),
        ):
            assert a.dtype == np.float32
            ours_err, torch_err = np.abs(a - e).max(), np.abs(t - e).max()
            assert ours_err <= 2 * torch_err + 1e-6, (ours_err, torch_err)


@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1), (1, 2, 1, 1)])
def test_one_value_per_channel_is_refused_as_torch_refuses_it(shape):
    x = np.ones(shape)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(torch.tensor(x), None, None, training=True)
    for call in (lambda: engine.batch_norm(x), lambda: engine.batch_norm_backward(x, x)):
        with pytest.raises(
            ValueError, match=r"^batch_norm(_backward)?: x must .*1 value per channel"
        ):
            call()
    # two samples, or one sample with two positions: statistics exist
    wide_shape = (2, 3) if len(shape) == 2 else (1, *shape[1:-1], 2)
    wide = np.arange(float(np.prod(wide_shape))).reshape(wide_shape)
    close(
        engine.batch_norm(wide),
        F.batch_norm(torch.tensor(wide), None, None, training=True),
        np.float64,
        "one sample, two positions",
    )


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # inf − inf, as intended
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_entry_spoils_its_own_channel_or_row_only_as_in_torch(bad):
    r = np.random.default_rng(4)
    x, dy = r.standard_normal((4, 3, 2)), r.standard_normal((4, 3, 2))
    x[2, 1, 0] = bad
    for ours, ours_back, theirs in (
        (
            engine.batch_norm,
            engine.batch_norm_backward,
            lambda t: F.batch_norm(t, None, None, training=True),
        ),
        (
            lambda a: engine.layer_norm(a, 2),
            lambda d, a: engine.layer_norm_backward(d, a, 2),
            lambda t: F.layer_norm(t, (2,)),
        ),
    ):
        tx = _tensor(x)
        ty = theirs(tx)
        ty.backward(torch.tensor(dy))
        np.testing.assert_array_equal(np.isnan(ours(x)), np.isnan(ty.detach().numpy()))
        np.testing.assert_allclose(ours(x), ty.detach().numpy(), rtol=1e-12, equal_nan=True)
        dx = ours_back(dy, x)[0]
        np.testing.assert_array_equal(np.isnan(dx), np.isnan(tx.grad.numpy()))
        np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10, atol=1e-12, equal_nan=True)
        assert np.isfinite(dx[:, 0]).all()  # the other channels are untouched


def test_an_empty_batch_gives_empty_outputs_and_zero_parameter_gradients_as_torch():
    for x in (np.zeros((0, 3)), np.zeros((0, 3, 2, 2))):
        tx, tw, tb = _tensor(x), _tensor(np.ones(3)), _tensor(np.zeros(3))
        ty = F.batch_norm(tx, None, None, tw, tb, training=True)
        ty.sum().backward()
        assert engine.batch_norm(x).shape == tuple(ty.shape)
        dx, dw, db = engine.batch_norm_backward(np.ones(x.shape), x)
        assert dx.shape == x.shape
        np.testing.assert_array_equal(dw, tw.grad.numpy())
        np.testing.assert_array_equal(db, tb.grad.numpy())
    x = np.zeros((0, 4))
    assert engine.layer_norm(x, 4).shape == tuple(F.layer_norm(torch.tensor(x), (4,)).shape)
    dx, dw, db = engine.layer_norm_backward(x, x, 4)
    assert dx.shape == (0, 4) and not dw.any() and not db.any() and dw.shape == (4,)


# ---------------------------------------------------------------- layers and networks


class TorchResidual(tnn.Sequential):
    """x + f(x) with f a torch.nn.Sequential: its parameters are named as the engine's."""

    def forward(self, x):
        return x + super().forward(x)


def to_torch(model, dtype):
    """The same network in torch.nn with the engine's parameters and running statistics."""
    seq = _torch_module(model).to(TORCH_DTYPE[dtype])
    with torch.no_grad():
        for name, p in seq.named_parameters():
            v = model.params[name]
            p.copy_(torch.from_numpy(v.T.copy() if _is_linear_weight(model, name) else v))
        for name, buf in seq.named_buffers():
            layer, attr = _owner(model, name)
            buf.copy_(torch.tensor(getattr(layer, attr)))
    return seq


def _torch_module(m):
    if isinstance(m, nn.Sequential):  # Residual included
        kids = [_torch_module(k) for k in m.layers]
        return TorchResidual(*kids) if isinstance(m, nn.Residual) else tnn.Sequential(*kids)
    if isinstance(m, nn.Linear):
        return tnn.Linear(m.in_features, m.out_features)
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return getattr(tnn, type(m).__name__)(m.num_features, eps=m.eps, momentum=m.momentum)
    if isinstance(m, nn.LayerNorm):
        return tnn.LayerNorm(m.normalized_shape, eps=m.eps)
    if isinstance(m, nn.Conv2d):
        return tnn.Conv2d(
            m.in_channels, m.out_channels, m.kernel_size, stride=m.stride, padding=m.padding
        )
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        return getattr(tnn, type(m).__name__)(m.kernel_size, stride=m.stride)
    return getattr(tnn, type(m).__name__)()


def _owner(model, name):
    """The engine layer behind a torch name such as "1.0.running_mean", and the attribute."""
    *path, attr = name.split(".")
    m = model
    for i in path:
        m = m.layers[int(i)]
    return m, attr


def _is_linear_weight(model, name):
    layer, attr = _owner(model, name)
    return isinstance(layer, nn.Linear) and attr == "weight"


def _engine_grads(model):
    return {n: (g.T if _is_linear_weight(model, n) else g) for n, g in model.grads.items()}


def _norm_layers(m):
    if isinstance(m, nn.Sequential):
        return [k for layer in m.layers for k in _norm_layers(layer)]
    return [m] if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) else []


def compare_step(model, tmodel, x, target, dtype, label):
    """One forward and backward through both, in each one's current mode: the output, the loss,
    dx, every gradient and every running statistic agree."""
    loss_fn = nn.SoftmaxCrossEntropy()
    out = model.forward(x)
    loss = loss_fn.forward(out, target)
    dx = model.backward(loss_fn.backward())
    tx = _tensor(x)
    tout = tmodel(tx)
    tloss = F.cross_entropy(tout, torch.tensor(target))
    tmodel.zero_grad()
    tloss.backward()
    close(out, tout, dtype, f"{label}: output")
    assert loss == pytest.approx(tloss.item(), rel=RTOL[dtype] * 10), f"{label}: loss"
    close(dx, tx.grad, dtype, f"{label}: dx")
    tparams = dict(tmodel.named_parameters())
    assert list(tparams) == list(model.params), label
    for n, g in _engine_grads(model).items():
        close(g, tparams[n].grad, dtype, f"{label}: grad {n}")
    compare_buffers(model, tmodel, dtype, label)


def compare_buffers(model, tmodel, dtype, label, rtol=None):
    for name, buf in tmodel.named_buffers():
        layer, attr = _owner(model, name)
        ours = getattr(layer, attr)
        if attr == "num_batches_tracked":
            assert ours == buf.item(), f"{label}: {name}"
        else:
            close(ours, buf, dtype, f"{label}: {name}", rtol=rtol)


def _bn_mlp(r):
    return nn.Sequential(
        nn.Linear(3, 6, rng=r),
        nn.BatchNorm1d(6),
        nn.ReLU(),
        nn.Residual(nn.Linear(6, 6, rng=r), nn.BatchNorm1d(6, momentum=0.3), nn.Tanh()),
        nn.Residual(nn.Linear(6, 6, rng=r), nn.Sigmoid(), nn.Linear(6, 6, rng=r)),
        nn.LayerNorm(6),
        nn.Linear(6, 4, rng=r),
    )


def _bn_cnn(r):
    return nn.Sequential(
        nn.BatchNorm2d(2, momentum=None),  # a network may start with one
        nn.Conv2d(2, 4, 3, padding=1, rng=r),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Residual(nn.Conv2d(4, 4, 3, padding=1, rng=r), nn.BatchNorm2d(4, eps=1e-3)),
        nn.MaxPool2d(2),
        nn.LayerNorm((4, 3, 2)),
        nn.Flatten(),
        nn.Linear(4 * 3 * 2, 4, rng=r),
    )


def _bn1d_sequence(r):
    return nn.Sequential(
        nn.BatchNorm1d(3, momentum=0.5),  # on (N, C, L)
        nn.Flatten(),
        nn.Linear(3 * 5, 4, rng=r),
    )


NETWORKS = {
    "MLP: batch norm, residual blocks, layer norm": (_bn_mlp, (8, 3)),
    "CNN: batch norm 2d, a residual conv block, layer norm": (_bn_cnn, (5, 2, 6, 5)),
    "BatchNorm1d on (N, C, L), momentum 0.5": (_bn1d_sequence, (4, 3, 5)),
}


def _randomise_affine(model, r):
    """Non-trivial γ and β (they start at ones and zeros) so the affine part is tested."""
    for n, p in model.params.items():
        if p.ndim == 1 or "norm" in type(_owner(model, n)[0]).__name__.lower():
            p[...] = r.standard_normal(p.shape) * 0.5 + (1.0 if n.endswith("weight") else 0.0)


@DTYPES
@pytest.mark.parametrize("name", NETWORKS)
def test_networks_match_torch_in_training_then_eval_then_training_mode(name, dtype):
    build, x_shape = NETWORKS[name]
    r = np.random.default_rng(21)
    model = build(r).astype(dtype)
    _randomise_affine(model, r)
    tmodel = to_torch(model, dtype)
    assert model.training and all(m.training for m in _norm_layers(model))
    for step in range(4):  # running statistics move, step by step, as torch's
        x = (r.standard_normal(x_shape) * 2 + step).astype(dtype)
        compare_step(model, tmodel, x, r.integers(0, 4, x_shape[0]), dtype, f"{name}, step {step}")
    assert model.eval() is model and not any(m.training for m in _norm_layers(model))
    tmodel.eval()
    for n in (x_shape[0], 1):  # eval mode takes a single sample
        x = r.standard_normal((n, *x_shape[1:])).astype(dtype)
        compare_step(model, tmodel, x, r.integers(0, 4, n), dtype, f"{name}, eval, batch {n}")
    model.train()
    tmodel.train()
    x = r.standard_normal(x_shape).astype(dtype)
    compare_step(model, tmodel, x, r.integers(0, 4, x_shape[0]), dtype, f"{name}, train again")


@DTYPES
@pytest.mark.parametrize(
    "cls,shape,kw",
    [
        ("BatchNorm1d", (7, 4), {}),
        ("BatchNorm1d", (3, 4, 6), dict(momentum=0.9, eps=1e-3)),
        ("BatchNorm1d", (2, 4), dict(momentum=None)),
        ("BatchNorm2d", (3, 4, 5, 2), {}),
        ("BatchNorm2d", (2, 4, 1, 3), dict(momentum=1.0)),
        ("BatchNorm2d", (5, 4, 2, 2), dict(momentum=0.0, eps=0.1)),
    ],
)
def test_batch_norm_layers_keep_torchs_running_statistics(cls, shape, kw, dtype):
    r = np.random.default_rng(5)
    ours = getattr(nn, cls)(shape[1], **kw, dtype=dtype)
    theirs = getattr(tnn, cls)(shape[1], **kw).to(TORCH_DTYPE[dtype])
    for step in range(6):
        x = (r.standard_normal(shape) * (1 + step) + step).astype(dtype)
        y, ty = ours.forward(x), theirs(torch.tensor(x))
        close(y, ty, dtype, f"{cls} {kw} step {step}: y")
        close(ours.running_mean, theirs.running_mean, dtype, f"step {step}: running_mean")
        close(ours.running_var, theirs.running_var, dtype, f"step {step}: running_var")
        assert ours.num_batches_tracked == theirs.num_batches_tracked.item()
    ours.eval(), theirs.eval()
    x = r.standard_normal(shape).astype(dtype)
    close(ours.forward(x), theirs(torch.tensor(x)), dtype, f"{cls} {kw}: eval")
    close(ours.running_var, theirs.running_var, dtype, "eval leaves the statistics alone")


@DTYPES
@pytest.mark.parametrize("ns,shape", [(5, (3, 5)), ((2, 3), (4, 2, 3)), ([3], (2, 2, 3))])
def test_layer_norm_layer_matches_torch_and_ignores_the_mode(ns, shape, dtype):
    r = np.random.default_rng(6)
    ours = nn.LayerNorm(ns, eps=1e-4, dtype=dtype)
    _randomise_affine(ours, r)
    theirs = tnn.LayerNorm(ns, eps=1e-4).to(TORCH_DTYPE[dtype])
    with torch.no_grad():
        for n, p in theirs.named_parameters():
            p.copy_(torch.from_numpy(ours.params[n]))
    x, dy = r.standard_normal(shape).astype(dtype), r.standard_normal(shape).astype(dtype)
    for mode in ("train", "eval"):
        getattr(ours, mode)(), getattr(theirs, mode)()
        tx = _tensor(x)
        ty = theirs(tx)
        theirs.zero_grad()
        ty.backward(torch.tensor(dy))
        close(ours.forward(x), ty, dtype, f"{mode}: y")
        close(ours.backward(dy), tx.grad, dtype, f"{mode}: dx")
        for n, p in theirs.named_parameters():
            close(ours.grads[n], p.grad, dtype, f"{mode}: grad {n}")


OPTIMISERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.01)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6)),
]


@pytest.mark.parametrize("name", NETWORKS)
@pytest.mark.parametrize("opt_name,kw", OPTIMISERS, ids=[f"{n} {kw}" for n, kw in OPTIMISERS])
def test_optimiser_steps_match_torch_optim_with_running_statistics(opt_name, kw, name):
    build, x_shape = NETWORKS[name]
    r = np.random.default_rng(9)
    model = build(r)
    tmodel = to_torch(model, np.float64)
    opt = getattr(nn, opt_name)(model, **kw)
    topt = getattr(torch.optim, opt_name)(tmodel.parameters(), **kw)
    loss_fn = nn.SoftmaxCrossEntropy()
    for step in range(5):
        x, target = r.standard_normal(x_shape) + 0.5, r.integers(0, 4, x_shape[0])
        loss_fn.forward(model.forward(x), target)
        model.backward(loss_fn.backward(), input_grad=False)
        opt.step()
        topt.zero_grad()
        F.cross_entropy(tmodel(torch.tensor(x)), torch.tensor(target)).backward()
        topt.step()
        label = f"{opt_name} {kw}, {name}, after step {step + 1}"
        for n, p in tmodel.named_parameters():
            v = model.params[n]
            # 1e-8, not 1e-10: a bias just before batch norm has a true gradient of 0 (the
            # mean is subtracted), so both sides hold rounding noise of ~1e-17 there, which
            # Adam divides by its eps (1e-8): steps of ~1e-10 that differ in the noise
            v = v.T if _is_linear_weight(model, n) else v
            close(v, p, np.float64, f"{label}: {n}", rtol=1e-8)
        compare_buffers(model, tmodel, np.float64, label, rtol=1e-8)


def test_training_and_accuracy_match_torchs_train_and_eval_loop():
    """engine.train: epochs in training mode, accuracy in eval mode (running statistics), as
    the usual torch loop with model.train() / model.eval()."""
    r = np.random.default_rng(2)
    model = nn.Sequential(
        nn.Linear(2, 8, rng=r), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2, rng=r)
    )
    tmodel = to_torch(model, np.float64)
    X, y = r.standard_normal((60, 2)), r.integers(0, 2, 60)
    X_test = r.standard_normal((25, 2)) * 3
    opt, topt = nn.SGD(model, lr=0.1), torch.optim.SGD(tmodel.parameters(), lr=0.1)
    for epoch in range(3):
        train.train_epoch(model, nn.SoftmaxCrossEntropy(), opt, X, y, 16, epoch)
        tmodel.train()
        order = np.random.default_rng(epoch).permutation(len(X))
        for s in range(0, len(X), 16):
            idx = order[s : s + 16]
            topt.zero_grad()
            F.cross_entropy(tmodel(torch.tensor(X[idx])), torch.tensor(y[idx])).backward()
            topt.step()
        compare_buffers(model, tmodel, np.float64, f"epoch {epoch}")
        tmodel.eval()
        with torch.no_grad():
            theirs = tmodel(torch.tensor(X_test)).argmax(1).numpy()
        np.testing.assert_array_equal(train.predict(model, X_test, batch_size=7), theirs)
        assert model.training  # predict restored the mode it found
    compare_buffers(model, tmodel, np.float64, "predicting moved no statistics")
