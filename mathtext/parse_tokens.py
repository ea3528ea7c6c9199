"""The checks on characters and tokens: pasted look-alikes read as ASCII, characters outside
the allow-list refused, and the mistakes people make most (a missing *, an operator with
nothing on one side, an unknown name, unbalanced brackets) caught with a message that says what
to change. No sympy: these run in the calling process."""

from __future__ import annotations

import keyword
import re
from typing import NoReturn

from .grammar import CALLABLE
from .parse_messages import (
    as_typed,
    at_char,
    equals_in_condition,
    equals_outside,
    not_a_function,
    show,
    unknown_name,
    where,
)

# look-alikes students paste from notes and slides, read as the ASCII they stand for
_PASTED = {
    "\u00b7": "*",  # · middle dot
    "\u00d7": "*",  # × multiplication sign
    "\u22c5": "*",  # ⋅ dot operator
    "\u2217": "*",  # ∗ asterisk operator
    "\u2212": "-",  # − minus sign
    "\u2013": "-",  # – en dash
    "\u00f7": "/",  # ÷
    "\u2265": ">=",  # ≥ (the app's own feedback and previews write conditions with it)
    "\u2264": "<=",  # ≤
    "\u2a7e": ">=",  # ⩾ slanted
    "\u2a7d": "<=",  # ⩽
    "\u00a0": " ",  # no-break space
    "\t": " ",
    "\n": " ",
    "\r": " ",
}
_ALLOWED = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 +-*/^().,_[]<>=")
_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>\*\*|<=|>=|==|[-+*/()\[\],<>=.])"
)
_BINARY_ONLY = {"*", "**", "/", "<", "<=", ">", ">=", "=="}
_OPEN = {"(": ")", "[": "]"}
_CLOSE = {")": "(", "]": "["}


def translate(text: str) -> tuple[str, list[int], int | None]:
    """The text with pasted look-alikes made ASCII and ^ made **, and for every character of
    the result the index of the character it came from; stops at the first character outside
    the allow-list and returns its index (else None)."""
    out: list[str] = []
    pos: list[int] = []
    for i, ch in enumerate(text):
        ch = _PASTED.get(ch, ch)
        if ch == "^":
            ch = "**"
        if not set(ch) <= _ALLOWED:
            return "".join(out), pos, i
        out.append(ch)
        pos += [i] * len(ch)  # ≥ → >= and ^ → ** point back to the one character typed
    return "".join(out), pos, None


def tokens_check(text: str, src: str, pos: list[int], names: dict, complete: bool) -> set:
    """The mistakes people make most, caught on the tokens with a message that says what to
    change: a missing *, an operator with nothing on one side, an unknown name or function,
    unbalanced brackets. Anything that passes is also parsed by ``ast`` (which has the last
    word); this pass only makes the messages better. ``complete`` is False when ``src`` is the
    part before a character that is not allowed: then an unfinished end is no problem yet.
    Returns the names of ``names`` the text uses."""
    toks = _tokens(text, src, pos)
    _equation_check(text, pos, toks)
    scan = _Scan(text, pos, names)
    for k, (kind, tok, at) in enumerate(toks):
        if not complete and k + 1 == len(toks) and kind == "name":
            break  # the name may go on past the cut (x², say): judge it whole, not here
        scan.step(kind, tok, at, toks[k + 1][1] if k + 1 < len(toks) else None)
    if complete:
        scan.finish()
    return scan.used


def _tokens(text: str, src: str, pos: list[int]) -> list[tuple[str, str, int]]:
    """(kind, token, index in ``src``) of every token but the spaces."""
    toks = []
    i = 0
    while i < len(src):
        m = _TOKEN.match(src, i)
        if m is None:  # cannot happen after translate's allow-list; be safe anyway
            raise ValueError(f"{show(text)}: unexpected character{where(text, pos, i)}")
        kind = m.lastgroup or ""  # every alternative of _TOKEN is a named group
        if kind != "space":
            toks.append((kind, m.group(), i))
        i = m.end()
    return toks


def _equation_check(text: str, pos: list[int], toks) -> None:
    """An = outside brackets means an equation was typed (dx11 = dz11*k22): say so first, since
    its left side would otherwise be judged as part of the answer (dx11 is no name)."""
    depth = 0
    for _, tok, at in toks:
        depth += (tok in _OPEN) - (tok in _CLOSE)
        if tok == "=" and depth <= 0:
            raise ValueError(equals_outside(text, pos[at]))


class _Scan:
    """tokens_check's pass over the tokens, left to right. ``prev`` is the role of the token
    before: None (the start), "operand", "open", "op" or "comma"; ``stack`` holds the brackets
    still open, ``used`` the names of the lesson seen so far."""

    def __init__(self, text: str, pos: list[int], names: dict):
        self.text, self.pos, self.names = text, pos, names
        self.stack: list[tuple[str, int]] = []
        self.prev: str | None = None
        # the token before: read only once ``prev`` says there was one
        self.prev_tok, self.prev_at, self.prev_kind = "", 0, ""
        self.used: set[str] = set()

    def fail(self, problem: str) -> NoReturn:
        raise ValueError(f"{show(self.text)}: {problem}")

    def typed(self, at: int, tok: str) -> str:
        return as_typed(self.text, self.pos, at, tok)

    def char(self, at: int) -> str:
        return at_char(self.text, self.pos, at)

    def step(self, kind: str, tok: str, at: int, nxt: str | None) -> None:
        loc = where(self.text, self.pos, at)
        if kind == "name":
            self.name(tok, loc, nxt)
        if kind in ("number", "name") or tok in _OPEN:
            self.operand(kind, tok, at, loc)
        self.prev = self.role(kind, tok, at, loc)
        self.prev_tok, self.prev_at, self.prev_kind = tok, at, kind

    def name(self, tok: str, loc: str, nxt: str | None) -> None:
        if tok in keyword.kwlist:
            self.fail(f"`{tok}` is a Python keyword, not part of a formula{loc}")
        if nxt == "(" and tok not in CALLABLE:
            raise ValueError(not_a_function(self.text, tok, self.names, loc))
        if nxt != "(" and tok not in self.names:
            raise ValueError(unknown_name(self.text, tok, self.names, loc))
        if tok in self.names:
            self.used.add(tok)

    def operand(self, kind: str, tok: str, at: int, loc: str) -> None:
        """A value or an opening bracket: right after another value, a * is missing (or a name
        is called as if it were a function)."""
        if self.prev == "operand" and not (tok == "(" and self.prev_tok in CALLABLE):
            if tok == "(" and self.prev_kind == "name":
                raise ValueError(not_a_function(self.text, self.prev_tok, self.names, loc))
            before = self.typed(self.prev_at, self.prev_tok)
            self.fail(f"a * is missing between {before} and {self.typed(at, tok)}{loc}")
        if kind == "number" and re.fullmatch(r"0+[0-9]+", tok):
            self.fail(f"write {self.typed(at, tok)} without its leading zeros{loc}")

    def role(self, kind: str, tok: str, at: int, loc: str) -> str:
        """The token's role for the one after it; refuses a token that cannot stand here."""
        if tok in _OPEN:
            self.stack.append((tok, at))
            return "open"
        if tok in _CLOSE:
            self.close(tok, at, loc)
            return "operand"
        if tok == ",":
            if self.prev != "operand":
                self.fail(f"a , with nothing before it{loc}")
            return "comma"
        self.refuse(tok, at, loc)
        if kind == "op":
            if tok in _BINARY_ONLY and self.prev != "operand":
                self.fail(f"a {self.typed(at, tok)} with nothing before it{loc}")
            return "op"
        return "operand"

    def refuse(self, tok: str, at: int, loc: str) -> None:
        """., = and ==, which are never part of an answer."""
        if tok == ".":
            self.fail(
                f"a . can only be a decimal point, as in 0.5{loc}; "
                "there is nothing to look up with . here"
            )
        if tok == "=" and any(opener == "[" for opener, _ in self.stack):
            known = self.prev_kind == "name" and self.prev_tok in self.names
            left = self.prev_tok if known else None
            raise ValueError(equals_in_condition(self.text, self.pos[at], left))
        if tok == "=":  # inside ( ): _equation_check took those outside all brackets
            raise ValueError(equals_outside(self.text, self.pos[at], whole=False))
        if tok == "==":
            self.fail(
                f"== is not available; conditions are [a > b], [a >= b], [a < b] or [a <= b]{loc}"
            )

    def close(self, tok: str, at: int, loc: str) -> None:
        if not self.stack:
            self.fail(f"the {self.typed(at, tok)}{self.char(at)} has no matching {_CLOSE[tok]}")
        opener, oat = self.stack.pop()
        if _OPEN[opener] != tok:
            self.fail(
                f"the {opener}{self.char(oat)} is closed by {self.typed(at, tok)}{self.char(at)}"
            )
        if self.prev == "open":
            self.fail(f"there is nothing inside the {opener}{tok}{loc}")
        if self.prev in ("op", "comma"):
            self.nothing_after()

    def nothing_after(self) -> None:
        self.fail(
            f"the {self.typed(self.prev_at, self.prev_tok)}{self.char(self.prev_at)} "
            "has nothing after it"
        )

    def finish(self) -> None:
        """At the end of a complete text: every bracket closed, no operator left hanging."""
        if self.stack:
            opener, oat = self.stack[-1]
            self.fail(f"the {opener}{self.char(oat)} is never closed")
        if self.prev in ("op", "comma"):
            self.nothing_after()
