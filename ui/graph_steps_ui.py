"""One step of the computational graph's walk, written out beside the graph: the forward pass
node by node; a visit's local derivative × the gradient from above = the contribution, added
into each input's gradient (the sums shown where a node is used more than once, and why the
order is topological where that matters); the names' gradients at the end.

Labels (what the learner typed) go into Markdown code spans only; formulas hold numbers and
fixed text (``mathtext.graph_text``).
"""

from __future__ import annotations

import streamlit as st

from mathtext.graph_steps import contributions_to, uses_of
from mathtext.graph_text import computed, factor, num, rule, text, why_not_finite

ORDER_NOTE = (
    "**Why the order matters.** A node's gradient is complete only once every node that uses "
    "it has added its share. Backprop visits the nodes in reverse topological order — each "
    "node only after every node that uses it — so no node passes its gradient on while a share "
    "is still missing. (micrograd builds this order once, with a depth-first topological sort, "
    "before its backward pass.)"
)


def code(label: str) -> str:
    """A label in a Markdown code span (labels hold no backquote: the parser refuses it)."""
    return f"`{label}`"


def op_name(n) -> str:
    return {"neg": "negation", "**": f"power {n.symbol[2:]}"}.get(n.op, n.op)


def _cell(s: str) -> str:
    return s.replace("|", "\\|")


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def step_ui(g, steps, k: int) -> None:
    s = steps[k]
    if s.kind == "forward":
        _forward_ui(g)
    elif s.kind == "visit":
        _visit_ui(g, steps, k)
    else:
        _done_ui(g, steps)


def _forward_ui(g) -> None:
    st.subheader("Forward pass")
    out = g.nodes[g.output]
    st.markdown(
        "Each node's value (data) from its inputs' values, left to right: every node comes "
        "after its inputs (a *topological order*). No gradient yet: they start at 0, and "
        f"backprop starts from the output o = {code(out.label)}."
    )
    st.latex(rf"o = {num(out.value)}")
    rows = [[code(n.label), op_name(n), f"${computed(g, n.id)}$"] for n in g.nodes if n.inputs]
    if rows:
        st.markdown(_table(["node", "operation", "value"], rows))


def summary(g, steps, k: int) -> str:
    """One line above the graph saying what this step does (the write-up has the details)."""
    s = steps[k]
    if s.kind == "forward":
        return (
            f"**Forward pass:** every value from its inputs', left to right; the output o = "
            f"{text(g.nodes[g.output].value)}. No gradient yet: Next (or →) starts backprop."
        )
    if s.kind == "done":
        got = ", ".join(f"∂o/∂{code(n)} = {text(v)}" for n, v in g.grads.items())
        return "**Done:** " + (got or "no names, so no gradient to find") + "."
    n = g.nodes[s.node]
    sent = "; ".join(
        f"{code(g.nodes[c.target].label)} gets "
        + ("nothing" if c.masked else f"{text(c.local)} × {text(c.above)} = {text(c.value)}")
        for c in s.contributions
    )
    return f"**Visiting {code(n.label)}** ({op_name(n)}), gradient {text(s.grads[s.node])}: {sent}."


def _visit_ui(g, steps, k: int) -> None:
    s = steps[k]
    n = g.nodes[s.node]
    st.subheader(f"Visit {op_name(n)}")
    grad = s.grads[s.node]
    if s.node == g.output:
        first = (
            f"{code(n.label)} is the output o: its gradient is ∂o/∂o = **1**, where backprop "
            "starts."
        )
    else:
        first = (
            f"{code(n.label)} has its whole gradient now, ∂o/∂node = **{text(grad)}**: every "
            "node that uses it has been visited."
        )
    st.markdown(
        first + " Each of its inputs gets local derivative × this gradient, added (+=) into "
        "the input's gradient."
    )
    st.latex(rf"\text{{node}} = {computed(g, s.node)}")
    st.latex(
        r"\text{contribution} = \frac{\partial\,\text{node}}{\partial\,\text{input}} "
        rf"\times {factor(grad)}"
    )
    lines, notes = [], []
    for c in s.contributions:
        target = g.nodes[c.target]
        name = "α" if len(n.inputs) == 1 else "αβ"[c.slot]
        if c.masked:
            added = f"nothing is added; its gradient stays ${num(c.after)}$"
        else:
            added = (
                f"${num(c.local)} \\times {factor(c.above)} = {num(c.value)}$, so its gradient "
                f"${num(c.before)} + {factor(c.value)} = {num(c.after)}$"
            )
        lines.append(
            f"- {name} = {code(target.label)}: local derivative ${rule(g, c.source, c.slot)}$; "
            + added
        )
        notes += _notes(g, c, target)
    st.markdown("\n".join(lines))
    for note in dict.fromkeys(notes):
        st.markdown(note)


def _notes(g, c, target) -> list[str]:
    """What to say about one contribution: a use that passes nothing, a local derivative
    that is not finite, a node used more than once (with the order's reason)."""
    out = []
    if c.masked:
        n = g.nodes[c.source]
        why = (
            "a condition is 1 or 0: flat, so it passes no gradient"
            if n.op.startswith("[")
            else f"{n.op} passes no gradient here (its local derivative is 0), as in PyTorch"
        )
        out.append(f"{code(n.label)}: {why}.")
    elif not _finite(c.local):
        out.append(f"{code(g.nodes[c.source].label)}: {why_not_finite(g, c.source, c.slot)}.")
    if c.uses > 1:
        if c.use < c.uses:
            out.append(
                f"{code(target.label)} is used {c.uses} times: this is share {c.use} of "
                f"{c.uses}, and its gradient is not complete yet (orange in the graph)."
            )
        else:
            out.append(
                f"{code(target.label)} is used {c.uses} times: with this last share its "
                f"gradient is complete, the sum of all {c.uses}: micrograd's `+=` (with `=`, "
                "each share would overwrite the one before)."
            )
        out.append(ORDER_NOTE)
    return out


def _finite(v: float) -> bool:
    return v == v and abs(v) != float("inf")


def _done_ui(g, steps) -> None:
    st.subheader("Done: every gradient")
    if not g.names:
        st.markdown("The expression has no names, so there is no gradient to find.")
        return
    st.markdown(
        "Every node has been visited. Each name's gradient is the sum of what every node "
        "using it added:"
    )
    uses = uses_of(g)
    rows = []
    for name in g.names:
        leaf = next(n for n in g.nodes if n.op == "input" and n.label == name)
        got = contributions_to(steps, leaf.id)
        if leaf.id == g.output:
            how = "it is the output: 1"
        elif not got:
            how = "0"
        else:
            parts = " + ".join(factor(c.value) if i else num(c.value) for i, c in enumerate(got))
            how = f"${parts} = {num(leaf.grad)}$" if len(got) > 1 else f"${num(leaf.grad)}$"
        users = ", ".join(dict.fromkeys(code(g.nodes[c.source].label) for c in got)) or "—"
        rows.append([code(name), str(uses[leaf.id]), users, how])
    st.markdown(_table(["name", "uses", "used by", "∂o/∂name"], rows))
    if any(uses[n.id] > 1 for n in g.nodes if n.op == "input"):
        st.markdown(ORDER_NOTE)
