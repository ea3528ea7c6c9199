"""The vocabulary and bounds of the formula grammar (``parse`` explains them):
the functions a learner can call and the limits every check enforces. A leaf module, so the
character, token and tree checks and the parser can all share it."""

from __future__ import annotations

import sympy as sp

MAX_LENGTH = 300  # characters: the longest lesson answer (a 3×3 kernel's 9 products) is ~110
MAX_NODES = 200  # expression nodes in the syntax tree
MAX_DEPTH = 40  # nesting of the syntax tree (parentheses, calls, operators)
MAX_EXPONENT = 10  # |a constant exponent| as typed
MAX_DENOMINATOR = 10  # x**(1/3) yes, x**0.123 no
MAX_TOTAL_EXPONENT = 100  # |an exponent| after sympy merges nested powers
# levels of the sympy tree (sigmoid(u) is 4: a power of a sum holding exp of a product): sympy
# differentiates, expands and prints recursively, ~5 Python frames a level, and the interpreter
# allows 1,000 frames in all (pytest or Streamlit already use ~100 of them)
MAX_TREE_DEPTH = 100
# nodes of the sympy tree counted with repeats (sympy shares repeated sub-expressions, but
# free_symbols, has, xreplace, expand and the printers walk them once per occurrence, and
# relu(u) holds u twice: relu(x - relu(x - …)) doubles at every level)
MAX_TREE_SIZE = 5000
MAX_LITERAL = 10**12
MIN_LITERAL = 1e-12


def _sigmoid(u):
    return 1 / (1 + sp.exp(-u))


def _relu(u):
    # NOTE: a Piecewise, not Max(0, u): its derivative is the ReLU derivation's own partial
    return sp.Piecewise((u, u > 0), (0, True))


def _sign(u):
    # NOTE: a Piecewise, not sympy's sign: its derivative is 0 (sign's is a DiracDelta, which
    # no lesson can show or evaluate), as relu's is the ReLU derivation's partial
    return sp.Piecewise((1, u > 0), (-1, u < 0), (0, True))


# the functions of one argument
FUNCTIONS = {
    "exp": sp.exp,
    "log": sp.log,
    "sin": sp.sin,
    "cos": sp.cos,
    "tanh": sp.tanh,
    "cosh": sp.cosh,
    "sinh": sp.sinh,
    "sigmoid": _sigmoid,
    "relu": _relu,
    "sqrt": sp.sqrt,
    "abs": sp.Abs,
    "sign": _sign,
}
# first_max(c, w1, w2, …): 1 when the cell c is the first maximum of the window w1, w2, …
# (in the order listed, c among them), else 0: max pool's gradient with PyTorch's tie rule,
# short enough to type for a 6×6 window, where the conditions written out are ~380 characters
WINDOW_FUNCTION = "first_max"
CALLABLE = (*FUNCTIONS, WINDOW_FUNCTION)
FUNCTION_LIST = ", ".join(FUNCTIONS) + f", {WINDOW_FUNCTION}(cell, window…)"
