"""The computational-graph page's drawing: DOT for ``st.graphviz_chart`` (rendered in the
browser by Graphviz compiled to WebAssembly; no system Graphviz), left to right as micrograd's
``draw_dot``: each value a small table (what it is, data, grad), each operation a circle
between its inputs and its result. Pure: no streamlit.

What a step shows (``View``): each node's gradient as far as backprop has got (grey 0 before
anything reached it; orange with "1 of 2" while only some of its uses have added into it;
black once complete), the node being visited in yellow with its operation, the inputs it
adds into in green and the edges the gradient flows back along in red. A practice question
shows "grad ?" on the node asked about.

Every text from the learner (a node's label) is escaped for Graphviz's HTML-like labels;
the rest is numbers and fixed words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from derivations.graph_steps import COMPLETE, PARTIAL, UNTOUCHED, uses_of
from derivations.graph_text import text as number

VISIT = "#ffd54f"  # the node being visited (the colour §1's to_dot highlights with)
ADDED = "#c8e6c9"  # a gradient that was just added into
ASKED = "#f8bbd0"  # the practice question's node
FLOW = "#d32f2f"  # edges the gradient flows back along in this step
NAME_HEAD, CONST_HEAD, OP_HEAD = "#e3f2fd", "#eeeeee", "#f5f5f5"
GREY, ORANGE = "#8a8a8a", "#b84a00"
# NOTE: the browser's cost is in shapes. d3-graphviz, which draws the chart, samples the outline
# of every polygon and path point by point (getPointAtLength) on each redraw: a white fill per
# table and a shaded grad row made an 80-node step take 2.1 s in place of 1.3 s on a busy
# machine. So the graph has one white background, a table one border and a fill only where a
# colour says something. (And no <hr/> rules between rows: d3-graphviz fails to redraw a graph
# holding them, "MNaN" in a path, and the chart stays on its first drawing.)
CHAR_PT = 6.4  # Helvetica 12 pt: an average character's width in points (widths are minima)
RANKSEP, NODESEP = 0.2, 0.12  # inches (72 pt) between columns and between rows
CIRCLE_PT = 24  # an operation's circle
# a main line of this many values or more is kept straight (Graphviz's "group"): a long sum
# otherwise comes out as a staircase as tall as it is wide; a short one looks better free
LONG_CHAIN = 8


@dataclass(frozen=True)
class View:
    """What one drawing shows: ``grads`` (None: not shown), their ``states``
    (``graph_steps``), the node ``visit``ed, the nodes ``added`` into, the ``question``."""

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


def _grad_cell(g, i: int, view: View, uses: int) -> tuple[str, str, str]:
    """(text, font colour, background) of node ``i``'s grad row."""
    if view.question == i:
        return "grad ?", "#000000", ASKED
    v = view.grads[i]
    if v is None:
        return "grad …", GREY, ""
    state = view.states[i]
    back = ADDED if i in view.added else ""
    if state == UNTOUCHED:
        return "grad 0", GREY, back
    if state == PARTIAL:
        got = view.received[i] if view.received else 0
        return f"grad {number(v)} ({got} of {uses})", ORANGE, back
    return f"grad {number(v)}", "#000000", back


def _width(g, i: int, uses: int) -> int:
    """A table's minimum width in points, the same at every step (so the layout stays put
    while the numbers change): room for its label, data and its widest grad text."""
    n = g.nodes[i]
    grad = f"grad {number(n.grad)}" + (f" ({uses} of {uses})" if uses > 1 else "")
    longest = max(len(n.label), len(f"data {number(n.value)}"), len(grad), 9)
    return round(CHAR_PT * longest + 8)


def _table(g, i: int, view: View, uses: int) -> str:
    """Node ``i``'s label: a table of three rows (label, data, grad) with one border round
    it; no cell borders and no white cell fills, which would each be an SVG shape of their own
    for the browser to lay out and draw (an 80-node graph has ~900 of them otherwise)."""
    n = g.nodes[i]
    head = NAME_HEAD if n.op == "input" else CONST_HEAD if n.op == "const" else OP_HEAD
    visit = view.visit == i
    text, colour, cell = _grad_cell(g, i, view, uses)
    w = _width(g, i, uses)
    border = 2 if i == g.output else 1
    fill = f' bgcolor="{cell}"' if cell else ""
    data = f' bgcolor="{VISIT}"' if visit else ""
    rows = [
        f'<tr><td width="{w}" bgcolor="{VISIT if visit else head}"><b>{escape(n.label)}</b></td></tr>',
        f"<tr><td{data}>data {escape(number(n.value))}</td></tr>",
        f'<tr><td{fill}><font color="{colour}">{escape(text)}</font></td></tr>',
    ]
    return (
        f'<<table border="{border}" cellborder="0" cellspacing="0" cellpadding="3">'
        f'{"".join(rows)}</table>>'
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
        '  node [fontname="Helvetica", fontsize=12, shape=plain];',
        '  edge [color="#78909c", arrowsize=0.6];',
    ]
    for n in g.nodes:
        group = 'group="main", ' if straight and chain[n.id] == chain[g.output] else ""
        lines.append(f"  n{n.id} [{group}label={_table(g, n.id, view, uses[n.id])}];")
        if not n.inputs:
            continue
        fill = VISIT if view.visit == n.id else OP_HEAD
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
    """The view of one walk step (``graph_steps.Step``)."""
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
