"""Plotly figures for the network pages, as plain dicts (tested without a browser): training
curves, a decision boundary, grey images and image mosaics, a confusion matrix."""

from __future__ import annotations

import numpy as np

from ui.plots import title_px

CLASS_COLOURS = ["#2166ac", "#b2182b", "#1b7837", "#762a83", "#e08214", "#35978f"]
GREYS = [[0.0, "#ffffff"], [1.0, "#111111"]]
_MARGIN = {"l": 40, "r": 10, "t": 40, "b": 36}


def _title(text: str) -> dict:
    return {"text": text, "x": 0.02, "font": {"size": 15}}


def curves(history: list[dict], series: list[str], title: str, x: str = "step", log=False) -> dict:
    """One line per name in ``series``, against ``x`` ('step' or 'epoch')."""
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers" if len(history) < 40 else "lines",
            "name": name,
            "x": [row[x] for row in history],
            "y": [row.get(name) for row in history],
        }
        for name in series
    ]
    return {
        "data": data,
        "layout": {
            "title": _title(title),
            "height": 260,
            "margin": _MARGIN,
            # one point would get an axis from −1 to 1: start at 0, as training does
            "xaxis": {"title": {"text": x}, "range": [0, max([1] + [r[x] for r in history])]},
            "yaxis": {"type": "log"} if log else {},
            "legend": {"orientation": "h", "y": -0.3},
        },
    }


def boundary(xs, ys, prob: np.ndarray, X: np.ndarray, y: np.ndarray, title: str) -> dict:
    """P(class 1) as a background, the data points on top, the 0.5 contour as the boundary."""
    points = [
        {
            "type": "scatter",
            "mode": "markers",
            "name": f"class {c}",
            "x": X[y == c, 0].tolist(),
            "y": X[y == c, 1].tolist(),
            "marker": {
                "size": 6,
                "color": CLASS_COLOURS[c],
                "line": {"width": 0.5, "color": "white"},
            },
        }
        for c in np.unique(y)
    ]
    field = {
        "type": "contour",
        "x": list(map(float, xs)),
        "y": list(map(float, ys)),
        "z": prob.tolist(),
        "zmin": 0,
        "zmax": 1,
        "colorscale": [[0, "#c6dbef"], [0.5, "#f7f7f7"], [1, "#fcbba1"]],
        "contours": {"start": 0.5, "end": 0.5, "size": 0.5, "coloring": "heatmap"},
        "line": {"width": 2, "color": "#333"},
        "showscale": False,
        "hoverinfo": "skip",
    }
    return {
        "data": [field, *points],
        "layout": {
            "title": _title(title),
            "height": 420,
            "margin": _MARGIN,
            "xaxis": {"constrain": "domain"},
            "yaxis": {"scaleanchor": "x", "scaleratio": 1},
            "legend": {"orientation": "h", "y": -0.12},
        },
    }


def image(
    a: np.ndarray, title: str, *, diverging=False, px: int = 22, labels=None, values=False
) -> dict:
    """A matrix as an image, row 1 at the top: grey for pixels, blue–red around 0 for
    gradients and feature maps. Hover shows the entry and its value."""
    a = np.atleast_2d(np.asarray(a, dtype=float))
    rows, cols = a.shape
    heat = {
        "type": "heatmap",
        "z": a.tolist(),
        "x": list(range(1, cols + 1)),
        "y": list(range(1, rows + 1)),
        "showscale": False,
        "xgap": 1 if px >= 14 else 0,
        "ygap": 1 if px >= 14 else 0,
        "hovertemplate": "row %{y}, column %{x}: %{z:.4g}<extra></extra>",
    }
    if diverging:
        m = float(np.nanmax(np.abs(a))) if np.isfinite(a).any() else 1.0
        heat.update(colorscale="RdBu", reversescale=True, zmid=0, zmin=-(m or 1), zmax=m or 1)
    else:
        heat.update(colorscale=GREYS, zmin=0, zmax=max(1.0, float(np.nanmax(a))))
    if values:  # printed in the cells
        heat["text"] = [[f"{v:.2f}" for v in row] for row in a]
        heat["texttemplate"] = "%{text}"
        heat["textfont"] = {"size": max(8, min(13, px // 3))}
    if labels is not None:
        heat["customdata"] = labels
        heat["hovertemplate"] = "%{customdata}: %{z:.4g}<extra></extra>"
    return {
        "data": [heat],
        "layout": {
            # the title pinned to the top edge, above the column numbers (in the margin's
            # middle it sat on them), and the figure never narrower than its title
            "title": {**_title(title), "y": 1, "yref": "container", "yanchor": "top"},
            "width": max(cols * px + 50, title_px(title)),
            "height": rows * px + 82,
            "margin": {"l": 30, "r": 10, "t": 52, "b": 10},
            # pinned to the cells, square ones shrinking the plot ("domain"), not widening the
            # range: autoranged, a 10 × 10 confusion matrix grew a row −1 and a row 10
            "yaxis": {
                "range": [rows + 0.5, 0.5],
                "autorange": False,
                "scaleanchor": "x",
                "constrain": "domain",
                "showgrid": False,
                **_every_index(rows, px),
            },
            "xaxis": {
                "range": [0.5, cols + 0.5],
                "autorange": False,
                "constrain": "domain",
                "side": "top",
                "showgrid": False,
                **_every_index(cols, px),
            },
        },
    }


def _every_index(n: int, px: int) -> dict:
    """Ticks on every whole index where they fit (plotly's own pick gave 0.5, 1, 1.5, … on a
    two-row matrix); its own pick on long axes and small cells."""
    return {"tickmode": "linear", "tick0": 1, "dtick": 1} if n <= 12 and px >= 14 else {}


def mosaic(images: list[np.ndarray], per_row: int = 6) -> np.ndarray:
    """Images tiled into one array, NaN between them (drawn blank); captions are not drawn
    here but laid out in the same order by ``mosaic_figure``."""
    h, w = images[0].shape
    rows = -(-len(images) // per_row)
    out = np.full((rows * (h + 3), per_row * (w + 1)), np.nan)
    for i, img in enumerate(images):
        r, c = divmod(i, per_row)
        out[r * (h + 3) + 3 : r * (h + 3) + 3 + h, c * (w + 1) : c * (w + 1) + w] = img
    return out


def mosaic_figure(
    images, captions, title: str, per_row: int = 6, px: int = 9, diverging=False
) -> dict:
    """Small images in a grid with a caption above each, as one figure (not one per image)."""
    tiled = mosaic(images, per_row)
    fig = image(tiled, title, px=px, diverging=diverging)
    h, w = images[0].shape
    fig["layout"]["annotations"] = [
        {
            "x": (i % per_row) * (w + 1) + (w + 1) / 2,
            "y": (i // per_row) * (h + 3) + 1.5,
            "text": cap,
            "showarrow": False,
            "font": {"size": 11},
        }
        for i, cap in enumerate(captions)
    ]
    fig["layout"]["xaxis"]["visible"] = False
    fig["layout"]["yaxis"]["visible"] = False
    return fig


def confusion_figure(counts: np.ndarray, title: str) -> dict:
    k = counts.shape[0]
    fig = image(counts, title, px=30)
    heat = fig["data"][0]
    heat.update(
        colorscale=[[0, "#ffffff"], [1, "#08519c"]],
        zmin=0,
        zmax=max(1, int(counts.max())),
        text=[[str(v) if v else "" for v in row] for row in counts],
        texttemplate="%{text}",
        x=list(range(k)),
        y=list(range(k)),
        hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>",
    )
    fig["layout"]["xaxis"].update(title={"text": "predicted"}, tick0=0, range=[-0.5, k - 0.5])
    fig["layout"]["yaxis"].update(title={"text": "true"}, tick0=0, range=[k - 0.5, -0.5])
    # room for the title above the axis title: side by side they overlapped
    fig["layout"]["margin"] = {"l": 50, "r": 10, "t": 110, "b": 10}
    fig["layout"]["height"] += 110 - 52
    return fig
