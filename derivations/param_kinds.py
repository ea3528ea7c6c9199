"""An op's parameters as derive() takes them: :class:`Param` (name, label, default, bounds) and
its kind, one small class per kind of value, which knows how the value is written in a link
(``encode``), read back from one (``decode``: matched against the kind and its bounds, never
evaluated), typed on the command line (``cli_type``) and where its range ends (``extremes``).
The app draws a widget per kind (``ui.widgets``); the CLI (``derivations.cli``) and the links
(``ui.urlstate``) use the kinds as they are.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from dataclasses import dataclass

TEXT_LIMIT = 300  # the parser's own limit on a formula, for the command line
URL_CHARS = 20  # a link's value is cut to this before it is matched (a formula excepted)

_PAIR = re.compile(r"^\s*([0-9]{1,3})\s*[x×,]\s*([0-9]{1,3})\s*$")
_INT = re.compile(r"^\s*([0-9]{1,4})\s*$")
# separated by a dash, a comma, an x or spaces alone ("2 3 2")
_SIZES = re.compile(r"^\s*[0-9]{1,2}(?:(?:\s*[-,x×]\s*|\s+)[0-9]{1,2}){0,7}\s*$")
_FLOAT = re.compile(r"^\s*(-?[0-9]{1,3}(?:\.[0-9]{1,6})?)\s*$")
_CLI_PAIR = re.compile(r"^\s*(\d{1,6})\s*(?:[x×,]\s*(\d{1,6}))?\s*$")
DEFAULT = "default"  # what an optional pair's link says for "none given"


def parse_sizes(text: str) -> tuple[int, ...] | None:
    """'2-3-2', '2, 3, 2', '2 3 2' or '2x3x2' → (2, 3, 2); None for anything else (never
    evaluated)."""
    text = str(text)[:40]
    if not _SIZES.match(text):
        return None
    return tuple(int(v) for v in re.findall(r"[0-9]+", text))


def _cli_pair(text: str) -> tuple[int, int]:
    m = _CLI_PAIR.match(text.lower())
    if not m:
        raise argparse.ArgumentTypeError(f"expected a size like 3x3 or a number, got {text!r}")
    a = int(m.group(1))
    return (a, int(m.group(2)) if m.group(2) else a)


def _cli_sizes(text: str) -> tuple[int, ...]:
    v = parse_sizes(text)
    if v is None:
        raise argparse.ArgumentTypeError(f"expected sizes like 2-3-2, got {text!r}")
    return v


def _cli_text(text: str) -> str:
    if len(text) > TEXT_LIMIT:
        raise argparse.ArgumentTypeError(f"at most {TEXT_LIMIT} characters, got {len(text)}")
    return text


class Kind:
    """A kind of parameter value. ``decode`` returns None for text that does not fit (the
    widget then keeps its default); the base class reads plain strings."""

    # the command line's parser of one value (``bool``: a bare --flag, no value); two ops may
    # share a flag only with the same one
    cli_type: Callable[[str], object] = staticmethod(str)

    def encode(self, p: Param, value) -> str:
        return str(value)

    def decode(self, p: Param, text: str):
        return self.read(p, str(text)[:URL_CHARS])

    def read(self, p: Param, text: str):
        return text

    def extremes(self, p: Param) -> list:
        """The ends of the widget's range, and every value in between that is its own case."""
        return [p.lo, p.hi]

    def accepted(self, p: Param) -> str:
        """What a link may say, for the notice that ignores what it said instead."""
        return "text"


class Pair(Kind):
    """(rows, cols), each from ``lo`` to ``hi``; a link writes 3x4, or 3 for 3x3."""

    cli_type = staticmethod(_cli_pair)

    def encode(self, p, value) -> str:
        return "" if value is None else f"{value[0]}x{value[1]}"

    def read(self, p, text):
        m, single = _PAIR.match(text), _INT.match(text)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
        elif single:
            a = b = int(single.group(1))
        else:
            return None
        return (a, b) if p.lo <= a <= p.hi and p.lo <= b <= p.hi else None

    def extremes(self, p) -> list:
        return [(int(p.lo), int(p.lo)), (int(p.hi), int(p.hi))]

    def accepted(self, p) -> str:
        return f"rows x columns, each {int(p.lo)} to {int(p.hi)}, as in 3x4"


class OptionalPair(Pair):
    """A pair or None (a pooling stride: None is the window, PyTorch's default)."""

    def read(self, p, text):
        if text.strip() in ("", "none", DEFAULT):
            return DEFAULT
        return super().read(p, text)

    def extremes(self, p) -> list:
        return [*super().extremes(p), None]

    def accepted(self, p) -> str:
        return super().accepted(p) + ", or none"


class Int(Kind):
    """A whole number; shown (widget, link, CLI) as value + ``shown_from``."""

    cli_type = staticmethod(int)

    def encode(self, p, value) -> str:  # as the widget shows it: a link says class 4 too
        return str(value + p.shown_from)

    def read(self, p, text):
        m = _INT.match(text)
        v = int(m.group(1)) - p.shown_from if m else None
        return v if v is not None and p.lo <= v <= p.hi else None

    def extremes(self, p) -> list:
        return [int(p.lo), int(p.hi)]

    def accepted(self, p) -> str:
        return f"a whole number from {int(p.lo) + p.shown_from} to {int(p.hi) + p.shown_from}"


class Float(Kind):
    cli_type = staticmethod(float)

    def read(self, p, text):
        m = _FLOAT.match(text)
        if not m or not p.lo <= float(m.group(1)) <= p.hi:
            return None
        return float(m.group(1))

    def accepted(self, p) -> str:
        return f"a number from {p.lo:g} to {p.hi:g}"


class Choice(Kind):
    """One of ``choices``."""

    def read(self, p, text):
        return text if text in p.choices else None

    def extremes(self, p) -> list:
        return list(p.choices)

    def accepted(self, p) -> str:
        return "one of " + ", ".join(map(str, p.choices))


class Sizes(Kind):
    """A list of whole numbers (an MLP's layer sizes), ``count`` of them, each ``lo`` to ``hi``."""

    cli_type = staticmethod(_cli_sizes)

    def encode(self, p, value) -> str:
        return "-".join(map(str, value)) if isinstance(value, tuple) else ""

    def read(self, p, text):
        v = parse_sizes(text)
        if v is None or not p.count[0] <= len(v) <= p.count[1]:
            return None
        return v if all(p.lo <= n <= p.hi for n in v) else None

    def extremes(self, p) -> list:
        return [(int(p.lo),) * p.count[0], (int(p.hi),) * p.count[1]]

    def accepted(self, p) -> str:
        a, b = p.count
        many = f"{a}" if a == b else f"{a} to {b}"
        return f"{many} whole numbers, each {int(p.lo)} to {int(p.hi)}, as in 2-8-2"


class Bool(Kind):
    """A switch: a checkbox, a bare --flag on the command line, 1 or 0 in a link."""

    cli_type = staticmethod(bool)

    def encode(self, p, value) -> str:
        return "1" if value else "0"

    def read(self, p, text):
        return {"1": True, "true": True, "0": False, "false": False}.get(text.strip().lower())

    def extremes(self, p) -> list:
        return [False, True]

    def accepted(self, p) -> str:
        return "1 or 0"


class Text(Kind):
    """A formula the learner types, ``lo`` to ``hi`` characters, kept as text: derive() parses
    it, nothing evaluates it; ``choices`` holds examples."""

    cli_type = staticmethod(_cli_text)

    def decode(self, p, text):  # the whole formula, not cut short
        text = str(text)
        return text if p.lo <= len(text.strip()) <= p.hi else None

    def extremes(self, p) -> list:  # the default one (the parser's own tests do the rest)
        return [p.default]

    def accepted(self, p) -> str:
        return f"{int(p.lo)} to {int(p.hi)} characters"


PAIR, OPTIONAL_PAIR, INT, FLOAT = Pair(), OptionalPair(), Int(), Float()
CHOICE, SIZES, BOOL, TEXT = Choice(), Sizes(), Bool(), Text()


@dataclass(frozen=True)
class Param:
    name: str  # the derive() keyword
    label: str
    kind: Kind
    default: object
    lo: float = 0
    hi: float = 16
    choices: tuple = ()
    help: str = ""
    flag: str = ""  # the CLI's --flag (default: the name, dashed)
    shown_from: int = 0  # a widget shows value + shown_from (a 0-based class shown 1-based)
    count: tuple[int, int] = (1, 1)  # Sizes: how many numbers the list holds
    # the values of the parameters before it -> its largest value, where they bound it (a true
    # class by the number of classes), or None where they do not say (unreadable sizes)
    bound: Callable[[dict], int | None] | None = None

    def __post_init__(self):
        if not isinstance(self.kind, Kind):  # a kind named by a string was the old way
            raise TypeError(
                f"Param {self.name!r}: kind must be a Kind (INT, CHOICE, …), not {self.kind!r}"
            )

    @property
    def cli_flag(self) -> str:
        return (self.flag or self.name).replace("_", "-")

    def encode(self, value) -> str:
        return self.kind.encode(self, value)

    def decode(self, text: str):
        """The value from a link's text; None where it does not fit, ``DEFAULT`` for an
        optional pair's "none given"."""
        return self.kind.decode(self, text)

    def extremes(self) -> list:
        return self.kind.extremes(self)

    def ignored(self, text) -> str:
        """The notice for a link's value that does not fit: what it said and what fits."""
        return f"{self.name}={str(text)[:20]!r} ({self.kind.accepted(self)})"


def pair(name, label, default, lo, hi, tip="", flag="") -> Param:
    return Param(name, label, PAIR, default, lo, hi, help=tip, flag=flag)
