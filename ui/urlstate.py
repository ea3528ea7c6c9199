"""Lesson settings ↔ URL query parameters, so a lecturer can share
"conv2d, 4×4 input, stride 2, step 5" as a link. Pure parsing: URL text is never evaluated, it
is matched against each parameter's kind and bounds (``derivations.param_kinds``), and anything
else is dropped."""

from __future__ import annotations

from derivations.param_kinds import DEFAULT, Param, parse_sizes

__all__ = ["decode", "decode_value", "encode", "encode_value", "parse_sizes", "with_step"]


def encode_value(param: Param, value) -> str:
    return param.encode(value)


def decode_value(param: Param, text: str):
    """The parameter's value from URL text (as its kind reads it), or None when the text does
    not fit (then the widget keeps its default)."""
    return param.decode(text)


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
                out[p.name] = None if v == DEFAULT else v
    return out


def with_step(last: dict | None, shown: dict, step: int) -> dict[str, str]:
    """The link of a page at ``step`` (0-based; a link counts from 1): the link the page's last
    whole run wrote (else the one on show) with that step. Written whole because a step
    clicked before that run reached the browser carries the URL the page was opened with:
    the step added to that dropped the settings from the link."""
    return {**(shown if last is None else last), "step": str(step + 1)}
