"""Expressions that share big subexpressions, compiled with each of those computed once.

Written in a derivation's inputs, a batch norm's every entry repeats its group's σ (a square
root of a sum of squares of sums): sympy's printer writes every repeat out, so lambdify of an
8×8 batch norm took a minute, and its own common-subexpression search took as long. The
derivation knows its shared quantities by name (μ_j, σ_j, x̂_ij), so it says them: a ``Shared``
holds their definitions in order and each expression's named form, and compiles expressions in
the inputs from those (``Math._lambdify`` and ``ui.patterns.compile_matrices`` use it when a
Math carries one in ``staged``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from mathtext.functions import NUMERIC

from .algebra import rename_symbols

# lambdify's own printer settings for numpy, and the terms printed in the order they stand
_PRINTER_SETTINGS = {
    "fully_qualified_modules": False,
    "inline": True,
    "allow_unknown_functions": True,
    "order": "none",
}


@dataclass
class Shared:
    """Quantities a derivation names (μ_j, σ_j, x̂_ij), each defined in the inputs and the ones
    before it, and the expressions of the derivation written with them (``known``: the
    expression in the inputs → the same one in the named quantities). ``lambdify`` compiles
    expressions in the inputs as lambdify would, computing each named quantity once."""

    defs: list[tuple[sp.Symbol, sp.Expr]] = field(default_factory=list)
    known: dict = field(default_factory=dict)

    def name(self, full, short) -> None:
        self.known[full] = short

    def names(self, full: sp.Matrix, short: sp.Matrix) -> None:
        for a, b in zip(full, short, strict=True):
            self.known[a] = b

    def lambdify(self, args, exprs):
        """sympy.lambdify(args, exprs) (a list of matrices), each entry the derivation knows
        computed from its named form: the named quantities first, once each, then the
        entries. An entry it does not know is compiled as it stands (slowly, but the same)."""
        plain = {s: sp.Symbol(f"v{i}") for i, s in enumerate(args)}
        plain |= {s: sp.Symbol(f"w{i}") for i, (s, _) in enumerate(self.defs)}
        memo: dict = {}

        def short(e):
            return rename_symbols(self.known.get(e, e), plain, memo)

        body = [sp.Matrix(m).applyfunc(short) for m in exprs]
        defs = [(plain[s], rename_symbols(d, plain, memo)) for s, d in self.defs]
        return sp.lambdify(
            [plain[s] for s in args],
            body,
            modules=NUMERIC,
            # the terms as they stand: sorting them for print took most of the time
            printer=NumPyPrinter(_PRINTER_SETTINGS),
            cse=lambda e: (defs, e),  # the named quantities are the common subexpressions
            docstring_limit=0,
        )
