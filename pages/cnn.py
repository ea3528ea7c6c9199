import streamlit as st

from ui import cnn_view as view
from ui.boot import through_router
from ui.lesson import guarded, lesson_section
from ui.registry import CONV2D, DENSE, ELEMENTWISE, POOLING, SOFTMAX, page_of

through_router()

st.title(page_of(__file__).heading)
st.caption(
    "1,797 handwritten digits of 8×8 pixels (UCI, via scikit-learn). Train a small "
    "convolutional network live, look at what it learned, then follow one image's gradient "
    "backwards through every layer. Below, the same chain derived by hand on a toy size."
)


def training(page: str) -> None:
    cfg = view.settings_ui()
    view.board_ui(cfg)
    run = view.current_run(cfg)
    st.subheader("What it gets wrong")
    view.results_ui(run)
    st.subheader("One test image, forward and backward")
    view.image_ui(run)
    with st.expander("Verify: engine = finite differences on this network"):
        view.verify_ui(run)


guarded(__file__, training)
st.divider()
lesson_section(
    __file__,
    "conv → ReLU → max pool → flatten → dense → softmax + cross-entropy on a toy size: every "
    "gradient by the chain rule, followed backwards as note 003 does, and one kernel weight "
    "written end to end."
    + (
        " The network above has a batch norm after its convolution; this chain is the plain one, "
        "without it (the Normalisation page derives batch norm)."
        if st.session_state.get(view.k("batch_norm"))
        else ""
    ),
    made_of=(CONV2D, ELEMENTWISE, POOLING, DENSE, SOFTMAX),
)
