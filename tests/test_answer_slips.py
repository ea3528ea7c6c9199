"""Wrong answers explained: known slips named (the local derivative alone, note 003's lost
sign, note 004's ReLU convention, max-pool ties), the conventions at kinks and ties checked,
feedback in the learner's own names, the same verdict every time."""

import pytest

from derivations import check_answer, derive, names_for

SLOW_OK = 60  # generous deadlines where the point is the verdict, not the time


def check(d, name, idx, text, timeout=SLOW_OK):
    return check_answer(text, d.grads[name][idx], names_for(d), timeout=timeout)


pytestmark = pytest.mark.usefixtures("worker_up")  # tests/conftest.py


def test_fixed_seed_gives_the_same_verdict():
    d = derive("softmax_cross_entropy", num_classes=4, target=2)
    text = "-dL_i*(exp(f1) + exp(f2) + exp(f4))/(exp(f1) + exp(f2) + exp(f3) + exp(f4))"
    verdicts = {check(d, "f", (0, 2), text).correct for _ in range(3)}
    assert verdicts == {True}


def test_terms_past_the_ninth_are_named_by_ordinal_numbers():
    from mathtext.parse_messages import ordinal

    assert [ordinal(k) for k in (0, 8, 9, 10, 11, 20, 21, 22, 110)] == [
        "first",
        "ninth",
        "10th",
        "11th",
        "12th",
        "21st",
        "22nd",
        "23rd",
        "111th",
    ]


def test_the_conventions_at_kinks_and_ties_are_checked():
    """Random reals never land on x = 0 or on a tie, where ReLU′(0) = 0 and the first maximum
    of a max-pool window decide: answers that break them are wrong."""
    relu = derive("relu", shape=(2, 2))
    assert check(relu, "X", (1, 0), "dy21*[x21 > 0]").correct
    assert not check(relu, "X", (1, 0), "dy21*[x21 >= 0]").correct
    pool = derive("max_pool2d", input_shape=(2, 2), kernel_size=2)
    right = check(pool, "X", (0, 1), "dz11*[x12 > x11]*[x12 >= x21]*[x12 >= x22]")
    assert right.correct, right.message
    tie_to_last = check(pool, "X", (0, 1), "dz11*[x12 >= x11]*[x12 >= x21]*[x12 >= x22]")
    assert not tie_to_last.correct


@pytest.mark.parametrize(
    "text",
    [
        "dz11*[x12 >= x11]*[x12 >= x21]*[x12 >= x22]",  # the tie to the last maximum
        "dz11*[x12 > x11]*[x12 > x21]*[x12 > x22]",  # no tie at all
        "dz11*[x12 ≥ x11]*[x12 > x21]*[x22 ≤ x12]",  # ≥ and ≤ as the feedback writes them
    ],
)
def test_a_max_pool_tie_slip_is_named_as_one(text):
    """An answer right everywhere but on a tie is told the lesson's tie rule and which cells
    need > and which >=, not a term missing and another that does not belong."""
    pool = derive("max_pool2d", input_shape=(2, 2), kernel_size=2)
    fb = check(pool, "X", (0, 1), text)
    assert not fb.correct and fb.method == "different"
    assert "only ties are wrong" in fb.message and "first maximum" in fb.message, fb.message
    assert "x12 needs > against x11 (before it) and >= against x21, x22 (after it)" in fb.message
    assert "missing" not in fb.message and "does not belong" not in fb.message


def test_a_tie_slip_in_several_windows_and_at_a_kink():
    pool = derive("max_pool2d", input_shape=(2, 3), kernel_size=2, stride=1)
    # x12 is the second cell of z11's window and the first of z12's
    fb = check(pool, "X", (0, 1), "dz11*[x12>=x11]*[x12>=x21]*[x12>=x22] + dz12")
    assert "ties" not in fb.message  # dz12's conditions left out: more than a tie slip
    slip = "dz11*[x12>=x11]*[x12>=x21]*[x12>=x22] + dz12*[x12>=x13]*[x12>=x22]*[x12>=x23]"
    fb = check(pool, "X", (0, 1), slip)
    assert "only ties are wrong" in fb.message, fb.message
    assert "in each window x12 needs > against the cells before it" in fb.message
    relu = derive("relu", shape=(2, 2))
    fb = check(relu, "X", (1, 0), "dy21*[x21 >= 0]")
    assert fb.method == "different" and "only the kink is wrong" in fb.message, fb.message
    assert "note 004's convention" in fb.message and "[x21 > 0]" in fb.message
    fb = check(relu, "X", (1, 0), "dy21*[x21 >= 1]")  # wrong away from the kink too
    assert "boundary" not in fb.message and "where dy21*[x21 > 0] belongs" in fb.message


def test_feedback_writes_softmax_probabilities_by_their_names():
    """A learner who typed p1 reads p1 back, not e^f1 over the sum of the exponentials."""
    d = derive("softmax_cross_entropy", num_classes=3, target=0)
    fb = check(d, "f", (0, 0), "dL_i*p2 - dL_i")
    assert not fb.correct
    assert "dL_i*p1" in fb.message and "dL_i*p2" in fb.message, fb.message
    assert "exp(" not in fb.message, fb.message


@pytest.mark.parametrize(
    "op,kw,part,idx,text,says",
    [
        # the notes write ∂Lᵢ/∂f_k = p_k − 1; the lesson's entry is ∂L/∂f1 = dL_i·(p1 − 1)
        (
            "softmax_cross_entropy",
            dict(num_classes=3, target=0),
            "f",
            (0, 0),
            "p1 - 1",
            "dL_i*(-1 + p1) is right",
        ),
        (
            "softmax_cross_entropy",
            dict(num_classes=3, target=0),
            "f",
            (0, 1),
            "p2",
            "dL_i*p2 is right",
        ),
        ("sigmoid", dict(shape=(2, 2)), "X", (0, 0), "y11*(1 - y11)", "upstream gradient dy11"),
    ],
)
def test_the_local_derivative_alone_is_named_as_the_slip(op, kw, part, idx, text, says):
    """p1 − 1 for softmax got "a term is missing: dL_i*p1; a term does not belong: p1"."""
    fb = check(derive(op, **kw), part, idx, text)
    assert not fb.correct and "the local derivative alone" in fb.message and says in fb.message
    assert fb.missing or fb.extra  # the term lists are still there for the panel


def test_an_answer_missing_more_than_the_upstream_is_not_called_the_local_derivative():
    conv = derive("conv2d")
    fb = check(conv, "K", (0, 0), "x11 + x12 + x21 + x22")  # four upstreams, not one factor
    assert "local derivative" not in fb.message
    fb = check(derive("sigmoid", shape=(1, 1)), "X", (0, 0), "y11*(1 + y11)")
    assert "local derivative" not in fb.message


@pytest.mark.parametrize(
    "text,says",
    [
        ("dy11*y11*(1+y11)", "you have dy11*y11^2 where -dy11*y11^2 belongs"),
        ("dy11*y11", "A term is missing: -dy11*y11^2"),
        ("2*dy11*y11*(1-y11)", "a factor of 2 too many"),
    ],
)
def test_sigmoid_feedback_speaks_of_y_alone(text, says):
    """σ′ in terms of x is e^(−x)·σ², so the feedback read "missing: dy11*y11^2*exp(-x11)",
    mixing y and x; in y alone the expected answer is dy11·y11 − dy11·y11²."""
    fb = check(derive("sigmoid", shape=(2, 2)), "X", (0, 0), text)
    assert not fb.correct and says in fb.message and "exp" not in fb.message, fb.message
    # the term lists keep the lesson's own symbols
    assert all(not any(s.is_Dummy for s in t.free_symbols) for t in fb.missing + fb.extra)


def test_feedback_echoes_the_learner_s_own_names():
    """dy11*m11/n11**2 for ∂L/∂n11 was told "you have dy11*y11/n11": a form never typed. The
    lesson's named quantities are spoken only when the learner used them."""
    div = derive("div", shape=(2, 2))
    fb = check(div, "N", (0, 0), "dy11*m11/n11**2")
    assert "you have dy11*m11/n11^2 where -dy11*m11/n11^2 belongs" in fb.message, fb.message
    fb = check(div, "N", (0, 0), "dy11*y11/n11")
    assert "you have dy11*y11/n11 where -dy11*y11/n11 belongs" in fb.message, fb.message
