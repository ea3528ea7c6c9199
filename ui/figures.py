"""Rows of heatmaps, sized from the page's :class:`ui.layout.Layout`: each matrix as wide as
its cells need (never squeezed, never cut off), side by side while they fit and wrapping onto
the next line when they do not — the browser does the wrapping (a horizontal container), so it
holds at any window width."""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from ui.components import heatmap_ui
from ui.layout import GAP, WIDTH_KEY, Layout, main_for_window
from ui.svg import matrix_svg


@dataclass
class Fig:
    """One heatmap to draw: its numbers, title and cell names, what to outline."""

    key: str  # the widget key
    values: object
    title: str
    labels: list
    highlight: list = field(default_factory=list)
    selected: tuple | None = None
    on_click: object = None  # called when a cell is clicked (see ui.components.heatmap_ui)


def figures_ui(figs: list[Fig], layout: Layout, budget: int, room: int, gap="small") -> None:
    """The figures in one wrapping row; each at most ``room`` px wide (a matrix wider than that
    gets smaller cells, down to the smallest that still hold a number)."""
    with st.container(horizontal=True, gap=gap, vertical_alignment="top"):
        for f in figs:
            svg, _ = matrix_svg(
                f.values,
                f.title,
                f.labels,
                highlight=f.highlight,
                selected=f.selected,
                budget=budget,
                max_width=room,
                scale=layout.scale,
            )
            heatmap_ui(svg, f.key, layout.main, f.on_click)


def column_px() -> int:
    """The page's main column in px: as the browser measured it (the lesson section's probe), or
    until then a guess from the window a cookie remembers (a 1280 px window's without one)."""
    ss = st.session_state
    if WIDTH_KEY not in ss:
        ss[WIDTH_KEY] = main_for_window(st.context.cookies.get("bpl_window"), False)
    return int(ss[WIDTH_KEY])


def split_px(weights: list[float], main: int | None = None) -> list[int]:
    """The widths of ``st.columns(weights)`` in a ``main`` px column (medium gaps)."""
    main = column_px() if main is None else main
    room = main - GAP * (len(weights) - 1)
    return [int(room * w / sum(weights)) for w in weights]


def svg_ui(svg: str, key: str) -> None:
    """A drawing from ``ui.charts``, drawn for the column as it is now (and scaled with it when
    the window is resized)."""
    heatmap_ui(svg, key, column_px())
