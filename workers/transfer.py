"""Sending a derivation from a worker process to the app's process, fast.

A derivation built in a worker has to arrive in the app as the same sympy objects. Plain pickle
rebuilds every node through its constructor, and sympy's constructors ask questions on the way
(is this commutative? canonical order?): a 14×14 max-pool lesson took 6.7 s to unpickle even
with evaluation off, 413 s with it on, against 1 s to derive it. The worker's objects are already
canonical, so :func:`dumps` writes each compound node as its class, its args and its instance
attributes, and loading sets exactly those again (``Basic.__new__``, no constructor logic): the
same tree, equal to the original, in a fraction of the time. Structurally equal nodes are sent
once.

The numeric functions ``lambdify`` compiled in the worker (a derivation's ``compile()``: tens of
seconds of printing and compiling at the largest sizes) travel as their code object
(``marshal``) with the globals they use, so the app never compiles them. Only functions lambdify
generated from the derivation's own expressions are sent this way; nothing here is ever built
from what a learner typed (a typed function's numbers come from the tree evaluator, whose
closures are dropped here and rebuilt on first use).
"""

from __future__ import annotations

import importlib
import io
import marshal
import pickle
import types

from sympy.core.basic import Basic
from sympy.matrices import MatrixBase

_BASE_SLOTS = frozenset({"_mhash", "_args", "_assumptions", "__weakref__", "__dict__"})
_SLOTS: dict[type, tuple[str, ...]] = {}
_LAMBDIFIED = "_lambdifygenerated"


def dumps(obj) -> bytes:
    """``obj`` pickled with the fast encodings above (any picklable object)."""
    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


def loads(data: bytes):
    """The object :func:`dumps` wrote. Only for frames from this package's own worker."""
    return pickle.loads(data)


class _Pickler(pickle.Pickler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._seen: dict = {}  # equal sympy nodes → the first one, so each is written once

    def reducer_override(self, obj):
        if isinstance(obj, Basic):
            return self._basic(obj)
        if isinstance(obj, types.FunctionType) and obj.__name__ == _LAMBDIFIED:
            return _function_reduce(obj)
        if isinstance(obj, types.ModuleType):
            return importlib.import_module, (obj.__name__,)
        if getattr(type(obj), "TRANSFER_BY_ATTRIBUTES", False):
            return _object, (type(obj), _kept(obj.__dict__))
        return NotImplemented

    def _basic(self, obj):
        if obj.is_Atom or isinstance(obj, MatrixBase) or not _plain(type(obj)):
            return NotImplemented  # symbols, numbers, singletons: sympy's own pickling
        first = self._seen.setdefault(obj, obj)
        if first is not obj:
            return _same, (first,)
        return _node, (type(obj), obj._args, _state(obj))


def _plain(cls) -> bool:
    """Whether sympy pickles ``cls`` the default way (its args through its constructor):
    classes with their own pickling keep it."""
    return (
        cls.__reduce_ex__ is Basic.__reduce_ex__
        and cls.__getnewargs__ is Basic.__getnewargs__
        and cls.__getstate__ is Basic.__getstate__
        and getattr(cls, "__getnewargs_ex__", None) is None
    )


def _slots(cls) -> tuple[str, ...]:
    found = _SLOTS.get(cls)
    if found is None:
        names: list[str] = []
        for k in cls.__mro__:
            slots = k.__dict__.get("__slots__", ())
            for s in (slots,) if isinstance(slots, str) else slots:
                if s not in _BASE_SLOTS and s not in names:
                    names.append(s)
        found = _SLOTS[cls] = tuple(names)
    return found


def _state(obj) -> dict:
    """The instance attributes a constructor sets besides the args (an Add's
    ``is_commutative``, a function's ``nargs``)."""
    state = {}
    for s in _slots(type(obj)):
        try:
            state[s] = object.__getattribute__(obj, s)
        except AttributeError:
            pass
    state.update(getattr(obj, "__dict__", None) or {})
    return state


def _node(cls, args, state):
    obj = Basic.__new__(cls, *args)
    for name, value in state.items():
        object.__setattr__(obj, name, value)
    return obj


def _same(obj):
    return obj


def _kept(attrs: dict) -> dict:
    """An object's attributes (a derivation's Math) without the cached functions that cannot
    travel (closures of the tree evaluator, rebuilt where they are first used)."""
    return {
        k: v
        for k, v in attrs.items()
        if not (isinstance(v, types.FunctionType) and v.__name__ != _LAMBDIFIED)
    }


def _object(cls, attrs: dict):
    obj = cls.__new__(cls)
    obj.__dict__.update(attrs)
    return obj


def _names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _function_reduce(fn: types.FunctionType):
    g = fn.__globals__
    used = {n: g[n] for n in _names(fn.__code__) if n in g and n != "__builtins__"}
    return _function, (marshal.dumps(fn.__code__), used, fn.__defaults__)


def _function(code: bytes, used: dict, defaults):
    import builtins

    namespace = {"__builtins__": builtins, **used}
    return types.FunctionType(marshal.loads(code), namespace, _LAMBDIFIED, defaults)
