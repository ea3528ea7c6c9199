"""What one kind of op's maths hands its lesson, the page and practice besides the fields every
Math has: a small dataclass per kind, held in the Math field of the same name (``Math.unary``,
``Math.reduction``, ``Math.custom``, ``Math.conv``, ``Math.pool``, ``Math.softmax``,
``Math.norm``, ``Math.residual``, ``Math.attention``, ``Math.mlp``, ``Math.cnn``), so every
producer and reader of a fact is found by its name. Read them with :func:`need`, which says which op lacked
them rather than failing on None."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import sympy as sp

if TYPE_CHECKING:
    from .derivation import Math
    from .elementwise import Unary
    from .norm import _Group, _Template

T = TypeVar("T")


def need(facts: T | None, op: str, kind: str) -> T:
    """``facts``, which a lesson or page of ``op`` relies on: a ValueError naming both if the
    Math does not carry them."""
    if facts is None:
        raise ValueError(f"{op}: this Math carries no {kind} facts")
    return facts


@dataclass
class UnaryFacts:
    """elementwise.unary_from: the function (its kink and rule) and f′ in its variable T."""

    fn: Unary
    fprime: sp.Expr


@dataclass
class ReductionFacts:
    """sum and mean (elementwise.reduction_math): every input's coefficient in the output."""

    coef: sp.Expr


@dataclass
class CustomFacts:
    """custom_op: the learner's f and f′ in custom.x, and every piece of LaTeX the lesson and
    the page print of them, made in the worker (``tex``: "f", "raw", "fprime", "simplified",
    "form", "short", "out")."""

    f_x: sp.Expr
    fprime_x: sp.Expr
    tex: dict


@dataclass
class ConvFacts:
    """conv.py: the output's size; for conv2d the dilated kernel and the input rows and
    columns no window reaches (``kd``, ``unreached``), for conv_transpose2d the padding of its
    form as a plain convolution (``implicit_padding``: rows, columns)."""

    out: tuple[int, int]
    kd: sp.Matrix | None = None
    unreached: tuple[int, int] = (0, 0)
    implicit_padding: tuple[int, int] = (0, 0)


@dataclass
class PoolFacts:
    """pool.py: the output's size and each output cell's window of input cells."""

    out: tuple[int, int]
    windows: dict


@dataclass
class SoftmaxFacts:
    """softmax + cross-entropy (dense.py): the probabilities and the one-hot target, rows."""

    p: sp.Matrix
    onehot: sp.Matrix


@dataclass
class NormFacts:
    """norm.py's batch and layer norm: the one group's template, every group (its cells, μ, σ
    and names), whether groups are columns, x̂ by name and written out, the gradients in x̂,
    which template identities sympy proved, and the diagonal mistake written out."""

    template: _Template
    groups: list[_Group]
    by_column: bool
    xhat: sp.Matrix
    xhat_full: sp.Matrix
    grads_hat: dict
    proofs: dict[str, bool]
    wrong_full: sp.Matrix | None = None


@dataclass
class ResidualFacts:
    """residual.py: the layer's sums z (written out) and their names, act′ at each, and
    f's Jacobian J."""

    z: sp.Matrix
    z_names: sp.Matrix
    dact: sp.Matrix
    J: sp.Matrix


@dataclass
class AttentionFacts:
    """attention.py: the page's display symbols ``show`` ("s", "p", "dp", "ds" → matrices of
    names), the keys each query sees (``seen[i]``) and the weights P."""

    show: dict[str, sp.Matrix]
    seen: list[list[int]]
    probabilities: sp.Matrix


@dataclass
class MlpFacts:
    """network.mlp_math: each layer's (dense Math, activation Math or None for the last), the
    softmax + cross-entropy Math on top, and the first layer for a batch of 3."""

    layers: list[tuple[Math, Math | None]]
    ce: Math
    batch: Math

    def activation(self, ell: int) -> Math:
        """Layer ``ell``'s activation (from 1): every layer below the last has one."""
        return need(self.layers[ell - 1][1], f"mlp layer {ell}", "activation")


@dataclass
class CnnFacts:
    """network.cnn_math: its ops by name ("conv", "relu", "pool", "flatten", "dense", "ce"), the
    convolution's and the pooling's output sizes."""

    ops: dict[str, Math]
    conv_out: tuple[int, int]
    pooled: tuple[int, int]
