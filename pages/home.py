import streamlit as st

from ui.boot import through_router
from ui.layout import WRAP_LINKS_CSS
from ui.registry import HOME, groups

through_router()

st.title("Backprop Lab")
st.markdown(
    "Watch every gradient of a neural network **derived by hand** — symbolically, for any size you "
    "choose — and then see the **same numbers** computed on real arrays and checked against each other."
)

left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader("How a lesson works")
    st.markdown(
        "1. **Choose sizes** in the sidebar (input, kernel, stride, padding, dilation …) and the "
        "numbers: the notes' example, random integers, random reals, or your own.\n"
        "2. **Step through** the derivation with *Next*: the setup, every forward expansion, the "
        "chain rule written out term by term (zero terms struck through), and the pattern it "
        "forms — proven by sympy for your sizes (:material/verified:).\n"
        "3. **Compare** each symbolic step with the same matrices filled with your numbers.\n"
        "4. **Click any cell** to see which cells fed it and its chain-rule sum with numbers.\n"
        "5. **Verify**: the symbolic gradient, the numpy engine, finite differences (and PyTorch, "
        "if installed) must agree.\n"
        "6. **Share** the URL (it holds your settings and step) or download the derivation as "
        "Markdown or LaTeX and the arrays as .npz or CSV.\n"
        "7. **Practise** (*Practice: your turn*, under the steps): type hidden gradient entries "
        "and have them checked symbolically, with hints, or find the slips the notes make."
    )
with right:
    st.subheader("Notation")
    st.latex(
        r"X = \begin{bmatrix} x_{11} & x_{12} & \cdots \\ x_{21} & x_{22} & \cdots \\ \vdots & & \ddots \end{bmatrix}"
    )
    st.markdown(
        "- Indices are 1-based, row then column: x₁₁ is the **top-left** entry, and every heatmap "
        "has row 1 at the top.\n"
        "- ⊛ is cross-correlation (no kernel flip), as in every deep-learning framework; "
        "rot180(K) flips both axes.\n"
        "- ∂L/∂Z (or dM = ∂J/∂M) is the gradient arriving from above and has the shape of Z (M).\n"
        "- Dense layers keep one sample per row: $Z = XW + b$, $W \\in \\mathbb{R}^{\\text{in}\\times\\text{out}}$.\n"
        "- ReLU′(0) = 0 and max-pool ties go to the first maximum, as in PyTorch."
    )

st.subheader("Lesson map")
# every page but this one, grouped as in the navigation: the registry lists them once
MAP = [(g, [p for p in pages if p is not HOME]) for g, pages in groups().items()]
MAP = [(g, pages) for g, pages in MAP if pages]
st.html(WRAP_LINKS_CSS)
cols = st.columns(len(MAP), gap="medium")
for col, (group, pages) in zip(cols, MAP, strict=True):
    with col:
        st.markdown(f"**{group}**")
        for page in pages:
            st.page_link(page.path, label=page.title, icon=page.icon)
            st.caption(page.blurb)

st.info(
    "Your turn: every lesson has a practice section where you type gradient entries yourself, "
    "and *Your own function* derives the lesson for any f(x) you type.",
    icon=":material/explore:",
)
