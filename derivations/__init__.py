"""Backprop Lab's symbolic derivations: ``derive(op, **params)`` builds, for the chosen sizes,
the symbolic inputs, the forward expansions, every gradient by the chain rule, the pattern it
forms (proven by sympy), and the lesson steps in KaTeX-renderable LaTeX.

Each op is two functions: its maths (``*_math(**params, scope=...)`` → :class:`Math`) and its
lesson (``*_lesson(math, typeset)`` → steps). ``MATH`` and ``LESSONS`` below list them.
"""

from __future__ import annotations

from functools import partial

from grading import Feedback, check_answer, names_for
from mathtext.graph import expression_graph
from mathtext.parse import parse_expression

from . import lessons as L
from .attention import attention_math
from .conv import conv2d_math, conv2d_work, conv_transpose2d_math, conv_transpose2d_work
from .custom_op import custom_math
from .dense import linear_math, softmax_ce_math
from .derivation import Derivation, Math, Step
from .elementwise import BINARY, binary_math, reduction_math, unary_math
from .lessons.custom import custom_lesson
from .network import cnn_math, mlp_math
from .norm import batch_norm_math, layer_norm_math
from .params import MAX_SIDE, as_count
from .pool import avg_pool2d_math, max_pool2d_math, pool_work
from .residual import residual_math
from .symbols import Scope, as_scope
from .typeset import LINE_WIDTH, MIN_UNITS, Typeset

UNARY_OPS = ("relu", "sigmoid", "tanh", "exp", "log", "leaky_relu", "softplus")

# op → (its maths, its lesson)
OPS = {
    "conv2d": (conv2d_math, L.conv2d_lesson),
    "conv_transpose2d": (conv_transpose2d_math, L.conv_transpose2d_lesson),
    "max_pool2d": (max_pool2d_math, L.max_pool2d_lesson),
    "avg_pool2d": (avg_pool2d_math, L.avg_pool2d_lesson),
    **{op: (partial(unary_math, op), L.unary_lesson) for op in UNARY_OPS},
    **{op: (partial(binary_math, op), L.binary_lesson) for op in BINARY},
    "sum": (partial(reduction_math, "sum"), L.reduction_lesson),
    "mean": (partial(reduction_math, "mean"), L.reduction_lesson),
    "linear": (linear_math, L.linear_lesson),
    "softmax_cross_entropy": (softmax_ce_math, L.softmax_ce_lesson),
    "batch_norm": (batch_norm_math, L.norm_lesson),
    "layer_norm": (layer_norm_math, L.norm_lesson),
    "residual": (residual_math, L.residual_lesson),
    "attention": (attention_math, L.attention_lesson),
    "mlp": (mlp_math, L.mlp_lesson),
    "cnn": (cnn_math, L.cnn_lesson),
    "custom": (custom_math, custom_lesson),  # your own f(x), typed as text
}
BUILDERS = OPS  # the names derive() accepts
# the ops whose size is a product of several parameters, and how to count it up front
WORK = {
    "conv2d": conv2d_work,
    "conv_transpose2d": conv_transpose2d_work,
    "max_pool2d": partial(pool_work, "max_pool2d"),
    "avg_pool2d": partial(pool_work, "avg_pool2d"),
}


def derive_math(op: str, **params) -> Math:
    """The maths of ``op`` alone (no lesson); ``scope=Scope(layer=ℓ)`` names its symbols for
    layer ℓ of a network. ValueError as derive()."""
    if op not in OPS:
        raise ValueError(f"unknown op {op!r}; choose one of: {', '.join(OPS)}")
    if "scope" in params:
        params["scope"] = as_scope(op, params["scope"])
    try:
        return OPS[op][0](**params)
    except TypeError as exc:  # an unknown keyword
        raise ValueError(f"{op}: {exc}") from None


def clear_caches() -> None:
    """Forget sympy's cache and the derivations' own memo tables (widths, sort keys), so that a
    benchmark times a derive() from cold."""
    from sympy.core.cache import clear_cache

    from .algebra import _symbol_key
    from .typeset import visible_len

    clear_cache()
    _symbol_key.cache_clear()
    visible_len.cache_clear()


def work(op: str, **params) -> int:
    """How many partial derivatives ``derive(op, **params)`` would build, counted without
    building them (for the ops in WORK; the others are bounded by their sizes alone).
    ValueError as derive() for impossible parameters or more work than ``MAX_WORK``."""
    if op not in WORK:
        raise ValueError(f"work: {op!r} is not counted; the counted ops are {', '.join(WORK)}")
    try:
        return WORK[op](**params)
    except TypeError as exc:  # an unknown keyword
        raise ValueError(f"{op}: {exc}") from None


def derive(op: str, *, line_width: int = LINE_WIDTH, **params) -> Derivation:
    """The derivation of ``op`` for these parameters, its lesson set for a column
    ``line_width`` units wide; ValueError for an unknown op, an unknown parameter or impossible
    sizes, with a message a student can act on."""
    # units_for() gives at least 8; 400 units is a 5,400 px column
    width = as_count("derive", "line_width", line_width, MIN_UNITS, 400)
    m = derive_math(op, **params)
    return Derivation.of(m, OPS[op][1](m, Typeset(width)))


__all__ = [
    "BUILDERS",
    "LINE_WIDTH",
    "MAX_SIDE",
    "OPS",
    "Derivation",
    "Math",
    "Scope",
    "Step",
    "Typeset",
    "clear_caches",
    "derive",
    "derive_math",
    "work",
    "Feedback",
    "check_answer",
    "names_for",
    "parse_expression",
    "expression_graph",
]
