"""How the registry calls the engine on a derivation's matrices, and where an op has no
derivative. The derivations work on single-channel matrices; the engine on (N, C, H, W)
batches: these adapters put the matrices in a batch of one and take the gradients back out.
Each function here is referenced by one op's entry in ``ui/registry.py``."""

from __future__ import annotations

import numpy as np

import engine
from ui.specs import Forward, Grads


def _f(a) -> np.ndarray:
    return np.asarray(a, float)


def _conv_kw(p, transposed):
    kw = dict(stride=p["stride"], padding=p["padding"], dilation=p["dilation"])
    if transposed:
        kw["output_padding"] = p["output_padding"]
    return kw


def _entry(forward: Forward, grads: Grads) -> dict[str, Forward | Grads]:
    """The registry entry's engine fields (``OpSpec(**adapters.unary("exp"), ...)``)."""
    return {"engine_forward": forward, "engine_grads": grads}


def conv(transposed: bool):
    """The engine pair of conv2d or conv_transpose2d."""
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

    return _entry(forward, grads)


def pool(name: str):
    fwd, bwd = getattr(engine, name), getattr(engine, f"{name}_backward")

    def kw(p):
        return dict(stride=p.get("stride"), padding=p["padding"])

    def forward(v, p):
        return fwd(_f(v["X"])[None, None], p["kernel_size"], **kw(p))[0, 0]

    def grads(v, dy, p):
        x = _f(v["X"])[None, None]
        return {"X": bwd(_f(dy)[None, None], x, p["kernel_size"], **kw(p))[0, 0]}

    return _entry(forward, grads)


def unary(name: str, *extra: str):
    """An element-wise op; ``extra`` names the derivation parameters the engine takes too."""
    fwd, bwd = getattr(engine, name), getattr(engine, f"{name}_backward")

    def forward(v, p):
        return fwd(_f(v["X"]), **{k: p[k] for k in extra})

    def grads(v, dy, p):
        return {"X": bwd(_f(dy), _f(v["X"]), **{k: p[k] for k in extra})}

    return _entry(forward, grads)


def binary(name: str):
    fwd, bwd = getattr(engine, name), getattr(engine, f"{name}_backward")

    def grads(v, dy, p):
        dm, dn = bwd(_f(dy), _f(v["M"]), _f(v["N"]))
        return {"M": dm, "N": dn}

    return _entry(lambda v, p: fwd(_f(v["M"]), _f(v["N"])), grads)


def reduction(name: str):
    fwd, bwd = getattr(engine, name), getattr(engine, f"{name}_backward")
    return _entry(
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


def norm(name: str) -> dict:
    """batch_norm or layer_norm of X (N × C), γ and β (1 × C), at PyTorch's eps (the
    derivations' ε = 10⁻⁵): the registry entry's engine_forward and engine_grads."""
    return _entry(_norm_forward(name), _norm_grads(name))


def _norm_forward(name: str):
    def forward(v, p):
        x, w, b = _f(v["X"]), _f(v["gamma"]).ravel(), _f(v["beta"]).ravel()
        if name == "batch_norm":
            return engine.batch_norm(x, w, b, eps=1e-5)
        return engine.layer_norm(x, x.shape[1], w, b, eps=1e-5)

    return forward


def _norm_grads(name: str):
    def grads(v, dy, p):
        x, w = _f(v["X"]), _f(v["gamma"]).ravel()
        if name == "batch_norm":
            dx, dw, db = engine.batch_norm_backward(_f(dy), x, w, eps=1e-5)
        else:
            dx, dw, db = engine.layer_norm_backward(_f(dy), x, x.shape[1], w, eps=1e-5)
        return {"X": dx, "gamma": dw.reshape(1, -1), "beta": db.reshape(1, -1)}

    return grads


def _residual(v, p):
    """Y = X + act(X W + b) as engine.nn's Residual, holding the derivation's numbers."""
    from engine import nn

    W = _f(v["W"])
    lin = nn.Linear(*W.shape)
    lin.params["weight"][...] = W
    lin.params["bias"][...] = _f(v["b"]).ravel()
    act = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}[p["activation"]]
    return nn.Residual(lin, act())


def residual() -> dict:
    """Y = X + act(X W + b) on engine.nn: the registry entry's engine_forward, engine_grads and
    kink."""
    return {
        "engine_forward": _residual_forward,
        "engine_grads": _residual_grads,
        "kink": _residual_kink,
    }


def _residual_forward(v, p):
    return _residual(v, p).forward(_f(v["X"]).reshape(1, -1))


def _residual_grads(v, dy, p):
    block = _residual(v, p)
    block.forward(_f(v["X"]).reshape(1, -1))
    dx = block.backward(_f(dy).reshape(1, -1))
    return {
        "X": dx,
        "W": block.grads["0.weight"].copy(),
        "b": block.grads["0.bias"].reshape(1, -1).copy(),
    }


def attention_forward(v, p):
    return engine.attention(_f(v["Q"]), _f(v["K"]), _f(v["V"]), causal=p["causal"])


def attention_grads(v, dy, p):
    dq, dk, dv = engine.attention_backward(
        _f(dy), _f(v["Q"]), _f(v["K"]), _f(v["V"]), causal=p["causal"]
    )
    return {"Q": dq, "K": dk, "V": dv}


# ---------------------------------------------------------------- where there is no derivative


def zero_kink(values: dict, d) -> str:
    """ReLU and Leaky ReLU bend at 0."""
    if np.any(_f(values["X"]) == 0):
        return "an input is exactly 0, where the function has a kink"
    return ""


def _residual_kink(values: dict, d) -> str:
    """ReLU inside the block bends where a z is exactly 0."""
    if d.params["activation"] != "relu":
        return ""
    z = _f(values["X"]).reshape(1, -1) @ _f(values["W"]) + _f(values["b"]).reshape(1, -1)
    if np.any(z == 0):
        return "a z = (X W + b)ⱼ is exactly 0, where ReLU has a kink"
    return ""


def max_pool_tie(values: dict, d) -> str:
    """A tie for a window's maximum: nudging either cell changes which one wins."""
    x = _f(values["X"])
    for o in np.ndindex(*d.output.shape):
        vals = [x[c] for c in d.sources(o)["X"]]
        if vals.count(max(vals)) > 1:
            return f"window {o[0] + 1},{o[1] + 1} has a tie for its maximum"
    return ""


# ---------------------------------------------------------------- the networks, on engine.nn


def _mlp_model(v, p):
    """The derivation's MLP as engine.nn layers holding the derivation's own numbers."""
    from engine import nn

    depth = len(p["layer_sizes"]) - 1
    act = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}[p["activation"]]
    layers = []
    for ell in range(1, depth + 1):
        W = _f(v[f"W{ell}"])
        lin = nn.Linear(*W.shape)
        lin.params["weight"][...] = W
        lin.params["bias"][...] = _f(v[f"b{ell}"]).ravel()
        layers += [lin, act()] if ell < depth else [lin]
    return nn.Sequential(*layers)


def _cnn_model(v, p):
    from engine import nn

    K, W = _f(v["K"]), _f(v["W"])
    conv = nn.Conv2d(1, 1, K.shape)
    conv.params["weight"][...] = K[None, None]
    conv.params["bias"][...] = _f(v["b"]).ravel()
    dense = nn.Linear(*W.shape)
    dense.params["weight"][...] = W
    dense.params["bias"][...] = _f(v["c"]).ravel()
    return nn.Sequential(conv, nn.ReLU(), nn.MaxPool2d(p["pool"]), nn.Flatten(), dense)


def _network(build, x_shape):
    """The engine pair of a whole network on engine.nn: the loss, and every input's gradient
    (the first layer's input too) times the 1 × 1 upstream."""
    from engine import nn

    def run(v, p):
        model, loss = build(v, p), nn.SoftmaxCrossEntropy()
        value = loss.forward(model.forward(_f(v["X"]).reshape(x_shape(v))), [p["target"]])
        return model, loss, value

    def forward(v, p):
        return np.array([[run(v, p)[2]]])

    def grads(v, dy, p):
        model, loss, _ = run(v, p)
        g = float(_f(dy).reshape(()))
        dx = model.backward(loss.backward() * g)
        out = {"X": dx.reshape(_f(v["X"]).shape)}
        names = [n for n in v if n != "X"]
        arrays = list(model.grads.values())  # in layer order, weight then bias: as the inputs
        for name, arr in zip(names, arrays, strict=True):
            out[name] = arr.reshape(_f(v[name]).shape)
        return out

    return _entry(forward, grads)


def mlp():
    return _network(_mlp_model, lambda v: (1, -1))


def cnn():
    return _network(_cnn_model, lambda v: (1, 1, *_f(v["X"]).shape))


def cnn_tie(values: dict, d) -> str:
    """ReLU at exactly 0, or a tie in a pool window (ReLU's zeros tie easily)."""
    model = _cnn_model(values, d.params)
    z = model.layers[0].forward(_f(values["X"])[None, None])[0, 0]
    if np.any(z == 0):
        return "a conv output is exactly 0, where ReLU has a kink"
    r = np.maximum(z, 0)
    ph, pw = d.params["pool"]
    for i in range(0, r.shape[0], ph):
        for j in range(0, r.shape[1], pw):
            win = r[i : i + ph, j : j + pw].ravel()
            if np.sum(win == win.max()) > 1:
                return f"pool window {i // ph + 1},{j // pw + 1} has a tie for its maximum"
    return ""


def mlp_kink(values: dict, d) -> str:
    if d.params["activation"] != "relu":
        return ""
    layers = _mlp_model(values, d.params).layers
    a = _f(values["X"]).reshape(1, -1)
    for i, m in enumerate(layers):
        a = m.forward(a)
        if i + 1 < len(layers) and i % 2 == 0 and np.any(a == 0):  # a Linear before a ReLU
            return "a hidden unit's input is exactly 0, where ReLU has a kink"
    return ""
