"""The server ``bench.load`` measures: ``streamlit run app.py`` in a subprocess (a fresh one per
scenario run, so no run finds another's caches warm), its memory sampled from /proc with its
worker processes counted, and the machine it ran on."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = 4096


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(v) for v in (task / "children").read_text().split()]
        except OSError:
            pass
    return kids


def tree(pid: int) -> list[int]:
    """``pid`` and every process under it (the answer checker's workers, a process pool)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += _children(p)
    return out


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants, from /proc/<pid>/status (VmRSS). Pages a
    forked worker still shares with its parent count twice, as `ps` would count them."""
    total = 0
    for p in tree(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue  # a worker that ended between the listing and the read
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


class RssSampler:
    """The peak of :func:`rss_bytes` while it runs, sampled every ``every`` seconds."""

    def __init__(self, pid: int | None, every: float = 0.25) -> None:
        self.pid, self.every, self.peak = pid, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            self._stop.wait(self.every)

    def __enter__(self) -> RssSampler:
        if self.pid:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self.pid:
            self._thread.join()
            self.peak = max(self.peak, rss_bytes(self.pid))

    @property
    def peak_mb(self) -> float | None:
        return self.peak / 2**20 if self.pid else None


def wait_healthy(url: str, timeout: float, proc=None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read()
            return
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {proc.returncode}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not answer within {timeout:.0f} s") from None
            time.sleep(0.3)


@contextmanager
def server(port: int = 0, timeout: float = 90):
    """``streamlit run app.py`` on ``port`` (0: a free one); yields (url, pid) once it answers
    its health check, and stops it (and so its workers) afterwards."""
    port = port or free_port()
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, timeout, proc)
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def machine() -> str:
    """The CPU model, the cores this process may use and the load average."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return f"{cpu}, {cores} cores, load average {load}"
