"""Limits files: named numbers (units in the key names) validated by their own schema."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from statecharts.checked import read_checked
from statecharts.yamlsrc import Source


@dataclass(frozen=True, slots=True)
class Limits:
    """A validated limits document; values are read by dotted key (``adjust.max_rounds``)."""

    values: Mapping[str, Any]
    file: str = "<memory>"
    positions: Mapping[str, tuple[int, int]] = field(default_factory=dict, compare=False)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._lookup(key) is not None

    def get(self, key: str) -> Any:
        value = self._lookup(key)
        if value is None:
            raise KeyError(f"{self.file}: no limit {key!r}")
        return value

    def _lookup(self, key: str) -> Any:
        node: Any = self.values
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return None
            node = node[part]
        return node

    def keys(self) -> Iterator[str]:
        def walk(node: Mapping[str, Any], prefix: str) -> Iterator[str]:
            for key, value in node.items():
                full = f"{prefix}.{key}" if prefix else key
                if isinstance(value, Mapping):
                    yield from walk(value, full)
                else:
                    yield full
        return walk(self.values, "")


def load_limits(path: Path | str, schema_path: Path | str, text: str | None = None) -> Limits:
    """Read, schema-check and freeze a limits file. Raises DocumentInvalid with every problem."""
    schema = json.loads(Path(schema_path).read_text(encoding="utf-8"))
    source: Source = read_checked(path, text, schema)
    return Limits(source.data, str(path), dict(source.positions))
