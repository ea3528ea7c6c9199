"""On a pattern step, the pattern worked through with the learner's numbers: its operands as
heatmaps, the window one result cell reads outlined in them, and that cell's sum written out —
a slider steps the window over every result cell. The maths is in ``ui.patterns``; this module
only draws."""

from __future__ import annotations

import numpy as np
import streamlit as st
import sympy as sp

from derivations.typeset import equalities, num, ordered_sum
from ui import explain, links, patterns
from ui.figures import Fig, figures_ui
from ui.layout import Layout
from ui.state import Keys

_HOW = {
    "correlate": "Each cell of {r} is the window of {a} it sits under (outlined) times {b}, "
    "entry by entry, summed; zeros in the window are padding. Move the slider to slide the "
    "window.",
    "matmul": "Each cell of {r} is a row of {a} times a column of {b} (outlined), summed.",
    "cells": "Each cell of {r} takes the outlined entries of {ops}.",
    "plain": "{ops} with your numbers; {r} is made from them as the formula above says.",
}


def _result_key(pattern) -> str:
    return f"d:{pattern.grad}" if pattern.grad else "out"


def _choose_ui(keys: Keys, d, j: int, pats: list):
    if len(pats) == 1:
        return pats[0]
    titles = {p.label: dict(links.panels(d))[_result_key(p)] for p in pats}
    label = st.segmented_control(
        "Which gradient",
        list(titles),
        format_func=titles.get,
        key=f"{keys.page}/pat/{j}",
        default=pats[0].label,
        label_visibility="collapsed",
    )
    return next((p for p in pats if p.label == label), pats[0])


def _cell_ui(keys: Keys, d, j: int, pattern, shape) -> tuple[int, int]:
    rkey = _result_key(pattern)
    options = [f"{r},{c}" for r in range(shape[0]) for c in range(shape[1])]
    key = f"{keys.page}/pat/{j}/{pattern.label}/cell"
    if st.session_state.get(key) not in options:
        st.session_state[key] = options[0]
    if len(options) == 1:
        return (0, 0)
    pick = st.select_slider(
        "Result cell",
        options,
        key=key,
        format_func=lambda o: links.cell_label(d, rkey, tuple(int(v) for v in o.split(","))),
    )
    return tuple(int(v) for v in pick.split(","))


def _sum_latex(d, pattern, geo, operands, idx, numbers, layout: Layout) -> str:
    rkey = _result_key(pattern)
    total = num(numbers[rkey][idx])
    if pattern.grad:
        lhs = rf"\frac{{\partial {d.loss}}}{{\partial {sp.latex(d.inputs[pattern.grad][idx])}}}"
    else:
        lhs = sp.latex(d.out_symbols[idx])
    sym, nums = patterns.sum_parts(d, pattern, geo, operands, idx)
    if geo.bias:
        sym.append("b")
        nums.append(f"({num(numbers['b'][0, 0])})")
    groups = [(explain.elided(sym), ordered_sum), (explain.elided(nums), ordered_sum)]
    return equalities(lhs, groups, total, layout.full_units)


def _figs(keys: Keys, d, j: int, pattern, operands, marks, result, idx) -> list[Fig]:
    """The operands, the cells one result cell reads outlined, then the result, that cell
    outlined."""
    rkey = _result_key(pattern)
    figs = [
        Fig(
            f"{keys.page}/pat/{j}/{pattern.label}/{n}",
            o,
            patterns.operand_title(d, n, m),
            patterns.operand_labels(d, m),
            highlight=sorted(set(cells)),
        )
        for (n, m), o, cells in zip(pattern.operands.items(), operands, marks, strict=True)
    ]
    rows, cols = np.shape(result)
    names = [[links.cell_label(d, rkey, (r, c)) for c in range(cols)] for r in range(rows)]
    title = dict(links.panels(d))[rkey]
    figs.append(
        Fig(f"{keys.page}/pat/{j}/{pattern.label}/result", result, title, names, selected=idx)
    )
    return figs


def _marks(d, pattern, geo, operands, idx, works: bool) -> list:
    if works:
        return patterns.window(geo, [o.shape for o in operands], idx)
    if geo.kind == "cells":
        return patterns.used_cells(d, pattern, d.grads[pattern.grad][idx], idx)
    return [[] for _ in operands]


def pattern_ui(keys: Keys, d, j: int, numbers, layout: Layout, extra: dict) -> None:
    """The pattern(s) of step ``j`` with numbers (nothing on other steps)."""
    pats = patterns.for_step(d, d.steps, j)
    if not pats:
        return
    st.markdown("**The pattern with your numbers**")
    pattern = _choose_ui(keys, d, j, pats)
    geo = patterns.geometry(d, pattern)
    operands = extra["operands"](pattern)
    result = numbers[_result_key(pattern)]
    works = patterns.check(geo, operands, result, float(numbers["b"][0, 0]) if geo.bias else 0.0)
    idx = _cell_ui(keys, d, j, pattern, np.shape(result))
    marks = _marks(d, pattern, geo, operands, idx, works)
    figures_ui(_figs(keys, d, j, pattern, operands, marks, result, idx), layout, 220, layout.main)
    titles = [patterns.operand_title(d, n, m) for n, m in pattern.operands.items()]
    rtitle = dict(links.panels(d))[_result_key(pattern)]
    how = _HOW[geo.kind if works or geo.kind == "cells" else "plain"]
    st.caption(how.format(r=rtitle, a=titles[0], b=titles[-1], ops=" and ".join(titles)))
    if works:
        st.latex(_sum_latex(d, pattern, geo, operands, idx, numbers, layout))
    elif geo.kind == "cells":
        tex, _ = explain.gradient_latex(
            d, pattern.grad, idx, extra["values"], extra["upstream"], width=layout.full_units
        )
        st.latex(tex)
