"""A sweep's grid file: limit variants x scenarios x seeds, checked before anything runs.

The grid is read with the strict YAML loader and validated by
``execution/schemas/grid.schema.json``; then every referenced file is loaded
(base limits, chart, scenarios), every ``vary`` path is looked up in the
limits schema, and every variant (each combination of the values) is built
and validated like ``scalpchart validate --limits`` would (limits schema, the
engine's own checks, the chart's lint against the limits). All problems are
reported at once, at their place in the grid file (``FILE:LINE:COL: [rule]
message``), as :class:`~statecharts.errors.ChartInvalid`.

Paths in the grid are relative to the grid file's directory.
"""

from __future__ import annotations

import copy
import difflib
import itertools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from execution import paths
from execution.settings import from_limits, read_limits
from execution.simulate.scenario import load_scenario
from statecharts.checked import read_checked
from statecharts.errors import ChartInvalid, DocumentInvalid, Problem
from statecharts.limits import Limits
from statecharts.spec import ChartSpec
from statecharts.yamlsrc import Source, child_path

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "grid.schema.json"


@cache
def grid_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


@cache
def limits_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(paths.LIMITS_SCHEMA.read_text(encoding="utf-8"))
    return schema


@dataclass(frozen=True, slots=True)
class Variant:
    """One combination of the varied values, and the whole limits document it makes."""

    id: str
    values: tuple[tuple[str, Any], ...]  # (dotted path, value), in the grid's order
    limits: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.values)


@dataclass(frozen=True, slots=True)
class Document:
    """A file the sweep reads: where it is, and its text (cells carry texts, not paths)."""

    file: str
    text: str


@dataclass(frozen=True, slots=True)
class Grid:
    """A sweep: the base documents, and the variants of the limits to run on them."""

    file: str
    limits: Document
    chart: Document
    scenarios: tuple[tuple[str, Document], ...]
    """(scenario name, its file), in the grid's order."""
    seeds: tuple[int, ...]
    intents: int | None
    """Intents per run (None: each scenario's own count)."""
    variants: tuple[Variant, ...]
    varied: tuple[str, ...]
    """The varied paths (dotted), in the grid's order."""


def load_grid(path: Path | str) -> Grid:
    """Read and check a grid file; raise :class:`ChartInvalid` with every problem found.

    An unreadable grid file raises :class:`OSError` (a usage error for the CLI).
    """
    file = Path(path)
    try:
        source = read_checked(file, file.read_text(encoding="utf-8"), grid_schema())
    except DocumentInvalid as err:
        raise ChartInvalid(err.problems) from None
    data, base = source.data, file.parent
    problems: list[Problem] = []
    limits_doc = _document(source, "limits", base, data.get("limits"), paths.default_limits(),
                           problems)
    chart_doc = _document(source, "chart", base, data.get("chart"), paths.default_chart(),
                          problems)
    scenarios = [_document(source, child_path("scenarios", i), base, name, None, problems)
                 for i, name in enumerate(data["scenarios"])]
    if problems:
        raise ChartInvalid(problems)
    assert limits_doc is not None and chart_doc is not None
    base_limits = read_limits(limits_doc.file, limits_doc.text)  # ChartInvalid: its own places
    named = tuple((load_scenario(doc.file, doc.text).name, doc) for doc in scenarios if doc)
    varied = tuple(data["vary"])
    problems += [p for key in varied if (p := _path_problem(source, key)) is not None]
    if problems:
        raise ChartInvalid(problems)
    from execution.engine import load_product_chart  # the engine only once a grid is sound

    spec = load_product_chart(chart_doc.file, from_limits(base_limits))  # its own places
    variants = _variants(source, base_limits, spec)
    return Grid(str(file), limits_doc, chart_doc, named, tuple(data["seeds"]),
                data.get("intents"), variants, varied)


def _document(source: Source, where: str, base: Path, name: str | None, default: Path | None,
              problems: list[Problem]) -> Document | None:
    file = default if name is None else base / name
    assert file is not None
    try:
        return Document(str(file), file.read_text(encoding="utf-8"))
    except OSError as err:
        problems.append(source.problem(where, "grid", f"cannot read {file}: "
                                                      f"{err.strerror or err}"))
        return None


def schema_leaves(schema: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Every dotted path to a value (not a section) of a limits schema."""
    for key, body in schema.get("properties", {}).items():
        full = f"{prefix}.{key}" if prefix else key
        if body.get("type") == "object":
            yield from schema_leaves(body, full)
        else:
            yield full


def _path_problem(source: Source, key: str) -> Problem | None:
    node: Mapping[str, Any] = limits_schema()
    for part in key.split("."):
        node = node.get("properties", {}).get(part, {})
    where = child_path("vary", key)
    if node.get("type") == "object":
        keys = ", ".join(sorted(node.get("properties", {})))
        return source.problem(where, "grid", f"{key} is a section of the limits, not a value: "
                                             f"vary one of its keys ({keys})")
    if node:
        return None
    near = difflib.get_close_matches(key, list(schema_leaves(limits_schema())), n=1)
    hint = f" (did you mean {near[0]}?)" if near else ""
    return source.problem(where, "grid", f"{key} is not in the limits schema{hint}")


def _set(data: dict[str, Any], key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    node = data
    for part in parents:
        node = node[part]
    node[leaf] = value


def _variants(source: Source, base: Limits, spec: ChartSpec) -> tuple[Variant, ...]:
    vary: dict[str, list[Any]] = source.data["vary"]
    validator = jsonschema.Draft202012Validator(limits_schema())
    problems: dict[tuple[str, str], Problem] = {}  # one report per offending value
    variants = []
    for number, picks in enumerate(itertools.product(*(range(len(v)) for v in vary.values()))):
        values = tuple((key, vary[key][i]) for key, i in zip(vary, picks, strict=True))
        where = {key: child_path(child_path("vary", key), i)
                 for key, i in zip(vary, picks, strict=True)}
        data = copy.deepcopy(dict(base.values))
        for key, value in values:
            _set(data, key, value)
        label = ", ".join(f"{k}={v!r}" for k, v in values)
        errors = list(validator.iter_errors(data))
        for error in errors:
            key = ".".join(str(p) for p in error.absolute_path)
            place = where.get(key, child_path("vary", values[0][0]))
            problems.setdefault((place, error.message), source.problem(
                place, "grid", f"{key}={error.instance!r} makes invalid limits: {error.message}"))
        if errors:
            continue
        try:  # what building an engine with these limits checks beyond the schema
            from_limits(Limits(data, f"{source.file} [{label}]")).stage_timeouts_ms(spec)
        except (ValueError, KeyError, TypeError) as err:
            place = where[values[0][0]]
            problems.setdefault((place, str(err)), source.problem(
                place, "grid", f"variant {label} is refused by the engine: {err}"))
        variants.append(Variant(f"v{number + 1:02d}", values, data))
    if problems:
        raise ChartInvalid(problems.values())
    return tuple(variants)
