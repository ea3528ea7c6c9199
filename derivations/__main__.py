"""Print a whole derivation for notes: ``python -m derivations conv2d --input 3x3 --kernel 2x2``.

Exit code 2 with a one-line error for an unknown op or impossible sizes.
"""

from __future__ import annotations

import argparse
import sys

from . import BUILDERS, derive
from .export import FORMATS


def _pair(text: str) -> tuple[int, int]:
    parts = text.lower().replace("×", "x").split("x")
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a size like 3x3 or a number, got {text!r}"
        ) from None
    if len(nums) == 1:
        return (nums[0], nums[0])
    if len(nums) == 2:
        return (nums[0], nums[1])
    raise argparse.ArgumentTypeError(f"expected a size like 3x3, got {text!r}")


# flag → (parameter name, which ops take it)
FLAGS = {
    "input": ("input_shape", {"conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d"}),
    "kernel": ("kernel_shape", {"conv2d", "conv_transpose2d"}),
    "stride": ("stride", {"conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d"}),
    "padding": ("padding", {"conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d"}),
    "dilation": ("dilation", {"conv2d", "conv_transpose2d"}),
    "output_padding": ("output_padding", {"conv_transpose2d"}),
    "pool": ("kernel_size", {"max_pool2d", "avg_pool2d"}),
    "shape": (
        "shape",
        {"relu", "sigmoid", "tanh", "exp", "log", "add", "sub", "mul", "div", "sum", "mean"},
    ),
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m derivations", description=__doc__.splitlines()[0])
    ap.add_argument("op", help=", ".join(BUILDERS))
    for flag in FLAGS:
        ap.add_argument(f"--{flag.replace('_', '-')}", dest=flag, type=_pair)
    ap.add_argument("--broadcast", choices=["none", "row", "column", "scalar"])
    ap.add_argument("--batch", type=int)
    ap.add_argument("--in-features", dest="in_features", type=int)
    ap.add_argument("--out-features", dest="out_features", type=int)
    ap.add_argument("--classes", dest="num_classes", type=int)
    ap.add_argument("--target", type=int)
    ap.add_argument("--format", choices=list(FORMATS), default="text")
    a = ap.parse_args(argv)
    params = {}
    for flag, (name, ops) in FLAGS.items():
        v = getattr(a, flag)
        if v is not None:
            if a.op in BUILDERS and a.op not in ops:
                print(
                    f"error: --{flag.replace('_', '-')} does not apply to {a.op}", file=sys.stderr
                )
                return 2
            params[name] = v
    for name in ("broadcast", "batch", "in_features", "out_features", "num_classes", "target"):
        if getattr(a, name) is not None:
            params[name] = getattr(a, name)
    try:
        d = derive(a.op, **params)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(FORMATS[a.format](d))
    return 0


if __name__ == "__main__":
    sys.exit(main())
