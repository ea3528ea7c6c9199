"""One drawing of a computational graph on the page (the step-through's, the practice
question's): ``st.graphviz_chart`` fitted to the room it has where its text stays readable;
where it would not (a long sum of 80 nodes is thousands of pixels wide), drawn at a readable
scale in a box that scrolls sideways, with the node being visited (or asked about) scrolled
into view, unless the learner asks to fit the whole graph on the page.

The box's CSS holds numbers only, and the scrolling script is a constant: nothing typed
reaches either.
"""

from __future__ import annotations

import functools

import streamlit as st

from ui.graph_dot import ASKED, VISIT, View, natural_width, page_dot

READABLE = 0.55  # below this scale the graph's text is too small to read: it scrolls instead
WIDE_SCALE = 0.75  # ... drawn at this scale (12 px text), in a box that scrolls sideways
# once the browser has drawn the graph, scroll its box to put a node in the middle: Graphviz
# titles each node with its DOT id, and the node meant is filled with the given colour (so an
# older drawing of the same graph is not taken for it)
_SCROLL_JS = """
export default function({ data }) {
  let tries = 0;
  const timer = setInterval(() => {
    const box = document.querySelector(`.st-key-${data.box} [data-testid="stGraphVizChart"]`);
    const titles = box ? [...box.querySelectorAll('g.node > title')] : [];
    const hit = titles.find(t => t.textContent === data.node);
    const node = hit && hit.parentElement.querySelector(`polygon[fill="${data.colour}"]`) && hit.parentElement;
    if (node) {
      const b = box.getBoundingClientRect(), r = node.getBoundingClientRect();
      box.scrollLeft += (r.left + r.width / 2) - (b.left + b.width / 2);
    }
    if (node || ++tries > 50) clearInterval(timer);
  }, 100);
  return () => clearInterval(timer);
}
"""


@functools.cache
def _scroller():
    return st.components.v2.component("bpl_graph_scroll", js=_SCROLL_JS)


def wide(g, room: float) -> bool:
    """Whether the graph, fitted to ``room`` px, would be too small to read."""
    return natural_width(g) * READABLE > room


def chart_ui(g, view: View, room: float, box: str, fit_key: str) -> None:
    """The graph as ``view`` shows it, in a container keyed ``box`` (letters, digits and -),
    with room for ``room`` px; ``fit_key`` keys the toggle that fits a wide graph anyway."""
    px = natural_width(g)
    scrolls = wide(g, room) and not st.toggle(
        "Fit the whole graph on the page",
        key=fit_key,
        help="This graph is wider than the page: it is drawn at a readable size in a box "
        "that scrolls sideways. Fitted, all of it shows at once, smaller.",
    )
    with st.container(key=box):
        chart = f".st-key-{box} [data-testid='stGraphVizChart']"
        # always drawn, so that a fragment's rerun replaces it: a style element left out of
        # the rerun stayed on the page and kept a fitted graph scrolling
        st.html(
            f"<style>{chart} {{ overflow-x: auto; }} {chart} svg {{ max-width: none "
            f"!important; width: {round(px * WIDE_SCALE)}px !important; height: auto "
            "!important; }</style>"
            if scrolls
            else f"<style>{chart} {{ overflow-x: visible; }}</style>"
        )
        st.graphviz_chart(page_dot(g, view), width="content")
    focus = view.visit if view.visit is not None else view.question
    if scrolls and focus is not None:
        colour = VISIT if view.visit is not None else ASKED
        data = {"box": box, "node": f"n{focus}", "colour": colour}
        _scroller()(key=f"{box}/scroll", data=data)
