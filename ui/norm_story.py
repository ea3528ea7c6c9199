"""What the MLP page's gradient-norm chart shows, in sentences computed from the rows it is drawn
from (pure: no streamlit, no model). ``ui.training`` re-exports ``norms_caption``,
``layer_norms`` and ``gap``."""

from __future__ import annotations

import math

import numpy as np

# a fact about the backward pass (true whatever the chart shows), per activation; the chart's
# own story is computed by ``norms_caption``
SLOPE_FACT = {
    "sigmoid": "Each hidden layer multiplies the gradient by diag(σ′) on its way back, and "
    "σ′ ≤ 1/4 (at least 4× smaller), while Wᵀ can scale it up or down.",
    "tanh": "Each hidden layer multiplies the gradient by diag(tanh′) on its way back, and "
    "tanh′ ≤ 1 (it never grows there), while Wᵀ can scale it up or down.",
    "relu": "Each hidden layer multiplies the gradient by diag(ReLU′) on its way back, and "
    "ReLU′ is 0 or 1 (a unit passes its gradient unchanged or not at all), while Wᵀ can scale "
    "it up or down.",
}
# what a small first-layer gradient does to that layer's step, by the optimiser's update rule
STEP_EFFECT = {
    "sgd": "With SGD (ΔW = −α·∂L/∂W) its weights move that many times less per step.",
    "adam": "Adam divides each weight's step by the size of its recent gradients (plus "
    "ε = 10⁻⁸), so a weight whose gradients are well above ε still moves by about α per step.",
}
ADAM_EPS = 1e-8  # engine.nn.Adam's ε (torch's default), added to √v̂ below the line
VANISHED = 10.0  # first layer's norm this many times below the last's: called vanishing


def layer_norms(row: dict) -> list[float]:
    """The row's ‖∂L/∂W‖ per layer, layer 1 first (any number of layers)."""
    names = sorted((n for n in row if n.startswith("layer ")), key=lambda n: int(n.split()[1]))
    return [float(row[n]) for n in names]


def _times(a: float, b: float, than: str = " than") -> str:
    """How a compares with b: "35× smaller than", "2.1× larger than", "about the same as"."""
    if a == 0 or b == 0:
        word = "larger" if a > b else ("smaller" if a < b else "the same")
        return word + (than if word != "the same" else than.replace(" than", " as"))
    r = a / b
    if 1 / 1.1 <= r <= 1.1:
        return "about the same" + than.replace(" than", " as")
    return f"{_ratio(1 / r)}× smaller{than}" if r < 1 else f"{_ratio(r)}× larger{than}"


def _ratio(r: float) -> str:
    """1.7, 35, 10,000, 3.0×10⁶ (seven digits read as a precision the chart does not have)."""
    if r >= 1e5:
        mant, exp = f"{r:.1e}".split("e")
        return f"{mant}×10{str(int(exp)).translate(_SUP)}"
    return f"{r:.1f}" if r < 10 else f"{r:,.0f}"


_SUP = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _g(v: float) -> str:
    """A norm, two significant digits: 0.034, 2.6, 260, 4.1e-05."""
    if v == 0 or v >= 100:
        return f"{v:,.0f}"
    return f"{v:.2g}" if v >= 0.01 else f"{v:.1e}"


def norms_caption(
    history: list[dict],
    activation: str,
    optimiser: str = "adam",
    first_size: int = 0,
    residual: bool = False,
) -> str:
    """What the gradient-norm chart shows, computed from the rows it is drawn from: the spread
    at the last recorded step, which way the norm goes layer by layer on the way back, the first
    layer against the last (and against the first recorded step), what the optimiser makes of
    it (``first_size``: how many weights layer 1 has), and the activation's slope bound, which
    is a fact, not a reading of the chart (``residual``: the network has residual blocks, where
    that bound holds on f's path only)."""
    rows = [r for r in history if layer_norms(r)]
    if not rows:
        return ""
    last, v = rows[-1], layer_norms(rows[-1])
    lo, hi = int(np.argmin(v)), int(np.argmax(v))
    out = [f"At step {last['step']} the norms run from {_g(v[lo])} (layer {lo + 1}) to "]
    out[0] += f"{_g(v[hi])} (layer {hi + 1})"
    if v[lo] == 0:
        out[0] += f"; layer {lo + 1}'s is exactly 0: no gradient reaches its weights at this step."
    else:
        decades = math.log10(v[hi] / v[lo])
        out[0] += ": within one decade." if decades < 1 else f": {decades:.1f} decades apart."
        out.append(_hidden_spread(v, hi, lo))
    if len(v) > 1:
        out.append(_way_back(v) + f" Layer 1's norm is {_times(v[0], v[-1])} layer {len(v)}'s")
        first = layer_norms(rows[0])
        out[-1] += _decades(v[0], v[-1]) + "."
        if len(rows) > 1 and first[0] and first[-1]:
            out[-1] += f" At step {rows[0]['step']} it was {_times(first[0], first[-1], '')}."
        if v[0] and v[-1] > VANISHED * v[0]:
            out.append(f"More than {VANISHED:.0f}× smaller: a vanishing gradient.")
            out.append(STEP_EFFECT.get(optimiser, ""))
            if optimiser == "adam":
                out.append(_adam_bound(v[0], first_size))
    out.append(slope_fact(activation, residual))
    return " ".join(filter(None, out))


def slope_fact(activation: str, residual: bool = False) -> str:
    """The activation's slope bound; in residual blocks the identity path goes around it."""
    fact = SLOPE_FACT.get(activation, "")
    if not (fact and residual):
        return fact
    return "Along f (the identity paths of the residual blocks aside), e" + fact[1:]


def _adam_bound(norm: float, size: int) -> str:
    """Adam's first step on a gradient g moves a weight α·|g|/(|g| + ε): near ε, well below α.
    That is concave in |g|, so the layer's mean step is at most α·r/(r + ε) at the RMS
    r = ‖g‖/√size (Jensen's inequality); said only where that bound is below 0.9α."""
    if size < 1:
        return ""
    rms = norm / math.sqrt(size)
    share = rms / (rms + ADAM_EPS)
    if share >= 0.9:
        return ""
    return (
        f"Layer 1's gradients are about {_g(rms)} per weight (‖∂L/∂W‖/√{size}), close to "
        f"Adam's ε: a first Adam step on this gradient moves them on average at most "
        f"{share:.2g}α."
    )


def _hidden_spread(v: list[float], hi: int, lo: int) -> str:
    """Where the output layer is the largest or smallest, the spread of the hidden layers'
    norms without it (a residual network's output layer reads a growing sum)."""
    last = len(v) - 1
    if len(v) < 3 or last not in (hi, lo) or min(v[:-1]) <= 0:
        return ""
    decades = math.log10(max(v[:-1]) / min(v[:-1]))
    spread = "within one decade" if decades < 1 else f"{decades:.1f} decades apart"
    return f"The hidden layers' norms alone (layers 1–{last}): {spread}."


def gap(v: list[float]) -> float | None:
    """How many decades layer 1's norm lies below the last layer's (negative: above); None
    when either is 0 or not finite (no logarithm to take)."""
    if len(v) < 2 or not (v[0] > 0 and v[-1] > 0 and math.isfinite(v[0] * v[-1])):
        return None
    return math.log10(v[-1] / v[0])


def _decades(a: float, b: float) -> str:
    """' (6.6 decades)' for a ratio of at least 10 either way, else nothing."""
    d = gap([a, b])
    return "" if d is None or abs(d) < 1 else f" ({abs(d):.1f} decades)"


def _way_back(v: list[float]) -> str:
    """Going back from the last layer to the first, where the norm shrinks and where it grows."""
    shrinks = sum(v[i] < v[i + 1] for i in range(len(v) - 1))
    steps = len(v) - 1
    if shrinks == steps:
        return f"Going back from layer {len(v)} to layer 1, the norm shrinks at every layer."
    if shrinks == 0:
        return f"Going back from layer {len(v)} to layer 1, the norm grows at every layer."
    return (
        f"Going back from layer {len(v)} to layer 1, the norm shrinks {shrinks} time"
        f"{'s' if shrinks > 1 else ''} and grows {steps - shrinks} time"
        f"{'s' if steps - shrinks > 1 else ''}."
    )
