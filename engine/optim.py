"""SGD and Adam for ``engine.nn`` models, applying ``torch.optim``'s rules to every array of
``model.params`` in place (so the layers see the update without being told)."""

from __future__ import annotations

import math

import numpy as np


def _hyper(owner: str, arg: str, v, lo: float, hi: float = math.inf) -> float:
    """A hyperparameter in [lo, hi): lr, eps, momentum and weight decay in [0, ∞), betas in [0, 1)."""
    ok = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
    if not ok or not lo <= v < hi:
        raise ValueError(f"{owner}: {arg} must be a number in [{lo:g}, {hi:g}), got {v!r}")
    return float(v)


def _model(owner: str, model):
    if not isinstance(getattr(model, "params", None), dict) or not isinstance(
        getattr(model, "grads", None), dict
    ):
        raise ValueError(
            f"{owner}: model must be a layer or Sequential with params and grads, "
            f"got {type(model).__name__}"
        )
    return model


class _Optimiser:
    def __init__(self, model):
        self.model = _model(type(self).__name__, model)
        self.state: dict[str, dict] = {}  # per parameter name, as torch's optimizer.state

    def zero_grad(self) -> None:
        """Harmless: backward sets the grads rather than adding to them."""
        self.model.zero_grad()

    def _pairs(self):
        """(name, param, grad) for every parameter, as the model holds them now."""
        grads = self.model.grads
        for name, p in self.model.params.items():
            yield name, p, grads[name]


class SGD(_Optimiser):
    """torch.optim.SGD (dampening 0, not Nesterov): g ← ∇ + λθ; b ← μb + g (b₁ = g); θ ← θ − η·b."""

    def __init__(self, model, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(model)
        self.lr = _hyper("SGD", "lr", lr, 0.0)
        self.momentum = _hyper("SGD", "momentum", momentum, 0.0)
        self.weight_decay = _hyper("SGD", "weight_decay", weight_decay, 0.0)

    def step(self) -> None:
        for name, p, g in self._pairs():
            if self.weight_decay:
                g = g + self.weight_decay * p
            if self.momentum:
                st = self.state.setdefault(name, {})
                if "momentum_buffer" not in st:
                    st["momentum_buffer"] = g.copy()  # torch starts the buffer at the first g
                else:
                    buf = st["momentum_buffer"]
                    buf *= self.momentum
                    buf += g
                g = st["momentum_buffer"]
            p -= self.lr * g


class Adam(_Optimiser):
    """torch.optim.Adam: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − η·m̂/(√v̂ + ε), where
    m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ)."""

    def __init__(self, model, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(model)
        self.lr = _hyper("Adam", "lr", lr, 0.0)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = tuple(_hyper("Adam", "betas", b, 0.0, 1.0) for b in betas)
        self.eps = _hyper("Adam", "eps", eps, 0.0)
        self.t = 0

    def step(self) -> None:
        self.t += 1
        b1, b2 = self.betas
        # torch's single-tensor Adam's order of operations, so float64 runs agree to the last
        # few bits
        step_size = self.lr / (1 - b1**self.t)
        root_bc2 = math.sqrt(1 - b2**self.t)
        for name, p, g in self._pairs():
            st = self.state.get(name)
            if st is None:
                st = self.state[name] = {
                    "exp_avg": np.zeros_like(p),
                    "exp_avg_sq": np.zeros_like(p),
                }
            m, v = st["exp_avg"], st["exp_avg_sq"]
            m += (1 - b1) * (g - m)  # torch's lerp
            v *= b2
            v += (1 - b2) * g * g
            denom = np.sqrt(v) / root_bc2 + self.eps
            p -= step_size * m / denom
