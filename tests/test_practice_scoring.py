"""Practice scoring: feedback that named the fix, followed by the fixed answer,
scores as solved with help, as a revealed hint does; the same wrong answer checked twice
counts once. The pure rule (``score_check``) and the page (AppTest)."""

from pathlib import Path

import pytest
import sympy as sp

from derivations import check_answer, derive, names_for
from ui import practice as P
from ui import practice_model as PM

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
CONV = "pages/conv2d.py"
RIGHT = "dz11*k22 + dz12*k21 + dz21*k12 + dz22*k11"  # ∂L/∂x₂₂ of the 3×3 * 2×2 lesson
PARTLY = "dz11*k22 + x11 + x12 + x13 + x21 + x22"


pytestmark = pytest.mark.usefixtures("worker_up")  # tests/conftest.py


@pytest.fixture(scope="module")
def x22():
    d = derive("conv2d")
    return d.grads["X"][1, 1], names_for(d)


def test_which_feedback_names_the_fix(x22):
    expected, names = x22
    slip = check_answer("dz11*k22 + dz12*k21 + dz21*k21 + dz22*k11", expected, names)
    assert "where dz21*k12 belongs" in slip.message and PM.names_the_fix(slip, expected)
    missing = check_answer("dz11*k22 + dz12*k21 + dz21*k12", expected, names)
    assert "missing: dz22*k11" in missing.message and PM.names_the_fix(missing, expected)
    # every term of the right answer listed as missing: the answer is out, whatever else
    junk = check_answer("x11 + x12 + x13 + x21 + x22", expected, names)
    assert "and 1 more" in junk.message and PM.names_the_fix(junk, expected)
    # one right term kept, five that do not belong cut short: which to drop is not said
    partly = check_answer(PARTLY, expected, names)
    assert "and 1 more" in partly.message and not PM.names_the_fix(partly, expected)
    assert not PM.names_the_fix(check_answer(RIGHT, expected, names), expected)
    assert not PM.names_the_fix(check_answer("dz11 +* k22", expected, names), expected)


def test_the_rule():
    ss, page, lesson = {}, "pages/x.py", "X"
    told = P.Attempt()
    assert P.score_check(ss, page, lesson, told, "a", False, True) == "wrong"
    assert P.score_check(ss, page, lesson, told, "b", False, False) == ""  # after the fix: not
    assert P.score_check(ss, page, lesson, told, "right", True, False) == "helped"
    assert P.lesson_score(ss, page, lesson) == (0, 1) and P.helped_score(ss, page, lesson) == 1
    again = P.Attempt()
    assert P.score_check(ss, page, lesson, again, "a", False, False) == "wrong"
    assert P.score_check(ss, page, lesson, again, "a", False, False) == ""  # the same: once
    assert P.score_check(ss, page, lesson, again, "c", False, False) == "wrong"
    assert P.score_check(ss, page, lesson, again, "right", True, False) == "correct"
    again.solved = True
    assert P.score_check(ss, page, lesson, again, "right", True, False) == ""
    revealed = P.Attempt(revealed=True)
    assert P.score_check(ss, page, lesson, revealed, "right", True, False) == "helped"
    assert P.lesson_score(ss, page, lesson) == (1, 4)
    assert P.helped_score(ss, page, lesson) == 2 and P.helped_score(ss) == 2


def _open():
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(CONV).run()
    at.selectbox(key=f"{CONV}/practice/grad").set_value("X").run()
    at.multiselect(key=f"{CONV}/practice/hidden").set_value(["1,1"]).run()
    assert not at.exception, [e.value for e in at.exception]
    return at, f"{CONV}/practice/q/conv2d/X/2_2"


def _answer(at, q, text):
    at.text_input(key=f"{q}/answer").input(text)
    at.button(key=f"{q}/check").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at.session_state[q]


def _caption(at) -> str:
    return " ".join(c.value for c in at.caption)


def test_typing_the_fix_the_feedback_named_scores_as_helped():
    at, q = _open()
    att = _answer(at, q, "dz11*k22 + dz12*k21 + dz21*k21 + dz22*k11")
    assert "You have dz21*k21 where dz21*k12 belongs" in att.verdict[1]
    att = _answer(at, q, RIGHT)
    assert att.verdict[0] and att.solved and "solved with help" in att.verdict[1]
    assert P.lesson_score(at.session_state, CONV, "Conv2D") == (0, 1)
    assert P.helped_score(at.session_state, CONV, "Conv2D") == 1
    assert "Conv2D: **0 / 1** correct (1 more solved with help)" in _caption(at)


def test_the_same_wrong_answer_checked_twice_counts_once():
    at, q = _open()
    for text in [PARTLY, PARTLY, "x22+x21+x13+x12+x11 + k22*dz11"]:
        att = _answer(at, q, text)
        assert att.verdict[0] is False
    assert "counts once" in att.verdict[1]
    assert P.lesson_score(at.session_state, CONV, "Conv2D") == (0, 1)
    att = _answer(at, q, RIGHT)  # the list was cut short: the fix was not given away
    assert att.verdict[0] and "with help" not in att.verdict[1]
    assert P.lesson_score(at.session_state, CONV, "Conv2D") == (1, 2)
    assert sp.Symbol("x_{11}") not in at.session_state[q].missing


def test_could_not_decide_is_a_neutral_notice_and_not_scored():
    """No proof and no refusing point is no verdict on the maths:
    an information box saying what to do, not a red error, and the score is untouched."""
    at, q = _open()
    undecided = "dz11*k22*[exp(k22) > 0] + dz12*k21 + dz21*k12 + dz22*k11"
    att = _answer(at, q, undecided)
    assert att.verdict[0] is False and att.verdict[3] == "undecided", att.verdict
    assert not any("Could not decide" in e.value for e in at.error)
    notice = [i.value for i in at.info if "Could not decide" in i.value]
    assert notice and "write it another way" in notice[0].lower(), notice
    assert "does not count" in notice[0]
    assert P.lesson_score(at.session_state, CONV, "Conv2D") == (0, 0)
    assert not att.checked and not att.told
