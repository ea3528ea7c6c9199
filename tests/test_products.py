"""Every product a lesson writes reads as a product: ∂J/∂y₁₁ · (−1/x₁₁²), never
∂J/∂y₁₁ − 1/x₁₁². Each chain-rule term of every op (and of your own functions) is read back
(no + or − outside its brackets: one product, not a sum), bracketed exactly where sympy's
printer brackets the same product, and the steps never put a sign straight after an upstream
factor."""

import re

import pytest
import sympy as sp

from derivations import DERIVATIONS, derive
from derivations.product import bracketed, product_tex, times
from derivations.typeset import tex

CASES = [(op, {}) for op in DERIVATIONS if op != "custom"] + [
    ("leaky_relu", {"negative_slope": -0.5}),
    *[(op, {"broadcast": b}) for op in ("sub", "div") for b in ("row", "column", "scalar")],
    ("conv2d", {"input_shape": (4, 4), "kernel_shape": (2, 2), "stride": 2, "padding": 1}),
    ("max_pool2d", {"input_shape": (3, 3), "kernel_size": 2, "stride": 1}),
    ("mean", {"shape": (3, 2)}),
]
# negative, constant, sum, reciprocal, Piecewise and indicator derivatives
FUNCTIONS = [
    "1/x",
    "exp(-x^2)",
    "cos(x)",
    "x*sigmoid(x)",
    "-x",
    "1 - 3*x",
    "2*x",
    "x**3 - x",
    "relu(x)",
    "abs(x)",
    "log(1 + exp(-x))",
    "-tanh(x)",
]


def top_level_signs(text: str) -> list[int]:
    """Where a + or − stands outside every brace group and \\left … \\right pair: a formula with
    one reads as a sum (or a negated term), not as one product."""
    depth, found, i = 0, [], 0
    while i < len(text):
        m = re.match(r"\\left[(\[.|]|\\right[)\].|]|\\[a-zA-Z]+|\\.", text[i:])
        if m:
            depth += 1 if m.group(0).startswith(r"\left") else 0
            depth -= 1 if m.group(0).startswith(r"\right") else 0
            i += len(m.group(0))
            continue
        ch = text[i]
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if ch in "+-" and depth == 0:
            found.append(i)
        i += 1
    return found


def test_the_reader():
    assert top_level_signs(r"\frac{\partial J}{\partial y_{11}} - \frac{1}{x_{11}^{2}}") == [35]
    assert top_level_signs(r"a \cdot -1") and top_level_signs(r"a x_{11} + 1")
    assert not top_level_signs(r"a \left(- \frac{1}{x^{2}}\right) e^{- x^{2}} \left[x > 0\right]")
    assert bracketed(r"\left(a + b\right)") and not bracketed(r"\left(a\right) + \left(b\right)")


def _terms(d):
    """Every chain-rule term of every gradient entry: (name, idx, up, partial, override, text,
    text with ·)."""
    for name, entries in d.jac.items():
        for idx, outs in entries.items():
            for o, partial in outs.items():
                yield (
                    name,
                    idx,
                    d.upstream[o],
                    partial,
                    d.partial_tex.get((name, idx, o)),
                    d.term_latex(name, idx, o),
                    d.term_latex(name, idx, o, r" \cdot "),
                )


def _check(d) -> int:
    steps = " ".join(s.latex for s in d.steps)
    seen = 0
    for _, _, up, partial, override, plain, dotted in _terms(d):
        for text in (plain, dotted):
            assert not top_level_signs(text), f"{d.op}: {text} reads as a sum"
            assert text.startswith(tex(up))
        if override is None:
            # sympy's own product (a bare 1/x it would fold into one fraction, unbracketed)
            sympy_tex = sp.latex(sp.Mul(sp.Symbol("U"), partial, evaluate=False))
            shown = rf"\left({tex(partial)}\right)"
            assert plain.endswith(shown) == sympy_tex.endswith(shown), (d.op, plain, sympy_tex)
        seen += plain in steps or dotted in steps
        # no step writes a sign straight after an upstream factor that starts a term
        up_tex = re.escape(tex(up))
        bad = re.search(rf"(?:&= |[=+-] |^|\{{){up_tex}(?: \\cdot)? [-+]", steps)
        assert bad is None, f"{d.op}: {steps[bad.start() : bad.end() + 40]}"
    # a network's lesson writes its terms layer by layer, in the layers' own symbols
    assert seen or d.parts is not None, f"{d.op}: no chain-rule term found in its steps"
    return seen


def _parts(m):
    """A chain's parts, down to the single ops (a network's layers)."""
    if m.parts is None:
        return [m]
    first, second, _ = m.parts
    return _parts(first) + _parts(second)


@pytest.mark.parametrize(("op", "params"), CASES, ids=[f"{o}-{p}" for o, p in CASES])
def test_every_op_writes_its_chain_rule_terms_as_products(op, params):
    d = derive(op, **params)
    _check(d)
    for part in _parts(d) if d.parts is not None else []:
        for *_, plain, dotted in _terms(part):
            assert not top_level_signs(plain) and not top_level_signs(dotted), (op, plain)
    if d.parts is None:  # "Which cells fed it?": the same products, with a ·
        for name, idx, *_, dotted in list(_terms(d))[:20]:
            assert dotted in d.chain_rule(name, idx)


@pytest.mark.parametrize("f", FUNCTIONS)
def test_your_own_function_writes_products(worker_up, f):
    d = derive("custom", f=f, shape=(2, 2))
    _check(d)
    result = next(s for s in d.steps if s.kind == "result")
    assert d.term_latex("X", (0, 0), (0, 0)) in result.latex


def test_the_issue_example(worker_up):
    d = derive("custom", f="1/x", shape=(2, 2))
    result = next(s for s in d.steps if s.kind == "result").latex
    assert r"\frac{\partial J}{\partial y_{11}} \left(- \frac{1}{x_{11}^{2}}\right)" in result
    assert r"\frac{\partial J}{\partial y_{11}} - \frac{1}{x_{11}^{2}}" not in result


def test_products_match_sympy():
    x, y, u = sp.symbols("x_{11} y_{11} U")
    for p in [-1 / x**2, -2 * x * sp.exp(-(x**2)), -sp.sin(x), sp.Integer(-1), x + 1, x**2]:
        assert product_tex([(u, None), (p, None)]) == sp.latex(sp.Mul(u, p, evaluate=False))
    assert product_tex([(u, None), (sp.Integer(2), None)]) == "U 2"  # sympy's rule: letters
    up = sp.Symbol(r"\frac{\partial J}{\partial y_{11}}")
    assert product_tex([(up, None), (2 * x, None)]) == sp.latex(sp.Mul(up, 2 * x, evaluate=False))
    assert times(-1, [x, y]) == "-x_{11} y_{11}" and times(sp.Rational(1, 4), [x]) == (
        r"\frac{1}{4} x_{11}"
    )
    assert times(1, []) == "1" and times(-1, [x + 1]) == r"-\left(x_{11} + 1\right)"
