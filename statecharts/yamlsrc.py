"""Strict YAML reading that remembers where every value came from.

PyYAML's safe loader follows YAML 1.1, where ``off`` is ``False``, ``1:30`` is
90 and ``017`` is 15. Here plain scalars resolve only to the unsurprising
forms (``true``/``false``, ``null``/``~``, decimal ints, decimal floats);
YAML 1.1 forms that would silently change meaning are reported as
``[yaml-trap]`` problems, duplicate keys as ``[duplicate-key]``. Quote a value
to keep it as a string.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from statecharts.document import (
    DEFAULT_BUDGET,
    DocumentBudget,
    check_text,
    read_text,
    text_position,
)
from statecharts.errors import DocumentInvalid, Problem
from statecharts.yamlcompose import Composer

# libyaml's event parser when available (about 20x faster), else PyYAML's own; both are
# iterative, and the composer that builds nodes from their events is ours (bounded).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# What YAML allows in a document (its "printable" set); anything else is refused up front.
_UNPRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[-+]?(0|[1-9][0-9]*)\.[0-9]+([eE][-+]?[0-9]+)?")
_NULLS = {"null", "~", ""}
_TRAP_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}  # any case
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
    value, rule, message = _resolve(text, DEFAULT_BUDGET)
    return value, (message if rule else None)


def _resolve(text: str, budget: DocumentBudget) -> tuple[Any, str | None, str]:
    """A plain scalar's value, and the rule and message of its problem (if any)."""
    if text in ("true", "false"):
        return text == "true", None, ""
    if text in _NULLS:
        return None, None, ""
    if text[0].isalpha() and text.lower() not in _TRAP_WORDS:
        return text, None, ""  # most scalars: names, descriptions (no number, no trap)
    if _INT.fullmatch(text):
        digits = len(text.lstrip("+-"))
        if digits > budget.max_int_digits:
            return text, "yaml-number", (f"an integer of {digits} digits is out of range "
                                         f"(at most {budget.max_int_digits})")
        return int(text), None, ""
    if _FLOAT.fullmatch(text):
        number = float(text)
        if not math.isfinite(number):
            return text, "yaml-number", f"{text} is out of range for a number"
        return number, None, ""
    for pattern, message in _TRAPS:
        if pattern.fullmatch(text):
            return text, "yaml-trap", message.format(v=text) + "; quote it if a string is meant"
    return text, None, ""


class DocumentReadWithProblems(DocumentInvalid):
    """The YAML was read into data, but some of its scalars or keys are problems (a YAML
    1.1 trap, a duplicate key): later stages can still check ``source`` and report their
    findings too. ``traps`` maps the JSON path of each trapped scalar value to its text
    (kept as a string in ``source.data``) and its problem."""

    def __init__(self, problems: list[Problem], source: Source,
                 traps: dict[str, tuple[str, Problem]]) -> None:
        super().__init__(problems)
        self.source = source
        self.traps = traps


class _Reader:
    """Plain data and positions from a composed node tree (aliases expanded, within budget)."""

    def __init__(self, file: str, budget: DocumentBudget) -> None:
        self.source = Source(file, None)
        self.problems: list[Problem] = []
        self.traps: dict[str, tuple[str, Problem]] = {}  # value path -> (text, problem)
        self.budget = budget

    def _note(self, node: yaml.Node, path: str) -> None:
        self.source.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)

    def _fail(self, node: yaml.Node, rule: str, message: str) -> None:
        self.problems.append(_at(self.source.file, node.start_mark, rule, message))

    def convert(self, node: yaml.Node, path: str) -> Any:
        # The composer has bounded the expanded size and depth, so this walk is bounded too.
        self._note(node, path)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, child_path(path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        if node.style is not None:  # quoted or block scalar: always a string
            return node.value
        value, rule, message = _resolve(node.value, self.budget)
        if rule:
            self._fail(node, rule, message)
            self.traps[path] = (node.value, self.problems[-1])
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
            if key_node.style is None:
                _, rule, message = _resolve(key, self.budget)
                if rule:
                    self._fail(key_node, rule, message)
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


def _at(file: str, mark: Any, rule: str, message: str) -> Problem:
    return Problem(file, mark.line + 1, mark.column + 1, rule, message)


def read_yaml(path: Path | str, text: str | None = None, *,
              budget: DocumentBudget = DEFAULT_BUDGET) -> Source:
    """Parse one YAML document strictly; raise :class:`DocumentInvalid` on any problem
    (:class:`~statecharts.errors.DocumentUnreadable` when the file cannot be read)."""
    file = str(path)
    text = read_text(path, budget) if text is None else check_text(file, text, budget)
    unprintable = _UNPRINTABLE.search(text)
    if unprintable is not None:
        line, col = text_position(text, unprintable.start())
        raise DocumentInvalid([Problem(file, line, col, "yaml-encoding",
                                    f"character {unprintable.group()!r} is not allowed "
                                    "in YAML (a control character)")])
    composer = Composer(file, budget)
    try:
        node = composer.compose(yaml.parse(text, Loader=_LOADER))
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = str(err.problem or err.context or "invalid YAML")
        raise DocumentInvalid([Problem(file, line, col, "yaml-syntax", message)]) from err
    except yaml.YAMLError as err:
        raise DocumentInvalid([Problem(file, 1, 1, "yaml-syntax", str(err))]) from err
    if composer.problems:
        raise DocumentInvalid(composer.problems)
    if node is None:
        raise DocumentInvalid([Problem(file, 1, 1, "yaml-empty", "the document is empty")])
    reader = _Reader(file, budget)
    reader.source.data = reader.convert(node, "")
    if reader.problems:
        raise DocumentReadWithProblems(reader.problems, reader.source, reader.traps)
    return reader.source
