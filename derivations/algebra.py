"""The exact algebra every derivation shares: products built in sympy's canonical form, the
sparse Jacobian built term by term, the gradients from it, the matrix operations the proven
patterns are written with, and max pooling's first-maximum indicator.

A derivation is described by its inputs (sympy matrices of symbols), its outputs, and a sparse
Jacobian ``jac[name][(r, c)] = {(i, j): ∂z_ij/∂a_rc}`` holding only the non-zero partials. The
gradient is then ∂L/∂a_rc = Σ_ij ∂L/∂z_ij · ∂z_ij/∂a_rc over those entries alone, so the cost grows
with the number of terms instead of (outputs × symbols), which is what plain ``sympy.diff`` of the
whole loss would cost.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

# ---------------------------------------------------------------- fast exact products
#
# sympy's Mul(...) re-sorts and re-flattens its arguments on every call, which dominates the cost
# of a derivation with thousands of x·k terms. Products of a number and distinct plain symbols
# are built here directly in sympy's canonical form (number first, symbols sorted by name, which
# is sympy's own order for plain symbols), so they are the very objects Mul would return.


def _split(e):
    """(coefficient, symbols) of a number, a symbol or a product of them; None otherwise."""
    if e.is_Number:
        return e, ()
    if e.is_Symbol:
        return sp.S.One, (e,)
    if e.is_Mul and all(a.is_Symbol or (i == 0 and a.is_Number) for i, a in enumerate(e.args)):
        if e.args[0].is_Number:
            return e.args[0], e.args[1:]
        return sp.S.One, e.args
    return None


def times(*factors):
    """The exact product of the factors; fast for numbers times distinct symbols."""
    if len(factors) == 2:
        a, b = factors
        if a.__class__ is sp.Symbol and b.__class__ is sp.Symbol and a.name != b.name:
            return sp.Mul._from_args((a, b) if a.name < b.name else (b, a))  # x·k, the common case
    if any(f is sp.S.Zero for f in factors):
        return sp.S.Zero
    coef, syms = sp.S.One, []
    for f in factors:
        parts = _split(f if isinstance(f, sp.Basic) else sp.sympify(f))
        if parts is None:
            return sp.Mul(*factors)
        if parts[0] is not sp.S.One:
            coef = coef * parts[0]
        syms += parts[1]
    if len({s.name for s in syms}) != len(syms):
        return sp.Mul(*factors)  # a repeated symbol makes a power: let sympy build it
    syms.sort(key=lambda s: s.name)
    args = tuple(syms) if coef == 1 else (coef, *syms)
    if not args:
        return coef
    return args[0] if len(args) == 1 else sp.Mul._from_args(args)


# ---------------------------------------------------------------- building the Jacobian


def jacobian_from_terms(inputs: dict, terms: dict) -> dict:
    """Sparse Jacobian of outputs that are sums of products.

    terms: out index → list of (coef, [(name, idx), …]); each listed factor contributes
    coef · (the other factors) to ∂z/∂factor. Output indices are visited in the order given, so
    every gradient's terms come out in row-major output order.
    """
    jac = {n: {} for n in inputs}
    for out, tlist in terms.items():
        for coef, factors in tlist:
            for k, (name, idx) in enumerate(factors):
                others = [inputs[n][i] for j, (n, i) in enumerate(factors) if j != k]
                partial = times(coef, *others)
                slot = jac[name].setdefault(idx, {})
                slot[out] = slot.get(out, 0) + partial
    return jac


def outputs_from_terms(shape, inputs: dict, terms: dict) -> sp.Matrix:
    m = sp.zeros(*shape)
    for out, tlist in terms.items():
        m[out] = sp.Add(*[times(coef, *[inputs[n][i] for n, i in f]) for coef, f in tlist])
    return m


def grads_from_jac(inputs: dict, jac: dict, upstream: sp.Matrix) -> dict[str, sp.Matrix]:
    grads = {}
    for name, m in inputs.items():
        g = sp.zeros(m.rows, m.cols)
        for idx, outs in jac[name].items():
            g[idx] = sp.Add(*[times(upstream[o], p) for o, p in outs.items()])
        grads[name] = g
    return grads


# ---------------------------------------------------------------- the max-pool indicator


class FirstMax(sp.Function):
    """FirstMax(q, x₀, …, xₙ₋₁) is 1 when x_q is the first maximum of the xs, else 0.

    It is ∂max(xs)/∂x_q with PyTorch's tie rule (the first maximum in window order wins). As a
    Function it costs one node where Piecewise(And(x_q > x₀, …, x_q ≥ xₙ₋₁)) costs n relationals,
    which made a 16×16 max pool with a 3×3 window take 20 s to derive and compile.
    """

    @classmethod
    def eval(cls, q, *xs):
        if q.is_Integer and xs and all(x.is_number for x in xs):
            return sp.S.One if _first_max(int(q), *(float(x) for x in xs)) else sp.S.Zero
        return None

    def _latex(self, printer):
        q, *xs = self.args
        return rf"\left[{printer._print(xs[int(q)])} \text{{ is the max}}\right]"


def _first_max(q, *xs) -> float:
    """The numeric FirstMax, for lambdify: works on floats and on numpy arrays alike."""
    stacked = np.stack(np.broadcast_arrays(*xs))
    return (np.argmax(stacked, axis=0) == q).astype(float)


NUMERIC = [{"FirstMax": _first_max}, "numpy"]


# ---------------------------------------------------------------- matrix helpers for patterns


def correlate(
    a: sp.Matrix, k: sp.Matrix, stride=(1, 1), dilation=(1, 1), out_shape=None
) -> sp.Matrix:
    """Valid cross-correlation a ⊛ k (the notes' ⊛), with stride and dilation."""
    (s0, s1), (d0, d1) = stride, dilation
    h = (a.rows - d0 * (k.rows - 1) - 1) // s0 + 1
    w = (a.cols - d1 * (k.cols - 1) - 1) // s1 + 1
    if out_shape is not None:
        h, w = min(h, out_shape[0]), min(w, out_shape[1])
    return sp.Matrix(
        h,
        w,
        lambda i, j: sp.Add(
            *[
                times(a[i * s0 + m * d0, j * s1 + n * d1], k[m, n])
                for m in range(k.rows)
                for n in range(k.cols)
            ]
        ),
    )


def pad(a: sp.Matrix, top: int, bottom: int, left: int, right: int) -> sp.Matrix:
    """Zero-pad each side; a negative amount crops that side instead."""
    rows = a.rows + top + bottom
    cols = a.cols + left + right

    def entry(i, j):
        r, c = i - top, j - left
        return a[r, c] if 0 <= r < a.rows and 0 <= c < a.cols else sp.S.Zero

    return sp.Matrix(max(rows, 0), max(cols, 0), entry)


def dilate(a: sp.Matrix, s: tuple[int, int]) -> sp.Matrix:
    """Insert s−1 zeros between neighbouring entries (the stride of a transposed conv)."""
    rows, cols = (a.rows - 1) * s[0] + 1, (a.cols - 1) * s[1] + 1
    return sp.Matrix(
        rows,
        cols,
        lambda i, j: a[i // s[0], j // s[1]] if i % s[0] == 0 and j % s[1] == 0 else sp.S.Zero,
    )


def rot180(a: sp.Matrix) -> sp.Matrix:
    return sp.Matrix(a.rows, a.cols, lambda i, j: a[a.rows - 1 - i, a.cols - 1 - j])


def equal(derived: sp.Matrix, pattern: sp.Matrix) -> bool:
    """True when derived − pattern expands to the zero matrix."""
    if derived.shape != pattern.shape:
        return False
    # both sides are built in sympy's canonical form, so equal structure already proves
    # equality; anything else must expand to zero
    return all(a == b or sp.expand(a - b) == 0 for a, b in zip(derived, pattern, strict=True))
