"""Strict YAML reading that remembers where every value came from.

PyYAML's safe loader follows YAML 1.1, where ``off`` is ``False``, ``1:30`` is
90 and ``017`` is 15. Here plain scalars resolve only to the unsurprising
forms (``true``/``false``, ``null``/``~``, decimal ints, decimal floats);
YAML 1.1 forms that would silently change meaning are reported as
``[yaml-trap]`` problems, duplicate keys as ``[duplicate-key]``. Quote a value
to keep it as a string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from statecharts.errors import ChartInvalid, Problem

_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[-+]?(0|[1-9][0-9]*)\.[0-9]+([eE][-+]?[0-9]+)?")
_NULLS = {"null", "~", ""}
_TRAPS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)(y|n|yes|no|on|off)"), "YAML 1.1 reads {v!r} as a boolean"),
    (re.compile(r"(?i)(True|False|TRUE|FALSE|Null|NULL)"),
     "{v!r} is ambiguous: write it lower-case"),
    (re.compile(r"[-+]?0[0-9_]+"), "YAML 1.1 reads {v!r} as an octal number"),
    (re.compile(r"[-+]?0[xXoObB][0-9a-fA-F_]+"), "{v!r} is a hex/octal/binary literal"),
    (re.compile(r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?"),
     "YAML 1.1 reads {v!r} as base-60"),
    (re.compile(r"[-+]?[0-9][0-9_]*_[0-9_]*(\.[0-9_]*)?"), "YAML 1.1 reads {v!r} as a number"),
    (re.compile(r"[-+]?(\.[0-9]+|[0-9]+\.|\.(inf|Inf|INF|nan|NaN|NAN))([eE][-+]?[0-9]+)?"),
     "{v!r} is an unusual number form"),
    (re.compile(r"[-+]?[0-9]+[eE][-+]?[0-9]+"), "YAML 1.1 reads {v!r} as a string, not a number"),
)


@dataclass(slots=True)
class Source:
    """A parsed document: plain data plus the position of every JSON path."""

    file: str
    data: Any
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[str, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: str) -> tuple[int, int]:
        """Line and column (1-based) of ``path``, or of its nearest ancestor."""
        while path:
            if path in self.positions:
                return self.positions[path]
            path = _parent(path)
        return self.positions.get("", (1, 1))

    def problem(self, path: str, rule: str, message: str, *, show_path: bool = False) -> Problem:
        line, col = self.where(path)
        return Problem(self.file, line, col, rule, message, path or "$" if show_path else None)


def _parent(path: str) -> str:
    cut = max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ""


def child_path(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def resolve_plain(text: str) -> tuple[Any, str | None]:
    """Resolve a plain scalar; the second item is a trap message or None."""
    if text in ("true", "false"):
        return text == "true", None
    if text in _NULLS:
        return None, None
    if _INT.fullmatch(text):
        return int(text), None
    if _FLOAT.fullmatch(text):
        return float(text), None
    for pattern, message in _TRAPS:
        if pattern.fullmatch(text):
            return text, message.format(v=text) + "; quote it if a string is meant"
    return text, None


class _Reader:
    def __init__(self, file: str) -> None:
        self.source = Source(file, None)
        self.problems: list[Problem] = []

    def _note(self, node: yaml.Node, path: str) -> None:
        self.source.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)

    def _fail(self, node: yaml.Node, rule: str, message: str) -> None:
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        self.problems.append(Problem(self.source.file, line, col, rule, message))

    def convert(self, node: yaml.Node, path: str) -> Any:
        self._note(node, path)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, child_path(path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        if node.style is not None or (node.tag == "tag:yaml.org,2002:str" and node.style):
            return node.value
        if not node.tag.endswith(("int", "float", "bool", "null", "str", "timestamp")):
            self._fail(node, "yaml-tag", f"unsupported tag {node.tag}")
            return node.value
        value, trap = resolve_plain(node.value)
        if trap:
            self._fail(node, "yaml-trap", trap)
        return value

    def _mapping(self, node: yaml.MappingNode, path: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        key_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self._fail(key_node, "yaml-key", "mapping keys must be plain strings")
                continue
            key = key_node.value
            if key == "<<":
                self._fail(key_node, "yaml-merge", "merge keys (<<) are not supported")
                continue
            if key in result:
                self._fail(key_node, "duplicate-key",
                           f"duplicate key {key!r} (first defined at line {key_lines[key]})")
                continue
            key_lines[key] = key_node.start_mark.line + 1
            if key_node.style is None and resolve_plain(key)[1]:
                self._fail(key_node, "yaml-trap", resolve_plain(key)[1] or "")
            sub = child_path(path, key)
            where = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            self.source.positions[sub] = self.source.key_positions[sub] = where
            result[key] = self._value_after_key(value_node, sub)
        return result

    def _value_after_key(self, node: yaml.Node, path: str) -> Any:
        key_pos = self.source.positions[path]
        value = self.convert(node, path)
        if isinstance(node, yaml.ScalarNode):
            # Point scalar values at the value itself, which is what editors highlight.
            self.source.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        else:
            self.source.positions[path] = key_pos
        return value


def read_yaml(path: Path | str, text: str | None = None) -> Source:
    """Parse one YAML document strictly; raise :class:`ChartInvalid` on any problem."""
    file = str(path)
    if text is None:
        text = Path(path).read_text(encoding="utf-8")
    reader = _Reader(file)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = str(err.problem or err)
        raise ChartInvalid([Problem(file, line, col, "yaml-syntax", message)]) from err
    except yaml.YAMLError as err:
        raise ChartInvalid([Problem(file, 1, 1, "yaml-syntax", str(err))]) from err
    if node is None:
        raise ChartInvalid([Problem(file, 1, 1, "yaml-empty", "the document is empty")])
    reader.source.data = reader.convert(node, "")
    if reader.problems:
        raise ChartInvalid(reader.problems)
    return reader.source
