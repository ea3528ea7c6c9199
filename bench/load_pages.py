"""What the load test's sessions open and type: the lesson links (light ones, and the heaviest
the sidebar allows, picked from the registry's bounds), the right answer to the practice
question a page shows (derived here from the page's own URL and the question's key, then typed
as a learner types it), the slow answers of the issue's hostile loop, and how a verdict on the
page reads."""

from __future__ import annotations

import itertools
import re
from functools import cache
from urllib.parse import parse_qsl, urlencode

import sympy as sp

from derivations import WORK, derive, work
from grading import names_for
from mathtext.typed_names import inverse_names
from ui import urlstate
from ui.practice_model import expected, owner
from ui.registry import OPS

LECTURE = ("conv2d", "input_shape=4x4&kernel_shape=2x2")  # the link a lecturer projects
STEPPED = [  # what the steppers of the mixed and training scenarios step through
    ("conv2d", ""),
    ("conv_transpose2d", ""),
    ("pooling", "op=max_pool2d"),
    ("dense", ""),
    ("softmax", ""),
]
PRACTICE = [  # lessons whose first question has a sum of products for an answer
    ("conv2d", ""),
    ("conv2d", "input_shape=4x4&kernel_shape=2x2"),
    ("conv2d", "input_shape=4x4&kernel_shape=3x3"),
    ("conv_transpose2d", ""),
    ("dense", ""),
]
LIGHT = ("elementwise", "op=sigmoid")  # the replay: this page's load time is measured
LIGHT_BESIDE = [("elementwise", f"op={op}") for op in ("relu", "tanh", "exp", "softplus")]
HEAVY_ROUNDS = [  # the four concurrent links (pooling within the sidebar's bounds),
    # then two more rounds of four like them, each a derivation of its own
    [
        ("pooling", f"op=max_pool2d&input_shape={s}&kernel_size=6x6&stride=1&padding=3")
        for s in sizes
    ]
    for sizes in (
        ("14x14", "13x16", "16x12", "12x16"),
        ("15x13", "13x15", "14x16", "16x14"),
        ("15x12", "12x15", "14x13", "13x14"),
    )
]
SLOW_ANSWER = "relu(relu(log(sigmoid(sigmoid(x11 + {n})))))"  # ~130 s for sympy, refused sooner
BIG_INPUTS = [(a, b) for a in (16, 15, 14) for b in (16, 15, 14)]


def _pairs(prm) -> list:
    if prm.name == "input_shape":
        return BIG_INPUTS
    if prm.name in ("kernel_shape", "kernel_size"):
        return [(int(prm.hi),) * 2]
    if prm.name == "stride":
        return [(int(prm.lo),) * 2]
    return [(v, v) for v in range(int(prm.lo), int(prm.hi) + 1)]


@cache
def heaviest(op: str) -> list[tuple[int, dict]]:
    """The op's settings within the sidebar's bounds, most partial derivatives first (the
    largest inputs, the largest kernel at stride 1, every padding and dilation)."""
    spec = OPS[op]
    names = [p.name for p in spec.params]
    found = []
    for values in itertools.product(*[_pairs(p) for p in spec.params]):
        params = dict(zip(names, values, strict=True))
        try:
            found.append((work(op, **params), params))
        except ValueError:
            pass  # not a valid combination (a kernel past the padded input, …)
    return sorted(found, key=lambda wp: -wp[0])


def link(op: str, params: dict) -> tuple[str, str]:
    spec = OPS[op]
    query = {k: v for k, v in urlstate.encode(spec, params, {}).items() if v}
    return spec.page.url, urlencode(query)


def heavy_links(n: int) -> list[tuple[str, str]]:
    """``n`` different heavy lesson links, taking in turn each op's next heaviest settings with
    an input shape not used yet for that op (so no two share a derivation)."""
    per_op = {}
    for op in WORK:
        seen, picks = set(), []
        for _, params in heaviest(op):
            if params["input_shape"] not in seen:
                seen.add(params["input_shape"])
                picks.append(params)
        per_op[op] = picks
    rounds = itertools.zip_longest(*per_op.values())
    ops = list(per_op)
    out = [link(ops[i], p) for row in rounds for i, p in enumerate(row) if p is not None]
    return out[:n]


def took(query: str, page_query: str) -> bool:
    """Whether the page took every setting of the link (a refused one falls back to its
    default), compared as the page reads them (stride=1 is stride=1x1)."""
    asked, shown = dict(parse_qsl(query)), dict(parse_qsl(page_query))
    spec = OPS.get(shown.get("op", ""))
    if spec is None or asked.get("op", spec.name) != spec.name:
        return False
    want, got = urlstate.decode(spec, asked), urlstate.decode(spec, shown)
    return all(got.get(k) == v for k, v in want.items())


_KEY = re.compile(r"/practice/q/(?P<op>[a-z_0-9]+)/(?P<grad>\w+)/(?P<r>\d+)_(?P<c>\d+)/answer$")


@cache
def _entry(op: str, query: tuple, grad: str, idx: tuple) -> tuple[str, ...]:
    spec = OPS[op]
    params = {p.name: p.default for p in spec.params}
    params.update(urlstate.decode(spec, dict(query)))
    d = derive(op, **params)
    part, _ = owner(d, grad)
    typed = {s: sp.Symbol(n) for s, n in inverse_names(names_for(part)).items() if s.is_Symbol}
    value = expected(d, grad, idx).xreplace(typed)
    return tuple(str(t) for t in sp.Add.make_args(value))


def right_answer(key: str, page_query: str, variant: int = 0) -> str:
    """The right answer to the question whose box has the widget key ``key`` on the page at
    ``page_query``, typed as learners do: the terms in an order that depends on ``variant``,
    with or without spaces (a different text for a different learner, the same value)."""
    m = _KEY.search(key)
    if m is None:
        raise LookupError(f"{key!r} is not a practice question's answer box")
    query = tuple(sorted(parse_qsl(page_query)))
    terms = list(_entry(m["op"], query, m["grad"], (int(m["r"]) - 1, int(m["c"]) - 1)))
    k = variant % len(terms)
    terms = terms[k:] + terms[:k]
    return (" + " if variant % 2 else "+").join(terms)


def slow_answer(n: int) -> str:
    return SLOW_ANSWER.format(n=n)


def verdict(alerts: list[tuple[str, str]]) -> str:
    """How the verdict below an answer box reads, from the boxes there (``Page.alerts``): the
    last success, error or warning is the verdict ("correct", "busy" or "wrong"); "none" when
    there is none (an info box is news of progress, not a verdict)."""
    said = [body for fmt, body in alerts if fmt in ("SUCCESS", "ERROR", "WARNING")]
    if not said:
        return "none"
    if said[-1].startswith("Correct"):
        return "correct"
    return "busy" if "busy" in said[-1].lower() else "wrong"
