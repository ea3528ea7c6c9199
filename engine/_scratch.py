"""Scratch memory reused from call to call, so that big temporaries do not cost fresh pages.

A fresh array of a few MiB is, where the allocator hands freed memory back to the system (glibc
does for large blocks unless its threshold has adapted), a few hundred page faults the first
time it is written: measured here with MALLOC_MMAP_THRESHOLD_=131072, a fresh 4 MiB float64
array costs 1.5 ms to fill against 0.06 ms for one already mapped, and conv2d's forward and
backward pass went from 9 to 21 ms. So the engine's internal temporaries (im2col bands, column
matrices, routing masks) live in buffers kept per key and per thread (Streamlit runs sessions
in threads), grown when a call needs more and never shrunk below the largest recent need.
A scratch array is only ever used inside the call that took it: what an op returns is fresh.
"""

from __future__ import annotations

import threading

import numpy as np

_local = threading.local()
_KEEP = 256 * 2**20  # bytes: a buffer bigger than this is not kept after the call


def scratch(key: str, shape, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array, in memory that ``key`` reuses on this thread."""
    dtype = np.dtype(dtype)
    shape = tuple(int(n) for n in shape)
    nbytes = dtype.itemsize * int(np.prod(shape, dtype=np.int64))
    store = _local.__dict__.setdefault("store", {})
    buf = store.get(key)
    if buf is None or buf.nbytes < nbytes:
        buf = np.empty(max(nbytes, 1), dtype=np.uint8)
        if nbytes <= _KEEP:
            store[key] = buf
    return buf[:nbytes].view(dtype).reshape(shape)
