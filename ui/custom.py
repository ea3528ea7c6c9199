"""Your own element-wise function in the app (the "custom" op, ``derivations/custom_op.py``): its
registry adapters and where it is undefined.

- The "engine" is ``custom.evaluate`` of f and f′ on the numbers: a walk over the expression
  tree with one numpy operation per node, nothing compiled from what the learner typed. There
  is no PyTorch reference (the verification panel leaves that row out).
- Finite differences are undefined where f has a kink (|x| or relu(x) at 0): found numerically,
  as the two one-sided slopes disagreeing.
- Where f or f′ is undefined at the numbers (log of a negative), ``custom.domain_problem`` says
  where and why, and ``domain_ui`` shows values where the function is defined instead.
"""

from __future__ import annotations

import numpy as np

from derivations.custom import domain_problem, evaluate
from derivations.custom_op import function_of

KINK_STEP = 1e-6  # the finite differences' ε (ui/verify.EPS)
KINK_RTOL = 1e-3
FD_ERROR = 2e-6  # relative: well inside the verification's 1e-5 (ui/verify.FD_TOL)
TRIES = 24  # random draws tried for values where f is defined


def _x(values) -> np.ndarray:
    return np.asarray(values["X"], dtype=float)


def forward(values: dict, params: dict) -> np.ndarray:
    return evaluate(function_of(params["f"]).f, _x(values))


def grads(values: dict, dy, params: dict) -> dict:
    fprime = function_of(params["f"]).fprime
    return {"X": np.asarray(dy, dtype=float) * evaluate(fprime, _x(values))}


def _bend(f, x: np.ndarray, h: float):
    """f's one-sided slopes at x with step h, and how far apart they are against their size."""
    here = evaluate(f, x)
    left = (here - evaluate(f, x - h)) / h
    right = (evaluate(f, x + h) - here) / h
    scale = np.maximum(1.0, np.maximum(np.abs(left), np.abs(right)))
    return left, right, np.abs(left - right) / scale


def _central_error(f, x: np.ndarray, h: float) -> np.ndarray:
    """The central difference's own error at step h, relative to the slope: Richardson's
    estimate |D(2h) − D(h)| / 3, as the error grows with h²."""
    d1 = (evaluate(f, x + h) - evaluate(f, x - h)) / (2 * h)
    d2 = (evaluate(f, x + 2 * h) - evaluate(f, x - 2 * h)) / (4 * h)
    return np.abs(d2 - d1) / 3 / np.maximum(1.0, np.abs(d1))


def kink(values: dict, d) -> str:
    """Why central differences mean nothing at these numbers, or "" where they are fine.

    The one-sided slopes differ at a kink and also, by about f″·h, where f is smooth but
    steep (1/x at 0.01, exp(200x)). So they are compared at two steps, 10ε and ε: where f is
    smooth their gap shrinks tenfold with the step; at a kink it stays and each slope settles;
    where neither happens, f changes faster than a step of ε can follow (sin(10¹²x)). And a
    smooth f can still curve too sharply for ε (√x at 10⁻⁴): a ✗ there would blame the maths."""
    f, x = d.custom.f_x, _x(values)
    with np.errstate(all="ignore"):
        left1, right1, gap1 = _bend(f, x, 10 * KINK_STEP)
        left2, right2, gap2 = _bend(f, x, KINK_STEP)
        error = _central_error(f, x, KINK_STEP)
        here = np.isfinite(evaluate(f, x))
    finite = np.isfinite(gap1) & np.isfinite(gap2)
    smooth = (gap2 <= KINK_RTOL) | ((gap2 <= 0.2 * gap1) & (gap2 <= 0.1))
    for odd, why in (
        (here & ~(finite & np.isfinite(error)), _edge),  # log(x) at x = 1.5·10⁻⁶
        (finite & ~smooth, _unsmooth),
        (finite & np.isfinite(error) & (error > FD_ERROR), _curved),
    ):
        if odd.any():
            r, c = (int(i) for i in np.argwhere(odd)[0])
            where = f"x = {x[r, c]:g} (row {r + 1}, column {c + 1})"
            slopes = ([left1[r, c], right1[r, c]], [left2[r, c], right2[r, c]])
            return why(where, slopes)
    return ""


def _unsmooth(where: str, slopes) -> str:
    if np.allclose(*slopes, rtol=KINK_RTOL, atol=KINK_RTOL):  # each slope settled: a corner
        return f"f has a kink at {where}"
    return (
        f"f's slope changes within ε = {KINK_STEP:g} of {where}, faster than finite "
        "differences can follow"
    )


def _edge(where: str, _slopes) -> str:
    return (
        f"f has no finite value within {10 * KINK_STEP:g} of {where}: the finite differences' "
        "steps leave its domain"
    )


def _curved(where: str, _slopes) -> str:
    return (
        f"f curves too sharply at {where} for central differences with ε = {KINK_STEP:g} "
        "to be accurate"
    )


def undefined(values: dict, d) -> str:
    """Why f or f′ cannot be computed at these numbers ("" where both can)."""
    return domain_problem(d.custom.f_x, _x(values), d.custom.fprime_x) or ""


def values_in_domain(spec, d, values: dict, seed: int) -> dict | None:
    """Values where the op is defined, as close to ``values`` as can be found: the same numbers
    made positive, then negative, then random draws of growing spread; None if none is."""
    x = _x(values)
    rng = np.random.default_rng(seed + 777)
    magnitude = np.where(x == 0, 1.0, np.abs(x))
    candidates = [magnitude, -magnitude]
    for k in range(TRIES):
        spread = 0.5 * (1 + k // 4)
        a = np.round(rng.uniform(-3 * spread, 3 * spread, size=x.shape), 2)
        candidates.append(np.abs(a) + 0.1 if k % 2 == 0 else a)
    for cand in candidates:
        v = {**values, "X": cand}
        if not spec.undefined(v, d):
            return v
    return None


def _described(values: dict, fixed: dict) -> str:
    x, y = _x(values), _x(fixed)
    if np.array_equal(y, np.where(x == 0, 1.0, np.abs(x))):
        return "the sizes of the same numbers, made positive (0 as 1)"
    if np.array_equal(y, -np.where(x == 0, 1.0, np.abs(x))):
        return "the sizes of the same numbers, made negative (0 as −1)"
    return "other random numbers where it is defined"


def domain_ui(spec, d, values: dict, seed: int, source: str) -> dict:
    """On a lesson page: the values to use. Where the op is undefined at ``values`` (your own f:
    log of a negative), say where and why, and use values where it is defined instead (the
    learner's typed numbers stay in their grid). Ops without ``undefined`` pass through."""
    if spec.undefined is None:
        return values
    if not all(np.all(np.isfinite(np.asarray(v, dtype=float))) for v in values.values()):
        return values  # an empty or infinite cell: the page's own check says so
    why = spec.undefined(values, d)
    if not why:
        return values
    import streamlit as st

    from ui.practice import md_safe

    why = md_safe(why)
    fixed = values_in_domain(spec, d, values, seed)
    if fixed is None:
        st.error(
            f"{why} No values were found where it is defined: type some (Values of the inputs → "
            "Edit by hand).",
            icon=":material/error:",
        )
        return values
    shown = _described(values, fixed)
    if source == "edit":
        st.error(f"{why} Until then the page shows {shown}.", icon=":material/error:")
    else:
        st.warning(
            f"{why} The page shows {shown} instead; Re-roll for others.",
            icon=":material/warning:",
        )
    return fixed
