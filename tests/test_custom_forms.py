"""Your own function as the learner wrote it: the lesson writes f(x) and f′(x)
(not f(t)), and a function typed with sigmoid gets its derivative in σ — x·sigmoid(x) gives
σ(x)(x(1 − σ(x)) + 1), not (x + eˣ + 1)/(4cosh²(x/2)) — when that is no longer than sympy's
simplified form and equal to it."""

import numpy as np
import pytest
import sympy as sp

from derivations import custom, derive

pytestmark = pytest.mark.usefixtures("worker_up")  # tests/conftest.py


def _all(d) -> str:
    return " ".join(s.latex for s in d.steps)


@pytest.mark.parametrize("f", ["x*sigmoid(x)", "x**2*sin(x)", "log(1+exp(x))", "1/x"])
def test_the_lesson_writes_f_of_x(f):
    d = derive("custom", f=f)
    text = _all(d)
    assert "f(x) &=" in d.steps[0].latex and "f'(x) &=" in d.steps[1].latex
    assert "(t)" not in text and "{t}" not in text and " t " not in text


def test_swish_is_written_in_sigma():
    d = derive("custom", f="x*sigmoid(x)")
    setup, derivative = d.steps[0].latex, d.steps[1].latex
    assert r"f(x) &= x \sigma\!\left(x\right)" in setup
    second = derivative.split(r"\\")[-1]
    assert r"\sigma\!\left(x\right)" in second and r"\cosh" not in _all(d)
    assert "σ′ = σ(1 − σ)" in d.steps[1].text
    assert r"\sigma\!\left(x_{11}\right)" in d.partial_latex("X", (0, 0), (0, 0))
    # the form shown is the derivative the numbers use
    f, fprime = custom.custom_function("x*sigmoid(x)")
    shown = custom.typed_form(f, fprime)
    xs = np.linspace(-30, 30, 121)
    got = custom.evaluate(shown.rewrite(sp.exp), xs)
    want = 1 / (1 + np.exp(-xs)) * (1 + xs * (1 - 1 / (1 + np.exp(-xs))))
    assert np.allclose(got, want, rtol=1e-12, atol=1e-15)
    assert sp.count_ops(shown) <= sp.count_ops(fprime)


def test_sigma_only_where_the_learner_typed_sigmoid():
    d = derive("custom", f="1/(1+exp(-x))")
    assert r"\sigma" not in _all(d)  # they typed the exponentials: they get them back
    d = derive("custom", f="sigmoid(x)^2")
    assert r"\sigma^{2}\!\left(x\right)" in d.steps[0].latex
    assert r"\sigma" in d.steps[1].latex.split(r"\\")[-1]
    assert derive("custom", f="x**2*sin(x)").custom.tex["form"] == "simplified"
