"""The MLP page's sidebar: the data, the network (up to 8 hidden layers, an initialisation,
batch norm, residual connections, the vanishing-gradient presets) and the optimiser, seeded once
from the URL's net_* parameters and written back to it (``ui.mlp_deep`` decodes them)."""

from __future__ import annotations

import streamlit as st

from ui import mlp_deep, training

PAGE = "pages/mlp.py"
DATASETS = {
    "two_moons": "Two moons",
    "circles": "Circles",
    "spirals": "Spirals",
    "xor": "XOR",
    "blobs": "Gaussian blobs",
}
RATES = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0]
BATCHES = [1, 8, 16, 32, 64, 128, 256]
DEFAULTS = {
    "dataset": "two_moons",
    "n": 200,
    "noise": 0.15,
    "seed": 0,
    "hidden": 2,
    "width": 8,
    "activation": "tanh",
    "init": "pytorch",
    "batch_norm": False,
    "residual": False,
    "optimiser": "adam",
    "lr": 0.03,
    "batch": 32,
}
RESTARTS = (
    "Dataset, points, noise, seed, layers, units, activation, initialisation, batch norm and "
    "residual connections start a new network"
)


def k(name: str) -> str:
    return f"{PAGE}/train/{name}"


def settings_ui() -> dict:
    """The sidebar: the data and the network. Returns plain values."""
    ss = st.session_state
    for name, v in DEFAULTS.items():
        ss.setdefault(k(name), v)
    _from_link()
    with st.sidebar:
        st.header("Data")
        st.selectbox("Dataset", list(DATASETS), format_func=DATASETS.get, key=k("dataset"))
        st.slider("Points", 20, 1000, step=10, key=k("n"))
        st.slider("Noise", 0.0, 0.5, step=0.01, key=k("noise"))
        st.number_input("Seed", 0, 9999, key=k("seed"), help="Same seed, same data and weights.")
        st.header("Network")
        presets_ui()
        st.slider("Hidden layers", 1, mlp_deep.MAX_HIDDEN, key=k("hidden"))
        st.slider("Units per hidden layer", 1, mlp_deep.MAX_WIDTH, key=k("width"))
        st.selectbox("Activation", ["tanh", "relu", "sigmoid"], key=k("activation"))
        st.selectbox(
            "Initialisation",
            list(mlp_deep.INIT_LABELS),
            format_func=mlp_deep.INIT_LABELS.get,
            key=k("init"),
            help="How every Linear layer's W is drawn; all but PyTorch's start b at 0.",
        )
        st.toggle(
            "Batch norm after each hidden Linear",
            key=k("batch_norm"),
            help="Linear → BatchNorm1d → activation; the loss, accuracy and boundary are "
            "computed in eval mode (the running statistics).",
        )
        structure_ui()
        st.radio("Optimiser", ["adam", "sgd"], horizontal=True, key=k("optimiser"))
        st.select_slider("Learning rate α", RATES, key=k("lr"))
        st.select_slider("Batch size", BATCHES, key=k("batch"))
        st.caption(f"{RESTARTS}; α, batch size and optimiser keep the trained weights.")
    cfg = {name: ss[k(name)] for name in DEFAULTS}
    ss[k("cfg")] = cfg
    return cfg


def structure_ui() -> None:
    """The residual toggle, usable where a hidden block keeps its width, and what it wraps."""
    ss = st.session_state
    cfg = {n: ss[k(n)] for n in ("hidden", "width")}
    blocks = training.residual_blocks(mlp_deep.sizes(cfg))
    st.toggle(
        "Residual connections",
        key=k("residual"),
        disabled=not blocks,
        help="Each hidden block whose width in equals its width out becomes x + f(x).",
    )
    if ss[k("residual")]:
        st.caption(mlp_deep.residual_note(cfg))
    elif not blocks:
        st.caption("Residual connections need 2 hidden layers or more (layer 1 maps 2 → width).")


def _preset(name: str) -> None:
    for setting, v in mlp_deep.PRESETS[name].items():
        st.session_state[k(setting)] = v


def presets_ui() -> None:
    """The vanishing gradient in four networks; the one the settings are now is highlighted."""
    ss = st.session_state
    now = mlp_deep.matching_preset({n: ss[k(n)] for n in mlp_deep.NETWORK})
    st.caption("The vanishing gradient, in four networks:")
    with st.container(horizontal=True, gap="small"):
        for i, name in enumerate(mlp_deep.PRESETS):
            st.button(
                name,
                key=k(f"preset/{i}"),
                on_click=_preset,
                args=(name,),
                type="primary" if name == now else "secondary",
                help=mlp_deep.PRESET_HELP[name],
            )


def _from_link() -> None:
    """Seed the network's settings from the URL once (what it sets wrongly is named and
    ignored, the rest kept)."""
    ss = st.session_state
    if k("linked") in ss:
        return
    ss[k("linked")] = True
    good, bad = mlp_deep.decode(dict(st.query_params))
    for name, v in good.items():
        ss[k(name)] = v
    ss[k("link_errors")] = bad


def link_errors_ui() -> None:
    bad = st.session_state.pop(k("link_errors"), [])
    if bad:
        st.error(
            "The link's network settings that do not fit were ignored: " + "; ".join(bad) + ". "
            "The page uses the other settings as linked; change these in the sidebar.",
            icon=":material/link_off:",
        )


def keep_in_url() -> None:
    """Write the network's settings into the URL (after the lesson below has written its own),
    so the page as it is can be shared."""
    cfg = st.session_state.get(k("cfg"))
    if cfg:
        st.query_params.update(mlp_deep.encode(cfg))
