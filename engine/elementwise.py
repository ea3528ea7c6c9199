"""Element-wise unary and binary ops with numpy broadcasting, and their gradients.

Binary backward passes sum each gradient back to its input's shape: a value broadcast to many
cells feeds many paths, and the total derivative adds them up.
"""

from __future__ import annotations

import numpy as np

from . import _checks as ck


def sized(fn: str, arg: str, a) -> np.ndarray:
    """``a`` as a real array (``_checks.as_float``) of at most MAX_ELEMENTS elements, refused
    before any work: a broadcast view of 4·10⁸ ones costs nothing until sigmoid allocates
    three arrays of it (6.5 GB), and a sum over 2⁴⁰ of them runs for minutes."""
    a = ck.as_float(fn, arg, a)
    limit(fn, arg, a.shape)
    return a


def limit(fn: str, what: str, shape) -> None:
    """Refuse a ``shape`` of more than MAX_ELEMENTS elements, the limit in the message."""
    count = 1
    for n in shape:
        count *= int(n)
    if count > ck.MAX_ELEMENTS:
        raise ValueError(
            f"{fn}: {what} must have at most {ck.MAX_ELEMENTS} elements (the engine's limit, "
            f"2**28), got {count} (shape {tuple(int(n) for n in shape)})"
        )


def _unary(fn, dy, x):
    x, dy = sized(fn, "x", x), sized(fn, "dy", dy)
    ck.shape_eq(fn, "dy", dy, x.shape, "the shape of x")
    return dy, x


def relu(x):
    r"""$\max(0, x)$"""
    x = sized("relu", "x", x)
    return np.maximum(x, 0).astype(x.dtype, copy=False)


def relu_backward(dy, x):
    r"""$dX = dY \odot [X > 0]$."""
    dy, x = _unary("relu_backward", dy, x)
    # NOTE: ReLU'(0) = 0, as in PyTorch and note 003; note 004 writes [x >= 0]
    return np.where(x > 0, dy, 0).astype(np.result_type(dy, x), copy=False)


def sigmoid(x):
    r"""$\sigma(x) = 1/(1+e^{-x})$, computed without overflow for large |x|."""
    x = sized("sigmoid", "x", x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def sigmoid_backward(dy, x):
    r"""$dX = dY \odot Y \odot (1 - Y)$ with $Y = \sigma(X)$."""
    dy, x = _unary("sigmoid_backward", dy, x)
    y = sigmoid(x)
    return dy * y * (1 - y)


def tanh(x):
    r"""$\tanh x$"""
    return np.tanh(sized("tanh", "x", x))


def tanh_backward(dy, x):
    r"""$dX = dY \odot (1 + Y) \odot (1 - Y)$ with $Y = \tanh X$."""
    dy, x = _unary("tanh_backward", dy, x)
    y = np.tanh(x)
    return dy * (1 + y) * (1 - y)


def exp(x):
    r"""$e^x$"""
    return np.exp(sized("exp", "x", x))


def exp_backward(dy, x):
    r"""$dX = dY \odot Y$ with $Y = e^X$."""
    dy, x = _unary("exp_backward", dy, x)
    return dy * np.exp(x)


def _slope(fn, negative_slope) -> float:
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float, np.number)):
        ck.fail(fn, "negative_slope", "a real number", repr(negative_slope))
    if not np.isfinite(negative_slope):
        ck.fail(fn, "negative_slope", "finite", repr(negative_slope))
    return float(negative_slope)


def leaky_relu(x, negative_slope=0.01):
    r"""$x$ for $x > 0$, else $\alpha x$ (PyTorch's ``F.leaky_relu``)."""
    x = sized("leaky_relu", "x", x)
    a = _slope("leaky_relu", negative_slope)
    return np.where(x > 0, x, x * a).astype(x.dtype, copy=False)


def leaky_relu_backward(dy, x, negative_slope=0.01):
    r"""$dX = dY \odot ([X > 0] + \alpha [X \le 0])$."""
    dy, x = _unary("leaky_relu_backward", dy, x)
    a = _slope("leaky_relu_backward", negative_slope)
    # NOTE: the slope at exactly 0 is alpha, as in PyTorch (x > 0 ? 1 : alpha)
    return np.where(x > 0, dy, dy * a).astype(np.result_type(dy, x), copy=False)


SOFTPLUS_THRESHOLD = 20.0  # PyTorch's default: above it softplus(x) is x to float precision


def softplus(x):
    r"""$\log(1 + e^x)$, linear above PyTorch's threshold 20 (beta = 1)."""
    x = sized("softplus", "x", x)
    # log1p(exp(-|x|)) + max(x, 0) never overflows; PyTorch returns x itself past the threshold
    smooth = np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)
    return np.where(x > SOFTPLUS_THRESHOLD, x, smooth).astype(x.dtype, copy=False)


def softplus_backward(dy, x):
    r"""$dX = dY \odot \sigma(X)$; exactly $dY$ above the threshold, as in PyTorch."""
    dy, x = _unary("softplus_backward", dy, x)
    return np.where(x > SOFTPLUS_THRESHOLD, dy, dy * sigmoid(x)).astype(
        np.result_type(dy, x), copy=False
    )


def _positive(fn, x):
    if np.any(x <= 0):
        ck.fail(
            fn,
            "x",
            "> 0 everywhere (log is defined for positive numbers only)",
            f"min {float(np.min(x)):g}",
        )


def log(x):
    r"""$\ln x$, for $x > 0$."""
    x = sized("log", "x", x)
    _positive("log", x)
    return np.log(x)


def log_backward(dy, x):
    r"""$dX = dY \odot 1/X$."""
    dy, x = _unary("log_backward", dy, x)
    _positive("log_backward", x)
    return dy / x


def _binary(fn, a, b):
    a, b = sized(fn, "a", a), sized(fn, "b", b)
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        ck.fail(fn, "b", f"broadcastable with a's shape {a.shape}", f"shape {b.shape}")
    limit(fn, "the broadcast result of a and b", shape)
    return a, b, shape


def unbroadcast(g, shape) -> np.ndarray:
    """Sum g over the axes that broadcasting added or stretched, back to ``shape`` (which must
    broadcast to g's shape)."""
    fn = "unbroadcast"
    g = sized(fn, "g", g)
    if not isinstance(shape, (tuple, list)) or not all(
        isinstance(n, (int, np.integer)) and not isinstance(n, (bool, np.bool_)) and n >= 0
        for n in shape
    ):
        ck.fail(fn, "shape", "a tuple of ints >= 0", repr(shape))
    shape = tuple(int(n) for n in shape)
    if len(shape) > g.ndim or any(
        n not in (1, m) for n, m in zip(shape, g.shape[g.ndim - len(shape) :], strict=True)
    ):
        ck.fail(fn, "shape", f"a shape that broadcasts to g's shape {g.shape}", repr(shape))
    return _unbroadcast(g, shape)


def _unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    extra = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(extra))) if extra else g
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=stretched, keepdims=True) if stretched else g


def _binary_backward(fn, dy, a, b):
    a, b, shape = _binary(fn, a, b)
    dy = sized(fn, "dy", dy)
    ck.shape_eq(fn, "dy", dy, shape, "the broadcast shape of a and b")
    return dy, a, b


def add(a, b):
    r"""$Y = M + N$"""
    a, b, _ = _binary("add", a, b)
    return a + b


def add_backward(dy, a, b):
    r"""$dM = dY$, $dN = dY$ (each summed back to its own shape)."""
    dy, a, b = _binary_backward("add_backward", dy, a, b)
    return _unbroadcast(dy, a.shape), _unbroadcast(dy, b.shape)


def sub(a, b):
    r"""$Y = M - N$"""
    a, b, _ = _binary("sub", a, b)
    return a - b


def sub_backward(dy, a, b):
    r"""$dM = dY$, $dN = -dY$."""
    dy, a, b = _binary_backward("sub_backward", dy, a, b)
    return _unbroadcast(dy, a.shape), _unbroadcast(-dy, b.shape)


def mul(a, b):
    r"""Hadamard product $Y = M \odot N$."""
    a, b, _ = _binary("mul", a, b)
    return a * b


def mul_backward(dy, a, b):
    r"""$dM = dY \odot N$, $dN = dY \odot M$."""
    dy, a, b = _binary_backward("mul_backward", dy, a, b)
    return _unbroadcast(dy * b, a.shape), _unbroadcast(dy * a, b.shape)


def _nonzero(fn, b):
    if np.any(b == 0):
        ck.fail(fn, "b", "non-zero everywhere (it is a divisor)", "an array containing 0")


def div(a, b):
    r"""$Y = M \oslash N$ (element-wise)."""
    a, b, _ = _binary("div", a, b)
    _nonzero("div", b)
    return a / b


def div_backward(dy, a, b):
    r"""$dM = dY \oslash N$, $dN = -dY \odot M \oslash N^2$."""
    dy, a, b = _binary_backward("div_backward", dy, a, b)
    _nonzero("div_backward", b)
    return _unbroadcast(dy / b, a.shape), _unbroadcast(-dy * a / (b * b), b.shape)
