"""The notes' mistakes as practice items: each of the seven slips listed in the shared notes'
README, the notes' version shown, the learner finding what is wrong (``ui.practice`` draws
them); and, as ``SLIPS``, the classic slips of lessons the notes do not cover (attention's).
Pure data and two small helpers (each op's registry entry lists the keys its practice offers):
no Streamlit, tested in tests/test_practice.py."""

from __future__ import annotations

from dataclasses import dataclass, field

from ui.registry import OPS


@dataclass(frozen=True)
class Mistake:
    """One of the notes' slips (shared notes README, mistakes 1–7) as a practice item.

    kind "entry": the notes' version of one gradient entry is shown (``terms``, as the note
    writes them); the learner picks the wrong terms (``wrong``) and types the entry as it
    should be (checked against ``derive(op, **params).grads[grad][idx]``).
    kind "choice": a question with ``choices``; ``answer`` is the right one's index."""

    key: str
    number: int  # in the notes README's list
    note: str
    title: str
    op: str
    params: dict = field(default_factory=dict)
    kind: str = "entry"
    grad: str = ""
    idx: tuple[int, int] = (0, 0)
    shown: str = ""  # LaTeX of the notes' version
    terms: tuple[str, ...] = ()  # the notes' terms, as a learner types them
    wrong: tuple[int, ...] = ()
    ask: str = ""
    choices: tuple[str, ...] = ()
    answer: int = -1
    why: str = ""


def _dz(a: str) -> str:
    return rf"\frac{{\partial L}}{{\partial z_{{{a}}}}}"


MISTAKES = (
    Mistake(
        "conv-k22",
        1,
        "003",
        "Note 003's ∂L/∂k₂₂",
        "conv2d",
        grad="K",
        idx=(1, 1),
        shown=rf"\frac{{\partial L}}{{\partial k_{{22}}}} = {_dz('11')} x_{{21}} + {_dz('12')} x_{{23}} + "
        rf"{_dz('21')} x_{{32}} + {_dz('22')} x_{{33}}",
        terms=("dz11*x21", "dz12*x23", "dz21*x32", "dz22*x33"),
        wrong=(0,),
        ask="Note 003 writes ∂L/∂k₂₂ for the 3×3 input and 2×2 kernel like this. One term is off.",
        why="k₂₂ multiplies the bottom-right cell of each window: z₁₁'s window gives x₂₂, not x₂₁.",
    ),
    Mistake(
        "softmax-sign",
        2,
        "003",
        "Note 003's softmax-CE for k ≠ yᵢ",
        "softmax_cross_entropy",
        {"num_classes": 3, "target": 0},
        grad="f",
        idx=(0, 1),
        shown=r"\frac{\partial L}{\partial f_{2}} = -p_{2}\,\frac{\partial L}{\partial L_{i}}"
        r"\qquad (k = 2 \ne y_i = 1)",
        terms=("-dL_i*p2",),
        wrong=(0,),
        ask="Note 003 boxes −pₖ for a class k that is not the true one (here 3 classes, the true "
        "class is 1).",
        why="The quotient rule's numerator is −e^(f_y)·e^(f_k): the minus cancels the one in front, "
        "so the result is +pₖ, and the gradients sum to 0 over k.",
    ),
    Mistake(
        "convT-k11",
        3,
        "001",
        "Note 001's transposed-conv ∂L/∂k₁₁",
        "conv_transpose2d",
        grad="K",
        idx=(0, 0),
        shown=rf"\frac{{\partial L}}{{\partial k_{{11}}}} = {_dz('11')} x_{{11}} + {_dz('12')} x_{{12}} + "
        rf"{_dz('21')} x_{{11}} + {_dz('22')} x_{{12}}",
        terms=("dz11*x11", "dz12*x12", "dz21*x11", "dz22*x12"),
        wrong=(2, 3),
        ask="Note 001 writes ∂L/∂k₁₁ of the transposed convolution (2×2 input, 2×2 kernel) "
        "like this.",
        why="k₁₁ stamps every input cell onto the output at the same offset: z₂₁ gets x₂₁·k₁₁ and "
        "z₂₂ gets x₂₂·k₁₁. The note copied x₁₁, x₁₂ again.",
    ),
    Mistake(
        "convT-x22",
        4,
        "001",
        "Note 001's transposed-conv ∂L/∂x₂₂",
        "conv_transpose2d",
        grad="X",
        idx=(1, 1),
        shown=rf"\frac{{\partial L}}{{\partial x_{{22}}}} = {_dz('21')} k_{{11}} + {_dz('23')} k_{{12}} + "
        rf"{_dz('32')} k_{{21}} + {_dz('33')} k_{{22}}",
        terms=("dz21*k11", "dz23*k12", "dz32*k21", "dz33*k22"),
        wrong=(0,),
        ask="The second list of note 001 starts ∂L/∂x₂₂ like this (its first list has it right).",
        why="x₂₂·k₁₁ lands on z₂₂ (the stamp of x₂₂ starts at row 2, column 2), so the first term "
        "is ∂L/∂z₂₂·k₁₁: ∂L/∂X is the valid cross-correlation ∂L/∂Z ⊛ K.",
    ),
    Mistake(
        "avgpool-index",
        5,
        "003",
        "Note 003's average-pool indexing",
        "avg_pool2d",
        {"input_shape": (4, 4), "kernel_size": 2},
        grad="X",
        idx=(2, 2),
        shown=r"\frac{\partial L}{\partial x_{33}} = \frac{1}{4}\,"
        r"\frac{\partial L}{\partial z_{\lfloor 3/2 \rfloor \lfloor 3/2 \rfloor}} = "
        r"\frac{1}{4}\,\frac{\partial L}{\partial z_{11}}",
        terms=("dz11/4",),
        wrong=(0,),
        ask="Note 003's rule uses a 0-based floor(m/2); applied to the 1-based indices of a 4×4 "
        "input with a 2×2 window it gives this.",
        why="With 1-based indices, cell m sits in window ⌈m/2⌉: x₃₃ is in the window of z₂₂.",
    ),
    Mistake(
        "relu-zero",
        6,
        "004 vs 003",
        "ReLU's gradient at exactly 0",
        "relu",
        kind="choice",
        shown=r"dX = dY \odot [X \ge 0] \;(\text{note 004}) \qquad dX = dY \odot [X > 0] "
        r"\;(\text{note 003})",
        ask="The notes disagree. With x₁₁ = 0 and ∂J/∂y₁₁ = 2, what is ∂J/∂x₁₁ in this app "
        "(and in PyTorch)?",
        choices=("0", "1", "2", "undefined: the app refuses x = 0"),
        answer=0,
        why="ReLU has no derivative at 0, so any value in [0, 1] is a valid choice for ReLU′(0); "
        "PyTorch and this app take 0 (note 003's [z > 0]), so ∂J/∂x₁₁ = 2 · 0 = 0.",
    ),
    Mistake(
        "dense-shape",
        7,
        "002",
        "Note 002's shape of ∂L/∂W",
        "linear",
        kind="choice",
        shown=r"X \in \mathbb{R}^{2\times3},\; W \in \mathbb{R}^{3\times2},\; "
        r"\frac{\partial L}{\partial Z} \in \mathbb{R}^{2\times2}",
        ask='Note 002 muddles the shape of ∂L/∂W ("n×m, but m×n for subtraction"). Which '
        "product is ∂L/∂W, which has the shape of W?",
        choices=("∂L/∂Z · Xᵀ", "Xᵀ · ∂L/∂Z", "X · ∂L/∂Z", "∂L/∂Z · Wᵀ"),
        answer=1,
        why="The gradient has the shape of the parameter (3×2), and every product's inner sizes "
        "must match: Xᵀ (3×2) · ∂L/∂Z (2×2) is 3×2. ∂L/∂Z · Xᵀ is 2×2 · 3×2, which does not "
        "even multiply; ∂L/∂Z · Wᵀ is ∂L/∂X.",
    ),
)
# the classic slips of lessons past the notes (no note makes them), asked the same way:
# ``number`` 0, no ``note``
SLIPS = (
    Mistake(
        "bn-diagonal",
        0,
        "",
        "Batch norm with μ and σ held constant",
        "batch_norm",
        kind="choice",
        shown=r"\frac{\partial L}{\partial x_{ij}} = \frac{\gamma_{j}}{\sigma_{j}}\,"
        r"\frac{\partial L}{\partial y_{ij}}",
        ask="Differentiating yᵢⱼ = γⱼ(xᵢⱼ − μⱼ)/σⱼ + βⱼ as if μⱼ and σⱼ were constants gives "
        "this. What does it leave out?",
        choices=(
            "Nothing: μⱼ and σⱼ are constants of the batch",
            "The paths through μⱼ and σⱼ, which every x of column j moves",
            "Only ε, inside σⱼ",
            "The ∂L/∂y of the other columns",
        ),
        answer=1,
        why="μⱼ and σⱼ are computed from the whole column, xᵢⱼ included, so xᵢⱼ reaches every y "
        "of its column through them: the right answer adds −γⱼ/(Nσⱼ)·(Σₖ ∂L/∂yₖⱼ + x̂ᵢⱼ "
        "Σₖ ∂L/∂yₖⱼ·x̂ₖⱼ). The other columns do not depend on xᵢⱼ at all.",
    ),
    Mistake(
        "ln-diagonal",
        0,
        "",
        "Layer norm with μ and σ held constant",
        "layer_norm",
        kind="choice",
        shown=r"\frac{\partial L}{\partial x_{ij}} = \frac{\gamma_{j}}{\sigma_{i}}\,"
        r"\frac{\partial L}{\partial y_{ij}}",
        ask="Differentiating yᵢⱼ = γⱼ(xᵢⱼ − μᵢ)/σᵢ + βⱼ as if μᵢ and σᵢ were constants gives "
        "this. What does it leave out?",
        choices=(
            "Nothing: μᵢ and σᵢ are constants of the sample",
            "The paths through μᵢ and σᵢ, which every x of row i moves",
            "Only ε, inside σᵢ",
            "The ∂L/∂y of the other samples",
        ),
        answer=1,
        why="μᵢ and σᵢ are computed from the whole row, xᵢⱼ included: the right answer adds "
        "−1/(Dσᵢ)·(Σₖ ĝᵢₖ + x̂ᵢⱼ Σₖ ĝᵢₖ·x̂ᵢₖ) with ĝ = ∂L/∂y ⊙ γ. The other rows do not depend "
        "on xᵢⱼ at all.",
    ),
    Mistake(
        "residual-identity",
        0,
        "",
        "A residual block without its identity path",
        "residual",
        kind="choice",
        shown=r"\frac{\partial L}{\partial X} = \frac{\partial L}{\partial Y}\, J_{f}",
        ask="For Y = X + f(X), a classmate backpropagates through f alone and gets this. What is "
        "missing?",
        choices=(
            "∂L/∂Y itself: the identity path's term",
            "A transpose: ∂L/∂Y·J_fᵀ",
            "Nothing: the skip connection has no weights, so it passes no gradient",
            "One more factor act′(Z)",
        ),
        answer=0,
        why="∂Y/∂X = I + J_f: the skip connection's Jacobian is I, so ∂L/∂X = ∂L/∂Y + ∂L/∂Y·J_f. "
        "Having no weights means it adds nothing to ∂L/∂W, not nothing to ∂L/∂X.",
    ),
    Mistake(
        "attention-root",
        0,
        "",
        "Forgetting the √d",
        "attention",
        kind="choice",
        shown=r"S = \frac{Q K^\top}{\sqrt{d}}, \quad P = \mathrm{softmax}(S), \quad O = P V",
        ask="The forward pass divides the scores by √d. Given ∂L/∂S, which is ∂L/∂Q?",
        choices=("∂L/∂S · K", "∂L/∂S · K / √d", "∂L/∂S · K · √d", "(∂L/∂S)ᵀ · K / √d"),
        answer=1,
        why="sᵢₘ = (qᵢ₁kₘ₁ + … + qᵢdkₘd)/√d, so ∂sᵢₘ/∂qᵢₐ = kₘₐ/√d: the 1/√d of the forward "
        "pass is in every path back to Q (and to K). Without it both gradients are √d times "
        "too large.",
    ),
    Mistake(
        "attention-transpose",
        0,
        "",
        "The missing transpose in ∂L/∂K",
        "attention",
        kind="choice",
        shown=r"Q \in \mathbb{R}^{3\times 2},\; K \in \mathbb{R}^{4\times 2},\; "
        r"\frac{\partial L}{\partial S} \in \mathbb{R}^{3\times 4}",
        ask="3 queries, 4 keys, d = 2. Which product is ∂L/∂K, which has the shape of K?",
        choices=("∂L/∂S · Q / √d", "(∂L/∂S)ᵀ · Q / √d", "Q · ∂L/∂S / √d", "(∂L/∂S)ᵀ · K / √d"),
        answer=1,
        why="Key m enters column m of S (sᵢₘ for every query i), so its gradient sums down that "
        "column: (∂L/∂S)ᵀ (4×3) · Q (3×2) / √d is 4×2, K's shape. ∂L/∂S · Q is 3×4 · 3×2, which "
        "does not even multiply.",
    ),
    Mistake(
        "attention-diagonal",
        0,
        "",
        "Softmax's Jacobian taken as diagonal",
        "attention",
        kind="choice",
        shown=r"p = \mathrm{softmax}(s_1, \dots, s_n), \quad "
        r"\frac{\partial p_j}{\partial s_m} = p_j\left([j = m] - p_m\right)",
        ask="One row of scores s and its probabilities p; the upstream ∂L/∂p is any row. Which "
        "is ∂L/∂sₘ?",
        choices=(
            "pₘ (1 − pₘ) · ∂L/∂pₘ",
            "pₘ (∂L/∂pₘ − Σⱼ pⱼ ∂L/∂pⱼ)",
            "pₘ − ∂L/∂pₘ",
            "pₘ · ∂L/∂pₘ",
        ),
        answer=1,
        why="Softmax is not element-wise: pⱼ depends on sₘ through the sum they share. Σⱼ ∂L/∂pⱼ "
        "pⱼ([j = m] − pₘ) keeps the off-diagonal −pⱼpₘ terms, which pₘ(1 − pₘ) alone drops. "
        "Check: the true ∂L/∂s sums to 0 over the row.",
    ),
)
BY_KEY = {m.key: m for m in (*MISTAKES, *SLIPS)}  # the page's selectbox holds keys


def mistakes_for(op: str) -> list[Mistake]:
    """The mistakes op's practice offers (its registry entry's ``mistakes``; a network offers
    those of the ops it is made of)."""
    spec = OPS.get(op)
    return [BY_KEY[k] for k in spec.mistakes] if spec else []


def picked_right(item: Mistake, picked) -> bool:
    """Are the picked terms (indices) exactly the notes' wrong ones?"""
    return sorted(int(i) for i in picked) == sorted(item.wrong)
