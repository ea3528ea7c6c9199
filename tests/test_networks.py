"""The network pages: training sessions (ui/training.py) learn what they should, their
pictures are well-formed SVG drawn from the numbers they show, one image's backward pass
equals the engine's functional ops, and both pages run in AppTest — defaults, every training widget at its extremes, Step, a short
training run, Stop."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

import engine
from engine import datasets, nn
from engine import train as engine_train
from ui import charts, cnn_view, training
from ui import mlp_view as view

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def moons_run(seed=0, optimiser="adam", lr=0.03):
    X, y = datasets.make_2d("two_moons", 200, 0.15, seed)
    tr, te = datasets.train_test_split(len(y), 0.2, seed)
    model = training.make_mlp((2, 8, 8, 2), "tanh", seed)
    opt = training.make_optimiser(model, optimiser, lr)
    return training.Run(model, opt, X[tr], y[tr], X[te], y[te], 32, seed)


def test_the_mlp_pages_defaults_learn_two_moons_in_300_steps():
    run = moons_run()
    for _ in range(300):
        run.step()
    scores = run.evaluate()
    assert scores["train accuracy"] >= 0.95 and scores["test accuracy"] >= 0.95, scores


def test_the_cnn_pages_defaults_reach_97_percent_on_the_test_digits():
    X, y, Xt, yt = training.digits_split(0)
    d = engine_train.DIGITS_CNN_DEFAULTS
    model = engine_train.digits_cnn(d["channels"], d["kernel_size"], d["padding"], d["pool"], rng=0)
    run = training.Run(model, nn.Adam(model, lr=d["lr"]), X, y, Xt, yt, d["batch_size"], 0)
    while run.epochs < d["epochs"] - 1e-9:
        run.train_for(10.0, until_epoch=d["epochs"])
    assert run.evaluate()["test accuracy"] >= 0.97


def test_one_step_is_w_minus_alpha_dw_for_sgd():
    run = moons_run(optimiser="sgd", lr=0.1)
    for arr in training.one_step(run):
        np.testing.assert_allclose(arr["change"], -0.1 * arr["grad"], atol=1e-15)
        assert arr["grad"].shape == arr["before"].shape  # dW has W's shape


def test_training_is_time_boxed_and_stops_at_its_goal():
    run = moons_run()
    run.train_for(5.0, until_step=7, every=3)
    assert run.steps == 7 and [r["step"] for r in run.history] == [3, 6]
    assert {"layer 1", "layer 2", "layer 3"} <= set(run.history[-1])


def test_image_backward_equals_the_functional_ops():
    X, y, Xt, yt = training.digits_split(0)
    model = engine_train.digits_cnn(4, 3, 1, 2, rng=1)
    g = training.image_backward(model, Xt[5], int(yt[5]))
    conv, _, _, _, dense = model.layers
    w, b = conv.params["weight"], conv.params["bias"]
    z = engine.conv2d(Xt[5][None], w, b, padding=1)
    r = engine.relu(z)
    p = engine.max_pool2d(r, 2)
    logits = engine.linear(p.reshape(1, -1), dense.params["weight"], dense.params["bias"])
    dlog = engine.cross_entropy_backward(logits, [yt[5]])
    _, _, _ = engine.linear_backward(dlog, p.reshape(1, -1), dense.params["weight"])
    dflat = dlog @ dense.params["weight"].T
    dr = engine.max_pool2d_backward(dflat.reshape(p.shape), r, 2)
    dz = engine.relu_backward(dr, z)
    dx, dk, db = engine.conv2d_backward(dz, Xt[5][None], w, padding=1)
    np.testing.assert_allclose(g["dX"], dx[0, 0], atol=1e-12)
    np.testing.assert_allclose(g["dK"], dk, atol=1e-12)
    np.testing.assert_allclose(g["dZ"], dz[0], atol=1e-12)
    assert g["winners"].sum() == p.size  # one winner per pool window


def test_a_run_trained_in_one_thread_can_be_read_and_stepped_from_another():
    """Streamlit starts a page's next run (a click on Step) while the last one may still be
    training in its thread; both used the one model, and a forward of one batch met the
    backward of another (a ValueError on the page)."""
    import threading

    run = moons_run(0)
    run.batch = 8
    errors = []

    def train():
        try:
            run.train_for(1.0, every=3)
        except Exception as e:  # noqa: BLE001 - the test reports whatever broke
            errors.append(e)

    t = threading.Thread(target=train)
    t.start()
    try:
        while t.is_alive():
            run.batch = 8 if run.batch == 5 else 5  # the page sets it from the sidebar
            training.one_step(run)
            with run.lock:  # as the page draws the boundary
                training.decision_grid(run.model, run.X, resolution=40)
            run.record()
    finally:
        t.join()
    assert not errors, errors


def test_sampled_gradcheck_agrees_on_the_real_network():
    X, y, Xt, yt = training.digits_split(0)
    model = engine_train.digits_cnn(3, 3, 1, 2, rng=2)
    rows = training.sampled_gradcheck(model, Xt[:8], yt[:8], per_array=2)
    assert len(rows) == 8  # 2 entries of each of the 4 arrays
    for name, idx, eng, fd in rows:
        assert abs(eng - fd) < 1e-6, (name, idx, eng, fd)


def test_decision_grid_and_confusion():
    run = moons_run()
    xs, ys, prob = training.decision_grid(run.model, run.X, resolution=20)
    assert prob.shape == (20, 20) and ((prob >= 0) & (prob <= 1)).all()
    counts = training.confusion(run.model, run.Xt, run.yt, classes=2)
    assert counts.sum() == len(run.yt)


def test_the_pictures_are_well_formed_svg():
    import xml.etree.ElementTree as ET

    run = moons_run()
    for _ in range(20):
        run.step()
        run.record()
    xs, ys, prob = training.decision_grid(run.model, run.X, resolution=10)
    images = [np.random.default_rng(0).random((8, 8)) for _ in range(5)]
    for svg in (
        charts.line_chart(run.history, ["train loss", "test loss"], "Loss <&>"),
        charts.line_chart(run.history, ["layer 1", "layer 2"], "norms", log=True),
        charts.line_chart([], ["a"], "empty"),
        charts.boundary(xs, ys, prob, run.X, run.y, "boundary"),
        charts.image(images[0], "X"),
        charts.image(images[0] - 0.5, "dX", palette="diverging", colorbar=True),
        charts.mosaic(images, [str(i) for i in range(5)], "mosaic", room=200),
        charts.confusion(np.eye(10, dtype=int) * 3, "confusion"),
    ):
        root = ET.fromstring(svg)  # raises on anything a browser would not parse
        assert root.tag.endswith("svg") and float(root.get("width")) > 0


def test_the_decision_boundary_is_where_the_probability_crosses_one_half():
    xs = ys = np.linspace(-1, 1, 21)
    gx, gy = np.meshgrid(xs, ys)
    prob = 1 / (1 + np.exp(-8 * (gx - 0.3)))  # class 1 right of x = 0.3
    segs = charts.contour(prob)
    assert segs and all(abs(xs[0] + a[0] * 0.1 - 0.3) < 1e-6 for seg in segs for a in seg)
    rgb = charts.field_rgb(np.array([[0.0, 0.5, 1.0]]))
    assert rgb[0].tolist() == [[0xC6, 0xDB, 0xEF], [0xF7, 0xF7, 0xF7], [0xFC, 0xBB, 0xA1]]
    assert charts.png_data_uri(rgb).startswith("data:image/png;base64,iVBORw0KGgo")


def _ticks(svg: str, color: str = "#808495") -> list[str]:
    return re.findall(rf'fill="{color}"[^>]*>([^<]*)</text>', svg)


def _width(svg: str) -> float:
    return float(re.search(r'width="([0-9.]+)"', svg).group(1))


def test_matrix_pictures_show_exactly_their_cells_with_whole_ticks():
    """The confusion matrix at epoch 0 drew its "predicted 9" column (almost every prediction)
    as a thin unlabelled bar, with column labels 0–8 only."""
    conf = charts.confusion(np.eye(10, dtype=int) * 3, "confusion", px=25)
    assert conf.count('class="cell"') == 100  # rows 0–9, no row −1 or 10
    assert len(set(re.findall(r'class="cell"[^>]* width="([0-9.]+)"', conf))) == 1  # all alike
    labels = _ticks(conf)
    assert labels.count("9") == 2 and labels.count("0") == 2  # both axes: 0 … 9, every one
    assert "predicted" in labels and "true" in labels
    two = charts.image(np.ones((2, 10)), "p and dz", px=44)
    assert _ticks(two) == [str(c) for c in range(1, 11)] + ["1", "2"]
    kernel = charts.image(np.ones((3, 3)), "∂L/∂K (kernel 1)", px=30)
    assert _width(kernel) >= len("∂L/∂K (kernel 1)") * 9  # no narrower than its title
    # a title wider than its room goes on two lines rather than being cut ("∂L/∂\\")
    long = charts.image(np.ones((8, 2)), "∂L/∂W⁽³⁾ of a long title", px=20, room=120)
    assert "∂L/∂W⁽³⁾ of" in long and "a long title" in long


def test_a_mosaic_fits_the_room_it_is_given():
    """The misclassified mosaic showed 5 of its 6 columns at 1280 px."""
    images = [np.zeros((8, 8))] * 24
    caps = [f"#{i + 100}: 9 (6)" for i in range(24)]
    for room in (300, 480, 800):
        svg = charts.mosaic(images, caps, "Misclassified", px=10, room=room)
        assert _width(svg) <= room and svg.count("<image ") == 24  # one picture each
        assert all(c in svg for c in caps)


# ---------------------------------------------------------------- the pages in AppTest


def open_page(page, query=None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params.update(query or {})
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _walk(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)


def svgs(at) -> list[str]:
    """The SVG of every drawing on the page (each is a component; its data holds the SVG)."""
    return [
        json.loads(e.proto.json).get("svg", "")
        for e in _walk(at.main)
        if type(e).__name__ == "UnknownElement" and getattr(e.proto, "json", "")
    ]


def chart_titles(at) -> list[str]:
    return [re.search(r'aria-label="([^"]*)"', s).group(1) for s in svgs(at) if s]


def _caption(at, start):
    return next(c.value for c in at.caption if c.value.startswith(start))


def test_mlp_page_step_train_stop():
    page = "pages/mlp.py"
    at = open_page(page)
    assert "step 0" in _caption(at, "step")
    at.button(key=f"{page}/train/step").click().run()
    assert "step 1 " in _caption(at, "step") and not at.exception
    assert "∂L/∂W⁽¹⁾" in chart_titles(at) and "ΔW⁽³⁾" in chart_titles(at)
    at.button(key=f"{page}/train/trainbtn").click().run()  # the fragment trains in ticks
    assert at.session_state[f"{page}/train/running"] and not at.exception
    at.button(key=f"{page}/train/stop").click().run()
    steps = int(_caption(at, "step").split()[1])
    assert steps > 1 and not at.session_state[f"{page}/train/running"]
    at.run()
    assert int(_caption(at, "step").split()[1]) == steps  # stopped: no more steps
    at.button(key=f"{page}/train/trainbtn").click().run()
    ticks = 0
    while at.session_state[f"{page}/train/running"] and ticks < 200:
        at.run()  # a run of Train ends by itself after STEPS_PER_TRAIN steps
        ticks += 1
    assert int(_caption(at, "step").split()[1]) == steps + view.STEPS_PER_TRAIN
    # live: spread over many redraws (it was over in the first one, too fast to watch or stop)
    assert ticks >= view.STEPS_PER_TRAIN // view.STEPS_PER_TICK - 1


def test_the_accuracies_say_how_many_points_they_are_of():
    """At 20 points the test split is 4, so its accuracy moves in steps of 25 % and can read
    0 %: the caption says of how many points, so that is not taken for a broken network."""
    page = "pages/mlp.py"
    at = open_page(page)
    at.slider(key=f"{page}/train/n").set_value(20).run()
    caption = _caption(at, "step")
    assert "of 16 points" in caption and caption.endswith("of 4"), caption


@pytest.mark.parametrize(
    "key,values",
    [
        ("dataset", ["two_moons", "circles", "spirals", "xor", "blobs"]),
        ("n", [20, 1000]),
        ("noise", [0.0, 0.5]),
        ("hidden", [1, 4]),
        ("width", [1, 16]),
        ("activation", ["relu", "sigmoid"]),
        ("lr", [0.001, 1.0]),
        ("batch", [1, 256]),
    ],
)
def test_mlp_training_widgets_at_their_extremes(key, values):
    page = "pages/mlp.py"
    at = open_page(page)
    for v in values:
        widget = at.get("selectbox") + at.get("slider") + at.get("select_slider")
        w = next(w for w in widget if w.key == f"{page}/train/{key}")
        w.set_value(v).run()
        at.button(key=f"{page}/train/step").click().run()
        assert not at.exception and not at.error, (key, v, [e.value for e in at.exception])


def test_cnn_page_trains_to_its_epochs_and_shows_the_results():
    page = "pages/cnn.py"
    at = open_page(page)
    at.slider(key=f"{page}/train/epochs").set_value(2).run()
    at.button(key=f"{page}/train/trainbtn").click().run()
    for _ in range(60):  # until the run that ends training has drawn Train again (a slow
        # machine can show "epoch 2 of 2" in the tick that reached it, Stop still on screen)
        drawn = {b.key for b in at.button}
        if "epoch 2 of 2" in _caption(at, "epoch") and f"{page}/train/trainbtn" in drawn:
            break
        at.run()
    assert "epoch 2 of 2" in _caption(at, "epoch"), _caption(at, "epoch")
    assert at.button(key=f"{page}/train/trainbtn").disabled  # done: Train waits for more epochs
    at.number_input(key=f"{page}/train/image").set_value(360).run()
    at.slider(key=f"{page}/train/channel").set_value(8).run()
    assert not at.exception and not at.error
    assert any("pass" in m.value for m in at.markdown if "finite differences" in m.value)


@pytest.mark.parametrize(
    "key,values",
    [("channels", [1, 16]), ("kernel", [1, 5]), ("padding", [0, 2]), ("lr", [0.001, 0.1])],
)
def test_cnn_training_widgets_at_their_extremes(key, values):
    page = "pages/cnn.py"
    at = open_page(page)
    for v in values:
        widget = at.get("slider") + at.get("select_slider")
        next(w for w in widget if w.key == f"{page}/train/{key}").set_value(v).run()
        assert not at.exception and not at.error, (key, v, [e.value for e in at.exception])


# ---------------------------------------------------------------- found by a new-user pass


def test_the_mlp_status_follows_the_training():
    """The status line sat beside the buttons, outside the part of the page that redraws while
    training: it read "step 0" beside a boundary "after 120 steps"."""
    page = "pages/mlp.py"
    at = open_page(page)
    at.button(key=f"{page}/train/trainbtn").click().run()
    at.run()
    run = at.session_state[f"{page}/train/run"]
    assert run.steps > 0 and f"step {run.steps} " in _caption(at, "step")
    assert f"after {run.steps} steps" in " ".join(chart_titles(at))


def test_the_mlp_shows_the_update_rule_of_its_optimiser():
    """The Step help said W := W − α·dW under Adam, whose steps are about α whatever dW."""
    page = "pages/mlp.py"
    at = open_page(page)
    step = at.button(key=f"{page}/train/step")
    assert "m̂" in step.help and "α·∂L/∂W" not in step.help  # Adam, the default
    step.click().run()
    assert any("running means" in c.value for c in at.caption)
    assert "Decision boundary after 1 step" in chart_titles(at)  # not "1 steps"
    at.radio(key=f"{page}/train/optimiser").set_value("sgd").run()
    assert at.button(key=f"{page}/train/step").help.endswith("W := W − α·∂L/∂W.")


def test_no_stale_step_view_and_no_empty_norm_chart():
    """After Train the step view still showed step 1's weights; at step 0 the gradient-norm
    chart was an empty log axis (every norm recorded as 0). Step 0 now has norms of its own, one
    backward pass before any update."""
    page = "pages/mlp.py"
    at = open_page(page)
    assert any("Gradient norm" in t for t in chart_titles(at))
    row = at.session_state[f"{page}/train/run"].history[0]
    assert row["step"] == 0 and all(v > 0 for v in training.layer_norms(row))
    at.button(key=f"{page}/train/step").click().run()
    assert at.session_state[f"{page}/train/last"] and "∂L/∂W⁽¹⁾" in chart_titles(at)
    assert any("Gradient norm" in t for t in chart_titles(at))
    at.button(key=f"{page}/train/trainbtn").click().run()
    assert at.session_state[f"{page}/train/last"] is None and "∂L/∂W⁽¹⁾" not in chart_titles(at)


def test_a_new_network_is_announced():
    """Changing the data silently threw away a trained network."""
    page = "pages/mlp.py"
    at = open_page(page)
    at.slider(key=f"{page}/train/noise").set_value(0.3).run()
    assert not at.toast  # nothing trained, nothing lost
    at.button(key=f"{page}/train/step").click().run()
    at.slider(key=f"{page}/train/noise").set_value(0.2).run()
    assert any("A new network" in t.value for t in at.toast)
    assert "step 0 " in _caption(at, "step")


def test_cnn_status_when_epochs_is_lowered_below_the_training():
    run = training.Run(None, None, np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1), 1)
    run.epochs, run.history = 3.0, [{"test accuracy": 0.5, "train accuracy": 0.5}]
    assert cnn_view.status(run, 5).startswith("epoch 3 of 5 ")
    assert cnn_view.status(run, 1).startswith("epoch 3 (Epochs is set to 1: raise it to go on)")


def test_cnn_verify_table_names_the_arrays_as_the_page_does():
    page = "pages/cnn.py"
    at = open_page(page)
    table = next(m.value for m in at.markdown if m.value.startswith("| array"))
    arrays = {row.split("|")[1].strip() for row in table.splitlines()[2:]}
    assert arrays == {"K (conv kernels)", "b (conv bias)", "W (dense weights)", "c (dense bias)"}
