"""Which input cells a sliding window reads, along one axis, without materialising the padding.

Output o's window has taps i = 0 … k−1; tap i reads input index o·s + i·d − p, or padding when
that falls outside [0, size). Only the taps that read the input for some output matter: a huge
kernel, padding or dilation adds taps that read nothing but padding, and those are never
visited. At most about 2·size/d + 1 taps read anything, so the work is bounded by the input and
the output, whatever the parameters.
"""

from __future__ import annotations


def tap_range(size: int, k: int, s: int, p: int, d: int, out: int) -> range:
    """The taps that read the input for at least one output (possibly empty)."""
    # tap i reads index i·d − p at output 0 (its lowest) and (out − 1)·s + i·d − p at the last
    lo = max(0, -((-(p - (out - 1) * s)) // d))  # ⌈(p − (out − 1)·s) / d⌉
    hi = min(k - 1, (p + size - 1) // d)
    return range(lo, hi + 1)


def axis_taps(size: int, k: int, s: int, p: int, d: int, out: int) -> list[tuple]:
    """(tap, output slice, input slice) for each tap that reads the input: the outputs whose
    window has that tap inside the input, and the input cells they read there (one per output,
    so one tap never maps two outputs onto one cell)."""
    taps = []
    for i in tap_range(size, k, s, p, d, out):
        off = i * d - p
        o0 = max(0, -(off // s))  # first output with o·s + off >= 0
        o1 = min(out - 1, (size - 1 - off) // s)
        if o0 <= o1:
            step = s if o1 > o0 else 1  # a single output: any step (and s may not fit intp)
            taps.append((i, slice(o0, o1 + 1), slice(o0 * s + off, o1 * s + off + 1, step)))
    return taps


def axis_windows(size: int, k: int, s: int, p: int, d: int, out: int) -> list[slice | None]:
    """For each output, the input cells its window reads along this axis (a slice with step
    d), or None where the window reads only padding."""
    windows = []
    for o in range(out):
        start = o * s - p  # where tap 0 reads
        i0 = max(0, -(start // d))  # first tap with start + i·d >= 0
        i1 = min(k - 1, (size - 1 - start) // d)
        windows.append(slice(start + i0 * d, start + i1 * d + 1, d) if i0 <= i1 else None)
    return windows
