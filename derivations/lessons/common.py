"""Lesson steps every op uses, written from its Math: the forward expansions, the chain rule for
one entry (zero terms struck through), and every entry of a gradient."""

from __future__ import annotations

from ..derivation import Math, Step
from ..facts import need
from ..product import times
from ..symbols import plain
from ..typeset import MAX_LINES, SUM_LINES, Typeset, aligned, elide, tex

CHAIN_LINES = 8  # lines of surviving chain-rule terms before the middle is elided


def sums(m: Math) -> dict:
    """Each output's forward sum as terms (dense, conv, pool: ``Math.terms``)."""
    return need(m.terms, m.op, "forward sums")


def expansion_parts(inputs: dict, tlist) -> list[str]:
    """The summands of one output written from its terms [(coef, [(name, idx), …]), …]."""
    return [times(coef, [inputs[n][i] for n, i in f]) for coef, f in tlist]


def longest(lists: dict):
    """The key of the longest list (the first of the longest): the output whose expansion, or
    the entry whose sum, decides how much of a step fits."""
    return max(lists, key=lambda k: len(lists[k]))


def _outs(m: Math) -> list[tuple[int, int]]:
    return [(i, j) for i in range(m.output.rows) for j in range(m.output.cols)]


def _every_term(m: Math, t: Typeset, name, idx, outs, nz) -> list[str]:
    """The sum over every output, then with each partial put in (zeros struck through)."""
    L, al = m.loss, tex(m.inputs[name][idx])
    z = lambda o: tex(m.out_symbols[o])  # noqa: E731
    full = [
        rf"\frac{{\partial {L}}}{{\partial {z(o)}}} \frac{{\partial {z(o)}}}{{\partial {al}}}"
        for o in outs
    ]
    plugged = []
    for o in outs:
        up = rf"\frac{{\partial {L}}}{{\partial {z(o)}}}"
        plugged.append(
            m.term_latex(name, idx, o, r" \cdot ") if o in nz else rf"\cancel{{{up} \cdot 0}}"
        )
    return t.sum_lines(full) + t.sum_lines(plugged)


def _every_term_text(m: Math, ap: str, outs, nz) -> str:
    dropped = len(outs) - len(nz)
    if not dropped:
        if len(outs) > 1:
            return f"All {len(outs)} outputs depend on {ap}, so no term drops out."
        return f"The only output depends on {ap}, so the sum has one term."
    text = f"Every output {m.out_letter}ᵢⱼ could depend on {ap}; "
    if dropped == 1:
        return text + "the one that does not contributes 0 and is struck out."
    return text + f"the {dropped} that do not contribute 0 and are struck out."


def _survivors_text(ap: str, outs, nz) -> str:
    rest = len(outs) - len(nz)
    zeros = (
        "the other partial derivative is 0"
        if rest == 1
        else f"the other {rest} partial derivatives are 0"
    )
    if not nz:
        return f"No output contains {ap}, so all {len(outs)} partial derivatives are 0."
    if not rest:
        if len(nz) == 1:
            return f"The only output contains {ap}, so the sum has one term."
        return f"All {len(nz)} outputs contain {ap}, so every term contributes."
    if len(nz) == 1:
        return f"Only one output contains {ap} and contributes; {zeros}."
    return f"Only the {len(nz)} outputs that contain {ap} contribute; {zeros}."


def chain_rule_step(
    m: Math, t: Typeset, name: str, idx: tuple[int, int], *, show_all: bool = True
) -> Step:
    """The chain rule written out for one element: every term (zeros struck through), then the
    terms that survive. With many outputs, only the surviving terms are written."""
    a = m.inputs[name][idx]
    L, al, ap = m.loss, tex(a), plain(a)
    outs = _outs(m)
    nz = m.jac[name].get(idx, {})
    lines = [
        rf"\frac{{\partial {L}}}{{\partial {al}}} = \sum_{{i,j}} \frac{{\partial {L}}}{{\partial {m.out_letter}_{{ij}}}} \cdot \frac{{\partial {m.out_letter}_{{ij}}}}{{\partial {al}}}"
    ]
    if show_all and len(outs) <= 16:
        lines += _every_term(m, t, name, idx, outs, nz)
        text = _every_term_text(m, ap, outs, nz)
    else:
        text = _survivors_text(ap, outs, nz)
    if len(lines) == 1 or len(outs) != len(nz):  # with no zero term it would repeat the line above
        lines += t.sum_lines(
            [m.term_latex(name, idx, o, r" \cdot ") for o in nz],
            CHAIN_LINES,
        )
    lines[0] = lines[0].replace(" = ", " &= ", 1)
    return Step(f"Chain rule for ∂{L}/∂{plain(a)}", aligned(lines), text, kind="chain", focus=name)


def forward_step(m: Math, t: Typeset, rhs, text: str, busiest=None) -> Step:
    """Every output written out (long lists elided): z_ij = rhs((i, j)). ``rhs`` gives LaTeX,
    a list of summands (wrapped onto as many lines as the column needs), or ``aligned`` lines
    ('&= …' first). The output ``busiest`` (the longest) decides how many outputs fit."""
    outs = _outs(m)

    def rows(o) -> list[str]:
        r = rhs(o)
        lhs = tex(m.out_symbols[o])
        if isinstance(r, str):
            r = [f"&= {r}"]
        elif not r[0].startswith("&"):
            r = t.sum_lines(r, MAX_LINES // 3, per_line=None)
        return [f"{lhs} {r[0]}", *r[1:]]

    per_output = len(rows(outs[0] if busiest is None else busiest))
    shown, left = elide(outs, max(4, MAX_LINES // per_output))
    lines = []
    for o in shown:
        if o is None:
            lines.append(rf"&\;\;\vdots \quad \text{{({left} more)}}")
        else:
            lines.extend(rows(o))
    return Step(
        "Forward: every output written out", aligned(lines), text, kind="forward", focus=m.out_name
    )


def all_grads_step(
    m: Math, t: Typeset, name: str, title: str | None = None, text: str | None = None
) -> Step:
    """Every entry's chain-rule sum, zero terms dropped. Long sums show their first and last
    terms (SUM_LINES lines), and as many entries as MAX_LINES lines hold are listed."""
    g = m.inputs[name]
    items = [(r, c) for r in range(g.rows) for c in range(g.cols)]
    longest = max((len(v) for v in m.jac[name].values()), default=1)
    per_entry = min(SUM_LINES, -(-longest // 4))  # four summands a line at the most
    shown, left = elide(items, max(4, MAX_LINES // per_entry))
    lines = []
    for idx in shown:
        if idx is None:
            lines.append(rf"&\;\;\vdots \quad \text{{({left} more)}}")
            continue
        rhs = t.sum_lines(
            [m.term_latex(name, idx, o) for o in m.jac[name].get(idx, {})],
            SUM_LINES,
        )
        lhs = rf"\frac{{\partial {m.loss}}}{{\partial {tex(g[idx])}}} "
        lines += [lhs + rhs[0]] + rhs[1:]
    return Step(
        title or f"Every entry of ∂{m.loss}/∂{name}",
        aligned(lines),
        text or f"The same sum for every entry of {name}, zero terms dropped.",
        kind="result",
        focus=name,
    )
