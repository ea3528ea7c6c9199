"""Checking derive()'s parameters: whole numbers and (rows, cols) pairs within bounds, with
messages a student can act on. Every bound is a ValueError before any symbolic work starts."""

from __future__ import annotations

import numpy as np

MAX_SIDE = 16  # the largest matrix side a derivation accepts: past it nobody reads the steps


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


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
        raise ValueError(f"{op}: {name} must be at most {maximum}; you gave {v!r}.")
    return p


def as_shape(op: str, name: str, v, cap: int = MAX_SIDE) -> tuple[int, int]:
    p = as_pair(op, name, v, 1)
    if max(p) > cap:
        raise ValueError(
            f"{op}: {name} {p[0]}×{p[1]} is larger than {cap}×{cap}, the largest size whose "
            f"derivation stays readable. Choose at most {cap} per side."
        )
    return p


def as_count(op: str, name: str, v, lo: int = 1, hi: int = MAX_SIDE) -> int:
    if not _is_int(v) or not lo <= v <= hi:
        raise ValueError(f"{op}: {name} must be a whole number from {lo} to {hi}; you gave {v!r}.")
    return int(v)
