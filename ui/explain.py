"""What the explorer writes for a picked cell, as pure functions over a derivation and the numbers
on show: LaTeX and a sentence, unit-tested without Streamlit. Sums are written in the matrices'
order (row by row, inputs in their order), never in sympy's, and a cell no output depends on
says so instead of printing "= 0 = 0 = 0".

Every number reaching here is finite: ``ui.lesson`` checks the results before drawing them."""

from __future__ import annotations

import re

import sympy as sp

from derivations.typeset import equalities, num, ordered_sum, paren, product_latex
from ui import links

_ONE_PAIR = re.compile(r"\\left\(\\left\(([^()]*)\\right\) \\right\)")
LONGEST = 400  # characters of LaTeX an output's formula may take in the explorer


def _rank(d):
    """Sort key of a symbol: its input's place in the lesson, then row-major position."""
    order = {n: i for i, n in enumerate(d.inputs)}

    def rank(s):
        name, idx = d.symbol_index[s]
        return (order[name], idx)

    return rank


def forward_terms(d, idx) -> list[tuple] | None:
    """Output cell ``idx`` as [(coefficient, [input symbols])] in the matrices' order (x₂₂ k₁₁
    before x₂₃ k₁₂, the bias last), or None where it is not a sum of products of inputs (a
    maximum, an exponential, a logarithm)."""
    rank = _rank(d)
    terms = []
    for t in sp.Add.make_args(d.output[tuple(idx)]):
        coef, factors = t.as_coeff_mul()
        if not factors or not all(f in d.symbol_index for f in factors):
            return None
        terms.append((coef, sorted(factors, key=rank)))
    return sorted(terms, key=lambda t: [rank(f) for f in t[1]])


def _value(d, numbers, s) -> float:
    name, idx = d.symbol_index[s]
    return float(numbers[name][idx])


def output_latex(d, idx, numbers, width: int | None = None) -> str:
    """z₂₂ = x₂₂ k₁₁ + … + b = (1)·(2) + … + (0.5) = 5.5, in the forward step's order."""
    idx = tuple(idx)
    z = sp.latex(d.out_symbols[idx])
    total = num(numbers["out"][idx])
    terms = forward_terms(d, idx)
    if terms is None:
        # a lesson may write its outputs in quantities it names (batch norm's γ₁ x̂₁₁ + β₁)
        rhs = d.output_tex.get(idx) or sp.latex(d.output[idx])
        if len(rhs) > LONGEST:  # see output_note
            return f"{z} = {total}"
        return f"{z} = {rhs} = {total}"
    sym = [product_latex(c, fs) for c, fs in terms]
    plugged = []
    for c, fs in terms:
        factors = [f"({num(_value(d, numbers, f))})" for f in fs]
        head = [] if c == 1 else [sp.latex(c)]
        plugged.append(r" \cdot ".join(head + factors))
    return equalities(z, [(elided(sym), ordered_sum), (elided(plugged), ordered_sum)], total, width)


def output_note(d, idx) -> str:
    """Why an output is shown without its formula: a whole network's loss written in its inputs
    fills the screen."""
    if tuple(idx) in d.output_tex:
        return ""
    if forward_terms(d, idx) is None and len(sp.latex(d.output[tuple(idx)])) > LONGEST:
        return (
            "Written in the inputs, this output is too long to show; the steps above build it "
            "layer by layer."
        )
    return ""


def elided(parts: list[str], most: int = 24) -> list[str]:
    """A long sum's first and last summands with ⋯ between (a 16×16 sum has 256)."""
    return parts if len(parts) <= most else [*parts[: most - 3], r"\cdots", *parts[-2:]]


def gradient_latex(d, name: str, idx, values, upstream, width: int | None = None):
    """(LaTeX, sentence) for ∂L/∂a at ``idx``: its chain-rule sum with the numbers put in, or,
    where no output depends on a, just 0 and why."""
    idx = tuple(idx)
    if not d.jac[name].get(idx):
        a = d.inputs[name][idx]
        lhs = rf"\frac{{\partial {d.loss}}}{{\partial {sp.latex(a)}}}"
        cell = links.cell_label(d, name, idx)
        # a lesson may say why itself (attention: a query that sees one key has p = 1)
        why = d.why_zero.get(name, "")
        return f"{lhs} = 0", (
            # not "no window reaches it": a kernel weight over padding only, or a transposed
            # conv's stamp cropped away, has no window
            f"No output depends on {cell} at these settings "
            + (why or "(the stride, padding or cropping leave it out)")
            + f", so no gradient flows back to it: {links.cell_label(d, 'd:' + name, idx)} is 0."
        )
    return d.chain_rule(name, idx, values, upstream, width=width), ""


def input_sentence(d, key: str, idx, numbers) -> str:
    """x₂₂ = 3 feeds z₁₁, z₁₂, z₂₁, z₂₂ (row by row)."""
    idx = tuple(idx)
    outs = sorted(d.feeds(key, idx))
    names = ", ".join(links.cell_label(d, "out", o) for o in outs) or "no output"
    return f"**{links.cell_label(d, key, idx)} = {num(numbers[key][idx])}** feeds {names}."


def panel_latex(d, key: str, idx, numbers, width: int | None = None) -> str:
    """A network quantity's cell by its own definition, then with the numbers put in:
    z⁽²⁾₁₁ = a⁽¹⁾₁₁ w⁽²⁾₁₁ + … = (0.5)(−1.2) + … = −0.6; ∂L/∂z⁽¹⁾₁₂ = ∂L/∂a⁽¹⁾₁₂ (1 − tanh²(z⁽¹⁾₁₂))
    = (0.3)(1 − tanh²(0.52)) = 0.23."""
    idx = tuple(idx)
    _, _, names, local, _ = links.network(d)[key]
    cells = links.symbol_cells(d)
    # in the forward step's order: the products first, a lone bias last
    terms = sorted(sp.Add.make_args(local[idx]), key=lambda t: t.is_Symbol)
    put = {
        s: sp.Symbol(rf"\left({num(numbers[cells[s][0]][cells[s][1]])}\right)")
        for s in local[idx].free_symbols
        if s in cells
    }
    sym = [_product(t, {}) for t in terms]
    plugged = [_product(t, put) for t in terms]
    groups = [(elided(sym), ordered_sum), (elided(plugged), ordered_sum)]
    return equalities(sp.latex(names[idx]), groups, num(numbers[key][idx]), width)


def _product(term, put: dict) -> str:
    """A term's factors in one order, with ``put``'s numbers for its symbols or without: sympy
    would re-sort the factors once numbers replace the names (∂L/∂L p₂ = (0.95)(1))."""
    coef, factors = term.as_coeff_mul()
    if any(f.is_Pow and f.exp.is_negative for f in factors):  # a fraction: sympy writes it best
        return _ONE_PAIR.sub(r"\\left(\1\\right)", sp.latex(term.xreplace(put)))
    parts = [
        _ONE_PAIR.sub(r"\\left(\1\\right)", paren(f.xreplace(put)) if put else paren(f))
        for f in factors
    ]
    body = " ".join(parts)
    if coef == 1:
        return body or "1"
    if coef == -1:
        return f"-{body}" if body else "-1"
    return f"{sp.latex(coef)} {body}".strip()
