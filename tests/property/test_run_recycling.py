"""A recycled chart instance behaves exactly like a new one.

Final states compile to absorbing states, so a finished run can be reset with
python-statemachine's ``current_state_value`` setter and reused. For random
walks over the product chart (events, guard flags, outside failures, stage
timeouts firing), a run that first finished another walk and was reset must
record exactly what a freshly built run records: outcome of every step, trace
(state, event, source, guard), errors, codes reported and timers armed.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from conftest import FakeScheduler, FlagCtx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_chart_properties import FAIL, WALK, next_step

from statecharts.errors import EventRejected
from statecharts.runtime import ChartRun, FinishedRun, RunPool
from statecharts.spec import ChartSpec

TIMEOUT = "<timeout fires>"
Step = tuple[str, dict[str, bool]]


def draw_walk(data: st.DataObject, spec: ChartSpec) -> list[Step]:
    """A walk drawn against a fresh run (so that it is a plausible path), then replayed."""
    run = ChartRun(_chart(spec), spec, FlagCtx(), scheduler=FakeScheduler(),
                   timeouts_ms={s.name: 100.0 for s in spec.states if s.timeout})
    steps: list[Step] = []
    for _ in range(data.draw(st.integers(0, WALK), label="length")):
        if data.draw(st.integers(0, 9), label="timer") == 0:
            steps.append((TIMEOUT, {}))
            continue
        event, flags = next_step(data, spec, run.state)
        steps.append((event, flags))
        run.ctx.flags = flags
        with contextlib.suppress(EventRejected):
            run.fail(RuntimeError("x")) if event == FAIL else run.dispatch(event)
    return steps


_CHARTS: dict[str, type[Any]] = {}


def _chart(spec: ChartSpec) -> type[Any]:
    return _CHARTS[spec.digest]


def play(run: ChartRun, scheduler: FakeScheduler, steps: list[Step]) -> list[object]:
    """Everything observable about ``run`` along ``steps``."""
    codes: list[tuple[str, str]] = []
    run.bind(FlagCtx(), on_code=lambda code, guard: codes.append((code, guard)))
    record: list[object] = []
    for event, flags in steps:
        run.ctx.flags = flags
        if event == TIMEOUT:
            live = scheduler.live
            if live:
                live[-1].fire()
            outcome = run.state
        elif event == FAIL:
            outcome = run.fail(RuntimeError("stage task died"))
        else:
            try:
                outcome = run.dispatch(event)
            except EventRejected as rejected:
                outcome = f"rejected {rejected.event} in {rejected.state}"
        record.append((event, outcome, run.done, len(scheduler.live),
                       sorted(t.delay for t in scheduler.live)))
    trace = [(s.state, s.event, s.source, s.guard) for s in run.trace]
    errors = [(state, type(exc).__name__, str(exc)) for state, exc in run.errors]
    return [record, trace, errors, codes, run.state, sorted(run.busy_ns)]


def finish(run: ChartRun, spec: ChartSpec) -> None:
    """Drive ``run`` to a final state (through the escape route)."""
    run.ctx.flags = dict.fromkeys(spec.guards, True)
    for event in (spec.escape_event, "escaped"):
        if run.done:
            break
        with contextlib.suppress(EventRejected):
            run.dispatch(event)
    if not run.done:
        run.fail(RuntimeError("force the error route"))
        run.dispatch("escaped")
    assert run.done


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_recycled_run_behaves_exactly_like_a_new_one(
        product_spec: ChartSpec, product_chart: type[Any], data: st.DataObject) -> None:
    spec = product_spec
    _CHARTS[spec.digest] = product_chart
    timeouts = {s.name: 100.0 for s in spec.states if s.timeout}
    first_walk, walk = draw_walk(data, spec), draw_walk(data, spec)

    fresh_scheduler = FakeScheduler()
    fresh = ChartRun(product_chart, spec, scheduler=fresh_scheduler, timeouts_ms=timeouts)
    expected = play(fresh, fresh_scheduler, walk)

    scheduler = FakeScheduler()
    used = ChartRun(product_chart, spec, scheduler=scheduler, timeouts_ms=timeouts)
    play(used, scheduler, first_walk)  # another life first...
    finish(used, spec)
    record = used.retire()
    used.reset()  # ...then back to the start
    scheduler.timers.clear()
    assert play(used, scheduler, walk) == expected
    assert isinstance(record, FinishedRun) and record.done and record.trace is not used.trace


def test_reset_refuses_a_run_that_has_not_finished(
        product_spec: ChartSpec, product_chart: type[Any]) -> None:
    run = ChartRun(product_chart, product_spec, FlagCtx())
    run.dispatch("start")
    try:
        run.reset()
    except RuntimeError as err:
        assert "has not finished" in str(err)
    else:
        raise AssertionError("reset a live run")


def test_a_retired_run_rejects_events_and_records_late_errors(
        product_spec: ChartSpec, product_chart: type[Any]) -> None:
    run = ChartRun(product_chart, product_spec, FlagCtx())
    run.dispatch("start")
    finish(run, product_spec)
    retired = run.retire()
    try:
        retired.dispatch("escape")
    except EventRejected as rejected:
        assert rejected.state == run.state
    else:
        raise AssertionError("a retired run took an event")
    assert retired.fail(RuntimeError("late")) == run.state
    assert retired.errors[-1][0] == run.state and retired.dispatching is False


def test_the_pool_recycles_finished_runs_on_the_next_loop_turn(
        product_spec: ChartSpec, product_chart: type[Any]) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        pool = RunPool(product_chart, product_spec, size=2, scheduler=loop)
        pool.refill_enabled = False
        pool.fill()
        run = pool.take().bind(FlagCtx())
        run.dispatch("start")
        finish(run, product_spec)
        pool.give_back(run)
        assert len(pool) == 1  # not yet: reset on a later turn, never inside a dispatch
        await asyncio.sleep(0.001)
        assert len(pool) == 2 and pool.recycled == 1
        again = pool.take()
        assert again is run and again.state == product_spec.initial and again.ctx is None
        assert [s.state for s in again.trace] == [product_spec.initial]
        again.bind(FlagCtx()).dispatch("start")
        pool.give_back(again)  # a live run is not taken back
        pool.give_back(again.retire() if again.done else ChartRun(product_chart, product_spec))
        await asyncio.sleep(0.001)
        assert len(pool) == 1 and pool.recycled == 1
        other = RunPool(product_chart, product_spec, size=1, scheduler=loop)
        other.adopt(pool.drain())
        assert len(pool) == 0 and len(other) == 1

    asyncio.run(main())
