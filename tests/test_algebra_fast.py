"""The fast paths of derivations/algebra.py build the very objects sympy would: the same
arguments in the same order, so structural equality (what the pattern proofs use first) still
holds. Checked on random mixes of the terms the derivations make, and on every partial
derivative the ops build."""

import random

import pytest
import sympy as sp

from derivations import derive
from derivations.algebra import add, rename_symbols, substitute, times
from mathtext.functions import FirstMax

XS = [sp.Symbol(f"x_{{{i},{j}}}") for i in range(1, 12) for j in range(1, 12)]
KS = [sp.Symbol(f"k_{{{i}{j}}}") for i in range(1, 4) for j in range(1, 4)]
UPS = [sp.Symbol(rf"\frac{{\partial L}}{{\partial z_{{{i}{j}}}}}") for i in (1, 2) for j in (1, 2)]


def _term(rnd: random.Random):
    kind = rnd.randrange(8)
    if kind == 0:
        return times(rnd.choice(XS), rnd.choice(KS))
    if kind == 1:
        return rnd.choice([*XS, *KS, sp.Symbol("b")])
    if kind == 2:
        coef = sp.Rational(rnd.choice([1, -1, 2, 3]), rnd.choice([1, 4, 36]))
        return times(coef, rnd.choice(XS))
    if kind == 3:
        window = sp.Tuple(*rnd.sample(XS, 4))
        return times(rnd.choice(UPS), FirstMax.of(rnd.randrange(4), window))
    if kind == 4:
        return times(rnd.choice(UPS), rnd.choice(XS), rnd.choice(KS))
    if kind == 5:
        return sp.Integer(rnd.randint(-2, 2))
    if kind == 6:
        return sp.exp(rnd.choice(XS)) / (1 + sp.exp(-rnd.choice(XS)))
    return rnd.choice(XS) ** 2


def same(a, b) -> bool:
    return type(a) is type(b) and a == b and a.args == b.args


@pytest.mark.parametrize("seed", range(300))
def test_sums_are_the_ones_add_builds(seed):
    rnd = random.Random(seed)
    terms = [_term(rnd) for _ in range(rnd.randint(0, 30))]
    assert same(add(terms), sp.Add(*terms))


@pytest.mark.parametrize("seed", range(100))
def test_products_are_the_ones_mul_builds(seed):
    rnd = random.Random(seed)
    a, b = rnd.choice(UPS), _term(rnd)
    assert same(times(a, b), sp.Mul(a, b))
    assert same(times(a, -b), sp.Mul(a, -b))
    c, x, k = sp.Rational(1, rnd.choice([2, 9])), rnd.choice(XS), rnd.choice(KS)
    assert same(times(c, x, k), sp.Mul(c, x, k))
    assert same(times(1, x), x) and same(times(sp.S.One, x, k), sp.Mul(x, k))


@pytest.mark.parametrize(
    "op,params",
    [
        ("sigmoid", {}),
        ("tanh", {}),
        ("log", {}),
        ("relu", {}),
        ("softplus", {}),
        ("leaky_relu", dict(negative_slope=0.2)),
        ("div", dict(broadcast="row")),
        ("softmax_cross_entropy", dict(num_classes=4, target=1)),
        ("mlp", {}),
        ("cnn", {}),
    ],
)
def test_every_partial_times_an_upstream_symbol_is_what_mul_builds(op, params):
    up = sp.Symbol(r"\frac{\partial J}{\partial y_{11}}")
    for entries in derive(op, **params).jac.values():
        for outs in entries.values():
            for p in outs.values():
                for e in (p, -p, 3 * p, p + 1):
                    assert same(times(up, e), sp.Mul(up, e)), e


def test_renaming_gives_what_xreplace_gives():
    t, u = sp.symbols("t u")
    templates = [
        1 / (1 + sp.exp(-t)),
        sp.diff(1 / (1 + sp.exp(-t)), t),
        sp.Piecewise((t, t > 0), (sp.Float(0.01) * t, True)),
        sp.Max(0, t),
        t / u,
        sp.diff(t / u, u),
        2 * t * u + t**2,
    ]
    for f in templates:
        for x, y in [(XS[0], XS[5]), (XS[7], KS[1]), (KS[2], XS[3])]:
            names = {t: x, u: y}
            assert same(rename_symbols(f, names), f.xreplace(names)), f
    # a renaming onto a symbol already there is no renaming: xreplace decides
    assert same(rename_symbols(t + u, {t: u}), (t + u).xreplace({t: u}))


def test_substitution_gives_what_xreplace_gives_and_keeps_a_max_unevaluated():
    t, u = sp.symbols("t u")
    rule = {t: XS[0] * KS[0] + XS[1] * KS[1], u: sp.Max(0, XS[2])}
    for e in [t * u + sp.exp(t), sp.Piecewise((1, t > 0), (0, True)), (t + u) ** 2]:
        assert same(substitute(e, rule), e.xreplace(rule))
    m = sp.Max(t, u, evaluate=False)
    assert same(substitute(m, rule), sp.Max(*[rule[a] for a in m.args], evaluate=False))


def test_a_first_max_built_directly_is_the_function_sympy_builds():
    window = sp.Tuple(*XS[:4])
    assert same(FirstMax.of(2, window), FirstMax(2, window))
    assert FirstMax(1, sp.Tuple(1, 3, 3)) == 1 and FirstMax(2, sp.Tuple(1, 3, 3)) == 0
