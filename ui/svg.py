"""Heatmaps of matrices as SVG text, laid out like ``ui.plots`` (the same cell sizes, fonts and
ticks) and read like the notes: row 1 at the top, square cells, the value printed in each cell
where it fits, one diverging colour scale centred on 0, the cells a picked one is linked to
outlined. Pure: no streamlit. ``ui.components.heatmap_ui`` draws one, with a tooltip
("x₂₂ = 3") on every cell and clicks reported where asked.

A lesson draws a dozen of these; as SVG they cost the browser nothing to load, where plotly's
4.7 MB bundle dominated a page's first render. Every text placed here is escaped; none of it
is typed by a user (titles and names come from the derivation, values from ``fmt``)."""

from __future__ import annotations

from html import escape

import numpy as np

from ui.plots import DIVERGING, FRAME, HIGHLIGHT, SELECTED, cell_px, fmt, title_px
from ui.plots import _cell_texts as cell_texts
from ui.plots import _ticks as ticks

LEFT, TOP, BOTTOM = 28, 46, 6  # px around the cells: row ticks, title and column ticks
INK, MUTED = "#31333f", "#808495"  # Streamlit's light theme: text, tick labels


def _rgb(hex_color: str) -> np.ndarray:
    return np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)


_STOPS = np.array([s for s, _ in DIVERGING])
_COLORS = np.array([_rgb(c) for _, c in DIVERGING])


def color(v: float, zmax: float) -> tuple[str, str]:
    """The cell's fill on the diverging scale (−zmax blue, 0 near-white, +zmax red) and a text
    colour that reads on it."""
    if not np.isfinite(v):
        return "#bbbbbb", INK
    t = min(1.0, max(0.0, (v / zmax + 1) / 2))
    rgb = [np.interp(t, _STOPS, _COLORS[:, k]) for k in range(3)]
    luminance = (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) / 255
    fill = "#" + "".join(f"{int(round(c)):02x}" for c in rgb)
    return fill, ("#ffffff" if luminance < 0.55 else INK)


def _text(x, y, s, size, fill=INK, anchor="middle", weight=None) -> str:
    w = f' font-weight="{weight}"' if weight else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}" text-anchor="{anchor}" '
        f'dominant-baseline="central" pointer-events="none"{w}>{escape(str(s))}</text>'
    )


def _outline(x0, y0, px, r, c, inset, stroke, width, dash="") -> str:
    d = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<rect x="{x0 + c * px + inset:.1f}" y="{y0 + r * px + inset:.1f}" '
        f'width="{px - 2 * inset:.1f}" height="{px - 2 * inset:.1f}" fill="none" '
        f'stroke="{stroke}" stroke-width="{width}"{d}/>'
    )


def _cells(z, names, texts, font, shown, x0, y0, px) -> list[str]:
    finite = z[np.isfinite(z)]
    zmax = float(np.max(np.abs(finite))) if finite.size else 1.0
    zmax = zmax or 1.0
    out = []
    for (r, c), v in np.ndenumerate(z):
        fill, ink = color(v, zmax)
        tip = escape(f"{names[r][c]} = {fmt(v, 6)}", quote=True)
        x, y = x0 + c * px, y0 + r * px
        out.append(
            f'<rect class="cell" data-cell="{r},{c}" data-tip="{tip}" x="{x:.1f}" y="{y:.1f}" '
            f'width="{px - 1}" height="{px - 1}" fill="{fill}"/>'
        )
        if shown:
            out.append(_text(x + (px - 1) / 2, y + (px - 1) / 2, texts[r][c], font, ink))
    return out


def _ticks_svg(rows, cols, px, x0, y0) -> list[str]:
    out = []
    if cols > 1:
        out += [_text(x0 + (c - 0.5) * px, TOP - 10, c, 11, MUTED) for c in ticks(cols, px)]
    if rows > 1:
        out += [
            _text(LEFT - 8, y0 + (r - 0.5) * px, r, 11, MUTED, anchor="end")
            for r in ticks(rows, px)
        ]
    return out


def matrix_svg(
    values,
    title: str,
    labels=None,
    *,
    highlight=(),
    selected=None,
    budget: int = 330,
    max_width: int | None = None,
    scale: float = 1.0,
) -> tuple[str, int]:
    """The heatmap as SVG text, and its width in px. Numbers are printed in the cells only where
    they fit; every cell carries its name and value for the tooltip."""
    z = np.atleast_2d(np.asarray(values, dtype=float))
    rows, cols = z.shape
    px = cell_px(rows, cols, budget, max_width, scale)
    texts, font, shown = cell_texts(z, px, scale)
    names = labels or [[f"({r + 1},{c + 1})" for c in range(cols)] for r in range(rows)]
    width = max(px * cols + FRAME, title_px(title, scale))
    height = px * rows + TOP + BOTTOM
    x0 = LEFT + (width - FRAME - px * cols) // 2  # centred under a title wider than the cells
    parts = [_text(width / 2, 16, title, int(16 * min(scale, 1.25)), weight=600)]
    parts += _ticks_svg(rows, cols, px, x0, TOP)
    parts += _cells(z, names, texts, font, shown, x0, TOP, px)
    parts += [_outline(x0, TOP, px, r, c, 1.5, HIGHLIGHT, 3) for r, c in highlight]
    if selected is not None:
        parts.append(_outline(x0, TOP, px, *selected, 4, SELECTED, 2.5, "3 3"))
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title, quote=True)}">'
        + "".join(parts)
        + "</svg>"
    )
    return svg, width
