"""Rows of heatmaps, sized from the page's :class:`ui.layout.Layout`: each matrix as wide as
its cells need (never squeezed, never cut off), side by side while they fit and wrapping onto
the next line when they do not — the browser does the wrapping (a horizontal container), so it
holds at any window width."""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from ui.components import heatmap_ui
from ui.layout import Layout
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
