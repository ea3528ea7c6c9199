"""The lessons' worst formulas in the KaTeX that st.latex uses, in Chromium (tests/katex_probe.py
loads it from Streamlit's bundle; no server). The estimate of macro expansions
(derivations/katex.py) is checked against KaTeX's own count, the biggest steps of every op
render, and matrices of stacked fractions keep their rows apart.

Skips where Chromium or Playwright is missing; CI installs both."""

from functools import cache

import pytest

from bench.serve import CHROMIUM_FLAGS
from derivations import derive
from derivations.katex import BUDGET, expansions

pytestmark = pytest.mark.browser

# skips this module where Chromium or Playwright is missing
from bench.extremes import registry_extremes  # noqa: E402
from tests.browser_env import CHROMIUM, sync_api  # noqa: E402
from tests.katex_probe import KatexProbe  # noqa: E402


@pytest.fixture(scope="module")
def katex():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        with KatexProbe(browser) as probe:
            yield probe
        browser.close()


@cache
def _worst_steps() -> list[tuple[str, str]]:
    """Per op, the step of the lessons' extremes with the most estimated expansions and the
    one with the most LaTeX: the formulas most likely to break KaTeX."""
    worst: dict[str, dict[str, tuple[int, str, str]]] = {}
    for op, params in registry_extremes():
        for s in derive(op, **params).steps:
            label = f"{op} {params} · {s.title}"
            for key, size in (("expansions", expansions(s.latex)), ("length", len(s.latex))):
                if size > worst.setdefault(op, {}).get(key, (-1,))[0]:
                    worst[op][key] = (size, label, s.latex)
    return [(label, tex) for by in worst.values() for _, label, tex in by.values()]


def test_the_estimate_is_katex_own_count_or_more(katex):
    """Exact for every macro the lessons use; \\dots, whose cost depends on what follows it,
    is charged its most."""
    formulas = [
        r"\quad \qquad \cdots \vdots \ddots x \, y \; z \! w \operatorname{avg}",
        r"\frac{a}{b} \dfrac{a}{b} \cancel{x} \underbrace{x}_{=1} \boxed{x} \ne \checkmark",
        r"\begin{aligned} a &= b \\ &\quad + c \end{aligned} \begin{bmatrix} 1 \\[1.2em] 2 \end{bmatrix}",
        *[tex for _, tex in _worst_steps()],
        *[s.latex for s in derive("conv2d").steps],
    ]
    for tex in formulas:
        actual, estimate = katex.count(tex), expansions(tex)
        assert actual <= estimate, (tex[:80], actual, estimate)
        if r"\dots" not in tex:
            assert actual == estimate, (tex[:80], actual, estimate)


def test_the_biggest_step_of_every_op_renders(katex):
    for label, tex in _worst_steps():
        assert expansions(tex) <= BUDGET, label
        assert katex.error(tex) is None, label


def test_every_step_of_the_16x16_convolution_renders(katex):
    """Step 4 ('Every entry of ∂L/∂K') was a red 'Too many expansions' block of 183,000
    characters with a 5×5 kernel and 220,000 with a 6×6."""
    for k in (5, 6):
        for s in derive("conv2d", input_shape=(16, 16), kernel_shape=(k, k)).steps:
            assert katex.error(s.latex) is None, (k, s.title)


@pytest.mark.parametrize(
    "op,params,titles",
    [
        ("conv2d", {}, ("Pattern: ∂L/∂K", "Pattern: ∂L/∂X")),
        ("conv2d", dict(input_shape=(6, 6), kernel_shape=(3, 3), stride=2), ("Pattern",)),
        ("conv_transpose2d", {}, ("Pattern: ∂L/∂K", "Pattern: ∂L/∂X")),
        ("div", dict(shape=(3, 3)), ("Setup",)),
    ],
)
def test_stacked_fractions_in_a_matrix_keep_their_rows_apart(katex, op, params, titles):
    """∂L/∂z (and m/n) set as \\dfrac ran into the row below: KaTeX spaces array rows by its
    strut, not by what they hold."""
    steps = [s for s in derive(op, **params).steps if s.title.startswith(titles)]
    assert steps
    for s in steps:
        assert katex.overlap(s.latex) <= 0, s.title
