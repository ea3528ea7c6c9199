"""Issue 21 §5, the vanishing gradient made visible: engine.nn's initialisations against
torch.nn.init's distributions, the MLP page's deep networks (batch norm, residual blocks where
widths match), gradient norms from step 0, eval mode for everything a trained network reports,
sentences computed from the chart, the presets, URL state, and the CNN's optional batch norm."""

import re

import numpy as np
import pytest

from engine import datasets, nn
from engine import train as engine_train
from tests.test_networks import _caption, chart_titles, open_page
from ui import mlp_deep, training

PAGE = "pages/mlp.py"


def key(name: str) -> str:
    return f"{PAGE}/train/{name}"


# ---------------------------------------------------------------- initialisation vs torch


def _torch_weight(torch, init: str, layer):
    """torch.nn.init's function of that name on a fresh torch layer's weight."""
    w = layer.weight
    with torch.no_grad():
        if init == "xavier":
            torch.nn.init.xavier_uniform_(w)
        elif init == "he":
            torch.nn.init.kaiming_normal_(w, nonlinearity="relu")
        elif init == "normal":
            torch.nn.init.normal_(w, std=0.01)
    return w.detach().numpy().astype(np.float64)


def _expected(init: str, fan_in: int, fan_out: int) -> tuple[float, float | None]:
    """(standard deviation, bound or None) of the distribution, from the papers' formulas."""
    if init == "pytorch":
        b = 1 / np.sqrt(fan_in)
        return b / np.sqrt(3), b
    if init == "xavier":
        b = np.sqrt(6 / (fan_in + fan_out))
        return b / np.sqrt(3), b
    return (np.sqrt(2 / fan_in) if init == "he" else 0.01), None


@pytest.mark.parametrize("init", list(nn.INITS))
@pytest.mark.parametrize(
    "layer,fans",
    [
        ("Linear", (300, 200)),
        ("Conv2d", (16 * 9, 128 * 9)),  # torch's fans of a conv: C·kH·kW
    ],
)
def test_each_init_draws_torchs_distribution(init, layer, fans):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    if layer == "Linear":
        ours = nn.Linear(300, 200, rng=0, init=init)
        theirs = _torch_weight(torch, init, torch.nn.Linear(300, 200))
    else:
        ours = nn.Conv2d(16, 128, 3, rng=0, init=init)
        theirs = _torch_weight(torch, init, torch.nn.Conv2d(16, 128, 3))
    w = ours.params["weight"]
    assert w.size == theirs.size
    std, bound = _expected(init, *fans)
    for arr in (w, theirs):
        assert arr.std() == pytest.approx(std, rel=0.03), init
        assert abs(arr.mean()) < 0.03 * std
        if bound is None:  # a normal: about 68.3 % within one standard deviation
            assert np.mean(np.abs(arr) < std) == pytest.approx(0.683, abs=0.01)
            assert np.abs(arr).max() > 3 * std
        else:  # a uniform: inside its bound, reaching close to it, flat
            assert np.abs(arr).max() <= bound and np.abs(arr).max() > 0.99 * bound
            assert np.mean(np.abs(arr) < bound / 2) == pytest.approx(0.5, abs=0.01)
    # the two samples of one distribution: their quantiles agree
    q = np.linspace(0.05, 0.95, 19)
    np.testing.assert_allclose(np.quantile(w, q), np.quantile(theirs, q), atol=0.05 * std)
    bias = ours.params["bias"]
    if init == "pytorch":
        assert 0 < np.abs(bias).max() <= 1 / np.sqrt(fans[0])
    else:
        assert not bias.any()  # the papers' and cs231n's zero bias


def test_the_default_init_is_unchanged_and_a_wrong_one_is_named():
    a, b = nn.Linear(5, 3, rng=7), nn.Linear(5, 3, rng=7, init="pytorch")
    assert all(np.array_equal(a.params[n], b.params[n]) for n in a.params)
    with pytest.raises(ValueError, match="Linear: init must be one of pytorch, xavier"):
        nn.Linear(2, 2, init="glorot")
    with pytest.raises(ValueError, match="Conv2d: init must be one of"):
        nn.Conv2d(1, 2, 3, init=None)
    assert nn.Linear(4, 4, init="he", dtype=np.float32).params["weight"].dtype == np.float32


# ---------------------------------------------------------------- the deep networks


def _kinds(model) -> list:
    return [
        [type(m).__name__ for m in layer.layers]
        if isinstance(layer, nn.Residual)
        else type(layer).__name__
        for layer in model.layers
    ]


def test_batch_norm_and_residual_blocks_where_the_widths_match():
    m = training.make_mlp((2, 4, 4, 4, 2), "sigmoid", 0, batch_norm=True, residual=True)
    block = ["Linear", "BatchNorm1d", "Sigmoid"]
    assert _kinds(m) == [*block, block, block, "Linear"]  # layer 1 is 2 → 4: no identity path
    assert training.residual_blocks((2, 4, 4, 4, 2)) == [2, 3]
    assert training.residual_blocks((2, 2, 2, 2)) == [1, 2]  # width 2: layer 1 too
    assert training.residual_blocks((2, 5, 2)) == []
    plain = training.make_mlp((2, 4, 4, 4, 2), "sigmoid", 0)
    # no layer draws random numbers but the Linears: the same weights with or without the extras
    np.testing.assert_array_equal(m.params["3.0.weight"], plain.params["2.weight"])
    assert set(mlp_deep.param_labels(m).values()) >= {("W", 4), ("γ", 3), ("β", 1), ("b", 2)}
    assert mlp_deep.param_labels(m)["3.1.weight"] == ("γ", 2)


def test_the_norms_are_the_linear_layers_only_and_from_step_0():
    """Batch norm's γ has a "weight" too: it is not a layer's W. At step 0 the norms come from
    one backward over the training set, and batch norm's running statistics do not move."""
    X, y = datasets.make_2d("two_moons", 100, 0.1, 0)
    cfg = {**mlp_deep.PRESETS["+ batch norm"], "seed": 0, "hidden": 3}
    model = mlp_deep.build(cfg)
    run = training.Run(model, nn.Adam(model, 0.01), X, y, X[:5], y[:5], 16)
    run.norms_from_start = True
    row = run.record()
    assert training.layer_norms(row) and len(training.layer_norms(row)) == 4
    bns = [m for m in training.modules(model) if isinstance(m, nn.BatchNorm1d)]
    assert all(not m.running_mean.any() and m.num_batches_tracked == 0 for m in bns)
    twin = mlp_deep.build(cfg)  # the same weights: its own forward and backward over X
    loss = nn.SoftmaxCrossEntropy()
    loss.forward(twin.forward(X), y)
    twin.backward(loss.backward())
    linears = [m for m in training.modules(twin) if isinstance(m, nn.Linear)]
    want = [np.linalg.norm(m.grads["weight"]) for m in linears]
    np.testing.assert_allclose(training.layer_norms(row), want, rtol=1e-12)
    without = training.Run(mlp_deep.build(cfg), None, X, y, X, y, 16)
    assert not training.layer_norms(without.record())  # the CNN's runs: none at step 0


def _bn_run(steps=30):
    X, y = datasets.make_2d("circles", 200, 0.1, 1)
    cfg = {**mlp_deep.PRESETS["+ batch norm"], "seed": 1, "hidden": 3, "width": 8}
    model = mlp_deep.build(cfg)
    run = training.Run(model, nn.Adam(model, 0.03), X[:160], y[:160], X[160:], y[160:], 32, 1)
    for _ in range(steps):
        run.step()
    return run


def test_with_batch_norm_loss_accuracy_and_boundary_are_in_eval_mode():
    """Evaluated in training mode, the test loss would use the test set's own statistics (and
    move the running ones); one test point alone would be refused."""
    run = _bn_run()
    bn = next(m for m in training.modules(run.model) if isinstance(m, nn.BatchNorm1d))
    kept = bn.running_mean.copy(), bn.num_batches_tracked
    got = run.evaluate()
    run.model.eval()
    logits = run.model.forward(run.Xt)
    grid_eval = run.model.forward(np.array([[0.3, -0.2], [1.0, 1.0], [-1.0, 0.5]]))
    run.model.train()
    want = nn.SoftmaxCrossEntropy().forward(logits, run.yt)
    assert got["test loss"] == pytest.approx(want, rel=1e-12)
    assert got["test accuracy"] == np.mean(logits.argmax(1) == run.yt)
    train_mode = nn.SoftmaxCrossEntropy().forward(run.model.forward(run.Xt), run.yt)
    bn.running_mean[...], bn.num_batches_tracked = kept  # that forward moved them
    assert abs(train_mode - want) > 1e-6  # the two modes differ: the test can tell them apart
    xs, ys, prob = training.decision_grid(run.model, run.X)
    np.testing.assert_array_equal(bn.running_mean, kept[0])
    assert bn.num_batches_tracked == kept[1] and bn.training and run.model.training
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    with training.evaluating(run.model):
        p = run.model.forward(grid)
    p = np.exp(p - p.max(1, keepdims=True))
    np.testing.assert_allclose(prob.ravel(), (p[:, 1] / p.sum(1)), rtol=1e-12)
    _ = grid_eval
    one = training.Run(run.model, run.optimiser, run.X, run.y, run.Xt[:1], run.yt[:1], 32)
    assert 0 <= one.evaluate()["test accuracy"] <= 1  # a single test point: eval mode takes it


# ---------------------------------------------------------------- the story, computed


def _gap_at_step0(preset: str, seed: int, dataset="two_moons") -> float:
    X, y = datasets.make_2d(dataset, 200, 0.15, seed)
    run = training.Run(
        mlp_deep.build({**mlp_deep.PRESETS[preset], "seed": seed}), None, X, y, X, y, 32
    )
    run.norms_from_start = True
    return training.gap(training.layer_norms(run.record()))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_presets_tell_the_story(seed):
    """8 sigmoid layers: layer 1's gradient orders of magnitude below the last's; batch norm or
    residual connections each bring it back by orders of magnitude; ReLU with He's init too."""
    base = _gap_at_step0("8 sigmoid layers", seed)
    assert base > 4
    assert _gap_at_step0("+ batch norm", seed) < 1.5
    assert _gap_at_step0("+ residual", seed) < base - 3
    assert abs(_gap_at_step0("ReLU + He", seed)) < 1


def test_the_sentences_change_when_the_numbers_do():
    rows = [{"step": 0, **{f"layer {i}": 10.0 ** (i - 9) for i in range(1, 10)}}]
    text = training.norms_caption(rows, "sigmoid")
    assert "(8.0 decades)" in text and "1.0×10⁸× smaller than layer 9's" in text
    rows[0]["layer 1"] = 10.0**-3
    text = training.norms_caption(rows, "sigmoid")
    assert "(3.0 decades)" in text and "1,000× smaller" in text and "8.0" not in text
    rows[0]["layer 1"] = 0.5
    text = training.norms_caption(rows, "sigmoid")
    assert "decades)" not in text and "2.0× smaller than layer 9's" in text
    resid = [{"step": 0, "layer 1": 0.06, "layer 2": 0.2, "layer 3": 10.0}]
    assert "The hidden layers' norms alone (layers 1–2): within one decade." in (
        training.norms_caption(resid, "sigmoid")
    )
    resid[0]["layer 1"] = 0.001
    assert "(layers 1–2): 2.3 decades apart" in training.norms_caption(resid, "sigmoid")
    cfg = {**mlp_deep.PRESETS["+ batch norm"], "seed": 0}
    step0 = [0.1, 0.2, 0.4]
    said = mlp_deep.comparison(cfg, step0, 6.5)
    assert "0.6 decade below layer 3's here" in said and "without batch norm" in said
    assert "6.5 decades below" in said
    assert "1.2 decades above" in mlp_deep.comparison(cfg, [4.0, 1, 0.25], -2.0)
    assert "2.0 decades above layer 3's." in mlp_deep.comparison(cfg, [4.0, 1, 0.25], -2.0)
    plain = {**mlp_deep.PRESETS["8 sigmoid layers"], "seed": 0}
    assert mlp_deep.comparison(plain, step0, 1.0) == ""  # nothing to compare with


def test_what_adam_does_with_a_vanished_gradient_is_computed():
    """The "8 sigmoid layers" preset said Adam's weights "still move by about α per step"
    beside a layer 1 whose gradient (about 1e-8 per weight) is the size of Adam's ε: its first
    step moved them 0.36α. The caption now gives the bound computed from the chart's norm, and
    it holds."""
    X, y = datasets.make_2d("two_moons", 200, 0.15, 0)
    model = mlp_deep.build({**mlp_deep.PRESETS["8 sigmoid layers"], "seed": 0})
    lr = 0.03
    run = training.Run(model, nn.Adam(model, lr=lr), X, y, X, y, len(X))  # one batch: the row's
    run.norms_from_start = True
    run.record()
    first = model.layers[0]
    before = first.params["weight"].copy()
    run.step()
    moved = float(np.mean(np.abs(first.params["weight"] - before))) / lr
    text = training.norms_caption(run.history[:1], "sigmoid", "adam", first.params["weight"].size)
    assert "its weights still move by about α" not in text
    bound = float(re.search(r"on average at most ([0-9.]+)α", text).group(1))
    assert moved < 0.9 and moved <= bound + 0.005, (moved, text)
    big = [{"step": 0, "layer 1": 1e-3, "layer 2": 1.0}]  # well above ε: no bound to give
    assert "at most" not in training.norms_caption(big, "sigmoid", "adam", 32)


def test_the_structure_facts_say_what_the_normalisation_lesson_derives():
    """The MLP page said batch norm's backward "multiplies the gradient by γ/σ_B": that is the
    diagonal answer the Normalisation lesson shows as the common mistake. And it wrote the
    residual block's backward with column gradients, J_fᵀ·∂L/∂y, where the notes (002) and the
    lesson write rows, ∂L/∂Y (I + J_f)."""
    bn = mlp_deep.facts({**mlp_deep.PRESETS["+ batch norm"], "seed": 0})
    assert "multiplies the gradient by γ/σ_B" not in bn
    assert "batch mean" in bn and "along x̂" in bn
    res = mlp_deep.facts({**mlp_deep.PRESETS["+ residual"], "seed": 0})
    assert "J_fᵀ" not in res and "∂L/∂x = ∂L/∂y (I + J_f)" in res


def test_with_residual_blocks_the_slope_fact_is_only_fs_path():
    """Under "+ residual" the chart's caption said "Each hidden layer multiplies the gradient by
    diag(σ′) on its way back … (at least 4× smaller)", while the caption below it says the
    identity path passes the gradient on unchanged: in a residual block only f's path has σ′."""
    rows = [{"step": 0, "layer 1": 0.05, "layer 2": 0.2, "layer 3": 10.0}]
    plain = training.norms_caption(rows, "sigmoid", "adam", 32)
    assert "Each hidden layer multiplies the gradient by diag(σ′)" in plain
    res = training.norms_caption(rows, "sigmoid", "adam", 32, residual=True)
    assert "Each hidden layer multiplies" not in res
    assert "Along f (the identity paths of the residual blocks aside), each hidden layer" in res
    at = open_page(PAGE)
    at.button(key=key("preset/2")).click().run()  # "+ residual"
    assert "the identity paths of the residual blocks aside" in _caption(at, "At step 0 the norms")


def test_the_network_settings_round_trip_through_the_url():
    cfg = {**mlp_deep.PRESETS["+ residual"], "seed": 3}
    good, bad = mlp_deep.decode(mlp_deep.encode(cfg))
    assert not bad and good == {n: cfg[n] for n in mlp_deep.URL}
    good, bad = mlp_deep.decode(
        {"net_hidden": "12", "net_act": "__import__('os')", "net_bn": "yes", "net_width": "4"}
    )
    assert good == {"width": 4}
    assert len(bad) == 3 and "net_hidden='12' (expected 1 to 8)" in bad[0]
    assert all(len(b) < 80 for b in bad)


# ---------------------------------------------------------------- the page


def test_the_presets_on_the_page_and_their_chart_from_step_0():
    at = open_page(PAGE)
    assert any("Gradient norm" in t for t in chart_titles(at))  # step 0: already drawn
    for i, name in enumerate(mlp_deep.PRESETS):
        at.button(key=key(f"preset/{i}")).click().run()
        assert not at.exception and not at.error, name
        assert at.button(key=key(f"preset/{i}")).proto.type == "primary"
        run = at.session_state[key("run")]
        v = training.layer_norms(run.history[0])
        assert run.steps == 0 and len(v) == 9
        cap = _caption(at, "At step 0 the norms")
        d = training.gap(v)
        assert ("vanishing gradient" in cap) == (v[-1] > 10 * v[0]), (name, cap)
        if abs(d) >= 1:
            assert f"({abs(d):.1f} decades)" in cap
        if name.startswith("+"):
            story = _caption(at, "Step 0 is one backward pass")
            assert f"{d:.1f} decade" in story and "same network without" in story
    at.button(key=key("preset/0")).click().run()
    cap = _caption(at, "At step 0 the norms")
    assert "a vanishing gradient" in cap and "σ′ ≤ 1/4" in cap
    assert "close to Adam's ε" in cap  # layer 1's gradient, per weight, is about 1e-8
    at.toggle(key=key("batch_norm")).set_value(True).run()  # the preset by hand: highlighted
    assert at.button(key=key("preset/1")).proto.type == "primary"
    assert "a vanishing gradient" not in _caption(at, "At step 0 the norms")
    assert "derives the plain MLP chain, without it" in _caption(at, "Z⁽ℓ⁾")
    at.button(key=key("step")).click().run()
    assert not at.exception and "γ⁽¹⁾" in chart_titles(at) and "∂L/∂W⁽⁹⁾" in chart_titles(at)
    q = dict(at.query_params)
    assert q["net_hidden"] == "8" and q["net_bn"] == "1" and q["op"] == "mlp"


def test_residual_needs_a_block_that_keeps_its_width():
    at = open_page(PAGE)
    at.slider(key=key("hidden")).set_value(1).run()
    assert at.toggle(key=key("residual")).disabled
    assert any("need 2 hidden layers" in c.value for c in at.caption)
    at.slider(key=key("hidden")).set_value(3).run()
    at.toggle(key=key("residual")).set_value(True).run()
    assert any("around hidden layers 2–3" in c.value for c in at.caption)
    run = at.session_state[key("run")]
    assert sum(isinstance(m, nn.Residual) for m in run.model.layers) == 2
    at.slider(key=key("width")).set_value(2).run()  # 2 → 2: layer 1 keeps its width too
    assert any("around hidden layers 1–3" in c.value for c in at.caption)
    at.slider(key=key("hidden")).set_value(1).run()  # 2 → 2 → 2: its one block is wrapped
    run = at.session_state[key("run")]
    assert sum(isinstance(m, nn.Residual) for m in run.model.layers) == 1
    at.slider(key=key("width")).set_value(8).run()  # kept, but nothing to wrap: a plain net
    run = at.session_state[key("run")]
    assert not any(isinstance(m, nn.Residual) for m in run.model.layers) and not at.exception
    assert at.toggle(key=key("residual")).disabled and at.toggle(key=key("residual")).value


def test_a_link_sets_the_network_and_a_wrong_value_is_named():
    at = open_page(
        PAGE,
        {"net_hidden": "6", "net_act": "sigmoid", "net_init": "nope", "net_res": "1"},
    )
    assert at.slider(key=key("hidden")).value == 6
    assert at.toggle(key=key("residual")).value and at.selectbox(key=key("init")).value == "pytorch"
    assert any("net_init='nope'" in e.value and "pytorch, xavier" in e.value for e in at.error)
    assert not at.exception
    run = at.session_state[key("run")]
    assert sum(isinstance(m, nn.Residual) for m in run.model.layers) == 5


def test_batch_norm_with_a_batch_of_one_is_refused_and_the_rest_kept():
    """Training-mode batch norm on one sample raised inside the step: a traceback."""
    at = open_page(PAGE)
    at.button(key=key("preset/1")).click().run()
    at.select_slider(key=key("batch")).set_value(1).run()
    assert any("Batch norm cannot train with a batch size of 1" in e.value for e in at.error)
    assert at.button(key=key("step")).disabled and at.button(key=key("trainbtn")).disabled
    assert not at.exception and at.slider(key=key("hidden")).value == 8
    assert any("Gradient norm" in t for t in chart_titles(at))  # step 0 is still drawn
    at.toggle(key=key("batch_norm")).set_value(False).run()
    assert not at.error and not at.button(key=key("step")).disabled
    at.button(key=key("step")).click().run()
    assert at.session_state[key("run")].steps == 1 and not at.exception


# ---------------------------------------------------------------- the CNN's batch norm


def test_the_cnn_trains_with_batch_norm_and_folds_it_for_one_image():
    X, y, Xt, yt = training.digits_split(0)
    model = engine_train.digits_cnn(4, 3, 1, 2, rng=0, batch_norm=True)
    assert [type(m).__name__ for m in model.layers][:3] == ["Conv2d", "BatchNorm2d", "ReLU"]
    opt, loss = nn.Adam(model, 0.01), nn.SoftmaxCrossEntropy()
    for epoch in range(2):
        engine_train.train_epoch(model, loss, opt, X, y, 32, epoch)
    assert engine_train.accuracy(model, Xt, yt) > 0.9
    folded = training.folded(model)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.layers)
    with training.evaluating(model):
        want = model.forward(Xt[:20])
    np.testing.assert_allclose(folded.forward(Xt[:20]), want, rtol=1e-10, atol=1e-12)
    g = training.image_backward(folded, Xt[0], int(yt[0]))
    assert np.isfinite(g["dK"]).all() and g["dX"].shape == (8, 8)
    rows = training.sampled_gradcheck(model, Xt[:16], yt[:16])
    assert {r[0] for r in rows} >= {"1.weight", "1.bias"}
    assert max(abs(a - b) for *_, a, b in rows) < 1e-6


def test_the_cnn_page_with_batch_norm():
    page = "pages/cnn.py"
    at = open_page(page)
    assert not at.toggle(key=f"{page}/train/batch_norm").value  # off by default
    at.toggle(key=f"{page}/train/batch_norm").set_value(True).run()
    at.slider(key=f"{page}/train/epochs").set_value(1).run()
    at.button(key=f"{page}/train/trainbtn").click().run()
    for _ in range(60):
        if "epoch 1 of 1" in _caption(at, "epoch"):
            break
        at.run()
    assert not at.exception and not at.error
    run = at.session_state[f"{page}/train/run"]
    assert (
        isinstance(run.model.layers[1], nn.BatchNorm2d) and run.history[-1]["test accuracy"] > 0.8
    )
    assert any("folds into the convolution" in i.value for i in at.info)
    assert "this chain is the plain one" in _caption(at, "conv → ReLU")
    table = next(m.value for m in at.markdown if m.value.startswith("| array"))
    assert "γ (batch norm scale)" in table and "W (dense weights)" in table
