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
        assert _width(svg) <= room and svg.count('class="cell"') == 24 * 64
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


def test_the_gradient_norm_caption_is_computed_from_its_chart():
    """Under tanh it said "each layer can only shrink the gradient on its way back" beside a
    chart with layer 1 above layer 3; under sigmoid "orders of magnitude smaller" where every
    norm sat within one decade. Each sentence is now read off the rows the chart draws."""
    tanh = [{"step": 40, "layer 1": 0.5, "layer 2": 0.2, "layer 3": 0.3}]
    text = training.norms_caption(tanh, "tanh")
    assert "only shrink" not in text and "from 0.2 (layer 2) to 0.5 (layer 1)" in text
    assert "shrinks 1 time and grows 1 time" in text and "1.7× larger than layer 3's" in text
    sigmoid = [
        {
            "step": 1,
            "layer 1": 1e-4,
            "layer 2": 1e-3,
            "layer 3": 1e-2,
            "layer 4": 0.1,
            "layer 5": 1,
        },
        {
            "step": 30,
            "layer 1": 0.02,
            "layer 2": 0.03,
            "layer 3": 0.05,
            "layer 4": 0.08,
            "layer 5": 0.1,
        },
    ]
    text = training.norms_caption(sigmoid, "sigmoid")
    assert "orders of magnitude" not in text and "within one decade" in text
    assert "5.0× smaller than layer 5's" in text and "At step 1 it was 10,000× smaller" in text
    assert "vanishing" not in text
    first = training.norms_caption(sigmoid[:1], "sigmoid", "sgd")
    assert "4.0 decades apart" in first and "vanishing gradient" in first
    assert "move that many times less" in first  # SGD: ΔW = −α·∂L/∂W
    assert "about α" in training.norms_caption(sigmoid[:1], "sigmoid", "adam")
    eight = [{"step": 9, **{f"layer {i}": 2.0**i for i in range(1, 9)}}]
    assert "from 2 (layer 1) to 256 (layer 8)" in training.norms_caption(eight, "relu")


def test_the_mlp_page_states_what_its_norm_chart_shows():
    page = "pages/mlp.py"
    at = open_page(page)
    at.selectbox(key=f"{page}/train/activation").set_value("sigmoid").run()
    at.slider(key=f"{page}/train/hidden").set_value(4).run()
    for _ in range(3):
        at.button(key=f"{page}/train/step").click().run()
    run = at.session_state[f"{page}/train/run"]
    norms = training.layer_norms(run.history[-1])
    caption = next(c.value for c in at.caption if c.value.startswith("At step"))
    assert caption.startswith(f"At step {run.steps} the norms run from")
    lo, hi = int(np.argmin(norms)), int(np.argmax(norms))
    assert f"(layer {lo + 1}) to " in caption and f"(layer {hi + 1})" in caption
    decades = np.log10(max(norms) / min(norms))
    assert ("within one decade" in caption) == (decades < 1), (caption, norms)
    assert "σ′ ≤ 1/4" in caption


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
    for _ in range(60):
        if "epoch 2 of 2" in _caption(at, "epoch"):
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
    chart was an empty log axis (every norm recorded as 0)."""
    page = "pages/mlp.py"
    at = open_page(page)
    assert not any("Gradient norm" in t for t in chart_titles(at))
    assert any("appear after the first step" in c.value for c in at.caption)
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


# ---------------------------------------------------------------- issue 17: the CNN page


def _correlate(a: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Valid cross-correlation, written independently of the engine."""
    windows = np.lib.stride_tricks.sliding_window_view(a, k.shape)
    return np.einsum("ijkl,kl->ij", windows, k)


@pytest.mark.parametrize("ksize,padding", [(3, 1), (3, 0), (5, 2), (1, 2), (1, 0), (5, 1)])
def test_the_conv_backward_formula_on_the_cnn_page_is_the_networks(ksize, padding):
    """∂L/∂K = X ⊛ ∂L/∂Z was written for a network with padding 1: the formula shown now carries
    the padding, and evaluated as written (pad, correlate, rotate, crop) it gives the engine's
    ∂L/∂K and ∂L/∂X, and its per-channel shares add up to ∂L/∂X."""
    X, y, Xt, yt = training.digits_split(0)
    model = engine_train.digits_cnn(3, ksize, padding, 2, rng=4)
    g = training.image_backward(model, Xt[7], int(yt[7]))
    a, b, c = training.conv_pads(ksize, padding)
    tex = training.conv_backward_tex(ksize, padding, 3)
    assert (rf"\mathrm{{pad}}_{{{a},{a}}}(X)" in tex) == (padding > 0)
    assert (rf"\mathrm{{crop}}_{{{c},{c}}}" in tex) == (padding > 0)
    assert r"\sum_{c=1}^{3}" in tex
    K = model.layers[0].params["weight"][:, 0]
    total = 0
    for ch in range(3):
        dz = g["dZ"][ch]
        np.testing.assert_allclose(_correlate(np.pad(g["X"], a), dz), g["dK"][ch, 0], atol=1e-12)
        share = _correlate(np.pad(dz, b), K[ch][::-1, ::-1])
        share = share[c : share.shape[0] - c, c : share.shape[1] - c]
        np.testing.assert_allclose(share, g["dX_parts"][ch], atol=1e-12)
        total = total + share
    np.testing.assert_allclose(total, g["dX"], atol=1e-12)


def test_gradient_maps_carry_their_scale_and_never_print_minus_zero():
    """On a confidently classified image every gradient is ~1e-5, drawn in full colour beside
    ∂L/∂z printed as 0.00 and −0.00."""
    tiny = np.array([[3e-6, -1.2e-5], [0.0, 7e-6]])
    svg = charts.image(tiny, "∂L/∂R", palette="diverging", colorbar=True)
    assert "linearGradient" in svg and "1.2e-05" in _ticks(svg)  # the bar's ends: ± max |v|
    assert charts.two_places(-0.004) == "0.00" and charts.two_places(-0.006) == "-0.01"
    assert charts.two_places(0.0) == charts.two_places(-0.0) == "0.00"


def _page_latex(at) -> str:
    return "\n".join(x.value for x in at.latex)


def test_the_cnn_backward_pass_gives_each_thing_one_letter_and_defines_it():
    page = "pages/cnn.py"
    at = open_page(page)
    tex = _page_latex(at)
    assert r"\frac{\partial L}{\partial f} = p - \mathrm{onehot}(y)" in tex
    assert r"\frac{\partial L}{\partial W} = v^\top \frac{\partial L}{\partial f}" in tex
    assert r"\frac{\partial L}{\partial M}" in tex and r"\partial m_{uv}" in tex
    assert r"\frac{\partial L}{\partial z}" not in tex  # z is the conv output's letter only
    captions = " ".join(c.value for c in at.caption)
    assert "v = flatten(M)" in captions and "f: the ten class scores" in captions
    drawings = {re.search(r'aria-label="([^"]*)"', s).group(1): s for s in svgs(at) if s}
    dw = next(s for t, s in drawings.items() if t.startswith("∂L/∂W transposed"))
    assert "|0|1|2|3|4|5|6|7|8|9|" in "|" + "|".join(_ticks(dw)) + "|"  # rows: digits 0–9
    assert "∂L/∂X, sum of 8: which pixels matter" in drawings
    assert "∂L/∂X through channel 1" in drawings
    gradients = [
        "p (row 1) and ∂L/∂f (row 2), digits 0–9",
        "∂L/∂M, channel 1",
        "∂L/∂R: routed",
        "∂L/∂Z",
        "∂L/∂K1",
        "∂L/∂X through channel 1",
        "∂L/∂X, sum of 8: which pixels matter",
    ]
    for title in gradients:
        assert "linearGradient" in drawings[title], f"{title} has no colour bar"
    assert not any("-0.00" in s for s in drawings.values())


def test_misclassified_images_carry_their_number_and_open_below():
    page = "pages/cnn.py"
    at = open_page(page)
    run = at.session_state[f"{page}/train/run"]
    pred = np.argmax(run.model.forward(run.Xt), axis=1)
    wrong = np.flatnonzero(pred != run.yt)
    mosaic = next(s for s in svgs(at) if 'aria-label="Misclassified' in s)
    for i in wrong[:24]:
        assert f"#{i + 1}: {pred[i]} ({run.yt[i]})" in mosaic
    pick = int(wrong[5]) + 1
    at.selectbox(key=f"{page}/train/open").set_value(pick).run()
    assert at.number_input(key=f"{page}/train/image").value == pick
    assert any(
        m.value.startswith(f"Test image {pick}, a **{run.yt[pick - 1]}**") for m in at.markdown
    )
    assert f"Feature maps R = ReLU(Z) of test image {pick}, one per channel" in chart_titles(at)


# ---------------------------------------------------------------- issue 17: the MLP page


@pytest.mark.parametrize(
    "lo,hi", [(0.003, 0.4), (1e-5, 0.3), (0.11, 0.35), (2e-4, 3e-4), (1e-9, 10), (0.5, 0.5)]
)
def test_a_log_axis_labels_its_ticks_once_each_in_one_notation(lo, hi):
    """The norm chart's log axis read "5, 2, 0.1, 5, 2…" and "100µ"."""
    start, end, ticks = charts.log_ticks(lo, hi)
    labels = charts.labels_of(ticks)
    assert start <= lo and end >= hi and len(ticks) >= 2
    assert ticks == sorted(set(ticks)) and len(set(labels)) == len(labels)
    assert not any("µ" in t or "m" in t or "k" in t for t in labels)
    for t, text in zip(ticks, labels, strict=True):  # each label is its tick's value
        assert _label_value(text) == pytest.approx(t), (text, t)


_SUPS = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")


def _label_value(text: str) -> float:
    """'2×10⁻⁴' → 2e-4, '10⁻⁵' → 1e-5, '0.01' → 0.01."""
    mant, _, power = text.rpartition("×") if "×" in text else ("1", "", text)
    if power.startswith("10") and power[2:] and not power[2:].isascii():
        return float(mant) * 10 ** int(power[2:].translate(_SUPS))
    return float(mant) * float(power)


def test_the_norm_chart_draws_those_ticks():
    history = [{"step": s, "layer 1": 1e-4 * s, "layer 2": 0.3} for s in (1, 5, 10)]
    svg = charts.line_chart(history, ["layer 1", "layer 2"], "norms", log=True)
    assert "µ" not in svg and "10⁻⁴" in _ticks(svg) and "10⁻¹" in _ticks(svg)


def test_layer_sizes_with_spaces_and_fewer_than_two_classes():
    from ui.urlstate import parse_sizes

    assert parse_sizes("2 3 2") == parse_sizes(" 2  3,2 ") == (2, 3, 2)
    assert parse_sizes("2 3 x") is None
    with pytest.raises(ValueError, match="at least 2"):
        from derivations import derive

        derive("mlp", layer_sizes=(1, 1, 1))


def test_the_whole_chain_is_one_proven_product_with_its_shapes():
    from derivations import derive
    from derivations.network import WHOLE_CHAIN

    for sizes, act in [((2, 3, 2), "sigmoid"), ((3, 4, 2, 3), "relu"), ((4, 4, 4, 4, 4), "tanh")]:
        d = derive("mlp", layer_sizes=sizes, activation=act)
        assert d.patterns[WHOLE_CHAIN].ok
        step = next(s for s in d.steps if s.title == "The whole chain as one product (note 002)")
        depth = len(sizes) - 1
        assert step.proven and step.latex.count(r"\mathrm{diag}") == depth - 1 + 2  # + note's two
        assert rf"\underbrace{{\frac{{\partial L}}{{\partial X}}}}_{{1 \times {sizes[0]}}}" in (
            step.latex
        )
        assert "note 002" in step.latex and "Wᵀ" in step.text and "W₂" in step.text
        titles = [s.title for s in d.steps]
        assert titles.index(step.title) == titles.index("Backward through layer 1: ∂L/∂X") + 1


def test_the_mlp_quantities_between_the_layers_have_the_engines_numbers():
    from derivations import derive
    from derivations.network import panel_numbers
    from ui import adapters, links

    d = derive("mlp", layer_sizes=(3, 4, 2, 3), activation="sigmoid", target=2)
    rng = np.random.default_rng(3)
    values = {n: rng.normal(size=m.shape) for n, m in d.inputs.items()}
    got = panel_numbers(d, values, np.ones((1, 1)))
    model = adapters._mlp_model(values, d.params)
    want, a = {}, values["X"]
    for i, layer in enumerate(model.layers):
        a = layer.forward(a)
        want[f"Z{i // 2 + 1}" if i % 2 == 0 else f"A{i // 2 + 1}"] = a
    loss = nn.SoftmaxCrossEntropy()
    loss.forward(a, np.array([2]))
    want["p"], g = loss._p, loss.backward()
    for i in range(len(model.layers) - 1, 0, -1):
        want[f"dZ{i // 2 + 1}" if i % 2 == 0 else f"dA{i // 2 + 1}"] = g
        g = model.layers[i].backward(g)
    want["dZ1"] = g
    assert set(got) == set(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], atol=1e-12, err_msg=key)
    titles = dict(links.panels(d))
    assert titles["A2"] == "A⁽²⁾" and titles["dZ1"] == "∂L/∂Z⁽¹⁾"
    assert links.cell_label(d, "dA1", (0, 3)) == "∂L/∂a⁽¹⁾₁₄"
    marks = links.highlights(d, "dA1", (0, 1))  # Σⱼ ∂L/∂z⁽²⁾₁ⱼ w⁽²⁾₂ⱼ
    assert sorted(marks["dZ2"]) == [(0, 0), (0, 1)] and sorted(marks["W2"]) == [(1, 0), (1, 1)]
    assert marks["dZ1"] == [(0, 1)]  # and it feeds ∂L/∂z⁽¹⁾₁₂


def test_the_mlp_lesson_shows_and_explains_its_quantities():
    """No intermediate quantity had numbers anywhere; the explorer offered only W and ∂L/∂W."""
    page = "pages/mlp.py"
    at = open_page(page, {"step": "2"})  # Forward, layer by layer
    titles = chart_titles(at)
    assert {"Z⁽¹⁾", "A⁽¹⁾", "Z⁽²⁾", "A⁽²⁾", "Z⁽³⁾", "p"} <= set(titles), titles
    pick = at.selectbox(key=f"{page}/pickbox")
    assert {"∂L/∂a⁽¹⁾₁₁", "z⁽²⁾₁₁", "p₁", "∂L/∂z⁽³⁾₁₂"} <= set(pick.options)
    pick.set_value("dZ1|0,0").run()
    tex = _page_latex(at)
    assert r"\frac{\partial L}{\partial z^{(1)}_{11}}" in tex
    assert r"\frac{\partial L}{\partial a^{(1)}_{11}} \left(1 - \tanh^{2}" in tex
    assert not at.exception


def test_the_lesson_follows_the_network_trained_above():
    """The derivation used sigmoid while the trained network defaulted to tanh."""
    page = "pages/mlp.py"
    at = open_page(page)
    assert at.text_input(key=f"{page}/layer_sizes").value == "2, 4, 4, 2"
    assert at.selectbox(key=f"{page}/activation").value == "tanh"
    intro = _caption(at, "Z⁽ℓ⁾")
    assert "the network trained above (2 → 8 → 8 → 2 with tanh)" in intro
    assert "2 → 4 → 4 → 2, the same activation" in intro
    at.slider(key=f"{page}/train/width").set_value(3).run()
    at.selectbox(key=f"{page}/train/activation").set_value("relu").run()
    assert at.text_input(key=f"{page}/layer_sizes").value == "2, 3, 3, 2"
    assert "written out by hand" in _caption(at, "Z⁽ℓ⁾")  # exactly the network above
    assert any("sizes 2 → 3 → 3 → 2, with relu after" in m.value for m in at.markdown)
    at.selectbox(key=f"{page}/activation").set_value("sigmoid").run()  # the learner's own
    assert "a separate toy network, 2 → 3 → 3 → 2 with sigmoid" in _caption(at, "Z⁽ℓ⁾")
    at.slider(key=f"{page}/train/hidden").set_value(4).run()  # the network changes: in step
    assert at.text_input(key=f"{page}/layer_sizes").value == "2, 3, 3, 3, 2"
    assert at.selectbox(key=f"{page}/activation").value == "relu"


def test_the_lesson_settings_take_spaces_and_bound_the_true_class():
    page = "pages/mlp.py"
    at = open_page(page)
    sizes = at.text_input(key=f"{page}/layer_sizes")
    sizes.set_value("2 3 2").run()
    assert not at.error and not at.exception
    target = at.number_input(key=f"{page}/target")
    assert target.label.endswith("(1 to 2)]") and target.max == 2
    at.text_input(key=f"{page}/layer_sizes").set_value("2, 3, 4").run()
    at.number_input(key=f"{page}/target").set_value(4).run()
    at.text_input(key=f"{page}/layer_sizes").set_value("2 3 2").run()
    assert at.number_input(key=f"{page}/target").value == 2 and not at.exception
    at.text_input(key=f"{page}/layer_sizes").set_value("1,1,1").run()
    assert any("at least 2" in e.value for e in at.error) and not at.exception
