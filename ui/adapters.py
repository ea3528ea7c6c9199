"""How the registry calls the engine on a derivation's matrices, and where an op has no
derivative. The derivations work on single-channel matrices; the engine on (N, C, H, W)
batches: these adapters put the matrices in a batch of one and take the gradients back out.
Each function here is referenced by one op's entry in ``ui/registry.py``."""

from __future__ import annotations

import numpy as np

import engine


def _f(a) -> np.ndarray:
    return np.asarray(a, float)


def _conv_kw(p, transposed):
    kw = dict(stride=p["stride"], padding=p["padding"], dilation=p["dilation"])
    if transposed:
        kw["output_padding"] = p["output_padding"]
    return kw


def conv(transposed: bool):
    """(forward, grads) of conv2d or conv_transpose2d."""
    fwd = engine.conv_transpose2d if transposed else engine.conv2d
    bwd = engine.conv_transpose2d_backward if transposed else engine.conv2d_backward

    def forward(v, p):
        b = _f(v["b"]).reshape(1)
        return fwd(_f(v["X"])[None, None], _f(v["K"])[None, None], b, **_conv_kw(p, transposed))[
            0, 0
        ]

    def grads(v, dy, p):
        x, k = _f(v["X"])[None, None], _f(v["K"])[None, None]
        dx, dk, db = bwd(_f(dy)[None, None], x, k, **_conv_kw(p, transposed))
        return {"X": dx[0, 0], "K": dk[0, 0], "b": db.reshape(1, 1)}

    return forward, grads


def pool(name: str):
    fwd, bwd = getattr(engine, name), getattr(engine, f"{name}_backward")

    def kw(p):
        return dict(stride=p.get("stride"), padding=p["padding"])

    def forward(v, p):
        return fwd(_f(v["X"])[None, None], p["kernel_size"], **kw(p))[0, 0]

    def grads(v, dy, p):
        x = _f(v["X"])[None, None]
        return {"X": bwd(_f(dy)[None, None], x, p["kernel_size"], **kw(p))[0, 0]}

    return forward, grads


def unary(name: str, *extra: str):
    """An element-wise op; ``extra`` names the derivation parameters the engine takes too."""
    fwd, bwd = getattr(engine, name), getattr(engine, f"{name}_backward")

    def forward(v, p):
        return fwd(_f(v["X"]), **{k: p[k] for k in extra})

    def grads(v, dy, p):
        return {"X": bwd(_f(dy), _f(v["X"]), **{k: p[k] for k in extra})}

    return forward, grads


def binary(name: str):
    fwd, bwd = getattr(engine, name), getattr(engine, f"{name}_backward")

    def grads(v, dy, p):
        dm, dn = bwd(_f(dy), _f(v["M"]), _f(v["N"]))
        return {"M": dm, "N": dn}

    return (lambda v, p: fwd(_f(v["M"]), _f(v["N"]))), grads


def reduction(name: str):
    fwd, bwd = getattr(engine, name), getattr(engine, f"{name}_backward")
    return (
        lambda v, p: np.asarray(fwd(_f(v["X"]))).reshape(1, 1),
        lambda v, dy, p: {"X": bwd(_f(dy).reshape(()), _f(v["X"]))},
    )


def linear_forward(v, p):
    return engine.linear(_f(v["X"]), _f(v["W"]), _f(v["b"]).reshape(-1))


def linear_grads(v, dz, p):
    dx, dw, db = engine.linear_backward(_f(dz), _f(v["X"]), _f(v["W"]))
    return {"X": dx, "W": dw, "b": db.reshape(1, -1)}


def ce_forward(v, p):
    f = _f(v["f"]).reshape(1, -1)
    return np.asarray(engine.cross_entropy(f, [p["target"]])).reshape(1, 1)


def ce_grads(v, dy, p):
    f = _f(v["f"]).reshape(1, -1)
    dloss = float(_f(dy).reshape(()))
    return {"f": engine.cross_entropy_backward(f, [p["target"]], dloss=dloss)}


# ---------------------------------------------------------------- where there is no derivative


def zero_kink(values: dict, d) -> str:
    """ReLU and Leaky ReLU bend at 0."""
    if np.any(_f(values["X"]) == 0):
        return "an input is exactly 0, where the function has a kink"
    return ""


def max_pool_tie(values: dict, d) -> str:
    """A tie for a window's maximum: nudging either cell changes which one wins."""
    x = _f(values["X"])
    for o in np.ndindex(*d.output.shape):
        vals = [x[c] for c in d.sources(o)["X"]]
        if vals.count(max(vals)) > 1:
            return f"window {o[0] + 1},{o[1] + 1} has a tie for its maximum"
    return ""
