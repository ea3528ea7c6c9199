"""Backprop Lab: the router. Each lesson lives in pages/; this file only lists them."""

import streamlit as st

st.set_page_config(page_title="Backprop Lab", page_icon="∂", layout="wide")

HOME = st.Page("pages/home.py", title="Home", icon="🏠", default=True)
LESSONS = {
    "Start here": [
        HOME,
        st.Page("pages/notation.py", title="Notation & Jacobians", icon="📐", url_path="notation"),
    ],
    "Building blocks": [
        st.Page("pages/elementwise.py", title="Element-wise ops", icon="〰️", url_path="elementwise"),
        st.Page("pages/binary.py", title="Binary ops", icon="➕", url_path="binary"),
        st.Page("pages/reductions.py", title="Sum & mean", icon=":material/functions:", url_path="reductions"),
    ],
    "Layers": [
        st.Page("pages/conv2d.py", title="Conv2D backprop", icon="🔲", url_path="conv2d"),
        st.Page("pages/conv_transpose2d.py", title="Transposed conv2d", icon="🔳", url_path="conv_transpose2d"),
        st.Page("pages/pooling.py", title="Pooling", icon="🧊", url_path="pooling"),
        st.Page("pages/softmax.py", title="Softmax + cross-entropy", icon="🎯", url_path="softmax"),
        st.Page("pages/dense.py", title="Dense layer", icon="🧮", url_path="dense"),
    ],
}

st.navigation(LESSONS).run()
