"""Softmax + cross-entropy as a loss object for whole networks."""

from __future__ import annotations

import numpy as np

from ..dense import _log_softmax
from .module import _FLOATS, _shape


class SoftmaxCrossEntropy:
    """L = (1/N) Σ_i −log softmax(f_i)[y_i]; logits f: (N, K), target y: (N,) ints in [0, K)."""

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
        if f.ndim != 2:
            self._fail("logits", "be 2-D (N, num_classes)", _shape(f))
        n, k = f.shape
        if n == 0:
            self._fail("logits", "have at least one row (N, num_classes)", _shape(f))
        t = np.asarray(target)
        if t.dtype.kind not in "iu" and not (t.dtype.kind == "f" and np.all(t == np.round(t))):
            self._fail("target", "be integer class indices", f"dtype {t.dtype} ({t.ravel()[:4]}…)")
        if t.shape != (n,):
            self._fail(
                "target", f"be of shape ({n},), one class per row of logits {f.shape}", _shape(t)
            )
        if t.min() < 0 or t.max() >= k:
            self._fail(
                "target", f"be class indices in [0, {k})", f"values in [{t.min()}, {t.max()}]"
            )
        f = f if f.dtype in _FLOATS else f.astype(np.float64)
        t = t.astype(np.intp, copy=False)
        rows = np.arange(n)
        logp = _log_softmax(f)
        # p is kept for backward, which cross_entropy_backward would recompute
        self._p, self._target, self._rows = np.exp(logp), t, rows
        return float(-logp[rows, t].mean())

    def backward(self) -> np.ndarray:
        """dlogits: (N, K) = (softmax(f) − onehot(y))/N."""
        if self._p is None:
            raise ValueError(f"{self!r}: backward must come after a forward (nothing is cached)")
        g = self._p.copy()
        g[self._rows, self._target] -= 1
        g /= len(g)
        return g
