"""Lesson settings ↔ URL query parameters, so a lecturer can share
"conv2d, 4×4 input, stride 2, step 5" as a link. Pure parsing: URL text is never evaluated, it
is matched against each parameter's kind and bounds, and anything else is dropped."""

from __future__ import annotations

import re

_PAIR = re.compile(r"^\s*([0-9]{1,3})\s*[x×,]\s*([0-9]{1,3})\s*$")
_INT = re.compile(r"^\s*([0-9]{1,4})\s*$")
# separated by a dash, a comma, an x or spaces alone ("2 3 2")
_SIZES = re.compile(r"^\s*[0-9]{1,2}(?:(?:\s*[-,x×]\s*|\s+)[0-9]{1,2}){0,7}\s*$")
_FLOAT = re.compile(r"^\s*(-?[0-9]{1,3}(?:\.[0-9]{1,6})?)\s*$")


def parse_sizes(text: str) -> tuple[int, ...] | None:
    """'2-3-2', '2, 3, 2', '2 3 2' or '2x3x2' → (2, 3, 2); None for anything else (never
    evaluated)."""
    text = str(text)[:40]
    if not _SIZES.match(text):
        return None
    return tuple(int(v) for v in re.findall(r"[0-9]+", text))


def encode_value(param, value) -> str:
    if param.kind in ("pair", "optional_pair"):
        return "" if value is None else f"{value[0]}x{value[1]}"
    if param.kind == "sizes":
        return "-".join(map(str, value)) if isinstance(value, tuple) else ""
    if param.kind == "bool":
        return "1" if value else "0"
    if param.kind == "int":  # as the widget shows it: a link says class 4 where the page does
        return str(value + param.shown_from)
    return str(value)


def decode_value(param, text: str):
    """The parameter's value from URL text, or None when the text does not fit (then the
    widget keeps its default)."""
    if param.kind == "text":  # kept as text (derive() parses it, never evaluates it)
        text = str(text)
        return text if param.lo <= len(text.strip()) <= param.hi else None
    text = str(text)[:20]
    if param.kind in ("pair", "optional_pair"):
        if param.kind == "optional_pair" and text.strip() in ("", "none", "default"):
            return "default"
        m, single = _PAIR.match(text), _INT.match(text)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
        elif single:
            a = b = int(single.group(1))
        else:
            return None
        if not (param.lo <= a <= param.hi and param.lo <= b <= param.hi):
            return None
        return (a, b)
    if param.kind == "int":
        m = _INT.match(text)
        v = int(m.group(1)) - param.shown_from if m else None
        return v if v is not None and param.lo <= v <= param.hi else None
    if param.kind == "sizes":
        v = parse_sizes(text)
        ok = v is not None and param.count[0] <= len(v) <= param.count[1]
        return v if ok and all(param.lo <= n <= param.hi for n in v) else None
    if param.kind == "float":
        m = _FLOAT.match(text)
        if not m or not param.lo <= float(m.group(1)) <= param.hi:
            return None
        return float(m.group(1))
    if param.kind == "choice":
        return text if text in param.choices else None
    if param.kind == "bool":
        return {"1": True, "true": True, "0": False, "false": False}.get(text.strip().lower())
    return None


def encode(spec, params: dict, extra: dict) -> dict[str, str]:
    q = {"op": spec.name}
    for p in spec.params:
        q[p.name] = encode_value(p, params.get(p.name, p.default))
    q.update({k: str(v) for k, v in extra.items()})
    return q


def decode(spec, query: dict) -> dict:
    """Parameter name → value for every parameter the query sets validly."""
    out = {}
    for p in spec.params:
        if p.name in query:
            v = decode_value(p, query[p.name])
            if v is not None:
                out[p.name] = None if v == "default" else v
    return out
