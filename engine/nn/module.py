"""The base of every layer (``Module``), the container (``Sequential``) and the checks layers
share: a float dtype, a count, a random generator, PyTorch's default initialisation."""

from __future__ import annotations

import math

import numpy as np

from .._checks import MAX_ELEMENTS

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _float_dtype(owner: str, dtype) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in _FLOATS:
        raise ValueError(f"{owner}: dtype must be float32 or float64, got {dtype!r}")
    return dt


def _count(owner: str, arg: str, v) -> int:
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
        raise ValueError(f"{owner}: {arg} must be an int >= 1, got {v!r}")
    return int(v)


def _generator(owner: str, rng) -> np.random.Generator:
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError):
        raise ValueError(
            f"{owner}: rng must be None, a seed >= 0 or a numpy Generator, got {rng!r}"
        ) from None


def _uniform(gen, fan_in: int, shape: tuple, dtype) -> np.ndarray:
    """PyTorch's default for weights and biases alike: U(−1/√fan_in, 1/√fan_in)."""
    bound = 1 / math.sqrt(fan_in)
    return gen.uniform(-bound, bound, shape).astype(dtype)


# A layer's ``init=``: how its weight is drawn. Each is torch.nn.init's function of that name
# (gain 1 for Xavier, ReLU's √2 for He, fan_in mode); all but "pytorch" start the bias at zero,
# as the papers and cs231n do (torch.nn.init leaves the bias to the caller).
INITS = {
    "pytorch": "PyTorch's default, U(±1/√fan_in), the bias too",
    "xavier": "Xavier/Glorot uniform, U(±√(6/(fan_in + fan_out))) (xavier_uniform_)",
    "he": "He/Kaiming normal, N(0, 2/fan_in) (kaiming_normal_, nonlinearity='relu')",
    "normal": "small normal, N(0, 0.01²) (normal_(std=0.01), cs231n's 0.01·randn)",
}


def _init_name(owner: str, init) -> str:
    if not isinstance(init, str) or init not in INITS:
        raise ValueError(f"{owner}: init must be one of {', '.join(INITS)}, got {init!r}")
    return init


def _weight(gen, init: str, fan_in: int, fan_out: int, shape: tuple, dtype) -> np.ndarray:
    """A weight drawn as ``init`` says (not "pytorch", which draws bias and weight alike)."""
    if init == "xavier":
        bound = math.sqrt(6 / (fan_in + fan_out))
        return gen.uniform(-bound, bound, shape).astype(dtype)
    std = math.sqrt(2 / fan_in) if init == "he" else 0.01
    return gen.normal(0.0, std, shape).astype(dtype)


class Module:
    """A layer: ``forward(x)`` caches what ``backward(dy)`` needs; backward returns dx and sets
    ``grads`` (same keys and shapes as ``params``). ``backward(dy, input_grad=False)`` sets the
    grads and returns None, skipping dx: what PyTorch does for an input that needs no gradient,
    such as a batch of data (train_epoch asks for it; a conv layer's dx is ~1/6 of an epoch).
    ``training`` (True when built) is the mode ``train()``/``eval()`` set, as torch's: batch norm
    uses the batch's statistics in training mode and its running estimates in eval mode."""

    # a class default, so a layer whose __init__ skips Module's starts in training mode too
    training: bool = True

    def __init__(self, dtype=None):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        # None: follow the input, as the functional ops do (float32 stays float32)
        self.dtype: np.dtype | None = dtype
        self._x: np.ndarray | None = None  # the last forward's input; None before any
        self._out_shape: tuple | None = None

    def __call__(self, x):
        return self.forward(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def forward(self, x):
        raise NotImplementedError

    def backward(self, dy, *, input_grad=True):
        raise NotImplementedError

    def astype(self, dtype) -> Module:
        """Compute in ``dtype`` (float32 or float64) from now on; params and grads become new
        arrays of it, so build optimisers after this. Returns self."""
        dt = _float_dtype(repr(self), dtype)
        self.dtype = dt
        self.params = {k: v.astype(dt) for k, v in self.params.items()}
        self.grads = {k: v.astype(dt) for k, v in self.grads.items()}
        self._x = self._out_shape = None  # a cache in the old dtype would mix the two
        return self

    def zero_grad(self) -> None:
        for g in self.grads.values():
            g.fill(0)

    def train(self, mode=True) -> Module:
        """Training mode (``mode=False``: eval mode), as torch's Module.train. Returns self."""
        if not isinstance(mode, (bool, np.bool_)):
            raise ValueError(f"{self!r}: train's mode must be True or False, got {mode!r}")
        self.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Eval mode: ``train(False)``. Returns self."""
        return self.train(False)

    def _fail(self, arg: str, expected: str, given) -> None:
        raise ValueError(f"{self!r}: {arg} must {expected}, got {given}")

    def _input(self, x, ndim: int, layout: str, *, more: bool = False) -> np.ndarray:
        """x as an array of this layer's dtype with ``ndim`` axes (or more, if ``more``)."""
        if not isinstance(x, np.ndarray):
            try:
                x = np.asarray(x)
            except Exception as exc:  # ragged lists and the like
                self._fail("x", "be an array of numbers", f"{type(exc).__name__}: {exc}")
        if x.size > MAX_ELEMENTS:  # before astype: a float32 view would double in float64
            self._fail("x", f"have at most {MAX_ELEMENTS} elements (the engine's limit, 2**28)",
                       f"shape {x.shape}")  # fmt: skip
        dt = self.dtype
        if dt is None:
            dt = x.dtype if x.dtype in _FLOATS else np.dtype(np.float64)
        if x.dtype != dt:
            if x.dtype.kind not in "biuf":
                self._fail("x", "be an array of real numbers", f"dtype {x.dtype}")
            x = x.astype(dt)
        if x.ndim != ndim and not (more and x.ndim > ndim):
            self._fail("x", f"be {ndim}-D {layout}", f"shape {x.shape}")
        return x

    def _upstream(self, dy) -> np.ndarray:
        """dy checked against the last forward's output, in the dtype that forward computed in."""
        if self._x is None:
            self._fail("backward", "come after a forward (nothing is cached)", f"dy {_shape(dy)}")
        dy = np.asarray(dy)
        if dy.dtype != self._x.dtype:
            if dy.dtype.kind not in "biuf":
                self._fail("dy", "be an array of real numbers", f"dtype {dy.dtype}")
            dy = dy.astype(self._x.dtype)
        if dy.shape != self._out_shape:
            self._fail(
                "dy", f"be of shape {self._out_shape} (the last forward's output)", _shape(dy)
            )
        return dy

    def _cache(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        self._x, self._out_shape = x, y.shape
        return y

    def _set_grads(self, **grads) -> None:
        # written into the existing arrays, so a grads dict fetched earlier stays current
        for k, g in grads.items():
            self.grads[k][...] = g


def _shape(a) -> str:
    return f"shape {np.shape(a)}"


class _Parametrised(Module):
    """A layer with a weight and a bias, initialised as PyTorch does."""

    def _init_params(
        self, rng, fan_in: int, w_shape: tuple, b_shape: tuple, init="pytorch", fan_out=1
    ) -> None:
        """The weight and bias as ``init`` says (INITS); fan_out is out × the kernel's area,
        as torch's _calculate_fan_in_and_fan_out (only Xavier uses it)."""
        name = type(self).__name__
        self.init = _init_name(name, init)
        gen = _generator(name, rng)
        if init == "pytorch":
            w = _uniform(gen, fan_in, w_shape, self.dtype)
            b = _uniform(gen, fan_in, b_shape, self.dtype)
        else:
            w = _weight(gen, init, fan_in, fan_out, w_shape, self.dtype)
            b = np.zeros(b_shape, self.dtype)
        self.params = {"weight": w, "bias": b}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}


class Sequential(Module):
    """y = f_L(… f_2(f_1(x))); backward runs the layers' backward in reverse order."""

    def __init__(self, *modules):
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise ValueError(
                    f"Sequential: module {i} must be a layer (Linear, Conv2d, ReLU, …), "
                    f"got {type(m).__name__}"
                )
        self.layers: list[Module] = list(modules)
        self.dtype = None

    def __repr__(self) -> str:
        return "Sequential(" + ", ".join(map(repr, self.layers)) + ")"

    # built on access: each layer owns its arrays, and astype replaces them
    @property
    def params(self) -> dict[str, np.ndarray]:
        """``"i.name"`` → layer i's own array (``"0.weight"``), as torch's state_dict keys."""
        return {f"{i}.{k}": v for i, m in enumerate(self.layers) for k, v in m.params.items()}

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return {f"{i}.{k}": v for i, m in enumerate(self.layers) for k, v in m.grads.items()}

    def forward(self, x):
        for m in self.layers:
            x = m.forward(x)
        return x

    def backward(self, dy, *, input_grad=True):
        """dy: the last layer's upstream → dx of the first layer's input (None if not
        input_grad: the first layer then sets its grads only)."""
        if not self.layers:
            return dy if input_grad else None
        for m in self.layers[:0:-1]:
            dy = m.backward(dy)
        return self.layers[0].backward(dy, input_grad=input_grad)

    def astype(self, dtype) -> Sequential:
        """Every layer computes in ``dtype`` from now on (see Module.astype). Returns self."""
        self.dtype = _float_dtype("Sequential", dtype)
        for m in self.layers:
            m.astype(dtype)
        return self

    def zero_grad(self) -> None:
        for m in self.layers:
            m.zero_grad()

    def train(self, mode=True) -> Sequential:
        """This container and every layer in it, recursively (see Module.train). Returns self."""
        super().train(mode)
        for m in self.layers:
            m.train(mode)
        return self
