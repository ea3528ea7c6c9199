import dis
import importlib
import os
import sys

import pytest

# the suite runs from a clean clone without installing the project: make its packages importable
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def worker_up():
    """A worker process started and warm before a module's first check with a deadline,
    however busy the machine (a cold start is ~0.4 s, more under load); shut down after the
    module, so no module's workers outlive it."""
    from workers import worker

    worker.run("parse", "1", {}, timeout=60)
    yield worker
    worker.shutdown()


# ---------------------------------------------------------------- markers
# `apptest` is given here, not by hand: a test is one when it runs a page with Streamlit's
# AppTest, directly or through the helpers and fixtures it calls (a marker typed in each file
# would be forgotten in the next), so `pytest -m "not browser and not apptest"` is the fast part.


def _reaches_apptest(obj, seen: set, depth: int = 4) -> bool:
    code = getattr(obj, "__code__", None)
    if code is None or depth == 0 or code in seen:
        return False
    seen.add(code)
    names, todo = set(), [code]
    while todo:  # nested functions and comprehensions are code objects among the constants
        c = todo.pop()
        names.update(c.co_names)
        todo.extend(k for k in c.co_consts if hasattr(k, "co_names"))
    if "AppTest" in names:  # imported inside the function, or a global of that name
        return True
    scope = {**getattr(obj, "__globals__", {}), **_local_imports(code)}
    for name in names:
        value = scope.get(name)
        module = getattr(value, "__module__", "") or ""
        if (
            callable(value)
            and module.startswith("tests")
            and _reaches_apptest(value, seen, depth - 1)
        ):
            return True
    return False


def _local_imports(code) -> dict:
    """name → object for ``from tests.x import name`` inside a function's body."""
    out, module = {}, None
    for ins in dis.get_instructions(code):
        if ins.opname == "IMPORT_NAME":
            module = ins.argval if str(ins.argval).startswith("tests") else None
        elif ins.opname == "IMPORT_FROM" and module:
            out[ins.argval] = getattr(importlib.import_module(module), ins.argval, None)
    return out


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("browser"):
            continue
        funcs = [getattr(item, "function", None)]
        defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
        funcs += [d[-1].func for d in defs.values() if d]
        if any(_reaches_apptest(f, set()) for f in funcs if f is not None):
            item.add_marker(pytest.mark.apptest)
