"""The exact algebra every derivation shares: products built in sympy's canonical form, the
sparse Jacobian built term by term, the gradients from it, and the matrix operations the proven
patterns are written with. (The functions typed maths shares with the lessons, max pooling's
first-maximum indicator and attention's softmax entry, are in ``mathtext.functions``.)

A derivation is described by its inputs (sympy matrices of symbols), its outputs, and a sparse
Jacobian ``jac[name][(r, c)] = {(i, j): ∂z_ij/∂a_rc}`` holding only the non-zero partials. The
gradient is then ∂L/∂a_rc = Σ_ij ∂L/∂z_ij · ∂z_ij/∂a_rc over those entries alone, so the cost grows
with the number of terms instead of (outputs × symbols), which is what plain ``sympy.diff`` of the
whole loss would cost.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp
from sympy.core.basic import ordering_of_classes

from mathtext.functions import FirstMax

# ---------------------------------------------------------------- fast exact products
#
# sympy's Mul(...) re-sorts and re-flattens its arguments on every call, which dominates the cost
# of a derivation with thousands of x·k terms. Products of a number and distinct plain symbols
# are built here directly in sympy's canonical form (number first, symbols sorted by name, which
# is sympy's own order for plain symbols), so they are the very objects Mul would return. So is
# a symbol times any expression without it: sorted into place by Basic.compare's order, written
# as a key (Basic.compare ranks the class, then the length of the hashable content, then the
# content item by item).


_RANK = {name: i for i, name in enumerate(ordering_of_classes)}
_UNRANKED = len(ordering_of_classes) + 1  # classes the list leaves out sort after, by name
_MUL = _RANK["Mul"]
# a key is built whole, where Basic.compare stops at the first difference: past this many nodes
# (a network's composed partials run to thousands) sympy is left to sort
_KEY_NODES = 64


class _TooBig(KeyError):
    pass


def _order_key(e, budget: list | None = None) -> tuple:
    """Basic.compare's order as a sort key: the class's rank (or, past the ranked ones, its
    name), then the length of the hashable content, then the content item by item. Raises
    KeyError or TypeError where that does not hold, or past _KEY_NODES nodes; the callers then
    let sympy decide."""
    if e.__class__ is sp.Symbol:
        return _symbol_key(e)
    budget = [_KEY_NODES] if budget is None else budget
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooBig(e.__class__.__name__)
    name = e.__class__.__name__
    rank = _RANK.get(name, _UNRANKED)
    content = e.args if rank == _MUL else e._hashable_content()  # a Mul's content is its args
    items = tuple(_item_key(x, budget) for x in content)
    return (rank, "" if rank < _UNRANKED else name, len(content), items)


@lru_cache(maxsize=1 << 16)  # the same symbols are sorted again in sum after sum
def _symbol_key(s: sp.Symbol) -> tuple:
    content = s._hashable_content()
    return (_RANK["Symbol"], "", len(content), content)


def _item_key(x, budget: list):
    if isinstance(x, sp.Basic):
        return _order_key(x, budget)
    if isinstance(x, (frozenset, set, dict)):
        raise KeyError(type(x).__name__)  # compare() converts these; not modelled
    return x


def _scaled(s: sp.Symbol, e):
    """s·e as Mul would build it, for a plain symbol s and a small expression e without it:
    e's factors with s put in its place, or None when Mul might do more than that."""
    factors = e.args if e.__class__ is sp.Mul else (e,)
    try:
        args = sorted((s, *factors), key=_order_key)
    except (KeyError, TypeError):
        return None
    if e.is_commutative is not True or s in e.free_symbols:  # e is small: cheap to ask
        return None
    return sp.Mul._from_args(tuple(args), True)


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
    if factors and (factors[0] is sp.S.One or (factors[0].__class__ is int and factors[0] == 1)):
        factors = factors[1:]  # the coefficient 1 every x·k term carries
        if len(factors) == 1:
            return sp.sympify(factors[0])
    if len(factors) == 2:
        a, b = factors
        if a.__class__ is sp.Symbol and b.__class__ is sp.Symbol and a.name != b.name:
            if a.is_commutative and b.is_commutative:  # x·k, the common case
                return sp.Mul._from_args((a, b) if a.name < b.name else (b, a), True)
        if a.__class__ is sp.Symbol and b.__class__ is FirstMax:
            # ∂L/∂z · [x wins]: Mul's flatten would query the indicator's assumptions, ~0.1 ms
            # each; a symbol sorts before any function, so this is the Mul it would build
            return sp.Mul._from_args((a, b), True)
        if a.__class__ is sp.Symbol and not (b.is_Number or b.is_Symbol):
            # ∂L/∂y · f′(x) and the like: the assumption queries of Mul's flatten cost more
            # than the whole rest of an element-wise derivation
            product = _scaled(a, b)
            if product is not None:
                return product
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


# ---------------------------------------------------------------- fast exact sums
#
# Add(...) sorts its terms with Basic.compare, a Python-level comparison called n·log n times:
# half of a 16×16 convolution's derivation went there. With the same order as a key
# (_order_key), sums of distinct products are built sorted, directly. Anything else goes
# through Add.


def _monomial(e) -> tuple | None:
    """The symbols of a product (or a symbol), without its number coefficient."""
    if e.__class__ is sp.Symbol:
        return (e,)
    if e.__class__ is sp.Mul:
        return e.args[1:] if e.args[0].is_Number else e.args
    return None


def add(terms):
    """The exact sum of the terms, the object Add(*terms) returns; built directly, without
    Add's sorting, when the terms are distinct products of numbers and symbols (no two alike)."""
    terms = [t for t in terms if t is not sp.S.Zero]
    if len(terms) < 2:
        return terms[0] if terms else sp.S.Zero
    monomials = [_monomial(t) for t in terms]
    if None in monomials or len(set(monomials)) != len(monomials):
        return sp.Add(*terms)  # like terms to collect, or other kinds of terms: Add decides
    try:
        ordered = sorted(terms, key=_order_key)
    except KeyError:
        return sp.Add(*terms)
    return sp.Add._from_args(ordered)


def substitute(expr, rule: dict, memo: dict | None = None):
    """``expr.xreplace(rule)``, visiting each distinct subexpression once (pass one ``memo``
    to several calls with the same rule). A network's composed expressions share their layers'
    subexpressions, and xreplace walks them again on every path to them: 9 s of a 5-layer MLP.

    One difference: a max (or min) is rebuilt unevaluated, as max pooling builds it. Evaluating
    one compares its arguments pairwise; a 5×5 pool over ReLU'd convolution sums took 30 s."""
    return _substituted(expr, rule, {} if memo is None else memo)


def _substituted(e, rule, memo):
    if e in rule:
        return rule[e]
    if not e.args:
        return e
    done = memo.get(e)
    if done is None:
        args = tuple(_substituted(a, rule, memo) for a in e.args)
        if all(a is b for a, b in zip(args, e.args, strict=True)):
            done = e
        elif isinstance(e, (sp.Max, sp.Min)):
            done = e.func(*args, evaluate=False)
        else:
            done = e.func(*args)
        memo[e] = done
    return done


class _Clash(Exception):
    """A symbol being renamed to is already in the expression."""


def rename_symbols(expr, names: dict, memo: dict | None = None):
    """``expr.xreplace(names)`` for plain symbols renamed to new plain symbols.

    xreplace re-evaluates every node it rebuilds, and the assumption queries that costs made a
    16×16 sigmoid take half a second. A one-to-one renaming to symbols the expression does not
    hold, with the same assumptions, changes nothing sympy evaluates but the order of sums and
    products, so the nodes are rebuilt as they are and those orders sorted again (each distinct
    subexpression once, as in ``substitute``)."""
    new = set(names.values())
    plain = all(
        a.__class__ is sp.Symbol and b.__class__ is sp.Symbol and a.assumptions0 == b.assumptions0
        for a, b in names.items()
    )
    if plain and len(new) == len(names):
        try:
            return _rebuilt(expr, names, new - set(names), {} if memo is None else memo)
        except _Clash:
            pass
    return expr.xreplace(names)


def _rebuilt(e, names, taken, memo):
    if e in names:
        return names[e]
    if not e.args:
        if e in taken:
            raise _Clash
        return e
    done = memo.get(e)
    if done is None:
        done = memo[e] = _node(e, tuple(_rebuilt(a, names, taken, memo) for a in e.args))
    return done


def _node(e, args):
    """``e`` with its arguments renamed, as it was evaluated: sums and products sorted again."""
    if all(a is b for a, b in zip(args, e.args, strict=True)):
        return e
    if isinstance(e, (sp.Add, sp.Mul)):
        try:
            return e.func._from_args(tuple(sorted(args, key=_order_key)), e.is_commutative)
        except (KeyError, TypeError):
            return e.func(*args)  # too big to key: sympy sorts it
    try:
        return e.func(*args, evaluate=False)
    except TypeError:  # a node without an evaluate flag (a Piecewise branch)
        return e.func(*args)


# ---------------------------------------------------------------- building the Jacobian


def jacobian_from_terms(inputs: dict, terms: dict) -> dict:
    """Sparse Jacobian of outputs that are sums of products.

    terms: out index → list of (coef, [(name, idx), …]); each listed factor contributes
    coef · (the other factors) to ∂z/∂factor. Output indices are visited in the order given, so
    every gradient's terms come out in row-major output order.
    """
    jac: dict[str, dict] = {n: {} for n in inputs}
    for out, tlist in terms.items():
        for coef, factors in tlist:
            for k, (name, idx) in enumerate(factors):
                others = [inputs[n][i] for j, (n, i) in enumerate(factors) if j != k]
                partial = times(coef, *others)
                slot = jac[name].setdefault(idx, {})
                slot[out] = slot.get(out, 0) + partial
    return jac


def outputs_from_terms(shape, inputs: dict, terms: dict) -> sp.Matrix:
    cells = {n: m.tolist() for n, m in inputs.items()}  # Matrix indexing is slow in a hot loop
    flat = [sp.S.Zero] * (shape[0] * shape[1])
    for (r, c), tlist in terms.items():
        flat[r * shape[1] + c] = add(
            [times(coef, *[cells[n][i][j] for n, (i, j) in f]) for coef, f in tlist]
        )
    return sp.Matrix(shape[0], shape[1], flat)


def grads_from_jac(inputs: dict, jac: dict, upstream: sp.Matrix) -> dict[str, sp.Matrix]:
    up = upstream.tolist()
    grads = {}
    for name, m in inputs.items():
        flat = [sp.S.Zero] * (m.rows * m.cols)
        for (r, c), outs in jac[name].items():
            flat[r * m.cols + c] = add([times(up[i][j], p) for (i, j), p in outs.items()])
        grads[name] = sp.Matrix(m.rows, m.cols, flat)
    return grads


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
    al, kl = a.tolist(), k.tolist()
    # zeros (of padding, of a spread-out upstream) contribute nothing: most of a padded grid
    taps = [(m * d0, n * d1, kl[m][n]) for m in range(k.rows) for n in range(k.cols)]
    taps = [(dm, dn, kv) for dm, dn, kv in taps if kv is not sp.S.Zero]
    flat = []
    for i in range(h):
        for j in range(w):
            cells = [(al[i * s0 + dm][j * s1 + dn], kv) for dm, dn, kv in taps]
            flat.append(add([times(av, kv) for av, kv in cells if av is not sp.S.Zero]))
    return sp.Matrix(h, w, flat)


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


def equal(derived: sp.Matrix, pattern: sp.Matrix) -> bool:
    """True when derived − pattern expands to the zero matrix."""
    if derived.shape != pattern.shape:
        return False
    # both sides are built in sympy's canonical form, so equal structure already proves
    # equality; anything else must expand to zero
    return all(a == b or sp.expand(a - b) == 0 for a, b in zip(derived, pattern, strict=True))
