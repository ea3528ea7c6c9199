"""The MLP page's training half: a 2-D dataset, a network, one step at a time or trained live,
its decision boundary, curves and per-layer gradient norms. The symbolic half is the generic
lesson section (ui/lesson.py) of the "mlp" op."""

from __future__ import annotations

import numpy as np
import streamlit as st

from engine import datasets, nn
from ui import charts, mlp_deep, training
from ui.figures import column_px, split_px, svg_ui
from ui.layout import Layout
from ui.mlp_settings import (  # the sidebar; the page reads them here
    DEFAULTS,
    PAGE,
    RESTARTS,
    k,
)
from ui.state import Keys
from ui.svg import Look, matrix_svg
from ui.urlstate import parse_sizes

STEPS_PER_TRAIN = 1500  # "Train" stops by itself after this many steps: no tab trains forever
TICK = 0.3  # s between live redraws; each trains for about half of it at most
STEPS_PER_TICK = 40  # so a Train of 1,500 steps runs about 12 s
# what one step does to a weight, per optimiser: Adam moves each weight by about α whatever its
# gradient, so "W − α·dW" beside Adam's numbers contradicted them
UPDATE = {
    "sgd": ("W := W − α·∂L/∂W", ""),
    "adam": (
        "W := W − α·m̂/(√v̂ + ε)",
        "m̂ and v̂ are running means of ∂L/∂W and of its square, so each weight moves by "
        "about α, whatever the size of its gradient",
    ),
}

sizes = mlp_deep.sizes
ARCHITECTURE = ("dataset", "n", "noise", "seed", *mlp_deep.NETWORK)


def _architecture(cfg: dict) -> tuple:
    return tuple(cfg[n] for n in ARCHITECTURE)


def new_run(cfg: dict) -> training.Run:
    X, y = datasets.make_2d(cfg["dataset"], cfg["n"], cfg["noise"], cfg["seed"])
    train, test = datasets.train_test_split(len(y), 0.2, cfg["seed"])
    model = mlp_deep.build(cfg)
    opt = training.make_optimiser(model, cfg["optimiser"], cfg["lr"])
    run = training.Run(model, opt, X[train], y[train], X[test], y[test], cfg["batch"], cfg["seed"])
    run.norms_from_start = True
    run.record()
    return run


def current_run(cfg: dict) -> training.Run:
    """The run in session state; a new one when the data or the architecture changed. The
    learning rate, optimiser and batch size change in place, keeping the trained weights."""
    ss = st.session_state
    old = ss.get(k("run"))
    if old is None or ss.get(k("arch")) != _architecture(cfg):
        if old is not None and old.steps:
            st.toast(f"A new network, from step 0: {RESTARTS[0].lower()}{RESTARTS[1:]}.")
        ss[k("run")], ss[k("arch")] = new_run(cfg), _architecture(cfg)
        ss[k("running")], ss[k("last")] = False, None
        run = ss[k("run")]
        ss[k("other_gap")] = mlp_deep.counterpart_gap(cfg, run.X, run.y)
    run = ss[k("run")]
    training.retune(run, cfg["optimiser"], cfg["lr"], cfg["batch"])
    return run


def _step() -> None:
    run = st.session_state[k("run")]
    with run.lock:
        st.session_state[k("last")] = training.one_step(run)
        run.record()


def _train() -> None:
    run = st.session_state[k("run")]
    st.session_state[k("running")] = True
    goal = run.steps + STEPS_PER_TRAIN
    st.session_state[k("pace")] = training.Pace(run.steps, goal)
    st.session_state[k("last")] = None  # what Step showed is about to be many steps old


def _stop() -> None:
    st.session_state[k("running")] = False


def _reset() -> None:
    st.session_state[k("run")] = None
    st.session_state[k("pace")] = None


def controls_ui(running: bool, blocked: bool = False) -> None:
    c = st.columns([1, 1, 1, 4])
    c[0].button(
        ":material/skip_next: Step",
        on_click=_step,
        disabled=running or blocked,
        width="stretch",
        key=k("step"),
        help=f"One minibatch, in every layer: {UPDATE[_optimiser()][0]}.",
    )
    if running:
        c[1].button(":material/stop: Stop", on_click=_stop, width="stretch", key=k("stop"))
    else:
        c[1].button(
            ":material/play_arrow: Train",
            on_click=_train,
            disabled=blocked,
            width="stretch",
            key=k("trainbtn"),
            help=f"Train live for {STEPS_PER_TRAIN:,} steps, {STEPS_PER_TICK} between redraws; "
            "the bar says how long it is taking.",
        )
    c[2].button(
        ":material/restart_alt: Reset",
        on_click=_reset,
        width="stretch",
        key=k("reset"),
        help="New random weights (the seed's).",
    )


def _optimiser() -> str:
    return st.session_state.get(k("optimiser"), DEFAULTS["optimiser"])


def status(run: training.Run) -> str:
    last = run.history[-1]
    return (
        f"step {run.steps} · epoch {run.epochs:.1f} · train accuracy "
        f"{last['train accuracy']:.0%} of {len(run.y)} points · test accuracy "
        f"{last['test accuracy']:.0%} of {len(run.yt)}"
    )


def _tick(run: training.Run, pace: training.Pace) -> None:
    """Train for part of a tick, the bar saying how long it is taking; at the goal, stop and
    redraw the whole page once."""
    bar = st.empty()

    def show() -> None:  # each update is also where a click on Stop breaks in
        left = pace.left_text(run.steps)
        done = min(1.0, (run.steps - pace.start) / max(pace.goal - pace.start, 1))
        bar.progress(done, text=f"training: step {run.steps:,} of {pace.goal:,.0f} · {left}")

    show()
    # a few steps a redraw, not as many as fit: an MLP step takes ~0.1 ms, and the whole run
    # would be over in the first tick, too fast to watch the boundary form or to press Stop
    end = min(pace.goal, run.steps + STEPS_PER_TICK)
    run.train_for(TICK / 2, until_step=end, every=5, between=show)
    if run.steps >= pace.goal:
        pace.finish()
        st.session_state[k("running")] = False
        st.rerun(scope="app")


def board_ui(cfg: dict) -> None:
    """Step, Train, Stop and Reset with everything they change — the status, the boundary, the
    curves and what the last step did — in one fragment: a click reruns only this, not the
    lesson below. While training, the part below the buttons is a fragment of its own that
    trains and redraws itself every tick; the buttons stay put, so a click on Stop always lands,
    and Stop reruns the outer fragment, which no longer draws the ticking one (Streamlit then
    cancels its ticks)."""

    @st.fragment
    def board():
        problem = mlp_deep.problem(cfg)
        if problem:  # nothing can train: say what to change, keep the rest, draw step 0 on
            st.session_state[k("running")] = False
            st.error(problem, icon=":material/block:")
        running = st.session_state.get(k("running"), False)
        controls_ui(running, blocked=bool(problem))
        if running:
            _ticking(cfg)
        else:
            _live(cfg)

    board()


def _live(cfg: dict) -> None:
    ss = st.session_state
    run = current_run(cfg)
    pace = ss.get(k("pace"))
    if ss.get(k("running")) and pace is not None:
        _tick(run, pace)
    elif pace is not None:
        pace.finish()
        st.caption(f"The last Train: {pace.summary(run.steps)}.")
    st.caption(status(run))  # here, not beside the buttons: it follows the training
    _pictures(run)
    with st.expander("What the last step changed", expanded=bool(ss.get(k("last")))):
        step_view_ui()


_ticking = st.fragment(run_every=TICK)(_live)


def _shape(a: np.ndarray) -> str:
    return "×".join(map(str, a.shape))


def _pictures(run: training.Run) -> None:
    left_px, right_px = split_px([5, 4])
    left, right = st.columns([5, 4])
    with left:
        X = np.concatenate([run.X, run.Xt])
        y = np.concatenate([run.y, run.yt])
        with run.lock:
            xs, ys, prob = training.decision_grid(run.model, X)
        title = f"Decision boundary after {run.steps} step{'' if run.steps == 1 else 's'}"
        svg_ui(charts.boundary(xs, ys, prob, X, y, title, width=left_px), k("boundary"))
    h = run.history
    with right:
        loss = charts.line_chart(h, ["train loss", "test loss"], "Loss", width=right_px)
        svg_ui(loss, k("loss"))
        acc = charts.line_chart(
            h, ["train accuracy", "test accuracy"], "Accuracy", width=right_px, percent=True
        )
        svg_ui(acc, k("acc"))
    norms_ui(run)


def norms_ui(run: training.Run) -> None:
    """The per-layer gradient norms from step 0, and what they show, computed from them."""
    h, ss = run.history, st.session_state
    layers = [n for n in h[0] if n.startswith("layer ")]
    left_px, right_px = split_px([1, 1])
    left, right = st.columns(2)
    with left:  # the vanishing gradient as a slope: one line across the layers
        rows, series = mlp_deep.by_layer(h)
        title = "‖∂L/∂W‖ layer by layer (log scale)"
        across = charts.line_chart(
            rows, series, title, x="layer", log=True, width=left_px, latest=False
        )
        svg_ui(across, k("across"))
    with right:
        title = "Gradient norm ‖∂L/∂W‖ per layer (log scale)"
        norms = charts.line_chart(h, layers, title, log=True, width=right_px)
        svg_ui(norms, k("norms"))
    cfg = ss.get(k("cfg"), DEFAULTS)
    first = next(m for m in training.modules(run.model) if isinstance(m, nn.Linear))
    st.caption(
        training.norms_caption(
            h,
            _activation(),
            _optimiser(),
            first.params["weight"].size,
            residual=mlp_deep.has_residual(cfg),
        )
    )
    story = mlp_deep.comparison(cfg, training.layer_norms(h[0]), ss.get(k("other_gap")))
    how = (
        "Step 0 is one backward pass over the whole training set before any update; each later "
        "point, the minibatch of that step."
    )
    st.caption(" ".join(filter(None, [how, story, mlp_deep.facts(cfg)])))


def _activation() -> str:
    return st.session_state.get(k("activation"), DEFAULTS["activation"])


def _names(title: str, shape: tuple) -> list[list[str]]:
    """Cell names for the tooltips: W⁽²⁾ row 1, column 3."""
    rows, cols = shape
    return [[f"{title} row {r + 1}, column {c + 1}" for c in range(cols)] for r in range(rows)]


def step_view_ui() -> None:
    """What the last Step did to every weight array: W, its gradient, and the change, side by
    side while three fit the column (they wrap below each other when not)."""
    last = st.session_state.get(k("last"))
    rule = ", where ".join(filter(None, UPDATE[_optimiser()]))
    if not last:
        st.caption(f"Press **Step** to see one update, layer by layer: {rule}.")
        return
    st.caption(f"The update: {rule}.")
    layout = Layout(column_px() - 40)  # the expander's padding
    room = (layout.main - 2 * 16) // 3
    bar = Look(colorbar=True)  # Adam's ΔW is ±α nearly everywhere: the bar says how much
    labels = mlp_deep.param_labels(st.session_state[k("run")].model)
    for i, arr in enumerate(last):
        kind, layer = labels[arr["name"]]
        shape = np.atleast_2d(arr["before"]).shape
        st.markdown(
            f"**{kind}{_l(layer)}**, shape {_shape(arr['before'])}: ∂L/∂{kind} and Δ{kind} have "
            "its shape"
        )
        with st.container(horizontal=True, gap="medium", vertical_alignment="top"):
            for key, name in (("before", kind), ("grad", f"∂L/∂{kind}"), ("change", f"Δ{kind}")):
                title = f"{name}{_l(layer)}"
                svg, _ = matrix_svg(
                    np.atleast_2d(arr[key]),
                    title,
                    _names(title, shape),
                    budget=180,
                    max_width=room,
                    scale=layout.scale,
                    look=bar,
                )
                svg_ui(svg, k(f"step/{i}/{key}"))


_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _l(layer: int) -> str:
    return f"⁽{str(layer).translate(_SUP)}⁾"


# ---------------------------------------------------------------- the lesson below, in step

LESSON = Keys(PAGE)  # the lesson section's own settings ("Settings of the small instance")
MAX_HIDDEN, MAX_UNITS = 3, 4  # the largest network the lesson writes out (derivations.network)


def lesson_sizes(cfg: dict) -> tuple[int, ...]:
    """The network above at the lesson's size: as it is where it fits (3 hidden layers of 4
    units at most), else with fewer layers or units."""
    return (2, *[min(cfg["width"], MAX_UNITS)] * min(cfg["hidden"], MAX_HIDDEN), 2)


def follow_ui(cfg: dict) -> None:
    """Whenever the network above changes, set the lesson's layer sizes and activation to it
    (what the learner sets below stays until then). A link that sets the lesson's own is
    followed on its first visit instead."""
    ss = st.session_state
    arch = (cfg["hidden"], cfg["width"], cfg["activation"])
    if ss.get(k("lesson_for")) == arch:
        return
    linked = LESSON.init not in ss and {"layer_sizes", "activation"} & set(st.query_params)
    if not linked:
        ss[LESSON.param("layer_sizes")] = ", ".join(map(str, lesson_sizes(cfg)))
        ss[LESSON.param("activation")] = cfg["activation"]
    ss[k("lesson_for")] = arch


def _arrow(sizes) -> str:
    return " → ".join(map(str, sizes))


def lesson_relation(cfg: dict) -> str:
    """How the lesson below relates to the network above, read from both; with batch norm or
    residual connections above, that the lesson derives the plain chain without them."""
    extras = [
        name
        for name, on in (
            ("batch norm", cfg.get("batch_norm")),
            ("residual connections", cfg.get("residual") and training.residual_blocks(sizes(cfg))),
        )
        if on
    ]
    if not extras:
        return _relation(cfg)
    them = " and ".join(extras)
    return (
        f"{_relation(cfg)} The network above has {them}; the lesson derives the plain MLP "
        f"chain, without {'them' if len(extras) > 1 else 'it'} (the Normalisation page derives "
        f"{them} on {'their' if len(extras) > 1 else 'its'} own)."
    )


def _relation(cfg: dict) -> str:
    """The lesson against the network above, sizes and activation."""
    ss = st.session_state
    text = ss.get(LESSON.param("layer_sizes"), st.query_params.get("layer_sizes", "2, 3, 2"))
    lesson, act = parse_sizes(text), ss.get(LESSON.param("activation"), "sigmoid")
    above, act_above = sizes(cfg), cfg["activation"]
    net = f"{_arrow(above)} with {act_above}"
    if lesson == above and act == act_above:
        return f"Below, the network trained above ({net}) written out by hand, with its own small numbers."
    if lesson == lesson_sizes(cfg) and act == act_above:
        return (
            f"Below, the network trained above ({net}) at a size whose every weight can be "
            f"written out: {_arrow(lesson)}, the same activation (at most {MAX_HIDDEN} hidden "
            f"layers of {MAX_UNITS} units here), with its own small numbers."
        )
    # the learner's text is not echoed (a caption is Markdown): unreadable sizes are named so
    mine = f"{_arrow(lesson)} with {act}" if lesson else f"sizes that are not valid, with {act}"
    return (
        f"Below, a separate toy network, {mine}, not the one trained above ({net}): its "
        "settings were changed under Settings of the small instance. Changing the network above "
        "brings the lesson back in step with it."
    )
