"""The one registry: every page of the app, and every op described once — its parameters with
defaults, bounds and CLI flags, its title and page, its engine pair, its PyTorch reference, where
it has no derivative, its domain, and the notes' example. The navigation, the home page, the
sidebar widgets, the URL, the CLI, the parametrised tests, the browser test and the benchmarks are
all built from it. To change an op's bounds, title or PyTorch reference, change its entry here.

No streamlit here: the tests and the CLI import it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from derivations import derive
from derivations.conv import MAX_TRANSPOSED_OUT
from ui import adapters as A
from ui import torch_ref as T


@dataclass(frozen=True)
class Param:
    name: str  # the derive() keyword
    label: str
    kind: str  # "pair" (rows, cols), "optional_pair" (None allowed), "int", "float", "choice"
    default: object
    lo: float = 0
    hi: float = 16
    choices: tuple = ()
    help: str = ""
    flag: str = ""  # the CLI's --flag (default: the name, dashed)
    shown_from: int = 0  # a widget shows value + shown_from (a 0-based class shown 1-based)

    @property
    def cli_flag(self) -> str:
        return (self.flag or self.name).replace("_", "-")


@dataclass(frozen=True)
class PageSpec:
    path: str  # the script
    title: str  # in the navigation
    icon: str
    group: str
    url: str = ""  # "" for the default page
    blurb: str = ""  # the home page's card
    heading: str = ""  # the page's own title, when it differs from ``title``


@dataclass(frozen=True)
class OpSpec:
    name: str  # derive() / engine name
    title: str
    page: PageSpec  # the lesson that teaches it
    params: tuple[Param, ...]
    engine_forward: object  # (values, params) -> output matrix
    engine_grads: object  # (values, upstream, params) -> {input name: gradient}
    torch: object  # (leaf tensors, params) -> output tensor, for the PyTorch reference
    kink: object = None  # (values, derivation) -> why finite differences are undefined, or ""
    positive: tuple[str, ...] = ()  # inputs that must stay > 0
    domain: str = ""  # why, in words (log's x > 0)
    # the notes' numeric example (input values and "upstream"), for the default sizes
    notes_example: dict | None = None

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}

    def derive(self, **params):
        return derive(self.name, **params)


def _pair(name, label, default, lo, hi, tip="", flag=""):
    return Param(name, label, "pair", default, lo, hi, help=tip, flag=flag)


# ---------------------------------------------------------------- the pages

HOME = PageSpec("pages/home.py", "Home", ":material/home:", "Start here", heading="Backprop Lab")
NOTATION = PageSpec(
    "pages/notation.py",
    "Notation & Jacobians",
    ":material/straighten:",
    "Start here",
    "notation",
    "dM has M's shape, numerator layout, total derivatives",
)
ELEMENTWISE = PageSpec(
    "pages/elementwise.py",
    "Element-wise ops",
    ":material/show_chart:",
    "Building blocks",
    "elementwise",
    "exp, log, sigmoid, tanh, ReLU, Leaky ReLU, softplus: dX = dY ⊙ f′",
)
BINARY = PageSpec(
    "pages/binary.py",
    "Binary ops",
    ":material/add_circle:",
    "Building blocks",
    "binary",
    "add, subtract, Hadamard, divide — with broadcasting",
)
REDUCTIONS = PageSpec(
    "pages/reductions.py",
    "Sum & mean",
    ":material/functions:",
    "Building blocks",
    "reductions",
    "one number out, the gradient copied back",
)
CONV2D = PageSpec(
    "pages/conv2d.py",
    "Conv2D backprop",
    ":material/grid_on:",
    "Layers",
    "conv2d",
    "∂L/∂K = X ⊛ ∂L/∂Z, ∂L/∂X = pad(∂L/∂Z) ⊛ rot180(K)",
)
CONV_T = PageSpec(
    "pages/conv_transpose2d.py",
    "Transposed conv2d",
    ":material/open_in_full:",
    "Layers",
    "conv_transpose2d",
    "stamping kernels; implicit padding k − p − 1",
)
POOLING = PageSpec(
    "pages/pooling.py",
    "Pooling",
    ":material/filter_center_focus:",
    "Layers",
    "pooling",
    "max routes to the winner, average spreads evenly",
)
SOFTMAX = PageSpec(
    "pages/softmax.py",
    "Softmax + cross-entropy",
    ":material/target:",
    "Layers",
    "softmax",
    "∂L/∂f = p − onehot(y), and the notes' lost sign",
)
DENSE = PageSpec(
    "pages/dense.py",
    "Dense layer",
    ":material/hub:",
    "Layers",
    "dense",
    "dW = Xᵀ dZ, dX = dZ Wᵀ, db = column sums",
)
PAGES: tuple[PageSpec, ...] = (
    HOME,
    NOTATION,
    ELEMENTWISE,
    BINARY,
    REDUCTIONS,
    CONV2D,
    CONV_T,
    POOLING,
    SOFTMAX,
    DENSE,
)


def groups() -> dict[str, list[PageSpec]]:
    """The pages by navigation group, in order."""
    out: dict[str, list[PageSpec]] = {}
    for p in PAGES:
        out.setdefault(p.group, []).append(p)
    return out


def page_of(path: str) -> PageSpec:
    """The page whose script is ``path`` (a file path or 'pages/x.py')."""
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    for p in PAGES:
        if p.path.rsplit("/", 1)[-1] == name:
            return p
    raise ValueError(f"no page is registered for {path!r}")


# ---------------------------------------------------------------- the ops

_CONV = (
    _pair("input_shape", "Input size", (3, 3), 1, 16, flag="input"),
    _pair("kernel_shape", "Kernel size", (2, 2), 1, 6, flag="kernel"),
    _pair("stride", "Stride", (1, 1), 1, 4, "How far the kernel moves between outputs."),
    _pair("padding", "Padding", (0, 0), 0, 4, "Zeros added around the input."),
    _pair("dilation", "Dilation", (1, 1), 1, 4, "Spacing between kernel taps."),
)
_OUTPUT_PADDING = _pair(
    "output_padding",
    "Output padding",
    (0, 0),
    0,
    3,
    f"Extra rows/columns at the bottom/right; < stride. The output is at most "
    f"{MAX_TRANSPOSED_OUT}×{MAX_TRANSPOSED_OUT}.",
)
_POOL = (
    _pair("input_shape", "Input size", (2, 2), 1, 16, flag="input"),
    _pair("kernel_size", "Window", (2, 2), 1, 6, flag="pool"),
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
_NOTES_POOL = {"X": [[1, 2], [3, 4]], "upstream": [[2]]}

OPS: dict[str, OpSpec] = {}


def _add(spec: OpSpec) -> None:
    OPS[spec.name] = spec


_add(
    OpSpec(
        "conv2d",
        "Conv2D",
        CONV2D,
        _CONV,
        *A.conv(transposed=False),
        T.conv2d,
    )
)
_add(
    OpSpec(
        "conv_transpose2d",
        "Transposed Conv2D",
        CONV_T,
        (_CONV[0], _CONV[1], _CONV[2], _CONV[3], _OUTPUT_PADDING, _CONV[4]),
        *A.conv(transposed=True),
        T.conv_transpose2d,
    )
)
_add(
    OpSpec(
        "max_pool2d",
        "Max pooling",
        POOLING,
        _POOL,
        *A.pool("max_pool2d"),
        T.max_pool2d,
        kink=A.max_pool_tie,
        notes_example=_NOTES_POOL,
    )
)
_add(
    OpSpec(
        "avg_pool2d",
        "Average pooling",
        POOLING,
        _POOL,
        *A.pool("avg_pool2d"),
        T.avg_pool2d,
        notes_example=_NOTES_POOL,
    )
)
for _name, _title in (("relu", "ReLU"), ("sigmoid", "Sigmoid"), ("tanh", "tanh"), ("exp", "exp")):
    _add(
        OpSpec(
            _name,
            _title,
            ELEMENTWISE,
            _SHAPE,
            *A.unary(_name),
            T.unary(_name),
            kink=A.zero_kink if _name == "relu" else None,
        )
    )
_add(
    OpSpec(
        "log",
        "log",
        ELEMENTWISE,
        _SHAPE,
        *A.unary("log"),
        T.unary("log"),
        positive=("X",),
        domain="log is defined for positive numbers only",
    )
)
_add(
    OpSpec(
        "leaky_relu",
        "Leaky ReLU",
        ELEMENTWISE,
        (
            *_SHAPE,
            Param(
                "negative_slope",
                "Negative slope α",
                "float",
                0.01,
                0.0,
                1.0,
                help="The share of the gradient let through where x ≤ 0 (PyTorch's default 0.01).",
            ),
        ),
        *A.unary("leaky_relu", "negative_slope"),
        T.leaky_relu,
        kink=A.zero_kink,
    )
)
_add(OpSpec("softplus", "Softplus", ELEMENTWISE, _SHAPE, *A.unary("softplus"), T.softplus))
_BROADCAST = Param(
    "broadcast",
    "Broadcast N",
    "choice",
    "none",
    choices=("none", "row", "column", "scalar"),
    help="Give N fewer entries and let it be copied across M.",
)
for _name, _title in (("add", "Add"), ("sub", "Subtract"), ("mul", "Hadamard product")):
    _add(OpSpec(_name, _title, BINARY, (*_SHAPE, _BROADCAST), *A.binary(_name), T.binary(_name)))
_add(
    OpSpec(
        "div",
        "Divide",
        BINARY,
        (*_SHAPE, _BROADCAST),
        *A.binary("div"),
        T.binary("div"),
        positive=("N",),
        domain="it is a divisor",
    )
)
for _name, _title in (("sum", "Sum"), ("mean", "Mean")):
    _add(OpSpec(_name, _title, REDUCTIONS, _SHAPE, *A.reduction(_name), T.reduction(_name)))
_add(
    OpSpec(
        "linear",
        "Dense layer",
        DENSE,
        (
            Param("batch", "Batch size N", "int", 2, 1, 8),
            Param("in_features", "Inputs", "int", 3, 1, 8),
            Param("out_features", "Outputs", "int", 2, 1, 8),
        ),
        A.linear_forward,
        A.linear_grads,
        T.linear,
    )
)
_add(
    OpSpec(
        "softmax_cross_entropy",
        "Softmax + cross-entropy",
        SOFTMAX,
        (
            Param("num_classes", "Classes", "int", 3, 2, 10, flag="classes"),
            Param(
                "target",
                "True class yᵢ",
                "int",
                0,
                0,
                9,
                help="Counted from 1, as in the formulas (PyTorch's target index is one less).",
                shown_from=1,
            ),
        ),
        A.ce_forward,
        A.ce_grads,
        T.cross_entropy,
    )
)


def ops_on_page(page: str | PageSpec) -> list[OpSpec]:
    path = page.path if isinstance(page, PageSpec) else page_of(page).path
    return [s for s in OPS.values() if s.page.path == path]


def lesson_pages() -> list[PageSpec]:
    """The pages that teach a registered op, in navigation order."""
    return [p for p in PAGES if ops_on_page(p)]


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
    # non-zero (a 1 × 1 upstream too: ∂J/∂y is whatever comes from above, not always 1): a zero upstream entry silently hides the terms the lesson is about
    return rng.choice([-2.0, -1.0, 1.0, 2.0], size=d.upstream.shape)
