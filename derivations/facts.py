"""What one kind of op's maths hands its lesson, the page and practice besides the fields every
Math has: a small dataclass per kind, held in the Math field of the same name
(``Math.softmax``, ``Math.attention``, ``Math.mlp``, ``Math.cnn``), so every producer and
reader of a fact is found by its name. Read them with :func:`need`, which says which op lacked
them rather than failing on None."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import sympy as sp

if TYPE_CHECKING:
    from .derivation import Math

T = TypeVar("T")


def need(facts: T | None, op: str, kind: str) -> T:
    """``facts``, which a lesson or page of ``op`` relies on: a ValueError naming both if the
    Math does not carry them."""
    if facts is None:
        raise ValueError(f"{op}: this Math carries no {kind} facts")
    return facts


@dataclass
class SoftmaxFacts:
    """softmax + cross-entropy (dense.py): the probabilities and the one-hot target, rows."""

    p: sp.Matrix
    onehot: sp.Matrix


@dataclass
class AttentionFacts:
    """attention.py: the page's display symbols ``show`` ("s", "p", "dp", "ds" → matrices of
    names), the keys each query sees (``seen[i]``), the scores S and the weights P."""

    show: dict[str, sp.Matrix]
    seen: list[list[int]]
    scores: sp.Matrix
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
