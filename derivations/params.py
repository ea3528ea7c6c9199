"""Checking derive()'s parameters: whole numbers and (rows, cols) pairs within bounds, and the
total work a derivation would do, with messages a student can act on. Every bound is a
ValueError before any symbolic work starts.

The bounds come from ``python -m bench.bounds``, which derives every op at the largest settings
its lesson offers and at these caps: the caps sit above what the lessons offer (the parameters'
bounds in derivations/table.py; a test keeps it so), and the largest derivation they let
through takes about a second on the project's 2-core machine. ``MAX_WORK`` bounds the product
of the sizes, which no cap on a single parameter does.
"""

from __future__ import annotations

import numpy as np

MAX_SIDE = 16  # an input's side: past it nobody reads the steps
MAX_KERNEL = 8  # a convolution kernel's side (the lessons offer 6)
MAX_STEP = 8  # stride and dilation (the lessons offer 4)
MAX_PADDING = 8  # a convolution's zero padding (the lessons offer 4)
MAX_WINDOW = 8  # a pooling window's side and stride (the lessons offer 6)
MAX_POOL_PADDING = MAX_WINDOW // 2  # padding may be at most half the window
# partial derivatives one derivation may build (its sparse Jacobian's entries): the lessons'
# largest settings need 18,873 (a 16×16 transposed convolution with a 6×6 kernel); a 16×16
# convolution with an 8×8 kernel and padding 8 would need 33,393 (0.7 s of CPU, 2 s and more
# on this busy machine). 24,000 takes about half a second of CPU.
MAX_WORK = 24_000


class TooBig(ValueError):
    """A parameter past one of derive()'s bounds, or more work than MAX_WORK, as opposed to an
    impossible combination (a kernel larger than the input): the tests keep every setting the
    lessons offer clear of these."""


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _shown(p: tuple[int, int]) -> str:
    return str(p[0]) if p[0] == p[1] else f"{p[0]}×{p[1]}"


def as_pair(op: str, name: str, v, minimum: int, maximum: int | None = None) -> tuple[int, int]:
    if _is_int(v):
        p = (int(v), int(v))
    elif isinstance(v, (tuple, list)) and len(v) == 2 and all(_is_int(e) for e in v):
        p = (int(v[0]), int(v[1]))
    else:
        raise ValueError(
            f"{op}: {name} should be a whole number or a (rows, cols) pair, not {v!r}."
        )
    if min(p) < minimum:
        raise ValueError(f"{op}: {name} must be at least {minimum}; you gave {v!r}.")
    if maximum is not None and max(p) > maximum:
        raise TooBig(
            f"{op}: {name} {_shown(p)} is more than {maximum}, the largest this derivation takes."
        )
    return p


def as_shape(op: str, name: str, v, cap: int = MAX_SIDE) -> tuple[int, int]:
    p = as_pair(op, name, v, 1)
    if max(p) > cap:
        raise TooBig(
            f"{op}: {name} {p[0]}×{p[1]} is larger than {cap}×{cap}, the largest size whose "
            f"derivation stays readable. Choose at most {cap} per side."
        )
    return p


def as_count(op: str, name: str, v, lo: int = 1, hi: int = MAX_SIDE) -> int:
    if not _is_int(v) or not lo <= v <= hi:
        error = TooBig if _is_int(v) and v > hi else ValueError
        raise error(f"{op}: {name} must be a whole number from {lo} to {hi}; you gave {v!r}.")
    return int(v)


def axis_pairs(starts: int, taps: int, step: int, pad: int, spacing: int, size: int) -> int:
    """Along one axis, how many (start i, tap m) pairs land on one of ``size`` cells at
    i·step + m·spacing − pad: the x·k products a convolution's outputs hold, the cells its
    windows cover. Two axes multiply, so a derivation's size is known before it is built."""
    return sum(
        1 for i in range(starts) for m in range(taps) if 0 <= i * step + m * spacing - pad < size
    )


def check_work(op: str, partials: int, what: str) -> int:
    """``partials`` (the Jacobian entries the derivation would build), or a ValueError naming
    ``what`` makes them and the limit."""
    if partials > MAX_WORK:
        raise TooBig(
            f"{op}: {what} make {partials:,} partial derivatives, more than {MAX_WORK:,}, the most "
            "one derivation builds (so that it stays within seconds). Use a smaller input, "
            "kernel or padding, or a larger stride."
        )
    return partials
