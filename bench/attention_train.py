"""The "Attention, trained" page's defaults, trained as the page trains them:
``python -m bench.attention_train``.

For each task (reverse, the page's default, and sort) and seed: ui.seq_training's model and data
at the page's defaults (6 tokens from 10, d = 16, 2,000 training sequences, Adam α = 0.001,
batch 32), trained in the page's chunks (50 steps, scored every 10 on the 500 held-out sequences
and 500 training ones) until 95 % of the held-out sequences are right, every token, or 20 s
have passed. Prints the steps and epochs it took, the wall seconds (training steps alone, and
with the scoring), the CPU seconds, the accuracies reached, and the load average beside them.

The reference in the same run, where torch is installed: the same model in PyTorch (the same
weights, the same batches, torch.optim.Adam, ``F.scaled_dot_product_attention``), timed for the
same steps, so the engine's step time reads as a ratio a busy machine moves on both sides. A
benchmark, never a test (tests/test_attention_trained.py asserts the accuracy after N steps).
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import numpy as np

from bench.nn import cpu_model
from ui import seq_training as T

GOAL, BUDGET = 0.95, 20.0  # the page's promise: this accuracy within this many seconds
# steps between redraws (a Train of the default 500 steps) and between scores, as the page
CHUNK, EVERY = 500 // T.TICKS_PER_TRAIN, T.SCORE_EVERY


def to_goal(task: str, seed: int) -> dict:
    run = T.new_run({**T.DEFAULTS, "task": task, "seed": seed})
    t0, c0 = time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < BUDGET:
        run.train_for(BUDGET, until_step=run.steps + CHUNK, every=EVERY)
        if run.history[-1]["test sequence accuracy"] >= GOAL:
            break
    last = run.history[-1]
    return {
        "task": task,
        "seed": seed,
        "steps": run.steps,
        "epochs": run.epochs,
        "train s": run.seconds,
        "wall s": time.perf_counter() - t0,
        "cpu s": time.process_time() - c0,
        "seq": last["test sequence accuracy"],
        "tok": last["test token accuracy"],
        "run": run,
    }


def torch_ratio(task: str, seed: int, steps: int) -> tuple[float, float]:
    """(engine s/step, PyTorch s/step) over the same ``steps`` batches from the same weights."""
    import torch

    run = T.new_run({**T.DEFAULTS, "task": task, "seed": seed})
    rng = np.random.default_rng(seed)
    batches = [rng.integers(0, len(run.X), run.batch) for _ in range(steps)]
    params = {n: torch.tensor(v, requires_grad=True) for n, v in run.model.params.items()}
    opt = torch.optim.Adam(params.values(), lr=T.DEFAULTS["lr"])
    X, Y = torch.tensor(run.X), torch.tensor(run.y)

    def torch_step(idx):
        p = params
        h = p["0.weight"][X[idx]] + p["1.weight"][: X.shape[1]]
        q, k, v = (h @ p[f"2.{n}.weight"] + p[f"2.{n}.bias"] for n in "qkv")
        o = torch.nn.functional.scaled_dot_product_attention(q, k, v)
        y = (o @ p["2.out.weight"] + p["2.out.bias"]) @ p["3.weight"] + p["3.bias"]
        loss = torch.nn.functional.cross_entropy(y.reshape(-1, y.shape[-1]), Y[idx].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()

    def engine_step(idx):
        run.loss_fn.forward(run.model.forward(run.X[idx]), run.y[idx])
        run.model.backward(run.loss_fn.backward(), input_grad=False)
        run.optimiser.step()

    out = []
    for fn in (engine_step, torch_step):
        time.sleep(0.3)  # let the other side's BLAS / OpenMP threads go to sleep
        t0 = time.perf_counter()
        for idx in batches:
            fn(idx)
        out.append((time.perf_counter() - t0) / steps)
    return out[0], out[1]


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m bench.attention_train")
    ap.add_argument("--seeds", type=int, default=3, help="seeds 0 … N−1 per task")
    args = ap.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(1)  # as bench.nn: one thread is PyTorch's best at these sizes
    except ImportError:
        torch = None
    print(f"CPU: {cpu_model()}; load average before: {os.getloadavg()[0]:.1f}")
    print(
        "| task | seed | steps | epochs | training steps (s) | with scoring (s) | CPU (s) "
        "| held-out sequences right | tokens right | engine/PyTorch per step |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    walls = []
    for task in ("reverse", "sort"):
        for seed in range(args.seeds):
            r = to_goal(task, seed)
            ratio = ""
            if torch is not None:
                ours, theirs = torch_ratio(task, seed, min(r["steps"], 300))
                ratio = f"{ours / theirs:.2f} ({ours * 1e3:.2f} / {theirs * 1e3:.2f} ms)"
            walls.append(r["wall s"])
            print(
                f"| {task} | {seed} | {r['steps']:,} | {r['epochs']:.1f} | {r['train s']:.2f} "
                f"| {r['wall s']:.2f} | {r['cpu s']:.2f} | {r['seq']:.1%} | {r['tok']:.1%} "
                f"| {ratio} |"
            )
    print(
        f"\nload average after: {os.getloadavg()[0]:.1f}; median wall {statistics.median(walls):.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
