"""Convolution and transposed convolution, forward and backward, in PyTorch's layouts.

Every framework's "convolution" is cross-correlation (no kernel flip), and so is this one; the
lecture notes write it ⊛. All of it is im2col + matmul on one column layout (`_Cols`): every heavy
step is a matmul batched over the groups, and the only Python loops are over kernel offsets and
stride phases, each step a whole-array operation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from . import _checks as ck
from . import _gather
from ._scratch import restart, scratch


def _out_size(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


@dataclass(frozen=True)
class _Cols:
    """The column layout shared by im2col, col2im and the matmuls between them.

    The zero-padded input is split into its stride phases: phase (a, b) holds the padded pixels
    (u·sH + a, v·sW + b) on a grid of Hq × Wq, at most ⌈Hp/sH⌉ × ⌈Wp/sW⌉ (see grid). Each
    phase's images are laid end to end as one long row per channel ("frames"). Output pixel
    (n, h, w) is column n·Hq·Wq + h·Wq + w, and kernel offset (i, j) reads phase
    (i·dH mod sH, j·dW mod sW) at that column shifted by ⌊i·dH/sH⌋·Wq + ⌊j·dW/sW⌋.

    So every im2col row and col2im add is one long contiguous slice, rather than H_out strided
    runs of W_out numbers. And kernel row i is kernel row i' of the same row phase shifted by a
    whole number of grid rows, so im2col only copies a "band" of C·kW rows per row phase. Each
    kernel row is a strided view into a band that BLAS reads in place. The price is computing, then
    dropping, Hq·Wq − H_out·W_out junk columns per image: 6% more matmul at 32×32, pad 1 (see grid).
    Against the previous exact layout (one column per output pixel, strided copies), in one
    interleaved run: conv2d 8×32×32×32 → 64, 3×3, pad 1, forward+backward 13.1 → 10.0 ms; the
    transposed conv 8×64×16×16 → 32, 4×4, stride 2, 5.9 → 4.6 ms (float32).

    Frozen, with the derived sizes cached: they are read dozens of times per call, and the
    lessons' finite-difference checks call tiny convolutions hundreds of times.
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

    @cached_property
    def grid(self) -> tuple[int, int]:
        """Rows and columns per image on the phase grids. Neighbouring rows (and images) share
        their zero padding where the kernel allows: a window that runs past the end of a row
        reads the right padding there, which is also the left padding of the next row. That
        drops one of the two padding columns and rows at 3×3, pad 1 (34×34 → 33×33 a 32×32
        image, 6% fewer columns in every matmul)."""
        return tuple(
            _pitch(size, p, s, k, d, out)
            for size, p, s, k, d, out in zip(
                self.hw, self.p, self.s, self.k, self.d, self.out, strict=True
            )
        )

    @cached_property
    def m(self) -> int:
        """Number of columns."""
        return self.n * self.grid[0] * self.grid[1]

    def row(self, i: int) -> tuple[int, int]:
        """Kernel row i's (row phase, column shift)."""
        q, a = divmod(i * self.d[0], self.s[0])
        return a, q * self.grid[1]

    def col(self, j: int) -> tuple[int, int]:
        """Kernel column j's (column phase, column shift)."""
        q, b = divmod(j * self.d[1], self.s[1])
        return b, q

    @cached_property
    def band(self) -> int:
        """Columns of a band: M plus the shift of the last kernel row."""
        return self.m + self.row(self.k[0] - 1)[1]

    @cached_property
    def length(self) -> int:
        """Columns of a frame: a band plus the shift of the last kernel column."""
        return self.band + self.col(self.k[1] - 1)[1]

    @cached_property
    def _phases(self) -> tuple:
        return tuple(
            (a, b, rows, cols, us, vs)
            for a, rows, us in _axis_phases(self.hw[0], self.p[0], self.s[0])
            for b, cols, vs in _axis_phases(self.hw[1], self.p[1], self.s[1])
        )

    def phases(self):
        """(a, b, rows, cols, grid rows, grid cols): which unpadded pixels land in phase (a, b),
        and where on its grid."""
        return self._phases


@lru_cache(maxsize=256)
def _cols(*args) -> _Cols:
    """One _Cols per geometry, its derived sizes computed once: a network's training step calls
    the same small convolutions thousands of times, and at 32 × 8 × 8 these sizes took a fifth
    of a conv's time."""
    return _Cols(*args)


def _pitch(size: int, pad: int, stride: int, k: int, d: int, out: int) -> int:
    """Grid length along one axis (see _Cols.grid). It must hold every output, every data
    pixel, and put a read that runs past its end into padding of the next row or image."""
    spans = [g for _, _, g in _axis_phases(size, pad, stride)]
    first = min(g.start for g in spans)  # padding before the data, in every phase
    end = max(g.stop for g in spans)
    reach = (k - 1) * d // stride  # how far past an output its window reads
    return max(out, end, out + reach - first)


def _axis_phases(size: int, pad: int, stride: int):
    """Along one axis: each phase that holds data, the data indices in it, their grid indices."""
    for phase in range(stride):
        first = (phase - pad) % stride  # first unpadded index whose padded index ≡ phase
        if first < size:
            count = len(range(first, size, stride))
            start = (first + pad) // stride
            yield phase, slice(first, size, stride), slice(start, start + count)


_MAX_PHASES = 64  # stride phases the band layout may loop over; past that, gathered columns


def _cols_geometry(fn, x_shape, k, s, p, d, out_hw, groups) -> _Cols | _gather.Taps:
    """The band layout where it is compact, else exactly one gathered column per output pixel
    (`_gather`: a stride, padding or dilation far larger than the input, a kernel far larger
    than the output). An axis with a single output reads the same at any stride, so its stride
    is taken as 1: a stride of 2**63 over 5 pixels is one output, not 2**63 phases."""
    restart()  # a new op: its scratch arrays reuse the previous op's
    n, c, h, w = x_shape
    s = tuple(1 if o == 1 else ss for o, ss in zip(out_hw, s, strict=True))
    exact = c * k[0] * k[1] * n * out_hw[0] * out_hw[1]
    if s[0] * s[1] <= _MAX_PHASES:
        geo = _cols(n, c, (h, w), tuple(k), s, p, d, tuple(out_hw), groups)
        biggest = max(s[0] * s[1] * c * geo.length, s[0] * c * k[1] * geo.band)
        if biggest <= min(ck.MAX_ELEMENTS, 2 * (exact + n * c * h * w) + 4096):
            return geo
    return _gather.taps(fn, x_shape, k, s, p, d, out_hw, groups)


def _frames(x, g: _Cols) -> np.ndarray:
    """x (N, C, H, W) → (sH, sW, C, length): each phase's padded images end to end."""
    flat = scratch("padded", (*g.s, g.c, g.length), x.dtype)
    flat[..., g.m :] = 0
    body = flat[..., : g.m].reshape(*g.s, g.c, g.n, *g.grid)
    xt = x.transpose(1, 0, 2, 3)
    empty = np.ones(g.s, dtype=bool)
    for a, b, rows, cols, us, vs in g.phases():
        # the data, and zeros around it (not a fill of the whole buffer first: one pass less)
        phase = body[a, b]
        phase[:, :, us, vs] = xt[:, :, rows, cols]
        phase[:, :, : us.start] = 0
        phase[:, :, us.stop :] = 0
        phase[:, :, us, : vs.start] = 0
        phase[:, :, us, vs.stop :] = 0
        empty[a, b] = False
    flat[empty] = 0  # phases that hold no data (a stride larger than the input)
    return flat


def _im2col(x, g: _Cols) -> np.ndarray:
    """The bands, (sH, G, C/G · kW, band): band a's row (c, j) is channel c of the frame of
    phase (a, column phase of j), from kernel column j's shift on."""
    flat = _frames(x, g)
    kw = g.k[1]
    bands = scratch("columns", (g.s[0], g.c, kw, g.band), x.dtype)
    for j in range(kw):
        b, shift = g.col(j)
        bands[:, :, j] = flat[:, b, :, shift : shift + g.band]
    return bands.reshape(g.s[0], g.groups, g.c // g.groups * kw, g.band)


def _kernel_rows(bands, g: _Cols):
    """Kernel row i's (G, C/G · kW, M) view of its band, for each i."""
    for i in range(g.k[0]):
        a, shift = g.row(i)
        yield i, bands[a, :, :, shift : shift + g.m]


def _w_rows(w, g: _Cols) -> np.ndarray:
    """w (C_out, C/G, kH, kW) as (kH, G, C_out/G, C/G · kW), to meet the bands' rows."""
    cout, cg, kh, kw = w.shape
    w = w.reshape(g.groups, cout // g.groups, cg, kh, kw).transpose(3, 0, 1, 2, 4)
    return w.reshape(kh, g.groups, cout // g.groups, cg * kw)


def _apply_w(w, bands, g: _Cols) -> np.ndarray:
    """The convolution in column form, (G, C_out/G, M): one matmul per kernel row, summed
    (through one reused buffer, not a fresh product per row)."""
    wr = _w_rows(w, g)
    shape = (g.groups, wr.shape[2], g.m)
    y, part = scratch("rows", shape, bands.dtype), scratch("rows part", shape, bands.dtype)
    for i, view in _kernel_rows(bands, g):
        np.matmul(wr[i], view, out=part if i else y)
        if i:
            y += part
    return y


def _weight_grad(dym, bands, w_shape, g: _Cols) -> np.ndarray:
    """∂L/∂K from the upstream in column form (G, C_out/G, M) and the input's bands."""
    cout, cg, kh, kw = w_shape
    # view @ dymᵀ, with dymᵀ a transposed view that BLAS reads as it is: OpenBLAS ran this
    # long-K product 25-35% faster than dym @ viewᵀ, and 5-25% faster than with dymᵀ first
    # copied C-contiguous (the copy cost more than it saved: float32 conv2d 8×32×32×32 → 64,
    # three kernel rows, 2.06 → 1.55 ms)
    dymt = dym.transpose(0, 2, 1)
    dwt = np.empty((kh, g.groups, cg * kw, cout // g.groups), dtype=dym.dtype)
    for i, view in _kernel_rows(bands, g):
        np.matmul(view, dymt, out=dwt[i])
    dw = dwt.reshape(kh, g.groups, cg, kw, cout // g.groups).transpose(1, 4, 2, 0, 3)
    return dw.reshape(w_shape)


def _col2im(cols, g: _Cols) -> np.ndarray:
    """Adjoint of im2col: scatter-add full columns (G, C/G · kH · kW, M) back into a C-contiguous
    (N, C, H, W) array."""
    kh, kw = g.k
    cols = cols.reshape(g.c, kh, kw, g.m)
    flat = scratch("padded", (*g.s, g.c, g.length), cols.dtype)
    fresh = np.ones(g.s, dtype=bool)
    for i in range(kh):  # a loop over kernel offsets only; each step is one whole-array add
        a, row_shift = g.row(i)
        for j in range(kw):
            b, col_shift = g.col(j)
            off = row_shift + col_shift
            if fresh[a, b]:  # the first offset into a phase copies, and zeros the rest
                flat[a, b, :, :off] = 0
                flat[a, b, :, off : off + g.m] = cols[:, i, j]
                flat[a, b, :, off + g.m :] = 0
                fresh[a, b] = False
            else:
                flat[a, b, :, off : off + g.m] += cols[:, i, j]
    flat[fresh] = 0  # phases no kernel offset reaches
    body = flat[..., : g.m].reshape(*g.s, g.c, g.n, *g.grid)
    x = np.empty((g.n, g.c, *g.hw), dtype=cols.dtype)  # the phases below cover every pixel
    xt = x.transpose(1, 0, 2, 3)
    for a, b, rows, cols_, us, vs in g.phases():
        xt[:, :, rows, cols_] = body[a, b, :, :, us, vs]
    return x


def _out_to_cols(dy, g: _Cols) -> np.ndarray:
    """An output-shaped (N, C_out, H_out, W_out) array as (G, C_out/G, M), zero in junk columns."""
    n, cout, ho, wo = dy.shape
    m = scratch("out cols", (cout, n, *g.grid), dy.dtype)
    m[:, :, :ho, :wo] = dy.transpose(1, 0, 2, 3)
    m[:, :, ho:] = 0
    m[:, :, :ho, wo:] = 0
    return m.reshape(g.groups, cout // g.groups, g.m)


def _cols_to_out(y, g: _Cols, bias=None) -> np.ndarray:
    """(G, C_out/G, M) back to a C-contiguous (N, C_out, H_out, W_out), plus the bias if any."""
    cout = y.shape[0] * y.shape[1]
    y = y.reshape(cout, g.n, *g.grid)[:, :, : g.out[0], : g.out[1]]
    # always a copy: y is scratch memory, and with one channel and no junk columns the view is
    # already C-contiguous, so np.ascontiguousarray would hand back the scratch array itself
    y = y.transpose(1, 0, 2, 3).copy(order="C")
    if bias is not None:
        y += bias[:, None, None]  # a second pass, but faster than one three-operand np.add
    return y


def _wt_times(w, m, g: _Cols) -> np.ndarray:
    """Full columns (G, C/G · kH · kW, M) for col2im: the weights, transposed, times m (G, C_out/G,
    M), into scratch memory."""
    a, b, kh, kw = w.shape
    wt = w.reshape(g.groups, a // g.groups, b * kh * kw).transpose(0, 2, 1)
    return np.matmul(wt, m, out=scratch("columns", (g.groups, wt.shape[1], g.m), m.dtype))


def _conv_params(fn, stride, padding, dilation, groups):
    s = ck.pair(fn, "stride", stride, minimum=1)
    p = ck.pair(fn, "padding", padding, minimum=0)
    d = ck.pair(fn, "dilation", dilation, minimum=1)
    return s, p, d, ck.integer(fn, "groups", groups, minimum=1)


def _check_conv(fn, x, w, b, groups, transposed: bool):
    ck.ndim(fn, "x", x, 4, "(N, C_in, H, W)")
    lay = "(C_in, C_out/groups, kH, kW)" if transposed else "(C_out, C_in/groups, kH, kW)"
    ck.ndim(fn, "w", w, 4, lay)
    if min(w.shape[2:]) < 1:
        ck.fail(fn, "w", f"a kernel of at least 1×1 {lay}", f"shape {w.shape}")
    if min(x.shape[2:]) < 1:
        ck.fail(fn, "x", "at least 1×1 in H and W", f"shape {x.shape}")
    cin = x.shape[1]
    if cin < 1 or min(w.shape[:2]) < 1:
        ck.fail(fn, "x and w", "at least one channel each", f"shapes {x.shape} and {w.shape}")
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
    for axis, (size, kk, ss, pp, dd) in enumerate(zip(x_hw, k, s, p, d, strict=True)):
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
    b = None if b is None else b.astype(dt, copy=False)
    out_hw = _conv_geometry(fn, x.shape[2:], w.shape[2:], s, p, d)
    ck.within_limit(fn, "the output", (x.shape[0], w.shape[0], *out_hw))
    geo = _cols_geometry(fn, x.shape, w.shape[2:], s, p, d, out_hw, g)
    if isinstance(geo, _gather.Taps):
        y = _gather.rows_to_out(np.matmul(_gather.im2col(x, geo), _gather.kernel(w, geo)), geo)
        if b is not None:
            y += b[:, None, None]
        return y
    y = _apply_w(w, _im2col(x, geo), geo)
    return _cols_to_out(y, geo, b)


def conv2d_backward(dy, x, w, *, stride=1, padding=0, dilation=1, groups=1, input_grad=True):
    r"""Gradients of conv2d: $\partial L/\partial X = \mathrm{pad}(\partial L/\partial Z) \circledast
    \mathrm{rot180}(K)$, $\partial L/\partial K = X \circledast \partial L/\partial Z$,
    $\partial L/\partial b = \sum \partial L/\partial Z$.  Returns (dx, dw, db); dx is None
    with ``input_grad=False`` (a network's first layer: PyTorch skips it for data too)."""
    fn = "conv2d_backward"
    x, w, dy = ck.as_float(fn, "x", x), ck.as_float(fn, "w", w), ck.as_float(fn, "dy", dy)
    s, p, d, g = _conv_params(fn, stride, padding, dilation, groups)
    cout = _check_conv(fn, x, w, None, g, transposed=False)
    out_hw = _conv_geometry(fn, x.shape[2:], w.shape[2:], s, p, d)
    ck.within_limit(fn, "the output", (x.shape[0], cout, *out_hw))
    ck.shape_eq(fn, "dy", dy, (x.shape[0], cout, *out_hw), "the shape of conv2d's output")
    dt = ck.common_dtype(x, w, dy)
    x, w, dy = (a.astype(dt, copy=False) for a in (x, w, dy))
    geo = _cols_geometry(fn, x.shape, w.shape[2:], s, p, d, out_hw, g)
    if isinstance(geo, _gather.Taps):
        dym, k = _gather.out_to_rows(dy, g), _gather.kernel(w, geo)
        dx = _gather.col2im(np.matmul(dym, k.transpose(0, 2, 1)), geo) if input_grad else None
        cols = _gather.im2col(x, geo)
        dw = _gather.kernel_grad(np.matmul(cols.transpose(0, 2, 1), dym), w.shape, geo)
        return dx, dw, dy.sum(axis=(0, 2, 3))
    dym = _out_to_cols(dy, geo)
    dx = _col2im(_wt_times(w, dym, geo), geo) if input_grad else None
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
        for size, kk, ss, pp, oo, dd in zip(x_hw, k, s, p, op, d, strict=True)
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
    ck.within_limit(fn, "the output", (x.shape[0], cout, *out_hw))
    dt = ck.common_dtype(x, w, b)
    x, w = x.astype(dt, copy=False), w.astype(dt, copy=False)
    # the transposed conv is conv2d's input gradient, with x in the role of conv2d's dy
    geo = _cols_geometry(fn, (x.shape[0], cout, *out_hw), w.shape[2:], s, p, d, x.shape[2:], g)
    if isinstance(geo, _gather.Taps):
        k = _gather.kernel(w, geo)
        y = _gather.col2im(np.matmul(_gather.out_to_rows(x, g), k.transpose(0, 2, 1)), geo)
    else:
        y = _col2im(_wt_times(w, _out_to_cols(x, geo), geo), geo)
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
    ck.within_limit(fn, "the output", (x.shape[0], cout, *out_hw))
    ck.shape_eq(fn, "dy", dy, (x.shape[0], cout, *out_hw), "the shape of the forward output")
    dt = ck.common_dtype(x, w, dy)
    x, w, dy = (a.astype(dt, copy=False) for a in (x, w, dy))
    # the forward is conv2d's input gradient, so its gradients are conv2d's forward (for x)
    # and conv2d's weight gradient with the roles of input and output swapped (for w)
    geo = _cols_geometry(fn, dy.shape, w.shape[2:], s, p, d, x.shape[2:], g)
    if isinstance(geo, _gather.Taps):
        cols, k, xr = _gather.im2col(dy, geo), _gather.kernel(w, geo), _gather.out_to_rows(x, g)
        dx = _gather.rows_to_out(np.matmul(cols, k), geo)
        dw = _gather.kernel_grad(np.matmul(cols.transpose(0, 2, 1), xr), w.shape, geo)
        return dx, dw, dy.sum(axis=(0, 2, 3))
    cols = _im2col(dy, geo)  # shared by both gradients
    dx = _cols_to_out(_apply_w(w, cols, geo), geo)
    dw = _weight_grad(_out_to_cols(x, geo), cols, w.shape, geo)
    return dx, dw, dy.sum(axis=(0, 2, 3))
