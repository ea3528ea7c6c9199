"""Training with engine.nn vs the same torch.nn model, timed in the same run: ``python -m bench.nn``.

Rows: one epoch of the digits CNN (engine.train.digits_cnn: conv 1 → 8, 3×3, pad 1 → ReLU → max
pool 2 → flatten → dense 128 → 10; softmax-CE; batch 32; the 1,437 images of the 80 % training
split) and one epoch of the two-moons MLP (2 → 8 → 8 → 2, ReLU; batch 32; 1,600 points, so 50
steps), each in float32 and float64. The engine side is engine.train.train_epoch, as the app
runs it; the PyTorch side is the usual loop (zero_grad, forward, cross_entropy, backward, step,
loss.item()). Both start from the same weights, shuffle with the same permutation, run Adam with
the CNN page's learning rate, and compute no gradient for the input batch. Timing as in bench/engine.py: alternating blocks after a 0.3 s
pause, medians; ``--repeat N`` runs the table N times. Goal: engine/PyTorch <= 1.0. Needs torch;
a benchmark, never a test.
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
    """The same network in torch.nn, with the engine's weights copied (Linear's transposed)."""
    tnn, layers = torch.nn, []
    for m in model.layers:
        if isinstance(m, nn.Linear):
            t = tnn.Linear(m.in_features, m.out_features)
        elif isinstance(m, nn.Conv2d):
            t = tnn.Conv2d(
                m.in_channels, m.out_channels, m.kernel_size, stride=m.stride, padding=m.padding
            )
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            t = getattr(tnn, type(m).__name__)(m.kernel_size, stride=m.stride)
        else:
            t = getattr(tnn, type(m).__name__)()
        layers.append(t)
    dtype = next(iter(model.params.values())).dtype
    seq = tnn.Sequential(*layers).to(torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        for name, t in seq.named_parameters():
            v = model.params[name]
            t.copy_(torch.from_numpy(v.T.copy() if v.ndim == 2 else v))
    return seq


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


def run() -> list[tuple]:
    import torch

    images, labels = datasets.load_digits()
    tr, _ = datasets.train_test_split(len(images))
    xm, ym = datasets.two_moons(n=MOONS, noise=0.1, seed=0)
    rows = []
    for dtype in (np.float32, np.float64):
        cnn = train.digits_cnn(rng=0, dtype=dtype)
        ours, theirs = _pair(cnn, images[tr][:, None].astype(dtype), labels[tr], torch)
        rows.append(
            (f"digits CNN, one epoch ({len(tr)} images)", dtype, *_block_medians(ours, theirs))
        )
        g = np.random.default_rng(0)
        mlp = nn.Sequential(
            nn.Linear(2, 8, rng=g),
            nn.ReLU(),
            nn.Linear(8, 8, rng=g),
            nn.ReLU(),
            nn.Linear(8, 2, rng=g),
        ).astype(dtype)
        ours, theirs = _pair(mlp, xm.astype(dtype), ym, torch)
        rows.append(
            (f"moons MLP, one epoch ({MOONS // BATCH} steps)", dtype, *_block_medians(ours, theirs))
        )
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
