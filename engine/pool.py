"""Max and average pooling, forward and backward, as torch.nn.functional computes them.

Padding is never materialised: each kernel tap reads, for the outputs whose window has that tap
inside the input, one strided slice of the input (`_windows.axis_taps`). So a huge kernel size
with its padding costs only the taps that read something, and a huge stride only the outputs.
Where the taps outnumber the outputs (global pooling, a kernel far larger than the input), the
loop runs over the outputs instead, each a reduction over its window's slice of the input.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from . import _checks as ck
from ._scratch import restart, scratch
from ._windows import axis_taps, axis_windows


@dataclass(frozen=True)
class _Pool:
    hw: tuple[int, int]
    k: tuple[int, int]
    s: tuple[int, int]
    p: tuple[int, int]
    d: tuple[int, int]
    out: tuple[int, int]
    rows: tuple  # axis_taps along H
    cols: tuple  # and along W

    @cached_property
    def taps(self) -> tuple:
        """(position, output rows, output cols, input rows, input cols) of every tap that reads
        the input, in the window's row-major order (the order PyTorch scans a window in)."""
        nc = len(self.cols)
        return tuple(
            (r * nc + c, orow, ocol, irow, icol)
            for r, (_, orow, irow) in enumerate(self.rows)
            for c, (_, ocol, icol) in enumerate(self.cols)
        )

    @property
    def area(self) -> int:
        """Cells in a window, padding included: average pooling's divisor."""
        return self.k[0] * self.k[1]

    @cached_property
    def by_output(self) -> bool:
        """Loop over the outputs rather than the taps: fewer Python steps."""
        return len(self.rows) * len(self.cols) > max(16, self.out[0] * self.out[1])

    def windows(self):
        """(output row, output col, input rows, input cols) of each window that reads the
        input."""
        rows, cols = (
            axis_windows(*a)
            for a in zip(self.hw, self.k, self.s, self.p, self.d, self.out, strict=True)
        )
        for oh, rs in enumerate(rows):
            for ow, cs in enumerate(cols):
                if rs is not None and cs is not None:
                    yield oh, ow, rs, cs

    def whole(self, orow: slice, ocol: slice) -> bool:
        return orow == slice(0, self.out[0]) and ocol == slice(0, self.out[1])

    @property
    def tiled(self) -> bool:
        """Windows that tile the input without gaps or overlap (stride = kernel, no padding or
        dilation), the common case: then each cell of dx belongs to exactly one tap of one
        window, and the backward writes it once, without zeroing dx first."""
        return self.s == self.k and self.p == (0, 0) and self.d == (1, 1)


def _pool_params(fn, x, kernel_size, stride, padding, dilation=1) -> _Pool:
    ck.ndim(fn, "x", x, 4, "(N, C, H, W)")
    if min(x.shape[2:]) < 1:
        ck.fail(fn, "x", "at least 1×1 in H and W", f"shape {x.shape}")
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
    ck.within_limit(fn, "the output", (*x.shape[:2], *out))
    restart()  # a new op: its scratch arrays reuse the previous op's
    return _geometry(tuple(x.shape[2:]), k, s, p, d, tuple(out))


@lru_cache(maxsize=256)
def _geometry(hw, k, s, p, d, out) -> _Pool:
    """Cached: the lessons' finite-difference checks pool the same tiny shape hundreds of times."""
    rows, cols = (tuple(axis_taps(*a)) for a in zip(hw, k, s, p, d, out, strict=True))
    return _Pool(hw, k, s, p, d, out, rows, cols)


def _window_max(x, g: _Pool, best=None) -> np.ndarray:
    """Each window's maximum (into ``best`` if given), NaN if it holds a NaN (np.maximum
    propagates it, as PyTorch does); a loop over the taps, each a whole-array np.maximum,
    beats gathering every window into a k²-sized copy. Padding counts as −∞."""
    if best is None:
        best = np.empty((*x.shape[:2], *g.out), dtype=x.dtype)
    if g.by_output:
        best.fill(-np.inf)
        for oh, ow, rs, cs in g.windows():
            best[:, :, oh, ow] = x[:, :, rs, cs].max(axis=(2, 3))
        return best
    first = True
    for _, orow, ocol, irow, icol in g.taps:
        v = x[:, :, irow, icol]
        if first and g.whole(orow, ocol):
            np.copyto(best, v)
        else:
            if first:
                best.fill(-np.inf)
            b = best[:, :, orow, ocol]
            np.maximum(b, v, out=b)
        first = False
    if first:  # no tap reads the input (only an impossible geometry gets here)
        best.fill(-np.inf)
    return best


def max_pool2d(x, kernel_size, *, stride=None, padding=0, dilation=1):
    """Max pooling; x: (N, C, H, W). stride defaults to kernel_size; padding counts as −∞, and
    a window holding a NaN gives NaN (as in PyTorch)."""
    fn = "max_pool2d"
    x = ck.as_float(fn, "x", x)
    g = _pool_params(fn, x, kernel_size, stride, padding, dilation)
    return _window_max(x, g)


def _has_nan(a) -> bool:
    return a.size > 0 and bool(np.isnan(a.max()))


# unsigned integers as wide as each float: the gradient is written through a bit mask
_BITS = {np.dtype(np.float32): np.uint32, np.dtype(np.float64): np.uint64}


def _routes(x, g: _Pool) -> list[np.ndarray]:
    """For each tap (in g.taps order), which of its windows send their gradient to it: the
    first maximum in row-major window order, or the last NaN of a window holding NaN (PyTorch's
    scan takes a NaN whenever it meets one). Padding is never a tap, so a window of −∞ routes to
    its first cell inside the input, as in PyTorch."""
    shape = (*x.shape[:2], *g.out)
    best = _window_max(x, g, scratch("pool best", shape, x.dtype))
    seen = scratch("pool seen", shape, bool)
    seen.fill(False)
    hits = scratch("pool routes", (len(g.taps), *shape), bool)
    routes = []
    for t, (_, orow, ocol, irow, icol) in enumerate(g.taps):
        hit = hits[t][:, :, orow, ocol]
        np.equal(x[:, :, irow, icol], best[:, :, orow, ocol], out=hit)
        s = seen[:, :, orow, ocol]
        np.greater(hit, s, out=hit)  # hit and not seen: an earlier tap already took the window
        s |= hit
        routes.append(hit)
    if _has_nan(best):  # rare: NaN never equals the maximum, so NaN windows have no route yet
        left = np.isnan(best)
        for hit, (_, orow, ocol, irow, icol) in reversed(list(zip(routes, g.taps, strict=True))):
            found = np.isnan(x[:, :, irow, icol]) & left[:, :, orow, ocol]
            hit |= found
            left[:, :, orow, ocol] &= ~found
    return routes


def _route(dy, x, g: _Pool) -> np.ndarray:
    """max_pool2d_backward: each tap adds the upstream of the windows routed to it into its
    strided slice of dx. The values go through a bit mask (dy's bits AND all-ones or zero),
    which is exact for every dy, inf and NaN included, and sends +0.0 where nothing is routed;
    masked numpy calls (np.where, copyto(where=)) are about 10x slower than that. When the
    windows tile the input (stride = kernel, the common case) each cell of dx is written
    exactly once, straight into an uninitialised array: no zero fill and no temporaries the
    size of dx, which matter where fresh pages are expensive."""
    if g.by_output:
        return _route_by_output(dy, x, g)
    bits = _BITS[dy.dtype]
    dyb = dy.view(bits)
    routes = _routes(x, g)
    mask = scratch("pool mask", dy.shape, bits)
    (ho, wo), (kh, kw) = g.out, g.k
    if g.tiled:
        dx = np.empty(x.shape, dtype=dy.dtype)
        dx[:, :, ho * kh :] = 0
        dx[:, :, : ho * kh, wo * kw :] = 0
        for hit, (_, _, _, irow, icol) in zip(routes, g.taps, strict=True):
            np.negative(hit, out=mask, dtype=bits)  # True → all ones, False → 0 ...
            np.bitwise_and(dyb, mask, out=dx[:, :, irow, icol].view(bits))  # ... dy or +0.0
        return dx
    dx = np.zeros(x.shape, dtype=dy.dtype)
    for hit, (_, orow, ocol, irow, icol) in zip(routes, g.taps, strict=True):
        m = mask[:, :, orow, ocol]
        np.negative(hit, out=m, dtype=bits)
        np.bitwise_and(m, dyb[:, :, orow, ocol], out=m)
        # one tap never maps two windows onto one cell, so adding into the view is safe
        d = dx[:, :, irow, icol]
        d += m.view(dy.dtype)
    return dx


def _route_by_output(dy, x, g: _Pool) -> np.ndarray:
    """max_pool2d_backward one window at a time (see g.by_output): np.argmax finds the first
    maximum; a window holding NaN goes to its last NaN instead."""
    n, c = x.shape[:2]
    dx = np.zeros(x.shape, dtype=dy.dtype)
    nn, cc = np.indices((n, c), sparse=True)
    for oh, ow, rs, cs in g.windows():
        win = x[:, :, rs, cs]
        a, b = win.shape[2:]
        flat = win.reshape(n, c, a * b)
        at = flat.argmax(axis=2) if flat.size else np.zeros((n, c), dtype=np.intp)
        nan = np.isnan(flat)
        if nan.any():
            last = a * b - 1 - nan[:, :, ::-1].argmax(axis=2)
            at = np.where(nan.any(axis=2), last, at)
        i, j = np.divmod(at, b)
        dx[:, :, rs, cs][nn, cc, i, j] += dy[:, :, oh, ow]
    return dx


def max_pool2d_backward(dy, x, kernel_size, *, stride=None, padding=0, dilation=1):
    r"""$\partial L/\partial x_{mn}$ = the upstream of every window whose maximum $x_{mn}$ is, else 0.
    Ties go to the first maximum in row-major window order, a NaN window to its last NaN, a
    window of −∞ to its first cell inside the input: PyTorch's rules."""
    fn = "max_pool2d_backward"
    x, dy = ck.as_float(fn, "x", x), ck.as_float(fn, "dy", dy)
    g = _pool_params(fn, x, kernel_size, stride, padding, dilation)
    ck.shape_eq(fn, "dy", dy, (*x.shape[:2], *g.out), "the shape of max_pool2d's output")
    dy = dy.astype(ck.common_dtype(x, dy), copy=False)
    return _route(dy, x, g)


def avg_pool2d(x, kernel_size, *, stride=None, padding=0):
    """Average pooling; x: (N, C, H, W). Padding zeros count in the mean (PyTorch's
    count_include_pad=True default), so every window divides by kH·kW. Each window is summed
    tap by tap in row-major order, as PyTorch does (by np.sum where the loop runs over the
    outputs, see _Pool.by_output: the same up to rounding)."""
    fn = "avg_pool2d"
    x = ck.as_float(fn, "x", x)
    g = _pool_params(fn, x, kernel_size, stride, padding)
    total = None
    if g.by_output:
        total = np.zeros((*x.shape[:2], *g.out), dtype=x.dtype)
        for oh, ow, rs, cs in g.windows():
            total[:, :, oh, ow] = x[:, :, rs, cs].sum(axis=(2, 3))
    for _, orow, ocol, irow, icol in [] if g.by_output else g.taps:
        v = x[:, :, irow, icol]
        if total is None:
            if g.whole(orow, ocol):
                total = v.copy()
                continue
            total = np.zeros((*x.shape[:2], *g.out), dtype=x.dtype)
        t = total[:, :, orow, ocol]
        np.add(t, v, out=t)
    if total is None:  # no tap reads the input (only an impossible geometry gets here)
        total = np.zeros((*x.shape[:2], *g.out), dtype=x.dtype)
    if g.area < 2.0**1000:
        total /= g.area
    else:  # a window past 2**1000 cells (a float64 count overflows): every mean is 0
        total *= 0.0
    return total


def avg_pool2d_backward(dy, x, kernel_size, *, stride=None, padding=0):
    r"""Each window spreads its upstream evenly: $\partial L/\partial x_{mn} =
    \sum_{\text{windows} \ni x_{mn}} \frac{1}{k_H k_W} \partial L/\partial p$."""
    fn = "avg_pool2d_backward"
    x, dy = ck.as_float(fn, "x", x), ck.as_float(fn, "dy", dy)
    g = _pool_params(fn, x, kernel_size, stride, padding)
    ck.shape_eq(fn, "dy", dy, (*x.shape[:2], *g.out), "the shape of avg_pool2d's output")
    dt = ck.common_dtype(x, dy)
    area = g.area if g.area < 2.0**1000 else np.inf
    share = (dy / area).astype(dt, copy=False)
    dx = np.zeros(x.shape, dtype=dt)
    if g.by_output:
        for oh, ow, rs, cs in g.windows():
            d = dx[:, :, rs, cs]
            d += share[:, :, oh, ow, None, None]
        return dx
    for _, orow, ocol, irow, icol in g.taps:
        d = dx[:, :, irow, icol]
        d += share[:, :, orow, ocol]
    return dx
