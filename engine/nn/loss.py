"""Softmax + cross-entropy as a loss object for whole networks."""

from __future__ import annotations

import numpy as np

from ..dense import _log_softmax
from .module import _FLOATS, _shape


class SoftmaxCrossEntropy:
    """L = (1/N) Σ_i −log softmax(f_i)[y_i]; logits f: (N, K), target y: (N,) ints in [0, K).

    For sequences, logits (N, L, K) (or (N, …, K)) and target (N, L) (or (N, …)): one class per
    position, the classes on the last axis, and L the mean over all N·L positions. As torch's
    ``F.cross_entropy(f.reshape(-1, K), y.reshape(-1))``; torch's own (N, K, L) layout puts the
    classes on axis 1 instead.
    """

    def __init__(self):
        self._p: np.ndarray | None = None  # the last forward's softmax

    def __repr__(self) -> str:
        return "SoftmaxCrossEntropy()"

    def __call__(self, logits, target) -> float:
        return self.forward(logits, target)

    def _fail(self, arg: str, expected: str, given) -> None:
        raise ValueError(f"{self!r}: {arg} must {expected}, got {given}")

    def forward(self, logits, target) -> float:
        """The mean loss over the batch, as a float."""
        f = np.asarray(logits)
        if f.dtype.kind not in "biuf":
            self._fail("logits", "be an array of real numbers", f"dtype {f.dtype}")
        if f.ndim < 2:
            self._fail("logits", "be 2-D (N, num_classes)", _shape(f))
        k, logits_shape = f.shape[-1], f.shape
        if 0 in f.shape[:-1]:
            self._fail("logits", "have at least one row (N, num_classes)", _shape(f))
        t = np.asarray(target)
        if t.dtype.kind not in "iu" and not (t.dtype.kind == "f" and np.all(t == np.round(t))):
            self._fail("target", "be integer class indices", f"dtype {t.dtype} ({t.ravel()[:4]}…)")
        if t.shape != f.shape[:-1]:
            per = "row" if f.ndim == 2 else "position"
            self._fail(
                "target",
                f"be of shape {f.shape[:-1]}, one class per {per} of logits {f.shape}",
                _shape(t),
            )
        if t.min() < 0 or t.max() >= k:
            self._fail(
                "target", f"be class indices in [0, {k})", f"values in [{t.min()}, {t.max()}]"
            )
        f = f if f.dtype in _FLOATS else f.astype(np.float64)
        f = f.reshape(-1, k)  # every position of a sequence is a row of its own
        t = t.astype(np.intp, copy=False).reshape(-1)
        rows = np.arange(len(f))
        logp = _log_softmax(f)
        # p is kept for backward, which cross_entropy_backward would recompute
        self._p, self._target, self._rows = np.exp(logp), t, rows
        self._shape = logits_shape
        return float(-logp[rows, t].mean())

    def backward(self) -> np.ndarray:
        """dlogits: (N, K) = (softmax(f) − onehot(y))/N; for (N, L, K), /(N·L) at every position."""
        if self._p is None:
            raise ValueError(f"{self!r}: backward must come after a forward (nothing is cached)")
        g = self._p.copy()
        g[self._rows, self._target] -= 1
        g /= len(g)
        return g.reshape(self._shape)
