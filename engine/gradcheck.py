"""Central finite differences, for checking any op's backward against its forward."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import _checks as ck


@dataclass(frozen=True)
class GradcheckResult:
    """What a gradient check found; the app shows it, so it is a value, not a print."""

    ok: bool
    max_abs_error: float
    max_rel_error: float
    worst_input: str | None  # which input holds the worst element
    worst_index: tuple  # and where in it
    numeric: dict = field(repr=False)

    def __str__(self) -> str:
        where = f" at {self.worst_input}{list(self.worst_index)}" if self.worst_input else ""
        verdict = "pass" if self.ok else "FAIL"
        return (
            f"gradcheck {verdict}: max abs error {self.max_abs_error:.2e}, "
            f"max rel error {self.max_rel_error:.2e}{where}"
        )


def _inputs(fn, forward, inputs) -> dict:
    """The inputs as float64 C-ordered copies (each is nudged in place), after checking them."""
    if not callable(forward):
        ck.fail(fn, "forward", "a callable", repr(forward))
    if not isinstance(inputs, dict) or not all(isinstance(k, str) for k in inputs):
        ck.fail(fn, "inputs", "a dict of name → array", repr(inputs)[:60])
    # C order matters: each input is nudged through a flat view, and reshape(-1) of a Fortran-
    # ordered array (as pandas hands out) is a copy, so the nudge would never reach forward()
    return {
        k: np.array(ck.as_float(fn, f"inputs[{k!r}]", v), dtype=np.float64, order="C")
        for k, v in inputs.items()
    }


def _eps(fn, eps) -> float:
    e = ck.real(fn, "eps", eps)
    if not 0 < e < np.inf:
        ck.fail(fn, "eps", "a positive finite step", repr(eps))
    return e


def _upstream(fn, forward, inputs: dict, dy) -> np.ndarray:
    out = ck.as_float(fn, "forward's output", forward(*inputs.values()))
    dy = ck.as_float(fn, "dy", dy).astype(np.float64, copy=False)
    ck.shape_eq(fn, "dy", dy, out.shape, "the shape of forward's output")
    return dy


def numeric_grad(forward, inputs: dict, dy, eps: float = 1e-6) -> dict:
    """∂⟨dy, forward(*inputs)⟩/∂input for every input, by central differences in float64."""
    fn = "numeric_grad"
    inputs, eps = _inputs(fn, forward, inputs), _eps(fn, eps)
    return _numeric(forward, inputs, _upstream(fn, forward, inputs, dy), eps)


def _numeric(forward, inputs: dict, dy: np.ndarray, eps: float) -> dict:
    out = {}
    for name, arr in inputs.items():
        g = np.zeros(arr.shape)
        flat = arr.reshape(-1)  # a view: nudging it nudges the input forward() sees
        for i in range(flat.size):
            orig = flat[i]
            flat[i] = orig + eps
            up = float(np.sum(dy * forward(*inputs.values())))
            flat[i] = orig - eps
            down = float(np.sum(dy * forward(*inputs.values())))
            flat[i] = orig
            g.reshape(-1)[i] = (up - down) / (2 * eps)
        out[name] = g
    return out


def gradcheck(
    forward, inputs: dict, analytic: dict, dy=None, *, eps=1e-6, rtol=1e-5, atol=1e-7, seed=0
) -> GradcheckResult:
    """Compare ``analytic`` gradients with central differences of L = ⟨dy, forward(*inputs)⟩.

    forward: called with the inputs' values in order; analytic: name → gradient, for any subset
    of the inputs; dy: upstream gradient (random normal from ``seed`` when None). Passes when
    every element has |a − n| <= atol + rtol·|n|.
    """
    fn = "gradcheck"
    inputs, eps = _inputs(fn, forward, inputs), _eps(fn, eps)
    if not isinstance(analytic, dict):
        ck.fail(fn, "analytic", "a dict of input name → gradient", repr(analytic)[:60])
    for name in analytic:
        if name not in inputs:
            ck.fail(fn, "analytic", f"keyed by names of inputs {list(inputs)}", repr(name))
    analytic = {k: ck.as_float(fn, f"analytic[{k!r}]", a) for k, a in analytic.items()}
    rtol, atol = ck.real(fn, "rtol", rtol), ck.real(fn, "atol", atol)
    if not (rtol >= 0 and atol >= 0):
        ck.fail(fn, "rtol and atol", ">= 0", f"rtol={rtol!r}, atol={atol!r}")
    seed = ck.integer(fn, "seed", seed, minimum=0)
    if dy is None:
        out = ck.as_float(fn, "forward's output", forward(*inputs.values()))
        dy = np.random.default_rng(seed).standard_normal(out.shape)
    else:
        dy = _upstream(fn, forward, inputs, dy)
    numeric = _numeric(forward, inputs, dy, eps)
    ok, worst_abs, worst_rel, worst = True, 0.0, 0.0, (None, ())
    for name, a in analytic.items():
        n = numeric[name]
        a = a.astype(np.float64, copy=False)
        if a.shape != n.shape:
            ck.fail(fn, f"analytic[{name!r}]", f"of shape {n.shape}", f"shape {a.shape}")
        err = np.abs(a - n)
        rel = err / np.maximum(np.abs(n), 1e-12)
        ok &= bool(np.all(err <= atol + rtol * np.abs(n)))
        if err.size and err.max() > worst_abs:
            worst_abs = float(err.max())
            worst = (name, tuple(int(i) for i in np.unravel_index(err.argmax(), err.shape)))
        if rel.size:
            worst_rel = max(worst_rel, float(np.max(np.where(err > atol, rel, 0.0))))
    return GradcheckResult(ok, worst_abs, worst_rel, worst[0], worst[1], numeric)
