"""Exports: the LaTeX document compiles with pdflatex for a sweep of ops and parameters (skips
where TeX is not installed; CI installs it), and every step's LaTeX is KaTeX-safe across the
same sweep."""

import itertools
import shutil
import subprocess

import pytest

from bench.extremes import cap_extremes
from derivations import derive
from derivations.export import to_latex, to_markdown, to_text
from tests.test_derivations import assert_katex_safe

# the largest sizes (the lessons' and derive()'s); a 16×16 input with a 6×6 kernel
# made a 221,000-character line, past what TeX reads
EXTREMES = [
    ("conv2d", dict(input_shape=(16, 16), kernel_shape=(6, 6))),
    ("conv2d", dict(input_shape=(16, 16), kernel_shape=(6, 6), padding=4)),
    ("conv_transpose2d", dict(input_shape=(16, 16), kernel_shape=(6, 6))),
    ("max_pool2d", dict(input_shape=(16, 16), kernel_size=6, stride=1, padding=3)),
    ("avg_pool2d", dict(input_shape=(16, 16), kernel_size=6, stride=1)),
    ("leaky_relu", dict(shape=(16, 16))),
    ("div", dict(shape=(16, 16), broadcast="row")),
    ("mean", dict(shape=(16, 16))),
    *cap_extremes(),
]


def sweep():
    cases = []
    for s, p, d in itertools.product([1, 2, (2, 1)], [0, 1], [1, 2]):
        cases.append(
            (
                "conv2d",
                dict(input_shape=(5, 6), kernel_shape=(2, 3), stride=s, padding=p, dilation=d),
            )
        )
        cases.append(
            (
                "conv_transpose2d",
                dict(input_shape=(3, 2), kernel_shape=(2, 2), stride=s, padding=p, dilation=d),
            )
        )
    for k, s, p in itertools.product([2, 3], [None, 1, 2], [0, 1]):
        cases.append(("max_pool2d", dict(input_shape=(5, 5), kernel_size=k, stride=s, padding=p)))
        cases.append(("avg_pool2d", dict(input_shape=(5, 5), kernel_size=k, stride=s, padding=p)))
    for op, b in itertools.product(
        ("add", "sub", "mul", "div"), ("none", "row", "column", "scalar")
    ):
        cases.append((op, dict(shape=(2, 3), broadcast=b)))
    cases += [
        (op, dict(shape=(3, 2))) for op in ("relu", "sigmoid", "tanh", "exp", "log", "sum", "mean")
    ]
    cases += [
        ("linear", dict(batch=3, in_features=4, out_features=2)),
        ("softmax_cross_entropy", dict(num_classes=5, target=4)),
        ("conv2d", dict(input_shape=(12, 12), kernel_shape=(3, 3))),
        ("softplus", dict(shape=(2, 2))),  # eˣ in its text
        ("mlp", {}),  # w⁽²⁾ and ∈ in the texts
        ("cnn", {}),
    ]
    cases += EXTREMES
    out = []
    for op, kw in cases:
        try:
            out.append(derive(op, **kw))
        except ValueError:
            pass  # an impossible combination; the derivation tests cover the message
    return out


DERIVATIONS = sweep()


@pytest.mark.parametrize("d", DERIVATIONS, ids=lambda d: f"{d.op}-{d.params}")
def test_steps_are_katex_safe_across_parameters(d):
    for s in d.steps:
        assert_katex_safe(s.latex)


@pytest.mark.skipif(not shutil.which("pdflatex"), reason="pdflatex is not installed (texlive)")
def test_latex_export_compiles(tmp_path):
    failed = []
    for i, d in enumerate(DERIVATIONS):
        (tmp_path / f"d{i}.tex").write_text(to_latex(d))
        r = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"d{i}.tex"],
            cwd=tmp_path,
            capture_output=True,
            encoding="utf-8",
            errors="replace",  # TeX cuts its log lines at 79 bytes, through a character
            timeout=120,
        )
        if r.returncode:
            errors = [line for line in r.stdout.splitlines() if line.startswith("!")]
            failed.append((d.op, d.params, errors[:1]))
    assert not failed, failed


def test_markdown_and_text_exports_hold_every_step():
    d = derive("conv2d")
    md, txt = to_markdown(d), to_text(d)
    for n, s in enumerate(d.steps, 1):
        assert f"## {n}. {s.title}" in md and f"{n}. {s.title}" in txt
    assert md.count("$$") == 2 * len(d.steps)


def test_latex_lines_stay_short_enough_for_tex():
    """TeX reads a line at a time into a buffer of about 200,000 characters."""
    doc = to_latex(derive("conv2d", input_shape=(16, 16), kernel_shape=(6, 6)))
    assert max(len(line) for line in doc.splitlines()) <= 200
    assert r"\begin{align*}" in doc  # long blocks may break across pages
