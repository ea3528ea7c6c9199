"""The CNN page's training half, on scikit-learn's 8×8 digits (committed as data/digits.npz):
train live, then look inside — learned kernels, a confusion matrix, the mistakes — and open one
test image: its feature maps and its gradient followed backwards layer by layer
(``ui.cnn_backward``). The toy-sized symbolic chain is the generic lesson section of the "cnn"
op."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st

from engine import train as engine_train
from ui import charts, cnn_backward, training
from ui.figures import split_px, svg_ui
from ui.verify import markdown_table

PAGE = "pages/cnn.py"
RATES = [0.001, 0.003, 0.01, 0.03, 0.1]
DEFAULTS = {
    "channels": 8,
    "kernel": 3,
    "padding": 1,
    "batch_norm": False,
    "optimiser": "adam",
    "lr": 0.01,
    "batch": 32,
    "epochs": 20,
    "seed": 0,
}
TICK = 0.3  # s between live redraws; each trains for about half of it
RESTARTS = "Channels, kernel size, padding, batch norm and seed start a new network"


def k(name: str) -> str:
    return f"{PAGE}/train/{name}"


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
        st.toggle(
            "Batch norm after the convolution",
            key=k("batch_norm"),
            help="BatchNorm2d over the C channels; accuracy, mistakes and the test image are "
            "computed in eval mode (the running statistics).",
        )
        bn = " → batch norm" if st.session_state[k("batch_norm")] else ""
        st.caption(f"conv (1 → C, k×k){bn} → ReLU → max pool 2×2 → dense → softmax over 10 digits")
        st.header("Training")
        st.radio("Optimiser", ["adam", "sgd"], horizontal=True, key=k("optimiser"))
        st.select_slider("Learning rate α", RATES, key=k("lr"))
        st.select_slider("Batch size", [8, 16, 32, 64, 128], key=k("batch"))
        st.slider("Epochs", 1, 60, key=k("epochs"))
        st.number_input("Seed", 0, 9999, key=k("seed"), help="The split and the first weights.")
        st.caption(f"{RESTARTS}; the rest keep the trained weights.")
    return {name: st.session_state[k(name)] for name in DEFAULTS}


def _architecture(cfg: dict) -> tuple:
    return tuple(cfg[n] for n in ("channels", "kernel", "padding", "batch_norm", "seed"))


def new_run(cfg: dict) -> training.Run:
    X, y, Xt, yt = digits(cfg["seed"])
    model = engine_train.digits_cnn(
        cfg["channels"],
        cfg["kernel"],
        cfg["padding"],
        2,
        rng=cfg["seed"],
        batch_norm=cfg["batch_norm"],
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
    run, epochs = st.session_state[k("run")], st.session_state[k("epochs")]
    st.session_state[k("running")] = True
    st.session_state[k("pace")] = training.Pace(run.epochs, epochs, unit="epoch")


def _stop() -> None:
    st.session_state[k("running")] = False
    st.session_state[k("stopped")] = True


def _reset() -> None:
    st.session_state[k("run")] = None
    st.session_state[k("pace")] = None


def controls_ui(run: training.Run, epochs: int, running: bool) -> None:
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
            help="Done: raise the epochs or reset."
            if done
            else f"Train to {epochs} epochs; the bar says how long it is taking.",
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


def _tick(run: training.Run, epochs: int, pace: training.Pace) -> None:
    """Train for part of a tick, the bar saying how long it is taking; at the last epoch, stop
    and redraw the whole page once (the results below follow the trained network)."""
    bar = st.empty()

    def show() -> None:  # each update is also where a click on Stop breaks in
        left = pace.left_text(run.epochs)
        text = f"training: epoch {run.epochs:.1f} of {epochs} · {left}"
        bar.progress(min(1.0, run.epochs / epochs), text=text)

    show()
    per_epoch = math.ceil(len(run.X) / run.batch)
    run.train_for(TICK / 2, until_epoch=epochs, every=per_epoch, between=show)
    if run.epochs >= epochs - 1e-9:
        pace.finish()
        st.session_state[k("running")] = False
        st.rerun(scope="app")


def board_ui(cfg: dict) -> None:
    """Train, Stop and Reset with the status, curves and kernels they change, in one fragment:
    a click reruns only this. While training, the part below the buttons is a fragment of its
    own that trains and redraws itself every tick (the buttons stay put, so Stop always lands;
    see ``ui.mlp_view.board_ui``). The results below follow when training stops."""

    @st.fragment
    def board():
        ss = st.session_state
        running = ss.get(k("running"), False)
        controls_ui(current_run(cfg), cfg["epochs"], running)
        if running:
            _ticking(cfg)
        else:
            _live(cfg)
            if ss.pop(k("stopped"), False):  # the results below follow the stopped network
                st.rerun(scope="app")

    board()


def _live(cfg: dict) -> None:
    ss, epochs = st.session_state, cfg["epochs"]
    run = current_run(cfg)
    pace = ss.get(k("pace"))
    if ss.get(k("running")) and pace is not None:
        _tick(run, epochs, pace)
    elif pace is not None:
        pace.finish()
        st.caption(f"The last Train: {pace.summary(run.epochs)}.")
    st.caption(status(run, epochs))  # here, not beside the buttons: it follows the training
    _curves(run)
    _inside(run)


_ticking = st.fragment(run_every=TICK)(_live)


def _curves(run: training.Run) -> None:
    h = run.history
    left_px, right_px = split_px([1, 1])
    left, right = st.columns(2)
    with left:
        loss = charts.line_chart(
            h, ["train loss", "test loss"], "Loss per epoch", x="epoch", width=left_px
        )
        svg_ui(loss, k("loss"))
    with right:
        acc = charts.line_chart(
            h,
            ["train accuracy", "test accuracy"],
            "Accuracy per epoch",
            x="epoch",
            width=right_px,
            percent=True,
        )
        svg_ui(acc, k("acc"))


def _inside(run: training.Run) -> None:
    with run.lock:  # a copy, not views of weights that a training thread may be changing
        kernels = [w[0].copy() for w in run.model.layers[0].params["weight"]]
    captions = [f"K{c + 1}" for c in range(len(kernels))]
    room = split_px([1])[0]
    spec = charts.mosaic(
        kernels,
        captions,
        "Learned kernels (blue < 0 < red)",
        px=14,
        room=room,
        palette="diverging",
    )
    svg_ui(spec, k("kernels"))


def _open(choice_key: str) -> None:
    """A misclassified image picked from the list becomes the test image below."""
    st.session_state[k("image")] = int(st.session_state[choice_key])


def results_ui(run: training.Run) -> None:
    """On the test set: the confusion matrix and the images the network got wrong, each with
    its test-image number, and a list to open one of them below."""
    with run.lock, training.evaluating(run.model):
        pred = np.argmax(run.model.forward(run.Xt), axis=1)
    counts = training.confusion(run.model, run.Xt, run.yt, pred=pred)
    wrong = np.flatnonzero(pred != run.yt)
    left_px, right_px = split_px([2, 3])
    left, right = st.columns([2, 3])
    with left:
        px = max(14, min(30, (left_px - 80) // 10))
        svg_ui(charts.confusion(counts, "Confusion matrix (test set)", px=px), k("confusion"))
    with right:
        if not len(wrong):
            st.success("No test image is misclassified.")
            return
        shown = wrong[:24]
        images = [run.Xt[i, 0] for i in shown]
        caps = [f"#{i + 1}: {pred[i]} ({run.yt[i]})" for i in shown]
        names = [f"test image {i + 1}: predicted {pred[i]}, true {run.yt[i]}" for i in shown]
        title = f"Misclassified: {len(wrong)} of {len(run.yt)}; #test image: predicted (true)"
        svg_ui(
            charts.mosaic(images, caps, title, px=10, room=right_px, names=names, zmax=1.0),
            k("wrong"),
        )
        choice = k("open")
        st.selectbox(
            "Open a misclassified test image below",
            [int(i) + 1 for i in wrong],
            index=None,
            placeholder=f"one of the {len(wrong)}",
            key=choice,
            on_change=_open,
            args=(choice,),
        )


def image_ui(run: training.Run) -> None:
    """One test image: the number to open, its feature maps, its backward pass."""
    n = len(run.Xt)
    st.session_state.setdefault(k("image"), 1)
    i = int(st.number_input("Test image", 1, n, key=k("image"), help=f"1 to {n}")) - 1
    with run.lock:
        model = training.folded(run.model)
        g = training.image_backward(model, run.Xt[i], int(run.yt[i]))
    conv = model.layers[0]
    if model is not run.model:
        st.info(
            "With batch norm, one image meets the trained network in eval mode, where batch "
            "norm is a fixed affine map per channel, y = s·(z − μ̂) + β with s = γ/√(σ̂² + ε) "
            "from the running statistics. It folds into the convolution: below, K is each "
            "kernel times its channel's s and b is s·(b − μ̂) + β, so Z is the batch norm's "
            "output and the chain is the same as without it.",
            icon=":material/merge:",
        )
    cnn_backward.feature_maps_ui(g, i, k("maps"))
    st.subheader("Its backward pass, layer by layer")
    cnn_backward.backward_ui(
        g, i, int(run.yt[i]), conv.kernel_size[0], conv.padding[0], lambda name: k(name)
    )


# the digits CNN's parameter arrays (conv, ReLU, pool, flatten, dense) by the notes' names, not
# PyTorch's 0-based layer keys beside 1-based entries; with batch norm, it is layer 1
ARRAYS = {
    "0.weight": "K (conv kernels)",
    "0.bias": "b (conv bias)",
    "4.weight": "W (dense weights)",
    "4.bias": "c (dense bias)",
}
ARRAYS_BN = {
    "0.weight": "K (conv kernels)",
    "0.bias": "b (conv bias)",
    "1.weight": "γ (batch norm scale)",
    "1.bias": "β (batch norm shift)",
    "5.weight": "W (dense weights)",
    "5.bias": "c (dense bias)",
}


def verify_ui(run: training.Run) -> None:
    """The engine's gradients against finite differences on the real network, a sample of
    entries of every array (the toy size below checks symbolic = engine = FD in full)."""
    with run.lock:  # it nudges the weights: no training step may see them nudged
        rows = training.sampled_gradcheck(run.model, run.Xt[:32], run.yt[:32], per_array=3)
    worst = max(abs(a - b) for *_, a, b in rows)
    names = ARRAYS_BN if len(run.model.layers) == 6 else ARRAYS
    table = [
        {
            "array": names.get(name, name),
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
    # Markdown, not st.dataframe: the grid's 1.5 MB of code would load on every first visit
    st.markdown(markdown_table(pd.DataFrame(table)))
