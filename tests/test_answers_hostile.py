"""A hostile learner against the answer checker: answers
undefined at some points (as typed, whatever sympy simplifies), different only far out or by
a relative 10⁻⁹, right answers in unusual forms (tests/hostile.py's corpora), a window's max
typed as z11, values past what high precision can hold."""

import re
import time

import pytest
import sympy as sp

from derivations import check_answer, derive, names_for
from mathtext.typed_names import typing_name
from tests.hostile import RIGHT, WRONG
from workers import worker

SLOW_OK = 60  # generous deadlines where the point is the verdict, not the time


def up(loss, z):
    return sp.Symbol(rf"\frac{{\partial {loss}}}{{\partial {z}}}")


def check(d, name, idx, text, timeout=SLOW_OK):
    return check_answer(text, d.grads[name][idx], names_for(d), timeout=timeout)


pytestmark = pytest.mark.usefixtures("worker_up")  # tests/conftest.py


@pytest.fixture(scope="module")
def conv():
    return derive("conv2d", input_shape=(3, 3), kernel_shape=(2, 2))


CONV_K11 = "dz11*x22 + dz12*x23 + dz21*x32 + dz22*x33"  # ∂L/∂k22 of 3×3 * 2×2, 0-based [1, 1]


# ---------------------------------------------------------------- a hostile learner


@pytest.fixture(scope="module")
def lessons():
    cache = {}

    def get(op, params):
        key = (op, tuple(sorted(params.items())))
        if key not in cache:
            cache[key] = derive(op, **params)
        return cache[key]

    return get


@pytest.mark.parametrize("ident,op,params,grad,idx,text", WRONG, ids=[w[0] for w in WRONG])
def test_nonsense_is_never_correct(ident, op, params, grad, idx, text, lessons):
    """Undefined at some points, different only beyond ±2 or by a relative 10⁻⁹, a condition
    the lesson does not have: refused, and scored (method "different")."""
    fb = check(lessons(op, params), grad, idx, text)
    assert not fb.correct and fb.method == "different", fb.message


@pytest.mark.parametrize("ident,op,params,grad,idx,text", RIGHT, ids=[r[0] for r in RIGHT])
def test_right_answers_in_unusual_forms_are_proven(ident, op, params, grad, idx, text, lessons):
    fb = check(lessons(op, params), grad, idx, text)
    assert fb.correct and fb.method == "symbolic", fb.message


def test_an_undefined_answer_says_how_many_points_were_compared():
    relu = derive("relu", shape=(2, 2))
    fb = check(relu, "X", (0, 1), "dy12*relu(x12)/x12")
    m = m_relu = re.search(r"undefined at (\d+) of the (\d+) points compared", fb.message)
    assert m and 0 < int(m[1]) < int(m[2]), fb.message
    assert "at x12 = 0" in fb.message and "it divides by 0 in relu(x12)/x12" in fb.message, (
        fb.message
    )
    fb = check(relu, "X", (0, 1), "sqrt(-dy12^2)")
    m = re.search(r"undefined at (\d+) of the (\d+) points compared", fb.message)
    assert m and int(m[1]) > int(m[2]) / 2, fb.message  # all but dy12 = 0
    # where a tower of exps overflows floats it is not undefined: only x12 = 0 counts
    with_tower = check(relu, "X", (0, 1), "exp(exp(exp(exp(dy12)))) + dy12*relu(x12)/x12")
    assert re.search(r"undefined at (\d+) of", with_tower.message)[1] == m_relu[1]


def test_a_condition_beyond_the_old_sample_range_is_found(lessons):
    """Symbols were drawn from (−2, 2): relu(k11 − 2) never showed."""
    fb = check(lessons("conv2d", {}), "X", (0, 0), "dz11*k11 + [k11 > 2]")
    assert fb.message == "Not quite. A term does not belong: [k11 > 2].", fb.message
    fb = check(lessons("conv2d", {}), "X", (0, 0), "dz11*k11 + 1000*relu(k11 - 2)")
    assert "relu(" in fb.message and "Piecewise" not in fb.message, fb.message


@pytest.mark.parametrize("text", ["dz11*k11*[exp(k11) > 0]", "dz11*k11*[cosh(k11) >= 1]"])
def test_could_not_decide_is_a_message_not_a_pass(conv, text):
    """Right for real numbers, but the proof cannot split on exp(k11) or cosh(k11) (it would
    need to know exp(k11) > 0), and no point shows a difference: "could not decide", never a
    pass, and not scored."""
    from ui.practice_model import SCORED

    fb = check(conv, "X", (0, 0), text)
    assert not fb.correct and fb.method == "undecided", fb.message
    assert fb.message.startswith("Could not decide") and "does not count" in fb.message
    assert "undecided" not in SCORED


def test_a_difference_floats_cannot_see_is_still_refused(conv):
    """1 + 10⁻¹⁵ is below float64's resolution at most points: exact rationals and 40-digit
    arithmetic see it."""
    fb = check(conv, "K", (1, 1), f"({CONV_K11})*1.000000000000001")
    assert not fb.correct and fb.method == "different", fb.message


def test_rounding_never_refuses_a_right_answer():
    """At x = 50, 1 − tanh(x)² is ~10⁻⁴³ and cosh(x)² ~10⁴³: floats (and 40 digits) lose it;
    the precision is raised until the value settles, or the point is not used."""
    tanh = derive("tanh", shape=(2, 2))
    assert check(tanh, "X", (0, 0), "dy11/cosh(x11)^2").correct
    conv = derive("conv2d")
    fb = check(conv, "X", (0, 0), "dz11*k11*cosh(k11)^2 - dz11*k11*(exp(k11) - exp(-k11))^2/4")
    assert fb.correct, fb.message


def test_a_removable_zero_division_is_refused(conv):
    """dz21·(x32² + x32)/x32 equals dz21·(x32 + 1) except at x32 = 0, where the gradient is
    defined and the answer is not."""
    text = "dz11*x22 + dz12*x23 + dz21*(x32^2 + x32*x33)/x32 + dz22*x33 - dz21*x33"
    fb = check(conv, "K", (1, 1), text)
    assert not fb.correct and "x32 = 0" in fb.message, fb.message


def test_an_answer_is_judged_as_typed(conv):
    """sympy cancels x32^2/x32 to x32 as it builds (the first pass accepted it as a right
    answer "in another form"); as typed it divides by 0 at x32 = 0, where the gradient is
    defined: refused, naming the part as typed."""
    text = "dz11*x22 + dz12*x23 + dz21*x32^2/x32 + dz22*x33"
    fb = check(conv, "K", (1, 1), text)
    assert not fb.correct and fb.method == "different", fb.message
    assert "at x32 = 0" in fb.message and "it divides by 0 in x32^2/x32" in fb.message
    sigmoid = derive("sigmoid", shape=(2, 2))
    fb = check(sigmoid, "X", (0, 0), "dy11*y11*(1-y11)*x11/x11")
    assert "at x11 = 0, dy11 = " in fb.message and "divides by 0 in x11/x11" in fb.message
    fb = check(sigmoid, "X", (0, 0), "dy11*y11*(1-y11) + 0*log(-1-x11^2)")
    m = re.search(r"undefined at (\d+) of the (\d+) points compared", fb.message)
    assert m and m[1] == m[2], fb.message  # everywhere
    assert "the log of a number that is not positive in log(-1-x11^2)" in fb.message


@pytest.mark.parametrize(
    "text",
    [
        "dy11*y11*(1 - y11)^2/(1 - y11)",  # 1 - y11 rounds to 0 in floats at x11 = 37
        "dy11*y11^2*(1/y11 - 1)",
        "dy11*exp(-x11)/(1 + exp(-x11))^2",
        "dy11/(exp(x11/2) + exp(-x11/2))^2",
        "dy11*sqrt(y11^2)*(1 - y11)",  # y11 > 0: sqrt(y11^2) is y11
        "dy11*exp(log(y11) + log(1 - y11))",  # both logs of positive numbers
    ],
)
def test_right_forms_stay_right_as_typed(text):
    """Divisions and logs that are defined wherever the lesson is, although floats may
    round them to 0 (the answer as typed is confirmed in 50 and 100 digits first)."""
    fb = check(derive("sigmoid", shape=(2, 2)), "X", (0, 0), text)
    assert fb.method != "different", fb.message


def test_the_domain_limits_the_cases_but_keeps_its_boundary():
    """A lesson defined where x >= 0 (sqrt) still has the case x = 0, even where x = 0 would
    otherwise be folded into the case x < 0, which the domain leaves out; where x > 0 (log)
    it has not."""
    from grading.proof import prove

    x = sp.Symbol("x")
    above, at_or_above = sp.Piecewise((1, x > 0), (0, True)), sp.Piecewise((1, x >= 0), (0, True))
    assert not prove(above, sp.Integer(1), domain=(sp.sqrt(x),)).equal  # differ at x = 0
    assert prove(at_or_above, sp.Integer(1), domain=(sp.sqrt(x),)).equal
    assert prove(above, sp.Integer(1), domain=(sp.log(x),)).equal
    assert not prove(above, sp.Integer(1)).equal


def test_a_huge_value_is_not_called_undefined(conv):
    """exp(exp(exp(exp(exp(2))))) is past every float and past what high precision can hold
    at a modest cost (it asked mpmath for gigabytes): too large to settle at that point, not
    undefined there."""
    from grading.points import precise

    tower = "exp(exp(exp(exp(exp(dz11)))))"
    fb = check(conv, "X", (0, 0), tower)
    assert fb.method == "different" and "undefined" not in fb.message, fb.message
    dz11 = up("L", "z_{11}")
    start = time.perf_counter()
    value = precise(sp.exp(sp.exp(sp.exp(sp.exp(sp.exp(dz11))))), {dz11: 2.0})
    assert value is None and time.perf_counter() - start < 5


def test_a_window_max_is_answerable_without_killing_the_worker():
    """z11 on a 6×6 max pool is Max(36 cells), which sympy took ~3 s to build again in the
    worker: "too complex" and a killed worker. Now a verdict, from the same worker; and a right
    answer written with z11 is proven."""
    from mathtext.parse import preview

    pool = derive("max_pool2d", input_shape=(6, 6), kernel_size=6)
    names, expected = names_for(pool), pool.grads["X"][1, 2]
    worker.shutdown()  # a fresh worker, whose sympy caches hold nothing of this window yet
    worker.run("parse", "1", {}, timeout=60)
    before = worker.pid()
    fb = check_answer("z11", expected, names)  # the page's own deadline
    assert fb.method == "different" and "does not belong: z11" in fb.message, fb.message
    # read as the max of the window, shortened: 36 cells ran off the preview's column
    assert preview("z11", names) == r"\max\left(x_{11}, x_{12}, x_{13}, \ldots, x_{66}\right)"
    assert worker.pid() == before
    firsts = "*".join(f"[x23 > x{c}]" for c in (11, 12, 13, 14, 15, 16, 21, 22))
    for text in (f"dz11*[x23 >= z11]*{firsts}", f"dz11*[z11 <= x23]*{firsts}"):
        fb = check_answer(text, expected, names, timeout=SLOW_OK)
        assert fb.correct and fb.method == "symbolic", fb.message
    fb = check_answer("dz11*[x23 >= z11]", expected, names, timeout=SLOW_OK)  # ties
    assert not fb.correct and fb.method == "different", fb.message
    # the one that forgets x22 (before x23 in the window) is named as a tie slip
    text = f"dz11*[x23 >= z11]*{firsts.removesuffix('*[x23 > x22]')}"
    fb = check_answer(text, expected, names, timeout=SLOW_OK)
    assert fb.method == "different" and "only ties are wrong" in fb.message, fb.message


def test_a_window_max_is_sent_as_a_plain_function_of_its_cells():
    """What the worker rebuilds: no wide Max (its constructor compares the cells pairwise),
    the same function at every point, and two-cell Max left for the proof's cases."""
    import pickle

    import numpy as np

    from mathtext.numeric import evaluate
    from mathtext.window_max import WindowMax, lighten

    z11 = names_for(derive("max_pool2d", input_shape=(6, 6), kernel_size=6))["z11"]
    sent = lighten(z11)
    assert isinstance(sent, WindowMax) and not sent.has(sp.Max)
    assert pickle.loads(pickle.dumps(sent)) == sent
    cells = sorted(z11.free_symbols, key=lambda s: s.name)
    env = {c: np.random.default_rng(0).normal(size=5) for c in cells}
    assert np.array_equal(evaluate(sent, env), evaluate(z11, env))
    point = {c: sp.Float(float(v[0])) for c, v in env.items()}
    assert sent.xreplace(point) == z11.xreplace(point)
    relu = names_for(derive("relu", shape=(2, 2)))["y11"]
    assert lighten(relu) == relu


def test_a_300_character_answer_is_checked_well_within_the_deadline():
    """A 6×6 max-pool window written out (the old way, ~380 characters, is over the limit;
    first_max fits), and the longest sums the box takes: each well under CHECK_SECONDS."""
    pool = derive("max_pool2d", input_shape=(6, 6), kernel_size=6)
    names = names_for(pool)
    cells = ", ".join(typing_name(s) for s in pool.inputs["X"])
    text = f"dz11*first_max(x23, {cells})"
    assert len(text) <= 300
    check_answer("x11", pool.grads["X"][1, 2], names, timeout=SLOW_OK)  # warm
    times, verdicts = [], []
    for t in (text, text.replace("first_max(x23,", "first_max(x24,")):
        start = time.perf_counter()
        verdicts.append(check_answer(t, pool.grads["X"][1, 2], names, timeout=SLOW_OK).correct)
        times.append(time.perf_counter() - start)
    assert verdicts == [True, False]
    assert max(times) < 1.0, times  # the deadline is 1.5 s; a loaded machine needs the rest
