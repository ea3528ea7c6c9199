"""The "Attention, trained" page's model and data, in plain numpy (no streamlit, so the tests
and bench/attention_train.py drive them directly): a task on short token sequences (reverse or
sort), a tiny model — token embedding + learned positions → one head of self-attention → a
linear read-out per position — trained with Adam by ``ui.training.Run``, scored per token and
per whole sequence on held-out sequences, and one example's backward pass through the attention
layer written as the lesson's formulas and checked against the engine."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

import numpy as np

import engine
from derivations.param_kinds import CHOICE, INT, Param
from engine import nn
from ui import training
from ui.urlstate import decode_value

TASKS = {"reverse": "Reverse", "sort": "Sort (ascending)"}
N_TEST = 500  # held-out sequences, none of them among the training ones
# a Train's steps are spread over about this many redraws: enough to watch P form, few enough
# that the defaults' ~250 steps to 95 % show within 20 s on a busy 2-core machine (a redraw
# took 3 s there at a load average of 15, where the 250 steps themselves took 2 s)
TICKS_PER_TRAIN = 10
SCORE_EVERY = 10  # steps between scorings on the page (N_SCORED + N_TEST sequences each)
# the training sequences scored at each record: the first this many (the same ones every time),
# so that scoring costs a few steps' time whatever the training set's size
N_SCORED = 500
# The page's defaults: ≥ 95 % of held-out reversals right, every token, within 20 s of training
# (bench/attention_train.py measures it; tests/test_attention_trained.py asserts the accuracy)
DEFAULTS = {
    "task": "reverse",
    "length": 6,
    "vocab": 10,
    "dim": 16,
    "n_train": 2000,
    "lr": 0.001,
    "batch": 32,
    "seed": 0,
}


def targets(task: str, x: np.ndarray) -> np.ndarray:
    """What the model must output at every position: x reversed, or x sorted ascending."""
    if task == "reverse":
        return x[:, ::-1].copy()
    if task == "sort":
        return np.sort(x, axis=1)
    raise ValueError(f"targets: task must be one of {sorted(TASKS)}, got {task!r}")


def check_sizes(length: int, vocab: int, n_train: int, n_test: int = N_TEST) -> None:
    """Refuses a training set that cannot be drawn: there are only vocab**length different
    sequences, and the held-out ones must be none of the training ones."""
    total = vocab**length
    if n_train + n_test > total:
        raise ValueError(
            f"There are only {vocab}^{length} = {total:,} different sequences of {length} "
            f"tokens from {vocab}, and {n_test} are held out for testing, so at most "
            f"{max(total - n_test, 0):,} can be training sequences (asked for {n_train:,}): "
            "lower the training sequences, or raise the length or the vocabulary."
        )


def make_task(task: str, length: int, vocab: int, n_train: int, seed: int, n_test=N_TEST):
    """(X, Y, Xt, Yt): n_train training sequences and n_test held-out ones of ``length`` token
    ids in [0, vocab), all different (so a held-out sequence was never seen), with their
    targets. X: (n_train, length) ints."""
    check_sizes(length, vocab, n_train, n_test)
    rng = np.random.default_rng(seed)
    codes = rng.choice(vocab**length, n_train + n_test, replace=False)
    digits = (codes[:, None] // vocab ** np.arange(length - 1, -1, -1)) % vocab
    x = digits.astype(np.int64)
    return x[:n_train], targets(task, x[:n_train]), x[n_train:], targets(task, x[n_train:])


def make_model(vocab: int, length: int, dim: int, seed: int) -> nn.Sequential:
    """Embedding(vocab, dim) → PositionalEmbedding(length, dim) → SelfAttention(dim) →
    Linear(dim, vocab): (N, length) ids → (N, length, vocab) scores."""
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Embedding(vocab, dim, rng=rng),
        nn.PositionalEmbedding(length, dim, rng=rng),
        nn.SelfAttention(dim, rng=rng),
        nn.Linear(dim, vocab, rng=rng),
    )


def scores(model: nn.Sequential, X: np.ndarray, Y: np.ndarray) -> dict[str, float]:
    """Loss, the fraction of tokens right, and of whole sequences right (every token)."""
    logits = model.forward(X)
    pred = logits.argmax(axis=-1)
    right = pred == Y
    return {
        "loss": nn.SoftmaxCrossEntropy().forward(logits, Y),
        "token accuracy": float(right.mean()),
        "sequence accuracy": float(right.all(axis=1).mean()),
    }


class SeqRun(training.Run):
    """``training.Run`` on sequences: the same steps, Adam and lock; scored per token and per
    sequence (Run's own scores take one class per sample). "train" is scored on the first
    ``N_SCORED`` training sequences, "test" on every held-out one."""

    def __post_init__(self):
        super().__post_init__()
        self.seconds = 0.0  # wall time spent in training steps (not in scoring or drawing)

    def step(self) -> float:
        t0 = time.perf_counter()
        loss = super().step()
        self.seconds += time.perf_counter() - t0
        return loss

    def record(self) -> dict:
        row = super().record()
        row["seconds"] = self.seconds  # the row is the one kept in history
        return row

    def reached(self, goal: float, what: str = "test sequence accuracy") -> dict | None:
        """The first recorded row where ``what`` is at least ``goal``, or None."""
        return next((r for r in self.history if r.get(what, 0) >= goal), None)

    def evaluate(self) -> dict:
        out = {}
        train = (self.X[:N_SCORED], self.y[:N_SCORED])
        for name, X, Y in (("train", *train), ("test", self.Xt, self.yt)):
            with self.lock:
                for what, v in scores(self.model, X, Y).items():
                    out[f"{name} {what}"] = v
        return out


def new_run(cfg: dict) -> SeqRun:
    X, Y, Xt, Yt = make_task(cfg["task"], cfg["length"], cfg["vocab"], cfg["n_train"], cfg["seed"])
    model = make_model(cfg["vocab"], cfg["length"], cfg["dim"], cfg["seed"])
    run = SeqRun(model, nn.Adam(model, lr=cfg["lr"]), X, Y, Xt, Yt, cfg["batch"], cfg["seed"])
    run.record()
    return run


def attention_map(model: nn.Sequential, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P (L×L) of one sequence x (L,) — row i: how much output position i takes from each input
    position — and the model's prediction (L,)."""
    logits = model.forward(np.asarray(x)[None])
    return model.layers[2].attention_weights[0].copy(), logits[0].argmax(axis=-1)


def right_cells(task: str, x: np.ndarray) -> list[tuple[int, int]]:
    """The cells (i, j) of P where output position i should look: reverse, the permutation
    j = L−1−i; sort, every input position j holding the i-th smallest token (equal tokens are
    equally right, so a row may have several)."""
    n = len(x)
    if task == "reverse":
        return [(i, n - 1 - i) for i in range(n)]
    y = targets(task, np.asarray(x)[None])[0]
    return [(i, j) for i in range(n) for j in range(n) if x[j] == y[i]]


def mass_on(p: np.ndarray, cells: list[tuple[int, int]]) -> np.ndarray:
    """Per row of P, the weight it puts on the given cells."""
    m = np.zeros(p.shape[0])
    for i, j in cells:
        m[i] += p[i, j]
    return m


# ---------------------------------------------------------------- one example's backward pass


@dataclass
class Backward:
    """One sequence through the trained model and back, at the attention layer, in the lesson's
    letters: x the layer's input (embedding + position), Q, K, V, S = QKᵀ/√d, P, O = PV, Y the
    layer's output, and each ∂L/∂… (``d`` + the letter). ``formula`` holds each gradient as the
    lesson's formula evaluated here in plain numpy; ``engine`` the engine's own: dQ, dK, dV from
    ``engine.attention_backward``, the weight gradients from ``SelfAttention.backward``."""

    x: np.ndarray
    tokens: np.ndarray
    target: np.ndarray
    loss: float
    d: int
    arrays: dict
    formula: dict
    engine: dict

    def difference(self, name: str) -> float:
        """The largest |formula − engine| of one gradient."""
        return float(np.max(np.abs(self.formula[name] - self.engine[name])))


def example_backward(model: nn.Sequential, tokens: np.ndarray, task: str) -> Backward:
    """The loss of one sequence (the mean over its positions), backwards to the attention layer's
    Q, K, V and weights; the lesson's formulas evaluated on the numbers, beside the engine's."""
    emb, pos, att, lin = model.layers
    tokens = np.asarray(tokens)
    target = targets(task, tokens[None])
    loss_fn = nn.SoftmaxCrossEntropy()
    x = pos.forward(emb.forward(tokens[None]))
    y = att.forward(x)
    loss = loss_fn.forward(lin.forward(y), target)
    dy = lin.backward(loss_fn.backward())
    att.backward(dy)
    q, k, v, p, o = (a[0] for a in att._saved)
    w, d = att.params, att.embed_dim
    a = {"x": x[0], "Q": q, "K": k, "V": v, "S": q @ k.T / math.sqrt(d), "P": p, "O": o}
    a["dY"] = dy[0]
    a["dO"] = dy[0] @ w["out.weight"].T
    f = _formulas(a, d)
    dq, dk, dv = engine.attention_backward(a["dO"], q, k, v)
    eng = {"dQ": dq, "dK": dk, "dV": dv}
    for name in ("q", "k", "v", "out"):
        eng[f"d{name}.weight"] = att.grads[f"{name}.weight"]
    return Backward(x[0], tokens, target[0], loss, d, a, f, eng)


def _formulas(a: dict, d: int) -> dict:
    """The lesson's patterns, evaluated as written (not the engine's code)."""
    f = {"dV": a["P"].T @ a["dO"], "dP": a["dO"] @ a["V"].T}
    rowsum = (f["dP"] * a["P"]).sum(axis=1, keepdims=True)
    f["dS"] = a["P"] * (f["dP"] - rowsum)
    f["dQ"] = f["dS"] @ a["K"] / math.sqrt(d)
    f["dK"] = f["dS"].T @ a["Q"] / math.sqrt(d)
    x = a["x"]
    f["dq.weight"], f["dk.weight"], f["dv.weight"] = x.T @ f["dQ"], x.T @ f["dK"], x.T @ f["dV"]
    f["dout.weight"] = a["O"].T @ a["dY"]
    return f


# ---------------------------------------------------------------- settings ↔ URL

RATES = ("0.0003", "0.001", "0.003", "0.01", "0.03")
DIMS, BATCHES = ("8", "16", "32", "64"), ("16", "32", "64", "128")
TRAIN_STEPS = ("100", "200", "500", "1000", "2000", "5000")
N_TRAIN_STEP = 100  # the training-set slider's step
MAX_TYPED = 40  # characters of a typed sequence kept from a link
# name → (Param, from URL text to the setting's value): matched, never evaluated
SETTINGS = {
    "task": Param("task", "Task", CHOICE, "reverse", choices=tuple(TASKS)),
    "length": Param("length", "Sequence length L", INT, 6, 5, 8),
    "vocab": Param("vocab", "Vocabulary", INT, 10, 4, 10),
    "dim": Param("dim", "Embedding size d", CHOICE, "16", choices=DIMS),
    "n_train": Param("n_train", "Training sequences", INT, 2000, 200, 5000),
    "lr": Param("lr", "Learning rate α", CHOICE, "0.001", choices=RATES),
    "batch": Param("batch", "Batch size", CHOICE, "32", choices=BATCHES),
    "seed": Param("seed", "Seed", INT, 0, 0, 9999),
    "steps": Param("steps", "Steps per Train", CHOICE, "500", choices=TRAIN_STEPS),
    "example": Param("example", "Held-out example", INT, 1, 1, N_TEST),
}
_CAST = {"dim": int, "lr": float, "batch": int, "steps": int}


def decode_settings(query: dict) -> tuple[dict, list[str]]:
    """The settings a link sets validly, and a notice for each one it sets that is not valid
    (that one keeps its default). ``seq``, a typed sequence, is kept as text: the page parses
    it and says what is wrong with it."""
    out, notices = {}, []
    for name, param in SETTINGS.items():
        if name not in query:
            continue
        v = decode_value(param, query[name])
        if name == "n_train" and v is not None and v % N_TRAIN_STEP:
            v = None  # the slider moves in hundreds
        if v is None:
            said = param.ignored(query[name])
            notices.append(said[:-1] + ", in hundreds)" if name == "n_train" else said)
        else:
            out[name] = _CAST.get(name, lambda x: x)(v)
    if "seq" in query:
        out["seq"] = str(query["seq"])[:MAX_TYPED]
    return out, notices


def encode_settings(cfg: dict) -> dict[str, str]:
    """The URL of these settings (``seq`` only when a sequence is typed)."""
    q = {name: str(cfg[name]) for name in SETTINGS if name in cfg}
    if cfg.get("seq"):
        q["seq"] = cfg["seq"]
    return q


def parse_sequence(text: str, length: int, vocab: int) -> np.ndarray:
    """A typed sequence ("3 1 4 1 5 9" or "3,1,4,1,5,9") as token ids, or a ValueError saying
    what to change. Never evaluated: split, and each part matched as a whole number."""
    text = str(text)
    if len(text) > MAX_TYPED:
        raise ValueError(f"Type at most {MAX_TYPED} characters: {length} tokens are enough.")
    parts = [p for p in re.split(r"[\s,;]+", text.strip()) if p]
    bad = [p for p in parts if not re.fullmatch(r"[0-9]{1,2}", p)]
    if bad:
        raise ValueError(
            f"Type whole numbers from 0 to {vocab - 1} separated by spaces or commas; "
            f"{bad[0][:10]!r} is not one."
        )
    ids = [int(p) for p in parts]
    if len(ids) != length:
        raise ValueError(
            f"Type {length} tokens (the sequence length L in the sidebar), not {len(ids)}."
        )
    out = [t for t in ids if t >= vocab]
    if out:
        raise ValueError(
            f"The vocabulary is 0 to {vocab - 1} (the Vocabulary setting); {out[0]} is outside "
            "it: the model has no embedding for it."
        )
    return np.array(ids, dtype=np.int64)
