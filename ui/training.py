"""Training sessions for the network pages, in plain numpy (no streamlit, so the tests drive them
directly): build a model, take one step and see what it changed, train in short time-boxed
chunks (a page redraws between chunks), and the pictures a learner looks at — the decision
boundary, per-layer gradient norms, a confusion matrix, one image's backward pass."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

import engine
from engine import datasets, nn

# the norm chart's captions live in ui.norm_story; the pages and tests read them from here
from ui.norm_story import gap, layer_norms, norms_caption  # noqa: F401

BETWEEN = 8  # steps between two calls of a training chunk's ``between`` (a few ms)
ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
OPTIMISERS = ("sgd", "adam")


def make_mlp(
    sizes: tuple[int, ...],
    activation: str,
    seed: int,
    *,
    init: str = "pytorch",
    batch_norm: bool = False,
    residual: bool = False,
) -> nn.Sequential:
    """Dense layers of these sizes (2 inputs first, 2 classes last), ``activation`` after every
    hidden one, every Linear initialised as ``init`` (``nn.INITS``). ``batch_norm``: a
    BatchNorm1d between each hidden Linear and its activation; ``residual``: each hidden block
    (Linear [→ BatchNorm1d] → activation) whose input and output widths match becomes
    x + block(x) (``residual_blocks``)."""
    rng = np.random.default_rng(seed)
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-2], sizes[1:-1], strict=True):
        block: list[nn.Module] = [nn.Linear(n_in, n_out, rng=rng, init=init)]
        block += [nn.BatchNorm1d(n_out)] if batch_norm else []
        block.append(ACTIVATIONS[activation]())
        layers += [nn.Residual(*block)] if residual and n_in == n_out else block
    layers.append(nn.Linear(sizes[-2], sizes[-1], rng=rng, init=init))
    return nn.Sequential(*layers)


def residual_blocks(sizes: tuple[int, ...]) -> list[int]:
    """The hidden layers (from 1) that a residual connection can wrap: width in = width out."""
    return [i + 1 for i, (a, b) in enumerate(zip(sizes[:-2], sizes[1:-1], strict=True)) if a == b]


def modules(model):
    """The model and every module inside it (Sequential and Residual hold ``layers``)."""
    yield model
    for m in getattr(model, "layers", ()):
        yield from modules(m)


@contextmanager
def evaluating(model):
    """The model in eval mode (batch norm with its running statistics, which stay put), every
    module's mode restored after, as engine.train.predict does."""
    found = [(m, m.training) for m in modules(model)]
    model.eval()
    try:
        yield model
    finally:
        for m, mode in found:
            m.training = mode


@contextmanager
def statistics_kept(model):
    """Training-mode forwards that are not training steps (a look at the gradient, a finite
    difference): batch norm's running statistics are put back after."""
    norms = [m for m in modules(model) if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d)]
    kept = [(m.running_mean.copy(), m.running_var.copy(), m.num_batches_tracked) for m in norms]
    try:
        yield model
    finally:
        for m, (mean, var, count) in zip(norms, kept, strict=True):
            m.running_mean[...], m.running_var[...], m.num_batches_tracked = mean, var, count


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
    # the gradient norms from step 0, before any update (the MLP page's chart; the CNN's has none)
    norms_from_start: bool = False
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
                # at step 0 no step has set the grads: zeros drew an empty log chart
                **(grad_norms(self.model) if self.steps else self.initial_norms()),
            }
            self.history.append(row)
            return row

    def initial_norms(self) -> dict[str, float]:
        """Each layer's ‖∂L/∂W‖ before any update (when ``norms_from_start``): one forward and
        backward over the whole training set in training mode, as a step's but taking no step;
        batch norm's running statistics are put back."""
        if not self.norms_from_start:
            return {}
        with self.lock, statistics_kept(self.model):
            self.model.train()
            self.loss_fn.forward(self.model.forward(self.X), self.y)
            self.model.backward(self.loss_fn.backward(), input_grad=False)
            return grad_norms(self.model)

    def evaluate(self) -> dict:
        """Loss and accuracy on the training and test sets, in eval mode: batch norm uses its
        running statistics, as a trained network predicts (and evaluating moves nothing)."""
        out = {}
        for name, X, y in (("train", self.X, self.y), ("test", self.Xt, self.yt)):
            with self.lock, evaluating(self.model):
                logits = self.model.forward(X)
            out[f"{name} loss"] = nn.SoftmaxCrossEntropy().forward(logits, y)
            out[f"{name} accuracy"] = float(np.mean(np.argmax(logits, axis=1) == y))
        return out

    def train_for(
        self,
        seconds: float,
        *,
        until_epoch: float | None = None,
        until_step=None,
        every=10,
        between=None,
    ):
        """Steps for about ``seconds`` (or until ``until_epoch`` / ``until_step``), recording
        every ``every`` steps and calling ``between()`` every ``BETWEEN``: a page calls this once
        per redraw, so no call runs long, and ``between`` (a progress bar's update) is where a
        click on Stop can break in."""
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            if until_epoch is not None and self.epochs >= until_epoch - 1e-9:
                break
            if until_step is not None and self.steps >= until_step:
                break
            self.step()
            if self.steps % every == 0:
                self.record()
            if between is not None and self.steps % BETWEEN == 0:
                between()


def grad_norms(model: nn.Sequential) -> dict[str, float]:
    """‖∂L/∂W‖ of every Linear and Conv2d layer (inside residual blocks too), named by its
    position among them: 'layer 1', … (batch norm's γ is not a layer's W)."""
    weighted = [m for m in modules(model) if isinstance(m, nn.Linear | nn.Conv2d)]
    return {
        f"layer {i + 1}": float(np.linalg.norm(m.grads["weight"])) for i, m in enumerate(weighted)
    }


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
    """P(class 1) on a grid covering the data with a margin: (xs, ys, probabilities), in eval
    mode (the grid is no batch whose statistics batch norm should use)."""
    lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    xs, ys = np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    with evaluating(model):
        logits = model.forward(grid)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return xs, ys, p[:, 1].reshape(resolution, resolution)


def confusion(model, X, y, classes: int = 10, pred: np.ndarray | None = None) -> np.ndarray:
    """counts[true, predicted] (``pred``: the model's predictions, when already computed; else
    in eval mode)."""
    if pred is None:
        with evaluating(model):
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


def folded(model: nn.Sequential) -> nn.Sequential:
    """The digits CNN as one image meets it after training, without its batch norm: in eval
    mode a BatchNorm2d after the conv is y = γ(z − μ̂)/√(σ̂² + ε) + β per channel, an affine map
    that folds into the conv, K′ = s·K and b′ = s·(b − μ̂) + β with s = γ/√(σ̂² + ε). Without a
    batch norm, the model itself."""
    if not any(isinstance(m, nn.BatchNorm2d) for m in model.layers):
        return model
    conv, bn, *rest = model.layers
    s = bn.params["weight"] / np.sqrt(bn.running_var + bn.eps)
    out = nn.Conv2d(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        dtype=conv.dtype,
    )
    out.params["weight"][...] = conv.params["weight"] * s[:, None, None, None]
    out.params["bias"][...] = s * (conv.params["bias"] - bn.running_mean) + bn.params["bias"]
    return nn.Sequential(out, *rest)


def image_backward(model: nn.Sequential, x: np.ndarray, label: int) -> dict[str, np.ndarray]:
    """One image's trip through the digits CNN, forward then backward, layer by layer: every
    array a learner looks at, one letter per thing — Z the conv output, R = ReLU(Z), M the
    max-pooled map (note 003's P), v = flatten(M), f the class scores, p = softmax(f) — and
    their gradients ∂L/∂… ("dZ" …). ``dX_parts[c]`` is channel c's share of ∂L/∂X, which sums
    them over the channels."""
    conv, relu, pool, flat, dense = model.layers
    out = {"X": x[0]}
    z = conv.forward(x[None])
    r = relu.forward(z)
    m = pool.forward(r)
    v = flat.forward(m)
    f = dense.forward(v)
    loss_fn = nn.SoftmaxCrossEntropy()
    out["loss"] = np.array(loss_fn.forward(f, np.array([label])))
    out.update(Z=z[0], R=r[0], M=m[0], v=v[0], f=f[0], p=loss_fn._p[0])
    out["df"] = loss_fn.backward()[0]
    dv = dense.backward(out["df"][None])
    out["dW"] = dense.grads["weight"].copy()
    out["dM"] = flat.backward(dv)[0]
    out["dR"] = pool.backward(out["dM"][None])[0]
    out["winners"] = pool.backward(np.ones_like(m))[0] > 0  # the cell each window routed to
    out["mask"] = z[0] > 0
    out["dZ"] = relu.backward(out["dR"][None])[0]
    out["dX"] = conv.backward(out["dZ"][None])[0, 0]
    out["dK"] = conv.grads["weight"].copy()
    out["db"] = conv.grads["bias"].copy()
    out["dX_parts"] = _channel_shares(conv, x, out["dZ"])
    return out


def _channel_shares(conv, x: np.ndarray, dz: np.ndarray) -> np.ndarray:
    """∂L/∂X as it comes back through each channel alone: (C, H, W), summing to ∂L/∂X."""
    w, pad = conv.params["weight"], conv.padding
    parts = [
        engine.conv2d_backward(dz[None, c : c + 1], x[None], w[c : c + 1], padding=pad)[0][0, 0]
        for c in range(w.shape[0])
    ]
    return np.stack(parts)


def sampled_gradcheck(model, X, y, *, per_array: int = 3, seed: int = 0, eps: float = 1e-6):
    """The engine's gradient against central finite differences of the loss at a few random
    entries of every parameter array: rows of (array, index, engine, finite difference)."""
    loss_fn = nn.SoftmaxCrossEntropy()

    def loss() -> float:
        return loss_fn.forward(model.forward(X), y)

    with statistics_kept(model):  # each forward would move batch norm's running statistics
        return _gradcheck(model, loss, loss_fn, per_array, seed, eps)


def _gradcheck(model, loss, loss_fn, per_array: int, seed: int, eps: float) -> list[tuple]:
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


def conv_pads(ksize: int, padding: int) -> tuple[int, int, int]:
    """The digits CNN's conv backward in the notes' terms (stride 1): ∂L/∂K = pad_a(X) ⊛ ∂L/∂Z
    and ∂L/∂X = crop_c(pad_b(∂L/∂Z) ⊛ rot180(K)); returns (a, b, c) = (padding, k − 1,
    padding), the amounts of zeros around (and rows and columns cut off) on every side."""
    return padding, ksize - 1, padding


def conv_backward_tex(ksize: int, padding: int, channels: int) -> str:
    """The two formulas as the page writes them, with this network's padding in them (the
    notes' X ⊛ ∂L/∂Z holds only without padding)."""
    a, b, c = conv_pads(ksize, padding)
    dz = r"\frac{\partial L}{\partial Z_c}"
    x = rf"\mathrm{{pad}}_{{{a},{a}}}(X)" if a else "X"
    inner = rf"\mathrm{{pad}}_{{{b},{b}}}\left({dz}\right)" if b else dz
    inner += r" \circledast \mathrm{rot180}(K_c)"
    if c:
        inner = rf"\mathrm{{crop}}_{{{c},{c}}}\left({inner}\right)"
    total = rf"\sum_{{c=1}}^{{{channels}}} " if channels > 1 else ""
    return (
        rf"\frac{{\partial L}}{{\partial K_c}} = {x} \circledast {dz}, \qquad "
        rf"\frac{{\partial L}}{{\partial X}} = {total}{inner}"
    )


@dataclass
class Pace:
    """One press of Train: when it began, from where (a step or an epoch count) and to where,
    so the page says how long training takes by measuring it, not by a guess."""

    start: float  # the step (or epoch) it began at
    goal: float
    unit: str = "step"
    t0: float = field(default_factory=time.perf_counter)
    t_end: float | None = None

    def left_text(self, at: float, now: float | None = None) -> str:
        """'3.2 s so far, about 8 s to go at this pace' (no estimate before the first step)."""
        elapsed = (time.perf_counter() if now is None else now) - self.t0
        done, left = at - self.start, self.goal - at
        text = f"{elapsed:.1f} s so far"
        if done > 0 and left > 0:
            text += f", about {elapsed / done * left:.0f} s to go at this pace"
        return text

    def finish(self) -> None:
        self.t_end = self.t_end or time.perf_counter()

    def summary(self, at: float) -> str:
        """'1,500 steps in 12.4 s': what the last Train took, measured."""
        elapsed = (self.t_end or time.perf_counter()) - self.t0
        done = at - self.start
        what = f"{done:,.0f} {self.unit}{'' if round(done) == 1 else 's'}"
        if self.unit == "epoch":
            what = f"{done:.1f} epochs"
        return f"{what} in {elapsed:.1f} s"
