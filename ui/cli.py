"""The derivations on the command line, for notes and slides:
``python -m derivations conv2d --input 3x3 --kernel 2x2 --format latex``.

Its flags come from the registry's parameters (each op's ``Param.cli_flag``), so an op's CLI is
described where the op is. Any error is one line, ``error: …``, and exit status 2.
"""

from __future__ import annotations

import argparse
import re
import sys

from derivations import derive
from derivations.export import FORMATS
from ui.registry import OPS
from ui.urlstate import parse_sizes

TEXT_LIMIT = 300  # the parser's own limit on a formula
_PAIR = re.compile(r"^\s*(\d{1,6})\s*(?:[x×,]\s*(\d{1,6}))?\s*$")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not a dozen of usage
        print(f"error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def _pair(text: str) -> tuple[int, int]:
    m = _PAIR.match(text.lower())
    if not m:
        raise argparse.ArgumentTypeError(f"expected a size like 3x3 or a number, got {text!r}")
    a = int(m.group(1))
    return (a, int(m.group(2)) if m.group(2) else a)


def _sizes(text: str) -> tuple[int, ...]:
    v = parse_sizes(text)
    if v is None:
        raise argparse.ArgumentTypeError(f"expected sizes like 2-3-2, got {text!r}")
    return v


def _text(text: str) -> str:
    if len(text) > TEXT_LIMIT:
        raise argparse.ArgumentTypeError(f"at most {TEXT_LIMIT} characters, got {len(text)}")
    return text


_TYPES = {
    "pair": _pair,
    "optional_pair": _pair,
    "int": int,
    "float": float,
    "choice": str,
    "sizes": _sizes,
    "text": _text,  # a formula: derive() parses it (never evaluated)
    "bool": bool,  # a bare switch: --causal
}


def _counted(table) -> dict[tuple[str, str], int]:
    """(op, parameter) → where the lessons start counting it, for the parameters a lesson
    shows from 1 (the true class): the CLI counts them the same way."""
    return {
        (spec.name, p.name): p.shown_from
        for spec in OPS.values()
        for p in spec.params
        if p.kind == "int" and p.shown_from
    }


def flags() -> dict[str, tuple[object, dict[str, str]]]:
    """--flag → (its parser, {op: the parameter it sets for that op}), from every op's entry.
    One flag may name different parameters of different ops (--pool is a pooling op's window
    and the CNN's pool), never values of different kinds."""
    out: dict[str, tuple[object, dict[str, str]]] = {}
    for spec in OPS.values():
        for p in spec.params:
            parse, ops = out.setdefault(p.cli_flag, (_TYPES[p.kind], {}))
            if parse is not _TYPES[p.kind]:
                raise RuntimeError(f"--{p.cli_flag} takes values of two kinds")
            ops[spec.name] = p.name
    return out


def _parser(table) -> argparse.ArgumentParser:
    ap = _Parser(prog="python -m derivations", description=__doc__.splitlines()[0])
    ap.add_argument("op", help=", ".join(OPS))
    counted = _counted(table)
    for flag, (parse, ops) in table.items():
        first = {counted[(op, name)] for op, name in ops.items() if (op, name) in counted}
        note = f"; counted from {first.pop()}, as in the lessons" if first else ""
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
    params, counted, typed = {}, _counted(table), {}
    for flag, (_, ops) in table.items():
        v = getattr(a, flag)
        if v is None:
            continue
        if a.op in OPS and a.op not in ops:
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
