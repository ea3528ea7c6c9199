import streamlit as st
import sympy as sp

from derivations.typeset import LINE_WIDTH, Typeset
from ui import waiting
from ui.boot import through_router

through_router()


@st.cache_resource(max_entries=4)
def jacobian_example():
    """y = W x for a 2×3 W: sympy's Jacobian in numerator layout is W itself."""
    W = sp.Matrix(2, 3, lambda i, j: sp.Symbol(f"w_{{{i + 1}{j + 1}}}"))
    x = sp.Matrix(3, 1, lambda i, _: sp.Symbol(f"x_{{{i + 1}}}"))
    y = W * x
    return W, x, y, y.jacobian(x)


def total_derivative_example():
    """The binary lesson's y = m·n, shared with every session (derived in a worker)."""
    params = {"shape": (1, 2), "broadcast": "scalar"}
    return waiting.derivation("mul", params, LINE_WIDTH, "y = m·n")


st.title("Notation & Jacobians")
st.caption("The three ideas every other lesson leans on.")

st.subheader("1. dM = ∂J/∂M has the shape of M")
st.latex(
    r"dM = \frac{\partial J}{\partial M} = \begin{bmatrix} \frac{\partial J}{\partial m_{11}} & \cdots & "
    r"\frac{\partial J}{\partial m_{1\beta}} \\ \vdots & \ddots & \vdots \\ \frac{\partial J}{\partial m_{\alpha 1}} "
    r"& \cdots & \frac{\partial J}{\partial m_{\alpha\beta}} \end{bmatrix} \in \mathbb{R}^{\alpha\times\beta}"
)
st.markdown(
    "J is a scalar (the loss). Its gradient with respect to a matrix collects one partial derivative "
    "per entry, laid out like the matrix — so it can be subtracted from it: the gradient-descent "
    "update W := W − α·dW works for every layer. **Whenever a product of gradients does not come "
    "out in the parameter's shape, it is wrong** (note 002 stumbles here)."
)

st.subheader("2. Jacobians in numerator layout")
W, x, y, J = jacobian_example()
st.latex(
    rf"\vec y = W\vec x = {Typeset().bmatrix(y)}, \qquad \frac{{\partial \vec y}}{{\partial \vec x}} = {Typeset().bmatrix(J)} = W"
)
st.markdown(
    "In numerator layout the Jacobian ∂y/∂x has one **row per output** and one **column per "
    "input** (here 2×3). The derivative of a scalar R with respect to a column vector is then a "
    "*row* vector (1×m); the gradient ∇R used in code is its transpose. Chaining is multiplying "
    "left to right: ∂R/∂x = ∂R/∂y · ∂y/∂x, and every factor's shape must fit."
)
st.latex(
    r"\underbrace{\frac{\partial R}{\partial \vec y_1}}_{1\times n} = "
    r"\underbrace{\frac{\partial R}{\partial \vec y_2}}_{1\times m}\;"
    r"\underbrace{\mathrm{diag}\!\left(h'(\vec z_2)\right)}_{m\times m}\;"
    r"\underbrace{W_2}_{m\times n}"
)
st.markdown(
    "**Why $\\vec y = W\\vec x$ here and $Z = XW + b$ in the Dense lesson?** Here x is one "
    "sample written as a column, as note 002 writes it, so "
    "$W \\in \\mathbb{R}^{\\text{out}\\times\\text{in}}$ multiplies from the left. The Dense "
    "layer stacks N samples as the *rows* of X, as note 004 does, so there "
    "$W \\in \\mathbb{R}^{\\text{in}\\times\\text{out}}$ and each row reads "
    "$\\vec z^\\top = \\vec x^\\top W$: the same layer, transposed."
)
st.page_link("pages/dense.py", label="See Z = X·W + b worked out in the Dense layer lesson →")

st.subheader("3. The total derivative: paths add up")
d = total_derivative_example()
st.latex(
    r"\begin{bmatrix} y_{11} & y_{12} \end{bmatrix} = \begin{bmatrix} m_{11} n & m_{12} n \end{bmatrix}"
)
chain = next(s for s in d.steps if s.kind == "chain" and s.focus == "N")
st.latex(chain.latex.replace("n_{11}", "n"))
st.markdown(
    "A variable that feeds several paths collects the gradient of every path: n is used by both "
    "y₁₁ and y₁₂, so ∂J/∂n is the **sum** of both contributions. The same rule makes a bias's "
    "gradient a sum over the batch, and a convolution kernel's gradient a sum over every position "
    "it visited."
)
st.page_link("pages/binary.py", label="Try it with broadcasting in Binary ops →")
