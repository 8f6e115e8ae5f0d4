"""How a command's failure is said: one line per finding on stderr, or under
``--format json`` one JSON object on stdout, ``{"error": KIND, "findings": [...]}``, each
finding ``{file, line, column, rule, message}`` (line and column 0 when there is no
place, e.g. a bad argument)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from statecharts.errors import Problem


def wants_json(argv: Sequence[str]) -> bool:
    """``--format json`` anywhere in the arguments (read before they are parsed, so that
    an argument error is JSON too)."""
    for i, arg in enumerate(argv):
        if arg == "--format=json" or (arg == "--format" and argv[i + 1:i + 2] == ["json"]):
            return True
    return False


def usage_problem(message: str, file: str = "") -> Problem:
    return Problem(file, 0, 0, "usage", message)


def report(kind: str, problems: Sequence[Problem], *, as_json: bool,
           text: Sequence[str] | None = None) -> None:
    """Say the failure: JSON on stdout, else ``text`` (default: the findings) on stderr."""
    if as_json:
        print(json.dumps({"error": kind, "findings": [p.to_json() for p in problems]},
                         indent=2))
        return
    for line in text if text is not None else [str(p) for p in problems]:
        print(line, file=sys.stderr)
