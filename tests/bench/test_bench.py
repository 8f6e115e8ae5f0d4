"""Benchmarks (pytest-benchmark): run on demand with `make bench`, not in the default suite.

    .venv/bin/python -m pytest tests/bench -m bench --benchmark-only

They report; they assert only that the measured thing did what it should (a
benchmark of a broken execution would measure nothing useful), never a time.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from execution.perf.bench import _engine, _intent
from execution.perf.stats import PATH, _Ctx, _registry, dict_table
from statecharts.compiler import compile_chart
from statecharts.runtime import ChartRun

pytestmark = pytest.mark.bench
logging.getLogger("execution").setLevel(logging.CRITICAL)


@pytest.fixture(scope="module")
def loop() -> Any:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def test_chart_instance_construction(benchmark: Any) -> None:
    engine = _engine("never", pool_size=0)
    run = benchmark(ChartRun, engine.chart, engine.spec)
    assert run.state == "INIT"


def test_chart_dispatch_one_execution_path(benchmark: Any) -> None:
    spec = _engine("never", pool_size=0).spec
    chart = compile_chart(spec, _registry(spec))

    def path() -> str:
        ctx = _Ctx()
        run = ChartRun(chart, spec, ctx)
        for event, holds in PATH:
            ctx.holds = holds
            run.dispatch(event)
        return run.state

    assert benchmark(path) == "COMPLETE"


def test_dict_table_one_execution_path(benchmark: Any) -> None:
    spec = _engine("never", pool_size=0).spec
    table = dict_table(spec)
    guards = _registry(spec).guards

    def path() -> str:
        ctx, state = _Ctx(), spec.initial
        for event, holds in PATH:
            ctx.holds = holds
            state = next(target for names, target in table[(state, event)]
                         if all(guards[n](ctx) for n in names))
        return state

    assert benchmark(path) == "COMPLETE"


def test_complete_execution_with_one_adjust_round(benchmark: Any, loop: Any) -> None:
    engine = _engine("modify", pool_size=64)
    counter = iter(range(10**9))

    def one() -> Any:
        result = loop.run_until_complete(engine.execute(_intent(next(counter))))
        engine.executions.pop(result.execution_id)
        return result

    result = benchmark(one)
    assert result.final_state == "COMPLETE" and result.adjust_rounds == 1
