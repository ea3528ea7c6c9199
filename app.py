"""Backprop Lab: the router. Pages live in pages/; this file only lists them."""

import streamlit as st

st.set_page_config(page_title="Backprop Lab", page_icon="∂", layout="wide")
st.title("Backprop Lab")
st.write("Every gradient of a neural network, derived by hand and checked on real numbers.")
