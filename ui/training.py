"""Training sessions for the network pages, in plain numpy (no streamlit, so the tests drive them
directly): build a model, take one step and see what it changed, train in short time-boxed
chunks (a page redraws between chunks), and the pictures a learner looks at — the decision
boundary, per-layer gradient norms, a confusion matrix, one image's backward pass."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

import numpy as np

import engine
from engine import datasets, nn

BETWEEN = 8  # steps between two calls of a training chunk's ``between`` (a few ms)
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


def confusion(model, X, y, classes: int = 10, pred: np.ndarray | None = None) -> np.ndarray:
    """counts[true, predicted] (``pred``: the model's predictions, when already computed)."""
    pred = np.argmax(model.forward(X), axis=1) if pred is None else pred
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


# ---------------------------------------------------------------- what the norm chart shows

# a fact about the backward pass (true whatever the chart shows), per activation; the chart's
# own story is computed by ``norms_caption``
SLOPE_FACT = {
    "sigmoid": "Each hidden layer multiplies the gradient by diag(σ′) on its way back, and "
    "σ′ ≤ 1/4 (at least 4× smaller), while Wᵀ can scale it up or down.",
    "tanh": "Each hidden layer multiplies the gradient by diag(tanh′) on its way back, and "
    "tanh′ ≤ 1 (it never grows there), while Wᵀ can scale it up or down.",
    "relu": "Each hidden layer multiplies the gradient by diag(ReLU′) on its way back, and "
    "ReLU′ is 0 or 1 (a unit passes its gradient unchanged or not at all), while Wᵀ can scale "
    "it up or down.",
}
# what a small first-layer gradient does to that layer's step, by the optimiser's update rule
STEP_EFFECT = {
    "sgd": "With SGD (ΔW = −α·∂L/∂W) its weights move that many times less per step.",
    "adam": "Adam divides each weight's step by the size of its recent gradients, so its "
    "weights still move by about α per step.",
}
VANISHED = 10.0  # first layer's norm this many times below the last's: called vanishing


def layer_norms(row: dict) -> list[float]:
    """The row's ‖∂L/∂W‖ per layer, layer 1 first (any number of layers)."""
    names = sorted((n for n in row if n.startswith("layer ")), key=lambda n: int(n.split()[1]))
    return [float(row[n]) for n in names]


def _times(a: float, b: float, than: str = " than") -> str:
    """How a compares with b: "35× smaller than", "2.1× larger than", "about the same as"."""
    if a == 0 or b == 0:
        word = "larger" if a > b else ("smaller" if a < b else "the same")
        return word + (than if word != "the same" else than.replace(" than", " as"))
    r = a / b
    if 1 / 1.1 <= r <= 1.1:
        return "about the same" + than.replace(" than", " as")
    return f"{_ratio(1 / r)}× smaller{than}" if r < 1 else f"{_ratio(r)}× larger{than}"


def _ratio(r: float) -> str:
    return f"{r:.1f}" if r < 10 else f"{r:,.0f}"


def _g(v: float) -> str:
    """A norm, two significant digits: 0.034, 2.6, 260, 4.1e-05."""
    if v == 0 or v >= 100:
        return f"{v:,.0f}"
    return f"{v:.2g}" if v >= 0.01 else f"{v:.1e}"


def norms_caption(history: list[dict], activation: str, optimiser: str = "adam") -> str:
    """What the gradient-norm chart shows, computed from the rows it is drawn from: the spread
    at the last recorded step, which way the norm goes layer by layer on the way back, the first
    layer against the last (and against the first recorded step), and the activation's slope
    bound, which is a fact, not a reading of the chart."""
    rows = [r for r in history if layer_norms(r)]
    if not rows:
        return ""
    last, v = rows[-1], layer_norms(rows[-1])
    lo, hi = int(np.argmin(v)), int(np.argmax(v))
    out = [f"At step {last['step']} the norms run from {_g(v[lo])} (layer {lo + 1}) to "]
    out[0] += f"{_g(v[hi])} (layer {hi + 1})"
    if v[lo] == 0:
        out[0] += f"; layer {lo + 1}'s is exactly 0: no gradient reaches its weights at this step."
    else:
        decades = math.log10(v[hi] / v[lo])
        out[0] += ": within one decade." if decades < 1 else f": {decades:.1f} decades apart."
    if len(v) > 1:
        out.append(_way_back(v) + f" Layer 1's norm is {_times(v[0], v[-1])} layer {len(v)}'s")
        first = layer_norms(rows[0])
        out[-1] += "."
        if len(rows) > 1 and first[0] and first[-1]:
            out[-1] += f" At step {rows[0]['step']} it was {_times(first[0], first[-1], '')}."
        if v[0] and v[-1] > VANISHED * v[0]:
            out.append(f"More than {VANISHED:.0f}× smaller: a vanishing gradient.")
            out.append(STEP_EFFECT.get(optimiser, ""))
    out.append(SLOPE_FACT.get(activation, ""))
    return " ".join(filter(None, out))


def _way_back(v: list[float]) -> str:
    """Going back from the last layer to the first, where the norm shrinks and where it grows."""
    shrinks = sum(v[i] < v[i + 1] for i in range(len(v) - 1))
    steps = len(v) - 1
    if shrinks == steps:
        return f"Going back from layer {len(v)} to layer 1, the norm shrinks at every layer."
    if shrinks == 0:
        return f"Going back from layer {len(v)} to layer 1, the norm grows at every layer."
    return (
        f"Going back from layer {len(v)} to layer 1, the norm shrinks {shrinks} time"
        f"{'s' if shrinks > 1 else ''} and grows {steps - shrinks} time"
        f"{'s' if steps - shrinks > 1 else ''}."
    )


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
