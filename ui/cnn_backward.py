"""The CNN page's one test image, forward and backward: its feature maps, then its gradient from
the loss back to the pixels, layer by layer, each beside the formula of the lesson it comes from.

One letter per thing, defined where it first appears: Z the conv output, R = ReLU(Z), M the
max-pooled map (note 003's P), v = flatten(M), f the class scores, p = softmax(f). Every
gradient map is drawn with its colour bar, so a map of 1e-5 in full colour is not read as a
large one, and two-decimal numbers never print as −0.00."""

from __future__ import annotations

import numpy as np
import streamlit as st

from ui import charts, training
from ui.figures import split_px, svg_ui
from ui.registry import CONV2D, DENSE, ELEMENTWISE, POOLING, SOFTMAX

FRAME = 50  # px a drawing adds around its cells (ticks, margins)


def _lesson_link(page, label: str, **query) -> None:
    st.page_link(page.path, label=label, icon=page.icon, query_params=query or None)


def row_ui(items: list[dict], key: str) -> None:
    """Images side by side, each as wide as its column allows (its cells shrink to fit, never
    cut off). An item: the array, its title, and ``charts.image`` options (px: the most)."""
    widths = split_px([1] * len(items))
    for n, (col, item, room) in enumerate(zip(st.columns(len(items)), items, widths, strict=True)):
        a = np.atleast_2d(item.pop("a"))
        title = item.pop("title")
        px = max(4, min(item.pop("px", 20), (room - FRAME) // a.shape[1]))
        with col:
            svg_ui(charts.image(a, title, px=px, room=room, **item), f"{key}/{n}")


def feature_maps_ui(g: dict, i: int, key: str) -> None:
    maps = list(g["R"])
    cap = [f"R{c + 1}" for c in range(len(maps))]
    title = f"Feature maps R = ReLU(Z) of test image {i + 1}, one per channel"
    room = split_px([1])[0]
    names = [f"R, channel {c + 1}" for c in range(len(maps))]
    svg_ui(charts.mosaic(maps, cap, title, px=8, room=room, names=names), key)


def backward_ui(g: dict, i: int, label: int, ksize: int, padding: int, key) -> None:
    """One test image's gradient, from the loss back to the pixels; ``key`` makes widget and
    drawing keys."""
    pred = int(np.argmax(g["p"]))
    st.markdown(
        f"Test image {i + 1}, a **{label}**, predicted **{pred}**, loss {float(g['loss']):.3g}."
    )
    _scores(g, key)
    _dense(g, key)
    channels = len(g["R"])
    st.session_state.setdefault(key("channel"), 1)
    c = 1
    if channels > 1:
        c = st.slider("Channel to follow", 1, channels, key=key("channel"))
    c = int(c) - 1
    _through_pool(g, c, key)
    _through_relu(g, c, key)
    _into_conv(g, c, ksize, padding, key)


def _scores(g: dict, key) -> None:
    st.latex(
        r"p = \mathrm{softmax}(f), \qquad \frac{\partial L}{\partial f} = p - \mathrm{onehot}(y)"
    )
    st.caption("f: the ten class scores (logits), p: their probabilities, y: the true digit.")
    _lesson_link(SOFTMAX, "Softmax + cross-entropy lesson, 10 classes", num_classes="10")
    rows = np.stack([g["p"], g["df"]])
    texts = [[charts.two_places(v) for v in row] for row in rows]
    names = [[f"{what}, digit {d}" for d in range(10)] for what in ("p", "∂L/∂f")]
    row_ui(
        [
            dict(
                a=rows,
                title="p (row 1) and ∂L/∂f (row 2), digits 0–9",
                palette="diverging",
                px=44,
                texts=texts,
                labels=names,
                col_ticks=charts.DIGITS,
                colorbar=True,
            )
        ],
        key("b/p"),
    )


def _dense(g: dict, key) -> None:
    n = len(g["v"])
    st.latex(
        r"\frac{\partial L}{\partial W} = v^\top \frac{\partial L}{\partial f}, \qquad "
        r"\frac{\partial L}{\partial M} = \mathrm{unflatten}\left(\frac{\partial L}{\partial f}"
        r"\, W^\top\right)"
    )
    st.caption(
        f"v = flatten(M): the {n} pooled features of this image in one row (channel by channel, "
        "each map row by row), the dense layer's input; W has a row per feature and a column "
        "per digit."
    )
    _lesson_link(DENSE, "Dense-layer lesson")
    # a row per digit d is v scaled by ∂L/∂f_d: drawn as one image, a tooltip per row
    tips = [f"digit {d}: v · ∂L/∂f{_sub(d)} = v · ({g['df'][d]:.3g})" for d in range(10)]
    row_ui(
        [
            dict(
                a=g["dW"].T,
                title=f"∂L/∂W transposed: a row per digit 0–9, a column per feature (10 × {n})",
                palette="diverging",
                px=6,
                row_px=16,  # a row per digit, each labelled
                row_tips=tips,
                row_ticks=charts.DIGITS,
                colorbar=True,
            )
        ],
        key("b/dW"),
    )


def _sub(d: int) -> str:
    return str(d).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def _through_pool(g: dict, c: int, key) -> None:
    side = g["R"].shape[-1]
    st.latex(
        r"\frac{\partial L}{\partial r_{ij}} = \sum_{(u,v)\,:\,r_{ij}\text{ wins window }(u,v)} "
        r"\frac{\partial L}{\partial m_{uv}}"
    )
    _lesson_link(
        POOLING,
        f"Max-pooling lesson at {side}×{side}, window 2×2",
        op="max_pool2d",
        input_shape=f"{side}x{side}",
        kernel_size="2x2",
    )
    ch = f"channel {c + 1}"
    row_ui(
        [
            dict(a=g["R"][c], title=f"R, {ch}"),
            dict(a=g["winners"][c].astype(float), title="cells that won"),
            dict(a=g["dM"][c], title=f"∂L/∂M, {ch}", palette="diverging", px=28, colorbar=True),
            dict(a=g["dR"][c], title="∂L/∂R: routed", palette="diverging", colorbar=True),
        ],
        key("b/pool"),
    )


def _through_relu(g: dict, c: int, key) -> None:
    side = g["R"].shape[-1]
    st.latex(
        r"\frac{\partial L}{\partial z_{ij}} = [z_{ij} > 0]\,\frac{\partial L}{\partial r_{ij}}"
    )
    _lesson_link(ELEMENTWISE, "Element-wise lesson: ReLU", op="relu", shape=f"{side}x{side}")
    row_ui(
        [
            dict(a=g["mask"][c].astype(float), title=f"mask [z > 0], channel {c + 1}"),
            dict(a=g["dZ"][c], title="∂L/∂Z", palette="diverging", colorbar=True),
        ],
        key("b/relu"),
    )


def _into_conv(g: dict, c: int, ksize: int, padding: int, key) -> None:
    channels = len(g["R"])
    st.latex(training.conv_backward_tex(ksize, padding, channels))
    _lesson_link(
        CONV2D,
        f"Conv2D lesson at 8×8 * {ksize}×{ksize}, padding {padding}",
        input_shape="8x8",
        kernel_shape=f"{ksize}x{ksize}",
        padding=f"{padding}x{padding}",
    )
    every = "the channel's" if channels == 1 else f"all {channels} channels'"
    st.caption(
        f"∂L/∂X adds up {every} shares: the map beside it is the share that comes back through "
        f"channel {c + 1} and its kernel K{c + 1}."
    )
    diverging = dict(palette="diverging", colorbar=True)
    row_ui(
        [
            dict(a=g["X"], title="X (the image)"),
            dict(a=g["dK"][c, 0], title=f"∂L/∂K{c + 1}", px=28, **diverging),
            dict(a=g["dX_parts"][c], title=f"∂L/∂X through channel {c + 1}", **diverging),
            dict(a=g["dX"], title=f"∂L/∂X, sum of {channels}: which pixels matter", **diverging),
        ],
        key("b/conv"),
    )
