"""Exact im2col by gathering, for the convolutions whose band layout (conv.py, `_Cols`) would not
be compact: a stride, padding or dilation far larger than the input, or a kernel far larger
than the output. One column per output pixel and one row per (tap, channel), for only the taps
that read the input (`_windows.tap_range`), so the work and memory are bounded by the output
times the kernel, whatever the parameters. Padding is one zero row and column appended to the
input, where every read that falls outside it points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _checks as ck
from ._windows import tap_range


def _index_table(size: int, k: int, s: int, p: int, d: int, out: int) -> tuple[range, np.ndarray]:
    """The taps that read the input, and an (out, len(taps)) table of the index each output's
    tap reads, ``size`` (the appended zero row) where it reads padding."""
    taps = tap_range(size, k, s, p, d, out)
    if not len(taps):
        return taps, np.full((out, 0), size, dtype=np.intp)
    if max((out - 1) * s, (taps[-1] + 1) * d, p) < 2**60:
        idx = np.arange(out, dtype=np.int64)[:, None] * s + (
            np.arange(taps.start, taps.stop, dtype=np.int64) * d - p
        )
        idx[(idx < 0) | (idx >= size)] = size
        return taps, idx.astype(np.intp, copy=False)
    # numbers past int64 (a padding of 2**62): exact Python ints, over an output that the
    # caller has checked against the element limit
    rows = [[o * s + i * d - p for i in taps] for o in range(out)]
    return taps, np.array([[v if 0 <= v < size else size for v in r] for r in rows], np.intp)


@dataclass(frozen=True)
class Taps:
    """Gathered columns for a convolution of an (n, c, *hw) input to an out-sized output."""

    n: int
    c: int
    hw: tuple[int, int]
    out: tuple[int, int]
    groups: int
    rows: range  # kernel rows that read the input
    cols: range  # kernel columns that read the input
    where: np.ndarray  # (Ho·Wo·T,) flat (H+1)·(W+1) index of each (output pixel, tap)

    @property
    def m(self) -> int:
        return self.n * self.out[0] * self.out[1]

    @property
    def t(self) -> int:
        return len(self.rows) * len(self.cols)


def taps(fn: str, x_shape, k, s, p, d, out_hw, groups) -> Taps:
    """The gathered layout, refused (before anything is built) when its column matrix would
    pass the engine's element limit."""
    n, c, h, w = x_shape
    rows = tap_range(h, k[0], s[0], p[0], d[0], out_hw[0])
    cols = tap_range(w, k[1], s[1], p[1], d[1], out_hw[1])
    m = n * out_hw[0] * out_hw[1]
    ck.within_limit(fn, "the im2col matrix", (groups, m, len(rows) * len(cols) * c // groups))
    rows, ri = _index_table(h, k[0], s[0], p[0], d[0], out_hw[0])
    cols, ci = _index_table(w, k[1], s[1], p[1], d[1], out_hw[1])
    where = ri[:, None, :, None] * (w + 1) + ci[None, :, None, :]  # (Ho, Wo, nI, nJ)
    return Taps(n, c, (h, w), tuple(out_hw), groups, rows, cols, where.reshape(-1))


def im2col(a, t: Taps) -> np.ndarray:
    """a (N, C, H, W) → columns (G, M, T·C/G): row (n, ho, wo), column (tap, channel)."""
    h, w = t.hw
    ext = np.zeros((t.n, h + 1, w + 1, t.c), dtype=a.dtype)  # channels last, a zero row/column
    ext[:, :h, :w] = a.transpose(0, 2, 3, 1)
    cols = np.take(ext.reshape(t.n, -1, t.c), t.where, axis=1)  # (N, Ho·Wo·T, C)
    cols = cols.reshape(t.m, t.t, t.groups, t.c // t.groups).transpose(2, 0, 1, 3)
    return cols.reshape(t.groups, t.m, -1)


def col2im(cols, t: Taps) -> np.ndarray:
    """Adjoint of im2col: columns (G, M, T·C/G) added back into a C-contiguous (N, C, H, W)."""
    h, w = t.hw
    ext = np.zeros((t.n, (h + 1) * (w + 1), t.c), dtype=cols.dtype)
    vals = cols.reshape(t.groups, t.m, t.t, t.c // t.groups).transpose(1, 2, 0, 3)
    np.add.at(ext, (slice(None), t.where), vals.reshape(t.n, -1, t.c))
    ext = ext.reshape(t.n, h + 1, w + 1, t.c)[:, :h, :w]
    return np.ascontiguousarray(ext.transpose(0, 3, 1, 2))


def out_to_rows(y, groups) -> np.ndarray:
    """An output-shaped (N, C, Ho, Wo) array as (G, M, C/G), to meet the columns."""
    n, c, ho, wo = y.shape
    return y.transpose(0, 2, 3, 1).reshape(n * ho * wo, groups, c // groups).transpose(1, 0, 2)


def rows_to_out(y, t: Taps) -> np.ndarray:
    """(G, M, C/G) back to a C-contiguous (N, C, Ho, Wo)."""
    g, _, cg = y.shape
    y = y.transpose(1, 0, 2).reshape(t.n, *t.out, g * cg)
    return np.ascontiguousarray(y.transpose(0, 3, 1, 2))


def kernel(w, t: Taps) -> np.ndarray:
    """The taps of w (A, B, kH, kW) that read the input, as (G, T·B, A/G) rows matching the
    columns' (tap, channel) order: for conv2d's w (C_out, C_in/G, kH, kW) that is
    (G, T·C_in/G, C_out/G); for the transposed conv's w (C_in, C_out/G, kH, kW),
    (G, T·C_out/G, C_in/G)."""
    a, b = w.shape[:2]
    sub = w[:, :, t.rows.start : t.rows.stop, t.cols.start : t.cols.stop]
    sub = sub.reshape(t.groups, a // t.groups, b, *sub.shape[2:]).transpose(0, 3, 4, 2, 1)
    return sub.reshape(t.groups, t.t * b, a // t.groups)


def kernel_grad(rows, w_shape, t: Taps) -> np.ndarray:
    """Adjoint of kernel(): (G, T·B, A/G) back to a w-shaped array, zero at the taps that read
    only padding."""
    a, b = w_shape[:2]
    g = t.groups
    sub = rows.reshape(g, len(t.rows), len(t.cols), b, a // g).transpose(0, 4, 3, 1, 2)
    out = np.zeros(w_shape, dtype=rows.dtype)
    out[:, :, t.rows.start : t.rows.stop, t.cols.start : t.cols.stop] = sub.reshape(
        a, b, len(t.rows), len(t.cols)
    )
    return out
