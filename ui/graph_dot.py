"""The computational-graph page's drawing: DOT for ``st.graphviz_chart`` (rendered in the
browser by Graphviz compiled to WebAssembly; no system Graphviz), left to right as micrograd's
``draw_dot``: each value a box of three lines (what it is, data, grad), each operation a
circle between its inputs and its result. Pure: no streamlit.

What a step shows (``View``): each node's gradient as far as backprop has got (grey 0 before
anything reached it; orange with "1 of 2" while only some of its uses have added into it;
black once complete), the node being visited in yellow with its operation, the inputs it
adds into in green and the edges the gradient flows back along in red; otherwise a name is
light blue, a number grey. A practice question shows "grad ?" on the node asked about, pink.

Every text from the learner (a node's label) is escaped for Graphviz's HTML-like labels;
the rest is numbers and fixed words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mathtext.graph_steps import COMPLETE, PARTIAL, UNTOUCHED, uses_of
from mathtext.graph_text import text as number

VISIT = "#ffd54f"  # the node being visited (the colour §1's to_dot highlights with)
ADDED = "#c8e6c9"  # a gradient that was just added into
ASKED = "#f8bbd0"  # the practice question's node
FLOW = "#d32f2f"  # edges the gradient flows back along in this step
NAME_FILL, CONST_FILL, OP_FILL = "#e3f2fd", "#eeeeee", "#f5f5f5"  # a name, a number, an op
GREY, ORANGE = "#8a8a8a", "#b84a00"
# NOTE: the browser's cost is in shapes. d3-graphviz, which draws the chart, samples the outline
# of every polygon and path point by point (getPointAtLength) on each redraw: tables with a
# filled header and a border made an 80-node step spend ~0.9 s there on the busy machine. So a
# node is one box, coloured whole, its three lines in one label. (And no <hr/> rules: d3-graphviz
# fails to redraw a graph holding them, "MNaN" in a path, and the chart keeps its first drawing.)
CHAR_PT = 6.4  # Helvetica 12 pt: an average character's width in points (widths are minima)
RANKSEP, NODESEP = 0.2, 0.12  # inches (72 pt) between columns and between rows
CIRCLE_PT = 24  # an operation's circle
# a main line of this many values or more is kept straight (Graphviz's "group"): a long sum
# otherwise comes out as a staircase as tall as it is wide; a short one looks better free
LONG_CHAIN = 8


@dataclass(frozen=True)
class View:
    """What one drawing shows: ``grads`` (None: not shown), their ``states``
    (``mathtext.graph_steps``), the node ``visit``ed, the nodes ``added`` into, the ``question``."""

    grads: tuple[float | None, ...]
    states: tuple[str, ...]
    visit: int | None = None
    added: frozenset[int] = field(default_factory=frozenset)
    question: int | None = None
    received: tuple[int, ...] = ()  # contributions each node has had so far (for "1 of 2")


def escape(s: str) -> str:
    """Text inside an HTML-like label: XML's five specials."""
    return (
        s.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def _grad_text(i: int, view: View, uses: int) -> tuple[str, str]:
    """(text, colour) of node ``i``'s grad line."""
    if view.question == i:
        return "grad ?", "#000000"
    v = view.grads[i]
    if v is None:
        return "grad …", GREY
    state = view.states[i]
    if state == UNTOUCHED:
        return "grad 0", GREY
    if state == PARTIAL:
        got = view.received[i] if view.received else 0
        return f"grad {number(v)} ({got} of {uses})", ORANGE
    return f"grad {number(v)}", "#000000"


def _fill(g, i: int, view: View) -> str:
    """A node's colour: what this step does to it, else what kind of value it is."""
    if view.visit == i:
        return VISIT
    if view.question == i:
        return ASKED
    if i in view.added:
        return ADDED
    op = g.nodes[i].op
    return NAME_FILL if op == "input" else CONST_FILL if op == "const" else "#ffffff"


def _width(g, i: int, uses: int) -> int:
    """A node's minimum width in points, the same at every step (so the layout stays put
    while the numbers change): room for its label, data and its widest grad text."""
    n = g.nodes[i]
    grad = f"grad {number(n.grad)}" + (f" ({uses} of {uses})" if uses > 1 else "")
    longest = max(len(n.label), len(f"data {number(n.value)}"), len(grad), 9)
    return round(CHAR_PT * longest + 8)


def _node(g, i: int, view: View, uses: int) -> str:
    """Node ``i``'s attributes: one box (one SVG shape) holding three lines, what it is in
    bold, its data, its grad; its fill says what the step does to it."""
    n = g.nodes[i]
    text, colour = _grad_text(i, view, uses)
    label = (
        f"<<b>{escape(n.label)}</b><br/>data {escape(number(n.value))}<br/>"
        f'<font color="{colour}">{escape(text)}</font>>'
    )
    pen = 2 if i == g.output else 1
    return (
        f'fillcolor="{_fill(g, i, view)}", penwidth={pen}, width={_width(g, i, uses) / 72:.3f}, '
        f"label={label}"
    )


def page_dot(g, view: View) -> str:
    """The DOT of graph ``g`` as ``view`` shows it."""
    uses = uses_of(g)
    spine = _spine(g)
    chain = _chains(g, spine)
    main = [i for i in range(len(g.nodes)) if chain[i] == chain[g.output]]
    straight = len(main) >= LONG_CHAIN
    lines = [
        "digraph G {",
        f'  rankdir=LR; bgcolor="#ffffff"; nodesep={NODESEP}; ranksep={RANKSEP};',
        '  node [fontname="Helvetica", fontsize=12, shape=box, style=filled, margin="0.06,0.04"];',
        '  edge [color="#78909c", arrowsize=0.6];',
    ]
    for n in g.nodes:
        group = 'group="main", ' if straight and chain[n.id] == chain[g.output] else ""
        lines.append(f"  n{n.id} [{group}{_node(g, n.id, view, uses[n.id])}];")
        if not n.inputs:
            continue
        fill = VISIT if view.visit == n.id else OP_FILL
        symbol = n.symbol.replace("\\", "\\\\").replace('"', '\\"')
        lines.append(
            f'  n{n.id}_op [{group}label="{symbol}", shape=circle, style=filled, fillcolor="{fill}", '
            "fontsize=11, width=0.3, margin=0.02];"
        )
        lines.append(f"  n{n.id}_op -> n{n.id} [weight=8];")
        flowing = view.visit == n.id
        for k in dict.fromkeys(n.inputs):
            count = n.inputs.count(k)
            attrs = [f'label="×{count}"', "fontsize=10"] if count > 1 else []
            if k == spine.get(n.id):
                attrs.append("weight=8")
            if flowing:
                attrs += [f'color="{FLOW}"', "penwidth=2", f'fontcolor="{FLOW}"']
            tail = f" [{', '.join(attrs)}]" if attrs else ""
            lines.append(f"  n{k} -> n{n.id}_op{tail};")
    return "\n".join([*lines, "}"]) + "\n"


def _spine(g) -> dict[int, int]:
    """Each operation's input with the most nodes below it: the drawing keeps these edges
    straight (a heavy weight), so that a long sum is one straight line with its terms hanging
    off it rather than a staircase."""
    size = [1] * len(g.nodes)
    for n in g.nodes:
        size[n.id] += sum(size[k] for k in dict.fromkeys(n.inputs))
    return {n.id: max(n.inputs, key=lambda k: size[k]) for n in g.nodes if n.inputs}


def _chains(g, spine: dict[int, int]) -> list[int]:
    """Each node's chain: the top of the straight line of spine edges it lies on. Graphviz
    keeps the nodes of one group in a line (its "group" attribute)."""
    chain = list(range(len(g.nodes)))
    for i in g.backward_order:
        k = spine.get(i)
        if k is not None and chain[k] == k:
            chain[k] = chain[i]
    return chain


def natural_width(g) -> float:
    """About how wide the drawing is at its own size, in CSS pixels: the widest table of each
    column of values, an operation's circle between columns, the gaps (Graphviz lays out in
    points, the browser draws 4/3 px a point)."""
    uses = uses_of(g)
    rank = [0] * len(g.nodes)
    for n in g.nodes:
        rank[n.id] = 1 + max((rank[k] for k in n.inputs), default=-1)
    widest: dict[int, int] = {}
    for n in g.nodes:
        widest[rank[n.id]] = max(widest.get(rank[n.id], 0), _width(g, n.id, uses[n.id]))
    columns = len(widest)
    pt = sum(widest.values()) + (columns - 1) * (CIRCLE_PT + 2 * 72 * RANKSEP) + 16
    return pt * 4 / 3


def step_view(g, step, received: tuple[int, ...]) -> View:
    """The view of one walk step (``mathtext.graph_steps.Step``)."""
    added = frozenset(c.target for c in step.contributions)
    return View(step.grads, step.states, step.node, added, None, received)


def question_view(g, asked: int, backward_done: set[int]) -> View:
    """A practice question on node ``asked``: the values, the gradients of the nodes whose
    gradient is complete before ``asked`` gets its own (``backward_done``), "?" on it."""
    grads = tuple(n.grad if n.id in backward_done else None for n in g.nodes)
    states = tuple(COMPLETE for _ in g.nodes)
    return View(grads, states, None, frozenset(), asked)


def received_after(steps, k: int) -> tuple[int, ...]:
    """How many contributions each node has received by the end of step ``k``."""
    got = [0] * len(steps[0].grads)
    for s in steps[: k + 1]:
        for c in s.contributions:
            got[c.target] += 1
    return tuple(got)
