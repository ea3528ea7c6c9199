"""The numbers of a computational graph (``graph``): the values given for the
names checked, every node's value and local derivatives (float64, one numpy operation per
node, never code made from the text), the backward pass, and the message for a value that is
not a number.

Where a derivative does not exist, PyTorch's convention: relu′(0) = 0, abs′(0) = sign(0) = 0,
sign′ = 0, a condition [a > b] passes no gradient to a or b (a mask: not even nan from an inf
above), sqrt′(0) = 1/(2·0) = inf, and (x^p)′ at 0 for p < 1 is inf; so a gradient may be inf
or nan exactly where PyTorch's is.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping

import numpy as np


def check_values(values, names: tuple[str, ...]) -> dict[str, float]:
    if not isinstance(values, Mapping):
        raise ValueError(
            f"expression_graph: values must be a dict of name → number, got {type(values).__name__}"
        )
    missing = [n for n in names if n not in values]
    extra = [repr(k) for k in values if k not in names]
    if missing or extra:
        said = []
        if missing:
            said.append(f"has no number for {', '.join(missing)}")
        if extra:
            said.append(f"has {', '.join(extra)}, which the expression does not use")
        uses = ", ".join(names) if names else "no names"
        raise ValueError(f"expression_graph: values {' and '.join(said)} (it uses {uses})")
    env = {}
    for n in names:
        v = values[n]
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise ValueError(
                f"expression_graph: values[{n!r}] must be a real number, got {type(v).__name__}"
            )
        if not math.isfinite(float(v)):
            raise ValueError(f"expression_graph: values[{n!r}] is {float(v)}: give a finite number")
        env[n] = float(v)
    return env


def _sigmoid(u):
    # the two forms PyTorch's own kernel switches between: neither overflows
    return 1 / (1 + np.exp(-u)) if u >= 0 else np.exp(u) / (1 + np.exp(u))


# op → (forward, ∂/∂ its input(s) given the inputs and the value)
_UNARY: dict[str, tuple[Callable, Callable]] = {
    "neg": (np.negative, lambda u, y: -1.0),
    "exp": (np.exp, lambda u, y: y),
    "log": (np.log, lambda u, y: 1 / u),
    "sin": (np.sin, lambda u, y: np.cos(u)),
    "cos": (np.cos, lambda u, y: -np.sin(u)),
    "tanh": (np.tanh, lambda u, y: 1 - y * y),
    "sigmoid": (_sigmoid, lambda u, y: y * (1 - y)),
    "relu": (lambda u: u if u > 0 else 0.0, lambda u, y: float(u > 0)),  # relu′(0) = 0
    "sqrt": (np.sqrt, lambda u, y: 1 / (2 * y)),  # inf at 0, as PyTorch
    "abs": (np.abs, lambda u, y: np.sign(u)),  # 0 at 0, as PyTorch
    "cosh": (np.cosh, lambda u, y: np.sinh(u)),
    "sinh": (np.sinh, lambda u, y: np.cosh(u)),
    "sign": (np.sign, lambda u, y: 0.0),
}
_BINARY: dict[str, tuple[Callable, Callable]] = {
    "+": (np.add, lambda a, b, y: (1.0, 1.0)),
    "-": (np.subtract, lambda a, b, y: (1.0, -1.0)),
    "*": (np.multiply, lambda a, b, y: (b, a)),
    "/": (np.divide, lambda a, b, y: (1 / b, -a / (b * b))),
    "[>]": (lambda a, b: float(a > b), lambda a, b, y: (0.0, 0.0)),
    "[>=]": (lambda a, b: float(a >= b), lambda a, b, y: (0.0, 0.0)),
    "[<]": (lambda a, b: float(a < b), lambda a, b, y: (0.0, 0.0)),
    "[<=]": (lambda a, b: float(a <= b), lambda a, b, y: (0.0, 0.0)),
}
# where PyTorch sends no gradient at all (a mask, not a product: 0 even from an inf above);
# so does a power 0
_NO_GRADIENT = {"relu", "sign", "[>]", "[>=]", "[<]", "[<=]"}


def forward(parts, env: dict):
    """Every node's value (float64) and local derivatives, inputs first; a value that is not
    finite is a ValueError saying where and why."""
    vals: list[float] = []
    local: list[tuple[float, ...]] = []
    with np.errstate(all="ignore"):
        for p in parts:
            args = [vals[i] for i in p.inputs]
            y, d = _apply(p, args, env)
            if not np.isfinite(y):
                raise ValueError(_undefined(p, args, y, env))
            vals.append(y)
            local.append(tuple(float(v) for v in d))
    return vals, local


def evaluate(parts, env: dict) -> list[float]:
    """Every node's value at ``env``, inputs first, nan or inf where a part is undefined (no
    message): the finite differences' forward passes. ``parts`` may be a graph's nodes."""
    vals: list = []
    with np.errstate(all="ignore"):
        for p in parts:
            vals.append(float(_apply(p, [vals[i] for i in p.inputs], env)[0]))
    return vals


def _apply(p, args, env):
    if p.op == "const":
        return np.float64(p.value), ()
    if p.op == "input":
        return np.float64(env[p.label]), ()
    if p.op == "**":
        u, e = args[0], p.exponent
        y = np.float64(np.power(u, e))
        d = 0.0 if e == 0 else e * np.power(u, e - 1)  # PyTorch: no gradient for x^0
        return y, (d,)
    if p.op in _BINARY:
        f, df = _BINARY[p.op]
        y = np.float64(f(*args))
        return y, df(*args, y)
    if p.op not in _UNARY:
        raise ValueError(f"{p.label}: {p.op}(…) cannot be drawn as a graph yet")
    f, df = _UNARY[p.op]
    y = np.float64(f(args[0]))
    return y, (df(args[0], y),)


def backward(parts, local) -> list:
    """∂output/∂node for every node: reverse topological order, each node's gradient times
    its local derivatives added into its inputs (a name used twice gets both)."""
    grads = [np.float64(0.0) for _ in parts]
    grads[-1] = np.float64(1.0)
    with np.errstate(all="ignore"):
        for i in range(len(parts) - 1, -1, -1):
            for k, d in zip(parts[i].inputs, local[i], strict=True):
                if not (d == 0 and _masked(parts[i])):
                    grads[k] = grads[k] + d * grads[i]
    return grads


def _masked(p) -> bool:
    return p.op in _NO_GRADIENT or (p.op == "**" and p.exponent == 0)


def _undefined(p, args, y, env) -> str:
    at = ", ".join(f"{n} = {plain(env[n])}" for n in p.names) or "these numbers"
    why = _why(p, args)
    if why is None:
        return (
            f"{p.label} is too large to work with at {at}: it is past float64's largest "
            "number (about 1.8e308)"
        )
    return f"{p.label} is undefined at {at}: {why}"


def _why(p, args) -> str | None:
    """Why a value is not a number (None: it overflowed)."""
    u = args[0] if args else 0.0
    if p.op == "log" and u <= 0:
        return "the log of 0" if u == 0 else f"the log of {plain(u)}, a negative number"
    if p.op == "sqrt" and u < 0:
        return f"the square root of {plain(u)}, a negative number"
    if p.op == "/" and args[1] == 0:
        return "it divides by 0"
    if p.op == "**" and u == 0 and p.exponent < 0:
        return "0 to a negative power divides by 0"
    if p.op == "**" and u < 0 and not float(p.exponent).is_integer():
        return f"{plain(u)} to the power {p.symbol[2:]}, a negative number to a fractional power"
    return None


def plain(v) -> str:
    """A number as short as it reads exactly: 1, -2.5, 6.881373587019543."""
    s = repr(float(v))
    return s[:-2] if s.endswith(".0") else s
