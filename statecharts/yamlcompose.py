"""Nodes from a YAML event stream, iteratively and within a :class:`DocumentBudget`.

PyYAML's own composer recurses once per nesting level (a few thousand ``[`` end
in RecursionError) and shares aliased nodes, which a naive walk then expands
without bound ("billion laughs"). This one keeps an explicit stack, refuses
more nesting, values or aliases than the budget allows, refuses aliases of a
collection inside itself, and refuses explicit tags (``!!python/object``,
``!custom``, ``!!str``) with their location: a chart is plain data.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from statecharts.document import DocumentBudget
from statecharts.errors import DocumentInvalid, Problem

_Collection = yaml.MappingNode | yaml.SequenceNode


class _Open:
    """A collection being composed; a mapping also holds its key until the value comes.
    ``size`` counts its values so far with aliases expanded (itself included)."""

    __slots__ = ("key", "node", "size")

    def __init__(self, node: _Collection) -> None:
        self.node = node
        self.key: yaml.Node | None = None
        self.size = 1

    def add(self, child: yaml.Node, size: int) -> None:
        self.size += size
        if isinstance(self.node, yaml.SequenceNode):
            self.node.value.append(child)
        elif self.key is None:
            self.key = child
        else:
            self.node.value.append((self.key, child))
            self.key = None


class Composer:
    """Compose one document; located problems that do not stop composing are collected in
    ``problems``, those that must stop it (budget, syntax) are raised as DocumentInvalid."""

    def __init__(self, file: str, budget: DocumentBudget) -> None:
        self.file = file
        self.budget = budget
        self.problems: list[Problem] = []
        self.anchors: dict[str, yaml.Node] = {}
        self.sizes: dict[int, int] = {}  # id(collection) -> its size with aliases expanded
        self.values = 0  # in the document so far, aliases expanded
        self.aliases = 0

    def _problem(self, event: yaml.Event, rule: str, message: str) -> Problem:
        mark: Any = event.start_mark  # PyYAML's Mark or libyaml's: both have line, column
        return Problem(self.file, mark.line + 1, mark.column + 1, rule, message)

    def _stop(self, event: yaml.Event, rule: str, message: str) -> DocumentInvalid:
        return DocumentInvalid([*self.problems, self._problem(event, rule, message)])

    def compose(self, events: Iterable[yaml.Event]) -> yaml.Node | None:
        root: yaml.Node | None = None
        stack: list[_Open] = []
        documents = 0
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise self._stop(event, "yaml-syntax",
                                     "expected a single document, found a second one")
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                done = stack.pop()
                done.node.end_mark = event.end_mark
                self.sizes[id(done.node)] = done.size
                if stack:
                    stack[-1].add(done.node, done.size)
                else:
                    root = done.node
            elif isinstance(event, yaml.NodeEvent):
                node = self._node(event, stack)
                if isinstance(event, yaml.CollectionStartEvent):
                    stack.append(_Open(node))  # type: ignore[arg-type]  # a collection
                elif stack:
                    stack[-1].add(node, self.sizes.get(id(node), 1))
                else:
                    root = node
        return root

    def _count(self, event: yaml.Event, size: int) -> None:
        self.values += size
        if self.values > self.budget.max_nodes:
            raise self._stop(event, "yaml-limit",
                             f"more than {self.budget.max_nodes} values in the document "
                             "(an alias counts as a copy of what it names)")

    def _node(self, event: yaml.NodeEvent, stack: list[_Open]) -> yaml.Node:
        if isinstance(event, yaml.AliasEvent):
            return self._alias(event, stack)
        self._count(event, 1)
        tag: str | None = getattr(event, "tag", None)
        if tag is not None:
            self.problems.append(self._problem(
                event, "yaml-tag", f"tags are not supported (found {tag}): "
                                   "write plain values, quote a string"))
        node: yaml.Node
        start: Any = event.start_mark  # libyaml's Mark is not PyYAML's, but works the same
        if isinstance(event, yaml.ScalarEvent):
            end: Any = event.end_mark
            node = yaml.ScalarNode("", event.value, start, end, event.style or None)
        else:
            if len(stack) >= self.budget.max_depth:
                raise self._stop(event, "yaml-limit",
                                 f"nested more than {self.budget.max_depth} levels deep")
            assert isinstance(event, yaml.CollectionStartEvent)
            kind = yaml.MappingNode if isinstance(event, yaml.MappingStartEvent) \
                else yaml.SequenceNode
            node = kind("", [], start, None, event.flow_style)
        if event.anchor is not None:
            self.anchors[event.anchor] = node
        return node

    def _alias(self, event: yaml.AliasEvent, stack: list[_Open]) -> yaml.Node:
        self.aliases += 1
        if self.aliases > self.budget.max_aliases:
            raise self._stop(event, "yaml-limit",
                             f"more than {self.budget.max_aliases} aliases in the document")
        target = self.anchors.get(event.anchor or "")
        if target is None:
            raise self._stop(event, "yaml-syntax", f"undefined alias *{event.anchor}")
        if any(entry.node is target for entry in stack):
            raise self._stop(event, "yaml-syntax",
                             f"alias *{event.anchor} refers to a collection that contains it")
        self._count(event, self.sizes.get(id(target), 1))
        return target

