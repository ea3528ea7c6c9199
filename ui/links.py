"""Which cells to highlight when a learner picks one: pure functions over a derivation, so the
"selection → highlighted cells" logic is unit-tested without a browser.

Every matrix on a lesson page has a key: an input's name ("X"), "out" (Z), "up" (∂L/∂Z), or
"d:" + an input's name (∂L/∂X).
"""

from __future__ import annotations

import sympy as sp

from derivations.derivation import Derivation
from derivations.symbols import plain


def network(d: Derivation) -> dict[str, tuple]:
    """A network's quantities between its input and its loss (Z⁽¹⁾, A⁽¹⁾, …, p, ∂L/∂Z⁽ᴸ⁾, …), by
    key: (key, title, cell symbols, each cell's definition, cell names as text); see
    ``derivations.network``. Empty for a single op."""
    return {p[0]: p for p in d.between}


def panels(d: Derivation) -> list[tuple[str, str]]:
    """(key, title) of every matrix a lesson shows, in reading order: the inputs, a network's
    forward quantities, the output and its upstream, a network's backward quantities, the
    gradients."""
    out_name = d.out_name.replace("_i", "ᵢ")  # L_i → Lᵢ, as the notes write it
    net = [(k, p[1]) for k, p in network(d).items()]
    out = [(n, _SHOWN.get(n, n)) for n in d.inputs]
    out += [(k, t) for k, t in net if not k.startswith("d")]
    out.append(("out", out_name))
    out.append(("up", f"∂{d.loss}/∂{out_name}"))
    out += [(k, t) for k, t in net if k.startswith("d")]
    out += [(f"d:{n}", f"∂{d.loss}/∂{_SHOWN.get(n, n)}") for n in d.inputs]
    return out


_SHOWN = {"gamma": "γ", "beta": "β"}  # inputs named in words (batch norm's), written as symbols


def shape_of(d: Derivation, key: str) -> tuple[int, int]:
    if key in ("out", "up"):
        return d.output.shape
    net = network(d)
    if key in net:
        return net[key][2].shape
    return d.inputs[key.removeprefix("d:")].shape


def cell_label(d: Derivation, key: str, idx) -> str:
    """Plain-text name of a cell: x₂₂, z₁₂, ∂L/∂z₁₂, ∂L/∂x₂₂ (a network's a⁽¹⁾₁₂ too)."""
    idx = tuple(idx)
    net = network(d)
    if key in net:
        return net[key][4][idx[0]][idx[1]]
    if key == "out":
        return plain(d.out_symbols[idx])
    if key == "up":
        return f"∂{d.loss}/∂{plain(d.out_symbols[idx])}"
    if key.startswith("d:"):
        return f"∂{d.loss}/∂{plain(d.inputs[key[2:]][idx])}"
    return plain(d.inputs[key][idx])


def all_cells(d: Derivation) -> list[tuple[str, tuple[int, int]]]:
    """Every pickable cell, gradients first (that is what a learner usually asks about)."""
    keys = [k for k, _ in panels(d)]
    order = [k for k in keys if k.startswith("d:")] + [k for k in keys if not k.startswith("d:")]
    cells = []
    for k in order:
        rows, cols = shape_of(d, k)
        cells += [(k, (r, c)) for r in range(rows) for c in range(cols)]
    return cells


def highlights(d: Derivation, key: str, idx) -> dict[str, list[tuple[int, int]]]:
    """The cells to highlight, per matrix key, when cell ``idx`` of matrix ``key`` is picked.

    - a gradient cell ∂L/∂a: the outputs (and their upstream gradients) a fed, and the cells of
      the other inputs its chain-rule sum multiplies by;
    - an output or upstream cell z: the input cells z is computed from;
    - an input cell a: the outputs it feeds.
    The picked cell itself is listed too, in its own matrix and its partner (a ↔ ∂L/∂a, z ↔ ∂L/∂z).
    """
    idx = tuple(idx)
    res: dict[str, list] = {k: [] for k, _ in panels(d)}
    net = network(d)
    if key in net:  # a network's quantity: what its definition reads, and where it goes
        cells = symbol_cells(d)
        for s in net[key][3][idx].free_symbols:
            if s in cells:
                res[cells[s][0]].append(cells[s][1])
        res[key].append(idx)
        _fed(d, net[key][2][idx], res)
        return res
    if key.startswith("d:"):
        name = key[2:]
        for k, cells in d.gradient_links(name, idx).items():
            cells = sorted(cells)  # row by row, as the matrices read
            if k == d.out_name:
                res["out"] += cells
                res["up"] += cells
            else:
                res[k] += cells
        res[key].append(idx)
        if idx not in res[name]:
            res[name].append(idx)
    elif key in ("out", "up"):
        for name, cells in d.sources(idx).items():
            res[name] += sorted(cells)
        res["out"].append(idx)
        res["up"].append(idx)
    else:
        outs = sorted(d.feeds(key, idx))
        res["out"] += outs
        res["up"] += outs
        res[key].append(idx)
        res[f"d:{key}"].append(idx)
        _fed(d, d.inputs[key][idx], res)
    return res


def symbol_cells(d: Derivation) -> dict[sp.Symbol, tuple[str, tuple[int, int]]]:
    """Every named cell a network's definitions read: inputs, quantities, the seed ∂L/∂L."""
    cells = dict(d.symbol_index)
    for key, (_, _, names, *_) in network(d).items():
        cells.update(
            {names[r, c]: (key, (r, c)) for r in range(names.rows) for c in range(names.cols)}
        )
    cells[d.upstream[0, 0]] = ("up", (0, 0))
    return cells


def _fed(d: Derivation, symbol, res: dict) -> None:
    """Add the network quantities whose definitions read ``symbol`` (a weight feeds its layer's
    z's; a z feeds its a and its ∂L/∂z)."""
    for key, (*_, local, _) in network(d).items():
        for r in range(local.rows):
            for c in range(local.cols):
                if symbol in local[r, c].free_symbols and (r, c) not in res[key]:
                    res[key].append((r, c))


def own_panels(d: Derivation) -> list[tuple[str, str, list[list[str]], object]]:
    """Matrices only some lessons show beside their steps, as (key, title, cell names, sympy
    matrix in the input symbols): softmax's probabilities p and p − onehot(y), or the panels
    a derivation lists itself (batch norm's μ, σ, X̂ and Jacobian; attention's S, P, ∂L/∂P,
    ∂L/∂S)."""
    if d.panels is not None:
        return list(d.panels)
    if d.softmax is None:
        return []
    p, onehot = d.softmax.p, d.softmax.onehot
    names = [plain(sp.Symbol(f"p_{{{k + 1}}}")) for k in range(p.cols)]
    minus = [f"{n} − 1" if onehot[0, k] else n for k, n in enumerate(names)]
    return [("p", "p", [names], p), ("p-y", "p − onehot(y)", [minus], p - onehot)]
