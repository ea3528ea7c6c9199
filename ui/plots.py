"""Heatmaps of matrices that read like the notes: row 1 at the top (x₁₁ top-left), square cells,
values printed in the cells, one diverging colour scale centred on 0.

The sizes live here (cell size, fonts, ticks, packing) and two drawings use them: the lesson
pages draw SVG (``ui.svg``: no 4.7 MB plotly bundle to load on a page's first render), and
``matrix_spec``/``matrix_figure`` give the same heatmap as a plotly figure for pages that want
plotly's interactivity."""

from __future__ import annotations

import math

import numpy as np

from ui.layout import GAP, MAIN_WIDTH

# negative blue, zero near-white, positive red; spelled out because plotly.js and plotly.py
# disagree on which way the named "RdBu" runs
DIVERGING = [
    [0.0, "#2166ac"],
    [0.25, "#67a9cf"],
    [0.5, "#f7f7f7"],
    [0.75, "#ef8a62"],
    [1.0, "#b2182b"],
]
HIGHLIGHT = "#f5b700"  # amber: the cells the picked one depends on or feeds
SELECTED = "#111111"


def fmt(v: float, digits: int = 3) -> str:
    if not np.isfinite(v):
        return str(v)
    if float(v).is_integer() and abs(v) < 1e5:
        return str(int(v))
    return f"{v:.{digits}g}" if abs(v) >= 0.01 or v == 0 else f"{v:.{digits - 2}e}"


MIN_CELL = 22  # px: a two-digit number in a 9 px font still fits


FRAME = 44  # px a figure adds around its cells: row ticks on the left, a little on the right


def cell_px(
    rows: int, cols: int, budget: int = 330, max_width: int | None = None, scale: float = 1.0
) -> int:
    """Cell size: square cells filling about ``budget`` px (times ``scale``, on a wider page),
    but never wider than ``max_width`` allows, because a too-wide figure is cut off by its
    column and the printed numbers then pile on top of each other."""
    px = max(MIN_CELL, min(int(64 * scale), int(budget * scale) // max(rows, cols, 1)))
    if max_width is not None:
        px = min(px, (max_width - FRAME) // max(cols, 1))
    return max(6, px)


def title_px(title: str, scale: float = 1.0) -> int:
    """About how wide a figure's title is drawn (16 px bold, ~9 px a character)."""
    return int(len(title) * 9 * min(scale, 1.25)) + 12


def natural_width(rows: int, cols: int, budget: int = 330, scale: float = 1.0) -> int:
    """The width in px matrix_spec gives a matrix when nothing squeezes it."""
    return cell_px(rows, cols, budget, scale=scale) * cols + FRAME


def pack(widths: list[int], width: int = MAIN_WIDTH, most: int = 4) -> list[list[int]]:
    """Matrices, in order, into rows of at most ``most`` whose widths (plus the gaps between
    columns) add up to at most ``width``; a matrix wider than that gets a row to itself. Lists
    of indices into ``widths``."""
    rows: list[list[int]] = []
    used = 0
    for i, w in enumerate(widths):
        w += GAP
        if rows and len(rows[-1]) < most and used + w <= width:
            rows[-1].append(i)
            used += w
        else:
            rows.append([i])
            used = w
    return rows


def _max_font(texts, px: int) -> float:
    """The biggest font (px) at which the longest text fits a cell (a digit is ~0.62 em)."""
    longest = max((len(t) for row in texts for t in row), default=1)
    return (px - 4) / (0.62 * max(longest, 1))


def tick_values(n: int, px: int) -> list[int]:
    """1-based tick positions at least 16 px apart (every index while cells are big enough)."""
    step = max(1, math.ceil(16 / px))
    return list(range(1, n + 1, step))


def _rect(r, c, inset, color, width, dash="solid"):
    return {
        "type": "rect",
        "x0": c + 0.5 + inset,
        "x1": c + 1.5 - inset,
        "y0": r + 0.5 + inset,
        "y1": r + 1.5 - inset,
        "line": {"color": color, "width": width, "dash": dash},
    }


def cell_texts(z: np.ndarray, px: int, scale: float = 1.0) -> tuple[list, float, bool]:
    """The numbers to print in the cells, their font size, and whether they fit at all: three
    digits at the cell's font, else two at the biggest font (9 px at least) that fits."""
    font = max(9, min(int(16 * scale), px // 3))
    texts = [[fmt(v, 3) for v in row] for row in z]
    if _max_font(texts, px) < font:
        texts = [[fmt(v, 2) for v in row] for row in z]
        font = max(9, min(font, int(_max_font(texts, px))))
    return texts, font, _max_font(texts, px) >= font


def _heatmap(z, texts, font, shown, names) -> dict:
    finite = z[np.isfinite(z)]
    zmax = float(np.max(np.abs(finite))) if finite.size else 1.0
    zmax = zmax or 1.0
    rows, cols = z.shape
    return {
        "type": "heatmap",
        "z": z.tolist(),
        "x": list(range(1, cols + 1)),
        "y": list(range(1, rows + 1)),
        "text": texts,
        "texttemplate": "%{text}" if shown else "",
        "textfont": {"size": font},
        "colorscale": DIVERGING,
        "zmid": 0,
        "zmin": -zmax,
        "zmax": zmax,
        "showscale": False,
        "customdata": names,
        "hovertemplate": "%{customdata} = %{z:.6g}<extra></extra>",
        "xgap": 1,
        "ygap": 1,
    }


def _markers(z, names, px) -> dict:
    """An almost invisible square marker on each cell centre: go.Heatmap reports no selection
    in Streamlit, a marker does. It sits on top, so its hover shows the cell's name and value."""
    rows, cols = z.shape
    xs, ys = np.meshgrid(np.arange(1, cols + 1), np.arange(1, rows + 1))
    return {
        "type": "scatter",
        "x": xs.ravel().tolist(),
        "y": ys.ravel().tolist(),
        "mode": "markers",
        "customdata": [
            f"{n} = {fmt(v, 6)}"
            for nrow, zrow in zip(names, z, strict=True)
            for n, v in zip(nrow, zrow, strict=True)
        ],
        "marker": {"symbol": "square", "size": px * 0.8, "color": "rgba(0,0,0,0.01)"},
        "selected": {"marker": {"opacity": 0.01}},
        "unselected": {"marker": {"opacity": 0.01}},
        "hovertemplate": "%{customdata}<extra></extra>",
        "showlegend": False,
    }


def _layout(title: str, rows: int, cols: int, px: int, shapes: list, scale: float) -> dict:
    ticks = {"tickmode": "array", "showgrid": False, "zeroline": False, "constrain": "domain"}
    return {
        # the title pinned to the top edge: centred in the margin it collided with the top ticks
        "title": {
            "text": title,
            "x": 0.5,
            "xanchor": "center",
            "y": 1,
            "yref": "container",
            "yanchor": "top",
            "pad": {"t": 4},
            "font": {"size": int(16 * min(scale, 1.25))},
        },
        # never narrower than the title: a 1 × 1 matrix with a long name is not cut off
        "width": max(px * cols + FRAME, title_px(title, scale)),
        "height": px * rows + 78,
        "margin": {"l": 28, "r": 8, "t": 46, "b": 6},
        "dragmode": False,
        "clickmode": "event+select",
        "hovermode": "closest",
        "plot_bgcolor": "white",
        "shapes": shapes,
        # row 1 at the top, square cells, 1-based ticks: the matrix reads like the notes. The
        # ranges are pinned to the cells: autoranged, the markers' padding widened them and cut
        # a lone column short
        "yaxis": {
            "range": [rows + 0.5, 0.5],
            "autorange": False,
            "scaleanchor": "x",
            "scaleratio": 1,
            "tickvals": tick_values(rows, px),
            "showticklabels": rows > 1,
            **ticks,
        },
        # a lone column's "1" would sit against the title ("y 1"): label real indices only
        "xaxis": {
            "range": [0.5, cols + 0.5],
            "autorange": False,
            "tickvals": tick_values(cols, px),
            "side": "top",
            "showticklabels": cols > 1,
            **ticks,
        },
    }


def matrix_spec(
    values,
    title: str,
    labels=None,
    *,
    highlight=(),
    selected=None,
    budget: int = 330,
    max_width: int | None = None,
    scale: float = 1.0,
) -> dict:
    """The figure as a plain dict: a heatmap of ``values`` (2-D) plus a clickable marker per
    cell (x = column, y = row, both 1-based). Numbers are printed in the cells only where they
    fit; hovering a cell always shows its name and value."""
    z = np.atleast_2d(np.asarray(values, dtype=float))
    rows, cols = z.shape
    px = cell_px(rows, cols, budget, max_width, scale)
    texts, font, shown = cell_texts(z, px, scale)
    names = (
        labels
        if labels is not None
        else [[f"({r + 1},{c + 1})" for c in range(cols)] for r in range(rows)]
    )
    shapes = [_rect(r, c, 0, HIGHLIGHT, 4) for r, c in highlight]
    if selected is not None:
        shapes.append(_rect(selected[0], selected[1], 0.05, SELECTED, 3, "dot"))
    return {
        "data": [_heatmap(z, texts, font, shown, names), _markers(z, names, px)],
        "layout": _layout(title, rows, cols, px, shapes, scale),
    }


def matrix_figure(values, title: str, labels=None, **kw):
    """``matrix_spec`` as a plotly Figure (plotly imported here: no page draws one any more,
    and importing it cost the server a second on its first page)."""
    import plotly.graph_objects as go

    # _validate=False: plotly's property validation costs ~15 ms a figure, ten times the rest of
    # the work, and a lesson draws a dozen per rerun; tests validate matrix_spec's output instead
    return go.Figure(matrix_spec(values, title, labels, **kw), _validate=False)
