"""Pure page logic, without Streamlit: typed numbers (grid cells and links), the checks that
run before anything is formatted, and the hand-typed numbers a link carries."""

import numpy as np
import pytest

from ui import state, values
from ui.registry import OPS, random_upstream


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2", 2.0),
        (" -0.5 ", -0.5),
        (".5", 0.5),
        ("3.", 3.0),
        ("1e-3", 1e-3),
        ("-2E+2", -200.0),
        ("−1.5", -1.5),  # a typographic minus
        ("-0", 0.0),
        ("1e6", 1e6),
        ("1e-12", 1e-12),
    ],
)
def test_numbers_that_parse(text, expected):
    assert values.parse_number(text) == (expected, "")


@pytest.mark.parametrize(
    "text,why",
    [
        ("", "empty"),
        ("1e308", "too large"),
        ("-1e7", "too large"),
        ("1e-320", "too close to 0"),
        ("inf", "not a number"),
        ("-inf", "not a number"),
        ("nan", "not a number"),
        ("1_000", "not a number"),
        ("0x10", "not a number"),
        ("²", "not a number"),
        ("1e5000", "not a number"),  # the exponent has at most three digits
        ("__import__('os')", "not a number"),
        ("1" * 30, "characters long"),
    ],
)
def test_numbers_that_do_not_parse_say_why(text, why):
    v, msg = values.parse_number(text)
    assert v is None and why in msg


def test_a_grid_names_every_bad_cell_and_keeps_the_good_ones():
    a, problems = values.parse_grid([["1", "x"], ["1e308", "2"]], lambda r, c: f"m{r + 1}{c + 1}")
    assert a[0, 0] == 1 and a[1, 1] == 2 and np.isnan(a[0, 1]) and np.isnan(a[1, 0])
    assert len(problems) == 2
    assert problems[0].startswith("m12 (row 1, column 2) is “x”, which is not a number")
    assert problems[1].startswith("m21 (row 2, column 1) is 1e308, too large")


def test_numbers_round_trip_through_text_and_links():
    a = np.array([[1.0, -0.53], [1e-5, 123456.789]])
    assert values.texts_of(a) == [["1", "-0.53"], ["1e-05", "123456.789"]]
    flat, why = values.decode_flat(values.encode_flat(a))
    assert why == "" and flat == a.ravel().tolist()
    assert values.decode_flat("1,2,3")[0] == [1.0, 2.0, 3.0]  # typed by hand


@pytest.mark.parametrize("text", ["1_x_3", "inf_1", "1__2", "1" * 30_000, "_".join(["1"] * 2000)])
def test_links_with_bad_numbers_are_refused(text):
    flat, why = values.decode_flat(text)
    assert flat is None and why


def test_url_edits_read_the_right_counts_and_name_the_rest():
    shapes = {"X": (2, 2), "K": (1, 2), "up": (1, 1)}
    got, notices = state.url_edits({"X": "1_2_3_4", "K": "1_2_3", "up": "inf", "b": "9"}, shapes)
    assert got["X"].tolist() == [[1, 2], [3, 4]] and set(got) == {"X"}
    assert "K: has 3 numbers where 1×2 needs 2" in notices
    assert any(n.startswith("up: entry 1 is “inf”") for n in notices)


def test_value_checks_name_the_cell_and_say_what_to_do():
    label = lambda name, idx: f"{name.lower()}{idx[0] + 1}{idx[1] + 1}"  # noqa: E731
    msgs = state.check_values(OPS["div"], {"M": np.ones((1, 2)), "N": np.array([[1, -2.0]])}, label)
    assert msgs == [
        "n12 = -2: every entry of N must be > 0 (it is a divisor); type a positive number."
    ]
    msgs = state.check_values(OPS["relu"], {"X": np.array([[1, np.nan]])}, label)
    assert msgs[0].startswith("x12 is empty")


def test_results_that_overflow_are_caught_before_formatting():
    label = lambda key, idx: f"{key}[{idx[0]},{idx[1]}]"  # noqa: E731
    ok = [("out", "forward", np.ones((2, 2)))]
    assert state.result_problems(OPS["exp"], ok, label) == []
    bad = ok + [("d:X", "symbolic", np.array([[1.0, np.inf], [np.nan, 1.0]]))]
    (msg,) = state.result_problems(OPS["exp"], bad, label)
    assert msg.startswith("d:X[0,1] comes out as inf in the symbolic result (and 1 more")
    assert "709" in msg  # what to do, for exp
    (msg,) = state.result_problems(OPS["div"], bad, label)
    assert "divisor" in msg


@pytest.mark.parametrize("op", ["sum", "mean", "softmax_cross_entropy"])
def test_a_scalar_upstream_is_random_like_the_others(op):
    spec = OPS[op]
    d = spec.derive(**spec.defaults())
    ups = {float(random_upstream(d, seed)[0, 0]) for seed in range(8)}
    assert len(ups) > 1 and 0.0 not in ups


def test_finite_differences_are_not_defined_next_to_the_edge_of_a_domain():
    from ui import verify

    spec = OPS["div"]
    d = spec.derive(**spec.defaults())
    vals = {"M": np.full((2, 2), 1e6), "N": np.array([[1e-12, 1.0], [1.0, 1.0]])}
    rows, _ = verify.verify(spec, d, vals, np.ones((2, 2)), use_torch=False)
    fd = next(r for r in rows if r.method == "finite differences")
    assert fd.ok is None and "closer to 0 than 100·ε" in fd.note
    assert verify.passed(rows)


# ---------------------------------------------------------------- the explorer


def test_a_click_event_becomes_a_cell_and_anything_else_is_ignored():
    ev = {"selection": {"points": [{"x": 3, "y": 2, "curve_number": 1}]}}
    assert state.click_token("d:X", ev) == "d:X|1,2"
    for bad in (None, {}, {"selection": {"points": []}}, {"selection": {"points": [{"x": 1}]}}):
        assert state.click_token("X", bad) is None
    assert state.click_token("X", {"selection": {"points": [{"x": 1.5, "y": 1}]}}) is None
    assert state.click_token("X", {"selection": {"points": [{"x": "1", "y": 1}]}}) is None


def test_highlighted_cells_are_listed_row_by_row():
    from derivations import derive
    from ui import links

    d = derive("conv2d", input_shape=(5, 5), kernel_shape=(3, 3), stride=2, padding=1)
    for key, idx in [("d:X", (2, 2)), ("d:K", (1, 1)), ("out", (1, 1)), ("X", (2, 2))]:
        for k, cells in links.highlights(d, key, idx).items():
            if k != key:  # the picked cell itself is appended last
                assert cells == sorted(cells), (key, k, cells)


def test_an_output_is_written_in_the_forward_steps_order_with_its_numbers():
    from derivations import derive
    from ui import explain

    d = derive("conv2d")
    nums = {
        "X": np.arange(9.0).reshape(3, 3),
        "K": np.array([[1.0, 2.0], [3.0, 4.0]]),
        "b": np.array([[0.5]]),
        "out": np.array([[0.0, 0.0], [0.0, 67.5]]),
    }
    tex = explain.output_latex(d, (1, 1), nums)
    assert tex.startswith("z_{22} = x_{22} k_{11} + x_{23} k_{12} + x_{32} k_{21} + x_{33} k_{22} + b")
    assert r"= (4) \cdot (1) + (5) \cdot (2) + (7) \cdot (3) + (8) \cdot (4) + (0.5) = 67.5" in tex
    big = derive("sum", shape=(3, 12))  # x_{1,10} after x_{1,9}, not after x_{1,1}
    terms = explain.forward_terms(big, (0, 0))
    assert [big.symbol_index[fs[0]][1] for _, fs in terms][:12] == [(0, c) for c in range(12)]
    dense = derive("linear")
    assert [str(f) for f in explain.forward_terms(dense, (0, 0))[0][1]] == ["x_{11}", "w_{11}"]
    assert explain.forward_terms(derive("max_pool2d"), (0, 0)) is None  # a max, written as such


def test_a_cell_no_output_depends_on_says_so_instead_of_zero_equals_zero():
    from derivations import derive
    from ui import explain

    d = derive("conv2d", input_shape=(5, 5), kernel_shape=(2, 2), stride=2)
    vals = {"X": np.ones((5, 5)), "K": np.ones((2, 2)), "b": np.ones((1, 1))}
    tex, why = explain.gradient_latex(d, "X", (4, 4), vals, np.ones((2, 2)))
    assert tex == r"\frac{\partial L}{\partial x_{55}} = 0" and "= 0 =" not in tex
    assert "No output depends on x₅₅" in why
    tex, why = explain.gradient_latex(d, "X", (0, 0), vals, np.ones((2, 2)))
    assert r"\cdot" in tex and why == ""


def test_chain_rule_terms_follow_the_outputs_row_by_row():
    """Each gradient's sum lists its outputs z₁₁, z₁₂, …, z₂₁, … in the matrix's order."""
    import re

    from derivations import derive

    d = derive("conv2d", input_shape=(4, 4), kernel_shape=(2, 2))
    tex = d.chain_rule("X", (1, 1))
    outs = re.findall(r"\\partial z_\{(\d)(\d)\}", tex)
    assert outs == sorted(outs) and len(outs) == 4
