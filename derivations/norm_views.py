"""What the normalisation lessons' page and practice read besides the maths (``norm.py``):
the chain-rule terms as the lesson writes them (in x̂ and σ), the matrices the page shows with
numbers (μ, σ, X̂, the Jacobian, the diagonal answer), the outputs as the forward step writes
them, and the names practice accepts with the answers written in them."""

from __future__ import annotations

import sympy as sp

from .derivation import Math
from .facts import NormFacts, need
from .typeset import tex


def _norm(d: Math) -> NormFacts:
    return need(d.norm, d.op, "norm")


def attach(d: Math, rule: dict) -> None:
    """Everything below, into ``d``'s page and practice fields (and ``d.partial_tex``); ``rule`` writes μ, σ and x̂
    in the inputs."""
    xhat, G, B = _norm(d).xhat, d.inputs["gamma"], d.inputs["beta"]
    n, c = xhat.shape
    d.panels = _panels(d, rule)
    d.output_tex = {  # as the forward step writes them (in x, each is 69 units wide)
        (i, j): rf"{tex(G[0, j])} {tex(xhat[i, j])} + {tex(B[0, j])}"
        for i in range(n)
        for j in range(c)
    }
    _practice(d, _norm(d).groups, xhat, _norm(d).grads_hat)
    _partial_tex(d, _norm(d).template.size)


def partial_latex(gamma: str, sigma: str, same: bool, xa: str, xb: str, M: int) -> str:
    """∂y_a/∂x_b as the lesson writes it: γ/σ ([a = b] − 1/M − x̂_a x̂_b/M) (``display_partial``,
    proven equal to the derived partial)."""
    prod = rf"{xa}^{{2}}" if xa == xb else rf"{xa} {xb}"
    lead = "1 " if same else ""
    return rf"\frac{{{gamma}}}{{{sigma}}}\left({lead}- \frac{{1}}{{{M}}} - \frac{{{prod}}}{{{M}}}\right)"


def _partial_tex(d: Math, M: int) -> None:
    """The chain-rule terms as the lesson writes them, in x̂ and σ (the partials themselves are
    in the inputs, where every one repeats σ's sum of squares)."""
    xhat, G = _norm(d).xhat, d.inputs["gamma"]
    for grp in _norm(d).groups:
        for a, ca in enumerate(grp.cells):
            for b, cb in enumerate(grp.cells):
                d.partial_tex[("X", cb, ca)] = partial_latex(
                    tex(G[0, ca[1]]),
                    tex(grp.sigma),
                    a == b,
                    tex(xhat[ca]),
                    tex(xhat[cb]),
                    M,
                )
            d.partial_tex[("gamma", (0, ca[1]), ca)] = tex(xhat[ca])


def _sub(*idx: int) -> str:
    return "".join(str(i + 1) for i in idx).translate(_SUBSCRIPT)


_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _panels(d: Math, rule: dict) -> list[tuple]:
    """The matrices the lesson shows besides the inputs, the output and the gradients, as
    (key, title, cell names, matrix in the inputs): μ and σ per group, X̂, the Jacobian ∂y/∂x
    ordered group by group (so its blocks show), and the diagonal answer of the mistake."""
    n, c = d.inputs["X"].shape
    groups, by_column = _norm(d).groups, _norm(d).by_column
    shape = (1, len(groups)) if by_column else (len(groups), 1)
    stats = [
        (key, sym, sp.Matrix(*shape, [rule[getattr(g, key)] for g in groups]))
        for key, sym in (("mu", "μ"), ("sigma", "σ"))
    ]
    out = [
        (
            key,
            sym,
            [[f"{sym}{_sub(k)}" for k in range(len(groups))]]
            if by_column
            else [[f"{sym}{_sub(k)}"] for k in range(len(groups))],
            m,
        )
        for key, sym, m in stats
    ]
    hats = [[f"x̂{_sub(i, j)}" for j in range(c)] for i in range(n)]
    out.append(("xhat", "X̂", hats, _norm(d).xhat_full))
    order = [cell for g in groups for cell in g.cells]
    J = sp.Matrix(
        len(order), len(order), lambda r, k: d.jac["X"][order[k]].get(order[r], sp.S.Zero)
    )
    names = [[f"∂y{_sub(*o)}/∂x{_sub(*i)}" for i in order] for o in order]
    out.append(("J", "∂Y/∂X, " + ("column by column" if by_column else "row by row"), names, J))
    wrong = [[f"diagonal answer for x{_sub(i, j)}" for j in range(c)] for i in range(n)]
    out.append(
        ("wrong", "the diagonal answer", wrong, need(_norm(d).wrong_full, d.op, "wrong_full"))
    )
    return out


def _practice(d: Math, groups, xhat, grads_hat) -> None:
    """What practice asks and accepts, in the lesson's quantities: mu1 and sigma1 stand for μ₁
    and σ₁ as quantities of their own (written in the inputs, σ is a square root of a sum of
    squares, and an answer multiplied out that way runs to thousands of terms), xhat11 for
    (x₁₁ − μ₁)/σ₁; the expected answers are the gradients written the same way."""
    n, c = d.inputs["X"].shape
    where = {cell: g for g in groups for cell in g.cells}
    hat = {xhat[cell]: (d.inputs["X"][cell] - where[cell].mu) / where[cell].sigma for cell in where}
    d.named = {
        **{f"mu{k + 1}": g.mu for k, g in enumerate(groups)},
        **{f"sigma{k + 1}": g.sigma for k, g in enumerate(groups)},
        **{f"xhat{i + 1}{j + 1}": hat[xhat[i, j]] for i in range(n) for j in range(c)},
    }
    d.practice_grads = _Written(grads_hat, hat)


class _Written(dict):
    """The gradients with x̂ written as (x − μ)/σ, each made when practice first asks for it
    (a tenth of an 8×8 derivation's time otherwise, for a question that may never come)."""

    def __init__(self, grads: dict, rule: dict):
        super().__init__()
        self._grads, self._rule = grads, rule

    def __missing__(self, name: str) -> sp.Matrix:
        self[name] = self._grads[name].xreplace(self._rule)
        return self[name]
