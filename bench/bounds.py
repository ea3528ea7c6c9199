"""derive() at the extremes of every op: ``python -m bench.bounds [--repeat 3] [--all]``.

Goals: every accepted size derives (maths and lesson) in ≤ 2 s, every rejected one is a
ValueError in ≤ 1 s; the bounds in derivations/params.py are chosen from this table.

1. The lessons' extremes (bench/extremes.py: every combination of the ends of each widget's
   range in derivations/table.py): each is derived once, cold, and per op the slowest one is timed
   again --repeat times. ``--all`` prints every setting.
2. The heaviest settings derive() accepts under its caps, and the networks at their largest.
3. Hostile inputs derive() must refuse: the time to the ValueError.

Cold means sympy's cache and the derivations' own memo tables are cleared before each call.
Wall and CPU time are both shown: this machine is shared, and when it is busy the wall time of
a single-threaded derive() grows while its CPU time stays.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

from bench.extremes import REJECTED, cap_extremes, registry_extremes
from derivations import clear_caches, derive, work


def timed(op: str, params: dict) -> tuple[float, float]:
    """(wall, CPU) seconds of one cold derive()."""
    clear_caches()
    w0, c0 = time.perf_counter(), time.process_time()
    derive(op, **params)
    return time.perf_counter() - w0, time.process_time() - c0


def median_of(op: str, params: dict, repeats: int) -> tuple[float, float, float]:
    """Median wall, median CPU and worst wall over ``repeats`` cold runs."""
    runs = [timed(op, params) for _ in range(repeats)]
    walls = [w for w, _ in runs]
    return statistics.median(walls), statistics.median(c for _, c in runs), max(walls)


def shown(params: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def partials(op: str, params: dict) -> str:
    try:
        return f"{work(op, **params):,}"
    except ValueError:
        return ""


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return f"{cpu}, {os.cpu_count()} cores, load average {load}"


def lessons_table(repeats: int, every: bool) -> None:
    slowest: dict[str, tuple[float, dict]] = {}
    print(
        "\n| op at the lessons' extremes (slowest per op) | partials | wall (s) | CPU (s) "
        "| worst wall (s) |"
    )
    print("|---|---:|---:|---:|---:|")
    for op, params in registry_extremes():
        wall, cpu = timed(op, params)
        if every:
            print(f"| {op} ({shown(params)}) | {partials(op, params)} | {wall:.3f} | {cpu:.3f} | |")
        if wall > slowest.get(op, (-1.0, {}))[0]:
            slowest[op] = (wall, params)
    for op, (_, params) in slowest.items():
        wall, cpu, worst = median_of(op, params, repeats)
        print(
            f"| {op} ({shown(params)}) | {partials(op, params)} | {wall:.3f} | {cpu:.3f} "
            f"| {worst:.3f} |"
        )


def caps_table(repeats: int) -> None:
    print(
        "\n| op at derive()'s caps (heaviest accepted) | partials | wall (s) | CPU (s) "
        "| worst wall (s) |"
    )
    print("|---|---:|---:|---:|---:|")
    for op, params in cap_extremes():
        wall, cpu, worst = median_of(op, params, repeats)
        print(
            f"| {op} ({shown(params)}) | {partials(op, params)} | {wall:.3f} | {cpu:.3f} "
            f"| {worst:.3f} |"
        )


def rejected_table() -> None:
    print("\n| refused input | time to the ValueError (ms) | message |")
    print("|---|---:|---|")
    for op, params, _ in REJECTED:
        shortened = {
            k: (f"{len(v)} sizes" if isinstance(v, tuple) and len(v) > 8 else v)
            for k, v in params.items()
        }
        t0 = time.perf_counter()
        try:
            derive(op, **params)
            message = "ACCEPTED (should be refused)"
        except ValueError as exc:
            message = str(exc)
        ms = (time.perf_counter() - t0) * 1e3
        print(f"| {op} ({shown(shortened)}) | {ms:.1f} | {message[:110]} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bounds", description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="cold runs per timed row (median)")
    ap.add_argument(
        "--all", action="store_true", help="print every lesson extreme, not the slowest"
    )
    a = ap.parse_args(argv)
    print(f"Machine: {machine()}")
    derive("conv2d")  # imports and first-call set-up are not what is measured
    lessons_table(a.repeat, a.all)
    caps_table(a.repeat)
    rejected_table()
    print(f"\nLoad average after the run: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
