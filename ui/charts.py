"""The network pages' pictures as SVG text (drawn by ``ui.components.heatmap_ui``, as the lessons'
heatmaps are): training curves, a decision boundary, images, mosaics of images, a confusion
matrix. Pure: no streamlit, tested as text.

Plotly drew these until its 4.7 MB bundle was found to keep the pages grey for seconds on a
first visit; here every axis and tick is computed, so what a caption says about a chart can be
computed from the same numbers. Every text placed is escaped (``ui.svg._text``)."""

from __future__ import annotations

import math
from html import escape

import numpy as np

from ui.plots import fmt
from ui.svg import INK, MUTED, Look, _text, hover, matrix_svg, png_data_uri, raster, wrap_svg

CLASS_COLOURS = ["#2166ac", "#b2182b", "#1b7837", "#762a83", "#e08214", "#35978f"]
# lines: Streamlit's categorical colours, ten of them (a network of up to 8 layers has a line each)
LINE_COLOURS = [
    "#0068c9",
    "#83c9ff",
    "#ff2b2b",
    "#ffabab",
    "#29b09d",
    "#7defa1",
    "#ff8700",
    "#ffd16a",
    "#6d3fc0",
    "#d5dae5",
]
GRID = "#e6e9ef"
_SUP = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


# ---------------------------------------------------------------- axes


def tick_text(v: float) -> str:
    """A tick's label: the number itself, short (0.002, 150, 2×10⁻⁵), never an SI prefix
    ("100µ" read as a unit)."""
    if v == 0:
        return "0"
    exp = int(f"{v:.6e}".split("e")[1])
    if -3 <= exp < 5:
        return f"{v:.6f}".rstrip("0").rstrip(".") if exp < 0 else f"{v:.6g}"
    return _power(v)


def labels_of(ticks: list[float], percent: bool = False) -> list[str]:
    """The labels of one axis, in one notation: percentages, plain numbers, or, as soon as one
    tick needs it, every tick as a power of ten (0.001 beside 10⁻⁵ read as two scales)."""
    if percent:
        step = min((b - a for a, b in zip(ticks, ticks[1:], strict=False)), default=1.0)
        places = max(0, -math.floor(math.log10(step * 100) + 1e-9)) if step > 0 else 0
        return [f"{t * 100:.{places}f}%" for t in ticks]
    if any(t and not 1e-3 <= abs(t) < 1e5 for t in ticks):
        return [_power(t) for t in ticks]
    return [tick_text(t) for t in ticks]


def _power(v: float) -> str:
    if v == 0:
        return "0"
    mant, exp = f"{v:.6e}".split("e")
    power = f"10{str(int(exp)).translate(_SUP)}"
    return power if float(mant) == 1 else f"{float(mant):g}×{power}"


def nice_step(span: float, n: int = 5) -> float:
    """The 1, 2 or 5 × 10ᵏ step giving about ``n`` ticks over ``span``."""
    raw = span / max(n, 1)
    k = 10 ** math.floor(math.log10(raw))
    return next(m * k for m in (1, 2, 5, 10) if m * k >= raw - 1e-12)


def linear_ticks(lo: float, hi: float, n: int = 5) -> tuple[float, float, list[float]]:
    """An axis from ``lo`` to ``hi`` widened to whole steps: (start, end, ticks)."""
    if not hi > lo:
        pad = abs(lo) * 0.1 or 0.1
        lo, hi = lo - pad, hi + pad
    step = nice_step(hi - lo, n)
    start, end = math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step
    count = round((end - start) / step)
    return start, end, [round(start + i * step, 12) for i in range(count + 1)]


def log_ticks(lo: float, hi: float) -> tuple[float, float, list[float]]:
    """A log axis covering ``lo`` to ``hi`` (both > 0): (start, end, ticks). Over two decades
    or more the ticks are powers of ten (every one, or every second … when there are many);
    within about one decade they are 1, 2 and 5 × 10ᵏ, so at least two are labelled."""
    d0, d1 = math.floor(math.log10(lo) + 1e-9), math.ceil(math.log10(hi) - 1e-9)
    if d1 - d0 >= 2:
        every = math.ceil((d1 - d0) / 6)
        start = d0 - d0 % every
        end = start + every * math.ceil((d1 - start) / every)
        return 10.0**start, 10.0**end, [10.0**k for k in range(start, end + 1, every)]
    cands = sorted(m * 10.0**k for k in range(d0 - 1, d1 + 2) for m in (1, 2, 5))
    start = max(c for c in cands if c <= lo * (1 + 1e-9))
    end = min(c for c in cands if c >= hi * (1 - 1e-9))
    if end <= start:
        end = min(c for c in cands if c > start)
    return start, end, [c for c in cands if start * (1 - 1e-9) <= c <= end * (1 + 1e-9)]


# ---------------------------------------------------------------- line charts


def _finite(vals, log: bool) -> list[float]:
    return [v for v in vals if v is not None and math.isfinite(v) and (v > 0 or not log)]


def _legend(items: list[tuple[str, str]], x0: float, y0: float, width: float) -> tuple[list, float]:
    """Coloured swatches and their texts in rows that fit ``width``: (SVG parts, height)."""
    parts, x, y = [], x0, y0
    for colour, text in items:
        w = 30 + 6.5 * len(text)
        if x > x0 and x + w > x0 + width:
            x, y = x0, y + 18
        parts.append(
            f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x + 18:.1f}" y2="{y:.1f}" '
            f'stroke="{colour}" stroke-width="2.5"/>'
        )
        parts.append(_text(x + 23, y, text, 11, INK, anchor="start"))
        x += w
    return parts, y - y0 + 18


def line_chart(
    history: list[dict],
    series: list[str],
    title: str,
    *,
    x: str = "step",
    log: bool = False,
    width: int = 380,
    height: int = 200,
    percent: bool = False,
    latest: bool = True,
) -> str:
    """One line per name in ``series`` against ``x`` ('step' or 'epoch'), from 0; the legend
    gives each line's latest value (unless not ``latest``: a line across layers has no latest),
    and hovering shows every value at a recorded point."""
    left, right, top = 54, 14, 30
    xs = [row[x] for row in history]
    x_end = linear_ticks(0, max([1, *xs]))[1]
    x_ticks = linear_ticks(0, x_end)[2]
    ys = _finite([row.get(n) for row in history for n in series], log)
    if ys and log:
        y0, y1, y_ticks = log_ticks(min(ys), max(ys))
    else:
        y0, y1, y_ticks = linear_ticks(min(ys, default=0), max(ys, default=1), 4)
    pw, ph = width - left - right, height - top - 34
    f = math.log10 if log else float

    def px(xv, yv):
        return left + pw * xv / x_end, top + ph * (1 - (f(yv) - f(y0)) / (f(y1) - f(y0)))

    parts = [_text(6, 14, title, 14, INK, anchor="start", weight=600)]
    for t, text in zip(y_ticks, labels_of(y_ticks, percent), strict=True):
        _, y = px(0, t)
        parts.append(
            f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
        )
        parts.append(_text(left - 6, y, text, 11, MUTED, anchor="end"))
    for t in x_ticks:
        xx, _ = px(t, y0)
        parts.append(_text(xx, top + ph + 12, tick_text(t), 11, MUTED))
    parts.append(_text(left + pw / 2, top + ph + 28, x, 12, MUTED))
    items = []
    for i, name in enumerate(series):
        colour = LINE_COLOURS[i % len(LINE_COLOURS)]
        pts = [(r[x], r.get(name)) for r in history if _finite([r.get(name)], log)]
        parts += _polyline([px(a, b) for a, b in pts], colour, markers=len(history) < 40)
        last = f" {_value(pts[-1][1], percent)}" if pts and latest else ""
        items.append((colour, f"{name}{last}"))
    parts += _hover_columns(
        history, series, x, [px(r[x], y0)[0] for r in history], top, ph, percent
    )
    legend, lh = _legend(items, left, top + ph + 46, pw)
    return wrap_svg(parts + legend, width, top + ph + 38 + lh, title)


def _value(v: float, percent: bool) -> str:
    return f"{v:.1%}" if percent else fmt(v, 3)


def _polyline(points, colour: str, markers: bool) -> list[str]:
    if not points:
        return []
    path = " ".join(f"{a:.1f},{b:.1f}" for a, b in points)
    out = [
        f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2" '
        'stroke-linejoin="round"/>'
    ]
    if markers or len(points) == 1:
        out += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{colour}"/>' for a, b in points]
    return out


def _hover_columns(history, series, x, xs_px, top, ph, percent) -> list[str]:
    """A transparent column over each recorded point (at most 200 of them): hovering it shows
    that point's values (the component's tooltip reads data-tip)."""
    every = max(1, math.ceil(len(history) / 200))
    rows = list(range(0, len(history), every))
    out = []
    for n, i in enumerate(rows):
        lo = (xs_px[rows[n - 1]] + xs_px[i]) / 2 if n else xs_px[i] - 3
        hi = (xs_px[i] + xs_px[rows[n + 1]]) / 2 if n + 1 < len(rows) else xs_px[i] + 3
        vals = [
            f"{s} {_value(history[i][s], percent)}"
            for s in series
            if _finite([history[i].get(s)], False)
        ]
        tip = escape(f"{x} {tick_text(history[i][x])}: " + " · ".join(vals), quote=True)
        out.append(
            f'<rect class="cell" data-tip="{tip}" x="{lo:.1f}" y="{top}" '
            f'width="{max(hi - lo, 1):.1f}" height="{ph}" fill="transparent" style="stroke:none"/>'
        )
    return out


# ---------------------------------------------------------------- the decision boundary


FIELD = np.array([[0xC6, 0xDB, 0xEF], [0xF7, 0xF7, 0xF7], [0xFC, 0xBB, 0xA1]], float)


def field_rgb(prob: np.ndarray) -> np.ndarray:
    """P(class 1) as colours: class 0's blue at 0, white at ½, class 1's red at 1."""
    t = np.clip(np.nan_to_num(prob, nan=0.5), 0, 1) * 2
    lo = np.minimum(t.astype(int), 1)
    w = (t - lo)[..., None]
    return np.round(FIELD[lo] * (1 - w) + FIELD[lo + 1] * w).astype(np.uint8)


def contour(prob: np.ndarray, level: float = 0.5) -> list[tuple[tuple, tuple]]:
    """Marching squares: the segments where ``prob`` crosses ``level``, in grid coordinates
    (column, row), each end interpolated along a cell's edge (for all cells at once)."""
    v = np.asarray(prob, dtype=float) - level
    # each cell's corners in order around it: top-left, top-right, bottom-right, bottom-left
    corner = [v[:-1, :-1], v[:-1, 1:], v[1:, 1:], v[1:, :-1]]
    offsets = [(0, 0), (1, 0), (1, 1), (0, 1)]  # (column, row) of each corner
    rows, cols = np.mgrid[0 : v.shape[0] - 1, 0 : v.shape[1] - 1]
    points = []
    for k in range(4):
        a, b = corner[k], corner[(k + 1) % 4]
        cross = (a < 0) != (b < 0)
        t = np.where(cross, a / np.where(cross, a - b, 1), np.nan)
        (x0, y0), (x1, y1) = offsets[k], offsets[(k + 1) % 4]
        points.append(np.stack([cols + x0 + t * (x1 - x0), rows + y0 + t * (y1 - y0)], -1))
    pts = np.stack(points, axis=2)  # (rows, cols, edge, xy), NaN where an edge is not crossed
    segs = []
    for r, c in zip(*np.nonzero(~np.isnan(pts[..., 0]).all(axis=2)), strict=True):
        ends = [tuple(p) for p in pts[r, c] if not np.isnan(p[0])]
        segs += [(ends[n], ends[n + 1]) for n in range(0, len(ends) - 1, 2)]
    return segs


def boundary(xs, ys, prob: np.ndarray, X: np.ndarray, y: np.ndarray, title: str, width: int = 440):
    """P(class 1) as a background, the 0.5 contour as the boundary, the points on top; one
    unit is as long on both axes."""
    left, right, top, bottom = 40, 10, 30, 30
    x0, x1, y0, y1 = float(xs[0]), float(xs[-1]), float(ys[0]), float(ys[-1])
    pw = width - left - right
    ph = pw * (y1 - y0) / (x1 - x0)
    if ph > 1.1 * pw:  # a tall data set: as tall as wide at most, the width follows
        ph = 1.1 * pw
        pw = ph * (x1 - x0) / (y1 - y0)

    def at(a, b):
        return left + pw * (a - x0) / (x1 - x0), top + ph * (1 - (b - y0) / (y1 - y0))

    dx, dy = pw / (len(xs) - 1), ph / (len(ys) - 1)
    parts = [_text(6, 14, title, 14, INK, anchor="start", weight=600)]
    parts.append(
        f'<defs><clipPath id="plot"><rect x="{left}" y="{top}" width="{pw:.1f}" '
        f'height="{ph:.1f}"/></clipPath></defs>'
    )
    parts.append(
        f'<image href="{png_data_uri(field_rgb(prob[::-1]))}" x="{left - dx / 2:.2f}" '
        f'y="{top - dy / 2:.2f}" width="{pw + dx:.2f}" height="{ph + dy:.2f}" '
        'preserveAspectRatio="none" clip-path="url(#plot)"/>'
    )
    segs = contour(prob)
    if segs:
        d = " ".join(
            f"M{left + a[0] * dx:.1f},{top + ph - a[1] * dy:.1f}"
            f"L{left + b[0] * dx:.1f},{top + ph - b[1] * dy:.1f}"
            for a, b in segs
        )
        parts.append(
            f'<path d="{d}" stroke="#333" stroke-width="2" fill="none" stroke-linecap="round"/>'
        )
    parts += _axes(x0, x1, y0, y1, at, left, top, pw, ph)
    items = []
    for c in np.unique(y):
        colour = CLASS_COLOURS[int(c) % len(CLASS_COLOURS)]
        pts = [at(a, b) for a, b in X[y == c]]
        parts += [
            f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3.2" fill="{colour}" stroke="white" '
            'stroke-width="0.6"/>'
            for a, b in pts
        ]
        items.append((colour, int(c)))
    legend = [
        part
        for n, (colour, c) in enumerate(items)
        for part in (
            f'<circle cx="{left + 8 + 80 * n}" cy="{top + ph + bottom + 6:.1f}" r="4" '
            f'fill="{colour}"/>',
            _text(left + 16 + 80 * n, top + ph + bottom + 6, f"class {c}", 11, INK, "start"),
        )
    ]
    return wrap_svg(parts + legend, left + pw + right, top + ph + bottom + 16, title)


def _axes(x0, x1, y0, y1, at, left, top, pw, ph) -> list[str]:
    parts = [
        f'<rect x="{left}" y="{top}" width="{pw:.1f}" height="{ph:.1f}" fill="none" '
        f'stroke="{GRID}"/>'
    ]
    for t in linear_ticks(x0, x1)[2]:
        if x0 <= t <= x1:
            parts.append(_text(at(t, y0)[0], top + ph + 12, tick_text(t), 11, MUTED))
    for t in linear_ticks(y0, y1, 4)[2]:
        if y0 <= t <= y1:
            parts.append(_text(left - 6, at(x0, t)[1], tick_text(t), 11, MUTED, anchor="end"))
    return parts


# ---------------------------------------------------------------- images


def image(
    a,
    title: str,
    *,
    palette="greys",
    px: int = 20,
    zmax=None,
    labels=None,
    texts=None,
    room: int | None = None,
    **look,
) -> str:
    """A matrix as an image, row 1 at the top, every cell's value in its tooltip: greys for
    pixels and masks (0 white), blue–red around 0 for gradients and feature maps, with a colour
    bar when asked (``colorbar=True``) so that the scale is in sight. A title wider than
    ``room`` px goes on two lines."""
    a = np.atleast_2d(np.asarray(a, dtype=float))
    if zmax is None and palette != "diverging":
        zmax = max(1.0, float(np.nanmax(a)) if np.isfinite(a).any() else 1.0)
    names = labels or [
        [f"row {r + 1}, column {c + 1}" for c in range(a.shape[1])] for r in range(a.shape[0])
    ]
    style = Look(palette=palette, zmax=zmax, px=px, texts=texts, **look)
    return matrix_svg(a, title, names, max_width=room, look=style)[0]


def two_places(v: float) -> str:
    """v to two decimals, and 0.00 for anything that rounds to it (−0.00 reads as a sign)."""
    s = f"{v:.2f}"
    return "0.00" if s == "-0.00" else s


def mosaic(
    images,
    captions,
    title: str,
    *,
    px: int = 9,
    room: int = 800,
    palette="greys",
    zmax=None,
    names=None,
) -> str:
    """Small images in a grid, as many to a row as ``room`` px holds, a caption above each;
    one colour scale for all of them (diverging: ± the largest |value|). Each image is one PNG
    with one tooltip (``names``)."""
    h, w = images[0].shape
    tile_w, tile_h = w * px + 10, h * px + 18
    per_row = max(1, min(len(images), (room - 8) // tile_w))
    stack = np.stack(images).astype(float)
    finite = stack[np.isfinite(stack)]
    top = float(np.max(np.abs(finite))) if finite.size else 1.0
    zmax = zmax if zmax is not None else (top or 1.0)
    parts = [_text(6, 14, title, 14, INK, anchor="start", weight=600)]
    for n, (img, cap) in enumerate(zip(images, captions, strict=True)):
        r, c = divmod(n, per_row)
        x0, y0 = 6 + c * tile_w, 28 + r * tile_h
        parts.append(_text(x0 + w * px / 2, y0 + 6, cap, 11, INK))
        parts.append(raster(img, zmax, palette, x0, y0 + 14, px, px))
        parts.append(hover(x0, y0 + 14, w * px, h * px, names[n] if names else cap))
    rows = -(-len(images) // per_row)
    return wrap_svg(parts, 12 + per_row * tile_w, 32 + rows * tile_h, title)


DIGITS = [str(d) for d in range(10)]


def confusion(counts: np.ndarray, title: str, px: int = 30) -> str:
    """counts[true, predicted], the digits 0–9 on both axes, every count printed."""
    k = counts.shape[0]
    texts = [[str(v) if v else "" for v in row] for row in counts]
    names = [[f"true {t}, predicted {p}" for p in range(k)] for t in range(k)]
    look = Look(
        palette="blues",
        zmax=max(1, int(counts.max())),
        px=px,
        texts=texts,
        row_ticks=DIGITS[:k],
        col_ticks=DIGITS[:k],
        x_title="predicted",
        y_title="true",
    )
    return matrix_svg(counts, title, names, look=look)[0]
