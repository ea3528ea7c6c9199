"""Issue 17, the network pages as a learner found them: the CNN page's backward pass (one
letter per thing, the padding in ∂L/∂K, the channels ∂L/∂X sums, colour scales, numbered
mistakes), the MLP page (captions computed from their chart, log ticks, note 002's whole chain,
the quantities between the layers, the lesson following the network above, the settings'
bounds). The pages' helpers are in ``tests.test_networks``."""

import re

import numpy as np
import pytest

from engine import nn
from engine import train as engine_train
from tests.test_networks import _caption, _ticks, chart_titles, open_page, svgs
from ui import charts, training

# ---------------------------------------------------------------- the MLP's gradient norms


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


# ---------------------------------------------------------------- the CNN page


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


# ---------------------------------------------------------------- the MLP page


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
