"""Backprop Lab's symbolic derivations: ``derive(op, **params)`` builds, for the chosen sizes,
the symbolic inputs, the forward expansions, every gradient by the chain rule, the pattern it
forms (proven by sympy), and the lesson steps in KaTeX-renderable LaTeX."""

from __future__ import annotations

from functools import partial

from .answers import Feedback, check_answer, names_for
from .conv import derive_conv2d, derive_conv_transpose2d
from .core import MAX_SIDE, Derivation, Step
from .dense import derive_linear, derive_softmax_cross_entropy
from .elementwise import derive_binary, derive_reduction, derive_unary
from .parse import parse_expression
from .pool import derive_avg_pool2d, derive_max_pool2d

BUILDERS = {
    "conv2d": derive_conv2d,
    "conv_transpose2d": derive_conv_transpose2d,
    "max_pool2d": derive_max_pool2d,
    "avg_pool2d": derive_avg_pool2d,
    **{op: partial(derive_unary, op) for op in ("relu", "sigmoid", "tanh", "exp", "log")},
    **{op: partial(derive_binary, op) for op in ("add", "sub", "mul", "div")},
    "sum": partial(derive_reduction, "sum"),
    "mean": partial(derive_reduction, "mean"),
    "linear": derive_linear,
    "softmax_cross_entropy": derive_softmax_cross_entropy,
}


def derive(op: str, **params) -> Derivation:
    """The derivation of ``op`` for these parameters; ValueError for an unknown op, an unknown
    parameter or impossible sizes, with a message a student can act on."""
    if op not in BUILDERS:
        raise ValueError(f"unknown op {op!r}; choose one of: {', '.join(BUILDERS)}")
    try:
        return BUILDERS[op](**params)
    except TypeError as exc:  # an unknown keyword
        raise ValueError(f"{op}: {exc}") from None


__all__ = ["BUILDERS", "MAX_SIDE", "Derivation", "Step", "derive"]
__all__ += ["Feedback", "check_answer", "names_for", "parse_expression"]
