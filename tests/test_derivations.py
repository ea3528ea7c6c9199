"""Symbolic derivations: the notes' equations exactly, the symbolic gradients against the engine
(and PyTorch where installed) at random sizes, every proven pattern really checked, every step's
LaTeX renderable, and impossible parameters refused with a clear message."""

import re

import numpy as np
import pytest
import sympy as sp

from derivations import DERIVATIONS, derive
from derivations.__main__ import main as cli
from derivations.export import FORMATS
from derivations.param_kinds import Bool, Float, Int, OptionalPair, Pair, Sizes, Text
from ui.registry import OPS
from ui.values import random_upstream, random_values


def S(name):
    return sp.Symbol(name)


def g(loss, z):
    return sp.Symbol(rf"\frac{{\partial {loss}}}{{\partial {z}}}")


def assert_same(derived, expected):
    """Symbolic equality entry by entry, matched by position."""
    expected = sp.Matrix(expected)
    assert derived.shape == expected.shape
    for a, b in zip(derived, expected, strict=True):
        assert sp.expand(a - b) == 0, f"{a} != {b}"


def X(letter, rows, cols):
    return sp.Matrix(rows, cols, lambda r, c: S(f"{letter}_{{{r + 1}{c + 1}}}"))


# ---------------------------------------------------------------- the notes' equations


def test_notes_conv2d_3x3_2x2():
    d = derive("conv2d", input_shape=(3, 3), kernel_shape=(2, 2))
    x, k, b = X("x", 3, 3), X("k", 2, 2), S("b")
    z = lambda i, j: sum(x[i + m, j + n] * k[m, n] for m in range(2) for n in range(2)) + b  # noqa: E731
    assert_same(d.output, [[z(0, 0), z(0, 1)], [z(1, 0), z(1, 1)]])
    G = [[g("L", "z_{11}"), g("L", "z_{12}")], [g("L", "z_{21}"), g("L", "z_{22}")]]
    G = sp.Matrix(G)
    assert d.upstream == G
    # the four ∂L/∂k as note 001 writes them (and ∂L/∂k22 as it should be, mistake 1 in README)
    assert_same(
        d.grads["K"],
        [
            [
                G[0, 0] * x[0, 0] + G[0, 1] * x[0, 1] + G[1, 0] * x[1, 0] + G[1, 1] * x[1, 1],
                G[0, 0] * x[0, 1] + G[0, 1] * x[0, 2] + G[1, 0] * x[1, 1] + G[1, 1] * x[1, 2],
            ],
            [
                G[0, 0] * x[1, 0] + G[0, 1] * x[1, 1] + G[1, 0] * x[2, 0] + G[1, 1] * x[2, 1],
                G[0, 0] * x[1, 1] + G[0, 1] * x[1, 2] + G[1, 0] * x[2, 1] + G[1, 1] * x[2, 2],
            ],
        ],
    )
    assert_same(d.grads["b"], [[sum(G)]])
    K = k
    assert_same(
        d.grads["X"],
        [
            [G[0, 0] * K[0, 0], G[0, 0] * K[0, 1] + G[0, 1] * K[0, 0], G[0, 1] * K[0, 1]],
            [
                G[0, 0] * K[1, 0] + G[1, 0] * K[0, 0],
                G[0, 0] * K[1, 1] + G[0, 1] * K[1, 0] + G[1, 0] * K[0, 1] + G[1, 1] * K[0, 0],
                G[0, 1] * K[1, 1] + G[1, 1] * K[0, 1],
            ],
            [G[1, 0] * K[1, 0], G[1, 0] * K[1, 1] + G[1, 1] * K[1, 0], G[1, 1] * K[1, 1]],
        ],
    )
    assert all(ok for _, ok in d.checks) and len(d.checks) == 3
    assert any(s.kind == "mistake" and "k_{22}" in s.latex for s in d.steps)


def test_notes_conv_transpose2d_2x2():
    d = derive("conv_transpose2d", input_shape=(2, 2), kernel_shape=(2, 2))
    x, k, b = X("x", 2, 2), X("k", 2, 2), S("b")
    assert_same(
        d.output,
        [
            [
                x[0, 0] * k[0, 0] + b,
                x[0, 0] * k[0, 1] + x[0, 1] * k[0, 0] + b,
                x[0, 1] * k[0, 1] + b,
            ],
            [
                x[0, 0] * k[1, 0] + x[1, 0] * k[0, 0] + b,
                x[0, 0] * k[1, 1] + x[0, 1] * k[1, 0] + x[1, 0] * k[0, 1] + x[1, 1] * k[0, 0] + b,
                x[0, 1] * k[1, 1] + x[1, 1] * k[0, 1] + b,
            ],
            [
                x[1, 0] * k[1, 0] + b,
                x[1, 0] * k[1, 1] + x[1, 1] * k[1, 0] + b,
                x[1, 1] * k[1, 1] + b,
            ],
        ],
    )
    G = d.upstream
    assert G.shape == (3, 3)
    # ∂L/∂k_mn = Σ_ij ∂L/∂z_(i+m)(j+n) · x_ij, i.e. ∂L/∂Z ⊛ X; for k11 that is
    # ∂L/∂z11 x11 + ∂L/∂z12 x12 + ∂L/∂z21 x21 + ∂L/∂z22 x22 (mistake 3 in the README)
    assert_same(
        d.grads["K"],
        sp.Matrix(
            2, 2, lambda m, n: sum(G[i + m, j + n] * x[i, j] for i in range(2) for j in range(2))
        ),
    )
    k11 = G[0, 0] * x[0, 0] + G[0, 1] * x[0, 1] + G[1, 0] * x[1, 0] + G[1, 1] * x[1, 1]
    assert sp.expand(d.grads["K"][0, 0] - k11) == 0
    # ∂L/∂X = ∂L/∂Z ⊛ K (valid correlation), e.g. ∂L/∂x22 starts at z22 (mistake 4)
    for i in range(2):
        for j in range(2):
            expected = sum(G[i + m, j + n] * k[m, n] for m in range(2) for n in range(2))
            assert sp.expand(d.grads["X"][i, j] - expected) == 0
    assert_same(d.grads["b"], [[sum(G)]])
    assert all(ok for _, ok in d.checks)
    setup = " ".join(s.latex for s in d.steps)
    assert "implicit padding" in setup and "= 1" in setup  # k − p − 1 = 2 − 0 − 1


def test_notes_pooling_examples():
    d = derive("max_pool2d", input_shape=(2, 2), kernel_size=2)
    assert d.evaluate({"X": [[1, 2], [3, 4]]}, [[2]])["X"].tolist() == [[0, 0], [0, 2]]
    assert d.forward({"X": [[1, 2], [3, 4]]}).tolist() == [[4]]
    d = derive("avg_pool2d", input_shape=(2, 2), kernel_size=2)
    assert d.evaluate({"X": [[1, 2], [3, 4]]}, [[2]])["X"].tolist() == [[0.5, 0.5], [0.5, 0.5]]
    assert d.forward({"X": [[1, 2], [3, 4]]}).tolist() == [[2.5]]
    assert_same(d.grads["X"], sp.ones(2, 2) * g("L", "z_{11}") / 4)


def test_max_pool_ties_go_to_the_first_maximum():
    d = derive("max_pool2d", input_shape=(2, 2), kernel_size=2)
    assert d.evaluate({"X": [[5, 5], [5, 1]]}, [[1]])["X"].tolist() == [[1, 0], [0, 0]]
    assert d.evaluate({"X": [[1, 5], [5, 5]]}, [[1]])["X"].tolist() == [[0, 1], [0, 0]]


def test_notes_softmax_cross_entropy():
    d = derive("softmax_cross_entropy", num_classes=3, target=1)
    f = [S(f"f_{{{k}}}") for k in (1, 2, 3)]
    s = sum(sp.exp(v) for v in f)
    up = d.upstream[0, 0]
    expected = [up * (sp.exp(f[0]) / s), up * (sp.exp(f[1]) / s - 1), up * (sp.exp(f[2]) / s)]
    for a, b in zip(d.grads["f"], expected, strict=True):
        assert sp.simplify(a - b) == 0  # +p_k for k ≠ y: mistake 2 in the README
    assert any(s.kind == "mistake" and "-p_k" in s.latex for s in d.steps)
    vals = d.evaluate({"f": [[0.5, -1.0, 2.0]]})["f"][0]
    p = np.exp([0.5, -1.0, 2.0]) / np.exp([0.5, -1.0, 2.0]).sum()
    assert np.allclose(vals, p - np.eye(3)[1])


@pytest.mark.parametrize(
    "op,rule",
    [
        ("exp", lambda gy, x: gy * sp.exp(x)),
        ("log", lambda gy, x: gy / x),
        ("sigmoid", lambda gy, x: gy * (1 / (1 + sp.exp(-x))) * (1 - 1 / (1 + sp.exp(-x)))),
        ("tanh", lambda gy, x: gy * (1 + sp.tanh(x)) * (1 - sp.tanh(x))),
    ],
)
def test_notes_unary_rules(op, rule):
    d = derive(op, shape=(2, 3))
    for r in range(2):
        for c in range(3):
            assert (
                sp.simplify(d.grads["X"][r, c] - rule(d.upstream[r, c], d.inputs["X"][r, c])) == 0
            )


def test_relu_rule_and_its_convention_at_zero():
    d = derive("relu", shape=(1, 3))
    assert d.evaluate({"X": [[-1, 0, 2]]}, [[5, 5, 5]])["X"].tolist() == [[0, 0, 5]]


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_notes_binary_rules(op):
    d = derive(op, shape=(2, 2))
    M, N, G = d.inputs["M"], d.inputs["N"], d.upstream
    dm = {
        "add": G,
        "sub": G,
        "mul": G.multiply_elementwise(N),
        "div": G.multiply_elementwise(N.applyfunc(lambda v: 1 / v)),
    }[op]
    dn = {
        "add": G,
        "sub": -G,
        "mul": G.multiply_elementwise(M),
        "div": sp.Matrix(2, 2, lambda r, c: -G[r, c] * M[r, c] / N[r, c] ** 2),
    }[op]
    assert_same(d.grads["M"], dm)
    assert_same(d.grads["N"], dn)


def test_broadcast_sums_the_paths():
    d = derive("add", shape=(2, 3), broadcast="row")
    G = d.upstream
    assert_same(d.grads["N"], [[G[0, c] + G[1, c] for c in range(3)]])


@pytest.mark.parametrize("op,scale", [("sum", 1), ("mean", sp.Rational(1, 6))])
def test_notes_reductions(op, scale):
    d = derive(op, shape=(2, 3))
    assert_same(d.grads["X"], sp.ones(2, 3) * d.upstream[0, 0] * scale)


def test_linear_patterns():
    d = derive("linear", batch=3, in_features=2, out_features=4)
    Xm, W, G = d.inputs["X"], d.inputs["W"], d.upstream
    assert_same(d.grads["W"], Xm.T * G)
    assert_same(d.grads["X"], G * W.T)
    assert_same(d.grads["b"], sp.ones(1, 3) * G)
    assert d.grads["W"].shape == W.shape and d.grads["b"].shape == (1, 4)


# ---------------------------------------------------------------- symbolic = engine (= torch)


def _random_value(prm, rng):
    """A random value of one registry parameter, within its bounds (sizes kept small)."""
    if isinstance(prm.kind, Pair):
        if isinstance(prm.kind, OptionalPair) and rng.random() < 0.4:
            return None
        hi = min(prm.hi, 6 if "shape" in prm.name or prm.name == "kernel_size" else prm.hi)
        lo = prm.lo or (0 if prm.name in ("padding", "output_padding") else 1)
        return tuple(int(v) for v in rng.integers(lo, hi + 1, size=2))
    if isinstance(prm.kind, Int):
        return int(rng.integers(prm.lo, prm.hi + 1))
    if isinstance(prm.kind, Float):
        return round(float(rng.uniform(prm.lo, prm.hi)), 3)
    if isinstance(prm.kind, Sizes):
        count = int(rng.integers(prm.count[0], prm.count[1] + 1))
        return tuple(int(v) for v in rng.integers(prm.lo, prm.hi + 1, size=count))
    if isinstance(prm.kind, Text):  # a formula: one of the entry's examples
        return str(rng.choice(prm.choices))
    if isinstance(prm.kind, Bool):
        return bool(rng.integers(2))
    return str(rng.choice(prm.choices))


def _random_params(spec, rng):
    """Random valid parameters for an op, from its registry entry."""
    for _ in range(200):
        p = {prm.name: _random_value(prm, rng) for prm in spec.params}
        try:
            return spec.derive(**p)
        except ValueError:
            continue  # an impossible combination: draw again
    raise AssertionError(f"no valid parameters found for {spec.name}")


@pytest.mark.parametrize("name", list(OPS))
@pytest.mark.parametrize("seed", range(4))
def test_symbolic_equals_engine_at_random_sizes(name, seed):
    spec = OPS[name]
    rng = np.random.default_rng(seed)
    d = _random_params(spec, rng)
    values = random_values(d, "reals", seed, spec.positive)
    up = random_upstream(d, seed) if d.upstream.shape != (1, 1) else np.array([[0.7]])
    sym = d.evaluate(values, up)
    eng = spec.engine_grads(values, up, d.params)
    for k in d.inputs:
        np.testing.assert_allclose(sym[k], eng[k], atol=1e-10, err_msg=f"{name} {d.params} ∂/∂{k}")
    np.testing.assert_allclose(d.forward(values), spec.engine_forward(values, d.params), atol=1e-10)
    # every pattern step claims only what was checked, and every check passed
    assert all(ok for _, ok in d.checks), d.checks
    for s in d.steps:
        if s.proven:
            assert r"\checkmark" in s.latex


@pytest.mark.parametrize(
    "cfg",
    [
        dict(
            input_shape=(5, 6), kernel_shape=(3, 2), stride=(2, 1), padding=(1, 2), dilation=(1, 2)
        ),
        dict(input_shape=(7, 7), kernel_shape=(3, 3), stride=3, padding=1, dilation=1),
        dict(input_shape=(4, 5), kernel_shape=(2, 3), stride=1, padding=0, dilation=2),
    ],
)
def test_conv2d_symbolic_equals_torch(cfg):
    torch = pytest.importorskip("torch")
    d = derive("conv2d", **cfg)
    rng = np.random.default_rng(0)
    x, k, b = (
        rng.standard_normal(d.inputs["X"].shape),
        rng.standard_normal(d.inputs["K"].shape),
        rng.standard_normal(1),
    )
    up = rng.standard_normal(d.upstream.shape)
    sym = d.evaluate({"X": x, "K": k, "b": b}, up)
    tx, tk, tb = (torch.tensor(a, requires_grad=True) for a in (x[None, None], k[None, None], b))
    kw = {n: cfg[n] for n in ("stride", "padding", "dilation")}
    torch.nn.functional.conv2d(tx, tk, tb, **kw).backward(torch.tensor(up[None, None]))
    np.testing.assert_allclose(sym["X"], tx.grad[0, 0].numpy(), atol=1e-10)
    np.testing.assert_allclose(sym["K"], tk.grad[0, 0].numpy(), atol=1e-10)
    np.testing.assert_allclose(sym["b"].reshape(1), tb.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("name", list(OPS))
def test_every_op_symbolic_equals_torch_at_random_sizes(name):
    pytest.importorskip("torch")
    from ui import torch_ref

    spec = OPS[name]
    if spec.torch is None:
        pytest.skip(f"{name} has no PyTorch reference")
    rng = np.random.default_rng(99)
    for seed in range(2):
        d = _random_params(spec, rng)
        values = random_values(d, "reals", seed, spec.positive)
        up = random_upstream(d, seed)
        sym = d.evaluate(values, up)
        ref = torch_ref.grads(spec, values, up, d.params)
        for k in d.inputs:
            np.testing.assert_allclose(
                sym[k], ref[k], atol=1e-10, err_msg=f"{name} {d.params} ∂/∂{k}"
            )


def test_conv_transpose2d_symbolic_equals_torch():
    torch = pytest.importorskip("torch")
    cfg = dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), dilation=1)
    d = derive("conv_transpose2d", input_shape=(3, 2), kernel_shape=(3, 2), **cfg)
    rng = np.random.default_rng(1)
    x, k, b = rng.standard_normal((3, 2)), rng.standard_normal((3, 2)), rng.standard_normal(1)
    up = rng.standard_normal(d.upstream.shape)
    sym = d.evaluate({"X": x, "K": k, "b": b}, up)
    tx, tk, tb = (torch.tensor(a, requires_grad=True) for a in (x[None, None], k[None, None], b))
    out = torch.nn.functional.conv_transpose2d(tx, tk, tb, **cfg)
    assert tuple(out.shape[2:]) == d.output.shape
    out.backward(torch.tensor(up[None, None]))
    np.testing.assert_allclose(sym["X"], tx.grad[0, 0].numpy(), atol=1e-10)
    np.testing.assert_allclose(sym["K"], tk.grad[0, 0].numpy(), atol=1e-10)


# ---------------------------------------------------------------- LaTeX and the lesson


def assert_katex_safe(tex: str):
    assert not re.search(r"\\begin\{align\*?\}", tex) and r"\cancelto" not in tex
    depth = 0
    for i, ch in enumerate(tex):
        if ch == "{" and tex[i - 1 : i] != "\\":
            depth += 1
        elif ch == "}" and tex[i - 1 : i] != "\\":
            depth -= 1
        assert depth >= 0, f"unbalanced braces in {tex[:120]}"
    assert depth == 0, f"unbalanced braces in {tex[:120]}"
    assert tex.count(r"\left") == tex.count(r"\right"), tex[:120]
    begins = re.findall(r"\\begin\{(\w+)\}", tex)
    ends = re.findall(r"\\end\{(\w+)\}", tex)
    assert sorted(begins) == sorted(ends)
    assert "**" not in tex and "Piecewise" not in tex
    assert not double_script(tex), f"double sub/superscript in {tex[:120]}"


def _skip_argument(tex: str, i: int) -> int:
    """Index just past the sub/superscript argument that starts at tex[i]."""
    while i < len(tex) and tex[i] == " ":
        i += 1
    if i < len(tex) and tex[i] == "{":
        depth = 0
        for j in range(i, len(tex)):
            if tex[j] == "{" and tex[j - 1] != "\\":
                depth += 1
            elif tex[j] == "}" and tex[j - 1] != "\\":
                depth -= 1
                if depth == 0:
                    return j + 1
    if i < len(tex) and tex[i] == "\\":
        j = i + 1
        while j < len(tex) and tex[j].isalpha():
            j += 1
        return j
    return i + 1


def double_script(tex: str) -> bool:
    """x_{a}_{b} or x^{a}^{b}: an error in KaTeX and in LaTeX alike."""
    for i, ch in enumerate(tex):
        if ch in "_^" and tex[i - 1 : i] != "\\":
            j = _skip_argument(tex, i + 1)
            while j < len(tex) and tex[j] == " ":
                j += 1
            if j < len(tex) and tex[j] == ch:
                return True
    return False


def test_double_script_detector():
    assert double_script(r"\circledast_{a}_{b}") and double_script("x^2^3")
    assert not double_script(r"x_{1,10} + k_{22}^{2} + \frac{\partial L}{\partial z_{11}}")


@pytest.mark.parametrize("name", list(DERIVATIONS))
def test_every_step_is_renderable_and_says_something(name):
    d = derive(name)
    assert len(d.steps) >= 3
    assert d.steps[0].kind == "setup"
    assert any(s.kind == "pattern" for s in d.steps)
    for s in d.steps:
        assert s.title and s.text and s.latex
        assert_katex_safe(s.latex)


def test_big_sizes_elide_long_lists_and_stay_correct():
    d = derive("conv2d", input_shape=(16, 16), kernel_shape=(5, 5))
    assert all(ok for _, ok in d.checks)
    fwd = next(s for s in d.steps if s.kind == "forward")
    assert "more" in fwd.latex  # 144 expansions are elided, not dumped
    assert_katex_safe(fwd.latex)
    assert str(d.inputs["X"][0, 9]) == "x_{1,10}"  # unambiguous past 9


@pytest.mark.parametrize(
    "op,params",
    [
        ("conv2d", dict(input_shape=(8, 8), kernel_shape=(3, 3))),
        ("conv2d", dict(input_shape=(16, 16), kernel_shape=(5, 5))),
        ("avg_pool2d", dict(input_shape=(8, 8), kernel_size=(4, 4))),
        ("linear", dict(batch=2, in_features=10, out_features=2)),
    ],
)
def test_long_forward_expansions_wrap_to_the_lesson_column(op, params):
    from derivations.typeset import LINE_WIDTH, visible_len

    fwd = next(s for s in derive(op, **params).steps if s.kind == "forward")
    body = fwd.latex.removeprefix(r"\begin{aligned} ").removesuffix(r" \end{aligned}")
    lines = body.split(r" \\ ")
    # KaTeX never wraps: a line longer than the column is cut off on the page
    assert max(visible_len(line) for line in lines) <= LINE_WIDTH + 12, lines
    assert any(r"&\quad +" in line for line in lines)  # continuation lines, not dropped terms
    assert len(lines) <= 40


def test_the_notes_forward_expansion_stays_one_line_per_output():
    fwd = next(s for s in derive("conv2d").steps if s.kind == "forward")
    assert fwd.latex.count(r"\\") == 3  # z11, z12, z21, z22
    assert "x_{11} k_{11} + x_{12} k_{12} + x_{21} k_{21} + x_{22} k_{22} + b" in fwd.latex


# ---------------------------------------------------------------- links (the app's highlights)


def test_links_for_the_notes_conv():
    d = derive("conv2d")
    assert sorted(d.feeds("X", (1, 1))) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert d.feeds("X", (0, 0)) == [(0, 0)]
    links = d.gradient_links("X", (1, 1))
    assert sorted(links["Z"]) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert sorted(links["K"]) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert d.gradient_links("X", (0, 0))["K"] == [(0, 0)]
    src = d.sources((0, 1))
    assert sorted(src["X"]) == [(0, 1), (0, 2), (1, 1), (1, 2)] and src["b"] == [(0, 0)]


def test_chain_rule_with_numbers():
    d = derive("conv2d")
    vals = {"X": np.arange(1, 10).reshape(3, 3), "K": [[1, 2], [3, 4]], "b": [[0]]}
    tex = d.chain_rule("X", (1, 1), vals, [[1, 1], [1, 1]])
    assert tex.endswith("= 10")  # k22 + k21 + k12 + k11


# ---------------------------------------------------------------- bad parameters


@pytest.mark.parametrize(
    "op,params,message",
    [
        ("conv2d", dict(input_shape=(2, 2), kernel_shape=(3, 3)), "kernel spans 3 rows"),
        ("conv2d", dict(stride=0), "stride must be at least 1"),
        ("conv2d", dict(padding=-1), "padding must be at least 0"),
        ("conv2d", dict(input_shape=(17, 3)), "larger than 16×16"),
        ("conv2d", dict(input_shape=(0, 3)), "input_shape must be at least 1"),
        ("conv2d", dict(kernel_shape="3"), "whole number or a"),
        (
            "conv_transpose2d",
            dict(stride=2, output_padding=2),
            "output_padding must be smaller than the stride",
        ),
        (
            "conv_transpose2d",
            dict(input_shape=(1, 1), kernel_shape=(1, 1), padding=1),
            "crops away the whole output",
        ),
        ("max_pool2d", dict(kernel_size=2, padding=2), "more than half"),
        ("avg_pool2d", dict(input_shape=(2, 2), kernel_size=3), "larger than the padded"),
        ("linear", dict(batch=0), "batch must be a whole number from 1"),
        (
            "softmax_cross_entropy",
            dict(num_classes=3, target=3),
            "target must be a class index from 0 to 2",
        ),
        (  # in the widget's terms too: the sidebar counts classes from 1
            "softmax_cross_entropy",
            dict(num_classes=3, target=9),
            "a true class from 1 to 3 as the lessons count; you gave 9 (class 10)",
        ),
        ("add", dict(broadcast="diagonal"), "broadcast must be one of"),
        ("conv2d", dict(kernel=(2, 2)), "conv2d: "),
        ("nope", {}, "unknown op 'nope'"),
    ],
)
def test_impossible_parameters_are_refused_clearly(op, params, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        derive(op, **params)


def test_evaluate_checks_its_arguments():
    d = derive("conv2d")
    with pytest.raises(ValueError, match="values is missing 'K'"):
        d.evaluate({"X": np.zeros((3, 3))})
    with pytest.raises(ValueError, match=r"values\['X'\] must have shape \(3, 3\)"):
        d.evaluate({"X": np.zeros((2, 2)), "K": np.zeros((2, 2)), "b": [[0]]})


# ---------------------------------------------------------------- the command line


def test_cli_prints_every_format(capsys):
    for fmt in FORMATS:
        assert cli(["conv2d", "--input", "3x3", "--kernel", "2x2", "--format", fmt]) == 0
        out = capsys.readouterr().out
        assert "z_{11}" in out
    assert cli(["conv2d", "--input", "3x3", "--kernel", "2x2", "--format", "latex"]) == 0
    doc = capsys.readouterr().out
    assert doc.startswith(r"\documentclass") and doc.rstrip().endswith(r"\end{document}")


@pytest.mark.parametrize(
    "argv",
    [
        ["nope"],
        ["conv2d", "--input", "2x2", "--kernel", "3x3"],
        ["relu", "--kernel", "2x2"],
        ["conv2d", "--stride", "0"],
    ],
)
def test_cli_errors_are_one_line_with_exit_code_2(argv, capsys):
    assert cli(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


SIZE_ONE = [
    ("conv2d", dict(input_shape=(1, 1), kernel_shape=(1, 1))),
    ("conv2d", dict(input_shape=(3, 3), kernel_shape=(3, 3))),
    ("conv2d", dict(input_shape=(4, 4), kernel_shape=(1, 1), stride=(3, 3))),
    ("conv_transpose2d", dict(input_shape=(1, 1), kernel_shape=(1, 1))),
    ("max_pool2d", dict(input_shape=(4, 4), kernel_size=(2, 2))),
    ("avg_pool2d", dict(input_shape=(1, 1), kernel_size=(1, 1))),
    ("linear", dict(batch=1, in_features=1, out_features=1)),
    ("sum", dict(shape=(1, 1))),
    ("mean", dict(shape=(1, 1))),
    ("relu", dict(shape=(1, 1))),
    ("add", dict(shape=(1, 1), broadcast="scalar")),
]


@pytest.mark.parametrize("op,params", SIZE_ONE, ids=lambda v: str(v))
def test_lesson_texts_read_right_when_a_count_is_one_or_zero(op, params):
    """The texts are built from the chosen sizes: no '1 outputs', '0 outputs that contain'."""
    bad = re.compile(
        r"\b1 (outputs|inputs|samples|features|entries|terms|cells|windows|partial derivatives)\b"
        r"|\b(the|all) [01] (outputs?|partial)|\bthe 1 that"
    )
    for s in derive(op, **params).steps:
        assert not bad.search(s.text), (s.title, s.text)


@pytest.mark.parametrize("op", sorted(OPS))
def test_step_prose_has_no_raw_markup(op):
    """A step's sentences are shown as text: "W ∈ ℝ^{in×out}" or "ℝ^(in×out)" would reach the
    learner as those characters."""
    d = derive(op, **OPS[op].defaults())
    for s in d.steps:
        assert not re.search(r"[\^_][{(]|\\[a-z]+\{", s.text), (op, s.title, s.text)


def test_the_kernel_gradient_sentence_counts_padding_as_not_met():
    """1×1 input, 3×3 kernel, padding 1: only k22 ever meets a real input, but the step said
    "each kernel weight touched every output once" above eight zero sums."""

    def sentence(**kw):
        d = derive("conv2d", **kw)
        return next(s.text for s in d.steps if "kernel weight" in s.text)

    lone = sentence(input_shape=(1, 1), kernel_shape=(3, 3), padding=(1, 1))
    assert "touched every output" not in lone and "only ever meets padding gets 0" in lone
    padded = sentence(input_shape=(3, 3), kernel_shape=(3, 3), padding=(1, 1))
    assert "some sums are shorter." in padded and "gets 0" not in padded
    assert "touched every output once" in sentence(input_shape=(3, 3), kernel_shape=(2, 2))


def test_the_transposed_conv_as_a_convolution_names_the_output_padding():
    """The step listed the stride's and the implicit padding's zeros but not the extra row and
    columns the output padding adds, which its own matrix shows."""
    d = derive(
        "conv_transpose2d",
        input_shape=(2, 3),
        kernel_shape=(3, 2),
        stride=(2, 3),
        padding=(1, 0),
        output_padding=(1, 2),
        dilation=(1, 2),
    )
    text = next(s.text for s in d.steps if s.title == "The same thing as an ordinary convolution")
    assert "then 1 more row at the bottom and 2 more columns at the right (the output padding)" in (
        text
    )
    plain = derive("conv_transpose2d", stride=2)
    text = next(s.text for s in plain.steps if s.title.startswith("The same thing"))
    assert "output padding" not in text
