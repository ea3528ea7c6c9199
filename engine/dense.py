"""Dense (linear) layer, softmax and cross-entropy, in the notes' one-sample-per-row layout."""

from __future__ import annotations

import numpy as np

from . import _checks as ck


def _linear_check(fn, x, w):
    ck.ndim(fn, "x", x, 2, "(N, in_features), one sample per row")
    ck.ndim(fn, "w", w, 2, "(in_features, out_features)")
    if x.shape[1] != w.shape[0]:
        ck.fail(
            fn,
            "w",
            f"of shape ({x.shape[1]}, out_features) to match x {x.shape}",
            f"shape {w.shape}",
        )


def linear(x, w, b=None):
    r"""$Z = XW + b$; x: (N, in), w: (in, out), b: (out,). Note: w is (in, out) as in the notes,
    the transpose of torch.nn.Linear's weight."""
    fn = "linear"
    x, w = ck.as_float(fn, "x", x), ck.as_float(fn, "w", w)
    _linear_check(fn, x, w)
    z = x @ w
    if b is not None:
        b = ck.as_float(fn, "b", b)
        ck.shape_eq(fn, "b", b, (w.shape[1],), "one bias per output feature")
        z = z + b
    return z


def linear_backward(dz, x, w):
    r"""$dX = dZ\,W^\top$ (N×in), $dW = X^\top dZ$ (in×out), $db = \mathbf{1}^\top dZ$ (out)."""
    fn = "linear_backward"
    x, w, dz = ck.as_float(fn, "x", x), ck.as_float(fn, "w", w), ck.as_float(fn, "dz", dz)
    _linear_check(fn, x, w)
    ck.shape_eq(fn, "dz", dz, (x.shape[0], w.shape[1]), "the shape of Z = XW")
    return dz @ w.T, x.T @ dz, dz.sum(axis=0)


def _softmax(fn, f, axis):
    f = ck.as_float(fn, "f", f)
    if f.ndim == 0:
        ck.fail(fn, "f", "at least 1-D", "a scalar")
    axis = ck.axis(fn, "axis", axis, f.ndim)
    e = np.exp(f - f.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True), axis


def softmax(f, axis=-1):
    r"""$p_k = e^{f_k} / \sum_j e^{f_j}$; the max is subtracted first, so ±1000 cannot overflow."""
    return _softmax("softmax", f, axis)[0]


def softmax_backward(dy, f, axis=-1):
    r"""$df = p \odot (dy - \langle dy, p \rangle)$, the softmax Jacobian applied to dy."""
    fn = "softmax_backward"
    p, axis = _softmax(fn, f, axis)
    dy = ck.as_float(fn, "dy", dy)
    ck.shape_eq(fn, "dy", dy, p.shape, "the shape of f")
    return p * (dy - (dy * p).sum(axis=axis, keepdims=True))


def _ce_check(fn, logits, target):
    logits = ck.as_float(fn, "logits", logits)
    ck.ndim(fn, "logits", logits, 2, "(N, num_classes)")
    try:
        t = np.asarray(target)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{fn}: target must be integer class indices ({exc})") from None
    if t.dtype.kind not in "iu" and not (t.dtype.kind == "f" and np.all(t == np.round(t))):
        ck.fail(fn, "target", "integer class indices", f"dtype {t.dtype}")
    ck.shape_eq(fn, "target", t, (logits.shape[0],), "one class index per row of logits")
    n_cls = logits.shape[1]
    if t.size and (t.min() < 0 or t.max() >= n_cls):
        ck.fail(fn, "target", f"class indices in [0, {n_cls})", f"values in [{t.min()}, {t.max()}]")
    return logits, t.astype(np.intp)


def _log_softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def cross_entropy(logits, target):
    r"""$L = \frac{1}{N}\sum_i -\log p_{i,y_i}$ (mean over the batch, as PyTorch's default)."""
    logits, t = _ce_check("cross_entropy", logits, target)
    logp = _log_softmax(logits)
    return -logp[np.arange(len(t)), t].mean()


def cross_entropy_backward(logits, target, dloss=1.0):
    r"""$\partial L/\partial f_{ik} = (p_{ik} - [k = y_i]) / N$: p_k − 1 for the target class and
    +p_k for every other class (note 003 loses that sign)."""
    fn = "cross_entropy_backward"
    logits, t = _ce_check(fn, logits, target)
    dloss = ck.real(fn, "dloss", dloss)  # the loss is a scalar, so its upstream is one number
    g = np.exp(_log_softmax(logits))
    g[np.arange(len(t)), t] -= 1
    return g * (g.dtype.type(dloss) / len(t))
