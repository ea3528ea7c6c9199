"""Derivations at the extremes (the lessons as a new user finds them).

Every setting the lessons offer (every combination of the ends of each widget's range) derives,
proves its patterns, and renders: each step within KaTeX's budget of macro expansions, long
lists of maxima wrapped to the column, readable sentences. derive()'s caps sit above what the
lessons offer and take their heaviest settings; hostile sizes are refused up front with the
limit in the message. How long any of this takes is measured in bench/bounds.py, never here.
"""

import re

import numpy as np
import pytest
import sympy as sp

from bench.extremes import REJECTED, cap_extremes, registry_extremes
from derivations import WORK, derive, work
from derivations.__main__ import main as cli
from derivations.katex import BUDGET, MAX_EXPAND, expansions
from derivations.params import MAX_WORK, TooBig
from derivations.typeset import (
    FRACTION_ROW_GAP,
    LINE_WIDTH,
    ROW_GAP,
    Typeset,
    tex_width,
    visible_len,
)
from tests.test_derivations import assert_katex_safe
from ui.layout import FULL_UNITS
from ui.registry import OPS

try:
    LESSONS, PAST_A_BOUND = registry_extremes(), None
except TooBig as exc:  # a widget offers what derive() refuses: test_no_widget_... says so
    LESSONS, PAST_A_BOUND = [], str(exc)
CAPS = cap_extremes()
# sentences built from sizes that read wrong: '1 outputs', 'the other 0', '0×0 zeros', 'a 8×8' …
BAD_TEXT = re.compile(
    r"\b1 (outputs|inputs|samples|features|entries|terms|cells|windows|rows|columns|zeros)\b"
    r"|\b(the|all|other) 0 \w|\bthe 1 that|\b0×0\b|-\d+ (rows|columns|zeros)|\bof its 1 cell"
    r"|\b[Aa] (8\d*|11|18)×"
)


def _ids(case) -> str:
    op, params = case
    return op + "-" + "-".join(f"{k}={v}" for k, v in params.items()).replace(" ", "")


def check_lesson(op: str, params: dict):
    """The derivation's checks hold; every step (and the explorer's chain rule with numbers) is
    KaTeX-safe, within KaTeX's budget and reads right; the work counted up front is the work
    built."""
    d = derive(op, **params)
    assert all(ok for _, ok in d.checks), d.checks
    for s in d.steps:
        assert_katex_safe(s.latex)
        assert expansions(s.latex) <= BUDGET, (s.title, expansions(s.latex))
        assert not BAD_TEXT.search(s.text), (s.title, s.text)
    if op in WORK:
        assert work(op, **params) == sum(len(outs) for e in d.jac.values() for outs in e.values())
    if op in OPS:  # the explorer's chain rule with numbers, for the entry with the most terms
        ones = {n: np.ones(m.shape) for n, m in d.inputs.items()}
        for name, entries in d.jac.items():
            busiest = max(entries, key=lambda i: len(entries[i]), default=None)
            if busiest is not None:
                tex = d.chain_rule(name, busiest, ones, None, width=FULL_UNITS)
                assert expansions(tex) <= BUDGET, (name, busiest, expansions(tex))
    return d


def test_no_widget_reaches_past_a_bound_of_derive():
    assert PAST_A_BOUND is None, PAST_A_BOUND
    assert len(LESSONS) > 200  # every op, at every corner of its widgets


@pytest.mark.parametrize("case", LESSONS, ids=[_ids(c) for c in LESSONS])
def test_every_setting_the_lessons_offer_derives_and_renders(case):
    check_lesson(*case)


@pytest.mark.parametrize("case", CAPS, ids=[_ids(c) for c in CAPS])
def test_derive_takes_the_heaviest_settings_its_caps_allow(case):
    """A few seconds in all: the heaviest convolutions and pools under the caps (found by
    counting, bench/extremes.py), the largest dense layer, MLP and CNN."""
    check_lesson(*case)


@pytest.mark.parametrize("op,params,fragment", REJECTED, ids=[r[0] for r in REJECTED])
def test_hostile_sizes_are_refused_with_the_limit_in_the_message(op, params, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)) as info:
        derive(op, **params)
    assert re.search(r"\b(\d+|\d{1,3}(,\d{3})+)\b", str(info.value))  # the bound, in figures


def test_the_work_cap_counts_the_products_before_building_them():
    with pytest.raises(TooBig, match=f"33,393 partial derivatives, more than {MAX_WORK:,}") as e:
        derive("conv2d", input_shape=(16, 16), kernel_shape=(8, 8), padding=8)
    assert "a 16×16 input and an 8×8 kernel, with 25×25 outputs" in str(e.value)
    assert work("conv2d", input_shape=(16, 16), kernel_shape=(6, 6), padding=4) < MAX_WORK


@pytest.mark.parametrize("width", [0, -5, 10**9, 2.5, "wide", None])
def test_a_column_width_derive_cannot_typeset_for_is_refused(width):
    with pytest.raises(ValueError, match="line_width must be a whole number from 8 to 400"):
        derive("conv2d", line_width=width)


def test_the_narrowest_column_still_keeps_every_step_within_katex_budget():
    for s in derive("conv2d", input_shape=(16, 16), kernel_shape=(6, 6), line_width=8).steps:
        assert expansions(s.latex) <= BUDGET, s.title


def test_the_command_line_refuses_padding_1000_in_one_line(capsys):
    argv = ["conv2d", "--input", "3x3", "--kernel", "2x2", "--padding", "1000"]
    assert cli(argv) == 2
    err = capsys.readouterr().err
    assert err == "error: conv2d: padding 1000 is more than 8, the largest this derivation takes.\n"


# ---------------------------------------------------------------- KaTeX's expansion budget


def test_the_estimate_counts_katex_macros_and_nothing_else():
    assert expansions(r"\frac{a}{b} \dfrac{a}{b} \cancel{x} \underbrace{x}_{=1} \text{a b}") == 0
    assert expansions(r"\quad \qquad \cdots \vdots") == 4
    assert expansions(r"x \, y \; z \! w \\ \operatorname{avg}") == 12
    assert expansions(r"\Set{x}") == 25  # a macro not listed: charged the most any costs


def test_the_16x16_kernel_gradients_fit_katex_where_they_once_took_1317_expansions():
    d = derive("conv2d", input_shape=(16, 16), kernel_shape=(6, 6))
    step = next(s for s in d.steps if s.title == "Every entry of ∂L/∂K")
    assert expansions(step.latex) <= BUDGET < MAX_EXPAND
    assert r"\cdots" in step.latex and r"\text{(121 terms)}" in step.latex
    assert r"\vdots \quad \text{(" in step.latex  # and not every entry is listed


# ---------------------------------------------------------------- fitting the column


def test_a_sum_is_elided_only_where_that_saves_lines():
    t = Typeset()
    parts = [f"a_{{{i}}}" for i in range(100)]
    lines = t.sum_lines(parts, 3)
    assert len(lines) == 3 and r"\cdots + a_{99}" in lines[-1] and "(100 terms)" in lines[-1]
    assert len(t.sum_lines(parts[:18], 3)) == 5  # five lines stay: eliding would save two


def test_matrices_of_fractions_leave_room_between_their_rows():
    t = Typeset()
    dz = derive("conv2d").upstream
    assert rf"\\[{FRACTION_ROW_GAP}]" in t.bmatrix(dz)
    assert rf"\\[{ROW_GAP}]" in t.bmatrix(sp.Matrix([[1, 2], [3, 4]]))
    div = derive("div").steps[0].latex  # the quotients m/n
    assert rf"\\[{FRACTION_ROW_GAP}]" in div


@pytest.mark.parametrize("padding", [0, 3])
def test_long_lists_of_maxima_wrap_to_the_column(padding):
    params = dict(input_shape=(16, 16), kernel_size=6, stride=1, padding=padding)
    forward = derive("max_pool2d", **params).steps[1]
    lines = forward.latex.removeprefix(r"\begin{aligned} ").split(r" \\ ")
    assert max(visible_len(line) for line in lines) <= LINE_WIDTH
    assert r"\max(x_{1,1}, x_{1,2}" in forward.latex and r"&\quad x_{2,1}" in forward.latex


@pytest.mark.parametrize("op", ["sum", "mean"])
def test_a_sum_of_every_entry_is_written_short(op):
    setup = derive(op, shape=(16, 16)).steps[0].latex
    assert tex_width(setup) <= LINE_WIDTH and r"\cdots" in setup and "x_{16,16}" in setup
