"""Every op derive() knows, once: its maths, its lesson, its parameters (kinds, defaults, bounds,
CLI flags) and, for the ops whose size is a product of several parameters, how to count its work
up front. ``DERIVATIONS`` is this package's table; the app's registry (``ui.registry.OPS``)
refers to these entries, and the command line (``derivations.cli``) is built from them.

The parameters' bounds are the lessons' (what a widget offers); derive()'s own caps sit above
them (``derivations.params``; a test keeps it so).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from . import lessons
from .attention import attention_math
from .conv import (
    MAX_TRANSPOSED_OUT,
    conv2d_math,
    conv2d_work,
    conv_transpose2d_math,
    conv_transpose2d_work,
)
from .custom_op import DEFAULT_F, custom_math
from .dense import linear_math, softmax_ce_math
from .derivation import Math, Step
from .elementwise import BINARY, binary_math, reduction_math, unary_math
from .lessons.custom import custom_lesson
from .network import cnn_math, mlp_math
from .norm import batch_norm_math, layer_norm_math
from .param_kinds import BOOL, CHOICE, FLOAT, INT, OPTIONAL_PAIR, SIZES, TEXT, Param, pair
from .pool import avg_pool2d_math, max_pool2d_math, pool_work
from .residual import ACTIVATIONS, residual_math
from .typeset import Typeset

UNARY_OPS = ("relu", "sigmoid", "tanh", "exp", "log", "leaky_relu", "softplus")


@dataclass(frozen=True)
class DerivationSpec:
    name: str  # derive()'s and the engine's name of the op
    math: Callable[..., Math]  # (**params, scope=None) -> its Math
    lesson: Callable[[Math, Typeset], list[Step]]
    params: tuple[Param, ...]
    # (**params) -> the partial derivatives derive() would build, counted without building
    # them, or None where the sizes alone bound the work
    work: Callable[..., int] | None = None

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}


def _last_class(values: dict) -> int | None:
    """The last 0-based class of a network: its classes, or its last layer's size, less one."""
    sizes = values.get("layer_sizes")
    if isinstance(sizes, tuple) and sizes:
        return sizes[-1] - 1
    classes = values.get("classes", values.get("num_classes"))
    return classes - 1 if isinstance(classes, int) else None


_INPUT = pair("input_shape", "Input size", (3, 3), 1, 16, flag="input")
_KERNEL = pair("kernel_shape", "Kernel size", (2, 2), 1, 6, flag="kernel")
_STRIDE = pair("stride", "Stride", (1, 1), 1, 4, "How far the kernel moves between outputs.")
_PADDING = pair("padding", "Padding", (0, 0), 0, 4, "Zeros added around the input.")
_DILATION = pair("dilation", "Dilation", (1, 1), 1, 4, "Spacing between kernel taps.")
_OUTPUT_PADDING = pair(
    "output_padding",
    "Output padding",
    (0, 0),
    0,
    3,
    f"Extra rows/columns at the bottom/right; < stride. The output is at most "
    f"{MAX_TRANSPOSED_OUT}×{MAX_TRANSPOSED_OUT}.",
)
_POOL = (
    pair("input_shape", "Input size", (2, 2), 1, 16, flag="input"),
    pair("kernel_size", "Window", (2, 2), 1, 6, flag="pool"),
    Param(
        name="stride",
        label="Stride",
        kind=OPTIONAL_PAIR,
        default=None,
        lo=1,
        hi=6,
        help="Empty: the window size (PyTorch's default).",
    ),
    pair("padding", "Padding", (0, 0), 0, 3, "At most half the window."),
)
_SHAPE = (pair("shape", "Shape", (2, 2), 1, 16),)
_NEGATIVE_SLOPE = Param(
    name="negative_slope",
    label="Negative slope α",
    kind=FLOAT,
    default=0.01,
    lo=0.0,
    hi=1.0,
    help="The share of the gradient let through where x ≤ 0 (PyTorch's default 0.01).",
)
_BROADCAST = Param(
    name="broadcast",
    label="Broadcast N",
    kind=CHOICE,
    default="none",
    choices=("none", "row", "column", "scalar"),
    help="Give N fewer entries and let it be copied across M.",
)
_LINEAR = (
    Param(name="batch", label="Batch size N", kind=INT, default=2, lo=1, hi=8),
    Param(name="in_features", label="Inputs", kind=INT, default=3, lo=1, hi=8),
    Param(name="out_features", label="Outputs", kind=INT, default=2, lo=1, hi=8),
)
_COUNTED_FROM_1 = "Counted from 1, as in the formulas (PyTorch's target index is one less)."
_SOFTMAX = (
    Param(name="num_classes", label="Classes", kind=INT, default=3, lo=2, hi=10, flag="classes"),
    Param(
        name="target",
        label="True class yᵢ",
        kind=INT,
        default=0,
        lo=0,
        hi=9,
        help=_COUNTED_FROM_1,
        shown_from=1,
        bound=_last_class,
    ),
)
# one head on one sequence; the caps past these widgets are derivations/attention.py's
_ATTENTION = (
    Param(
        name="queries",
        label="Queries",
        kind=INT,
        default=2,
        lo=1,
        hi=4,
        help="Rows of Q: the tokens that look.",
    ),
    Param(
        name="keys",
        label="Keys",
        kind=INT,
        default=2,
        lo=1,
        hi=4,
        help="Rows of K and V: the tokens looked at.",
    ),
    Param(
        name="d_k",
        label="d (query and key width)",
        kind=INT,
        default=2,
        lo=1,
        hi=4,
        help="Columns of Q and K.",
    ),
    Param(
        name="d_v",
        label="Value width",
        kind=INT,
        default=2,
        lo=1,
        hi=4,
        help="Columns of V and of the output.",
    ),
    Param(
        name="causal",
        label="Causal mask",
        kind=BOOL,
        default=False,
        help="Query i sees keys 1 to i only (no looking ahead); needs as many queries as keys.",
    ),
)


def _norm_params(batch: tuple[int, int, int], features: tuple[int, int, int]) -> tuple:
    """(default, lo, hi) of each: batch norm needs 2 rows, layer norm 2 columns."""
    return (
        Param(
            name="batch", label="Batch size N", kind=INT, default=batch[0], lo=batch[1], hi=batch[2]
        ),
        Param(
            name="features",
            label="Features",
            kind=INT,
            default=features[0],
            lo=features[1],
            hi=features[2],
        ),
    )


_RESIDUAL = (
    Param(name="features", label="Features F", kind=INT, default=2, lo=1, hi=6),
    Param(
        name="activation",
        label="Activation",
        kind=CHOICE,
        default="tanh",
        choices=ACTIVATIONS,
        help="f(X) = activation(X W + b); the block outputs X + f(X).",
    ),
)
_CUSTOM = (
    Param(
        name="f",
        label="Your function f(x)",
        kind=TEXT,
        default=DEFAULT_F,
        lo=1,
        hi=120,
        choices=("x**2*sin(x)", "log(1+exp(x))", "x*sigmoid(x)", "tanh(x)^2"),
        help="A formula in x: numbers, + - * / and ** or ^, parentheses, and exp log "
        "sin cos tanh sigmoid relu sqrt abs. Press Enter to derive it.",
    ),
    *_SHAPE,
)
_TARGET = Param(
    name="target",
    label="True class y",
    kind=INT,
    default=0,
    lo=0,
    hi=3,
    help=_COUNTED_FROM_1,
    shown_from=1,
    bound=_last_class,
)
_MLP = (
    Param(
        name="layer_sizes",
        label="Layer sizes",
        kind=SIZES,
        default=(2, 3, 2),
        lo=1,
        hi=4,
        help="Input, hidden layers, classes: 3 to 5 sizes of 1 to 4 (at least 2 classes), "
        "such as 2, 3, 2 or 2 3 2.",
        flag="layers",
        count=(3, 5),
    ),
    Param(
        name="activation",
        label="Activation",
        kind=CHOICE,
        default="sigmoid",
        choices=("sigmoid", "tanh", "relu"),
        help="After every hidden layer.",
    ),
    _TARGET,
)
_CNN = (
    pair("input_shape", "Input size", (3, 3), 1, 8, flag="input"),
    pair("kernel_shape", "Kernel size", (2, 2), 1, 4, flag="kernel"),
    pair("pool", "Max pool", (2, 2), 1, 4, "Window and stride; must divide the conv output."),
    Param(name="classes", label="Classes", kind=INT, default=2, lo=2, hi=4),
    _TARGET,
)

_ENTRIES = (
    DerivationSpec(
        name="conv2d",
        math=conv2d_math,
        lesson=lessons.conv2d_lesson,
        params=(_INPUT, _KERNEL, _STRIDE, _PADDING, _DILATION),
        work=conv2d_work,
    ),
    DerivationSpec(
        name="conv_transpose2d",
        math=conv_transpose2d_math,
        lesson=lessons.conv_transpose2d_lesson,
        params=(_INPUT, _KERNEL, _STRIDE, _PADDING, _OUTPUT_PADDING, _DILATION),
        work=conv_transpose2d_work,
    ),
    *[
        DerivationSpec(
            name=op,
            math=math,
            lesson=lesson,
            params=_POOL,
            work=partial(pool_work, op),
        )
        for op, math, lesson in (
            ("max_pool2d", max_pool2d_math, lessons.max_pool2d_lesson),
            ("avg_pool2d", avg_pool2d_math, lessons.avg_pool2d_lesson),
        )
    ],
    *[
        DerivationSpec(
            name=op,
            math=partial(unary_math, op),
            lesson=lessons.unary_lesson,
            params=(*_SHAPE, _NEGATIVE_SLOPE) if op == "leaky_relu" else _SHAPE,
        )
        for op in UNARY_OPS
    ],
    *[
        DerivationSpec(
            name=op,
            math=partial(binary_math, op),
            lesson=lessons.binary_lesson,
            params=(*_SHAPE, _BROADCAST),
        )
        for op in BINARY
    ],
    *[
        DerivationSpec(
            name=op,
            math=partial(reduction_math, op),
            lesson=lessons.reduction_lesson,
            params=_SHAPE,
        )
        for op in ("sum", "mean")
    ],
    DerivationSpec(name="linear", math=linear_math, lesson=lessons.linear_lesson, params=_LINEAR),
    DerivationSpec(
        name="softmax_cross_entropy",
        math=softmax_ce_math,
        lesson=lessons.softmax_ce_lesson,
        params=_SOFTMAX,
    ),
    DerivationSpec(
        name="attention",
        math=attention_math,
        lesson=lessons.attention_lesson,
        params=_ATTENTION,
    ),
    DerivationSpec(
        name="batch_norm",
        math=batch_norm_math,
        lesson=lessons.norm_lesson,
        params=_norm_params(batch=(3, 2, 6), features=(2, 1, 4)),
    ),
    DerivationSpec(
        name="layer_norm",
        math=layer_norm_math,
        lesson=lessons.norm_lesson,
        params=_norm_params(batch=(2, 1, 4), features=(3, 2, 6)),
    ),
    DerivationSpec(
        name="residual",
        math=residual_math,
        lesson=lessons.residual_lesson,
        params=_RESIDUAL,
    ),
    # your own f(x), typed as text
    DerivationSpec(name="custom", math=custom_math, lesson=custom_lesson, params=_CUSTOM),
    DerivationSpec(name="mlp", math=mlp_math, lesson=lessons.mlp_lesson, params=_MLP),
    DerivationSpec(name="cnn", math=cnn_math, lesson=lessons.cnn_lesson, params=_CNN),
)
DERIVATIONS: dict[str, DerivationSpec] = {e.name: e for e in _ENTRIES}
