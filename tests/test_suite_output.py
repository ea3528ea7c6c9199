"""The suite's own output: CI's log must end with pytest's summary line ("N passed in …s"),
which two -q (one in addopts, one on the command line) would hide."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_summary_line_shows_even_when_ci_adds_q(tmp_path):
    (tmp_path / "test_one.py").write_text("def test_one():\n    pass\n")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    cmd += ["-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), str(tmp_path)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed in" in out.stdout, out.stdout
