"""The machinery every derivation shares: symbol matrices, the sparse Jacobian built term by
term, gradients, numeric evaluation, and the LaTeX of chain-rule steps.

A derivation is described by its inputs (sympy matrices of symbols), its outputs, and a sparse
Jacobian ``jac[name][(r, c)] = {(i, j): ∂z_ij/∂a_rc}`` holding only the non-zero partials. The
gradient is then ∂L/∂a_rc = Σ_ij ∂L/∂z_ij · ∂z_ij/∂a_rc over those entries alone, so the cost grows
with the number of terms instead of (outputs × symbols), which is what plain ``sympy.diff`` of the
whole loss would cost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import sympy as sp

MAX_SIDE = 16  # the largest matrix side a derivation accepts: past it nobody reads the steps
MAX_LINES = 36  # expansions listed in one step before the rest is elided


# ---------------------------------------------------------------- symbols and matrices


def index_label(r: int, c: int, shape: tuple[int, int]) -> str:
    """1-based 'rc' (x_{11}); with a comma once a side passes 9, so x_{1,10} ≠ x_{11,0}."""
    if max(shape) > 9:
        return f"{r + 1},{c + 1}"
    return f"{r + 1}{c + 1}"


def symbol_matrix(letter: str, shape: tuple[int, int], vector: bool = False) -> sp.Matrix:
    """Matrix of symbols named like the notes: x_{11} … ; vectors (1×n) get one index, b_{1}."""
    rows, cols = shape
    if vector:
        return sp.Matrix(1, cols, lambda r, c: sp.Symbol(f"{letter}_{{{c + 1}}}"))
    return sp.Matrix(rows, cols, lambda r, c: sp.Symbol(f"{letter}_{{{index_label(r, c, shape)}}}"))


def upstream_matrix(loss: str, out: sp.Matrix) -> sp.Matrix:
    """∂L/∂z_ij as symbols whose names are their own LaTeX."""
    return out.applyfunc(
        lambda s: sp.Symbol(rf"\frac{{\partial {loss}}}{{\partial {sp.latex(s)}}}")
    )


MATRIX_ROWS = 16  # rows a written-out matrix shows before eliding the middle ones


def _shown(n: int, limit: int) -> list[int | None]:
    """Indices to write out: all of them, or the first limit − 2, a gap (None), the last."""
    return list(range(n)) if n <= limit else [*range(limit - 2), None, n - 1]


def _shown_cols(widths: list[int], room: int) -> list[int | None]:
    """As many leading columns as fit ``room`` letter widths next to a ⋯ and the last column
    (2 at the least), or all of them when they fit."""
    if sum(widths) <= room:
        return list(range(len(widths)))
    keep, used = 0, 3 + widths[-1]
    while keep < len(widths) - 2 and (keep < 2 or used + widths[keep] <= room):
        used += widths[keep]
        keep += 1
    return [*range(keep), None, len(widths) - 1]


def bmatrix(m: sp.Matrix, fmt=None) -> str:
    """A matrix as LaTeX. Past MATRIX_ROWS rows, or wider than a lesson line, the middle is
    elided with ⋯ ⋮ ⋱ (the checks behind a step always use the whole matrix): KaTeX never wraps,
    and a 10-column matrix of ∂L/∂z fractions already runs off the column."""
    fmt = fmt or sp.latex
    # \dfrac: a fraction inside a matrix is set in script size, too small to read projected
    rows = _shown(m.rows, MATRIX_ROWS)
    tex = {
        r: [fmt(m[r, c]).replace(r"\frac{", r"\dfrac{") for c in range(m.cols)]
        for r in rows
        if r is not None
    }
    widths = [max(visible_len(t[c]) + 1.2 for t in tex.values()) for c in range(m.cols)]
    cols = _shown_cols(widths, LINE_WIDTH - 8)

    def cell(r, c) -> str:
        if r is None:
            return r"\ddots" if c is None else r"\vdots"
        return r"\cdots" if c is None else tex[r][c]

    lines = [" & ".join(cell(r, c) for c in cols) for r in rows]
    return r"\begin{bmatrix} " + r" \\[2pt] ".join(lines) + r" \end{bmatrix}"


def aligned(lines: list[str]) -> str:
    return r"\begin{aligned} " + r" \\ ".join(lines) + r" \end{aligned}"


def elide(items: list, limit: int = MAX_LINES) -> tuple[list, int]:
    """The items to list, and how many were left out (the first and last ones are kept)."""
    if len(items) <= limit:
        return items, 0
    head = items[: limit - 2]
    return head + [None] + items[-1:], len(items) - len(head) - 1


def plural(n: int, word: str) -> str:
    """'1 sample', '3 samples': the lesson texts are built from the chosen sizes, which can be 1."""
    return f"{n} {word}" + ("" if n == 1 else "s")


def ordered_sum(parts: list[str]) -> str:
    """Join LaTeX summands in the order given (sympy would re-sort them), minding signs."""
    if not parts:
        return "0"
    out = parts[0]
    for p in parts[1:]:
        out += f" - {p[1:].lstrip()}" if p.startswith("-") else f" + {p}"
    return out


LINE_WIDTH = 37  # letter widths per line (see visible_len): the step column is ~500 px at 1280
# rough widths in letter widths (~10 px of KaTeX display math), spacing included
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


def visible_len(tex: str) -> int:
    """Rounded _width: the glyph budget the lesson's line-breaking works in."""
    return round(_width(tex))


def _width(tex: str) -> float:
    """A formula's rough width in letter widths (about 10 px of KaTeX display math): fractions
    as wide as their wider part, scripts at 70%, operators with their spacing. Calibrated
    against Chromium's rendering of the lesson steps; tests/test_browser.py checks that no step
    runs off its column at 1280 px."""
    total, i = 0.0, 0
    while i < len(tex):
        ch = tex[i]
        if ch == "\\":
            m = re.match(r"[a-zA-Z]+|.", tex[i + 1 :])
            name = m.group(0) if m else ""
            i += 1 + len(name)
            while i < len(tex) and tex[i] == " " and name.isalpha():
                i += 1
            if name in ("frac", "dfrac", "tfrac"):
                num, i = _inner(tex, i)
                den, i = _inner(tex, i)
                total += max(_width(num), _width(den)) + 0.4
            elif name in _TEXT:
                body, i = _inner(tex, i)
                total += 0.8 * len(body)
            elif name in _SKIP_GROUP:
                _, i = _inner(tex, i)
            elif name in ("left", "right", "big", "Big", "bigg"):
                # the delimiter that follows: one character, or a command such as \lfloor
                d = re.match(r"\\[a-zA-Z]+|\\.|.", tex[i:])
                i += len(d.group(0)) if d else 0
                total += 0.6
            elif name in ("underbrace", "overbrace"):
                # the label sits under (over) the body, not beside it
                body, i = _inner(tex, i)
                label = ""
                if tex[i : i + 1] in ("_", "^"):
                    label, i = _inner(tex, i + 1)
                total += max(_width(body), 0.7 * _width(label))
            elif name in ("cancel", "boxed", "mathbf", "mathit"):
                pass  # their argument is counted when it is read next
            elif name == "\\":
                pass
            else:
                total += _CMD_WIDTH.get(name, 1.0)
        elif ch in "_^":
            body, i = _inner(tex, i + 1)
            total += 0.7 * _width(body)
        elif ch == "{":
            body, i = _inner(tex, i)
            total += _width(body)
        else:
            total += {"=": 2.2, "+": 2.0, "-": 2.0, ",": 0.8, "&": 0.0, " ": 0.0, "}": 0.0}.get(
                ch, 0.6 if ch in "()[]|" else 1.0
            )
            i += 1
    return total


_MATRIX = re.compile(r"\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}", re.S)
_ROW_BREAK = re.compile(r"\\\\(?:\[[^\]]*\])?")


def tex_width(tex: str) -> int:
    """A formula's rough width in glyphs: its widest line, where a matrix counts its widest row
    (not all of its entries)."""

    def matrix(m) -> str:
        rows = _ROW_BREAK.split(m.group(1))
        return "M" * round(max(sum(visible_len(c) + 1.2 for c in r.split("&")) for r in rows) + 1)

    return max(visible_len(line) for line in _ROW_BREAK.split(_MATRIX.sub(matrix, tex)))


def flow(pieces: list[str], width: int = LINE_WIDTH) -> str:
    """The pieces of one long formula (say "[X]", "⊛ [K]", "+ b", "= [Z]"), greedily on as few
    lines as fit, for a ``gathered`` block: KaTeX never wraps, so an 8×8 input, its kernel and
    the output side by side ran off the lesson column. A piece wider than a line gets its own."""
    lines, cur, used = [], [], 0
    for p in pieces:
        w = tex_width(p)
        if cur and used + w > width:
            lines.append(" ".join(cur))
            cur, used = [], 0
            p = re.sub(r"^\\q?quad\s*", "", p)  # a spacer meant to follow a comma, not start a line
        cur.append(p)
        used += w
    lines.append(" ".join(cur))
    return r" \\[6pt] ".join(lines)


def gathered(*blocks: str | list[str]) -> str:
    """Blocks one under another; a block given as a list of pieces is flowed onto lines."""
    lines = [flow(b) if isinstance(b, list) else b for b in blocks]
    return r"\begin{gathered} " + r" \\[6pt] ".join(lines) + r" \end{gathered}"


def continuation(chunk: str) -> str:
    """The next line of a wrapped sum in an ``aligned`` block: '&\\quad + …' or '&\\quad - …'."""
    lead = "-" if chunk.startswith("-") else "+"
    return rf"&\quad {lead} {chunk.lstrip('-').lstrip()}"


def wrapped_sum(parts: list[str], per_line: int | None = None) -> list[str]:
    """A long sum as ``aligned`` lines: '&= a + b + c + d', then '&\\quad + e + …'; as many
    summands per line (1 to 4) as fit the column."""
    if per_line is None:
        widest = max((visible_len(p) for p in parts), default=1)
        per_line = max(1, min(4, LINE_WIDTH // max(widest + 2, 1)))
    if len(parts) <= per_line:
        return ["&= " + ordered_sum(parts)]
    lines = []
    for k in range(0, len(parts), per_line):
        chunk = ordered_sum(parts[k : k + per_line])
        if k == 0:
            lines.append("&= " + chunk)
        else:
            lines.append(continuation(chunk))
    return lines


def product_latex(coef, factors) -> str:
    """coef · f1 · f2 … as the notes write it: x_{11} k_{11}, \\frac{1}{4} x_{11}, - n_{11}."""
    body = " ".join(sp.latex(f) for f in factors)
    if coef == 1:
        return body or "1"
    if coef == -1:
        return f"-{body}" if body else "-1"
    return f"{sp.latex(coef)} {body}".strip()


# ---------------------------------------------------------------- the max-pool indicator


class FirstMax(sp.Function):
    """FirstMax(q, x₀, …, xₙ₋₁) is 1 when x_q is the first maximum of the xs, else 0.

    It is ∂max(xs)/∂x_q with PyTorch's tie rule (the first maximum in window order wins). As a
    Function it costs one node where Piecewise(And(x_q > x₀, …, x_q ≥ xₙ₋₁)) costs n relationals,
    which made a 16×16 max pool with a 3×3 window take 20 s to derive and compile.
    """

    @classmethod
    def eval(cls, q, *xs):
        if q.is_Integer and xs and all(x.is_number for x in xs):
            return sp.S.One if _first_max(int(q), *(float(x) for x in xs)) else sp.S.Zero
        return None

    def _latex(self, printer):
        q, *xs = self.args
        return rf"\left[{printer._print(xs[int(q)])} \text{{ is the max}}\right]"


def _first_max(q, *xs) -> float:
    """The numeric FirstMax, for lambdify: works on floats and on numpy arrays alike."""
    stacked = np.stack(np.broadcast_arrays(*xs))
    return (np.argmax(stacked, axis=0) == q).astype(float)


NUMERIC = [{"FirstMax": _first_max}, "numpy"]


# ---------------------------------------------------------------- steps and the derivation


@dataclass(frozen=True)
class Step:
    """One step of the lesson: a title, KaTeX-renderable LaTeX, and a sentence or two.

    ``kind`` is one of setup, forward, chain, result, pattern, mistake, note; ``focus`` names the
    matrix the step is about (the app shows it with numbers beside the symbols); ``proven`` is
    True on a pattern step whose equality sympy checked for these sizes.
    """

    title: str
    latex: str
    text: str
    kind: str = "note"
    focus: str | None = None
    proven: bool | None = None


@dataclass
class Derivation:
    op: str
    params: dict
    inputs: dict[str, sp.Matrix]
    output: sp.Matrix
    out_symbols: sp.Matrix  # z_{11} … : the names of the outputs, for the steps
    upstream: sp.Matrix
    grads: dict[str, sp.Matrix]
    jac: dict  # name -> {(r, c): {(i, j): partial}}
    out_name: str  # the output matrix: "Z", "Y", "L_i" …
    out_letter: str  # its entries' letter: "z", "y"
    loss: str  # "L" (notes 001-003) or "J" (note 004)
    steps: list[Step] = field(default_factory=list)
    checks: list[tuple[str, bool]] = field(default_factory=list)
    # LaTeX to show for a partial instead of sympy's, keyed (name, idx, out): max pool's
    # indicator reads better as 𝟙[x wins z] than as a Piecewise of inequalities
    partial_tex: dict = field(default_factory=dict)

    def partial_latex(self, name: str, idx, out) -> str:
        tex = self.partial_tex.get((name, tuple(idx), tuple(out)))
        return tex if tex is not None else paren(self.jac[name][tuple(idx)][tuple(out)])

    # ---- numbers
    @cached_property
    def _args(self) -> list[sp.Symbol]:
        syms = [s for m in self.inputs.values() for s in m]
        return syms + list(self.upstream)

    @cached_property
    def _grad_fn(self):
        return self._lambdify([self.grads[n] for n in self.inputs])

    @cached_property
    def _out_fn(self):
        return self._lambdify([self.output])

    @cached_property
    def _plain(self) -> dict[sp.Symbol, sp.Symbol]:
        """Each symbol renamed to a valid Python identifier, in one pass.

        Names like x_{11} or \\frac{∂L}{∂z_{11}} are not identifiers, so lambdify would swap them
        for Dummies one argument at a time — a full-tree xreplace per symbol, 11 s for a 16×16
        input and 6×6 kernel. One rename of everything first costs half a second."""
        return {s: sp.Symbol(f"v{i}") for i, s in enumerate(self._args)}

    def _lambdify(self, exprs):
        plain = self._plain
        return sp.lambdify(
            [plain[s] for s in self._args],
            [e.xreplace(plain) for e in exprs],
            modules=NUMERIC,
            cse=False,
            docstring_limit=0,
        )

    def compile(self) -> Derivation:
        """Build the cached numeric function now (evaluate() would on first use)."""
        self._grad_fn  # noqa: B018 - touching the cached_property compiles it
        return self

    def _flat(self, values: dict, upstream) -> list[float]:
        flat = []
        for name, m in self.inputs.items():
            if name not in values:
                raise ValueError(
                    f"evaluate: values is missing {name!r} (expected {list(self.inputs)})"
                )
            a = np.asarray(values[name], dtype=float)
            if a.size != m.rows * m.cols:
                raise ValueError(
                    f"evaluate: values[{name!r}] must have shape {m.shape}, got {a.shape}"
                )
            flat.extend(a.reshape(-1).tolist())
        u = np.ones(self.upstream.shape) if upstream is None else np.asarray(upstream, dtype=float)
        if u.size != self.upstream.rows * self.upstream.cols:
            raise ValueError(
                f"evaluate: upstream must have shape {self.upstream.shape}, got {u.shape}"
            )
        return flat + u.reshape(-1).tolist()

    def evaluate(self, values: dict, upstream=None) -> dict[str, np.ndarray]:
        """The symbolic gradients with numbers put in: name → array of the input's shape."""
        res = self._grad_fn(*self._flat(values, upstream))
        return {
            n: np.array(r, dtype=float).reshape(self.inputs[n].shape)
            for n, r in zip(self.inputs, res, strict=True)
        }

    def forward(self, values: dict) -> np.ndarray:
        """The forward expressions with numbers put in."""
        out = self._out_fn(*self._flat(values, None))[0]
        return np.array(out, dtype=float).reshape(self.output.shape)

    # ---- which cells feed which (for the app's linked highlights)
    @cached_property
    def symbol_index(self) -> dict[sp.Symbol, tuple[str, tuple[int, int]]]:
        out = {}
        for name, m in self.inputs.items():
            for r in range(m.rows):
                for c in range(m.cols):
                    out[m[r, c]] = (name, (r, c))
        return out

    def feeds(self, name: str, idx: tuple[int, int]) -> list[tuple[int, int]]:
        """The output cells that input cell ``name[idx]`` feeds (where ∂z/∂a ≠ 0)."""
        return list(self.jac[name].get(tuple(idx), {}))

    def sources(self, out_idx: tuple[int, int]) -> dict[str, list[tuple[int, int]]]:
        """The input cells that output cell ``out_idx`` is computed from."""
        res: dict[str, list] = {n: [] for n in self.inputs}
        for name, entries in self.jac.items():
            for idx, outs in entries.items():
                if tuple(out_idx) in outs:
                    res[name].append(idx)
        return res

    def gradient_links(self, name: str, idx: tuple[int, int]) -> dict[str, list[tuple[int, int]]]:
        """Everything ∂L/∂name[idx] is made of: the output (and upstream) cells it touched, and
        the cells of the other inputs that appear in its partial derivatives."""
        idx = tuple(idx)
        links: dict[str, list] = {n: [] for n in self.inputs}
        links[self.out_name] = self.feeds(name, idx)
        for partial in self.jac[name].get(idx, {}).values():
            for s in sorted(partial.free_symbols, key=str):
                if s in self.symbol_index:
                    n, i = self.symbol_index[s]
                    if i not in links[n]:
                        links[n].append(i)
        return links

    def chain_rule(
        self, name: str, idx: tuple[int, int], values=None, upstream=None, *, width=None
    ) -> str:
        """LaTeX of ∂L/∂a = Σ ∂L/∂z · ∂z/∂a over the non-zero terms; with numbers, each term
        plugged in and the total: '∂L/∂x_{22} = 0.3·k_{22} + … = 0.3·1.5 + … = 1.27'. With a
        ``width`` (glyphs) that the one line would not fit, an ``aligned`` block instead: the sum,
        the numbers and the total each start a line, and long sums wrap."""
        idx = tuple(idx)
        a = self.inputs[name][idx]
        lhs = rf"\frac{{\partial {self.loss}}}{{\partial {sp.latex(a)}}}"
        terms = self.jac[name].get(idx, {})
        sym_parts = [
            f"{sp.latex(self.upstream[o])} \\cdot {self.partial_latex(name, idx, o)}" for o in terms
        ]
        sym = ordered_sum(sym_parts)
        if values is None:
            return f"{lhs} = {sym}"
        flat = dict(zip(self._args, self._flat(values, upstream), strict=True))
        num_parts, total = [], 0.0
        for o, p in terms.items():
            g = flat[self.upstream[o]]
            pv = float(p.subs(flat)) if p.free_symbols else float(p)
            total += g * pv
            num_parts.append(f"({num(g)}) \\cdot ({num(pv)})")
        nums = " + ".join(num_parts) or "0"
        line = f"{lhs} = {sym} = {nums} = {num(total)}"
        if width is None or visible_len(line) <= width:
            return line
        rows: list[str] = []
        for parts, join in ((sym_parts, ordered_sum), (num_parts, " + ".join)):
            for k, chunk in enumerate(_wrap_by_width(parts, width)):
                body = join(chunk)
                if not rows:
                    rows.append(f"{lhs} &= {body}")
                elif k == 0:
                    rows.append(f"&= {body}")
                else:
                    rows.append(continuation(body))
        rows.append(f"&= {num(total)}")
        return aligned(rows)


def paren(e) -> str:
    s = sp.latex(e)
    return f"\\left({s}\\right)" if isinstance(e, (sp.Add, sp.Piecewise)) else s


def num(v: float) -> str:
    v = float(v)
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.4g}"


# ---------------------------------------------------------------- fast exact products
#
# sympy's Mul(...) re-sorts and re-flattens its arguments on every call, which dominates the cost
# of a derivation with thousands of x·k terms. Products of a number and distinct plain symbols
# are built here directly in sympy's canonical form (number first, symbols sorted by name, which
# is sympy's own order for plain symbols), so they are the very objects Mul would return.


def _split(e):
    """(coefficient, symbols) of a number, a symbol or a product of them; None otherwise."""
    if e.is_Number:
        return e, ()
    if e.is_Symbol:
        return sp.S.One, (e,)
    if e.is_Mul and all(a.is_Symbol or (i == 0 and a.is_Number) for i, a in enumerate(e.args)):
        if e.args[0].is_Number:
            return e.args[0], e.args[1:]
        return sp.S.One, e.args
    return None


def times(*factors):
    """The exact product of the factors; fast for numbers times distinct symbols."""
    if len(factors) == 2:
        a, b = factors
        if a.__class__ is sp.Symbol and b.__class__ is sp.Symbol and a.name != b.name:
            return sp.Mul._from_args((a, b) if a.name < b.name else (b, a))  # x·k, the common case
    if any(f is sp.S.Zero for f in factors):
        return sp.S.Zero
    coef, syms = sp.S.One, []
    for f in factors:
        parts = _split(f if isinstance(f, sp.Basic) else sp.sympify(f))
        if parts is None:
            return sp.Mul(*factors)
        if parts[0] is not sp.S.One:
            coef = coef * parts[0]
        syms += parts[1]
    if len({s.name for s in syms}) != len(syms):
        return sp.Mul(*factors)  # a repeated symbol makes a power: let sympy build it
    syms.sort(key=lambda s: s.name)
    args = tuple(syms) if coef == 1 else (coef, *syms)
    if not args:
        return coef
    return args[0] if len(args) == 1 else sp.Mul._from_args(args)


# ---------------------------------------------------------------- building the Jacobian


def jacobian_from_terms(inputs: dict, terms: dict) -> dict:
    """Sparse Jacobian of outputs that are sums of products.

    terms: out index → list of (coef, [(name, idx), …]); each listed factor contributes
    coef · (the other factors) to ∂z/∂factor. Output indices are visited in the order given, so
    every gradient's terms come out in row-major output order.
    """
    jac = {n: {} for n in inputs}
    for out, tlist in terms.items():
        for coef, factors in tlist:
            for k, (name, idx) in enumerate(factors):
                others = [inputs[n][i] for j, (n, i) in enumerate(factors) if j != k]
                partial = times(coef, *others)
                slot = jac[name].setdefault(idx, {})
                slot[out] = slot.get(out, 0) + partial
    return jac


def outputs_from_terms(shape, inputs: dict, terms: dict) -> sp.Matrix:
    m = sp.zeros(*shape)
    for out, tlist in terms.items():
        m[out] = sp.Add(*[times(coef, *[inputs[n][i] for n, i in f]) for coef, f in tlist])
    return m


def expansion_parts(inputs: dict, tlist) -> list[str]:
    return [product_latex(coef, [inputs[n][i] for n, i in f]) for coef, f in tlist]


def grads_from_jac(inputs: dict, jac: dict, upstream: sp.Matrix) -> dict[str, sp.Matrix]:
    grads = {}
    for name, m in inputs.items():
        g = sp.zeros(m.rows, m.cols)
        for idx, outs in jac[name].items():
            g[idx] = sp.Add(*[times(upstream[o], p) for o, p in outs.items()])
        grads[name] = g
    return grads


# ---------------------------------------------------------------- generic lesson steps


def chain_rule_step(
    d: Derivation, name: str, idx: tuple[int, int], *, show_all: bool = True
) -> Step:
    """The chain rule written out for one element: every term (zeros struck through), then the
    terms that survive. With many outputs, only the surviving terms are written."""
    a = d.inputs[name][idx]
    L, al, ap = d.loss, sp.latex(a), plain(a)
    outs = [(i, j) for i in range(d.output.rows) for j in range(d.output.cols)]
    nz = d.jac[name].get(idx, {})
    z = lambda o: sp.latex(d.out_symbols[o])  # noqa: E731
    general = rf"\frac{{\partial {L}}}{{\partial {al}}} = \sum_{{i,j}} \frac{{\partial {L}}}{{\partial {d.out_letter}_{{ij}}}} \cdot \frac{{\partial {d.out_letter}_{{ij}}}}{{\partial {al}}}"
    lines = [general]
    if show_all and len(outs) <= 16:
        full = [
            rf"\frac{{\partial {L}}}{{\partial {z(o)}}} \frac{{\partial {z(o)}}}{{\partial {al}}}"
            for o in outs
        ]
        lines += wrapped_sum(full)
        plugged = []
        for o in outs:
            up = rf"\frac{{\partial {L}}}{{\partial {z(o)}}}"
            plugged.append(
                f"{up} \\cdot {d.partial_latex(name, idx, o)}"
                if o in nz
                else rf"\cancel{{{up} \cdot 0}}"
            )
        lines += wrapped_sum(plugged)
        dropped = len(outs) - len(nz)
        if not dropped:
            text = (
                f"All {len(outs)} outputs depend on {ap}, so no term drops out."
                if len(outs) > 1
                else f"The only output depends on {ap}, so the sum has one term."
            )
        elif dropped == 1:
            text = f"Every output {d.out_letter}ᵢⱼ could depend on {ap}; the one that does not "
            text += "contributes 0 and is struck out."
        else:
            text = f"Every output {d.out_letter}ᵢⱼ could depend on {ap}; the {dropped} that do "
            text += "not contribute 0 and are struck out."
    else:
        rest = len(outs) - len(nz)
        zeros = (
            "the other partial derivative is 0"
            if rest == 1
            else f"the other {rest} partial derivatives are 0"
        )
        if not nz:
            text = f"No output contains {ap}, so all {len(outs)} partial derivatives are 0."
        elif len(nz) == 1:
            text = f"Only one output contains {ap} and contributes; {zeros}."
        else:
            text = f"Only the {len(nz)} outputs that contain {ap} contribute; {zeros}."
    if len(lines) == 1 or len(outs) != len(nz):  # with no zero term it would repeat the line above
        survivors = [
            f"{sp.latex(d.upstream[o])} \\cdot {d.partial_latex(name, idx, o)}" for o in nz
        ]
        lines += wrapped_sum(survivors)
    lines[0] = lines[0].replace(" = ", " &= ", 1)
    return Step(f"Chain rule for ∂{L}/∂{plain(a)}", aligned(lines), text, kind="chain", focus=name)


def _wrap_by_width(parts: list[str], width: int = LINE_WIDTH) -> list[list[str]]:
    """Summands grouped greedily into lines of at most ``width`` glyphs (one at the least)."""
    lines, cur, used = [], [], 0
    for p in parts:
        w = visible_len(p) + 2
        if cur and used + w > width:
            lines.append(cur)
            cur, used = [], 0
        cur.append(p)
        used += w
    return [*lines, cur] if cur else lines


def forward_step(d: Derivation, rhs, text: str) -> Step:
    """Every output written out (long lists elided): z_ij = rhs((i, j)). ``rhs`` gives LaTeX, or
    a list of summands, which are wrapped onto as many lines as the lesson column needs (KaTeX
    never wraps, and a 3×3 kernel's nine products plus b do not fit one line)."""
    outs = [(i, j) for i in range(d.output.rows) for j in range(d.output.cols)]

    def rows(o) -> list[str]:
        r = rhs(o)
        lhs = sp.latex(d.out_symbols[o])
        if isinstance(r, str):
            return [f"{lhs} &= {r}"]
        chunks = _wrap_by_width(r)
        out = [f"{lhs} &= {ordered_sum(chunks[0])}"]
        return out + [continuation(ordered_sum(chunk)) for chunk in chunks[1:]]

    per_output = len(rows(outs[0]))
    shown, left = elide(outs, max(4, MAX_LINES // per_output))
    lines = []
    for o in shown:
        if o is None:
            lines.append(rf"&\;\;\vdots \quad \text{{({left} more)}}")
        else:
            lines.extend(rows(o))
    return Step(
        "Forward: every output written out", aligned(lines), text, kind="forward", focus=d.out_name
    )


def all_grads_step(
    d: Derivation, name: str, title: str | None = None, text: str | None = None
) -> Step:
    m = d.inputs[name]
    items = [(r, c) for r in range(m.rows) for c in range(m.cols)]
    shown, left = elide(items)
    lines = []
    for idx in shown:
        if idx is None:
            lines.append(rf"&\;\;\vdots \quad \text{{({left} more)}}")
            continue
        rhs = wrapped_sum(
            [
                f"{sp.latex(d.upstream[o])} {d.partial_latex(name, idx, o)}"
                for o in d.jac[name].get(idx, {})
            ]
        )
        lhs = rf"\frac{{\partial {d.loss}}}{{\partial {sp.latex(m[idx])}}} "
        lines += [lhs + rhs[0]] + rhs[1:]
    return Step(
        title or f"Every entry of ∂{d.loss}/∂{name}",
        aligned(lines),
        text or f"The same sum for every entry of {name}, zero terms dropped.",
        kind="result",
        focus=name,
    )


_SUB = str.maketrans("0123456789,", "₀₁₂₃₄₅₆₇₈₉,")


def plain(e) -> str:
    """A symbol as plain text for titles and sentences: x_{11} → x₁₁, x_{1,10} → x₁,₁₀."""
    s = str(e)
    if "_{" in s and s.endswith("}"):
        head, idx = s.split("_{", 1)
        return head + idx[:-1].translate(_SUB)
    return s


def prove(d: Derivation, label: str, derived: sp.Matrix, pattern: sp.Matrix) -> bool:
    """True when derived − pattern expands to the zero matrix; recorded in d.checks."""
    if derived.shape != pattern.shape:
        ok = False
    else:
        # both sides are built in sympy's canonical form, so equal structure already proves
        # equality; anything else must expand to zero
        ok = all(a == b or sp.expand(a - b) == 0 for a, b in zip(derived, pattern, strict=True))
    d.checks.append((label, ok))
    return ok


def check_mark(ok: bool) -> str:
    return r"\quad \color{green}{\checkmark}" if ok else r"\quad \color{red}{\times}"


# ---------------------------------------------------------------- matrix helpers for patterns


def correlate(
    a: sp.Matrix, k: sp.Matrix, stride=(1, 1), dilation=(1, 1), out_shape=None
) -> sp.Matrix:
    """Valid cross-correlation a ⊛ k (the notes' ⊛), with stride and dilation."""
    (s0, s1), (d0, d1) = stride, dilation
    h = (a.rows - d0 * (k.rows - 1) - 1) // s0 + 1
    w = (a.cols - d1 * (k.cols - 1) - 1) // s1 + 1
    if out_shape is not None:
        h, w = min(h, out_shape[0]), min(w, out_shape[1])
    return sp.Matrix(
        h,
        w,
        lambda i, j: sp.Add(
            *[
                times(a[i * s0 + m * d0, j * s1 + n * d1], k[m, n])
                for m in range(k.rows)
                for n in range(k.cols)
            ]
        ),
    )


def pad(a: sp.Matrix, top: int, bottom: int, left: int, right: int) -> sp.Matrix:
    """Zero-pad each side; a negative amount crops that side instead."""
    rows = a.rows + top + bottom
    cols = a.cols + left + right

    def entry(i, j):
        r, c = i - top, j - left
        return a[r, c] if 0 <= r < a.rows and 0 <= c < a.cols else sp.S.Zero

    return sp.Matrix(max(rows, 0), max(cols, 0), entry)


def dilate(a: sp.Matrix, s: tuple[int, int]) -> sp.Matrix:
    """Insert s−1 zeros between neighbouring entries (the stride of a transposed conv)."""
    rows, cols = (a.rows - 1) * s[0] + 1, (a.cols - 1) * s[1] + 1
    return sp.Matrix(
        rows,
        cols,
        lambda i, j: a[i // s[0], j // s[1]] if i % s[0] == 0 and j % s[1] == 0 else sp.S.Zero,
    )


def rot180(a: sp.Matrix) -> sp.Matrix:
    return sp.Matrix(a.rows, a.cols, lambda i, j: a[a.rows - 1 - i, a.cols - 1 - j])


# ---------------------------------------------------------------- parameter checking


def as_pair(op: str, name: str, v, minimum: int) -> tuple[int, int]:
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        p = (int(v), int(v))
    elif (
        isinstance(v, (tuple, list))
        and len(v) == 2
        and all(isinstance(e, (int, np.integer)) for e in v)
    ):
        p = (int(v[0]), int(v[1]))
    else:
        raise ValueError(
            f"{op}: {name} should be a whole number or a (rows, cols) pair, not {v!r}."
        )
    if min(p) < minimum:
        raise ValueError(f"{op}: {name} must be at least {minimum}; you gave {v!r}.")
    return p


def as_shape(op: str, name: str, v, cap: int = MAX_SIDE) -> tuple[int, int]:
    p = as_pair(op, name, v, 1)
    if max(p) > cap:
        raise ValueError(
            f"{op}: {name} {p[0]}×{p[1]} is larger than {cap}×{cap}, the largest size whose "
            f"derivation stays readable. Choose at most {cap} per side."
        )
    return p


def assemble(op, params, inputs, output, jac, *, out_name, out_letter, loss) -> Derivation:
    """A Derivation with its upstream symbols and gradients; the op adds the steps."""
    if output.shape == (1, 1) and out_name != out_letter.upper():
        out_symbols = sp.Matrix([[sp.Symbol(out_name)]])
    else:
        out_symbols = symbol_matrix(out_letter, output.shape)
    upstream = upstream_matrix(loss, out_symbols)
    grads = grads_from_jac(inputs, jac, upstream)
    return Derivation(
        op,
        dict(params),
        inputs,
        output,
        out_symbols,
        upstream,
        grads,
        jac,
        out_name,
        out_letter,
        loss,
    )


def upstream_latex(d: Derivation) -> str:
    return rf"\frac{{\partial {d.loss}}}{{\partial {d.out_name}}}"
