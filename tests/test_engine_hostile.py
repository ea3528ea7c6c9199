"""Engine against hostile input (issue 12): NaN and −∞ in max pooling, absurd sizes, wrong
argument types, and inputs that are not arrays, fed to every public function. The PyTorch
comparisons skip cleanly where torch is not installed."""

import numpy as np
import pytest

import engine

NAN, INF = np.nan, np.inf


def _torch():
    return pytest.importorskip("torch")


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
