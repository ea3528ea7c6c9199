"""The value a derivation is: its maths (:class:`Math`: symbols, forward, sparse Jacobian,
gradients, proven patterns) and, on top, its lesson (:class:`Derivation`: the same plus the
steps). Lessons, practice questions and networks are all written from a Math."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import TYPE_CHECKING, ClassVar, NamedTuple

import numpy as np
import sympy as sp

from mathtext.functions import NUMERIC
from mathtext.numeric import evaluate as tree_evaluate
from mathtext.numeric import evaluate_many

from .algebra import equal, grads_from_jac
from .product import factor_tex, product_tex
from .symbols import Scope
from .typeset import equalities, num, ordered_sum, tex

if TYPE_CHECKING:
    from .facts import (
        AttentionFacts,
        CnnFacts,
        ConvFacts,
        CustomFacts,
        MlpFacts,
        NormFacts,
        PoolFacts,
        ReductionFacts,
        ResidualFacts,
        SoftmaxFacts,
        UnaryFacts,
    )
    from .staged import Shared


@dataclass(frozen=True)
class Step:
    """One step of the lesson: a title, KaTeX-renderable LaTeX, and a sentence or two.

    ``kind`` is one of setup, forward, chain, result, pattern, mistake, note; ``focus`` names the
    matrix the step is about (the app shows it with numbers beside the symbols, or the
    matrices ``shows`` lists); ``proven`` is True on a pattern step whose equality sympy checked
    for these sizes.
    """

    title: str
    latex: str
    text: str
    kind: str = "note"
    focus: str | None = None
    proven: bool | None = None
    # the matrices the app shows beside it with numbers, by the page's keys ("Q", "out",
    # "d:Q", a lesson's own panels such as attention's "S"); empty: chosen from ``focus``
    shows: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pattern:
    """A gradient written as matrix operations, proven equal to the chain-rule sums: ``grad``
    is the input it is the gradient of, ``operands`` the matrices the formula combines (for
    showing it with numbers), ``ok`` whether sympy proved it for these sizes."""

    label: str
    grad: str | None
    operands: dict
    ok: bool


class Parts(NamedTuple):
    """A Math composed by ``chain.chain``: ``first``'s output is ``second``'s input ``link``."""

    first: Math
    second: Math
    link: str


@dataclass
class Math:
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
    scope: Scope = field(default_factory=Scope)
    checks: list[tuple[str, bool]] = field(default_factory=list)
    patterns: dict[str, Pattern] = field(default_factory=dict)
    # LaTeX to show for a partial instead of sympy's, keyed (name, idx, out): max pool's
    # indicator reads better as [x wins z] than as the indicator function
    partial_tex: dict = field(default_factory=dict)
    # ---- how it was built, and so how its numbers are computed (_lambdify, evaluate)
    parts: Parts | None = None  # chain.chain: the two Maths it composes
    typed: bool = False  # custom_op: built from a learner's text, numbers by the tree evaluator
    staged: Shared | None = None  # norm: each μ, σ, x̂ computed once (staged.Shared)
    walk: bool = False  # attention: numbers by one walk over the shared p nodes
    # ---- what the page and practice show of it besides the above (ui/, grading/)
    panels: list[tuple] | None = None  # its own matrices beside the steps (key, label, …, matrix)
    between: list[tuple] = field(default_factory=list)  # network: the panels between layers
    defs: dict = field(default_factory=dict)  # the page's display symbols → what they stand for
    labels: dict = field(default_factory=dict)  # hover names of its own (attention's masked p)
    output_tex: dict = field(default_factory=dict)  # idx → LaTeX the forward step writes
    why_zero: dict[str, str] = field(default_factory=dict)  # input → why an entry gets no gradient
    names: dict | None = None  # practice: the names a question offers, when it brings its own
    named: dict = field(default_factory=dict)  # practice: a lesson's own quantities (mu1 …)
    # practice: the expected answers where not ``grads`` (norm's, in x̂: a dict filled lazily)
    practice_grads: dict[str, sp.Matrix] | None = None
    activation: str = ""  # residual and an MLP chain's parts: the activation, for the tips
    # each output's forward sum, [(coefficient, [(input, cell), …]), …] (dense, conv, pool)
    terms: dict | None = None
    # ---- one kind of op's own (facts.py), read by its lesson, the page and practice
    unary: UnaryFacts | None = None
    reduction: ReductionFacts | None = None
    custom: CustomFacts | None = None
    conv: ConvFacts | None = None
    pool: PoolFacts | None = None
    softmax: SoftmaxFacts | None = None
    norm: NormFacts | None = None
    residual: ResidualFacts | None = None
    attention: AttentionFacts | None = None
    mlp: MlpFacts | None = None
    cnn: CnnFacts | None = None
    # what else the op's lesson needs, read in the module that writes it and its lesson
    facts: dict = field(default_factory=dict)
    # workers.transfer sends it as its attributes (its sympy values already canonical), not
    # through its constructor
    TRANSFER_BY_ATTRIBUTES: ClassVar[bool] = True

    def prove(self, label: str, derived, pattern, *, grad=None, operands=None) -> bool:
        """Record whether ``derived`` equals ``pattern`` entry by entry (in ``checks``, and in
        ``patterns`` when the operands are given)."""
        ok = equal(derived, pattern)
        self.checks.append((label, ok))
        if operands is not None:
            self.patterns[label] = Pattern(label, grad, dict(operands), ok)
        return ok

    def partial_latex(self, name: str, idx, out) -> str:
        """∂out/∂name[idx] as a factor of a product: bracketed where sympy's printer would
        bracket it. A ``partial_tex`` entry is taken as written: its maker wrote it as a factor
        (a learner's f′ is printed in the worker, never here)."""
        key = (name, tuple(idx), tuple(out))
        shown = self.partial_tex.get(key)
        return shown if shown is not None else factor_tex(self.jac[name][key[1]][key[2]])

    def term_latex(self, name: str, idx, out, sep: str = " ") -> str:
        """One chain-rule term, ∂L/∂out · ∂out/∂name[idx], joined as sympy joins the factors
        of a product: ∂J/∂y₁₁ (−1/x₁₁²), never ∂J/∂y₁₁ − 1/x₁₁²."""
        up = self.upstream[tuple(out)]
        return product_tex([(up, None), (None, self.partial_latex(name, idx, out))], sep)

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
        if self.op == "softmax_cross_entropy":
            # -log(e^{f_y}/Σ) as -f_y + log Σ: the same loss, finite where e^{f_y} underflows
            return self._lambdify([self.output.applyfunc(lambda e: sp.expand_log(e, force=True))])
        return self._lambdify([self.output])

    @cached_property
    def _plain(self) -> dict[sp.Symbol, sp.Symbol]:
        """Each symbol renamed to a valid Python identifier, in one pass.

        Names like x_{11} or \\frac{∂L}{∂z_{11}} are not identifiers, so lambdify would swap them
        for Dummies one argument at a time — a full-tree xreplace per symbol, 11 s for a 16×16
        input and 6×6 kernel. One rename of everything first costs half a second."""
        return {s: sp.Symbol(f"v{i}") for i, s in enumerate(self._args)}

    def _lambdify(self, exprs):
        if self.typed:
            # built from a learner's text (your own f): no code generated from it and no sympy
            # work on it in the app's process; the tree evaluator walks it instead
            return _tree_function(self._args, exprs)
        if self.staged is not None:  # norm.py: each μ, σ, x̂ computed once (see norm.Shared)
            return self.staged.lambdify(self._args, exprs)
        if self.walk:
            # expressions that share big subexpressions (attention's p_ij nodes): one walk
            # computes each once, where lambdify's code would repeat it everywhere it occurs
            return _walk_function(self._args, exprs)
        plain = self._plain
        return sp.lambdify(
            [plain[s] for s in self._args],
            [e.xreplace(plain) for e in exprs],
            modules=NUMERIC,
            cse=False,
            docstring_limit=0,
        )

    def compile(self):
        """Build the cached numeric function now (evaluate() would on first use)."""
        if self.parts is not None:
            for part in self.parts[:2]:
                part.compile()
        else:
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

    def stable_values(self, values: dict) -> dict:
        """The values to put into the expressions: softmax + cross-entropy's scores less their
        largest. p = e^{f_k}/Σ e^{f_j}, the loss and every partial p_k − [k = y] are the same
        for f − max f, and e^{710} no longer overflows to nan where the engine (which shifts
        too) is finite."""
        if self.op != "softmax_cross_entropy":
            return values
        (name,) = self.inputs  # "f", or the name a network gave it
        if name not in values:
            return values  # _flat says what is missing
        f = np.asarray(values[name], dtype=float)
        if f.size and np.all(np.isfinite(f)):
            f = f - f.max()
        return {**values, name: f}

    def evaluate(self, values: dict, upstream=None) -> dict[str, np.ndarray]:
        """The symbolic gradients with numbers put in: name → array of the input's shape."""
        if self.parts is not None:
            return self._chain_evaluate(values, upstream)
        res = self._grad_fn(*self._flat(self.stable_values(values), upstream))
        return {
            n: np.array(r, dtype=float).reshape(self.inputs[n].shape)
            for n, r in zip(self.inputs, res, strict=True)
        }

    def forward(self, values: dict) -> np.ndarray:
        """The forward expressions with numbers put in."""
        if self.parts is not None:
            first, second, link = self.parts
            z = first.forward({n: values[n] for n in first.inputs})
            return second.forward(self._second_values(values, z))
        out = self._out_fn(*self._flat(self.stable_values(values), None))[0]
        return np.array(out, dtype=float).reshape(self.output.shape)

    # ---- a chain of ops, evaluated as backprop does
    @property
    def _parts(self) -> Parts:
        if self.parts is None:
            raise ValueError(f"{self.op}: not a chain of ops")
        return self.parts

    def _second_values(self, values: dict, z) -> dict:
        first, second, link = self._parts
        return {**{n: values[n] for n in second.inputs if n != link}, link: z}

    def _chain_evaluate(self, values: dict, upstream) -> dict[str, np.ndarray]:
        """A chain's gradients part by part: the first part's output, then the second part's
        symbolic gradients, whose gradient for the link is the first part's upstream. Each part
        compiles on its own: one expression for a whole network would repeat every layer's
        forward inside every path through it (a 4-layer MLP took minutes to compile)."""
        self._flat(values, upstream)  # the same argument checks as a single op
        first, second, link = self._parts
        fv = {n: values[n] for n in first.inputs}
        g2 = second.evaluate(self._second_values(values, first.forward(fv)), upstream)
        g1 = first.evaluate(fv, g2.pop(link))
        return {n: {**g1, **g2}[n] for n in self.inputs}

    def _part_chain_rule(self, name, idx, values, upstream, width) -> str:
        """A chain's chain rule for one entry, as backprop takes it: in the terms of the part
        the entry belongs to, with that part's own upstream (∂L/∂z⁽¹⁾ for a first-layer
        weight) in numbers. Written in the network's input symbols, the partials of a deep
        entry fill a screen."""
        first, second, link = self._parts
        if values is None:
            part = first if name in first.inputs else second
            return part.chain_rule(name, idx)
        fv = {n: values[n] for n in first.inputs}
        sv = self._second_values(values, first.forward(fv))
        if name in first.inputs:
            up = second.evaluate(sv, upstream)[link]
            return first.chain_rule(name, idx, fv, up, width=width)
        return second.chain_rule(name, idx, sv, upstream, width=width)

    def _number(self, e, flat: dict) -> float:
        if self.typed:  # see _lambdify
            return float(tree_evaluate(e, {s: flat[s] for s in e.free_symbols}))
        # xreplace of the few symbols it holds: subs with every input's value (hundreds at
        # 16×16) took a second per entry
        return float(e.xreplace({v: flat[v] for v in e.free_symbols}))

    # ---- which cells feed which (for the app's linked highlights)
    @cached_property
    def symbol_index(self) -> dict[sp.Symbol, tuple[str, tuple[int, int]]]:
        out = {}
        for name, m in self.inputs.items():
            for r in range(m.rows):
                for c in range(m.cols):
                    out[m[r, c]] = (name, (r, c))
        return out

    def feeds(self, name: str, idx: Sequence[int]) -> list[tuple[int, int]]:
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

    def gradient_links(self, name: str, idx: Sequence[int]) -> dict[str, list[tuple[int, int]]]:
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
        self, name: str, idx: Sequence[int], values=None, upstream=None, *, width=None
    ) -> str:
        """LaTeX of ∂L/∂a = Σ ∂L/∂z · ∂z/∂a over the non-zero terms; with numbers, each term
        plugged in and the total: '∂L/∂x_{22} = 0.3·k_{22} + … = 0.3·1.5 + … = 1.27'. With a
        ``width`` (units) that the one line would not fit, an ``aligned`` block instead: the
        sum, the numbers and the total each start a line, and long sums wrap."""

        if self.parts is not None:
            return self._part_chain_rule(name, idx, values, upstream, width)
        idx = tuple(idx)
        lhs = rf"\frac{{\partial {self.loss}}}{{\partial {tex(self.inputs[name][idx])}}}"
        terms = self.jac[name].get(idx, {})
        sym_parts = [self.term_latex(name, idx, o, r" \cdot ") for o in terms]
        if values is None:
            return f"{lhs} = {ordered_sum(sym_parts)}"
        flat = dict(zip(self._args, self._flat(self.stable_values(values), upstream), strict=True))
        num_parts, total = [], 0.0
        for o, p in terms.items():
            g = flat[self.upstream[o]]
            pv = self._number(p, flat)
            total += g * pv
            num_parts.append(f"({num(g)}) \\cdot ({num(pv)})")
        groups = [(sym_parts, ordered_sum), (num_parts, lambda ps: " + ".join(ps) or "0")]
        return equalities(lhs, groups, num(total), width)


def _tree_function(args, exprs):
    """What lambdify would give for matrices ``exprs`` of ``args``, computed by walking each
    entry's tree (``mathtext.numeric.evaluate``): a list of flat lists of floats."""

    def run(*values):
        env = dict(zip(args, values, strict=True))
        return [
            [float(tree_evaluate(e, {s: env[s] for s in e.free_symbols})) for e in m] for m in exprs
        ]

    return run


def _walk_function(args, exprs):
    """As ``_tree_function``, every entry of every matrix in one walk (``evaluate_many``)."""

    def run(*values):
        flat = evaluate_many([e for m in exprs for e in m], dict(zip(args, values, strict=True)))
        out, k = [], 0
        for m in exprs:
            out.append(flat[k : k + len(m)])
            k += len(m)
        return out

    return run


@dataclass
class Derivation(Math):
    """A Math with its lesson: the steps a page, the CLI and the exports show."""

    steps: list[Step] = field(default_factory=list)

    @classmethod
    def of(cls, m: Math, steps: list[Step]) -> Derivation:
        return cls(**{f.name: getattr(m, f.name) for f in fields(Math)}, steps=steps)


def assemble(op, params, inputs, output, jac, *, out_name, out_letter, loss=None, scope=None):
    """A Math with its upstream symbols and gradients; its lesson adds the steps."""
    scope = scope or Scope(loss=loss or "L")
    if output.shape == (1, 1) and out_name != out_letter.upper():
        out_symbols = sp.Matrix([[scope.scalar(out_name)]])
    else:
        out_symbols = scope.matrix(out_letter, output.shape)
    upstream = scope.upstream(out_symbols)
    grads = grads_from_jac(inputs, jac, upstream)
    return Math(
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
        scope.loss,
        scope,
    )
