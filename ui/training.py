"""Training sessions for the network pages, in plain numpy (no streamlit, so the tests drive them
directly): build a model, take one step and see what it changed, train in short time-boxed
chunks (a page redraws between chunks), and the pictures a learner looks at — the decision
boundary, per-layer gradient norms, a confusion matrix, one image's backward pass."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from engine import datasets, nn

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
OPTIMISERS = ("sgd", "adam")


def make_mlp(sizes: tuple[int, ...], activation: str, seed: int) -> nn.Sequential:
    """Dense layers of these sizes (2 inputs first, 2 classes last), ``activation`` after every
    hidden one."""
    rng = np.random.default_rng(seed)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False)):
        layers.append(nn.Linear(a, b, rng=rng))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def make_optimiser(model, name: str, lr: float):
    if name == "adam":
        return nn.Adam(model, lr=lr)
    return nn.SGD(model, lr=lr)


def retune(run, optimiser: str, lr: float, batch: int) -> None:
    """The sidebar's optimiser, α and batch size, in place: the trained weights stay (a new
    optimiser starts its own state, as switching in PyTorch would)."""
    if optimiser != ("adam" if isinstance(run.optimiser, nn.Adam) else "sgd"):
        run.optimiser = make_optimiser(run.model, optimiser, lr)
    run.optimiser.lr, run.batch = lr, batch


@dataclass
class Run:
    """One model being trained on (X, y), tested on (Xt, yt), in minibatches of ``batch``."""

    model: nn.Sequential
    optimiser: object
    X: np.ndarray
    y: np.ndarray
    Xt: np.ndarray
    yt: np.ndarray
    batch: int
    seed: int = 0
    steps: int = 0
    epochs: float = 0.0
    history: list[dict] = field(default_factory=list)
    loss_fn: nn.SoftmaxCrossEntropy = field(default_factory=nn.SoftmaxCrossEntropy)
    _order: np.ndarray | None = None
    _pos: int = 0
    # Streamlit can start a page's next run (a click) while the last one still trains in its
    # thread: a forward of one batch then met the backward of another ("dy must be of shape
    # (40, 2), got (32, 2)"). Whatever uses the model holds this; reentrant, as steps record.
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    def __post_init__(self):
        self._rng = np.random.default_rng(self.seed)

    def _next_batch(self) -> np.ndarray:
        if self._order is None or self._pos >= len(self.X):
            self._order, self._pos = self._rng.permutation(len(self.X)), 0
        idx = self._order[self._pos : self._pos + self.batch]
        self._pos += len(idx)
        self.epochs += len(idx) / len(self.X)
        return idx

    def step(self) -> float:
        """One minibatch: forward, loss, backward, optimiser step. Returns the batch loss."""
        with self.lock:
            idx = self._next_batch()
            loss = self.loss_fn.forward(self.model.forward(self.X[idx]), self.y[idx])
            self.model.backward(self.loss_fn.backward(), input_grad=False)
            self.optimiser.step()
            self.steps += 1
            return loss

    def record(self) -> dict:
        """Loss and accuracy on both sets, and each layer's gradient norm, now."""
        with self.lock:
            row = {
                "step": self.steps,
                "epoch": self.epochs,
                **self.evaluate(),
                # none before the first step: zeros drew an empty log chart
                **(grad_norms(self.model) if self.steps else {}),
            }
            self.history.append(row)
            return row

    def evaluate(self) -> dict:
        out = {}
        for name, X, y in (("train", self.X, self.y), ("test", self.Xt, self.yt)):
            with self.lock:
                logits = self.model.forward(X)
            out[f"{name} loss"] = nn.SoftmaxCrossEntropy().forward(logits, y)
            out[f"{name} accuracy"] = float(np.mean(np.argmax(logits, axis=1) == y))
        return out

    def train_for(
        self, seconds: float, *, until_epoch: float | None = None, until_step=None, every=10
    ):
        """Steps for about ``seconds`` (or until ``until_epoch`` / ``until_step``), recording
        every ``every`` steps: a page calls this once per redraw, so no call runs long."""
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            if until_epoch is not None and self.epochs >= until_epoch - 1e-9:
                break
            if until_step is not None and self.steps >= until_step:
                break
            self.step()
            if self.steps % every == 0:
                self.record()


def grad_norms(model: nn.Sequential) -> dict[str, float]:
    """‖∂L/∂W‖ of every layer with weights, named by its position among them: 'layer 1', …"""
    out, k = {}, 0
    for m in model.layers:
        if "weight" in m.grads:
            k += 1
            out[f"layer {k}"] = float(np.linalg.norm(m.grads["weight"]))
    return out


def snapshot(model: nn.Sequential) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in model.params.items()}


def one_step(run: Run) -> list[dict]:
    """Take one step and report, per weight array: its value before, its gradient, the change."""
    with run.lock:
        before = snapshot(run.model)
        run.step()
        grads = {k: v.copy() for k, v in run.model.grads.items()}
        return [
            {"name": k, "before": before[k], "grad": grads[k], "change": v - before[k]}
            for k, v in run.model.params.items()
        ]


def decision_grid(model, X: np.ndarray, resolution: int = 60):
    """P(class 1) on a grid covering the data with a margin: (xs, ys, probabilities)."""
    lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    xs, ys = np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    logits = model.forward(grid)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return xs, ys, p[:, 1].reshape(resolution, resolution)


def confusion(model, X, y, classes: int = 10) -> np.ndarray:
    """counts[true, predicted]."""
    pred = np.argmax(model.forward(X), axis=1)
    out = np.zeros((classes, classes), dtype=int)
    np.add.at(out, (y, pred), 1)
    return out


def digits_split(seed: int = 0):
    """The digits as (N, 1, 8, 8) images, split 80/20: (X, y, Xt, yt)."""
    images, labels = datasets.load_digits()
    train, test = datasets.train_test_split(len(labels), 0.2, seed)
    x = images[:, None]
    return x[train], labels[train], x[test], labels[test]


def image_backward(model: nn.Sequential, x: np.ndarray, label: int) -> dict[str, np.ndarray]:
    """One image's trip through the digits CNN, forward then backward, layer by layer: every
    array a learner looks at, in the names the notes use (Z, R, P, logits; ∂L/∂…)."""
    conv, relu, pool, flat, dense = model.layers
    out = {"X": x[0]}
    z = conv.forward(x[None])
    r = relu.forward(z)
    p = pool.forward(r)
    logits = dense.forward(flat.forward(p))
    loss_fn = nn.SoftmaxCrossEntropy()
    out["loss"] = np.array(loss_fn.forward(logits, np.array([label])))
    out.update(Z=z[0], R=r[0], P=p[0], logits=logits[0], p=loss_fn._p[0])
    out["dlogits"] = loss_fn.backward()[0]
    dflat = dense.backward(out["dlogits"][None])
    out["dW"] = dense.grads["weight"].copy()
    out["dP"] = flat.backward(dflat)[0]
    out["dR"] = pool.backward(out["dP"][None])[0]
    out["winners"] = pool.backward(np.ones_like(p))[0] > 0  # the cell each window routed to
    out["mask"] = z[0] > 0
    out["dZ"] = relu.backward(out["dR"][None])[0]
    out["dX"] = conv.backward(out["dZ"][None])[0, 0]
    out["dK"] = conv.grads["weight"].copy()
    out["db"] = conv.grads["bias"].copy()
    return out


def sampled_gradcheck(model, X, y, *, per_array: int = 3, seed: int = 0, eps: float = 1e-6):
    """The engine's gradient against central finite differences of the loss at a few random
    entries of every parameter array: rows of (array, index, engine, finite difference)."""
    loss_fn = nn.SoftmaxCrossEntropy()

    def loss() -> float:
        return loss_fn.forward(model.forward(X), y)

    loss()
    model.backward(loss_fn.backward(), input_grad=False)
    grads = {k: v.copy() for k, v in model.grads.items()}
    rng, rows = np.random.default_rng(seed), []
    for name, w in model.params.items():
        for flat in rng.choice(w.size, size=min(per_array, w.size), replace=False):
            idx = np.unravel_index(flat, w.shape)
            keep = w[idx]
            w[idx] = keep + eps
            up = loss()
            w[idx] = keep - eps
            down = loss()
            w[idx] = keep
            rows.append(
                (name, tuple(int(i) for i in idx), grads[name][idx], (up - down) / (2 * eps))
            )
    return rows
