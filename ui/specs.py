"""What describes a page of the app and an op of the registry (``ui.registry`` holds the
entries). No streamlit here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from derivations import Derivation, DerivationSpec, derive
from derivations.param_kinds import Param

# (values, params) -> the output matrix
Forward = Callable[[dict, dict], np.ndarray]
# (values, upstream, params) -> {input name: its gradient}
Grads = Callable[[dict, np.ndarray, dict], dict]
# (values, derivation) -> why the numbers cannot be used here, in words, or ""
Check = Callable[[dict, Derivation], str]


@dataclass(frozen=True)
class Geometry:
    """How one result cell of a proven pattern is computed from its two operands
    (``ui.patterns``)."""

    kind: str  # "correlate", "matmul" or "cells"
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    crop: tuple[int, int] = (0, 0)  # rows/columns of the full result cut off at the top/left
    bias: bool = False  # "+ b" after the sum (the transposed conv's forward pattern)


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
    derivation: DerivationSpec  # derive()'s entry: the name, the maths, the lesson, the params
    title: str
    page: PageSpec  # the lesson that teaches it
    engine_forward: Forward
    engine_grads: Grads
    # (leaf tensors, params) -> output tensor, for the PyTorch reference; None with a reason
    torch: Callable[[dict, dict], object] | None
    no_torch_because: str = ""  # why there is no PyTorch reference, where there is none
    kink: Check | None = None  # why finite differences are undefined at these values, or ""
    positive: tuple[str, ...] = ()  # inputs that must stay > 0
    domain: str = ""  # why, in words (log's x > 0)
    # the notes' numeric example (input values and "upstream"), for the default sizes
    notes_example: dict | None = None
    values: str = "integers"  # where a first visit's numbers come from, without an example
    # why the op cannot be computed at these values (your own f: log of a negative); the page
    # then shows values where it can
    undefined: Check | None = None
    # the output is the loss itself (a whole network): its upstream is the seed ∂L/∂L = 1,
    # not a number to choose (a random −2 read as "∂L/∂L = −2")
    upstream_is_seed: bool = False
    # the hint when a result overflows: the op computes e^x (softplus, softmax), or not
    exp_overflow: bool = False
    # practice: the notation its answers need, not the answer (letters no lesson uses)
    practice_tip: str = ""
    # the keys of the notes' mistakes (and slips) its practice offers (ui.notes_mistakes)
    mistakes: tuple[str, ...] = ()
    # (params) -> {the gradient a proven pattern is about (None: the output): how one of its
    # result cells is computed}; a pattern it does not name is element-wise ("cells")
    geometry: Callable[[dict], dict[str | None, Geometry]] | None = None

    @property
    def name(self) -> str:  # derive()'s and the engine's name
        return self.derivation.name

    @property
    def params(self) -> tuple[Param, ...]:
        return self.derivation.params

    def defaults(self) -> dict:
        return self.derivation.defaults()

    def derive(self, **params):
        return derive(self.name, **params)
