"""The one registry: every page of the app, and every op described once — its title and page,
its derivation (``derivations.DERIVATIONS``: maths, lesson, parameters with defaults, bounds and
CLI flags, work count), its engine pair, its PyTorch reference, where it has no derivative, its
domain, the notes' example, its practice tip and the notes' mistakes it offers. The navigation,
the home page, the sidebar widgets, the URL, the parametrised tests, the browser test and the
benchmarks are all built from it. To change an op's title, page or PyTorch reference, change
its entry here; its parameters, in derivations/table.py.

No streamlit here: the tests import it.
"""

from __future__ import annotations

from collections.abc import Callable

from derivations import DERIVATIONS
from ui import adapters, custom, torch_ref
from ui.specs import Geometry, OpSpec, PageSpec

# ---------------------------------------------------------------- the pages

HOME = PageSpec(
    path="pages/home.py",
    title="Home",
    icon=":material/home:",
    group="Start here",
    heading="Backprop Lab",
)
GRAPH = PageSpec(
    path="pages/graph.py",
    title="Computational graph",
    icon=":material/account_tree:",
    group="Start here",
    url="graph",
    blurb="any expression drawn as micrograd draws it, backpropagated one node at a time",
)
NOTATION = PageSpec(
    path="pages/notation.py",
    title="Notation & Jacobians",
    icon=":material/straighten:",
    group="Start here",
    url="notation",
    blurb="dM has M's shape, numerator layout, total derivatives",
)
ELEMENTWISE = PageSpec(
    path="pages/elementwise.py",
    title="Element-wise ops",
    icon=":material/show_chart:",
    group="Building blocks",
    url="elementwise",
    blurb="exp, log, sigmoid, tanh, ReLU, Leaky ReLU, softplus: dX = dY ⊙ f′",
)
BINARY = PageSpec(
    path="pages/binary.py",
    title="Binary ops",
    icon=":material/add_circle:",
    group="Building blocks",
    url="binary",
    blurb="add, subtract, Hadamard, divide — with broadcasting",
)
REDUCTIONS = PageSpec(
    path="pages/reductions.py",
    title="Sum & mean",
    icon=":material/functions:",
    group="Building blocks",
    url="reductions",
    blurb="one number out, the gradient copied back",
)
CUSTOM = PageSpec(
    path="pages/custom.py",
    title="Your own function",
    icon=":material/draw:",
    group="Building blocks",
    url="custom",
    blurb="type any f(x): sympy derives f′, and dX = dY ⊙ f′(X) is checked",
)
CONV2D = PageSpec(
    path="pages/conv2d.py",
    title="Conv2D backprop",
    icon=":material/grid_on:",
    group="Layers",
    url="conv2d",
    blurb="∂L/∂K = X ⊛ ∂L/∂Z, ∂L/∂X = pad(∂L/∂Z) ⊛ rot180(K)",
)
CONV_T = PageSpec(
    path="pages/conv_transpose2d.py",
    title="Transposed conv2d",
    icon=":material/open_in_full:",
    group="Layers",
    url="conv_transpose2d",
    blurb="stamping kernels; implicit padding k − p − 1",
)
POOLING = PageSpec(
    path="pages/pooling.py",
    title="Pooling",
    icon=":material/filter_center_focus:",
    group="Layers",
    url="pooling",
    blurb="max routes to the winner, average spreads evenly",
)
SOFTMAX = PageSpec(
    path="pages/softmax.py",
    title="Softmax + cross-entropy",
    icon=":material/target:",
    group="Layers",
    url="softmax",
    blurb="∂L/∂f = p − onehot(y), and the notes' lost sign",
)
ATTENTION = PageSpec(
    path="pages/attention.py",
    title="Attention",
    icon=":material/visibility:",
    group="Layers",
    url="attention",
    blurb="softmax(QKᵀ/√d)·V entry by entry; the softmax Jacobian; ∂L/∂Q, ∂L/∂K, ∂L/∂V",
)
DENSE = PageSpec(
    path="pages/dense.py",
    title="Dense layer",
    icon=":material/hub:",
    group="Layers",
    url="dense",
    blurb="dW = Xᵀ dZ, dX = dZ Wᵀ, db = column sums",
)
MLP = PageSpec(
    path="pages/mlp.py",
    title="MLP: train and derive",
    icon=":material/scatter_plot:",
    group="Networks",
    url="mlp",
    blurb="a 2-D dataset and its decision boundary; the chain rule through every layer",
    heading="A multilayer perceptron, trained and derived",
)
CNN = PageSpec(
    path="pages/cnn.py",
    title="CNN on digits",
    icon=":material/pin:",
    group="Networks",
    url="cnn",
    blurb="real 8×8 digits, trained live; one image's backward pass, layer by layer",
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
    path="pages/normalisation.py",
    title="Normalisation",
    icon=":material/balance:",
    group="Layers",
    url="normalisation",
    blurb="batch norm, layer norm, residual: dense Jacobians and the identity path",
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

_NOTES_POOL = {"X": [[1, 2], [3, 4]], "upstream": [[2]]}
# the notation practice answers need, not the answer: letters no lesson uses, no entry's cells
_FIRST_MAX_TIP = (
    "`first_max(c, w1, w2, …)` is 1 when the cell c is the first maximum of its window w1, w2, "
    "… (all the window's cells in reading order, c among them), else 0: on a tie the first one "
    "wins, as in PyTorch. A condition such as `[a > b]` is 1 where it holds and 0 elsewhere, if "
    "you prefer to write the comparisons out."
)
_RELU_TIP = (
    "A condition in square brackets, such as `[a > 0]`, is 1 where it holds and 0 elsewhere. At "
    "exactly 0 this app follows PyTorch and note 003: ReLU′(0) = 0 (note 004 writes [x ≥ 0], "
    "which gives 1 there)."
)
_LEAKY_RELU_TIP = (
    "Conditions are 1 or 0, so `[a > 0] + 0.5*[a <= 0]` is 1 where a > 0 and 0.5 elsewhere."
)
_ATTENTION_TIP = (
    "Type a weight pᵢⱼ as `p21` and an output oᵢⱼ as `o21` (each stands for its formula; a "
    "weight the mask fixes at 0 or 1 is typed as that number), √2 as `sqrt(2)`."
)


def _conv_geometry(p: dict) -> dict[str | None, Geometry]:
    s, dl = p.get("stride"), p.get("dilation")
    return {"K": Geometry("correlate", dl, s), "X": Geometry("correlate", crop=p.get("padding"))}


def _conv_t_geometry(p: dict) -> dict[str | None, Geometry]:
    s, dl = p.get("stride"), p.get("dilation")
    return {
        None: Geometry("correlate", bias=True),
        "K": Geometry("correlate", dl, s),
        "X": Geometry("correlate", s, dl),
    }


def _matmuls(*grads: str) -> Callable[[dict], dict[str | None, Geometry]]:
    return lambda p: dict.fromkeys(grads, Geometry("matmul"))


def _entries() -> tuple[OpSpec, ...]:
    """Every op's entry, in the order of DERIVATIONS (the CLI's and the Operation boxes')."""
    d = DERIVATIONS
    return (
        OpSpec(
            derivation=d["conv2d"],
            title="Conv2D",
            page=CONV2D,
            **adapters.conv(transposed=False),
            torch=torch_ref.conv2d,
            geometry=_conv_geometry,
            mistakes=("conv-k22",),
        ),
        OpSpec(
            derivation=d["conv_transpose2d"],
            title="Transposed Conv2D",
            page=CONV_T,
            **adapters.conv(transposed=True),
            torch=torch_ref.conv_transpose2d,
            geometry=_conv_t_geometry,
            mistakes=("convT-k11", "convT-x22"),
        ),
        OpSpec(
            derivation=d["max_pool2d"],
            title="Max pooling",
            page=POOLING,
            **adapters.pool("max_pool2d"),
            torch=torch_ref.max_pool2d,
            kink=adapters.max_pool_tie,
            notes_example=_NOTES_POOL,
            practice_tip=_FIRST_MAX_TIP,
            mistakes=("avgpool-index",),
        ),
        OpSpec(
            derivation=d["avg_pool2d"],
            title="Average pooling",
            page=POOLING,
            **adapters.pool("avg_pool2d"),
            torch=torch_ref.avg_pool2d,
            geometry=lambda p: {"X": Geometry("correlate", crop=p.get("padding"))},
            notes_example=_NOTES_POOL,
            mistakes=("avgpool-index",),
        ),
        *_elementwise(),
        *_binary_and_reductions(),
        *_layers(),
        *_networks(),
    )


def _unary(name: str, title: str, **more) -> OpSpec:
    return OpSpec(
        derivation=DERIVATIONS[name],
        title=title,
        page=ELEMENTWISE,
        **adapters.unary(name),
        torch=torch_ref.unary(name),
        **more,
    )


def _elementwise() -> tuple[OpSpec, ...]:
    return (
        _unary(
            "relu", "ReLU", kink=adapters.zero_kink, practice_tip=_RELU_TIP, mistakes=("relu-zero",)
        ),
        _unary("sigmoid", "Sigmoid", exp_overflow=True),
        _unary("tanh", "tanh", exp_overflow=True),
        _unary("exp", "exp", exp_overflow=True),
        _unary("log", "log", positive=("X",), domain="log is defined for positive numbers only"),
        OpSpec(
            derivation=DERIVATIONS["leaky_relu"],
            title="Leaky ReLU",
            page=ELEMENTWISE,
            **adapters.unary("leaky_relu", "negative_slope"),
            torch=torch_ref.leaky_relu,
            kink=adapters.zero_kink,
            practice_tip=_LEAKY_RELU_TIP,
            mistakes=("relu-zero",),
        ),
        OpSpec(
            derivation=DERIVATIONS["softplus"],
            title="Softplus",
            page=ELEMENTWISE,
            **adapters.unary("softplus"),
            torch=torch_ref.softplus,
            exp_overflow=True,
        ),
    )


def _binary_and_reductions() -> tuple[OpSpec, ...]:
    def binary(name: str, title: str, **more) -> OpSpec:
        return OpSpec(
            derivation=DERIVATIONS[name],
            title=title,
            page=BINARY,
            **adapters.binary(name),
            torch=torch_ref.binary(name),
            **more,
        )

    def reduction(name: str, title: str) -> OpSpec:
        return OpSpec(
            derivation=DERIVATIONS[name],
            title=title,
            page=REDUCTIONS,
            **adapters.reduction(name),
            torch=torch_ref.reduction(name),
        )

    return (
        binary("add", "Add"),
        binary("sub", "Subtract"),
        binary("mul", "Hadamard product"),
        binary("div", "Divide", positive=("N",), domain="it is a divisor"),
        reduction("sum", "Sum"),
        reduction("mean", "Mean"),
    )


def _norms() -> tuple[OpSpec, ...]:
    return tuple(
        OpSpec(
            derivation=DERIVATIONS[name],
            title=title,
            page=NORMALISATION,
            **adapters.norm(name),
            torch=torch_ref.norm(name),
            values="reals",
            mistakes=(mistake,),
        )
        for name, title, mistake in (
            ("batch_norm", "Batch norm", "bn-diagonal"),
            ("layer_norm", "Layer norm", "ln-diagonal"),
        )
    )


def _layers() -> tuple[OpSpec, ...]:
    return (
        OpSpec(
            derivation=DERIVATIONS["linear"],
            title="Dense layer",
            page=DENSE,
            engine_forward=adapters.linear_forward,
            engine_grads=adapters.linear_grads,
            torch=torch_ref.linear,
            geometry=_matmuls("W", "X", "b"),
            mistakes=("dense-shape",),
        ),
        OpSpec(
            derivation=DERIVATIONS["softmax_cross_entropy"],
            title="Softmax + cross-entropy",
            page=SOFTMAX,
            engine_forward=adapters.ce_forward,
            engine_grads=adapters.ce_grads,
            torch=torch_ref.cross_entropy,
            exp_overflow=True,
            mistakes=("softmax-sign",),
        ),
        OpSpec(
            derivation=DERIVATIONS["attention"],
            title="Scaled dot-product attention",
            page=ATTENTION,
            engine_forward=adapters.attention_forward,
            engine_grads=adapters.attention_grads,
            torch=torch_ref.attention,
            geometry=_matmuls("V", "Q", "K"),
            # N(0, 1) entries give scores of about ±1 (the √d at work); integers up to ±3 made
            # scores of ±9 whose softmax saturates, and ∂L/∂S came out nearly all 0
            values="reals",
            practice_tip=_ATTENTION_TIP,
            mistakes=("attention-root", "attention-transpose", "attention-diagonal"),
        ),
        *_norms(),
        OpSpec(
            derivation=DERIVATIONS["residual"],
            title="Residual block",
            page=NORMALISATION,
            **adapters.residual(),  # engine_forward, engine_grads, kink
            torch=torch_ref.residual,
            values="reals",
            mistakes=("residual-identity",),
        ),
    )


def _networks() -> tuple[OpSpec, ...]:
    return (
        OpSpec(
            derivation=DERIVATIONS["custom"],
            title="Your own function",
            page=CUSTOM,
            engine_forward=custom.forward,
            engine_grads=custom.grads,
            torch=None,
            no_torch_because="PyTorch has no function for a formula the learner types; the "
            "numbers are checked by finite differences",
            kink=custom.kink,
            domain="f must be defined there",
            values="reals",
            undefined=custom.undefined,
        ),
        OpSpec(
            derivation=DERIVATIONS["mlp"],
            title="MLP",
            page=MLP,
            **adapters.mlp(),
            torch=torch_ref.mlp,
            kink=adapters.mlp_kink,
            values="reals",
            upstream_is_seed=True,
            mistakes=("dense-shape", "softmax-sign"),
        ),
        OpSpec(
            derivation=DERIVATIONS["cnn"],
            title="Tiny CNN",
            page=CNN,
            **adapters.cnn(),
            torch=torch_ref.cnn,
            kink=adapters.cnn_tie,
            values="reals",
            upstream_is_seed=True,
            mistakes=("conv-k22", "relu-zero", "softmax-sign"),
        ),
    )


OPS: dict[str, OpSpec] = {spec.name: spec for spec in _entries()}


def ops_on_page(page: str | PageSpec) -> list[OpSpec]:
    path = page.path if isinstance(page, PageSpec) else page_of(page).path
    return [s for s in OPS.values() if s.page.path == path]


def lesson_pages() -> list[PageSpec]:
    """The pages that teach a registered op, in navigation order."""
    return [p for p in PAGES if ops_on_page(p)]
