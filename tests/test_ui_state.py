"""Pure page logic, without Streamlit: typed numbers (grid cells and links), the checks that
run before anything is formatted, and the hand-typed numbers a link carries."""

import numpy as np
import pytest

from ui import state, values
from ui.registry import OPS
from ui.values import random_upstream


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


def test_a_clicked_cell_becomes_the_explorers_pick_and_anything_else_is_ignored():
    assert state.cell_token("d:X", "1,2", (3, 3)) == "d:X|1,2"
    for bad in (None, "", "1", "1,2,3", "-1,0", "3,0", "0,3", "a,b", "1, 2", "99,99", "²,1"):
        assert state.cell_token("X", bad, (3, 3)) is None, bad


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
    assert tex.startswith(
        "z_{22} = x_{22} k_{11} + x_{23} k_{12} + x_{32} k_{21} + x_{33} k_{22} + b"
    )
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


# ---------------------------------------------------------------- patterns with numbers

PATTERN_CASES = [
    ("conv2d", {}),
    ("conv2d", dict(input_shape=(5, 5), kernel_shape=(3, 2), stride=(2, 1), padding=(1, 1))),
    ("conv2d", dict(input_shape=(6, 5), kernel_shape=(2, 2), stride=(2, 3), dilation=(2, 1))),
    ("conv_transpose2d", {}),
    (
        "conv_transpose2d",
        dict(
            input_shape=(3, 2),
            kernel_shape=(3, 2),
            stride=(2, 2),
            padding=(1, 1),
            output_padding=(1, 1),
        ),
    ),
    ("conv_transpose2d", dict(input_shape=(3, 3), stride=(2, 1), dilation=(2, 2))),
    ("avg_pool2d", dict(input_shape=(5, 5), kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))),
    ("linear", dict(batch=3, in_features=2, out_features=4)),
    ("mul", dict(shape=(3, 3), broadcast="row")),
    ("div", dict(shape=(2, 3), broadcast="column")),
    ("sum", dict(shape=(2, 3))),
    ("mean", {}),
]


@pytest.mark.parametrize("op,params", PATTERN_CASES)
def test_every_pattern_rebuilds_its_result_from_its_evaluated_operands(op, params):
    """The window view adds up exactly what the page shows as the gradient (or output)."""
    from ui import patterns as P
    from ui.values import random_values

    spec = OPS[op]
    d = spec.derive(**(spec.defaults() | params))
    vals = random_values(d, "reals", 5, spec.positive)
    up = random_upstream(d, 5)
    sym = d.evaluate(vals, up)
    out = spec.engine_forward(vals, d.params)
    assert d.patterns
    for pattern in d.patterns.values():
        geo = P.geometry(d, pattern)
        operands = P.compile_operands(d, pattern)(vals, up)
        assert [o.shape for o in operands] == [m.shape for m in pattern.operands.values()]
        result = sym[pattern.grad] if pattern.grad else out
        bias = float(vals["b"][0, 0]) if geo.bias else 0.0
        if geo.kind == "cells":  # element-wise: its cell is the chain-rule sum
            assert not P.check(geo, operands, result)
            cells = P.used_cells(d, pattern, d.grads[pattern.grad][0, 0], (0, 0))
            assert all(cells), (pattern.label, cells)
        else:
            assert P.check(geo, operands, result, bias), pattern.label


def test_a_pattern_cell_is_written_as_its_window_with_numbers():
    from derivations import derive
    from ui import patterns as P

    d = derive("conv2d")  # dX = pad(dZ) ⊛ rot180(K)
    pattern = d.patterns["dX = pad(dZ) ⊛ rot180(K)"]
    vals = {"X": np.zeros((3, 3)), "K": np.array([[1.0, 2.0], [3.0, 4.0]]), "b": np.zeros((1, 1))}
    up = np.array([[5.0, 6.0], [7.0, 8.0]])
    operands = P.compile_operands(d, pattern)(vals, up)
    assert operands[1].tolist() == [[4, 3], [2, 1]]  # rot180(K)
    assert operands[0][0].tolist() == [0, 0, 0, 0]  # pad(dZ)'s top row of zeros
    geo = P.geometry(d, pattern)
    assert P.window(geo, [(4, 4), (2, 2)], (1, 2)) == [
        [(1, 2), (1, 3), (2, 2), (2, 3)],
        [(0, 0), (0, 1), (1, 0), (1, 1)],
    ]
    sym, nums = P.sum_parts(d, pattern, geo, operands, (0, 0))
    assert sym[0] == r"0 \cdot k_{22}" and sym[3].endswith(r"\cdot k_{11}")
    assert nums == [r"(0) \cdot (4)", r"(0) \cdot (3)", r"(0) \cdot (2)", r"(5) \cdot (1)"]
    assert P.operand_title(d, "pad(dZ)", pattern.operands["pad(dZ)"]) == "pad(∂L/∂Z)"
    labels = P.operand_labels(d, pattern.operands["pad(dZ)"])
    assert labels[0][0] == "0 (padding)" and labels[1][1] == "∂L/∂z₁₁"


def test_each_pattern_step_shows_its_patterns():
    from derivations import derive
    from ui import patterns as P

    d = derive("conv2d")
    shown = {i: [p.label for p in P.for_step(d, d.steps, i)] for i in range(len(d.steps))}
    assert [v for v in shown.values() if v] == [["dK = pad(X) ⊛ dZ"], ["dX = pad(dZ) ⊛ rot180(K)"]]
    b = derive("mul")  # one pattern step, about M; N's pattern is shown there too
    last = max(i for i, s in enumerate(b.steps) if s.kind == "pattern")
    assert [p.grad for p in P.for_step(b, b.steps, last)] == ["M", "N"]
    t = derive("conv_transpose2d")  # the forward pattern, on the step about Z
    first = next(i for i, s in enumerate(t.steps) if s.kind == "pattern")
    assert [p.grad for p in P.for_step(t, t.steps, first)] == [None]


def test_softmax_has_its_own_panels_p_and_p_minus_onehot():
    from derivations import derive
    from ui import links, patterns

    d = derive("softmax_cross_entropy", num_classes=3, target=1)
    own = links.own_panels(d)
    assert [k for k, *_ in own] == ["p", "p-y"]
    assert own[1][2] == [["p₁", "p₂ − 1", "p₃"]]
    p, g = patterns.compile_matrices(d, [m for *_, m in own])({"f": np.zeros((1, 3))}, [[1.0]])
    assert np.allclose(p, 1 / 3) and np.allclose(g, [[1 / 3, -2 / 3, 1 / 3]])
    assert links.own_panels(derive("conv2d")) == []


# ---------------------------------------------------------------- layout and heatmaps


def test_the_layout_at_1280_px_is_the_one_the_formulas_were_tuned_for():
    from ui.layout import FULL_UNITS, STEP_UNITS, Layout

    assert Layout(820).step_units == STEP_UNITS == 37
    assert Layout(820).full_units == FULL_UNITS
    wide = Layout(1460)  # 1920 px, sidebar open
    assert wide.step_units > STEP_UNITS and wide.scale > 1.7 and wide.focus_px > 500
    assert Layout(1470).step_units == wide.step_units  # a few pixels more derive nothing anew
    talk = Layout(1120, presenter=True)  # 1280 px, sidebar hidden, larger font
    assert talk.focus_px == 1120 and talk.step_units == talk.full_units < Layout(1120).full_units


def test_widths_from_the_browser_are_checked_and_guessed_from_the_window():
    from ui.layout import main_for_window, presenter_switched, valid_width

    assert valid_width("1460") == 1460 and valid_width(820) == 820
    for bad in (None, "", "abc", "-5", "99999999", "1e3", "12.5", "²"):
        assert valid_width(bad) is None
    assert main_for_window("1280", False) == 820 and main_for_window("1920", False) == 1460
    assert main_for_window("1280", True) == 1120 and main_for_window("junk", False) == 820
    assert presenter_switched(820, True) == 1120 and presenter_switched(1120, False) == 820


def test_a_heatmap_svg_escapes_its_text_and_fits_its_title():
    import re

    from ui.svg import matrix_svg

    svg, width = matrix_svg(np.array([[1.5]]), "∂L/∂Lᵢ <b>", [["<x>"]])
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "&lt;x&gt; = 1.5" in svg
    assert width >= len("∂L/∂Lᵢ <b>") * 9  # a 1 × 1 matrix is as wide as its title
    assert re.search(r'data-cell="0,0"', svg) and 'pointer-events="none"' in svg
    big, w = matrix_svg(np.arange(256.0).reshape(16, 16), "X", max_width=300)
    assert w <= 300 and big.count('class="cell"') == 256
    wide, w2 = matrix_svg(np.ones((3, 3)), "X", scale=1.78)
    narrow, w1 = matrix_svg(np.ones((3, 3)), "X")
    assert w2 > 1.5 * w1
    sel, _ = matrix_svg(np.zeros((2, 2)), "X", highlight=[(0, 1)], selected=(1, 1))
    assert sel.count('fill="none"') == 2
