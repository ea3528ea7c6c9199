"""Training with engine.nn vs the same torch.nn model, timed in the same run: ``python -m bench.nn``.

Rows: one epoch of the digits CNN (engine.train.digits_cnn: conv 1 → 8, 3×3, pad 1 → ReLU → max
pool 2 → flatten → dense 128 → 10; softmax-CE; batch 32; the 1,437 images of the 80 % training
split) and one epoch of the two-moons MLP (2 → 8 → 8 → 2, ReLU; batch 32; 1,600 points, so 50
steps), each in float32 and float64; then the same with batch norm and residual connections:
the digits CNN with a BatchNorm2d after its convolution, and moons MLPs of 16-wide hidden layers
with a BatchNorm1d after each hidden Linear, with residual blocks x + tanh(Linear x), and 8
sigmoid layers with batch norm, with residual blocks (the MLP page's "+ batch norm" and
"+ residual" presets) and with both. The engine
side is engine.train.train_epoch, as the app runs it; the PyTorch side is the usual loop
(zero_grad, forward, cross_entropy, backward, step, loss.item()) in training mode. Both start
from the same weights and running statistics, shuffle with the same permutation, run Adam with
the CNN page's learning rate, and compute no gradient for the input batch. Timing as in
bench/engine.py: alternating blocks after a 0.3 s pause, medians; ``--repeat N`` runs the table
N times. Goal: engine/PyTorch <= 1.0. Needs torch; a benchmark, never a test.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys

import numpy as np

from bench.engine import _block_medians
from engine import datasets, nn, train

BATCH = train.DIGITS_CNN_DEFAULTS["batch_size"]
LR = train.DIGITS_CNN_DEFAULTS["lr"]
MOONS = 1600
SEED = 0
_ENV_PREFIXES = ("MALLOC_", "OPENBLAS_", "OMP_", "MKL_")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def to_torch(model: nn.Sequential, torch):
    """The same network in torch.nn, with the engine's weights (Linear's transposed) and running
    statistics copied; a Residual becomes a torch.nn.Sequential whose forward adds its input,
    so parameter names ("1.0.weight") match the engine's."""
    dtype = next(iter(model.params.values())).dtype
    seq = _torch_module(model, torch).to(torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        for name, t in seq.named_parameters():
            v = model.params[name]
            t.copy_(torch.from_numpy(v.T.copy() if v.ndim == 2 else v))
        for name, t in seq.named_buffers():
            *path, attr = name.split(".")
            layer = model
            for i in path:
                layer = layer.layers[int(i)]
            t.copy_(torch.tensor(getattr(layer, attr)))
    return seq


def _torch_module(m, torch):
    tnn = torch.nn
    if isinstance(m, nn.Residual):
        return _torch_residual(torch)(*(_torch_module(k, torch) for k in m.layers))
    if isinstance(m, nn.Sequential):
        return tnn.Sequential(*(_torch_module(k, torch) for k in m.layers))
    if isinstance(m, nn.Linear):
        return tnn.Linear(m.in_features, m.out_features)
    if isinstance(m, nn.Conv2d):
        return tnn.Conv2d(
            m.in_channels, m.out_channels, m.kernel_size, stride=m.stride, padding=m.padding
        )
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        return getattr(tnn, type(m).__name__)(m.kernel_size, stride=m.stride)
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return getattr(tnn, type(m).__name__)(m.num_features, eps=m.eps, momentum=m.momentum)
    if isinstance(m, nn.LayerNorm):
        return tnn.LayerNorm(m.normalized_shape, eps=m.eps)
    return getattr(tnn, type(m).__name__)()


def _torch_residual(torch):
    """x + f(x) in torch, f a torch.nn.Sequential (the class is built once torch is imported)."""

    class Residual(torch.nn.Sequential):
        def forward(self, x):
            return x + super().forward(x)

    return Residual


def _pair(model, X, y, torch):
    """(engine epoch, torch epoch) from the same weights, each shuffling with the same seed."""
    loss_fn, opt = nn.SoftmaxCrossEntropy(), nn.Adam(model, LR)
    tmodel = to_torch(model, torch)
    topt = torch.optim.Adam(tmodel.parameters(), LR)
    tX, ty = torch.from_numpy(X), torch.from_numpy(y)
    ce = torch.nn.functional.cross_entropy

    def ours():
        return train.train_epoch(model, loss_fn, opt, X, y, BATCH, SEED)

    def theirs():
        order = torch.from_numpy(np.random.default_rng(SEED).permutation(len(X)))
        total = 0.0
        for start in range(0, len(X), BATCH):
            idx = order[start : start + BATCH]
            topt.zero_grad()
            loss = ce(tmodel(tX[idx]), ty[idx])
            loss.backward()
            topt.step()
            total += loss.item() * len(idx)
        return total / len(X)

    # the same work on both sides: the first epoch's mean losses agree
    a, b = ours(), theirs()
    if abs(a - b) > 1e-4 * abs(b):
        raise AssertionError(f"engine and PyTorch disagree on the first epoch: {a} vs {b}")
    return ours, theirs


def _mlp(dtype, hidden=16, depth=4, *, batch_norm=False, residual=False, act=nn.ReLU):
    """2 → hidden → … → 2 on two moons: depth hidden layers, each Linear [→ BatchNorm1d] → act,
    and with residual=True each after the first wrapped as x + f(x), as the MLP page builds them."""
    g = np.random.default_rng(0)

    def block(n_in):
        layers = [nn.Linear(n_in, hidden, rng=g)]
        layers += [nn.BatchNorm1d(hidden)] if batch_norm else []
        return [*layers, act()]

    layers = block(2)
    for _ in range(depth - 1):
        layers += [nn.Residual(*block(hidden))] if residual else block(hidden)
    return nn.Sequential(*layers, nn.Linear(hidden, 2, rng=g)).astype(dtype)


def _digits_cnn_bn(dtype):
    """The digits CNN with a BatchNorm2d after its convolution (the CNN page's option)."""
    return train.digits_cnn(rng=0, dtype=dtype, batch_norm=True)


def run() -> list[tuple]:
    import torch

    images, labels = datasets.load_digits()
    tr, _ = datasets.train_test_split(len(images))
    xm, ym = datasets.two_moons(n=MOONS, noise=0.1, seed=0)
    steps = MOONS // BATCH
    rows = []
    for dtype in (np.float32, np.float64):
        digits = images[tr][:, None].astype(dtype), labels[tr]
        moons = xm.astype(dtype), ym
        cases = [
            (
                f"digits CNN, one epoch ({len(tr)} images)",
                train.digits_cnn(rng=0, dtype=dtype),
                digits,
            ),
            (f"moons MLP, one epoch ({steps} steps)", _mlp(dtype, 8, 2), moons),
            ("digits CNN + BatchNorm2d after the conv, one epoch", _digits_cnn_bn(dtype), digits),
            (
                "moons MLP 4×16, BatchNorm1d after each hidden Linear, one epoch",
                _mlp(dtype, batch_norm=True),
                moons,
            ),
            (
                "moons MLP 4×16, 3 residual blocks (Linear → tanh), one epoch",
                _mlp(dtype, residual=True, act=nn.Tanh),
                moons,
            ),
            (
                "moons MLP 8×16 sigmoid, BatchNorm1d after each hidden Linear (preset), one epoch",
                _mlp(dtype, depth=8, batch_norm=True, act=nn.Sigmoid),
                moons,
            ),
            (
                "moons MLP 8×16 sigmoid, 7 residual blocks (preset), one epoch",
                _mlp(dtype, depth=8, residual=True, act=nn.Sigmoid),
                moons,
            ),
            (
                "moons MLP 8×16 sigmoid, batch norm + residual blocks, one epoch",
                _mlp(dtype, depth=8, batch_norm=True, residual=True, act=nn.Sigmoid),
                moons,
            ),
        ]
        for name, model, (X, y) in cases:
            ours, theirs = _pair(model, X, y, torch)
            rows.append((name, dtype, *_block_medians(ours, theirs)))
    return [(name, np.dtype(dt).name, a, b, a / b) for name, dt, a, b in rows]


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m bench.nn", description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1, help="run the whole table this many times")
    ap.add_argument(
        "--torch-threads",
        type=int,
        default=1,
        help="PyTorch's intra-op threads (default 1: at these sizes a second thread gains "
        "nothing on a quiet machine and costs up to 6x while other jobs hold the cores, so one "
        "thread is PyTorch's best here; 0 keeps PyTorch's own choice)",
    )
    args = ap.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("bench.nn needs torch: pip install torch==2.13.0", file=sys.stderr)
        return 2
    if args.torch_threads > 0:
        torch.set_num_threads(args.torch_threads)
    print(f"CPU: {cpu_model()}; PyTorch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    # glibc's malloc settings move the float64 engine rows by up to ~25 %: the CNN's 128 KB
    # arrays reach the default mmap threshold, so their pages fault in anew each step (~2,500
    # faults an epoch; none with MALLOC_MMAP_THRESHOLD_=4194304 MALLOC_TRIM_THRESHOLD_=67108864)
    tuned = [f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith(_ENV_PREFIXES)]
    print(f"environment: {' '.join(tuned) or 'no MALLOC_*, OPENBLAS_*, OMP_* or MKL_* set'}\n")
    load = os.getloadavg()[0]
    runs = [run() for _ in range(max(1, args.repeat))]
    many = len(runs) > 1
    print(
        "| case | dtype | engine (ms) | PyTorch (ms) | engine/PyTorch |"
        + (" worst of runs |" if many else "")
    )
    print("|---|---|---:|---:|---:|" + ("---:|" if many else ""))
    for i, (name, dt, *_rest) in enumerate(runs[0]):
        rows = [r[i] for r in runs]
        a = statistics.median(r[2] for r in rows)
        b = statistics.median(r[3] for r in rows)
        ratio = statistics.median(r[4] for r in rows)
        line = f"| {name} | {dt} | {a * 1e3:.1f} | {b * 1e3:.1f} | {ratio:.2f} |"
        if many:
            line += f" {max(r[4] for r in rows):.2f} |"
        print(line)
    worst = max(r[4] for rows in runs for r in rows)
    print(f"\nworst ratio {worst:.2f} over {len(runs)} run(s) (goal <= 1.0)")
    # the machine is shared: a busy spell slows both sides, not always equally
    print(f"load average (1 min) {load:.2f} before, {os.getloadavg()[0]:.2f} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
