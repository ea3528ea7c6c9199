"""Imports run one way: pages and app → ui → derivations → grading → mathtext → workers, and
engine on its own; bench uses them all, tests use everything, and nothing imports tests.

Every import is counted, the ones inside functions too (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "workers", "mathtext", "grading", "derivations", "ui", "bench", "tests")
PROJECT = {*PACKAGES, "pages", "app"}

# the project packages each may import (besides itself), and for the lowest layers the only
# installed packages they may use
MAY_IMPORT = {
    "engine": set(),
    "workers": set(),
    "mathtext": {"workers"},
    "grading": {"mathtext", "workers"},
    "derivations": {"mathtext", "workers"},
    "ui": {"derivations", "grading", "mathtext", "workers", "engine"},
    "bench": {"engine", "workers", "mathtext", "grading", "derivations", "ui"},
    "pages": {"engine", "workers", "mathtext", "grading", "derivations", "ui"},
    "app": {"engine", "workers", "mathtext", "grading", "derivations", "ui"},
}
INSTALLED = {
    "engine": {"numpy"},
    "workers": {"sympy"},
    "mathtext": {"sympy", "numpy", "mpmath"},
    "grading": {"sympy", "numpy", "mpmath"},
}
# derivations/__init__.py re-exports check_answer and names_for: the package's public names
# stay where they were; none of its maths modules imports grading
REEXPORTS = {"derivations/__init__.py": {"grading"}}
PENDING: set[str] = set()  # modules allowed to break a rule for now: none


def _modules():
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        top = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        if top in MAY_IMPORT or top == "tests":
            yield rel.as_posix(), top, path


def _imports(path: pathlib.Path, top: str):
    """(line, top-level name) of every import in the file; relative ones are the package's."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            yield node.lineno, top if node.level else (node.module or "").split(".")[0]


def _wrong(rel: str, top: str, path: pathlib.Path) -> list[str]:
    allowed = MAY_IMPORT.get(top, PROJECT - {"tests"}) | {top} | REEXPORTS.get(rel, set())
    wrong = []
    for line, name in _imports(path, top):
        if name in PROJECT and name not in allowed:
            wrong.append(f"{rel}:{line} imports {name}")
        installed = INSTALLED.get(top)
        outside = name not in PROJECT and name not in sys.stdlib_module_names
        if installed is not None and outside and name not in installed and name != "__future__":
            wrong.append(f"{rel}:{line} imports {name} (allowed: {sorted(installed)})")
    return wrong


MODULES = [m for m in _modules() if m[1] != "tests"]


@pytest.mark.parametrize(
    ("rel", "top", "path"),
    [
        m if m[0] not in PENDING else pytest.param(*m, marks=pytest.mark.xfail(strict=True))
        for m in MODULES
    ],
    ids=[m[0] for m in MODULES],
)
def test_imports_run_one_way(rel, top, path):
    assert _wrong(rel, top, path) == []


def test_nothing_imports_the_tests():
    wrong = [
        f"{rel}:{line}"
        for rel, top, path in MODULES
        for line, name in _imports(path, top)
        if name == "tests"
    ]
    assert wrong == []


def test_the_rules_catch_an_upward_import(tmp_path):
    """The checker itself: an upward, a sideways and a foreign import are each found."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import numpy\nfrom grading import check_answer\n"
        "def f():\n    from ui import registry\n    import streamlit\n"
    )
    assert _wrong("mathtext/bad.py", "mathtext", bad) == [
        "mathtext/bad.py:2 imports grading",
        "mathtext/bad.py:4 imports ui",
        "mathtext/bad.py:5 imports streamlit (allowed: ['mpmath', 'numpy', 'sympy'])",
    ]
    assert _wrong("engine/bad.py", "engine", bad)[0] == "engine/bad.py:2 imports grading"
    assert _wrong("derivations/__init__.py", "derivations", bad) == [
        "derivations/__init__.py:4 imports ui"
    ]
    assert _wrong("ui/bad.py", "ui", bad) == []
