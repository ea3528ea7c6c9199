"""The derivations on the command line, for notes and slides:
``python -m derivations conv2d --input 3x3 --kernel 2x2 --format latex``.

Its flags come from each op's parameters in ``DERIVATIONS`` (``Param.cli_flag``, the value typed
as its kind says), so an op's CLI is described where the op is. Any error is one line,
``error: …``, and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from . import derive
from .export import FORMATS
from .param_kinds import Int
from .table import DERIVATIONS


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not a dozen of usage
        print(f"error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def _counted() -> dict[tuple[str, str], int]:
    """(op, parameter) → where the lessons start counting it, for the parameters a lesson
    shows from 1 (the true class): the CLI counts them the same way."""
    return {
        (spec.name, p.name): p.shown_from
        for spec in DERIVATIONS.values()
        for p in spec.params
        if isinstance(p.kind, Int) and p.shown_from
    }


def flags() -> dict[str, tuple[Callable[[str], object], dict[str, str]]]:
    """--flag → (its parser, {op: the parameter it sets for that op}), from every op's entry.
    One flag may name different parameters of different ops (--pool is a pooling op's window
    and the CNN's pool), never values of different kinds."""
    out: dict[str, tuple[Callable[[str], object], dict[str, str]]] = {}
    for spec in DERIVATIONS.values():
        for p in spec.params:
            parse, ops = out.setdefault(p.cli_flag, (p.kind.cli_type, {}))
            if parse is not p.kind.cli_type:
                raise RuntimeError(f"--{p.cli_flag} takes values of two kinds")
            ops[spec.name] = p.name
    return out


def _parser(table) -> argparse.ArgumentParser:
    ap = _Parser(prog="python -m derivations", description=__doc__.splitlines()[0])
    ap.add_argument("op", help=", ".join(DERIVATIONS))
    counted = _counted()
    for flag, (parse, ops) in table.items():
        first = {counted[(op, name)] for op, name in ops.items() if (op, name) in counted}
        note = f"; counted from {first.pop()}, as in the lessons" if first else ""
        # a switch (Bool's cli_type) is a bare --flag
        how = {"action": "store_const", "const": True} if parse is bool else {"type": parse}
        ap.add_argument(f"--{flag}", dest=flag, help=f"for {', '.join(sorted(ops))}{note}", **how)
    ap.add_argument("--format", choices=list(FORMATS), default="text")
    return ap


def _in_cli_counting(op: str, message: str, typed: dict) -> str:
    """derive()'s message about a parameter the CLI counts from 1 speaks of its 0-based index
    too ("you gave 3 (class 4)"): say it in the flag's own counting instead."""
    for name, (flag, v) in typed.items():
        if message.startswith(f"{op}: {name} must be") and "Choose" in message:
            return f"{op}: --{flag} {v} is not a class here. " + message[message.index("Choose") :]
    return message


def main(argv=None) -> int:
    table = flags()
    try:
        a = _parser(table).parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    params, counted, typed = {}, _counted(), {}
    for flag, (_, ops) in table.items():
        v = getattr(a, flag)
        if v is None:
            continue
        if a.op in DERIVATIONS and a.op not in ops:
            print(f"error: --{flag} does not apply to {a.op}", file=sys.stderr)
            return 2
        name = ops.get(a.op, flag)
        first = counted.get((a.op, name), 0)
        if first and v < first:
            print(
                f"error: --{flag} counts from {first}, as the lessons do (the first class is "
                f"--{flag} {first}); got {v}",
                file=sys.stderr,
            )
            return 2
        params[name] = v
        if first:
            params[name] = v - first  # derive() takes PyTorch's index, from 0
            typed[name] = (flag, v)
    try:
        d = derive(a.op, **params)
    except ValueError as exc:
        print(f"error: {_in_cli_counting(a.op, str(exc), typed)}", file=sys.stderr)
        return 2
    sys.stdout.write(FORMATS[a.format](d))
    return 0
