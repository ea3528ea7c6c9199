"""The batch-norm and layer-norm lessons, written from their Math (``derivations/norm.py``).

One lesson for both: batch norm's statistics are per column (group j, its entries i = 1…N),
layer norm's per row (group i, its entries j = 1…D). ``_Names`` says how each writes an entry,
a group and the sums; the steps are the same.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import sympy as sp

from ..derivation import Math, Step
from ..facts import NormFacts, need
from ..norm import NORM_DBETA, NORM_DGAMMA
from ..typeset import Typeset, aligned, check_mark, elide, plural, tex
from .common import all_grads_step, chain_rule_step, forward_step

DL = r"\frac{\partial L}{\partial %s}"
HAT = r"\hat{x}"
GAMMA_J, BETA_J = r"\gamma_{j}", r"\beta_{j}"


@dataclass(frozen=True)
class _Names:
    """How a normalisation writes its generic entries: batch norm's group is a column j with
    entries i and k, layer norm's a row i with entries j and k."""

    by_column: bool
    M: int  # entries per group: N (batch norm) or D (layer norm)

    @property
    def size(self) -> str:
        return "N" if self.by_column else "D"

    @property
    def g(self) -> str:  # the group's index
        return "j" if self.by_column else "i"

    def cell(self, letter: str, member: str) -> str:
        """x_{kj} (batch norm) or x_{ik} (layer norm): entry ``member`` of the group."""
        idx = f"{member}j" if self.by_column else f"i{member}"
        return f"{letter}_{{{idx}}}"

    @property
    def out(self) -> str:  # the output entry's own index letter
        return "i" if self.by_column else "j"

    def gamma(self, member: str) -> str:
        return r"\gamma_{j}" if self.by_column else rf"\gamma_{{{member}}}"

    @property
    def what(self) -> str:
        return "column" if self.by_column else "row"

    @property
    def across(self) -> str:  # what a group's entries are
        return "samples" if self.by_column else "features"


def _norm(m: Math) -> NormFacts:
    return need(m.norm, m.op, "norm")


def _names(m: Math) -> _Names:
    by_column = _norm(m).by_column
    return _Names(by_column, _norm(m).template.size)


def _setup(m: Math, t: Typeset, nm: _Names) -> Step:
    n, c = m.inputs["X"].shape
    X, G, B = m.inputs["X"], m.inputs["gamma"], m.inputs["beta"]
    g, k = nm.g, nm.out
    op = "Batch norm" if nm.by_column else "Layer norm"
    stats = (
        f"each column (one feature) is normalised over the batch of {plural(n, 'sample')}"
        if nm.by_column
        else f"each row (one sample) is normalised over its {plural(c, 'feature')}"
    )
    return Step(
        "Setup",
        t.gathered(
            [
                rf"\underbrace{{{t.bmatrix(X)}}}_{{X:\ {n}\times{c}}}",
                rf"\quad \gamma = {t.bmatrix(G)},",
                rf"\quad \beta = {t.bmatrix(B)}",
            ],
            [
                rf"\mu_{g} = \frac{{1}}{{{nm.size}}} \sum_{{k}} {nm.cell('x', 'k')},",
                rf"\quad \sigma^{{2}}_{g} = \frac{{1}}{{{nm.size}}} \sum_{{k}} "
                rf"\left({nm.cell('x', 'k')} - \mu_{g}\right)^{{2}},",
                rf"\quad \sigma_{g} = \sqrt{{\sigma^{{2}}_{g} + \varepsilon}}",
            ],
            [
                rf"{nm.cell(HAT, k)} = \frac{{{nm.cell('x', k)} - \mu_{g}}}{{\sigma_{g}}},",
                rf"\quad {nm.cell('y', k)} = {nm.gamma(k)} {nm.cell(HAT, k)} + "
                rf"{nm.gamma(k).replace('gamma', 'beta')}",
            ],
        ),
        f"{op}: {stats}, then scaled by γ and shifted by β, one of each per feature (PyTorch's "
        f"weight and bias). σ²{_sub(g)} is the biased variance (divided by {nm.size}, as "
        f"PyTorch's training mode) and σ{_sub(g)} = √(σ²{_sub(g)} + ε) includes ε = 1e-5, "
        f"PyTorch's default, so (σ{_sub(g)})² = σ²{_sub(g)} + ε.",
        kind="setup",
        focus="X",
        shows=("X", "gamma", "beta"),
    )


_SUBS = str.maketrans("ijk0123456789", "ᵢⱼₖ₀₁₂₃₄₅₆₇₈₉")


def _sub(s: str) -> str:
    return s.translate(_SUBS)


def _bracketed_sum(t: Typeset, lhs: str, head: str, parts: list[str]) -> list[str]:
    """'lhs &= head(a + b + …' broken onto lines of the column, with plain brackets (a
    \\left( cannot span lines)."""
    lines = t.sum_lines(parts, 2)
    lines[0] = lines[0].replace("&= ", rf"&= {head}\big(", 1)
    lines[-1] += r"\big)"
    lines[0] = f"{lhs} {lines[0]}"
    return lines


def _statistics(m: Math, t: Typeset, nm: _Names) -> Step:
    """μ, σ² and σ of every group, written out (the middle groups elided past four)."""
    X, lines = m.inputs["X"], []
    groups, left = elide(_norm(m).groups, 4)
    frac = rf"\tfrac{{1}}{{{nm.M}}}"
    for grp in groups:
        if grp is None:
            lines.append(rf"&\;\;\vdots \quad \text{{({left} more {nm.what}s)}}")
            continue
        mu, sigma = tex(grp.mu), tex(grp.sigma)
        xs = [tex(X[c]) for c in grp.cells]
        var = sigma.replace(r"\sigma", r"\sigma^{2}", 1)
        lines += _bracketed_sum(t, mu, frac, xs)
        lines += _bracketed_sum(t, var, frac, [rf"({x} - {mu})^{{2}}" for x in xs])
        lines.append(rf"{sigma} &= \sqrt{{{var} + \varepsilon}}")
    return Step(
        "Forward: the statistics of every " + nm.what,
        aligned(lines),
        f"One mean and one variance per {nm.what}, over its {nm.M} entries (one per "
        f"{nm.across[:-1]}); ε = 1e-5 keeps σ away from 0 when a {nm.what}'s entries are all "
        "equal.",
        kind="forward",
        focus="X",
        shows=("X", "mu", "sigma"),
    )


def _normalised(m: Math, t: Typeset, nm: _Names) -> Step:
    xhat, G, B = _norm(m).xhat, m.inputs["gamma"], m.inputs["beta"]
    where = {cell: grp for grp in _norm(m).groups for cell in grp.cells}

    def rhs(o) -> str:
        grp = where[o]
        x, h = tex(m.inputs["X"][o]), tex(xhat[o])
        return (
            rf"{tex(G[0, o[1]])} {h} + {tex(B[0, o[1]])}, \quad "
            rf"{h} = \frac{{{x} - {tex(grp.mu)}}}{{{tex(grp.sigma)}}}"
        )

    step = forward_step(
        m,
        t,
        rhs,
        f"Every entry is centred by its {nm.what}'s μ, divided by its σ, then scaled and "
        "shifted by its column's γ and β.",
    )
    return Step(
        "Forward: normalise, scale, shift",
        step.latex,
        step.text,
        "forward",
        "Y",
        shows=("xhat", "out"),
    )


def _pattern_of(n_rows: int, blocks: list[list[int]], dense: bool) -> str:
    """A Jacobian's non-zero pattern: • where an output depends on an input, 0 elsewhere."""
    where = {i: k for k, b in enumerate(blocks) for i in b}

    def cell(r: int, c: int) -> str:
        on = where[r] == where[c] if dense else r == c
        return r"\bullet" if on else "0"

    rows = [" & ".join(cell(r, c) for c in range(n_rows)) for r in range(n_rows)]
    return r"\begin{bmatrix} " + r" \\ ".join(rows) + r" \end{bmatrix}"


def _jacobian(m: Math, t: Typeset, nm: _Names) -> Step:
    n, c = m.inputs["X"].shape
    groups = _norm(m).groups
    size = n * c
    order = "column by column" if nm.by_column else "row by row"
    g = nm.g
    zero = (
        r"\frac{\partial y_{ij}}{\partial x_{kl}} = 0 \quad (l \ne j)"
        if nm.by_column
        else r"\frac{\partial y_{ij}}{\partial x_{lk}} = 0 \quad (l \ne i)"
    )
    if size <= 8:
        blocks = [list(range(i * nm.M, (i + 1) * nm.M)) for i in range(len(groups))]
        ours = _pattern_of(size, blocks, dense=True)
        theirs = _pattern_of(size, blocks, dense=False)
    else:
        one = " & ".join([r"\bullet"] * nm.M)
        block = r"\begin{bmatrix} " + r" \\ ".join([one] * nm.M) + r" \end{bmatrix}"
        ours = rf"\operatorname{{diag}}(J_{{1}}, \dots, J_{{{len(groups)}}}),\ J_{{{g}}} = {block}"
        theirs = r"\operatorname{diag}\left(f'(x_{11}), \dots\right)"
    return Step(
        "The Jacobian ∂Y/∂X: dense within a " + nm.what,
        t.gathered(
            zero,
            [rf"\text{{{'batch' if nm.by_column else 'layer'} norm: }} {ours}"],
            [rf"\text{{element-wise: }} {theirs}"],
        ),
        f"Ordered {order} ({_order_names(m)} …), ∂Y/∂X is block diagonal: "
        f"y{_sub('ij')} depends on every x of its own {nm.what} — through "
        f"μ{_sub(g)} and σ{_sub(g)} — and on nothing in the others. An element-wise op "
        "(ReLU, tanh) has a diagonal Jacobian: each output depends on its own input alone. So "
        f"here every ∂L/∂x is a sum over its whole {nm.what}. The heatmap shows the blocks with "
        "your numbers.",
        kind="note",
        focus="X",
        shows=("J",),
    )


def _order_names(m: Math) -> str:
    cells = [cell for grp in _norm(m).groups for cell in grp.cells][:4]
    return ", ".join(f"y{_sub(f'{r + 1}{c + 1}')}" for r, c in cells)


def _graph_lines(m: Math, nm: _Names) -> list[str]:
    """The local derivatives sympy took, in the generic entry's names (x_kj, x̂_ij, μ_j, σ_j),
    each printed from the template it derived them in."""
    tp, g, k, i = _norm(m).template, nm.g, "k", nm.out
    mu, sigma = sp.Symbol(rf"\mu_{{{g}}}"), sp.Symbol(rf"\sigma_{{{g}}}")
    as_k = {tp.t[0]: sp.Symbol(nm.cell("x", k)), tp.h[0]: sp.Symbol(nm.cell(r"\hat{x}", k))}
    as_k |= {tp.m: mu, tp.s: sigma}
    as_i = {tp.h[0]: sp.Symbol(nm.cell(r"\hat{x}", i)), tp.s: sigma}
    pc = tp.pieces
    xk, xi, hk, hi = (
        nm.cell(a, b) for a, b in (("x", k), ("x", i), (r"\hat{x}", k), (r"\hat{x}", i))
    )
    d = lambda top: rf"\frac{{\partial {top}}}{{\partial {xk}}}"  # noqa: E731
    var = rf"\sigma^{{2}}_{{{g}}}"
    M = tp.size
    return [
        rf"{d(mu)} &= {sp.latex(pc['dmu'])}",
        rf"{d(var)} &= {sp.latex(pc['dvar'].xreplace(as_k))} + "
        rf"\underbrace{{\frac{{\partial {var}}}{{\partial {mu}}}}}_{{=\,0}} {d(mu)}",
        rf"{d(sigma)} &= {sp.latex(pc['dsig_dvar'].xreplace(as_k))} {d(var)} "
        rf"= {sp.latex(pc['dsig'].xreplace(as_k))}",
        rf"{d(hi)} &= \frac{{[{i} = {k}]}}{{{sigma}}} {sp.latex(pc['by_mu'].xreplace(as_i))} "
        rf"{d(mu)}",
        rf"&\quad {sp.latex(pc['by_sigma'].xreplace(as_i))} {d(sigma)}",
        rf"&= \frac{{1}}{{{sigma}}}\left([{i} = {k}] - \frac{{1}}{{{M}}} - "
        rf"\frac{{{hi} {hk}}}{{{M}}}\right)",
        rf"{d(nm.cell('y', i))} &= {nm.gamma(i)} {d(hi)}",
    ]


def _through_the_graph(m: Math, t: Typeset, nm: _Names) -> Step:
    ok = _norm(m).proofs["partial"] and all(ok for lbl, ok in m.checks if "Σ (x − μ)" in lbl)
    lines = _graph_lines(m, nm)
    lines[-1] += check_mark(ok)
    g, own = nm.g, nm.out
    xk = "kj" if nm.by_column else "ik"
    return Step(
        "Chain rule through μ and σ",
        aligned(lines),
        f"sympy differentiates each node of x → μ → σ² → σ → x̂ → y by its own inputs and sums "
        f"the paths: x{_sub(xk)} reaches x̂ directly (only its own, {own} = k), through "
        f"μ{_sub(g)} and through σ{_sub(g)}. ∂σ²/∂μ = −(2/{nm.M})·Σ(x − μ) is 0 because μ is "
        f"the mean (checked), and (x − μ)/σ is written x̂. sympy checked the last line for every "
        f"pair of entries of a {nm.what}; every {nm.what} is the same with its own names.",
        kind="chain",
        focus="X",
        proven=ok,
        shows=("X", "xhat", "J"),
    )


def _compact(m: Math, t: Typeset, nm: _Names) -> Step:
    ok = _norm(m).proofs["compact"]
    N = nm.size
    if nm.by_column:
        up = lambda a: DL % f"y_{{{a}j}}"  # noqa: E731
        lead = rf"\frac{{\gamma_{{j}}}}{{{N}\sigma_{{j}}}}\big("
        terms = (
            rf"{N} {up('i')}",
            rf"\sum_{{k}} {up('k')}",
            rf"\hat{{x}}_{{ij}}\sum_{{k}} {up('k')}\,\hat{{x}}_{{kj}}",
        )
        after = ""
    else:
        up = lambda a: rf"\hat{{g}}_{{i{a}}}"  # noqa: E731
        lead = rf"\frac{{1}}{{{N}\sigma_{{i}}}}\big("
        terms = (
            rf"{N} {up('j')}",
            rf"\sum_{{k}} {up('k')}",
            rf"\hat{{x}}_{{ij}}\sum_{{k}} {up('k')}\,\hat{{x}}_{{ik}}",
        )
        after = rf"\hat{{g}}_{{ik}} = {DL % 'y_{ik}'}\,\gamma_{{k}}"
    lines = [
        rf"{DL % 'x_{ij}'} &= {lead}{terms[0]} - {terms[1]}",
        rf"&\qquad - {terms[2]}\big){check_mark(ok)}",
    ]
    if after:
        lines.append(rf"&\quad {after}")
    text = (
        f"Collect the chain-rule sum over the {nm.what}: the 1 of [i = k] gives N·∂L/∂y, the "
        f"−1/{N} terms give the sum, and the x̂x̂ terms the sum weighted by x̂. This is cs231n's "
        f"batch-norm backward, and the engine's. {N} = {nm.M} here; sympy checked it equals "
        f"the chain-rule sum of every entry."
        if nm.by_column
        else f"The same as batch norm's, along a row, with one difference: γ varies along the "
        f"row, so it stays inside the sums as ĝ = ∂L/∂y ⊙ γ (the gradient reaching x̂). "
        f"{N} = {nm.M} here; sympy checked it equals the chain-rule sum of every entry."
    )
    return Step(
        "Pattern: the compact form of ∂L/∂X",
        aligned(lines),
        text,
        kind="pattern",
        focus="X",
        proven=ok,
        shows=("X", "xhat", "up", "d:X"),
    )


def _zero_sum(m: Math, nm: _Names) -> Step:
    ok = _norm(m).proofs["zero sum"]
    k = "i" if nm.by_column else "j"
    cell = "x_{ij}" if nm.by_column else "x_{ij}"
    return Step(
        f"Each {nm.what} of ∂L/∂X sums to 0",
        rf"\sum_{{{k}}} {DL % cell} = 0{check_mark(ok)}",
        f"Adding the same number to every entry of a {nm.what} moves its μ by that number and "
        "changes no x̂, so no y and no L: along that direction the gradient is 0. sympy checked "
        f"it from Σ x̂ = 0 over a {nm.what}. The diagonal answer below does not have it.",
        kind="note",
        focus="X",
        proven=ok,
        shows=("d:X",),
    )


def _affine_steps(m: Math, t: Typeset) -> list[Step]:
    """∂L/∂γ and ∂L/∂β: per column, summed over the batch, in both normalisations."""
    okg = m.patterns[NORM_DGAMMA].ok
    okb = m.patterns[NORM_DBETA].ok
    return [
        replace(chain_rule_step(m, t, "gamma", (0, 0)), shows=("xhat", "up", "d:gamma")),
        Step(
            "Pattern: ∂L/∂γ = column sums of ∂L/∂Y ⊙ X̂",
            rf"{DL % GAMMA_J} = \sum_{{i}} {DL % 'y_{ij}'}\,\hat{{x}}_{{ij}}" + check_mark(okg),
            "γⱼ scales column j of X̂ in every sample, so its gradient sums that column of "
            "∂L/∂Y ⊙ X̂ over the batch — in layer norm too, whose statistics are per row but "
            "whose γ and β are per feature.",
            kind="pattern",
            focus="gamma",
            proven=okg,
            shows=("xhat", "up", "d:gamma"),
        ),
        Step(
            "Pattern: ∂L/∂β = column sums of ∂L/∂Y",
            rf"{DL % BETA_J} = \sum_{{i}} {DL % 'y_{ij}'}" + check_mark(okb),
            "βⱼ is added to column j in every sample (broadcast), so its gradient sums column j "
            "of ∂L/∂Y (total derivative), as a dense layer's bias does.",
            kind="pattern",
            focus="beta",
            proven=okb,
            shows=("up", "d:beta"),
        ),
    ]


def _mistake(m: Math, t: Typeset, nm: _Names) -> Step:
    ok = _norm(m).proofs["differs"]
    N = nm.size
    if nm.by_column:
        jac = r"\frac{\partial y_{ij}}{\partial x_{kj}} \ne \frac{\gamma_{j}}{\sigma_{j}}[i = k]"
        ans = rf"{DL % 'x_{ij}'} \ne \frac{{\gamma_{{j}}}}{{\sigma_{{j}}}}\,{DL % 'y_{ij}'}"
        gap = (
            rf"-\frac{{\gamma_{{j}}}}{{{N}\sigma_{{j}}}}\big(\sum_{{k}} {DL % 'y_{kj}'} + "
            rf"\hat{{x}}_{{ij}} \sum_{{k}} {DL % 'y_{kj}'}\,\hat{{x}}_{{kj}}\big)"
        )
    else:
        jac = r"\frac{\partial y_{ij}}{\partial x_{ik}} \ne \frac{\gamma_{j}}{\sigma_{i}}[j = k]"
        ans = rf"{DL % 'x_{ij}'} \ne \frac{{\hat{{g}}_{{ij}}}}{{\sigma_{{i}}}}"
        gap = (
            rf"-\frac{{1}}{{{N}\sigma_{{i}}}}\big(\sum_{{k}} \hat{{g}}_{{ik}} + "
            rf"\hat{{x}}_{{ij}} \sum_{{k}} \hat{{g}}_{{ik}}\,\hat{{x}}_{{ik}}\big)"
        )
    return Step(
        "Common mistake: μ and σ held constant",
        t.gathered(jac, ans, rf"\text{{it leaves out }} {gap}{check_mark(ok)}"),
        f"Treating μ and σ as constants makes ∂Y/∂X diagonal, as if the op were element-wise, "
        f"and ∂L/∂x{_sub('ij')} just ∂L/∂y times γ/σ. It drops the paths through μ and σ: "
        f"sympy checked that the two differ by the term above, which is not 0 unless the "
        f"upstream happens to have no sum and no part along x̂ in every {nm.what}. The panels "
        f"show both with your numbers: a {nm.what} of the diagonal answer sums to γ/σ times "
        f"its sum of ∂L/∂y (γ ⊙ ∂L/∂y in layer norm), where the right one sums to 0.",
        kind="mistake",
        focus="X",
        shows=("d:X", "wrong"),
    )


def norm_lesson(m: Math, t: Typeset) -> list[Step]:
    nm = _names(m)
    by_x = ("X", "xhat", "up", "d:X")  # the common steps' numbers: X, X̂ and the gradients
    return [
        _setup(m, t, nm),
        _statistics(m, t, nm),
        _normalised(m, t, nm),
        _jacobian(m, t, nm),
        _through_the_graph(m, t, nm),
        replace(chain_rule_step(m, t, "X", (0, 0)), shows=by_x),
        replace(all_grads_step(m, t, "X"), shows=by_x),
        _compact(m, t, nm),
        _zero_sum(m, nm),
        *_affine_steps(m, t),
        _mistake(m, t, nm),
    ]
