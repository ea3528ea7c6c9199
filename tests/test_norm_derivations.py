"""Batch norm, layer norm and the residual block, derived: the interfaces, the
compact form proven, the Jacobian's block structure, the diagonal mistake, I + J_f, eps, the
staged numbers against the expressions they stand for, against sympy.diff, the engine and
PyTorch autograd at random sizes, the caps, practice's names and the CLI."""

import re

import numpy as np
import pytest
import sympy as sp

from derivations import check_answer, derive, names_for
from derivations.__main__ import main as cli
from derivations.norm import EPS
from derivations.params import TooBig
from mathtext.functions import NUMERIC
from tests.test_derivations import assert_katex_safe
from ui import links, patterns
from ui.practice_model import expected
from ui.registry import OPS

NORMS = ("batch_norm", "layer_norm")


def _numbers(d, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    values = {n: rng.normal(0, scale, m.shape) for n, m in d.inputs.items()}
    return values, rng.normal(size=d.upstream.shape)


def _plain_function(d, exprs):
    """The expressions compiled as they stand (no named subexpressions): slow, the reference."""
    args = [s for m in d.inputs.values() for s in m] + list(d.upstream)
    plain = {s: sp.Symbol(f"a{i}") for i, s in enumerate(args)}
    fn = sp.lambdify([plain[s] for s in args], [e.xreplace(plain) for e in exprs], NUMERIC)

    def run(values, up):
        flat = [v for n in d.inputs for v in np.ravel(values[n])] + list(np.ravel(up))
        return [np.asarray(r, float) for r in fn(*flat)]

    return run


# ---------------------------------------------------------------- the interfaces


@pytest.mark.parametrize(
    "op,params,shapes",
    [
        ("batch_norm", dict(batch=3, features=2), {"X": (3, 2), "gamma": (1, 2), "beta": (1, 2)}),
        ("layer_norm", dict(batch=2, features=3), {"X": (2, 3), "gamma": (1, 3), "beta": (1, 3)}),
        ("residual", dict(features=2, activation="tanh"), {"X": (1, 2), "W": (2, 2), "b": (1, 2)}),
    ],
)
def test_the_interfaces_of_the_issue(op, params, shapes):
    d = derive(op, **params)
    assert {n: m.shape for n, m in d.inputs.items()} == shapes
    assert {n: g.shape for n, g in d.grads.items()} == shapes
    assert d.output.shape == shapes["X"]
    assert all(ok for _, ok in d.checks), d.checks
    for g in d.grads.values():  # in the inputs and the upstream only
        allowed = set(d._args)
        assert all(e.free_symbols <= allowed for e in g)
    values, up = _numbers(d)
    got = d.evaluate(values, up)
    assert {n: a.shape for n, a in got.items()} == shapes
    for s in d.steps:
        assert_katex_safe(s.latex)


def test_the_defaults_are_the_issues_sizes():
    assert derive("batch_norm").params == dict(batch=3, features=2)
    assert derive("layer_norm").params == dict(batch=2, features=3)
    assert derive("residual").params == dict(features=2, activation="tanh")


# ---------------------------------------------------------------- against the truth


@pytest.mark.parametrize("op", NORMS)
def test_the_partials_are_sympy_diff_of_the_output(op):
    """The partials came from the chain rule through μ and σ on a template; here sympy
    differentiates the written-out output directly, at random points."""
    d = derive(op, batch=3, features=3)
    values, _ = _numbers(d, 1)
    env = {s: v for n, m in d.inputs.items() for s, v in zip(m, np.ravel(values[n]), strict=True)}
    X = d.inputs["X"]
    for (k, col), outs in d.jac["X"].items():
        for o in np.ndindex(*d.output.shape):
            direct = float(sp.diff(d.output[o], X[k, col]).xreplace(env))
            ours = float(outs[o].xreplace(env)) if o in outs else 0.0
            assert direct == pytest.approx(ours, abs=1e-9), (o, (k, col))


@pytest.mark.parametrize("op", [*NORMS, "residual"])
def test_staged_numbers_are_the_expressions_numbers(op):
    """evaluate() and the panels compute μ, σ, x̂ once (named subexpressions): the same numbers
    as the written-out expressions compiled as they stand."""
    d = derive(op)
    values, up = _numbers(d, 2)
    names = list(d.inputs)
    plain = _plain_function(d, [*[d.grads[n] for n in names], d.output])(values, up)
    got = d.evaluate(values, up)
    for n, ref in zip(names, plain, strict=False):
        np.testing.assert_allclose(got[n], ref.reshape(got[n].shape), atol=1e-12)
    np.testing.assert_allclose(d.forward(values), plain[-1].reshape(d.output.shape), atol=1e-12)
    mats = [m for *_, m in links.own_panels(d)]
    staged = patterns.compile_matrices(d, mats)(values, up)
    for m, a, b in zip(mats, staged, _plain_function(d, mats)(values, up), strict=True):
        np.testing.assert_allclose(a, b.reshape(m.shape), atol=1e-12)


@pytest.mark.parametrize("op", [*NORMS, "residual"])
def test_symbolic_equals_torch_autograd_at_random_sizes(op):
    pytest.importorskip("torch")
    from ui import torch_ref

    spec, rng = OPS[op], np.random.default_rng(21)
    for _ in range(4):
        if op == "residual":
            params = dict(
                features=int(rng.integers(1, 7)),
                activation=str(rng.choice(["tanh", "sigmoid", "relu"])),
            )
        else:
            lo_n, lo_c = (2, 1) if op == "batch_norm" else (1, 2)
            params = dict(batch=int(rng.integers(lo_n, 7)), features=int(rng.integers(lo_c, 7)))
        d = derive(op, **params)
        values, up = _numbers(d, int(rng.integers(1000)), scale=2.0)
        sym, ref = d.evaluate(values, up), torch_ref.grads(spec, values, up, d.params)
        for n in d.inputs:
            np.testing.assert_allclose(sym[n], ref[n], atol=1e-10, err_msg=f"{op} {params} {n}")
        eng = spec.engine_grads(values, up, d.params)
        for n in d.inputs:
            np.testing.assert_allclose(sym[n], eng[n], atol=1e-10, err_msg=f"{op} {params} {n}")


def test_eps_is_pytorchs_and_counts_where_a_column_barely_varies():
    """σ = √(σ² + ε) with ε = 1e-5 exactly: a column whose variance is far below ε gives the
    engine's numbers at eps=1e-5, not at eps=0."""
    import engine

    assert EPS == sp.Rational(1, 100000)
    d = derive("batch_norm", batch=3, features=2)
    x = np.array([[1.0, 2.0], [1.001, -1.0], [1.002, 0.5]])  # column 1: variance 6.7e-7
    values = {"X": x, "gamma": np.array([[1.5, 0.5]]), "beta": np.array([[0.1, -0.2]])}
    up = np.array([[1.0, -2.0], [0.5, 1.0], [-1.0, 2.0]])
    y = d.forward(values)
    np.testing.assert_allclose(y, engine.batch_norm(x, [1.5, 0.5], [0.1, -0.2]), atol=1e-12)
    without = engine.batch_norm(x, [1.5, 0.5], [0.1, -0.2], eps=1e-12)
    assert abs(y[0, 0] - without[0, 0]) > 0.1  # ε matters here, and it is PyTorch's
    dx, _, _ = engine.batch_norm_backward(up, x, [1.5, 0.5])
    np.testing.assert_allclose(d.evaluate(values, up)["X"], dx, atol=1e-9)


# ---------------------------------------------------------------- the structure the lesson shows


@pytest.mark.parametrize("op,n,c", [("batch_norm", 4, 3), ("layer_norm", 3, 4)])
def test_the_jacobian_is_dense_in_its_group_and_zero_across(op, n, c):
    d = derive(op, batch=n, features=c)
    for (k, col), outs in d.jac["X"].items():
        same = [(i, col) for i in range(n)] if op == "batch_norm" else [(k, j) for j in range(c)]
        assert sorted(outs) == same  # every output of its group, none of another
        assert all(p != 0 for p in outs.values())
    J = dict((key, m) for key, _, _, m in links.own_panels(d))["J"]
    values, up = _numbers(d, 3)
    numbers = patterns.compile_matrices(d, [J])(values, up)[0]
    M = n if op == "batch_norm" else c
    blocks = np.kron(np.eye(n * c // M), np.ones((M, M)))
    assert np.all(numbers[blocks == 0] == 0) and np.all(numbers[blocks == 1] != 0)
    # and it is ∂y/∂x: finite differences of the engine's forward, in the panel's order
    order = [cell for g in d.norm.groups for cell in g.cells]
    fwd = OPS[op].engine_forward
    h = 1e-6
    for col, cell in enumerate(order):
        plus, minus = ({**values, "X": values["X"].copy()} for _ in range(2))
        plus["X"][cell] += h
        minus["X"][cell] -= h
        diff = (fwd(plus, d.params) - fwd(minus, d.params)) / (2 * h)
        np.testing.assert_allclose([diff[o] for o in order], numbers[:, col], atol=1e-6)


@pytest.mark.parametrize("op", NORMS)
def test_the_compact_form_is_proven_and_is_cs231ns(op):
    d = derive(op, batch=4, features=3)
    assert d.norm.proofs["compact"]
    label = next(p for p in d.patterns if p.startswith("dX"))
    assert d.patterns[label].ok and d.patterns[label].grad == "X"
    step = next(s for s in d.steps if s.title == "Pattern: the compact form of ∂L/∂X")
    assert step.proven and r"\checkmark" in step.latex
    values, up = _numbers(d, 4)
    x, w = values["X"], values["gamma"].ravel()
    axis = 0 if op == "batch_norm" else 1
    mu, var = x.mean(axis, keepdims=True), x.var(axis, keepdims=True)
    sigma = np.sqrt(var + 1e-5)
    xhat = (x - mu) / sigma
    g = up * w  # ∂L/∂x̂
    m = x.shape[axis]
    want = (m * g - g.sum(axis, keepdims=True) - xhat * (g * xhat).sum(axis, keepdims=True)) / (
        m * sigma
    )
    np.testing.assert_allclose(d.evaluate(values, up)["X"], want, atol=1e-10)


def test_the_compact_form_would_fail_if_the_paths_through_mu_were_dropped():
    """The proof can fail: the template's gradient without the μ path is not the compact form."""
    from derivations.norm import _template

    tp = _template(3, False, [])
    broken = [sp.expand(g + tp.g[0] * tp.gamma[0] / (3 * tp.s)) for g in tp.grads]
    assert any(sp.expand(a - b) != 0 for a, b in zip(broken, tp.compact, strict=True))
    assert all(sp.expand(a - b) == 0 for a, b in zip(tp.grads, tp.compact, strict=True))


@pytest.mark.parametrize("op", NORMS)
def test_the_diagonal_answer_differs_and_its_groups_do_not_sum_to_zero(op):
    d = derive(op, batch=3, features=3)
    assert d.norm.proofs["differs"]
    step = next(s for s in d.steps if s.kind == "mistake")
    assert "wrong" in step.shows and "d:X" in step.shows
    values, up = _numbers(d, 5)
    wrong = dict((k, m) for k, _, _, m in links.own_panels(d))["wrong"]
    diag = patterns.compile_matrices(d, [wrong])(values, up)[0]
    right = d.evaluate(values, up)["X"]
    axis = 0 if op == "batch_norm" else 1
    np.testing.assert_allclose(right.sum(axis), 0, atol=1e-10)  # proven: each group sums to 0
    assert np.abs(diag - right).max() > 1e-3
    scaled = up * values["gamma"]
    sigma = np.sqrt(values["X"].var(axis, keepdims=True) + 1e-5)
    np.testing.assert_allclose(diag, scaled / sigma, atol=1e-10)  # γ/σ ∂L/∂y, as the step says


def test_every_step_shows_matrices_the_page_has():
    for op in (*NORMS, "residual"):
        d = derive(op)
        keys = {k for k, _ in links.panels(d)} | {k for k, *_ in links.own_panels(d)}
        for s in d.steps:
            assert s.shows, s.title
            assert set(s.shows) <= keys, (op, s.title, s.shows)


# ---------------------------------------------------------------- the residual block


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "relu"])
def test_residual_dx_is_dy_times_identity_plus_jf(act):
    d = derive("residual", features=3, activation=act)
    assert d.patterns["dX = dY (I + J_f)"].ok
    J, dact = d.residual.J, d.residual.dact
    assert J == sp.diag(*dact) * d.inputs["W"].T
    values, up = _numbers(d, 6)
    eye_j = dict((k, m) for k, _, _, m in links.own_panels(d))["IJ"]
    ij = patterns.compile_matrices(d, [eye_j])(values, up)[0]
    got = d.evaluate(values, up)
    np.testing.assert_allclose(got["X"], up @ ij, atol=1e-12)
    # the identity path: dX − dY is what f passes back, W's transpose times dY ⊙ act′(Z)
    z = values["X"] @ values["W"] + values["b"]
    fprime = {
        "tanh": 1 - np.tanh(z) ** 2,
        "sigmoid": (s := 1 / (1 + np.exp(-z))) * (1 - s),
        "relu": (z > 0).astype(float),
    }[act]
    np.testing.assert_allclose(got["X"] - up, (up * fprime) @ values["W"].T, atol=1e-12)
    np.testing.assert_allclose(got["W"], values["X"].T @ (up * fprime), atol=1e-12)


def test_residual_mistake_drops_exactly_the_upstream():
    d = derive("residual", features=2, activation="sigmoid")
    values, up = _numbers(d, 7)
    wrong = dict((k, m) for k, _, _, m in links.own_panels(d))["wrong"]
    dropped = patterns.compile_matrices(d, [wrong])(values, up)[0]
    np.testing.assert_allclose(d.evaluate(values, up)["X"] - dropped, up, atol=1e-12)


def test_residual_relu_kink_is_reported():
    d = derive("residual", features=2, activation="relu")
    values = {"X": np.array([[1.0, 0.0]]), "W": np.eye(2), "b": np.array([[-1.0, 2.0]])}
    assert "exactly 0" in OPS["residual"].kink(values, d)
    values["b"] = np.array([[-0.5, 2.0]])
    assert OPS["residual"].kink(values, d) == ""


# ---------------------------------------------------------------- caps and bad input


@pytest.mark.parametrize(
    "op,params,fragment,too_big",
    [
        ("batch_norm", dict(batch=1), "batch must be at least 2", False),
        ("batch_norm", dict(batch=9), "batch must be a whole number from 2 to 8", True),
        ("batch_norm", dict(features=10**6), "features must be a whole number from 1 to 8", True),
        ("layer_norm", dict(features=1), "features must be at least 2", False),
        ("layer_norm", dict(batch=0), "batch must be a whole number from 1 to 8", False),
        ("layer_norm", dict(batch=2.5), "batch must be a whole number", False),
        ("residual", dict(features=9), "features must be a whole number from 1 to 8", True),
        (
            "residual",
            dict(activation="gelu"),
            "activation must be one of tanh, sigmoid, relu",
            False,
        ),
        ("batch_norm", dict(eps=0.1), "unexpected keyword argument 'eps'", False),
    ],
)
def test_bad_sizes_are_refused_naming_the_argument(op, params, fragment, too_big):
    with pytest.raises(ValueError, match=re.escape(fragment)) as info:
        derive(op, **params)
    assert str(info.value).startswith(op)
    assert isinstance(info.value, TooBig) == too_big


# ---------------------------------------------------------------- practice and the CLI


def test_practice_names_and_answers_in_the_lessons_quantities():
    d = derive("batch_norm")
    names = names_for(d)
    assert {"gamma1", "beta2", "dy31", "mu1", "sigma2", "xhat32"} <= set(names)
    right = (
        "gamma1/(3*sigma1)*(3*dy11 - (dy11 + dy21 + dy31) "
        "- xhat11*(dy11*xhat11 + dy21*xhat21 + dy31*xhat31))"
    )
    assert check_answer(right, expected(d, "X", (0, 0)), names, timeout=20).correct
    diagonal = check_answer("gamma1*dy11/sigma1", expected(d, "X", (0, 0)), names, timeout=20)
    assert not diagonal.correct
    written = "dy11*(x11 - mu1)/sigma1 + dy21*xhat21 + dy31*xhat31"
    assert check_answer(written, expected(d, "gamma", (0, 0)), names, timeout=20).correct


def test_cli_prints_the_batch_norm_lesson(capsys):
    assert cli(["batch_norm", "--batch", "3", "--features", "2"]) == 0
    out = capsys.readouterr().out
    assert "compact form" in out and "x_{11}" in out
    assert cli(["residual", "--features", "2", "--activation", "relu", "--format", "latex"]) == 0
    assert r"\begin{document}" in capsys.readouterr().out
    assert cli(["batch_norm", "--batch", "1"]) == 2
    assert "batch must be at least 2" in capsys.readouterr().err


def test_practice_offers_the_common_mistake_of_each_new_op():
    from ui.notes_mistakes import MISTAKES, mistakes_for

    for op, key in (
        ("batch_norm", "bn-diagonal"),
        ("layer_norm", "ln-diagonal"),
        ("residual", "residual-identity"),
    ):
        (item,) = mistakes_for(op)
        assert item.key == key and item.kind == "choice" and item.op == op
        assert 0 <= item.answer < len(item.choices) and item.number == 0 and not item.note
        assert_katex_safe(item.shown)
    assert all(m.number for m in MISTAKES)  # the notes' own list is unchanged


def test_the_normalisation_page_practice_entries_and_the_mistake():
    """AppTest: a batch-norm entry answered in the lesson's names (the compact form) is right,
    the diagonal answer is not, and the page's mistake question is answered."""
    from tests.test_practice import answer, ask, open_page
    from workers import worker

    worker.run("parse", "1", {}, timeout=60)  # warm, however busy the machine
    page = "pages/normalisation.py"
    at = open_page(page)
    q = ask(at, page, "batch_norm", "X", (0, 0))
    att = answer(at, q, "gamma1*dy11/sigma1")
    assert att.verdict[0] is False
    att = answer(
        at,
        q,
        "gamma1/(3*sigma1)*(3*dy11 - (dy11 + dy21 + dy31)"
        " - xhat11*(dy11*xhat11 + dy21*xhat21 + dy31*xhat31))",
    )
    assert att.verdict[0] is True, att.verdict
    at.radio(key=f"{page}/practice/mode").set_value("mistakes").run()
    m = f"{page}/practice/m/bn-diagonal"
    at.radio(key=f"{m}/choice").set_value(1).run()
    at.button(key=f"{m}/check").click().run()
    assert at.session_state[f"{m}/verdict"][0] is True
    assert not at.exception


def test_the_explorer_writes_an_output_as_the_forward_step_does():
    """Written in the inputs, y₁₁ of a 3×2 batch norm is 69 units wide, past the explorer's
    60: it is written γ₁ x̂₁₁ + β₁, with its number."""
    from derivations.typeset import visible_len
    from ui import explain
    from ui.layout import FULL_UNITS

    d = derive("batch_norm")
    numbers = {"out": np.array([[0.25, 1.5], [2.0, -1.0], [0.5, 0.0]])}
    tex = explain.output_latex(d, (0, 0), numbers, width=FULL_UNITS)
    assert tex == r"y_{11} = \gamma_{1} \hat{x}_{11} + \beta_{1} = 0.25"
    assert visible_len(tex) <= FULL_UNITS and explain.output_note(d, [0, 0]) == ""


@pytest.mark.parametrize("act", ["tanh", "sigmoid"])
def test_residual_practice_takes_the_lessons_z(act):
    """The lesson writes z₁ⱼ = (XW + b)₁ⱼ and act′(z₁ⱼ) in every step, but practice refused
    `z11`: "`z11` is not a name in this lesson". Now z11, z12 stand for what the lesson says."""
    d = derive("residual", features=2, activation=act)
    names = names_for(d)
    assert names["z12"] == d.residual.z[0, 1]
    slope = {"tanh": "(1 - tanh({z})^2)", "sigmoid": "sigmoid({z})*(1 - sigmoid({z}))"}[act]
    right = f"dy11 + dy11*{slope.format(z='z11')}*w11 + dy12*{slope.format(z='z12')}*w12"
    assert check_answer(right, expected(d, "X", (0, 0)), names, timeout=20).correct
    swapped = f"dy11 + dy11*{slope.format(z='z11')}*w11 + dy12*{slope.format(z='z12')}*w21"
    assert not check_answer(swapped, expected(d, "X", (0, 0)), names, timeout=20).correct
    dw = f"dy12*{slope.format(z='z12')}*x11"
    assert check_answer(dw, expected(d, "W", (0, 1)), names, timeout=20).correct
