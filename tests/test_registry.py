"""The registry is the one place for an op: every op has what every op needs, and no table
anywhere names an op the registry does not have (a typo there would silently drop a hint)."""

import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import engine
from derivations import DERIVATIONS, WORK
from derivations.cli import flags
from derivations.param_kinds import DEFAULT, Choice, Int, Kind, Pair
from ui.notes_mistakes import BY_KEY
from ui.registry import OPS, PAGES

ROOT = Path(__file__).resolve().parent.parent
# collections keyed mostly by op names that are keyed by something else: the reason why
NOT_OP_KEYED = {
    ("tree", "_GROWING"): "sympy functions whose expansion grows, not ops",
}


def test_the_app_and_derive_know_the_same_ops_in_the_same_order():
    assert list(OPS) == list(DERIVATIONS)
    for name, spec in OPS.items():
        assert spec.derivation is DERIVATIONS[name]


@pytest.mark.parametrize("op", list(OPS))
def test_every_op_has_what_every_op_needs(op):
    spec = OPS[op]
    assert spec.title and spec.page in PAGES
    assert callable(spec.derivation.math) and callable(spec.derivation.lesson)
    assert callable(spec.engine_forward) and callable(spec.engine_grads)
    # a PyTorch reference, or the reason there is none (never both)
    assert (spec.torch is None) == bool(spec.no_torch_because), op
    assert spec.torch is None or callable(spec.torch)
    for check in (spec.kink, spec.undefined, spec.geometry):
        assert check is None or callable(check)
    assert bool(spec.positive) == bool(spec.domain) or op == "custom"
    assert spec.values in ("integers", "reals")
    assert isinstance(spec.practice_tip, str) and isinstance(spec.exp_overflow, bool)
    assert all(key in BY_KEY for key in spec.mistakes), spec.mistakes
    if spec.derivation.work is not None:
        assert spec.derivation.work(**spec.defaults()) > 0


@pytest.mark.parametrize("op", list(OPS))
def test_every_parameter_round_trips_through_a_link_and_has_one_kind(op):
    for p in OPS[op].params:
        assert isinstance(p.kind, Kind), p.name
        got = p.decode(p.encode(p.default))
        assert got == (DEFAULT if p.default is None else p.default), (p.name, got)
        for v in p.extremes():  # every end of the range is a value a link can carry
            assert p.decode(p.encode(v)) == (DEFAULT if v is None else v), (p.name, v)


@pytest.mark.parametrize("op", list(OPS))
def test_a_link_notice_names_the_range_that_a_link_can_carry(op):
    """What ``Param.ignored`` says fits is what ``decode`` takes: the numbers it names are the
    ends of the range, and one past them is ignored."""
    for p in OPS[op].params:
        said = p.ignored("§")
        assert said.startswith(f"{p.name}='§' (") and said.endswith(")"), said
        numbers = [int(n) for n in re.findall(r"\b\d+\b", said.split("(", 1)[1])]
        if isinstance(p.kind, Pair):
            lo, hi = numbers[:2]
            assert p.decode(f"{lo}x{hi}") == (lo, hi) and p.decode(f"{hi + 1}x{lo}") is None
        elif isinstance(p.kind, Int):
            lo, hi = numbers[:2]
            assert p.decode(str(lo)) is not None and p.decode(str(hi)) is not None, said
            assert p.decode(str(hi + 1)) is None and p.decode(str(lo - 1)) is None, said
        elif isinstance(p.kind, Choice):
            assert all(str(c) in said for c in p.choices), said


def test_every_mistake_is_offered_by_the_op_it_is_about():
    for key, m in BY_KEY.items():
        assert m.op in OPS, (key, m.op)
        assert key in OPS[m.op].mistakes, key


def test_the_cli_flags_come_from_the_table():
    table = flags()  # raises where one flag would take values of two kinds
    named = {(op, name) for _, ops in table.values() for op, name in ops.items()}
    assert named == {(op, p.name) for op, e in DERIVATIONS.items() for p in e.params}


def test_the_derivations_cli_does_not_import_the_app():
    code = (
        "import runpy, sys; sys.argv = ['derivations', 'relu', '--shape', '2x2'];"
        "\ntry:\n    runpy.run_module('derivations', run_name='__main__')"
        "\nexcept SystemExit:\n    pass"
        "\nprint(sorted(m for m in sys.modules if m.split('.')[0] in ('ui', 'streamlit')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def _packages() -> list[str]:
    """The project's packages (tests and benchmarks aside), wherever a module moves."""
    return sorted(
        d.name
        for d in ROOT.iterdir()
        if (d / "__init__.py").exists() and d.name not in ("tests", "bench")
    )


def _collections(module):
    """Each module-level dict's keys (a tuple key's first part) and each tuple or set of
    strings, by name."""
    for name, v in vars(module).items():
        if isinstance(v, dict):
            keys = [k[0] if isinstance(k, tuple) and k else k for k in v]
        elif isinstance(v, tuple | set | frozenset) and v and all(isinstance(k, str) for k in v):
            keys = list(v)
        else:
            continue
        yield name, [k for k in keys if isinstance(k, str)]


def _op_keyed_collections():
    for package in _packages():
        pkg = importlib.import_module(package)
        for info in pkgutil.walk_packages(pkg.__path__, f"{package}."):
            module = importlib.import_module(info.name)
            for name, keys in _collections(module):
                if (info.name.rsplit(".", 1)[-1], name) in NOT_OP_KEYED:
                    continue
                ops = [k for k in keys if k in OPS]
                if len(ops) >= 2 and 2 * len(ops) >= len(keys):  # mostly op names
                    yield f"{info.name}.{name}", keys


def test_no_op_keyed_table_names_an_op_the_registry_does_not_have():
    found = dict(_op_keyed_collections())
    # the scan sees the tables it must (the maths', the lessons', the work counts)
    for name in ("derivations.elementwise.UNARY", "derivations.lessons.elementwise.UNARY_TEXT"):
        assert name in found, sorted(found)
    bad = {name: [k for k in keys if k not in OPS] for name, keys in found.items()}
    assert not {name: ks for name, ks in bad.items() if ks}
    assert set(WORK) <= set(OPS)


def test_the_scan_finds_a_typo(monkeypatch):
    """The check above fails for a mistyped op in a table of ops."""
    import ui.state

    monkeypatch.setattr(ui.state, "_TYPO", ("exp", "sigmoid", "softplas"), raising=False)
    found = dict(_op_keyed_collections())
    assert found["ui.state._TYPO"] == ["exp", "sigmoid", "softplas"]


def test_every_op_has_its_engine_function_or_says_what_it_is_built_from():
    # engine.nn layers (networks, the residual block), engine.cross_entropy, a typed formula
    elsewhere = {"mlp", "cnn", "residual", "softmax_cross_entropy", "custom"}
    for op in OPS:
        assert op in elsewhere or callable(getattr(engine, op, None)), op
