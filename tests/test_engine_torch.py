"""Every engine op, forward and backward, against torch.nn.functional in float64 over a grid of
parameters. Skips cleanly where torch is not installed; CI installs it."""

import itertools

import numpy as np
import pytest

import engine

torch = pytest.importorskip("torch")
F = torch.nn.functional

RNG = np.random.default_rng(7)


def compare(shapes, torch_fn, ours_fwd, ours_bwd, *, atol=1e-10, make=None):
    """Run torch_fn and ours on the same float64 inputs and upstream; compare output and grads."""
    arrays = [RNG.standard_normal(s) if make is None else make(i, s) for i, s in enumerate(shapes)]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_t = torch_fn(*ts)
    out = ours_fwd(*arrays)
    assert out.shape == tuple(out_t.shape)
    np.testing.assert_allclose(out, out_t.detach().numpy(), atol=atol, rtol=1e-10)
    dy = RNG.standard_normal(out.shape)
    out_t.backward(torch.tensor(dy))
    grads = ours_bwd(dy, *arrays)
    grads = grads if isinstance(grads, tuple) else (grads,)
    for g, t in zip(grads, ts, strict=True):
        np.testing.assert_allclose(g, t.grad.numpy(), atol=atol, rtol=1e-10)


CONV_GRID = [
    dict(stride=s, padding=p, dilation=d, groups=g, k=k, hw=hw)
    for (s, p, d, g, k, hw) in itertools.product(
        [1, 2, (2, 1)], [0, 1, (2, 0)], [1, 2], [1, 2], [(3, 3), (2, 3)], [(7, 7), (6, 9)]
    )
]


@pytest.mark.parametrize("cfg", CONV_GRID[::3], ids=str)
def test_conv2d_matches_torch(cfg):
    cfg = dict(cfg)
    k, hw, g = cfg.pop("k"), cfg.pop("hw"), cfg["groups"]
    shapes = [(2, 2 * g, *hw), (3 * g, 2, *k), (3 * g,)]
    compare(
        shapes,
        lambda x, w, b: F.conv2d(x, w, b, **cfg),
        lambda x, w, b: engine.conv2d(x, w, b, **cfg),
        lambda dy, x, w, b: engine.conv2d_backward(dy, x, w, **cfg),
    )


CONVT_GRID = [
    dict(stride=s, padding=p, output_padding=op, dilation=d, groups=g, k=k)
    for (s, p, op, d, g, k) in itertools.product(
        [1, 2, (3, 2)], [0, 1], [0, 1], [1, 2], [1, 2], [(3, 3), (2, 3)]
    )
    if max(op if isinstance(op, int) else max(op), 0)
    < max(max(s) if isinstance(s, tuple) else s, d)
]


@pytest.mark.parametrize("cfg", CONVT_GRID[::2], ids=str)
def test_conv_transpose2d_matches_torch(cfg):
    cfg = dict(cfg)
    k, g = cfg.pop("k"), cfg["groups"]
    shapes = [(2, 2 * g, 4, 5), (2 * g, 3, *k), (3 * g,)]
    compare(
        shapes,
        lambda x, w, b: F.conv_transpose2d(x, w, b, **cfg),
        lambda x, w, b: engine.conv_transpose2d(x, w, b, **cfg),
        lambda dy, x, w, b: engine.conv_transpose2d_backward(dy, x, w, **cfg),
    )


def _random_conv_case(seed: int, transposed: bool):
    """A random geometry, wider than the grids above: strides up to 4 (so some input pixels are
    never read, or some stride phases hold no data), padding up to 3, rectangular everything."""
    rng = np.random.default_rng(seed)
    g = int(rng.choice([1, 2, 3]))
    pair = lambda lo, hi: tuple(int(v) for v in rng.integers(lo, hi + 1, 2))  # noqa: E731
    s, p, d, k, hw = pair(1, 4), pair(0, 3), pair(1, 3), pair(1, 4), pair(1, 9)
    cfg = dict(stride=s, padding=p, dilation=d, groups=g)
    if transposed:
        cfg["output_padding"] = tuple(
            int(rng.integers(0, max(a, b))) for a, b in zip(s, d, strict=True)
        )
        shapes = [(2, g * 2, *hw), (g * 2, int(rng.integers(1, 3)), *k)]
    else:
        shapes = [(2, g * int(rng.integers(1, 3)), *hw), (g * int(rng.integers(1, 3)), 0, *k)]
        shapes[1] = (shapes[1][0], shapes[0][1] // g, *k)
    return cfg, shapes


@pytest.mark.parametrize("transposed", [False, True], ids=["conv2d", "conv_transpose2d"])
@pytest.mark.parametrize("seed", range(30))
def test_conv_random_geometry_matches_torch(seed, transposed):
    cfg, shapes = _random_conv_case(seed, transposed)
    fwd, bwd, tfn = (
        (engine.conv_transpose2d, engine.conv_transpose2d_backward, F.conv_transpose2d)
        if transposed
        else (engine.conv2d, engine.conv2d_backward, F.conv2d)
    )
    try:
        fwd(np.zeros(shapes[0]), np.zeros(shapes[1]), **cfg)
    except ValueError:
        # impossible geometry: PyTorch refuses it too, or (transposed conv) returns an empty
        # output, which the engine reports as an error instead
        try:
            out = tfn(torch.zeros(shapes[0]), torch.zeros(shapes[1]), **cfg)
        except RuntimeError:
            return
        assert out.numel() == 0, f"engine refused {cfg} {shapes}, PyTorch gave {tuple(out.shape)}"
        return
    compare(
        shapes,
        lambda x, w: tfn(x, w, **cfg),
        lambda x, w: fwd(x, w, **cfg),
        lambda dy, x, w: bwd(dy, x, w, **cfg)[:2],
    )


POOL_GRID = [
    dict(kernel_size=k, stride=s, padding=p)
    for k, s, p in itertools.product([2, 3, (2, 3)], [None, 1, 2, (1, 2)], [0, 1])
    if 2 * p <= (k if isinstance(k, int) else min(k))
]


@pytest.mark.parametrize("cfg", POOL_GRID, ids=str)
@pytest.mark.parametrize("dilation", [1, 2])
def test_max_pool2d_matches_torch(cfg, dilation):
    compare(
        [(2, 3, 7, 8)],
        lambda x: F.max_pool2d(x, dilation=dilation, **cfg),
        lambda x: engine.max_pool2d(x, dilation=dilation, **cfg),
        lambda dy, x: engine.max_pool2d_backward(dy, x, dilation=dilation, **cfg),
    )


def test_max_pool2d_ties_match_torch():
    # small integers make many ties; both must route to the same (first) cell
    compare(
        [(2, 2, 6, 6)],
        lambda x: F.max_pool2d(x, 3, stride=1, padding=1),
        lambda x: engine.max_pool2d(x, 3, stride=1, padding=1),
        lambda dy, x: engine.max_pool2d_backward(dy, x, 3, stride=1, padding=1),
        make=lambda i, s: RNG.integers(0, 3, s).astype(float),
    )


@pytest.mark.parametrize("cfg", POOL_GRID, ids=str)
def test_avg_pool2d_matches_torch(cfg):
    compare(
        [(2, 3, 7, 8)],
        lambda x: F.avg_pool2d(x, **cfg),
        lambda x: engine.avg_pool2d(x, **cfg),
        lambda dy, x: engine.avg_pool2d_backward(dy, x, **cfg),
    )


UNARY = {
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "exp": torch.exp,
    "log": torch.log,
}


@pytest.mark.parametrize("name", UNARY)
def test_unary_matches_torch(name):
    make = (lambda i, s: np.abs(RNG.standard_normal(s)) + 0.05) if name == "log" else None
    compare(
        [(3, 4, 5)],
        UNARY[name],
        getattr(engine, name),
        getattr(engine, f"{name}_backward"),
        make=make,
    )


def test_relu_at_zero_matches_torch():
    compare(
        [(4, 4)],
        torch.relu,
        engine.relu,
        engine.relu_backward,
        make=lambda i, s: RNG.integers(-1, 2, s).astype(float),
    )


BINARY = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}
BROADCAST = [
    ((3, 4), (3, 4)),
    ((3, 4), (4,)),
    ((3, 1), (1, 4)),
    ((2, 3, 4), (3, 1)),
    ((4,), (2, 3, 4)),
    ((), (2, 2)),
]


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("shapes", BROADCAST, ids=str)
def test_binary_matches_torch(name, shapes):
    def make(i, s):
        v = RNG.standard_normal(s)
        return np.sign(v) * (np.abs(v) + 0.5) if (name == "div" and i == 1) else v

    compare(
        list(shapes),
        BINARY[name],
        getattr(engine, name),
        getattr(engine, f"{name}_backward"),
        make=make,
    )


@pytest.mark.parametrize("name", ["sum", "mean"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2), (2, 1)])
def test_reduce_matches_torch(name, axis):
    def torch_fn(x):
        if axis is None:
            return getattr(torch, name)(x)
        return getattr(torch, name)(x, dim=axis)

    compare(
        [(2, 3, 4)],
        torch_fn,
        lambda x: getattr(engine, name)(x, axis=axis),
        lambda dy, x: getattr(engine, f"{name}_backward")(dy, x, axis=axis),
    )


@pytest.mark.parametrize("n,i,o", [(1, 3, 2), (5, 4, 3)])
def test_linear_matches_torch(n, i, o):
    # the notes' W is (in, out); torch's Linear weight is its transpose
    compare(
        [(n, i), (i, o), (o,)],
        lambda x, w, b: F.linear(x, w.T, b),
        engine.linear,
        lambda dz, x, w, b: engine.linear_backward(dz, x, w),
    )


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_matches_torch(axis):
    compare(
        [(3, 5)],
        lambda f: torch.softmax(f, dim=axis),
        lambda f: engine.softmax(f, axis),
        lambda dy, f: engine.softmax_backward(dy, f, axis),
    )


@pytest.mark.parametrize("scale", [1.0, 1000.0])
def test_cross_entropy_matches_torch(scale):
    f = RNG.standard_normal((6, 4)) * scale
    t = RNG.integers(0, 4, 6)
    tf = torch.tensor(f, requires_grad=True)
    loss = F.cross_entropy(tf, torch.tensor(t))
    loss.backward(torch.tensor(0.3, dtype=torch.float64))
    np.testing.assert_allclose(engine.cross_entropy(f, t), loss.item(), rtol=1e-10)
    np.testing.assert_allclose(
        engine.cross_entropy_backward(f, t, 0.3), tf.grad.numpy(), atol=1e-12
    )
