import streamlit as st

from ui import attention_backward as backward
from ui import attention_view as view
from ui.boot import through_router
from ui.lesson import guarded, made_of_ui
from ui.registry import ATTENTION, DENSE, SOFTMAX, page_of

through_router()

st.title(page_of(__file__).heading)
st.caption(
    "Token embedding + learned position embedding → one head of self-attention → a linear "
    "read-out per position, trained with Adam to reverse (or sort) short sequences of tokens. "
    "Press Train and watch the attention map P of one sequence: each output position learns "
    "where in the input its token is. Below, that sequence's gradient through the layer, "
    "formula by formula, with its numbers."
)


def training(page: str) -> None:
    cfg = view.valid(view.settings_ui())
    view.notices_ui()
    st.query_params.from_dict(view.url_of())
    run = view.current_run(cfg)
    tokens, name = view.example_ui(run, cfg)
    view.board_ui(cfg, tokens, name)
    st.subheader("Its backward pass through the attention layer")
    backward.backward_ui(view.current_run(cfg), cfg["task"], tokens, name, view.k)


guarded(__file__, training)
st.divider()
made_of_ui((ATTENTION, DENSE, SOFTMAX))
