"""The extreme settings of every op, for the bound tests and ``bench.bounds``.

- ``registry_extremes()``: every combination of the ends of each widget's range in
  derivations/table.py (each kind's ``extremes``: a pair at its lowest and highest, an input
  also as a 1×16 and a 16×1 strip; every choice) that makes sense together. What a curious
  student can reach.
- ``cap_extremes()``: past the widgets, the heaviest settings derive() accepts under its caps
  (derivations/params.py), found by counting the work of every combination up to the caps with
  ``derivations.work``, never by deriving them; and the networks at their largest.
- ``REJECTED``: inputs derive() must refuse, from the hostile end of the range.
"""

from __future__ import annotations

import itertools
from functools import cache

from derivations import DERIVATIONS, WORK, work
from derivations.attention import MAX_DIM, MAX_TOKENS
from derivations.network import ACTIVATIONS, _cnn_geometry
from derivations.norm import MAX_NORM_SIDE
from derivations.params import (
    MAX_KERNEL,
    MAX_PADDING,
    MAX_POOL_PADDING,
    MAX_SIDE,
    MAX_STEP,
    MAX_WINDOW,
    TooBig,
)
from derivations.residual import MAX_RESIDUAL
from ui.registry import OPS


def _ends(prm) -> list:
    """The ends of one widget's range (pairs square, an input also as strips)."""
    if prm.name in ("input_shape", "shape"):
        lo, hi = int(prm.lo), int(prm.hi)
        return [*prm.extremes(), (lo, hi), (hi, lo)]
    return prm.extremes()


def _possible(op: str, params: dict) -> bool:
    """Whether the settings make sense together (a kernel no larger than the input …), checked
    cheaply where it can be. A bound of derive()'s (TooBig) is not caught: the lessons must
    never offer a setting derive() refuses for its size, and the tests fail if one does."""
    try:
        if op in WORK:
            work(op, **params)
        elif op == "softmax_cross_entropy":
            return params["target"] < params["num_classes"]
        elif op == "attention":  # a causal mask needs as many queries as keys
            return not params["causal"] or params["queries"] == params["keys"]
        elif op == "mlp":  # at least 2 classes
            return 2 <= params["layer_sizes"][-1] and params["target"] < params["layer_sizes"][-1]
        elif op == "cnn":  # the geometry checks alone, no sympy
            geometry = [params[k] for k in ("input_shape", "kernel_shape", "pool", "classes")]
            _cnn_geometry(op, *geometry)
            return params["target"] < params["classes"]
        return True
    except TooBig:
        raise
    except ValueError:
        return False


def registry_extremes() -> list[tuple[str, dict]]:
    out = []
    for spec in OPS.values():
        names = [p.name for p in spec.params]
        for values in itertools.product(*[_ends(p) for p in spec.params]):
            params = dict(zip(names, values, strict=True))
            if _possible(spec.name, params):
                out.append((spec.name, params))
    return out


CAP_GRID = {
    "conv2d": dict(
        kernel_shape=range(1, MAX_KERNEL + 1),
        stride=range(1, MAX_STEP + 1),
        padding=range(MAX_PADDING + 1),
        dilation=range(1, MAX_STEP + 1),
    ),
    "conv_transpose2d": dict(
        kernel_shape=range(1, MAX_KERNEL + 1),
        stride=range(1, MAX_STEP + 1),
        padding=range(MAX_PADDING + 1),
        output_padding=range(MAX_STEP),
        dilation=range(1, MAX_STEP + 1),
    ),
    "max_pool2d": dict(
        kernel_size=range(1, MAX_WINDOW + 1),
        stride=range(1, MAX_WINDOW + 1),
        padding=range(MAX_POOL_PADDING + 1),
    ),
}
CAP_GRID["avg_pool2d"] = CAP_GRID["max_pool2d"]


@cache
def heaviest_at_caps(op: str) -> dict:
    """The accepted settings with the most work, a MAX_SIDE × MAX_SIDE input and every other
    parameter (square) anywhere up to its cap."""
    grid = CAP_GRID[op]
    best, best_work = {}, -1
    for values in itertools.product(*grid.values()):
        params = dict(zip(grid, values, strict=True), input_shape=(MAX_SIDE, MAX_SIDE))
        try:
            w = work(op, **params)
        except ValueError:
            continue
        if w > best_work:
            best, best_work = params, w
    return best


def cap_extremes() -> list[tuple[str, dict]]:
    side = (MAX_SIDE, MAX_SIDE)
    return [
        *[(op, heaviest_at_caps(op)) for op in CAP_GRID],
        ("sigmoid", dict(shape=side)),
        ("div", dict(shape=side, broadcast="none")),
        ("mean", dict(shape=side)),
        ("linear", dict(batch=MAX_SIDE, in_features=MAX_SIDE, out_features=MAX_SIDE)),
        ("softmax_cross_entropy", dict(num_classes=10, target=9)),
        *[
            (
                "attention",
                dict(queries=MAX_TOKENS, keys=MAX_TOKENS, d_k=MAX_DIM, d_v=MAX_DIM, causal=c),
            )
            for c in (False, True)
        ],
        *[("mlp", dict(layer_sizes=(4,) * 5, activation=a, target=3)) for a in ACTIVATIONS],
        # the most pixels, and the slowest of the 973 settings with an input of 6×6 or more
        ("cnn", dict(input_shape=(8, 8), kernel_shape=(1, 1), pool=2, classes=4, target=3)),
        ("cnn", dict(input_shape=(8, 8), kernel_shape=(4, 3), pool=(1, 2), classes=4, target=3)),
        ("batch_norm", dict(batch=MAX_NORM_SIDE, features=MAX_NORM_SIDE)),
        ("layer_norm", dict(batch=MAX_NORM_SIDE, features=MAX_NORM_SIDE)),
        *[
            ("residual", dict(features=MAX_RESIDUAL, activation=a))
            for a in ("tanh", "sigmoid", "relu")
        ],
    ]


# inputs derive() must refuse quickly: each names the bound in its message
REJECTED = [
    ("conv2d", dict(input_shape=(3, 3), kernel_shape=(2, 2), padding=1000), "padding 1000"),
    ("conv2d", dict(input_shape=(16, 16), kernel_shape=(16, 16)), "kernel_shape 16×16"),
    ("conv2d", dict(input_shape=(16, 16), kernel_shape=(8, 8), padding=8), "partial derivatives"),
    ("conv2d", dict(input_shape=(10**9, 3)), "input_shape"),
    ("conv2d", dict(stride=10**9), "stride 1000000000"),
    ("conv_transpose2d", dict(input_shape=(16, 16), kernel_shape=(16, 16)), "kernel_shape"),
    ("conv_transpose2d", dict(input_shape=(16, 16), stride=16), "stride 16"),
    ("conv_transpose2d", dict(output_padding=(1, 99), stride=100), "stride 100"),
    ("max_pool2d", dict(input_shape=(16, 16), kernel_size=30, padding=15), "kernel_size 30"),
    ("max_pool2d", dict(input_shape=(16, 16), kernel_size=8, padding=12), "padding 12"),
    ("avg_pool2d", dict(input_shape=(16, 16), kernel_size=30, stride=1, padding=15), "30"),
    ("avg_pool2d", dict(input_shape=(16, 16), kernel_size=2, stride=10**6), "stride"),
    ("sigmoid", dict(shape=(17, 17)), "17×17"),
    ("linear", dict(batch=10**6), "batch"),
    ("mlp", dict(layer_sizes=(4,) * 10**4), "layer_sizes"),
    ("cnn", dict(input_shape=(9, 9)), "9×9"),
    ("batch_norm", dict(batch=10**6), "batch must be a whole number from 2 to 8"),
    ("batch_norm", dict(batch=1), "batch must be at least 2"),
    ("layer_norm", dict(features=9), "features must be a whole number from 2 to 8"),
    ("residual", dict(features=10**9), "features must be a whole number from 1 to 8"),
    ("attention", dict(queries=MAX_TOKENS + 1), f"from 1 to {MAX_TOKENS}"),
    ("attention", dict(keys=10**9), f"from 1 to {MAX_TOKENS}"),
    ("attention", dict(d_k=MAX_DIM + 1, d_v=MAX_DIM + 1), f"from 1 to {MAX_DIM}"),
    ("attention", dict(queries=2, keys=3, causal=True), "2 queries and 3 keys"),
]


assert set(OPS) <= set(DERIVATIONS)
