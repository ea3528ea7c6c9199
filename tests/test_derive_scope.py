"""derive()'s scope argument: anything but None or a well-formed Scope is a
ValueError naming the argument, for every op; before, 'l1' was an AttributeError and a lambda,
sent to the worker with your own function, a PicklingError."""

import pytest

from derivations import DERIVATIONS, Scope, derive, derive_math

BAD = ["l1", lambda: 0, 1, Scope(layer="x"), Scope(layer=0), Scope(loss=3), Scope(letters="ab")]


pytestmark = pytest.mark.usefixtures("worker_up")  # tests/conftest.py


def _params(op: str) -> dict:
    return {"f": "x"} if op == "custom" else {}


@pytest.mark.parametrize("op", list(DERIVATIONS))
def test_a_bad_scope_is_a_value_error_naming_it(op):
    for scope in BAD:
        with pytest.raises(ValueError, match=rf"^{op}: scope(\.\w+)? must be"):
            derive(op, scope=scope, **_params(op))
        with pytest.raises(ValueError, match=rf"^{op}: scope"):
            derive_math(op, scope=scope, **_params(op))


@pytest.mark.parametrize("op", ["relu", "conv2d", "custom"])
def test_a_good_scope_still_names_the_symbols(op):
    d = derive(op, scope=Scope(2), **_params(op))
    assert str(d.inputs["X"][0, 0]) == "x^{(2)}_{11}"
    assert derive(op, scope=None, **_params(op)).inputs["X"][0, 0].name == "x_{11}"
