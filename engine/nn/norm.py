"""Batch norm and layer norm as layers, and the residual connection y = x + f(x).

BatchNorm keeps PyTorch's running statistics: each training-mode forward moves them towards the
batch's, running ← (1 − momentum)·running + momentum·batch, with the *unbiased* variance (the
normalisation itself uses the biased one); eval mode normalises with them, so a prediction does
not depend on the rest of its batch. ``.train()`` / ``.eval()`` switch the mode (Module).
"""

from __future__ import annotations

import numpy as np

from .. import _checks as ck
from ..norm import (
    _bn_backward,
    _bn_stats,
    _channel_dot,
    _channel_sum,
    _eps,
    _ln_backward,
    _ln_stats,
    _per_channel,
)
from .module import Module, Sequential, _count, _float_dtype, _shape


def _momentum(owner: str, momentum) -> float | None:
    """A number in [0, 1], or None: a cumulative average of every batch so far (as torch)."""
    if momentum is None:
        return None
    ok = isinstance(momentum, (int, float, np.integer, np.floating)) and not isinstance(
        momentum, (bool, np.bool_)
    )
    if not ok or not 0 <= momentum <= 1:
        raise ValueError(f"{owner}: momentum must be a number in [0, 1] or None, got {momentum!r}")
    return float(momentum)


def _array(layer: Module, x) -> np.ndarray:
    """x as an array (its ndim is needed before Module._input), within the size limit before
    _input may convert it to the layer's dtype: a broadcast view of 2**29 float32 entries costs
    no memory, its float64 copy 4 GiB."""
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except Exception as exc:  # ragged lists and the like
            layer._fail("x", "be an array of numbers", f"{type(exc).__name__}: {exc}")
    ck.within_limit(repr(layer), "x", x.shape)
    return x


class _BatchNorm(Module):
    """y = γ·(x − μ)/√(σ² + ε) + β per channel (axis 1): μ, σ² of the batch in training mode (and
    the running estimates move), the running estimates in eval mode."""

    _ndims: tuple[int, ...] = ()  # the accepted numbers of axes, and how they read
    _dims = _layout = ""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, *, dtype=np.float64):
        name = type(self).__name__
        self.num_features = _count(name, "num_features", num_features)
        self.eps = _eps(name, eps)
        self.momentum = _momentum(name, momentum)
        super().__init__(_float_dtype(name, dtype))
        c = self.num_features
        self.params = {"weight": np.ones(c, self.dtype), "bias": np.zeros(c, self.dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.running_mean = np.zeros(c, self.dtype)
        self.running_var = np.ones(c, self.dtype)
        self.num_batches_tracked = 0
        self._xhat = self._inv_std = None
        self._batch_stats = True

    # Assigned copies, updated in place: a reference kept stays current, as torch's buffers,
    # while an array assigned from elsewhere (a torch tensor's .numpy()) is never written to
    @property
    def running_mean(self) -> np.ndarray:
        """(C,): the running estimate of each channel's mean (zeros when built)."""
        return self._running_mean

    @running_mean.setter
    def running_mean(self, value) -> None:
        self._running_mean = self._statistic("running_mean", value)

    @property
    def running_var(self) -> np.ndarray:
        """(C,): the running estimate of each channel's unbiased variance (ones when built)."""
        return self._running_var

    @running_var.setter
    def running_var(self, value) -> None:
        self._running_var = self._statistic("running_var", value)

    def _statistic(self, name: str, value) -> np.ndarray:
        a = ck.as_float(repr(self), name, value)
        if a.shape != (self.num_features,):
            self._fail(name, f"be of shape ({self.num_features},), one per channel", _shape(a))
        return np.array(a, dtype=self.dtype)

    def __repr__(self) -> str:
        extra = "" if self.eps == 1e-5 else f", eps={self.eps:g}"
        extra += "" if self.momentum == 0.1 else f", momentum={self.momentum}"
        return f"{type(self).__name__}({self.num_features}{extra})"

    def astype(self, dtype) -> Module:
        """As Module.astype; the running statistics too."""
        super().astype(dtype)
        self.running_mean = self.running_mean.astype(self.dtype)
        self.running_var = self.running_var.astype(self.dtype)
        self._xhat = self._inv_std = None
        return self

    def _checked(self, x) -> np.ndarray:
        c, layout = self.num_features, self._layout.format(c=self.num_features)
        x = _array(self, x)
        x = self._input(x, x.ndim, layout)
        if x.ndim not in self._ndims:
            self._fail("x", f"be {self._dims} {layout}", _shape(x))
        if x.shape[1] != c:
            self._fail("x", f"have {c} channels in axis 1 {layout}", _shape(x))
        return x

    def forward(self, x):
        """x → y of x's shape; training mode also moves the running statistics."""
        x = self._checked(x)
        # backward must use the mode of this forward, whatever .train()/.eval() did in between
        self._batch_stats = self.training
        if not self.training:
            return self._cache(x, self._normalise(x))
        if x.size == x.shape[1]:
            self._fail(
                "x",
                "have more than 1 value per channel in training mode (N·H·W > 1), as in "
                "PyTorch; .eval() normalises single samples with the running statistics",
                _shape(x),
            )
        self.num_batches_tracked += 1
        if x.size == 0:  # an empty batch: torch leaves the running statistics alone
            return self._cache(x, x.copy())
        mean, var, self._xhat, self._inv_std = _bn_stats(x, self.eps)
        self._update_running(mean, var, x.size // x.shape[1])
        return self._cache(x, self._affine(self._xhat))

    def _affine(self, xhat: np.ndarray) -> np.ndarray:
        w, b = (_per_channel(self.params[k], xhat.ndim) for k in ("weight", "bias"))
        y = xhat * w
        y += b
        return y

    def _update_running(self, mean, var, count: int) -> None:
        m = self.momentum
        if m is None:  # torch's cumulative average
            m = 1 / self.num_batches_tracked
        unbiased = var * _scalar(var, count / (count - 1))
        for running, batch in ((self.running_mean, mean), (self.running_var, unbiased)):
            running *= 1 - m
            running += _scalar(batch, m) * batch

    def _normalise(self, x) -> np.ndarray:
        """Eval mode: with the running statistics, an affine map of x per channel."""
        var = self.running_var.astype(x.dtype, copy=False)
        self._inv_std = (1 / np.sqrt(var + _scalar(var, self.eps))).astype(x.dtype, copy=False)
        mean = self.running_mean.astype(x.dtype, copy=False)
        self._xhat = (x - _per_channel(mean, x.ndim)) * _per_channel(self._inv_std, x.ndim)
        return self._affine(self._xhat)

    def backward(self, dy, *, input_grad=True):
        """After a training-mode forward, the compact form (as engine.batch_norm_backward); after
        an eval-mode one, dx = γ·dy/√(σ̂² + ε), the running σ̂² being constants. Sets dγ = Σ dy·x̂,
        dβ = Σ dy per channel."""
        dy = self._upstream(dy)
        w = self.params["weight"]
        if dy.size == 0:
            self._set_grads(weight=0, bias=0)
            return dy.copy() if input_grad else None
        if self._batch_stats:
            dx, dw, db = _bn_backward(dy, self._xhat, self._inv_std, w, input_grad)
        else:
            dw, db = _channel_dot(dy, self._xhat), _channel_sum(dy)
            dx = dy * _per_channel(w * self._inv_std, dy.ndim) if input_grad else None
        self._set_grads(weight=dw, bias=db)
        return dx


def _scalar(a: np.ndarray, v: float):
    """v as a scalar of a's dtype, so float32 arrays stay float32."""
    return a.dtype.type(v)


class BatchNorm1d(_BatchNorm):
    """Batch norm over x: (N, C) or (N, C, L), per channel C; as torch.nn.BatchNorm1d."""

    _ndims, _dims, _layout = (2, 3), "2-D or 3-D", "(N, {c}) or (N, {c}, L)"


class BatchNorm2d(_BatchNorm):
    """Batch norm over x: (N, C, H, W), per channel C; as torch.nn.BatchNorm2d."""

    _ndims, _dims, _layout = (4,), "4-D", "(N, {c}, H, W)"


class LayerNorm(Module):
    """y = γ ⊙ (x − μ)/√(σ² + ε) + β, μ and σ² (biased) of each sample over its trailing dims
    ``normalized_shape``; γ (ones) and β (zeros) of that shape. The same in training and eval
    mode. As torch.nn.LayerNorm."""

    def __init__(self, normalized_shape, eps=1e-5, *, dtype=np.float64):
        ns = (
            normalized_shape if isinstance(normalized_shape, (tuple, list)) else (normalized_shape,)
        )
        if not ns or not all(ck._is_int(n) and n >= 1 for n in ns):
            raise ValueError(
                "LayerNorm: normalized_shape must be an int >= 1 or a non-empty tuple of them, "
                f"got {normalized_shape!r}"
            )
        self.normalized_shape = tuple(int(n) for n in ns)
        ck.within_limit("LayerNorm", "normalized_shape", self.normalized_shape)
        self.eps = _eps("LayerNorm", eps)
        super().__init__(_float_dtype("LayerNorm", dtype))
        shape = self.normalized_shape
        self.params = {"weight": np.ones(shape, self.dtype), "bias": np.zeros(shape, self.dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def __repr__(self) -> str:
        extra = "" if self.eps == 1e-5 else f", eps={self.eps:g}"
        return f"LayerNorm({self.normalized_shape}{extra})"

    def forward(self, x):
        ns = self.normalized_shape
        x = _array(self, x)
        x = self._input(x, max(x.ndim, len(ns)), f"(…, {', '.join(map(str, ns))})")
        if x.shape[x.ndim - len(ns) :] != ns:
            self._fail("x", f"end in the dims {ns} (…, {', '.join(map(str, ns))})", _shape(x))
        if x.size == 0:
            self._xhat = None
            return self._cache(x, x.copy())
        self._xhat, self._inv_std = _ln_stats(x, ns, self.eps)
        w, b = (self.params[k].reshape(-1) for k in ("weight", "bias"))
        return self._cache(x, (self._xhat * w + b).reshape(x.shape))

    def backward(self, dy, *, input_grad=True):
        """dx by the compact form per sample (engine.layer_norm_backward); sets dγ = Σ dy ⊙ x̂,
        dβ = Σ dy over the samples."""
        dy = self._upstream(dy)
        if self._xhat is None:  # an empty batch
            self._set_grads(weight=0, bias=0)
            return dy.copy() if input_grad else None
        w = self.params["weight"].reshape(-1)
        rows = dy.reshape(self._xhat.shape)
        dx, dw, db = _ln_backward(rows, self._xhat, self._inv_std, w, input_grad)
        ns = self.normalized_shape
        self._set_grads(weight=dw.reshape(ns), bias=db.reshape(ns))
        return None if dx is None else dx.reshape(dy.shape)


class Residual(Sequential):
    """y = x + f(x), f the layers in order (a block of a ResNet); dx = dy + f′ᵀ·dy, the identity
    path carrying dy past f unchanged. Params are keyed as a Sequential's (``"j.weight"``; inside
    a Sequential at index i, ``"i.j.weight"``)."""

    def __init__(self, *modules):
        super().__init__(*modules)
        self._out: tuple | None = None  # the last forward's output shape and dtype

    def __repr__(self) -> str:
        return "Residual(" + ", ".join(map(repr, self.layers)) + ")"

    def forward(self, x):
        """x → x + f(x), in f's output dtype."""
        x = _array(self, x)  # x + f(x) is x's size
        if not self.layers:  # f is the identity, and nothing else checks x
            x = self._input(x, x.ndim, "(any shape)")
        fx = super().forward(x)
        if x.shape != fx.shape:
            raise ValueError(
                f"{self!r}: f(x) must have x's shape {x.shape} to be added to x, got shape "
                f"{fx.shape}; the block's last layer must give as many features as its first takes"
            )
        self._out = (fx.shape, fx.dtype)
        return fx + x.astype(fx.dtype, copy=False)

    def backward(self, dy, *, input_grad=True):
        """dy → dx = dy + f's backward of dy: the identity path adds dy itself."""
        if self._out is None:
            self._fail("backward", "come after a forward (nothing is cached)", f"dy {_shape(dy)}")
        shape, dtype = self._out
        dy = np.asarray(dy)
        if dy.dtype.kind not in "biuf":
            self._fail("dy", "be an array of real numbers", f"dtype {dy.dtype}")
        if dy.shape != shape:
            self._fail("dy", f"be of shape {shape} (the last forward's output)", _shape(dy))
        dy = dy.astype(dtype, copy=False)
        dfx = super().backward(dy, input_grad=input_grad)
        return dfx + dy if input_grad else None
