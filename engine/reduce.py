"""Sum and mean over all elements or chosen axes, and their gradients."""

from __future__ import annotations

import numpy as np

from . import _checks as ck
from .elementwise import sized


def _axes(fn, x, axis) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(x.ndim))
    items = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in items:
        if not isinstance(a, (int, np.integer)) or isinstance(a, (bool, np.bool_)):
            ck.fail(fn, "axis", "None, an int or a tuple of ints", repr(axis))
        if not -x.ndim <= a < x.ndim:
            ck.fail(fn, "axis", f"in [-{x.ndim}, {x.ndim}) for x of shape {x.shape}", repr(axis))
        out.append(int(a) % x.ndim)
    if len(set(out)) != len(out):
        ck.fail(fn, "axis", "free of repeated axes", repr(axis))
    return tuple(sorted(out))


def sum(x, axis=None):  # noqa: A001 - the op is called sum, as in numpy and torch
    r"""$J = \sum_{r,c} x_{rc}$ (or over ``axis``)."""
    x = sized("sum", "x", x)
    return x.sum(axis=_axes("sum", x, axis))


def mean(x, axis=None):
    r"""$J = \frac{1}{\alpha\beta} \sum_{r,c} x_{rc}$ (or over ``axis``)."""
    x = sized("mean", "x", x)
    return x.mean(axis=_axes("mean", x, axis))


def _spread(fn, dy, x, axis, scale_by_count: bool):
    x, dy = sized(fn, "x", x), sized(fn, "dy", dy)
    axes = _axes(fn, x, axis)
    kept = tuple(n for i, n in enumerate(x.shape) if i not in axes)
    ck.shape_eq(fn, "dy", dy, kept, f"x's shape {x.shape} without the reduced axes {axes}")
    count = int(np.prod([x.shape[i] for i in axes])) if axes else 1
    g = np.expand_dims(dy, axes) if axes else dy
    if scale_by_count:
        g = g / count
    return np.broadcast_to(g, x.shape).astype(np.result_type(x, dy), copy=True)


def sum_backward(dy, x, axis=None):
    r"""Every element gets the upstream unchanged: $dX = dJ \cdot \mathbf{1}$."""
    return _spread("sum_backward", dy, x, axis, scale_by_count=False)


def mean_backward(dy, x, axis=None):
    r"""Every element gets an equal share: $dX = \frac{dJ}{\alpha\beta} \mathbf{1}$."""
    return _spread("mean_backward", dy, x, axis, scale_by_count=True)
