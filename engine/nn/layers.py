"""The layers of the notes: Linear, Conv2d, the activations, pooling and Flatten, each a thin
``Module`` over the engine's functional pair."""

from __future__ import annotations

import math

import numpy as np

from .. import _checks as ck
from ..conv import conv2d, conv2d_backward
from ..dense import linear, linear_backward
from ..elementwise import relu, sigmoid, sigmoid_backward, tanh, tanh_backward
from ..pool import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward
from .module import Module, _count, _float_dtype, _Parametrised, _shape


class Linear(_Parametrised):
    """Z = X·W + b; x: (N, in), W: (in, out) (torch.nn.Linear.weight transposed), b: (out,).
    As torch.nn.Linear, x may have more axes, (N, …, in) → (N, …, out): each vector of the last
    axis alone (a per-token read-out of a sequence (N, L, E)). ``init``: one of ``nn.INITS``
    (PyTorch's default unless asked)."""

    def __init__(self, in_features, out_features, *, rng=None, dtype=np.float64, init="pytorch"):
        self.in_features = _count("Linear", "in_features", in_features)
        self.out_features = _count("Linear", "out_features", out_features)
        super().__init__(_float_dtype("Linear", dtype))
        n_in, n_out = self.in_features, self.out_features
        self._init_params(rng, n_in, (n_in, n_out), (n_out,), init, n_out)

    def __repr__(self) -> str:
        return f"Linear({self.in_features}, {self.out_features})"

    def forward(self, x):
        """x: (N, in) → Z: (N, out), or (N, …, in) → (N, …, out)."""
        n_in = self.in_features
        x = self._input(x, 2, f"(N, {n_in}), one sample per row", more=True)
        if x.shape[-1] != n_in:
            layout = "(N, " + "…, " * (x.ndim > 2) + f"{n_in})"
            self._fail("x", f"have {n_in} features in its last axis {layout}", _shape(x))
        rows = x.reshape(-1, n_in)  # a view: the extra axes are just more rows
        z = linear(rows, self.params["weight"], self.params["bias"])
        return self._cache(x, z.reshape(*x.shape[:-1], self.out_features))

    def backward(self, dy, *, input_grad=True):
        """dZ: (N, out) → dX = dZ·Wᵀ; sets dW = Xᵀ·dZ, db = Σ_rows dZ (every row of every axis
        but the last, for (N, …, out))."""
        dy = self._upstream(dy)
        x = self._x
        rows, drows = x.reshape(-1, self.in_features), dy.reshape(-1, self.out_features)
        dx, dw, db = linear_backward(drows, rows, self.params["weight"])
        self._set_grads(weight=dw, bias=db)
        return dx.reshape(x.shape) if input_grad else None


class Conv2d(_Parametrised):
    """Z = X ⊛ K + b (cross-correlation); x: (N, C_in, H, W), K: (C_out, C_in, kH, kW), b: (C_out,).
    ``init``: one of ``nn.INITS``, fan_in = C_in·kH·kW, fan_out = C_out·kH·kW (torch's)."""

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
        init="pytorch",
    ):
        name = "Conv2d"
        self.in_channels = _count(name, "in_channels", in_channels)
        self.out_channels = _count(name, "out_channels", out_channels)
        self.kernel_size = ck.pair(name, "kernel_size", kernel_size, minimum=1)
        self.stride = ck.pair(name, "stride", stride, minimum=1)
        self.padding = ck.pair(name, "padding", padding, minimum=0)
        super().__init__(_float_dtype(name, dtype))
        cin, cout, (kh, kw) = self.in_channels, self.out_channels, self.kernel_size
        area = kh * kw
        self._init_params(rng, cin * area, (cout, cin, kh, kw), (cout,), init, cout * area)

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
        x = self._input(x, 0, "(any shape)", more=True)  # ndim after conversion: ragged lists
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
