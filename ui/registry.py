"""The one registry: every page of the app, and every op described once — its parameters with
defaults, bounds and CLI flags, its title and page, its engine pair, its PyTorch reference, where
it has no derivative, its domain, and the notes' example. The navigation, the home page, the
sidebar widgets, the URL, the CLI, the parametrised tests, the browser test and the benchmarks are
all built from it. To change an op's bounds, title or PyTorch reference, change its entry here.

No streamlit here: the tests and the CLI import it.
"""

from __future__ import annotations

from derivations.conv import MAX_TRANSPOSED_OUT
from derivations.custom_op import DEFAULT_F
from derivations.residual import ACTIVATIONS
from ui import adapters as A
from ui import custom as C
from ui import torch_ref as T
from ui.specs import OpSpec, PageSpec, Param


def _pair(name, label, default, lo, hi, tip="", flag=""):
    return Param(name, label, "pair", default, lo, hi, help=tip, flag=flag)


# ---------------------------------------------------------------- the pages

HOME = PageSpec("pages/home.py", "Home", ":material/home:", "Start here", heading="Backprop Lab")
GRAPH = PageSpec(
    "pages/graph.py",
    "Computational graph",
    ":material/account_tree:",
    "Start here",
    "graph",
    "any expression drawn as micrograd draws it, backpropagated one node at a time",
)
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
CUSTOM = PageSpec(
    "pages/custom.py",
    "Your own function",
    ":material/draw:",
    "Building blocks",
    "custom",
    "type any f(x): sympy derives f′, and dX = dY ⊙ f′(X) is checked",
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
ATTENTION = PageSpec(
    "pages/attention.py",
    "Attention",
    ":material/visibility:",
    "Layers",
    "attention",
    "softmax(QKᵀ/√d)·V entry by entry; the softmax Jacobian; ∂L/∂Q, ∂L/∂K, ∂L/∂V",
)
DENSE = PageSpec(
    "pages/dense.py",
    "Dense layer",
    ":material/hub:",
    "Layers",
    "dense",
    "dW = Xᵀ dZ, dX = dZ Wᵀ, db = column sums",
)
MLP = PageSpec(
    "pages/mlp.py",
    "MLP: train and derive",
    ":material/scatter_plot:",
    "Networks",
    "mlp",
    "a 2-D dataset and its decision boundary; the chain rule through every layer",
    heading="A multilayer perceptron, trained and derived",
)
CNN = PageSpec(
    "pages/cnn.py",
    "CNN on digits",
    ":material/pin:",
    "Networks",
    "cnn",
    "real 8×8 digits, trained live; one image's backward pass, layer by layer",
    heading="A tiny CNN on handwritten digits",
)
ATTENTION_TRAINED = PageSpec(
    "pages/attention_trained.py",
    "Attention, trained",
    ":material/swap_horiz:",
    "Networks",
    "attention_trained",
    "a self-attention layer learns to reverse a sequence live; its map P becomes the permutation",
    heading="A self-attention layer, trained live",
)
NORMALISATION = PageSpec(
    "pages/normalisation.py",
    "Normalisation",
    ":material/balance:",
    "Layers",
    "normalisation",
    "batch norm, layer norm, residual: dense Jacobians and the identity path",
)
PAGES: tuple[PageSpec, ...] = (
    HOME,
    GRAPH,
    NOTATION,
    ELEMENTWISE,
    BINARY,
    REDUCTIONS,
    CUSTOM,
    CONV2D,
    CONV_T,
    POOLING,
    SOFTMAX,
    ATTENTION,
    DENSE,
    NORMALISATION,
    MLP,
    CNN,
    ATTENTION_TRAINED,
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


def _last_class(values: dict) -> int | None:
    """The last 0-based class of a network: its classes, or its last layer's size, less one."""
    sizes = values.get("layer_sizes")
    if isinstance(sizes, tuple) and sizes:
        return sizes[-1] - 1
    classes = values.get("classes", values.get("num_classes"))
    return classes - 1 if isinstance(classes, int) else None


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
                bound=_last_class,
            ),
        ),
        A.ce_forward,
        A.ce_grads,
        T.cross_entropy,
    )
)
# one head on one sequence; the caps past these widgets are derivations/attention.py's
_add(
    OpSpec(
        "attention",
        "Scaled dot-product attention",
        ATTENTION,
        (
            Param("queries", "Queries", "int", 2, 1, 4, help="Rows of Q: the tokens that look."),
            Param("keys", "Keys", "int", 2, 1, 4, help="Rows of K and V: the tokens looked at."),
            Param("d_k", "d (query and key width)", "int", 2, 1, 4, help="Columns of Q and K."),
            Param("d_v", "Value width", "int", 2, 1, 4, help="Columns of V and of the output."),
            Param(
                "causal",
                "Causal mask",
                "bool",
                False,
                help="Query i sees keys 1 to i only (no looking ahead); needs as many queries "
                "as keys.",
            ),
        ),
        A.attention_forward,
        A.attention_grads,
        T.attention,
        # N(0, 1) entries give scores of about ±1 (the √d at work); integers up to ±3 made
        # scores of ±9 whose softmax saturates, and ∂L/∂S came out nearly all 0
        values="reals",
    )
)

for _name, _title, _n, _c in (
    ("batch_norm", "Batch norm", (3, 2, 6), (2, 1, 4)),
    ("layer_norm", "Layer norm", (2, 1, 4), (3, 2, 6)),
):
    _sizes = (Param("batch", "Batch size N", "int", *_n), Param("features", "Features", "int", *_c))
    _add(
        OpSpec(
            name=_name,
            title=_title,
            page=NORMALISATION,
            params=_sizes,
            **A.norm(_name),  # engine_forward, engine_grads
            torch=T.norm(_name),
            values="reals",
        )
    )
_F_OF_X = "f(X) = activation(X W + b); the block outputs X + f(X)."
_add(
    OpSpec(
        name="residual",
        title="Residual block",
        page=NORMALISATION,
        params=(
            Param("features", "Features F", "int", 2, 1, 6),
            Param("activation", "Activation", "choice", "tanh", choices=ACTIVATIONS, help=_F_OF_X),
        ),
        **A.residual(),  # engine_forward, engine_grads, kink
        torch=T.residual,
        values="reals",
    )
)

_add(
    OpSpec(
        "custom",
        "Your own function",
        CUSTOM,
        (
            Param(
                "f",
                "Your function f(x)",
                "text",
                DEFAULT_F,
                1,
                120,
                choices=("x**2*sin(x)", "log(1+exp(x))", "x*sigmoid(x)", "tanh(x)^2"),
                help="A formula in x: numbers, + - * / and ** or ^, parentheses, and exp log "
                "sin cos tanh sigmoid relu sqrt abs. Press Enter to derive it.",
            ),
            *_SHAPE,
        ),
        C.forward,
        C.grads,
        None,  # no PyTorch reference: the numbers are checked by finite differences
        kink=C.kink,
        domain="f must be defined there",
        values="reals",
        undefined=C.undefined,
    )
)


_TARGET = Param(
    "target",
    "True class y",
    "int",
    0,
    0,
    3,
    help="Counted from 1, as in the formulas (PyTorch's target index is one less).",
    shown_from=1,
    bound=_last_class,
)
_add(
    OpSpec(
        "mlp",
        "MLP",
        MLP,
        (
            Param(
                "layer_sizes",
                "Layer sizes",
                "sizes",
                (2, 3, 2),
                1,
                4,
                help="Input, hidden layers, classes: 3 to 5 sizes of 1 to 4 (at least 2 "
                "classes), such as 2, 3, 2 or 2 3 2.",
                flag="layers",
                count=(3, 5),
            ),
            Param(
                "activation",
                "Activation",
                "choice",
                "sigmoid",
                choices=("sigmoid", "tanh", "relu"),
                help="After every hidden layer.",
            ),
            _TARGET,
        ),
        *A.mlp(),
        T.mlp,
        kink=A.mlp_kink,
        values="reals",
        upstream_is_seed=True,
    )
)
_add(
    OpSpec(
        "cnn",
        "Tiny CNN",
        CNN,
        (
            _pair("input_shape", "Input size", (3, 3), 1, 8, flag="input"),
            _pair("kernel_shape", "Kernel size", (2, 2), 1, 4, flag="kernel"),
            _pair(
                "pool", "Max pool", (2, 2), 1, 4, "Window and stride; must divide the conv output."
            ),
            Param("classes", "Classes", "int", 2, 2, 4),
            _TARGET,
        ),
        *A.cnn(),
        T.cnn,
        kink=A.cnn_tie,
        values="reals",
        upstream_is_seed=True,
    )
)


def ops_on_page(page: str | PageSpec) -> list[OpSpec]:
    path = page.path if isinstance(page, PageSpec) else page_of(page).path
    return [s for s in OPS.values() if s.page.path == path]


def lesson_pages() -> list[PageSpec]:
    """The pages that teach a registered op, in navigation order."""
    return [p for p in PAGES if ops_on_page(p)]
