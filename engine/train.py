"""The training loop the app's network pages and bench/nn.py share: minibatch epochs, predictions
and accuracy, for an engine.nn model, loss and optimiser."""

from __future__ import annotations

import numpy as np

from .nn import BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential


def _check_xy(fn: str, X, y=None) -> None:
    if np.ndim(X) < 1 or len(X) == 0:
        raise ValueError(f"{fn}: X must hold at least one sample (N, …), got shape {np.shape(X)}")
    # y (N, L) labels each position of a sequence (a model whose output is (N, L, K))
    if y is not None and np.shape(y)[:1] != (len(X),):
        raise ValueError(
            f"{fn}: y must be of shape ({len(X)},), one label per sample of X {np.shape(X)} "
            f"(or ({len(X)}, L), one per position), got shape {np.shape(y)}"
        )


def _batch_size(fn: str, batch_size) -> int:
    ok = isinstance(batch_size, (int, np.integer)) and not isinstance(batch_size, bool)
    if not ok or batch_size < 1:
        raise ValueError(f"{fn}: batch_size must be an int >= 1, got {batch_size!r}")
    return int(batch_size)


def train_epoch(model, loss_fn, optimiser, X, y, batch_size, rng) -> float:
    """One pass over (X, y) in shuffled minibatches: forward, loss, backward, optimiser step.

    X: (N, …) samples, y: (N,) labels (or (N, L) for a sequence model); rng: a numpy Generator (or a seed, which repeats the same
    order every epoch). Returns the mean loss over the N samples (a short last batch weighs less).
    The model is put in training mode (batch norm learns from each batch's statistics) and left
    in it.
    """
    fn = "train_epoch"
    _check_xy(fn, X, y)
    bs = _batch_size(fn, batch_size)
    model.train()
    order = np.random.default_rng(rng).permutation(len(X))
    total = 0.0
    for start in range(0, len(X), bs):
        idx = order[start : start + bs]
        loss = loss_fn.forward(model.forward(X[idx]), y[idx])
        model.backward(loss_fn.backward(), input_grad=False)  # no gradient for the data
        optimiser.step()
        total += loss * len(idx)
    return total / len(X)


def predict(model, X, batch_size=256) -> np.ndarray:
    """The arg-max class of the model's output for each sample: (N,) int64 (for an output
    (N, L, K), each position's: (N, L)). Computed in eval mode, so batch norm uses its running
    statistics (a sample's class does not depend on the rest of its batch, nor does predicting
    move the statistics); every module's mode is then restored as it was."""
    fn = "predict"
    _check_xy(fn, X)
    bs = _batch_size(fn, batch_size)
    found = [(m, m.training) for m in _modules(model)]  # each one's: they may differ
    model.eval()
    try:
        out = [model.forward(X[i : i + bs]).argmax(axis=-1) for i in range(0, len(X), bs)]
    finally:
        for m, mode in found:
            m.training = mode
    return np.concatenate(out).astype(np.int64)


def _modules(model):
    """The model and every module inside it (Sequential and Residual hold ``layers``)."""
    yield model
    for m in getattr(model, "layers", ()):
        yield from _modules(m)


def accuracy(model, X, y, batch_size=256) -> float:
    """The fraction of samples whose predicted class equals y, in [0, 1] (of positions, for
    y (N, L)); in eval mode, as predict."""
    _check_xy("accuracy", X, y)
    return float(np.mean(predict(model, X, batch_size) == np.asarray(y)))


# The digits CNN page's defaults: ≥ 97 % test accuracy on the 20 % split in well under 5 s of
# training on the project's machine (see bench/nn.py)
DIGITS_CNN_DEFAULTS = {
    "channels": 8,
    "kernel_size": 3,
    "padding": 1,
    "pool": 2,
    "batch_size": 32,
    "optimiser": "adam",
    "lr": 0.01,
    "epochs": 20,
}


def digits_cnn(
    channels=8, kernel_size=3, padding=1, pool=2, *, rng=None, dtype=np.float64, batch_norm=False
):
    """conv (1 → channels, k×k, padding) [→ BatchNorm2d] → ReLU → max pool → flatten → dense →
    10 logits, for x: (N, 1, 8, 8); the batch norm only if ``batch_norm``."""
    side = (8 + 2 * padding - kernel_size + 1) // pool
    if side < 1:
        raise ValueError(
            f"digits_cnn: kernel_size={kernel_size}, padding={padding} and pool={pool} must leave "
            f"at least one pixel of the 8×8 image, got {side}"
        )
    rng = np.random.default_rng(rng)
    conv = Conv2d(1, channels, kernel_size, padding=padding, rng=rng, dtype=dtype)
    norm = [BatchNorm2d(channels, dtype=dtype)] if batch_norm else []
    return Sequential(
        conv,
        *norm,
        ReLU(),
        MaxPool2d(pool),
        Flatten(),
        Linear(channels * side * side, 10, rng=rng, dtype=dtype),
    )
