"""Percentiles and the chart-versus-dict dispatch comparison."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from statecharts.compiler import compile_chart
from statecharts.registry import Registry
from statecharts.runtime import ChartRun
from statecharts.spec import ChartSpec


def percentiles(samples_ns: Sequence[float], points: Sequence[float] = (50, 99, 99.9)
                ) -> dict[str, float]:
    """Nearest-rank percentiles of nanosecond samples, in microseconds."""
    if not samples_ns:
        return {f"p{p:g}": 0.0 for p in points}
    ordered = sorted(samples_ns)
    out = {}
    for p in points:
        rank = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
        out[f"p{p:g}"] = round(ordered[rank] / 1000, 2)
    return out


# The path of a complete execution with one adjust round, as (event, guards that hold).
PATH: tuple[tuple[str, frozenset[str]], ...] = (
    ("start", frozenset()),
    ("checked", frozenset()),
    ("split", frozenset()),
    ("sent", frozenset()),
    ("stalled", frozenset({"rounds_left"})),
    ("adjusted", frozenset()),
    ("filled", frozenset()),
)


class _Ctx:
    holds: frozenset[str] = frozenset()


def _registry(spec: ChartSpec) -> Registry:
    registry = Registry("bench-dispatch")
    for name in spec.guards:
        registry.guards[name] = (lambda n: lambda ctx: n in ctx.holds)(name)
    for state in spec.states:
        if state.entry:
            registry.handlers[state.entry] = lambda ctx, run: None
    return registry


def chart_dispatch_ns(spec: ChartSpec, rounds: int) -> list[float]:
    """Per-event cost of the compiled python-statemachine chart along PATH (handlers empty)."""
    chart = compile_chart(spec, _registry(spec))
    samples: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(rounds):
        ctx = _Ctx()
        run = ChartRun(chart, spec, ctx)
        for event, holds in PATH:
            ctx.holds = holds
            started = clock()
            run.dispatch(event)
            samples.append(clock() - started)
    return samples


def dict_table(spec: ChartSpec) -> dict[tuple[str, str], list[tuple[tuple[str, ...], str]]]:
    table: dict[tuple[str, str], list[tuple[tuple[str, ...], str]]] = {}
    for t in spec.transitions:
        table.setdefault((t.source, t.event), []).append((t.guards, t.target))
    return table


def dict_dispatch_ns(spec: ChartSpec, rounds: int) -> list[float]:
    """The floor: the same path through a plain dict transition table with guard calls."""
    table = dict_table(spec)
    guards: dict[str, Callable[[Any], bool]] = dict(_registry(spec).guards)
    samples: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(rounds):
        ctx = _Ctx()
        state = spec.initial
        for event, holds in PATH:
            ctx.holds = holds
            started = clock()
            for names, target in table[(state, event)]:
                if all(guards[n](ctx) for n in names):
                    state = target
                    break
            else:
                raise RuntimeError(f"{event} rejected in {state}")
            samples.append(clock() - started)
    return samples
