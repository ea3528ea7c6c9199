"""The sympy functions typed maths and the lessons share, each with its numeric twin.

``FirstMax`` is max pooling's gradient with PyTorch's tie rule (what a learner types as
``first_max(...)``); ``SoftmaxEntry`` is attention's probability p_ik. ``NUMERIC`` is the
``modules`` argument lambdify needs to compile expressions holding them.
"""

from __future__ import annotations

import mpmath
import numpy as np
import sympy as sp

# ---------------------------------------------------------------- the max-pool indicator


class FirstMax(sp.Function):
    """FirstMax(q, (x₀, …, xₙ₋₁)) is 1 when x_q is the first maximum of the xs, else 0.

    It is ∂max(xs)/∂x_q with PyTorch's tie rule (the first maximum in window order wins). As a
    Function it costs one node where Piecewise(And(x_q > x₀, …, x_q ≥ xₙ₋₁)) costs n relationals,
    which made a 16×16 max pool with a 3×3 window take 20 s to derive and compile. The window is
    one Tuple shared by all its cells' indicators: with the cells as separate arguments, a 6×6
    window's 36 indicators took 36 arguments each.
    """

    @classmethod
    def of(cls, q: int, window: sp.Tuple) -> FirstMax:
        """FirstMax(q, window) for a window of symbols, where nothing evaluates: the node itself,
        without Function's argument checks (8,000 indicators spent 0.4 s in them)."""
        return sp.Basic.__new__(cls, sp.Integer(q), window)

    @classmethod
    def eval(cls, q, xs):
        if q.is_Integer and xs and all(x.is_number for x in xs):
            return sp.S.One if _first_max(int(q), tuple(float(x) for x in xs)) else sp.S.Zero
        return None

    def _latex(self, printer):
        q, xs = self.args
        return rf"\left[{printer._print(xs[int(q)])} \text{{ is the max}}\right]"


def _first_max(q, xs) -> float:
    """The numeric FirstMax, for lambdify: works on floats and on numpy arrays alike."""
    stacked = np.stack(np.broadcast_arrays(*xs))
    return (np.argmax(stacked, axis=0) == q).astype(float)


# ---------------------------------------------------------------- attention's probabilities


class SoftmaxEntry(sp.Function):
    """SoftmaxEntry(i, k, (s₁, …, sₙ)) is p_ik = e^{s_k} / Σ_j e^{s_j}: entry k of the softmax
    of query i's scores over the n keys it sees (``derivations.attention``).

    One node, printed p_{ik}, where the quotient of exponentials would repeat the whole row
    in every partial derivative that holds it; expand() treats it as a symbol. Numerically
    (lambdify, ``numeric``, xreplace by numbers) the row's largest score is subtracted first,
    so it is finite at scores of ±1000 where e^{s} alone overflows."""

    @classmethod
    def of(cls, i: int, k: int, scores: sp.Tuple) -> SoftmaxEntry:
        """The node for 1-based row i and key k of a row of scores, built without Function's
        argument checks (the row is one Tuple its entries share)."""
        return sp.Basic.__new__(cls, sp.Integer(i), sp.Integer(k), scores)

    @classmethod
    def eval(cls, i, k, scores):
        if not (k.is_Integer and scores and all(s.is_number for s in scores)):
            return None
        if not all(s.is_Float for s in scores):  # exact numbers: the exact quotient
            return sp.exp(scores[int(k) - 1]) / sp.Add(*[sp.exp(s) for s in scores])
        # at the scores' own precision: the answer checker's 30-digit points tell 1 − p12
        # from p11 where a double rounds p12 to 1
        prec = max(s._prec for s in scores)
        with mpmath.workprec(prec + 10):
            row = [mpmath.mpf(s._mpf_) for s in scores]
            top = max(row)
            e = [mpmath.exp(v - top) for v in row]
            return sp.Float(e[int(k) - 1] / mpmath.fsum(e), precision=prec)

    def explicit(self):
        """The same entry as the quotient of exponentials it stands for."""
        _, k, scores = self.args
        return sp.exp(scores[int(k) - 1]) / sp.Add(*[sp.exp(s) for s in scores])

    def _latex(self, printer):
        return f"p_{{{self.args[0]}{self.args[1]}}}"

    def _sympystr(self, printer):
        return f"p{self.args[0]}{self.args[1]}"


def _softmax_entry(i, k, scores):
    """The numeric SoftmaxEntry, for lambdify: a row of floats or numpy arrays, its maximum
    subtracted before exp (``i`` only names the row)."""
    stacked = np.stack(np.broadcast_arrays(*scores)).astype(float)
    e = np.exp(stacked - stacked.max(axis=0))
    return e[k - 1] / e.sum(axis=0)


NUMERIC = [{"FirstMax": _first_max, "SoftmaxEntry": _softmax_entry}, "numpy"]
