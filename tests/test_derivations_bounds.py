"""Derivations at the extremes (issue 12, the lessons as a new user finds them).

Every setting the lessons offer (every combination of the ends of each widget's range) derives
and proves its patterns. derive()'s caps sit above what the lessons offer and take their
heaviest settings; hostile sizes are refused up front with the limit in the message. How long
any of this takes is measured in bench/bounds.py, never here.
"""

import re

import pytest

from derivations import WORK, derive, work
from derivations.__main__ import main as cli
from derivations.params import MAX_WORK, TooBig
from tests.extremes import REJECTED, cap_extremes, registry_extremes

try:
    LESSONS, PAST_A_BOUND = registry_extremes(), None
except TooBig as exc:  # a widget offers what derive() refuses: test_no_widget_... says so
    LESSONS, PAST_A_BOUND = [], str(exc)
CAPS = cap_extremes()


def _ids(case) -> str:
    op, params = case
    return op + "-" + "-".join(f"{k}={v}" for k, v in params.items()).replace(" ", "")


def check_lesson(op: str, params: dict):
    """The derivation's checks hold; the work counted up front is the work built."""
    d = derive(op, **params)
    assert all(ok for _, ok in d.checks), d.checks
    if op in WORK:
        assert work(op, **params) == sum(len(outs) for e in d.jac.values() for outs in e.values())
    return d


def test_no_widget_reaches_past_a_bound_of_derive():
    assert PAST_A_BOUND is None, PAST_A_BOUND
    assert len(LESSONS) > 200  # every op, at every corner of its widgets


@pytest.mark.parametrize("case", LESSONS, ids=[_ids(c) for c in LESSONS])
def test_every_setting_the_lessons_offer_derives(case):
    check_lesson(*case)


@pytest.mark.parametrize("case", CAPS, ids=[_ids(c) for c in CAPS])
def test_derive_takes_the_heaviest_settings_its_caps_allow(case):
    """A few seconds in all: the heaviest convolutions and pools under the caps (found by
    counting, tests/extremes.py), the largest dense layer, MLP and CNN."""
    check_lesson(*case)


@pytest.mark.parametrize("op,params,fragment", REJECTED, ids=[r[0] for r in REJECTED])
def test_hostile_sizes_are_refused_with_the_limit_in_the_message(op, params, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)) as info:
        derive(op, **params)
    assert re.search(r"\b(\d+|\d{1,3}(,\d{3})+)\b", str(info.value))  # the bound, in figures


def test_the_work_cap_counts_the_products_before_building_them():
    with pytest.raises(TooBig, match=f"33,393 partial derivatives, more than {MAX_WORK:,}"):
        derive("conv2d", input_shape=(16, 16), kernel_shape=(8, 8), padding=8)
    assert work("conv2d", input_shape=(16, 16), kernel_shape=(6, 6), padding=4) < MAX_WORK


def test_the_command_line_refuses_padding_1000_in_one_line(capsys):
    argv = ["conv2d", "--input", "3x3", "--kernel", "2x2", "--padding", "1000"]
    assert cli(argv) == 2
    err = capsys.readouterr().err
    assert err == "error: conv2d: padding 1000 is more than 8, the largest this derivation takes.\n"
