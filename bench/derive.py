"""Derivation time vs plain sympy.diff, in the same run: ``python -m bench.derive``.

For conv2d at several sizes: the time ``derive()`` takes (everything: expansions, gradients term
by term, the proven patterns, the LaTeX steps), beside the time plain ``sympy.diff`` of
L = Σ ∂L/∂z_ij · z_ij takes for the gradients alone. sympy's cache and the derivations' own memo
tables are cleared before every run so no run profits from the one before. Goals: 3×3*2×2 ≤
20 ms; 16×16*5×5 ≤ 0.5 s. Every op at its extremes: ``python -m bench.bounds``.
"""

from __future__ import annotations

import statistics
import sys
import time

import sympy as sp
from sympy.core.cache import clear_cache

from derivations import clear_caches, derive

SIZES = [
    ((3, 3), (2, 2)),
    ((6, 6), (3, 3)),
    ((8, 8), (3, 3)),
    ((12, 12), (3, 3)),
    ((16, 16), (5, 5)),
]


def plain_diff(input_shape, kernel_shape) -> None:
    d = derive("conv2d", input_shape=input_shape, kernel_shape=kernel_shape)
    loss = sum(g * z for g, z in zip(d.upstream, d.output, strict=True))
    symbols = [s for m in d.inputs.values() for s in m]
    clear_cache()
    t0 = time.perf_counter()
    for s in symbols:
        sp.diff(loss, s)
    return time.perf_counter() - t0


def timed_derive(input_shape, kernel_shape) -> float:
    clear_caches()
    t0 = time.perf_counter()
    derive("conv2d", input_shape=input_shape, kernel_shape=kernel_shape)
    return time.perf_counter() - t0


# the largest settings the lesson widgets allow, per op: what a curious student will try
LARGEST = [
    ("conv2d", dict(input_shape=(16, 16), kernel_shape=(6, 6))),
    ("conv_transpose2d", dict(input_shape=(8, 8), kernel_shape=(6, 6), stride=3)),
    ("max_pool2d", dict(input_shape=(16, 16), kernel_size=6, stride=1)),
    ("avg_pool2d", dict(input_shape=(16, 16), kernel_size=6, stride=1)),
    ("sigmoid", dict(shape=(16, 16))),
    ("div", dict(shape=(16, 16), broadcast="row")),
    ("mean", dict(shape=(16, 16))),
    ("linear", dict(batch=8, in_features=8, out_features=8)),
    ("softmax_cross_entropy", dict(num_classes=10, target=9)),
]


def largest() -> None:
    print("\n| op at its largest settings | derive() (ms) | compile for evaluate() (ms) |")
    print("|---|---:|---:|")
    for op, params in LARGEST:
        clear_caches()
        t0 = time.perf_counter()
        d = derive(op, **params)
        t1 = time.perf_counter()
        d.compile()
        t2 = time.perf_counter()
        shown = ", ".join(f"{k}={v}" for k, v in params.items())
        print(f"| {op} ({shown}) | {(t1 - t0) * 1e3:.0f} | {(t2 - t1) * 1e3:.0f} |")


def main(repeats: int = 5) -> int:
    derive("conv2d")  # imports and first-call set-up are not what is measured
    print("| conv2d size | derive() (ms) | plain sympy.diff (ms) | diff/derive |")
    print("|---|---:|---:|---:|")
    for x, k in SIZES:
        ours = statistics.median(timed_derive(x, k) for _ in range(repeats))
        theirs = statistics.median(plain_diff(x, k) for _ in range(1 if x[0] >= 12 else 3))
        print(
            f"| {x[0]}×{x[1]} * {k[0]}×{k[1]} | {ours * 1e3:.1f} | {theirs * 1e3:.0f} | {theirs / ours:.0f}× |"
        )
    largest()
    return 0


if __name__ == "__main__":
    sys.exit(main())
