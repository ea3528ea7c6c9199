"""Plotly heatmaps of matrices that read like the notes: row 1 at the top (x₁₁ top-left),
square cells, values printed in the cells, one diverging colour scale centred on 0."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

HIGHLIGHT = "#f5b700"  # amber: the cells the picked one depends on or feeds
SELECTED = "#111111"


def fmt(v: float) -> str:
    if not np.isfinite(v):
        return str(v)
    if float(v).is_integer() and abs(v) < 1e5:
        return str(int(v))
    return f"{v:.3g}" if abs(v) >= 0.01 or v == 0 else f"{v:.1e}"


def cell_px(rows: int, cols: int, budget: int = 330) -> int:
    return int(max(22, min(64, budget // max(rows, cols, 1))))


def matrix_figure(
    values, title: str, labels=None, *, highlight=(), selected=None, budget: int = 330
) -> go.Figure:
    """A heatmap of ``values`` (2-D) with a clickable marker on every cell.

    go.Heatmap reports no selection in Streamlit, so an almost invisible square marker sits on
    each cell centre; a click selects that marker (x = column, y = row, both 1-based).
    """
    z = np.atleast_2d(np.asarray(values, dtype=float))
    rows, cols = z.shape
    px = cell_px(rows, cols, budget)
    finite = z[np.isfinite(z)]
    zmax = float(np.max(np.abs(finite))) if finite.size else 1.0
    zmax = zmax or 1.0
    xs, ys = np.meshgrid(np.arange(1, cols + 1), np.arange(1, rows + 1))
    text = [[fmt(v) for v in row] for row in z]
    names = (
        labels
        if labels is not None
        else [[f"({r + 1},{c + 1})" for c in range(cols)] for r in range(rows)]
    )
    fig = go.Figure()
    fig.add_trace(
        go.Heatmap(
            z=z,
            x=list(range(1, cols + 1)),
            y=list(range(1, rows + 1)),
            text=text,
            texttemplate="%{text}",
            textfont={"size": max(9, min(16, px // 3))},
            colorscale="RdBu_r",
            zmid=0,
            zmin=-zmax,
            zmax=zmax,
            showscale=False,
            customdata=names,
            hovertemplate="%{customdata} = %{z:.6g}<extra></extra>",
            xgap=1,
            ygap=1,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=xs.ravel(),
            y=ys.ravel(),
            mode="markers",
            customdata=np.array(names).ravel(),
            marker={"symbol": "square", "size": px * 0.8, "color": "rgba(0,0,0,0.01)"},
            selected={"marker": {"opacity": 0.01}},
            unselected={"marker": {"opacity": 0.01}},
            hovertemplate="%{customdata}<extra></extra>",
            showlegend=False,
        )
    )
    for r, c in highlight:
        fig.add_shape(
            type="rect",
            x0=c + 0.5,
            x1=c + 1.5,
            y0=r + 0.5,
            y1=r + 1.5,
            line={"color": HIGHLIGHT, "width": 4},
        )
    if selected is not None:
        r, c = selected
        fig.add_shape(
            type="rect",
            x0=c + 0.55,
            x1=c + 1.45,
            y0=r + 0.55,
            y1=r + 1.45,
            line={"color": SELECTED, "width": 3, "dash": "dot"},
        )
    fig.update_layout(
        title={"text": title, "x": 0.5, "xanchor": "center", "font": {"size": 16}},
        width=px * cols + 44,
        height=px * rows + 74,
        margin={"l": 28, "r": 8, "t": 42, "b": 6},
        dragmode=False,
        clickmode="event+select",
        hovermode="closest",
        plot_bgcolor="white",
    )
    # row 1 at the top, square cells, integer ticks: the matrix reads like the notes
    fig.update_yaxes(
        autorange="reversed",
        scaleanchor="x",
        scaleratio=1,
        tickmode="array",
        tickvals=list(range(1, rows + 1)),
        showgrid=False,
        zeroline=False,
        constrain="domain",
    )
    fig.update_xaxes(
        tickmode="array",
        tickvals=list(range(1, cols + 1)),
        side="top",
        showgrid=False,
        zeroline=False,
        constrain="domain",
    )
    return fig
