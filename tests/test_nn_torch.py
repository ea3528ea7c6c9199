"""engine.nn against torch.nn with copied weights: outputs, loss, every gradient and dx, in
float64 and float32; SGD and Adam against torch.optim step by step; the default initialisation's
bounds. Skips cleanly where torch is not installed; CI installs it."""

import numpy as np
import pytest

from engine import nn, train

torch = pytest.importorskip("torch")
tnn = torch.nn

TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}


def to_torch(model: nn.Sequential, dtype):
    """The same network in torch.nn with the engine's weights (Linear's weight transposed)."""
    layers = []
    for m in model.layers:
        if isinstance(m, nn.Linear):
            layers.append(tnn.Linear(m.in_features, m.out_features))
        elif isinstance(m, nn.Conv2d):
            layers.append(
                tnn.Conv2d(
                    m.in_channels, m.out_channels, m.kernel_size, stride=m.stride, padding=m.padding
                )
            )
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            layers.append(getattr(tnn, type(m).__name__)(m.kernel_size, stride=m.stride))
        else:
            layers.append(getattr(tnn, type(m).__name__)())
    seq = tnn.Sequential(*layers).to(TORCH_DTYPE[dtype])
    with torch.no_grad():
        for name, p in seq.named_parameters():
            p.copy_(torch.from_numpy(_torch_layout(name, model.params[name])))
    return seq


def _torch_layout(name, a):
    return a.T.copy() if a.ndim == 2 else a  # only Linear's weight is 2-D


def _mlp_relu(r):
    return nn.Sequential(
        nn.Linear(5, 7, rng=r), nn.ReLU(), nn.Linear(7, 4, rng=r), nn.ReLU(), nn.Linear(4, 3, rng=r)
    )


def _mlp_sigmoid_tanh(r):
    return nn.Sequential(
        nn.Linear(3, 6, rng=r),
        nn.Sigmoid(),
        nn.Linear(6, 6, rng=r),
        nn.Tanh(),
        nn.Linear(6, 4, rng=r),
    )


def _cnn_mixed(r):
    return nn.Sequential(
        nn.Conv2d(2, 4, (3, 2), stride=2, padding=(1, 2), rng=r),  # → 4×5
        nn.Tanh(),
        nn.AvgPool2d(2, stride=1),  # → 3×4
        nn.Conv2d(4, 3, 2, rng=r),  # → 2×3
        nn.ReLU(),
        nn.MaxPool2d((2, 1)),  # → 1×3
        nn.Flatten(),
        nn.Linear(3 * 1 * 3, 5, rng=r),
    )


# name → (build(rng), input shape)
MODELS = {
    "MLP relu": (_mlp_relu, (6, 5)),
    "MLP sigmoid tanh": (_mlp_sigmoid_tanh, (5, 3)),
    "digits CNN": (lambda r: train.digits_cnn(rng=r), (4, 1, 8, 8)),
    "CNN stride, padding, avg pool, two convs": (_cnn_mixed, (3, 2, 7, 6)),
}

TOLERANCE = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=1e-4, atol=1e-5)}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", MODELS)
def test_network_matches_torch_sequential(name, dtype):
    build, x_shape = MODELS[name]
    model = build(np.random.default_rng(11)).astype(dtype)
    tmodel = to_torch(model, dtype)
    r = np.random.default_rng(3)
    x = r.standard_normal(x_shape).astype(dtype)
    k = model.layers[-1].out_features
    target = r.integers(0, k, x_shape[0])
    tol = TOLERANCE[dtype]

    loss_fn = nn.SoftmaxCrossEntropy()
    out = model.forward(x)
    loss = loss_fn.forward(out, target)
    dx = model.backward(loss_fn.backward())

    tx = torch.tensor(x, requires_grad=True)
    tout = tmodel(tx)
    tloss = tnn.functional.cross_entropy(tout, torch.tensor(target))
    tloss.backward()

    np.testing.assert_allclose(out, tout.detach().numpy(), **tol, err_msg=f"{name}: output")
    assert loss == pytest.approx(tloss.item(), rel=tol["rtol"], abs=tol["atol"]), name
    np.testing.assert_allclose(dx, tx.grad.numpy(), **tol, err_msg=f"{name}: dx")
    assert dx.dtype == dtype
    tgrads = {n: _torch_layout(n, p.grad.numpy()) for n, p in tmodel.named_parameters()}
    assert list(tgrads) == list(model.grads)
    for n, g in model.grads.items():
        assert g.dtype == dtype
        np.testing.assert_allclose(g, tgrads[n], **tol, err_msg=f"{name}: grad {n}")


OPTIMISERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.8, weight_decay=0.01)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6)),
]


@pytest.mark.parametrize("opt_name,kw", OPTIMISERS, ids=[f"{n} {kw}" for n, kw in OPTIMISERS])
def test_optimiser_matches_torch_optim_step_by_step(opt_name, kw):
    build, x_shape = MODELS["CNN stride, padding, avg pool, two convs"]
    model = build(np.random.default_rng(11))
    tmodel = to_torch(model, np.float64)
    opt = getattr(nn, opt_name)(model, **kw)
    topt = getattr(torch.optim, opt_name)(tmodel.parameters(), **kw)
    loss_fn = nn.SoftmaxCrossEntropy()
    r = np.random.default_rng(8)
    for step in range(6):
        x = r.standard_normal(x_shape)
        target = r.integers(0, 5, x_shape[0])
        loss_fn.forward(model.forward(x), target)
        model.backward(loss_fn.backward())
        opt.step()
        topt.zero_grad()
        tnn.functional.cross_entropy(tmodel(torch.tensor(x)), torch.tensor(target)).backward()
        topt.step()
        for n, p in tmodel.named_parameters():
            np.testing.assert_allclose(
                model.params[n],
                _torch_layout(n, p.detach().numpy()),
                rtol=1e-10,
                atol=1e-12,
                err_msg=f"{opt_name} {kw}: {n} after step {step + 1}",
            )


@pytest.mark.parametrize(
    "ours,theirs,fan_in",
    [
        (lambda: nn.Linear(500, 400, rng=0), lambda: tnn.Linear(500, 400), 500),
        (lambda: nn.Conv2d(16, 300, 3, rng=0), lambda: tnn.Conv2d(16, 300, 3), 144),
    ],
    ids=["Linear", "Conv2d"],
)
def test_default_init_has_torchs_bounds(ours, theirs, fan_in):
    torch.manual_seed(0)
    a, b = ours(), theirs()
    bound = 1 / np.sqrt(fan_in)
    for name, t in b.named_parameters():
        for arr in (a.params[name], t.detach().numpy()):
            assert np.abs(arr).max() <= bound and np.abs(arr).max() > 0.95 * bound, name
            assert arr.std() == pytest.approx(bound / np.sqrt(3), rel=0.2), name
