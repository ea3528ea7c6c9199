"""The page widths the app lays out for. The lesson column's width is measured in the browser
(``ui.widgets.width_probe_ui``, in 40 px steps) and kept per session; until it arrives the page
is laid out for a 1280 px window with the sidebar open. A :class:`Layout` turns that width into
everything sized from it: the derivation's column and the width units its formulas are broken to
(see ``derivations/typeset.py``), the numbers' column, and the heatmaps' scale. Pure: no
streamlit.

Formulas are broken for a few widths only (``FORMULA_TIERS``): each width is a derivation of its
own, and a window resized by a few pixels should not derive again."""

from __future__ import annotations

from dataclasses import dataclass

from derivations.typeset import units_for

DEFAULT_MAIN = 820  # px: the lesson column of a 1280 px window, sidebar open (wide layout)
MAIN_WIDTH = DEFAULT_MAIN  # the name the heatmap packing has always used
GAP = 16  # px between Streamlit columns ("medium" gap)
STEP_SPLIT = (5, 3)  # st.columns(STEP_SPLIT): a step's formula, then the same with numbers
FORMULA_TIERS = (820, 1120, 1460, 1760)  # 1280 and 1920 px windows, sidebar open and hidden
PRESENTER_FONT = 1.4  # presenter mode's text and formulas, relative to the normal size
MIN_MAIN, MAX_MAIN = 480, 3000  # widths a probe may report (anything else is ignored)
MAX_SCALE = 1.8  # heatmap cells grow with the column up to 64 × this px


def valid_width(value) -> int | None:
    """A width the browser reported (or a cookie held), or None if it is not a sane one."""
    try:
        w = int(str(value).strip()[:6])
    except ValueError:
        return None
    return w if MIN_MAIN <= w <= MAX_MAIN else None


# page links in narrow columns (the home page's lesson map, a network's "made of" lessons) wrap
# a long title instead of cutting it ("MLP: train and deriv")
WRAP_LINKS_CSS = (
    "<style>.stMain [data-testid='stPageLink'] * { white-space: normal !important; "
    "text-overflow: clip !important; overflow: visible !important; }</style>"
)
WIDTH_KEY = "layout/main"  # the session's lesson-column width, as the browser last measured it
SIDEBAR, PADDING = 300, 160  # px Streamlit's wide layout takes: the sidebar, the main margins


def main_for_window(window, presenter: bool) -> int:
    """A first guess of the lesson column from the window's width (a cookie's), before the
    browser measures it: the window less the sidebar (hidden in presenter mode) and margins."""
    w = valid_width(window) if window is not None else None
    if w is None:
        return DEFAULT_MAIN
    return max(MIN_MAIN, w - PADDING - (0 if presenter else SIDEBAR))


def presenter_switched(main: int, presenter: bool) -> int:
    """The column's width right after presenter mode is switched (the sidebar goes or comes
    back), until the browser measures it again."""
    return max(MIN_MAIN, main + (SIDEBAR if presenter else -SIDEBAR))


@dataclass(frozen=True)
class Layout:
    main: int = DEFAULT_MAIN  # px of the lesson column, as measured
    presenter: bool = False  # formulas take the whole column, in a larger font

    @property
    def font(self) -> float:
        return PRESENTER_FONT if self.presenter else 1.0

    @property
    def formula_main(self) -> int:
        """The column width formulas are broken for: the widest tier that fits."""
        fits = [t for t in FORMULA_TIERS if t <= self.main + 8]
        return fits[-1] if fits else self.main

    def _split(self, main: float, part: int) -> float:
        return main if self.presenter else (main - GAP) * STEP_SPLIT[part] / sum(STEP_SPLIT)

    @property
    def step_units(self) -> int:
        """Width units of a step's formula column (presenter mode: the whole column)."""
        return units_for(self._split(self.formula_main, 0) / self.font)

    @property
    def full_units(self) -> int:
        """Width units of a formula that has the whole lesson column."""
        return units_for(self.formula_main / self.font)

    @property
    def focus_px(self) -> int:
        """The numbers' column beside a step (presenter mode: below it, the whole width)."""
        return int(self._split(self.main, 1))

    @property
    def scale(self) -> float:
        """How much larger than at 1280 px the heatmaps' cells and numbers are drawn."""
        return min(MAX_SCALE, max(1.0, self.main / DEFAULT_MAIN))


DEFAULT = Layout()
STEP_UNITS = DEFAULT.step_units  # the width a lesson's formulas are broken to at 1280 px
FULL_UNITS = DEFAULT.full_units  # a formula that has the whole lesson column at 1280 px
