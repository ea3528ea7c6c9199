"""PyTorch as an optional reference: each op's forward through torch.nn.functional, one function
per op (referenced by its registry entry), differentiated by autograd.

torch is never an app dependency: ``available()`` is False where it is not installed, and the
verification panel then leaves its column out. Every function imports torch when called.
"""

from __future__ import annotations

import importlib.util

import numpy as np


def available() -> bool:
    return importlib.util.find_spec("torch") is not None


def grads(spec, values: dict, upstream, params: dict) -> dict[str, np.ndarray]:
    """∂(⟨upstream, op(values)⟩)/∂values by autograd, for the op described by ``spec``."""
    import torch

    t = {
        k: torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True)
        for k, v in values.items()
    }
    out = spec.torch(t, params)
    out.backward(torch.tensor(np.asarray(upstream, dtype=np.float64)).reshape(out.shape))
    return {k: v.grad.numpy().reshape(np.shape(values[k])) for k, v in t.items()}


def _batch(a):
    return a[None, None]


def conv2d(t, p):
    import torch.nn.functional as F

    kw = dict(stride=p["stride"], padding=p["padding"], dilation=p["dilation"])
    return F.conv2d(_batch(t["X"]), _batch(t["K"]), t["b"].reshape(1), **kw)[0, 0]


def conv_transpose2d(t, p):
    import torch.nn.functional as F

    kw = dict(
        stride=p["stride"],
        padding=p["padding"],
        dilation=p["dilation"],
        output_padding=p["output_padding"],
    )
    return F.conv_transpose2d(_batch(t["X"]), _batch(t["K"]), t["b"].reshape(1), **kw)[0, 0]


def max_pool2d(t, p):
    import torch.nn.functional as F

    return F.max_pool2d(_batch(t["X"]), p["kernel_size"], p["stride"], p["padding"])[0, 0]


def avg_pool2d(t, p):
    import torch.nn.functional as F

    return F.avg_pool2d(_batch(t["X"]), p["kernel_size"], p["stride"], p["padding"])[0, 0]


def unary(name: str):
    """torch.relu, torch.sigmoid, …: the engine's unary ops share torch's names."""

    def ref(t, p):
        import torch

        return getattr(torch, name)(t["X"])

    return ref


def leaky_relu(t, p):
    import torch.nn.functional as F

    return F.leaky_relu(t["X"], p["negative_slope"])


def softplus(t, p):
    import torch.nn.functional as F

    return F.softplus(t["X"])


def binary(name: str):
    def ref(t, p):
        import torch

        return getattr(torch, name)(t["M"], t["N"])

    return ref


def reduction(name: str):
    def ref(t, p):
        import torch

        return getattr(torch, name)(t["X"]).reshape(1, 1)

    return ref


def linear(t, p):
    import torch.nn.functional as F

    return F.linear(t["X"], t["W"].T, t["b"].reshape(-1))


def cross_entropy(t, p):
    import torch
    import torch.nn.functional as F

    logits = t["f"].reshape(1, -1)
    return F.cross_entropy(logits, torch.tensor([p["target"]])).reshape(1, 1)


def attention(t, p):
    import torch.nn.functional as F

    q, k, v = (t[n][None] for n in ("Q", "K", "V"))  # a batch of one
    return F.scaled_dot_product_attention(q, k, v, is_causal=p["causal"])[0]


def mlp(t, p):
    import torch
    import torch.nn.functional as F

    depth = len(p["layer_sizes"]) - 1
    act = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}[p["activation"]]
    a = t["X"]
    for ell in range(1, depth + 1):
        a = F.linear(a, t[f"W{ell}"].T, t[f"b{ell}"].reshape(-1))
        a = act(a) if ell < depth else a
    return F.cross_entropy(a, torch.tensor([p["target"]])).reshape(1, 1)


def cnn(t, p):
    import torch
    import torch.nn.functional as F

    z = F.conv2d(_batch(t["X"]), _batch(t["K"]), t["b"].reshape(1))
    r = F.max_pool2d(torch.relu(z), p["pool"])
    logits = F.linear(r.reshape(1, -1), t["W"].T, t["c"].reshape(-1))
    return F.cross_entropy(logits, torch.tensor([p["target"]])).reshape(1, 1)


def norm(name: str):
    """F.batch_norm in training mode (batch statistics) or F.layer_norm over the features, at
    eps = 1e-5 as the derivations."""

    def ref(t, p):
        import torch.nn.functional as F

        w, b = t["gamma"].reshape(-1), t["beta"].reshape(-1)
        if name == "batch_norm":
            return F.batch_norm(t["X"], None, None, w, b, training=True, eps=1e-5)
        return F.layer_norm(t["X"], (t["X"].shape[1],), w, b, eps=1e-5)

    return ref


def residual(t, p):
    import torch
    import torch.nn.functional as F

    act = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}[p["activation"]]
    x = t["X"].reshape(1, -1)
    return x + act(F.linear(x, t["W"].T, t["b"].reshape(-1)))
