"""A lesson page's state, as pure functions over a mapping (``st.session_state`` on the page, a
plain dict in the tests): the keys, the first visit from the URL, the step kept across a new
derivation, re-rolling, and the numbers to fall back on. Nothing here draws or imports
streamlit."""

from __future__ import annotations

import re
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field, fields

import numpy as np

from derivations.param_kinds import Int, OptionalPair, Pair, Param, Sizes
from ui import urlstate
from ui.values import decode_flat, first_nonfinite

SOURCES = {
    "notes": "The notes' example",
    "integers": "Random integers",
    "reals": "Random reals",
    "edit": "Edit by hand",
}
UPSTREAMS = {"random": "Random integers", "ones": "All ones", "edit": "Edit by hand"}
_COUNT = re.compile(r"^[0-9]{1,6}$")  # ASCII digits only: str.isdigit accepts '²'


@dataclass(frozen=True)
class Keys:
    """The session-state keys of one lesson page: every key starts with the page, so two lessons
    never share state. Each field below is "<page>/<its name>"."""

    page: str
    op: str = field(init=False)
    source: str = field(init=False)  # where the input values come from (SOURCES)
    seed: str = field(init=False)
    step: str = field(init=False)
    upsrc: str = field(init=False)  # where the upstream gradient comes from (UPSTREAMS)
    init: str = field(init=False)  # the first visit was read from the URL
    pick: str = field(init=False)
    titles: str = field(init=False)
    notices: str = field(init=False)
    presenter: str = field(init=False)
    link: str = field(init=False)  # the first visit's URL, until its hand-typed numbers are read
    typed: str = field(init=False)  # the numbers as typed, before a domain check replaced them
    query: str = field(init=False)  # the link the last whole run wrote (a step rewrites it)

    def __post_init__(self):
        for f in fields(self):
            if f.name != "page":
                object.__setattr__(self, f.name, f"{self.page}/{f.name}")

    def param(self, name: str, part: str = "") -> str:
        return f"{self.page}/{name}" + (f"/{part}" if part else "")

    def last_params(self, op: str) -> str:
        return f"{self.page}/{op}/last"

    def last_numbers(self, op: str) -> str:
        return f"{self.page}/{op}/lastnums"


def _count(text, lo: int, hi: int) -> int | None:
    text = str(text).strip()
    return int(text) if _COUNT.match(text) and lo <= int(text) <= hi else None


def _take(url: dict, key: str, lo: int, hi: int, notices: list) -> int | None:
    if key not in url:
        return None
    v = _count(url[key], lo, hi)
    if v is None:
        notices.append(f"{key}={str(url[key])[:20]!r} (a whole number from {lo} to {hi:,})")
    return v


def first_visit(specs, url: dict) -> tuple[dict, list[str]]:
    """The page's initial state from the URL, and a notice for each parameter that did not fit
    (it falls back to its default)."""
    names = [s.name for s in specs]
    notices = []

    def pick(key, allowed, default):
        v = url.get(key)
        if v is None or v in allowed:
            return v if v is not None else default
        notices.append(f"{key}={str(v)[:20]!r} (one of {', '.join(allowed)})")
        return default

    op = pick("op", names, names[0])
    spec = specs[names.index(op)]
    state = {
        "op": op,
        "source": pick("values", SOURCES, "notes" if spec.notes_example else spec.values),
        "upsrc": pick("upstream", UPSTREAMS, "random"),
        "seed": 0,
        "step": 0,
        "presenter": pick("presenter", ("0", "1"), "0") == "1",
    }
    seed = _take(url, "seed", 0, 999_999, notices)
    step = _take(url, "step", 1, 999, notices)
    state["seed"] = 0 if seed is None else seed
    state["step"] = 0 if step is None else step - 1  # the URL counts steps from 1
    return state, notices


def param_notices(spec, url: dict) -> list[str]:
    """The op's URL parameters that were given but do not fit their kind or bounds."""
    good = urlstate.decode(spec, url)
    return [p.ignored(url[p.name]) for p in spec.params if p.name in url and p.name not in good]


def _seed_pair(ss: MutableMapping, keys: Keys, p: Param, v) -> None:
    ss.setdefault(keys.param(p.name, "r"), v[0])
    ss.setdefault(keys.param(p.name, "c"), v[1])


def _seed_optional_pair(ss: MutableMapping, keys: Keys, p: Param, v) -> None:
    ss.setdefault(keys.param(p.name, "auto"), v is None)
    _seed_pair(ss, keys, p, v or (2, 2))


# how a kind's widgets hold a value, where not as the value itself (ui.widgets draws them)
_SEEDS: dict[type, Callable[[MutableMapping, Keys, Param, object], None]] = {
    Pair: _seed_pair,
    OptionalPair: _seed_optional_pair,
    Sizes: lambda ss, keys, p, v: ss.setdefault(keys.param(p.name), ", ".join(map(str, v))),
    Int: lambda ss, keys, p, v: ss.setdefault(keys.param(p.name), v + p.shown_from),
}


def seed_widgets(ss: MutableMapping, keys: Keys, spec, values: dict) -> None:
    """Each parameter widget's value, once: from ``values`` (the URL's) or the default."""
    for p in spec.params:
        v = values.get(p.name, p.default)
        seed = _SEEDS.get(type(p.kind))
        if seed is None:
            ss.setdefault(keys.param(p.name), v)
        else:
            seed(ss, keys, p, v)


def step_for(old_titles: list[str] | None, titles: list[str], step: int) -> int:
    """The step to show after the derivation changed: the same step if it still exists, else
    the same position (within the new number of steps)."""
    if old_titles is not None and old_titles != titles and 0 <= step < len(old_titles):
        cur = old_titles[step]
        if cur in titles:
            return titles.index(cur)
    return min(max(step, 0), len(titles) - 1)


_CELL = re.compile(r"^([0-9]{1,2}),([0-9]{1,2})$")


def cell_token(grid: str, value, shape) -> str | None:
    """The explorer's "key|row,col" for a click a heatmap reported as "row,col" (0-based), or
    None for anything that is not a cell of a ``shape`` matrix."""
    m = _CELL.match(str(value)) if value is not None else None
    if not m:
        return None
    r, c = int(m.group(1)), int(m.group(2))
    return f"{grid}|{r},{c}" if r < shape[0] and c < shape[1] else None


def moved(step: int, delta: int, n: int) -> int:
    return min(max(0, step + delta), n - 1)


def reroll(ss: MutableMapping, keys: Keys) -> None:
    """New random numbers: the next seed, and random values if the notes' or hand-typed ones
    were showing."""
    ss[keys.seed] = int(ss.get(keys.seed, 0)) + 1
    if ss.get(keys.source) in ("notes", "edit"):
        ss[keys.source] = "integers"


def _default_label(name: str, idx) -> str:
    return f"{name}[{idx[0] + 1},{idx[1] + 1}]"


def check_values(spec, values: dict, label=None) -> list[str]:
    """What is wrong with the input values for this op (empty when nothing): the first bad entry
    of each matrix, named by ``label(name, (r, c))`` (x₁₂), and what to type instead."""
    label = label or _default_label
    out = []
    for name, a in values.items():
        a = np.atleast_2d(np.asarray(a, dtype=float))
        bad = np.argwhere(~np.isfinite(a))
        if len(bad):
            r, c = (int(i) for i in bad[0])
            what = "is empty" if np.isnan(a[r, c]) else f"is {a[r, c]}"
            out.append(
                f"{label(name, (r, c))} {what}: every entry of {name} needs a finite number."
            )
    for name in spec.positive:
        a = np.atleast_2d(np.asarray(values.get(name, 1.0), dtype=float))
        bad = np.argwhere(a <= 0)
        if len(bad):
            r, c = (int(i) for i in bad[0])
            out.append(
                f"{label(name, (r, c))} = {a[r, c]:g}: every entry of {name} must be > 0 "
                f"({spec.domain}); type a positive number."
            )
    return out


def result_problems(spec, arrays, label) -> list[str]:
    """Every computed matrix is finite before anything formats it: ``arrays`` lists
    (key, which method, matrix), e.g. ("d:X", "symbolic", a); ``label(key, (r, c))`` names a
    cell. One message, for the first entry that overflowed, with what to do about it."""
    for key, what, a in arrays:
        found = first_nonfinite(a)
        if found is None:
            continue
        idx, v, n = found
        more = f" (and {n - 1} more entries)" if n > 1 else ""
        hint = (
            "e^x overflows past x ≈ 709: use entries of smaller size."
            if spec.exp_overflow
            else "Use entries nearer 1 in size (a divisor or a log's input far from 0)."
        )
        if np.isnan(v):  # not an overflow: the function has no value there (sqrt of < 0)
            return [
                f"{label(key, idx)} comes out as nan (not a number) in the {what} "
                f"result{more}: the function is not defined at these numbers."
            ]
        return [
            f"{label(key, idx)} comes out as {v} in the {what} result{more}: it overflows "
            f"floating point. {hint}"
        ]
    return []


def url_edits(url: dict, shapes: dict) -> tuple[dict, list[str]]:
    """Hand-typed matrices a link carries (``X=1_2_3_4``, the upstream as ``up=``), for the
    given {name: shape}; a notice for each one that does not parse or has the wrong count."""
    out, notices = {}, []
    for name, shape in shapes.items():
        if name not in url:
            continue
        flat, why = decode_flat(url[name])
        n = shape[0] * shape[1]
        if flat is not None and len(flat) != n:
            flat, why = None, f"has {len(flat)} numbers where {shape[0]}×{shape[1]} needs {n}"
        if flat is None:
            notices.append(f"{name}: {why}")
        else:
            out[name] = np.array(flat, dtype=float).reshape(shape)
    return out, notices


def fallback_numbers(last, d) -> tuple[dict, np.ndarray] | None:
    """The last numbers that worked, if they still fit this derivation's shapes."""
    if not last:
        return None
    values, upstream = last
    fits = all(k in values and values[k].shape == d.inputs[k].shape for k in d.inputs)
    return last if fits and upstream.shape == d.upstream.shape else None
