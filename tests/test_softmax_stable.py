"""Softmax + cross-entropy's symbolic numbers at large logits: the lesson's
expressions are evaluated with the scores less their max (p, the loss and every partial are
the same), so logits of ±999999 are finite and agree with the engine, and the page says
nothing is undefined."""

import numpy as np
import pytest

import engine
from derivations import derive
from tests.test_app import open_page, verdicts

LOGITS = [[710.0, 0.0, 0.0], [999999.0, -999999.0, 0.0], [-999999.0, 999999.0, 5.0], [1, 2, 3]]


@pytest.mark.parametrize("target", [0, 2])
@pytest.mark.parametrize("f", LOGITS)
def test_the_symbolic_numbers_match_the_engine_at_any_logits(f, target):
    d = derive("softmax_cross_entropy", num_classes=3, target=target)
    x, up = np.array([f]), [[0.5]]
    got = d.evaluate({"f": x}, up)["f"]
    want = engine.cross_entropy_backward(x, [target], 0.5)
    assert np.all(np.isfinite(got)) and np.allclose(got, want, rtol=1e-12, atol=1e-300)
    loss = d.forward({"f": x})
    assert np.isfinite(loss).all() and np.isclose(loss[0, 0], engine.cross_entropy(x, [target]))
    chain = d.chain_rule("f", (0, 1), {"f": x}, up)
    assert "nan" not in chain and "inf" not in chain


def test_a_network_ending_in_softmax_is_finite_at_large_scores():
    d = derive("mlp", layer_sizes=(2, 3, 2), activation="tanh", target=0)
    values = {n: np.full(m.shape, 400.0) for n, m in d.inputs.items()}
    values["X"] = np.array([[3.0, -3.0]])
    grads = d.evaluate(values, None)
    assert all(np.all(np.isfinite(g)) for g in grads.values())


@pytest.mark.parametrize("f", ["999999_-999999_0", "1000_0_0", "-999999_999999_5"])
def test_the_page_checks_large_logits_instead_of_calling_them_undefined(f):
    at = open_page("pages/softmax.py", {"values": "edit", "f": f})
    errors = " ".join(e.value for e in at.error)
    assert "not defined" not in errors and not at.error, errors
    assert verdicts(at) and "FAIL" not in verdicts(at)
