"""The app's pure helpers: selection → highlighted cells, heatmap orientation, URL parsing,
the verification rows, value checks."""

import numpy as np
import pytest

from derivations import derive
from ui import links, urlstate, verify
from ui.plots import matrix_figure
from ui.registry import OPS
from ui.values import random_upstream, random_values


def test_gradient_of_x22_highlights_all_four_outputs_and_kernel_weights():
    d = derive("conv2d")  # the notes' 3×3 * 2×2
    h = links.highlights(d, "d:X", (1, 1))
    assert sorted(h["out"]) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert sorted(h["up"]) == sorted(h["out"])
    assert sorted(h["K"]) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert h["d:X"] == [(1, 1)] and h["X"] == [(1, 1)]


def test_gradient_of_x11_depends_on_z11_only():
    d = derive("conv2d")
    h = links.highlights(d, "d:X", (0, 0))
    assert h["out"] == [(0, 0)] and h["K"] == [(0, 0)]


def test_output_cell_highlights_its_window_and_bias():
    d = derive("conv2d")
    h = links.highlights(d, "out", (1, 0))
    assert sorted(h["X"]) == [(1, 0), (1, 1), (2, 0), (2, 1)]
    assert h["b"] == [(0, 0)] and sorted(h["K"]) == [(0, 0), (0, 1), (1, 0), (1, 1)]


def test_input_cell_highlights_the_outputs_it_feeds():
    d = derive("conv2d")
    assert sorted(links.highlights(d, "X", (0, 1))["out"]) == [(0, 0), (0, 1)]


def test_kernel_gradient_cell_touches_every_output():
    d = derive("conv2d")
    h = links.highlights(d, "d:K", (1, 1))
    assert len(h["out"]) == 4 and sorted(h["X"]) == [(1, 1), (1, 2), (2, 1), (2, 2)]


def test_cell_labels_read_like_the_notes():
    d = derive("conv2d")
    assert links.cell_label(d, "d:X", (1, 1)) == "∂L/∂x₂₂"
    assert links.cell_label(d, "out", (0, 1)) == "z₁₂"
    assert links.cell_label(d, "up", (0, 1)) == "∂L/∂z₁₂"
    assert len(links.all_cells(d)) == 9 + 4 + 1 + 4 + 4 + 9 + 4 + 1


def test_heatmap_reads_like_the_notes():
    fig = matrix_figure(np.array([[1.0, 2.0], [3.0, 4.0]]), "X")
    assert fig.layout.yaxis.range[0] > fig.layout.yaxis.range[1]  # reversed: row 1 on top
    assert fig.layout.yaxis.scaleanchor == "x"  # square cells
    heat = fig.data[0]
    assert heat.zmid == 0 and heat.z[0][0] == 1.0 and heat.text[1][0] == "3"
    assert list(heat.y) == [1, 2] and list(heat.x) == [1, 2]  # 1-based, as the notes count
    marks = fig.data[1]  # the clickable markers: one per cell
    assert len(marks.x) == 4


def test_highlight_and_selection_become_shapes():
    fig = matrix_figure(np.zeros((3, 3)), "X", highlight=[(0, 0), (2, 1)], selected=(1, 1))
    assert len(fig.layout.shapes) == 3
    assert fig.layout.shapes[1].x0 == 1.5 and fig.layout.shapes[1].y0 == 2.5


@pytest.mark.parametrize(
    "text,expected",
    [
        ("4x5", (4, 5)),
        ("3", (3, 3)),
        ("2×2", (2, 2)),
        ("99x2", None),
        ("1;drop", None),
        ("__import__('os')", None),
        ("", None),
    ],
)
def test_url_pairs_parse_strictly(text, expected):
    p = next(p for p in OPS["conv2d"].params if p.name == "input_shape")
    assert urlstate.decode_value(p, text) == expected


def test_a_link_counts_classes_as_the_page_does():
    """?target=3 opened "true class 4" and ?target=10 (class 10 of 10) was refused: the link
    counted from 0, the sidebar from 1."""
    p = next(p for p in OPS["softmax_cross_entropy"].params if p.name == "target")
    assert urlstate.decode_value(p, "10") == 9 and urlstate.decode_value(p, "1") == 0
    assert urlstate.decode_value(p, "0") is None
    assert urlstate.encode_value(p, 3) == "4"


def test_url_round_trip_for_every_op():
    for spec in OPS.values():
        q = urlstate.encode(spec, spec.defaults(), {"step": 2})
        assert urlstate.decode(spec, q) == spec.defaults()


@pytest.mark.parametrize("name", list(OPS))
def test_verify_rows_pass_for_random_numbers(name):
    spec = OPS[name]
    d = spec.derive(**spec.defaults())
    for seed in range(3):
        values = random_values(d, "reals", seed, spec.positive)
        rows, found = verify.verify(spec, d, values, random_upstream(d, seed))
        assert verify.passed(rows), rows
        assert {"symbolic", "engine", "finite differences"} <= set(found)


def test_verify_says_finite_differences_are_undefined_at_a_tie():
    spec = OPS["max_pool2d"]
    d = spec.derive(**spec.defaults())
    rows, _ = verify.verify(spec, d, {"X": np.array([[3.0, 3.0], [1.0, 0.0]])}, np.ones((1, 1)))
    fd = next(r for r in rows if r.method == "finite differences")
    assert fd.ok is None and "tie" in fd.note
    assert verify.passed(rows)


def test_verify_catches_a_wrong_engine():
    spec = OPS["relu"]
    d = spec.derive(shape=(2, 2))
    broken = type(spec)(
        **{**spec.__dict__, "engine_grads": lambda v, dy, p: {"X": np.zeros((2, 2))}}
    )
    rows, _ = verify.verify(broken, d, {"X": np.ones((2, 2))}, np.ones((2, 2)), use_torch=False)
    assert not verify.passed(rows)


def test_values_that_break_the_domain_are_reported():
    from ui.state import check_values

    assert check_values(OPS["log"], {"X": np.array([[1.0, -2.0]])})
    assert check_values(OPS["div"], {"M": np.ones((1, 1)), "N": np.zeros((1, 1))})
    assert not check_values(OPS["log"], {"X": np.array([[1.0, 2.0]])})


def test_matrix_spec_is_a_valid_plotly_figure():
    import plotly.graph_objects as go

    from ui.plots import matrix_spec

    spec = matrix_spec(np.arange(6.0).reshape(2, 3), "∂L/∂X", highlight=[(0, 1)], selected=(1, 2))
    fig = go.Figure(spec)  # validating: raises on any property plotly does not know
    assert list(fig.layout.yaxis.range) == [2.5, 0.5]  # reversed, pinned to the cells


def test_big_matrices_fit_their_column_and_print_numbers_only_where_they_fit():
    from ui.plots import MIN_CELL, matrix_spec

    ints = (np.arange(256.0) % 199 - 99).reshape(16, 16)
    spec = matrix_spec(ints, "X", max_width=900 // 2)
    assert spec["layout"]["width"] <= 450  # Streamlit would squeeze a wider one
    assert spec["data"][0]["texttemplate"] == "%{text}"  # "-99" fits a 22 px cell
    squeezed = matrix_spec(ints, "X", max_width=225)
    assert squeezed["layout"]["width"] <= 225
    assert squeezed["data"][0]["texttemplate"] == ""  # too small: values on hover only
    assert squeezed["data"][0]["text"][0][0] == "-99"  # ...which still has them
    ticks = squeezed["layout"]["xaxis"]["tickvals"]
    assert ticks[0] == 1 and ticks[1] - ticks[0] > 1  # labels thinned, not piled up
    reals = matrix_spec(np.full((3, 3), -0.531), "X")
    assert reals["data"][0]["texttemplate"] == "%{text}"  # big cells hold six characters
    small = matrix_spec(np.full((8, 8), -0.531), "X", max_width=8 * MIN_CELL + 44)
    assert small["data"][0]["texttemplate"] == ""
    probs = matrix_spec(np.full((1, 10), -0.61678), "∂L/∂f")  # softmax's gradient row
    assert probs["data"][0]["texttemplate"] == "%{text}"
    assert probs["data"][0]["text"][0][0] == "-0.62"  # two digits fit where three did not


def test_lesson_layout_packs_matrices_by_width():
    """The explorer fills each row with as many matrices as fit (4 at most), in order."""
    from derivations import derive
    from ui import links
    from ui.plots import MAIN_WIDTH, natural_width, pack

    def rows(d):
        widths = [natural_width(*links.shape_of(d, k)) for k, _ in links.panels(d)]
        packed = pack(widths)
        assert [i for row in packed for i in row] == list(range(len(widths)))  # order kept
        for row in packed:
            assert len(row) == 1 or sum(widths[i] + 16 for i in row) <= MAIN_WIDTH
        return [len(r) for r in packed]

    assert rows(derive("conv2d")) == [4, 4]  # the notes' example: X K b Z / dZ dX dK db
    big = rows(derive("conv2d", input_shape=(16, 16), kernel_shape=(5, 5)))
    assert max(big) < 4 and len(big) > 2
    wide = derive("conv_transpose2d", input_shape=(16, 16), kernel_shape=(2, 2), stride=(2, 2))
    assert rows(wide)[:2] == [3, 1]  # X K b, then the 32-column Z alone


def test_the_csv_download_has_no_negative_zeros():
    """A product with a zero can be −0.0; the CSV wrote "-0" where the page shows 0."""
    from ui.panels import _arrays

    d = derive("relu", shape=(1, 3))
    numbers = {"X": np.array([[-0.0, 1.5, -2.0]]), "d:X": np.array([[0.0, -0.0, 3.0]])}
    _, csv = _arrays(d, numbers)
    rows = [ln for ln in csv.splitlines() if not ln.startswith("#")]
    assert rows == ["0,1.5,-2", "0,0,3"], rows


def test_a_gradient_no_output_reaches_is_explained_for_kernels_too():
    """A transposed conv's kernel weight whose every stamp is cropped away was said to have
    "no window" reaching it; a kernel weight has no window."""
    from ui.explain import gradient_latex

    d = derive("conv_transpose2d", input_shape=(2, 2), kernel_shape=(1, 1), stride=2, padding=1)
    assert not d.jac["K"].get((0, 0))
    tex, why = gradient_latex(d, "K", (0, 0), {}, None)
    assert tex.endswith("= 0") and "window" not in why and "cropping" in why
