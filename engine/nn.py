"""Layers, a loss and two optimisers for whole networks, built on the engine's functional ops.

As in cs231n's layers and minitorch's modules: ``forward(x)`` caches what ``backward`` needs,
``backward(dy)`` returns dx and *sets* ``grads``, and ``params`` holds plain arrays that an
optimiser updates in place. ``Sequential`` names them as torch's ``state_dict`` does
(``"0.weight"``), so weights copy across to ``torch.nn.Sequential`` key by key (Linear's weight is
(in, out), the transpose of torch's).

Each layer checks its input once, naming itself and the shapes, then runs the functional op.
"""

from __future__ import annotations

import math

import numpy as np

from . import _checks as ck
from .conv import conv2d, conv2d_backward
from .dense import _log_softmax, linear, linear_backward
from .elementwise import relu, sigmoid, sigmoid_backward, tanh, tanh_backward
from .pool import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _float_dtype(owner: str, dtype) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in _FLOATS:
        raise ValueError(f"{owner}: dtype must be float32 or float64, got {dtype!r}")
    return dt


def _count(owner: str, arg: str, v) -> int:
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
        raise ValueError(f"{owner}: {arg} must be an int >= 1, got {v!r}")
    return int(v)


def _generator(owner: str, rng) -> np.random.Generator:
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError):
        raise ValueError(
            f"{owner}: rng must be None, a seed >= 0 or a numpy Generator, got {rng!r}"
        ) from None


def _uniform(gen, fan_in: int, shape: tuple, dtype) -> np.ndarray:
    """PyTorch's default for weights and biases alike: U(−1/√fan_in, 1/√fan_in)."""
    bound = 1 / math.sqrt(fan_in)
    return gen.uniform(-bound, bound, shape).astype(dtype)


class Module:
    """A layer: ``forward(x)`` caches what ``backward(dy)`` needs; backward returns dx and sets
    ``grads`` (same keys and shapes as ``params``). ``backward(dy, input_grad=False)`` sets the
    grads and returns None, skipping dx: what PyTorch does for an input that needs no gradient,
    such as a batch of data (train_epoch asks for it; a conv layer's dx is ~1/6 of an epoch)."""

    def __init__(self, dtype=None):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        # None: follow the input, as the functional ops do (float32 stays float32)
        self.dtype: np.dtype | None = dtype
        self._x: np.ndarray | None = None  # the last forward's input; None before any
        self._out_shape: tuple | None = None

    def __call__(self, x):
        return self.forward(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def forward(self, x):
        raise NotImplementedError

    def backward(self, dy, *, input_grad=True):
        raise NotImplementedError

    def astype(self, dtype) -> Module:
        """Compute in ``dtype`` (float32 or float64) from now on; params and grads become new
        arrays of it, so build optimisers after this. Returns self."""
        dt = _float_dtype(repr(self), dtype)
        self.dtype = dt
        self.params = {k: v.astype(dt) for k, v in self.params.items()}
        self.grads = {k: v.astype(dt) for k, v in self.grads.items()}
        self._x = self._out_shape = None  # a cache in the old dtype would mix the two
        return self

    def zero_grad(self) -> None:
        for g in self.grads.values():
            g.fill(0)

    def _fail(self, arg: str, expected: str, given) -> None:
        raise ValueError(f"{self!r}: {arg} must {expected}, got {given}")

    def _input(self, x, ndim: int, layout: str) -> np.ndarray:
        """x as an array of this layer's dtype with ``ndim`` axes."""
        if not isinstance(x, np.ndarray):
            try:
                x = np.asarray(x)
            except Exception as exc:  # ragged lists and the like
                self._fail("x", "be an array of numbers", f"{type(exc).__name__}: {exc}")
        dt = self.dtype
        if dt is None:
            dt = x.dtype if x.dtype in _FLOATS else np.dtype(np.float64)
        if x.dtype != dt:
            if x.dtype.kind not in "biuf":
                self._fail("x", "be an array of real numbers", f"dtype {x.dtype}")
            x = x.astype(dt)
        if x.ndim != ndim:
            self._fail("x", f"be {ndim}-D {layout}", f"shape {x.shape}")
        return x

    def _upstream(self, dy) -> np.ndarray:
        """dy checked against the last forward's output, in the dtype that forward computed in."""
        if self._x is None:
            self._fail("backward", "come after a forward (nothing is cached)", f"dy {_shape(dy)}")
        dy = np.asarray(dy)
        if dy.dtype != self._x.dtype:
            if dy.dtype.kind not in "biuf":
                self._fail("dy", "be an array of real numbers", f"dtype {dy.dtype}")
            dy = dy.astype(self._x.dtype)
        if dy.shape != self._out_shape:
            self._fail(
                "dy", f"be of shape {self._out_shape} (the last forward's output)", _shape(dy)
            )
        return dy

    def _cache(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        self._x, self._out_shape = x, y.shape
        return y

    def _set_grads(self, **grads) -> None:
        # written into the existing arrays, so a grads dict fetched earlier stays current
        for k, g in grads.items():
            self.grads[k][...] = g


def _shape(a) -> str:
    return f"shape {np.shape(a)}"


class _Parametrised(Module):
    """A layer with a weight and a bias, initialised as PyTorch does."""

    def _init_params(self, rng, fan_in: int, w_shape: tuple, b_shape: tuple) -> None:
        gen = _generator(type(self).__name__, rng)
        self.params = {
            "weight": _uniform(gen, fan_in, w_shape, self.dtype),
            "bias": _uniform(gen, fan_in, b_shape, self.dtype),
        }
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}


class Linear(_Parametrised):
    """Z = X·W + b; x: (N, in), W: (in, out) (torch.nn.Linear.weight transposed), b: (out,)."""

    def __init__(self, in_features, out_features, *, rng=None, dtype=np.float64):
        self.in_features = _count("Linear", "in_features", in_features)
        self.out_features = _count("Linear", "out_features", out_features)
        super().__init__(_float_dtype("Linear", dtype))
        n_in, n_out = self.in_features, self.out_features
        self._init_params(rng, n_in, (n_in, n_out), (n_out,))

    def __repr__(self) -> str:
        return f"Linear({self.in_features}, {self.out_features})"

    def forward(self, x):
        """x: (N, in) → Z: (N, out)."""
        n_in = self.in_features
        x = self._input(x, 2, f"(N, {n_in}), one sample per row")
        if x.shape[1] != n_in:
            self._fail("x", f"have {n_in} features in its last axis (N, {n_in})", _shape(x))
        return self._cache(x, linear(x, self.params["weight"], self.params["bias"]))

    def backward(self, dy, *, input_grad=True):
        """dZ: (N, out) → dX = dZ·Wᵀ; sets dW = Xᵀ·dZ, db = Σ_rows dZ."""
        dy = self._upstream(dy)
        dx, dw, db = linear_backward(dy, self._x, self.params["weight"])
        self._set_grads(weight=dw, bias=db)
        return dx if input_grad else None


class Conv2d(_Parametrised):
    """Z = X ⊛ K + b (cross-correlation); x: (N, C_in, H, W), K: (C_out, C_in, kH, kW), b: (C_out,)."""

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        *,
        stride=1,
        padding=0,
        rng=None,
        dtype=np.float64,
    ):
        name = "Conv2d"
        self.in_channels = _count(name, "in_channels", in_channels)
        self.out_channels = _count(name, "out_channels", out_channels)
        self.kernel_size = ck.pair(name, "kernel_size", kernel_size, minimum=1)
        self.stride = ck.pair(name, "stride", stride, minimum=1)
        self.padding = ck.pair(name, "padding", padding, minimum=0)
        super().__init__(_float_dtype(name, dtype))
        cin, cout, (kh, kw) = self.in_channels, self.out_channels, self.kernel_size
        self._init_params(rng, cin * kh * kw, (cout, cin, kh, kw), (cout,))

    def __repr__(self) -> str:
        pad = f", padding={self.padding}" if any(self.padding) else ""
        return (
            f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}{pad})"
        )

    def forward(self, x):
        """x: (N, C_in, H, W) → Z: (N, C_out, H_out, W_out), H_out = ⌊(H + 2p − kH)/s⌋ + 1."""
        cin = self.in_channels
        x = self._input(x, 4, f"(N, {cin}, H, W)")
        if x.shape[1] != cin:
            self._fail("x", f"have {cin} channels in axis 1 (N, {cin}, H, W)", _shape(x))
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        if x.shape[2] + 2 * ph < kh or x.shape[3] + 2 * pw < kw:
            self._fail(
                "x",
                f"be at least {kh}×{kw} (the kernel) once padded by {self.padding} "
                f"(N, {cin}, H, W)",
                _shape(x),
            )
        w, b = self.params["weight"], self.params["bias"]
        return self._cache(x, conv2d(x, w, b, stride=self.stride, padding=self.padding))

    def backward(self, dy, *, input_grad=True):
        """dZ → dX = pad(dZ) ⊛ rot180(K); sets dK = X ⊛ dZ, db = Σ dZ over N, H, W."""
        dy = self._upstream(dy)
        # the functional pair, not conv.py's internals: its column matrices live in reused
        # scratch memory, so columns kept from the forward would be overwritten by the next op
        dx, dw, db = conv2d_backward(
            dy,
            self._x,
            self.params["weight"],
            stride=self.stride,
            padding=self.padding,
            input_grad=input_grad,
        )
        self._set_grads(weight=dw, bias=db)
        return dx


class _Activation(Module):
    """An element-wise layer: y = f(x), dx = dy ⊙ f′(x); any shape."""

    _f = _df = None

    def forward(self, x):
        x = self._input(x, np.ndim(x), "(any shape)")
        return self._cache(x, type(self)._f(x))

    def backward(self, dy, *, input_grad=True):
        dy = self._upstream(dy)
        return type(self)._df(dy, self._x) if input_grad else None


class ReLU(_Activation):
    """y = max(0, x); dx = dy ⊙ [x > 0], so ReLU′(0) = 0 as in PyTorch."""

    _f = relu

    def backward(self, dy, *, input_grad=True):
        dy = self._upstream(dy)
        # relu_backward's rule as a multiply by the mask: its np.where took 39 µs per step inside
        # the digits training loop against 10 µs for this (32×8×8×8). Only a non-finite dy where
        # x ≤ 0 differs: nan here, 0 there
        return dy * (self._x > 0) if input_grad else None


class Sigmoid(_Activation):
    """y = 1/(1 + e^−x); dx = dy ⊙ y(1 − y)."""

    _f, _df = sigmoid, sigmoid_backward


class Tanh(_Activation):
    """y = tanh x; dx = dy ⊙ (1 − y²)."""

    _f, _df = tanh, tanh_backward


class _Pool2d(Module):
    """A pooling window over each channel, no padding; x: (N, C, H, W) → (N, C, H_out, W_out),
    H_out = ⌊(H − kH)/s⌋ + 1."""

    def __init__(self, kernel_size, stride=None):
        name = type(self).__name__
        self.kernel_size = ck.pair(name, "kernel_size", kernel_size, minimum=1)
        self.stride = (
            self.kernel_size if stride is None else ck.pair(name, "stride", stride, minimum=1)
        )
        super().__init__()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kernel_size={self.kernel_size}, stride={self.stride})"

    def _checked(self, x) -> np.ndarray:
        x = self._input(x, 4, "(N, C, H, W)")
        kh, kw = self.kernel_size
        if x.shape[2] < kh or x.shape[3] < kw:
            self._fail("x", f"be at least {kh}×{kw} in H and W (N, C, H, W)", _shape(x))
        return x


class MaxPool2d(_Pool2d):
    """y = the maximum of each window; dx routes dy to the first maximum (PyTorch's ties)."""

    def forward(self, x):
        x = self._checked(x)
        return self._cache(x, max_pool2d(x, self.kernel_size, stride=self.stride))

    def backward(self, dy, *, input_grad=True):
        dy = self._upstream(dy)
        if not input_grad:
            return None
        # max_pool2d_backward finds the maxima again: keeping them from forward would tie this
        # layer to pool.py's private helpers, which are being reworked
        return max_pool2d_backward(dy, self._x, self.kernel_size, stride=self.stride)


class AvgPool2d(_Pool2d):
    """y = the mean of each window; each window spreads dy/(kH·kW) over its cells."""

    def forward(self, x):
        x = self._checked(x)
        return self._cache(x, avg_pool2d(x, self.kernel_size, stride=self.stride))

    def backward(self, dy, *, input_grad=True):
        dy = self._upstream(dy)
        if not input_grad:
            return None
        return avg_pool2d_backward(dy, self._x, self.kernel_size, stride=self.stride)


class Flatten(Module):
    """x: (N, d1, d2, …) → (N, d1·d2·…), row-major (C, H, W order), as torch.nn.Flatten."""

    def forward(self, x):
        x = self._input(x, max(np.ndim(x), 2), "(N, …)")
        # the size spelled out rather than -1, which numpy cannot infer for an empty batch
        return self._cache(x, x.reshape(x.shape[0], math.prod(x.shape[1:])))

    def backward(self, dy, *, input_grad=True):
        dy = self._upstream(dy)
        return dy.reshape(self._x.shape) if input_grad else None


class Sequential(Module):
    """y = f_L(… f_2(f_1(x))); backward runs the layers' backward in reverse order."""

    def __init__(self, *modules):
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise ValueError(
                    f"Sequential: module {i} must be a layer (Linear, Conv2d, ReLU, …), "
                    f"got {type(m).__name__}"
                )
        self.layers: list[Module] = list(modules)
        self.dtype = None

    def __repr__(self) -> str:
        return "Sequential(" + ", ".join(map(repr, self.layers)) + ")"

    # built on access: each layer owns its arrays, and astype replaces them
    @property
    def params(self) -> dict[str, np.ndarray]:
        """``"i.name"`` → layer i's own array (``"0.weight"``), as torch's state_dict keys."""
        return {f"{i}.{k}": v for i, m in enumerate(self.layers) for k, v in m.params.items()}

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return {f"{i}.{k}": v for i, m in enumerate(self.layers) for k, v in m.grads.items()}

    def forward(self, x):
        for m in self.layers:
            x = m.forward(x)
        return x

    def backward(self, dy, *, input_grad=True):
        """dy: the last layer's upstream → dx of the first layer's input (None if not
        input_grad: the first layer then sets its grads only)."""
        if not self.layers:
            return dy if input_grad else None
        for m in self.layers[:0:-1]:
            dy = m.backward(dy)
        return self.layers[0].backward(dy, input_grad=input_grad)

    def astype(self, dtype) -> Sequential:
        """Every layer computes in ``dtype`` from now on (see Module.astype). Returns self."""
        self.dtype = _float_dtype("Sequential", dtype)
        for m in self.layers:
            m.astype(dtype)
        return self

    def zero_grad(self) -> None:
        for m in self.layers:
            m.zero_grad()


class SoftmaxCrossEntropy:
    """L = (1/N) Σ_i −log softmax(f_i)[y_i]; logits f: (N, K), target y: (N,) ints in [0, K)."""

    def __init__(self):
        self._p: np.ndarray | None = None  # the last forward's softmax

    def __repr__(self) -> str:
        return "SoftmaxCrossEntropy()"

    def __call__(self, logits, target) -> float:
        return self.forward(logits, target)

    def _fail(self, arg: str, expected: str, given) -> None:
        raise ValueError(f"{self!r}: {arg} must {expected}, got {given}")

    def forward(self, logits, target) -> float:
        """The mean loss over the batch, as a float."""
        f = np.asarray(logits)
        if f.dtype.kind not in "biuf":
            self._fail("logits", "be an array of real numbers", f"dtype {f.dtype}")
        if f.ndim != 2:
            self._fail("logits", "be 2-D (N, num_classes)", _shape(f))
        n, k = f.shape
        if n == 0:
            self._fail("logits", "have at least one row (N, num_classes)", _shape(f))
        t = np.asarray(target)
        if t.dtype.kind not in "iu" and not (t.dtype.kind == "f" and np.all(t == np.round(t))):
            self._fail("target", "be integer class indices", f"dtype {t.dtype} ({t.ravel()[:4]}…)")
        if t.shape != (n,):
            self._fail(
                "target", f"be of shape ({n},), one class per row of logits {f.shape}", _shape(t)
            )
        if t.min() < 0 or t.max() >= k:
            self._fail(
                "target", f"be class indices in [0, {k})", f"values in [{t.min()}, {t.max()}]"
            )
        f = f if f.dtype in _FLOATS else f.astype(np.float64)
        t = t.astype(np.intp, copy=False)
        rows = np.arange(n)
        logp = _log_softmax(f)
        # p is kept for backward, which cross_entropy_backward would recompute
        self._p, self._target, self._rows = np.exp(logp), t, rows
        return float(-logp[rows, t].mean())

    def backward(self) -> np.ndarray:
        """dlogits: (N, K) = (softmax(f) − onehot(y))/N."""
        if self._p is None:
            raise ValueError(f"{self!r}: backward must come after a forward (nothing is cached)")
        g = self._p.copy()
        g[self._rows, self._target] -= 1
        g /= len(g)
        return g


# the optimisers live in optim.py; they are part of this interface
from .optim import SGD, Adam  # noqa: E402

__all__ = [
    "Module",
    "Linear",
    "Conv2d",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "MaxPool2d",
    "AvgPool2d",
    "Flatten",
    "Sequential",
    "SoftmaxCrossEntropy",
    "SGD",
    "Adam",
]
