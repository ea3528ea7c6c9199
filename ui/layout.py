"""The page widths the app lays out for, named where the columns are made: the lesson column,
the derivation beside its numbers, and the width units the derivations typeset to (see
``derivations/typeset.py``). Change a column here and the formulas re-flow to fit it."""

from __future__ import annotations

from derivations.typeset import units_for

MAIN_WIDTH = 820  # px the lesson column can count on (wide layout, 1280 px window, sidebar open)
GAP = 16  # px between Streamlit columns ("medium" gap)
STEP_SPLIT = (5, 3)  # st.columns(STEP_SPLIT): a step's formula, then the same with numbers
STEP_PX = (MAIN_WIDTH - GAP) * STEP_SPLIT[0] / sum(STEP_SPLIT)
FOCUS_PX = (MAIN_WIDTH - GAP) * STEP_SPLIT[1] / sum(STEP_SPLIT)
STEP_UNITS = units_for(STEP_PX)  # the width a lesson's formulas are broken to
FULL_UNITS = units_for(MAIN_WIDTH)  # a formula that has the whole lesson column
