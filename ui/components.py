"""The app's two small browser components (Streamlit custom components v2, inline, no build):

- ``heatmap_ui`` shows an SVG heatmap from ``ui.svg`` with a tooltip on every cell ("x₂₂ = 3"),
  grows it with the lesson column (on a wider window, with no rerun) and, where asked,
  reports a click on a cell: each click is a new event, so clicking the same cell again
  counts;
- ``width_probe_ui`` measures the lesson column in the browser (in 20 px steps, again on every
  resize) so the page can lay itself out for the window it is in (``ui.layout``); mounted on
  every lesson, it also hands the keyboard focus back to the page after a toggle is clicked,
  so that ← / → keep stepping.

Their HTML, CSS and JavaScript are constants: nothing typed by a user reaches them. The SVG is
built by ``ui.svg``, which escapes every text it places.
"""

from __future__ import annotations

from functools import cache

import streamlit as st

from ui.layout import DEFAULT_MAIN, MAX_SCALE

_HEATMAP_JS = """
export default function({ parentElement, data, setTriggerValue }) {
  parentElement.innerHTML = data.svg;
  const host = parentElement.host || parentElement;
  const box = parentElement.querySelector('svg');
  const tip = document.createElement('div');
  tip.className = 'tip';
  tip.setAttribute('role', 'tooltip');
  parentElement.appendChild(tip);
  // grow with the lesson column (a wider window, the sidebar closed) without a rerun: the SVG
  // was drawn for data.laid_for px; its viewBox keeps the drawing, its size follows the column
  const main = document.querySelector('[data-testid="stMainBlockContainer"]');
  const scaleOf = (w) => Math.min(data.max_scale, Math.max(1, w / data.base));
  const w0 = +box.getAttribute('width'), h0 = +box.getAttribute('height');
  const fit = () => {
    if (!main) return;
    const cs = getComputedStyle(main);
    const w = main.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    const f = scaleOf(w) / scaleOf(data.laid_for);
    box.setAttribute('width', Math.round(w0 * f));
    box.setAttribute('height', Math.round(h0 * f));
  };
  fit();
  const watch = main ? new ResizeObserver(fit) : null;
  if (watch) watch.observe(main);
  for (const cell of parentElement.querySelectorAll('rect.cell')) {
    cell.addEventListener('mouseenter', () => {
      const c = cell.getBoundingClientRect(), h = host.getBoundingClientRect();
      tip.textContent = cell.dataset.tip;
      tip.style.left = Math.min(c.right - h.left + 4, h.width - 20) + 'px';
      tip.style.top = (c.top - h.top - 4) + 'px';
      tip.style.display = 'block';
    });
    cell.addEventListener('mouseleave', () => { tip.style.display = 'none'; });
    if (data.clickable) {
      cell.addEventListener('click', () => setTriggerValue('cell', cell.dataset.cell));
    }
  }
  if (data.clickable) box.classList.add('clickable');
  return () => { if (watch) watch.disconnect(); };
}
"""
_HEATMAP_CSS = """
:host { display: block; position: relative; font-family: var(--st-font, sans-serif); }
svg { display: block; overflow: visible; }
svg text { pointer-events: none; user-select: none; }
svg.clickable rect.cell { cursor: pointer; }
rect.cell:hover { stroke: #111111; stroke-width: 1; }
.tip { position: absolute; display: none; z-index: 10; pointer-events: none; white-space: nowrap;
  background: #31333f; color: #ffffff; font-size: 13px; padding: 2px 7px; border-radius: 4px; }
"""

# the lesson column's content width, on load and on every resize (debounced), in 20 px steps.
# It is reported only when it differs by more than one step from the one the page was laid out
# for (a scrollbar coming and going as the page grows moves it by one step, and must not rerun
# the page back and forth); the window's width goes in a cookie, so the next visit's first run
# can guess the column.
_PROBE_JS = """
export default function({ data, setStateValue }) {
  const main = document.querySelector('[data-testid="stMainBlockContainer"]');
  if (!main) return;
  const measure = () => {
    document.cookie = `bpl_window=${window.innerWidth}; path=/; max-age=31536000; SameSite=Lax`;
    const cs = getComputedStyle(main);
    const w = main.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    const step = Math.round(w / 20) * 20;
    if (step > 0 && Math.abs(step - data.width) > 20) setStateValue('width', step);
  };
  let timer = null;
  const watch = new ResizeObserver(() => { clearTimeout(timer); timer = setTimeout(measure, 250); });
  watch.observe(main);
  measure();
  // a toggle clicked with the mouse keeps the focus, and Streamlit's ← / → shortcuts ignore keys
  // while an input has it: switching presenter mode on left the arrows dead. A mouse click
  // (detail > 0) hands the focus back to the page; keyboard users keep their place.
  const release = (e) => {
    const box = e.target.closest('label')?.querySelector('input[type="checkbox"]') || e.target;
    if (e.detail > 0 && box instanceof HTMLInputElement && box.type === 'checkbox') {
      setTimeout(() => box.blur(), 0);
    }
  };
  document.addEventListener('click', release, true);
  return () => {
    watch.disconnect(); clearTimeout(timer); document.removeEventListener('click', release, true);
  };
}
"""


@cache
def _heatmap():
    return st.components.v2.component("bpl_heatmap", js=_HEATMAP_JS, css=_HEATMAP_CSS)


@cache
def _probe():
    return st.components.v2.component("bpl_width_probe", js=_PROBE_JS)


def heatmap_ui(svg: str, key: str, laid_for: int, on_click=None) -> None:
    """One heatmap, drawn for a lesson column of ``laid_for`` px and scaled in the browser to
    the column it is in; ``on_click()`` runs when a cell is clicked, the cell ("r,c",
    0-based) in ``reported(key, "cell")``."""
    extra = {"on_cell_change": on_click} if on_click else {}
    data = {
        "svg": svg,
        "clickable": bool(on_click),
        "laid_for": laid_for,
        "base": DEFAULT_MAIN,
        "max_scale": MAX_SCALE,
    }
    _heatmap()(key=key, data=data, width="content", **extra)


def reported(key: str, name: str):
    """A component's last reported value ``name`` (None before any)."""
    res = st.session_state.get(key)
    if res is None:
        return None
    return res.get(name) if hasattr(res, "get") else getattr(res, name, None)


def width_probe_ui(current: int, on_change, key: str = "layout/probe") -> None:
    """Mount the probe (it draws nothing); ``on_change()`` runs when it reports a width other
    than ``current``, the width in ``reported(key, "width")``."""
    _probe()(key=key, data={"width": current}, default={"width": None}, on_width_change=on_change)
