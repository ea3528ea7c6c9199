import streamlit as st

from ui import mlp_settings
from ui import mlp_view as view
from ui.boot import through_router
from ui.lesson import guarded, lesson_section
from ui.registry import DENSE, ELEMENTWISE, SOFTMAX, page_of

through_router()

st.title(page_of(__file__).heading)
st.caption(
    "TensorFlow Playground's place, with the maths it never shows. Pick a 2-D dataset and a "
    "network in the sidebar, take one gradient step and see what it did to every weight, or "
    "train live and watch the boundary form. Below, the same chain of layers derived by hand on "
    "a network small enough to write out."
)


def training(page: str) -> None:
    cfg = mlp_settings.settings_ui()
    mlp_settings.link_errors_ui()
    view.follow_ui(cfg)
    st.session_state[RELATION] = view.lesson_relation(cfg)
    view.board_ui(cfg)


RELATION = f"{view.PAGE}/train/relation"
guarded(__file__, training)
st.divider()
lesson_section(
    __file__,
    "Z⁽ℓ⁾ = A⁽ℓ⁻¹⁾·W⁽ℓ⁾ + b⁽ℓ⁾, an activation, and softmax + cross-entropy at the end: every "
    "gradient by the chain rule, layer by layer as note 002 writes it, each factor's shape under "
    "it. " + st.session_state.get(RELATION, ""),
    made_of=(DENSE, ELEMENTWISE, SOFTMAX),
)
mlp_settings.keep_in_url()  # after the lesson, which rewrites the URL with its own
