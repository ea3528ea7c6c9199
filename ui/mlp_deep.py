"""The MLP page's deep networks, without streamlit: the vanishing-gradient presets, the network's
settings as URL parameters, what each parameter array is called, and the step-0 comparison with
the same network without batch norm or residual connections — every number in a sentence
computed here from a network, never asserted."""

from __future__ import annotations

import math
import re

from engine import nn
from ui import training
from ui.norm_story import gap

MAX_HIDDEN, MAX_WIDTH = 8, 16
INIT_LABELS = {
    "pytorch": "PyTorch's default: U(±1/√fan_in)",
    "xavier": "Xavier/Glorot: U(±√(6/(fan_in + fan_out)))",
    "he": "He/Kaiming: N(0, 2/fan_in)",
    "normal": "Small normal: N(0, 0.01²)",
}
# the story, in four networks of 8 hidden layers of 16 units: the sigmoid one's gradient fades
# on the way back; batch norm or residual connections (each alone) bring it back; so does ReLU
# with He's initialisation
_BASE = {"hidden": 8, "width": 16, "activation": "sigmoid", "init": "pytorch"}
_PLAIN = {**_BASE, "batch_norm": False, "residual": False}
PRESETS = {
    "8 sigmoid layers": _PLAIN,
    "+ batch norm": {**_PLAIN, "batch_norm": True},
    "+ residual": {**_PLAIN, "residual": True},
    "ReLU + He": {**_PLAIN, "activation": "relu", "init": "he"},
}
PRESET_HELP = {
    "8 sigmoid layers": "8 hidden layers of 16 sigmoid units, PyTorch's initialisation.",
    "+ batch norm": "The same 8 sigmoid layers with a batch norm after each hidden Linear.",
    "+ residual": "The same 8 sigmoid layers with residual connections (no batch norm).",
    "ReLU + He": "8 hidden layers of 16 ReLU units, He's initialisation, plain.",
}
NETWORK = tuple(_BASE) + ("batch_norm", "residual")

# the network's settings in the URL: prefixed, as the lesson below owns "activation" and "seed"
URL = {
    "hidden": "net_hidden",
    "width": "net_width",
    "activation": "net_act",
    "init": "net_init",
    "batch_norm": "net_bn",
    "residual": "net_res",
}
_INT = re.compile(r"^\s*([0-9]{1,2})\s*$")
_BOOL = {"1": True, "true": True, "on": True, "0": False, "false": False, "off": False}


def matching_preset(cfg: dict) -> str | None:
    """The preset whose network the settings are, if any."""
    return next(
        (name for name, p in PRESETS.items() if all(cfg.get(k) == v for k, v in p.items())),
        None,
    )


def encode(cfg: dict) -> dict[str, str]:
    out = {}
    for name, key in URL.items():
        v = cfg[name]
        out[key] = ("1" if v else "0") if isinstance(v, bool) else str(v)
    return out


def _decode_one(name: str, text: str):
    text = str(text)[:12]
    if name in ("hidden", "width"):
        m = _INT.match(text)
        top = MAX_HIDDEN if name == "hidden" else MAX_WIDTH
        return int(m.group(1)) if m and 1 <= int(m.group(1)) <= top else None
    if name == "activation":
        return text if text in training.ACTIVATIONS else None
    if name == "init":
        return text if text in INIT_LABELS else None
    return _BOOL.get(text.strip().lower())


LIMITS = {
    "hidden": f"1 to {MAX_HIDDEN}",
    "width": f"1 to {MAX_WIDTH}",
    "activation": ", ".join(training.ACTIVATIONS),
    "init": ", ".join(INIT_LABELS),
    "batch_norm": "1 or 0",
    "residual": "1 or 0",
}


def decode(query: dict) -> tuple[dict, list[str]]:
    """The settings a URL sets validly, and a note on each one it sets wrongly (the URL's text
    is only matched, never evaluated, and is not echoed back beyond 12 characters)."""
    good, bad = {}, []
    for name, key in URL.items():
        if key not in query:
            continue
        v = _decode_one(name, query[key])
        if v is None:
            bad.append(f"{key}={str(query[key])[:12]!r} (expected {LIMITS[name]})")
        else:
            good[name] = v
    return good, bad


def sizes(cfg: dict) -> tuple[int, ...]:
    return (2, *[cfg["width"]] * cfg["hidden"], 2)


def build(cfg: dict, **override) -> nn.Sequential:
    """The network the settings describe (``override``: some of them changed)."""
    c = {**cfg, **override}
    return training.make_mlp(
        sizes(c),
        c["activation"],
        c["seed"],
        init=c["init"],
        batch_norm=c["batch_norm"],
        residual=c["residual"],
    )


def problem(cfg: dict) -> str | None:
    """Why these settings cannot train, with what to change; None when they can. Batch norm in
    training mode needs two samples or more in every minibatch (one sample has no spread), and
    an epoch's last minibatch holds what is left over."""
    if not cfg["batch_norm"]:
        return None
    n_train = cfg["n"] - math.ceil(0.2 * cfg["n"] - 1e-9)  # datasets.train_test_split's
    last = n_train % cfg["batch"] if cfg["batch"] < n_train else n_train
    if cfg["batch"] > 1 and last != 1:
        return None
    size = (
        "a batch size of 1"
        if cfg["batch"] == 1
        else f"{n_train} training points in batches of {cfg['batch']}"
    )
    return (
        f"Batch norm cannot train with {size}: a minibatch of one sample has no statistics to "
        "normalise with (PyTorch refuses it too). Choose another batch size or number of points, "
        "or turn batch norm off; your other settings are kept."
    )


def residual_note(cfg: dict) -> str:
    """Which hidden layers the residual connections wrap, read from the sizes."""
    wrapped = training.residual_blocks(sizes(cfg))
    if not wrapped:
        return "No hidden block keeps its width (one hidden layer, 2 → width): nothing to wrap."
    first = "" if 1 in wrapped else " (layer 1 maps the 2 inputs to the width: no identity path)"
    span = f"layer {wrapped[0]}" if len(wrapped) == 1 else f"layers {wrapped[0]}–{wrapped[-1]}"
    return f"Residual connections y = x + f(x) around hidden {span}{first}."


def param_labels(model: nn.Sequential) -> dict[str, tuple[str, int]]:
    """Each parameter array's key → (symbol, layer): W and b of the ℓ-th Linear, γ and β of the
    batch norm after it (inside residual blocks too)."""
    out: dict[str, tuple[str, int]] = {}
    count = 0

    def walk(m, prefix: str) -> None:
        nonlocal count
        for i, layer in enumerate(m.layers):
            p = f"{prefix}{i}."
            if isinstance(layer, nn.Sequential):
                walk(layer, p)
            elif isinstance(layer, nn.Linear):
                count += 1
                out[p + "weight"], out[p + "bias"] = ("W", count), ("b", count)
            elif "weight" in layer.params:
                out[p + "weight"], out[p + "bias"] = ("γ", count), ("β", count)

    walk(model, "")
    return out


def _without(cfg: dict) -> tuple[str, dict] | None:
    """The counterpart network for the comparison: the same without batch norm and residual
    connections when either is on, else with PyTorch's initialisation when another is chosen."""
    res = cfg["residual"] and training.residual_blocks(sizes(cfg))
    if cfg["batch_norm"] or res:
        both = cfg["batch_norm"] and res
        what = (
            "batch norm and residual connections"
            if both
            else ("batch norm" if cfg["batch_norm"] else "residual connections")
        )
        return f"without {what}", {"batch_norm": False, "residual": False}
    if cfg["init"] != "pytorch":
        return "with PyTorch's default initialisation", {"init": "pytorch"}
    return None


def by_layer(history: list[dict]) -> tuple[list[dict], list[str]]:
    """The norm chart's rows turned across: one row per layer (x "layer", from 1) holding its
    norm at step 0 and at the last recorded step, and those two series' names."""
    first, last = history[0], history[-1]
    v0, v1 = training.layer_norms(first), training.layer_norms(last)
    series = [f"step {first['step']}"] + ([f"step {last['step']}"] if len(history) > 1 else [])
    rows = [
        {"layer": i + 1, series[0]: a, **({series[1]: v1[i]} if len(series) > 1 else {})}
        for i, a in enumerate(v0)
    ]
    return rows, series


def counterpart_gap(cfg: dict, X, y) -> float | None:
    """Layer 1's norm below the last layer's, in decades, at step 0 (one backward over (X, y),
    as the chart's step 0) for the counterpart network (``_without``); None without one."""
    other = _without(cfg)
    if other is None:
        return None
    run = training.Run(build(cfg, **other[1]), None, X, y, X[:0], y[:0], 1)
    run.norms_from_start = True
    return gap(training.layer_norms(run.initial_norms()))


def comparison(cfg: dict, step0: list[float], other_gap: float | None) -> str:
    """One sentence comparing the chart's step 0 (``step0``: its norms, layer 1 first) with the
    counterpart network's at its step 0."""
    other, here = _without(cfg), gap(step0)
    if other is None or other_gap is None or here is None:
        return ""
    return (
        f"At step 0, before any update, layer 1's norm lies {_gap_text(here)} layer "
        f"{len(step0)}'s here; in the same network {other[0]} (same seed, same data), "
        f"{_gap_text(other_gap)} layer {len(step0)}'s."
    )


def _gap_text(d: float) -> str:
    if abs(d) < 0.05:
        return "level with"
    return f"{abs(d):.1f} decade{'s' if abs(d) >= 1.05 else ''} {'below' if d > 0 else 'above'}"


# what the structure does to the backward pass: facts of the maths, whatever the chart shows
FACTS = {
    "batch_norm": "Batch norm divides each hidden unit by its batch's standard deviation σ_B, "
    "so its backward multiplies by γ/σ_B what is left of the gradient once its batch mean and "
    "its part along x̂ are taken out (the compact form on the Normalisation page; γ/σ_B times "
    "the whole gradient is the mistake shown there): where small weights shrank the signal "
    "going forward, that 1/σ_B grows the gradient going back.",
    "residual": "A residual block y = x + f(x) sends back ∂L/∂x = ∂L/∂y (I + J_f) = ∂L/∂y + "
    "∂L/∂y·J_f (rows, as in note 002): the identity path passes the gradient on unchanged, "
    "whatever σ′ does on the other.",
}


def has_residual(cfg: dict) -> bool:
    """Whether the network has residual blocks: the toggle on, and a hidden layer to wrap."""
    return bool(cfg["residual"] and training.residual_blocks(sizes(cfg)))


def facts(cfg: dict) -> str:
    res = has_residual(cfg)
    return " ".join(
        FACTS[k] for k, on in (("batch_norm", cfg["batch_norm"]), ("residual", res)) if on
    )
