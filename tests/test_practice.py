"""Practice on the lesson pages: the pure parts (whose terms a network entry is asked in, which
entries can be asked, the hints, the score, the notes' mistakes as items) and the page itself
through AppTest: a wrong answer named term by term, equivalent right ones accepted, the
preview before the verdict, hints one at a time, the score across lessons, the notes'
mistakes, and the hostile corpus typed into the box (a message each, nothing run, nothing
else lost)."""

import re
import time
from pathlib import Path

import pytest
import sympy as sp

from derivations import check_answer, derive, names_for
from mathtext.parse import check_text, parse_here
from mathtext.typed_names import inverse_names, term_text
from tests.hostile import ALL, MARKER
from ui import practice as P
from ui.registry import OPS
from workers import worker

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
SLOW_OK = 60  # generous: the point is the verdict, not the time
RERUN_BOUND = 30  # s for one rerun with a hostile answer: a hang is the point, not speed


pytestmark = pytest.mark.usefixtures("worker_up")  # tests/conftest.py


def up(z, loss="L"):
    return sp.Symbol(rf"\frac{{\partial {loss}}}{{\partial {z}}}")


# ---------------------------------------------------------------- whose terms, which entries


def test_a_single_op_owns_its_inputs():
    d = derive("conv2d")
    for name in d.inputs:
        part, path = P.owner(d, name)
        assert part is d and path == ()


def test_a_network_entry_is_asked_in_its_layers_terms():
    d = derive("mlp", layer_sizes=(2, 3, 2))
    w1, path = P.owner(d, "W1")
    assert w1.op == "linear" and "W1" in w1.inputs and P.part_at(d, path) is w1
    # the layer's own upstream ∂L/∂z⁽¹⁾, which backprop hands it
    assert w1.upstream[0, 0] == up("z^{(1)}_{11}")
    assert P.expected(d, "W1", (1, 0)) == w1.upstream[0, 0] * w1.inputs["X"][0, 1]
    w2, _ = P.owner(d, "W2")
    assert w2 is not w1 and w2.upstream[0, 0] == up("z^{(2)}_{11}")
    names = names_for(w1)
    assert names["dz11"] == up("z^{(1)}_{11}") and names["w21"] == w1.inputs["W1"][1, 0]
    assert "layer" in P.layer_note(d, "W1") and P.layer_note(derive("conv2d"), "K") == ""
    cnn = derive("cnn")
    assert P.owner(cnn, "K")[0].op == "conv2d" and P.owner(cnn, "W")[0].op == "linear"
    with pytest.raises(KeyError):
        P.owner(cnn, "nope")


def test_a_network_practice_starts_with_a_weight():
    d = derive("mlp")
    assert P.default_gradient(d, P.askable(d)) == "W1"
    assert P.default_gradient(derive("conv2d"), P.askable(derive("conv2d"))) == "X"


def test_entries_are_the_ones_short_enough_to_type():
    d = derive("conv2d", input_shape=(8, 8), kernel_shape=(5, 5))
    xs = P.entries(d, "X")
    assert xs and all(1 <= e.terms <= P.MAX_TERMS for e in xs)
    assert len(xs) < 64  # the middle entries have up to 16 terms
    assert all(len(d.jac["X"][e.idx]) == e.terms for e in xs)
    assert "K" not in P.askable(d)  # every kernel entry has 16 terms
    assert P.left_out_count(d, "X") == 64 - len(xs) and P.left_out_count(d, "K") == 25
    assert P.entries(derive("conv2d"), "K")[0].terms == 4


@pytest.mark.parametrize("op", list(OPS))
def test_every_lesson_can_be_practised_at_its_default_sizes(op):
    d = OPS[op].derive(**OPS[op].defaults())
    found = P.askable(d)
    assert found, op
    for name, es in found.items():
        part, _ = P.owner(d, name)
        names = names_for(part)
        inv = inverse_names(names)
        for e in es[:2]:
            typed = term_text(P.expected(d, name, e.idx), inv)
            assert len(typed) <= 300, (op, name, e.idx)


@pytest.mark.parametrize("op", list(OPS))
def test_the_box_example_is_typed_with_the_questions_own_names(op):
    """The placeholder is valid input for every question it is shown with: the lesson's
    entries (a network's in its layer's names, /custom's dy11…) and the notes' mistakes."""
    d = OPS[op].derive(**OPS[op].defaults())
    parts = [P.owner(d, name)[0] for name in P.askable(d)]
    parts += [derive(m.op, **m.params) for m in P.mistakes_for(op) if m.kind == "entry"]
    for part in parts:
        names = names_for(part)
        example = P.placeholder(part, names)
        assert example.startswith("for example "), example
        text = example.removeprefix("for example ")
        used = check_text(text, names).used  # ValueError for a name the question lacks
        assert "*" in text and len(used) >= 2, (op, text)
        assert parse_here(text, names).expr.free_symbols, (op, text)


def test_hidden_entries_are_drawn_reproducibly():
    es = P.entries(derive("conv2d"), "X")
    a, b = P.pick_hidden(es, 3, seed=4), P.pick_hidden(es, 3, seed=4)
    assert a == b and len(a) == 3 and a == sorted(a)
    terms = {e.idx: e.terms for e in es}
    assert all(terms[i] > 1 for i in a)  # several-term entries first
    assert len(P.pick_hidden(es[:2], 3, seed=0)) == 2


def test_next_unsolved_wraps_and_skips_solved():
    hidden = [(0, 0), (0, 1), (1, 1)]
    assert P.next_unsolved(hidden, set(), 0) == 1
    assert P.next_unsolved(hidden, {(0, 1)}, 0) == 2
    assert P.next_unsolved(hidden, {(0, 1), (1, 1)}, 2) == 0
    assert P.next_unsolved(hidden, {(0, 0), (0, 1), (1, 1)}, 1) == 1


def test_hints_reveal_the_derivation_step_by_step():
    d = derive("conv2d")
    hs = P.hints(d, "X", (1, 1))
    assert [h.title for h in hs] == [
        "The chain rule",
        "Which outputs it feeds",
        "The partial derivatives",
        "The answer",
    ]
    assert r"\sum_{i,j}" in hs[0].latex
    assert "z₁₁, z₁₂, z₂₁, z₂₂" in hs[1].text and hs[1].latex.count(r"\frac{\partial z") == 4
    assert "k_{22}" in hs[2].latex
    assert hs[3].latex == d.chain_rule("X", (1, 1))
    mlp = derive("mlp")
    h = P.hints(mlp, "W1", (0, 0))
    assert "z^{(1)}_{11}" in h[3].latex  # in the layer's own terms


def test_names_listed_beside_the_box():
    d = derive("conv2d")
    lines = P.names_help(d, names_for(d))
    assert lines[0].startswith("inputs: `x11`, `x12`, … `x33`")
    assert "`dz11`" in lines[1] and "outputs" in lines[2]
    sm = derive("softmax_cross_entropy")
    assert any(
        line.startswith("the softmax probabilities: `p1`")
        for line in P.names_help(sm, names_for(sm))
    )


def test_score_per_lesson_and_overall():
    ss = {}
    P.record(ss, "pages/conv2d.py", "Conv2D", True)
    P.record(ss, "pages/conv2d.py", "Conv2D", False)
    P.record(ss, "pages/pooling.py", "Max pooling", True)
    P.record(ss, "pages/pooling.py", "Average pooling", False)
    assert P.lesson_score(ss, "pages/conv2d.py", "Conv2D") == (1, 2)
    assert P.lesson_score(ss, "pages/pooling.py", "Max pooling") == (1, 1)
    assert P.lesson_score(ss, "pages/dense.py", "Dense layer") == (0, 0)
    assert P.overall_score(ss) == (2, 4)


def test_messages_keep_their_products():
    assert P.md_safe("You have dz21*k12 where dz21*k21 belongs.") == (
        r"You have dz21\*k12 where dz21\*k21 belongs."
    )
    assert P.md_safe("`x +* 2`: a * here") == r"`x +* 2`: a \* here"  # code spans untouched
    assert P.md_safe("[a](b) $x$ ` odd") == r"\[a\](b) \$x\$ \` odd"


# ---------------------------------------------------------------- the notes' mistakes


@pytest.mark.parametrize("item", [m for m in P.MISTAKES if m.kind == "entry"], ids=lambda m: m.key)
def test_each_notes_mistake_is_wrong_and_its_fix_right(item):
    d = derive(item.op, **item.params)
    truth = d.grads[item.grad][item.idx]
    names = names_for(d)
    notes = " + ".join(item.terms).replace("+ -", "- ")
    fb = check_answer(notes, truth, names, timeout=SLOW_OK)
    assert not fb.correct and fb.method == "different", (notes, fb.message)
    right = term_text(truth, inverse_names(names))
    assert check_answer(right, truth, names, timeout=SLOW_OK).correct, right
    # the wrong terms are exactly the ones the right answer does not have
    expanded = set(sp.Add.make_args(sp.expand(truth)))
    for k, t in enumerate(item.terms):
        typed = check_answer(t, truth, names, timeout=SLOW_OK)
        term = typed.extra[0] if typed.extra else None
        assert (k in item.wrong) == (term is not None and term not in expanded), (k, t)
    assert P.picked_right(item, item.wrong) and not P.picked_right(item, [])


def test_the_mistakes_appear_where_the_notes_make_them():
    numbers = sorted({m.number for m in P.MISTAKES})
    assert numbers == [1, 2, 3, 4, 5, 6, 7]
    for spec in OPS.values():  # every key an entry lists is a mistake
        assert [m.key for m in P.mistakes_for(spec.name)] == list(spec.mistakes)
    assert [m.number for m in P.mistakes_for("conv_transpose2d")] == [3, 4]
    assert P.mistakes_for("sigmoid") == []
    for m in P.MISTAKES:
        if m.kind == "choice":
            assert 0 <= m.answer < len(m.choices)


# ---------------------------------------------------------------- on the page (AppTest)


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def ask(at, page: str, op: str, grad: str, idx) -> str:
    """Hide exactly one entry of ∂L/∂grad; returns that question's key."""
    at.selectbox(key=f"{page}/practice/grad").set_value(grad).run()
    at.multiselect(key=f"{page}/practice/hidden").set_value([f"{idx[0]},{idx[1]}"]).run()
    assert not at.exception, [e.value for e in at.exception]
    return f"{page}/practice/q/{op}/{grad}/{idx[0] + 1}_{idx[1] + 1}"


def answer(at, q: str, text: str, check: bool = True):
    at.text_input(key=f"{q}/answer").input(text)
    if check:
        at.button(key=f"{q}/check").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at.session_state[q]


CONV = "pages/conv2d.py"


@pytest.fixture(scope="module")
def conv_at():
    return open_page(CONV)


def test_a_wrong_answer_is_named_term_by_term_then_a_right_one_scores(conv_at):
    at = conv_at
    q = ask(at, CONV, "conv2d", "X", (1, 1))
    att = answer(at, q, "dz11*k22 + dz12*k21 + dz21*k21 + dz22*k11")
    assert att.verdict[0] is False and att.verdict[3] == "different"
    assert "You have dz21*k21 where dz21*k12 belongs" in att.verdict[1]
    assert att.missing == [up("z_{21}") * sp.Symbol("k_{12}")]
    assert att.extra == [up("z_{21}") * sp.Symbol("k_{21}")]
    assert any(r"dz21\*k21" in e.value for e in at.error)  # shown as typed, not in italics
    att = answer(at, q, "dz11*k22 + dz12*k21 + dz21*k12")
    assert "A term is missing: dz22*k11." in att.verdict[1]
    att = answer(at, q, "dz11*k22 + dz12*k21 + dz21*k12 - dz22*k11")
    assert "sign of the fourth term" in att.verdict[1]
    att = answer(at, q, "k11*dz22 + k12*dz21 + k21*dz12 + k22*dz11")
    assert att.verdict[0] is True and att.solved
    assert at.success and "Correct" in at.success[0].value
    # the first feedback named the fix: the rest is solved with help
    assert P.lesson_score(at.session_state, CONV, "Conv2D") == (0, 1)
    caption = " ".join(c.value for c in at.caption)
    assert "Conv2D: **0 / 1** correct (1 more solved with help)" in caption


@pytest.mark.parametrize(
    "text",
    [
        "dz11*x22 + dz12*x23 + dz21*x32 + dz22*x33",
        "x33*dz22 + x32*dz21 + x23*dz12 + x22*dz11",
        "(dz11*x22 + dz12*x23) + (dz21·x32 + dz22×x33)",
        "2*(dz11*x22 + dz12*x23 + dz21*x32 + dz22*x33)/2",
    ],
)
def test_equivalent_right_answers_are_accepted(conv_at, text):
    q = ask(conv_at, CONV, "conv2d", "K", (1, 1))
    att = answer(conv_at, q, text)
    assert att.verdict[0] is True, att.verdict


def test_the_preview_comes_before_the_verdict(conv_at):
    at = conv_at
    q = ask(at, CONV, "conv2d", "K", (0, 0))
    att = answer(at, q, "dz11*x11 + dz12*x12", check=False)
    assert att.verdict is None  # not scored yet
    assert att.preview[1] and "x_{11}" in att.preview[1]
    assert any("x_{11}" in x.value and r"\partial" in x.value for x in at.latex)
    att = answer(at, q, "dz11*x11 +* dz12", check=False)
    assert att.preview[2] and "a * with nothing before it" in att.preview[2]
    assert any("nothing before it" in w.value for w in at.warning)
    assert att.verdict is None


def test_hints_one_at_a_time_and_a_revealed_answer_does_not_score(conv_at):
    at = conv_at
    q = ask(at, CONV, "conv2d", "X", (0, 1))
    before = P.lesson_score(at.session_state, CONV, "Conv2D")
    for k in range(1, 5):
        at.button(key=f"{q}/hint").click().run()
        assert at.session_state[q].hints == k
        assert any(f"Hint {k} of 4" in m.value for m in at.markdown)
    assert at.button(key=f"{q}/hint").disabled and at.session_state[q].revealed
    att = answer(at, q, "dz11*k12 + dz12*k11")
    assert att.verdict[0] is True
    assert P.lesson_score(at.session_state, CONV, "Conv2D") == before


def test_the_state_survives_reruns_and_other_widgets(conv_at):
    at = conv_at
    q = ask(at, CONV, "conv2d", "b", (0, 0))
    answer(at, q, "dz11 + dz12 + dz21 + dz22")
    at.button(key=f"{CONV}/next").click().run()  # the lesson's own Next
    at.number_input(key=f"{CONV}/seed").set_value(3).run()
    assert at.session_state[q].solved
    assert at.session_state[f"{CONV}/practice/set"]["grad"] == "b"
    assert at.text_input(key=f"{q}/answer").value == "dz11 + dz12 + dz21 + dz22"


def test_random_entries_and_another_gradient(conv_at):
    at = conv_at
    at.selectbox(key=f"{CONV}/practice/grad").set_value("X").run()
    seen = set()
    for _ in range(4):
        at.button(key=f"{CONV}/practice/redraw").click().run()
        hidden = at.session_state[f"{CONV}/practice/set"]["hidden"]
        assert len(hidden) == P.HIDE
        seen.add(tuple(map(tuple, hidden)))
    assert len(seen) > 1
    assert not at.exception


def test_the_notes_mistake_items(conv_at):
    at = conv_at
    at.radio(key=f"{CONV}/practice/mode").set_value("mistakes").run()
    q = f"{CONV}/practice/m/conv-k22"
    at.multiselect(key=f"{q}/pick").set_value([1]).run()
    at.button(key=f"{q}/pick/check").click().run()
    assert at.session_state[f"{q}/pickverdict"][0] is False
    at.multiselect(key=f"{q}/pick").set_value([0]).run()
    at.button(key=f"{q}/pick/check").click().run()
    assert at.session_state[f"{q}/pickverdict"][0] is True
    att = answer(at, q, "dz11*x21 + dz12*x23 + dz21*x32 + dz22*x33")  # the note's own
    assert not att.verdict[0] and "where dz11*x22 belongs" in att.verdict[1]
    att = answer(at, q, "dz11*x22 + dz12*x23 + dz21*x32 + dz22*x33")
    assert att.verdict[0] and any("bottom-right" in i.value for i in at.info)
    at.radio(key=f"{CONV}/practice/mode").set_value("entries").run()
    assert not at.exception


def test_a_choice_item_and_the_score_across_lessons():
    page = "pages/elementwise.py"
    at = open_page(page)
    at.selectbox(key=f"{page}/op").set_value("relu").run()
    at.radio(key=f"{page}/practice/mode").set_value("mistakes").run()
    q = f"{page}/practice/m/relu-zero"
    at.radio(key=f"{q}/choice").set_value(1).run()
    at.button(key=f"{q}/check").click().run()
    assert at.session_state[f"{q}/verdict"][0] is False
    at.radio(key=f"{q}/choice").set_value(0).run()
    at.button(key=f"{q}/check").click().run()
    assert at.session_state[f"{q}/verdict"][0] is True
    # the wrong choice's verdict named the right one: picking it is solved with help
    assert P.lesson_score(at.session_state, page, "ReLU") == (0, 1)
    at.switch_page(CONV).run()
    q = ask(at, CONV, "conv2d", "X", (0, 0))
    answer(at, q, "dz11*k11")
    assert P.overall_score(at.session_state) == (1, 2)
    caption = " ".join(c.value for c in at.caption)
    assert "all lessons this session: **1 / 2** (1 with help)" in caption


def test_a_network_entry_on_the_mlp_page():
    page = "pages/mlp.py"
    at = open_page(page)
    q = ask(at, page, "mlp", "W1", (1, 0))
    # the layer's own names, not the conv page's dz11*x22 + dz12*x23 (no x22 here); the lesson
    # follows the network trained above, 2 → 4 → 4 → 2 by default
    assert at.text_input(key=f"{q}/answer").placeholder == "for example dz11*x11 + dz14*x12"
    att = answer(at, q, "x12*dz11")
    assert att.verdict[0] is True, att.verdict
    q = ask(at, page, "mlp", "W2", (0, 1))
    att = answer(at, q, "a11*dz11")  # the wrong output
    assert "where a11*dz12 belongs" in att.verdict[1] or "dz12" in att.verdict[1]
    assert not at.exception


def test_the_hostile_corpus_typed_into_the_practice_box(tmp_path, monkeypatch):
    """Each text gets a message within a generous bound; nothing it says is run (an injection
    would write MARKER into the working directory, which is tmp_path for this process and a
    fresh worker); no exception; the lesson's other settings and the question stay."""
    worker.shutdown()
    monkeypatch.chdir(tmp_path)
    at = open_page(CONV)
    at.number_input(key=f"{CONV}/stride/r").set_value(1).run()
    at.number_input(key=f"{CONV}/seed").set_value(7).run()
    q = ask(at, CONV, "conv2d", "K", (1, 1))
    for ident, text in ALL:
        typed = re.sub(r"\bx\b", "x11", text)  # a name of the lesson, so the worker sees more
        start = time.perf_counter()
        att = answer(at, q, typed)
        elapsed = time.perf_counter() - start
        assert elapsed < RERUN_BOUND, (ident, elapsed)
        assert att.verdict is not None and att.verdict[0] is False, ident
        assert att.verdict[1], ident
        assert not at.success, ident
        assert at.error or at.warning, ident
        assert not (tmp_path / MARKER).exists() and not (ROOT / MARKER).exists(), ident
    assert at.number_input(key=f"{CONV}/seed").value == 7
    assert at.session_state[f"{CONV}/practice/set"]["hidden"] == [(1, 1)]
    assert P.lesson_score(at.session_state, CONV, "Conv2D")[0] == 0
    att = answer(at, q, "dz11*x22 + dz12*x23 + dz21*x32 + dz22*x33")
    assert att.verdict[0] is True  # the checker still works after all that
