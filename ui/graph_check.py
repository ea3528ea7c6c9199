"""The computational graph's verification, as on the lessons: each name's gradient from the
graph's backward pass, from central finite differences of its forward pass, and from PyTorch's
autograd (where torch is installed; its column is left out where it is not). Pure: no
streamlit.

Finite differences are "n/a", with the reason, where they cannot measure a derivative: a kink
(relu, abs, sign) or a condition's edge within 100·ε of the numbers, a gradient that is not a
number, or a step of ±ε that leaves where the expression is defined.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mathtext.graph_numbers import evaluate, plain
from ui import torch_ref

EPS = 1e-6
FD_TOL = 1e-5  # relative to max(1, the largest gradient), as the lessons' panel
TOL = 1e-9  # graph and PyTorch do the same float64 operations; rounding apart
_KINKS = {"relu": "relu", "abs": "abs", "sign": "sign"}
_CONDITIONS = {"[>]", "[>=]", "[<]", "[<=]"}


@dataclass(frozen=True)
class Row:
    method: str
    grads: dict[str, float] | None  # None: not available (the note says why)
    max_diff: float | None
    ok: bool | None  # None: n/a
    note: str = ""


def agree(a: float, b: float, tol: float) -> bool:
    """Equal within ``tol`` (relative beyond 1), or the same inf, or both nan."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= tol * max(1.0, abs(a))


def _diff(a: dict, b: dict) -> float:
    """The largest |difference| over the finite pairs (0 when there are none)."""
    pairs = [(a[k], b[k]) for k in a if math.isfinite(a[k]) and math.isfinite(b[k])]
    return max((abs(x - y) for x, y in pairs), default=0.0)


def kink(g) -> str:
    """Why finite differences cannot measure a gradient at these numbers ('' where they can)."""
    for n in g.nodes:
        ins = [g.nodes[k].value for k in n.inputs]
        if n.op in _KINKS and abs(ins[0]) < 100 * EPS:
            return f"{n.op} has a kink at 0 and its input `{n.label}` is {plain(ins[0])}"
        if n.op in _CONDITIONS and abs(ins[0] - ins[1]) < 100 * EPS:
            return f"the condition `{n.label}` switches within 100·ε of these numbers"
    bad = [k for k, v in g.grads.items() if not math.isfinite(v)]
    if bad:
        return f"the gradient of {', '.join(bad)} is not a number (see above)"
    return ""


def finite_differences(g) -> dict[str, float]:
    """Central differences of the graph's output with respect to each name (nan where a
    step leaves the expression's domain)."""
    out = {}
    for name in g.names:
        hi, lo = dict(g.values), dict(g.values)
        hi[name] += EPS
        lo[name] -= EPS
        out[name] = (evaluate(g.nodes, hi)[-1] - evaluate(g.nodes, lo)[-1]) / (2 * EPS)
    return out


def torch_grads(g) -> dict[str, float]:
    """Each name's gradient by PyTorch's autograd on the same operations, in float64."""
    import torch

    leaves = {
        n: torch.tensor(v, dtype=torch.float64, requires_grad=True) for n, v in g.values.items()
    }
    vals: list = []
    for n in g.nodes:
        vals.append(_torch_node(torch, n, [vals[k] for k in n.inputs], leaves))
    out = vals[g.output]
    if out.requires_grad:
        out.backward()
    return {name: float(t.grad) if t.grad is not None else 0.0 for name, t in leaves.items()}


def _torch_node(torch, n, ins: list, leaves: dict):
    if n.op == "input":
        return leaves[n.label]
    if n.op == "const":
        return torch.tensor(n.value, dtype=torch.float64)
    if n.op == "neg":
        return -ins[0]
    if n.op == "**":
        return torch.pow(ins[0], n.exponent)
    if n.op in _CONDITIONS:
        cmp = {"[>]": torch.gt, "[>=]": torch.ge, "[<]": torch.lt, "[<=]": torch.le}[n.op]
        return cmp(ins[0], ins[1]).to(torch.float64)
    if n.op in ("+", "-", "*", "/"):
        a, b = ins
        return {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[n.op]
    return getattr(torch, n.op)(ins[0])  # the grammar's functions are torch's own names


def verify(g, use_torch: bool = True) -> list[Row]:
    """The rows of the panel: the graph (the reference), finite differences, PyTorch."""
    rows = [Row("graph (backward pass)", dict(g.grads), 0.0, True, "the reference")]
    fd = finite_differences(g)
    why = kink(g)
    if not why and not all(math.isfinite(v) for v in fd.values()):
        why = "a step of ±ε leaves where the expression is defined"
    scale = max([1.0] + [abs(v) for v in g.grads.values() if math.isfinite(v)])
    diff = _diff(g.grads, fd)
    if why:
        rows.append(Row("finite differences", fd, diff, None, f"not meaningful here: {why}"))
    else:
        ok = all(agree(g.grads[k], fd[k], FD_TOL * scale) for k in fd)
        rows.append(Row("finite differences", fd, diff, ok, f"central, ε = {EPS:g}"))
    if use_torch and torch_ref.available():
        tg = torch_grads(g)
        ok = all(agree(g.grads[k], tg[k], TOL) for k in tg)
        rows.append(Row("PyTorch autograd", tg, _diff(g.grads, tg), ok, "float64"))
    return rows


def passed(rows: list[Row]) -> bool:
    return all(r.ok is not False for r in rows)
