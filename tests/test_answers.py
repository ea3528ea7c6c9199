"""Checking typed answers against real derivations: equivalent forms accepted, each typical
mistake rejected with the right missing and extra terms and a sentence naming them; the names
a lesson offers; hostile text answered quickly with correct=False and nothing run."""

import dataclasses
import re
import time

import pytest
import sympy as sp
from hypothesis import assume, given, settings

from derivations import Feedback, check_answer, derive, names_for, parse_expression
from grading.answers import MAX_WORK, expansion_size
from mathtext.typed_names import inverse_names, term_text, typing_name
from tests.formulas import FORMULAS
from tests.hostile import ALL, MARKER
from workers import worker

SLOW_OK = 60  # generous deadlines where the point is the verdict, not the time


def up(loss, z):
    return sp.Symbol(rf"\frac{{\partial {loss}}}{{\partial {z}}}")


def S(name):
    return sp.Symbol(name)


def check(d, name, idx, text, timeout=SLOW_OK):
    return check_answer(text, d.grads[name][idx], names_for(d), timeout=timeout)


pytestmark = pytest.mark.usefixtures("worker_up")  # tests/conftest.py


# ---------------------------------------------------------------- names


def test_typing_names():
    assert typing_name(S("x_{11}")) == "x11"
    assert typing_name(S("x_{1,10}")) == "x1_10"
    assert typing_name(S("f_{3}")) == "f3"
    assert typing_name(S("L_i")) == "L_i"
    assert typing_name(S("b")) == "b"


def test_names_for_conv2d():
    d = derive("conv2d", input_shape=(3, 3), kernel_shape=(2, 2))
    names = names_for(d)
    assert names["x11"] == S("x_{11}") and names["x33"] == S("x_{33}")
    assert names["k22"] == S("k_{22}") and names["b"] == S("b")
    assert names["dz12"] == up("L", "z_{12}")
    assert names["z11"] == d.output[0, 0]  # an output stands for its forward expression
    # listed in order: inputs, upstream gradients, outputs
    assert list(names)[:3] == ["x11", "x12", "x13"]
    assert list(names).index("dz11") < list(names).index("z11")


def test_names_for_other_lessons():
    big = names_for(derive("conv2d", input_shape=(10, 10), kernel_shape=(2, 2)))
    assert big["x1_10"] == S("x_{1,10}") and big["dz99"] == up("L", "z_{99}")
    sm = names_for(derive("softmax_cross_entropy", num_classes=3, target=1))
    f = [S(f"f_{{{k}}}") for k in (1, 2, 3)]
    assert sm["f2"] == f[1] and sm["dL_i"] == up("L", "L_{i}")
    assert sm["p2"] == sp.exp(f[1]) / sum(sp.exp(v) for v in f)
    total = names_for(derive("sum", shape=(2, 2)))
    assert total["dy"] == up("J", "y") and total["x22"] == S("x_{22}")
    lin = names_for(derive("linear", batch=2, in_features=3, out_features=2))
    assert lin["b2"] == S("b_{2}") and lin["w32"] == S("w_{32}")


def test_names_for_every_op():
    for op in ("conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "relu", "sigmoid"):
        names = names_for(derive(op))
        inverse = inverse_names(names)
        for key, value in names.items():
            assert key.isidentifier()
            if isinstance(value, sp.Symbol):
                assert inverse[value] == key


def test_term_text_uses_the_typed_names():
    d = derive("conv2d")
    inv = inverse_names(names_for(d))
    dz21, k12 = up("L", "z_{21}"), S("k_{12}")
    assert term_text(dz21 * k12, inv) == "dz21*k12"
    assert term_text(-2 * dz21 * k12**2, inv) == "-2*dz21*k12^2"
    x11 = S("x_{11}")
    assert term_text(sp.Piecewise((1, x11 > 0), (0, True)), {x11: "x11"}) == "[x11 > 0]"


# ---------------------------------------------------------------- right answers


CONV_K11 = "dz11*x22 + dz12*x23 + dz21*x32 + dz22*x33"  # ∂L/∂k22 of 3×3 * 2×2, 0-based [1, 1]


@pytest.mark.parametrize(
    "text",
    [
        CONV_K11,
        "dz22*x33 + dz21*x32 + dz12*x23 + dz11*x22",  # reordered
        "x22*dz11+x23*dz12+x32*dz21+x33*dz22",  # factors swapped, no spaces
        "  dz11 * x22  +  dz12 * x23 + dz21 * x32 + dz22 * x33 ",
        "(dz11*x22 + dz12*x23) + (dz21*x32 + dz22*x33)",
        "dz11·x22 + dz12·x23 + dz21×x32 + dz22*x33",  # pasted dots
        "dz11*x22 + dz12*x23 + dz21*x32 + dz22*x33 + 0*x11",
        "2*(dz11*x22 + dz12*x23 + dz21*x32 + dz22*x33)/2",
        "dz11*x22^1 + dz12*x23 + dz21*x32^1 + dz22*x33/1",  # powers of 1, over 1
    ],
)
def test_conv2d_right_answer_in_many_forms(text):
    d = derive("conv2d", input_shape=(3, 3), kernel_shape=(2, 2))
    fb = check(d, "K", (1, 1), text)
    assert fb.correct, fb.message
    assert fb.method == "symbolic" and fb.missing == [] and fb.extra == []
    assert fb.message == "Correct." and fb.latex


def test_conv2d_input_gradient_and_bias():
    d = derive("conv2d", input_shape=(3, 3), kernel_shape=(2, 2))
    assert check(d, "X", (1, 1), "dz11*k22 + dz12*k21 + dz21*k12 + dz22*k11").correct
    assert check(d, "X", (0, 0), "k11*dz11").correct
    assert check(d, "b", (0, 0), "dz11 + dz12 + dz21 + dz22").correct


def test_conv_transpose2d():
    d = derive("conv_transpose2d", input_shape=(2, 2), kernel_shape=(2, 2))
    right = "dz11*k11 + dz12*k12 + dz21*k21 + dz22*k22"
    assert check(d, "X", (0, 0), right).correct
    assert check(d, "X", (0, 0), "k22*dz22 + k21*dz21 + k12*dz12 + k11*dz11").correct
    fb = check(d, "X", (0, 0), "dz11*k11 + dz12*k12 + dz21*k12 + dz22*k22")
    assert not fb.correct
    assert fb.missing == [up("L", "z_{21}") * S("k_{21}")]
    assert fb.extra == [up("L", "z_{21}") * S("k_{12}")]
    assert "you have dz21*k12 where dz21*k21 belongs" in fb.message.lower()


@pytest.mark.parametrize(
    "text",
    [
        "dz11*[x12 > x11]*[x12 >= x21]*[x12 >= x22]",  # the first maximum, written out
        "[x12>x11]*[x12>=x21]*[x12>=x22]*dz11",
    ],
)
def test_max_pool_indicator_written_as_conditions(text):
    """FirstMax is the product of the conditions it stands for: proven, not sampled."""
    d = derive("max_pool2d", input_shape=(2, 2), kernel_size=2)
    fb = check(d, "X", (0, 1), text)
    assert fb.correct and fb.method == "symbolic", fb.message


def test_max_pool_wrong_window_cell():
    d = derive("max_pool2d", input_shape=(2, 2), kernel_size=2)
    fb = check(d, "X", (0, 1), "dz11*[x11 > x12]*[x11 >= x21]*[x11 >= x22]")
    assert not fb.correct and fb.method == "different"
    assert "first_max(x12, x11, x12, x21, x22)" in fb.message  # typed as the tip teaches


@pytest.mark.parametrize(
    "text",
    ["dy12*[x12 > 0]", "[x12>0]*dy12", "dy12 * [x12 > 0]", "dy12*(1 + sign(x12))*sign(x12)/2"],
)
def test_relu_right_answers(text):
    d = derive("relu", shape=(2, 2))
    assert check(d, "X", (0, 1), text).correct


def test_relu_mistakes():
    d = derive("relu", shape=(2, 2))
    dy12, x12 = up("J", "y_{12}"), S("x_{12}")
    ind = lambda v: sp.Piecewise((1, v > 0), (0, True))  # noqa: E731
    fb = check(d, "X", (0, 1), "dy12*[x21 > 0]")  # the wrong index
    assert fb.missing == [dy12 * ind(x12)] and fb.extra == [dy12 * ind(S("x_{21}"))]
    assert "You have dy12*[x21 > 0] where dy12*[x12 > 0] belongs." in fb.message
    fb = check(d, "X", (0, 1), "dy12")  # the indicator forgotten
    assert not fb.correct and fb.missing == [dy12 * ind(x12)] and fb.extra == [dy12]
    fb = check(d, "X", (0, 1), "-dy12*[x12 > 0]")
    assert "sign of the first term" in fb.message


@pytest.mark.parametrize(
    "text",
    [
        "dL_i*(p1 - 1)",
        "(p1 - 1)*dL_i",
        "dL_i*p1 - dL_i",
        "dL_i*(exp(f1)/(exp(f1) + exp(f2) + exp(f3)) - 1)",
        "-dL_i*(exp(f2) + exp(f3))/(exp(f1) + exp(f2) + exp(f3))",  # one fraction: numeric
        "dL_i*(1/(1 + exp(f2 - f1) + exp(f3 - f1)) - 1)",  # divided through: numeric
        "-dL_i*(p2 + p3)",
    ],
)
def test_softmax_ce_true_class(text):
    d = derive("softmax_cross_entropy", num_classes=3, target=0)
    fb = check(d, "f", (0, 0), text)
    assert fb.correct, fb.message


def test_softmax_ce_mistakes():
    d = derive("softmax_cross_entropy", num_classes=3, target=0)
    dL = up("L", "L_{i}")
    fb = check(d, "f", (0, 1), "-dL_i*p2")  # note 003's lost sign, named as the note's
    assert not fb.correct and fb.method == "different"
    assert "note 003's slip" in fb.message and "dL_i*p2" in fb.message, fb.message
    fb = check(d, "f", (0, 0), "dL_i*p1")  # the −1 forgotten
    assert fb.missing == [-dL] and fb.extra == []
    assert fb.message == "Not quite. A term is missing: -dL_i."
    fb = check(d, "f", (0, 0), "dL_i*(1 - p1)")
    assert "The whole answer has the wrong sign" in fb.message


def test_sigmoid_in_the_notes_form():
    d = derive("sigmoid", shape=(2, 2))
    for text in ["dy11*y11*(1 - y11)", "dy11*sigmoid(x11)*(1 - sigmoid(x11))"]:
        fb = check(d, "X", (0, 0), text)
        assert fb.correct and fb.method == "symbolic", fb.message
    assert not check(d, "X", (0, 0), "dy11*y11").correct


def test_mean_factor():
    d = derive("mean", shape=(2, 2))
    assert check(d, "X", (0, 0), "dy/4").correct
    assert check(d, "X", (0, 0), "0.25*dy").correct
    assert check(d, "X", (0, 0), "dy*2^-2").correct
    fb = check(d, "X", (0, 0), "dy")
    assert fb.missing == [up("J", "y") / 4] and fb.extra == [up("J", "y")]
    assert "a factor of 4 too many" in fb.message


# ---------------------------------------------------------------- typical mistakes


@pytest.fixture(scope="module")
def conv():
    return derive("conv2d", input_shape=(3, 3), kernel_shape=(2, 2))


def dz(i, j):
    return up("L", f"z_{{{i}{j}}}")


def xs(i, j):
    return S(f"x_{{{i}{j}}}")


def test_wrong_index(conv):
    fb = check(conv, "K", (1, 1), "dz11*x22 + dz12*x23 + dz21*x23 + dz22*x33")
    assert not fb.correct and fb.method == "different"
    assert fb.missing == [dz(2, 1) * xs(3, 2)] and fb.extra == [dz(2, 1) * xs(2, 3)]
    assert fb.message == "Not quite. You have dz21*x23 where dz21*x32 belongs."


def test_lost_sign(conv):
    fb = check(conv, "K", (1, 1), "dz11*x22 - dz12*x23 + dz21*x32 + dz22*x33")
    assert fb.missing == [dz(1, 2) * xs(2, 3)] and fb.extra == [-dz(1, 2) * xs(2, 3)]
    assert "Check the sign of the second term" in fb.message
    assert "-dz12*x23 where dz12*x23 belongs" in fb.message


def test_missing_term(conv):
    fb = check(conv, "K", (1, 1), "dz11*x22 + dz12*x23 + dz22*x33")
    assert fb.missing == [dz(2, 1) * xs(3, 2)] and fb.extra == []
    assert fb.message == "Not quite. A term is missing: dz21*x32."


def test_extra_term(conv):
    fb = check(conv, "K", (1, 1), CONV_K11 + " + dz11*x11")
    assert fb.missing == [] and fb.extra == [dz(1, 1) * xs(1, 1)]
    assert fb.message == "Not quite. A term does not belong: dz11*x11."


def test_factor_of_two(conv):
    fb = check(conv, "K", (1, 1), "2*dz11*x22 + dz12*x23 + dz21*x32 + dz22*x33")
    assert fb.missing == [dz(1, 1) * xs(2, 2)] and fb.extra == [2 * dz(1, 1) * xs(2, 2)]
    assert "a factor of 2 too many" in fb.message
    fb = check(conv, "K", (1, 1), f"2*({CONV_K11})")
    assert "Every term is 2 times what it should be: a factor of 2 too many." in fb.message
    assert len(fb.missing) == 4 and len(fb.extra) == 4


def test_whole_sign(conv):
    fb = check(conv, "K", (1, 1), f"-({CONV_K11})")
    assert "The whole answer has the wrong sign" in fb.message


def test_several_mistakes_at_once(conv):
    fb = check(conv, "K", (1, 1), "dz11*x22 - dz12*x23 + dz21*x23 + dz22*x11")
    assert not fb.correct
    assert set(fb.missing) == {dz(1, 2) * xs(2, 3), dz(2, 1) * xs(3, 2), dz(2, 2) * xs(3, 3)}
    assert "sign of the second term" in fb.message
    assert "dz21*x23 where dz21*x32 belongs" in fb.message


def test_the_note_001_mistake():
    """Note 001's ∂L/∂k22 (README: 'What the notes get wrong'): the first factor's index."""
    d = derive("conv2d", input_shape=(3, 3), kernel_shape=(2, 2))
    fb = check(d, "K", (1, 1), "dz11*x11 + dz12*x23 + dz21*x32 + dz22*x33")
    assert fb.missing == [dz(1, 1) * xs(2, 2)] and fb.extra == [dz(1, 1) * xs(1, 1)]
    assert "You have dz11*x11 where dz11*x22 belongs." in fb.message


# ---------------------------------------------------------------- never raises, always quick


def test_unparsable_text_gives_the_parsers_message(conv):
    fb = check(conv, "K", (1, 1), "x11 +* k22")
    assert not fb.correct and fb.method == "unparsed" and fb.parsed is None
    assert fb.message == "`x11 +* k22`: a * with nothing before it, at character 6"


@pytest.mark.parametrize("text", [None, 3, b"x11", ["x11"]])
def test_not_text_is_an_answer_too(text, conv):
    fb = check_answer(text, conv.grads["K"][0, 0], names_for(conv))
    assert isinstance(fb, Feedback) and not fb.correct


def test_feedback_is_frozen(conv):
    fb = check(conv, "K", (0, 0), "x11")
    with pytest.raises(dataclasses.FrozenInstanceError):
        fb.correct = True  # type: ignore[misc]


def test_too_complex_to_check(conv):
    names = names_for(conv)
    sums = ["x11+x12+x13+x21", "x22+x23+x31+x32", "x33+k11+k12+k21", "k22+b+dz11+dz12"]
    sums += ["dz21+dz22+x11+x22", "x12+x23+k11+dz22", "x13+x31+k22+b"]
    text = "*".join(f"({s})" for s in sums)  # 4^7 = 16,384 products
    fb = check_answer(text, conv.grads["K"][0, 0], names, timeout=SLOW_OK)
    assert not fb.correct and fb.method == "too complex" and "too complex" in fb.message
    assert expansion_size(fb.parsed) > MAX_WORK


def test_undefined_everywhere_is_refused(conv):
    """Undefined where the expected answer is defined is a mismatch, not a point skipped."""
    fb = check(conv, "K", (0, 0), "log(-x11^2 - 1)")
    assert not fb.correct and fb.method == "different"
    assert "undefined at" in fb.message and "log" in fb.message, fb.message


def test_slow_sympy_is_cut_off(conv):
    """sympy takes ~130 s to build this; the verdict comes at the deadline."""
    check(conv, "K", (1, 1), "x11")  # the workers are up
    before = set(worker.pids())
    start = time.perf_counter()
    fb = check(conv, "K", (1, 1), "relu(relu(log(sigmoid(sigmoid(x11 + 2)))))", timeout=1.5)
    assert time.perf_counter() - start < 10  # the deadline is CHECK_SECONDS = 1.5 s
    assert not fb.correct and fb.method == "too complex" and "too complex" in fb.message
    assert len(before - set(worker.pids())) == 1  # its worker killed; a fresh one replaces it
    assert check(conv, "K", (1, 1), CONV_K11).correct


@pytest.mark.parametrize("text", [t for _, t in ALL], ids=[k for k, _ in ALL])
def test_hostile_text(text, conv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    names = {**names_for(conv), "x": S("x_{11}")}
    start = time.perf_counter()
    fb = check_answer(text, conv.grads["K"][0, 0], names)  # the default 1.5 s deadline
    elapsed = time.perf_counter() - start
    assert elapsed < 10, f"{elapsed:.1f} s"  # a bound in the code, not a benchmark
    assert not fb.correct and fb.message
    assert fb.method in ("unparsed", "too complex", "busy")  # busy: a loaded machine
    assert not (tmp_path / MARKER).exists()


# Near the bounds: the slowest answers the parser lets through (measured worst ~0.5 s).
NEAR_BOUNDS = [
    "(x11+x12+x13+x21+x22+x23+x31+x32)^5",
    "(x11+x12+x13+x21+x22+x23+x31+x32+x33+k11+k12+k21+k22+b+dz11+dz12+dz21+dz22+z11+z12)^3",
    "(x11+x12+x13+x21)*(x22+x23+x31+x32)*(x33+k11+k12+k21)*(k22+b+dz11+dz12)*(dz21+dz22+x11+x12)",
    "exp((x11+x12+x13+x21+x22+x23+x31+x32)^4)*exp((x33+k11+k12+k21+k22+b+dz11+dz12)^4)",
    "1/(x11+x12+x13+x21+x22+x23+x31+x32)^5",
    "sigmoid(" * 30 + "x11" + ")" * 30,
    "+".join(["x11*x22"] * 40),
]


@pytest.mark.parametrize("text", NEAR_BOUNDS)
def test_near_the_bounds_still_answers(text, conv):
    start = time.perf_counter()
    fb = check(conv, "K", (1, 1), text)
    assert time.perf_counter() - start < 10  # the point of the bounds; ~0.5 s at worst
    assert not fb.correct


@settings(max_examples=60, deadline=None, database=None, derandomize=True)
@given(FORMULAS)
def test_any_formula_equals_itself_and_not_itself_plus_one(text):
    x = sp.Symbol("x")
    try:
        expr = parse_expression(text, {"x": x}, timeout=5)
    except ValueError:
        assume(False)  # refused, or too slow for sympy: skipped, not failed
    same = check_answer(text, expr, {"x": x}, timeout=5)
    assume(same.method not in ("too complex", "busy"))
    # sympy may simplify a division by 0 or a root of a negative number away as it builds
    # ((x^0.5)^2 is x): then the text is undefined, as typed, where its sympy form is not
    as_typed = re.search(r"undefined at \d+ of the \d+ points compared.* in \S", same.message)
    assert same.correct or (same.method == "different" and as_typed), same.message
    assert not check_answer(f"({text}) + 1", expr, {"x": x}, timeout=5).correct


def test_a_saturated_sigmoid_does_not_refuse_a_right_answer():
    """σ(z)(1 − σ(z)) against e^{−z}/(1 + e^{−z})² with z = w x + w₂ x₂ was refused: at a
    sampled point where z ≈ 220 both sides were evaluated on 40- and 80-digit Floats, where
    σ(z) − σ(z)² cancels to 0 while the expected value is 2.85·10⁻⁹⁶ (the graph page's neuron,
    the residual lesson under sigmoid). Exact points let evalf raise its precision."""
    x, w, x2, w2, d = sp.symbols("x w x2 w2 d")
    z = w * x + w2 * x2
    expected = d * sp.exp(-z) / (1 + sp.exp(-z)) ** 2
    names = {"x": x, "w": w, "x2": x2, "w2": w2, "d": d}
    right = "d*sigmoid(w*x + w2*x2)*(1 - sigmoid(w*x + w2*x2))"
    assert check_answer(right, expected, names, timeout=30).correct
    for wrong in ("d*sigmoid(w*x + w2*x2)", right.replace("(1 -", "(1.000000000001 -")):
        assert not check_answer(wrong, expected, names, timeout=30).correct
