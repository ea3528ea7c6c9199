"""Symbol matrices named like the notes (x_{11}, k_{22}), scoped per layer so that the same op used
twice in one network gets distinct symbols: layer ℓ's entries are x^{(ℓ)}_{11}, w^{(ℓ)}_{12}.

A symbol's name is its own LaTeX, so ``sympy.latex`` prints it as the notes write it.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

_SUB = str.maketrans("0123456789,", "₀₁₂₃₄₅₆₇₈₉,")
_SUP = str.maketrans("0123456789()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾")


def index_label(r: int, c: int, shape: tuple[int, int]) -> str:
    """1-based 'rc' (x_{11}); with a comma once a side passes 9, so x_{1,10} ≠ x_{11,0}."""
    if max(shape) > 9:
        return f"{r + 1},{c + 1}"
    return f"{r + 1}{c + 1}"


@dataclass(frozen=True)
class Scope:
    """Where a derivation's symbols live: ``layer`` None for a single op (x_{11}), or the layer
    number of a network (x^{(1)}_{11}); ``loss`` is the scalar every gradient is of;
    ``letters`` renames an op's letters where a network names them otherwise."""

    layer: int | None = None
    loss: str = "L"
    letters: tuple[tuple[str, str], ...] = ()  # (op's letter, the one to print): a bias b → c

    @property
    def sup(self) -> str:
        return "" if self.layer is None else f"^{{({self.layer})}}"

    def name(self, letter: str) -> str:
        """A whole matrix's (or a scalar's) LaTeX name in this scope: Z, Z^{(2)}. A renamed
        letter that carries its own superscript keeps it (layer 2's input is a^{(1)})."""
        named = dict(self.letters).get(letter, letter)
        return named if "^" in named else named + self.sup

    def scalar(self, letter: str) -> sp.Symbol:
        return sp.Symbol(self.name(letter))

    def matrix(self, letter: str, shape: tuple[int, int], vector: bool = False) -> sp.Matrix:
        """x_{11} …; vectors (1×n) get one index, b_{1}."""
        rows, cols = shape
        head = self.name(letter)
        if vector:
            return sp.Matrix(1, cols, lambda r, c: sp.Symbol(f"{head}_{{{c + 1}}}"))
        return sp.Matrix(
            rows, cols, lambda r, c: sp.Symbol(f"{head}_{{{index_label(r, c, shape)}}}")
        )

    def upstream(self, out_symbols: sp.Matrix) -> sp.Matrix:
        """∂L/∂z_ij as symbols whose names are their own LaTeX."""
        return out_symbols.applyfunc(
            lambda s: sp.Symbol(rf"\frac{{\partial {self.loss}}}{{\partial {sp.latex(s)}}}")
        )


def as_scope(op: str, scope) -> Scope | None:
    """``scope`` as derive() takes it: None, or a Scope whose fields are what they say (a
    layer number, a loss name, letter pairs). Anything else is a ValueError naming the
    argument, before a builder reads ``scope.layer`` (AttributeError) or the worker tries to
    pickle it (PicklingError for a lambda)."""
    if scope is None:
        return None
    if type(scope) is not Scope:
        raise ValueError(
            f"{op}: scope must be None or a derivations.Scope, such as Scope(layer=1); got "
            f"{_brief(scope)}."
        )
    layer, loss, letters = scope.layer, scope.loss, scope.letters
    if layer is not None and (type(layer) is not int or not 1 <= layer <= 99):
        raise ValueError(
            f"{op}: scope.layer must be None or a whole number from 1 to 99; got {_brief(layer)}."
        )
    if type(loss) is not str or not loss.replace("_", "").isalnum() or len(loss) > 12:
        raise ValueError(
            f"{op}: scope.loss must be a short name such as 'L' or 'J'; got {_brief(loss)}."
        )
    pairs = type(letters) is tuple and all(
        type(p) is tuple and len(p) == 2 and all(type(v) is str and v for v in p) for p in letters
    )
    if not pairs:
        raise ValueError(
            f"{op}: scope.letters must be a tuple of (letter, name) pairs of text; got "
            f"{_brief(letters)}."
        )
    return scope


def _brief(v) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def symbol_matrix(letter: str, shape: tuple[int, int], vector: bool = False) -> sp.Matrix:
    """An unscoped symbol matrix, as a single-op lesson names it."""
    return Scope().matrix(letter, shape, vector)


def plain(e) -> str:
    """A symbol as plain text for titles and sentences: x_{11} → x₁₁, x_{1,10} → x₁,₁₀,
    x^{(2)}_{11} → x⁽²⁾₁₁."""
    s = str(e)
    if "_{" in s and s.endswith("}"):
        head, idx = s.split("_{", 1)
        return _plain_head(head) + idx[:-1].translate(_SUB)
    return _plain_head(s)


def _plain_head(head: str) -> str:
    if "^{(" in head and head.endswith(")}"):
        letter, layer = head.split("^{", 1)
        return _GREEK.get(letter, letter) + layer[:-1].translate(_SUP)
    return _GREEK.get(head, head)


# letters named by their LaTeX command (batch norm's γ_{1}), as plain text
_GREEK = {r"\gamma": "γ", r"eta": "β", r"\mu": "μ", r"\sigma": "σ", r"\hat{x}": "x̂"}
