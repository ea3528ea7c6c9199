"""The backward pass of a computational graph (``graph``) as steps a learner walks
through, as micrograd's ``backward()`` runs them: first the forward pass, then one visit per
operation in reverse topological order, each adding local derivative × its own gradient into
its inputs' gradients (``+=``), then the gradients of the names.

    g = expression_graph("x*x + x", {"x": 3.0})
    steps = walk(g)           # forward, visit +, visit *, done
    steps[2].contributions    # x gets 3 and then 3 more: 0 + 3 = 3, 3 + 3 = 6
    steps[-1].grads           # every node's gradient, equal to g's

The sums are added in the same order as ``graph_numbers.backward``, so the last step's
gradients are g's exactly. Pure numbers: no sympy, no streamlit. The local derivatives'
rules, written out with the numbers, are in ``graph_text``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# the ops that pass no gradient at all where their local derivative is 0 (a mask, not a
# product: not even nan from an inf above), as graph_numbers.backward treats them
_MASKS = {"relu", "sign", "[>]", "[>=]", "[<]", "[<=]"}

UNTOUCHED, PARTIAL, COMPLETE = "untouched", "partial", "complete"


@dataclass(frozen=True)
class Contribution:
    """What one visit adds into one input's gradient: ``local`` (∂source/∂target for this use)
    times ``above`` (the source's own, complete gradient) is ``value``, and the target's
    gradient goes from ``before`` to ``after``. ``use`` counts the target's uses so far (of
    ``uses`` in all). ``masked``: the op passes no gradient here (relu at u ≤ 0, a
    condition), so nothing is added."""

    source: int
    slot: int
    target: int
    local: float
    above: float
    value: float
    before: float
    after: float
    use: int
    uses: int
    masked: bool


@dataclass(frozen=True)
class Step:
    """One step of the walk. ``kind`` is "forward", "visit" (``node`` is the operation
    visited) or "done". ``grads`` holds every node's gradient after the step, ``states`` each
    node's state: "untouched" (nothing added yet), "partial" (some of its uses have added
    into it) or "complete"."""

    kind: str
    node: int | None
    contributions: tuple[Contribution, ...]
    grads: tuple[float, ...]
    states: tuple[str, ...]

    @property
    def title(self) -> str:
        return {"forward": "Forward pass", "done": "Done"}.get(self.kind, "Visit")


def uses_of(g) -> list[int]:
    """How many times each node is an input (a name used twice: 2; the output: 0)."""
    uses = [0] * len(g.nodes)
    for n in g.nodes:
        for k in n.inputs:
            uses[k] += 1
    return uses


def consumers(g, node: int) -> list[tuple[int, int]]:
    """(consumer, slot) for every use of ``node``, in backward order (the last node first)."""
    return [(i, s) for i in g.backward_order for s, k in enumerate(g.nodes[i].inputs) if k == node]


def masked(node, slot: int) -> bool:
    """Whether this use passes no gradient at all (see graph_numbers.backward)."""
    d = node.local[slot]
    return d == 0 and (node.op in _MASKS or (node.op == "**" and node.exponent == 0))


def walk(g) -> list[Step]:
    """The forward step, a visit per operation in backward order, and the done step."""
    n = len(g.nodes)
    uses = uses_of(g)
    grads = [0.0] * n
    got = [0] * n  # contributions received so far
    states = [UNTOUCHED] * n
    steps = [Step("forward", None, (), tuple(grads), tuple(states))]
    grads[g.output], states[g.output] = 1.0, COMPLETE  # the seed: ∂o/∂o = 1
    for i in g.backward_order:
        node = g.nodes[i]
        if not node.inputs:
            continue
        added = []
        for slot, k in enumerate(node.inputs):
            got[k] += 1
            before = grads[k]
            off = masked(node, slot)
            value = 0.0 if off else node.local[slot] * grads[i]  # inf * 0 is nan, as numpy
            if not off:
                grads[k] = grads[k] + value
            states[k] = COMPLETE if got[k] == uses[k] else PARTIAL
            added.append(
                Contribution(
                    i, slot, k, node.local[slot], grads[i], value, before, grads[k], got[k],
                    uses[k], off,
                )
            )  # fmt: skip
        steps.append(Step("visit", i, tuple(added), tuple(grads), tuple(states)))
    if n and not g.nodes[g.output].inputs:  # a graph of one leaf: nothing was visited
        grads[g.output], states[g.output] = 1.0, COMPLETE
    steps.append(Step("done", None, (), tuple(grads), tuple(COMPLETE for _ in grads)))
    return steps


def contributions_to(steps: list[Step], node: int) -> list[Contribution]:
    """Every contribution ``node`` received, in the order it received them."""
    return [c for s in steps for c in s.contributions if c.target == node]


def not_finite(g) -> list[tuple[int, int]]:
    """(node, slot) of every use whose local derivative is inf or nan and passes gradient:
    where a nan or inf gradient comes from (sqrt at 0, a power below 1 at 0)."""
    return [
        (n.id, s)
        for n in g.nodes
        for s, d in enumerate(n.local)
        if not math.isfinite(d) and not masked(n, s)
    ]
