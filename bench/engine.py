"""Engine vs PyTorch CPU, timed in the same run: ``python -m bench.engine``.

Prints the median of 35 runs of forward+backward for each case and dtype, engine and PyTorch
timed in alternating blocks, and the ratio engine/PyTorch (goal: <= 2.0). ``--repeat N`` runs the
whole table N times and reports each row's median ratio and its worst. Needs torch (a test
dependency); this is a benchmark, never a test.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time

import numpy as np

import engine


def _cpu_model() -> str:
    """The CPU's name and its AVX-512 flags, from /proc/cpuinfo (Linux) or platform."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            info = f.read()
    except OSError:
        return platform.processor() or platform.machine() or "unknown CPU"
    model = next(
        (ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")),
        platform.machine(),
    )
    flags = next(
        (ln.split(":", 1)[1].split() for ln in info.splitlines() if ln.startswith("flags")), []
    )
    avx512 = sorted({f for f in flags if f.startswith("avx512")})
    simd = (
        "AVX-512 (" + " ".join(f.removeprefix("avx512").lstrip("_") for f in avx512) + ")"
        if avx512
        else ("AVX2, no AVX-512" if "avx2" in flags else "no AVX2")
    )
    return f"{model}, {os.cpu_count()} cores, {simd}"


def _load() -> str:
    try:
        with open("/proc/loadavg", encoding="utf-8") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def _huge_pages() -> str:
    """Transparent huge pages, which decide what a fresh array's first touch costs: numpy
    advises huge pages for arrays of 4 MiB and more (the float64 cases here are exactly 4 MiB,
    the float32 ones 2 MiB), and with defrag=madvise a fault there may wait for compaction."""
    out = []
    for name in ("enabled", "defrag"):
        try:
            with open(f"/sys/kernel/mm/transparent_hugepage/{name}", encoding="utf-8") as f:
                text = f.read()
            chosen = text[text.index("[") + 1 : text.index("]")]
        except (OSError, ValueError):
            chosen = "?"
        out.append(f"THP {name}={chosen}")
    try:
        from numpy._core.multiarray import _get_madvise_hugepage

        out.append(f"numpy madvise_hugepage={_get_madvise_hugepage()}")
    except ImportError:
        pass
    return ", ".join(out)


def environment() -> list[str]:
    """Where a figure was measured: the CPU, and which SIMD kernels and BLAS numpy and PyTorch
    run on it. The engine's speed is mostly BLAS's (OpenBLAS through numpy) and PyTorch's is
    oneDNN's, and each picks its kernels from the CPU, so a ratio only means something next to
    this."""
    lines = [f"CPU: {_cpu_model()}"]
    simd = np.__config__.CONFIG.get("SIMD Extensions", {})
    blas = "BLAS unknown (pip install threadpoolctl)"
    try:
        from threadpoolctl import threadpool_info

        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        # numpy's own BLAS, not one that torch (or scipy) loaded alongside
        pools.sort(key=lambda p: "numpy" not in (p.get("filepath") or ""))
        if pools:
            p = pools[0]
            blas = (
                f"{p.get('internal_api')} {p.get('version')} "
                f"(kernels: {p.get('architecture')}, {p.get('num_threads')} threads)"
            )
    except ImportError:
        pass
    lines.append(
        f"numpy {np.__version__}: SIMD baseline {' '.join(simd.get('baseline', [])) or '?'}, "
        f"dispatched {' '.join(simd.get('found', [])) or 'none'}; {blas}"
    )
    knobs = sorted(
        f"{k}={v}"
        for k, v in os.environ.items()
        if k.startswith(
            ("OPENBLAS_", "OMP_", "MKL_", "GOTO", "MALLOC_", "DNNL_", "ONEDNN_", "ATEN_", "NPY_")
        )
    )
    if knobs:  # OPENBLAS_CORETYPE=Haswell, for one, keeps numpy's BLAS off AVX-512
        lines.append("environment: " + " ".join(knobs))
    lines.append(f"memory: {_huge_pages()}")
    try:
        import torch

        mkldnn = torch.backends.mkldnn
        lines.append(
            f"torch {torch.__version__}: CPU capability {torch.backends.cpu.get_cpu_capability()}, "
            f"MKL-DNN (oneDNN) {'on' if mkldnn.is_available() and mkldnn.enabled else 'off'}, "
            f"MKL {'on' if torch.backends.mkl.is_available() else 'off'}, "
            f"{torch.get_num_threads()} threads"
        )
    except ImportError:
        lines.append("torch: not installed")
    return lines


def _block_medians(ours, theirs, rounds: int = 7, block: int = 6, pause: float = 0.3):
    """Median time of each, from alternating blocks of calls with a pause before each block.

    OpenBLAS and PyTorch's OpenMP both keep their worker threads spinning after a call (OpenBLAS
    for ~0.1 s). On 2 cores whoever runs next fights those spinners: measured here, PyTorch's
    conv2d took 15-56 ms right after an OpenBLAS matmul and 6 ms after a 0.3 s pause. So each
    block starts after a pause long enough for the other side's threads to sleep, and the first
    call of each block (cold caches, waking threads) is dropped. Alternating the blocks spreads
    the shared machine's slow spells over both sides."""
    a, b = [], []
    for _ in range(rounds):
        for fn, out in ((ours, a), (theirs, b)):
            time.sleep(pause)
            for k in range(block):
                t0 = time.perf_counter()
                fn()
                if k:
                    out.append(time.perf_counter() - t0)
    return statistics.median(a), statistics.median(b)


def cases(rng, dtype):
    x = rng.standard_normal((8, 32, 32, 32)).astype(dtype)
    w = rng.standard_normal((64, 32, 3, 3)).astype(dtype)
    b = rng.standard_normal(64).astype(dtype)
    dy = rng.standard_normal((8, 64, 32, 32)).astype(dtype)
    yield ("conv2d 8×32×32×32 → 64, 3×3, pad 1", x, w, b, dy, "conv")
    x = rng.standard_normal((8, 64, 16, 16)).astype(dtype)
    w = rng.standard_normal((64, 32, 4, 4)).astype(dtype)
    b = rng.standard_normal(32).astype(dtype)
    dy = rng.standard_normal((8, 32, 32, 32)).astype(dtype)
    yield ("conv_transpose2d 8×64×16×16 → 32, 4×4, s2 p1", x, w, b, dy, "convT")
    x = rng.standard_normal((8, 64, 32, 32)).astype(dtype)
    dy = rng.standard_normal((8, 64, 16, 16)).astype(dtype)
    yield ("max_pool2d 8×64×32×32, 2×2", x, None, None, dy, "pool")
    # q, k, v in the conv cases' x, w, b slots: each is an input with a gradient
    q, k, v, dy = (rng.standard_normal((8, 4, 128, 64)).astype(dtype) for _ in range(4))
    yield ("attention 8×4 heads × 128 × 64 (N × h × L × d), L = S", q, k, v, dy, "attention")


def run() -> list[tuple]:
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(max(1, torch.get_num_threads()))
    rng = np.random.default_rng(0)
    rows = []
    for dtype in (np.float32, np.float64):
        for name, x, w, b, dy, kind in cases(rng, dtype):
            tx = torch.tensor(x, requires_grad=True)
            tw = None if w is None else torch.tensor(w, requires_grad=True)
            tb = None if b is None else torch.tensor(b, requires_grad=True)
            tdy = torch.tensor(dy)
            if kind == "conv":

                def ours():
                    engine.conv2d(x, w, b, padding=1)
                    engine.conv2d_backward(dy, x, w, padding=1)

                def theirs():
                    F.conv2d(tx, tw, tb, padding=1).backward(tdy)
            elif kind == "convT":

                def ours():
                    engine.conv_transpose2d(x, w, b, stride=2, padding=1)
                    engine.conv_transpose2d_backward(dy, x, w, stride=2, padding=1)

                def theirs():
                    F.conv_transpose2d(tx, tw, tb, stride=2, padding=1).backward(tdy)
            elif kind == "attention":

                def ours():
                    engine.attention(x, w, b)
                    engine.attention_backward(dy, x, w, b)

                def theirs():
                    F.scaled_dot_product_attention(tx, tw, tb).backward(tdy)
            else:

                def ours():
                    engine.max_pool2d(x, 2)
                    engine.max_pool2d_backward(dy, x, 2)

                def theirs():
                    F.max_pool2d(tx, 2).backward(tdy)

            t_ours, t_theirs = _block_medians(ours, theirs)
            rows.append((name, np.dtype(dtype).name, t_ours, t_theirs, t_ours / t_theirs))
    return rows


# other CPUs, emulated on this one: the settings each side reads when it loads its kernels
EMULATE = {
    # numpy's own SIMD loops, OpenBLAS and PyTorch (ATen and oneDNN) all held to AVX2
    "no-avx512": {
        "OPENBLAS_CORETYPE": "Haswell",
        "ATEN_CPU_CAPABILITY": "avx2",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
    },
    # OpenBLAS picks its kernels from the CPU, whatever this environment pins
    "openblas-auto": {"OPENBLAS_CORETYPE": None, "OPENBLAS_L2_SIZE": None},
}


def _emulated_env(name: str) -> dict:
    env = dict(os.environ)
    for key, value in EMULATE[name].items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    if name == "no-avx512":
        # numpy refuses to disable a feature it did not find, so name only those it found
        found = np.__config__.CONFIG.get("SIMD Extensions", {}).get("found", [])
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(
            f for f in found if f.startswith(("AVX512", "X86_V4"))
        )
    env["BENCH_EMULATED"] = name
    return env


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__.splitlines()[0])
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run the whole table this many times and report each row's median and worst ratio "
        "(this shared machine has slow spells lasting minutes; one run can land in one)",
    )
    ap.add_argument(
        "--emulate",
        choices=sorted(EMULATE),
        help="measure as on another CPU: no-avx512 holds numpy, OpenBLAS and PyTorch to AVX2; "
        "openblas-auto lets OpenBLAS choose its kernels (re-runs this benchmark in a child "
        "process, since BLAS reads these settings when it loads)",
    )
    args = ap.parse_args(argv)
    if args.emulate and os.environ.get("BENCH_EMULATED") != args.emulate:
        import subprocess

        cmd = [sys.executable, "-m", "bench.engine", *(argv if argv is not None else sys.argv[1:])]
        return subprocess.call(cmd, env=_emulated_env(args.emulate))
    try:
        import torch  # noqa: F401
    except ImportError:
        print("bench.engine needs torch: pip install torch==2.13.0", file=sys.stderr)
        return 2
    if os.environ.get("BENCH_EMULATED"):
        print(f"emulating: {os.environ['BENCH_EMULATED']}")
    for line in environment():
        print(line)
    print(f"load average before: {_load()}")
    print()
    runs = [run() for _ in range(max(1, args.repeat))]
    print(
        "| case | dtype | engine (ms) | PyTorch (ms) | engine/PyTorch |"
        + (" worst of runs |" if len(runs) > 1 else "")
    )
    print("|---|---|---:|---:|---:|" + ("---:|" if len(runs) > 1 else ""))
    for i, (name, dt, *_rest) in enumerate(runs[0]):
        rows = [r[i] for r in runs]
        a = statistics.median(r[2] for r in rows)
        b = statistics.median(r[3] for r in rows)
        ratio = statistics.median(r[4] for r in rows)
        line = f"| {name} | {dt} | {a * 1e3:.1f} | {b * 1e3:.1f} | {ratio:.2f} |"
        if len(runs) > 1:
            line += f" {max(r[4] for r in rows):.2f} |"
        print(line)
    print(
        f"\nload average after: {_load()} (on a shared machine, others' work lands in both columns)"
    )
    worst = max(r[4] for rows in runs for r in rows)
    print(f"\nworst ratio {worst:.2f} over {len(runs)} run(s) (goal <= 2.0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
