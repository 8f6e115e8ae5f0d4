"""Staged loading: strict YAML -> JSON Schema (all errors at once) -> spec dataclasses.

Every stage reports :class:`~statecharts.errors.Problem` objects with the
file, line and column of the offending value; :func:`load_chart` raises
:class:`~statecharts.errors.ChartInvalid` carrying all of them.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from statecharts.document import read_text
from statecharts.errors import ChartInvalid, DocumentInvalid, Problem
from statecharts.spec import ChartSpec, GuardSpec, StateSpec, Timeout, TransitionSpec
from statecharts.suggest import did_you_mean
from statecharts.yamlsrc import Source, child_path

SCHEMA_RESOURCE = "chart.schema.json"


@cache
def packaged_schema(name: str = SCHEMA_RESOURCE) -> dict[str, Any]:
    """A JSON Schema shipped in ``statecharts/schemas``."""
    text = resources.files("statecharts").joinpath("schemas", name).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def json_path(parts: Any) -> str:
    path = ""
    for part in parts:
        path = child_path(path, part)
    return path


def schema_problems(source: Source, schema: dict[str, Any]) -> list[Problem]:
    """Every schema violation in ``source``, positioned at the offending value."""
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for error in validator.iter_errors(source.data):
        path = json_path(error.absolute_path)
        leaf = _best_leaf(error)
        message = leaf.message if leaf is not error else error.message
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = error.schema.get("properties", {})
            extra = sorted(set(error.instance) - set(known), key=str)
            for key in extra:
                key_path = child_path(path, key)
                line, col = source.key_positions.get(key_path, source.where(key_path))
                problems.append(Problem(source.file, line, col, "schema",
                                        f"unknown key {key!r}" + did_you_mean(key, known),
                                        key_path))
            continue
        problems.append(source.problem(path, "schema", message, show_path=True))
    return problems


def _best_leaf(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    best = jsonschema.exceptions.best_match([error])
    return best if best is not None else error


def _names(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def load_chart(path: Path | str, text: str | None = None) -> ChartSpec:
    """Load and schema-check a chart file (lint separately with :func:`statecharts.lint.lint`).

    Raises :class:`ChartInvalid` for any content and
    :class:`~statecharts.errors.DocumentUnreadable` when the file cannot be read. The file
    is read (within its budget) every time; its parsed spec is cached per (path,
    content), so an unchanged chart costs a read and a hash (specs are frozen values,
    safe to share).
    """
    try:
        if text is None:
            text = read_text(path)
        return _load_chart(str(path), text)
    except ChartInvalid:
        raise
    except DocumentInvalid as err:  # a chart's YAML problems are the chart's
        raise ChartInvalid(err.problems) from None


@lru_cache(maxsize=32)
def _load_chart(path: str, text: str) -> ChartSpec:
    from statecharts.checked import read_checked  # (it uses schema_problems from here)

    try:
        source = read_checked(path, text, packaged_schema())
    except DocumentInvalid as err:
        raise ChartInvalid(err.problems) from None
    return build_spec(source, hashlib.sha256(text.encode()).hexdigest())


def build_spec(source: Source, digest: str) -> ChartSpec:
    data = source.data
    states = tuple(_state(name, body or {}) for name, body in data["states"].items())
    finals = {s.name for s in states if s.final}
    transitions: list[TransitionSpec] = []
    for index, body in enumerate(data["transitions"]):
        transitions.extend(_expand(body, child_path("transitions", index), states, finals))
    timeout_event = data.get("timeout_event", "timeout")
    for state in states:
        if state.timeout:
            origin = child_path(child_path("states", state.name), "timeout")
            transitions.append(TransitionSpec(timeout_event, state.name, state.timeout.target,
                                              description=f"after {state.timeout.after}",
                                              origin=origin, source_path=_state_path(state),
                                              code=state.timeout.code))
    escape = data["escape"]
    return ChartSpec(
        id=data["chart"],
        version=data["version"],
        initial=data["initial"],
        escape_event=escape["event"],
        escape_target=escape["target"],
        timeout_event=timeout_event,
        error_target=data.get("errors", {}).get("target", escape["target"]),
        states=states,
        transitions=tuple(transitions),
        guards={name: GuardSpec(name, body["description"], body.get("code"))
                for name, body in data["guards"].items()},
        file=source.file,
        digest=digest,
        description=data.get("description", ""),
        positions=dict(source.positions),
    )


def _state_path(state: StateSpec) -> str:
    return child_path("states", state.name)


def _state(name: str, body: dict[str, Any]) -> StateSpec:
    timeout = body.get("timeout")
    return StateSpec(
        name=name,
        final=bool(body.get("final", False)),
        entry=body.get("entry"),
        timeout=(Timeout(timeout["after"], timeout["target"], timeout.get("since", "entry"),
                         timeout.get("code")) if timeout else None),
        on_error=body.get("on_error"),
        role=body.get("role"),
        description=body.get("description", ""),
    )


def _expand(body: dict[str, Any], origin: str, states: tuple[StateSpec, ...],
            finals: set[str]) -> list[TransitionSpec]:
    source = body["source"]
    at = child_path(origin, "source")
    if source == "*":
        sources = [(s.name, at) for s in states
                   if s.name not in finals and s.name != body["target"]]
    elif isinstance(source, str):
        sources = [(source, at)]
    else:
        sources = [(name, child_path(at, i)) for i, name in enumerate(source)]
    return [
        TransitionSpec(
            event=body["event"],
            source=name,
            target=body["target"],
            guards=_names(body.get("guard")),
            unless=_names(body.get("unless")),
            description=body.get("description", ""),
            origin=origin,
            source_path=path,
        )
        for name, path in sources
    ]
