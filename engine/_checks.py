"""Argument checking shared by every engine op.

Every public op validates its inputs up front so that a student who passes a wrong shape gets a
``ValueError`` naming the function, the argument, what was expected and what was given, instead
of a numpy traceback from deep inside an einsum.
"""

from __future__ import annotations

import numpy as np


def fail(fn: str, arg: str, expected: str, given) -> None:
    raise ValueError(f"{fn}: {arg} must be {expected}, got {given}")


def as_float(fn: str, arg: str, a) -> np.ndarray:
    """float32 stays float32; everything else (ints, bools, lists) becomes float64."""
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{fn}: {arg} must be an array of numbers ({exc})") from None
    if arr.dtype == np.float32 or arr.dtype == np.float64:
        return arr
    if arr.dtype.kind not in "biuf":
        fail(fn, arg, "an array of real numbers", f"dtype {arr.dtype}")
    return arr.astype(np.float64)


def common_dtype(*arrays: np.ndarray) -> np.dtype:
    return np.result_type(*[a.dtype for a in arrays if a is not None])


def ndim(fn: str, arg: str, a: np.ndarray, n: int, layout: str) -> None:
    if a.ndim != n:
        fail(fn, arg, f"{n}-D {layout}", f"shape {a.shape}")


def pair(fn: str, arg: str, v, *, minimum: int) -> tuple[int, int]:
    """An int or an (h, w) pair of ints, each >= minimum."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        p = (int(v), int(v))
    elif (
        isinstance(v, (tuple, list))
        and len(v) == 2
        and all(isinstance(e, (int, np.integer)) and not isinstance(e, bool) for e in v)
    ):
        p = (int(v[0]), int(v[1]))
    else:
        fail(fn, arg, "an int or an (h, w) pair of ints", repr(v))
    if min(p) < minimum:
        fail(fn, arg, f">= {minimum}", repr(v))
    return p


def shape_eq(fn: str, arg: str, a: np.ndarray, shape: tuple, what: str) -> None:
    if tuple(a.shape) != tuple(shape):
        fail(fn, arg, f"of shape {tuple(shape)} ({what})", f"shape {tuple(a.shape)}")
