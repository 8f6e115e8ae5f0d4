"""Read a YAML document and check it against its JSON Schema, reporting the findings of
both stages at once where the document could still be read, and giving each YAML 1.1
trap the fix its field's schema type calls for (``off`` in a boolean field: write
``false``; ``5e8`` in an integer field: write ``500000000``; in a string field: quote it).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from statecharts.errors import DocumentInvalid, Problem
from statecharts.loader import schema_problems
from statecharts.yamlsrc import DocumentReadWithProblems, Source, read_yaml

_TRUE, _FALSE = {"y", "yes", "on", "true"}, {"n", "no", "off", "false"}
_PART = re.compile(r"\[(\d+)\]|\.?([^.\[]+)")


def read_checked(path: Path | str, text: str | None, schema: dict[str, Any]) -> Source:
    """The document's source; DocumentInvalid with every YAML and schema problem."""
    try:
        source = read_yaml(path, text)
    except DocumentReadWithProblems as err:
        traps = err.traps
        problems = [_typed(p, traps, schema) for p in err.problems]
        # A schema finding on a trapped value repeats the trap: the trap says the fix.
        problems += [p for p in schema_problems(err.source, schema) if p.path not in traps]
        raise DocumentInvalid(problems) from None
    problems = schema_problems(source, schema)
    if problems:
        raise DocumentInvalid(problems)
    return source


def _typed(problem: Problem, traps: dict[str, tuple[str, Problem]],
           schema: dict[str, Any]) -> Problem:
    for path, (text, trapped) in traps.items():
        if trapped is problem and problem.rule == "yaml-trap":
            fix = typed_fix(text, schema_types(schema, path))
            if fix:
                head = problem.message.split("; quote it")[0]
                return Problem(problem.file, problem.line, problem.column, problem.rule,
                               f"{head}; {fix}", problem.path)
    return problem


def typed_fix(text: str, types: set[str]) -> str | None:
    """What to write instead of ``text`` for a field of these JSON types (None: unknown)."""
    lowered = text.lower()
    if "boolean" in types and lowered in _TRUE | _FALSE:
        return f"this field is a boolean: write {'true' if lowered in _TRUE else 'false'}"
    if types & {"integer", "number"}:
        number = intended_number(text)
        if number is not None:
            if number.is_integer() and abs(number) < 1e18:
                return f"this field is a number: write {int(number)}"
            if "number" in types:
                return f"this field is a number: write {number!r}"
    if "null" in types and lowered == "null":
        return "this field may be null: write null"
    if "string" in types:
        return f"this field is a string: quote it ('{text}')"
    return None


def intended_number(text: str) -> float | None:
    """The number a YAML 1.1 numeric form most likely meant, read as a person would:
    ``5e8``, ``1_000``, ``.5``, ``0x1F``; a leading zero is decimal (``017`` is 17)."""
    plain = text.replace("_", "")
    try:
        if re.fullmatch(r"[-+]?0[xXoObB][0-9a-fA-F]+", plain):
            return float(int(plain, 0))
        if ":" in plain:
            sign = -1 if plain.startswith("-") else 1
            value = 0.0
            for part in plain.lstrip("+-").split(":"):
                value = value * 60 + float(part)
            return sign * value
        value = float(plain)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def schema_types(schema: dict[str, Any], path: str) -> set[str]:
    """The JSON types the schema allows at ``path`` (``a.b[0].c``), over every branch."""
    nodes = [schema]
    for index, key in _PART.findall(path):
        nodes = [child for node in nodes for child in _children(schema, node, index, key)]
    types: set[str] = set()
    for node in nodes:
        for branch in _branches(schema, node):
            kind = branch.get("type")
            types |= {kind} if isinstance(kind, str) else set(kind or ())
            if "enum" in branch or "const" in branch:
                values = branch.get("enum", [branch.get("const")])
                types |= {_json_type(v) for v in values}
    return types


def _children(root: dict[str, Any], node: dict[str, Any], index: str,
              key: str) -> list[dict[str, Any]]:
    out = []
    for branch in _branches(root, node):
        if index:
            items = branch.get("items")
            if isinstance(items, dict):
                out.append(items)
            continue
        props = branch.get("properties", {})
        if key in props:
            out.append(props[key])
            continue
        for pattern, sub in branch.get("patternProperties", {}).items():
            if re.search(pattern, key):
                out.append(sub)
        extra = branch.get("additionalProperties")
        if isinstance(extra, dict):
            out.append(extra)
    return out


def _branches(root: dict[str, Any], node: Any, depth: int = 0) -> list[dict[str, Any]]:
    """``node`` with its ``$ref`` followed and its ``oneOf``/``anyOf``/``allOf`` opened."""
    if not isinstance(node, dict) or depth > 20:
        return []
    out = [node]
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        out += _branches(root, target, depth + 1)
    for combinator in ("oneOf", "anyOf", "allOf"):
        for sub in node.get(combinator, ()):
            out += _branches(root, sub, depth + 1)
    return out


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "null" if value is None else "string"
