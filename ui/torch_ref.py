"""PyTorch as an optional reference: the same op, through torch.nn.functional and autograd.

torch is never an app dependency: ``available()`` is False where it is not installed, and the
verification panel then leaves its column out.
"""

from __future__ import annotations

import importlib.util

import numpy as np


def available() -> bool:
    return importlib.util.find_spec("torch") is not None


def grads(op: str, values: dict, upstream, params: dict) -> dict[str, np.ndarray]:
    import torch
    import torch.nn.functional as F

    t = {
        k: torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True)
        for k, v in values.items()
    }
    up = torch.tensor(np.asarray(upstream, dtype=np.float64))
    p = params
    if op in ("conv2d", "conv_transpose2d"):
        kw = dict(stride=p["stride"], padding=p["padding"], dilation=p["dilation"])
        fn = F.conv2d
        if op == "conv_transpose2d":
            kw["output_padding"] = p["output_padding"]
            fn = F.conv_transpose2d
        out = fn(t["X"][None, None], t["K"][None, None], t["b"].reshape(1), **kw)[0, 0]
    elif op == "max_pool2d":
        out = F.max_pool2d(t["X"][None, None], p["kernel_size"], p["stride"], p["padding"])[0, 0]
    elif op == "avg_pool2d":
        out = F.avg_pool2d(t["X"][None, None], p["kernel_size"], p["stride"], p["padding"])[0, 0]
    elif op in ("relu", "sigmoid", "tanh", "exp", "log"):
        out = getattr(torch, op)(t["X"])
    elif op in ("add", "sub", "mul", "div"):
        out = getattr(torch, op)(t["M"], t["N"])
    elif op in ("sum", "mean"):
        out = getattr(torch, op)(t["X"]).reshape(1, 1)
    elif op == "linear":
        out = F.linear(t["X"], t["W"].T, t["b"].reshape(-1))
    elif op == "softmax_cross_entropy":
        out = F.cross_entropy(t["f"].reshape(1, -1), torch.tensor([p["target"]])).reshape(1, 1)
    else:
        raise ValueError(f"no PyTorch reference for {op!r}")
    out.backward(up.reshape(out.shape))
    return {k: v.grad.numpy().reshape(np.shape(values[k])) for k, v in t.items()}
