"""The "Attention, trained" page's backward pass: one sequence's gradient through the trained
attention layer, each of the lesson's formulas beside the numbers it gives on this sequence, and
each checked — the formula evaluated in plain numpy against the engine's own gradient
(``engine.attention_backward`` for Q, K and V, ``SelfAttention.backward`` for the weights)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from ui import seq_training as T
from ui.cnn_backward import row_ui
from ui.registry import ATTENTION
from ui.verify import markdown_table

TOL = 1e-9  # |formula − engine| allowed, relative to the largest |entry| (float64 rounding)
D = r"\frac{\partial L}{\partial %s}"


def _d(x: str) -> str:
    return D % x


def _agrees(b: T.Backward, name: str) -> bool:
    return b.difference(name) <= TOL * max(1.0, float(np.max(np.abs(b.engine[name]))))


def check_md(b: T.Backward, name: str, what: str) -> str:
    """The check's line: ✓ formula = engine, largest |difference| 2.8e-17, computed (✗ if not)."""
    diff, ok = b.difference(name), _agrees(b, name)
    mark = ":green[✓]" if ok else ":red[✗ differs]"
    return f"{mark} the formula above = {what}: largest |difference| {diff:.1e}"


def _grid(a, title: str, *, diverging=True, texts=True, ticks=None, px=34) -> dict:
    """One item of ``row_ui``: every value printed where the grid is small."""
    a = np.atleast_2d(a)
    item = dict(a=a, title=title, px=px)
    if diverging:
        item.update(palette="diverging", colorbar=True)
    else:  # weights of a softmax, in [0, 1]: the attention map's scale
        item.update(palette="blues", zmax=1.0)
    if texts and a.shape[1] <= 8:
        item["texts"] = [[f"{v:.2f}" if abs(v) >= 0.005 else f"{v:.0e}" for v in r] for r in a]
    if ticks is not None:
        item["row_ticks"] = ticks
    return item


def backward_ui(run: T.SeqRun, task: str, tokens: np.ndarray, name: str, key) -> None:
    """The section: forward in the lesson's letters, then each gradient, formula first."""
    with run.lock:
        b = T.example_backward(run.model, tokens, task)
    n, d = len(tokens), b.d
    st.markdown(
        f"The model at step {run.steps:,}. {name.capitalize()}: {' '.join(map(str, tokens))} → target "
        f"{' '.join(map(str, b.target))}, loss L = {b.loss:.4g} (the mean of the {n} positions' "
        f"cross-entropies). Here d = {d}, so √d = {np.sqrt(d):.3g}."
    )
    st.page_link(
        ATTENTION.path,
        label="Attention lesson: every entry of these formulas derived, at 4 × 4",
        icon=ATTENTION.icon,
        query_params={"queries": "4", "keys": "4", "d_k": "4", "d_v": "4"},
    )
    _forward(b, key)
    _into_o(b, key)
    _into_v(b, key)
    _into_s(b, key)
    _into_qk(b, key)
    _weights(b)


def _forward(b: T.Backward, key) -> None:
    # two lines: one was cut off at the right of a 1280 px window
    st.latex(r"Q = xW_q + b_q,\quad K = xW_k + b_k,\quad V = xW_v + b_v")
    st.latex(
        r"S = \frac{QK^\top}{\sqrt d},\quad P = \mathrm{softmax}_{\text{rows}}(S),\quad "
        r"O = PV,\quad Y = OW_o + b_o"
    )
    st.caption(
        "x: the layer's input, a row per position (token embedding + position embedding); "
        "Y goes to the linear read-out, whose softmax + cross-entropy gives L."
    )
    a = b.arrays
    row_ui([_grid(a["S"], "S = QKᵀ/√d"), _grid(a["P"], "P", diverging=False)], key("fwd"))


def _into_o(b: T.Backward, key) -> None:
    st.latex(rf"{_d('O')} = {_d('Y')}\, W_o^\top")
    st.caption(
        f"∂L/∂Y comes back from the read-out, a row per position and a column per feature "
        f"({b.arrays['dY'].shape[0]} × {b.arrays['dY'].shape[1]})."
    )
    a = b.arrays
    row_ui([_grid(a["dY"], "∂L/∂Y", px=18), _grid(a["dO"], "∂L/∂O", px=18)], key("dO"))


def _into_v(b: T.Backward, key) -> None:
    st.latex(rf"{_d('V')} = P^\top {_d('O')}")
    a, f = b.arrays, b.formula
    row_ui(
        [
            _grid(a["P"].T, "Pᵀ", diverging=False),
            _grid(a["dO"], "∂L/∂O", px=18),
            _grid(f["dV"], "∂L/∂V = Pᵀ ∂L/∂O", px=18),
        ],
        key("dV"),
    )
    st.markdown(check_md(b, "dV", "engine.attention_backward's ∂L/∂V"))


def _into_s(b: T.Backward, key) -> None:
    a, f = b.arrays, b.formula
    st.latex(
        rf"{_d('P')} = {_d('O')}\, V^\top,\qquad "
        rf"{_d('S')} = P \odot \Big({_d('P')} - \mathrm{{rowsum}}\big({_d('P')} \odot P\big)\Big)"
    )
    st.caption(
        "The second is the softmax Jacobian diag(p) − ppᵀ applied to each row: "
        "∂p_i/∂s_j = p_i([i = j] − p_j). Taken as diagonal (p_i(1 − p_i) alone), the rowsum "
        "term would be missing."
    )
    rowsum = (f["dP"] * a["P"]).sum(axis=1, keepdims=True)
    row_ui(
        [
            _grid(f["dP"], "∂L/∂P = ∂L/∂O Vᵀ"),
            _grid(rowsum, "rowsum(∂L/∂P ⊙ P)", px=52),
            _grid(f["dS"], "∂L/∂S"),
        ],
        key("dS"),
    )
    worst = float(np.max(np.abs(f["dS"].sum(axis=1))))
    st.markdown(
        f"Each row of ∂L/∂S sums to 0 (largest |row sum| here {worst:.1e}): adding a constant "
        "to a row of scores does not change its softmax, so that direction has no gradient. "
        "∂L/∂P and ∂L/∂S are checked through ∂L/∂Q and ∂L/∂K, which are made of them."
    )


def _into_qk(b: T.Backward, key) -> None:
    st.latex(
        rf"{_d('Q')} = {_d('S')}\, \frac{{K}}{{\sqrt d}},\qquad "
        rf"{_d('K')} = \left({_d('S')}\right)^{{\!\top}} \frac{{Q}}{{\sqrt d}}"
    )
    f = b.formula
    row_ui(
        [
            _grid(f["dQ"], "∂L/∂Q = ∂L/∂S K/√d", px=18),
            _grid(f["dK"], "∂L/∂K = (∂L/∂S)ᵀ Q/√d", px=18),
        ],
        key("dQK"),
    )
    st.markdown(check_md(b, "dQ", "engine.attention_backward's ∂L/∂Q"))
    st.markdown(check_md(b, "dK", "engine.attention_backward's ∂L/∂K"))


WEIGHTS = {
    "dq.weight": ("∂L/∂W_q = xᵀ ∂L/∂Q", '"q.weight"'),
    "dk.weight": ("∂L/∂W_k = xᵀ ∂L/∂K", '"k.weight"'),
    "dv.weight": ("∂L/∂W_v = xᵀ ∂L/∂V", '"v.weight"'),
    "dout.weight": ("∂L/∂W_o = Oᵀ ∂L/∂Y", '"out.weight"'),
}


def _weights(b: T.Backward) -> None:
    st.markdown(
        "Each projection is a dense layer applied at every position, so its weight gradient is "
        "the dense layer's, summed over the positions:"
    )
    rows = [
        {
            "gradient": formula,
            "shape": "×".join(map(str, b.formula[name].shape)),
            "engine (SelfAttention.backward)": f"grads[{param}]",
            "largest |difference|": f"{b.difference(name):.1e}",
            "": "✓" if _agrees(b, name) else "✗ differs",
        }
        for name, (formula, param) in WEIGHTS.items()
    ]
    # Markdown, not st.dataframe: the grid's 1.5 MB of code would load on every first visit
    st.markdown(markdown_table(pd.DataFrame(rows)))
