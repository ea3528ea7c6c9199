"""The verification panel's numbers: one gradient, three (or four) ways.

symbolic (the derivation with numbers put in) = engine (numpy backward) = finite differences
(central, on the engine's forward) [= PyTorch autograd, where installed].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import engine
from ui import torch_ref

TOL = 1e-8  # exact methods agree to rounding
FD_TOL = 1e-5  # finite differences carry O(eps²) truncation and rounding error


@dataclass(frozen=True)
class Row:
    method: str
    max_abs_diff: float | None  # against the symbolic gradient; None when not applicable
    ok: bool | None
    note: str = ""


EPS = 1e-6  # the finite differences' step


def kink(spec, d, values: dict) -> str:
    """Why finite differences are undefined (or meaningless) at these numbers, or '' where
    they are fine: a kink of the function, or an input of a domain x > 0 so near 0 that a step
    of ±ε leaves the domain or the step is not small beside it."""
    why = spec.kink(values, d) if spec.kink else ""
    for name in spec.positive:
        a = np.asarray(values.get(name, 1.0), dtype=float)
        if not why and np.any(np.abs(a) < 100 * EPS):
            why = f"an entry of {name} is closer to 0 than 100·ε = {100 * EPS:g} ({spec.domain})"
    return why


def _max_diff(a: dict, b: dict) -> float:
    return max(
        float(np.max(np.abs(np.asarray(a[k], float) - np.asarray(b[k], float)), initial=0.0))
        for k in a
    )


def verify(spec, d, values: dict, upstream, *, use_torch: bool = True) -> tuple[list[Row], dict]:
    """Rows for the panel, and every method's gradients (for the heatmaps and downloads)."""
    sym = d.evaluate(values, upstream)
    rows = [Row("symbolic (sympy)", 0.0, True, "the reference")]
    found = {"symbolic": sym}
    try:
        eng = spec.engine_grads(values, upstream, d.params)
        diff = _max_diff(sym, eng)
        rows.append(Row("engine (numpy)", diff, diff <= TOL))
        found["engine"] = eng
    except ValueError as exc:
        rows.append(Row("engine (numpy)", None, False, str(exc)))
    names = list(d.inputs)

    def forward(*arrays):
        return spec.engine_forward(dict(zip(names, arrays, strict=True)), d.params)

    why = kink(spec, d, values)
    try:
        fd = engine.numeric_grad(forward, {k: values[k] for k in names}, upstream, EPS)
        diff = _max_diff(sym, fd)
        scale = max(1.0, max(float(np.max(np.abs(v), initial=0.0)) for v in sym.values()))
        if why:
            rows.append(Row("finite differences", diff, None, f"not meaningful here: {why}"))
        else:
            rows.append(
                Row("finite differences", diff, diff <= FD_TOL * scale, f"central, ε = {EPS:g}")
            )
        found["finite differences"] = fd
    except ValueError as exc:
        rows.append(Row("finite differences", None, False, str(exc)))
    if use_torch and spec.torch is not None and torch_ref.available():
        tg = torch_ref.grads(spec, values, upstream, d.params)
        diff = _max_diff(sym, tg)
        rows.append(Row("PyTorch autograd", diff, diff <= TOL))
        found["PyTorch"] = tg
    return rows, found


def passed(rows: list[Row]) -> bool:
    return all(r.ok is not False for r in rows)


def markdown_table(df) -> str:
    """A small table as Markdown (st.dataframe would load 1.5 MB of grid code for four rows);
    a "|" in a cell is escaped."""

    def cell(v) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ") or " "

    head = "| " + " | ".join(cell(c) for c in df.columns) + " |"
    rule = "|" + "---|" * len(df.columns)
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *rows])
