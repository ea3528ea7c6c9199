"""Convolution and transposed convolution, forward and backward, in PyTorch's layouts.

Every framework's "convolution" is cross-correlation (no kernel flip), and so is this one; the
lecture notes write it ⊛. All three kernels below work on an im2col matrix laid out as
(groups, C_in/groups · kH · kW, N · H_out · W_out) so that every heavy step is one batched matmul
over the groups, and the only Python loop is over the kH × kW kernel offsets (col2im).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import _checks as ck


def _out_size(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


@dataclass(frozen=True)
class _Cols:
    """Where each output pixel of a convolution lives along the columns of its im2col matrix.

    Two layouts. The exact one has one column per output pixel, ordered (N, H_out, W_out), and
    one row per (channel, kernel row i, kernel column j).

    At stride 1 the "frame" layout is used instead: the zero-padded images are laid end to end as
    one long row per channel, so output pixel (n, h, w) is column n·Hp·Wp + h·Wp + w and kernel
    offset (i, j) is that column shifted by i·dH·Wp + j·dW. Two things follow. Every im2col row
    and col2im add is one long contiguous slice, not H_out strided runs of W_out numbers. And
    kernel row i is a shift of kernel row 0 by i·dH·Wp columns, so im2col only copies the kW
    shifts of row 0 (a "band" of C·kW rows, kH·dH·Wp columns longer than M) and each kernel row
    is a strided view of it that BLAS reads in place. Measured at 8×32×32×32 → 64, 3×3, pad 1,
    this took conv2d forward+backward from 16 ms to 9. The price is computing, then dropping,
    Hp·Wp − H_out·W_out junk columns per image: 13% more matmul at that size.
    """

    n: int
    c: int
    hw: tuple[int, int]  # input
    k: tuple[int, int]
    s: tuple[int, int]
    p: tuple[int, int]
    d: tuple[int, int]
    out: tuple[int, int]
    groups: int

    @property
    def frame(self) -> bool:
        return self.s == (1, 1)

    @property
    def padded(self) -> tuple[int, int]:
        return self.hw[0] + 2 * self.p[0], self.hw[1] + 2 * self.p[1]

    @property
    def m(self) -> int:
        """Number of columns."""
        grid = self.padded if self.frame else self.out
        return self.n * grid[0] * grid[1]

    def row_shift(self, i: int) -> int:
        """Frame layout: how many columns kernel row i is shifted from kernel row 0."""
        return i * self.d[0] * self.padded[1]

    @property
    def band(self) -> int:
        """Frame layout: columns of the band, M plus the reach of the last kernel row."""
        return self.m + self.row_shift(self.k[0] - 1)


def _cols_geometry(x_shape, k, s, p, d, out_hw, groups) -> _Cols:
    n, c, h, w = x_shape
    return _Cols(n, c, (h, w), tuple(k), s, p, d, tuple(out_hw), groups)


def _frames(x, g: _Cols) -> np.ndarray:
    """x (N, C, H, W) → (C, band + reach of the last kernel column): zero-padded images end to
    end, one row per channel."""
    hp, wp = g.padded
    flat = np.zeros((g.c, g.band + (g.k[1] - 1) * g.d[1]), dtype=x.dtype)
    body = flat[:, : g.m].reshape(g.c, g.n, hp, wp)
    body[:, :, g.p[0] : g.p[0] + g.hw[0], g.p[1] : g.p[1] + g.hw[1]] = x.transpose(1, 0, 2, 3)
    return flat


def _im2col(x, g: _Cols) -> np.ndarray:
    """Exact layout: (G, C/G · kH · kW, M), row (c, i, j) holds x[c] seen through offset (i, j).
    Frame layout: the band (G, C/G · kW, band), row (c, j) holds x[c] shifted by j·dW."""
    kh, kw = g.k
    if g.frame:
        flat = _frames(x, g)
        sc, item = flat.strides
        win = as_strided(flat, (g.c, kw, g.band), (sc, g.d[1] * item, item), writeable=False)
        rows = kw
    else:
        p = g.p
        xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1]))) if any(p) else x
        sn, sc, sh, sw = xp.strides
        ho, wo = g.out
        shape = (g.c, kh, kw, g.n, ho, wo)
        step = (sc, sh * g.d[0], sw * g.d[1], sn, sh * g.s[0], sw * g.s[1])
        win = as_strided(xp, shape, step, writeable=False)
        rows = kh * kw
    return np.ascontiguousarray(win).reshape(g.groups, g.c // g.groups * rows, -1)


def _kernel_rows(cols, g: _Cols):
    """Frame layout: kernel row i's (G, C/G · kW, M) view of the band, for each i."""
    for i in range(g.k[0]):
        yield i, cols[:, :, g.row_shift(i) : g.row_shift(i) + g.m]


def _w_rows(w, g: _Cols) -> np.ndarray:
    """w (C_out, C/G, kH, kW) as (kH, G, C_out/G, C/G · kW), to meet the band's rows."""
    cout, cg, kh, kw = w.shape
    w = w.reshape(g.groups, cout // g.groups, cg, kh, kw).transpose(3, 0, 1, 2, 4)
    return w.reshape(kh, g.groups, cout // g.groups, cg * kw)


def _apply_w(w, cols, g: _Cols) -> np.ndarray:
    """The convolution in column form, (G, C_out/G, M)."""
    if not g.frame:
        return np.matmul(_w_matrix(w, g.groups), cols)
    wr = _w_rows(w, g)
    y = None
    for i, view in _kernel_rows(cols, g):
        if y is None:
            y = np.matmul(wr[i], view)
        else:
            y += np.matmul(wr[i], view)
    return y


def _weight_grad(dym, cols, w_shape, g: _Cols) -> np.ndarray:
    """∂L/∂K from the upstream in column form (G, C_out/G, M) and the input's columns."""
    cout, cg, kh, kw = w_shape
    # cols @ dymᵀ with dymᵀ made C-contiguous first: OpenBLAS ran this long-K product 25-35%
    # faster than dym @ colsᵀ, far more than the 0.2 ms the transposed copy costs
    dymt = np.ascontiguousarray(dym.transpose(0, 2, 1))
    if not g.frame:
        return np.matmul(cols, dymt).transpose(0, 2, 1).reshape(w_shape)
    dwt = np.empty((kh, g.groups, cg * kw, cout // g.groups), dtype=dym.dtype)
    for i, view in _kernel_rows(cols, g):
        np.matmul(view, dymt, out=dwt[i])
    dw = dwt.reshape(kh, g.groups, cg, kw, cout // g.groups).transpose(1, 4, 2, 0, 3)
    return dw.reshape(w_shape)


def _col2im(cols, g: _Cols) -> np.ndarray:
    """Adjoint of _im2col: scatter-add the columns back into a C-contiguous (N, C, H, W) array."""
    kh, kw = g.k
    hp, wp = g.padded
    cols = cols.reshape(g.c, kh, kw, g.m)
    if g.frame:
        flat = np.zeros((g.c, g.band + (kw - 1) * g.d[1]), dtype=cols.dtype)
        for i in range(kh):  # a loop over kernel offsets only; each step is one whole-array add
            for j in range(kw):
                off = g.row_shift(i) + j * g.d[1]
                flat[:, off : off + g.m] += cols[:, i, j]
        xp = flat[:, : g.m].reshape(g.c, g.n, hp, wp)
    else:
        ho, wo = g.out
        xp = np.zeros((g.c, g.n, hp, wp), dtype=cols.dtype)
        cols = cols.reshape(g.c, kh, kw, g.n, ho, wo)
        for i in range(kh):
            rows = slice(i * g.d[0], i * g.d[0] + g.s[0] * (ho - 1) + 1, g.s[0])
            for j in range(kw):
                c0 = j * g.d[1]
                xp[:, :, rows, c0 : c0 + g.s[1] * (wo - 1) + 1 : g.s[1]] += cols[:, i, j]
    body = xp[:, :, g.p[0] : g.p[0] + g.hw[0], g.p[1] : g.p[1] + g.hw[1]]
    return np.ascontiguousarray(body.transpose(1, 0, 2, 3))


def _out_to_cols(dy, g: _Cols) -> np.ndarray:
    """An output-shaped (N, C_out, H_out, W_out) array as (G, C_out/G, M) in g's column layout."""
    n, cout, ho, wo = dy.shape
    if g.frame:
        hp, wp = g.padded
        m = np.zeros((cout, n, hp, wp), dtype=dy.dtype)
        m[:, :, :ho, :wo] = dy.transpose(1, 0, 2, 3)
    else:
        m = np.ascontiguousarray(dy.transpose(1, 0, 2, 3))
    return m.reshape(g.groups, cout // g.groups, g.m)


def _cols_to_out(y, g: _Cols, bias=None) -> np.ndarray:
    """(G, C_out/G, M) back to a C-contiguous (N, C_out, H_out, W_out), plus the bias if any."""
    cout = y.shape[0] * y.shape[1]
    grid = g.padded if g.frame else g.out
    y = y.reshape(cout, g.n, *grid)[:, :, : g.out[0], : g.out[1]]
    y = np.ascontiguousarray(y.transpose(1, 0, 2, 3))
    if bias is not None:
        y += bias[:, None, None]
    return y


def _w_matrix(w, groups):
    cout, cg, kh, kw = w.shape
    return w.reshape(groups, cout // groups, cg * kh * kw)


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
    geo = _cols_geometry(x.shape, w.shape[2:], s, p, d, out_hw, g)
    y = _apply_w(w, _im2col(x, geo), geo)
    return _cols_to_out(y, geo, None if b is None else b.astype(dt, copy=False))


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
    geo = _cols_geometry(x.shape, w.shape[2:], s, p, d, out_hw, g)
    dym = _out_to_cols(dy, geo)
    dx = _col2im(np.matmul(_w_matrix(w, g).transpose(0, 2, 1), dym), geo)
    dw = _weight_grad(dym, _im2col(x, geo), w.shape, geo)
    return dx, dw, dy.sum(axis=(0, 2, 3))


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
    # the transposed conv is conv2d's input gradient, with x in the role of conv2d's dy
    geo = _cols_geometry((x.shape[0], cout, *out_hw), w.shape[2:], s, p, d, x.shape[2:], g)
    y = _col2im(np.matmul(_w_matrix(w, g).transpose(0, 2, 1), _out_to_cols(x, geo)), geo)
    if b is not None:
        y += b.astype(dt, copy=False)[:, None, None]
    return y


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
    geo = _cols_geometry(dy.shape, w.shape[2:], s, p, d, x.shape[2:], g)
    cols = _im2col(dy, geo)  # shared by both gradients
    dx = _cols_to_out(_apply_w(w, cols, geo), geo)
    dw = _weight_grad(_out_to_cols(x, geo), cols, w.shape, geo)
    return dx, dw, dy.sum(axis=(0, 2, 3))
