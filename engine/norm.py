"""Batch norm and layer norm, forward and backward, with training-mode statistics (PyTorch's
``F.batch_norm(..., training=True)`` and ``F.layer_norm``).

Both normalise x̂ = (x − μ)/√(σ² + ε) with the *biased* variance σ² over a group of entries (a
channel over the batch and space; a sample's trailing dims), then y = γ·x̂ + β. Every entry of a
group feeds μ and σ², so ∂y/∂x is dense within a group, and the backward pass is cs231n's compact
form, with M entries per group and g = γ·dy:

    dx = (1/M)·(σ² + ε)^(−1/2)·(M·g − Σg − x̂·Σ(g·x̂)),   dγ = Σ dy·x̂,   dβ = Σ dy

(sums over the group's other entries for dx; over the groups for dγ, dβ). For batch norm γ is
one number per group, so g's sums are γ times dy's.
"""

from __future__ import annotations

import math

import numpy as np

from . import _checks as ck


def _eps(fn: str, eps) -> float:
    ok = isinstance(eps, (int, float, np.integer, np.floating)) and not isinstance(
        eps, (bool, np.bool_)
    )
    if not ok or not 0 <= eps < math.inf:
        ck.fail(fn, "eps", "a finite number >= 0", repr(eps))
    return float(eps)


def _affine(fn: str, arg: str, a, shape: tuple, what: str):
    """weight or bias: None, or an array of ``shape``."""
    if a is None:
        return None
    a = ck.as_float(fn, arg, a)
    ck.shape_eq(fn, arg, a, shape, what)
    return a


def _dtype(*arrays) -> np.dtype:
    return ck.common_dtype(*[a for a in arrays if a is not None])


# ---------------------------------------------------------------- batch norm


def _array(fn: str, arg: str, a) -> np.ndarray:
    """as_float, after the size limit: the output and every temporary are a's size, and an int
    array (a broadcast view of 2**29 entries costs no memory) would be copied to float64 first."""
    if isinstance(a, np.ndarray):
        ck.within_limit(fn, arg, a.shape)
    return ck.as_float(fn, arg, a)


def _bn_x(fn: str, x) -> np.ndarray:
    x = _array(fn, "x", x)
    if x.ndim < 2:
        ck.fail(fn, "x", "(N, C) or (N, C, H, W): at least 2-D", f"shape {x.shape}")
    if x.size == x.shape[1] and x.size:
        # μ and σ² of one number are that number and 0: y would be β whatever x is
        ck.fail(
            fn,
            "x",
            "a batch of more than 1 value per channel (N·H·W > 1) for its statistics, as in PyTorch",
            f"shape {x.shape}",
        )
    return x


def _channel_view(x: np.ndarray) -> np.ndarray:
    """x as (N, C, L): every axis past the channel flattened (a view of contiguous x)."""
    return x.reshape(x.shape[0], x.shape[1], -1)


def _channel_sum(a: np.ndarray) -> np.ndarray:
    """Σ over every axis but 1: (C,). einsum: measured 2-2.5× faster here than numpy's sum
    over two axes, for (N, C) and (N, C, H, W) alike."""
    return np.einsum("ncl->c", _channel_view(a))


def _channel_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Σ a·b over every axis but 1, without an a·b temporary: (C,)."""
    return np.einsum("ncl,ncl->c", _channel_view(a), _channel_view(b))


def _per_channel(v: np.ndarray, ndim: int) -> np.ndarray:
    """(C,) → (1, C, 1, …) to broadcast against x."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _bn_stats(x: np.ndarray, eps: float):
    """(μ, σ² biased, x̂, 1/√(σ² + ε)), each statistic (C,) in x's dtype.

    Shifted by each channel's first entry s before anything is summed: x − s is exact or
    rounded relative to the spread, so x̂ = ((x − s) − mean(x − s))/σ keeps float32's precision
    even where |μ| ≫ σ (x = −50 + 0.01·noise: x̂ good to ~1e-6; subtracting a rounded μ from x
    leaves ~2e-4, as PyTorch does), and σ² is never a difference of two large numbers."""
    count = x.dtype.type(x.size // x.shape[1])
    shift = _channel_view(x)[0, :, 0]
    d = x - _per_channel(shift, x.ndim)
    offset = _channel_sum(d) / count
    d -= _per_channel(offset, x.ndim)
    var = _channel_dot(d, d) / count
    inv_std = (1 / np.sqrt(var + x.dtype.type(eps))).astype(x.dtype, copy=False)
    d *= _per_channel(inv_std, x.ndim)
    return shift + offset, var, d, inv_std


def _scale_shift(xhat: np.ndarray, weight, bias) -> np.ndarray:
    """γ·x̂ + β, γ and β of shape (C,) (batch norm) or broadcastable (layer norm); in place."""
    if weight is not None:
        xhat *= weight
    if bias is not None:
        xhat += bias
    return xhat


def _bn_affine(x: np.ndarray, a):
    return None if a is None else _per_channel(a.astype(x.dtype, copy=False), x.ndim)


def batch_norm(x, weight=None, bias=None, eps=1e-5):
    r"""$y = \gamma \hat x + \beta$, $\hat x = (x - \mu)/\sqrt{\sigma^2 + \varepsilon}$ with the
    batch mean μ and biased variance σ² of each channel over every axis but 1; x: (N, C) or
    (N, C, H, W), weight γ and bias β: (C,) or None (ones, zeros). As
    ``F.batch_norm(x, None, None, weight, bias, training=True, eps=eps)``."""
    fn = "batch_norm"
    x = _bn_x(fn, x)
    c = x.shape[1]
    weight = _affine(fn, "weight", weight, (c,), "one per channel of x (N, C, …)")
    bias = _affine(fn, "bias", bias, (c,), "one per channel of x (N, C, …)")
    eps = _eps(fn, eps)
    x = x.astype(_dtype(x, weight, bias), copy=False)
    if x.size == 0:
        return x.copy()
    _, _, xhat, _ = _bn_stats(x, eps)
    return _scale_shift(xhat, _bn_affine(x, weight), _bn_affine(x, bias))


def _bn_backward(dy, xhat, inv_std, weight, input_grad=True):
    """(dx, dγ, dβ) from the forward's x̂ and 1/√(σ² + ε); weight (C,) or None."""
    dbias = _channel_sum(dy)
    dweight = _channel_dot(dy, xhat)
    if not input_grad:
        return None, dweight, dbias
    count = xhat.dtype.type(xhat.size // xhat.shape[1])
    scale = inv_std if weight is None else inv_std * weight
    # the compact form spread out: dx = a·dy + b·x̂ + c, with a, b, c per channel
    a = _per_channel(scale, dy.ndim)
    b = _per_channel(-scale * dweight / count, dy.ndim)
    c = _per_channel(-scale * dbias / count, dy.ndim)
    dx = xhat * b
    dx += c
    dx += dy * a
    return dx, dweight, dbias


def batch_norm_backward(dy, x, weight=None, eps=1e-5):
    r"""$dx = \frac{\gamma}{M\sqrt{\sigma^2+\varepsilon}}(M\,dy - \sum dy - \hat x \sum dy\,\hat x)$,
    $d\gamma = \sum dy\,\hat x$, $d\beta = \sum dy$: sums per channel over its M = N·H·W entries.
    Returns (dx, dweight, dbias), the last two (C,) even when weight is None."""
    fn = "batch_norm_backward"
    x = _bn_x(fn, x)
    dy = _array(fn, "dy", dy)
    ck.shape_eq(fn, "dy", dy, x.shape, "the shape of x")
    c = x.shape[1]
    weight = _affine(fn, "weight", weight, (c,), "one per channel of x (N, C, …)")
    eps = _eps(fn, eps)
    dt = _dtype(x, dy, weight)
    x, dy = x.astype(dt, copy=False), dy.astype(dt, copy=False)
    if x.size == 0:
        return np.zeros(x.shape, dt), np.zeros(c, dt), np.zeros(c, dt)
    _, _, xhat, inv_std = _bn_stats(x, eps)
    w = None if weight is None else weight.astype(dt, copy=False)
    return _bn_backward(dy, xhat, inv_std, w)


# ---------------------------------------------------------------- layer norm


def _normalized_shape(fn: str, normalized_shape, x: np.ndarray) -> tuple[int, ...]:
    """normalized_shape (an int or a tuple of ints) checked against x's trailing dims."""
    ns = normalized_shape if isinstance(normalized_shape, (tuple, list)) else (normalized_shape,)
    if not ns or not all(ck._is_int(n) for n in ns):
        ck.fail(
            fn,
            "normalized_shape",
            "an int or a non-empty tuple of ints (x's trailing dims)",
            repr(normalized_shape),
        )
    ns = tuple(int(n) for n in ns)
    if x.ndim < len(ns) or x.shape[x.ndim - len(ns) :] != ns:
        ck.fail(
            fn,
            "normalized_shape",
            f"x's last {len(ns)} dim(s) for x of shape {x.shape}",
            repr(normalized_shape),
        )
    return ns


def _ln_inputs(fn: str, x, normalized_shape, eps):
    x = _array(fn, "x", x)
    return x, _normalized_shape(fn, normalized_shape, x), _eps(fn, eps)


def _ln_stats(x: np.ndarray, ns: tuple, eps: float):
    """(x̂, 1/√(σ² + ε)) over the trailing dims ns: x̂ as rows (one per sample, its entries
    contiguous), the statistic (rows, 1); shifted by each row's first entry, as _bn_stats."""
    rows = x.reshape(-1, math.prod(ns))
    count = rows.dtype.type(rows.shape[1])
    d = rows - rows[:, :1]
    d -= d.sum(axis=1, keepdims=True) / count
    var = np.einsum("ij,ij->i", d, d)[:, None] / count
    inv_std = (1 / np.sqrt(var + x.dtype.type(eps))).astype(x.dtype, copy=False)
    d *= inv_std
    return d, inv_std


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    r"""$y = \gamma \odot \hat x + \beta$, $\hat x = (x - \mu)/\sqrt{\sigma^2 + \varepsilon}$ with
    μ and the biased σ² of each sample over its trailing dims ``normalized_shape`` (an int or a
    tuple); weight γ and bias β of shape normalized_shape or None. As ``F.layer_norm``."""
    fn = "layer_norm"
    x, ns, eps = _ln_inputs(fn, x, normalized_shape, eps)
    weight = _affine(fn, "weight", weight, ns, "normalized_shape")
    bias = _affine(fn, "bias", bias, ns, "normalized_shape")
    dt = _dtype(x, weight, bias)
    x = x.astype(dt, copy=False)
    if x.size == 0:
        return x.copy()
    xhat, _ = _ln_stats(x, ns, eps)
    w = None if weight is None else weight.astype(dt, copy=False).reshape(-1)
    b = None if bias is None else bias.astype(dt, copy=False).reshape(-1)
    return _scale_shift(xhat, w, b).reshape(x.shape)


def _ln_backward(dy_rows, xhat, inv_std, weight, input_grad=True):
    """(dx, dγ, dβ) in rows (groups × entries); weight flat or None."""
    dbias = dy_rows.sum(axis=0)
    dweight = np.einsum("ij,ij->j", dy_rows, xhat)
    if not input_grad:
        return None, dweight, dbias
    g = dy_rows if weight is None else dy_rows * weight
    count = xhat.dtype.type(xhat.shape[1])
    gsum = g.sum(axis=1, keepdims=True)
    gx = np.einsum("ij,ij->i", g, xhat)[:, None]
    dx = xhat * (-gx / count)
    dx -= gsum / count
    dx += g
    dx *= inv_std
    return dx, dweight, dbias


def layer_norm_backward(dy, x, normalized_shape, weight=None, eps=1e-5):
    r"""With g = γ ⊙ dy, per sample over its M normalised entries:
    $dx = \frac{1}{M\sqrt{\sigma^2+\varepsilon}}(M g - \sum g - \hat x \sum g \hat x)$;
    $d\gamma = \sum_{\text{samples}} dy\,\hat x$, $d\beta = \sum_{\text{samples}} dy$.
    Returns (dx, dweight, dbias), the last two of shape normalized_shape."""
    fn = "layer_norm_backward"
    x, ns, eps = _ln_inputs(fn, x, normalized_shape, eps)
    dy = _array(fn, "dy", dy)
    ck.shape_eq(fn, "dy", dy, x.shape, "the shape of x")
    weight = _affine(fn, "weight", weight, ns, "normalized_shape")
    dt = _dtype(x, dy, weight)
    x, dy = x.astype(dt, copy=False), dy.astype(dt, copy=False)
    if x.size == 0:
        return np.zeros(x.shape, dt), np.zeros(ns, dt), np.zeros(ns, dt)
    xhat, inv_std = _ln_stats(x, ns, eps)
    w = None if weight is None else weight.astype(dt, copy=False).reshape(-1)
    dx, dw, db = _ln_backward(dy.reshape(xhat.shape), xhat, inv_std, w)
    return dx.reshape(x.shape), dw.reshape(ns), db.reshape(ns)
