"""The maths of batch norm and layer norm (one normalisation, its statistics taken per column or
per row) and of a residual block Y = X + f(X). Lessons: ``lessons/norm.py``.

A normalisation, per group of M entries (a column of the batch for batch norm, a row for layer
norm), as PyTorch computes it in training mode:

    μ = (1/M) Σ x,   σ² = (1/M) Σ (x − μ)²  (biased),   σ = √(σ² + ε),
    x̂ = (x − μ)/σ,   y = γ x̂ + β   (γ, β one per column: PyTorch's weight and bias).

ε is PyTorch's default 10⁻⁵, held as the exact number 1/100000: the proofs stay exact and the
symbolic numbers are the engine's at ``eps=1e-5``. The lessons write it ε.

The partial derivatives are derived by sympy the way backprop runs, through the graph
x → μ → σ² → σ → x̂ → y with μ_j, σ_j and x̂_ij as symbols of their own (each node's local
derivatives by ``sympy.diff``, summed over the paths), then written in the inputs by
substituting the definitions. Written in the inputs, every entry repeats its group's σ, a sum of
M squares of (M + 1)-term sums: compiled as it stands a 4×4 batch norm took seconds and an 8×8
one a minute, so a ``Shared`` in ``Math.staged`` gives the numeric code each statistic
once, as the named quantity it is (μ_j, σ_j, x̂_ij), before the expressions that use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from . import norm_views
from .algebra import grads_from_jac, rename_symbols, substitute
from .derivation import Math, Pattern
from .facts import NormFacts, need
from .params import as_count
from .staged import Shared
from .symbols import Scope

# the labels of the patterns proven here, by which the lessons look them up
NORM_DGAMMA = "dγ = column sums of dY ⊙ X̂"
NORM_DBETA = "dβ = column sums of dY"

EPS = sp.Rational(1, 100_000)  # PyTorch's default eps, exactly
MAX_NORM_SIDE = 8  # batch and features of a normalisation (the lessons offer 6)


# ---------------------------------------------------------------- normalisation


def _sizes(op: str, batch, features) -> tuple[int, int]:
    """(N, C); the axis a normalisation averages over needs two entries (PyTorch refuses batch
    norm over one value per feature in training mode; a layer norm of one feature is 0)."""
    lo_n, lo_c = (2, 1) if op == "batch_norm" else (1, 2)
    for name, v, lo in (("batch", batch, lo_n), ("features", features, lo_c)):
        is_int = isinstance(v, int) and not isinstance(v, bool)
        if is_int and 0 < v < lo:
            why = (
                "the statistics are taken over the samples, and PyTorch refuses batch norm over "
                "one value per feature in training mode"
                if op == "batch_norm"
                else "the statistics are taken over the features, and over one of them every "
                "x − μ is 0"
            )
            raise ValueError(
                f"{op}: {name} must be at least {lo}, you gave {v}: {why}. Choose 2 or more."
            )
    n = as_count(op, "batch", batch, lo_n, MAX_NORM_SIDE)
    c = as_count(op, "features", features, lo_c, MAX_NORM_SIDE)
    return n, c


@dataclass
class _Template:
    """One group of M entries with names of its own (t for x, h for x̂, m, s, c for γ, g for
    ∂L/∂y), derived and proven once: every group of a derivation is this one with its symbols
    renamed one to one, which changes no identity. ``gamma`` holds one symbol per member (layer
    norm: γ varies along a row) or the same one M times (batch norm: one γ per column)."""

    t: list
    h: list
    m: sp.Symbol
    s: sp.Symbol
    gamma: list
    g: list
    var_def: sp.Expr  # σ² in t and m
    pieces: dict  # the local derivatives, for the lesson
    partial: dict  # (a, b) → ∂y_a/∂x_b, in h, s and γ
    grads: list  # ∂L/∂x_b = Σ_a g_a ∂y_a/∂x_b
    compact: list
    wrong: list  # μ and σ held constant
    left_out: list  # what that drops: ∂L/∂x − the wrong answer

    @property
    def size(self) -> int:
        return len(self.t)

    @property
    def mu_def(self) -> sp.Expr:
        return sp.Add(*self.t) / self.size


_V = sp.Symbol("v")  # σ², for the one derivative of √(σ² + ε)


def _template(M: int, per_member_gamma: bool, checks: list) -> _Template:
    t = list(sp.symbols(f"_t1:{M + 1}"))
    h = list(sp.symbols(f"_h1:{M + 1}"))
    g = list(sp.symbols(f"_g1:{M + 1}"))
    m, s = sp.symbols("_m _s")
    gamma = list(sp.symbols(f"_c1:{M + 1}")) if per_member_gamma else [sp.Symbol("_c")] * M
    mu_def = sp.Add(*t) / M
    var_def = sp.Add(*[(x - m) ** 2 for x in t]) / M
    pieces, partial = _chain_rule(t, h, m, s, mu_def, var_def, checks)
    partial = {ab: gamma[ab[0]] * d for ab, d in partial.items()}  # y_a = γ_a x̂_a + β_a
    grads = [sp.Add(*[g[a] * partial[(a, b)] for a in range(M)]) for b in range(M)]
    scaled = [g[a] * gamma[a] for a in range(M)]  # ∂L/∂x̂_a
    s1, s2 = sp.Add(*scaled), sp.Add(*[scaled[a] * h[a] for a in range(M)])
    if per_member_gamma:
        compact = [(M * scaled[b] - s1 - h[b] * s2) / (M * s) for b in range(M)]
    else:  # γ is the same for the whole group: in front, as cs231n writes it
        s1, s2 = sp.Add(*g), sp.Add(*[g[a] * h[a] for a in range(M)])
        compact = [gamma[0] / (M * s) * (M * g[b] - s1 - h[b] * s2) for b in range(M)]
    wrong = [scaled[b] / s for b in range(M)]
    if per_member_gamma:
        left_out = [-(s1 + h[b] * s2) / (M * s) for b in range(M)]
    else:
        left_out = [-gamma[0] / (M * s) * (s1 + h[b] * s2) for b in range(M)]
    return _Template(
        t, h, m, s, gamma, g, var_def, pieces, partial, grads, compact, wrong, left_out
    )


def _chain_rule(t, h, m, s, mu_def, var_def, checks) -> tuple[dict, dict]:
    """∂x̂_a/∂x_b for every pair, summed by sympy over the graph's three paths (directly,
    through μ, through σ), each local derivative by ``sympy.diff``; written in x̂ and σ.
    Records the one identity it uses."""
    M = len(t)
    # ∂σ²/∂μ = −(2/M) Σ (x − μ), which is 0 at μ = the mean: proven, then used
    dvar_dmu = sp.diff(var_def, m)
    centred = sp.expand(dvar_dmu.xreplace({m: mu_def})) == 0
    checks.append(("Σ (x − μ) = 0 over a group, so ∂σ²/∂μ = 0", centred))
    dsig_dvar = sp.diff(sp.sqrt(_V + EPS), _V).subs(sp.sqrt(_V + EPS), s)  # 1/(2σ)
    back = {t[i]: m + s * h[i] for i in range(M)}  # x = μ + σ x̂, as x̂ is defined
    xhat_def = [(t[a] - m) / s for a in range(M)]
    dmu = [sp.diff(mu_def, t[b]) for b in range(M)]
    dvar = [sp.diff(var_def, t[b]) + (0 if centred else dvar_dmu * dmu[b]) for b in range(M)]
    dsig = [(dsig_dvar * dvar[b]).xreplace(back) for b in range(M)]
    by_mu = [sp.diff(xhat_def[a], m) for a in range(M)]
    by_sigma = [sp.diff(xhat_def[a], s).xreplace(back) for a in range(M)]
    partial = {
        (a, b): sp.diff(xhat_def[a], t[b]) + by_mu[a] * dmu[b] + by_sigma[a] * dsig[b]
        for b in range(M)
        for a in range(M)
    }
    pieces = dict(
        dmu=dmu[0],
        dvar=dvar[0],
        dsig_dvar=dsig_dvar,
        dsig=dsig[0],
        by_mu=by_mu[0],
        by_sigma=by_sigma[0],
        direct=sp.diff(xhat_def[0], t[0]),
        dvar_dmu=dvar_dmu,
    )
    return pieces, partial


def _prove_template(tp: _Template, checks: list) -> dict[str, bool]:
    """The template's identities, once: the compact form, Σ ∂L/∂x = 0 over the group (from
    Σ x̂ = 0, the last x̂ written as minus the others), and that the diagonal answer differs."""
    M = tp.size
    compact = all(sp.expand(a - b) == 0 for a, b in zip(tp.grads, tp.compact, strict=True))
    rest = {tp.h[-1]: -sp.Add(*tp.h[:-1])}
    zero_sum = sp.expand(sp.Add(*tp.grads).xreplace(rest)) == 0
    # Σ x̂ = Σ (x − μ)/σ: 0 at μ = the mean
    xhat_sum = sp.expand(sp.Add(*tp.t) - M * tp.mu_def) == 0
    # what the diagonal answer leaves out (``left_out``), not 0 as an expression
    left_out = [tp.grads[b] - tp.wrong[b] for b in range(M)]
    differs = all(
        sp.expand(e - shown) == 0 and sp.expand(shown) != 0
        for e, shown in zip(left_out, tp.left_out, strict=True)
    )
    shown = all(  # the partials as the lesson writes them: γ/σ ([a = b] − 1/M − x̂_a x̂_b / M)
        sp.expand(p - display_partial(tp, a, b)) == 0 for (a, b), p in tp.partial.items()
    )
    found = {
        "compact": compact,
        "zero sum": zero_sum and xhat_sum,
        "differs": differs,
        "partial": shown,
    }
    checks.append((f"∂y/∂x = γ/σ([i = k] − 1/M − x̂x̂/M), M = {M}", shown))
    checks.append((f"the compact form, for a group of {M}", compact))
    checks.append((f"Σ ∂L/∂x = 0 over a group of {M}", zero_sum and xhat_sum))
    checks.append(("the diagonal answer (μ, σ held constant) is not ∂L/∂X", differs))
    return found


def display_partial(tp: _Template, a: int, b: int) -> sp.Expr:
    """∂y_a/∂x_b as the lesson writes it: γ_a/σ ([a = b] − 1/M − x̂_a x̂_b / M)."""
    M = tp.size
    return tp.gamma[a] / tp.s * (int(a == b) - sp.Rational(1, M) - tp.h[a] * tp.h[b] / M)


@dataclass
class _Group:
    """One group of the derivation: its cells, μ and σ, and the names its template's symbols
    take in it."""

    cells: list[tuple[int, int]]
    mu: sp.Symbol
    sigma: sp.Symbol
    names: dict


def _groups(scope: Scope, X, G, xhat, up, by_column: bool, tp: _Template) -> list[_Group]:
    n, c = X.shape
    cells = (
        [[(i, j) for i in range(n)] for j in range(c)]
        if by_column
        else [[(i, j) for j in range(c)] for i in range(n)]
    )
    mu_name, sigma_name = scope.name(r"\mu"), scope.name(r"\sigma")
    out = []
    for k, cs in enumerate(cells):
        mu, sigma = sp.Symbol(f"{mu_name}_{{{k + 1}}}"), sp.Symbol(f"{sigma_name}_{{{k + 1}}}")
        names = {tp.m: mu, tp.s: sigma}
        for i, cell in enumerate(cs):
            names |= {tp.t[i]: X[cell], tp.h[i]: xhat[cell], tp.g[i]: up[cell]}
            names[tp.gamma[i]] = G[0, cell[1]]
        out.append(_Group(cs, mu, sigma, names))
    return out


def _renamed(tp: _Template, groups: list[_Group], what) -> dict:
    """``what(tp)`` (a list over the template's members) in every group: cell → expression."""
    out = {}
    for grp in groups:
        memo: dict = {}
        for cell, e in zip(grp.cells, what(tp), strict=True):
            out[cell] = rename_symbols(e, grp.names, memo)
    return out


def batch_norm_math(batch=3, features=2, *, scope=None) -> Math:
    """Batch norm of X (batch × features): statistics per column, over the batch."""
    return norm_math("batch_norm", batch, features, scope=scope)


def layer_norm_math(batch=2, features=3, *, scope=None) -> Math:
    """Layer norm of X (batch × features): statistics per row, over the features."""
    return norm_math("layer_norm", batch, features, scope=scope)


def norm_math(op: str, batch=3, features=2, *, scope=None) -> Math:
    """Batch norm (``op`` "batch_norm": statistics per column) or layer norm ("layer_norm":
    per row) of X (batch × features), with γ and β (1 × features)."""
    n, c = _sizes(op, batch, features)
    scope = scope or Scope()
    X = scope.matrix("x", (n, c))
    G = scope.matrix(r"\gamma", (1, c), vector=True)
    B = scope.matrix(r"\beta", (1, c), vector=True)
    xhat = scope.matrix(r"\hat{x}", (n, c))
    up = scope.upstream(scope.matrix("y", (n, c)))  # as assemble names them
    by_column = op == "batch_norm"
    checks: list = []
    tp = _template(n if by_column else c, not by_column, checks)
    proofs = _prove_template(tp, checks)
    groups = _groups(scope, X, G, xhat, up, by_column, tp)
    inputs = {"X": X, "gamma": G, "beta": B}
    jac_hat = _hat_jacobian(tp, groups, xhat)
    out_hat = sp.Matrix(n, c, lambda i, j: G[0, j] * xhat[i, j] + B[0, j])
    shared, rule = _definitions(groups, tp, X, xhat)
    memo: dict = {}

    def written_out(e):
        return substitute(e, rule, memo)

    jac = {
        k: {i: {o: written_out(p) for o, p in outs.items()} for i, outs in v.items()}
        for k, v in jac_hat.items()
    }
    grads_hat = grads_from_jac(inputs, jac_hat, up)
    # assemble() would sum the written-out partials again, sorting each big term into place
    d = Math(
        op,
        dict(batch=n, features=c),
        inputs,
        out_hat.applyfunc(written_out),
        scope.matrix("y", (n, c)),
        up,
        {k: g.applyfunc(written_out) for k, g in grads_hat.items()},
        jac,
        "Y",
        "y",
        scope.loss,
        scope,
    )
    _name_everything(shared, d, jac_hat, grads_hat, out_hat)
    d.checks = checks
    d.staged = shared
    d.norm = NormFacts(
        template=tp,
        groups=groups,
        by_column=by_column,
        xhat=xhat,
        xhat_full=xhat.applyfunc(written_out),
        grads_hat=grads_hat,
        proofs=proofs,
    )
    _facts(d, shared, written_out, rule)
    return d


def _hat_jacobian(tp: _Template, groups, xhat) -> dict:
    """The sparse Jacobian in x̂ and σ: the template's partials renamed into every group."""
    jac: dict = {"X": {}, "gamma": {}, "beta": {}}
    for grp in groups:
        memo: dict = {}
        for (a, b), p in tp.partial.items():
            ca, cb = grp.cells[a], grp.cells[b]
            jac["X"].setdefault(cb, {})[ca] = rename_symbols(p, grp.names, memo)
        for cell in grp.cells:
            jac["gamma"].setdefault((0, cell[1]), {})[cell] = xhat[cell]
            jac["beta"].setdefault((0, cell[1]), {})[cell] = sp.S.One
    return {k: _row_major(v) for k, v in jac.items()}


def _facts(d: Math, shared: Shared, written_out, rule: dict) -> None:
    """What the lesson, the page and practice read besides the maths itself."""
    nf = need(d.norm, d.op, "norm")
    tp, groups, xhat = nf.template, nf.groups, nf.xhat
    n, c = xhat.shape
    wrong = _matrix((n, c), _renamed(tp, groups, lambda t: t.wrong))
    wrong_full = wrong.applyfunc(written_out)
    shared.names(wrong_full, wrong)
    nf.wrong_full = wrong_full
    _patterns(d, nf.proofs, nf.xhat_full)
    norm_views.attach(d, rule)


def _matrix(shape, cells: dict) -> sp.Matrix:
    return sp.Matrix(shape[0], shape[1], lambda i, j: cells[(i, j)])


def _row_major(entries: dict) -> dict:
    """Each input's outputs in row-major order (the order the lessons' sums are written in)."""
    return {i: dict(sorted(outs.items())) for i, outs in sorted(entries.items())}


def _definitions(groups, tp: _Template, X, xhat) -> tuple[Shared, dict]:
    """The named quantities in order (each group's μ, σ, then its x̂) and the rule that writes
    μ, σ and x̂ in the inputs."""
    shared, rule = Shared(), {}
    for grp in groups:
        memo: dict = {}
        mu_def = rename_symbols(tp.mu_def, grp.names, memo)
        sigma_def = sp.sqrt(rename_symbols(tp.var_def, grp.names, memo) + EPS)
        sigma_full = sigma_def.xreplace({grp.mu: mu_def})
        rule[grp.mu], rule[grp.sigma] = mu_def, sigma_full
        shared.defs += [(grp.mu, mu_def), (grp.sigma, sigma_def)]
        shared.name(mu_def, grp.mu)
        shared.name(sigma_full, grp.sigma)
        for cell in grp.cells:
            rule[xhat[cell]] = (X[cell] - mu_def) / sigma_full
            shared.defs.append((xhat[cell], (X[cell] - grp.mu) / grp.sigma))
            shared.name(rule[xhat[cell]], xhat[cell])
    return shared, rule


def _name_everything(shared: Shared, d: Math, jac_hat, grads_hat, out_hat) -> None:
    """Every expression in the inputs that the app compiles, with its named form."""
    for k in d.inputs:
        shared.names(d.grads[k], grads_hat[k])
        for i, outs in d.jac[k].items():
            for o, p in outs.items():
                shared.name(p, jac_hat[k][i][o])
    shared.names(d.output, out_hat)


def _patterns(d: Math, proofs: dict, xhat_full) -> None:
    """The proven patterns, with the operands the app shows them with (the template's proof
    holds in every group; the sums for γ and β are checked here, entry by entry)."""
    up, n = d.upstream, d.inputs["X"].shape[0]
    nf = need(d.norm, d.op, "norm")
    if nf.by_column:
        label = "dX = γ/(Nσ)(N dY − Σ dY − X̂ Σ dY⊙X̂)"
    else:
        label = "dX = 1/(Dσ)(D dX̂ − Σ dX̂ − X̂ Σ dX̂⊙X̂), dX̂ = dY⊙γ"
    d.patterns[label] = Pattern(label, "X", {"dY": up, "X̂": xhat_full}, proofs["compact"])
    ones = sp.ones(1, n)
    gh = nf.grads_hat
    d.prove(
        NORM_DGAMMA,
        gh["gamma"],
        ones * up.multiply_elementwise(nf.xhat),
        grad="gamma",
        operands={"dY": up, "X̂": xhat_full},
    )
    d.prove(
        NORM_DBETA,
        gh["beta"],
        ones * up,
        grad="beta",
        operands={"1^T": ones, "dY": up},
    )
