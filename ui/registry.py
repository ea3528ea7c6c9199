"""The one registry of ops: each op is described once — its parameters with defaults and bounds,
its lesson page, how its engine pair is called on the derivation's matrices, and the notes'
example values — and the sidebar widgets, the test grids and the lesson pages are built from it.

No streamlit here: the tests import it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import engine
from derivations import derive


@dataclass(frozen=True)
class Param:
    name: str  # the derive() keyword
    label: str
    kind: str  # "pair" (rows, cols), "int", "choice", "optional_pair" (None allowed)
    default: object
    lo: int = 0
    hi: int = 16
    choices: tuple = ()
    help: str = ""


@dataclass(frozen=True)
class OpSpec:
    name: str  # derive() / engine name
    title: str
    page: str  # the lesson page script that teaches it
    params: tuple[Param, ...]
    engine_forward: object  # (values, params) -> output matrix
    engine_grads: object  # (values, upstream, params) -> {input name: gradient}
    # the notes' numeric example (input values and "upstream"), for the default sizes
    notes_example: dict | None = None
    positive: tuple[str, ...] = ()  # inputs that must stay > 0 (log's x, div's divisor)

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}

    def derive(self, **params):
        return derive(self.name, **params)


def _pair(name, label, default, lo, hi, tip=""):
    return Param(name, label, "pair", default, lo, hi, help=tip)


# ---------------------------------------------------------------- engine adapters
# The derivations work on single-channel matrices; the engine on (N, C, H, W) batches. These
# adapters put the matrices in a batch of one and take the gradients back out.


def _conv_kw(p, transposed=False):
    kw = dict(stride=p["stride"], padding=p["padding"], dilation=p["dilation"])
    if transposed:
        kw["output_padding"] = p["output_padding"]
    return kw


def _conv_forward(fwd, transposed):
    def forward(v, p):
        x, k = np.asarray(v["X"], float), np.asarray(v["K"], float)
        b = np.asarray(v["b"], float).reshape(1)
        return fwd(x[None, None], k[None, None], b, **_conv_kw(p, transposed))[0, 0]

    return forward


def _conv_grads(bwd, transposed):
    def grads(v, dy, p):
        x, k = np.asarray(v["X"], float), np.asarray(v["K"], float)
        dx, dk, db = bwd(
            np.asarray(dy, float)[None, None],
            x[None, None],
            k[None, None],
            **_conv_kw(p, transposed),
        )
        return {"X": dx[0, 0], "K": dk[0, 0], "b": db.reshape(1, 1)}

    return grads


def _pool_kw(p):
    return dict(stride=p.get("stride"), padding=p["padding"])


def _pool_forward(fwd):
    return lambda v, p: fwd(np.asarray(v["X"], float)[None, None], p["kernel_size"], **_pool_kw(p))[
        0, 0
    ]


def _pool_grads(bwd):
    def grads(v, dy, p):
        x = np.asarray(v["X"], float)[None, None]
        return {
            "X": bwd(np.asarray(dy, float)[None, None], x, p["kernel_size"], **_pool_kw(p))[0, 0]
        }

    return grads


def _unary(name):
    fwd, bwd = getattr(engine, name), getattr(engine, f"{name}_backward")
    return (
        lambda v, p: fwd(np.asarray(v["X"], float)),
        lambda v, dy, p: {"X": bwd(np.asarray(dy, float), np.asarray(v["X"], float))},
    )


def _binary(name):
    fwd, bwd = getattr(engine, name), getattr(engine, f"{name}_backward")

    def grads(v, dy, p):
        dm, dn = bwd(np.asarray(dy, float), np.asarray(v["M"], float), np.asarray(v["N"], float))
        return {"M": dm, "N": dn}

    return (lambda v, p: fwd(np.asarray(v["M"], float), np.asarray(v["N"], float)), grads)


def _reduction(name):
    fwd, bwd = getattr(engine, name), getattr(engine, f"{name}_backward")
    return (
        lambda v, p: np.asarray(fwd(np.asarray(v["X"], float))).reshape(1, 1),
        lambda v, dy, p: {"X": bwd(np.asarray(dy, float).reshape(()), np.asarray(v["X"], float))},
    )


def _linear_forward(v, p):
    return engine.linear(
        np.asarray(v["X"], float), np.asarray(v["W"], float), np.asarray(v["b"], float).reshape(-1)
    )


def _linear_grads(v, dz, p):
    dx, dw, db = engine.linear_backward(
        np.asarray(dz, float), np.asarray(v["X"], float), np.asarray(v["W"], float)
    )
    return {"X": dx, "W": dw, "b": db.reshape(1, -1)}


def _ce_forward(v, p):
    f = np.asarray(v["f"], float).reshape(1, -1)
    return np.asarray(engine.cross_entropy(f, [p["target"]])).reshape(1, 1)


def _ce_grads(v, dy, p):
    f = np.asarray(v["f"], float).reshape(1, -1)
    dloss = float(np.asarray(dy, float).reshape(()))
    return {"f": engine.cross_entropy_backward(f, [p["target"]], dloss=dloss)}


# ---------------------------------------------------------------- the ops

_CONV_COMMON = (
    _pair("stride", "Stride", (1, 1), 1, 4, "How far the kernel moves between outputs."),
    _pair("padding", "Padding", (0, 0), 0, 4, "Zeros added around the input."),
    _pair("dilation", "Dilation", (1, 1), 1, 4, "Spacing between kernel taps."),
)
_POOL = (
    _pair("input_shape", "Input size", (2, 2), 1, 16),
    _pair("kernel_size", "Window", (2, 2), 1, 6),
    Param(
        "stride",
        "Stride",
        "optional_pair",
        None,
        1,
        6,
        help="Empty: the window size (PyTorch's default).",
    ),
    _pair("padding", "Padding", (0, 0), 0, 3, "At most half the window."),
)
_SHAPE = (_pair("shape", "Shape", (2, 2), 1, 16),)

OPS: dict[str, OpSpec] = {}


def _add(spec: OpSpec) -> None:
    OPS[spec.name] = spec


_add(
    OpSpec(
        "conv2d",
        "Conv2D",
        "pages/conv2d.py",
        (
            _pair("input_shape", "Input size", (3, 3), 1, 16),
            _pair("kernel_shape", "Kernel size", (2, 2), 1, 6),
            *_CONV_COMMON,
        ),
        _conv_forward(engine.conv2d, False),
        _conv_grads(engine.conv2d_backward, False),
    )
)
_add(
    OpSpec(
        "conv_transpose2d",
        "Transposed Conv2D",
        "pages/conv_transpose2d.py",
        (
            _pair("input_shape", "Input size", (2, 2), 1, 16),
            _pair("kernel_shape", "Kernel size", (2, 2), 1, 6),
            *_CONV_COMMON[:2],
            _pair(
                "output_padding",
                "Output padding",
                (0, 0),
                0,
                3,
                "Extra rows/columns at the bottom/right; < stride.",
            ),
            _CONV_COMMON[2],
        ),
        _conv_forward(engine.conv_transpose2d, True),
        _conv_grads(engine.conv_transpose2d_backward, True),
    )
)
_add(
    OpSpec(
        "max_pool2d",
        "Max pooling",
        "pages/pooling.py",
        _POOL,
        _pool_forward(engine.max_pool2d),
        _pool_grads(engine.max_pool2d_backward),
        notes_example={"X": [[1, 2], [3, 4]], "upstream": [[2]]},
    )
)
_add(
    OpSpec(
        "avg_pool2d",
        "Average pooling",
        "pages/pooling.py",
        _POOL,
        _pool_forward(engine.avg_pool2d),
        _pool_grads(engine.avg_pool2d_backward),
        notes_example={"X": [[1, 2], [3, 4]], "upstream": [[2]]},
    )
)
for _name, _title in (
    ("relu", "ReLU"),
    ("sigmoid", "Sigmoid"),
    ("tanh", "tanh"),
    ("exp", "exp"),
    ("log", "log"),
):
    _add(
        OpSpec(
            _name,
            _title,
            "pages/elementwise.py",
            _SHAPE,
            *_unary(_name),
            positive=("X",) if _name == "log" else (),
        )
    )
for _name, _title in (
    ("add", "Add"),
    ("sub", "Subtract"),
    ("mul", "Hadamard product"),
    ("div", "Divide"),
):
    _add(
        OpSpec(
            _name,
            _title,
            "pages/binary.py",
            (
                *_SHAPE,
                Param(
                    "broadcast",
                    "Broadcast N",
                    "choice",
                    "none",
                    choices=("none", "row", "column", "scalar"),
                    help="Give N fewer entries and let it be copied across M.",
                ),
            ),
            *_binary(_name),
            positive=("N",) if _name == "div" else (),
        )
    )
for _name, _title in (("sum", "Sum"), ("mean", "Mean")):
    _add(OpSpec(_name, _title, "pages/reductions.py", _SHAPE, *_reduction(_name)))
_add(
    OpSpec(
        "linear",
        "Dense layer",
        "pages/dense.py",
        (
            Param("batch", "Batch size N", "int", 2, 1, 8),
            Param("in_features", "Inputs", "int", 3, 1, 8),
            Param("out_features", "Outputs", "int", 2, 1, 8),
        ),
        _linear_forward,
        _linear_grads,
    )
)
_add(
    OpSpec(
        "softmax_cross_entropy",
        "Softmax + cross-entropy",
        "pages/softmax.py",
        (
            Param("num_classes", "Classes", "int", 3, 2, 10),
            Param("target", "True class (0-based)", "int", 0, 0, 9),
        ),
        _ce_forward,
        _ce_grads,
    )
)


def ops_on_page(page: str) -> list[OpSpec]:
    return [s for s in OPS.values() if s.page == page]


# ---------------------------------------------------------------- values


def random_values(d, kind: str, seed: int, positive: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Input values for a derivation: small integers or reals, reproducible from the seed.
    Inputs named in ``positive`` stay > 0 (log's domain, a divisor)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, m in d.inputs.items():
        if kind == "integers":
            a = rng.integers(-3, 4, size=m.shape).astype(float)
            if name in positive:
                a = np.abs(a) + 1
        else:
            a = np.round(rng.normal(0, 1, size=m.shape), 2)
            if name in positive:
                a = np.round(np.abs(a) + 0.5, 2)
        out[name] = a
    return out


def random_upstream(d, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 10_000)
    if d.upstream.shape == (1, 1):
        return np.ones((1, 1))  # a scalar loss: ∂L/∂L = 1 reads best
    # non-zero: a zero upstream entry silently hides the terms the lesson is about
    return rng.choice([-2.0, -1.0, 1.0, 2.0], size=d.upstream.shape)
