"""Issue 22 §5, the "Attention, trained" page: its task and model (ui/seq_training.py) learn
what the page promises — the defaults reach 95 % of held-out sequences right, a deterministic
count of steps, not a timing — on sequences never trained on; one example's backward pass
through the attention layer, as the lesson's formulas, equals the engine and PyTorch autograd;
settings from a link and typed sequences are matched, never evaluated; and the page in AppTest:
Step, Train, Stop, Reset, the URL, and bad input as st.error with the other settings kept."""

import numpy as np
import pytest

from tests.test_networks import chart_titles, open_page
from ui import seq_training as T

PAGE = "pages/attention_trained.py"


def key(name: str) -> str:
    return f"{PAGE}/train/{name}"


def test_the_page_defaults_reach_95_percent_of_held_out_sequences_in_400_steps():
    """The goal is ≥ 95 % within 20 s of training on the project's machine: 400 steps take
    about 0.5 s of it there (bench/attention_train.py measures the time; this the accuracy)."""
    for seed in (0, 1):
        run = T.new_run({**T.DEFAULTS, "seed": seed})
        for _ in range(400):
            run.step()
        scores = run.evaluate()
        assert scores["test sequence accuracy"] >= 0.95, (seed, scores)
        assert scores["test token accuracy"] >= 0.99, (seed, scores)


def test_at_step_0_the_model_gets_next_to_no_held_out_sequence_right():
    """So the curves and the map have something to show: the accuracy is learned."""
    run = T.new_run(T.DEFAULTS)
    assert run.history[0]["test sequence accuracy"] < 0.01
    assert run.history[0]["test token accuracy"] < 0.3


def test_held_out_sequences_are_none_of_the_training_ones():
    X, Y, Xt, Yt = T.make_task("sort", 5, 4, 500, seed=3)
    assert X.shape == (500, 5) and Xt.shape == (T.N_TEST, 5)
    rows = {tuple(r) for r in X}
    assert len(rows) == 500 and not rows & {tuple(r) for r in Xt}
    assert X.min() >= 0 and X.max() < 4
    np.testing.assert_array_equal(Y, np.sort(X, axis=1))
    np.testing.assert_array_equal(T.targets("reverse", Xt), Xt[:, ::-1])


def test_a_training_set_larger_than_the_sequences_that_exist_is_refused_saying_what_to_do():
    with pytest.raises(
        ValueError, match=r"only 4\^5 = 1,024 .* at most 524 .* \(asked for 2,000\)"
    ):
        T.make_task("reverse", 5, 4, 2000, seed=0)
    T.check_sizes(5, 4, 524)  # exactly what exists


def test_the_outlined_cells_are_where_each_output_should_look():
    x = np.array([3, 1, 3, 0, 2])
    assert T.right_cells("reverse", x) == [(0, 4), (1, 3), (2, 2), (3, 1), (4, 0)]
    # sorted: 0 1 2 3 3 — the two 3s are equally right for the last two outputs
    assert T.right_cells("sort", x) == [(0, 3), (1, 1), (2, 4), (3, 0), (3, 2), (4, 0), (4, 2)]
    p = np.full((5, 5), 0.2)
    np.testing.assert_allclose(T.mass_on(p, T.right_cells("sort", x)), [0.2, 0.2, 0.2, 0.4, 0.4])


def _trained(steps=60, task="reverse"):
    run = T.new_run({**T.DEFAULTS, "task": task})
    for _ in range(steps):
        run.step()
    return run


@pytest.mark.parametrize("task", ["reverse", "sort"])
def test_the_backward_formulas_on_the_page_equal_the_engines_gradients(task):
    run = _trained(task=task)
    b = T.example_backward(run.model, run.Xt[4], task)
    for name in ("dQ", "dK", "dV", "dq.weight", "dk.weight", "dv.weight", "dout.weight"):
        assert b.difference(name) < 1e-12, name
    np.testing.assert_allclose(b.formula["dS"].sum(axis=1), 0, atol=1e-15)
    # and they are this sequence's gradients: the layer's weight gradient by finite differences
    emb, pos, att, lin = run.model.layers
    w, (i, j), eps = att.params["q.weight"], (2, 5), 1e-6

    def loss():
        from engine import nn

        logits = run.model.forward(run.Xt[4][None])
        return nn.SoftmaxCrossEntropy().forward(logits, T.targets(task, run.Xt[4][None]))

    keep = w[i, j]
    w[i, j] = keep + eps
    up = loss()
    w[i, j] = keep - eps
    down = loss()
    w[i, j] = keep
    assert b.formula["dq.weight"][i, j] == pytest.approx((up - down) / (2 * eps), abs=1e-8)


def test_the_backward_formulas_equal_pytorch_autograd():
    torch = pytest.importorskip("torch")
    run = _trained()
    b = T.example_backward(run.model, run.Xt[7], "reverse")
    a = b.arrays
    q, k, v = (torch.tensor(a[n], requires_grad=True) for n in "QKV")
    o = torch.nn.functional.scaled_dot_product_attention(q[None], k[None], v[None])[0]
    np.testing.assert_allclose(o.detach().numpy(), a["O"], atol=1e-12)
    o.backward(torch.tensor(a["dO"]))
    for name, t in (("dQ", q), ("dK", k), ("dV", v)):
        np.testing.assert_allclose(b.formula[name], t.grad.numpy(), atol=1e-12, err_msg=name)


def test_a_link_s_settings_are_matched_never_evaluated():
    got, notices = T.decode_settings(
        {
            "task": "sort",
            "length": "8",
            "dim": "32",
            "lr": "0.003",
            "n_train": "250",  # not a step of the slider
            "vocab": "__import__('os')",
            "seed": "12",
            "seq": "1 2 3" + "9" * 100,
        }
    )
    assert got["task"] == "sort" and got["length"] == 8 and got["dim"] == 32
    assert got["lr"] == 0.003 and got["seed"] == 12 and len(got["seq"]) == T.MAX_TYPED
    assert "n_train" not in got and "vocab" not in got
    assert len(notices) == 2 and any("vocab" in n for n in notices)
    assert "n_train='250' (a whole number from 200 to 5000, in hundreds)" in notices
    assert "vocab=\"__import__('os')\" (a whole number from 4 to 10)" in notices
    assert T.encode_settings({**T.DEFAULTS, "seq": ""}) == {
        n: str(v) for n, v in T.DEFAULTS.items()
    }


@pytest.mark.parametrize(
    "text,message",
    [
        ("1 2 3", "Type 6 tokens .* not 3"),
        ("1 2 3 4 5 x", "'x' is not one"),
        ("1 2 3 4 5 -1", "'-1' is not one"),
        ("1 2 3 4 5 12", "0 to 9 .* 12 is outside"),
        ("1e3 2 3 4 5 6", "'1e3' is not one"),
    ],
)
def test_a_typed_sequence_that_does_not_fit_says_what_to_change(text, message):
    with pytest.raises(ValueError, match=message):
        T.parse_sequence(text, 6, 10)


def test_a_typed_sequence_is_read_with_spaces_or_commas():
    np.testing.assert_array_equal(T.parse_sequence(" 3, 1 4;1 5  9 ", 6, 10), [3, 1, 4, 1, 5, 9])


# ---------------------------------------------------------------- the page in AppTest


def _caption(at, start):
    return next(c.value for c in at.caption if c.value.startswith(start))


def _steps(at) -> int:
    return int(_caption(at, "step ").split()[1].replace(",", ""))


def test_the_page_steps_trains_stops_and_resets():
    at = open_page(PAGE)
    assert not at.error and _steps(at) == 0
    titles = chart_titles(at)
    assert "Loss" in titles and "Accuracy (test: held-out)" in titles
    assert any(t.startswith("P = softmax(QKᵀ/√d) of held-out example 1, step 0") for t in titles)
    at.button(key=key("step")).click().run()
    assert _steps(at) == 1 and not at.exception
    # the backward pass below follows the step (it is outside the part that Step redraws)
    assert any(m.value.startswith("The model at step 1. Held-out example 1") for m in at.markdown)
    at.button(key=key("trainbtn")).click().run()
    assert at.session_state[key("running")]
    at.button(key=key("stop")).click().run()
    stopped = _steps(at)
    assert stopped > 1 and not at.session_state[key("running")]
    at.run()
    assert _steps(at) == stopped
    at.button(key=key("reset")).click().run()
    assert _steps(at) == 0


def test_train_runs_to_its_steps_over_many_redraws_and_reaches_the_goal():
    at = open_page(PAGE)
    at.select_slider(key=key("steps")).set_value(500).run()
    at.button(key=key("trainbtn")).click().run()
    ticks = 0
    while at.session_state[key("running")] and ticks < 200:
        at.run()
        ticks += 1
    # watched, not over at once: spread over the page's redraws
    assert _steps(at) == 500 and ticks >= T.TICKS_PER_TRAIN - 1, ticks
    status = _caption(at, "step ")
    assert "95% of held-out sequences first right at step" in status, status
    text = "".join(m.value for m in at.markdown)
    assert "every token right" in text
    checks = [m.value for m in at.markdown if "the formula above" in m.value]
    assert len(checks) == 3 and all(c.startswith(":green[✓]") for c in checks), checks


def test_settings_come_from_the_link_and_go_back_into_it():
    at = open_page(PAGE, {"task": "sort", "length": "8", "seq": "7 6 5 4 3 2 1 0", "dim": "7"})
    assert at.radio(key=key("task")).value == "sort"
    assert at.slider(key=key("length")).value == 8
    assert any("dim='7'" in i.value for i in at.info)  # not a valid size: named, default kept
    assert at.select_slider(key=key("dim")).value == 16
    titles = chart_titles(at)
    assert any(t.startswith("P = softmax(QKᵀ/√d) of your sequence") for t in titles), titles
    assert at.query_params["task"] == "sort" and at.query_params["seq"] == "7 6 5 4 3 2 1 0"
    assert at.query_params["dim"] == "16"  # the link now says what the page shows
    at.slider(key=key("vocab")).set_value(8).run()
    assert at.query_params["vocab"] == "8" and at.query_params["length"] == "8"


def test_a_bad_typed_sequence_is_an_error_and_the_held_out_example_stays():
    at = open_page(PAGE)
    at.slider(key=key("length")).set_value(7).run()
    at.text_input(key=key("seq")).input("1 2 3 banana").run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "'banana' is not one" in errors[0], errors
    assert "held-out example 1" in errors[0]
    assert at.slider(key=key("length")).value == 7  # the other settings are kept
    assert any("of held-out example 1" in t for t in chart_titles(at))


def test_settings_that_do_not_fit_together_are_an_error_and_the_page_goes_on():
    at = open_page(PAGE)
    at.radio(key=key("task")).set_value("sort").run()
    at.slider(key=key("length")).set_value(5).run()
    at.slider(key=key("vocab")).set_value(4).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "only 4^5 = 1,024" in errors[0], errors
    assert at.slider(key=key("vocab")).value == 4 and at.slider(key=key("length")).value == 5
    assert "Meanwhile the page uses length 5, vocabulary 10, training sequences 2,000" in errors[0]
    assert _steps(at) == 0 and chart_titles(at)  # the last sizes that worked, still drawn
    run = at.session_state[key("run")]
    assert run.X.shape == (2000, 5) and run.X.max() == 9  # the last vocabulary that fitted
    assert (run.y == np.sort(run.X, axis=1)).all()  # and the task the learner chose
    at.slider(key=key("n_train")).set_value(500).run()
    assert not at.error
