"""`python -m bench.engine --emulate`: the environment its child process gets (the timing itself
is a benchmark, never a test)."""

import numpy as np

from bench import engine as bench


def test_no_avx512_holds_every_kernel_choice_to_avx2(monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "SkylakeX")
    env = bench._emulated_env("no-avx512")
    assert env["OPENBLAS_CORETYPE"] == "Haswell"
    assert env["ATEN_CPU_CAPABILITY"] == "avx2" and env["ONEDNN_MAX_CPU_ISA"] == "AVX2"
    found = np.__config__.CONFIG.get("SIMD Extensions", {}).get("found", [])
    disabled = env["NPY_DISABLE_CPU_FEATURES"].split()
    # only what numpy found (it refuses to disable anything else), and all of AVX-512 it found
    assert set(disabled) <= set(found)
    assert {f for f in found if f.startswith(("AVX512", "X86_V4"))} == set(disabled)
    assert env["BENCH_EMULATED"] == "no-avx512"


def test_openblas_auto_drops_the_pinned_kernels(monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.setenv("OPENBLAS_L2_SIZE", "512")
    env = bench._emulated_env("openblas-auto")
    assert "OPENBLAS_CORETYPE" not in env and "OPENBLAS_L2_SIZE" not in env
