"""Argument checking shared by every engine op.

Every public op validates its inputs up front so that a student who passes a wrong shape gets a
``ValueError`` naming the function, the argument, what was expected and what was given, instead
of a numpy traceback from deep inside an einsum.
"""

from __future__ import annotations

import numpy as np

# The most elements an output or an im2col matrix may have (2 GiB in float64). Past it the sizes
# are ones nobody meant (a padding of 2**40), and numpy would otherwise try to allocate
# terabytes, or a loop would run for hours. Padding itself is never materialised past it: the
# convolutions then gather their columns (_gather.py) and pooling reads only the input.
MAX_ELEMENTS = 2**28


def fail(fn: str, arg: str, expected: str, given) -> None:
    raise ValueError(f"{fn}: {arg} must be {expected}, got {given}")


def as_float(fn: str, arg: str, a) -> np.ndarray:
    """Real numbers as an array: float32 stays float32; float64 stays; ints, bools (as 0 and 1),
    other floats and nested lists of numbers become float64. Anything else (strings, None,
    objects, complex numbers, ragged lists) is a ValueError naming the function and argument."""
    if type(a) is np.ndarray and (a.dtype == np.float64 or a.dtype == np.float32):
        return a  # the common case, checked first: tiny ops run hundreds of times per lesson
    if a is None:
        fail(fn, arg, "an array of real numbers", "None")
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{fn}: {arg} must be an array of real numbers ({exc})") from None
    if arr.dtype == np.float32 or arr.dtype == np.float64:
        return arr
    if arr.dtype.kind not in "biuf":
        fail(fn, arg, "an array of real numbers", f"dtype {arr.dtype} ({_brief(a)})")
    return arr.astype(np.float64)


def _brief(a) -> str:
    text = repr(a)
    return text if len(text) <= 40 else text[:37] + "..."


def integer(fn: str, arg: str, v, *, minimum: int) -> int:
    """A Python or numpy int (not a bool), >= minimum."""
    if not isinstance(v, (int, np.integer)) or isinstance(v, (bool, np.bool_)):
        fail(fn, arg, f"an int >= {minimum}", repr(v))
    if v < minimum:
        fail(fn, arg, f"an int >= {minimum}", repr(v))
    return int(v)


def axis(fn: str, arg: str, v, ndim: int) -> int:
    """An axis of an ndim-dimensional array: an int in [−ndim, ndim)."""
    if not _is_int(v):
        fail(fn, arg, "an int", repr(v))
    if not -ndim <= v < ndim:
        fail(fn, arg, f"in [-{ndim}, {ndim})", repr(v))
    return int(v)


def real(fn: str, arg: str, v) -> float:
    """A real number (a Python or numpy scalar, or a one-element array)."""
    a = as_float(fn, arg, v)
    if a.size != 1:
        fail(fn, arg, "a single real number", f"shape {a.shape}")
    return float(a.reshape(()))


def within_limit(fn: str, what: str, shape) -> None:
    """Refuse an array of more than MAX_ELEMENTS elements before anything is allocated."""
    count = 1
    for n in shape:
        count *= int(n)
    if count > MAX_ELEMENTS:
        raise ValueError(
            f"{fn}: {what} must have at most {MAX_ELEMENTS} elements (the engine's limit, 2**28),"
            f" got {count} (shape {tuple(int(n) for n in shape)}); check stride, padding, "
            "dilation and output_padding"
        )


def common_dtype(*arrays: np.ndarray) -> np.dtype:
    return np.result_type(*[a.dtype for a in arrays if a is not None])


def ndim(fn: str, arg: str, a: np.ndarray, n: int, layout: str) -> None:
    if a.ndim != n:
        fail(fn, arg, f"{n}-D {layout}", f"shape {a.shape}")


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def pair(fn: str, arg: str, v, *, minimum: int) -> tuple[int, int]:
    """An int or an (h, w) pair of ints (Python or numpy), each >= minimum."""
    if _is_int(v):
        p = (int(v), int(v))
    elif isinstance(v, (tuple, list)) and len(v) == 2 and all(_is_int(e) for e in v):
        p = (int(v[0]), int(v[1]))
    else:
        fail(fn, arg, "an int or an (h, w) pair of ints", repr(v))
    if min(p) < minimum:
        fail(fn, arg, f">= {minimum}", repr(v))
    return p


def shape_eq(fn: str, arg: str, a: np.ndarray, shape: tuple, what: str) -> None:
    if tuple(a.shape) != tuple(shape):
        fail(fn, arg, f"of shape {tuple(shape)} ({what})", f"shape {tuple(a.shape)}")
