"""The computational-graph page's state, as pure functions (no streamlit): its examples, the
numbers a new name starts from, and the URL (expression, values, step) in and out.

URL text is never evaluated: the expression stays text (the page reads it with the practice
box's parser, as if typed), each value is matched against ``ui.values``' number pattern, the
step against digits."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mathtext.grammar import MAX_LENGTH
from mathtext.graph import MAX_NAME_LENGTH, MAX_NAMES
from ui.values import parse_number, text_of

NEURON = "tanh(x1*w1 + x2*w2 + b)"


@dataclass(frozen=True)
class Example:
    """A ready-made expression: its numbers, a word on what to watch, and (for the sigmoid)
    an expression to draw beside it."""

    key: str
    title: str
    text: str
    values: dict = field(default_factory=dict)
    note: str = ""
    beside: str = ""


EXAMPLES = (
    Example(
        "neuron",
        "A neuron (micrograd's)",
        NEURON,
        {"x1": 2.0, "x2": 0.0, "w1": -3.0, "w2": 1.0, "b": 6.8813735870195432},
        "The neuron of micrograd's lecture: output 0.7071, and w2 gets no gradient because x2 = 0.",
    ),
    Example(
        "twice",
        "A value used twice",
        "(a*b)*(a + b)",
        {"a": -2.0, "b": 3.0},
        "micrograd's d = a·b, e = a + b, f = d·e: a and b each feed two nodes, so each "
        "collects two contributions, added (+=).",
    ),
    Example(
        "softplus",
        "Softplus written out",
        "log(1 + exp(x))",
        {"x": 0.5},
        "Softplus node by node: x's gradient comes out as sigmoid(x).",
    ),
    Example(
        "sigmoid",
        "The sigmoid written out",
        "1/(1 + exp(-x))",
        {"x": 0.5},
        "Five nodes do what the one sigmoid node beside them does: the same value, the same "
        "gradient σ(x)(1 − σ(x)).",
        beside="sigmoid(x)",
    ),
    Example(
        "softmax",
        "Softmax + cross-entropy written out",
        "-log(exp(f1)/(exp(f1) + exp(f2) + exp(f3)))",
        {"f1": 2.0, "f2": 1.0, "f3": 0.1},
        "The loss of class 1 out of three: each f collects its gradients from the numerator "
        "and the sum, and they add up to p − onehot.",
    ),
)
BY_KEY = {e.key: e for e in EXAMPLES}
DEFAULT = EXAMPLES[0]
# numbers a name starts from when no example or link gives one: different from each other
# (all ones would make every product's two gradients equal), none 0
STARTS = (2.0, -1.0, 0.5, 1.5, -0.5, 3.0, -2.0, 1.0)

_PAIR = re.compile(rf"^([A-Za-z][A-Za-z0-9_]{{0,{MAX_NAME_LENGTH - 1}}}):(.*)$")
_STEP = re.compile(r"^[0-9]{1,3}$")
MAX_AT = MAX_NAMES * (MAX_NAME_LENGTH + 26)


def start_value(k: int) -> float:
    """The number the ``k``-th name without one starts from."""
    return STARTS[k % len(STARTS)]


def example_of(text: str) -> Example | None:
    """The example whose expression this is (as typed, spaces aside), if any."""
    squeeze = "".join(str(text).split())
    return next((e for e in EXAMPLES if "".join(e.text.split()) == squeeze), None)


def encode(text: str, values: dict, step: int) -> dict[str, str]:
    """The query parameters of the page: ``step`` counted from 1, as the lessons' links."""
    at = ";".join(f"{n}:{text_of(v)}" for n, v in values.items())
    return {"expr": text, "at": at, "step": str(step + 1)}


def decode(url: dict) -> tuple[dict, list[str]]:
    """(what the link sets: "expr" text, "values" name → number, "step" 0-based) and a notice
    for each part that does not fit (it is left at its default)."""
    out: dict = {}
    notices: list[str] = []
    if "expr" in url:
        text = str(url["expr"])
        if 0 < len(text.strip()) <= MAX_LENGTH:
            out["expr"] = text
        else:
            notices.append(f"expr: it must have 1 to {MAX_LENGTH} characters")
    if "at" in url:
        values, bad = decode_values(str(url["at"]))
        out["values"] = values
        notices += bad
    if "step" in url:
        s = str(url["step"]).strip()
        if _STEP.match(s) and int(s) >= 1:
            out["step"] = int(s) - 1
        else:
            notices.append(f"step={s[:20]!r}")
    return out, notices


def decode_values(at: str) -> tuple[dict[str, float], list[str]]:
    """``x1:2;w1:-3`` → {"x1": 2.0, "w1": -3.0}; a notice for each pair that is not a name and
    a number (ui.values' rules: plain decimals, within ±1e6)."""
    if len(at) > MAX_AT:
        return {}, [f"at: it is {len(at)} characters long (at most {MAX_AT})"]
    values: dict[str, float] = {}
    notices: list[str] = []
    for part in filter(None, at.split(";")):
        m = _PAIR.match(part.strip())
        if not m:
            notices.append(f"at: {part.strip()[:30]!r} is not name:number")
            continue
        v, why = parse_number(m.group(2))
        if v is None:
            notices.append(f"at: {m.group(1)} {why}")
        else:
            values[m.group(1)] = v
    return values, notices
