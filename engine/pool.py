"""Max and average pooling, forward and backward, as torch.nn.functional computes them."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import _checks as ck


def _pool_params(fn, x, kernel_size, stride, padding, dilation=1):
    ck.ndim(fn, "x", x, 4, "(N, C, H, W)")
    k = ck.pair(fn, "kernel_size", kernel_size, minimum=1)
    s = k if stride is None else ck.pair(fn, "stride", stride, minimum=1)
    p = ck.pair(fn, "padding", padding, minimum=0)
    d = ck.pair(fn, "dilation", dilation, minimum=1)
    if 2 * p[0] > k[0] or 2 * p[1] > k[1]:
        # PyTorch's rule: a window may not lie entirely in the padding
        ck.fail(fn, "padding", f"at most half the kernel size {k}", repr(padding))
    out = []
    for size, kk, ss, pp, dd in zip(x.shape[2:], k, s, p, d, strict=True):
        span = dd * (kk - 1) + 1
        if span > size + 2 * pp:
            ck.fail(
                fn,
                "kernel_size",
                f"no larger than the padded input {x.shape[2:]} + 2·{p}",
                f"kernel_size={kernel_size} (dilated span {span})",
            )
        out.append((size + 2 * pp - span) // ss + 1)
    return k, s, p, d, tuple(out)


def _windows(xp, k, s, d, out_hw):
    n, c, _, _ = xp.shape
    sn, sc, sh, sw = xp.strides
    return as_strided(
        xp,
        shape=(n, c, out_hw[0], out_hw[1], k[0], k[1]),
        strides=(sn, sc, sh * s[0], sw * s[1], sh * d[0], sw * d[1]),
        writeable=False,
    )


def _offsets(k, s, d, out_hw):
    """(offset number, row slice, column slice) of each kernel offset, over the padded input."""
    ho, wo = out_hw
    for i in range(k[0]):
        rows = slice(i * d[0], i * d[0] + s[0] * (ho - 1) + 1, s[0])
        for j in range(k[1]):
            yield i * k[1] + j, rows, slice(j * d[1], j * d[1] + s[1] * (wo - 1) + 1, s[1])


def _padded_max(x, k, s, p, d, out_hw):
    """The -inf-padded input and each window's maximum; a loop over the kH·kW offsets, each a
    whole-array np.maximum, beats gathering every window into a k²-sized copy."""
    xp = (
        np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=-np.inf)
        if any(p)
        else x
    )
    best = None
    for _, rows, cols in _offsets(k, s, d, out_hw):
        if best is None:
            best = xp[:, :, rows, cols].copy()
        else:
            np.maximum(best, xp[:, :, rows, cols], out=best)
    return xp, best


def max_pool2d(x, kernel_size, *, stride=None, padding=0, dilation=1):
    """Max pooling; x: (N, C, H, W). stride defaults to kernel_size; padding counts as −∞."""
    fn = "max_pool2d"
    x = ck.as_float(fn, "x", x)
    k, s, p, d, out_hw = _pool_params(fn, x, kernel_size, stride, padding, dilation)
    return _padded_max(x, k, s, p, d, out_hw)[1]


def max_pool2d_backward(dy, x, kernel_size, *, stride=None, padding=0, dilation=1):
    r"""$\partial L/\partial x_{mn}$ = the upstream of every window whose maximum $x_{mn}$ is, else 0."""
    fn = "max_pool2d_backward"
    x, dy = ck.as_float(fn, "x", x), ck.as_float(fn, "dy", dy)
    k, s, p, d, out_hw = _pool_params(fn, x, kernel_size, stride, padding, dilation)
    n, c, h, w = x.shape
    ck.shape_eq(fn, "dy", dy, (n, c, *out_hw), "the shape of max_pool2d's output")
    xp, best = _padded_max(x, k, s, p, d, out_hw)
    dxp = np.zeros(xp.shape, dtype=ck.common_dtype(x, dy))
    free = None  # windows whose gradient no earlier offset has taken
    for _, rows, cols in _offsets(k, s, d, out_hw):
        # NOTE: ties go to the first maximum in row-major window order, as in PyTorch: an
        # offset takes the gradient only if no earlier offset of the window already did
        hit = xp[:, :, rows, cols] == best
        if free is None:
            free = ~hit
        else:
            hit &= free
            free ^= hit  # hit ⊆ free, so this removes exactly the windows just routed
        # one offset never maps two windows onto one cell, so adding into the view is safe
        dxp[:, :, rows, cols] += dy * hit
    return np.ascontiguousarray(dxp[:, :, p[0] : p[0] + h, p[1] : p[1] + w])


def avg_pool2d(x, kernel_size, *, stride=None, padding=0):
    """Average pooling; x: (N, C, H, W). Padding zeros count in the mean (PyTorch's
    count_include_pad=True default), so every window divides by kH·kW."""
    fn = "avg_pool2d"
    x = ck.as_float(fn, "x", x)
    k, s, p, d, out_hw = _pool_params(fn, x, kernel_size, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    return _windows(xp, k, s, d, out_hw).mean(axis=(4, 5))


def avg_pool2d_backward(dy, x, kernel_size, *, stride=None, padding=0):
    r"""Each window spreads its upstream evenly: $\partial L/\partial x_{mn} =
    \sum_{\text{windows} \ni x_{mn}} \frac{1}{k_H k_W} \partial L/\partial p$."""
    fn = "avg_pool2d_backward"
    x, dy = ck.as_float(fn, "x", x), ck.as_float(fn, "dy", dy)
    k, s, p, _, out_hw = _pool_params(fn, x, kernel_size, stride, padding)
    n, c, h, w = x.shape
    ck.shape_eq(fn, "dy", dy, (n, c, *out_hw), "the shape of avg_pool2d's output")
    dt = ck.common_dtype(x, dy)
    share = (dy / (k[0] * k[1])).astype(dt, copy=False)
    dxp = np.zeros((n, c, h + 2 * p[0], w + 2 * p[1]), dtype=dt)
    ho, wo = out_hw
    for i in range(k[0]):
        for j in range(k[1]):
            dxp[:, :, i : i + s[0] * (ho - 1) + 1 : s[0], j : j + s[1] * (wo - 1) + 1 : s[1]] += (
                share
            )
    return np.ascontiguousarray(dxp[:, :, p[0] : p[0] + h, p[1] : p[1] + w])
