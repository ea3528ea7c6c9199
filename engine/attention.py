"""Scaled dot-product attention, forward and backward, as
``torch.nn.functional.scaled_dot_product_attention`` (no dropout, no explicit mask, default scale).

Layouts: q (..., L, d), k (..., S, d), v (..., S, d_v) → O (..., L, d_v); the leading (batch, head)
axes broadcast against each other as numpy's and torch's matmul do.
"""

from __future__ import annotations

import math

import numpy as np

from . import _checks as ck
from .elementwise import _unbroadcast


def _causal(fn: str, causal) -> bool:
    if not isinstance(causal, (bool, np.bool_)):
        ck.fail(fn, "causal", "True or False", repr(causal))
    return bool(causal)


def _scores_within_limit(fn: str, shape: tuple, what="the attention matrix softmax(q kᵀ/√d)"):
    """Refused before anything is allocated (ck.within_limit's advice is about convolutions)."""
    count = math.prod(int(n) for n in shape)
    if count > ck.MAX_ELEMENTS:
        raise ValueError(
            f"{fn}: {what} must have at most {ck.MAX_ELEMENTS} elements (the engine's limit, "
            f"2**28), got {count} (shape {shape}); use shorter sequences or a smaller batch"
        )


def _check(fn: str, q, k, v, causal):
    """(q, k, v) as arrays of one float dtype, checked; causal; the output's shape."""
    q, k, v = ck.as_float(fn, "q", q), ck.as_float(fn, "k", k), ck.as_float(fn, "v", v)
    causal = _causal(fn, causal)
    for name, a, layout in (("q", q, "(..., L, d)"), ("k", k, "(..., S, d)")):
        if a.ndim < 2:
            ck.fail(fn, name, f"at least 2-D {layout}", f"shape {a.shape}")
    if v.ndim < 2:
        ck.fail(fn, "v", "at least 2-D (..., S, d_v)", f"shape {v.shape}")
    d = q.shape[-1]
    if k.shape[-1] != d:
        ck.fail(fn, "k", f"(..., S, {d}): the same d as q {q.shape}", f"shape {k.shape}")
    s = k.shape[-2]
    if v.shape[-2] != s:
        ck.fail(fn, "v", f"(..., {s}, d_v): one row per row of k {k.shape}", f"shape {v.shape}")
    try:
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        ck.fail(
            fn,
            "q, k and v",
            "arrays whose batch axes (all but the last two) broadcast together",
            f"shapes {q.shape}, {k.shape} and {v.shape}",
        )
    _scores_within_limit(fn, (*batch, q.shape[-2], s))
    _scores_within_limit(fn, (*batch, q.shape[-2], v.shape[-1]), "the output P v")
    dt = ck.common_dtype(q, k, v)
    q, k, v = (a.astype(dt, copy=False) for a in (q, k, v))
    return q, k, v, causal, (*batch, q.shape[-2], v.shape[-1])


def _scale(d: int) -> float:
    # with d = 0 every score is an empty sum, 0, whatever the scale (torch then averages v too)
    return 1 / math.sqrt(d) if d else 1.0


def _causal_mask(n_q: int, n_k: int) -> np.ndarray:
    """True where key j is hidden from query i (j > i): torch's top-left aligned mask."""
    return np.arange(n_k) > np.arange(n_q)[:, None]


def _probs(q: np.ndarray, k: np.ndarray, causal: bool, *, normalise: bool = True):
    """P = softmax(q kᵀ/√d) by rows, with the max subtracted first (finite at scores of ±1000);
    causal: key j visible to query i iff j ≤ i, for any L and S. With normalise=False, the
    unnormalised exp(S − max) and its row sums, so that a caller can divide a smaller array."""
    # the 1/√d on q (L×d) rather than on the scores (L×S): one pass over the smaller array
    s = (q * q.dtype.type(_scale(q.shape[-1]))) @ np.swapaxes(k, -1, -2)
    n_q, n_k = s.shape[-2:]
    if n_k == 0:
        # no key at all: O = P v is an empty sum, zeros, as torch gives
        return s if normalise else (s, np.ones((*s.shape[:-1], 1), s.dtype))
    if causal:
        # NOTE: query 0 always sees key 0, so no row is ever wholly masked (S ≥ 1): the row max
        # below is finite and no row divides 0 by 0
        np.copyto(s, -np.inf, where=_causal_mask(n_q, n_k))
    s -= s.max(axis=-1, keepdims=True)
    np.exp(s, out=s)
    total = s.sum(axis=-1, keepdims=True)
    if not normalise:
        return s, total
    s /= total
    return s


def _grads(do, q, k, v, p):
    """(dq, dk, dv) from dO and the forward's P, each summed back over the batch axes its input
    was broadcast along."""
    dv = np.swapaxes(p, -1, -2) @ do  # dV = Pᵀ dO
    dp = do @ np.swapaxes(v, -1, -2)  # dP = dO Vᵀ
    # dS = P ⊙ (dP − rowsum(dP ⊙ P)): the softmax Jacobian diag(p) − p pᵀ applied to each row.
    # Masked entries have p = 0, so their dS is 0: the mask is a constant, nothing flows to it.
    # (einsum's row dot product makes no L×S temporary: 3.5× faster than (dp * p).sum here)
    dp -= np.einsum("...ij,...ij->...i", dp, p)[..., None]
    dp *= p
    scale = dp.dtype.type(_scale(q.shape[-1]))  # S = q kᵀ/√d: on dq and dk, L×d and S×d
    dq = dp @ k  # dQ = dS K/√d
    dq *= scale
    dk = np.swapaxes(dp, -1, -2) @ q  # dK = dSᵀ Q/√d
    dk *= scale
    return _unbroadcast(dq, q.shape), _unbroadcast(dk, k.shape), _unbroadcast(dv, v.shape)


def attention(q, k, v, causal=False):
    r"""$O = \mathrm{softmax}(q k^\top/\sqrt{d})\, v$, the softmax along each row (over the S keys).

    q: (..., L, d), k: (..., S, d), v: (..., S, d_v) → (..., L, d_v), the leading axes
    broadcast. causal: query i sees keys j ≤ i only (torch's top-left aligned
    ``torch.ones(L, S).tril()``, also when L ≠ S). Equal to
    ``F.scaled_dot_product_attention(q, k, v, is_causal=causal)``.
    """
    q, k, v, causal, _ = _check("attention", q, k, v, causal)
    e, total = _probs(q, k, causal, normalise=False)
    out = e @ v
    out /= total  # dividing O (L×d_v) rather than P (L×S): the same rows, a smaller array
    return out


def attention_backward(dy, q, k, v, causal=False):
    r"""$dV = P^\top dO$, $dP = dO\,V^\top$, $dS = P \odot (dP - \mathrm{rowsum}(dP \odot P))$,
    $dQ = dS\,K/\sqrt{d}$, $dK = dS^\top Q/\sqrt{d}$ → (dq, dk, dv), shaped as q, k and v.

    dy: (..., L, d_v), the upstream gradient of the output. P is recomputed from q and k.
    """
    fn = "attention_backward"
    q, k, v, causal, out_shape = _check(fn, q, k, v, causal)
    dy = ck.as_float(fn, "dy", dy)
    ck.shape_eq(fn, "dy", dy, out_shape, "the shape of the output P v")
    p = _probs(q, k, causal)
    return _grads(dy.astype(ck.common_dtype(q, dy), copy=False), q, k, v, p)
