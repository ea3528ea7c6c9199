"""The CNN page's training half, on scikit-learn's 8×8 digits (committed as data/digits.npz):
train live, then look inside — learned kernels, feature maps, a confusion matrix, the mistakes —
and follow one image's gradient backwards, layer by layer, next to the lesson each layer comes
from. The toy-sized symbolic chain is the generic lesson section of the "cnn" op."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from engine import train as engine_train
from ui import charts, training
from ui.registry import CONV2D, DENSE, ELEMENTWISE, POOLING, SOFTMAX

PAGE = "pages/cnn.py"
RATES = [0.001, 0.003, 0.01, 0.03, 0.1]
DEFAULTS = {
    "channels": 8,
    "kernel": 3,
    "padding": 1,
    "optimiser": "adam",
    "lr": 0.01,
    "batch": 32,
    "epochs": 20,
    "seed": 0,
}
TICK = 0.3  # s between live redraws; each trains for about half of it
RESTARTS = "Channels, kernel size, padding and seed start a new network"


def k(name: str) -> str:
    return f"{PAGE}/train/{name}"


def _fig(spec: dict) -> go.Figure:
    return go.Figure(spec, _validate=False)  # the dicts are validated in the tests


def _chart(spec: dict, key: str) -> None:
    st.plotly_chart(_fig(spec), key=k(key), width="content", config={"displayModeBar": False})


@st.cache_resource(max_entries=4)
def digits(seed: int):
    """(X, y, Xt, yt): the 1,797 digits as (N, 1, 8, 8), split 80/20 by the seed."""
    return training.digits_split(seed)


def settings_ui() -> dict:
    for name, v in DEFAULTS.items():
        st.session_state.setdefault(k(name), v)
    with st.sidebar:
        st.header("Network")
        st.slider("Conv channels C", 1, 16, key=k("channels"))
        st.select_slider("Kernel size k", [1, 3, 5], key=k("kernel"))
        st.slider("Padding", 0, 2, key=k("padding"))
        st.caption("conv (1 → C, k×k) → ReLU → max pool 2×2 → dense → softmax over 10 digits")
        st.header("Training")
        st.radio("Optimiser", ["adam", "sgd"], horizontal=True, key=k("optimiser"))
        st.select_slider("Learning rate α", RATES, key=k("lr"))
        st.select_slider("Batch size", [8, 16, 32, 64, 128], key=k("batch"))
        st.slider("Epochs", 1, 60, key=k("epochs"))
        st.number_input("Seed", 0, 9999, key=k("seed"), help="The split and the first weights.")
        st.caption(f"{RESTARTS}; the rest keep the trained weights.")
    return {name: st.session_state[k(name)] for name in DEFAULTS}


def _architecture(cfg: dict) -> tuple:
    return tuple(cfg[n] for n in ("channels", "kernel", "padding", "seed"))


def new_run(cfg: dict) -> training.Run:
    X, y, Xt, yt = digits(cfg["seed"])
    model = engine_train.digits_cnn(
        cfg["channels"], cfg["kernel"], cfg["padding"], 2, rng=cfg["seed"]
    )
    opt = training.make_optimiser(model, cfg["optimiser"], cfg["lr"])
    run = training.Run(model, opt, X, y, Xt, yt, cfg["batch"], cfg["seed"])
    run.record()
    return run


def current_run(cfg: dict) -> training.Run:
    """The run in session state; a new one when the network or the seed changed."""
    ss = st.session_state
    old = ss.get(k("run"))
    if old is None or ss.get(k("arch")) != _architecture(cfg):
        if old is not None and old.steps:
            st.toast(f"A new network, from epoch 0: {RESTARTS[0].lower()}{RESTARTS[1:]}.")
        ss[k("run")], ss[k("arch")], ss[k("running")] = new_run(cfg), _architecture(cfg), False
    run = ss[k("run")]
    training.retune(run, cfg["optimiser"], cfg["lr"], cfg["batch"])
    return run


def _train() -> None:
    st.session_state[k("running")] = True


def _stop() -> None:
    st.session_state[k("running")] = False


def _reset() -> None:
    st.session_state[k("run")] = None


def controls_ui(run: training.Run, epochs: int) -> None:
    running = st.session_state.get(k("running"), False)
    c = st.columns([1, 1, 4])
    if running:
        c[0].button(":material/stop: Stop", on_click=_stop, width="stretch", key=k("stop"))
    else:
        done = run.epochs >= epochs - 1e-9
        c[0].button(
            ":material/play_arrow: Train",
            on_click=_train,
            disabled=done,
            width="stretch",
            key=k("trainbtn"),
            help="Done: raise the epochs or reset." if done else f"Train to {epochs} epochs.",
        )
    c[1].button(":material/restart_alt: Reset", on_click=_reset, width="stretch", key=k("reset"))


def status(run: training.Run, epochs: int) -> str:
    last = run.history[-1]
    done = round(run.epochs)
    # Epochs may be lowered below what was trained: "epoch 3 of 1" read as a bug
    of = f"of {epochs}" if done <= epochs else f"(Epochs is set to {epochs}: raise it to go on)"
    return (
        f"epoch {done} {of} · test accuracy {last['test accuracy']:.1%} · "
        f"train accuracy {last['train accuracy']:.1%}"
    )


def _tick(run: training.Run, epochs: int) -> None:
    per_epoch = math.ceil(len(run.X) / run.batch)
    run.train_for(TICK / 2, until_epoch=epochs, every=per_epoch)
    st.progress(min(1.0, run.epochs / epochs), text=f"training: epoch {run.epochs:.1f} of {epochs}")
    if run.epochs >= epochs - 1e-9:
        st.session_state[k("running")] = False
        st.rerun()


def live_ui(epochs: int) -> None:
    """Curves, kernels and feature maps, in a fragment that trains and redraws itself while
    running; the rest of the page stays usable."""
    running = st.session_state.get(k("running"), False)

    @st.fragment(run_every=TICK if running else None)
    def view():
        run = st.session_state[k("run")]
        if st.session_state.get(k("running")):
            _tick(run, epochs)
        st.caption(status(run, epochs))  # here, not beside the buttons: it follows the training
        _curves(run)
        _inside(run)

    view()


def _curves(run: training.Run) -> None:
    h = run.history
    left, right = st.columns(2)
    with left:
        st.plotly_chart(
            _fig(charts.curves(h, ["train loss", "test loss"], "Loss per epoch", x="epoch")),
            key=k("loss"),
        )
    with right:
        spec = charts.curves(
            h, ["train accuracy", "test accuracy"], "Accuracy per epoch", x="epoch"
        )
        st.plotly_chart(_fig(spec), key=k("acc"))


def _image_index(run: training.Run) -> int:
    n = len(run.Xt)
    st.session_state.setdefault(k("image"), 1)
    i = st.number_input("Test image", 1, n, key=k("image"), help=f"1 to {n}")
    return int(i) - 1


def _inside(run: training.Run) -> None:
    with run.lock:  # a copy, not views of weights that a training thread may be changing
        kernels = [w[0].copy() for w in run.model.layers[0].params["weight"]]
    captions = [f"K{c + 1}" for c in range(len(kernels))]
    kfig = charts.mosaic_figure(kernels, captions, "Learned kernels", 8, 14, diverging=True)
    _chart(kfig, "kernels")
    i = _image_index(run)
    with run.lock:
        maps = training.image_backward(run.model, run.Xt[i], int(run.yt[i]))["R"]
    cap = [f"map {c + 1}" for c in range(len(maps))]
    title = f"Feature maps of test image {i + 1} (after ReLU)"
    _chart(charts.mosaic_figure(list(maps), cap, title, per_row=8, px=8), "maps")


def results_ui(run: training.Run) -> None:
    """On the test set: the confusion matrix and the images the network got wrong."""
    with run.lock:
        counts = training.confusion(run.model, run.Xt, run.yt)
        pred = np.argmax(run.model.forward(run.Xt), axis=1)
    wrong = np.flatnonzero(pred != run.yt)
    left, right = st.columns([2, 3])
    with left:
        _chart(charts.confusion_figure(counts, "Confusion matrix (test set)"), "confusion")
    with right:
        if not len(wrong):
            st.success("No test image is misclassified.")
            return
        shown = wrong[:24]
        images = [run.Xt[i, 0] for i in shown]
        caps = [f"{pred[i]} (true {run.yt[i]})" for i in shown]
        title = (
            f"Misclassified: {len(wrong)} of {len(run.yt)} (first {len(shown)}), predicted (true)"
        )
        _chart(charts.mosaic_figure(images, caps, title, per_row=6, px=10), "wrong")


def _lesson_link(page, label: str, **query) -> None:
    st.page_link(page.path, label=label, icon=page.icon, query_params=query or None)


def _row(figures: list[tuple[dict, str]]) -> None:
    for col, (spec, key) in zip(st.columns(len(figures)), figures, strict=True):
        with col:
            _chart(spec, key)


def backward_ui(run: training.Run) -> None:
    """One test image's gradient, from the loss back to the pixels, each layer beside the
    formula of the lesson it comes from."""
    i = int(st.session_state.get(k("image"), 1)) - 1
    with run.lock:
        g = training.image_backward(run.model, run.Xt[i], int(run.yt[i]))
    st.markdown(
        f"Test image {i + 1}, a **{run.yt[i]}**, predicted **{int(np.argmax(g['p']))}**, loss "
        f"{float(g['loss']):.3f}. Change the image above."
    )
    _backward_head(g)
    c = _channel_ui(len(g["R"]))
    _backward_body(g, c, run.model.layers[0].params["weight"].shape[-1])


def _backward_head(g: dict) -> None:
    st.latex(r"\frac{\partial L}{\partial z} = p - \mathrm{onehot}(y)")
    _lesson_link(SOFTMAX, "Softmax + cross-entropy lesson, 10 classes", num_classes="10")
    rows = np.stack([g["p"], g["dlogits"]])
    names = [[f"{what}, digit {d}" for d in range(10)] for what in ("p", "∂L/∂z")]
    fig = charts.image(
        rows,
        "p (row 1) and ∂L/∂z (row 2), digits 0–9",
        diverging=True,
        px=44,
        values=True,
        labels=names,
    )
    fig["layout"]["xaxis"].update(
        tickmode="array", tickvals=list(range(1, 11)), ticktext=list("0123456789")
    )
    _row([(fig, "b/p")])
    st.latex(
        r"\frac{\partial L}{\partial W} = v^\top \frac{\partial L}{\partial z}, \qquad "
        r"\frac{\partial L}{\partial P} = \mathrm{unflatten}\left(\frac{\partial L}{\partial z} W^\top\right)"
    )
    _lesson_link(DENSE, "Dense-layer lesson")
    dw = charts.image(
        g["dW"].T, f"∂L/∂W, transposed (10 × {g['dW'].shape[0]})", diverging=True, px=6
    )
    _row([(dw, "b/dW")])


def _channel_ui(channels: int) -> int:
    st.session_state.setdefault(k("channel"), 1)
    c = st.slider("Channel to follow", 1, channels, key=k("channel")) if channels > 1 else 1
    return int(c) - 1


def _backward_body(g: dict, c: int, ksize: int) -> None:
    _through_pool(g, c)
    _through_relu(g, c)
    _into_conv(g, c, ksize)


def _through_pool(g: dict, c: int) -> None:
    side = g["R"].shape[-1]
    st.latex(
        r"\frac{\partial L}{\partial r_{mn}} = \sum_{(i,j)\,:\,r_{mn}\text{ wins window }(i,j)} "
        r"\frac{\partial L}{\partial p_{ij}}"
    )
    _lesson_link(
        POOLING,
        f"Max-pooling lesson at {side}×{side}, window 2×2",
        op="max_pool2d",
        input_shape=f"{side}x{side}",
        kernel_size="2x2",
    )
    _row(
        [
            (charts.image(g["R"][c], f"R (channel {c + 1})", px=20), "b/R"),
            (charts.image(g["winners"][c].astype(float), "cells that won", px=20), "b/win"),
            (charts.image(g["dP"][c], "∂L/∂P", diverging=True, px=28), "b/dP"),
            (charts.image(g["dR"][c], "∂L/∂R: routed", diverging=True, px=20), "b/dR"),
        ]
    )


def _through_relu(g: dict, c: int) -> None:
    side = g["R"].shape[-1]
    st.latex(
        r"\frac{\partial L}{\partial z_{ij}} = [z_{ij} > 0]\,\frac{\partial L}{\partial r_{ij}}"
    )
    _lesson_link(ELEMENTWISE, "Element-wise lesson: ReLU", op="relu", shape=f"{side}x{side}")
    _row(
        [
            (charts.image(g["mask"][c].astype(float), "mask [z > 0]", px=20), "b/mask"),
            (charts.image(g["dZ"][c], "∂L/∂Z", diverging=True, px=20), "b/dZ"),
        ]
    )


def _into_conv(g: dict, c: int, ksize: int) -> None:
    pad = (g["R"].shape[-1] - 8 + ksize - 1) // 2  # the padding that gives this feature map
    st.latex(
        r"\frac{\partial L}{\partial K} = X \circledast \frac{\partial L}{\partial Z}, \quad "
        r"\frac{\partial L}{\partial X} = \mathrm{pad}\left(\frac{\partial L}{\partial Z}\right)"
        r" \circledast \mathrm{rot180}(K)"
    )
    _lesson_link(
        CONV2D,
        f"Conv2D lesson at 8×8 * {ksize}×{ksize}, padding {pad}",
        input_shape="8x8",
        kernel_shape=f"{ksize}x{ksize}",
        padding=f"{pad}x{pad}",
    )
    _row(
        [
            (charts.image(g["X"], "X (the image)", px=20), "b/X"),
            (charts.image(g["dK"][c, 0], f"∂L/∂K (kernel {c + 1})", diverging=True, px=28), "b/dK"),
            (charts.image(g["dX"], "∂L/∂X: which pixels matter", diverging=True, px=20), "b/dX"),
        ]
    )


# the digits CNN's parameter arrays (conv, ReLU, pool, flatten, dense) by the notes' names, not
# PyTorch's 0-based layer keys beside 1-based entries
ARRAYS = {
    "0.weight": "K (conv kernels)",
    "0.bias": "b (conv bias)",
    "4.weight": "W (dense weights)",
    "4.bias": "c (dense bias)",
}


def verify_ui(run: training.Run) -> None:
    """The engine's gradients against finite differences on the real network, a sample of
    entries of every array (the toy size below checks symbolic = engine = FD in full)."""
    with run.lock:  # it nudges the weights: no training step may see them nudged
        rows = training.sampled_gradcheck(run.model, run.Xt[:32], run.yt[:32], per_array=3)
    worst = max(abs(a - b) for *_, a, b in rows)
    table = [
        {
            "array": ARRAYS.get(name, name),
            "entry": str(tuple(i + 1 for i in idx)),
            "engine": f"{a:.6g}",
            "finite differences": f"{b:.6g}",
            "|difference|": f"{abs(a - b):.1e}",
        }
        for name, idx, a, b in rows
    ]
    verdict = ":green[pass]" if worst < 1e-6 else ":red[FAIL]"
    st.markdown(
        f"**Engine = finite differences on the real network**: {verdict} (worst {worst:.1e})"
    )
    st.dataframe(table, hide_index=True)
