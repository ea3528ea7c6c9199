"""The attention lesson, written from its Math (``derivations/attention.py``): the forward pass
entry by entry (scores, softmax, output), the backward pass through the same intermediates,
the softmax Jacobian beside note 003's softmax + cross-entropy, the causal mask, and the
classic slips. Every pattern step says what sympy proved for these sizes."""

from __future__ import annotations

from dataclasses import replace

from ..attention import sqrt_tex
from ..derivation import Math, Step
from ..symbols import plain
from ..typeset import MAX_LINES, SUM_LINES, Typeset, aligned, check_mark, elide, plural, tex
from .attention_parts import (
    LEAD,
    VT,
    _att,
    _d,
    _dims,
    _ok,
    _over,
    _queries,
    _scaled,
    _seen,
    _shaped,
    slip_diagonal,
    slip_root,
    slip_transpose,
)
from .common import chain_rule_step, forward_step

SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")

# ---------------------------------------------------------------- forward


def _setup(m: Math, t: Typeset) -> Step:
    lq, lk, d, dv, causal = _dims(m)
    Q, K, V = (m.inputs[n] for n in "QKV")
    pieces = [
        rf"\underbrace{{{t.bmatrix(Q)}}}_{{Q:\ {lq}\times{d}}}",
        rf"\quad \underbrace{{{t.bmatrix(K)}}}_{{K:\ {lk}\times{d}}}",
        rf"\quad \underbrace{{{t.bmatrix(V)}}}_{{V:\ {lk}\times{dv}}}",
    ]
    scores = "Q K^\\top" if d == 1 else rf"\frac{{Q K^\top}}{{{sqrt_tex(d)}}}"
    masked = r"\text{, masked}" if causal else ""
    formula = rf"O = \mathrm{{softmax}}\left({scores}\right) V{masked} \qquad d = d_k = {d}"
    mask = (
        " With the causal mask, query i sees keys 1 to i only (it may not look ahead)."
        if causal
        else ""
    )
    return Step(
        "Setup",
        t.gathered(pieces, formula),
        f"{_queries(lq)} (rows of Q) attend over {plural(lk, 'key')} (rows of K), and each key "
        f"has a value, a row of V with {'1 entry' if dv == 1 else f'{dv} entries'}. "
        "A query's dot product with every key, divided by √d, is its row of scores; a softmax "
        "along the row "
        "turns the scores into weights, and the output row is that mix of the rows of V. One "
        "head on one sequence: what F.scaled_dot_product_attention does for each batch entry."
        + mask,
        kind="setup",
        focus="Q",
        shows=("Q", "K", "V"),
    )


def _score_lines(m: Math, t: Typeset, i: int, j: int) -> list[str]:
    """s_ij = (q_i1 k_j1 + … + q_id k_jd)/√d, wrapped after the 1/√d when long."""
    lq, lk, d, dv, causal = _dims(m)
    Q, K = m.inputs["Q"], m.inputs["K"]
    s = tex(_att(m).show["s"][i, j])
    parts = [f"{tex(Q[i, c])} {tex(K[j, c])}" for c in range(d)]
    body = Typeset(max(t.width - LEAD, 12)).sum_lines(parts, SUM_LINES, per_line=None)
    if d > 1:
        body[0] = body[0].replace("&= ", rf"&= {_over(d)}\,(", 1)
        body[-1] += ")"
    if not _seen(m, i, j):
        body[-1] += r" \quad \text{masked}"
    return [f"{s} {body[0]}", *body[1:]]


def _scores(m: Math, t: Typeset) -> Step:
    lq, lk, d, dv, causal = _dims(m)
    cells = [(i, j) for i in range(lq) for j in range(lk)]
    per = len(_score_lines(m, t, 0, 0))
    shown, left = elide(cells, max(4, MAX_LINES // per))
    lines = []
    for c in shown:
        lines += (
            [rf"&\;\;\vdots \quad \text{{({left} more)}}"] if c is None else _score_lines(m, t, *c)
        )
    mask = (
        " The masked scores (key j after query i) are computed too, but the mask sets them to "
        "−∞ before the softmax, so they count for nothing."
        if causal
        else ""
    )
    root = "" if d == 1 else f", divided by √{d}"
    return Step(
        "Forward: the scores S = QKᵀ/√d",
        aligned(lines),
        f"sᵢⱼ is query i's dot product with key j{root}: how well they match. Dividing by √d "
        "keeps the scores' spread about the same whatever d, so the softmax does not saturate."
        + mask,
        kind="forward",
        focus="S",
        shows=("Q", "K", "S"),
    )


def _softmax_line(m: Math, t: Typeset, i: int, j: int) -> str:
    show = _att(m).show
    p, s = tex(show["p"][i, j]), show["s"]
    seen = _att(m).seen[i]
    if j not in seen:
        return rf"{p} &= 0 \quad \text{{masked}}"
    top = rf"e^{{{tex(s[i, j])}}}"
    if len(seen) == 1:
        return rf"{p} &= \frac{{{top}}}{{{top}}} = 1"
    line = rf"{p} &= \frac{{{top}}}{{{' + '.join(f'e^{{{tex(s[i, k])}}}' for k in seen)}}}"
    if t.width >= len(seen) * 6 + 8:
        return line
    last = tex(s[i, seen[-1]]).replace(f"{len(seen)}}}", "m}")
    return rf"{p} &= \frac{{{top}}}{{\sum_{{m=1}}^{{{len(seen)}}} e^{{{last}}}}}"


def _softmax(m: Math, t: Typeset) -> Step:
    lq, lk, d, dv, causal = _dims(m)
    cells = [(i, j) for i in range(lq) for j in range(lk)]
    shown, left = elide(cells, MAX_LINES // 2)
    lines = [
        rf"&\;\;\vdots \quad \text{{({left} more)}}" if c is None else _softmax_line(m, t, *c)
        for c in shown
    ]
    if lk == 1:
        extra = " With one key, every p is 1 whatever the scores: the output is V's row."
    elif causal:
        extra = (
            " Masked entries are 0 (e^−∞), and each row's sum runs over the keys it sees; query "
            "1 sees key 1 alone, so p₁₁ = 1 whatever the scores."
        )
    else:
        extra = ""
    return Step(
        "Forward: P = softmax of each row of S",
        aligned(lines),
        "Each row of scores becomes weights over the keys: positive, and summing to 1 along "
        "the row. (The engine subtracts the row's largest score first, which changes no p and "
        f"keeps e^s from overflowing.){extra}",
        kind="forward",
        focus="P",
        shows=("S", "P"),
    )


def _output(m: Math, t: Typeset) -> Step:
    p, V = _att(m).show["p"], m.inputs["V"]
    seen = _att(m).seen
    step = forward_step(
        m,
        t,
        lambda o: [f"{tex(p[o[0], j])} {tex(V[j, o[1]])}" for j in seen[o[0]]],
        "oᵢₙ mixes column n of V with query i's weights: O = PV, a matrix product, with the "
        "p's computed above.",
        busiest=(len(seen) - 1, 0),
    )
    return replace(step, title="Forward: O = PV, every output written out", shows=("P", "V", "out"))


# ---------------------------------------------------------------- backward: V and P


def _pattern_v(m: Math) -> Step:
    lq, lk, d, dv, causal = _dims(m)
    ok = _ok(m, "dV = P^T dO")
    mask = (
        " A masked p is 0, so value j gets gradient only from the queries that see it (i ≥ j)."
        if causal
        else ""
    )
    pt = _shaped(r"P^\top", lk, lq)
    return Step(
        "Pattern: ∂L/∂V = Pᵀ · ∂L/∂O",
        _shaped(_d(m, "V"), lk, dv) + rf" = {pt}\;{_shaped(_d(m, 'O'), lq, dv)}{check_mark(ok)}",
        "vⱼₙ reaches every output oᵢₙ of column n, weighted by pᵢⱼ: summing over the queries is "
        "the product Pᵀ·∂L/∂O. O = PV is a dense layer with P as its input and V as its "
        "weights, and this is the dense layer's ∂L/∂W = Xᵀ·∂L/∂Z." + mask,
        kind="pattern",
        focus="V",
        proven=ok,
        shows=("P", "up", "d:V"),
    )


def _pattern_p(m: Math, t: Typeset) -> Step:
    lq, lk, d, dv, causal = _dims(m)
    ok = _ok(m, "dP = dO V^T")
    G, V, dp = m.upstream, m.inputs["V"], _att(m).show["dp"]
    example = " + ".join(f"{tex(G[0, e])} {tex(V[0, e])}" for e in range(dv))
    lines = [
        _shaped(_d(m, "P"), lq, lk)
        + rf" = {_shaped(_d(m, 'O'), lq, dv)}\;{_shaped(VT, dv, lk)}"
        + check_mark(ok),
        rf"{tex(dp[0, 0])} = \sum_{{n}} {_d(m, 'o_{1n}')} v_{{1n}}",
    ]
    if dv <= 3:
        lines[-1] += f" = {example}"
    return Step(
        "Pattern: ∂L/∂P = ∂L/∂O · Vᵀ",
        t.gathered(*lines),
        "The same dense layer, now for its input: ∂L/∂X = ∂L/∂Z·Wᵀ with P for X and V for W. "
        "pᵢⱼ multiplies row j of V into row i of O, so its gradient is row i of ∂L/∂O dotted "
        "with row j of V."
        + (" (Masked entries are computed too but multiply a p of 0.)" if causal else ""),
        kind="pattern",
        focus="P",
        proven=ok,
        shows=("up", "V", "dP"),
    )


# ---------------------------------------------------------------- the softmax Jacobian


def _jacobian_matrix(m: Math, t: Typeset, i: int) -> str:
    p = _att(m).show["p"]
    seen = _att(m).seen[i]

    def cell(j, k) -> str:
        pj, pk = tex(p[i, j]), tex(p[i, k])
        return rf"{pj} (1 - {pj})" if j == k else rf"-{pj} {pk}"

    rows = [" & ".join(cell(j, k) for k in seen) for j in seen]
    return r"\begin{bmatrix} " + r" \\ ".join(rows) + r" \end{bmatrix}"


def _jacobian(m: Math, t: Typeset) -> Step:
    lq, lk, d, dv, causal = _dims(m)
    labels = [label for label, _ in m.checks if label.startswith("softmax Jacobian")]
    ok = all(_ok(m, label) for label in labels)
    seen = _att(m).seen
    row = next((i for i in range(lq) if len(seen[i]) > 1), None)
    lines = [r"\frac{\partial p_{ij}}{\partial s_{im}} = p_{ij}\left([j = m] - p_{im}\right)"]
    if row is None:
        lines.append(r"\text{one key: } p = 1,\ \text{a Jacobian of } [0]")
        text = (
            "With one key the softmax of a row is the constant 1: its Jacobian is 0, and no "
            "gradient reaches the scores (∂L/∂Q and ∂L/∂K are 0 below)."
        )
    else:
        n, k = len(seen[row]), row + 1
        matrix = _jacobian_matrix(m, t, row)
        if t.width < 7 * n + 8 and n > 3:  # too wide written out: its two parts instead
            matrix = r"\mathrm{diag}(p) - p\,p^\top"
        lines.append(rf"J_{{{k}}} = \mathrm{{diag}}(p_{{{k}}}) - p_{{{k}}}\, p_{{{k}}}^\top =")
        lines.append(matrix + (check_mark(ok) if ok is not None else ""))
        sizes = ", ".join(lb.rsplit(" ", 1)[-1] for lb in labels)
        text = (
            f"pᵢⱼ = e^sᵢⱼ / Σₘ e^sᵢₘ depends on every score of its row, through the sum below "
            f"the line: the quotient rule gives pᵢⱼ(1 − pᵢⱼ) on the diagonal and −pᵢⱼpᵢₘ off "
            f"it. As a matrix, diag(p) − ppᵀ (p a column), here row {k}'s. sympy differentiated "
            f"e^s / Σ e^s and checked every entry for rows of {sizes}. Scores of different rows "
            "never meet, so each row has its own Jacobian."
        )
    return Step(
        "The softmax Jacobian",
        Typeset(t.width).gathered(*lines),
        text,
        kind="result",
        focus="P",
        proven=ok if row is not None else None,
        shows=("S", "P"),
    )


def _note_003(m: Math, t: Typeset) -> Step:
    return Step(
        "Beside note 003: where the Jacobian collapsed",
        t.gathered(
            r"\frac{\partial L_i}{\partial f} = J^\top \frac{\partial L_i}{\partial p}"
            r" = \left(\mathrm{diag}(p) - p\,p^\top\right)\left(-\frac{y}{p}\right)",
            r"= -y + p \textstyle\sum_k y_k = p - y",
        ),
        "The softmax + cross-entropy lesson (note 003) used the same Jacobian, but its upstream "
        "∂Lᵢ/∂p = −y/p (entry by entry) is zero except for the true class, and Σ y = 1: the "
        "product collapsed to p − y and the Jacobian never had to be written. Here a row of "
        "∂L/∂P = ∂L/∂O·Vᵀ can be anything, so nothing collapses: the whole Jacobian is used.",
        kind="note",
        focus="P",
        shows=("P", "dP"),
    )


def _pattern_s(m: Math, t: Typeset) -> Step:
    lq, lk, d, dv, causal = _dims(m)
    ok = _ok(m, "dS = P ⊙ (dP − rowsum(dP ⊙ P))")
    show, seen = _att(m).show, _att(m).seen[0]
    p, dp, ds = show["p"], show["dp"], show["ds"]
    rowsum = " + ".join(f"{tex(dp[0, j])} {tex(p[0, j])}" for j in seen)
    first = rf"{tex(ds[0, 0])} = {tex(p[0, 0])} \left({tex(dp[0, 0])} - ({rowsum})\right)"
    lines = [
        rf"{_d(m, 'S')} = P \odot \left({_d(m, 'P')} - \mathrm{{rowsum}}\left({_d(m, 'P')}"
        rf" \odot P\right)\right){check_mark(ok)}",
        rf"{_d(m, 's_{im}')} = \sum_j {_d(m, 'p_{ij}')}\, p_{{ij}}([j = m] - p_{{im}})",
        rf"= p_{{im}}\left({_d(m, 'p_{im}')} - \sum_j {_d(m, 'p_{ij}')} p_{{ij}}\right)",
    ]
    if len(seen) <= 3:
        lines.append(first)
    return Step(
        "Pattern: ∂L/∂S = P ⊙ (∂L/∂P − rowsum(∂L/∂P ⊙ P))",
        t.gathered(*lines),
        "A row of ∂L/∂P times its row's Jacobian: the diagonal gives pᵢₘ ∂L/∂pᵢₘ, the −ppᵀ part "
        "subtracts pᵢₘ times the row's p-weighted mean of ∂L/∂P. No n×n matrix is ever built: "
        "one row sum per query does it. Each row of ∂L/∂S sums to 0, because adding the same "
        "number to a row of scores changes no probability.",
        kind="pattern",
        focus="S",
        proven=ok,
        shows=("P", "dP", "dS"),
    )


def _mask(m: Math, t: Typeset) -> Step:
    lq = _dims(m)[0]
    show = _att(m).show
    cells = [(i, j) for i in range(lq) for j in range(lq) if j > i]
    if not cells:
        return Step(
            "The causal mask: nothing to mask here",
            rf"{tex(show['p'][0, 0])} = 1, \quad {tex(show['ds'][0, 0])} = 0",
            "With one query and one key there is no key after the query to hide: the mask "
            "changes nothing. The query sees its one key with weight 1 whatever the score, so "
            "the score gets no gradient. Choose more queries and keys to see masked entries.",
            kind="note",
            focus="S",
            shows=("S", "P", "dS"),
        )
    ss = ", ".join(tex(show["s"][c]) for c in cells[:6]) + (r", \dots" if len(cells) > 6 else "")
    ps = " = ".join(tex(show["p"][c]) for c in cells[:4]) + (r" = \dots" if len(cells) > 4 else "")
    ok = _ok(m, "masked scores: ∂L/∂s_ij = 0 for j > i")
    i, j = cells[0]
    lines = [
        rf"{ss} \;\to\; -\infty",
        rf"\Rightarrow\; {ps} = 0",
        rf"{tex(show['ds'][i, j])} = {tex(show['p'][i, j])} \left(\dots\right) = 0"
        + check_mark(ok),
    ]
    return Step(
        "The causal mask: why masked scores get no gradient",
        t.gathered(*lines),
        "Query i may not look ahead: the scores of keys j > i are set to −∞ before the softmax, "
        "so their probabilities are exactly 0 and no output depends on those scores. Their "
        "gradient is 0 (the factor P in the pattern is 0 there), and key j and value j get no "
        "gradient from the queries before j. Query 1 sees key 1 alone, so p₁₁ = 1 whatever the "
        "scores and its row of ∂L/∂S is 0 as well.",
        kind="note",
        focus="S",
        proven=ok,
        shows=("S", "P", "dS"),
    )


# ---------------------------------------------------------------- backward: Q and K


def _chain_q(m: Math, t: Typeset) -> Step:
    """The chain rule for q_r1 of the first query r that sees more than one key (with a
    causal mask, query 1's scores get no gradient)."""
    lq, lk, d, dv, causal = _dims(m)
    show, K, Q, seen = _att(m).show, m.inputs["K"], m.inputs["Q"], _att(m).seen
    r = next((i for i in range(lq) if len(seen[i]) > 1), 0)
    q, n = tex(Q[r, 0]), r + 1
    terms = [rf"{tex(show['ds'][r, k])} {_scaled(tex(K[k, 0]), d)}" for k in seen[r]]
    lines = [
        rf"{_d(m, q)} &= \sum_m {_d(m, f's_{{{n}m}}')} \frac{{\partial s_{{{n}m}}}}{{\partial {q}}}"
    ]
    lines += t.sum_lines(terms, SUM_LINES)
    qp, sub = plain(Q[r, 0]), str(n).translate(SUBSCRIPT)
    return Step(
        f"Chain rule for ∂L/∂{qp}, through the scores",
        aligned(lines),
        f"{qp} enters only row {n} of S: s{sub}ₘ = ({qp}kₘ₁ + … )/√d, so ∂s{sub}ₘ/∂{qp} = "
        "kₘ₁/√d. Backprop stops at ∂L/∂S (computed once) instead of going back through every "
        "output o.",
        kind="chain",
        focus="Q",
        shows=("dS", "K", "d:Q"),
    )


def _pattern_q(m: Math) -> Step:
    lq, lk, d, dv, causal = _dims(m)
    ok = _ok(m, "dQ = dS K/√d")
    return Step(
        "Pattern: ∂L/∂Q = ∂L/∂S · K / √d",
        _shaped(_d(m, "Q"), lq, d)
        + rf" = {_shaped(_d(m, 'S'), lq, lk)}\;{_shaped(_scaled('K', d), lk, d)}{check_mark(ok)}",
        "S = Q·Kᵀ/√d is a matrix product in Q, so its backward pass is ∂L/∂S times the other "
        "factor (Kᵀ)ᵀ = K, with the same 1/√d.",
        kind="pattern",
        focus="Q",
        proven=ok,
        shows=("dS", "K", "d:Q"),
    )


def _pattern_k(m: Math) -> Step:
    lq, lk, d, dv, causal = _dims(m)
    ok = _ok(m, "dK = dS^T Q/√d")
    dst = _shaped(rf"\left({_d(m, 'S')}\right)^\top", lk, lq)
    return Step(
        "Pattern: ∂L/∂K = (∂L/∂S)ᵀ · Q / √d",
        _shaped(_d(m, "K"), lk, d)
        + rf" = {dst}\;"
        + rf"{_shaped(_scaled('Q', d), lq, d)}{check_mark(ok)}",
        "Key kₘ enters column m of S (sᵢₘ for every query i): summing over the queries is the "
        "product with (∂L/∂S)ᵀ, whose rows are the keys, as K's are.",
        kind="pattern",
        focus="K",
        proven=ok,
        shows=("dS", "Q", "d:K"),
    )


def attention_lesson(m: Math, t: Typeset) -> list[Step]:
    causal = _dims(m)[4]
    chain_v = replace(chain_rule_step(m, t, "V", (0, 0)), shows=("P", "up", "d:V"))
    steps = [
        _setup(m, t),
        _scores(m, t),
        _softmax(m, t),
        _output(m, t),
        chain_v,
        _pattern_v(m),
        _pattern_p(m, t),
        _jacobian(m, t),
        _note_003(m, t),
        _pattern_s(m, t),
        *([_mask(m, t)] if causal else []),
        _chain_q(m, t),
        _pattern_q(m),
        _pattern_k(m),
        slip_root(m, t),
        slip_transpose(m, t),
        slip_diagonal(m, t),
    ]
    return steps
