"""max(x₁, …, xₙ) of a pooling window as the answer checker receives it.

The max-pool lesson's output z11 is sympy's Max of its window's cells. Building a Max compares
its arguments pairwise (is x12 − x11 positive?): Max(36 cells) takes ~3 s to build, and the
answer checker's worker builds it again whenever a name holding it is sent (unpickling calls
the constructor). A learner typing z11 on a 6×6 window got "too complex" and a killed worker.
``WindowMax`` is the same maximum as a plain function of its cells, which nothing simplifies
until the cells are numbers; ``lighten`` puts it in place of every wide Max of a value about
to be sent. ``numeric`` evaluates it, and sympy's own numbers (``evalf``) do too.
"""

from __future__ import annotations

import sympy as sp

WIDE = 3  # a Max of this many arguments or more is sent as a WindowMax (two stay Max: the
# proof turns Max(a, b) into cases)
SHOWN = 6  # cells a preview writes out before it abbreviates the window


class WindowMax(sp.Function):
    """max(x₁, …, xₙ), left as it is until every argument is a number."""

    @classmethod
    def eval(cls, *xs):
        # of numbers, the largest by plain comparisons (sympy's Max(36 numbers) took 57 ms)
        if xs and all(x.is_number and x.is_comparable for x in xs):
            return max(xs)
        return None

    def _latex(self, printer):
        # a 6×6 window's 36 cells ran off the preview's column: the first three and the last
        cells = [printer._print(x) for x in self.args]
        if len(cells) > SHOWN:
            cells = [*cells[:3], r"\ldots", cells[-1]]
        return r"\max\left(" + ", ".join(cells) + r"\right)"


def lighten(value):
    """``value`` with every Max of WIDE arguments or more as a WindowMax (the same function,
    cheap to rebuild); other values as they are."""
    if not isinstance(value, sp.Basic) or not value.has(sp.Max):
        return value
    wide = lambda n: isinstance(n, sp.Max) and len(n.args) >= WIDE  # noqa: E731
    return value.replace(wide, lambda n: WindowMax(*n.args))
