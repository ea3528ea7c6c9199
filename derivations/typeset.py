"""Typesetting the lessons' LaTeX to fit a column: the one width model and the one line-breaker.

KaTeX never wraps a formula, so every lesson line is broken here, before it reaches the page.
Widths are measured in *units* of a model calibrated on Chromium's KaTeX (about 11.5 px of
display math at the median, fractions as wide as their wider part, scripts at 70%). How many
units a line holds depends on the column the formula is drawn in, and that column is made by the
app: ``ui/layout.py`` turns its column widths into units with :func:`units_for`, and passes them
in as a :class:`Typeset`. ``LINE_WIDTH`` is the step column of a 1280 px window, the default for
the CLI and the exports.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

PX_PER_UNIT = 13.5  # 11.5 px at the median glyph; the margin keeps the widest formulas inside
LINE_WIDTH = 37  # units_for(500): the lesson's step column at 1280 px
MATRIX_ROWS = 16  # rows a written-out matrix shows before eliding the middle ones
MAX_LINES = 36  # expansions listed in one step before the rest is elided
SUM_LINES = 3  # lines one sum of a list shows before the middle of it is elided
# KaTeX stacks the rows of an array by its strut, not by what is in them: a row of \dfrac
# ∂L/∂z runs into the next unless the gap makes room (measured in Chromium: 1.2em leaves the
# 0.3em that plain rows with a 2pt gap have)
ROW_GAP, FRACTION_ROW_GAP = "2pt", "1.2em"


MIN_UNITS = 8  # the narrowest column the line-breaker works to


def units_for(px: float) -> int:
    """How many width units a column of ``px`` pixels holds."""
    return max(MIN_UNITS, int(px // PX_PER_UNIT))


# ---------------------------------------------------------------- the width model

# rough widths in units, spacing included
_CMD_WIDTH = {
    "quad": 1.6,
    "qquad": 3.2,
    ",": 0.3,
    ";": 0.45,
    " ": 0.4,
    "!": -0.2,
    "cdot": 1.3,
    "circledast": 2.2,
    "odot": 2.2,
    "times": 2.0,
    "to": 2.6,
    "Rightarrow": 2.8,
    "sum": 1.8,
    "log": 2.2,
    "max": 2.6,
    "exp": 2.4,
    "tanh": 3.2,
    "sigma": 1.0,
    "partial": 1.0,
    "dots": 1.6,
    "cdots": 1.6,
    "vdots": 0.6,
    "ddots": 1.6,
    "checkmark": 1.0,
}
_SKIP_GROUP = {"begin", "end", "color"}  # their {argument} takes no width
_TEXT = {"text", "mathrm", "operatorname"}
_CHAR = {"=": 2.2, "+": 2.0, "-": 2.0, ",": 0.8, "&": 0.0, " ": 0.0, "}": 0.0}


def _group(tex: str, i: int) -> int:
    """Index just past the brace group that opens at tex[i] (or the one character there)."""
    if i >= len(tex) or tex[i] != "{":
        return min(i + 1, len(tex))
    depth = 0
    for j in range(i, len(tex)):
        if tex[j] == "{":
            depth += 1
        elif tex[j] == "}":
            depth -= 1
            if depth == 0:
                return j + 1
    return len(tex)


def _inner(tex: str, i: int) -> tuple[str, int]:
    end = _group(tex, i)
    return (tex[i + 1 : end - 1] if tex[i : i + 1] == "{" else tex[i:end]), end


@lru_cache(maxsize=1 << 16)  # the same summands and cells are measured in step after step
def visible_len(tex: str) -> int:
    """A formula's rough width in units (rounded): the budget the line-breaking works in."""
    return round(_width(tex))


def _command(tex: str, i: int, name: str) -> tuple[float, int]:
    """Width of the command ``\\name`` whose arguments start at tex[i], and the index past it."""
    if name in ("frac", "dfrac", "tfrac"):
        num, i = _inner(tex, i)
        den, i = _inner(tex, i)
        return max(_width(num), _width(den)) + 0.4, i
    if name in _TEXT:
        body, i = _inner(tex, i)
        return 0.8 * len(body), i
    if name in _SKIP_GROUP:
        return 0.0, _inner(tex, i)[1]
    if name in ("left", "right", "big", "Big", "bigg"):
        # the delimiter that follows: one character, or a command such as \lfloor
        d = re.match(r"\\[a-zA-Z]+|\\.|.", tex[i:])
        return 0.6, i + (len(d.group(0)) if d else 0)
    if name in ("underbrace", "overbrace"):
        # the label sits under (over) the body, not beside it
        body, i = _inner(tex, i)
        label = ""
        if tex[i : i + 1] in ("_", "^"):
            label, i = _inner(tex, i + 1)
        return max(_width(body), 0.7 * _width(label)), i
    if name in ("cancel", "boxed", "mathbf", "mathit", "\\"):
        return 0.0, i  # their argument is counted when it is read next
    return _CMD_WIDTH.get(name, 1.0), i


def _width(tex: str) -> float:
    total, i = 0.0, 0
    while i < len(tex):
        ch = tex[i]
        if ch == "\\":
            m = re.match(r"[a-zA-Z]+|.", tex[i + 1 :])
            name = m.group(0) if m else ""
            i += 1 + len(name)
            while i < len(tex) and tex[i] == " " and name.isalpha():
                i += 1
            w, i = _command(tex, i, name)
            total += w
        elif ch in "_^":
            body, i = _inner(tex, i + 1)
            total += 0.7 * _width(body)
        elif ch == "{":
            body, i = _inner(tex, i)
            total += _width(body)
        else:
            total += _CHAR.get(ch, 0.6 if ch in "()[]|" else 1.0)
            i += 1
    return total


_MATRIX = re.compile(r"\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}", re.S)
_ROW_BREAK = re.compile(r"\\\\(?:\[[^\]]*\])?")


def tex_width(tex: str) -> int:
    """A formula's width in units: its widest line, where a matrix counts its widest row."""

    def matrix(m) -> str:
        rows = _ROW_BREAK.split(m.group(1))
        return "M" * round(max(sum(visible_len(c) + 1.2 for c in r.split("&")) for r in rows) + 1)

    return max(visible_len(line) for line in _ROW_BREAK.split(_MATRIX.sub(matrix, tex)))


# ---------------------------------------------------------------- the line-breaker


def break_lines(
    pieces: list[str],
    width: float,
    *,
    measure: Callable[[str], float] = visible_len,
    gap: float = 0,
    most: int | None = None,
) -> list[list[str]]:
    """Pieces, in order, greedily onto lines of at most ``width`` units, each piece counting
    ``measure(piece) + gap`` and at most ``most`` pieces a line. A piece wider than a line gets
    a line of its own. Every wrapped formula in the lessons goes through here."""
    lines: list[list[str]] = []
    used = 0.0
    for p in pieces:
        w = measure(p) + gap
        full = most is not None and lines and len(lines[-1]) >= most
        if lines and lines[-1] and not full and used + w <= width:
            lines[-1].append(p)
            used += w
        else:
            lines.append([p])
            used = w
    return lines


# ---------------------------------------------------------------- small LaTeX pieces


def aligned(lines: list[str]) -> str:
    return r"\begin{aligned} " + r" \\ ".join(lines) + r" \end{aligned}"


def ordered_sum(parts: list[str]) -> str:
    """Join LaTeX summands in the order given (sympy would re-sort them), minding signs."""
    if not parts:
        return "0"
    out = parts[0]
    for p in parts[1:]:
        out += f" - {p[1:].lstrip()}" if p.startswith("-") else f" + {p}"
    return out


def continuation(chunk: str) -> str:
    """The next line of a wrapped sum in an ``aligned`` block: '&\\quad + …' or '&\\quad - …'."""
    lead = "-" if chunk.startswith("-") else "+"
    return rf"&\quad {lead} {chunk.lstrip('-').lstrip()}"


def equalities(
    lhs: str,
    groups: Sequence[tuple[list[str], Callable[[list[str]], str]]],
    total: str,
    width: int | None,
) -> str:
    """'lhs = a + b = (1)(2) + … = total' on one line, or, where that is wider than ``width``
    units, an aligned block: each group (its summands, and how to join them) starts a line of
    its own, and a long one wraps onto continuation lines."""
    line = " = ".join([lhs, *(join(parts) for parts, join in groups), total])
    if width is None or visible_len(line) <= width:
        return line
    rows: list[str] = []
    for parts, join in groups:
        for k, chunk in enumerate(Typeset(width).wrap(parts)):
            body = join(chunk)
            if not rows:
                rows.append(f"{lhs} &= {body}")
            elif k == 0:
                rows.append(f"&= {body}")
            else:
                rows.append(continuation(body))
    rows.append(f"&= {total}")
    return aligned(rows)


def tex(e) -> str:
    """``sympy.latex(e)``. A symbol whose name holds a brace (x_{11}, \\frac{∂L}{∂z_{11}}: every
    symbol the lessons make) prints as its name, so that is returned without setting up a
    printer, which took a third of a big derivation's typesetting."""
    if e.__class__ is sp.Symbol and "{" in e.name:
        return e.name
    return sp.latex(e)


def product_latex(coef, factors) -> str:
    """coef · f1 · f2 … as the notes write it: x_{11} k_{11}, \\frac{1}{4} x_{11}, - n_{11}."""
    body = " ".join(tex(f) for f in factors)
    if coef == 1:
        return body or "1"
    if coef == -1:
        return f"-{body}" if body else "-1"
    return f"{sp.latex(coef)} {body}".strip()


def paren(e) -> str:
    s = tex(e)
    return f"\\left({s}\\right)" if isinstance(e, (sp.Add, sp.Piecewise)) else s


def num(v: float) -> str:
    v = float(v)
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.4g}"


def check_mark(ok: bool) -> str:
    return r"\quad \color{green}{\checkmark}" if ok else r"\quad \color{red}{\times}"


def elide(items: list, limit: int = MAX_LINES) -> tuple[list, int]:
    """The items to list, and how many were left out (the first and last ones are kept)."""
    if len(items) <= limit:
        return items, 0
    head = items[: limit - 2]
    return head + [None] + items[-1:], len(items) - len(head) - 1


def plural(n: int, word: str) -> str:
    """'1 sample', '3 samples': the lesson texts are built from the chosen sizes, which can be 1."""
    return f"{n} {word}" + ("" if n == 1 else "s")


def article(n: int) -> str:
    """'a 6×6', 'an 8×8', 'an 11×11': the article a size takes, read aloud."""
    return "an" if n in (11, 18) or str(n).startswith("8") else "a"


def _shown(n: int, limit: int) -> list[int | None]:
    """Indices to write out: all of them, or the first limit − 2, a gap (None), the last."""
    return list(range(n)) if n <= limit else [*range(limit - 2), None, n - 1]


def _shown_cols(widths: list[float], room: float) -> list[int | None]:
    """As many leading columns as fit ``room`` units next to a ⋯ and the last column (2 at the
    least), or all of them when they fit."""
    if sum(widths) <= room:
        return list(range(len(widths)))
    keep, used = 0, 3 + widths[-1]
    while keep < len(widths) - 2 and (keep < 2 or used + widths[keep] <= room):
        used += widths[keep]
        keep += 1
    return [*range(keep), None, len(widths) - 1]


# ---------------------------------------------------------------- a column of a given width


@dataclass(frozen=True)
class Typeset:
    """LaTeX that fits a column ``width`` units wide: matrices elide, sums and wide displays
    break onto lines."""

    width: int = LINE_WIDTH

    def bmatrix(self, m: sp.Matrix, fmt=None, lead: float = 8) -> str:
        """A matrix as LaTeX; past MATRIX_ROWS rows, or wider than the line less ``lead`` units
        (what shares its line: '= ', an operator), the middle is elided with ⋯ ⋮ ⋱ (the checks
        behind a step always use the whole matrix)."""
        fmt = fmt or tex
        # \dfrac: a fraction inside a matrix is set in script size, too small to read projected
        rows = _shown(m.rows, MATRIX_ROWS)
        cells = {
            r: [fmt(m[r, c]).replace(r"\frac{", r"\dfrac{") for c in range(m.cols)]
            for r in rows
            if r is not None
        }
        widths = [max(visible_len(t[c]) + 1.2 for t in cells.values()) for c in range(m.cols)]
        cols = _shown_cols(widths, self.width - lead)

        def cell(r, c) -> str:
            if r is None:
                return r"\ddots" if c is None else r"\vdots"
            return r"\cdots" if c is None else cells[r][c]

        lines = [" & ".join(cell(r, c) for c in cols) for r in rows]
        tall = any(r"\dfrac" in c for row in cells.values() for c in row)
        gap = rf" \\[{FRACTION_ROW_GAP if tall else ROW_GAP}] "
        return r"\begin{bmatrix} " + gap.join(lines) + r" \end{bmatrix}"

    def flow(self, pieces: list[str]) -> str:
        """The pieces of one wide display ("[X]", "⊛ [K]", "+ b", "= [Z]") on as few lines as
        fit, for a ``gathered`` block."""
        lines = break_lines(pieces, self.width, measure=tex_width)
        # a spacer meant to follow a comma does not start a line
        text = [" ".join([re.sub(r"^\\q?quad\s*", "", ln[0]), *ln[1:]]) for ln in lines]
        text[0] = " ".join(lines[0]) if lines else ""
        return r" \\[6pt] ".join(text)

    def gathered(self, *blocks: str | list[str]) -> str:
        """Blocks one under another; a block given as a list of pieces is flowed onto lines."""
        lines = [self.flow(b) if isinstance(b, list) else b for b in blocks]
        return r"\begin{gathered} " + r" \\[6pt] ".join(lines) + r" \end{gathered}"

    def wrap(self, parts: list[str], width: int | None = None) -> list[list[str]]:
        """Summands grouped onto lines of the column (or ``width``) units."""
        return break_lines(parts, width or self.width, gap=2)

    def sum_lines(
        self, parts: list[str], most_lines: int | None = None, per_line: int | None = 4
    ) -> list[str]:
        """A long sum as ``aligned`` lines: '&= a + b + c + d', then '&\\quad + e + …', at most
        ``per_line`` summands a line. A sum of twice ``most_lines`` lines or more is elided to
        ``most_lines``, the last '&\\quad + ⋯ + z (n terms)' (one just over the limit stays: it
        would lose more than it saves). A step listing many sums stays readable that way, and
        within KaTeX's budget of macro expansions (every \\quad is one)."""
        chunks = break_lines(parts, self.width, gap=2, most=per_line) or [[]]
        kept = None if most_lines is None else max(most_lines, 2)
        elided = kept is not None and len(chunks) >= 2 * kept
        if kept is not None and elided:
            chunks = chunks[: kept - 1] + [[r"\cdots", parts[-1]]]
        lines = ["&= " + ordered_sum(chunks[0])] + [
            continuation(ordered_sum(c)) for c in chunks[1:]
        ]
        if elided:
            note = rf"\quad \text{{({len(parts)} terms)}}"
            fits = visible_len(lines[-1] + note) <= self.width
            lines[-1:] = [lines[-1] + note] if fits else [lines[-1], "&" + note]
        return lines

    def call_lines(self, head: str, args: list[str], rows: int = 1, lead: float = 8) -> list[str]:
        """A function of many arguments as ``aligned`` lines: '&= \\max(a, b, c,', then
        '&\\quad d, e)' (plain parentheses: \\left( … \\right) cannot break), with ``lead``
        units before it on the first line. Arguments that come in ``rows`` equal rows (a
        window's) start a line each, or two or more lines a row where a row does not fit one."""
        room = self.width - lead - visible_len(head) - 2
        per_row = len(args) // rows if len(args) % rows == 0 else 1
        groups = args  # at worst, lines break between any two arguments
        for parts in range(1, per_row):  # a row in 1, 2, … equal parts, the fewest that fit
            size = -(-per_row // parts)
            rowed = [
                ", ".join(args[r + i : r + min(i + size, per_row)])
                for r in range(0, len(args), per_row)
                for i in range(0, per_row, size)
            ]
            if max(visible_len(g) for g in rowed) <= room:
                groups = rowed
                break
        pieces = [f"{g}," for g in groups[:-1]] + [f"{groups[-1]})"]
        chunks = break_lines(pieces, room, gap=0.4)
        return [f"&= {head}(" + " ".join(chunks[0])] + [
            r"&\quad " + " ".join(c) for c in chunks[1:]
        ]


DEFAULT = Typeset()
