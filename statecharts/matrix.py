"""The transition matrix, read back from the *compiled* chart class.

For every (state, event) pair: the transitions in precedence order, each with
its target and guard expression, or an empty list where the pair is rejected.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from statemachine import StateChart

from statecharts.spec import ERROR_EVENT, ChartSpec, TransitionSpec


@dataclass(frozen=True, slots=True)
class Cell:
    target: str
    guard: str | None

    def to_json(self) -> dict[str, str | None]:
        return {"target": self.target, "guard": self.guard}


@dataclass(frozen=True, slots=True)
class Matrix:
    states: tuple[str, ...]
    events: tuple[str, ...]
    cells: dict[str, dict[str, tuple[Cell, ...]]]

    def targets(self, state: str, event: str) -> tuple[Cell, ...]:
        return self.cells[state][event]

    def to_json(self) -> dict[str, Any]:
        return {
            "states": list(self.states),
            "events": list(self.events),
            "cells": {s: {e: [c.to_json() for c in cs] for e, cs in row.items()}
                      for s, row in self.cells.items()},
        }

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["state", *self.events])
        for state in self.states:
            writer.writerow([state, *(_cell_text(self.cells[state][e]) for e in self.events)])
        return out.getvalue()

    def to_text(self) -> str:
        lines = []
        width = max(len(s) for s in self.states)
        for state in self.states:
            for event in self.events:
                cells = self.cells[state][event]
                if cells:
                    lines.append(f"{state:<{width}}  {event:<16} -> {_cell_text(cells)}")
            lines.append(f"{state:<{width}}  (every other event rejected)")
        return "\n".join(lines)


def _cell_text(cells: tuple[Cell, ...]) -> str:
    return " | ".join(f"{c.target} [{c.guard}]" if c.guard else c.target for c in cells)


def _guard_label(transition: Any) -> str | None:
    labels = [getattr(c.func, "guard_label", c.func.__name__) for c in transition.cond]
    return " and ".join(labels) or None


def build_matrix(chart: type[StateChart[Any]], spec: ChartSpec) -> Matrix:
    """Read every transition of the compiled ``chart``; ``spec`` only orders the axes."""
    events = (*spec.events, ERROR_EVENT)
    by_id = {state.id: state for state in chart.states}
    cells: dict[str, dict[str, tuple[Cell, ...]]] = {}
    for name in spec.state_names:
        row: dict[str, list[Cell]] = {event: [] for event in events}
        for transition in by_id[name].transitions:
            for event in transition.events:
                row.setdefault(str(event), []).append(
                    Cell(transition.target.id, _guard_label(transition)))
        cells[name] = {event: tuple(row[event]) for event in row}
    return Matrix(spec.state_names, events, cells)


def spec_cells(spec: ChartSpec) -> dict[str, dict[str, tuple[TransitionSpec, ...]]]:
    """The same cells as :func:`build_matrix`, read from the spec alone (no registry needed).

    Each (state, event) holds its transitions in precedence order; the error event holds
    the state's error route (what the compiler adds). A test checks both agree.
    """
    events = (*spec.events, ERROR_EVENT)
    rows: dict[str, dict[str, list[TransitionSpec]]] = {
        name: {event: [] for event in events} for name in spec.state_names}
    for t in spec.transitions:
        rows[t.source][t.event].append(t)
    for state in spec.states:
        route = spec.error_route(state.name)
        if route is not None:
            origin = f"states.{state.name}.on_error" if state.on_error else "errors"
            rows[state.name][ERROR_EVENT].append(
                TransitionSpec(ERROR_EVENT, state.name, route, origin=origin))
    return {name: {event: tuple(ts) for event, ts in row.items()} for name, row in rows.items()}


def matrix_from_spec(spec: ChartSpec) -> Matrix:
    """The transition matrix of ``spec`` without compiling it."""
    cells = {name: {event: tuple(Cell(t.target, t.label or None) for t in ts)
                    for event, ts in row.items()}
             for name, row in spec_cells(spec).items()}
    return Matrix(spec.state_names, (*spec.events, ERROR_EVENT), cells)
