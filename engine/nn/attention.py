"""One head of self-attention as a layer: the projections, ``engine.attention`` and the output
projection, with every weight's gradient."""

from __future__ import annotations

import numpy as np

from ..attention import _causal, _grads, _probs, _scores_within_limit
from .module import Module, _count, _float_dtype, _generator, _shape, _uniform

# torch.nn.MultiheadAttention's order: in_proj_weight stacks q, k, v; then out_proj
_PROJECTIONS = ("q", "k", "v", "out")


class SelfAttention(Module):
    """One head on x: (N, L, E): Q = x·Wq + bq, K = x·Wk + bk, V = x·Wv + bv,
    O = softmax(Q Kᵀ/√E) V (``engine.attention``, causal: position i sees positions ≤ i),
    y = O·Wo + bo: (N, L, E).

    params ``"q.weight"``, ``"q.bias"``, ``"k.weight"``, … ``"out.bias"``; each weight (E, E) is
    (in, out) like ``Linear``'s, the transpose of torch's. Equal, with those weights, to
    ``torch.nn.MultiheadAttention(E, 1, batch_first=True)`` (its ``in_proj_weight`` is
    [Wqᵀ; Wkᵀ; Wvᵀ]) and to four ``torch.nn.Linear(E, E)`` around
    ``F.scaled_dot_product_attention``. Initialised as those four Linear layers are by default:
    every weight and bias U(−1/√E, 1/√E), drawn in the order of the keys above. (MultiheadAttention
    itself starts from Xavier-uniform projections and zero biases.)
    """

    def __init__(self, embed_dim, causal=False, *, rng=None, dtype=np.float64):
        name = "SelfAttention"
        self.embed_dim = _count(name, "embed_dim", embed_dim)
        self.causal = _causal(name, causal)
        super().__init__(_float_dtype(name, dtype))
        gen, e = _generator(name, rng), self.embed_dim
        self.params = {}
        for p in _PROJECTIONS:
            self.params[f"{p}.weight"] = _uniform(gen, e, (e, e), self.dtype)
            self.params[f"{p}.bias"] = _uniform(gen, e, (e,), self.dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self._saved: tuple | None = None  # Q, K, V, P, O of the last forward

    def __repr__(self) -> str:
        causal = ", causal=True" if self.causal else ""
        return f"SelfAttention({self.embed_dim}{causal})"

    def _project(self, x: np.ndarray, p: str) -> np.ndarray:
        return x @ self.params[f"{p}.weight"] + self.params[f"{p}.bias"]

    def forward(self, x):
        """x: (N, L, E) → y: (N, L, E)."""
        e = self.embed_dim
        x = self._input(x, 3, f"(N, L, {e}), one sequence of L vectors per sample")
        if x.shape[2] != e:
            self._fail("x", f"have {e} features in its last axis (N, L, {e})", _shape(x))
        _scores_within_limit(repr(self), (x.shape[0], x.shape[1], x.shape[1]))
        q, k, v = (self._project(x, p) for p in _PROJECTIONS[:3])
        attn = _probs(q, k, self.causal)
        o = attn @ v
        self._saved = (q, k, v, attn, o)
        return self._cache(x, self._project(o, "out"))

    @property
    def attention_weights(self) -> np.ndarray | None:
        """P = softmax(Q Kᵀ/√E) of the last forward, (N, L, L): row i is where position i looks."""
        return None if self._saved is None or self._x is None else self._saved[3]

    def backward(self, dy, *, input_grad=True):
        """dy: (N, L, E) → dx = dQ·Wqᵀ + dK·Wkᵀ + dV·Wvᵀ; sets dWo = Oᵀ·dy, dbo = Σ dy, then from
        dO = dy·Woᵀ: dQ, dK, dV (``engine.attention_backward``) and dW = xᵀ·dQ (…), db = Σ dQ (…),
        the sums running over every sample and position."""
        dy = self._upstream(dy)
        q, k, v, attn, o = self._saved
        x, e = self._x, self.embed_dim
        w = {p: self.params[f"{p}.weight"] for p in _PROJECTIONS}
        dq, dk, dv = _grads(dy @ w["out"].T, q, k, v, attn)
        rows = x.reshape(-1, e).T  # (E, N·L): one matmul per weight covers every position
        grads = {"out.weight": o.reshape(-1, e).T @ dy.reshape(-1, e), "out.bias": dy.sum((0, 1))}
        for p, g in zip(_PROJECTIONS, (dq, dk, dv), strict=False):
            grads[f"{p}.weight"] = rows @ g.reshape(-1, e)
            grads[f"{p}.bias"] = g.sum((0, 1))
        self._set_grads(**grads)  # keys such as "q.weight" are fine as ** names
        if not input_grad:
            return None
        return dq @ w["q"].T + dk @ w["k"].T + dv @ w["v"].T
