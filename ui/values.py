"""Numbers a learner types, into a grid cell or a link: parsed strictly against one regular
expression, never evaluated, bounded in length and size, and every problem said per cell (which
matrix, which entry, what is wrong, what to type instead). No streamlit here."""

from __future__ import annotations

import math
import re

import numpy as np

# a plain decimal with an optional exponent: "2", "-0.5", ".5", "1e-3", "3.E+2"; not "inf",
# "nan", "0x10", "1_000", "²" or anything else float() would take
_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?$")
MAX_ABS = 1e6  # past this the arithmetic overflows too easily to teach anything
MIN_ABS = 1e-12  # nearer 0 than this (but not 0), a divisor or a log overflows
MAX_CHARS = 24  # per number: 17 significant digits, a sign, a point and an exponent
MAX_CELLS = 32 * 32  # the largest matrix a lesson has (a transposed conv's output)
SEP = "_"  # between numbers in a link: the one separator a URL never percent-encodes
HINT = "type a number such as 2, -0.5 or 1e-3"


def parse_number(text) -> tuple[float | None, str]:
    """(value, '') for a number that fits, else (None, what is wrong with it and what to type:
    a clause that follows the cell's name, "is empty: type a number such as …")."""
    t = str(text).strip().replace("\u2212", "-")  # a typographic minus is still a minus
    if not t:
        return None, f"is empty: {HINT}"
    if len(t) > MAX_CHARS:
        return None, f"is {len(t)} characters long (at most {MAX_CHARS}): {HINT}"
    if not _NUMBER.match(t):
        return None, f"is “{t}”, which is not a number: {HINT}"
    v = float(t)
    if not math.isfinite(v) or abs(v) > MAX_ABS:
        return None, f"is {t}, too large: keep entries within ±{MAX_ABS:,.0f}"
    if v != 0 and abs(v) < MIN_ABS:
        return (
            None,
            f"is {t}, too close to 0 to compute with: type 0, or a size of at least {MIN_ABS:g}",
        )
    return (0.0 if v == 0 else v), ""


def parse_grid(texts, label) -> tuple[np.ndarray, list[str]]:
    """A grid of typed texts → (array with NaN where a cell is bad, a message per bad cell).
    ``label(r, c)`` names a cell for the messages (x₁₂)."""
    rows = [list(r) for r in texts]
    out = np.full((len(rows), len(rows[0]) if rows else 0), np.nan)
    problems = []
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            v, why = parse_number(text)
            if v is None:
                problems.append(f"{label(r, c)} (row {r + 1}, column {c + 1}) {why}.")
            else:
                out[r, c] = v
    return out, problems


def text_of(v: float) -> str:
    """The shortest text that reads back as exactly ``v`` ("2", "-0.53", "1e-05")."""
    s = repr(float(v))
    return s[:-2] if s.endswith(".0") else s


def texts_of(a) -> list[list[str]]:
    return [[text_of(v) for v in row] for row in np.atleast_2d(np.asarray(a, dtype=float))]


def encode_flat(a) -> str:
    """A matrix's entries, row by row, for a link: '1_-2_0.5_3'."""
    return SEP.join(text_of(v) for v in np.asarray(a, dtype=float).ravel())


def decode_flat(text) -> tuple[list[float] | None, str]:
    """The numbers a link holds, or (None, why not). Commas are read as separators too, for
    someone typing a link by hand."""
    t = str(text)
    if len(t) > MAX_CELLS * (MAX_CHARS + 1):
        return None, "is too long"
    parts = t.replace(",", SEP).split(SEP)
    if len(parts) > MAX_CELLS:
        return None, f"has more than {MAX_CELLS} numbers"
    out = []
    for k, p in enumerate(parts):
        v, why = parse_number(p)
        if v is None:
            return None, f"entry {k + 1} {why}"
        out.append(v)
    return out, ""


def first_nonfinite(a) -> tuple[tuple[int, int], float, int] | None:
    """The first entry of ``a`` that is not a finite number (its index and value) and how many
    there are, or None."""
    a = np.atleast_2d(np.asarray(a, dtype=float))
    bad = np.argwhere(~np.isfinite(a))
    if not len(bad):
        return None
    r, c = (int(i) for i in bad[0])
    return (r, c), float(a[r, c]), len(bad)


def random_values(d, kind: str, seed: int, positive: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Input values for a derivation: small integers or reals, reproducible from the seed.
    Inputs named in ``positive`` stay > 0 (log's domain, a divisor)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, m in d.inputs.items():
        if kind == "integers":
            a = rng.integers(-3, 4, size=m.shape).astype(float)
            if name in positive:
                a = np.abs(a) + 1
        else:
            a = np.round(rng.normal(0, 1, size=m.shape), 2)
            if name in positive:
                a = np.round(np.abs(a) + 0.5, 2)
        out[name] = a
    return out


def random_upstream(d, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 10_000)
    # non-zero, a 1 × 1 upstream too (∂J/∂y is whatever comes from above, not always 1):
    # a zero upstream entry silently hides the terms the lesson is about
    return rng.choice([-2.0, -1.0, 1.0, 2.0], size=d.upstream.shape)
