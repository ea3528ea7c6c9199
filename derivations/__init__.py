"""Backprop Lab's symbolic derivations: ``derive(op, **params)`` builds, for the chosen sizes,
the symbolic inputs, the forward expansions, every gradient by the chain rule, the pattern it
forms (proven by sympy), and the lesson steps in KaTeX-renderable LaTeX.

Each op is two functions: its maths (``*_math(**params, scope=...)`` → :class:`Math`) and its
lesson (``*_lesson(math, typeset)`` → steps); ``DERIVATIONS`` (``derivations/table.py``) lists
them with the op's parameters.
"""

from __future__ import annotations

from grading import Feedback, check_answer, names_for
from mathtext.graph import expression_graph
from mathtext.parse import parse_expression

from .derivation import Derivation, Math, Step
from .params import MAX_SIDE, as_count
from .symbols import Scope, as_scope
from .table import DERIVATIONS, DerivationSpec
from .typeset import LINE_WIDTH, MIN_UNITS, Typeset

# the ops whose size is a product of several parameters, and how to count it up front
WORK = {name: e.work for name, e in DERIVATIONS.items() if e.work is not None}


def derive_math(op: str, **params) -> Math:
    """The maths of ``op`` alone (no lesson); ``scope=Scope(layer=ℓ)`` names its symbols for
    layer ℓ of a network. ValueError as derive()."""
    if op not in DERIVATIONS:
        raise ValueError(f"unknown op {op!r}; choose one of: {', '.join(DERIVATIONS)}")
    if "scope" in params:
        params["scope"] = as_scope(op, params["scope"])
    try:
        return DERIVATIONS[op].math(**params)
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
    return Derivation.of(m, DERIVATIONS[op].lesson(m, Typeset(width)))


__all__ = [
    "DERIVATIONS",
    "LINE_WIDTH",
    "MAX_SIDE",
    "WORK",
    "DerivationSpec",
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
