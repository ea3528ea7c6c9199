"""Heatmaps of matrices as SVG text, laid out like ``ui.plots`` (the same cell sizes, fonts and
ticks) and read like the notes: row 1 at the top, square cells, the value printed in each cell
where it fits, one diverging colour scale centred on 0, the cells a picked one is linked to
outlined. Pure: no streamlit. ``ui.components.heatmap_ui`` draws one, with a tooltip
("x₂₂ = 3") on every cell and clicks reported where asked.

A lesson draws a dozen of these; as SVG they cost the browser nothing to load, where plotly's
4.7 MB bundle dominated a page's first render. Every text placed here is escaped; none of it
is typed by a user (titles and names come from the derivation, values from ``fmt``)."""

from __future__ import annotations

import base64
import struct
import zlib
from dataclasses import dataclass
from html import escape

import numpy as np

from ui.plots import DIVERGING, FRAME, HIGHLIGHT, SELECTED, cell_px, cell_texts, fmt, title_px
from ui.plots import tick_values as ticks

LEFT, TOP, BOTTOM = 28, 46, 6  # px around the cells: row ticks, title and column ticks
INK, MUTED = "#31333f", "#808495"  # Streamlit's light theme: text, tick labels


def _rgb(hex_color: str) -> np.ndarray:
    return np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)


_STOPS = np.array([s for s, _ in DIVERGING])
_COLORS = np.array([_rgb(c) for _, c in DIVERGING])
_SEQ_STOPS = np.array([0.0, 1.0])
# sequential scales, 0 white: pixels and masks in greys, counts in blues
PALETTES = {
    "greys": np.array([_rgb("#ffffff"), _rgb("#111111")]),
    "blues": np.array([_rgb("#ffffff"), _rgb("#08519c")]),
}


def color(v: float, zmax: float, palette: str = "diverging") -> tuple[str, str]:
    """The cell's fill and a text colour that reads on it: on the diverging scale −zmax blue,
    0 near-white, +zmax red; on a sequential one (``PALETTES``) 0 white, zmax the darkest."""
    if not np.isfinite(v):
        return "#bbbbbb", INK
    if palette == "diverging":
        t = min(1.0, max(0.0, (v / zmax + 1) / 2))
        stops, colors = _STOPS, _COLORS
    else:
        t = min(1.0, max(0.0, v / zmax))
        stops, colors = _SEQ_STOPS, PALETTES[palette]
    rgb = [np.interp(t, stops, colors[:, k]) for k in range(3)]
    luminance = (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) / 255
    fill = "#" + "".join(f"{int(round(c)):02x}" for c in rgb)
    return fill, ("#ffffff" if luminance < 0.55 else INK)


def rgb_of(z: np.ndarray, zmax: float, palette: str = "diverging") -> np.ndarray:
    """``color``'s fills for a whole array at once, as (…, 3) floats in 0–255 (NaN grey)."""
    v = np.asarray(z, dtype=float)
    finite = np.isfinite(v)
    if palette == "diverging":
        t, stops, cols = (np.where(finite, v, 0) / zmax + 1) / 2, _STOPS, _COLORS
    else:
        t, stops, cols = np.where(finite, v, 0) / zmax, _SEQ_STOPS, PALETTES[palette]
    t = np.clip(t, 0.0, 1.0)
    rgb = np.stack([np.interp(t, stops, cols[:, k]) for k in range(3)], axis=-1)
    rgb[~finite] = 0xBB
    return rgb


def colors(z: np.ndarray, zmax: float, palette: str = "diverging") -> tuple[list, list]:
    """``color`` for a whole array at once (a 10 × 128 map cell by cell took 0.1 s): the fills
    and the text colours, row-major."""
    rgb = rgb_of(z, zmax, palette).reshape(-1, 3)
    light = (rgb @ np.array([0.299, 0.587, 0.114])) / 255 >= 0.55
    codes = np.round(rgb).astype(int)
    fills = [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in codes.tolist()]
    inks = [INK if ok else "#ffffff" for ok in light.tolist()]
    return fills, inks


def png_data_uri(rgb: np.ndarray) -> str:
    """An (h, w, 3) array of 0–255 as a PNG data URI (zlib and struct: no imaging library)."""
    h, w, _ = rgb.shape
    rows = np.round(np.asarray(rgb, dtype=float)).clip(0, 255).astype(np.uint8)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def raster(z, zmax: float, palette: str, x: float, y: float, px: float, ph: float) -> str:
    """A grid's cells as one PNG, a pixel per cell drawn crisp: a big map (a 10 × 128 gradient,
    two dozen images) without thousands of SVG elements for the browser to lay out."""
    rows, cols = np.atleast_2d(z).shape
    uri = png_data_uri(rgb_of(np.atleast_2d(z), zmax, palette))
    return (
        f'<image href="{uri}" x="{x:.1f}" y="{y:.1f}" width="{cols * px:.1f}" '
        f'height="{rows * ph:.1f}" preserveAspectRatio="none" style="image-rendering:pixelated"/>'
    )


def hover(x, y, width, height, tip: str) -> str:
    """A transparent area whose tooltip is ``tip`` (the component shows a cell's data-tip)."""
    return (
        f'<rect class="cell" data-tip="{escape(tip, quote=True)}" x="{x:.1f}" y="{y:.1f}" '
        f'width="{width:.1f}" height="{height:.1f}" fill="transparent" style="stroke:none"/>'
    )


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


@dataclass(frozen=True)
class Look:
    """How a grid other than a lesson's matrix is drawn (the defaults are a lesson's): its
    colour scale and where 0 and the darkest colour sit, a fixed cell size, the texts in the
    cells, tick labels other than 1, 2, 3 … (a digit's row is 0 to 9), axis titles, and a
    colour bar stating the scale."""

    palette: str = "diverging"
    zmax: float | None = None  # the scale's end (default: the largest |value|)
    px: int | None = None  # cell size (default: from the budget)
    row_px: int | None = None  # a cell's height, where not square (a 10 × 128 strip)
    row_tips: list | None = None  # drawn as one image (``raster``), a tooltip per row
    texts: list | None = None  # printed in the cells instead of the values
    row_ticks: list | None = None  # labels of rows 1, 2, …
    col_ticks: list | None = None
    x_title: str = ""  # above the column ticks
    y_title: str = ""  # left of the row ticks
    colorbar: bool = False


DEFAULT_LOOK = Look()


def zmax_of(z: np.ndarray, look: Look = DEFAULT_LOOK) -> float:
    """The value the scale's darkest colour stands for."""
    if look.zmax is not None:
        return float(look.zmax) or 1.0
    finite = z[np.isfinite(z)]
    return float(np.max(np.abs(finite))) if finite.size else 1.0


def _cells(z, names, texts, font, shown, x0, y0, px, look: Look) -> list[str]:
    zmax = zmax_of(z, look) or 1.0
    ph = look.row_px or px
    fills, inks = colors(z, zmax, look.palette)
    out = []
    for n, ((r, c), v) in enumerate(np.ndenumerate(z)):
        tip = escape(f"{names[r][c]} = {fmt(v, 6)}", quote=True)
        x, y = x0 + c * px, y0 + r * ph
        out.append(
            f'<rect class="cell" data-cell="{r},{c}" data-tip="{tip}" x="{x:.1f}" y="{y:.1f}" '
            f'width="{px - 1}" height="{ph - 1}" fill="{fills[n]}"/>'
        )
        if shown:
            out.append(_text(x + (px - 1) / 2, y + (ph - 1) / 2, texts[r][c], font, inks[n]))
    return out


def _ticks_svg(rows, cols, px, x0, y0, look: Look = DEFAULT_LOOK) -> list[str]:
    out = []
    col_label = (lambda c: look.col_ticks[c - 1]) if look.col_ticks else (lambda c: c)
    row_label = (lambda r: look.row_ticks[r - 1]) if look.row_ticks else (lambda r: r)
    if cols > 1:
        out += [
            _text(x0 + (c - 0.5) * px, y0 - 10, col_label(c), 11, MUTED) for c in ticks(cols, px)
        ]
    ph = look.row_px or px
    if rows > 1:
        out += [
            _text(x0 - 8, y0 + (r - 0.5) * ph, row_label(r), 11, MUTED, anchor="end")
            for r in ticks(rows, ph)
        ]
    return out


def title_lines(title: str, room: int | None, scale: float = 1.0) -> list[str]:
    """The title on one line, or on two where one is wider than ``room``: cut at the space
    nearest its middle (a cut title, "∂L/∂\\", says nothing)."""
    if room is None or title_px(title, scale) <= room or " " not in title:
        return [title]
    spaces = [i for i, ch in enumerate(title) if ch == " "]
    cut = min(spaces, key=lambda i: abs(i - len(title) / 2))
    return [title[:cut], title[cut + 1 :]]


BAR_H, BAR_W = 34, 120  # px a colour bar takes below the cells (with its labels), its least width


def colorbar_svg(x0: float, y0: float, width: float, zmax: float, palette: str) -> list[str]:
    """A strip of the colour scale with its ends' values: what the darkest colours stand for
    (1e-05 drawn in full colour is not taken for 1)."""
    lo = -zmax if palette == "diverging" else 0.0
    stops = np.linspace(lo, zmax, 9)
    gid = "scale"  # one bar a drawing, each drawing in its own shadow root
    grad = "".join(
        f'<stop offset="{i / 8:.3f}" stop-color="{color(v, zmax or 1.0, palette)[0]}"/>'
        for i, v in enumerate(stops)
    )
    y = y0 + 8
    return [
        f'<defs><linearGradient id="{gid}">{grad}</linearGradient></defs>',
        f'<rect x="{x0:.1f}" y="{y:.1f}" width="{width:.1f}" height="8" fill="url(#{gid})" '
        f'stroke="#d0d0d0" stroke-width="0.5"/>',
        _text(x0, y + 18, fmt(lo, 3), 10, MUTED, anchor="start"),
        _text(x0 + width, y + 18, fmt(zmax, 3), 10, MUTED, anchor="end"),
        *([_text(x0 + width / 2, y + 18, "0", 10, MUTED)] if palette == "diverging" else []),
    ]


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
    look: Look = DEFAULT_LOOK,
) -> tuple[str, int]:
    """The heatmap as SVG text, and its width in px. Numbers are printed in the cells only where
    they fit; every cell carries its name and value for the tooltip."""
    z = np.atleast_2d(np.asarray(values, dtype=float))
    rows, cols = z.shape
    px = look.px or cell_px(rows, cols, budget, max_width, scale)
    texts, font, shown = cell_texts(z, px, scale)
    if look.texts is not None:
        texts, font, shown = look.texts, max(9, min(13, px // 3)), True
    names = labels or [[f"({r + 1},{c + 1})" for c in range(cols)] for r in range(rows)]
    lines = title_lines(title, max_width, scale)
    size = int(16 * min(scale, 1.25))
    left = LEFT + (18 if look.y_title else 0)
    top = TOP + (size + 4) * (len(lines) - 1) + (16 if look.x_title else 0)
    bar = BAR_H if look.colorbar else 0
    ph = look.row_px or px
    cells_w = max(px * cols, BAR_W if bar else 0)
    width = max(cells_w + FRAME + left - LEFT, max(title_px(t, scale) for t in lines))
    height = ph * rows + top + BOTTOM + bar
    x0 = left + (width - FRAME - (left - LEFT) - px * cols) // 2  # centred under a wide title
    parts = [
        _text(width / 2, 16 + i * (size + 4), t, size, weight=600) for i, t in enumerate(lines)
    ]
    if look.x_title:
        parts.append(_text(x0 + px * cols / 2, top - 26, look.x_title, 12, MUTED))
    if look.y_title:
        y = top + ph * rows / 2
        parts.append(
            f'<g transform="translate(10 {y:.1f}) rotate(-90)">'
            + _text(0, 0, look.y_title, 12, MUTED)
            + "</g>"
        )
    parts += _ticks_svg(rows, cols, px, x0, top, look)
    if look.row_tips is not None:
        parts.append(raster(z, zmax_of(z, look) or 1.0, look.palette, x0, top, px, ph))
        parts += [hover(x0, top + r * ph, px * cols, ph, t) for r, t in enumerate(look.row_tips)]
    else:
        parts += _cells(z, names, texts, font, shown, x0, top, px, look)
    parts += [_outline(x0, top, px, r, c, 1.5, HIGHLIGHT, 3) for r, c in highlight]
    if selected is not None:
        parts.append(_outline(x0, top, px, *selected, 4, SELECTED, 2.5, "3 3"))
    if look.colorbar:
        w = max(px * cols, BAR_W)
        parts += colorbar_svg(
            x0 + (px * cols - w) / 2, top + ph * rows, w, zmax_of(z, look), look.palette
        )
    return wrap_svg(parts, width, height, title), width


def wrap_svg(parts: list[str], width: float, height: float, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{escape(label, quote=True)}">'
        + "".join(parts)
        + "</svg>"
    )
