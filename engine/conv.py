"""Convolution and transposed convolution, forward and backward, in PyTorch's layouts.

Every framework's "convolution" is cross-correlation (no kernel flip), and so is this one; the
lecture notes write it ⊛. All three kernels below work on an im2col matrix laid out as
(groups, C_in/groups · kH · kW, N · H_out · W_out) so that every heavy step is one batched matmul
over the groups, and the only Python loop is over the kH × kW kernel offsets (col2im).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import _checks as ck


def _out_size(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _windows(xp: np.ndarray, groups: int, k, s, d, out_hw) -> np.ndarray:
    """View of the padded input as (N, G, C/G, H_out, W_out, kH, kW); no copy."""
    n, c, _, _ = xp.shape
    sn, sc, sh, sw = xp.strides
    cg = c // groups
    shape = (n, groups, cg, out_hw[0], out_hw[1], k[0], k[1])
    strides = (sn, sc * cg, sc, sh * s[0], sw * s[1], sh * d[0], sw * d[1])
    return as_strided(xp, shape=shape, strides=strides, writeable=False)


def _im2col(x, groups, k, s, p, d, out_hw) -> np.ndarray:
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1]))) if any(p) else x
    win = _windows(xp, groups, k, s, d, out_hw)
    n, g, cg, ho, wo, kh, kw = win.shape
    # (G, Cg, kH, kW, N, Ho, Wo): the copy puts every column contiguous for the matmul
    return np.ascontiguousarray(win.transpose(1, 2, 5, 6, 0, 3, 4)).reshape(
        g, cg * kh * kw, n * ho * wo
    )


def _col2im(cols, x_shape, groups, k, s, p, d, out_hw) -> np.ndarray:
    """Adjoint of _im2col: scatter-add the columns back into an input-shaped array."""
    n, c, h, w = x_shape
    cg = c // groups
    ho, wo = out_hw
    hp, wp = h + 2 * p[0], w + 2 * p[1]
    xp = np.zeros((groups, cg, n, hp, wp), dtype=cols.dtype)
    cols = cols.reshape(groups, cg, k[0], k[1], n, ho, wo)
    for i in range(k[0]):  # a loop over kernel offsets only; each step is a whole-array add
        r0 = i * d[0]
        rows = slice(r0, r0 + s[0] * (ho - 1) + 1, s[0])
        for j in range(k[1]):
            c0 = j * d[1]
            xp[:, :, :, rows, c0 : c0 + s[1] * (wo - 1) + 1 : s[1]] += cols[:, :, i, j]
    xp = xp[:, :, :, p[0] : p[0] + h, p[1] : p[1] + w]
    return xp.reshape(c, n, h, w).transpose(1, 0, 2, 3)


def _conv_forward(x, w, groups, s, p, d, out_hw, cols=None):
    cout, cg, kh, kw = w.shape
    if cols is None:
        cols = _im2col(x, groups, (kh, kw), s, p, d, out_hw)
    wm = w.reshape(groups, cout // groups, cg * kh * kw)
    y = np.matmul(wm, cols)  # (G, Cout/G, N·Ho·Wo)
    n = x.shape[0]
    return y.reshape(cout, n, *out_hw).transpose(1, 0, 2, 3)


def _dy_matrix(dy, groups):
    n, cout, ho, wo = dy.shape
    return dy.transpose(1, 0, 2, 3).reshape(groups, cout // groups, n * ho * wo)


def _conv_input_grad(dy, w, x_shape, groups, s, p, d):
    cout, cg, kh, kw = w.shape
    wm = w.reshape(groups, cout // groups, cg * kh * kw)
    cols = np.matmul(wm.transpose(0, 2, 1), _dy_matrix(dy, groups))
    return _col2im(cols, x_shape, groups, (kh, kw), s, p, d, dy.shape[2:])


def _conv_weight_grad(dy, x, w_shape, groups, s, p, d, cols=None):
    cout, cg, kh, kw = w_shape
    if cols is None:
        cols = _im2col(x, groups, (kh, kw), s, p, d, dy.shape[2:])
    dw = np.matmul(_dy_matrix(dy, groups), cols.transpose(0, 2, 1))
    return dw.reshape(w_shape)


def _conv_params(fn, stride, padding, dilation, groups):
    s = ck.pair(fn, "stride", stride, minimum=1)
    p = ck.pair(fn, "padding", padding, minimum=0)
    d = ck.pair(fn, "dilation", dilation, minimum=1)
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        ck.fail(fn, "groups", "an int >= 1", repr(groups))
    return s, p, d, int(groups)


def _check_conv(fn, x, w, b, groups, transposed: bool):
    ck.ndim(fn, "x", x, 4, "(N, C_in, H, W)")
    lay = "(C_in, C_out/groups, kH, kW)" if transposed else "(C_out, C_in/groups, kH, kW)"
    ck.ndim(fn, "w", w, 4, lay)
    cin = x.shape[1]
    if cin % groups:
        ck.fail(fn, "x", f"C_in divisible by groups={groups}", f"C_in={cin} (shape {x.shape})")
    if transposed:
        if w.shape[0] != cin:
            ck.fail(fn, "w", f"w.shape[0] == C_in = {cin} {lay}", f"shape {w.shape}")
        cout = w.shape[1] * groups
    else:
        if w.shape[1] * groups != cin:
            ck.fail(
                fn, "w", f"w.shape[1] == C_in/groups = {cin // groups} {lay}", f"shape {w.shape}"
            )
        if w.shape[0] % groups:
            ck.fail(fn, "w", f"C_out (w.shape[0]) divisible by groups={groups}", f"{w.shape}")
        cout = w.shape[0]
    if b is not None:
        ck.ndim(fn, "b", b, 1, "(C_out,)")
        ck.shape_eq(fn, "b", b, (cout,), "one bias per output channel")
    return cout


def _conv_geometry(fn, x_hw, k, s, p, d):
    out = []
    for axis, (size, kk, ss, pp, dd) in enumerate(zip(x_hw, k, s, p, d)):
        span = dd * (kk - 1) + 1
        if span > size + 2 * pp:
            name = "kH" if axis == 0 else "kW"
            ck.fail(
                fn,
                "w",
                f"a kernel no larger than the padded input ({name}·dilation span {span} <= "
                f"{size} + 2·{pp})",
                f"kernel {k}, input {tuple(x_hw)}",
            )
        out.append(_out_size(size, kk, ss, pp, dd))
    return tuple(out)


def conv2d(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
    r"""2-D cross-correlation $Z = X \circledast K + b$, as ``torch.nn.functional.conv2d``.

    x: (N, C_in, H, W); w: (C_out, C_in/groups, kH, kW); b: (C_out,) or None.
    Returns (N, C_out, H_out, W_out), H_out = ⌊(H + 2p − d(kH − 1) − 1)/s⌋ + 1.
    """
    fn = "conv2d"
    x, w = ck.as_float(fn, "x", x), ck.as_float(fn, "w", w)
    b = None if b is None else ck.as_float(fn, "b", b)
    s, p, d, g = _conv_params(fn, stride, padding, dilation, groups)
    _check_conv(fn, x, w, b, g, transposed=False)
    dt = ck.common_dtype(x, w, b)
    x, w = x.astype(dt, copy=False), w.astype(dt, copy=False)
    out_hw = _conv_geometry(fn, x.shape[2:], w.shape[2:], s, p, d)
    y = _conv_forward(x, w, g, s, p, d, out_hw)
    if b is not None:
        y = y + b.astype(dt, copy=False)[None, :, None, None]
    return np.ascontiguousarray(y)


def conv2d_backward(dy, x, w, *, stride=1, padding=0, dilation=1, groups=1):
    r"""Gradients of conv2d: $\partial L/\partial X = \mathrm{pad}(\partial L/\partial Z) \circledast
    \mathrm{rot180}(K)$, $\partial L/\partial K = X \circledast \partial L/\partial Z$,
    $\partial L/\partial b = \sum \partial L/\partial Z$.  Returns (dx, dw, db)."""
    fn = "conv2d_backward"
    x, w, dy = ck.as_float(fn, "x", x), ck.as_float(fn, "w", w), ck.as_float(fn, "dy", dy)
    s, p, d, g = _conv_params(fn, stride, padding, dilation, groups)
    cout = _check_conv(fn, x, w, None, g, transposed=False)
    out_hw = _conv_geometry(fn, x.shape[2:], w.shape[2:], s, p, d)
    ck.shape_eq(fn, "dy", dy, (x.shape[0], cout, *out_hw), "the shape of conv2d's output")
    dt = ck.common_dtype(x, w, dy)
    x, w, dy = (a.astype(dt, copy=False) for a in (x, w, dy))
    dx = _conv_input_grad(dy, w, x.shape, g, s, p, d)
    dw = _conv_weight_grad(dy, x, w.shape, g, s, p, d)
    return np.ascontiguousarray(dx), dw, dy.sum(axis=(0, 2, 3))


def _transposed_geometry(fn, x_hw, k, s, p, op, d):
    for name, o, ss, dd in (
        ("output_padding", op[0], s[0], d[0]),
        ("output_padding", op[1], s[1], d[1]),
    ):
        if o >= max(ss, dd):
            ck.fail(fn, name, f"< max(stride, dilation) = {max(ss, dd)}", repr(op))
    out = tuple(
        (size - 1) * ss - 2 * pp + dd * (kk - 1) + oo + 1
        for size, kk, ss, pp, oo, dd in zip(x_hw, k, s, p, op, d)
    )
    if min(out) < 1:
        ck.fail(
            fn, "padding", f"small enough for a non-empty output (output would be {out})", repr(p)
        )
    return out


def conv_transpose2d(x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    r"""Transposed convolution, as ``torch.nn.functional.conv_transpose2d``: each input pixel
    stamps a copy of the kernel, scaled by it, into the output; equivalently the adjoint of
    conv2d, or the correlation of the zero-inserted, zero-padded input with rot180(K).

    x: (N, C_in, H, W); w: (C_in, C_out/groups, kH, kW); b: (C_out,) or None.
    H_out = (H − 1)s − 2p + d(kH − 1) + output_padding + 1.
    """
    fn = "conv_transpose2d"
    x, w = ck.as_float(fn, "x", x), ck.as_float(fn, "w", w)
    b = None if b is None else ck.as_float(fn, "b", b)
    s, p, d, g = _conv_params(fn, stride, padding, dilation, groups)
    op = ck.pair(fn, "output_padding", output_padding, minimum=0)
    cout = _check_conv(fn, x, w, b, g, transposed=True)
    out_hw = _transposed_geometry(fn, x.shape[2:], w.shape[2:], s, p, op, d)
    dt = ck.common_dtype(x, w, b)
    x, w = x.astype(dt, copy=False), w.astype(dt, copy=False)
    y = _conv_input_grad(x, w, (x.shape[0], cout, *out_hw), g, s, p, d)
    if b is not None:
        y = y + b.astype(dt, copy=False)[None, :, None, None]
    return np.ascontiguousarray(y)


def conv_transpose2d_backward(
    dy, x, w, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1
):
    r"""Gradients of conv_transpose2d: $\partial L/\partial X = \partial L/\partial Z \circledast K$
    (a plain strided conv2d), $\partial L/\partial K = \partial L/\partial Z \circledast X$,
    $\partial L/\partial b = \sum \partial L/\partial Z$.  Returns (dx, dw, db)."""
    fn = "conv_transpose2d_backward"
    x, w, dy = ck.as_float(fn, "x", x), ck.as_float(fn, "w", w), ck.as_float(fn, "dy", dy)
    s, p, d, g = _conv_params(fn, stride, padding, dilation, groups)
    op = ck.pair(fn, "output_padding", output_padding, minimum=0)
    cout = _check_conv(fn, x, w, None, g, transposed=True)
    out_hw = _transposed_geometry(fn, x.shape[2:], w.shape[2:], s, p, op, d)
    ck.shape_eq(fn, "dy", dy, (x.shape[0], cout, *out_hw), "the shape of the forward output")
    dt = ck.common_dtype(x, w, dy)
    x, w, dy = (a.astype(dt, copy=False) for a in (x, w, dy))
    # the forward is conv2d's input gradient, so its gradients are conv2d's forward (for x)
    # and conv2d's weight gradient with the roles of input and output swapped (for w)
    cols = _im2col(dy, g, w.shape[2:], s, p, d, x.shape[2:])  # shared by both gradients
    dx = _conv_forward(dy, w, g, s, p, d, x.shape[2:], cols=cols)
    dw = _conv_weight_grad(x, dy, w.shape, g, s, p, d, cols=cols)
    return np.ascontiguousarray(dx), dw, dy.sum(axis=(0, 2, 3))
