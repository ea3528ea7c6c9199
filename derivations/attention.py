"""The maths of scaled dot-product attention, one head on one sequence (what
``F.scaled_dot_product_attention`` does for each batch entry): S = QKᵀ/√d, P = the softmax of
each row of S, O = PV, for Q (queries × d_k), K (keys × d_k), V (keys × d_v) and d = d_k. With
``causal`` query i sees keys 1 … i only (it needs as many queries as keys). Lesson:
``lessons/attention.py``.

The gradients come from the chain rule through the named intermediates, each local partial
read off a sum of products as every op here builds its Jacobian:

- ∂s_im/∂q_ic = k_mc/√d and ∂s_im/∂k_mc = q_ic/√d, from s_im = Σ_c q_ic k_mc/√d;
- the softmax Jacobian ∂p_ij/∂s_im = p_ij([j = m] − p_im), proven against sympy.diff of
  e^{s_j}/Σ_m e^{s_m} for every row length the sizes use;
- ∂o_ie/∂p_ij = v_je and ∂o_ie/∂v_je = p_ij, from o_ie = Σ_j p_ij v_je.

The patterns are proven with the probabilities as plain symbols p_ij (every identity is then a
polynomial one, compared multiplied out: ``polynomial``). The page's maths holds one
``SoftmaxEntry`` node per p_ij instead, standing for e^{s_ij}/Σ e^{s_im}, so the gradients stay
small at every size and evaluate stably (the row's maximum subtracted first). A row that sees
one key only has p = 1 exactly: its scores get no gradient, and the lesson says so.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import sympy as sp

from mathtext.functions import SoftmaxEntry

from .algebra import add, times
from .derivation import Math
from .facts import AttentionFacts
from .params import as_count
from .polynomial import Polys, product, prove, total
from .polynomial import times as ptimes
from .symbols import Scope, plain
from .typeset import tex

OP = "attention"
# the lesson offers 4 of each; at 5 (queries = keys = d_k = d_v) derive() and its compile take
# 0.3–0.5 s of CPU (1–1.7 s of wall time at a load average of 11 on 2 cores), at 6 they took
# 0.8–1.0 s of CPU, 3 s of wall time at that load
MAX_TOKENS = 5  # queries and keys
MAX_DIM = 5  # d_k and d_v


def _sizes(queries, keys, d_k, d_v, causal) -> tuple[int, int, int, int, bool]:
    lq = as_count(OP, "queries", queries, hi=MAX_TOKENS)
    lk = as_count(OP, "keys", keys, hi=MAX_TOKENS)
    d = as_count(OP, "d_k", d_k, hi=MAX_DIM)
    dv = as_count(OP, "d_v", d_v, hi=MAX_DIM)
    if not isinstance(causal, (bool, np.bool_)):
        raise ValueError(f"{OP}: causal must be True or False; you gave {causal!r}.")
    if causal and lq != lk:
        raise ValueError(
            f"{OP}: a causal mask needs as many queries as keys (query i sees keys 1 to i); you "
            f"gave {lq} queries and {lk} keys. Make them equal, or turn the mask off."
        )
    return lq, lk, d, dv, bool(causal)


def sqrt_tex(d: int) -> str:
    """√d as the lessons write it: 2 for √4, \\sqrt{2} otherwise."""
    r = int(round(d**0.5))
    return str(r) if r * r == d else rf"\sqrt{{{d}}}"


@cache
def softmax_jacobian_proven(n: int) -> bool:
    """∂p_j/∂s_m = p_j([j = m] − p_m) for p = softmax(s₁ … sₙ), by sympy.diff of the quotient
    of exponentials, entry by entry (the same for every row of that length). The difference is
    written in e_j = e^{s_j} (s_j = log e_j) and its numerator multiplied out: 0 for every
    entry (simplify() took half a second at n = 6)."""
    s = sp.symbols(f"s1:{n + 1}")
    e = sp.symbols(f"e1:{n + 1}", positive=True)
    total = sp.Add(*[sp.exp(v) for v in s])
    p = [sp.exp(v) / total for v in s]
    logs = dict(zip(s, [sp.log(v) for v in e], strict=True))
    for j in range(n):
        for m in range(n):
            diff = sp.diff(p[j], s[m]) - p[j] * ((1 if j == m else 0) - p[m])
            numerator, _ = sp.together(diff.subs(logs)).as_numer_denom()
            if sp.expand(numerator) != 0:
                return False
    return True


def _display(scope: Scope, shape) -> dict[str, sp.Matrix]:
    """The intermediates' names as the lesson writes them: s_ij, p_ij, ∂L/∂p_ij, ∂L/∂s_ij."""
    s, p = scope.matrix("s", shape), scope.matrix("p", shape)
    return {"s": s, "p": p, "dp": scope.upstream(p), "ds": scope.upstream(s)}


class _Build:
    """The derivation in plain symbols: sizes, inputs, intermediates, the sparse Jacobian."""

    def __init__(self, lq, lk, d, dv, causal, scope):
        self.lq, self.lk, self.d, self.dv, self.causal = lq, lk, d, dv, causal
        self.scope = scope
        self.Q, self.K = scope.matrix("q", (lq, d)), scope.matrix("k", (lk, d))
        self.V = scope.matrix("v", (lk, dv))
        self.seen = [[j for j in range(lk) if not causal or j <= i] for i in range(lq)]
        self.r = sp.Dummy("r")  # 1/√d while proving (see ``polynomial``)
        self.show = _display(scope, (lq, lk))
        names = self.show["p"]
        # p as symbols where the row has a choice; a row that sees one key has p = 1 exactly
        self.P = sp.Matrix(
            [
                [
                    (names[i, j] if len(self.seen[i]) > 1 else sp.S.One)
                    if j in self.seen[i]
                    else sp.S.Zero
                    for j in range(lk)
                ]
                for i in range(lq)
            ]
        )
        # O = PV, each output a sum of products p_ij v_je: its terms give its partials
        self.terms = {
            (i, e): [(self.P[i, j], self.V[j, e], j) for j in self.seen[i]]
            for i in range(lq)
            for e in range(dv)
        }
        self.O = self.outputs(self.P)

    def scores(self, scale) -> sp.Matrix:
        """S = QKᵀ·scale: s_ij = (q_i1 k_j1 + … + q_id k_jd)·scale."""
        Q, K = self.Q, self.K
        return sp.Matrix(
            self.lq,
            self.lk,
            [
                scale * add([times(Q[i, c], K[j, c]) for c in range(self.d)])
                for i in range(self.lq)
                for j in range(self.lk)
            ],
        )

    def jac_softmax(self, i, j, m):
        """∂p_ij/∂s_im (the softmax Jacobian, proven), zero for a key the row does not see."""
        if j not in self.seen[i] or m not in self.seen[i]:
            return sp.S.Zero
        return self.P[i, j] * ((1 if j == m else 0) - self.P[i, m])

    def do_ds(self, polys: Polys) -> tuple[dict, bool]:
        """∂o_ie/∂s_im for every seen (i, m) and e, written p_im (v_me − o_ie) and multiplied
        out, and whether that is the chain rule Σ_j ∂o_ie/∂p_ij · ∂p_ij/∂s_im with
        ∂o_ie/∂p_ij = v_je."""
        out, ok = {}, True
        minus = {(): -1}
        for (i, e), terms in self.terms.items():
            o = polys(self.O[i, e])
            for m in self.seen[i]:
                p_m = polys(self.P[i, m])
                chained = total(  # Σ_j v_je · p_ij([j = m] − p_im), multiplied out directly
                    ptimes(
                        ptimes(polys(v), polys(self.P[i, j])),
                        total([{(): int(j == m)}, ptimes(minus, p_m)]),
                    )
                    for _, v, j in terms
                )
                compact = ptimes(p_m, total([polys(self.V[m, e]), ptimes(minus, o)]))
                ok = ok and chained == compact
                if compact:
                    out[(i, e, m)] = compact
        return out, ok

    def derived(self, polys: Polys, D: dict, G) -> dict[str, list[dict]]:
        """Every gradient by the chain rule, Σ_o ∂L/∂o · ∂o/∂a over the Jacobian's entries
        (``jacobian``), multiplied out, row-major: what the patterns are proven against."""
        r = polys(self.r)
        g = {(i, e): polys(G[i, e]) for i in range(self.lq) for e in range(self.dv)}
        ds = {key: ptimes(g[key[:2]], poly) for key, poly in D.items()}  # ∂L/∂o_ie ∂o_ie/∂s_im
        dq = [
            total(
                ptimes(ds[(i, e, m)], ptimes(polys(self.K[m, c]), r))
                for e in range(self.dv)
                for m in self.seen[i]
                if (i, e, m) in ds
            )
            for i in range(self.lq)
            for c in range(self.d)
        ]
        dk = [
            total(
                ptimes(ds[(i, e, m)], ptimes(polys(self.Q[i, c]), r))
                for i in range(self.lq)
                for e in range(self.dv)
                if (i, e, m) in ds
            )
            for m in range(self.lk)
            for c in range(self.d)
        ]
        dv = [
            total(
                ptimes(g[(i, e)], polys(self.P[i, j])) for i in range(self.lq) if j in self.seen[i]
            )
            for j in range(self.lk)
            for e in range(self.dv)
        ]
        return {"Q": dq, "K": dk, "V": dv}

    def outputs(self, P) -> sp.Matrix:
        """O = PV for probabilities P (symbols or nodes): o_ie = Σ_j p_ij v_je. The fast sums
        of ``algebra`` are for products of symbols: a node's sort key is too deep to build."""
        plain = all(p.is_Symbol or p.is_Number for p in P)
        mul, plus = (times, add) if plain else (sp.Mul, lambda ts: sp.Add(*ts))
        return sp.Matrix(
            self.lq,
            self.dv,
            [
                plus([mul(P[i, j], self.V[j, e]) for j in self.seen[i]])
                for i in range(self.lq)
                for e in range(self.dv)
            ],
        )

    def jacobian(self, P, out, scale, G) -> tuple[dict, dict]:
        """The sparse Jacobian of O by Q, K and V, row-major in O, zero partials left out,
        for probabilities P (symbols or nodes) and scores scaled by ``scale``:
        ∂o_ie/∂q_ic = Σ_m ∂o_ie/∂s_im · k_mc·scale, ∂o_ie/∂k_mc = ∂o_ie/∂s_im · q_ic·scale
        (s_im = Σ_c q_ic k_mc·scale), ∂o_ie/∂v_je = p_ij; ∂o_ie/∂s_im = p_im (v_me − o_ie).
        Also ∂L/∂s_im = Σ_e ∂L/∂o_ie ∂o_ie/∂s_im (upstream G), from which ``gradients``
        takes Q's and K's as backprop does."""
        lq, lk, d, dv = self.lq, self.lk, self.d, self.dv
        # a row with one key has p = 1 and o = v: its ∂o/∂s is 0 and is left out
        D = {
            (i, e, m): P[i, m] * (self.V[m, e] - out[i, e])
            for i in range(lq)
            for e in range(dv)
            for m in self.seen[i]
            if len(self.seen[i]) > 1
        }
        jac: dict = {"Q": {}, "K": {}, "V": {}}
        for i in range(lq):
            for c in range(d):
                cell = {
                    (i, e): sp.Add(*[D[(i, e, m)] * self.K[m, c] * scale for m in self.seen[i]])
                    for e in range(dv)
                    if len(self.seen[i]) > 1
                }
                if cell:
                    jac["Q"][(i, c)] = cell
        for m in range(lk):
            for c in range(d):
                cell = {
                    (i, e): D[(i, e, m)] * self.Q[i, c] * scale
                    for i in range(lq)
                    for e in range(dv)
                    if (i, e, m) in D
                }
                if cell:
                    jac["K"][(m, c)] = cell
        for j in range(lk):
            for e in range(dv):
                cell = {(i, e): P[i, j] for i in range(lq) if j in self.seen[i]}
                if cell:
                    jac["V"][(j, e)] = cell
        dS = {
            (i, m): sp.Add(*[G[i, e] * D[(i, e, m)] for e in range(dv)])
            for i in range(lq)
            for m in self.seen[i]
            if len(self.seen[i]) > 1
        }
        return jac, dS

    def gradients(self, P, dS: dict, G, scale) -> dict[str, sp.Matrix]:
        """∂L/∂Q, ∂L/∂K and ∂L/∂V by the chain rule as backprop takes it: through the scores
        for Q and K (∂L/∂q_ic = Σ_m ∂L/∂s_im k_mc·scale, ∂L/∂k_mc = Σ_i ∂L/∂s_im q_ic·scale),
        directly for V (∂L/∂v_je = Σ_i ∂L/∂o_ie p_ij). Multiplied out, they are the sums
        over the Jacobian that ``derived`` proves the patterns against."""
        lq, lk, d, dv = self.lq, self.lk, self.d, self.dv
        dq = [
            sp.Add(*[dS[(i, m)] * self.K[m, c] for m in self.seen[i] if (i, m) in dS]) * scale
            for i in range(lq)
            for c in range(d)
        ]
        dk = [
            sp.Add(*[dS[(i, m)] * self.Q[i, c] for i in range(lq) if (i, m) in dS]) * scale
            for m in range(lk)
            for c in range(d)
        ]
        dv_ = [
            add([times(G[i, e], P[i, j]) for i in range(lq) if j in self.seen[i]])
            for j in range(lk)
            for e in range(dv)
        ]
        return {
            "Q": sp.Matrix(lq, d, dq),
            "K": sp.Matrix(lk, d, dk),
            "V": sp.Matrix(lk, dv, dv_),
        }


def _intermediates(m: Math, b: _Build, polys: Polys) -> tuple[sp.Matrix, dict]:
    """∂L/∂P and ∂L/∂S by the chain rule, proven equal to their patterns; returns ∂L/∂S's
    pattern (in plain p's) and the same multiplied out, from which ∂L/∂Q and ∂L/∂K are
    proven next."""
    G = m.upstream
    for n in sorted({len(s) for s in b.seen if len(s) > 1}):
        m.checks.append((f"softmax Jacobian, rows of {n}", softmax_jacobian_proven(n)))
    seen = [(i, j) for i in range(b.lq) for j in b.seen[i]]
    # ∂L/∂p_ij = Σ_e ∂L/∂o_ie · v_je: O's terms p_ij v_je, a one-key row's p included
    dP = {(i, j): sp.S.Zero for i, j in seen}
    for (i, e), terms in b.terms.items():
        for _, v, j in terms:
            dP[(i, j)] += G[i, e] * v
    dP_pat = G * b.V.T
    prove(m, polys, "dP = dO V^T", [dP[c] for c in seen], [dP_pat[c] for c in seen])
    dS = sp.zeros(b.lq, b.lk)
    for i, mm in seen:
        dS[i, mm] = sp.Add(*[dP[(i, j)] * b.jac_softmax(i, j, mm) for j in b.seen[i]])
    rowsum = [sp.Add(*[dP_pat[i, j] * b.P[i, j] for j in range(b.lk)]) for i in range(b.lq)]
    cells = [(i, j) for i in range(b.lq) for j in range(b.lk)]
    dS_pat = sp.Matrix(b.lq, b.lk, [b.P[i, j] * (dP_pat[i, j] - rowsum[i]) for i, j in cells])
    prove(m, polys, "dS = P ⊙ (dP − rowsum(dP ⊙ P))", dS, dS_pat)
    # each row of ∂L/∂S sums to 0 once its p's sum to 1 (the last one written 1 − the others)
    rows_ok = True
    for i, seen_i in enumerate(b.seen):
        if len(seen_i) > 1:
            last = b.P[i, seen_i[-1]]
            rest = 1 - sp.Add(*[b.P[i, j] for j in seen_i[:-1]])
            row = sp.Add(*[dS_pat[i, j] for j in seen_i]).xreplace({last: rest})
            rows_ok = rows_ok and polys(row) == {}
    m.checks.append(("rows of dS sum to 0", rows_ok))
    masked = [dS_pat[i, j] for i, j in cells if j not in b.seen[i]]
    if masked:
        m.checks.append(("masked scores: ∂L/∂s_ij = 0 for j > i", all(v == 0 for v in masked)))
    return dS_pat, {c: polys(dS_pat[c]) for c in cells}


def _scaled(b: _Build, A: sp.Matrix) -> sp.Matrix:
    """A/√d as display symbols (k₁₁/√2), A itself when d = 1."""
    if b.d == 1:
        return A
    root = sqrt_tex(b.d)
    return A.applyfunc(lambda a: sp.Symbol(rf"\frac{{{tex(a)}}}{{{root}}}"))


def _patterns(m: Math, b: _Build, polys: Polys, dS: dict, derived: dict) -> None:
    """The three gradient patterns, proven (the patterns multiplied out as products of
    multiplied-out factors), with display operands for the page's panels."""
    G, L, ds, r = m.upstream, m.loss, b.show["ds"], b.r
    lq, lk, d, dv = b.lq, b.lk, b.d, b.dv
    dV = product(polys, lambda j, i: b.P[i, j], lambda i, e: G[i, e], lk, lq, dv)
    prove(
        m,
        polys,
        "dV = P^T dO",
        derived["V"],
        dV,
        grad="V",
        operands={"Pᵀ": b.show["p"].T, f"∂{L}/∂O": G},
    )
    dQ = product(polys, lambda i, k: dS[(i, k)], lambda k, c: b.K[k, c] * r, lq, lk, d)
    prove(
        m,
        polys,
        "dQ = dS K/√d",
        derived["Q"],
        dQ,
        grad="Q",
        operands={f"∂{L}/∂S": ds, "K/√d": _scaled(b, b.K)},
    )
    dK = product(polys, lambda k, i: dS[(i, k)], lambda i, c: b.Q[i, c] * r, lk, lq, d)
    prove(
        m,
        polys,
        "dK = dS^T Q/√d",
        derived["K"],
        dK,
        grad="K",
        operands={f"(∂{L}/∂S)ᵀ": ds.T, "Q/√d": _scaled(b, b.Q)},
    )


def _partial_tex(m: Math, b: _Build, D: dict) -> dict:
    """The partials of Q and K as the lesson writes them: p_im (v_me − o_ie) times k_mc/√d
    (summed over the keys m for a query entry), o_ie being the output's name."""
    over = "" if b.d == 1 else rf"\frac{{1}}{{{sqrt_tex(b.d)}}}"
    p, o = b.show["p"], m.out_symbols

    def ds(i, e, mm) -> str:
        return rf"{tex(p[i, mm])} \left({tex(b.V[mm, e])} - {tex(o[i, e])}\right)"

    out = {}
    for (i, c), cell in m.jac["Q"].items():
        for _, e in cell:
            terms = [f"{ds(i, e, mm)} {tex(b.K[mm, c])}" for mm in b.seen[i] if (i, e, mm) in D]
            body = terms[0] if len(terms) == 1 else rf"\left({' + '.join(terms)}\right)"
            if len(terms) > 2:  # written out, one partial would be wider than the column
                body = (
                    rf"\sum_{{m=1}}^{{{len(terms)}}} p_{{{i + 1}m}} \left(v_{{m{e + 1}}} - "
                    rf"{tex(o[i, e])}\right) k_{{m{c + 1}}}"
                )
            out[("Q", (i, c), (i, e))] = f"{over} {body}".strip()
    for (mm, c), cell in m.jac["K"].items():
        for i, e in cell:
            q = tex(b.Q[i, c])
            tail = q if b.d == 1 else rf"\frac{{{q}}}{{{sqrt_tex(b.d)}}}"
            out[("K", (mm, c), (i, e))] = f"{ds(i, e, mm)} {tail}"
    return out


def _labels(b: _Build, loss: str) -> dict:
    """Plain-text names of the display symbols (shown on hovering), masked entries marked."""
    out = {}
    for i in range(b.lq):
        for j in range(b.lk):
            mark = "" if j in b.seen[i] else " = 0 (masked)"
            out[b.show["p"][i, j]] = plain(b.show["p"][i, j]) + mark
            out[b.show["ds"][i, j]] = f"∂{loss}/∂{plain(b.show['s'][i, j])}{mark}"
    root = sqrt_tex(b.d).replace(r"\sqrt{", "√").rstrip("}")
    for A in (b.Q, b.K) if b.d > 1 else ():
        for a, s in zip(A, _scaled(b, A), strict=True):
            out[s] = f"{plain(a)}/{root}"
    return out


def _panels(m: Math, b: _Build, S, P, dS) -> list:
    """The intermediates the page shows with numbers, (key, title, cell names, matrix in the
    inputs): S, P, ∂L/∂P and ∂L/∂S."""
    L = m.loss

    def names(letter: str, fmt) -> list[list[str]]:
        return [
            [
                fmt(plain(b.show[letter][i, j])) + ("" if j in b.seen[i] else " (masked)")
                for j in range(b.lk)
            ]
            for i in range(b.lq)
        ]

    grad = lambda n: f"∂{L}/∂{n}"  # noqa: E731
    return [
        ("S", "S = QKᵀ/√d", names("s", str), S),
        ("P", "P", names("p", str), P),
        ("dP", f"∂{L}/∂P", names("p", grad), m.upstream * b.V.T),
        ("dS", f"∂{L}/∂S", names("s", grad), dS),
    ]


def attention_math(queries=2, keys=2, d_k=2, d_v=2, causal=False, *, scope=None) -> Math:
    lq, lk, d, dv, causal = _sizes(queries, keys, d_k, d_v, causal)
    b = _Build(lq, lk, d, dv, causal, scope or Scope())
    polys = Polys()
    D, compact_ok = b.do_ds(polys)
    # the page's maths: one SoftmaxEntry node for each p_ij = e^{s_ij} / Σ_m e^{s_im}
    S = b.scores(1 / sp.sqrt(d))
    rows = [sp.Tuple(*[S[i, j] for j in b.seen[i]]) for i in range(lq)]
    nodes = {
        b.show["p"][i, j]: SoftmaxEntry.of(i + 1, j + 1, rows[i])
        for i in range(lq)
        for j in b.seen[i]
        if len(b.seen[i]) > 1
    }
    P = b.P.xreplace(nodes)
    out = b.outputs(P)
    scope = b.scope
    out_symbols = scope.matrix("o", (lq, dv))
    upstream = scope.upstream(out_symbols)
    jac, dS_chain = b.jacobian(P, out, 1 / sp.sqrt(d), upstream)
    m = Math(
        OP,
        dict(queries=lq, keys=lk, d_k=d, d_v=dv, causal=causal),
        {"Q": b.Q, "K": b.K, "V": b.V},
        out,
        out_symbols,
        upstream,
        b.gradients(P, dS_chain, upstream, 1 / sp.sqrt(d)),
        jac,
        "O",
        "o",
        scope.loss,
        scope,
    )
    m.checks.append(("∂o/∂s = p (v − o)", compact_ok))
    dS_pat, dS = _intermediates(m, b, polys)
    _patterns(m, b, polys, dS, b.derived(polys, D, m.upstream))
    m.partial_tex.update(_partial_tex(m, b, D))
    _facts(m, b, S, P, dS_pat.xreplace(nodes))
    return m


def _facts(m: Math, b: _Build, S, P, dS) -> None:
    """What the lesson and the page use besides the Math's own fields."""
    shown_p, shown_ds = b.show["p"], b.show["ds"]
    defs = {shown_p[i, j]: P[i, j] for i in range(b.lq) for j in range(b.lk)}
    defs |= {shown_ds[i, j]: dS[i, j] for i in range(b.lq) for j in range(b.lk)}
    for A in (b.Q, b.K) if b.d > 1 else ():
        defs |= {s: a / sp.sqrt(b.d) for s, a in zip(_scaled(b, A), A, strict=True)}
    m.defs = defs  # the page's display symbols → what they stand for, in the inputs
    m.labels = _labels(b, m.loss)
    m.panels = _panels(m, b, S, P, dS)
    m.walk = True  # numbers by one walk over the shared p nodes (Math._lambdify)
    # why an entry of Q or K gets no gradient (the page's explorer says so)
    m.why_zero = {
        "Q": "(its query sees a single key, whose weight is 1 whatever the scores)",
        "K": "(the queries that see this key see it alone, with weight 1 whatever the scores)",
    }
    m.attention = AttentionFacts(show=b.show, seen=b.seen, probabilities=P)
