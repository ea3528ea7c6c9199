"""Backprop Lab: the router. Each lesson lives in pages/; this file only lists them."""

import streamlit as st

st.set_page_config(page_title="Backprop Lab", page_icon=":material/function:", layout="wide")

HOME = st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)
LESSONS = {
    "Start here": [
        HOME,
        st.Page(
            "pages/notation.py",
            title="Notation & Jacobians",
            icon=":material/straighten:",
            url_path="notation",
        ),
    ],
    "Building blocks": [
        st.Page(
            "pages/elementwise.py",
            title="Element-wise ops",
            icon=":material/show_chart:",
            url_path="elementwise",
        ),
        st.Page(
            "pages/binary.py", title="Binary ops", icon=":material/add_circle:", url_path="binary"
        ),
        st.Page(
            "pages/reductions.py",
            title="Sum & mean",
            icon=":material/functions:",
            url_path="reductions",
        ),
    ],
    "Layers": [
        st.Page(
            "pages/conv2d.py", title="Conv2D backprop", icon=":material/grid_on:", url_path="conv2d"
        ),
        st.Page(
            "pages/conv_transpose2d.py",
            title="Transposed conv2d",
            icon=":material/open_in_full:",
            url_path="conv_transpose2d",
        ),
        st.Page(
            "pages/pooling.py",
            title="Pooling",
            icon=":material/filter_center_focus:",
            url_path="pooling",
        ),
        st.Page(
            "pages/softmax.py",
            title="Softmax + cross-entropy",
            icon=":material/target:",
            url_path="softmax",
        ),
        st.Page("pages/dense.py", title="Dense layer", icon=":material/hub:", url_path="dense"),
    ],
}

st.navigation(LESSONS).run()
