"""Central finite differences, for checking any op's backward against its forward."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


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


def numeric_grad(forward, inputs: dict, dy, eps: float = 1e-6) -> dict:
    """∂⟨dy, forward(*inputs)⟩/∂input for every input, by central differences in float64."""
    # C order matters: each input is nudged through a flat view, and reshape(-1) of a Fortran-
    # ordered array (as pandas hands out) is a copy, so the nudge would never reach forward()
    inputs = {k: np.array(v, dtype=np.float64, order="C") for k, v in inputs.items()}
    dy = np.asarray(dy, dtype=np.float64)
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
    if dy is None:
        out = np.asarray(forward(*inputs.values()))
        dy = np.random.default_rng(seed).standard_normal(out.shape)
    numeric = numeric_grad(forward, inputs, dy, eps)
    ok, worst_abs, worst_rel, worst = True, 0.0, 0.0, (None, ())
    for name, a in analytic.items():
        n = numeric[name]
        a = np.asarray(a, dtype=np.float64)
        if a.shape != n.shape:
            raise ValueError(
                f"gradcheck: analytic[{name!r}] must have shape {n.shape}, got {a.shape}"
            )
        err = np.abs(a - n)
        rel = err / np.maximum(np.abs(n), 1e-12)
        ok &= bool(np.all(err <= atol + rtol * np.abs(n)))
        if err.size and err.max() > worst_abs:
            worst_abs = float(err.max())
            worst = (name, tuple(int(i) for i in np.unravel_index(err.argmax(), err.shape)))
        if rel.size:
            worst_rel = max(worst_rel, float(np.max(np.where(err > atol, rel, 0.0))))
    return GradcheckResult(ok, worst_abs, worst_rel, worst[0], worst[1], numeric)
