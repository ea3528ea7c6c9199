"""A class on one server: real Streamlit sessions over the websocket protocol.

    python -m bench.load [--scenario lecture mixed …] [--repeat 3] [--scale 1]
                         [--url http://host:port [--server-pid PID]] [--port P] [--out FILE]

Scenarios (``bench/load_scenarios.py``): lecture, mixed, practice, training, and the issue's
replays heavy-replay and slow-replay; all of them by default. Each run of a scenario gets a
fresh ``streamlit run app.py`` (so no run finds another's caches warm), warmed up by one visit
to the home page and one to a lesson that is not measured (the server's imports, the answer
checker's start). With ``--url`` the server is yours and is not restarted: runs after the first
find its caches warm; give ``--server-pid`` to have its memory sampled.

Reported per scenario and measured action: p50/p95/max of the latency from the message a browser
would send to the end of the script run that shows the result; errors; "busy" answers; right
answers not judged correct; the server's peak resident memory (its worker processes counted);
and the health endpoint's latency meanwhile. ``--repeat N`` reports the median of N runs for
every latency and for memory, and the total over the N runs for every count. The load client
shares the machine with the server: its own CPU time is printed beside the wall time."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bench.load_actions import Recorder, health
from bench.load_client import Session
from bench.load_scenarios import SCENARIOS
from bench.load_server import ROOT, RssSampler, machine, server


@dataclass
class Result:
    scenario: str
    rec: Recorder
    rss_mb: float | None
    wall: float
    client_cpu: float


def percentile(xs: list[float], q: float) -> float | None:
    """The q-th percentile (0–100), interpolated between the nearest ranks."""
    if not xs:
        return None
    xs = sorted(xs)
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


async def warm_up(url: str) -> None:
    """What the first visitor of a fresh server pays once (imports, the answer checker's
    start), paid before anything is measured, on a page no scenario measures."""
    for path in ("", "reductions"):
        s = Session(url)
        try:
            await s.open(path)
        finally:
            await s.close()


async def run_once(name: str, url: str, pid: int | None, scale: float) -> Result:
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=64))
    await warm_up(url)
    rec, stop = Recorder(), asyncio.Event()
    probe = asyncio.create_task(health(rec, url, stop))
    t0, cpu0 = time.perf_counter(), time.process_time()
    with RssSampler(pid) as rss:
        try:
            await SCENARIOS[name](url, rec, scale)
        finally:
            stop.set()
            await probe
    return Result(name, rec, rss.peak_mb, time.perf_counter() - t0, time.process_time() - cpu0)


def run(name: str, args) -> Result:
    if args.url:
        return asyncio.run(run_once(name, args.url, args.server_pid, args.scale))
    with server(args.port) as (url, pid):
        return asyncio.run(run_once(name, url, pid, args.scale))


# ---------------------------------------------------------------- the report


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _s(v, unit="") -> str:
    return "" if v is None else f"{v:.2f}{unit}"


def metric_rows(name: str, results: list[Result]) -> list[str]:
    """One table row per measured action of scenario ``name``, medians over ``results``."""
    names = list(dict.fromkeys(m for r in results for m in r.rec.metrics))
    goals = {m for r in results for m, v in r.rec.metrics.items() if v.goal}
    names.sort(key=lambda m: (m not in goals, m == "health endpoint"))  # the goals first
    rss = _median([r.rss_mb for r in results])
    rows = []
    for k, metric in enumerate(names):
        ms = [r.rec.metrics[metric] for r in results if metric in r.rec.metrics]
        stats = [
            (
                len(m.samples),
                percentile(m.samples, 50),
                percentile(m.samples, 95),
                max(m.samples, default=None),
            )
            for m in ms
        ]
        n, p50, p95, top = (_median([s[i] for s in stats]) for i in range(4))
        right = sum(m.right for m in ms)
        note = f"{sum(m.correct for m in ms)} of {right} correct" if right else ""
        note += " (all runs)" if note and len(ms) > 1 else ""
        rows.append(
            f"| {name if k == 0 else ''} | {metric} | {n:.0f} | {_s(p50)} | {_s(p95)} "
            f"| {_s(top)} | {ms[0].goal} | {sum(m.errors for m in ms)} "
            f"| {sum(m.busy for m in ms)} | {sum(m.wrong for m in ms)} | {note} "
            f"| {'' if k or rss is None else f'{rss:.0f}'} |"
        )
    return rows + ratio_rows(results)


def ratio_rows(results: list[Result]) -> list[str]:
    out = []
    for num, den, goal in results[0].rec.ratios:
        each = []
        for r in results:
            a = percentile(r.rec.metrics.get(num).samples if num in r.rec.metrics else [], 50)
            b = percentile(r.rec.metrics.get(den).samples if den in r.rec.metrics else [], 50)
            each.append(a / b if a is not None and b else None)
        shown = _median(each)
        ratio = "" if shown is None else f"{shown:.2f} ×"
        runs = ", ".join("—" if v is None else f"{v:.2f}" for v in each)
        out.append(f"| | {num} ÷ {den} | | {ratio} | | | {goal} | | | | runs: {runs} | |")
    return out


HEADER = (
    "| scenario | measured | n | p50 (s) | p95 (s) | max (s) | goal | errors | busy | wrong "
    "verdicts | | server peak RSS (MB) |\n"
    "|---|---|---:|---:|---:|---:|---|---:|---:|---:|---|---:|"
)


def revision() -> str:
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def report(by_scenario: dict[str, list[Result]], args) -> str:
    runs = len(next(iter(by_scenario.values())))
    lines = [
        f"bench.load on {machine()}; {datetime.date.today()}, app at {revision()}, "
        f"{'server ' + args.url if args.url else 'a fresh server per run'}; "
        f"{f'median of {runs} runs (counts: totals over them)' if runs > 1 else 'one run'}"
        f"{'' if args.scale == 1 else f', sessions × {args.scale}'}.",
        "",
        HEADER,
    ]
    for name, results in by_scenario.items():
        lines += metric_rows(name, results)
    lines.append("")
    for name, results in by_scenario.items():
        walls = ", ".join(f"{r.wall:.0f} s (load client CPU {r.client_cpu:.0f} s)" for r in results)
        lines.append(f"- {name}: {walls}")
        for message, count in sum(
            (r.rec.messages for r in results), start=type(results[0].rec.messages)()
        ).most_common(8):
            lines.append(f"  - {count} × {message}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS))
    ap.add_argument("--repeat", type=int, default=1, help="runs per scenario (medians)")
    ap.add_argument("--scale", type=float, default=1.0, help="× the issue's session counts")
    ap.add_argument("--url", help="a running server to use instead of starting one")
    ap.add_argument("--server-pid", type=int, help="with --url: the pid to sample memory of")
    ap.add_argument("--port", type=int, default=0, help="the port of the servers started")
    ap.add_argument("--out", help="also write the Markdown report to this file")
    args = ap.parse_args(argv)
    print(f"# {machine()}", file=sys.stderr)
    by_scenario: dict[str, list[Result]] = {name: [] for name in args.scenario}
    for k in range(args.repeat):  # rounds of every scenario: a drifting load weighs on all
        for name in args.scenario:
            result = run(name, args)
            by_scenario[name].append(result)
            print(f"# {name} run {k + 1}: {result.wall:.0f} s", file=sys.stderr)
    text = report(by_scenario, args)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
