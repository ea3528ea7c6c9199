"""The "Attention, trained" page: a tiny transformer layer learning to reverse (or sort) short
sequences live — Step, Train, Stop and Reset as on the MLP page (``ui.mlp_view``), its loss and
accuracy curves, and the attention map P of one sequence redrawn as it learns, the cells where
the right token sits outlined, so that the learner sees P become the permutation. The model and
data are ``ui.seq_training``; the backward pass below is ``ui.attention_backward``."""

from __future__ import annotations

import numpy as np
import streamlit as st

from ui import charts, training
from ui import seq_training as T
from ui.figures import split_px, svg_ui
from ui.svg import Look, matrix_svg
from ui.widgets import ignored_ui

PAGE = "pages/attention_trained.py"
TICK = 0.3  # s between live redraws
# s a redraw may train, at most: its steps (~1 ms each on a quiet machine) fit in a fraction of
# it; on a busy one they took 10-20 ms each, and a budget of TICK/2 cut each redraw to 10-15
# steps, so reaching 95 % took 15 redraws instead of 5. The progress bar's updates between
# steps are where a click on Stop breaks in, so Stop still lands within a few steps.
BUDGET = 1.0
MIN_PER_TICK = 10
ARCH = ("task", "length", "vocab", "dim", "n_train", "seed")
RESTARTS = "Task, length, vocabulary, training sequences, embedding size and seed start a new model"
DEFAULTS = {**T.DEFAULTS, "steps": 500, "example": 1, "seq": ""}
GOAL = 0.95  # the page's target: this fraction of held-out sequences right, every token


def k(name: str) -> str:
    return f"{PAGE}/train/{name}"


def _first_visit() -> None:
    """Seed the settings from the link once; a value that is not valid keeps its default and is
    named in a notice."""
    ss = st.session_state
    if ss.get(k("init")):
        return
    found, ss[k("notices")] = T.decode_settings(dict(st.query_params))
    for name, v in DEFAULTS.items():
        ss.setdefault(k(name), found.get(name, v))
    ss[k("init")] = True


def settings_ui() -> dict:
    """The sidebar. Returns the settings as set (they may not fit together: see ``valid``)."""
    _first_visit()
    with st.sidebar:
        st.header("Task")
        st.radio("Task", list(T.TASKS), format_func=T.TASKS.get, horizontal=True, key=k("task"))
        st.slider("Sequence length L", 5, 8, key=k("length"))
        st.slider("Vocabulary (tokens 0 to V − 1)", 4, 10, key=k("vocab"))
        st.slider("Training sequences", 200, 5000, step=T.N_TRAIN_STEP, key=k("n_train"))
        st.number_input("Seed", 0, 9999, key=k("seed"), help="The sequences and first weights.")
        st.header("Model")
        st.select_slider("Embedding size d", [int(v) for v in T.DIMS], key=k("dim"))
        st.caption(
            "token embedding + learned position → one head of self-attention → linear read-out "
            "per position → softmax over the vocabulary"
        )
        st.header("Training (Adam)")
        st.select_slider("Learning rate α", [float(v) for v in T.RATES], key=k("lr"))
        st.select_slider("Batch size", [int(v) for v in T.BATCHES], key=k("batch"))
        st.select_slider("Steps per Train", [int(v) for v in T.TRAIN_STEPS], key=k("steps"))
        st.caption(f"{RESTARTS}; α and batch size keep the trained weights.")
    return {name: st.session_state[k(name)] for name in DEFAULTS}


def valid(cfg: dict) -> dict:
    """The settings if they fit together; else an error saying what to change, and the settings
    with the length, vocabulary and training sequences that last fitted (the defaults' before
    any), so the page goes on with the learner's task, model and training settings."""
    ss = st.session_state
    sizes = ("length", "vocab", "n_train")
    try:
        T.check_sizes(*(cfg[n] for n in sizes))
    except ValueError as exc:
        good = ss.get(k("good"), DEFAULTS)
        words = ("length", "vocabulary", "training sequences")
        kept = ", ".join(f"{w} {good[n]:,}" for w, n in zip(words, sizes, strict=True))
        st.error(f"{exc} Meanwhile the page uses {kept}.", icon=":material/error:")
        return {**cfg, **{n: good[n] for n in sizes}}
    ss[k("good")] = cfg
    return cfg


def url_of() -> dict[str, str]:
    """The URL of the settings as the learner set them (a link reproduces the page, an error
    included)."""
    return T.encode_settings({name: st.session_state[k(name)] for name in DEFAULTS})


def notices_ui() -> None:
    ignored_ui(st.session_state.pop(k("notices"), []))


def current_run(cfg: dict) -> T.SeqRun:
    """The run in session state; a new one when the task, the data or the model changed."""
    ss = st.session_state
    arch = tuple(cfg[n] for n in ARCH)
    old = ss.get(k("run"))
    if old is None or ss.get(k("arch")) != arch:
        if old is not None and old.steps:
            st.toast(f"A new model, from step 0: {RESTARTS[0].lower()}{RESTARTS[1:]}.")
        ss[k("run")], ss[k("arch")], ss[k("running")] = T.new_run(cfg), arch, False
    run = ss[k("run")]
    training.retune(run, "adam", cfg["lr"], cfg["batch"])
    return run


# ---------------------------------------------------------------- the example to follow


def example_ui(run: T.SeqRun, cfg: dict) -> tuple[np.ndarray, str]:
    """The sequence whose attention map and backward pass the page shows: a held-out one by its
    number, or one the learner types (a typing mistake is an error saying what to change; the
    held-out one is shown meanwhile). Returns the tokens and how to name them."""
    left, right = st.columns([1, 2])
    n = left.number_input("Held-out example", 1, T.N_TEST, key=k("example"))
    text = right.text_input(
        "…or type your own sequence",
        key=k("seq"),
        max_chars=T.MAX_TYPED,
        placeholder=f"{cfg['length']} tokens from 0 to {cfg['vocab'] - 1}, e.g. "
        + " ".join(str(t) for t in run.Xt[0]),
        help="Empty: the held-out example on the left.",
    )
    held_out = run.Xt[int(n) - 1], f"held-out example {int(n)}"
    if not text.strip():
        return held_out
    try:
        tokens = T.parse_sequence(text, cfg["length"], cfg["vocab"])
    except ValueError as exc:
        st.error(f"{exc} Meanwhile the page shows {held_out[1]}.", icon=":material/error:")
        return held_out
    seen = bool((run.X == tokens).all(axis=1).any())
    return tokens, "your sequence" + (" (one of the training sequences)" if seen else "")


# ---------------------------------------------------------------- Step, Train, Stop, Reset


def _step() -> None:
    run = st.session_state[k("run")]
    with run.lock:
        run.step()
        run.record()
    st.session_state[k("stopped")] = True  # the backward pass below follows this step too


def _train() -> None:
    run = st.session_state[k("run")]
    st.session_state[k("running")] = True
    goal = run.steps + st.session_state[k("steps")]
    st.session_state[k("pace")] = training.Pace(run.steps, goal)


def _stop() -> None:
    st.session_state[k("running")] = False
    st.session_state[k("stopped")] = True


def _reset() -> None:
    st.session_state[k("run")] = None
    st.session_state[k("pace")] = None


def controls_ui(running: bool, steps: int) -> None:
    c = st.columns([1, 1, 1, 4])
    c[0].button(
        ":material/skip_next: Step",
        on_click=_step,
        disabled=running,
        width="stretch",
        key=k("step"),
        help="One minibatch step of Adam; the attention map below redraws.",
    )
    if running:
        c[1].button(":material/stop: Stop", on_click=_stop, width="stretch", key=k("stop"))
    else:
        c[1].button(
            ":material/play_arrow: Train",
            on_click=_train,
            width="stretch",
            key=k("trainbtn"),
            help=f"Train live for {steps:,} steps (Steps per Train), redrawn about "
            f"{T.TICKS_PER_TRAIN} times; the bar says how long it is taking.",
        )
    c[2].button(
        ":material/restart_alt: Reset",
        on_click=_reset,
        width="stretch",
        key=k("reset"),
        help="New random weights (the seed's), from step 0.",
    )


def status(run: T.SeqRun) -> str:
    last = run.history[-1]
    text = (
        f"step {run.steps:,} · epoch {run.epochs:.1f} · held-out: "
        f"{last['test sequence accuracy']:.1%} of {len(run.yt)} sequences right (every token), "
        f"{last['test token accuracy']:.1%} of tokens · training steps so far took "
        f"{run.seconds:.1f} s"
    )
    first = run.reached(GOAL)
    if first is not None:
        text += (
            f" · {GOAL:.0%} of held-out sequences first right at step {first['step']:,}, after "
            f"{first['seconds']:.1f} s of training steps"
        )
    return text


def _per_tick(pace: training.Pace) -> int:
    return max(MIN_PER_TICK, round((pace.goal - pace.start) / T.TICKS_PER_TRAIN))


def _tick(run: T.SeqRun, pace: training.Pace) -> None:
    """Train for part of a tick, the bar saying how long it is taking; at the goal, stop and
    redraw the whole page once (the backward pass below follows the trained model)."""
    bar = st.empty()

    def show() -> None:  # each update is also where a click on Stop breaks in
        left = pace.left_text(run.steps)
        done = min(1.0, (run.steps - pace.start) / max(pace.goal - pace.start, 1))
        bar.progress(done, text=f"training: step {run.steps:,} of {pace.goal:,.0f} · {left}")

    show()
    end = min(pace.goal, run.steps + _per_tick(pace))
    run.train_for(BUDGET, until_step=end, every=T.SCORE_EVERY, between=show)
    if run.steps >= pace.goal:
        pace.finish()
        st.session_state[k("running")] = False
        st.rerun(scope="app")


def board_ui(cfg: dict, tokens: np.ndarray, name: str) -> None:
    """The buttons and everything they change — status, curves, the attention map — in one
    fragment, whose part below the buttons trains and redraws itself every tick while training
    (the buttons stay put, so Stop always lands; as ``ui.mlp_view.board_ui``)."""

    @st.fragment
    def board():
        ss = st.session_state
        running = ss.get(k("running"), False)
        controls_ui(running, cfg["steps"])
        if running:
            _ticking(cfg, tokens, name)
        else:
            _live(cfg, tokens, name)
            # after Stop or Step, the backward pass below follows the model as it now is
            if ss.pop(k("stopped"), False):
                st.rerun(scope="app")

    board()


def _live(cfg: dict, tokens: np.ndarray, name: str) -> None:
    ss = st.session_state
    run = current_run(cfg)
    pace = ss.get(k("pace"))
    if ss.get(k("running")) and pace is not None:
        _tick(run, pace)
    elif pace is not None:
        pace.finish()
        st.caption(f"The last Train: {pace.summary(run.steps)}.")
    st.caption(status(run))
    _curves(run)
    attention_ui(run, cfg["task"], tokens, name)


_ticking = st.fragment(run_every=TICK)(_live)


def _curves(run: T.SeqRun) -> None:
    h = run.history
    left_px, right_px = split_px([1, 1])
    left, right = st.columns(2)
    with left:
        svg_ui(charts.line_chart(h, ["train loss", "test loss"], "Loss", width=left_px), k("loss"))
    with right:
        series = ["test sequence accuracy", "test token accuracy", "train sequence accuracy"]
        acc = charts.line_chart(
            h, series, "Accuracy (test: held-out)", width=right_px, percent=True
        )
        svg_ui(acc, k("acc"))


# ---------------------------------------------------------------- the attention map


def map_svg(p: np.ndarray, tokens, target, cells, title: str, room: int) -> str:
    """P as a grid: a row per output position (its target token on the left), a column per
    input position (its token on top), every weight printed, the right cells outlined."""
    n = len(tokens)
    px = max(34, min(44, (room - 120) // n))  # the drawing is scaled up with the column
    names = [
        [
            f"output {i + 1} (target {target[i]}) takes from input {j + 1} (token {tokens[j]})"
            for j in range(n)
        ]
        for i in range(n)
    ]
    look = Look(
        palette="blues",
        zmax=1.0,
        px=px,
        texts=[[f"{v:.2f}" for v in row] for row in p],
        row_ticks=[str(t) for t in target],
        col_ticks=[str(t) for t in tokens],
        x_title="input tokens (keys)",
        y_title="target tokens (queries)",
        colorbar=True,
    )
    return matrix_svg(p, title, names, highlight=cells, look=look, max_width=room)[0]


def attention_ui(run: T.SeqRun, task: str, tokens: np.ndarray, name: str) -> None:
    with run.lock:
        p, pred = T.attention_map(run.model, tokens)
    target = T.targets(task, tokens[None])[0]
    cells = T.right_cells(task, tokens)
    mass = T.mass_on(p, cells)
    left_px, _ = split_px([3, 2])
    left, right = st.columns([3, 2])
    title = f"P = softmax(QKᵀ/√d) of {name}, step {run.steps:,}"
    with left:
        svg_ui(map_svg(p, tokens, target, cells, title, left_px), k("map"))
    with right:
        st.markdown(_readout(tokens, target, pred))
        st.markdown(_mass_text(mass, task))
        if task == "sort":
            st.caption(SORT_LIMIT)


# why one layer sorts less well than it reverses: a fact about the architecture, not a reading
# of the curves (which show how far it gets)
SORT_LIMIT = (
    "Sorting is harder for one attention layer than reversing: each key is computed from one "
    "token and its position alone, so no key knows its rank among the others. A query can only "
    "prefer token values (output 1 the small ones, output L the large ones), which finds the "
    "i-th smallest in typical sequences but not in all; the accuracy curves show how far that "
    "gets."
)


def _readout(tokens, target, pred) -> str:
    wrong = pred != target
    out = " ".join(f":red[**{t}**]" if w else str(t) for t, w in zip(pred, wrong, strict=True))
    verdict = (
        ":green[every token right]"
        if not wrong.any()
        else f":red[{int(wrong.sum())} token{'s' if wrong.sum() > 1 else ''} wrong]"
    )
    return (
        f"input: {' '.join(map(str, tokens))}  \ntarget: {' '.join(map(str, target))}  \n"
        f"output: {out} — {verdict}"
    )


def _mass_text(mass: np.ndarray, task: str) -> str:
    where = (
        "input position L + 1 − i"
        if task == "reverse"
        else "the input positions holding the i-th smallest token"
    )
    rows = ", ".join(f"{m:.0%}" for m in mass)
    return (
        f"Outlined: where output position i should look ({where}). Weight each row puts there: "
        f"{rows} (mean {mass.mean():.0%}). Row i of P sums to 1, and output i = Σⱼ Pᵢⱼ vⱼ: a "
        "row with all its weight on an outlined cell outputs that input's value vector vⱼ, "
        "from which the read-out has only to name the token."
    )
